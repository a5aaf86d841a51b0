//! The embedded default: with nothing listening where PostgreSQL is expected, Meridian creates a
//! private cluster from the system's binaries, reuses it on the next start and stops it.

use std::os::unix::fs::PermissionsExt;

use sqlx::{Connection, PgConnection};

use crate::helpers::unused_port;
use server::database::{ensure_exists, resolve_default};

#[tokio::test]
async fn without_a_server_a_private_cluster_is_created_reused_and_stopped() {
    let temp = tempfile::tempdir().unwrap();
    // The cluster may run as the `postgres` user (when the tests run as root): let it in.
    std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let pg_dir = temp.path().join("pg");
    let probe = format!("127.0.0.1:{}", unused_port());

    let first = resolve_default(&probe, &pg_dir)
        .await
        .expect("a private cluster starts");
    let cluster = first
        .cluster
        .as_ref()
        .expect("no server answered, so a cluster was started");
    assert!(pg_dir.join("PG_VERSION").exists());
    assert_ne!(
        cluster.port().to_string(),
        probe.rsplit(':').next().unwrap()
    );
    ensure_exists(&first.options).await.unwrap();
    let mut conn = PgConnection::connect_with(&first.options).await.unwrap();
    sqlx::query("create table kept (note text)")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("insert into kept values ('from the first start')")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    cluster.stop().unwrap();
    assert!(
        PgConnection::connect_with(&first.options).await.is_err(),
        "the cluster is stopped"
    );

    let second = resolve_default(&probe, &pg_dir)
        .await
        .expect("the cluster starts again");
    let mut conn = PgConnection::connect_with(&second.options).await.unwrap();
    let note: String = sqlx::query_scalar("select note from kept")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        note, "from the first start",
        "the same cluster was reused, not recreated"
    );
    conn.close().await.unwrap();
    second.cluster.as_ref().unwrap().stop().unwrap();
}

/// Durability across a PostgreSQL crash: every sample the store acknowledged is there after an
/// immediate shutdown (no checkpoint: the WAL is replayed) and a restart, read by a new store.
#[tokio::test]
async fn acknowledged_samples_survive_a_postgres_crash() {
    use store::{Labels, Matcher, SeriesSamples, Store, StoreConfig};

    let temp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let pg_dir = temp.path().join("pg");
    let probe = format!("127.0.0.1:{}", unused_port());
    let first = resolve_default(&probe, &pg_dir).await.unwrap();
    ensure_exists(&first.options).await.unwrap();
    let pool = sqlx::PgPool::connect_with(first.options.clone())
        .await
        .unwrap();
    app::ssr::MIGRATOR.run(&pool).await.unwrap();
    let tenant: uuid::Uuid =
        sqlx::query_scalar("insert into tenant (name) values ('acme') returning id")
            .fetch_one(&pool)
            .await
            .unwrap();
    let writer = uuid::Uuid::new_v4();
    let store = Store::open(pool.clone(), StoreConfig::new(writer))
        .await
        .unwrap();
    let start = chrono::Utc::now().timestamp_millis() - 60_000;
    for i in 0..50 {
        let outcome = store
            .write(
                tenant,
                vec![SeriesSamples {
                    labels: Labels::new([("__name__", "orders_total"), ("shop", "eu")]).unwrap(),
                    samples: vec![(start + i * 1000, i as f64)],
                }],
            )
            .await
            .unwrap();
        assert_eq!(outcome.accepted, 1);
    }
    // Half of them reach chunk rows, the rest stay in the log: both paths must survive.
    store.checkpoint().await.unwrap();
    for i in 50..100 {
        let samples = vec![(start + i * 1000, i as f64)];
        let labels = Labels::new([("__name__", "orders_total"), ("shop", "eu")]).unwrap();
        store
            .write(tenant, vec![SeriesSamples { labels, samples }])
            .await
            .unwrap();
    }
    first.cluster.as_ref().unwrap().stop_immediately().unwrap();
    drop(store);
    pool.close().await;

    let second = resolve_default(&probe, &pg_dir).await.unwrap();
    let pool = sqlx::PgPool::connect_with(second.options.clone())
        .await
        .unwrap();
    let reopened = Store::open(pool.clone(), StoreConfig::new(writer))
        .await
        .unwrap();
    let series = reopened
        .select(
            tenant,
            &[Matcher::equal("__name__", "orders_total")],
            0,
            i64::MAX / 2,
        )
        .await
        .unwrap();
    let samples: Vec<(i64, f64)> = series[0].samples().collect();
    let expected: Vec<(i64, f64)> = (0..100).map(|i| (start + i * 1000, i as f64)).collect();
    assert_eq!(samples, expected);
    pool.close().await;
    second.cluster.as_ref().unwrap().stop().unwrap();
}
