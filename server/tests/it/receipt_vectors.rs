//! The committed receipt vectors (test-vectors/receipts/vectors.json) uploaded to the server on
//! each backend: the valid ones are stored, the second byte forms (a high-S twin, an extra or
//! reordered protected-header parameter) refused with the reason, in a batch and one by one.

use crate::common;

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use salur_core::keys::SoftwareSigner;
use salur_server::{router, AppState};
use serde_json::{json, Value};
use tower::ServiceExt;

const ADMIN: &str = "test-admin-token";

fn vectors() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/receipts/vectors.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn cose(doc: &Value, name: &str) -> Vec<u8> {
    let case = doc["cases"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap();
    hex::decode(case["cose_hex"].as_str().unwrap()).unwrap()
}

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, Value) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = to_bytes(res.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_second_byte_forms_of_a_receipt_are_refused_at_upload() {
    let doc = vectors();
    let key = SoftwareSigner::from_pkcs8(&hex::decode(doc["key"]["pkcs8_hex"].as_str().unwrap()).unwrap()).unwrap();
    let spki = hex::decode(doc["key"]["spki_hex"].as_str().unwrap()).unwrap();
    let device = "dev-test-0001";
    for backend in common::backends().await {
        eprintln!("backend: {}", backend.name);
        let app = router(AppState::new(backend.storage.open().await.unwrap(), ADMIN).allow_unattested_devices(true));
        let code = common::enrolment_code(&app, ADMIN, "pos-test-01", "jakarta-10110").await;
        let registration = json!({ "device_id": device, "worker_id": "pos-test-01", "post_office": "jakarta-10110",
                                   "public_key": B64.encode(&spki), "enrolment_code": code });
        let req =
            common::signed_request(&key, device, "POST", "/v1/devices", serde_json::to_vec(&registration).unwrap());
        assert_eq!(call(&app, req).await.0, StatusCode::CREATED);
        let approve = Request::post(format!("/v1/admin/devices/{device}/approve"))
            .header("authorization", format!("Bearer {ADMIN}"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(call(&app, approve).await.0, StatusCode::OK);

        let refused = [
            ("high_s_twin", "low-S"),
            ("extra_protected_header", "protected header must be exactly"),
            ("protected_header_keys_out_of_order", "protected header must be exactly"),
        ];
        let mut batch = vec![B64.encode(cose(&doc, "paid_registry_template"))];
        batch.extend(refused.iter().map(|(name, _)| B64.encode(cose(&doc, name))));
        let body = serde_json::to_vec(&json!({ "receipts": batch })).unwrap();
        let (status, answer) = call(&app, common::signed_request(&key, device, "POST", "/v1/receipts", body)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let results = answer["results"].as_array().unwrap();
        assert_eq!(results[0]["result"], "accepted", "{answer}");
        for (r, (name, why)) in results[1..].iter().zip(refused) {
            assert_eq!(r["result"], "rejected", "{name}: {r}");
            assert!(r["reason"].as_str().unwrap().contains(why), "{name}: {r}");
        }

        // One by one (PUT /v1/receipts/{id}): 422 with the reason, and nothing stored.
        for (name, why) in refused {
            let body = serde_json::to_vec(&json!({ "receipts": [B64.encode(cose(&doc, name))] })).unwrap();
            let uri = "/v1/receipts/0193a6f0-0000-7000-8000-000000000001";
            let (status, answer) = call(&app, common::signed_request(&key, device, "PUT", uri, body)).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {answer}");
            assert!(answer["reason"].as_str().unwrap().contains(why), "{name}: {answer}");
        }
        let chain = Request::get(format!("/v1/devices/{device}/chain"))
            .header("authorization", format!("Bearer {ADMIN}"))
            .body(Body::empty())
            .unwrap();
        let (status, answer) = call(&app, chain).await;
        assert_eq!((status, answer["valid"].as_bool()), (StatusCode::OK, Some(true)), "{answer}");
        assert_eq!(
            (answer["status"]["received"].as_u64(), answer["status"]["max_seq"].as_u64()),
            (Some(1), Some(1)),
            "{answer}"
        );
    }
}
