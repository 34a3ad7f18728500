//! Roster import with real photos, the roster a device downloads, the dashboard totals and the
//! reallocation queue, on a real SQLite file.

use std::path::{Path, PathBuf};

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use salur_core::crypto::DataKey;
use salur_core::face::Template;
use salur_core::keys::{FixedKey, Signer, SoftwareSigner};
use salur_core::receipt::{
    recipient_ref, Evidence, HeadMove, IneligibleReason, LiveCheck, LiveMethod, Liveness, Method, Outcome, Times,
};
use salur_core::store::{Draft, Store};
use salur_server::{router, AppState};
use serde_json::{json, Value};
use tower::ServiceExt;

fn faces() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/faces")
}

const HEADER: &str = "nik,name,address,province,regency,district,village,post_office,amount,period,worker_id,photo";

fn write_roster(dir: &Path) -> PathBuf {
    let rows = [
        "3171010101900001,Joe Biden,Jl. Merdeka 1,31,3171,317101,3171011001,jakarta-10110,600000,blt-2026-11,pos-7,same/fr_biden/1.jpg",
        "3171010101900002,Barack Obama,Jl. Merdeka 2,31,3171,317101,3171011001,jakarta-10110,600000,blt-2026-11,pos-7,same/fr_obama/1.jpg",
        "3171010101900003,Kit Harington,Jl. Sudirman 3,31,3171,317102,3171021001,jakarta-10220,600000,blt-2026-11,pos-7,noface/skimage_coffee.jpg",
        "3171010101900004,Rose Leslie,Jl. Sudirman 4,31,3171,317102,3171021001,jakarta-10220,600000,blt-2026-11,pos-8,",
        "31710101019,Bad Nik,Jl. X,31,3171,317102,3171021001,jakarta-10220,600000,blt-2026-11,pos-7,",
        "3171010101900006,No Amount,Jl. Y,31,3171,317102,3171021001,jakarta-10220,0,blt-2026-11,pos-7,",
    ];
    let path = dir.join("roster.csv");
    std::fs::write(&path, format!("{HEADER}\n{}\n", rows.join("\n"))).unwrap();
    path
}

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    (status, to_bytes(res.into_body(), 1 << 22).await.unwrap().to_vec())
}

fn signed(signer: &SoftwareSigner, method: &str, uri: &str, body: Vec<u8>) -> Request<Body> {
    common::signed_request(signer, "dev-7", method, uri, body)
}

use crate::common;

#[tokio::test]
async fn imported_roster_reaches_the_worker_and_the_dashboard_counts_its_receipts() {
    for backend in common::backends().await {
        eprintln!("backend: {}", backend.name);
        roster_flow(&backend).await;
    }
}

async fn roster_flow(backend: &common::Backend) {
    let dir = tempfile::tempdir().unwrap();
    let csv = write_roster(dir.path());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_salur"))
        .arg("import-roster")
        .arg(&csv)
        .arg("--photos")
        .arg(faces())
        .args(backend.cli_args())
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "refused rows make the exit code 1");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    // All or nothing: three rows are wrong (a photo with no face, a short NIK, no amount), so
    // nothing is imported.
    assert_eq!(summary["imported"], 0);
    let refused: Vec<u64> = summary["refused"].as_array().unwrap().iter().map(|r| r[0].as_u64().unwrap()).collect();
    assert_eq!(refused, [4, 6, 7]);
    assert!(summary["refused"][0][1].as_str().unwrap().contains("column photo"), "{summary}");
    let db = backend.storage.open().await.unwrap();
    assert_eq!(db.letters("blt-2026-11").await.map(|l| l.len()).unwrap_or(0), 0, "nothing written");
    // Corrected (the coffee photo's cell emptied, the two bad rows removed), it imports whole.
    let text = std::fs::read_to_string(&csv).unwrap();
    let fixed: Vec<&str> = text.lines().take(5).collect();
    std::fs::write(&csv, fixed.join("\n").replace(",noface/skimage_coffee.jpg", ",")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_salur"))
        .arg("import-roster")
        .arg(&csv)
        .arg("--photos")
        .arg(faces())
        .args(backend.cli_args())
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((summary["imported"].as_u64(), summary["added"].as_u64()), (Some(4), Some(4)));
    assert_eq!(summary["with_template"], 2);
    assert_eq!(summary["without_template"][0][0], 4, "line 4: no photo, enrols at the first visit");

    let app = router(AppState::new(backend.storage.open().await.unwrap(), "admin").allow_unattested_devices(true));
    // The worker's phone registers and is approved.
    let signer = SoftwareSigner::generate().unwrap().0;
    let reg = json!({ "device_id": "dev-7", "worker_id": "pos-7", "post_office": "jakarta-10110",
                      "public_key": B64.encode(signer.public_key_spki().unwrap()),
                          "enrolment_code": enrolment_code(&app, "pos-7").await });
    assert_eq!(
        call(&app, signed(&signer, "POST", "/v1/devices", serde_json::to_vec(&reg).unwrap())).await.0,
        StatusCode::CREATED
    );
    let approve = Request::post("/v1/admin/devices/dev-7/approve")
        .header("authorization", "Bearer admin")
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(&app, approve).await.0, StatusCode::OK);

    // Its roster: only pos-7's three recipients, two with templates made from the real photos.
    let (status, body) = call(&app, signed(&signer, "GET", "/v1/roster/blt-2026-11", vec![])).await;
    assert_eq!(status, StatusCode::OK);
    let roster: Value = serde_json::from_slice(&body).unwrap();
    let entries = roster["recipients"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    // With the programme's public key, so the phone can check invitation letters offline.
    let programme = backend.storage.open().await.unwrap().programme_public_key().await.unwrap();
    assert_eq!(roster["programme_key"].as_str(), Some(B64.encode(programme).as_str()));
    // The pseudonymisation key stays on the server: the phone gets references, not the key.
    // (The one key in the answer is the programme's public key.)
    let text = String::from_utf8_lossy(&body).replace("\"programme_key\"", "");
    assert!(roster.get("roster_key").is_none() && !text.contains("key\""));
    let key = backend.storage.open().await.unwrap().roster_key("blt-2026-11").await.unwrap();
    let biden = entries.iter().find(|e| e["name"] == "Joe Biden").unwrap();
    assert_eq!(biden["recipient"], hex::encode(recipient_ref(&key, "3171010101900001")));
    // What the phone knows of a recipient: the reference the server made for it.
    let reference = |nik: &str| {
        let entry = entries.iter().find(|e| e["nik"] == nik);
        entry.map_or_else(|| recipient_ref(&key, nik), |e| hex::decode(e["recipient"].as_str().unwrap()).unwrap())
    };
    let template = Template::decode(&B64.decode(biden["template"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(template.model_id, "sface_2021dec_int8bq");
    assert!(entries.iter().any(|e| e["template"].is_null()));
    assert_eq!(call(&app, signed(&signer, "GET", "/v1/roster/nope", vec![])).await.0, StatusCode::NOT_FOUND);

    // The phone records: Biden paid by override, Obama ineligible (deceased), Kit not at home.
    let phone_dir = tempfile::tempdir().unwrap();
    let store = Store::open(&phone_dir.path().join("p.db"), &FixedKey(DataKey::generate().unwrap())).unwrap();
    store.set_device("dev-7", "pos-7", &signer).unwrap();
    let mut upload = Vec::new();
    let mut last: Option<salur_core::receipt::SignedReceipt> = None;
    for (nik, outcome, method) in [
        (
            "3171010101900001",
            Outcome::Paid,
            Some(Method::SupervisorOverride {
                supervisor_id: "pos-9".into(),
                reason: "injured".into(),
                code: None,
                approval: None,
            }),
        ),
        (
            "3171010101900002",
            Outcome::Ineligible { reason: IneligibleReason::Deceased, note: Some("died in October".into()) },
            None,
        ),
        ("3171010101900003", Outcome::NotHome, None),
        // Rose Leslie is pos-8's recipient: stored, but flagged.
        ("3171010101900004", Outcome::NotHome, None),
        // Biden again, from the camera this time, with a score just over the threshold: the phone's
        // store refuses a second payment, so this one is signed past it (a tampered phone), and
        // the server must flag it and count the low score.
        ("3171010101900001", Outcome::Paid, Some(Method::RegistryTemplate)),
    ] {
        let low = matches!(method, Some(Method::RegistryTemplate));
        let draft = Draft {
            roster_id: "blt-2026-11".into(),
            recipient: reference(nik),
            amount: 600_000,
            outcome,
            evidence: method.map(|method| Evidence {
                method,
                score_e6: low.then_some(420_000),
                threshold_e6: low.then_some(400_000),
                model: "sface_2021dec_int8bq".into(),
                // The camera payment passed its live check; the override ran none.
                liveness: if low { Liveness::Passed } else { Liveness::NotRun },
                live: low.then(|| LiveCheck {
                    method: LiveMethod::PassiveAndChallenge,
                    passive_e6: Some(990_000),
                    passive_threshold_e6: Some(850_000),
                    asked: vec![HeadMove::TurnLeft, HeadMove::TurnRight],
                    met: vec![HeadMove::TurnLeft, HeadMove::TurnRight],
                    frames: 34,
                    duration_ms: 4_000,
                    models: vec!["minifasnet_v2_2.7_80x80".into()],
                    challenge: None,
                }),
                face_sha256: None,
                card_face_sha256: None,
                enrolled_sha256: None,
            }),
            evidence_jpeg: None,
            time: Times { wall_ms: 1_795_000_000_000, mono_ms: 1, offset_ms: 0 },
            location: None,
            received_in_full: None,
            kuasa_jpeg: None,
            card_jpeg: None,
            card_face_jpeg: None,
            enrolled_template: None,
        };
        let signed = match store.record(&signer, draft.clone()) {
            Ok(s) => s,
            Err(salur_core::Error::InvalidArgument(m)) if m.contains("already paid") => {
                let last = last.as_ref().unwrap();
                let mut r = last.receipt.clone();
                let flip = if last.receipt.id.ends_with('0') { '1' } else { '0' };
                r.id = format!("{}{flip}", &last.receipt.id[..35]);
                r.seq = last.receipt.seq + 1;
                r.prev = last.hash().to_vec();
                r.recipient = draft.recipient;
                r.outcome = draft.outcome;
                r.evidence = draft.evidence;
                salur_core::receipt::sign(&r, &signer).unwrap()
            }
            Err(e) => panic!("{e}"),
        };
        upload.push(B64.encode(&signed.bytes));
        last = Some(signed);
    }
    let body = serde_json::to_vec(&json!({ "receipts": upload })).unwrap();
    assert_eq!(call(&app, signed(&signer, "POST", "/v1/receipts", body)).await.0, StatusCode::OK);

    let (status, body) =
        call(&app, Request::get("/v1/dashboard").header("authorization", "Bearer admin").body(Body::empty()).unwrap())
            .await;
    assert_eq!(status, StatusCode::OK);
    let d: Value = serde_json::from_slice(&body).unwrap();
    let t = &d["total"];
    assert_eq!((t["recipients"].as_u64(), t["paid"].as_u64(), t["overrides"].as_u64()), (Some(4), Some(1), Some(1)));
    assert_eq!((t["ineligible"].as_u64(), t["not_home"].as_u64(), t["to_visit"].as_u64()), (Some(1), Some(2), Some(0)));
    assert_eq!(t["paid_amount"], 600_000);
    assert!((t["paid_share"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(d["areas"].as_array().unwrap().len(), 2, "two post offices");
    assert!(!String::from_utf8_lossy(&body).contains("3171010101900001"), "no NIK on the dashboard");
    assert_eq!(d["ineligible_by_reason"], json!([["deceased", 1]]));
    assert_eq!(d["low_score_matches"], 1);
    assert_eq!(d["paid_by_day"], json!([["2026-11-18", 2]]));
    let double = &d["double_payments"][0];
    assert_eq!((double["receipts"].as_u64(), double["devices"].as_u64()), (Some(2), Some(1)));
    assert_eq!(double["recipient"], hex::encode(recipient_ref(&key, "3171010101900001")));
    let dev = &d["devices"][0];
    assert_eq!(
        (dev["device_id"].as_str(), dev["receipts"].as_u64(), dev["overrides"].as_u64()),
        (Some("dev-7"), Some(5), Some(1))
    );
    assert_eq!(dev["silent"], false);
    assert_eq!(d["flagged"], json!([["recipient assigned to another worker", 1]]));
    let worker = &d["workers"][0];
    assert_eq!((worker["worker_id"].as_str(), worker["receipts"].as_u64()), (Some("pos-7"), Some(5)));
    assert!((worker["override_rate"].as_f64().unwrap() - 0.2).abs() < 1e-9);
    // Only the override was paid without a passed live check: per worker, per post office, listed.
    assert_eq!(worker["paid_without_live_check"], 1);
    assert_eq!(d["paid_without_live_check"], 1);
    assert_eq!(d["unlive_by_post_office"], json!([["jakarta-10110", 1]]));
    // The override names a supervisor but carries no approval code: listed for the auditor.
    assert_eq!(d["overrides_unverified_count"], 1);
    let o = &d["overrides_unverified"][0];
    assert_eq!((o["supervisor_id"].as_str(), o["approval"].as_str()), (Some("pos-9"), Some("missing")));
    assert_eq!(
        (o["device_id"].as_str(), o["worker_id"].as_str(), o["code"].as_str()),
        (Some("dev-7"), Some("pos-7"), None)
    );
    let unlive = d["unlive_payments"].as_array().unwrap();
    assert_eq!(unlive.len(), 1);
    assert_eq!(
        (unlive[0]["method"].as_str(), unlive[0]["liveness"].as_str()),
        (Some("supervisor_override"), Some("not_run"))
    );

    let (status, body) = call(
        &app,
        Request::get("/v1/admin/reallocations?format=csv")
            .header("authorization", "Bearer admin")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.starts_with("roster_id,recipient,nik,name,post_office,amount,reason,note,first_receipt,reports,status")
    );
    assert!(text.contains("3171010101900002,Barack Obama,jakarta-10110,600000,deceased,died in October,"), "{text}");
    assert!(text.contains(",1,queued,"), "one report, queued: {text}");
    assert_eq!(
        call(&app, Request::get("/v1/admin/reallocations").body(Body::empty()).unwrap()).await.0,
        StatusCode::UNAUTHORIZED
    );

    let (status, page) = call(&app, Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the dashboard is behind login");
    assert!(String::from_utf8(page).unwrap().contains("/v1/login"));
    let (status, page) =
        call(&app, Request::get("/").header("authorization", "Bearer admin").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8(page).unwrap().contains("/v1/dashboard"));

    // The summaries the dashboard reads were kept by ingestion and import; a re-import moves Kit
    // (not at home) to another post office with another amount. Recomputing every summary from
    // the base tables must give the same dashboard.
    let db = backend.storage.open().await.unwrap();
    let kit = salur_server::domain::roster::RosterRow {
        nik: "3171010101900003".into(),
        name: "Kit Harington".into(),
        address: "Jl. Sudirman 3".into(),
        province: "32".into(),
        regency: "3273".into(),
        district: "327301".into(),
        village: "3273011001".into(),
        post_office: "bandung-40111".into(),
        amount: 900_000,
        period: "blt-2026-11".into(),
        worker_id: "pos-7".into(),
        photo: None,
        kk_members: None,
    };
    db.put_recipient(&kit, None).await.unwrap();
    let kept = serde_json::to_value(db.dashboard(Some("blt-2026-11")).await.unwrap()).unwrap();
    assert_eq!(kept["areas"].as_array().unwrap().len(), 3, "Bandung appears");
    db.rebuild_summaries(true).await.unwrap();
    let rebuilt = serde_json::to_value(db.dashboard(Some("blt-2026-11")).await.unwrap()).unwrap();
    assert_eq!(kept, rebuilt);
}

/// A one-time enrolment code for `worker_id` at jakarta-10110, issued over the API.
async fn enrolment_code(app: &axum::Router, worker_id: &str) -> String {
    let body = json!({ "worker_id": worker_id, "post_office": "jakarta-10110" }).to_string();
    let req = Request::post("/v1/admin/enrolments")
        .header("authorization", "Bearer admin")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 16).await.unwrap();
    serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()["code"].as_str().unwrap().to_string()
}

/// The problems an operations officer's spreadsheet brings, each named with its line and column;
/// a semicolon CSV with dotted amounts imports; a dry run writes nothing; a missing photo folder
/// stops the import before anything happens.
#[test]
fn a_messy_spreadsheet_is_checked_row_by_row_and_a_dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_salur"))
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .output()
            .unwrap()
    };
    let csv = dir.path().join("roster.csv");
    std::fs::write(
        &csv,
        "nik;name;address;province;regency;district;village;post_office;amount;period;worker_id\n\
         3171010101900001;Siti;Jl. A 1;31;3171;317101;3171011001;jakarta-10110;600.000;blt-2026-11;pos-1\n\
         3171010101900001;Siti Lagi;Jl. A 9;31;3171;317101;3171011001;jakarta-10110;900000;blt-2026-11;pos-1\n\
         3171010101900003;Budi;Jl. A 3;31;3171;317101;3171011001;jakarta-10110;18446744073709551615;blt-2026-11;pos-1\n\
         3171010101900004;Ani;Jl. A 4;31;3171;317101;3171011001;jakarta-10110;1;blt-2026-11;pos-1\n\
         3171010101900005;Dewi;Jl. A 5;99;9999;317101;3171011001;jakarta-10110;600000;blt-2026-11;pos-1\n\
         3171010101900006;Eko;Jl. A 6;31;3273;317101;3171011001;jakarta-10110;600000;blt-2026-11;pos-1\n\
         0000000000000000;Nol;Jl. A 7;31;3171;317101;3171011001;jakarta-10110;600000;blt-2026-11;pos-1\n\
         3273010101900008;Fajar;Jl. A 8;31;3171;317101;3171011001;jakarta-10110;Rp600.000;blt-2026-11;pos-1\n",
    )
    .unwrap();
    let said =
        |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    let dry = run(&["import-roster", csv.to_str().unwrap(), "--dry-run"]);
    let text = said(&dry);
    assert_eq!(dry.status.code(), Some(1), "{text}");
    assert!(!data.exists(), "a dry run makes no database: {text}");
    for expected in [
        "DRY RUN, nothing written",
        "6 of the file's rows have problems",
        "line 3: refused: column nik: the same NIK as line 2",
        "line 4: refused: column amount: Rp18.446.744.073.709.551.615 is outside",
        "line 5: refused: column amount: Rp1 is outside Rp50.000 to Rp10.000.000",
        "line 6: refused: column province: \"99\" is no province code",
        "line 7: refused: columns province and regency: regency 3273 is not in province 31",
        "line 8: refused: column nik: a NIK starts with its province code, never 00",
        "line 9: note: NIK issued in regency 3273 but listed in 3171",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in: {text}");
    }
    // The same file for real: nothing is imported while any row is wrong.
    let real = run(&["import-roster", csv.to_str().unwrap(), "--json"]);
    assert_eq!(real.status.code(), Some(1));
    let summary: serde_json::Value = serde_json::from_slice(&real.stdout).unwrap();
    assert_eq!((summary["imported"].as_u64(), summary["refused"].as_array().map(Vec::len)), (Some(0), Some(6)));
    // Only the good rows (a semicolon file, dotted amounts): imported; then the same recipients
    // again with Siti's amount and name changed: the dry run lists the change, values only for
    // the amount.
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let good = dir.path().join("good.csv");
    std::fs::write(&good, [lines[0], lines[1], lines[8]].join("\n")).unwrap();
    let first = run(&["import-roster", good.to_str().unwrap(), "--json"]);
    let summary: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    // Both new: the refused import above wrote nothing.
    assert_eq!((summary["imported"].as_u64(), summary["added"].as_u64()), (Some(2), Some(2)), "{summary}");
    std::fs::write(
        &good,
        [lines[0], &lines[1].replace("Siti;", "Siti Aminah;").replace("600.000", "900000"), lines[8]].join("\n"),
    )
    .unwrap();
    let change = run(&["import-roster", good.to_str().unwrap(), "--dry-run"]);
    let text = said(&change);
    assert!(change.status.success(), "{text}");
    assert!(text.contains("would import 2 recipients (0 new, 1 changed"), "{text}");
    assert!(text.contains("line 2: changes a recipient already imported: amount Rp600.000 -> Rp900.000"), "{text}");
    assert!(text.contains("line 2: changes a recipient already imported: name changes"), "{text}");
    assert!(!text.contains("Aminah"), "no names in the change list: {text}");
    // An Excel workbook: its first sheet, numbers as numbers, lines as the sheet's rows; a NIK
    // typed into a number cell has lost its last digit in Excel and is refused with what to do.
    let xlsx = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/roster/roster.xlsx");
    let book = run(&["import-roster", xlsx.to_str().unwrap(), "--dry-run"]);
    let text = said(&book);
    assert_eq!(book.status.code(), Some(1), "{text}");
    assert!(text.contains("1 of the file's rows have problems") && text.contains("2 rows are ready"), "{text}");
    assert!(text.contains("line 4: refused: column nik: the NIK is stored as a number"), "{text}");
    // A photo folder that is not there stops the import before anything is read or written.
    let missing = run(&["import-roster", csv.to_str().unwrap(), "--photos", "/nope"]);
    assert!(!missing.status.success() && said(&missing).contains("the photo folder /nope does not exist"));
    // A group photo is no reference, and a row whose photo is missing is named.
    let photos = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/faces");
    let group = std::fs::read_dir(photos.join("multi")).unwrap().next().unwrap().unwrap().file_name();
    let csv = dir.path().join("photos.csv");
    std::fs::write(
        &csv,
        format!(
            "{HEADER}\n3171010101900011,Group,Jl. B 1,31,3171,317101,3171011001,jakarta-10110,600000,blt-2026-11,pos-1,multi/{}\n\
             3171010101900012,Nobody,Jl. B 2,31,3171,317101,3171011001,jakarta-10110,600000,blt-2026-11,pos-1,\n",
            group.to_string_lossy()
        ),
    )
    .unwrap();
    let checked = run(&["import-roster", csv.to_str().unwrap(), "--photos", photos.to_str().unwrap(), "--dry-run"]);
    let text = said(&checked);
    assert_eq!(checked.status.code(), Some(1), "{text}");
    assert!(text.contains("line 2: refused: column photo:") && text.contains("faces: crop it"), "{text}");
    assert!(text.contains("line 3: no template (no photo 3171010101900012.jpg or 3171010101900012.png"), "{text}");
}
