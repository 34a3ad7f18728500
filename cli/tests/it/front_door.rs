//! A real front door (issue 32 item 2): Debian's nginx in front of two `salur serve` instances
//! over one PostgreSQL, all on loopback. Through the proxy a signed request replayed to the other
//! instance is refused; the per-address limit sees each client's own address (a client spoofing
//! `X-Forwarded-For` is still itself); the audit log names the client and the proxy; and an
//! instance killed mid-sync loses nothing: the phone's retries land on the other instance.
//!
//! nginx binds its upstream connections to 127.0.0.9, the one address the instances trust
//! (`--trusted-proxy 127.0.0.9`); the phone and the other clients come from 127.0.0.1-3.
//! Skipped, saying so, when nginx is not installed (scripts/test.sh installs it) or when no
//! PostgreSQL is given (several instances need one database).

use crate::common;
use crate::common::net::{free_port, ServerProcess, ADMIN};

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use salur_core::crypto::DataKey;
use salur_core::keys::{FixedKey, Signer, SoftwareSigner};
use salur_core::receipt::{Outcome, Times};
use salur_core::store::{Draft, OutboxState, Store};
use salur_core::sync::{Backoff, SyncClient, SyncConfig, SyncListener, SyncProgress};

/// The address nginx connects to the instances from: the only one they trust.
const PROXY_SOURCE: &str = "127.0.0.9";
/// Per-address rate on each instance (`--address-rate`): a burst of ten seconds' worth, 50.
const ADDRESS_RATE: u32 = 5;

/// Debian's nginx binary, if installed.
fn nginx() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx"].iter().map(PathBuf::from).find(|p| p.is_file())
}

/// nginx in the foreground with everything (config, logs, temp files) in `dir`.
struct Nginx {
    child: Child,
    port: u16,
}

impl Nginx {
    fn start(bin: &Path, dir: &Path, upstreams: &[u16]) -> Self {
        let port = free_port();
        let servers: String =
            upstreams.iter().map(|p| format!("server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;\n")).collect();
        let d = dir.display();
        // One process (no master), so nothing outlives the child; $upstream_addr in a header
        // tells the test which instance answered.
        let conf = format!(
            "daemon off; master_process off; worker_processes 1;
error_log {d}/error.log warn; pid {d}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  upstream salur {{ {servers} keepalive 16; }}
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 8m;
    location / {{
      proxy_pass http://salur;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_bind {PROXY_SOURCE};
      proxy_connect_timeout 1s;
      add_header X-Upstream $upstream_addr always;
    }}
  }}
}}
"
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let child = Command::new(bin)
            .args(["-p", &d.to_string(), "-c", &dir.join("nginx.conf").display().to_string()])
            .args(["-e", &dir.join("error.log").display().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let nginx = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
            assert!(Instant::now() < deadline, "nginx did not start: {log}");
            std::thread::sleep(Duration::from_millis(50));
        }
        nginx
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client whose connections come from `ip`.
fn client_from(ip: &str) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ip: IpAddr = ip.parse().unwrap();
    reqwest::Client::builder().local_address(ip).pool_max_idle_per_host(0).build().unwrap()
}

/// A phone: a store and a software key.
struct Phone {
    store: Store,
    signer: SoftwareSigner,
    device_id: String,
}

impl Phone {
    fn open(dir: &Path, device_id: &str) -> Self {
        let keys = FixedKey(DataKey::new([7; 32]));
        let store = Store::open(&dir.join("phone.db"), &keys).unwrap();
        let signer = SoftwareSigner::open_or_create(&dir.join("device.key"), &keys).unwrap();
        Self { store, signer, device_id: device_id.into() }
    }

    fn record(&self, count: u64) {
        for n in 0..count {
            let draft = Draft {
                roster_id: "blt-2026-11".into(),
                recipient: salur_core::receipt::recipient_ref(b"k", &format!("3172{n:012}")),
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
}

fn config(url: &str) -> SyncConfig {
    let mut c = SyncConfig::new(url);
    c.allow_http_loopback = true;
    c.batch_size = 20;
    c.backoff = Backoff { base: Duration::from_millis(50), cap: Duration::from_secs(1), max_attempts: 60 };
    c.connect_timeout = Duration::from_secs(1);
    c.request_timeout = Duration::from_secs(3);
    c
}

struct Channel(Mutex<mpsc::Sender<SyncProgress>>);

impl SyncListener for Channel {
    fn progress(&self, p: SyncProgress) {
        let _ = self.0.lock().unwrap().send(p);
    }
}

/// A signed GET as the phone sends it, sent through `client`: status, `error`, which instance.
async fn signed_get(
    client: &reqwest::Client,
    base: &str,
    headers: &[(&'static str, String)],
    uri: &str,
) -> (u16, String, String) {
    let mut req = client.get(format!("{base}{uri}"));
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let upstream = res.headers().get("x-upstream").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let body: serde_json::Value = serde_json::from_str(&res.text().await.unwrap()).unwrap_or_default();
    (status, body["error"].as_str().unwrap_or("").to_string(), upstream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_behind_nginx_refuse_replays_limit_real_clients_and_survive_a_kill() {
    let Some(bin) = nginx() else {
        eprintln!("front_door: nginx is not installed, test skipped (apt-get install nginx; scripts/test.sh does)");
        return;
    };
    let Some(backend) = common::backends().await.into_iter().find(|b| b.name == "postgres") else {
        eprintln!("front_door: no PostgreSQL (SALUR_TEST_POSTGRES_URL), test skipped");
        return;
    };
    let started = Instant::now();
    let rate = ADDRESS_RATE.to_string();
    let args = ["--trusted-proxy", PROXY_SOURCE, "--address-rate", rate.as_str()];
    // The first start migrates the database; the second finds it ready.
    let mut first = ServerProcess::start_args(&backend, &args);
    let second = ServerProcess::start_args(&backend, &args);
    let dir = tempfile::tempdir().unwrap();
    let proxy = Nginx::start(&bin, dir.path(), &[first.port, second.port]);
    let base = proxy.url();

    // A phone enrols and is approved through the proxy (its registration is a signed request).
    let phone_dir = tempfile::tempdir().unwrap();
    let phone = Arc::new(Phone::open(phone_dir.path(), "dev-front-door"));
    let client = SyncClient::new(&config(&base)).unwrap();
    let code = first.enrolment_code("pos-1", "po-40111").await;
    client.register(&phone.store, &phone.signer, &phone.device_id, "pos-1", "po-40111", &code).await.unwrap();
    first.admin(&format!("/v1/admin/devices/{}/approve", phone.device_id)).await;

    // 1. A signed request, then the same bytes again: each copy to the other instance.
    let uri = format!("/v1/devices/{}/chain/status", phone.device_id);
    let honest = client_from("127.0.0.3");
    let mut refused_elsewhere = 0;
    for _ in 0..3 {
        let now = salur_core::sync::now_ms();
        let headers =
            salur_core::request_auth::sign_request(&phone.signer, &phone.device_id, "GET", &uri, now, b"").unwrap();
        let (status, _, served_by) = signed_get(&honest, &base, &headers, &uri).await;
        assert_eq!(status, 200);
        let (status, error, replayed_on) = signed_get(&honest, &base, &headers, &uri).await;
        assert_eq!((status, error.as_str()), (401, "replayed"), "the replay was let through by {replayed_on}");
        refused_elsewhere += usize::from(replayed_on != served_by);
    }
    assert!(refused_elsewhere > 0, "round robin never sent a replay to the other instance");
    println!("front_door: {refused_elsewhere} of 3 replays went to the other instance, all refused");

    // 2. One client floods (naming a new made-up address in X-Forwarded-For each time): it is
    // limited; another client behind the same proxy is not.
    let flooder = client_from("127.0.0.2");
    let mut limited = 0;
    for i in 0..200u32 {
        let res = flooder
            .get(format!("{base}/healthz"))
            .header("x-forwarded-for", format!("10.{}.{}.1", i / 250, i % 250))
            .send()
            .await
            .unwrap();
        limited += usize::from(res.status().as_u16() == 429);
    }
    // Each instance allows a burst of 50 per address: at most 100 of the 200 pass.
    assert!(limited >= 100, "the flooding client was limited {limited} times of 200");
    for _ in 0..10 {
        let res = honest.get(format!("{base}/healthz")).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200, "the other client was limited with the flooder");
    }
    println!("front_door: flooder 127.0.0.2 got {limited} of 200 refused; 127.0.0.3 got 10 of 10 through");

    // The audit log names the client and the proxy it came through.
    let issue = client_from("127.0.0.3")
        .post(format!("{base}/v1/admin/enrolments"))
        .header("authorization", format!("Bearer {ADMIN}"))
        .header("content-type", "application/json")
        .body(r#"{"worker_id":"pos-2","post_office":"po-40111","allow_unknown":true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(issue.status().as_u16(), 201);
    let audit = client_from("127.0.0.3")
        .get(format!("{base}/v1/admin/audit"))
        .header("authorization", format!("Bearer {ADMIN}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(audit.contains(&format!("127.0.0.3 via {PROXY_SOURCE}:")), "the audit log: {audit}");

    // 3. The phone syncs 600 receipts through the proxy; one instance is killed mid-sync.
    phone.record(600);
    let (tx, rx) = mpsc::channel();
    let sync = {
        let phone = Arc::clone(&phone);
        tokio::spawn(async move {
            let client = SyncClient::new(&config(&base)).unwrap();
            client.sync(&phone.store, &phone.signer, &Channel(Mutex::new(tx))).await.map(|r| r.progress)
        })
    };
    let at_kill = rx.recv_timeout(Duration::from_secs(30)).expect("a batch acknowledged before the kill");
    first.kill();
    assert!(at_kill.acknowledged < 600, "the sync was over before the kill");
    let progress = tokio::time::timeout(Duration::from_secs(60), sync).await.unwrap().unwrap().unwrap();
    assert_eq!(progress.acknowledged, 600);
    let all = phone.store.receipts(0, 1 << 20).unwrap();
    assert!(all.iter().all(|r| r.state == OutboxState::Acknowledged));
    let db = backend.storage.open().await.unwrap();
    let spki = phone.signer.public_key_spki().unwrap();
    let stored: Vec<String> = db
        .device_receipts(&phone.device_id)
        .await
        .unwrap()
        .iter()
        .map(|b| salur_core::receipt::verify(b, &spki).unwrap().receipt.id.clone())
        .collect();
    let unique: BTreeSet<&String> = stored.iter().collect();
    assert_eq!((stored.len(), unique.len()), (600, 600), "every receipt stored exactly once");
    assert_eq!(unique, all.iter().map(|r| &r.id).collect::<BTreeSet<_>>());
    println!(
        "front_door: 600 receipts synced through nginx with one instance killed; took {:?} in all",
        started.elapsed()
    );
    drop(second);
}
