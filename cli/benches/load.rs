//! Load with faults (issue 17, item 4): simulated phones, each with its own receipt store (a real
//! SQLite file, `synchronous=FULL`) and the real sync client, upload through a fault-injecting
//! proxy to a `salur serve` process on SQLite and, when SALUR_TEST_POSTGRES_URL is set, on
//! PostgreSQL. The proxy drops requests (TCP reset before the server sees them), resets
//! connections after the server committed, replays requests, holds some past the client's
//! timeout so that they arrive after its retry (reordered), and answers some with 503; the server
//! is killed (SIGKILL) and restarted twice. At the end every phone syncs once more without the
//! proxy, and the bench checks: server rows = distinct receipt ids = phone rows, each phone's ids
//! are the server's ids for that device, and the dashboard's totals equal counts from the base
//! tables.
//!
//!     SALUR_TEST_POSTGRES_URL=$(scripts/ensure-postgres.sh) cargo bench -p salur-cli --bench load
//!
//! SALUR_LOAD_PHONES (default 120), SALUR_LOAD_SECONDS (600), SALUR_LOAD_RPS (250, the
//! request rate the phones pace themselves to) and SALUR_LOAD_ADDRESS_RATE (the server's
//! `--address-rate`, default 1000: every phone reaches it from 127.0.0.1, like phones behind one
//! carrier NAT; 50 is the server's default) change the run.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::to_bytes;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::net::{Fault, FaultProxy, ServerProcess, ADMIN};
use salur_core::crypto::DataKey;
use salur_core::keys::{FixedKey, Signer, SoftwareSigner};
use salur_core::receipt::{Outcome, Times};
use salur_core::store::{Draft, OutboxState, Store};
use salur_core::sync::{Backoff, SyncClient, SyncConfig};
use salur_server::domain::devices::DeviceStatus;
use sqlx::{Connection, Row};
use tower::ServiceExt;

const ROSTER: &str = "blt-2026-12";
/// Roster recipients per phone; the first `PAID_PER_PHONE` are paid after a few not-home visits,
/// the others stay not at home all run.
const RECIPIENTS_PER_PHONE: usize = 30;
const PAID_PER_PHONE: usize = 20;
/// Requests per sync: the clock check, one batch, the chain check.
const REQUESTS_PER_SYNC: f64 = 3.0;

struct Settings {
    phones: usize,
    seconds: u64,
    rps: f64,
    address_rate: u32,
}

impl Settings {
    fn from_env() -> Self {
        let get = |name: &str, default: f64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
        Self {
            phones: get("SALUR_LOAD_PHONES", 120.0) as usize,
            seconds: get("SALUR_LOAD_SECONDS", 600.0) as u64,
            rps: get("SALUR_LOAD_RPS", 250.0),
            address_rate: get("SALUR_LOAD_ADDRESS_RATE", 1000.0) as u32,
        }
    }
}

/// One simulated phone: its store, key, and the roster recipients it visits.
struct Phone {
    id: String,
    store: Store,
    signer: SoftwareSigner,
    recipients: Vec<Vec<u8>>,
    visits: Mutex<Vec<u32>>,
    next: Mutex<usize>,
    _dir: tempfile::TempDir,
}

impl Phone {
    /// The next visit: recipient `j` is paid on its `j % 4 + 2`-th visit when `j < PAID_PER_PHONE`
    /// (not at home before); the others are never at home. Paid recipients are not visited again.
    fn next_draft(&self, mono_ms: u64) -> Draft {
        let mut next = self.next.lock().unwrap();
        let mut visits = self.visits.lock().unwrap();
        let mut j = *next % RECIPIENTS_PER_PHONE;
        while j < PAID_PER_PHONE && visits[j] as usize >= j % 4 + 2 {
            *next += 1;
            j = *next % RECIPIENTS_PER_PHONE;
        }
        *next += 1;
        visits[j] += 1;
        let paid = j < PAID_PER_PHONE && visits[j] as usize == j % 4 + 2;
        Draft {
            roster_id: ROSTER.into(),
            recipient: self.recipients[j].clone(),
            amount: 600_000,
            outcome: if paid { Outcome::Paid } else { Outcome::NotHome },
            evidence: paid.then(common::registry_match),
            evidence_jpeg: None,
            time: Times { wall_ms: salur_core::sync::now_ms(), mono_ms, offset_ms: 0 },
            location: None,
            received_in_full: None,
            kuasa_jpeg: None,
            card_jpeg: None,
            card_face_jpeg: None,
            enrolled_template: None,
        }
    }
}

fn client_config(url: &str) -> SyncConfig {
    let mut c = SyncConfig::new(url);
    c.allow_http_loopback = true;
    c.batch_size = 50;
    c.backoff = Backoff { base: Duration::from_millis(100), cap: Duration::from_secs(2), max_attempts: 30 };
    c.connect_timeout = Duration::from_secs(1);
    c.request_timeout = Duration::from_secs(3);
    c
}

/// The proxy's choice for request `n`: 1.5 % dropped, 1.5 % reset after the server answered,
/// 1.5 % replayed, 1 % held for 4 s (past the client's 3 s timeout, so it lands after the
/// retry), 0.5 % answered 503 with Retry-After 1; the rest forwarded.
fn fault(n: usize) -> Fault {
    // A fixed mix, spread by a multiplicative hash so that faults do not come in runs.
    match (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54 {
        0..15 => Fault::Reset,
        15..30 => Fault::DropAnswer,
        30..45 => Fault::Duplicate,
        45..55 => Fault::Delay(Duration::from_secs(4)),
        55..60 => Fault::Status(503, Some(1)),
        _ => Fault::Forward,
    }
}

fn kind(f: &Fault) -> &'static str {
    match f {
        Fault::Forward => "forwarded",
        Fault::Reset => "dropped (reset)",
        Fault::DropAnswer => "reset after commit",
        Fault::Duplicate => "replayed",
        Fault::Delay(_) => "held 4 s",
        Fault::Status(..) => "503",
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted.get(((sorted.len().max(1) - 1) as f64 * p) as usize).copied().unwrap_or(f64::NAN)
}

/// Registers and approves every phone in-process (the API's enrolment throttle allows ten
/// registrations per address, meant for people), and loads the roster its recipients are in.
async fn set_up(backend: &common::Backend, settings: &Settings) -> Vec<Arc<Phone>> {
    let db = backend.storage.open().await.unwrap();
    let key = db.roster_key(ROSTER).await.unwrap();
    let throttle =
        salur_server::LoginThrottle::new(100_000, Duration::from_millis(1), 100_000, Duration::from_millis(1));
    let app = salur_server::router(
        salur_server::AppState::new(db.clone(), ADMIN).allow_unattested_devices(true).with_enrolment_throttle(throttle),
    );
    let started = Instant::now();
    let mut phones = Vec::new();
    for p in 0..settings.phones {
        let (worker, office) = (format!("pos-{p}"), format!("po-{}", 40111 + p % 12));
        let mut recipients = Vec::new();
        for j in 0..RECIPIENTS_PER_PHONE {
            let nik = format!("3171{p:06}{j:06}");
            let mut row = common::roster_row(&nik, &format!("Penerima {p}-{j}"), ROSTER);
            row.worker_id.clone_from(&worker);
            row.post_office.clone_from(&office);
            db.put_recipient(&row, None).await.unwrap();
            recipients.push(salur_core::receipt::recipient_ref(&key, &nik));
        }
        let dir = tempfile::tempdir().unwrap();
        let keys = FixedKey(DataKey::generate().unwrap());
        let store = Store::open(&dir.path().join("phone.db"), &keys).unwrap();
        let signer = SoftwareSigner::generate().unwrap().0;
        let id = format!("load-{p:03}");
        let code = common::stored_code(&db, &worker, &office).await;
        let reg = serde_json::json!({ "device_id": id, "worker_id": worker, "post_office": office,
            "enrolment_code": code, "public_key": B64.encode(signer.public_key_spki().unwrap()) });
        let req = common::signed_request(&signer, &id, "POST", "/v1/devices", serde_json::to_vec(&reg).unwrap());
        let res = app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let body = to_bytes(res.into_body(), 1 << 16).await.unwrap();
        assert!(status.is_success(), "registration: {status} {}", String::from_utf8_lossy(&body));
        db.set_device_status(&id, DeviceStatus::Approved).await.unwrap();
        store.set_device(&id, &worker, &signer).unwrap();
        phones.push(Arc::new(Phone {
            id,
            store,
            signer,
            recipients,
            visits: Mutex::new(vec![0; RECIPIENTS_PER_PHONE]),
            next: Mutex::new(0),
            _dir: dir,
        }));
    }
    eprintln!(
        "{}: {} phones registered, {} roster rows loaded in {:.1} s",
        backend.name,
        phones.len(),
        phones.len() * RECIPIENTS_PER_PHONE,
        started.elapsed().as_secs_f64()
    );
    phones
}

/// What one phone's loop saw.
#[derive(Default)]
struct PhoneTally {
    syncs: u64,
    sync_ms: Vec<f64>,
    errors: BTreeMap<String, u64>,
}

/// Records one to three receipts, syncs through the proxy, and waits so that all phones together
/// send about `rps` requests a second; until `stop`.
async fn phone_loop(phone: Arc<Phone>, url: String, cycle: Duration, stop: Arc<AtomicBool>, seed: u64) -> PhoneTally {
    let client = SyncClient::new(&client_config(&url)).unwrap();
    let mut tally = PhoneTally::default();
    let mut rng = seed | 1;
    let mut mono = 0;
    // Phones start spread over one cycle, not all at once.
    tokio::time::sleep(cycle.mul_f64((seed % 1000) as f64 / 1000.0)).await;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let count = 1 + rng % 3;
        let p = phone.clone();
        mono += 1_000;
        let m = mono;
        tokio::task::spawn_blocking(move || {
            for k in 0..count {
                p.store.record(&p.signer, p.next_draft(m + k)).unwrap();
            }
        })
        .await
        .unwrap();
        let t = Instant::now();
        match client.sync(&phone.store, &phone.signer, &()).await {
            Ok(_) => tally.sync_ms.push(t.elapsed().as_secs_f64() * 1000.0),
            Err(e) => *tally.errors.entry(error_kind(&e)).or_default() += 1,
        }
        tally.syncs += 1;
        // Jitter of +-20 % keeps the phones from falling into step.
        let wait = cycle.mul_f64(0.8 + (rng % 400) as f64 / 1000.0).saturating_sub(started.elapsed());
        tokio::time::sleep(wait).await;
    }
    tally
}

fn error_kind(e: &salur_core::Error) -> String {
    match e {
        salur_core::Error::Server { status, .. } => format!("server {status}"),
        other => {
            let text = other.to_string();
            text.split(':').next().unwrap_or("?").chars().take(60).collect()
        }
    }
}

async fn count(conn: &mut sqlx::AnyConnection, sql: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).bind(ROSTER).fetch_one(&mut *conn).await.unwrap().get::<i64, _>(0)
}

async fn run(backend: common::Backend, settings: &Settings, proxy_rt: &tokio::runtime::Handle) {
    let phones = set_up(&backend, settings).await;
    let mut server = ServerProcess::start_args(&backend, &["--address-rate", &settings.address_rate.to_string()]);
    eprintln!("{}: salur serve --address-rate {}", backend.name, settings.address_rate);
    // The proxy on a runtime of its own: its clock on the server's answers is not held up by a
    // phone's store writing (the sync client calls SQLite inline, as the app does on its worker).
    let port = server.port;
    let proxy = proxy_rt.spawn(async move { FaultProxy::start_with(port, |n, _| fault(n)).await }).await.unwrap();
    let cycle = Duration::from_secs_f64(settings.phones as f64 * REQUESTS_PER_SYNC / settings.rps);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = phones
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let seed = (i as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D);
            tokio::spawn(phone_loop(p.clone(), proxy.url(), cycle, stop.clone(), seed))
        })
        .collect();
    // Two SIGKILLs of the server, a third and two thirds of the way in; progress every minute.
    let total = Duration::from_secs(settings.seconds);
    let mut restarts = 0;
    let mut next_report = Duration::from_secs(60);
    while started.elapsed() < total {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let at = started.elapsed();
        if restarts < 2 && at >= total.mul_f64(f64::from(restarts + 1) / 3.0) {
            server.kill();
            tokio::time::sleep(Duration::from_millis(500)).await;
            server.restart();
            restarts += 1;
            eprintln!("{}: server killed and restarted at {:.0} s", backend.name, at.as_secs_f64());
        }
        if at >= next_report {
            let n = proxy.seen.lock().unwrap().len();
            eprintln!(
                "{}: {:.0} s, {n} requests ({:.0}/s)",
                backend.name,
                at.as_secs_f64(),
                n as f64 / at.as_secs_f64()
            );
            next_report += Duration::from_secs(60);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut tallies = Vec::new();
    for t in tasks {
        tallies.push(t.await.unwrap());
    }
    let secs = started.elapsed().as_secs_f64();
    // Requests the proxy still holds reach the server before the count.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let seen = proxy.seen.lock().unwrap().clone();
    let answers = proxy.answers.lock().unwrap().clone();
    drop(proxy);

    // One last sync per phone straight to the server, as a phone does on the next good signal.
    for p in &phones {
        let client = SyncClient::new(&client_config(&server.url())).unwrap();
        client.sync(&p.store, &p.signer, &()).await.unwrap();
    }

    // Exactly once: the server's rows per device are the phone's, no receipt twice.
    let db = backend.storage.open().await.unwrap();
    let mut phone_rows = 0;
    let mut all_ids = BTreeSet::new();
    for p in &phones {
        let rows = p.store.receipts(0, usize::MAX >> 1).unwrap();
        assert!(rows.iter().all(|r| r.state == OutboxState::Acknowledged), "{}: unacknowledged receipts", p.id);
        let phone_ids: BTreeSet<String> = rows.into_iter().map(|r| r.id).collect();
        phone_rows += phone_ids.len();
        let spki = p.signer.public_key_spki().unwrap();
        let server_rows = db.device_receipts(&p.id).await.unwrap();
        let server_ids: Vec<String> =
            server_rows.iter().map(|b| salur_core::receipt::verify(b, &spki).unwrap().receipt.id.clone()).collect();
        let distinct: BTreeSet<String> = server_ids.iter().cloned().collect();
        assert_eq!(distinct.len(), server_ids.len(), "{}: a receipt stored twice", p.id);
        assert_eq!(distinct, phone_ids, "{}: server and phone disagree", p.id);
        assert!(p.store.verify_chain().unwrap().is_valid());
        all_ids.extend(distinct);
    }

    // The dashboard against counts from the base tables.
    let url = match &backend.storage {
        salur_server::Storage::Dir(d) => format!("sqlite://{}", d.join("salur.db").display()),
        salur_server::Storage::Url(u) => u.clone(),
    };
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    let server_rows = count(&mut conn, "SELECT COUNT(*) FROM receipts WHERE roster_id = $1").await;
    let distinct_ids = count(&mut conn, "SELECT COUNT(DISTINCT id) FROM receipts WHERE roster_id = $1").await;
    let paid_receipts =
        count(&mut conn, "SELECT COUNT(*) FROM receipts WHERE roster_id = $1 AND outcome = 'paid'").await;
    let paid = "SELECT recipient FROM receipts WHERE roster_id = $1 AND outcome = 'paid'";
    let paid_recipients =
        count(&mut conn, &format!("SELECT COUNT(*) FROM recipients WHERE roster_id = $1 AND recipient IN ({paid})"))
            .await;
    let paid_amount = count(
        &mut conn,
        &format!("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM recipients WHERE roster_id = $1 AND recipient IN ({paid})"),
    )
    .await;
    let not_home = count(
        &mut conn,
        &format!(
            "SELECT COUNT(*) FROM recipients WHERE roster_id = $1 AND recipient NOT IN ({paid}) AND recipient IN
             (SELECT recipient FROM receipts WHERE roster_id = $1 AND outcome = 'not_home')"
        ),
    )
    .await;
    let recipients = count(&mut conn, "SELECT COUNT(*) FROM recipients WHERE roster_id = $1").await;
    let dash: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/v1/dashboard?roster={ROSTER}", server.url()))
        .header("authorization", format!("Bearer {ADMIN}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    let n = |v: &serde_json::Value| v.as_i64().unwrap_or(-1);
    let by_day: i64 = dash["paid_by_day"].as_array().unwrap().iter().map(|d| n(&d[1])).sum();
    let per_device_ok = dash["devices"].as_array().unwrap().iter().all(|d| {
        let id = d["device_id"].as_str().unwrap_or_default();
        phones
            .iter()
            .find(|p| p.id == id)
            .is_some_and(|p| p.store.receipts(0, usize::MAX >> 1).unwrap().len() as i64 == n(&d["receipts"]))
    });
    let checks = [
        ("server rows = distinct ids", server_rows == distinct_ids),
        ("distinct ids = phone rows", distinct_ids as usize == phone_rows && all_ids.len() == phone_rows),
        ("dashboard receipts", n(&dash["receipts"]) == server_rows),
        ("dashboard paid", n(&dash["total"]["paid"]) == paid_recipients),
        ("dashboard paid amount", n(&dash["total"]["paid_amount"]) == paid_amount),
        ("dashboard not home", n(&dash["total"]["not_home"]) == not_home),
        ("dashboard recipients", n(&dash["total"]["recipients"]) == recipients),
        ("dashboard paid by day", by_day == paid_receipts),
        ("dashboard receipts per device", per_device_ok && dash["devices"].as_array().unwrap().len() == phones.len()),
    ];

    // The figures.
    let mut faults: BTreeMap<&str, u64> = BTreeMap::new();
    for s in &seen {
        *faults.entry(kind(&s.fault)).or_default() += 1;
    }
    let mut ok_ms: Vec<f64> = answers.iter().filter(|a| a.status < 400).map(|a| a.ms).collect();
    ok_ms.sort_by(f64::total_cmp);
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    for a in &answers {
        *statuses.entry(a.status).or_default() += 1;
    }
    let mut sync_ms: Vec<f64> = tallies.iter().flat_map(|t| t.sync_ms.iter().copied()).collect();
    sync_ms.sort_by(f64::total_cmp);
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    for t in &tallies {
        for (k, v) in &t.errors {
            *errors.entry(k.clone()).or_default() += v;
        }
    }
    let syncs: u64 = tallies.iter().map(|t| t.syncs).sum();
    println!("== load with faults: {} ==", backend.name);
    println!(
        "{} phones, {secs:.0} s, {} requests through the proxy ({:.0}/s), {restarts} server restarts",
        phones.len(),
        seen.len(),
        seen.len() as f64 / secs
    );
    println!("proxy: {faults:?}");
    println!("server answers by status: {statuses:?}");
    println!(
        "server latency (answers < 400): p50 {:.1} ms, p99 {:.1} ms, max {:.0} ms",
        percentile(&ok_ms, 0.5),
        percentile(&ok_ms, 0.99),
        percentile(&ok_ms, 1.0)
    );
    println!(
        "phone syncs: {syncs}, {} complete; sync time p50 {:.0} ms, p99 {:.0} ms; failed syncs (kept, resumed next time): {errors:?}",
        sync_ms.len(),
        percentile(&sync_ms, 0.5),
        percentile(&sync_ms, 0.99)
    );
    println!(
        "receipts: phone rows {phone_rows}, server rows {server_rows}, distinct ids {distinct_ids}; paid {paid_recipients} of {recipients} recipients, not home {not_home}"
    );
    for (name, ok) in &checks {
        println!("check {name}: {}", if *ok { "ok" } else { "FAILED" });
    }
    assert!(checks.iter().all(|(_, ok)| *ok), "{}: a check failed (above)", backend.name);
    assert_eq!(statuses.keys().filter(|s| **s >= 500).count(), 0, "{}: the server answered 5xx", backend.name);
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let settings = Settings::from_env();
    // A thread per phone or so: each phone's sync writes its SQLite file inline (fsync and all),
    // and on two worker threads one phone's fsync would stall the others, which real phones,
    // being separate devices, never do.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(settings.phones.clamp(2, 128))
        .enable_all()
        .build()
        .unwrap();
    let proxy_rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        for backend in common::backends().await {
            run(backend, &settings, proxy_rt.handle()).await;
        }
    });
}
