//! A phone as the server meets it, for router (`oneshot`) tests: a software key, signed requests,
//! registration and approval, and receipts signed as the phone's store would (or, edited, as it
//! never would).

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use salur_core::crypto;
use salur_core::keys::{Signer, SoftwareSigner};
use salur_core::receipt::{self, Outcome, Receipt, Times, GENESIS};
use serde_json::{json, Value};
use tower::ServiceExt;

/// The bootstrap administrator's token of these tests.
pub const ADMIN: &str = "test-admin-token";

/// A phone of worker `pos-1` at post office `jakarta-10110`.
pub struct Phone {
    /// Its device key.
    pub signer: SoftwareSigner,
    /// Its device id.
    pub id: String,
}

/// Receipts of one phone in chain order, as its store signs them: each next one takes the
/// following sequence number and links to the one before.
pub struct Chain<'a> {
    phone: &'a Phone,
    seq: u64,
    prev: Vec<u8>,
}

impl<'a> Chain<'a> {
    /// The chain of `phone` from its first receipt.
    pub fn new(phone: &'a Phone) -> Self {
        Self { phone, seq: 0, prev: GENESIS.to_vec() }
    }

    /// The next receipt, as `edit` makes it.
    pub fn next(&mut self, edit: &dyn Fn(&mut Receipt)) -> Vec<u8> {
        self.seq += 1;
        let (seq, prev) = (self.seq, self.prev.clone());
        let bytes = self.phone.receipt(|r| {
            r.seq = seq;
            r.prev = prev;
            edit(r);
        });
        self.prev = crypto::sha256(&bytes).to_vec();
        bytes
    }
}

impl Phone {
    /// A phone with a new key.
    pub fn new(id: &str) -> Self {
        Self { signer: SoftwareSigner::generate().unwrap().0, id: id.into() }
    }

    /// A JSON request signed by this phone (no body for GET).
    pub fn request(&self, method: &str, uri: &str, body: Value) -> Request<Body> {
        let body = if method == "GET" { Vec::new() } else { serde_json::to_vec(&body).unwrap() };
        super::signed_request(&self.signer, &self.id, method, uri, body)
    }

    /// Its registration with enrolment code `code` (no attestation: the app must allow that).
    pub fn registration(&self, code: &str) -> Request<Body> {
        let spki = self.signer.public_key_spki().unwrap();
        let reg = json!({ "device_id": self.id, "worker_id": "pos-1", "post_office": "jakarta-10110",
                          "public_key": B64.encode(spki), "enrolment_code": code });
        self.request("POST", "/v1/devices", reg)
    }

    /// A receipt signed by this phone (a not-home visit at sequence 1), changed by `edit`.
    pub fn receipt(&self, edit: impl FnOnce(&mut Receipt)) -> Vec<u8> {
        let mut r = Receipt {
            v: receipt::FORMAT_VERSION,
            id: String::new(),
            device_id: self.id.clone(),
            key_id: crypto::key_id(&self.signer.public_key_spki().unwrap()),
            worker_id: "pos-1".into(),
            seq: 1,
            prev: GENESIS.to_vec(),
            roster_id: "blt-2026-11".into(),
            recipient: vec![9; 16],
            amount: 600_000,
            outcome: Outcome::NotHome,
            evidence: None,
            time: Times { wall_ms: salur_server::clock::now_ms() - 60_000, mono_ms: 1, offset_ms: 0 },
            location: None,
            received_in_full: None,
            letter_id: None,
        };
        edit(&mut r);
        r.id = format!("0193a6f0-0000-7000-8000-{:012x}", r.seq % (1 << 48));
        receipt::sign(&r, &self.signer).unwrap().bytes
    }

    /// An upload of `receipts`.
    pub fn upload(&self, receipts: &[&Vec<u8>]) -> Request<Body> {
        self.request(
            "POST",
            "/v1/receipts",
            json!({ "receipts": receipts.iter().map(|r| B64.encode(r)).collect::<Vec<_>>() }),
        )
    }
}

/// The record of a passed live check (passive score and the challenge), as a phone signs it.
pub fn passed_live_check() -> salur_core::receipt::LiveCheck {
    salur_core::receipt::LiveCheck {
        method: salur_core::receipt::LiveMethod::PassiveAndChallenge,
        passive_e6: Some(990_000),
        passive_threshold_e6: Some(850_000),
        asked: vec![],
        met: vec![],
        frames: 40,
        duration_ms: 4_000,
        models: vec![],
        challenge: None,
    }
}

/// Sends `req` through `app`: status and JSON body (`Null` when not JSON).
pub async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, Value) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = to_bytes(res.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// A fresh enrolment code for `pos-1` at `jakarta-10110`, issued by the bootstrap administrator.
pub async fn code(app: &axum::Router) -> String {
    super::enrolment_code(app, ADMIN, "pos-1", "jakarta-10110").await
}

/// Registers `phone` with a fresh code (on an app that allows unattested devices) and has the
/// bootstrap administrator approve it.
pub async fn approved(app: &axum::Router, phone: &Phone) {
    assert_eq!(call(app, phone.registration(&code(app).await)).await.0, StatusCode::CREATED);
    let approve = Request::post(format!("/v1/admin/devices/{}/approve", phone.id))
        .header("authorization", format!("Bearer {ADMIN}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(app, approve).await.0, StatusCode::OK);
}
