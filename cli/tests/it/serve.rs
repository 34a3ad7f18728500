//! `salur serve` as a real process on a loopback socket, on both backends.

use crate::common;

use serde_json::Value;

const ADMIN: &str = "serve-test-admin-token";

#[tokio::test]
async fn salur_serve_answers_on_a_real_loopback_socket() {
    use std::io::{Read, Write};
    for backend in common::backends().await {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_salur"))
            .arg("serve")
            .args(backend.cli_args())
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("SALUR_ADMIN_TOKEN", ADMIN)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let response = loop {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                s.write_all(b"GET /v1/time HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n").unwrap();
                let mut out = String::new();
                s.read_to_string(&mut out).unwrap();
                break out;
            }
            assert!(std::time::Instant::now() < deadline, "salur serve did not start on {}", backend.name);
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{}: {response}", backend.name);
        let body: Value = serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        let skew = (body["server_ms"].as_i64().unwrap() - salur_server::clock::now_ms()).abs();
        assert!(skew < 60_000);
        if let Some(dir) = &backend.dir {
            assert!(dir.path().join("data/salur.db").exists(), "the database lives in the data directory");
        }
    }
}

#[test]
fn a_tls_certificate_that_is_not_pem_stops_salur_serve_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, b"not a certificate").unwrap();
    std::fs::write(&key, b"not a key").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_salur"))
        .arg("serve")
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .env("SALUR_ADMIN_TOKEN", ADMIN)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TLS certificate") && err.contains("PEM"), "{err}");
    // Half a TLS setup is refused by the argument parser.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_salur"))
        .args(["serve", "--tls-cert"])
        .arg(&cert)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-key"));
}

/// `--address-rate` sets what one address may send: with 2 per second the burst is 20 requests,
/// the 21st in the same instant is refused with 429 and a Retry-After, and the default (50 per
/// second, burst 500) lets the same 21 through.
#[tokio::test]
async fn address_rate_sets_how_many_requests_one_address_may_send() {
    let backend = common::backends().await.remove(0);
    let statuses = |url: String| async move {
        let client = common::net::http();
        let mut out = Vec::new();
        for _ in 0..21 {
            let r = client.get(format!("{url}/v1/time")).send().await.unwrap();
            out.push((r.status().as_u16(), r.headers().get("retry-after").is_some()));
        }
        out
    };
    let mut slow = common::net::ServerProcess::start_args(&backend, &["--address-rate", "2"]);
    let got = statuses(slow.url()).await;
    slow.kill();
    assert!(got[..20].iter().all(|&(s, _)| s == 200), "{got:?}");
    assert_eq!(got[20], (429, true));
    let mut default = common::net::ServerProcess::start(&backend);
    let got = statuses(default.url()).await;
    default.kill();
    assert!(got.iter().all(|&(s, _)| s == 200), "{got:?}");
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_salur"))
        .args(["serve", "--address-rate", "0"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--address-rate"));
}
