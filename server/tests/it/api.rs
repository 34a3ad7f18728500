//! The disbursement API through its router (tower `oneshot`) on a real SQLite file, and
//! `salur serve` on a real loopback socket.

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use salur_core::crypto::DataKey;
use salur_core::keys::{FixedKey, Signer, SoftwareSigner};
use salur_core::receipt::{self, Outcome, Times};
use salur_core::store::{Draft, Store};
use salur_server::{router, AppState};
use serde_json::{json, Value};
use tower::ServiceExt;

const ADMIN: &str = "test-admin-token";

struct Phone {
    signer: SoftwareSigner,
    store: Store,
    device_id: String,
    _dir: tempfile::TempDir,
}

impl Phone {
    fn new(device_id: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("phone.db"), &FixedKey(DataKey::generate().unwrap())).unwrap();
        let signer = SoftwareSigner::generate().unwrap().0;
        store.set_device(device_id, "pos-1", &signer).unwrap();
        Self { signer, store, device_id: device_id.into(), _dir: dir }
    }

    fn record(&self, n: u64, outcome: Outcome) -> Vec<u8> {
        let draft = Draft {
            roster_id: "blt-2026-11".into(),
            recipient: receipt::recipient_ref(b"k", &format!("{n}")),
            amount: 600_000,
            outcome,
            evidence: None,
            evidence_jpeg: None,
            time: Times { wall_ms: 1_795_000_000_000, mono_ms: n, offset_ms: 0 },
            location: None,
            received_in_full: None,
            kuasa_jpeg: None,
            card_jpeg: None,
            card_face_jpeg: None,
            enrolled_template: None,
        };
        self.store.record(&self.signer, draft).unwrap().bytes
    }

    fn request(&self, method: &str, uri: &str, body: Value) -> Request<Body> {
        common::signed_request(&self.signer, &self.device_id, method, uri, serde_json::to_vec(&body).unwrap())
    }

    fn registration(&self, code: &str) -> Request<Body> {
        let spki = self.signer.public_key_spki().unwrap();
        self.request(
            "POST",
            "/v1/devices",
            json!({ "device_id": self.device_id, "worker_id": "pos-1", "post_office": "jakarta-10110",
                    "public_key": B64.encode(spki), "enrolment_code": code }),
        )
    }

    fn upload(&self, receipts: &[&Vec<u8>]) -> Request<Body> {
        self.request(
            "POST",
            "/v1/receipts",
            json!({ "receipts": receipts.iter().map(|r| B64.encode(r)).collect::<Vec<_>>() }),
        )
    }
}

use crate::common;

/// The API over each backend (SQLite always, PostgreSQL when available), with its name.
async fn apps() -> Vec<(&'static str, axum::Router, common::Backend)> {
    let mut out = Vec::new();
    for b in common::backends().await {
        let db = b.storage.open().await.unwrap();
        out.push((b.name, router(AppState::new(db, ADMIN).allow_unattested_devices(true)), b));
    }
    out
}

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, Value) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = to_bytes(res.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn get(uri: &str, token: &str) -> Request<Body> {
    Request::get(uri).header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap()
}

fn admin(uri: &str, token: &str) -> Request<Body> {
    Request::post(uri).header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap()
}

/// A code for the phones of these tests' worker.
async fn code(app: &axum::Router) -> String {
    common::enrolment_code(app, ADMIN, "pos-1", "jakarta-10110").await
}

async fn approved(app: &axum::Router, phone: &Phone) {
    let code = code(app).await;
    assert_eq!(call(app, phone.registration(&code)).await.0, StatusCode::CREATED);
    let uri = format!("/v1/admin/devices/{}/approve", phone.device_id);
    assert_eq!(call(app, admin(&uri, ADMIN)).await.0, StatusCode::OK);
}

fn results(body: &Value) -> Vec<&str> {
    body["results"].as_array().unwrap().iter().map(|r| r["result"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_device_registers_waits_for_approval_and_uploads_each_receipt_once() {
    for (backend, app, _db) in apps().await {
        eprintln!("backend: {backend}");
        let phone = Phone::new("dev-1");
        let (status, body) = call(&app, phone.registration(&code(&app).await)).await;
        assert_eq!((status, body["device"]["status"].as_str()), (StatusCode::CREATED, Some("pending")));
        assert_eq!(
            (body["device"]["security_level"].as_str(), body["device"]["flagged"].as_bool()),
            (Some("none"), Some(true))
        );
        let r: Vec<Vec<u8>> = (1..=5).map(|n| phone.record(n, Outcome::Paid)).collect();

        assert_eq!(call(&app, phone.upload(&[&r[0]])).await.0, StatusCode::FORBIDDEN, "pending devices may not upload");
        assert_eq!(call(&app, admin("/v1/admin/devices/dev-1/approve", "wrong")).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(call(&app, admin("/v1/admin/devices/dev-1/approve", ADMIN)).await.0, StatusCode::OK);

        let (status, body) = call(&app, phone.upload(&r.iter().collect::<Vec<_>>())).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(results(&body), ["accepted"; 5]);
        assert_eq!(body["chain"]["contiguous_to"], 5);
        // The same bytes again: the same answer, nothing stored twice.
        let (_, body) = call(&app, phone.upload(&[&r[1], &r[3]])).await;
        assert_eq!(results(&body), ["duplicate", "duplicate"]);
        assert_eq!(body["chain"]["received"], 5);

        let (status, body) = call(
            &app,
            Request::get("/v1/devices/dev-1/chain")
                .header("authorization", format!("Bearer {ADMIN}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!((status, body["valid"].as_bool()), (StatusCode::OK, Some(true)));
        // The device itself may read its chain; a request with both its signature and a staff
        // token is refused, whichever of the two is good (found by schemathesis).
        let own = || common::signed_request(&phone.signer, "dev-1", "GET", "/v1/devices/dev-1/chain", Vec::new());
        let (status, body) = call(&app, own()).await;
        assert_eq!((status, body["status"]["received"].as_u64()), (StatusCode::OK, Some(5)));
        let mut both = own();
        both.headers_mut().insert("authorization", format!("Bearer {ADMIN}").parse().unwrap());
        let (status, body) = call(&app, both).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")), "{body}");
        // What a phone asks at every sync: the same status, no re-verification, same rules.
        let status_of = |id: &str| {
            common::signed_request(&phone.signer, "dev-1", "GET", &format!("/v1/devices/{id}/chain/status"), Vec::new())
        };
        let (status, body) = call(&app, status_of("dev-1")).await;
        assert_eq!((status, body["status"]["contiguous_to"].as_u64()), (StatusCode::OK, Some(5)), "{body}");
        assert!(body.get("verification").is_none(), "{body}");
        assert_eq!(call(&app, status_of("dev-2")).await.0, StatusCode::FORBIDDEN, "another device's status");
        let mut both = status_of("dev-1");
        both.headers_mut().insert("authorization", format!("Bearer {ADMIN}").parse().unwrap());
        assert_eq!(call(&app, both).await.0, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn gaps_are_shown_until_filled_and_forks_tampering_and_other_devices_are_refused() {
    for (backend, app, _db) in apps().await {
        eprintln!("backend: {backend}");
        let phone = Phone::new("dev-2");
        approved(&app, &phone).await;
        let r: Vec<Vec<u8>> = (1..=4)
            .map(|n| {
                phone.record(
                    n,
                    if n == 2 {
                        Outcome::Ineligible { reason: receipt::IneligibleReason::Deceased, note: None }
                    } else {
                        Outcome::Paid
                    },
                )
            })
            .collect();
        let (_, body) = call(&app, phone.upload(&[&r[0], &r[3]])).await;
        assert_eq!(results(&body), ["accepted", "accepted"]);
        assert_eq!(body["chain"]["gaps"], json!([[2, 3]]));
        assert_eq!(body["chain"]["contiguous_to"], 1);
        let (_, body) = call(&app, phone.upload(&[&r[2], &r[1]])).await;
        assert_eq!(results(&body), ["accepted", "accepted"]);
        assert_eq!(body["chain"]["gaps"], json!([]));

        // A flipped byte: refused with the reason.
        let mut tampered = phone.record(5, Outcome::Paid);
        let n = tampered.len();
        tampered[n - 80] ^= 1;
        let (_, body) = call(&app, phone.upload(&[&tampered])).await;
        assert_eq!(results(&body), ["rejected"]);
        assert!(body["results"][0]["reason"].as_str().unwrap().contains("signature"));

        // The same id with other bytes (validly signed): 409, and the first is kept.
        let first = receipt::verify(&r[0], &phone.signer.public_key_spki().unwrap()).unwrap().receipt;
        let mut twin = first.clone();
        twin.amount += 1;
        let twin = receipt::sign(&twin, &phone.signer).unwrap().bytes;
        let uri = format!("/v1/receipts/{}", first.id);
        let (status, body) = call(&app, phone.request("PUT", &uri, json!({ "receipts": [B64.encode(&twin)] }))).await;
        assert_eq!((status, body["result"].as_str()), (StatusCode::CONFLICT, Some("conflict")));
        let (status, _) = call(&app, phone.request("PUT", &uri, json!({ "receipts": [B64.encode(&r[0])] }))).await;
        assert_eq!(status, StatusCode::OK, "the original is still what is stored");

        // A receipt PUT under another id's URL: refused before anything is stored.
        let sixth = phone.record(6, Outcome::Paid);
        let sixth_id = receipt::verify(&sixth, &phone.signer.public_key_spki().unwrap()).unwrap().receipt.id;
        let one = json!({ "receipts": [B64.encode(&sixth)] });
        let (status, _) = call(&app, phone.request("PUT", "/v1/receipts/not-its-id", one.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = call(&app, phone.request("PUT", &format!("/v1/receipts/{sixth_id}"), one)).await;
        assert_eq!(status, StatusCode::CREATED, "the refused PUT stored nothing");

        // Another receipt claiming sequence 3 (a fork of the chain): conflict.
        let mut fork = receipt::verify(&r[2], &phone.signer.public_key_spki().unwrap()).unwrap().receipt;
        fork.id = "fork-of-3".into();
        let fork = receipt::sign(&fork, &phone.signer).unwrap().bytes;
        let (_, body) = call(&app, phone.upload(&[&fork])).await;
        assert_eq!(results(&body), ["conflict"]);

        // A receipt from another phone's key sent by this device: rejected.
        let other = Phone::new("dev-2");
        let foreign = other.record(6, Outcome::Paid);
        let (_, body) = call(&app, phone.upload(&[&foreign])).await;
        assert_eq!(results(&body), ["rejected"]);
    }
}

#[tokio::test]
async fn unsigned_forged_malformed_oversized_and_revoked_requests_are_refused() {
    for (backend, app, _db) in apps().await {
        eprintln!("backend: {backend}");
        let phone = Phone::new("dev-3");
        approved(&app, &phone).await;
        let r1 = phone.record(1, Outcome::Paid);

        let unsigned = Request::post("/v1/receipts")
            .header("content-type", "application/json")
            .body(Body::from("{\"receipts\":[]}"))
            .unwrap();
        assert_eq!(call(&app, unsigned).await.0, StatusCode::UNAUTHORIZED);
        // Signed by a different key under this device's name.
        let impostor = Phone { device_id: "dev-3".into(), ..Phone::new("dev-x") };
        assert_eq!(call(&app, impostor.upload(&[&r1])).await.0, StatusCode::UNAUTHORIZED);
        // Registering a known device id with another key.
        assert_eq!(call(&app, impostor.registration(&code(&app).await)).await.0, StatusCode::CONFLICT);

        let (status, body) = call(&app, phone.request("POST", "/v1/receipts", json!({ "receipt": "x" }))).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")));
        let (status, body) = call(&app, phone.request("POST", "/v1/receipts", json!({ "receipts": ["***"] }))).await;
        assert_eq!((status, results(&body)), (StatusCode::OK, vec!["rejected"]));
        let too_many: Vec<String> = vec![B64.encode(&r1); 501];
        assert_eq!(
            call(&app, phone.request("POST", "/v1/receipts", json!({ "receipts": too_many }))).await.0,
            StatusCode::BAD_REQUEST
        );
        let huge = json!({ "receipts": [ "A".repeat(5 * 1024 * 1024) ] });
        let (status, body) = call(&app, phone.request("POST", "/v1/receipts", huge)).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")));
        let mut wrong_type = phone.upload(&[&r1]);
        wrong_type.headers_mut().insert("content-type", "text/plain".parse().unwrap());
        let (status, body) = call(&app, wrong_type).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type"))
        );

        assert_eq!(call(&app, admin("/v1/admin/devices/dev-3/revoke", ADMIN)).await.0, StatusCode::OK);
        // A revoked phone reads no roster...
        let rosters = common::signed_request(&phone.signer, &phone.device_id, "GET", "/v1/rosters", Vec::new());
        let (status, body) = call(&app, rosters).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body["message"].as_str().unwrap().contains("revoked"));
        // ...but still hands in what it signed, held for an auditor (tests/it/verdicts.rs).
        let (status, body) = call(&app, phone.upload(&[&r1])).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(results(&body), ["accepted"]);
        let (status, body) = call(
            &app,
            Request::get("/v1/admin/devices")
                .header("authorization", format!("Bearer {ADMIN}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!((status, body["devices"][0]["status"].as_str()), (StatusCode::OK, Some("revoked")));
    }
}

/// Two API instances over one PostgreSQL database, racing to store the same receipts: each is
/// stored exactly once and every answer is "accepted" or "duplicate".
#[tokio::test]
async fn two_instances_over_one_postgres_store_each_receipt_once() {
    for backend in common::backends().await.into_iter().filter(|b| b.name == "postgres") {
        let a = router(AppState::new(backend.storage.open().await.unwrap(), ADMIN).allow_unattested_devices(true));
        let b = router(AppState::new(backend.storage.open().await.unwrap(), ADMIN).allow_unattested_devices(true));
        let phone = Phone::new("dev-pg");
        approved(&a, &phone).await;
        let receipts: Vec<Vec<u8>> = (1..=30).map(|n| phone.record(n, Outcome::Paid)).collect();
        let all: Vec<&Vec<u8>> = receipts.iter().collect();
        let reversed: Vec<&Vec<u8>> = receipts.iter().rev().collect();
        let ((s1, r1), (s2, r2)) = tokio::join!(call(&a, phone.upload(&all)), call(&b, phone.upload(&reversed)));
        assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
        let accepted = results(&r1).iter().chain(results(&r2).iter()).filter(|r| **r == "accepted").count();
        assert!(results(&r1).iter().chain(results(&r2).iter()).all(|r| *r == "accepted" || *r == "duplicate"));
        assert_eq!(accepted, 30, "each receipt accepted exactly once across both instances");
        let req = Request::get("/v1/devices/dev-pg/chain")
            .header("authorization", format!("Bearer {ADMIN}"))
            .body(Body::empty())
            .unwrap();
        let (_, chain) = call(&b, req).await;
        assert_eq!((chain["valid"].as_bool(), chain["status"]["received"].as_u64()), (Some(true), Some(30)));
    }
}

#[tokio::test]
async fn openapi_metrics_and_health_are_served() {
    for (backend, app, _db) in apps().await {
        eprintln!("backend: {backend}");
        let phone = Phone::new("dev-m");
        approved(&app, &phone).await;
        let r = phone.record(1, Outcome::Paid);
        call(&app, phone.upload(&[&r, &r])).await;

        let (status, doc) = call(&app, Request::get("/openapi.json").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        // Every route the router serves is documented, and nothing else.
        let mut documented: Vec<&str> = doc["paths"].as_object().unwrap().keys().map(String::as_str).collect();
        documented.sort();
        let mut served = vec![
            "/",
            "/cek",
            "/healthz",
            "/metrics",
            "/openapi.json",
            "/v1/admin/audit",
            "/v1/admin/audit/verify",
            "/v1/admin/complaints",
            "/v1/admin/devices",
            "/v1/admin/devices/{id}/{action}",
            "/v1/admin/devices/{id}/export",
            "/v1/admin/receipts/{id}/evidence",
            "/v1/admin/enrolments",
            "/v1/admin/reallocations",
            "/v1/admin/reallocations/{roster_id}/{recipient}/decision",
            "/v1/admin/face-sweep",
            "/v1/admin/held-receipts",
            "/v1/admin/receipts/{id}/held-decision",
            "/v1/admin/users",
            "/v1/admin/users/{name}/disable",
            "/v1/admin/users/{name}/tokens",
            "/v1/dashboard",
            "/v1/devices",
            "/v1/devices/challenge",
            "/v1/devices/{id}/chain",
            "/v1/devices/{id}/chain/status",
            "/v1/login",
            "/v1/logout",
            "/v1/receipts",
            "/v1/receipts/{id}",
            "/v1/receipts/{id}/evidence",
            "/v1/receipts/{id}/references",
            "/v1/roster/{roster_id}",
            "/v1/public/receipts/{code}",
            "/v1/public/receipts/{code}/complaints",
            "/v1/rosters",
            "/v1/session",
            "/v1/time",
        ];
        served.sort();
        assert_eq!(documented, served);
        for path in served.iter().filter(|p| !p.contains('{')) {
            let res = app.clone().oneshot(Request::get(*path).body(Body::empty()).unwrap()).await.unwrap();
            assert_ne!(res.status(), StatusCode::NOT_FOUND, "{path} is documented but not routed");
        }

        let res = app.clone().oneshot(get("/metrics", ADMIN)).await.unwrap();
        let text = String::from_utf8(to_bytes(res.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap();
        assert!(text.contains("salur_receipt_uploads_total{result=\"accepted\"} 1"), "{text}");
        assert!(text.contains("salur_receipt_uploads_total{result=\"duplicate\"} 1"), "{text}");
        assert!(text.contains("salur_receipts_stored 1"), "{text}");
        assert!(text.contains("salur_devices{status=\"approved\"} 1"), "{text}");
        let res = app.clone().oneshot(Request::get("/healthz").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
}

/// A burst of uploads from several phones, a fifth of them repeats: the dashboard's receipt count
/// equals the number of distinct receipt ids sent, on both backends.
#[tokio::test]
async fn a_burst_with_duplicates_is_counted_once() {
    for (backend, app, _db) in apps().await {
        let phones: Vec<Phone> = (0..4).map(|d| Phone::new(&format!("dev-burst-{d}"))).collect();
        let mut distinct = std::collections::HashSet::new();
        let mut uploads = Vec::new();
        for p in &phones {
            approved(&app, p).await;
            let receipts: Vec<Vec<u8>> = (1..=25).map(|n| p.record(n, Outcome::Paid)).collect();
            for r in &receipts {
                distinct.insert(receipt::verify(r, &p.signer.public_key_spki().unwrap()).unwrap().receipt.id);
            }
            // Every fifth receipt is sent twice, in separate uploads racing each other.
            let repeats: Vec<Vec<u8>> = receipts.iter().step_by(5).cloned().collect();
            uploads.push(p.upload(&receipts.iter().collect::<Vec<_>>()));
            uploads.push(p.upload(&repeats.iter().collect::<Vec<_>>()));
        }
        let calls = uploads.into_iter().map(|req| call(&app, req));
        let answers = futures::future::join_all(calls).await;
        let total: usize = answers
            .iter()
            .map(|(s, b)| {
                assert_eq!(*s, StatusCode::OK, "{backend}");
                results(b).len()
            })
            .sum();
        assert_eq!(total, 4 * 25 + 4 * 5);
        let (_, d) = call(&app, get("/v1/dashboard", ADMIN)).await;
        assert_eq!(d["receipts"].as_u64(), Some(distinct.len() as u64), "{backend}");
        assert_eq!(distinct.len(), 100);
    }
}

#[tokio::test]
async fn malformed_query_strings_are_refused_as_json_errors() {
    // Found by schemathesis: axum's own refusals were text/plain, which the API does not promise.
    for (backend, app, _db) in apps().await {
        for uri in ["/v1/admin/audit?limit=9223372036854775808", "/v1/admin/face-sweep?threshold=-1"] {
            let res = app.clone().oneshot(get(uri, ADMIN)).await.unwrap();
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{backend}: {uri}");
            assert_eq!(res.headers()["content-type"], "application/json", "{backend}: {uri}");
            let body: Value = serde_json::from_slice(&to_bytes(res.into_body(), 1 << 16).await.unwrap()).unwrap();
            assert_eq!(body["error"], "bad_request", "{backend}: {uri}");
        }
    }
}

#[tokio::test]
async fn text_with_a_nul_character_is_refused_alike_on_both_backends() {
    // Found by schemathesis on PostgreSQL, whose text cannot hold NUL: these were 500s there.
    for (backend, app, _db) in apps().await {
        for uri in ["/v1/dashboard?roster=%00x", "/v1/admin/reallocations?roster=a%00", "/v1/admin/users/a%00b/disable"]
        {
            let method = if uri.ends_with("disable") { "POST" } else { "GET" };
            let req = Request::builder()
                .method(method)
                .uri(uri)
                .header("authorization", format!("Bearer {ADMIN}"))
                .body(Body::empty())
                .unwrap();
            let (status, body) = call(&app, req).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (StatusCode::BAD_REQUEST, Some("bad_request")),
                "{backend}: {uri}"
            );
        }
        let login = Request::post("/v1/login")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"name":"a\u0000b","password":"twelve chars long"}"#))
            .unwrap();
        let (status, body) = call(&app, login).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_request")),
            "{backend}: login"
        );
        // An escaped backslash before "u0000" is no NUL: an unknown account, as usual.
        let login = Request::post("/v1/login")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"name":"a\\u0000b","password":"twelve chars long"}"#))
            .unwrap();
        assert_eq!(call(&app, login).await.0, StatusCode::UNAUTHORIZED, "{backend}: escaped backslash");
    }
}
