//! The national 1:N check: its threshold against the real impostor scores of the project's
//! photos, and one face under two recipients flagged through the router on both backends (across
//! two server instances over one database), while a daughter collecting for both parents by
//! proxy is not.

use std::collections::BTreeMap;

use crate::common;

use crate::common::phone::{approved, call, passed_live_check, Phone, ADMIN};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use salur_core::face::{cosine, read_image, FaceConfig, FaceEngine, FacePick, Template};
use salur_core::receipt::{recipient_ref, Evidence, Liveness, Method, Outcome, Receipt};
use salur_server::domain::duplicates::THRESHOLD_1N;
use salur_server::{router, AppState};
use serde_json::json;

const ROSTER: &str = "blt-2026-11";

/// Every face of the project's photo sets with the person it shows (folder, or the file name
/// before `__`), embedded by the product's engine.
fn faces(engine: &FaceEngine) -> Vec<(String, Vec<f32>)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/faces");
    let mut out = Vec::new();
    let mut add = |who: String, path: &std::path::Path| {
        if let Ok(c) = engine.capture(&read_image(path).unwrap(), FacePick::Centered) {
            out.push((who, c.embedding));
        }
    };
    for dir in std::fs::read_dir(root.join("same")).unwrap().map(|e| e.unwrap().path()) {
        for photo in std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()) {
            add(dir.file_name().unwrap().to_string_lossy().into_owned(), &photo);
        }
    }
    for photo in std::fs::read_dir(root.join("hard")).unwrap().map(|e| e.unwrap().path()) {
        let name = photo.file_stem().unwrap().to_string_lossy().into_owned();
        if let Some((who, _)) = name.split_once("__") {
            add(who.to_string(), &photo);
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The upper tail of the standard normal distribution at `z` (z > 3: the asymptotic series,
/// within a few per cent there).
fn normal_tail(z: f64) -> f64 {
    let density = (-z * z / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
    density / z * (1.0 - 1.0 / (z * z) + 3.0 / z.powi(4))
}

#[test]
fn the_1n_threshold_sits_far_above_real_impostor_scores() {
    let engine = FaceEngine::bundled(FaceConfig::default()).unwrap();
    let all = faces(&engine);
    let (mut impostor, mut genuine) = (Vec::new(), Vec::new());
    for (i, (a, va)) in all.iter().enumerate() {
        for (b, vb) in &all[i + 1..] {
            let s = f64::from(cosine(va, vb));
            if a == b {
                genuine.push(s);
            } else {
                impostor.push(s);
            }
        }
    }
    let people = all.iter().map(|(w, _)| w.as_str()).collect::<std::collections::BTreeSet<_>>().len();
    let n = impostor.len() as f64;
    let mean = impostor.iter().sum::<f64>() / n;
    let sd = (impostor.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let max = impostor.iter().copied().fold(f64::MIN, f64::max);
    let t = f64::from(THRESHOLD_1N);
    let caught = genuine.iter().filter(|s| **s >= t).count() as f64 / genuine.len() as f64;
    // National volume: 8.5 M recipients paid over a 30-day period, each new face compared with
    // the faces stored before it (on average half the period's): about 1.2e12 comparisons a day.
    let per_day = 8.5e6 / 30.0;
    let comparisons_per_day = per_day * 8.5e6 / 2.0;
    let z = (t - mean) / sd;
    let false_alarms_per_day = comparisons_per_day * normal_tail(z);
    eprintln!(
        "{} faces of {people} people: {} impostor pairs, mean {mean:.4}, sd {sd:.4}, max {max:.4}; \
         {} genuine pairs, {:.1}% at or above {t}; z = {z:.2}, expected false alarms at national volume \
         (normal tail): {false_alarms_per_day:.2e} a day",
        all.len(),
        impostor.len(),
        genuine.len(),
        caught * 100.0
    );
    for t in [0.60, 0.65, 0.70, 0.72, 0.74, 0.76, 0.78, 0.80] {
        let caught = genuine.iter().filter(|s| **s >= t).count() as f64 / genuine.len() as f64;
        let alarms = comparisons_per_day * normal_tail((t - mean) / sd);
        eprintln!(
            "  threshold {t:.2}: catches {:.1}% of genuine repeats, {alarms:.2e} false alarms a day",
            caught * 100.0
        );
    }
    assert!(impostor.len() > 3_000 && genuine.len() > 100, "{} {}", impostor.len(), genuine.len());
    // No real impostor pair comes near the threshold, and the normal tail it implies keeps false
    // alarms at national volume to a few dozen a day for the whole country (an audit team's
    // morning); over these hard photo pairs (years apart, partial faces) it still catches more
    // than 40 % of repeats.
    assert!(max < t - 0.15, "an impostor pair at {max}");
    assert!(false_alarms_per_day < 50.0, "{false_alarms_per_day}");
    assert!(caught > 0.4, "{caught}");
}

/// A paid receipt for `recipient` by `method` with the evidence crop `jpeg`.
fn paid(r: &mut Receipt, recipient: &[u8], method: Method, jpeg: &[u8]) {
    r.recipient = recipient.to_vec();
    r.outcome = Outcome::Paid;
    r.received_in_full = Some(true);
    r.evidence = Some(Evidence {
        method,
        score_e6: Some(700_000),
        threshold_e6: Some(400_000),
        model: "sface_2021dec_int8bq".into(),
        liveness: Liveness::Passed,
        live: Some(passed_live_check()),
        face_sha256: Some(salur_core::crypto::sha256(jpeg).to_vec()),
        card_face_sha256: None,
        enrolled_sha256: None,
    });
}

/// Uploads `receipt` and its crop through `app`.
async fn pay(app: &axum::Router, phone: &Phone, receipt: &[u8], jpeg: &[u8]) {
    let (status, answer) = call(app, phone.upload(&[&receipt.to_vec()])).await;
    assert_eq!((status, answer["results"][0]["result"].as_str()), (StatusCode::OK, Some("accepted")), "{answer}");
    let spki = salur_core::keys::Signer::public_key_spki(&phone.signer).unwrap();
    let id = salur_core::receipt::verify(receipt, &spki).unwrap().receipt.id;
    let body = json!({ "offset": 0, "total": jpeg.len(), "chunk": B64.encode(jpeg) });
    let (status, up) = call(app, phone.request("PUT", &format!("/v1/receipts/{id}/evidence"), body)).await;
    assert_eq!((status, up["complete"].as_bool()), (StatusCode::OK, Some(true)), "{up}");
}

#[tokio::test]
async fn one_face_under_two_recipients_is_flagged_across_instances_but_a_family_proxy_is_not() {
    let engine = FaceEngine::bundled(FaceConfig::default()).unwrap();
    let crop = |rel: &str| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/faces/same").join(rel);
        FaceEngine::crop_jpeg(&engine.capture(&read_image(&path).unwrap(), FacePick::Centered).unwrap().crop).unwrap()
    };
    let template = |rel: &str| -> Template {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/faces/same").join(rel);
        engine.reference_template(&read_image(&path).unwrap()).unwrap().0
    };
    // Each person's two crops that look most alike (photo 1 is the registry's): the pair must be
    // one person to the 1:N check, else the test would pass for nothing.
    let embed = |jpeg: &[u8]| engine.embed_crop(&salur_core::face::decode_image(jpeg).unwrap()).unwrap();
    let pair = |who: &str, photos: u32| {
        let crops: Vec<Vec<u8>> = (2..=photos).map(|i| crop(&format!("{who}/{i}.jpg"))).collect();
        let mut best = (0f32, 0, 1);
        for i in 0..crops.len() {
            for j in i + 1..crops.len() {
                let score = cosine(&embed(&crops[i]), &embed(&crops[j]));
                if score > best.0 {
                    best = (score, i, j);
                }
            }
        }
        assert!(best.0 >= THRESHOLD_1N, "{who}: {}", best.0);
        (crops[best.1].clone(), crops[best.2].clone())
    };
    let ((obama_2, obama_3), (jack_2, jack_3)) = (pair("fr_obama", 4), pair("deepface_jack", 5));
    let niks: BTreeMap<&str, &str> = [
        ("siti", "3171010101900001"),
        ("sari", "3171010101900002"),
        ("father", "3171010101900003"),
        ("mother", "3171010101900004"),
        ("daughter", "3171010101900021"),
    ]
    .into();

    for backend in common::backends().await {
        let name = backend.name;
        let db = backend.storage.open().await.unwrap();
        // Siti and Sari are two recipients; one woman (Obama's photos) stands at both doors.
        db.put_recipient(&common::roster_row(niks["siti"], "Siti", ROSTER), Some(&template("fr_obama/1.jpg").encode()))
            .await
            .unwrap();
        db.put_recipient(&common::roster_row(niks["sari"], "Sari", ROSTER), None).await.unwrap();
        // Their daughter (in both parents' KK) collects for both by proxy.
        for who in ["father", "mother"] {
            let mut row = common::roster_row(niks[who], who, ROSTER);
            row.kk_members = Some(format!("{}:Putri", niks["daughter"]));
            db.put_recipient(&row, None).await.unwrap();
        }
        let key = db.roster_key(ROSTER).await.unwrap();
        let r = |who: &str| recipient_ref(&key, niks[who]);
        // Two server instances over one database, each with its own face index.
        let first = router(AppState::new(db.clone(), ADMIN).allow_unattested_devices(true));
        let second = router(AppState::new(backend.storage.open().await.unwrap(), ADMIN).allow_unattested_devices(true));
        let (one, two) = (Phone::new("dev-one"), Phone::new("dev-two"));
        approved(&first, &one).await;
        approved(&first, &two).await;
        let proxy =
            |member: Vec<u8>| Method::Proxy { member, kuasa_sha256: vec![0x5a; 32], card_sha256: Some(vec![0xc4; 32]) };
        let siti = one.receipt(|x| paid(x, &r("siti"), Method::RegistryTemplate, &obama_2));
        pay(&first, &one, &siti, &obama_2).await;
        let father = one.receipt(|x| {
            x.seq = 2;
            x.prev = salur_core::crypto::sha256(&siti).to_vec();
            paid(x, &r("father"), proxy(r("daughter")), &jack_2);
        });
        pay(&first, &one, &father, &jack_2).await;
        // The second phone uploads through the other instance.
        // The test phones name receipts by sequence: the second phone's chain starts at 3.
        let sari = two.receipt(|x| {
            x.seq = 3;
            x.prev = vec![3; 32];
            paid(x, &r("sari"), Method::EnrolledTemplate, &obama_3);
        });
        pay(&second, &two, &sari, &obama_3).await;
        let mother = two.receipt(|x| {
            x.seq = 4;
            x.prev = salur_core::crypto::sha256(&sari).to_vec();
            paid(x, &r("mother"), proxy(r("daughter")), &jack_3);
        });
        pay(&second, &two, &mother, &jack_3).await;

        let req = Request::get(format!("/v1/dashboard?roster={ROSTER}"))
            .header("authorization", format!("Bearer {ADMIN}"))
            .body(Body::empty())
            .unwrap();
        let (status, board) = call(&first, req).await;
        assert_eq!(status, StatusCode::OK, "{name}: {board}");
        assert_eq!(board["face_duplicates_count"], 1, "{name}: {}", board["face_duplicates"]);
        let pair = &board["face_duplicates"][0];
        let spki = |p: &Phone| salur_core::keys::Signer::public_key_spki(&p.signer).unwrap();
        let id = |bytes: &[u8], p: &Phone| salur_core::receipt::verify(bytes, &spki(p)).unwrap().receipt.id;
        let mut both = [pair["receipt_a"].as_str().unwrap(), pair["receipt_b"].as_str().unwrap()];
        both.sort_unstable();
        let mut expected = [id(&siti, &one), id(&sari, &two)];
        expected.sort();
        assert_eq!(both, [expected[0].as_str(), expected[1].as_str()], "{name}: {pair}");
        assert!(pair["score_e6"].as_i64().unwrap() >= (f64::from(THRESHOLD_1N) * 1e6) as i64, "{name}: {pair}");
        let size = db.catch_up_faces(ROSTER).await.unwrap();
        assert_eq!(size.faces, 4, "{name}: every paid face is in this instance's index too");
    }
}
