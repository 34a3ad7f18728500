//! Dashboard load time with a national roster in PostgreSQL: 8.5 million recipients in 34
//! provinces and 4,800 post offices, 20,000 devices, 6.8 million receipts (60 % paid, 10 %
//! ineligible, 10 % not home), generated in SQL. Times the dashboard query set (`Db::dashboard`)
//! and the whole `GET /v1/dashboard` through the router (JSON included).
//!
//!     SALUR_TEST_POSTGRES_URL=$(scripts/ensure-postgres.sh) cargo bench -p salur-server --bench dashboard
//!
//! SALUR_BENCH_RECIPIENTS changes the size; SALUR_BENCH_REUSE=1 keeps an already generated database.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::http::Request;
use salur_server::{router, AppState, Storage};
use sqlx::{Connection, Executor};
use tower::ServiceExt;

const DEVICES: i64 = 20_000;
const OFFICES: i64 = 4_800;

fn median_p95(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(v[v.len() / 2]), ms(v[(v.len() * 95 / 100).min(v.len() - 1)]))
}

async fn generate(url: &str, n: i64) {
    let mut c = sqlx::AnyConnection::connect(url).await.unwrap();
    let receipts = n * 8 / 10;
    let steps = [
        ("roster", "INSERT INTO rosters (roster_id, roster_key, created_ms) VALUES ('blt-national', '\\x00', 0)".to_string()),
        (
            "devices",
            format!(
                "INSERT INTO devices (device_id, worker_id, post_office, public_key, key_id, status, registered_ms, status_ms)
                 SELECT 'dev-' || g, 'pos-' || g, 'po-' || (g % {OFFICES}), decode(md5(g::text), 'hex'),
                        decode(md5('k' || g), 'hex'), 'approved', 0, 0 FROM generate_series(1, {DEVICES}) g"
            ),
        ),
        (
            "recipients",
            format!(
                "INSERT INTO recipients (roster_id, recipient, nik, name, address, province, regency, district, village,
                                         post_office, worker_id, amount, standing, paid_receipts, overridden)
                 SELECT 'blt-national', decode(md5(g::text), 'hex'), lpad(g::text, 16, '0'), 'Penerima ' || g,
                        'Jalan ' || g, (11 + (g % {OFFICES}) % 34)::text, (1100 + (g % {OFFICES}) % 514)::text,
                        (g % 7000)::text, (g % 80000)::text, 'po-' || (g % {OFFICES}), 'pos-' || (g % {DEVICES} + 1),
                        600000,
                        CASE WHEN g % 10 < 6 THEN 4 WHEN g % 10 = 6 THEN 3 WHEN g % 10 = 7 THEN 1 ELSE 0 END,
                        CASE WHEN g % 10 < 6 THEN 1 ELSE 0 END,
                        CASE WHEN g % 10 < 6 AND g % 100 = 0 THEN 1 ELSE 0 END
                 FROM generate_series(0, {n} - 1) g"
            ),
        ),
        (
            "receipts",
            // Receipt h is for recipient g = (h / 8) * 10 + h % 8, so g % 10 = h % 8 < 8; each
            // device's sequence numbers are dense.
            format!(
                "INSERT INTO receipts (id, device_id, seq, prev, hash, cose, roster_id, recipient, outcome, reason,
                                       method, amount, signed_ms, received_ms, score_e6, threshold_e6)
                 SELECT 'r-' || h, 'dev-' || (h % {DEVICES} + 1), h / {DEVICES} + 1, '\\x00', '\\x00', '\\x00',
                        'blt-national', decode(md5(((h / 8) * 10 + h % 8)::text), 'hex'),
                        CASE WHEN h % 8 < 6 THEN 'paid' WHEN h % 8 = 6 THEN 'ineligible' ELSE 'not_home' END,
                        CASE WHEN h % 8 = 6 THEN (ARRAY['deceased', 'moved', 'not_found'])[h % 3 + 1] END,
                        CASE WHEN h % 8 < 6 AND ((h / 8) * 10 + h % 8) % 100 = 0 THEN 'supervisor_override'
                             ELSE 'registry_template' END,
                        600000, 1795000000000 + (h % 14) * 86400000, 1795000000000 + (h % 14) * 86400000 + 60000,
                        400000 + h % 400000, 400000
                 FROM generate_series(0, {receipts} - 1) h"
            ),
        ),
        ("analyze", "ANALYZE".to_string()),
    ];
    for (what, sql) in steps {
        let t = Instant::now();
        eprintln!("generating {what}...");
        c.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
        eprintln!("  {what}: {:.1} s", t.elapsed().as_secs_f64());
    }
}

fn main() {
    let Ok(admin) = std::env::var("SALUR_TEST_POSTGRES_URL") else {
        eprintln!("SALUR_TEST_POSTGRES_URL is not set: run with SALUR_TEST_POSTGRES_URL=$(scripts/ensure-postgres.sh)");
        return;
    };
    let n: i64 = std::env::var("SALUR_BENCH_RECIPIENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(8_500_000);
    let reuse = std::env::var_os("SALUR_BENCH_REUSE").is_some();
    let name = format!("salur_bench_national_{n}");
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(&admin).await.unwrap();
        let exists: bool = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM pg_database WHERE datname = '{name}'"
        )))
        .fetch_one(&mut c)
        .await
        .unwrap()
            > 0;
        let fresh = !(reuse && exists);
        if fresh {
            c.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).await.unwrap();
            c.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.unwrap();
        }
        let db = Storage::Url(url.clone()).open().await.unwrap();
        if fresh {
            generate(&url, n).await;
            let t = Instant::now();
            db.rebuild_summaries(false).await.unwrap();
            eprintln!("  summaries rebuilt from the base tables: {:.1} s", t.elapsed().as_secs_f64());
        }
        let query: Vec<Duration> = {
            let mut v = Vec::new();
            for _ in 0..20 {
                let t = Instant::now();
                let d = db.dashboard(Some("blt-national")).await.unwrap();
                v.push(t.elapsed());
                assert_eq!(d.total.recipients, n as u64);
            }
            v
        };
        let app = router(AppState::new(db, "bench"));
        let mut page = Vec::new();
        let mut bytes = 0;
        for _ in 0..20 {
            let t = Instant::now();
            // Behind login: the bench's bootstrap token, as any viewer's token would be.
            let req =
                Request::get("/v1/dashboard").header("authorization", "Bearer bench").body(Body::empty()).unwrap();
            let res = app.clone().oneshot(req).await.unwrap();
            assert_eq!(res.status(), axum::http::StatusCode::OK);
            bytes = to_bytes(res.into_body(), 1 << 30).await.unwrap().len();
            page.push(t.elapsed());
        }
        let (qm, qp) = median_p95(query);
        let (pm, pp) = median_p95(page);
        println!("dashboard, {n} recipients, {DEVICES} devices, {OFFICES} post offices (PostgreSQL):");
        println!("  queries (Db::dashboard):      median {qm:7.1} ms   p95 {qp:7.1} ms");
        println!("  GET /v1/dashboard ({:.1} MB): median {pm:7.1} ms   p95 {pp:7.1} ms", bytes as f64 / 1e6);
    });
}
