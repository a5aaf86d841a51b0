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
