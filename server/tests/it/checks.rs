//! The recipient's check of their receipt code, through the router on each backend: a paid
//! receipt read by its code (as typed, with look-alikes), nothing personal in the answer, a
//! complaint filed and capped, bad complaints refused, and the auditor's list naming the worker
//! and device; the dashboard counts the complaints per worker.

use crate::common;

use crate::common::phone::{approved, call, Phone, ADMIN};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use salur_core::receipt::{recipient_ref, Outcome};
use salur_server::domain::credentials::{digest, hash_password, new_secret, TOKEN_PREFIX};
use salur_server::domain::roles::Role;
use salur_server::{router, AppState};
use serde_json::{json, Value};

fn public(method: &str, uri: &str, body: Option<Value>) -> Request<Body> {
    let req = Request::builder().method(method).uri(uri);
    match body {
        Some(b) => req.header("content-type", "application/json").body(Body::from(b.to_string())).unwrap(),
        None => req.body(Body::empty()).unwrap(),
    }
}

fn staff(uri: &str, token: &str) -> Request<Body> {
    Request::get(uri).header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn a_recipient_checks_their_code_and_reports_receiving_less() {
    for backend in common::backends().await {
        let db = backend.storage.open().await.unwrap();
        db.put_recipient(&common::roster_row("3171010101900001", "Siti Rahayu", "blt-2026-11"), None).await.unwrap();
        let siti = recipient_ref(&db.roster_key("blt-2026-11").await.unwrap(), "3171010101900001");
        db.add_user("aud", Role::Auditor, &hash_password("a long passphrase for the auditor").unwrap()).await.unwrap();
        let auditor = new_secret(TOKEN_PREFIX).unwrap();
        db.add_token("aud", &digest(&auditor)).await.unwrap();
        let app = router(AppState::new(db, ADMIN).allow_unattested_devices(true));
        let phone = Phone::new("dev-checks");
        approved(&app, &phone).await;
        let paid = phone.receipt(|r| {
            r.recipient = siti.clone();
            r.outcome = Outcome::Paid;
            r.received_in_full = Some(true);
        });
        let not_home = phone.receipt(|r| {
            r.seq = 2;
            r.prev = salur_core::crypto::sha256(&paid).to_vec();
            r.recipient = siti.clone();
        });
        let (status, answer) = call(&app, phone.upload(&[&paid, &not_home])).await;
        assert_eq!(status, StatusCode::OK, "{}: {answer}", backend.name);

        // Typed as read out: lower case, spaces, O for 0.
        let code = salur_core::receipt::code(&paid);
        let typed = code.to_lowercase().replace('-', " ").replace('0', "o").replace(' ', "%20");
        let (status, r) = call(&app, public("GET", &format!("/v1/public/receipts/{typed}"), None)).await;
        assert_eq!(status, StatusCode::OK, "{}: {r}", backend.name);
        assert_eq!(
            (r["code"].as_str(), r["outcome"].as_str(), r["amount"].as_u64()),
            (Some(code.as_str()), Some("paid"), Some(600_000))
        );
        assert_eq!(r["post_office"], "jakarta-10110");
        assert!(r["paid_at"].as_str().unwrap().ends_with(" WIB"));
        let text = r.to_string();
        for private in ["Siti", "3171010101900001", "dev-checks", "pos-1", &hex::encode(&siti)] {
            assert!(!text.contains(private), "{}: {private} in the public answer {text}", backend.name);
        }
        assert_eq!(
            call(&app, public("GET", "/v1/public/receipts/ZZZZ-ZZZZ-ZZZZ", None)).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(call(&app, public("GET", "/v1/public/receipts/not-a-code", None)).await.0, StatusCode::NOT_FOUND);

        // Complaints: about a visit that paid nothing, an amount not below the paid one, an unknown
        // field: refused; "I received Rp 300,000" filed; the fourth on one receipt refused.
        let complaints = format!("/v1/public/receipts/{code}/complaints");
        let file = |body: Value, uri: &str| public("POST", uri, Some(body));
        let home_code = salur_core::receipt::code(&not_home);
        let refused = [
            (file(json!({"kind": "not_paid"}), &format!("/v1/public/receipts/{home_code}/complaints")), 422),
            (file(json!({"kind": "received_less", "amount_received": 600_000}), &complaints), 422),
            (file(json!({"kind": "received_less"}), &complaints), 422),
            (file(json!({"kind": "received_less", "amount_received": 1, "name": "x"}), &complaints), 400),
        ];
        for (req, want) in refused {
            let (status, answer) = call(&app, req).await;
            assert_eq!(status.as_u16(), want, "{}: {answer}", backend.name);
        }
        let less =
            json!({"kind": "received_less", "amount_received": 300_000, "note": "dipotong Rp300.000 oleh petugas"});
        let (status, filed) = call(&app, file(less, &complaints)).await;
        assert_eq!(status, StatusCode::CREATED, "{}: {filed}", backend.name);
        // Six at once: two fit under the cap of three, the rest are refused however they race.
        let racing: Vec<_> = (0..6)
            .map(|_| {
                let (app, req) = (app.clone(), file(json!({"kind": "not_paid"}), &complaints));
                tokio::spawn(async move { call(&app, req).await.0 })
            })
            .collect();
        let mut statuses = Vec::new();
        for r in racing {
            statuses.push(r.await.unwrap());
        }
        let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
        let refused = statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count();
        assert_eq!((created, refused), (2, 4), "{}: {statuses:?}", backend.name);
        let (_, again) = call(&app, public("GET", &format!("/v1/public/receipts/{code}"), None)).await;
        assert_eq!(again["complaints"], 3);

        // Auditors see them with the worker and device (the note opened); nobody else does.
        assert_eq!(call(&app, public("GET", "/v1/admin/complaints", None)).await.0, StatusCode::UNAUTHORIZED);
        let (status, list) = call(&app, staff("/v1/admin/complaints?roster=blt-2026-11", &auditor)).await;
        assert_eq!(status, StatusCode::OK, "{}: {list}", backend.name);
        let list = list["complaints"].as_array().unwrap();
        assert_eq!(list.len(), 3);
        let first = list.iter().find(|c| c["kind"] == "received_less").unwrap();
        assert_eq!((first["worker_id"].as_str(), first["device_id"].as_str()), (Some("pos-1"), Some("dev-checks")));
        assert_eq!((first["amount"].as_u64(), first["amount_received"].as_u64()), (Some(600_000), Some(300_000)));
        assert_eq!(first["note"], "dipotong Rp300.000 oleh petugas");
        assert_eq!(first["code"].as_str(), Some(code.as_str()));
        let (_, board) = call(&app, staff("/v1/dashboard?roster=blt-2026-11", ADMIN)).await;
        assert_eq!(board["complaints"], 3, "{}", backend.name);
        let worker = board["workers"].as_array().unwrap().iter().find(|w| w["worker_id"] == "pos-1").unwrap();
        assert_eq!(worker["complaints"], 3);
    }
}
