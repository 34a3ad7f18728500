//! Reallocation as finance meets it, through the router on each backend: ineligible reports open
//! one case per recipient at the roster's amount (a second visit counts, a report flagged against
//! the roster opens none), a later payment cancels an undecided case, finance moves a case
//! queued → approved → reallocated with four eyes, the new family is on the worker's roster at the
//! case's amount and its payment is traced back to the case; a payment to the first recipient
//! after that is flagged. Every decision is in the audit log.

use crate::common;

use crate::common::phone::{approved, call, Phone, ADMIN};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use salur_core::crypto;
use salur_core::receipt::{recipient_ref, IneligibleReason, Outcome};
use salur_server::domain::credentials::{digest, hash_password, new_secret, TOKEN_PREFIX};
use salur_server::domain::roles::Role;
use salur_server::domain::roster::RosterRow;
use salur_server::{router, AppState};
use serde_json::{json, Value};

fn row(nik: &str, name: &str, worker: &str) -> RosterRow {
    RosterRow { worker_id: worker.into(), ..common::roster_row(nik, name, "blt-2026-11") }
}

fn staff(method: &str, uri: &str, token: &str, body: Option<Value>) -> Request<Body> {
    let req = Request::builder().method(method).uri(uri).header("authorization", format!("Bearer {token}"));
    match body {
        Some(b) => req.header("content-type", "application/json").body(Body::from(b.to_string())).unwrap(),
        None => req.body(Body::empty()).unwrap(),
    }
}

/// The phone's signed visits, chained: each call signs the next sequence number.
struct Visits<'a> {
    phone: &'a Phone,
    prev: Vec<u8>,
    seq: u64,
}

impl Visits<'_> {
    fn next(&mut self, recipient: &[u8], outcome: Outcome) -> (String, Vec<u8>) {
        self.seq += 1;
        let (seq, prev) = (self.seq, self.prev.clone());
        let bytes = self.phone.receipt(|r| {
            r.seq = seq;
            r.prev = prev;
            r.recipient = recipient.to_vec();
            r.outcome = outcome;
        });
        self.prev = crypto::sha256(&bytes).to_vec();
        // The id Phone::receipt gives sequence `seq`.
        (format!("0193a6f0-0000-7000-8000-{seq:012x}"), bytes)
    }
}

fn deceased() -> Outcome {
    Outcome::Ineligible { reason: IneligibleReason::Deceased, note: Some("meninggal Oktober".into()) }
}

#[tokio::test]
async fn finance_follows_freed_funds_to_the_new_familys_receipt() {
    for backend in common::backends().await {
        let db = backend.storage.open().await.unwrap();
        for r in [row("3171010101900001", "Siti", "pos-1"), row("3171010101900002", "Budi", "pos-1")] {
            db.put_recipient(&r, None).await.unwrap();
        }
        db.put_recipient(&row("3171010101900003", "Ani", "pos-2"), None).await.unwrap();
        let key = db.roster_key("blt-2026-11").await.unwrap();
        let [siti, budi, ani] =
            ["3171010101900001", "3171010101900002", "3171010101900003"].map(|n| recipient_ref(&key, n));
        let hash = hash_password("a long passphrase for finance").unwrap();
        let mut tokens = Vec::new();
        let roles =
            [("fin-a", Role::Finance), ("fin-b", Role::Finance), ("viewer", Role::Viewer), ("aud", Role::Auditor)];
        for (name, role) in roles {
            db.add_user(name, role, &hash).await.unwrap();
            let token = new_secret(TOKEN_PREFIX).unwrap();
            db.add_token(name, &digest(&token)).await.unwrap();
            tokens.push(token);
        }
        let [fin_a, fin_b, viewer, auditor] = [&tokens[0], &tokens[1], &tokens[2], &tokens[3]];
        let app = router(AppState::new(db.clone(), ADMIN).allow_unattested_devices(true));
        let phone = Phone::new("dev-realloc");
        approved(&app, &phone).await;
        let mut visits = Visits { phone: &phone, prev: salur_core::receipt::GENESIS.to_vec(), seq: 0 };

        // Siti reported deceased twice, Ani (pos-2's recipient) by pos-1's phone, Budi reported
        // deceased and then paid after all.
        let (siti_report, a) = visits.next(&siti, deceased());
        let (_, b) = visits.next(&siti, deceased());
        let (_, c) = visits.next(&ani, deceased());
        let (_, d) = visits.next(&budi, deceased());
        let (budi_paid, e) = visits.next(&budi, Outcome::Paid);
        let (status, answer) = call(&app, phone.upload(&[&a, &b, &c, &d, &e])).await;
        assert_eq!(status, StatusCode::OK, "{}: {answer}", backend.name);

        let list = |token: &str, query: &str| staff("GET", &format!("/v1/admin/reallocations{query}"), token, None);
        let (status, cases) = call(&app, list(fin_a, "")).await;
        assert_eq!(status, StatusCode::OK);
        let cases = cases["reallocations"].as_array().unwrap().clone();
        assert_eq!(cases.len(), 2, "{}: one case each for Siti and Budi, none for Ani: {cases:?}", backend.name);
        let case = |who: &[u8]| cases.iter().find(|c| c["recipient"] == hex::encode(who)).unwrap().clone();
        let s = case(&siti);
        assert_eq!(
            (s["status"].as_str(), s["reports"].as_u64(), s["amount"].as_u64()),
            (Some("queued"), Some(2), Some(600_000))
        );
        assert_eq!((s["first_receipt"].as_str(), s["name"].as_str()), (Some(siti_report.as_str()), Some("Siti")));
        let b = case(&budi);
        assert_eq!((b["status"].as_str(), b["cancelled_by"].as_str()), (Some("cancelled"), Some(budi_paid.as_str())));
        let (_, queued) = call(&app, list(fin_a, "?status=queued")).await;
        assert_eq!(queued["reallocations"].as_array().unwrap().len(), 1);
        assert_eq!(call(&app, list(viewer, "")).await.0, StatusCode::FORBIDDEN, "viewers do not see names");

        let decide = |token: &str, who: &[u8], body: Value| {
            staff(
                "POST",
                &format!("/v1/admin/reallocations/blt-2026-11/{}/decision", hex::encode(who)),
                token,
                Some(body),
            )
        };
        let family = json!({ "nik": "3171010101900099", "name": "Dewi", "address": "Jl. Kenanga 9", "province": "31",
            "regency": "3171", "district": "317101", "village": "3171011001", "post_office": "jakarta-10110",
            "worker_id": "pos-1" });
        let reallocate = json!({ "decision": "reallocate", "reason": "daftar tunggu desa", "new_recipient": family });
        let approve = json!({ "decision": "approve", "reason": "akta kematian diperiksa" });
        // Only finance (and administrators) decide; auditors read.
        for token in [viewer, auditor] {
            assert_eq!(call(&app, decide(token, &siti, approve.clone())).await.0, StatusCode::FORBIDDEN);
        }
        assert_eq!(call(&app, list(auditor, "")).await.0, StatusCode::OK);
        let mut anonymous = decide(fin_a, &siti, approve.clone());
        anonymous.headers_mut().remove("authorization");
        assert_eq!(call(&app, anonymous).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(call(&app, decide(fin_a, &siti, reallocate.clone())).await.0, StatusCode::CONFLICT, "approve first");
        let no_reason = json!({ "decision": "approve", "reason": " " });
        assert_eq!(call(&app, decide(fin_a, &siti, no_reason)).await.0, StatusCode::BAD_REQUEST);
        let (status, approved_case) = call(&app, decide(fin_a, &siti, approve)).await;
        assert_eq!(status, StatusCode::OK, "{approved_case}");
        assert_eq!(approved_case["reallocation"]["approved_by"], "fin-a");
        let (status, same) = call(&app, decide(fin_a, &siti, reallocate.clone())).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "four eyes: {same}");
        let nobody = json!({ "decision": "reallocate", "reason": "daftar tunggu" });
        assert_eq!(call(&app, decide(fin_b, &siti, nobody)).await.0, StatusCode::BAD_REQUEST, "names the family");
        let (status, done) = call(&app, decide(fin_b, &siti, reallocate.clone())).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        let done = &done["reallocation"];
        let dewi = recipient_ref(&key, "3171010101900099");
        assert_eq!((done["status"].as_str(), done["decided_by"].as_str()), (Some("reallocated"), Some("fin-b")));
        assert_eq!(done["new_recipient"], hex::encode(&dewi));
        assert_eq!(call(&app, decide(fin_a, &siti, reallocate)).await.0, StatusCode::CONFLICT, "final");
        let reject = json!({ "decision": "reject", "reason": "dibayar" });
        assert_eq!(call(&app, decide(fin_a, &budi, reject)).await.0, StatusCode::CONFLICT, "cancelled is final");

        // Dewi is on the worker's roster at the freed amount; her payment closes the trail, and
        // Siti paid after all is flagged.
        let (status, roster) = call(&app, phone.request("GET", "/v1/roster/blt-2026-11", json!(null))).await;
        assert_eq!(status, StatusCode::OK);
        let entry = roster["recipients"].as_array().unwrap().iter().find(|e| e["name"] == "Dewi").unwrap().clone();
        assert_eq!(
            (entry["recipient"].as_str(), entry["amount"].as_u64()),
            (Some(hex::encode(&dewi).as_str()), Some(600_000))
        );
        // Closing now would not return Siti's money: it went to Dewi.
        let facts = db.period_facts("blt-2026-11").await.unwrap();
        let (_, total) = salur_server::domain::closing::report(&facts);
        assert_eq!((total.reallocated, total.reallocated_amount), (1, 600_000), "{}", backend.name);
        let retur = salur_server::domain::closing::retur(&facts);
        assert!(retur.iter().all(|r| r.name != "Siti"), "{}: {retur:?}", backend.name);
        assert_eq!(total.paid + total.reallocated + retur.len() as u64, total.recipients, "{}", backend.name);
        let (dewi_paid, f) = visits.next(&dewi, Outcome::Paid);
        let (_, g) = visits.next(&siti, Outcome::Paid);
        assert_eq!(call(&app, phone.upload(&[&f, &g])).await.0, StatusCode::OK);
        let (_, cases) = call(&app, list(fin_b, "?status=reallocated&format=json")).await;
        let s = &cases["reallocations"][0];
        assert_eq!(s["new_recipient_paid_by"].as_str(), Some(dewi_paid.as_str()), "{}: {s}", backend.name);
        assert!(s["paid_after_reallocation"].is_string(), "{s}");
        let (_, dash) = call(&app, staff("GET", "/v1/dashboard?roster=blt-2026-11", ADMIN, None)).await;
        assert_eq!(dash["paid_after_reallocation"], 1);
        assert_eq!(dash["reallocations"], json!([["reallocated", 1, 600_000], ["cancelled", 1, 600_000]]));

        let (_, audit) = call(&app, staff("GET", "/v1/admin/audit", ADMIN, None)).await;
        let decided: Vec<(String, String)> = audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "reallocation_decided")
            .map(|e| (e["actor"].as_str().unwrap().into(), e["detail"].as_str().unwrap().into()))
            .collect();
        assert_eq!(decided.len(), 2, "{decided:?}");
        assert_eq!(decided[0], ("fin-a".to_string(), "approved Rp600.000".to_string()));
        assert_eq!(decided[1].0, "fin-b");
        assert!(decided[1].1.starts_with("reallocated Rp600.000 to "), "{decided:?}");
        let (status, verify) = call(&app, staff("GET", "/v1/admin/audit/verify", ADMIN, None)).await;
        assert_eq!(status, StatusCode::OK, "{verify}");
    }
}
