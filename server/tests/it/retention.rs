//! Retention on each backend: a roster's NIKs, names and addresses are cleared once its period
//! ended more than the retention ago, evidence crops once they are older than it; receipts,
//! references and amounts stay, and a dry run changes nothing.

use crate::common;

use crate::common::phone::{approved, call, Phone, ADMIN};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use salur_core::receipt::{recipient_ref, Evidence, Liveness, Method, Outcome};
use salur_server::{router, AppState};
use serde_json::json;

#[tokio::test]
async fn personal_data_goes_after_its_retention_and_what_was_paid_stays() {
    for backend in common::backends().await {
        let name = backend.name;
        let db = backend.storage.open().await.unwrap();
        db.put_recipient(&common::roster_row("3171010101900001", "Siti", "blt-2024-01"), None).await.unwrap();
        db.put_recipient(&common::roster_row("3171010101900002", "Budi", "blt-2026-11"), None).await.unwrap();
        let budi = recipient_ref(&db.roster_key("blt-2026-11").await.unwrap(), "3171010101900002");
        let app = router(AppState::new(db.clone(), ADMIN).allow_unattested_devices(true));
        let phone = Phone::new("dev-retention");
        approved(&app, &phone).await;
        let crop = b"a face crop, as the phone signed it".to_vec();
        let card_face = b"the face of an e-KTP photo, as the phone signed it".to_vec();
        let paid = phone.receipt(|r| {
            r.roster_id = "blt-2026-11".into();
            r.recipient = budi.clone();
            r.outcome = Outcome::Paid;
            r.evidence = Some(Evidence {
                method: Method::EktpPhoto,
                score_e6: Some(700_000),
                threshold_e6: Some(400_000),
                model: "sface".into(),
                liveness: Liveness::Passed,
                live: None,
                face_sha256: Some(salur_core::crypto::sha256(&crop).to_vec()),
                card_face_sha256: Some(salur_core::crypto::sha256(&card_face).to_vec()),
                enrolled_sha256: None,
            });
        });
        assert_eq!(call(&app, phone.upload(&[&paid])).await.0, axum::http::StatusCode::OK);
        let id = "0193a6f0-0000-7000-8000-000000000001";
        let chunk = json!({ "offset": 0, "total": crop.len(), "chunk": B64.encode(&crop) });
        let (status, body) = call(&app, phone.request("PUT", &format!("/v1/receipts/{id}/evidence"), chunk)).await;
        assert_eq!(status, axum::http::StatusCode::OK, "{name}: {body}");
        assert_eq!(db.evidence_crop(id).await.unwrap().as_deref(), Some(crop.as_slice()));
        let parts = json!({ "card_face": B64.encode(&card_face) });
        let (status, body) = call(&app, phone.request("PUT", &format!("/v1/receipts/{id}/references"), parts)).await;
        assert_eq!(status, axum::http::StatusCode::OK, "{name}: {body}");
        assert_eq!(db.reference_parts(id).await.unwrap().card_face, Some(card_face.clone()), "{name}");

        let now = salur_server::clock::now_ms();
        let dry = db.purge(30, now, true).await.unwrap();
        assert_eq!(
            (dry.rosters_cleared.clone(), dry.recipients_cleared, dry.evidence_deleted),
            (vec!["blt-2024-01".to_string()], 1, 0)
        );
        assert_eq!(db.roster_for_worker("blt-2024-01", "pos-1").await.unwrap()[0].name, "Siti", "{name}: a dry run");

        let done = db.purge(30, now, false).await.unwrap();
        assert_eq!((done.recipients_cleared, done.evidence_deleted), (1, 0), "{name}");
        let siti = &db.roster_for_worker("blt-2024-01", "pos-1").await.unwrap()[0];
        assert_eq!((siti.nik.as_str(), siti.name.as_str(), siti.address.as_str()), ("", "", ""), "{name}");
        assert_eq!(siti.amount, 600_000, "the amount stays");
        assert_eq!(db.roster_for_worker("blt-2026-11", "pos-1").await.unwrap()[0].name, "Budi", "still in retention");
        assert_eq!(db.purge(30, now, false).await.unwrap().recipients_cleared, 0, "{name}: nothing twice");

        // Two months on: November's roster and the crop are past 30 days too; the receipt stays.
        let later = now + 61 * 86_400_000;
        let done = db.purge(30, later, false).await.unwrap();
        assert_eq!((done.rosters_cleared, done.evidence_deleted), (vec!["blt-2026-11".to_string()], 1), "{name}");
        assert_eq!(db.evidence_crop(id).await.unwrap(), None);
        assert_eq!(db.reference_parts(id).await.unwrap().card_face, None, "{name}: the card's face goes with it");
        assert_eq!(db.device_receipts("dev-retention").await.unwrap().len(), 1, "{name}: the receipt stays");
    }
}
