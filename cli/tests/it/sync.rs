//! The phone's sync client against the real `salur serve` on loopback (SQLite and PostgreSQL):
//! normal sync, the server killed and restarted mid-sync, a proxy injecting faults, the client
//! process killed mid-sync, a server restored from an old backup, TLS with key pinning.
//! After each: every receipt is in the server's database exactly once and acknowledged on the phone.

use crate::common;

use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::net::{Fault, FaultProxy, ServerProcess, TestPki};
use salur_core::crypto::DataKey;
use salur_core::keys::{FixedKey, Signer, SoftwareSigner};
use salur_core::receipt::{Evidence, Liveness, Method, Outcome, Times};
use salur_core::store::{Draft, OutboxState, Store};
use salur_core::sync::{spki_sha256, Backoff, SyncClient, SyncConfig, SyncListener, SyncProgress};
use salur_core::Error;

const CHILD_ENV: &str = "SALUR_SYNC_TEST_CHILD";

/// A phone: a store file and a software key that a second process can open too.
struct Phone {
    store: Store,
    signer: SoftwareSigner,
    device_id: String,
}

impl Phone {
    fn keys() -> FixedKey {
        FixedKey(DataKey::new([9; 32]))
    }

    fn open(dir: &Path, device_id: &str) -> Self {
        let keys = Self::keys();
        let store = Store::open(&dir.join("phone.db"), &keys).unwrap();
        let signer = SoftwareSigner::open_or_create(&dir.join("device.key"), &keys).unwrap();
        Self { store, signer, device_id: device_id.to_string() }
    }

    fn record(&self, count: u64) {
        // New recipients each time: the store pays a recipient once.
        let base = self.store.receipts(0, usize::MAX).unwrap().len() as u64;
        for n in base..base + count {
            let draft = Draft {
                roster_id: "blt-2026-11".into(),
                recipient: salur_core::receipt::recipient_ref(b"k", &format!("3171{n:012}")),
                amount: 600_000,
                outcome: Outcome::Paid,
                evidence: Some(common::registry_match()),
                evidence_jpeg: None,
                time: Times { wall_ms: salur_core::sync::now_ms(), mono_ms: n, offset_ms: 0 },
                location: None,
                received_in_full: None,
                kuasa_jpeg: None,
                card_jpeg: None,
                card_face_jpeg: None,
                enrolled_template: None,
            };
            self.store.record(&self.signer, draft).unwrap();
        }
    }

    fn ids(&self) -> BTreeSet<String> {
        let all = self.store.receipts(0, 1 << 30).unwrap();
        let unacked: Vec<_> = all.iter().filter(|r| r.state != OutboxState::Acknowledged).collect();
        assert!(unacked.is_empty(), "not acknowledged on the phone: {unacked:?}");
        all.into_iter().map(|r| r.id).collect()
    }
}

fn config(url: &str) -> SyncConfig {
    let mut c = SyncConfig::new(url);
    c.allow_http_loopback = true;
    c.batch_size = 50;
    c.backoff = Backoff { base: Duration::from_millis(50), cap: Duration::from_secs(1), max_attempts: 60 };
    c.connect_timeout = Duration::from_secs(1);
    c.request_timeout = Duration::from_secs(3);
    c
}

/// Registers the phone through `url` and approves it.
async fn enrol(server: &ServerProcess, phone: &Phone) {
    let client = SyncClient::new(&config(&server.url())).unwrap();
    let code = server.enrolment_code("pos-1", "po-40111").await;
    let reg = client.register(&phone.store, &phone.signer, &phone.device_id, "pos-1", "po-40111", &code).await.unwrap();
    assert_eq!(reg.status, "pending");
    server.admin(&format!("/v1/admin/devices/{}/approve", phone.device_id)).await;
}

/// The receipt ids the server's database holds for the phone, checking none is there twice.
async fn server_ids(backend: &common::Backend, phone: &Phone) -> BTreeSet<String> {
    let db = backend.storage.open().await.unwrap();
    let spki = phone.signer.public_key_spki().unwrap();
    let rows = db.device_receipts(&phone.device_id).await.unwrap();
    let ids: Vec<String> =
        rows.iter().map(|b| salur_core::receipt::verify(b, &spki).unwrap().receipt.id.clone()).collect();
    let set: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(set.len(), ids.len(), "a receipt stored twice");
    set
}

/// Both sides agree, exactly once, and the phone's chain is intact.
async fn assert_exactly_once(backend: &common::Backend, phone: &Phone, expected: usize) {
    let phone_ids = phone.ids();
    assert_eq!(phone_ids.len(), expected);
    assert_eq!(server_ids(backend, phone).await, phone_ids, "{}: server and phone disagree", backend.name);
    assert!(phone.store.verify_chain().unwrap().is_valid());
    let status = phone.store.sync_status().unwrap();
    assert_eq!((status.pending, status.last_error.as_deref()), (0, None), "{status:?}");
    assert!(status.last_success_ms.is_some());
}

struct Channel(Mutex<mpsc::Sender<SyncProgress>>);

impl SyncListener for Channel {
    fn progress(&self, p: SyncProgress) {
        let _ = self.0.lock().unwrap().send(p);
    }
}

#[tokio::test]
async fn a_normal_sync_uploads_each_receipt_once_and_waits_for_approval() {
    for backend in common::backends().await {
        let dir = tempfile::tempdir().unwrap();
        let server = ServerProcess::start(&backend);
        let phone = Phone::open(dir.path(), "dev-normal");
        let client = SyncClient::new(&config(&server.url())).unwrap();
        let code = server.enrolment_code("pos-1", "po-40111").await;
        client.register(&phone.store, &phone.signer, &phone.device_id, "pos-1", "po-40111", &code).await.unwrap();
        phone.record(120);

        // Not yet approved: the sync stops with a clear error and loses nothing.
        let err = client.sync(&phone.store, &phone.signer, &()).await.unwrap_err();
        assert!(matches!(err, Error::Server { status: 403, .. }), "{err}");
        let status = phone.store.sync_status().unwrap();
        assert_eq!(status.pending, 120);
        assert!(status.last_error.unwrap().contains("not approved"), "the worker is told what to do");
        assert_eq!(status.last_error_kind.as_deref(), Some("server"));

        server.admin("/v1/admin/devices/dev-normal/approve").await;
        let (tx, rx) = mpsc::channel();
        let report = client.sync(&phone.store, &phone.signer, &Channel(Mutex::new(tx))).await.unwrap();
        assert_eq!((report.progress.acknowledged, report.progress.rejected), (120, 0));
        assert_eq!(report.server_contiguous_to, 120);
        let seen: Vec<SyncProgress> = rx.try_iter().collect();
        assert_eq!(seen.len(), 3, "one progress report per batch of 50");
        assert!(seen.windows(2).all(|w| w[0].acknowledged < w[1].acknowledged));
        assert_exactly_once(&backend, &phone, 120).await;

        // Nothing pending: a second sync sends nothing.
        let again = client.sync(&phone.store, &phone.signer, &()).await.unwrap();
        assert_eq!(again.progress.sent, 0);
        // The clock offset was measured against the server (same machine: near zero).
        assert!(phone.store.clock_offset_ms().unwrap().abs() < 2_000);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_killed_mid_sync_and_restarted_loses_and_doubles_nothing() {
    for backend in common::backends().await {
        let dir = tempfile::tempdir().unwrap();
        let mut server = ServerProcess::start(&backend);
        let phone = Arc::new(Phone::open(dir.path(), "dev-restart"));
        enrol(&server, &phone).await;
        phone.record(1500);
        let (tx, rx) = mpsc::channel();
        let mut cfg = config(&server.url());
        cfg.batch_size = 20;
        let client = Arc::new(SyncClient::new(&cfg).unwrap());
        let sync = {
            let (phone, client) = (phone.clone(), client.clone());
            tokio::spawn(async move {
                client.sync(&phone.store, &phone.signer, &Channel(Mutex::new(tx))).await.map(|r| r.progress)
            })
        };
        for _ in 0..3 {
            rx.recv_timeout(Duration::from_secs(30)).expect("a batch acknowledged before the kill");
            server.kill();
            std::thread::sleep(Duration::from_millis(300));
            server.restart();
        }
        let progress = sync.await.unwrap().unwrap();
        assert_eq!(progress.acknowledged, 1500);
        assert_exactly_once(&backend, &phone, 1500).await;
    }
}

#[tokio::test]
async fn faults_on_the_wire_are_retried_and_retry_after_is_honoured() {
    use Fault::*;
    let script = vec![
        Forward,                           // GET /v1/time
        Reset,                             // upload: connection dropped before the server saw it
        Status(500, None),                 // server error
        Status(503, Some(1)),              // overloaded, come back in a second
        DropAnswer,                        // the server committed, the phone never heard
        Delay(Duration::from_millis(300)), // slow but in time
        Status(429, Some(1)),              // rate limited
        Delay(Duration::from_secs(4)),     // longer than the client waits: it gives up, the server commits
        Forward,
        Reset,
        DropAnswer,
    ];
    for backend in common::backends().await {
        let dir = tempfile::tempdir().unwrap();
        let server = ServerProcess::start(&backend);
        let phone = Phone::open(dir.path(), "dev-faults");
        enrol(&server, &phone).await;
        phone.record(400);
        let proxy = FaultProxy::start(server.port, script.clone()).await;
        let client = SyncClient::new(&config(&proxy.url())).unwrap();
        let report = client.sync(&phone.store, &phone.signer, &()).await.unwrap();
        assert_eq!(report.progress.acknowledged, 400);
        assert_exactly_once(&backend, &phone, 400).await;

        let seen = proxy.seen.lock().unwrap().clone();
        for (i, s) in seen.iter().enumerate() {
            if let Status(_, Some(secs)) = s.fault {
                let next = &seen[i + 1];
                assert!(
                    next.at.duration_since(s.at) >= Duration::from_secs(secs),
                    "retried {:?} after a Retry-After of {secs} s",
                    next.at.duration_since(s.at)
                );
            }
        }
        assert!(
            seen.iter().filter(|s| s.request_line.starts_with("POST /v1/receipts")).count() >= 8 + 8,
            "8 batches, 8 failed attempts"
        );
    }
}

/// The child half of `the_client_killed_mid_sync_resumes_after_restart`: syncs the phone in the
/// folder named by the environment, printing a line per batch.
#[test]
#[ignore = "run by the_client_killed_mid_sync_resumes_after_restart as a child process"]
fn child_sync_process() {
    let spec = std::env::var(CHILD_ENV).unwrap();
    let (dir, url) = spec.split_once('|').unwrap();
    let phone = Phone::open(Path::new(dir), "dev-killed");
    struct Print;
    impl SyncListener for Print {
        fn progress(&self, p: SyncProgress) {
            println!("progress {}", p.acknowledged);
        }
    }
    let mut cfg = config(url);
    cfg.batch_size = 10;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(SyncClient::new(&cfg).unwrap().sync(&phone.store, &phone.signer, &Print)).unwrap();
    println!("done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_killed_mid_sync_resumes_after_restart() {
    for backend in common::backends().await {
        let dir = tempfile::tempdir().unwrap();
        let server = ServerProcess::start(&backend);
        {
            let phone = Phone::open(dir.path(), "dev-killed");
            enrol(&server, &phone).await;
            phone.record(600);
        }
        // Every upload is slowed so that the kills land while requests are in flight.
        let proxy = FaultProxy::start_with(server.port, |_, line| {
            if line.starts_with("POST") {
                Fault::Delay(Duration::from_millis(40))
            } else {
                Fault::Forward
            }
        })
        .await;
        let spec = format!("{}|{}", dir.path().display(), proxy.url());
        for kill_after in [1, 4, 9] {
            let mut child = Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "sync::child_sync_process", "--ignored", "--nocapture", "--test-threads=1"])
                .env(CHILD_ENV, &spec)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
            let mut batches = 0;
            for line in lines {
                let line = line.unwrap();
                assert_ne!(line, "done", "the child finished before it was killed");
                batches += usize::from(line.starts_with("progress "));
                if batches == kill_after {
                    break;
                }
            }
            child.kill().unwrap();
            child.wait().unwrap();
        }
        let phone = Phone::open(dir.path(), "dev-killed");
        let status = phone.store.sync_status().unwrap();
        assert!(status.pending > 0 && status.acknowledged >= 140, "{status:?}");
        let client = SyncClient::new(&config(&server.url())).unwrap();
        client.sync(&phone.store, &phone.signer, &()).await.unwrap();
        assert_exactly_once(&backend, &phone, 600).await;
    }
}

/// A server database restored from a backup no longer holds receipts the phone had as
/// acknowledged: the next sync sees the gap in the server's chain and sends them again.
#[tokio::test]
async fn receipts_lost_by_a_server_restored_from_backup_are_sent_again() {
    let backend = common::backends().await.remove(0);
    let common::Backend { storage: salur_server::Storage::Dir(data), .. } = &backend else { unreachable!() };
    let dir = tempfile::tempdir().unwrap();
    let backup = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(&backend);
    let phone = Phone::open(dir.path(), "dev-restore");
    enrol(&server, &phone).await;
    let client = SyncClient::new(&config(&server.url())).unwrap();
    phone.record(30);
    client.sync(&phone.store, &phone.signer, &()).await.unwrap();
    server.kill();
    for f in ["salur.db", "salur.db-wal"] {
        if data.join(f).exists() {
            std::fs::copy(data.join(f), backup.path().join(f)).unwrap();
        }
    }
    server.restart();
    phone.record(40);
    client.sync(&phone.store, &phone.signer, &()).await.unwrap();
    server.kill();
    std::fs::remove_file(data.join("salur.db-shm")).ok();
    std::fs::remove_file(data.join("salur.db-wal")).ok();
    for f in ["salur.db", "salur.db-wal"] {
        if backup.path().join(f).exists() {
            std::fs::copy(backup.path().join(f), data.join(f)).unwrap();
        }
    }
    server.restart();
    assert_eq!(server_ids(&backend, &phone).await.len(), 30, "the restore lost the last 40");
    // Nothing new was recorded: the sync still compares with the server's chain and resends.
    let report = client.sync(&phone.store, &phone.signer, &()).await.unwrap();
    assert_eq!((report.requeued, report.progress.acknowledged), (40, 40));
    assert_exactly_once(&backend, &phone, 70).await;
    phone.record(1);
    let report = client.sync(&phone.store, &phone.signer, &()).await.unwrap();
    assert_eq!((report.requeued, report.progress.sent), (0, 1));
    assert_exactly_once(&backend, &phone, 71).await;
}

/// A crop the server refuses (larger than it accepts) stays on the phone, is reported and tried
/// again at every sync, and neither the other crops nor later receipts wait for it.
#[tokio::test]
async fn a_refused_evidence_crop_is_kept_reported_retried_and_stops_nothing() {
    let backend = common::backends().await.remove(0);
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&backend);
    let phone = Phone::open(dir.path(), "dev-crop");
    enrol(&server, &phone).await;
    let record_with_crop = |n: u64, jpeg: Vec<u8>| {
        let recipient = salur_core::store::Recipient {
            roster_id: "blt-2026-11".into(),
            recipient: salur_core::receipt::recipient_ref(b"k", &format!("31719900000000{n:02}")),
            nik: String::new(),
            name: String::new(),
            address: String::new(),
            amount: 600_000,
            template: None,
            enrolled: None,
            household: Vec::new(),
        };
        let evidence = Evidence {
            method: Method::RegistryTemplate,
            score_e6: Some(600_000),
            threshold_e6: Some(400_000),
            model: "sface".into(),
            liveness: Liveness::NotRun,
            live: None,
            face_sha256: None,
            card_face_sha256: None,
            enrolled_sha256: None,
        };
        let time = Times { wall_ms: salur_core::sync::now_ms(), mono_ms: n, offset_ms: 0 };
        let draft = salur_core::doorstep::draft(&recipient, Outcome::Paid, Some(evidence), Some(jpeg), time);
        phone.store.record(&phone.signer, draft).unwrap();
    };
    let too_large = (salur_server::store::MAX_EVIDENCE + 1) as usize;
    record_with_crop(1, vec![0xd8; too_large]);
    record_with_crop(2, vec![0xff; 2_000]);
    let client = SyncClient::new(&config(&server.url())).unwrap();
    let report = client.sync(&phone.store, &phone.signer, &()).await.unwrap();
    assert_eq!((report.progress.acknowledged, report.evidence_uploaded, report.evidence_refused), (2, 1, 1));
    let status = phone.store.sync_status().unwrap();
    assert_eq!((status.pending, status.evidence_refused), (0, 1));
    let error = status.last_error.unwrap();
    assert!(error.contains("evidence face crop was refused") && error.contains("413"), "{error}");
    assert!(phone.store.evidence(1).unwrap().is_some(), "the refused crop is kept");

    // Later receipts upload; the refused crop is tried again (and refused again).
    phone.record(3);
    let report = client.sync(&phone.store, &phone.signer, &()).await.unwrap();
    assert_eq!((report.progress.acknowledged, report.evidence_refused, report.evidence_uploaded), (3, 1, 0));
    assert_eq!(phone.store.sync_status().unwrap().evidence_refused, 1);
    assert_eq!(server_ids(&backend, &phone).await.len(), 5);
}

#[tokio::test]
async fn tls_is_verified_and_the_server_key_pinned() {
    let backend = common::backends().await.remove(0);
    let pki = TestPki::new();
    let files = tempfile::tempdir().unwrap();
    // `salur serve` itself speaks TLS (rustls): no terminator in front.
    let server = ServerProcess::start_tls(&backend, &pki, files.path());
    let url = format!("{}/", server.url());
    let right = spki_sha256(&pki.server_cert).unwrap();
    let wrong = [0xab; 32];
    let with = |pins: Vec<[u8; 32]>, ca: bool| {
        let mut c = config(&url);
        c.ca_pem = ca.then(|| pki.ca_pem.clone().into_bytes());
        c.pins_sha256 = pins;
        SyncClient::new(&c).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let phone = Phone::open(dir.path(), "dev-tls");

    // Wrong pin: refused at once (no retry would make the key right).
    let started = Instant::now();
    let err = with(vec![wrong], true).check_time(&phone.store).await.unwrap_err();
    assert!(matches!(err, Error::Tls(ref m) if m.contains("matches no pin")), "{err}");
    assert!(started.elapsed() < Duration::from_secs(1));
    // A CA the phone does not trust: refused.
    let err = with(vec![], false).check_time(&phone.store).await.unwrap_err();
    assert!(matches!(err, Error::Tls(_)), "{err}");
    // The backup pin is accepted, and a whole sync runs over TLS.
    let client = with(vec![wrong, right], true);
    let code = server.enrolment_code("pos-1", "po-40111").await;
    client.register(&phone.store, &phone.signer, "dev-tls", "pos-1", "po-40111", &code).await.unwrap();
    server.admin("/v1/admin/devices/dev-tls/approve").await;
    phone.record(25);
    client.sync(&phone.store, &phone.signer, &()).await.unwrap();
    assert_exactly_once(&backend, &phone, 25).await;

    // Plain HTTP only to loopback, and only when allowed.
    let mut c = SyncConfig::new(&format!("http://127.0.0.1:{}", server.port));
    assert!(matches!(SyncClient::new(&c), Err(Error::InvalidArgument(_))));
    c.server_url = "http://10.1.2.3:8080".into();
    c.allow_http_loopback = true;
    assert!(matches!(SyncClient::new(&c), Err(Error::InvalidArgument(_))));
}

#[tokio::test]
async fn one_sync_at_a_time_per_store() {
    let dir = tempfile::tempdir().unwrap();
    let phone = Phone::open(dir.path(), "dev-busy");
    let guard = phone.store.begin_sync().unwrap();
    let client = SyncClient::new(&config("http://127.0.0.1:9")).unwrap();
    assert!(matches!(client.sync(&phone.store, &phone.signer, &()).await, Err(Error::SyncBusy)));
    drop(guard);
    // Free again; this one fails for want of a registration, and says so.
    let err = client.sync(&phone.store, &phone.signer, &()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(ref m) if m.contains("register")), "{err}");
}

fn import(backend: &common::Backend, dir: &Path, rows: &[&str]) {
    let csv = dir.join("roster.csv");
    let header = "nik,name,address,province,regency,district,village,post_office,amount,period,worker_id,photo";
    std::fs::write(&csv, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_salur"))
        .arg("import-roster")
        .arg(&csv)
        .args(backend.cli_args())
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn roster_refresh_adds_updates_and_removes_recipients() {
    for backend in common::backends().await {
        let dir = tempfile::tempdir().unwrap();
        let server = ServerProcess::start(&backend);
        let phone = Phone::open(dir.path(), "dev-roster");
        enrol(&server, &phone).await;
        let row = |nik: &str, name: &str, amount: u32, worker: &str| {
            format!("{nik},{name},Jl. Merdeka,31,3171,317101,3171011001,po-40111,{amount},blt-2026-12,{worker},")
        };
        let (a, b, c) = ("3171010101900001", "3171010101900002", "3171010101900003");
        import(&backend, dir.path(), &[&row(a, "Siti", 600_000, "pos-1"), &row(b, "Budi", 600_000, "pos-1")]);
        let client = SyncClient::new(&config(&server.url())).unwrap();
        let change = client.refresh_roster(&phone.store, &phone.signer, "blt-2026-12").await.unwrap();
        assert_eq!((change.added, change.updated, change.removed), (2, 0, 0));

        // A new recipient, a changed amount, and one reassigned to another worker.
        import(
            &backend,
            dir.path(),
            &[&row(a, "Siti", 900_000, "pos-1"), &row(b, "Budi", 600_000, "pos-2"), &row(c, "Wati", 600_000, "pos-1")],
        );
        let change = client.refresh_roster(&phone.store, &phone.signer, "blt-2026-12").await.unwrap();
        assert_eq!((change.added, change.updated, change.removed), (1, 1, 1));
        let names: BTreeSet<String> = phone
            .store
            .with_connection(|c| {
                let mut s = c.prepare("SELECT name FROM roster WHERE roster_id = 'blt-2026-12'")?;
                let names = s.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
                Ok(names)
            })
            .unwrap();
        assert_eq!(names, BTreeSet::from(["Siti".to_string(), "Wati".to_string()]));

        // The rosters this worker has recipients on, with their counts and rupiah.
        let rosters = client.assigned_rosters(&phone.store, &phone.signer).await.unwrap();
        let expected = salur_core::sync::AssignedRoster {
            roster_id: "blt-2026-12".into(),
            recipients: 2,
            amount_total: 1_500_000,
        };
        assert_eq!(rosters, vec![expected]);
        import(
            &backend,
            dir.path(),
            &[&row("3171010101900009", "Ani", 400_000, "pos-1").replace("blt-2026-12", "blt-2027-01")],
        );
        import(
            &backend,
            dir.path(),
            &[&row("3171010101900008", "Eko", 400_000, "pos-2").replace("blt-2026-12", "blt-2027-02")],
        );
        let rosters = client.assigned_rosters(&phone.store, &phone.signer).await.unwrap();
        let ids: Vec<(&str, u64, u64)> =
            rosters.iter().map(|r| (r.roster_id.as_str(), r.recipients, r.amount_total)).collect();
        assert_eq!(ids, [("blt-2027-01", 1, 400_000), ("blt-2026-12", 2, 1_500_000)], "newest first, only pos-1's");

        let err = client.refresh_roster(&phone.store, &phone.signer, "no-such-roster").await.unwrap_err();
        assert!(matches!(err, Error::Server { status: 404, .. }), "{err}");
    }
}

/// A signed request straight to the server (what a misbehaving phone could send).
async fn raw(phone: &Phone, base: &str, method: &str, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let body = body.to_string().into_bytes();
    let now = salur_core::sync::now_ms();
    let headers = salur_core::request_auth::sign_request(&phone.signer, &phone.device_id, method, path, now, &body);
    let mut req = common::net::http()
        .request(method.parse().unwrap(), format!("{base}{path}"))
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in headers.unwrap() {
        req = req.header(k, v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or_default())
}

#[tokio::test]
async fn evidence_crops_upload_resumably_and_the_sweep_finds_one_face_paid_twice() {
    use base64::Engine;
    use salur_core::face::{decode_image, FaceConfig, FaceEngine, FacePick};
    let engine = FaceEngine::bundled(FaceConfig::default()).unwrap();
    let faces = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/faces/same");
    let crop = |rel: &str| {
        let img = decode_image(&std::fs::read(faces.join(rel)).unwrap()).unwrap();
        let template = engine.template(&img, FacePick::Single).unwrap();
        salur_core::doorstep::check_face(&engine, &template, Method::RegistryTemplate, &img).unwrap()
    };
    // Recipients 1 and 2 are paid to the same face (two photos of one man); 3 and 4 are others.
    let photos =
        ["fr_biden/1.jpg", "fr_biden/2.jpg", "fr_obama/1.jpg", "fr_kit_harington/1.jpg", "fr_rose_leslie/1.jpg"];
    let checks: Vec<_> = photos.iter().map(|p| crop(p)).collect();
    for backend in common::backends().await {
        let dir = tempfile::tempdir().unwrap();
        let server = ServerProcess::start(&backend);
        let phone = Phone::open(dir.path(), "dev-evidence");
        enrol(&server, &phone).await;
        let record = |n: usize| {
            let recipient = salur_core::store::Recipient {
                roster_id: "blt-2026-11".into(),
                recipient: salur_core::receipt::recipient_ref(b"k", &format!("31710000000000{n:02}")),
                nik: String::new(),
                name: String::new(),
                address: String::new(),
                amount: 600_000,
                template: None,
                enrolled: None,
                household: Vec::new(),
            };
            let time = Times { wall_ms: salur_core::sync::now_ms(), mono_ms: n as u64, offset_ms: 0 };
            let draft = salur_core::doorstep::draft(
                &recipient,
                Outcome::Paid,
                Some(checks[n].evidence.clone()),
                Some(checks[n].crop_jpeg.clone()),
                time,
            );
            phone.store.record(&phone.signer, draft).unwrap()
        };
        let signed: Vec<_> = (0..4).map(record).collect();

        // Evidence chunks of 512 bytes through a proxy that loses answers and connections.
        let evidence_puts = std::sync::atomic::AtomicUsize::new(0);
        let proxy = FaultProxy::start_with(server.port, move |_, line| {
            if !(line.starts_with("PUT") && line.contains("/evidence")) {
                return Fault::Forward;
            }
            match (evidence_puts.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1) % 5 {
                2 => Fault::DropAnswer,
                4 => Fault::Reset,
                _ => Fault::Forward,
            }
        })
        .await;
        let mut cfg = config(&proxy.url());
        cfg.evidence_chunk = 512;
        let client = SyncClient::new(&cfg).unwrap();
        let report = client.sync(&phone.store, &phone.signer, &()).await.unwrap();
        assert_eq!((report.progress.acknowledged, report.evidence_uploaded), (4, 4));
        let dropped = proxy.seen.lock().unwrap().iter().filter(|s| s.fault == Fault::DropAnswer).count();
        assert!(dropped >= 2, "answers were lost mid-upload and the upload resumed");

        // A phone sending the wrong bytes: refused against the signed hash, nothing kept.
        let fifth = record(4);
        let batch = serde_json::json!({ "receipts": [base64::engine::general_purpose::STANDARD.encode(&fifth.bytes)] });
        assert_eq!(raw(&phone, &server.url(), "POST", "/v1/receipts", batch).await.0, 200);
        let path = format!("/v1/receipts/{}/evidence", fifth.receipt.id);
        let wrong = checks[0].crop_jpeg.clone();
        let put = |offset: usize, bytes: &[u8], total: usize| {
            serde_json::json!({ "offset": offset, "total": total,
                "chunk": base64::engine::general_purpose::STANDARD.encode(bytes) })
        };
        let (status, body) = raw(&phone, &server.url(), "PUT", &path, put(0, &wrong, wrong.len())).await;
        assert_eq!(status, 422, "{body}");
        let (status, body) = raw(&phone, &server.url(), "PUT", &path, put(0, &wrong[..100], wrong.len())).await;
        assert_eq!((status, body["received"].as_u64()), (200, Some(100)));
        let (status, body) = raw(&phone, &server.url(), "PUT", &path, put(7, &wrong[..10], wrong.len())).await;
        assert_eq!(status, 409);
        assert!(body["message"].as_str().unwrap().contains("offset 100"), "{body}");
        // The phone's own sync replaces that partial upload... only once the server discards it:
        // the wrong bytes fail the hash at the end and the client starts again from 0.
        let (status, _) = raw(&phone, &server.url(), "PUT", &path, put(100, &wrong[100..], wrong.len())).await;
        assert_eq!(status, 422);
        let report = client.sync(&phone.store, &phone.signer, &()).await.unwrap();
        assert_eq!(report.evidence_uploaded, 1);

        // The auditor's sweep: exactly the pair paid to one face.
        let sweep: serde_json::Value = common::net::http()
            .get(format!("{}/v1/admin/face-sweep?roster=blt-2026-11", server.url()))
            .header("authorization", format!("Bearer {}", common::net::ADMIN))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .map(|b| serde_json::from_slice(&b).unwrap())
            .unwrap();
        assert_eq!(sweep["faces"], 5);
        let pairs = sweep["pairs"].as_array().unwrap();
        assert_eq!(pairs.len(), 1, "{sweep}");
        let pair: BTreeSet<&str> =
            [pairs[0]["receipt_a"].as_str().unwrap(), pairs[0]["receipt_b"].as_str().unwrap()].into();
        assert_eq!(pair, [signed[0].receipt.id.as_str(), signed[1].receipt.id.as_str()].into());
        assert!(pairs[0]["score"].as_f64().unwrap() > 0.4);
        let unauthorised =
            reqwest::get(format!("{}/v1/admin/face-sweep?roster=blt-2026-11", server.url())).await.unwrap();
        assert_eq!(unauthorised.status(), 401);

        // "The photo goes up to the dashboard": the auditor sees a payment's crop (each view
        // logged); a viewer does not.
        let base = server.url();
        let get = |path: String, token: String| {
            let url = format!("{base}{path}");
            async move {
                let res = common::net::http().get(url).bearer_auth(token).send().await;
                let res = res.unwrap();
                let kind = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
                (res.status().as_u16(), kind, res.bytes().await.unwrap().to_vec())
            }
        };
        let admin = common::net::ADMIN.to_string();
        let viewer = staff_token(&backend, "viewer-1", "viewer");
        let evidence = format!("/v1/admin/receipts/{}/evidence", signed[2].receipt.id);
        let (status, kind, jpeg) = get(evidence.clone(), admin.clone()).await;
        assert_eq!((status, kind.as_deref()), (200, Some("image/jpeg")));
        assert_eq!(jpeg, checks[2].crop_jpeg, "the crop the phone signed");
        assert_eq!(get(evidence.clone(), viewer.clone()).await.0, 403);
        assert_eq!(reqwest::get(format!("{}{evidence}", server.url())).await.unwrap().status(), 401);
        let (_, _, audit) = get("/v1/admin/audit".into(), admin.clone()).await;
        let audit: serde_json::Value = serde_json::from_slice(&audit).unwrap();
        let viewed = audit["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "evidence_viewed").count();
        assert_eq!(viewed, 1, "one view, one entry (the refused one shows nothing)");

        // The device's export verifies offline with the CLI, and a changed receipt in it does not.
        let (status, _, bundle) = get("/v1/admin/devices/dev-evidence/export".into(), admin.clone()).await;
        assert_eq!(status, 200);
        assert_eq!(get("/v1/admin/devices/dev-evidence/export".into(), viewer).await.0, 403);
        let file = dir.path().join("export.json");
        std::fs::write(&file, &bundle).unwrap();
        let verify = |path: &Path, key: Option<&Path>| {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_salur"));
            cmd.args(["receipts", "verify-chain", "--bundle"]).arg(path);
            if let Some(k) = key {
                cmd.arg("--public-key").arg(k);
            }
            let out = cmd.output().unwrap();
            (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string())
        };
        let (code, out) = verify(&file, None);
        assert_eq!(code, Some(0), "{out}");
        assert!(out.contains("chain valid: 5 receipts, last sequence 5"), "{out}");
        let spki = dir.path().join("device.der");
        std::fs::write(&spki, phone.signer.public_key_spki().unwrap()).unwrap();
        assert_eq!(verify(&file, Some(&spki)).0, Some(0), "with the key the auditor holds");
        let stranger = dir.path().join("stranger.der");
        std::fs::write(&stranger, SoftwareSigner::generate().unwrap().0.public_key_spki().unwrap()).unwrap();
        assert_eq!(verify(&file, Some(&stranger)).0, Some(1), "another key");
        let mut edited: serde_json::Value = serde_json::from_slice(&bundle).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut third = b64.decode(edited["receipts"][2].as_str().unwrap()).unwrap();
        let last = third.len() - 1;
        third[last] ^= 1;
        edited["receipts"][2] = serde_json::json!(b64.encode(&third));
        std::fs::write(&file, edited.to_string()).unwrap();
        let (code, out) = verify(&file, None);
        assert_eq!(code, Some(1));
        assert!(out.contains("BROKEN at sequence 3"), "{out}");
    }
}

/// A staff account with `role` made through the CLI, and a bearer token for it.
fn staff_token(backend: &common::Backend, name: &str, role: &str) -> String {
    let add = Command::new(env!("CARGO_BIN_EXE_salur"))
        .args(["users", "add", name, "--role", role])
        .args(backend.cli_args())
        .output()
        .unwrap();
    assert!(add.status.success(), "{}", String::from_utf8_lossy(&add.stderr));
    let out = Command::new(env!("CARGO_BIN_EXE_salur"))
        .args(["users", "token", name, "--json"])
        .args(backend.cli_args())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_cancelled_sync_is_safe_and_the_next_one_finishes() {
    let backend = common::backends().await.remove(0);
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&backend);
    let phone = Phone::open(dir.path(), "dev-cancel");
    enrol(&server, &phone).await;
    phone.record(300);
    let proxy = FaultProxy::start_with(server.port, |_, line| {
        if line.starts_with("POST") {
            Fault::Delay(Duration::from_millis(60))
        } else {
            Fault::Forward
        }
    })
    .await;
    let mut cfg = config(&proxy.url());
    cfg.batch_size = 20;
    let client = SyncClient::new(&cfg).unwrap();
    // The app leaves the screen (the future is dropped) part-way through.
    let cut = tokio::time::timeout(Duration::from_millis(400), client.sync(&phone.store, &phone.signer, &())).await;
    assert!(cut.is_err(), "the sync was still running when cancelled");
    let status = phone.store.sync_status().unwrap();
    assert!(status.acknowledged > 0 && status.pending > 0, "{status:?}");
    // The store is free again, and the next sync finishes the job.
    client.sync(&phone.store, &phone.signer, &()).await.unwrap();
    assert_exactly_once(&backend, &phone, 300).await;
}
