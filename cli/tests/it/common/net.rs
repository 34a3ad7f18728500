//! Real network pieces for the sync tests: `salur serve` as a child process that can be killed
//! and restarted on the same port, a fault-injecting HTTP proxy, and a test PKI for `salur serve --tls-cert`.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::Backend;

pub const ADMIN: &str = "sync-test-admin-token";

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `salur serve` on a fixed loopback port.
pub struct ServerProcess {
    args: Vec<String>,
    pub port: u16,
    child: Option<Child>,
    tls: bool,
}

impl ServerProcess {
    pub fn start(backend: &Backend) -> Self {
        Self::start_with(backend.cli_args(), false)
    }

    /// `salur serve` with more options after the backend's.
    pub fn start_args(backend: &Backend, extra: &[&str]) -> Self {
        let mut args = backend.cli_args();
        args.extend(extra.iter().map(|a| a.to_string()));
        Self::start_with(args, false)
    }

    /// Starts on a free port, trying another when a parallel test took the one picked.
    fn start_with(args: Vec<String>, tls: bool) -> Self {
        let mut s = Self { args, port: 0, child: None, tls };
        for _ in 0..5 {
            s.port = free_port();
            if s.try_start() {
                return s;
            }
        }
        panic!("salur serve found no free port in 5 tries");
    }

    /// `salur serve --tls-cert --tls-key` with the test PKI's server certificate (files in `dir`).
    pub fn start_tls(backend: &Backend, pki: &TestPki, dir: &std::path::Path) -> Self {
        let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
        std::fs::write(&cert, &pki.server_cert_pem).unwrap();
        std::fs::write(&key, &pki.server_key_pem).unwrap();
        let mut args = backend.cli_args();
        args.extend(["--tls-cert".into(), cert.display().to_string(), "--tls-key".into(), key.display().to_string()]);
        Self::start_with(args, true)
    }

    pub fn url(&self) -> String {
        format!("{}://127.0.0.1:{}", if self.tls { "https" } else { "http" }, self.port)
    }

    /// Starts (again) on the same port and waits until it is listening.
    pub fn restart(&mut self) {
        assert!(self.try_start(), "salur serve could not listen on port {} again", self.port);
    }

    /// Starts and waits for the server's own "listening" line on stderr (a connection alone could
    /// reach another test's server on a reused port); false when the port was taken.
    fn try_start(&mut self) -> bool {
        use std::io::BufRead;
        assert!(self.child.is_none(), "already running");
        let mut child = Command::new(env!("CARGO_BIN_EXE_salur"))
            .arg("serve")
            .args(&self.args)
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            // The tests' phones have software keys.
            .arg("--allow-unattested-devices")
            .env("SALUR_ADMIN_TOKEN", ADMIN)
            .env("RUST_LOG", "warn")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        // Drained for the process's whole life, so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut said = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) if line.contains("salur API on") => break,
                Ok(line) => said.push(line),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = child.wait();
                    if said.iter().any(|l| l.contains("cannot listen")) {
                        return false;
                    }
                    panic!("salur serve exited: {}", said.join("\n"));
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            }
            assert!(Instant::now() < deadline, "salur serve did not start: {}", said.join("\n"));
        }
        self.child = Some(child);
        true
    }

    /// SIGKILL: no graceful shutdown, whatever was in flight is cut.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// An administrator call (approve/revoke a device).
    pub async fn admin(&self, path: &str) {
        let resp = admin_client()
            .post(format!("{}{path}", self.url()))
            .header("authorization", format!("Bearer {ADMIN}"))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
    }
}

impl ServerProcess {
    /// A one-time enrolment code for `worker_id` at `post_office`, issued over the API.
    pub async fn enrolment_code(&self, worker_id: &str, post_office: &str) -> String {
        let resp = admin_client()
            .post(format!("{}/v1/admin/enrolments", self.url()))
            .header("authorization", format!("Bearer {ADMIN}"))
            .header("content-type", "application/json")
            // Device tests may run before a roster names the worker: new on purpose.
            .body(
                serde_json::json!({ "worker_id": worker_id, "post_office": post_office, "allow_unknown": true })
                    .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201);
        let answer: serde_json::Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
        answer["code"].as_str().unwrap().to_string()
    }
}

/// A plain HTTP client (reqwest is built without a default TLS crypto provider: one is installed
/// first, whichever test runs first in the binary).
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// The administrator's HTTP client. It trusts the test server blindly: the phone's TLS checks
/// are the ones under test.
fn admin_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap()
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What the proxy does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Pass it on and pass the answer back.
    Forward,
    /// Close the connection without reading on.
    Reset,
    /// Wait, then pass it on (the client may have given up by then; the server still gets it).
    Delay(Duration),
    /// Answer with this status (and `Retry-After` seconds) without passing it on.
    Status(u16, Option<u64>),
    /// Pass it on, let the server commit, then close the connection without the answer.
    DropAnswer,
    /// Pass it on twice (a replayed request) and answer with the second reply.
    Duplicate,
}

/// One answer that came back from the server: its status and how long the server took.
#[derive(Debug, Clone, Copy)]
pub struct Answered {
    pub status: u16,
    pub ms: f64,
}

/// One request the proxy saw: when, and what it did.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub request_line: String,
    pub fault: Fault,
}

/// A loopback HTTP/1.1 proxy that applies a script of faults to successive requests (then forwards).
pub struct FaultProxy {
    pub port: u16,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub answers: Arc<Mutex<Vec<Answered>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(upstream: u16, script: Vec<Fault>) -> Self {
        Self::start_with(upstream, move |n, _line| script.get(n).copied().unwrap_or(Fault::Forward)).await
    }

    /// Faults chosen by `pick(request number, request line)`.
    pub async fn start_with(upstream: u16, pick: impl Fn(usize, &str) -> Fault + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answers = Arc::new(Mutex::new(Vec::new()));
        let pick = Arc::new(pick);
        let (log, answered) = (seen.clone(), answers.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { return };
                let (log, answered, pick) = (log.clone(), answered.clone(), pick.clone());
                tokio::spawn(async move {
                    let _ = serve_connection(client, upstream, &log, &answered, &*pick).await;
                });
            }
        });
        Self { port, seen, answers, task }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one HTTP/1.1 message (head + Content-Length body); `None` at a clean end of stream.
async fn read_message(s: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).await? == 0 {
            return Ok(None);
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse::<usize>().unwrap_or(0));
    let start = buf.len();
    buf.resize(start + len, 0);
    s.read_exact(&mut buf[start..]).await?;
    Ok(Some(buf))
}

async fn serve_connection(
    mut client: TcpStream,
    upstream: u16,
    log: &Mutex<Vec<Seen>>,
    answered: &Mutex<Vec<Answered>>,
    pick: &(dyn Fn(usize, &str) -> Fault + Send + Sync),
) -> std::io::Result<()> {
    let mut server: Option<TcpStream> = None;
    while let Some(request) = read_message(&mut client).await? {
        let line = String::from_utf8_lossy(&request).lines().next().unwrap_or_default().to_string();
        let fault = {
            let mut log = log.lock().unwrap();
            let fault = pick(log.len(), &line);
            log.push(Seen { at: Instant::now(), request_line: line, fault });
            fault
        };
        match fault {
            // A TCP reset (RST), not a polite close.
            Fault::Reset => return client.set_zero_linger(),
            Fault::Status(code, retry_after) => {
                let extra = retry_after.map(|s| format!("retry-after: {s}\r\n")).unwrap_or_default();
                let body = format!("{{\"error\":\"injected\",\"message\":\"injected {code}\"}}");
                let head = format!(
                    "HTTP/1.1 {code} Injected\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}\r\n",
                    body.len()
                );
                client.write_all(head.as_bytes()).await?;
                client.write_all(body.as_bytes()).await?;
                continue;
            }
            Fault::Delay(d) => tokio::time::sleep(d).await,
            Fault::Forward | Fault::DropAnswer | Fault::Duplicate => {}
        }
        if server.is_none() {
            server = Some(TcpStream::connect(("127.0.0.1", upstream)).await?);
        }
        let up = server.as_mut().expect("connected above");
        let mut answer = None;
        for _ in 0..if fault == Fault::Duplicate { 2 } else { 1 } {
            let sent = Instant::now();
            up.write_all(&request).await?;
            let Some(reply) = read_message(up).await? else { return Ok(()) };
            let status = std::str::from_utf8(reply.get(9..12).unwrap_or_default()).unwrap_or("0").parse().unwrap_or(0);
            answered.lock().unwrap().push(Answered { status, ms: sent.elapsed().as_secs_f64() * 1000.0 });
            answer = Some(reply);
        }
        if fault == Fault::DropAnswer {
            return client.set_zero_linger();
        }
        client.write_all(&answer.unwrap_or_default()).await?;
    }
    Ok(())
}

/// A certificate authority and a server certificate for 127.0.0.1 / localhost.
pub struct TestPki {
    pub ca_pem: String,
    pub server_cert: rustls::pki_types::CertificateDer<'static>,
    pub server_cert_pem: String,
    pub server_key_pem: String,
}

impl TestPki {
    pub fn new() -> Self {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "Salur test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        let cert = params.signed_by(&key, &ca).unwrap();
        Self {
            ca_pem: ca.pem(),
            server_cert: cert.der().clone(),
            server_cert_pem: cert.pem(),
            server_key_pem: key.serialize_pem(),
        }
    }
}
