//! The dashboard page in headless Chromium against `salur serve` on loopback: without a session
//! it is the login form; after a real login (typed into the form, a wrong password first) it
//! shows the numbers in the database, new ones after an upload, and logging out ends it. On
//! SQLite and PostgreSQL.

use crate::common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use salur_core::crypto::DataKey;
use salur_core::keys::{FixedKey, Signer, SoftwareSigner};
use salur_core::receipt::{Outcome, Times};
use salur_core::store::{Draft, Store};
use salur_server::{router, AppState};
use serde_json::json;
use tower::ServiceExt;

use crate::common::browser::{Browser, CHROMIUM};

const PASSWORD: &str = "dashboard viewer passphrase";

/// The page's DOM after its scripts ran (Chromium's virtual time lets the fetch finish).
fn rendered(url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=4000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .stderr(Stdio::null())
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

fn signed(signer: &SoftwareSigner, method: &str, uri: &str, body: Vec<u8>) -> Request<Body> {
    common::signed_request(signer, "dev-b", method, uri, body)
}

#[tokio::test]
async fn the_dashboard_shows_the_database_and_follows_uploads() {
    if !std::path::Path::new(CHROMIUM).exists() {
        assert!(std::env::var_os("CI").is_none(), "{CHROMIUM} missing: scripts/test.sh installs Debian's chromium");
        eprintln!("{CHROMIUM} missing: browser test skipped (scripts/test.sh installs it)");
        return;
    }
    // A second roster named for this month (its period runs now), imported first so that the
    // November roster is the newest and shown by default.
    let this_month = salur_core::dates::civil_date(salur_core::dates::wib_day(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64,
    ));
    let (this_month, today) = (format!("blt-{}", &this_month[..7]), this_month[8..10].parse::<usize>().unwrap());
    for backend in common::backends().await {
        let dir = tempfile::tempdir().unwrap();
        let current = dir.path().join("current.csv");
        std::fs::write(
            &current,
            format!(
                "nik,name,address,province,regency,district,village,post_office,amount,period,worker_id\n\
                 3171010101900011,Wati,Jl. C 1,31,3171,317101,3171011001,jakarta-10110,600000,{this_month},pos-b\n\
                 3171010101900012,Joko,Jl. C 2,31,3171,317101,3171011001,jakarta-10110,600000,{this_month},pos-b\n"
            ),
        )
        .unwrap();
        let status = Command::new(env!("CARGO_BIN_EXE_salur"))
            .arg("import-roster")
            .arg(&current)
            .args(backend.cli_args())
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        std::thread::sleep(Duration::from_millis(5));
        let csv = dir.path().join("roster.csv");
        std::fs::write(
            &csv,
            "nik,name,address,province,regency,district,village,post_office,amount,period,worker_id\n\
             3171010101900001,Siti,Jl. A 1,31,3171,317101,3171011001,jakarta-10110,600000,blt-2026-11,pos-b\n\
             3171010101900002,Budi,Jl. A 2,31,3171,317101,3171011001,jakarta-10110,600000,blt-2026-11,pos-b\n\
             3171010101900003,Ani,Jl. B 3,31,3171,317102,3171021001,jakarta-10220,600000,blt-2026-11,pos-b\n",
        )
        .unwrap();
        let status = Command::new(env!("CARGO_BIN_EXE_salur"))
            .arg("import-roster")
            .arg(&csv)
            .args(backend.cli_args())
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        for (name, role) in [("web", "viewer"), ("appr", "approver"), ("aud", "auditor")] {
            let mut add = Command::new(env!("CARGO_BIN_EXE_salur"))
                .args(["users", "add", name, "--role", role, "--password-stdin"])
                .args(backend.cli_args())
                .stdin(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::io::Write::write_all(&mut add.stdin.take().unwrap(), format!("{PASSWORD}\n").as_bytes()).unwrap();
            assert!(add.wait().unwrap().success());
        }

        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // The post office's name comes from the operator; provinces and regencies are bundled.
        let names = dir.path().join("names.csv");
        std::fs::write(&names, "post_office,jakarta-10220,KPC Jakarta Selatan 10220\n").unwrap();
        // Killed when the test ends, also when it fails: a server left running would hold the test
        // command's output pipe open and stall it.
        let _server = StopOnDrop(
            Command::new(env!("CARGO_BIN_EXE_salur"))
                .arg("serve")
                .args(backend.cli_args())
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .arg("--area-names")
                .arg(&names)
                .env("SALUR_ADMIN_TOKEN", "admin")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "salur serve did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let url = format!("http://127.0.0.1:{port}/");

        // No session: the login form, and none of the data.
        let anonymous = rendered(&url);
        assert!(anonymous.contains("id=\"login\"") && !anonymous.contains("blt-2026-11"), "{anonymous}");

        let mut browser = Browser::start().await;
        browser.navigate(&url).await;
        browser.wait_for("document.getElementById('login')", "the login form").await;
        let log_in_as = |name: &str, password: &str| {
            format!(
                "document.getElementById('name').value = '{name}'; document.getElementById('password').value = '{password}';
                 document.getElementById('login').requestSubmit(); true"
            )
        };
        browser.eval(&log_in_as("web", "not the passphrase")).await;
        browser.wait_for("document.getElementById('error').textContent.includes('Gagal')", "the refusal").await;
        browser.eval(&log_in_as("web", PASSWORD)).await;
        let before = browser.wait_for("document.body.innerText.includes('0 / 3')", "the dashboard after login").await;
        assert!(before.contains("blt-2026-11"), "{}: page did not load its data: {before}", backend.name);
        assert!(before.contains("KPC Jakarta Selatan 10220 (jakarta-10220)"), "{before}");
        assert!(before.contains("DKI JAKARTA (31)") && before.contains("KOTA JAKARTA SELATAN (3171)"));
        assert!(!before.contains("3171010101900001") && !before.contains("Siti"), "no NIK or name on the page");
        browser.wait_for("document.getElementById('user').textContent === 'web (viewer)'", "who is logged in").await;
        assert_eq!(browser.eval("document.cookie.includes('salur_session')").await, json!(false), "HttpOnly");

        // A phone uploads two payments through a second instance over the same database.
        let app = router(AppState::new(backend.storage.open().await.unwrap(), "admin").allow_unattested_devices(true));
        let signer = SoftwareSigner::generate().unwrap().0;
        let reg = json!({ "device_id": "dev-b", "worker_id": "pos-b", "post_office": "jakarta-10110",
                          "public_key": B64.encode(signer.public_key_spki().unwrap()),
                          "enrolment_code": enrolment_code(&app, "pos-b").await });
        let res = app
            .clone()
            .oneshot(signed(&signer, "POST", "/v1/devices", serde_json::to_vec(&reg).unwrap()))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let approve = Request::post("/v1/admin/devices/dev-b/approve")
            .header("authorization", "Bearer admin")
            .body(Body::empty())
            .unwrap();
        assert_eq!(app.clone().oneshot(approve).await.unwrap().status(), StatusCode::OK);
        let roster = app.clone().oneshot(signed(&signer, "GET", "/v1/roster/blt-2026-11", vec![])).await.unwrap();
        let roster: serde_json::Value =
            serde_json::from_slice(&axum::body::to_bytes(roster.into_body(), 1 << 20).await.unwrap()).unwrap();
        let reference = |nik: &str| {
            let entry = roster["recipients"].as_array().unwrap().iter().find(|e| e["nik"] == nik).unwrap();
            hex::decode(entry["recipient"].as_str().unwrap()).unwrap()
        };
        let phone = tempfile::tempdir().unwrap();
        let store = Store::open(&phone.path().join("p.db"), &FixedKey(DataKey::generate().unwrap())).unwrap();
        store.set_device("dev-b", "pos-b", &signer).unwrap();
        let draft_for = |nik: &str| {
            let nov_10_noon_wib =
                salur_server::domain::targets::days_from_civil(2026, 11, 10) * 86_400_000 + 5 * 3_600_000;
            Draft {
                roster_id: "blt-2026-11".into(),
                recipient: reference(nik),
                amount: 600_000,
                outcome: Outcome::Paid,
                evidence: None,
                evidence_jpeg: None,
                // Paid on 10 November (WIB noon), inside the roster's period.
                time: Times { wall_ms: nov_10_noon_wib, mono_ms: 1, offset_ms: 0 },
                location: None,
                received_in_full: None,
                kuasa_jpeg: None,
                card_jpeg: None,
                card_face_jpeg: None,
                enrolled_template: None,
            }
        };
        let receipts: Vec<String> = ["3171010101900001", "3171010101900003"]
            .iter()
            .map(|nik| B64.encode(store.record(&signer, draft_for(nik)).unwrap().bytes))
            .collect();
        let body = serde_json::to_vec(&json!({ "receipts": receipts })).unwrap();
        assert_eq!(
            app.clone().oneshot(signed(&signer, "POST", "/v1/receipts", body)).await.unwrap().status(),
            StatusCode::OK
        );

        // The page refreshes itself every few seconds.
        let after = browser.wait_for("document.body.innerText.includes('2 / 3')", "2 of 3 paid after the upload").await;
        // A viewer sees the devices but no approve or revoke button.
        let buttons = browser.eval("document.querySelectorAll('button.device-action').length").await;
        assert_eq!(buttons, json!(0), "{}: a viewer got device buttons", backend.name);
        assert!(after.contains("Rp1.200.000"), "{}: paid amount: {after}", backend.name);
        // Both payments name no face at all: the server's panel lists them as without evidence.
        let checks = browser.eval("document.getElementById('server-checks').textContent").await;
        assert!(checks.as_str().unwrap().contains("tanpa bukti / no evidence: 2"), "{}: {checks}", backend.name);
        let listed = browser.eval("document.getElementById('server-unverified').rows.length").await;
        assert_eq!(listed, json!(2), "{}: {after}", backend.name);
        // The period's chart: November, paid so far (2 of 3 from the 10th) against the target line.
        let page = browser
            .wait_for("document.getElementById('progress-today')?.textContent.includes('66.7%')", "the chart's legend")
            .await;
        let legend = browser.eval("document.getElementById('progress-today').textContent").await;
        assert_eq!(
            legend,
            json!("2026-11-30: 66.7% penerima layak dibayar / of eligible recipients paid; target hari ini / today's target 100.0% (tertinggal / behind)"),
            "{}: {page}",
            backend.name
        );
        let points =
            browser.eval("document.getElementById('paid-line').getAttribute('points').split(' ').length").await;
        assert_eq!(points, json!(30), "one point a day of November");
        // One denominator, named: 2 paid of 3 eligible on the card, in the table and in the chart.
        let card = browser.eval("document.getElementById('paid-card').textContent").await;
        assert!(
            card.as_str().unwrap().contains("2 / 3") && card.as_str().unwrap().contains("3 terdaftar, 0 tidak layak"),
            "{card}"
        );
        // Each bar against the day's target the chart draws (100 % on November's last day): 10110
        // paid one of its two, behind (orange); 10220 its one, on track.
        let bars =
            browser.eval("[...document.querySelectorAll('#rows .bar')].map(b => b.classList.contains('behind'))").await;
        assert_eq!(bars, json!([true, false]), "{}: bar and chart agree", backend.name);
        let period = browser.eval("document.getElementById('period').textContent").await;
        assert_eq!(period, json!("(2026-11-01 – 2026-11-30)"));
        // Logging out (a POST with the CSRF token) ends the session: back to the form, also after a reload.
        browser.eval("document.getElementById('logout').click(); true").await;
        browser.wait_for("document.getElementById('login')", "the login form after logout").await;
        browser.eval("location.reload(); true").await;
        browser
            .wait_for(
                "document.getElementById('login') && !document.body.innerText.includes('2 / 3')",
                "still logged out",
            )
            .await;

        // A second phone of the worker registered without a hardware key: it waits for an approver.
        let db = backend.storage.open().await.unwrap();
        let code = salur_server::domain::enrolment::new_code().unwrap();
        let hash = salur_server::domain::enrolment::code_hash(&code).unwrap();
        db.add_enrolment(&hash, "pos-b", "jakarta-10110", "test", salur_server::clock::now_ms() + 3_600_000)
            .await
            .unwrap();
        let spki = SoftwareSigner::generate().unwrap().0.public_key_spki().unwrap();
        let second = salur_server::store::NewDevice {
            device_id: "dev-c",
            worker_id: "pos-b",
            post_office: "jakarta-10110",
            spki: &spki,
            attestation: &[],
            security_level: salur_server::domain::attestation::SecurityLevel::None,
            attestation_version: None,
            challenge: None,
            status: salur_server::domain::devices::DeviceStatus::Pending,
            upload: None,
        };
        db.enrol_device(&second, &hash).await.unwrap();
        // The approver approves it on the page (the confirmation answered yes), then revokes the first.
        browser.eval(&log_in_as("appr", PASSWORD)).await;
        let approve = "document.querySelector('button.device-action[data-device=\"dev-c\"]')";
        browser.wait_for(&format!("{approve}?.textContent.includes('Setujui')"), "the approve button").await;
        browser.eval(&format!("window.confirm = () => true; {approve}.click(); true")).await;
        let status = |id: &'static str| {
            let db = db.clone();
            async move { db.device(id).await.unwrap().unwrap().status.as_str() }
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while status("dev-c").await != "approved" {
            assert!(Instant::now() < deadline, "{}: dev-c was not approved from the page", backend.name);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let revoke = "document.querySelector('button.device-action[data-device=\"dev-b\"]')";
        browser.wait_for(&format!("{revoke}?.textContent.includes('Cabut')"), "the revoke button").await;
        browser.eval(&format!("window.confirm = () => true; {revoke}.click(); true")).await;
        while status("dev-b").await != "revoked" {
            assert!(Instant::now() < deadline, "{}: dev-b was not revoked from the page", backend.name);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Each change and its entry commit together (store/devices.rs decide_device): once the
        // status reads back, its entry is there (the wait only bounds the read).
        let logged =
            |log: &str| ["device_approved", "device_revoked"].iter().all(|a| log.contains(a)) && log.contains("appr");
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut log = format!("{:?}", db.audit_entries(0, 200).await.unwrap());
        while !logged(&log) {
            assert!(
                Instant::now() < deadline,
                "{}: the approval and revocation are not both logged: {log}",
                backend.name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
            log = format!("{:?}", db.audit_entries(0, 200).await.unwrap());
        }

        // What the revoked phone still hands in is held: an auditor counts it from the page, with
        // the reasons the page asks for, and it counts from then on.
        let held = B64.encode(store.record(&signer, draft_for("3171010101900002")).unwrap().bytes);
        let body = serde_json::to_vec(&json!({ "receipts": [held] })).unwrap();
        assert_eq!(
            app.clone().oneshot(signed(&signer, "POST", "/v1/receipts", body)).await.unwrap().status(),
            StatusCode::OK
        );
        browser.eval("document.getElementById('logout').click(); true").await;
        browser.wait_for("document.getElementById('login')", "logged out").await;
        browser.eval(&log_in_as("aud", PASSWORD)).await;
        let count = "document.querySelector('button.held-action[data-decision=\"count\"]')";
        browser.wait_for(&format!("{count} !== null"), "the auditor's count button").await;
        let shown = browser.eval("document.getElementById('held-count').textContent").await;
        assert!(shown.as_str().unwrap_or_default().contains("1 menunggu"), "{}: {shown}", backend.name);
        browser
            .eval(&format!(
                "window.prompt = () => 'the worker logbook shows it before the loss'; {count}.click(); true"
            ))
            .await;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let listed = db.held_receipts(Some("blt-2026-11")).await.unwrap();
            if listed.iter().any(|h| h.decision.as_deref() == Some("count") && h.decided_by.as_deref() == Some("aud")) {
                break;
            }
            assert!(Instant::now() < deadline, "{}: not counted from the page: {listed:?}", backend.name);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        browser.wait_for("document.body.innerText.includes('3 / 3')", "3 of 3 paid once counted").await;

        // The roster picker: this month's roster, before any payment. The chart reads on its
        // first days: the target line across the whole month and a point for each day so far.
        browser
            .wait_for(&format!("document.querySelector('#roster option[value=\"{this_month}\"]')"), "the picker")
            .await;
        browser
            .eval(&format!(
                "const p = document.getElementById('roster'); p.value = '{this_month}'; \
                 p.dispatchEvent(new Event('change')); true"
            ))
            .await;
        let shown = browser
            .wait_for("document.getElementById('paid-card')?.textContent.includes('0 / 2')", "this month's roster")
            .await;
        assert!(shown.contains(&this_month), "{}", backend.name);
        let target =
            browser.eval("document.getElementById('target-line').getAttribute('points').split(' ').length").await;
        let days = browser.eval("document.getElementById('period').textContent").await;
        let last_day: u64 = days.as_str().unwrap().trim_end_matches(')').rsplit('-').next().unwrap().parse().unwrap();
        assert_eq!(target, json!(last_day), "{}: the target line spans the month ({days})", backend.name);
        let paid_points = browser.eval("document.querySelectorAll('#chart circle.paid-point').length").await;
        assert_eq!(paid_points, json!(today), "{}: a point for each day so far", backend.name);
        assert!(browser.eval("location.search").await.as_str().unwrap().contains(&this_month), "kept in the address");
        // On a 390 px phone the page never scrolls sideways (wide tables scroll in their box).
        browser.viewport(390, 844).await;
        browser.eval("location.reload(); true").await;
        browser
            .wait_for("document.getElementById('paid-card')?.textContent.includes('0 / 2')", "the reloaded page")
            .await;
        let wide = browser.eval("[document.documentElement.scrollWidth, window.innerWidth]").await;
        assert!(wide[0].as_u64() <= wide[1].as_u64(), "{}: the page is {wide} wide at 390 px", backend.name);
        let chart = browser.eval("document.getElementById('chart').getBoundingClientRect().width").await;
        assert!(chart.as_f64().unwrap() <= 390.0, "{}: the chart fits: {chart}", backend.name);
    }
}

/// A child process killed and reaped when dropped.
struct StopOnDrop(std::process::Child);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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
