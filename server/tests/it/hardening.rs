//! What a hostile or broken caller meets through the router (`oneshot`): replayed signed
//! requests, refusals before the body is read, bodies over a route's limit, too many requests from
//! one device, and receipts whose signed numbers are out of bounds (on each backend). The same
//! limits on a real socket: `tests/sockets.rs`.

use crate::common;

use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use salur_core::crypto;
use salur_core::receipt::{self, Outcome, Receipt};
use salur_server::{router, AppState, Limits, Rate};
use serde_json::json;
use tower::ServiceExt;

use crate::common::phone::{approved, call, code, Phone, ADMIN};

/// The router over a fresh SQLite database (kept alive by the returned backend) under `limits`.
async fn app(limits: Limits) -> (axum::Router, common::Backend) {
    let backend = common::backends().await.remove(0);
    let db = backend.storage.open().await.unwrap();
    (router(AppState::new(db, ADMIN).with_limits(limits).allow_unattested_devices(true)), backend)
}

#[tokio::test]
async fn a_replayed_signed_request_is_refused() {
    let (app, _db) = app(Limits::default()).await;
    let phone = Phone::new("dev-replay");
    approved(&app, &phone).await;
    for (method, uri) in [("GET", "/v1/rosters"), ("POST", "/v1/receipts")] {
        let req = phone.request(method, uri, json!({ "receipts": [] }));
        let (parts, body) = req.into_parts();
        let body = to_bytes(body, 1 << 20).await.unwrap();
        let again = Request::from_parts(parts.clone(), Body::from(body.clone()));
        assert_eq!(call(&app, Request::from_parts(parts, Body::from(body))).await.0, StatusCode::OK, "{uri}");
        let (status, answer) = call(&app, again).await;
        assert_eq!((status, answer["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("replayed")), "{uri}: {answer}");
    }
    // The registration is signed too: sending it again word for word is a replay, not a re-registration.
    let (parts, body) = Phone::new("dev-replay-2").registration(&code(&app).await).into_parts();
    let body = to_bytes(body, 1 << 20).await.unwrap();
    assert_eq!(call(&app, Request::from_parts(parts.clone(), Body::from(body.clone()))).await.0, StatusCode::CREATED);
    let (status, answer) = call(&app, Request::from_parts(parts, Body::from(body))).await;
    assert_eq!(answer["error"], "replayed", "{status}: {answer}");
}

#[tokio::test]
async fn registrations_refused_for_their_code_are_not_remembered_so_they_cannot_fill_the_replay_memory() {
    let backend = common::backends().await.remove(0);
    let db = backend.storage.open().await.unwrap();
    // No enrolment throttle in the way, so every bogus code is checked.
    let state = AppState::new(db.clone(), ADMIN)
        .with_enrolment_throttle(salur_server::LoginThrottle::new(
            1000,
            Duration::from_secs(1),
            1000,
            Duration::from_millis(1),
        ))
        .allow_unattested_devices(true);
    let app = router(state);
    // Twenty registrations, each validly signed by a key of its own, with a code nobody issued.
    for i in 0..20 {
        let (status, answer) = call(&app, Phone::new(&format!("dev-bogus-{i}")).registration("ABCD-EFGH-JKMN")).await;
        assert_eq!((status, answer["error"].as_str()), (StatusCode::FORBIDDEN, Some("enrolment_refused")), "{answer}");
    }
    assert_eq!(db.remembered_requests().await.unwrap(), 0, "no refused registration is remembered");
    // A real phone registers (one entry), is approved, and its signed requests go on (three more).
    let phone = Phone::new("dev-after-flood");
    approved(&app, &phone).await;
    for _ in 0..3 {
        let (status, answer) = call(&app, phone.request("GET", "/v1/rosters", json!({}))).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    assert_eq!(db.remembered_requests().await.unwrap(), 4, "the registration and three requests");
}

#[tokio::test]
async fn stale_unknown_or_unsigned_requests_are_refused_before_the_body_is_read() {
    let (app, _db) = app(Limits::default()).await;
    let phone = Phone::new("dev-early");
    approved(&app, &phone).await;
    // A body that would fail if read: a stream that errors. Each refusal below comes first.
    let poisoned =
        || Body::from_stream(futures::stream::once(async { Err::<Vec<u8>, _>(std::io::Error::other("read")) }));
    let signed_headers = |time_ms: i64, device: &str| {
        let [_, (_, t), (_, s)] =
            salur_core::request_auth::sign_request(&phone.signer, device, "POST", "/v1/receipts", time_ms, b"{}")
                .unwrap();
        Request::post("/v1/receipts")
            .header("content-type", "application/json")
            .header("x-salur-device", device)
            .header("x-salur-time", t)
            .header("x-salur-signature", s)
    };
    let now = salur_server::clock::now_ms();
    let cases = [
        (Request::post("/v1/receipts").header("content-type", "application/json"), "missing x-salur-device"),
        (signed_headers(now - 6 * 60_000, "dev-early"), "more than 5 minutes"),
        (signed_headers(now, "dev-nobody"), "unknown device"),
    ];
    for (req, why) in cases {
        let (status, answer) = call(&app, req.body(poisoned()).unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{why}: {answer}");
        assert!(answer["message"].as_str().unwrap().contains(why), "{why}: {answer}");
    }
}

#[tokio::test]
async fn a_body_over_the_routes_limit_is_refused_before_the_handler() {
    let (app, _db) = app(Limits::default()).await;
    // Declared too large: refused before authentication, without reading a byte of it.
    for (uri, limit) in
        [("/v1/receipts", 4 << 20), ("/v1/devices", 64 << 10), ("/v1/admin/devices/x/approve", 64 << 10)]
    {
        let req = Request::post(uri)
            .header("content-type", "application/json")
            .header("content-length", (limit + 1).to_string())
            .body(Body::from_stream(futures::stream::pending::<Result<Vec<u8>, std::io::Error>>()))
            .unwrap();
        let (status, answer) = tokio::time::timeout(Duration::from_secs(5), call(&app, req)).await.unwrap();
        assert_eq!(
            (status, answer["error"].as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")),
            "{uri}"
        );
    }
    // Not declared: cut while read (a chunked upload of 65 KiB to a 64 KiB route).
    let phone = Phone::new("dev-big");
    let mut req = phone.registration(&code(&app).await);
    *req.body_mut() =
        Body::from_stream(futures::stream::iter((0..65).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024]))));
    req.headers_mut().remove("content-length");
    let (status, _) = call(&app, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn too_many_requests_from_one_device_answer_429_with_retry_after() {
    let (app, _db) = app(Limits { per_device: Rate { per_second: 1, burst: 3 }, ..Limits::default() }).await;
    let phone = Phone::new("dev-busy");
    approved(&app, &phone).await; // counted by its key, not as the device
    let mut answers = Vec::new();
    for _ in 0..4 {
        let res = app.clone().oneshot(phone.request("GET", "/v1/rosters", json!(null))).await.unwrap();
        let retry_after = res.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
        answers.push((res.status(), retry_after));
    }
    assert_eq!(answers[..3], [(StatusCode::OK, None), (StatusCode::OK, None), (StatusCode::OK, None)]);
    assert_eq!(answers[3], (StatusCode::TOO_MANY_REQUESTS, Some("1".into())));
    let (status, answer) = call(&app, phone.request("GET", "/v1/rosters", json!(null))).await;
    assert_eq!((status, answer["error"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    // Another device is not held back by this one; nor is a caller that only names this device.
    let other = Phone::new("dev-quiet");
    approved(&app, &other).await;
    assert_eq!(call(&app, other.request("GET", "/v1/rosters", json!(null))).await.0, StatusCode::OK);
    let mut forged = phone.request("GET", "/v1/rosters", json!(null));
    forged.headers_mut().insert("x-salur-signature", B64.encode([1u8; 64]).parse().unwrap());
    assert_eq!(call(&app, forged).await.0, StatusCode::UNAUTHORIZED, "a bad signature is not counted as the device");
}

#[tokio::test]
async fn receipts_with_out_of_bounds_numbers_are_refused() {
    for backend in common::backends().await {
        eprintln!("backend: {}", backend.name);
        let db = backend.storage.open().await.unwrap();
        let row = common::roster_row("3171010101900001", "Siti Rahayu", "blt-2026-11");
        db.put_recipient(&row, None).await.unwrap();
        let key = db.roster_key("blt-2026-11").await.unwrap();
        let siti = receipt::recipient_ref(&key, &row.nik);
        let app = router(AppState::new(db, ADMIN).allow_unattested_devices(true));
        let phone = Phone::new("dev-numbers");
        approved(&app, &phone).await;

        // Sequence 0 is refused (it passed before); so are an amount over the roster's or over
        // any bound, a sequence past any chain, and a signing time before Salur or far ahead.
        let first = phone.receipt(|r| r.recipient = siti.clone());
        let prev = crypto::sha256(&first).to_vec();
        let later = |seq: u64| {
            let prev = prev.clone();
            move |r: &mut Receipt| {
                r.seq = seq;
                r.prev = prev;
            }
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (phone.receipt(|r| r.seq = 0), "starts at 1"),
            (
                phone.receipt(|r| {
                    later(2)(r);
                    r.recipient = siti.clone();
                    r.outcome = Outcome::Paid;
                    r.amount = 600_001;
                }),
                "more than the roster's 600000",
            ),
            (
                phone.receipt(|r| {
                    later(3)(r);
                    r.amount = u64::MAX;
                }),
                "over the largest",
            ),
            (
                phone.receipt(|r| {
                    later(4)(r);
                    r.seq = u64::MAX;
                }),
                "sequence",
            ),
            (
                phone.receipt(|r| {
                    later(5)(r);
                    r.time.wall_ms = 0;
                }),
                "signing time",
            ),
            (
                phone.receipt(|r| {
                    later(6)(r);
                    r.time.wall_ms = i64::MAX;
                }),
                "signing time",
            ),
            (
                phone.receipt(|r| {
                    later(7)(r);
                    r.time.offset_ms = i64::MIN;
                }),
                "clock offset",
            ),
        ];
        let mut batch: Vec<&Vec<u8>> = vec![&first];
        batch.extend(cases.iter().map(|(c, _)| c));
        let (status, answer) = call(&app, phone.upload(&batch)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let results = answer["results"].as_array().unwrap();
        assert_eq!(results[0]["result"], "accepted", "{answer}");
        for (r, (_, why)) in results[1..].iter().zip(&cases) {
            assert_eq!(r["result"], "rejected", "{why}: {r}");
            assert!(r["reason"].as_str().unwrap().contains(why), "{why}: {r}");
        }
        // A payment of the roster's amount or less is stored (less is flagged, as before).
        let ok = phone.receipt(|r| {
            later(2)(r);
            r.recipient = siti.clone();
            r.outcome = Outcome::Paid;
            r.amount = 600_000;
        });
        let (_, answer) = call(&app, phone.upload(&[&ok])).await;
        assert_eq!(answer["results"][0]["result"], "accepted", "{answer}");
    }
}
