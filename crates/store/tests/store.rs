//! The store against a real PostgreSQL: a fresh database per test (sqlx::test).

use std::time::Duration;

use sqlx::PgPool;
use store::{Labels, Matcher, Reason, SeriesSamples, Store, StoreConfig, WriteError, STALE_NAN};
use uuid::Uuid;

const MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");
const MINUTE: i64 = 60_000;

async fn tenant(pool: &PgPool, name: &str) -> Uuid {
    sqlx::query_scalar("insert into tenant (name) values ($1) returning id")
        .bind(name)
        .fetch_one(pool)
        .await
        .unwrap()
}

fn config() -> StoreConfig {
    let mut config = StoreConfig::new(Uuid::new_v4());
    // Checkpoints only when a test asks for one.
    config.checkpoint_interval = Duration::from_secs(3600);
    config
}

fn now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn series(pairs: &[(&str, &str)], samples: Vec<(i64, f64)>) -> SeriesSamples {
    SeriesSamples {
        labels: Labels::new(pairs.iter().copied()).unwrap(),
        samples,
    }
}

fn bits(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
    samples.iter().map(|(t, v)| (*t, v.to_bits())).collect()
}

async fn read(store: &Store, tenant: Uuid, matchers: &[Matcher]) -> Vec<(String, Vec<(i64, f64)>)> {
    let mut found: Vec<(String, Vec<(i64, f64)>)> = store
        .select(tenant, matchers, 0, now() + 3_600_000)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.labels.to_string(), s.samples().collect()))
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn acknowledged_samples_are_visible_at_once_and_after_checkpoint_and_restart(pool: PgPool) {
    let acme = tenant(&pool, "acme").await;
    let writer = Uuid::new_v4();
    let mut cfg = config();
    cfg.writer_id = writer;
    let store = Store::open(pool.clone(), cfg.clone()).await.unwrap();
    // The samples (26 minutes of them) stay within one UTC day, whatever the hour the test
    // runs: the store cuts chunks at midnight, and the checkpoint's count below is of one day's.
    let day = 24 * 60 * MINUTE;
    let t0 = match now() - 30 * MINUTE {
        t if (t + 26 * MINUTE) / day != t / day => (t / day + 1) * day - 27 * MINUTE,
        t => t,
    };
    let special = vec![
        (t0, f64::NAN),
        (t0 + 1000, f64::INFINITY),
        (t0 + 2000, f64::NEG_INFINITY),
        (t0 + 3000, f64::from_bits(STALE_NAN)),
        (t0 + 4000, -0.0),
    ];
    let counter: Vec<(i64, f64)> = (0..100)
        .map(|i| (t0 + 5000 + i * 15_000, i as f64))
        .collect();
    let outcome = store
        .write(
            acme,
            vec![
                series(&[("__name__", "special"), ("job", "a")], special.clone()),
                series(
                    &[("__name__", "requests_total"), ("job", "a")],
                    counter.clone(),
                ),
            ],
        )
        .await
        .unwrap();
    assert_eq!(outcome.accepted, special.len() + counter.len());
    assert!(outcome.discarded.is_empty());

    let check = |found: Vec<(String, Vec<(i64, f64)>)>| {
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].0, "requests_total{job=\"a\"}");
        assert_eq!(bits(&found[0].1), bits(&counter));
        assert_eq!(
            bits(&found[1].1),
            bits(&special),
            "NaN, ±Inf, the staleness marker and -0 are bit-exact"
        );
    };
    check(read(&store, acme, &[Matcher::equal("job", "a")]).await);

    let stats = store.checkpoint().await.unwrap();
    assert_eq!((stats.chunks, stats.log_rows), (2, 1));
    let log_rows: i64 = sqlx::query_scalar("select count(*) from metric_ingest_log")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        log_rows, 0,
        "the checkpoint deleted the log rows it covered"
    );
    check(read(&store, acme, &[Matcher::equal("job", "a")]).await);

    // More samples after the checkpoint live only in the log and head; a new process with the
    // same writer id replays them.
    let later = vec![(now(), 42.0)];
    store
        .write(
            acme,
            vec![series(
                &[("__name__", "requests_total"), ("job", "a")],
                later.clone(),
            )],
        )
        .await
        .unwrap();
    drop(store);
    let reopened = Store::open(pool.clone(), cfg).await.unwrap();
    let found = read(
        &reopened,
        acme,
        &[Matcher::equal("__name__", "requests_total")],
    )
    .await;
    assert_eq!(found[0].1.len(), counter.len() + 1);
    assert_eq!(*found[0].1.last().unwrap(), later[0]);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn out_of_order_and_duplicates_are_refused_with_reasons_and_repeats_ignored(pool: PgPool) {
    let acme = tenant(&pool, "acme").await;
    let store = Store::open(pool.clone(), config()).await.unwrap();
    let t = now() - MINUTE;
    let labels = [("__name__", "up"), ("job", "a")];
    store
        .write(acme, vec![series(&labels, vec![(t, 1.0), (t + 1000, 1.0)])])
        .await
        .unwrap();
    let outcome = store
        .write(
            acme,
            vec![series(
                &labels,
                vec![
                    (t + 1000, 1.0),
                    (t + 500, 2.0),
                    (t + 1000, 3.0),
                    (t + 2000, 4.0),
                ],
            )],
        )
        .await
        .unwrap();
    assert_eq!(outcome.accepted, 1);
    assert_eq!(outcome.discarded[&Reason::OutOfOrder].0, 1);
    assert_eq!(outcome.discarded[&Reason::DuplicateTimestamp].0, 1);
    let summary = outcome.summary().unwrap();
    assert!(
        summary.starts_with("2 of 3 samples were not stored"),
        "{summary}"
    );
    assert!(
        summary.contains("out of order sample for up{job=\"a\"}"),
        "{summary}"
    );
    let found = read(&store, acme, &[Matcher::equal("__name__", "up")]).await;
    assert_eq!(found[0].1, vec![(t, 1.0), (t + 1000, 1.0), (t + 2000, 4.0)]);
    // Too old for the retention, too far ahead.
    let outcome = store
        .write(
            acme,
            vec![series(
                &labels,
                vec![(t - 40 * 86_400_000, 1.0), (now() + 3_600_000, 1.0)],
            )],
        )
        .await
        .unwrap();
    assert_eq!(outcome.accepted, 0);
    assert!(
        outcome.discarded.contains_key(&Reason::TooOld)
            && outcome.discarded.contains_key(&Reason::TooFarInFuture)
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn limits_refuse_with_messages_naming_the_limit(pool: PgPool) {
    let acme = tenant(&pool, "acme").await;
    sqlx::query("insert into tenant_limits (tenant_id, max_series, max_samples_per_second, max_labels_per_series) values ($1, 2, 10, 3)")
        .bind(acme)
        .execute(&pool)
        .await
        .unwrap();
    let store = Store::open(pool.clone(), config()).await.unwrap();
    let t = now();
    let outcome = store
        .write(
            acme,
            vec![
                series(&[("__name__", "a")], vec![(t, 1.0)]),
                series(&[("__name__", "b")], vec![(t, 1.0)]),
                series(&[("__name__", "c")], vec![(t, 1.0)]),
                series(
                    &[("__name__", "d"), ("x", "1"), ("y", "2"), ("z", "3")],
                    vec![(t, 1.0)],
                ),
            ],
        )
        .await
        .unwrap();
    assert_eq!(outcome.accepted, 2);
    let (n, message) = &outcome.discarded[&Reason::SeriesLimit];
    assert_eq!(*n, 1);
    assert!(message.contains("max_series=2"), "{message}");
    assert!(outcome.discarded[&Reason::LabelCountLimit]
        .1
        .contains("max_labels_per_series=3"));
    // Known series still take samples at the limit.
    assert_eq!(
        store
            .write(acme, vec![series(&[("__name__", "a")], vec![(t + 1, 2.0)])])
            .await
            .unwrap()
            .accepted,
        1
    );
    // 10 samples/s, bursts of 20: the bucket is nearly empty now.
    let many: Vec<(i64, f64)> = (0..19).map(|i| (t + 10 + i, 1.0)).collect();
    match store
        .write(acme, vec![series(&[("__name__", "a")], many)])
        .await
    {
        Err(WriteError::RateLimited {
            limit: 10,
            samples: 19,
        }) => {}
        other => panic!("expected the rate limit, got {other:?}"),
    }
    let rendered = WriteError::RateLimited {
        limit: 10,
        samples: 19,
    }
    .to_string();
    assert!(rendered.contains("max_samples_per_second=10"), "{rendered}");
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn a_tenant_never_sees_another_tenants_series(pool: PgPool) {
    let acme = tenant(&pool, "acme").await;
    let globex = tenant(&pool, "globex").await;
    let store = Store::open(pool.clone(), config()).await.unwrap();
    let t = now();
    // A `tenant` label is just a label: it never routes a sample.
    store
        .write(
            acme,
            vec![series(
                &[("__name__", "secret"), ("tenant", "globex")],
                vec![(t, 1.0)],
            )],
        )
        .await
        .unwrap();
    store
        .write(
            globex,
            vec![series(&[("__name__", "other")], vec![(t, 2.0)])],
        )
        .await
        .unwrap();
    store.checkpoint().await.unwrap();
    assert!(
        read(&store, globex, &[Matcher::equal("__name__", "secret")])
            .await
            .is_empty()
    );
    assert!(read(&store, globex, &[Matcher::equal("tenant", "globex")])
        .await
        .is_empty());
    assert_eq!(
        read(&store, globex, &[Matcher::regex("__name__", ".+").unwrap()])
            .await
            .len(),
        1
    );
    assert_eq!(
        read(&store, acme, &[Matcher::regex("__name__", ".+").unwrap()])
            .await
            .len(),
        1
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn label_matchers_select_as_prometheus_does(pool: PgPool) {
    let acme = tenant(&pool, "acme").await;
    let store = Store::open(pool.clone(), config()).await.unwrap();
    let t = now();
    let mut batch = Vec::new();
    for (job, code) in [("api", "200"), ("api", "500"), ("web", "200"), ("web", "")] {
        batch.push(series(
            &[
                ("__name__", "http_requests_total"),
                ("job", job),
                ("code", code),
            ],
            vec![(t, 1.0)],
        ));
    }
    store.write(acme, batch).await.unwrap();
    let total = Matcher::equal("__name__", "http_requests_total");
    let selected = |matchers: Vec<Matcher>| {
        let store = &store;
        async move {
            read(store, acme, &matchers)
                .await
                .into_iter()
                .map(|(n, _)| n)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        selected(vec![total.clone(), Matcher::equal("job", "api")])
            .await
            .len(),
        2
    );
    assert_eq!(
        selected(vec![total.clone(), Matcher::not_equal("code", "200")])
            .await
            .len(),
        2
    );
    assert_eq!(
        selected(vec![total.clone(), Matcher::equal("code", "")]).await,
        vec!["http_requests_total{job=\"web\"}"],
        "an empty matcher selects series without the label"
    );
    assert_eq!(
        selected(vec![total.clone(), Matcher::regex("code", "5..").unwrap()])
            .await
            .len(),
        1
    );
    assert_eq!(
        selected(vec![total.clone(), Matcher::regex("code", "5").unwrap()])
            .await
            .len(),
        0,
        "anchored"
    );
    assert_eq!(
        selected(vec![
            total.clone(),
            Matcher::not_regex("job", "a.*").unwrap()
        ])
        .await
        .len(),
        2
    );
    assert_eq!(
        selected(vec![
            Matcher::regex("__name__", "http_.*").unwrap(),
            Matcher::equal("job", "web")
        ])
        .await
        .len(),
        2
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn another_replica_sees_acknowledged_samples_at_once(pool: PgPool) {
    let acme = tenant(&pool, "acme").await;
    let a = Store::open(pool.clone(), config()).await.unwrap();
    let b = Store::open(pool.clone(), config()).await.unwrap();
    let t = now();
    a.write(acme, vec![series(&[("__name__", "up")], vec![(t, 1.0)])])
        .await
        .unwrap();
    assert_eq!(
        read(&b, acme, &[Matcher::equal("__name__", "up")]).await[0].1,
        vec![(t, 1.0)]
    );
    // After a's checkpoint b reads the chunk instead, once.
    a.write(
        acme,
        vec![series(&[("__name__", "up")], vec![(t + 1000, 0.0)])],
    )
    .await
    .unwrap();
    a.checkpoint().await.unwrap();
    assert_eq!(
        read(&b, acme, &[Matcher::equal("__name__", "up")]).await[0].1,
        vec![(t, 1.0), (t + 1000, 0.0)]
    );
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn import_writes_chunks_directly_and_retention_drops_old_days(pool: PgPool) {
    let acme = tenant(&pool, "acme").await;
    let globex = tenant(&pool, "globex").await;
    sqlx::query("insert into tenant_limits (tenant_id, retention_days) values ($1, 400), ($2, 2)")
        .bind(acme)
        .bind(globex)
        .execute(&pool)
        .await
        .unwrap();
    let store = Store::open(pool.clone(), config()).await.unwrap();
    let day = 86_400_000;
    let t0 = (now() / day - 10) * day;
    // Ten days at 15 s for two tenants, given out of order.
    let mut samples: Vec<(i64, f64)> = (0..(10 * 5760))
        .map(|i| (t0 + i * 15_000, (i / 4) as f64))
        .collect();
    samples.reverse();
    let (stats, outcome) = store
        .import(
            acme,
            vec![series(&[("__name__", "old_total")], samples.clone())],
        )
        .await
        .unwrap();
    assert_eq!(stats.samples, 57_600);
    assert!(outcome.discarded.is_empty());
    assert_eq!(stats.chunks, 480, "120 samples a chunk, none across a day");
    store
        .import(globex, vec![series(&[("__name__", "old_total")], samples)])
        .await
        .unwrap();
    assert_eq!(store.partition_days().await.unwrap().len(), 10);
    let bytes: i64 = sqlx::query_scalar("select sum(length(data))::bigint from metric_chunk")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        bytes as f64 / 115_200.0 < 2.0,
        "{bytes} bytes of chunk data for 115,200 samples"
    );

    let found = read(&store, acme, &[Matcher::equal("__name__", "old_total")]).await;
    assert_eq!(found[0].1.len(), 57_600);
    assert!(found[0].1.windows(2).all(|w| w[0].0 < w[1].0));

    // Retention: globex keeps two days. Every tenant's data older than the longest retention
    // goes with its partition; globex's older rows are deleted.
    let stats = store.apply_retention(now()).await.unwrap();
    assert_eq!(stats.partitions_dropped, 0);
    assert!(stats.chunks_deleted > 0);
    let globex_samples = read(&store, globex, &[Matcher::equal("__name__", "old_total")]).await;
    assert!(
        globex_samples[0]
            .1
            .iter()
            .all(|(t, _)| *t >= now() - 2 * day - MINUTE),
        "nothing older than two days"
    );
    let globex_chunks: i64 = sqlx::query_scalar("select count(*) from metric_chunk c join metric_series s on s.id = c.series_id where s.tenant_id = $1")
        .bind(globex)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(globex_chunks <= 2 * 48 + 1, "{globex_chunks} chunks left");
    sqlx::query("update tenant_limits set retention_days = 3")
        .execute(&pool)
        .await
        .unwrap();
    let stats = store.apply_retention(now()).await.unwrap();
    assert_eq!(
        stats.partitions_dropped, 7,
        "days entirely older than three days"
    );
    assert_eq!(store.partition_days().await.unwrap().len(), 3);
}
