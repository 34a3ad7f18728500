//! The phone's second key, as an attacker with a client of their own meets it: registered beside
//! the device key, it hands in receipts, evidence and the chain's status without the worker's
//! unlock, and the server accepts it for nothing else: no roster, no registration, no receipt
//! signed by it.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use salur_core::keys::{Signer, SoftwareSigner};
use salur_core::request_auth;
use salur_server::{router, AppState};
use serde_json::{json, Value};

use crate::common;
use crate::common::phone::{call, code, Phone, ADMIN};

/// `phone`'s registration naming `upload` as its upload key (and `chain` as that key's attestation).
fn registration(phone: &Phone, code: &str, upload: &[u8], chain: &[Vec<u8>]) -> Request<Body> {
    let reg = json!({ "device_id": phone.id, "worker_id": "pos-1", "post_office": "jakarta-10110",
                      "public_key": B64.encode(phone.signer.public_key_spki().unwrap()), "enrolment_code": code,
                      "upload_key": B64.encode(upload),
                      "upload_attestation": chain.iter().map(|c| B64.encode(c)).collect::<Vec<_>>() });
    phone.request("POST", "/v1/devices", reg)
}

/// A request signed by `signer` as the device's upload key.
fn as_upload_key(signer: &SoftwareSigner, device_id: &str, method: &str, uri: &str, body: Value) -> Request<Body> {
    let body = if method == "GET" { Vec::new() } else { serde_json::to_vec(&body).unwrap() };
    let mut req = common::signed_request(signer, device_id, method, uri, body);
    req.headers_mut().insert(request_auth::KEY_HEADER, "upload".parse().unwrap());
    req
}

#[tokio::test]
async fn the_upload_key_hands_in_what_the_device_key_signed_and_nothing_else() {
    for backend in common::backends().await {
        let name = backend.name;
        let db = backend.storage.open().await.unwrap();
        let app = router(AppState::new(db.clone(), ADMIN).allow_unattested_devices(true));
        let phone = Phone::new("dev-locked");
        // The upload key, in the hands of a phone of the same id (to sign receipts with it below).
        let forged = Phone::new("dev-locked");
        let upload = &forged.signer;
        let upload_spki = upload.public_key_spki().unwrap();

        // Refused: the device key named as its own upload key, and an upload chain without the
        // device key's (the codes stay unused).
        let c = code(&app).await;
        let own = phone.signer.public_key_spki().unwrap();
        let (status, body) = call(&app, registration(&phone, &c, &own, &[])).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {body}");
        assert!(body["message"].as_str().unwrap().contains("another key"), "{name}: {body}");
        let (status, body) = call(&app, registration(&phone, &c, &upload_spki, &[vec![0x30, 0x00]])).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {body}");

        let (status, body) = call(&app, registration(&phone, &c, &upload_spki, &[])).await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {body}");
        let upload_id = hex::encode(salur_core::crypto::key_id(&upload_spki));
        assert_eq!(body["upload_key_id"].as_str(), Some(upload_id.as_str()), "{name}: the phone learns it is held");
        let approve = Request::post(format!("/v1/admin/devices/{}/approve", phone.id))
            .header("authorization", format!("Bearer {ADMIN}"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(call(&app, approve).await.0, StatusCode::OK);

        // What the device key signed goes in under the upload key; the status comes back.
        let paid = phone.receipt(|_| {});
        let batch = json!({ "receipts": [B64.encode(&paid)] });
        let (status, body) = call(&app, as_upload_key(upload, &phone.id, "POST", "/v1/receipts", batch)).await;
        assert_eq!(
            (status, body["results"][0]["result"].as_str()),
            (StatusCode::OK, Some("accepted")),
            "{name}: {body}"
        );
        let status_uri = format!("/v1/devices/{}/chain/status", phone.id);
        let (status, body) = call(&app, as_upload_key(upload, &phone.id, "GET", &status_uri, Value::Null)).await;
        assert_eq!((status, body["status"]["contiguous_to"].as_u64()), (StatusCode::OK, Some(1)), "{name}: {body}");

        // Nothing else: the full chain re-verification, the roster, the assigned rosters, a registration.
        let chain_uri = format!("/v1/devices/{}/chain", phone.id);
        let (status, body) = call(&app, as_upload_key(upload, &phone.id, "GET", &chain_uri, Value::Null)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name} /chain: {body}");
        for uri in ["/v1/roster/blt-2026-11", "/v1/rosters"] {
            let (status, body) = call(&app, as_upload_key(upload, &phone.id, "GET", uri, Value::Null)).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{name} {uri}: {body}");
            assert!(body["message"].as_str().unwrap().contains("unlock the phone"), "{name}: {body}");
        }
        let again = registration(&phone, &c, &upload_spki, &[]);
        let (parts, body) = again.into_parts();
        let mut again = Request::from_parts(parts, body);
        again.headers_mut().insert(request_auth::KEY_HEADER, "upload".parse().unwrap());
        assert_eq!(call(&app, again).await.0, StatusCode::FORBIDDEN, "{name}: registration by the upload key");

        // A receipt the upload key signed itself (a stolen locked phone "paying") is refused, and
        // so is the device key's signature presented as the upload key's, and an unknown key name.
        let fake = forged.receipt(|r| {
            r.seq = 2;
            r.prev = salur_core::crypto::sha256(&paid).to_vec();
        });
        let batch = json!({ "receipts": [B64.encode(&fake)] });
        let (status, body) = call(&app, as_upload_key(upload, &phone.id, "POST", "/v1/receipts", batch.clone())).await;
        assert_eq!(body["results"][0]["result"].as_str(), Some("rejected"), "{name}: {status} {body}");
        let (status, _) = call(&app, as_upload_key(&phone.signer, &phone.id, "POST", "/v1/receipts", batch)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: the device key's signature is not the upload key's");
        let mut odd = phone.request("GET", &status_uri, Value::Null);
        odd.headers_mut().insert(request_auth::KEY_HEADER, "root".parse().unwrap());
        assert_eq!(call(&app, odd).await.0, StatusCode::UNAUTHORIZED, "{name}: an unknown key name");

        // Revoked, the phone hands in with the device key only (after the worker's unlock).
        let revoke = Request::post(format!("/v1/admin/devices/{}/revoke", phone.id))
            .header("authorization", format!("Bearer {ADMIN}"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(call(&app, revoke).await.0, StatusCode::OK);
        let (status, body) = call(&app, as_upload_key(upload, &phone.id, "GET", &status_uri, Value::Null)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: {body}");
        assert_eq!(call(&app, phone.request("GET", &status_uri, Value::Null)).await.0, StatusCode::OK, "{name}");

        // A device registered without one has no upload key to sign with.
        let plain = Phone::new("dev-plain");
        common::phone::approved(&app, &plain).await;
        let other = SoftwareSigner::generate().unwrap().0;
        let (status, body) =
            call(&app, as_upload_key(&other, &plain.id, "GET", "/v1/devices/dev-plain/chain/status", Value::Null))
                .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {body}");
        assert!(body["message"].as_str().unwrap().contains("no upload key"), "{name}: {body}");
    }
}
