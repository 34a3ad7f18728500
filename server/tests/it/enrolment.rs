//! Device onboarding over HTTP on every backend: registration needs an open enrolment code of the
//! worker's, the code works once (even when used twice at once), a key attestation is required
//! and verified, and unattested devices (where allowed) wait pending and flagged.

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use salur_core::keys::{Signer, SoftwareSigner};
use salur_server::domain::enrolment;
use salur_server::{router, AppState, Db};
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::common;

const ADMIN: &str = "test-admin-token";

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, Value) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = to_bytes(res.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// A registration of a new key as `device_id` for worker pos-1, with `code` and `chain`.
fn registration(
    signer: &SoftwareSigner,
    device_id: &str,
    worker: &str,
    code: Option<&str>,
    chain: &[Vec<u8>],
) -> Request<Body> {
    let mut reg = json!({ "device_id": device_id, "worker_id": worker, "post_office": "jakarta-10110",
                          "public_key": B64.encode(signer.public_key_spki().unwrap()),
                          "attestation": chain.iter().map(|c| B64.encode(c)).collect::<Vec<_>>() });
    if let Some(c) = code {
        reg["enrolment_code"] = json!(c);
    }
    common::signed_request(signer, device_id, "POST", "/v1/devices", serde_json::to_vec(&reg).unwrap())
}

fn challenge(code: &str) -> Request<Body> {
    Request::post("/v1/devices/challenge")
        .header("content-type", "application/json")
        .body(Body::from(json!({ "enrolment_code": code }).to_string()))
        .unwrap()
}

/// Each backend's database and two routers over it: one that allows unattested devices, one that does not.
async fn setups() -> Vec<(common::Backend, Db, axum::Router, axum::Router)> {
    let mut out = Vec::new();
    for b in common::backends().await {
        let db = b.storage.open().await.unwrap();
        let lenient = router(AppState::new(db.clone(), ADMIN).allow_unattested_devices(true));
        let strict = router(AppState::new(db.clone(), ADMIN));
        out.push((b, db, lenient, strict));
    }
    out
}

/// A self-signed chain whose leaf certifies `spki`'s key... cannot be made without the key's
/// issuer: so the leaf is rcgen's own key, and `spki` is the registering phone's (a mismatch the
/// server would refuse too); the root is what the test is about.
fn self_signed_chain(nonce: &[u8]) -> (Vec<Vec<u8>>, rcgen::KeyPair) {
    use rcgen::{BasicConstraints, CertificateParams, CustomExtension, IsCa, Issuer, KeyPair};
    let root_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(vec![]).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let root = ca.self_signed(&root_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec![]).unwrap();
    // KeyDescription: version 200, StrongBox twice, the nonce, empty unique id and lists.
    let mut body = vec![0x02, 0x02, 0x00, 0xc8, 0x0a, 0x01, 0x02, 0x02, 0x02, 0x00, 0xc8, 0x0a, 0x01, 0x02];
    body.extend([0x04, nonce.len() as u8]);
    body.extend(nonce);
    body.extend([0x04, 0x00, 0x30, 0x00, 0x30, 0x00]);
    let mut der = vec![0x30, body.len() as u8];
    der.extend(body);
    leaf.custom_extensions.push(CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 11129, 2, 1, 17], der));
    let leaf = leaf.signed_by(&leaf_key, &Issuer::new(ca, &root_key)).unwrap();
    (vec![leaf.der().to_vec(), root.der().to_vec()], leaf_key)
}

#[tokio::test]
async fn registration_needs_an_open_code_issued_for_its_worker() {
    for (backend, db, app, _) in setups().await {
        let name = backend.name;
        let phone = SoftwareSigner::generate().unwrap().0;
        let refused =
            |body: &Value| (body["error"].as_str().map(str::to_string), body["message"].as_str().map(str::to_string));

        let (status, body) = call(&app, registration(&phone, "dev-a", "pos-1", None, &[])).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("enrolment_refused")),
            "{name}: no code"
        );

        let (status, body) = call(&app, registration(&phone, "dev-a", "pos-1", Some("AAAAA-AAAAA"), &[])).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: unknown code");
        let unknown = refused(&body);
        assert_eq!(
            unknown.1.as_deref(),
            Some("enrolment code unknown, used or expired: ask your supervisor for a new one")
        );

        let expired = enrolment::new_code().unwrap();
        let past = salur_server::clock::now_ms() - 1;
        db.add_enrolment(&enrolment::code_hash(&expired).unwrap(), "pos-1", "jakarta-10110", "t", past).await.unwrap();
        let (status, body) = call(&app, registration(&phone, "dev-a", "pos-1", Some(&expired), &[])).await;
        assert_eq!((status, refused(&body)), (StatusCode::FORBIDDEN, unknown.clone()), "{name}: expired code");

        let others = common::enrolment_code(&app, ADMIN, "pos-2", "jakarta-10110").await;
        let (status, body) = call(&app, registration(&phone, "dev-a", "pos-1", Some(&others), &[])).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: another worker's code");
        assert!(body["message"].as_str().unwrap().contains("another worker"), "{name}: {body}");

        // Typed as read out: lower case, a space for the hyphen.
        let code = common::enrolment_code(&app, ADMIN, "pos-1", "jakarta-10110").await;
        let typed = code.to_lowercase().replace('-', " ");
        let (status, body) = call(&app, registration(&phone, "dev-a", "pos-1", Some(&typed), &[])).await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {body}");
        let device = &body["device"];
        assert_eq!(
            (device["status"].as_str(), device["security_level"].as_str(), device["flagged"].as_bool()),
            (Some("pending"), Some("none"), Some(true)),
            "{name}: an unattested device waits and is flagged"
        );
        // The same registration again (a lost answer) is the same device, not a second use.
        assert_eq!(call(&app, registration(&phone, "dev-a", "pos-1", Some(&code), &[])).await.0, StatusCode::CREATED);

        // Used: another phone cannot register with it.
        let second = SoftwareSigner::generate().unwrap().0;
        let (status, body) = call(&app, registration(&second, "dev-b", "pos-1", Some(&code), &[])).await;
        assert_eq!((status, refused(&body)), (StatusCode::FORBIDDEN, unknown.clone()), "{name}: used code");

        // The dashboard counts and lists the flagged device; the audit log names the code's issue and its use, not the code.
        let (_, dash) = call(
            &app,
            Request::get("/v1/dashboard")
                .header("authorization", format!("Bearer {ADMIN}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(dash["devices_flagged_count"], 1, "{name}: {dash}");
        assert_eq!(dash["devices_flagged"][0]["device_id"], "dev-a");
        let (_, log) = call(
            &app,
            Request::get("/v1/admin/audit")
                .header("authorization", format!("Bearer {ADMIN}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        let text = log.to_string();
        assert!(text.contains("enrolment_issued") && text.contains("device_enrolled"), "{name}: {text}");
        assert!(!text.contains(&code) && !text.contains(&code.replace('-', "")), "{name}: the code is never logged");
    }
}

#[tokio::test]
async fn one_code_registers_one_device_even_when_used_twice_at_once() {
    for (backend, _db, app, _) in setups().await {
        let code = common::enrolment_code(&app, ADMIN, "pos-1", "jakarta-10110").await;
        let (a, b) = (SoftwareSigner::generate().unwrap().0, SoftwareSigner::generate().unwrap().0);
        let ((s1, _), (s2, _)) = tokio::join!(
            call(&app, registration(&a, "dev-race-a", "pos-1", Some(&code), &[])),
            call(&app, registration(&b, "dev-race-b", "pos-1", Some(&code), &[]))
        );
        let mut statuses = [s1, s2];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::CREATED, StatusCode::FORBIDDEN], "{}", backend.name);
    }
}

#[tokio::test]
async fn the_nonce_route_refuses_bad_codes_and_binds_a_fresh_nonce() {
    for (backend, _db, app, _) in setups().await {
        let name = backend.name;
        for bad in ["AAAAA-AAAAA", "not a code", ""] {
            let (status, body) = call(&app, challenge(bad)).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (StatusCode::FORBIDDEN, Some("enrolment_refused")),
                "{name}: {bad:?}"
            );
        }
        let code = common::enrolment_code(&app, ADMIN, "pos-1", "jakarta-10110").await;
        let (status, first) = call(&app, challenge(&code)).await;
        assert_eq!(status, StatusCode::OK, "{name}: {first}");
        let nonce = B64.decode(first["nonce"].as_str().unwrap()).unwrap();
        assert_eq!(nonce.len(), 32);
        let ttl = first["expires_ms"].as_i64().unwrap() - salur_server::clock::now_ms();
        assert!((0..=15 * 60_000).contains(&ttl), "{name}: {ttl}");
        let (_, second) = call(&app, challenge(&code)).await;
        assert_ne!(first["nonce"], second["nonce"], "{name}: each ask gets a new nonce");
    }
}

#[tokio::test]
async fn the_nonce_route_is_throttled_per_address() {
    let backend = common::backends().await.remove(0);
    let db = backend.storage.open().await.unwrap();
    let throttle =
        salur_server::LoginThrottle::new(1, std::time::Duration::from_secs(60), 3, std::time::Duration::from_secs(60));
    let app = router(AppState::new(db, ADMIN).with_enrolment_throttle(throttle));
    let statuses: Vec<StatusCode> = {
        let mut out = Vec::new();
        for _ in 0..4 {
            out.push(call(&app, challenge("AAAAA-AAAAA")).await.0);
        }
        out
    };
    assert_eq!(
        statuses,
        [StatusCode::FORBIDDEN, StatusCode::FORBIDDEN, StatusCode::FORBIDDEN, StatusCode::TOO_MANY_REQUESTS]
    );
}

#[tokio::test]
async fn a_missing_or_self_signed_attestation_is_refused_where_one_is_required() {
    for (backend, _db, lenient, strict) in setups().await {
        let name = backend.name;
        let phone = SoftwareSigner::generate().unwrap().0;
        let code = common::enrolment_code(&strict, ADMIN, "pos-1", "jakarta-10110").await;
        let (status, body) = call(&strict, registration(&phone, "dev-s", "pos-1", Some(&code), &[])).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("attestation_refused")),
            "{name}: no chain"
        );

        let (_, answer) = call(&strict, challenge(&code)).await;
        let nonce = B64.decode(answer["nonce"].as_str().unwrap()).unwrap();
        let (chain, _) = self_signed_chain(&nonce);
        for app in [&strict, &lenient] {
            let (status, body) = call(app, registration(&phone, "dev-s", "pos-1", Some(&code), &chain)).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (StatusCode::FORBIDDEN, Some("attestation_refused")),
                "{name}: {body}"
            );
            assert!(body["message"].as_str().unwrap().contains("Google hardware attestation root"), "{name}: {body}");
        }
        // The refusals did not use the code up.
        let (status, body) = call(&lenient, registration(&phone, "dev-s", "pos-1", Some(&code), &[])).await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {body}");
    }
}
