//! The API's JSON request bodies, through the real router over a real SQLite file: the first
//! byte picks a route that takes a body, the rest is the body, sent with the credentials that
//! route needs (the administrator's token, or signed by a registered, approved device). Whatever
//! the body, the answer is never a 5xx, and a refusal is JSON: the API's error object, or a
//! receipt's result.
#![no_main]

use std::sync::OnceLock;

use axum::body::{to_bytes, Body};
use axum::http::Request;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use salur_core::keys::{Signer, SoftwareSigner};
use salur_server::domain::devices::DeviceStatus;
use salur_server::domain::enrolment::{code_hash, new_code};
use salur_server::{router, AppState, Db};
use tower::ServiceExt;

const ADMIN: &str = "fuzz-admin-token";
const DEVICE: &str = "fuzz-phone";

/// Who sends the request.
#[derive(Clone, Copy)]
enum Auth {
    Nobody,
    Admin,
    Device,
}

/// Every route with a JSON body (see /openapi.json).
const ROUTES: &[(&str, &str, Auth)] = &[
    ("POST", "/v1/admin/enrolments", Auth::Admin),
    ("POST", "/v1/devices/challenge", Auth::Nobody),
    ("POST", "/v1/devices", Auth::Device),
    ("POST", "/v1/receipts", Auth::Device),
    ("PUT", "/v1/receipts/0193a6f0-0000-7000-8000-000000000001", Auth::Device),
    ("PUT", "/v1/receipts/0193a6f0-0000-7000-8000-000000000001/evidence", Auth::Device),
    ("POST", "/v1/public/receipts/SLR-0000-0000-0000/complaints", Auth::Nobody),
    ("POST", "/v1/login", Auth::Nobody),
    ("POST", "/v1/admin/users", Auth::Admin),
    ("POST", "/v1/admin/reallocations/blt-2026-11/00/decision", Auth::Admin),
];

struct World {
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
    signer: SoftwareSigner,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let dir = std::env::temp_dir().join(format!("salur-fuzz-api-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let signer = SoftwareSigner::generate().expect("a key").0;
        let app = runtime.block_on(async {
            let db = Db::open(&dir).await.expect("the database opens");
            let app = router(AppState::new(db.clone(), ADMIN).allow_unattested_devices(true));
            let code = new_code().expect("a code");
            let hash = code_hash(&code).expect("a valid code");
            db.add_enrolment(&hash, "pos-1", "po-1", "fuzz", salur_server::clock::now_ms() + 3_600_000)
                .await
                .expect("stored");
            let reg = serde_json::json!({ "device_id": DEVICE, "worker_id": "pos-1", "post_office": "po-1",
                "enrolment_code": code, "public_key": B64.encode(signer.public_key_spki().expect("spki")) });
            let res = app
                .clone()
                .oneshot(request(&signer, "POST", "/v1/devices", Auth::Device, reg.to_string().into_bytes()))
                .await;
            assert!(res.expect("infallible").status().is_success(), "the fuzz device registers");
            db.set_device_status(DEVICE, DeviceStatus::Approved).await.expect("approved");
            app
        });
        World { runtime, app, signer }
    })
}

fn request(signer: &SoftwareSigner, method: &str, uri: &str, auth: Auth, body: Vec<u8>) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(uri).header("content-type", "application/json");
    match auth {
        Auth::Nobody => {}
        Auth::Admin => req = req.header("authorization", format!("Bearer {ADMIN}")),
        Auth::Device => {
            let now = salur_server::clock::now_ms();
            for (k, v) in
                salur_core::request_auth::sign_request(signer, DEVICE, method, uri, now, &body).expect("signs")
            {
                req = req.header(k, v);
            }
        }
    }
    req.body(Body::from(body)).expect("a valid request")
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let (method, uri, auth) = ROUTES[usize::from(pick) % ROUTES.len()];
    let w = world();
    let (status, answer) = w.runtime.block_on(async {
        let res =
            w.app.clone().oneshot(request(&w.signer, method, uri, auth, body.to_vec())).await.expect("infallible");
        let status = res.status();
        (status, to_bytes(res.into_body(), 1 << 20).await.expect("a body"))
    });
    assert!(status.as_u16() < 500, "{method} {uri}: {status} {}", String::from_utf8_lossy(&answer));
    if status.is_client_error() {
        let error: serde_json::Value = serde_json::from_slice(&answer).expect("a refusal is JSON");
        // The API's error object, or, for a single receipt, its per-receipt result.
        assert!(error["error"].is_string() || error["result"].is_string(), "{method} {uri}: {status} {error}");
    }
});
