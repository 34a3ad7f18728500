//! The backends every server test runs on: a fresh embedded SQLite file always, and a fresh
//! PostgreSQL database when SALUR_TEST_POSTGRES_URL names a server (scripts/test.sh starts one;
//! under CI its absence is an error, so the PostgreSQL path cannot be skipped silently).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};

use salur_server::Storage;
use sqlx::{Connection, Executor};

pub mod phone;

/// One database to run a test against.
pub struct Backend {
    /// "sqlite" or "postgres".
    pub name: &'static str,
    /// How to open it.
    pub storage: Storage,
    /// The SQLite folder, kept alive for the test.
    pub dir: Option<tempfile::TempDir>,
}

impl Backend {
    /// Arguments that point the `salur` binary at this database.
    pub fn cli_args(&self) -> Vec<String> {
        match &self.storage {
            Storage::Dir(d) => vec!["--data-dir".into(), d.display().to_string()],
            Storage::Url(u) => vec!["--database-url".into(), u.clone()],
        }
    }
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

pub async fn backends() -> Vec<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let mut out = vec![Backend { name: "sqlite", storage: Storage::Dir(dir.path().join("data")), dir: Some(dir) }];
    match std::env::var("SALUR_TEST_POSTGRES_URL") {
        Ok(admin) => {
            sqlx::any::install_default_drivers();
            let name = format!("salur_test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
            let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
            // The name is ours (digits and underscores), so formatting it into SQL is safe.
            for sql in [format!("DROP DATABASE IF EXISTS {name}"), format!("CREATE DATABASE {name}")] {
                conn.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
            }
            let base = admin.rsplit_once('/').unwrap().0;
            seal_key_for_urls();
            out.push(Backend { name: "postgres", storage: Storage::Url(format!("{base}/{name}")), dir: None });
        }
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("SALUR_TEST_POSTGRES_URL is not set: run the tests through scripts/test.sh")
        }
        Err(_) => eprintln!("SALUR_TEST_POSTGRES_URL not set: PostgreSQL tests skipped (scripts/test.sh sets it)"),
    }
    out
}

/// A database named by URL seals with the key file `SALUR_SEAL_KEY_FILE` names: one per test
/// process (and the `salur` processes it starts), made here unless the caller set one.
fn seal_key_for_urls() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os(salur_server::store::seal::KEY_FILE_ENV).is_none() {
            let path = std::env::temp_dir().join(format!("salur-test-seal-{}.key", std::process::id()));
            let _ = std::fs::remove_file(&path);
            // Made by the server's own loader (64 hex digits, owner-only).
            salur_server::store::seal::Sealer::from_file(&path).unwrap();
            std::env::set_var(salur_server::store::seal::KEY_FILE_ENV, &path);
        }
    });
}

/// A roster row for `nik` and `name` in `period`, assigned to worker `pos-1` at post office
/// `jakarta-10110` (Jakarta Selatan), Rp 600,000.
pub fn roster_row(nik: &str, name: &str, period: &str) -> salur_server::domain::roster::RosterRow {
    salur_server::domain::roster::RosterRow {
        nik: nik.into(),
        name: name.into(),
        address: "Jl. Merdeka 1".into(),
        province: "31".into(),
        regency: "3171".into(),
        district: "317101".into(),
        village: "3171011001".into(),
        post_office: "jakarta-10110".into(),
        amount: 600_000,
        period: period.into(),
        worker_id: "pos-1".into(),
        photo: None,
        kk_members: None,
    }
}

/// A JSON request signed by `signer` as device `device_id`.
pub fn signed_request(
    signer: &dyn salur_core::keys::Signer,
    device_id: &str,
    method: &str,
    uri: &str,
    body: Vec<u8>,
) -> axum::http::Request<axum::body::Body> {
    let mut req = axum::http::Request::builder().method(method).uri(uri).header("content-type", "application/json");
    let headers =
        salur_core::request_auth::sign_request(signer, device_id, method, uri, salur_server::clock::now_ms(), &body);
    for (k, v) in headers.unwrap() {
        req = req.header(k, v);
    }
    req.body(axum::body::Body::from(body)).unwrap()
}

/// A one-time enrolment code for `worker_id` at `post_office`, issued over the API with `token`
/// (an approver's or administrator's).
pub async fn enrolment_code(app: &axum::Router, token: &str, worker_id: &str, post_office: &str) -> String {
    use tower::ServiceExt;
    // Device tests run without a roster: the worker is new on purpose.
    let body =
        serde_json::json!({ "worker_id": worker_id, "post_office": post_office, "allow_unknown": true }).to_string();
    let req = axum::http::Request::post("/v1/admin/enrolments")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), axum::http::StatusCode::CREATED);
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 16).await.unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    answer["code"].as_str().unwrap().to_string()
}

/// A one-time enrolment code for `worker_id` at `post_office`, put straight into the store.
pub async fn stored_code(db: &salur_server::Db, worker_id: &str, post_office: &str) -> String {
    use salur_server::domain::enrolment;
    let code = enrolment::new_code().unwrap();
    let expires = salur_server::clock::now_ms() + 3_600_000;
    db.add_enrolment(&enrolment::code_hash(&code).unwrap(), worker_id, post_office, "test", expires).await.unwrap();
    code
}
