//! Time for the phone's sync client to upload 1,000 and 10,000 pending receipts to a local
//! `salur` API over loopback HTTP (SQLite, and PostgreSQL when SALUR_TEST_POSTGRES_URL is set).
//! Recording the receipts is not timed; the sync is, from the first request to the last answer
//! marked acknowledged in the phone's store (synchronous=FULL, as on the phone).
//!
//!     SALUR_TEST_POSTGRES_URL=$(scripts/ensure-postgres.sh) cargo bench -p salur-server --bench sync

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use salur_core::crypto::DataKey;
use salur_core::keys::{FixedKey, SoftwareSigner};
use salur_core::receipt::{Outcome, Times};
use salur_core::store::{Draft, Store};
use salur_core::sync::{SyncClient, SyncConfig};
use salur_server::domain::devices::DeviceStatus;
use salur_server::{AppState, Storage};

async fn run(name: &str, storage: Storage, count: u64) {
    let db = storage.open().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(salur_server::serve(
        listener,
        AppState::new(db.clone(), "bench").allow_unattested_devices(true),
        std::future::pending(),
    ));

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("phone.db"), &FixedKey(DataKey::generate().unwrap())).unwrap();
    let signer = SoftwareSigner::generate().unwrap().0;
    let mut config = SyncConfig::new(&url);
    config.allow_http_loopback = true;
    let client = SyncClient::new(&config).unwrap();
    let device = format!("bench-sync-{count}");
    let code = salur_server::domain::enrolment::new_code().unwrap();
    let hash = salur_server::domain::enrolment::code_hash(&code).unwrap();
    db.add_enrolment(&hash, "pos-1", "po-1", "bench", salur_server::clock::now_ms() + 60_000).await.unwrap();
    client.register(&store, &signer, &device, "pos-1", "po-1", &code).await.unwrap();
    db.set_device_status(&device, DeviceStatus::Approved).await.unwrap();
    for n in 0..count {
        let draft = Draft {
            roster_id: "blt-bench".into(),
            recipient: n.to_le_bytes().repeat(2),
            amount: 600_000,
            outcome: Outcome::Paid,
            evidence: None,
            evidence_jpeg: None,
            time: Times { wall_ms: 1_795_000_000_000, mono_ms: n, offset_ms: 0 },
            location: None,
            received_in_full: None,
            kuasa_jpeg: None,
            card_jpeg: None,
            card_face_jpeg: None,
            enrolled_template: None,
        };
        store.record(&signer, draft).unwrap();
    }

    let started = Instant::now();
    let report = client.sync(&store, &signer, &()).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(report.progress.acknowledged, count);
    println!(
        "sync {count:>6} receipts ({name:<8}, batches of {}): {secs:7.2} s  {:7.0} receipts/s",
        config.batch_size,
        count as f64 / secs
    );
    server.abort();
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        for count in [1_000, 10_000] {
            let dir = tempfile::tempdir().unwrap();
            run("sqlite", Storage::Dir(dir.path().to_path_buf()), count).await;
            if let Ok(admin) = std::env::var("SALUR_TEST_POSTGRES_URL") {
                let name = format!("salur_bench_sync_{count}");
                let url = fresh_postgres(&admin, &name).await;
                run("postgres", Storage::Url(url), count).await;
            }
        }
    });
}

async fn fresh_postgres(admin: &str, name: &str) -> String {
    use sqlx::{Connection, Executor};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(admin).await.unwrap();
    // The name is ours (letters, digits, underscores), so formatting it into SQL is safe.
    for sql in [format!("DROP DATABASE IF EXISTS {name}"), format!("CREATE DATABASE {name}")] {
        conn.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
    }
    format!("{}/{name}", admin.rsplit_once('/').unwrap().0)
}
