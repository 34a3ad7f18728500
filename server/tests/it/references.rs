//! What a payment's live face was compared with, when the server did not hold it, goes up with
//! the payment and is judged by the server itself (format 3): the aligned face of the e-KTP photo
//! on the e-KTP and proxy paths, the enrolled template on a payment against a first-visit
//! enrolment. Tried as an attacker with a client of their own would, on both backends, through
//! the router, with real photos and the real face models:
//! - an honest e-KTP payment, its card's face handed in after the crop: `verified`;
//! - the recipient's registry photo is held, and someone shows a card of their own and matches
//!   it: the live face matches the card, the card is not the recipient: `mismatch`;
//! - an e-KTP payment that names no card face: `no_evidence`;
//! - an honest enrolment payment: `verified`, and the enrolment becomes the recipient's reference;
//!   a later payment against another person's enrolment of them: `mismatch`;
//! - a member of the KK collecting on their own card: `verified` (before: `no_reference`);
//! - a card face that is not the signed bytes, or one the receipt does not sign: refused.

use crate::common;

use crate::common::phone::{approved, call, passed_live_check, Phone, ADMIN};
use axum::http::StatusCode;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use salur_core::face::{cosine, read_image, FaceConfig, FaceEngine, FacePick, Template};
use salur_core::receipt::{recipient_ref, Evidence, Liveness, Method, Outcome, Receipt};
use salur_server::{router, AppState};
use serde_json::{json, Value};

const ROSTER: &str = "blt-2026-11";

fn photo(rel: &str) -> salur_core::face::RgbImage {
    read_image(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/faces").join(rel)).unwrap()
}

/// A live face at the door: the crop the phone keeps and the embedding it scored.
struct Live {
    jpeg: Vec<u8>,
    embedding: Vec<f32>,
}

fn live(engine: &FaceEngine, rel: &str) -> Live {
    let c = engine.capture(&photo(rel), FacePick::Centered).unwrap();
    Live { jpeg: FaceEngine::crop_jpeg(&c.crop).unwrap(), embedding: c.embedding }
}

/// A payment of `recipient` by `method`, scored as the phone scores it against `reference`.
fn payment(
    r: &mut Receipt,
    recipient: &[u8],
    method: Method,
    reference: &Template,
    at_door: &Live,
    parts: (Option<&[u8]>, Option<&[u8]>),
) {
    r.recipient = recipient.to_vec();
    r.outcome = Outcome::Paid;
    r.received_in_full = Some(true);
    let hash = |b: &[u8]| salur_core::crypto::sha256(b).to_vec();
    r.evidence = Some(Evidence {
        method,
        score_e6: Some((cosine(&reference.vector, &at_door.embedding) * 1e6).round() as i32),
        threshold_e6: Some(400_000),
        model: "sface_2021dec_int8bq".into(),
        liveness: Liveness::Passed,
        live: Some(passed_live_check()),
        face_sha256: Some(hash(&at_door.jpeg)),
        card_face_sha256: parts.0.map(hash),
        enrolled_sha256: parts.1.map(hash),
    });
}

#[tokio::test]
async fn the_card_and_the_enrolment_a_phone_brings_are_judged_by_the_server() {
    let engine = FaceEngine::bundled(FaceConfig::default()).unwrap();
    // The card photos' faces, as the phone makes them (the template from the very JPEG it sends).
    let card = |rel: &str| engine.reference_face(&photo(rel)).unwrap();
    let (biden_card, biden_card_face) = card("same/fr_biden/1.jpg");
    let (lennon_card, lennon_card_face) = card("same/openface_lennon/1.jpg");
    let (sheldon_card, sheldon_card_face) = card("same/fapi_sheldon/1.jpg");
    let biden = live(&engine, "same/fr_biden/2.jpg");
    let lennon = live(&engine, "same/openface_lennon/2.jpg");
    let sheldon = live(&engine, "same/fapi_sheldon/2.jpg");
    let clapton = live(&engine, "same/openface_clapton/2.jpg");
    let obama = live(&engine, "same/fr_obama/2.jpg");
    let clapton_enrolled = engine.template(&photo("same/openface_clapton/1.jpg"), FacePick::Centered).unwrap();
    let obama_enrolled = engine.template(&photo("same/fr_obama/1.jpg"), FacePick::Centered).unwrap();
    let (clapton_bytes, obama_bytes) = (clapton_enrolled.encode(), obama_enrolled.encode());
    let obama_registry = engine.reference_template(&photo("same/fr_obama/3.jpg")).unwrap().0;

    for backend in common::backends().await {
        let name = backend.name;
        let db = backend.storage.open().await.unwrap();
        // 1 no photo (e-KTP, honest); 2 a registry photo (Obama), collected on Lennon's card;
        // 3 no photo, no card face named; 4 no photo, enrolled (Clapton); 5 no photo, the KK
        // member (Sheldon) collects on her card.
        let niks = ["3171010101900001", "3171010101900002", "3171010101900003", "3171010101900004", "3171010101900005"];
        let member_nik = "3171010101900051";
        for (i, nik) in niks.iter().enumerate() {
            let mut row = common::roster_row(nik, &format!("Penerima {i}"), ROSTER);
            if i == 4 {
                row.kk_members = Some(format!("{member_nik}:Anggota KK"));
            }
            let template = (i == 1).then(|| obama_registry.encode());
            db.put_recipient(&row, template.as_deref()).await.unwrap();
        }
        let key = db.roster_key(ROSTER).await.unwrap();
        let refs: Vec<Vec<u8>> = niks.iter().map(|n| recipient_ref(&key, n)).collect();
        let member = recipient_ref(&key, member_nik);

        let app = router(AppState::new(db.clone(), ADMIN).allow_unattested_devices(true));
        let phone = Phone::new("dev-cards");
        approved(&app, &phone).await;
        let spki = salur_core::keys::Signer::public_key_spki(&phone.signer).unwrap();
        let id_of = |bytes: &[u8]| salur_core::receipt::verify(bytes, &spki).unwrap().receipt.id;
        let mut chain = crate::common::phone::Chain::new(&phone);
        let mut next = |edit: &dyn Fn(&mut Receipt)| chain.next(edit);
        let proxy =
            Method::Proxy { member: member.clone(), kuasa_sha256: vec![0x5a; 32], card_sha256: Some(vec![7; 32]) };
        let honest_ektp =
            next(&|r| payment(r, &refs[0], Method::EktpPhoto, &biden_card, &biden, (Some(&biden_card_face), None)));
        let other_card =
            next(&|r| payment(r, &refs[1], Method::EktpPhoto, &lennon_card, &lennon, (Some(&lennon_card_face), None)));
        let no_card = next(&|r| payment(r, &refs[2], Method::EktpPhoto, &biden_card, &biden, (None, None)));
        let enrolled = next(&|r| {
            payment(r, &refs[3], Method::EnrolledTemplate, &clapton_enrolled, &clapton, (None, Some(&clapton_bytes)))
        });
        let by_proxy =
            next(&|r| payment(r, &refs[4], proxy.clone(), &sheldon_card, &sheldon, (Some(&sheldon_card_face), None)));
        let (status, answer) =
            call(&app, phone.upload(&[&honest_ektp, &other_card, &no_card, &enrolled, &by_proxy])).await;
        assert_eq!(status, StatusCode::OK, "{name}: {answer}");

        let put_parts = |receipt: &[u8], card_face: Option<&[u8]>, enrolled: Option<&[u8]>| {
            let body =
                json!({ "card_face": card_face.map(|b| B64.encode(b)), "enrolled": enrolled.map(|b| B64.encode(b)) });
            phone.request("PUT", &format!("/v1/receipts/{}/references", id_of(receipt)), body)
        };
        let put_crop = |receipt: &[u8], jpeg: &[u8]| {
            let body = json!({ "offset": 0, "total": jpeg.len(), "chunk": B64.encode(jpeg) });
            phone.request("PUT", &format!("/v1/receipts/{}/evidence", id_of(receipt)), body)
        };
        // Refused: bytes other than the signed ones; a part the receipt does not sign.
        let (status, err) = call(&app, put_parts(&other_card, Some(&biden_card_face), None)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {err}");
        let (status, err) = call(&app, put_parts(&no_card, Some(&biden_card_face), None)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {err}");
        assert!(err["message"].as_str().unwrap_or_default().contains("signs no card face"), "{name}: {err}");

        // The honest e-KTP payment: crop first, the card's face after (judged then).
        let ok = |(status, v): (StatusCode, Value)| assert_eq!(status, StatusCode::OK, "{name}: {v}");
        ok(call(&app, put_crop(&honest_ektp, &biden.jpeg)).await);
        ok(call(&app, put_parts(&honest_ektp, Some(&biden_card_face), None)).await);
        // The others: their reference first, as the phone sends them.
        ok(call(&app, put_parts(&other_card, Some(&lennon_card_face), None)).await);
        ok(call(&app, put_crop(&other_card, &lennon.jpeg)).await);
        ok(call(&app, put_crop(&no_card, &biden.jpeg)).await);
        ok(call(&app, put_parts(&enrolled, None, Some(&clapton_bytes))).await);
        ok(call(&app, put_crop(&enrolled, &clapton.jpeg)).await);
        ok(call(&app, put_parts(&by_proxy, Some(&sheldon_card_face), None)).await);
        ok(call(&app, put_crop(&by_proxy, &sheldon.jpeg)).await);
        // Sent again: kept as it was.
        let (status, held) = call(&app, put_parts(&enrolled, None, Some(&clapton_bytes))).await;
        assert_eq!((status, held["enrolled"].as_bool()), (StatusCode::OK, Some(true)), "{name}: {held}");

        // Later, another person's enrolment of recipient 4 (Obama, enrolled and live): the
        // server holds Clapton's first enrolment and checks the new one against it.
        let impostor = next(&|r| {
            payment(r, &refs[3], Method::EnrolledTemplate, &obama_enrolled, &obama, (None, Some(&obama_bytes)))
        });
        ok(call(&app, phone.upload(&[&impostor])).await);
        ok(call(&app, put_parts(&impostor, None, Some(&obama_bytes))).await);
        ok(call(&app, put_crop(&impostor, &obama.jpeg)).await);

        // A morph: a template halfway between recipient 2's registry photo (which phones hold) and
        // the impostor's own face matches both; the impostor's live face is still not the recipient.
        let mut halfway: Vec<f32> = obama_registry.vector.iter().zip(&lennon.embedding).map(|(a, b)| a + b).collect();
        let norm = halfway.iter().map(|x| x * x).sum::<f32>().sqrt();
        halfway.iter_mut().for_each(|x| *x /= norm);
        let morph = Template { vector: halfway, ..obama_registry.clone() };
        assert!(cosine(&morph.vector, &obama_registry.vector) > 0.6 && cosine(&morph.vector, &lennon.embedding) > 0.6);
        let morph_bytes = morph.encode();
        let morphed =
            next(&|r| payment(r, &refs[1], Method::EnrolledTemplate, &morph, &lennon, (None, Some(&morph_bytes))));
        ok(call(&app, phone.upload(&[&morphed])).await);
        ok(call(&app, put_parts(&morphed, None, Some(&morph_bytes))).await);
        ok(call(&app, put_crop(&morphed, &lennon.jpeg)).await);

        let board = serde_json::to_value(db.dashboard(Some(ROSTER)).await.unwrap()).unwrap();
        let listed: Vec<Value> = board["unverified_payments"].as_array().unwrap().clone();
        let find = |bytes: &[u8]| listed.iter().find(|p| p["receipt_id"] == id_of(bytes)).cloned();
        for fine in [&honest_ektp, &enrolled, &by_proxy] {
            assert!(find(fine).is_none(), "{name}: an honest payment is listed: {:?}", find(fine));
        }
        let checks: Vec<(String, u64)> = serde_json::from_value(board["server_checks"].clone()).unwrap();
        let count = |v: &str| checks.iter().find(|(k, _)| k == v).map_or(0, |(_, n)| *n);
        assert_eq!((count("verified"), count("mismatch"), count("no_evidence")), (3, 3, 1), "{name}: {checks:?}");
        let morph_listed = find(&morphed).expect("the morph is listed");
        assert_eq!(morph_listed["verdict"], "mismatch", "{name}: {morph_listed}");
        assert!(morph_listed["reference_score_e6"].as_i64().unwrap() >= 400_000, "{name}: the morph matches the photo");
        // Verified only against a card or first enrolment the phone alone supplied: phone-only.
        let share = &board["verified_shares"][0];
        assert_eq!((share["verified"].as_i64(), share["phone_only"].as_i64()), (Some(0), Some(7)), "{name}: {share}");
        let wrong_card = find(&other_card).expect("the card of someone else is listed");
        assert_eq!(wrong_card["verdict"], "mismatch", "{name}");
        assert!(wrong_card["server_score_e6"].as_i64().unwrap() >= 400_000, "{name}: the live face matches the card");
        assert!(wrong_card["reference_score_e6"].as_i64().unwrap() < 400_000, "{name}: the card is not the recipient");
        assert_eq!(find(&no_card).unwrap()["verdict"], "no_evidence", "{name}");
        let second = find(&impostor).expect("another person's enrolment is listed");
        assert_eq!(second["verdict"], "mismatch", "{name}: {second}");
        assert!(second["reference_score_e6"].as_i64().unwrap() < 400_000, "{name}: {second}");
        // The auditor looks at the live face beside the card's face it was compared with (logged).
        let view = |part: &str| {
            axum::http::Request::get(format!("/v1/admin/receipts/{}/evidence?part={part}", id_of(&other_card)))
                .header("authorization", format!("Bearer {ADMIN}"))
                .body(axum::body::Body::empty())
                .unwrap()
        };
        for (part, bytes) in [("face", &lennon.jpeg), ("card_face", &lennon_card_face)] {
            let res = tower::ServiceExt::oneshot(app.clone(), view(part)).await.unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{name}: {part}");
            let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
            assert_eq!(&body[..], &bytes[..], "{name}: {part}");
        }
        let res = tower::ServiceExt::oneshot(app.clone(), view("nik")).await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{name}");
        let log = format!("{:?}", db.audit_entries(0, 200).await.unwrap());
        assert!(log.contains("card face"), "{name}: the card view is logged");
        // The first verified enrolment is the recipient's reference on the server now.
        let held = db.held_reference(ROSTER, &refs[3]).await.unwrap().expect("the enrolment is kept");
        assert!(cosine(&held.vector, &clapton_enrolled.vector) > 0.999, "{name}");
        assert!(db.held_reference(ROSTER, &refs[0]).await.unwrap().is_none(), "{name}: a card is no reference");
    }
}
