//! The server's own verdict on every face payment, tried as an attacker with a client of their
//! own would: a registered software key uploads paid receipts (a) with no crop, (b) with the
//! crop of another person, (c) with a real crop and an inflated signed score, (d) honestly.
//! Only (d) ends `verified`; the dashboard and the closing report show the other three. Then the
//! device is revoked: its history stays on the dashboard, and what it still uploads is held out
//! of every count. Real photos, the real face models, both backends, through the router.

use crate::common;

use crate::common::phone::{approved, call, passed_live_check, Phone, ADMIN};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use salur_core::face::{cosine, decode_image, read_image, FaceConfig, FaceEngine, FacePick, Template};
use salur_core::receipt::{recipient_ref, Evidence, Liveness, Method, Outcome, Receipt};
use salur_server::domain::closing;
use salur_server::domain::verdict::SCORE_TOLERANCE_E6;
use salur_server::{router, AppState};
use serde_json::{json, Value};

const ROSTER: &str = "blt-2026-11";

fn photo(rel: &str) -> salur_core::face::RgbImage {
    read_image(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/faces").join(rel)).unwrap()
}

fn staff(uri: &str) -> Request<Body> {
    Request::get(uri).header("authorization", format!("Bearer {ADMIN}")).body(Body::empty()).unwrap()
}

/// What a phone keeps of a capture: the evidence JPEG and the embedding it scored.
struct Shot {
    jpeg: Vec<u8>,
    embedding: Vec<f32>,
}

fn shot(engine: &FaceEngine, rel: &str) -> Shot {
    let capture = engine.capture(&photo(rel), FacePick::Centered).unwrap();
    Shot { jpeg: FaceEngine::crop_jpeg(&capture.crop).unwrap(), embedding: capture.embedding }
}

fn template(engine: &FaceEngine, rel: &str) -> Template {
    engine.reference_template(&photo(rel)).unwrap().0
}

fn e6(score: f32) -> i32 {
    (score * 1e6).round() as i32
}

/// A paid, live-checked face payment of `recipient` claiming `score_e6`, naming `crop` if any.
fn paid(r: &mut Receipt, recipient: &[u8], score_e6: i32, crop: Option<&[u8]>) {
    r.recipient = recipient.to_vec();
    r.outcome = Outcome::Paid;
    r.received_in_full = Some(true);
    r.evidence = Some(Evidence {
        method: Method::RegistryTemplate,
        score_e6: Some(score_e6),
        threshold_e6: Some(400_000),
        model: "sface_2021dec_int8bq".into(),
        liveness: Liveness::Passed,
        // Invented: the attacker's client ran no live check at all.
        live: Some(passed_live_check()),
        face_sha256: crop.map(|c| salur_core::crypto::sha256(c).to_vec()),
        card_face_sha256: None,
        enrolled_sha256: None,
    });
}

#[test]
fn drift_of_the_jpeg_crop_is_small() {
    // The phone scores the raw aligned crop; the server re-embeds the JPEG it receives. The
    // tolerance (SCORE_TOLERANCE_E6) must hold an honest phone with room to spare.
    // Every genuine pair of the project's photos: each person's first photo as the reference,
    // each other photo as the face at the door.
    let engine = FaceEngine::bundled(FaceConfig::default()).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/faces/same");
    let mut drifts = Vec::new();
    let mut people: Vec<_> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
    people.sort();
    for dir in people {
        let mut photos: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        photos.sort();
        let Ok((reference, _)) = engine.reference_template(&read_image(&photos[0]).unwrap()) else { continue };
        for p in &photos[1..] {
            let Ok(capture) = engine.capture(&read_image(p).unwrap(), FacePick::Centered) else { continue };
            let jpeg = FaceEngine::crop_jpeg(&capture.crop).unwrap();
            let phone = cosine(&reference.vector, &capture.embedding);
            let server = cosine(&reference.vector, &engine.embed_crop(&decode_image(&jpeg).unwrap()).unwrap());
            drifts.push((phone - server).abs());
        }
    }
    drifts.sort_by(f32::total_cmp);
    let (n, worst, median) = (drifts.len(), drifts[drifts.len() - 1], drifts[drifts.len() / 2]);
    let p99 = drifts[(drifts.len() * 99 / 100).min(drifts.len() - 1)];
    eprintln!("JPEG drift over {n} genuine pairs: median {median:.4}, p99 {p99:.4}, largest {worst:.4}");
    assert!(n >= 60, "{n} pairs");
    assert!(worst > 0.0, "the JPEG re-encoding changes the embedding a little");
    assert!(f64::from(worst) * 1e6 < SCORE_TOLERANCE_E6 as f64 / 2.0, "drift {worst} eats the tolerance");
}

#[tokio::test]
async fn the_server_verifies_only_the_honest_payment_and_a_revoked_device_hides_nothing() {
    let engine = FaceEngine::bundled(FaceConfig::default()).unwrap();
    // The registry photos the server holds, and what stood at the doors.
    let obama = template(&engine, "same/fr_obama/1.jpg");
    let biden = template(&engine, "same/fr_biden/1.jpg");
    let lennon = template(&engine, "same/openface_lennon/1.jpg");
    let clapton = template(&engine, "same/openface_clapton/1.jpg");
    let obama_at_door = shot(&engine, "same/fr_obama/2.jpg");
    let lennon_at_door = shot(&engine, "same/openface_lennon/2.jpg");
    let clapton_at_door = shot(&engine, "same/openface_clapton/2.jpg");
    let lennon_score = cosine(&lennon.vector, &lennon_at_door.embedding);
    let honest_score = cosine(&clapton.vector, &clapton_at_door.embedding);
    assert!(lennon_score > 0.4 && honest_score > 0.4, "{lennon_score} {honest_score}");

    for backend in common::backends().await {
        let name = backend.name;
        let db = backend.storage.open().await.unwrap();
        let niks = ["3171010101900001", "3171010101900002", "3171010101900003", "3171010101900004", "3171010101900005"];
        let sheldon = template(&engine, "same/fapi_sheldon/1.jpg");
        for (nik, t) in niks.iter().zip([&obama, &biden, &lennon, &clapton, &sheldon].map(Some)) {
            let row = common::roster_row(nik, &format!("Penerima {nik}"), ROSTER);
            db.put_recipient(&row, t.map(Template::encode).as_deref()).await.unwrap();
        }
        // A re-import without photos keeps the registry template (it never drops one silently).
        let again = db.put_recipient(&common::roster_row(niks[0], "Penerima", ROSTER), None).await.unwrap();
        assert!(again.kept_template, "{name}");
        let fresh = db.put_recipient(&common::roster_row("3171010101900006", "Baru", ROSTER), None).await.unwrap();
        assert!(!fresh.kept_template, "{name}: nothing to keep");
        let key = db.roster_key(ROSTER).await.unwrap();
        let refs: Vec<Vec<u8>> = niks.iter().map(|n| recipient_ref(&key, n)).collect();

        let app = router(AppState::new(db.clone(), ADMIN).allow_unattested_devices(true));
        let phone = Phone::new("dev-attacker");
        approved(&app, &phone).await;
        let spki = salur_core::keys::Signer::public_key_spki(&phone.signer).unwrap();
        let receipt_id = |bytes: &[u8]| salur_core::receipt::verify(bytes, &spki).unwrap().receipt.id;
        let mut chain = crate::common::phone::Chain::new(&phone);
        let mut next = |edit: &dyn Fn(&mut Receipt)| chain.next(edit);
        // (a) no crop at all; (b) another person's crop for Biden; (c) Lennon's real crop with an
        // inflated score; (d) Clapton, honestly; (e) an honest crop that never arrives.
        let a = next(&|r| paid(r, &refs[0], 710_000, None));
        let b = next(&|r| paid(r, &refs[1], 710_000, Some(&obama_at_door.jpeg)));
        let c = next(&|r| paid(r, &refs[2], (e6(lennon_score) + 300_000).min(999_000), Some(&lennon_at_door.jpeg)));
        let d = next(&|r| paid(r, &refs[3], e6(honest_score), Some(&clapton_at_door.jpeg)));
        let e = next(&|r| paid(r, &refs[4], 710_000, Some(&[0xff, 0xd8, 0xff])));
        let (status, answer) = call(&app, phone.upload(&[&a, &b, &c, &d, &e])).await;
        assert_eq!(status, StatusCode::OK, "{name}: {answer}");
        for r in answer["results"].as_array().unwrap() {
            assert_eq!(r["result"], "accepted", "{name}: {answer}");
        }
        for (receipt, jpeg) in [(&b, &obama_at_door.jpeg), (&c, &lennon_at_door.jpeg), (&d, &clapton_at_door.jpeg)] {
            let body = json!({ "offset": 0, "total": jpeg.len(), "chunk": B64.encode(jpeg) });
            let uri = format!("/v1/receipts/{}/evidence", receipt_id(receipt));
            let (status, up) = call(&app, phone.request("PUT", &uri, body)).await;
            assert_eq!((status, up["complete"].as_bool()), (StatusCode::OK, Some(true)), "{name}: {up}");
        }

        // A server that stopped after keeping a crop but before judging it finishes the job at the
        // phone's next status call (here: undone by hand for the honest payment).
        let pool = sqlx::AnyPool::connect(&match &backend.storage {
            salur_server::Storage::Dir(d) => format!("sqlite://{}", d.join("salur.db").display()),
            salur_server::Storage::Url(u) => u.clone(),
        })
        .await
        .unwrap();
        for sql in [
            "UPDATE evidence SET embedding = NULL WHERE receipt_id = $1",
            "UPDATE receipts SET verdict = 'pending', server_score_e6 = NULL WHERE id = $1",
        ] {
            sqlx::query(sql).bind(receipt_id(&d)).execute(&pool).await.unwrap();
        }
        let (status, up) =
            call(&app, phone.request("GET", &format!("/v1/receipts/{}/evidence", receipt_id(&d)), Value::Null)).await;
        assert_eq!((status, up["complete"].as_bool()), (StatusCode::OK, Some(true)), "{name}: {up}");
        pool.close().await;

        // The phone counted five payments; the server verified one.
        let (status, board) = call(&app, staff(&format!("/v1/dashboard?roster={ROSTER}"))).await;
        assert_eq!(status, StatusCode::OK, "{name}: {board}");
        assert_eq!(board["total"]["paid"], 5, "{name}");
        let checks: Vec<(String, u64)> = serde_json::from_value(board["server_checks"].clone()).unwrap();
        let count = |v: &str| checks.iter().find(|(k, _)| k == v).map_or(0, |(_, n)| *n);
        assert_eq!(
            (count("verified"), count("mismatch"), count("no_evidence"), count("pending")),
            (1, 2, 1, 1),
            "{name}: {checks:?}"
        );
        let listed: Vec<&Value> = board["unverified_payments"].as_array().unwrap().iter().collect();
        let find = |bytes: &[u8]| listed.iter().find(|p| p["receipt_id"] == receipt_id(bytes)).copied();
        assert_eq!(find(&a).unwrap()["verdict"], "no_evidence", "{name}");
        let wrong_person = find(&b).unwrap();
        assert_eq!(wrong_person["verdict"], "mismatch", "{name}");
        assert!(wrong_person["server_score_e6"].as_i64().unwrap() < 400_000, "{name}: {wrong_person}");
        let inflated = find(&c).unwrap();
        assert_eq!(inflated["verdict"], "mismatch", "{name}");
        let (signed, own) =
            (inflated["signed_score_e6"].as_i64().unwrap(), inflated["server_score_e6"].as_i64().unwrap());
        assert!(own >= 400_000 && signed - own > SCORE_TOLERANCE_E6, "{name}: the real face, an inflated claim");
        assert!(find(&d).is_none() && find(&e).is_none(), "{name}: verified and pending are not listed");
        let share = &board["verified_shares"][0];
        assert_eq!(
            (share["worker_id"].as_str(), share["verified"].as_i64(), share["phone_only"].as_i64()),
            (Some("pos-1"), Some(1), Some(4))
        );

        // A crop awaited past the evidence window counts as no evidence (here: a window of 0).
        let strict = db.clone().with_evidence_window(0);
        let counts = strict.verdict_counts(ROSTER).await.unwrap();
        assert!(counts.iter().any(|(v, n)| v.as_str() == "no_evidence" && *n == 2), "{name}: {counts:?}");

        // The closing report counts the same verdicts, and a later run shows the closed figures.
        strict.close_period(ROSTER, "auditor").await.unwrap();
        let (rows, total) = closing::report(&strict.period_facts(ROSTER).await.unwrap());
        let s = total.server;
        assert_eq!((s.verified, s.mismatch, s.no_evidence, s.pending), (1, 2, 2, 0), "{name}: {s:?}");
        let kept = strict.record_counted(ROSTER, &closing::Counted { rows, total: total.clone() }).await.unwrap();
        assert_eq!(kept.total, total, "{name}");

        // Revoked: the worker and device stay listed, marked; what it still uploads is held.
        let revoke = Request::post("/v1/admin/devices/dev-attacker/revoke")
            .header("authorization", format!("Bearer {ADMIN}"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(call(&app, revoke).await.0, StatusCode::OK);
        let newcomer = recipient_ref(&key, "3171010101900006");
        let after = next(&|r| paid(r, &newcomer, 710_000, None));
        let (status, answer) = call(&app, phone.upload(&[&after])).await;
        assert_eq!(status, StatusCode::OK, "{name}: {answer}");
        assert_eq!(answer["results"][0]["result"], "accepted", "{name}: {answer}");
        assert!(answer["results"][0]["reason"].as_str().unwrap().contains("device revoked"), "{name}: {answer}");
        let status_uri = "/v1/devices/dev-attacker/chain/status";
        let (status, chain) = call(&app, phone.request("GET", status_uri, Value::Null)).await;
        assert_eq!((status, chain["status"]["received"].as_u64()), (StatusCode::OK, Some(6)), "{name}: {chain}");
        // The dashboard's cache is a few seconds old: read a fresh one.
        let board = serde_json::to_value(db.dashboard(Some(ROSTER)).await.unwrap()).unwrap();
        assert_eq!(board["total"]["paid"], 5, "{name}: the held payment counts nowhere");
        assert_eq!((board["devices_total"].as_u64(), board["devices_revoked"].as_u64()), (Some(1), Some(1)), "{name}");
        let device = &board["devices"][0];
        assert_eq!((device["device_id"].as_str(), device["status"].as_str()), (Some("dev-attacker"), Some("revoked")));
        assert_eq!(device["receipts"], 6, "{name}: its history stays");
        let worker = board["workers"].as_array().unwrap().iter().find(|w| w["worker_id"] == "pos-1").unwrap();
        assert_eq!(worker["revoked"], true, "{name}: {worker}");
        let flagged: Vec<(String, u64)> = serde_json::from_value(board["flagged"].clone()).unwrap();
        assert!(flagged.iter().any(|(why, n)| why.contains("device revoked") && *n == 1), "{name}: {flagged:?}");
        // A rebuild of the summaries from the base tables agrees with what ingestion kept.
        db.rebuild_summaries(true).await.unwrap();
        let rebuilt = serde_json::to_value(db.dashboard(Some(ROSTER)).await.unwrap()).unwrap();
        assert_eq!(rebuilt["total"], board["total"], "{name}");
        assert_eq!(rebuilt["flagged"], board["flagged"], "{name}");

        // The auditor decides: the held payment is listed, counted once with reasons, and from then
        // on counts like any other; a second one is refused and stays out.
        let refused_later = next(&|r| paid(r, &refs[4], 710_000, None));
        assert_eq!(call(&app, phone.upload(&[&refused_later])).await.0, StatusCode::OK, "{name}");
        let (status, held) = call(&app, staff(&format!("/v1/admin/held-receipts?roster={ROSTER}"))).await;
        assert_eq!(status, StatusCode::OK, "{name}: {held}");
        let waiting: Vec<&str> = held.as_array().unwrap().iter().map(|h| h["receipt_id"].as_str().unwrap()).collect();
        assert_eq!(waiting.len(), 2, "{name}: {held}");
        assert!(waiting.contains(&receipt_id(&after).as_str()), "{name}: {held}");
        let decide = |id: String, body: Value| {
            Request::post(format!("/v1/admin/receipts/{id}/held-decision"))
                .header("authorization", format!("Bearer {ADMIN}"))
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap()
        };
        let (status, err) = call(&app, decide(receipt_id(&after), json!({ "decision": "count", "note": " " }))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: no reasons: {err}");
        let why = "signed on 3 Dec before the phone was reported lost; the recipient confirms she was paid";
        let (status, counted) =
            call(&app, decide(receipt_id(&after), json!({ "decision": "count", "note": why }))).await;
        assert_eq!(status, StatusCode::OK, "{name}: {counted}");
        assert_eq!((counted["decision"].as_str(), counted["note"].as_str()), (Some("count"), Some(why)), "{name}");
        let (status, again) =
            call(&app, decide(receipt_id(&after), json!({ "decision": "refuse", "note": "no" }))).await;
        assert_eq!(status, StatusCode::CONFLICT, "{name}: decided once: {again}");
        let refuse = json!({ "decision": "refuse", "note": "nobody can say when it was signed" });
        assert_eq!(call(&app, decide(receipt_id(&refused_later), refuse)).await.0, StatusCode::OK, "{name}");
        let (status, err) = call(&app, decide(receipt_id(&a), json!({ "decision": "count", "note": "x" }))).await;
        assert_eq!(status, StatusCode::CONFLICT, "{name}: not held: {err}");
        // A held payment of someone not on the roster cannot be counted: that would hide its flag.
        let stranger = next(&|r| paid(r, &[9u8; 16], 710_000, None));
        assert_eq!(call(&app, phone.upload(&[&stranger])).await.0, StatusCode::OK, "{name}");
        let (status, err) =
            call(&app, decide(receipt_id(&stranger), json!({ "decision": "count", "note": "checked" }))).await;
        assert_eq!(status, StatusCode::CONFLICT, "{name}: {err}");
        assert!(err["message"].as_str().unwrap().contains("not on the roster"), "{name}: {err}");
        let refuse = json!({ "decision": "refuse", "note": "not on the roster" });
        assert_eq!(call(&app, decide(receipt_id(&stranger), refuse)).await.0, StatusCode::OK, "{name}");
        let decided = serde_json::to_value(db.dashboard(Some(ROSTER)).await.unwrap()).unwrap();
        assert_eq!(decided["total"]["paid"], 6, "{name}: the counted payment counts, the refused one does not");
        let flagged: Vec<(String, u64)> = serde_json::from_value(decided["flagged"].clone()).unwrap();
        let flags = |what: &str| flagged.iter().filter(|(why, _)| why.contains(what)).map(|(_, n)| *n).sum::<u64>();
        assert_eq!(
            (flags("held for an auditor"), flags("counted by an auditor"), flags("refused by an auditor")),
            (0, 1, 2),
            "{name}: {flagged:?}"
        );
        // The counts kept as decisions were taken are the ones a rebuild from the receipts gives.
        db.rebuild_summaries(true).await.unwrap();
        let rebuilt = serde_json::to_value(db.dashboard(Some(ROSTER)).await.unwrap()).unwrap();
        assert_eq!(rebuilt["total"], decided["total"], "{name}");
        let rebuilt_flags: Vec<(String, u64)> = serde_json::from_value(rebuilt["flagged"].clone()).unwrap();
        let nonzero = |f: &[(String, u64)]| f.iter().filter(|(_, n)| *n > 0).cloned().collect::<Vec<_>>();
        assert_eq!(nonzero(&rebuilt_flags), nonzero(&flagged), "{name}");
        let log = db.audit_entries(0, 1000).await.unwrap();
        let entry = log.iter().find(|e| e.action == "held_receipt_decided").expect("the decision is logged");
        assert!(entry.detail.as_deref().unwrap_or_default().starts_with("count: signed on 3 Dec"), "{name}");
    }
}

#[tokio::test]
async fn a_whole_photo_handed_in_as_a_crop_is_a_mismatch_and_is_never_decoded() {
    let engine = FaceEngine::bundled(FaceConfig::default()).unwrap();
    // The recipient's own registry photo, sent whole where a 112x112 crop belongs.
    let whole = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/faces/same/fr_obama/2.jpg"),
    )
    .unwrap();
    for backend in common::backends().await {
        let name = backend.name;
        let db = backend.storage.open().await.unwrap();
        let nik = "3171010101900001";
        let template = template(&engine, "same/fr_obama/1.jpg");
        db.put_recipient(&common::roster_row(nik, "Penerima", ROSTER), Some(&template.encode())).await.unwrap();
        let recipient = recipient_ref(&db.roster_key(ROSTER).await.unwrap(), nik);
        let app = router(AppState::new(db.clone(), ADMIN).allow_unattested_devices(true));
        let phone = Phone::new("dev-whole");
        approved(&app, &phone).await;
        let receipt = phone.receipt(|r| paid(r, &recipient, 700_000, Some(&whole)));
        let (status, answer) = call(&app, phone.upload(&[&receipt])).await;
        assert_eq!(status, StatusCode::OK, "{name}: {answer}");
        let spki = salur_core::keys::Signer::public_key_spki(&phone.signer).unwrap();
        let id = salur_core::receipt::verify(&receipt, &spki).unwrap().receipt.id;
        let body = json!({ "offset": 0, "total": whole.len(), "chunk": B64.encode(&whole) });
        let (status, up) = call(&app, phone.request("PUT", &format!("/v1/receipts/{id}/evidence"), body)).await;
        assert_eq!((status, up["complete"].as_bool()), (StatusCode::OK, Some(true)), "{name}: {up}");
        let board = serde_json::to_value(db.dashboard(Some(ROSTER)).await.unwrap()).unwrap();
        let listed = &board["unverified_payments"][0];
        assert_eq!(
            (listed["verdict"].as_str(), listed["server_score_e6"].as_i64()),
            (Some("mismatch"), None),
            "{name}"
        );
    }
}
