//! Receipt ingestion throughput through the real router (signed request, JSON, base64, COSE and
//! ES256 verification, chain checks, transaction), on SQLite and, when SALUR_TEST_POSTGRES_URL is
//! set, on PostgreSQL. Devices upload batches of 100 concurrently.
//!
//!     SALUR_TEST_POSTGRES_URL=$(scripts/ensure-postgres.sh) SALUR_BENCH_DEVICES=100 SALUR_BENCH_RECEIPTS=1000 \
//!         cargo bench -p salur-server --bench ingest

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use axum::body::{to_bytes, Body};
use axum::http::Request;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use salur_core::crypto::DataKey;
use salur_core::keys::{FixedKey, Signer, SoftwareSigner};
use salur_core::receipt::{Outcome, Times};
use salur_core::request_auth::sign_request;
use salur_core::store::{Draft, Durability, Store};
use salur_server::{router, AppState, Storage};
use serde_json::json;
use tower::ServiceExt;

const BATCH: usize = 100;

/// Devices and receipts per device: `SALUR_BENCH_DEVICES` and `SALUR_BENCH_RECEIPTS` (default 8 x 500).
fn sizes() -> (usize, u64) {
    let get = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    (get("SALUR_BENCH_DEVICES", 8) as usize, get("SALUR_BENCH_RECEIPTS", 500))
}

struct Phone {
    id: String,
    signer: SoftwareSigner,
    receipts: Vec<String>,
}

fn phones() -> Vec<Phone> {
    let (devices, per_device) = sizes();
    (0..devices)
        .map(|d| {
            let dir = tempfile::tempdir().unwrap();
            let store =
                Store::open_with(&dir.path().join("p.db"), &FixedKey(DataKey::generate().unwrap()), Durability::Normal)
                    .unwrap();
            let signer = SoftwareSigner::generate().unwrap().0;
            let id = format!("bench-{d}");
            store.set_device(&id, &format!("pos-{d}"), &signer).unwrap();
            let receipts = (0..per_device)
                .map(|n| {
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
                    B64.encode(store.record(&signer, draft).unwrap().bytes)
                })
                .collect();
            Phone { id, signer, receipts }
        })
        .collect()
}

fn signed(p: &Phone, method: &str, uri: &str, body: Vec<u8>) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(uri).header("content-type", "application/json");
    for (k, v) in sign_request(&p.signer, &p.id, method, uri, salur_server::clock::now_ms(), &body).unwrap() {
        req = req.header(k, v);
    }
    req.body(Body::from(body)).unwrap()
}

async fn run(name: &str, storage: Storage, phones: &[Phone]) {
    let db = storage.open().await.unwrap();
    let app = router(AppState::new(db.clone(), "admin").allow_unattested_devices(true));
    for p in phones {
        let code = salur_server::domain::enrolment::new_code().unwrap();
        let hash = salur_server::domain::enrolment::code_hash(&code).unwrap();
        db.add_enrolment(&hash, "w", "po", "bench", salur_server::clock::now_ms() + 60_000).await.unwrap();
        let reg = json!({ "device_id": p.id, "worker_id": "w", "post_office": "po", "enrolment_code": code,
                          "public_key": B64.encode(p.signer.public_key_spki().unwrap()) });
        app.clone().oneshot(signed(p, "POST", "/v1/devices", serde_json::to_vec(&reg).unwrap())).await.unwrap();
        let approve = Request::post(format!("/v1/admin/devices/{}/approve", p.id))
            .header("authorization", "Bearer admin")
            .body(Body::empty())
            .unwrap();
        app.clone().oneshot(approve).await.unwrap();
    }
    let start = Instant::now();
    let mut latencies = Vec::new();
    let tasks: Vec<_> = phones
        .iter()
        .map(|p| {
            let app = app.clone();
            let batches: Vec<Request<Body>> = p
                .receipts
                .chunks(BATCH)
                .map(|c| signed(p, "POST", "/v1/receipts", serde_json::to_vec(&json!({ "receipts": c })).unwrap()))
                .collect();
            tokio::spawn(async move {
                let mut lat = Vec::new();
                for req in batches {
                    let t = Instant::now();
                    let res = app.clone().oneshot(req).await.unwrap();
                    let body = to_bytes(res.into_body(), 1 << 24).await.unwrap();
                    assert!(String::from_utf8_lossy(&body).matches(r#""accepted""#).count() == BATCH);
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                lat
            })
        })
        .collect();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let secs = start.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let total: u64 = phones.iter().map(|p| p.receipts.len() as u64).sum();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    println!(
        "{name}: {total} receipts from {} devices in batches of {BATCH}: {:.0} receipts/s; batch latency p50 {:.0} ms, p99 {:.0} ms",
        phones.len(),
        total as f64 / secs,
        pct(0.5),
        pct(0.99)
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (devices, per_device) = sizes();
    eprintln!("signing {} receipts on {devices} simulated phones...", devices as u64 * per_device);
    let phones = phones();
    let dir = tempfile::tempdir().unwrap();
    runtime.block_on(run("sqlite", Storage::Dir(dir.path().to_path_buf()), &phones));
    if let Ok(admin) = std::env::var("SALUR_TEST_POSTGRES_URL") {
        runtime.block_on(async {
            use sqlx::{Connection, Executor};
            sqlx::any::install_default_drivers();
            let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
            for sql in ["DROP DATABASE IF EXISTS salur_bench", "CREATE DATABASE salur_bench"] {
                conn.execute(sql).await.unwrap();
            }
            let url = format!("{}/salur_bench", admin.rsplit_once('/').unwrap().0);
            run("postgres", Storage::Url(url), &phones).await;
        });
    }
}
