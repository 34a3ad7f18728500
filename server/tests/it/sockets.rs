//! The request limits on a real loopback socket (`salur_server::serve`): a request that stalls
//! after its headers (408), a connection that stalls inside them (closed), connections that send
//! nothing or go quiet on h2c (closed after the idle timeout), a body that trickles past its
//! deadline (408 `body_timeout`), one address over its connections (reset) or its request slots
//! (503) while another is served, an oversized upload answered before its body is sent (413), too
//! many requests from one address (429), and the phone's own sync client waiting out a rate
//! limit and finishing. The same attacks at scale, with an honest client timed: `attacks.rs`.

use crate::common;

use std::time::{Duration, Instant};

use salur_core::keys::SoftwareSigner;
use salur_core::receipt::{self, Outcome, Times};
use salur_server::{AppState, Limits, Rate};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ADMIN: &str = "test-admin-token";

/// The API on a real loopback socket under `limits`.
async fn serve(limits: Limits) -> (std::net::SocketAddr, common::Backend, salur_server::Db) {
    let backend = common::backends().await.remove(0);
    let db = backend.storage.open().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = AppState::new(db.clone(), ADMIN).with_limits(limits).allow_unattested_devices(true);
    tokio::spawn(salur_server::serve(listener, state, std::future::pending()));
    (addr, backend, db)
}

/// Sends `head` (request line and headers) and reads the answer until the server closes or 10 s pass.
async fn raw(addr: std::net::SocketAddr, head: &str) -> (String, Duration) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    let start = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if String::from_utf8_lossy(&out).contains("\r\n\r\n{") && out.ends_with(b"}") {
            break;
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), start.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_stalls_after_its_headers_is_timed_out_with_408() {
    let limits = Limits { request_timeout: Duration::from_secs(1), ..Limits::default() };
    let (addr, _db, _) = serve(limits).await;
    // Valid, fresh signature headers, so the server goes on to read the body: which never comes.
    let signer = SoftwareSigner::generate().unwrap().0;
    let now = salur_server::clock::now_ms();
    let headers =
        salur_core::request_auth::sign_request(&signer, "dev-slow", "POST", "/v1/devices", now, b"{}").unwrap();
    let mut head =
        "POST /v1/devices HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n".to_string();
    for (k, v) in headers {
        head += &format!("{k}: {v}\r\n");
    }
    head += "\r\n{";
    let (answer, took) = raw(addr, &head).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"error\":\"timeout\""), "{answer}");
    assert!(took < Duration::from_secs(5), "answered after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_stalls_inside_its_headers_is_closed() {
    let limits = Limits { header_timeout: Duration::from_secs(1), ..Limits::default() };
    let (addr, _db, _) = serve(limits).await;
    // Half a request head, then nothing (slowloris): the server hangs up after the header timeout.
    let (answer, took) = raw(addr, "POST /v1/receipts HTTP/1.1\r\nhost: x\r\nx-salur-dev").await;
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(5), "closed after {took:?}: {answer}");
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
    // The server still answers others.
    let (answer, _) = raw(addr, "GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// A connection from `from` (another 127.x address: the server counts per address).
pub(crate) async fn connect_from(from: [u8; 4], addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind((std::net::Ipv4Addr::from(from), 0).into())?;
    socket.connect(addr).await
}

/// Reads until the server closes (or resets) the connection, or `limit` passes: what was read,
/// and how long the server took to close (`None`: still open at the limit).
async fn until_closed(s: &mut tokio::net::TcpStream, limit: Duration) -> (Vec<u8>, Option<Duration>) {
    let start = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((start + limit).into(), s.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return (out, Some(start.elapsed())),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (out, None),
        }
    }
}

/// Whether a connection from `from` is refused at once: reset as soon as accepted (which the
/// connect itself may already report), without a byte of answer.
async fn refused_at_once(from: [u8; 4], addr: std::net::SocketAddr) -> bool {
    match connect_from(from, addr).await {
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        Ok(mut s) => {
            let (read, closed) = until_closed(&mut s, Duration::from_secs(5)).await;
            read.is_empty() && closed.is_some_and(|t| t < Duration::from_secs(1))
        }
    }
}

/// A connection from `from` that the server keeps: the server counts a closed connection as gone
/// only after the client has seen it close, so a reset within the first second is retried.
async fn connect_once_released(from: [u8; 4], addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    let start = Instant::now();
    loop {
        let attempt = match connect_from(from, addr).await {
            Ok(mut s) => match tokio::time::timeout(Duration::from_millis(100), s.read(&mut [0u8; 1])).await {
                Err(_) => return s,
                Ok(read) => format!("{read:?}"),
            },
            Err(e) => e.to_string(),
        };
        assert!(start.elapsed() < Duration::from_secs(1), "the server kept refusing: {attempt}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The HTTP/2 connection preface and an empty SETTINGS frame: what an h2c client opens with.
pub(crate) const H2C_HELLO: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0";

/// A request head that makes the server wait for its body: a registration with fresh signature
/// headers, 1,000 bytes declared, of which only `{` is sent here.
pub(crate) fn stalled_registration_head() -> String {
    let signer = SoftwareSigner::generate().unwrap().0;
    let now = salur_server::clock::now_ms();
    let headers =
        salur_core::request_auth::sign_request(&signer, "dev-slow", "POST", "/v1/devices", now, b"{}").unwrap();
    let mut head = "POST /v1/devices HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n"
        .to_string();
    for (k, v) in headers {
        head += &format!("{k}: {v}\r\n");
    }
    head + "\r\n{"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_send_nothing_part_of_a_preface_or_go_quiet_on_h2c_are_closed_when_idle() {
    let limits = Limits { idle_timeout: Duration::from_secs(1), ..Limits::default() };
    let (addr, _db, _) = serve(limits).await;
    // Nothing at all (the server waits for the bytes that tell HTTP/1 from HTTP/2); the first
    // bytes of the HTTP/2 preface; a whole h2c preface and SETTINGS, then silence; and an
    // HTTP/1 keep-alive connection after its one request.
    let keep_alive = b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n";
    for (what, first) in
        [("nothing", &b""[..]), ("part of a preface", b"PRI * HTTP/2"), ("h2c", H2C_HELLO), ("keep-alive", keep_alive)]
    {
        let mut s = connect_from([127, 0, 0, 1], addr).await.unwrap();
        s.write_all(first).await.unwrap();
        let (read, closed) = until_closed(&mut s, Duration::from_secs(6)).await;
        let took = closed.unwrap_or_else(|| panic!("{what}: still open after 6 s"));
        assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "{what}: closed after {took:?}");
        if what == "keep-alive" {
            assert!(read.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&read));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_trickles_past_its_deadline_is_answered_408_body_timeout() {
    let limits = Limits { body_timeout: Duration::from_secs(1), ..Limits::default() };
    let (addr, _db, _) = serve(limits).await;
    let s = connect_from([127, 0, 0, 1], addr).await.unwrap();
    let (mut read, mut write) = s.into_split();
    write.write_all(stalled_registration_head().as_bytes()).await.unwrap();
    // A byte every 200 ms: never a stall long enough for a read timeout, never a whole body.
    let trickle = tokio::spawn(async move {
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if write.write_all(b" ").await.is_err() {
                break;
            }
        }
    });
    let start = Instant::now();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), read.read_to_end(&mut answer)).await;
    let took = start.elapsed();
    trickle.abort();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"error\":\"body_timeout\""), "{answer}");
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "answered after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_is_held_to_its_share_of_connections_and_request_slots_while_others_are_served() {
    let limits = Limits {
        max_connections: 8,
        max_connections_per_address: 4,
        max_in_flight_per_address: 2,
        ..Limits::default()
    };
    let (addr, _db, _) = serve(limits).await;
    let attacker = [127, 0, 0, 2];
    // Two requests in flight from the attacker, each waiting for a body it never sends.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = connect_from(attacker, addr).await.unwrap();
        s.write_all(stalled_registration_head().as_bytes()).await.unwrap();
        held.push(s);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Its third request is refused at once (503): its address has no slot left.
    let mut third = connect_from(attacker, addr).await.unwrap();
    third.write_all(stalled_registration_head().as_bytes()).await.unwrap();
    let (answer, took) = until_closed(&mut third, Duration::from_secs(5)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503") && answer.contains("retry-after: 1"), "{answer}");
    assert!(took.is_some_and(|t| t < Duration::from_secs(2)), "{took:?}");
    // Two more connections fill its four once the refused one has gone; one more is reset at once.
    held.push(connect_once_released(attacker, addr).await);
    held.push(connect_from(attacker, addr).await.unwrap());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(refused_at_once(attacker, addr).await);
    // Another address is served, and may fill the server to its cap of 8...
    let honest = [127, 0, 0, 3];
    let mut ok = connect_from(honest, addr).await.unwrap();
    ok.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await.unwrap();
    let (answer, _) = until_closed(&mut ok, Duration::from_secs(5)).await;
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
    held.push(connect_once_released(honest, addr).await);
    for _ in 0..3 {
        held.push(connect_from(honest, addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // ...past which a third address is reset too.
    assert!(refused_at_once([127, 0, 0, 4], addr).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_upload_is_answered_413_on_a_real_socket_without_sending_the_body() {
    let (addr, _db, _) = serve(Limits::default()).await;
    let head =
        "POST /v1/receipts HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 104857600\r\n\r\n";
    let (answer, took) = raw(addr, head).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(took < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_requests_from_one_address_answer_429_with_retry_after() {
    let (addr, _db, _) = serve(Limits { per_address: Rate { per_second: 1, burst: 3 }, ..Limits::default() }).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let (answer, _) = raw(addr, "GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
        let retry_after = answer.lines().find_map(|l| l.strip_prefix("retry-after: ").map(str::to_string));
        statuses.push((answer.get(9..12).unwrap_or("").to_string(), retry_after));
    }
    let ok = || ("200".to_string(), None);
    assert_eq!(statuses[..3], [ok(), ok(), ok()]);
    assert_eq!(statuses[3], ("429".into(), Some("1".into())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phones_sync_client_waits_out_the_rate_limit_and_finishes() {
    use salur_core::crypto::DataKey;
    use salur_core::keys::FixedKey;
    use salur_core::store::{Draft, Store};
    use salur_core::sync::{Backoff, SyncClient, SyncConfig};

    let (addr, _backend, db) =
        serve(Limits { per_device: Rate { per_second: 2, burst: 2 }, ..Limits::default() }).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("phone.db"), &FixedKey(DataKey::generate().unwrap())).unwrap();
    let signer = SoftwareSigner::generate().unwrap().0;
    let mut config = SyncConfig::new(&format!("http://{addr}"));
    config.allow_http_loopback = true;
    config.batch_size = 10;
    // The cap is above the server's Retry-After (1 s), which the client takes as its floor.
    config.backoff = Backoff { base: Duration::from_millis(50), cap: Duration::from_secs(2), max_attempts: 20 };
    let client = SyncClient::new(&config).unwrap();
    let code = common::stored_code(&db, "pos-1", "jakarta-10110").await;
    client.register(&store, &signer, "dev-sync", "pos-1", "jakarta-10110", &code).await.unwrap();
    let (answer, _) = raw(
        addr,
        &format!(
            "POST /v1/admin/devices/dev-sync/approve HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {ADMIN}\r\n\
             content-length: 0\r\nconnection: close\r\n\r\n"
        ),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    for n in 0..40u64 {
        let draft = Draft {
            roster_id: "blt-2026-11".into(),
            recipient: receipt::recipient_ref(b"k", &format!("{n}")),
            amount: 600_000,
            outcome: Outcome::NotHome,
            evidence: None,
            evidence_jpeg: None,
            time: Times { wall_ms: salur_server::clock::now_ms(), mono_ms: n, offset_ms: 0 },
            location: None,
            received_in_full: None,
            kuasa_jpeg: None,
            card_jpeg: None,
            card_face_jpeg: None,
            enrolled_template: None,
        };
        store.record(&signer, draft).unwrap();
    }
    let retries = std::sync::atomic::AtomicUsize::new(0);
    struct Count<'a>(&'a std::sync::atomic::AtomicUsize);
    impl salur_core::sync::SyncListener for Count<'_> {
        fn progress(&self, _: salur_core::sync::SyncProgress) {}
        fn retrying(&self, e: &salur_core::Error) {
            assert!(matches!(e, salur_core::Error::Server { status: 429, .. }), "{e}");
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let report = client.sync(&store, &signer, &Count(&retries)).await.unwrap();
    assert_eq!((report.progress.acknowledged, report.progress.rejected), (40, 0));
    assert!(retries.load(std::sync::atomic::Ordering::SeqCst) > 0, "the limit was reached and waited out");
}
