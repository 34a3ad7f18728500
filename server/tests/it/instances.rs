//! Several instances over one database behave as one against replays (issue 32 item 2): every
//! signed route, sent to one instance and then replayed word for word to another, is refused
//! there as `replayed`. On PostgreSQL the two instances have pools of their own (two
//! `salur serve` processes in all but the process); on SQLite, which runs one instance, the
//! second is that instance restarted: what it saw before is still refused.

use crate::common;
use crate::common::phone::{approved, call, Phone, ADMIN};

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use salur_server::{router, AppState};
use serde_json::json;

/// An instance: its own limits, throttles and caches over `db`.
fn instance(db: salur_server::Db) -> axum::Router {
    router(AppState::new(db, ADMIN).allow_unattested_devices(true))
}

/// `req` as bytes, so that it can be sent twice.
async fn twice(req: Request<Body>) -> (Request<Body>, Request<Body>) {
    let (parts, body) = req.into_parts();
    let body = to_bytes(body, 1 << 22).await.unwrap();
    (Request::from_parts(parts.clone(), Body::from(body.clone())), Request::from_parts(parts, Body::from(body)))
}

#[tokio::test]
async fn a_signed_request_replayed_on_another_instance_is_refused_on_every_signed_route() {
    for backend in common::backends().await {
        let (a, b) = (backend.storage.open().await.unwrap(), backend.storage.open().await.unwrap());
        let (one, other) = (instance(a), instance(b));
        let phone = Phone::new("dev-instances");
        // The registration is signed too: accepted on one instance, a replay on the other.
        let code = crate::common::phone::code(&one).await;
        let (first, again) = twice(Phone::new("dev-instances-reg").registration(&code)).await;
        assert_eq!(call(&one, first).await.0, StatusCode::CREATED, "{}", backend.name);
        let (status, answer) = call(&other, again).await;
        assert_eq!((status, answer["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("replayed")), "{answer}");

        approved(&one, &phone).await;
        let receipt = phone.receipt(|_| {});
        let id = "0193a6f0-0000-7000-8000-000000000001";
        let one_receipt = json!({ "receipts": [B64.encode(&receipt)] });
        let chunk = json!({ "offset": 0, "total": 4, "chunk": B64.encode([0xff, 0xd8, 0xff, 0xd9]) });
        let routes = [
            ("POST", "/v1/receipts".to_string(), one_receipt.clone()),
            ("PUT", format!("/v1/receipts/{id}"), one_receipt),
            ("GET", format!("/v1/receipts/{id}/evidence"), json!({})),
            ("PUT", format!("/v1/receipts/{id}/evidence"), chunk),
            ("PUT", format!("/v1/receipts/{id}/references"), json!({ "card_face": B64.encode([0xff, 0xd8]) })),
            ("GET", "/v1/rosters".to_string(), json!({})),
            ("GET", "/v1/roster/blt-2026-11".to_string(), json!({})),
            ("GET", format!("/v1/devices/{}/chain", phone.id), json!({})),
            ("GET", format!("/v1/devices/{}/chain/status", phone.id), json!({})),
        ];
        for (method, uri, body) in routes {
            let (first, again) = twice(phone.request(method, &uri, body)).await;
            // Whatever the route answers (a receipt with no evidence, a roster not assigned), the
            // signature was accepted and the request remembered.
            let (status, answer) = call(&one, first).await;
            assert_ne!(status, StatusCode::UNAUTHORIZED, "{} {method} {uri}: {answer}", backend.name);
            let (status, answer) = call(&other, again).await;
            assert_eq!(
                (status, answer["error"].as_str()),
                (StatusCode::UNAUTHORIZED, Some("replayed")),
                "{} {method} {uri} replayed on the other instance: {answer}",
                backend.name
            );
        }
        // Signed anew, the same request goes through on either instance.
        for app in [&one, &other] {
            let (status, answer) = call(app, phone.request("GET", "/v1/rosters", json!({}))).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
        }
    }
}

#[tokio::test]
async fn the_same_request_sent_to_two_instances_at_once_is_accepted_by_exactly_one() {
    for backend in common::backends().await {
        let (a, b) = (backend.storage.open().await.unwrap(), backend.storage.open().await.unwrap());
        let (one, other) = (instance(a), instance(b));
        let phone = Phone::new("dev-race");
        approved(&one, &phone).await;
        for round in 0..10 {
            let (first, again) = twice(phone.request("GET", "/v1/rosters", json!({}))).await;
            let ((s1, _), (s2, _)) = tokio::join!(call(&one, first), call(&other, again));
            let mut statuses = [s1, s2];
            statuses.sort();
            assert_eq!(statuses, [StatusCode::OK, StatusCode::UNAUTHORIZED], "{} round {round}", backend.name);
        }
    }
}
