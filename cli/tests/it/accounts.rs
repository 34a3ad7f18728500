//! `salur users …`, `salur audit verify` and the bootstrap token file, through the real binary:
//! accounts on both backends, a tampered audit log in a real SQLite file, and `salur serve`
//! printing and accepting the token its file holds.

use crate::common;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use salur_server::{router, AppState};
use serde_json::Value;
use sqlx::Connection;
use tower::ServiceExt;

fn salur(args: &[&str], db: &[String], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_salur"))
        .args(args)
        .args(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

async fn status_with(app: &axum::Router, token: &str, uri: &str) -> StatusCode {
    let req = Request::get(uri).header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap();
    app.clone().oneshot(req).await.unwrap().status()
}

#[tokio::test]
async fn users_are_added_listed_given_tokens_changed_and_disabled_and_each_change_is_audited() {
    for backend in common::backends().await {
        common::set_up(&backend.storage);
        let db = backend.cli_args();
        let name = backend.name;
        let added = salur(&["users", "add", "ana", "--role", "approver"], &db, None);
        assert!(added.status.success(), "{name}: {}", String::from_utf8_lossy(&added.stderr));
        let made = stdout(&added).trim().to_string();
        assert_eq!(made.len(), 24, "{name}: a made password is printed once: {made}");
        let own = salur(
            &["users", "add", "budi", "--role", "viewer", "--password-stdin"],
            &db,
            Some("budi's own passphrase\n"),
        );
        assert!(own.status.success() && stdout(&own).is_empty(), "{name}: nothing printed for a given password");
        let short = salur(&["users", "add", "citra", "--role", "viewer", "--password-stdin"], &db, Some("short\n"));
        assert_eq!(short.status.code(), Some(2), "{name}: a short password is refused");
        let bad_role = salur(&["users", "add", "dewi", "--role", "root"], &db, None);
        assert_eq!(bad_role.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&bad_role.stderr).contains("administrator, approver"), "{name}: roles named");
        assert_eq!(salur(&["users", "add", "ana", "--role", "viewer"], &db, None).status.code(), Some(2), "taken");

        let list = salur(&["users", "list", "--json"], &db, None);
        let users: Value = serde_json::from_slice(&list.stdout).unwrap();
        let roles: Vec<(&str, &str)> = users["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| (u["name"].as_str().unwrap(), u["role"].as_str().unwrap()))
            .collect();
        assert_eq!(roles, [("ana", "approver"), ("budi", "viewer")], "{name}");
        assert!(!stdout(&list).contains("argon2"), "no password hashes listed");

        let token = stdout(&salur(&["users", "token", "ana"], &db, None)).trim().to_string();
        assert!(token.starts_with("salur_"), "{name}: {token}");
        let app = router(AppState::new(backend.storage.open().await.unwrap(), ""));
        assert_eq!(status_with(&app, &token, "/v1/admin/devices").await, StatusCode::OK, "{name}: the new token works");
        let passwd = salur(&["users", "passwd", "budi", "--password-stdin"], &db, Some("budi's next passphrase\n"));
        assert!(passwd.status.success());
        assert!(salur(&["users", "disable", "ana"], &db, None).status.success());
        assert_eq!(status_with(&app, &token, "/v1/admin/devices").await, StatusCode::UNAUTHORIZED, "{name}: disabled");
        assert_eq!(salur(&["users", "token", "nobody"], &db, None).status.code(), Some(2));

        let verify = salur(&["audit", "verify", "--json"], &db, None);
        assert_eq!(verify.status.code(), Some(0), "{name}: {}", stdout(&verify));
        let report: Value = serde_json::from_slice(&verify.stdout).unwrap();
        assert_eq!(report["entries"], 5, "{name}: add, add, token, passwd, disable: {report}");
        let db_handle = backend.storage.open().await.unwrap();
        let actions: Vec<String> = db_handle
            .audit_entries(0, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| format!("{} {}", e.action, e.actor))
            .collect();
        assert_eq!(
            actions,
            ["user_added cli", "user_added cli", "token_created cli", "password_changed cli", "user_disabled cli"]
        );
        let all = format!("{:?}", db_handle.audit_entries(0, 100).await.unwrap());
        assert!(!all.contains(&made) && !all.contains(&token) && !all.contains("passphrase"), "no secrets logged");
    }
}

/// Runs `salur audit verify` on a copy of `data` after `tamper` ran on the copy's database.
async fn verify_after(data: &std::path::Path, tamper: &str) -> (Option<i32>, String) {
    let copy = tempfile::tempdir().unwrap();
    for file in ["salur.db", "seal.key"] {
        std::fs::copy(data.join(file), copy.path().join(file)).unwrap();
    }
    let url = format!("sqlite://{}", copy.path().join("salur.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(tamper.to_string())).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    let out = salur(&["audit", "verify"], &["--data-dir".into(), copy.path().display().to_string()], None);
    (out.status.code(), stdout(&out))
}

#[tokio::test]
async fn salur_audit_verify_names_the_first_entry_after_an_edit_or_a_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::set_up_dir(&data);
    let db = vec!["--data-dir".to_string(), data.display().to_string()];
    for user in ["u1", "u2", "u3", "u4"] {
        assert!(salur(&["users", "add", user, "--role", "viewer"], &db, None).status.success());
    }
    // A checkpoint: all writes in the main file, so a byte-for-byte copy is the whole database.
    let mut conn =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", data.join("salur.db").display())).await.unwrap();
    sqlx::raw_sql("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    let intact = salur(&["audit", "verify"], &db, None);
    assert_eq!(intact.status.code(), Some(0), "{}", stdout(&intact));
    assert!(stdout(&intact).contains("intact: 4 entries"), "{}", stdout(&intact));

    let (code, out) = verify_after(&data, "UPDATE audit_log SET target = 'mallory' WHERE seq = 2").await;
    assert_eq!((code, out.contains("BROKEN at entry 3")), (Some(1), true), "an edited entry: {out}");
    let (code, out) = verify_after(&data, "DELETE FROM audit_log WHERE seq = 2").await;
    assert_eq!((code, out.contains("BROKEN at entry 3")), (Some(1), true), "a deleted entry: {out}");
    let (code, out) = verify_after(&data, "DELETE FROM audit_log WHERE seq = 4").await;
    assert_eq!(code, Some(1), "the last entry deleted: {out}");
    let (code, out) = verify_after(&data, "UPDATE audit_log SET actor = 'someone' WHERE seq = 4").await;
    assert_eq!(code, Some(1), "the last entry edited: {out}");
    // Deleted and the rest renumbered, head moved to match: the chain of hashes still breaks.
    let renumber = "DELETE FROM audit_log WHERE seq = 2; UPDATE audit_log SET seq = seq - 1 WHERE seq > 2;
                    UPDATE audit_head SET seq = 3";
    let (code, out) = verify_after(&data, renumber).await;
    assert_eq!((code, out.contains("BROKEN at entry 2")), (Some(1), true), "renumbered: {out}");
}

fn serve(data: &std::path::Path, port: u16) -> std::process::Child {
    let child = Command::new(env!("CARGO_BIN_EXE_salur"))
        .args(["serve", "--data-dir"])
        .arg(data)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env_remove("SALUR_ADMIN_TOKEN")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "salur serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

async fn devices_status(port: u16, token: &str) -> u16 {
    common::net::http()
        .get(format!("http://127.0.0.1:{port}/v1/admin/devices"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_bootstrap_token_file_holds_exactly_the_token_to_send() {
    // A fresh data folder: the file is made, owner-only, and its text is the bearer token.
    let dir = tempfile::tempdir().unwrap();
    let port = common::net::free_port();
    let mut server = serve(dir.path(), port);
    let text = std::fs::read_to_string(dir.path().join("admin-token")).unwrap();
    let token = text.trim();
    assert_eq!(token.len(), 64, "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("admin-token")).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "only the owner reads the token");
    }
    assert_eq!(devices_status(port, token).await, 200);
    assert_eq!(devices_status(port, &hex::encode(token)).await, 401);
    server.kill().unwrap();
    let out = server.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("Authorization: Bearer $(cat") && !said.contains(token), "{said}");

    // A file from before (32 raw bytes, whose hex was the token): rewritten as that hex, which
    // keeps working.
    let old = tempfile::tempdir().unwrap();
    let raw = [7u8; 32];
    std::fs::write(old.path().join("admin-token"), raw).unwrap();
    let port = common::net::free_port();
    let mut server = serve(old.path(), port);
    assert_eq!(std::fs::read_to_string(old.path().join("admin-token")).unwrap().trim(), hex::encode(raw));
    assert_eq!(devices_status(port, &hex::encode(raw)).await, 200);
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn salur_purge_refuses_a_too_short_retention_reports_a_dry_run_and_logs_a_real_one() {
    let dir = tempfile::tempdir().unwrap();
    common::set_up_dir(&dir.path().join("data"));
    let db = vec!["--data-dir".to_string(), dir.path().join("data").display().to_string()];
    let out = salur(&["purge", "--days", "7"], &db, None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 30 days"), "{out:?}");
    let out = salur(&["purge", "--days", "90", "--dry-run", "--json"], &db, None);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((report["dry_run"].as_bool(), report["evidence_deleted"].as_u64()), (Some(true), Some(0)));
    let out = salur(&["purge", "--days", "90"], &db, None);
    assert!(stdout(&out).contains("deleted 0 evidence crop(s)"), "{}", stdout(&out));
    let out = salur(&["audit", "verify", "--json"], &db, None);
    let audit: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(audit["entries"], 1, "the real purge is logged, the dry run is not");
}

#[tokio::test]
async fn salur_devices_enrol_prints_a_one_time_code_with_its_qr_that_registers_one_phone() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::set_up_dir(&data);
    let db = vec!["--data-dir".to_string(), data.display().to_string()];
    let svg = dir.path().join("code.svg");
    let svg_arg = svg.display().to_string();
    let png = dir.path().join("code.png");
    let png_arg = png.display().to_string();
    // No roster names pos-1 yet: a typo would make a phone that downloads nothing, so it is refused.
    let out = salur(&["devices", "enrol", "--worker", "pos-1", "--post-office", "jakarta-10110"], &db, None);
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("worker pos-1") && said.contains("--allow-unknown"), "{said}");
    let enrol = [
        "devices",
        "enrol",
        "--worker",
        "pos-1",
        "--post-office",
        "jakarta-10110",
        "--allow-unknown",
        "--json",
        "--svg",
        &svg_arg,
        "--png",
        &png_arg,
    ];
    let out = salur(&enrol, &db, None);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let code = answer["code"].as_str().unwrap().to_string();
    assert!(code.len() == 11 && code.as_bytes()[5] == b'-', "{code}");
    assert!(answer["expires"].as_str().unwrap().ends_with(" WIB"), "{answer}");
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"), "a printable QR code");
    // The QR code carries the worker and post office with the code: read back from the PNG's
    // pixels by the phone's own scanner, it names all three.
    let picture = image::open(&png).unwrap().to_luma8();
    let (w, h) = picture.dimensions();
    let read = salur_core::letter::scan_for(picture.as_raw(), w, h, w, &|_| true, "none").unwrap();
    assert_eq!(read, answer["qr_text"].as_str().unwrap());
    let invite = salur_core::enrolment_qr::EnrolmentInvite::from_qr_text(&read).unwrap();
    assert_eq!(
        (invite.code.as_str(), invite.worker_id.as_str(), invite.post_office.as_str()),
        (code.as_str(), "pos-1", "jakarta-10110")
    );
    let text = salur(
        &["devices", "enrol", "--worker", "pos-2", "--post-office", "jakarta-10110", "--allow-unknown"],
        &db,
        None,
    );
    assert!(stdout(&text).contains('█') || stdout(&text).contains('▀'), "a QR code in the terminal");
    assert!(stdout(&text).contains("Pindai kode pendaftaran"));
    // The expiry is a time of day, not only a date: "valid until 7 Desember 2026, 14.52 WIB".
    let until = stdout(&text);
    assert!(
        until.contains("valid until") && until.contains(" WIB") && until.contains(", ") && until.contains('.'),
        "{until}"
    );
    let refused =
        salur(&["devices", "enrol", "--worker", "pos-1", "--post-office", "x", "--ttl-minutes", "0"], &db, None);
    assert_eq!(refused.status.code(), Some(2));

    // The code registers a phone once; the log names the issue, never the code.
    let store = salur_server::Storage::Dir(data.clone()).open().await.unwrap();
    let app = router(AppState::new(store.clone(), "admin").allow_unattested_devices(true));
    let phone = common::phone::Phone::new("dev-enrolled");
    let (status, _) = common::phone::call(&app, phone.registration(&code)).await;
    assert_eq!(status, StatusCode::CREATED);
    let again = common::phone::Phone::new("dev-second");
    assert_eq!(common::phone::call(&app, again.registration(&code)).await.0, StatusCode::FORBIDDEN, "used once");
    let log = format!("{:?}", store.audit_entries(0, 100).await.unwrap());
    assert!(log.contains("enrolment_issued") && !log.contains(&code), "{log}");

    // The approver's other commands on that phone: list, approve, revoke, export, each logged.
    let out = salur(&["devices", "list"], &db, None);
    let listed = stdout(&out);
    assert!(listed.contains("dev-enrolled") && listed.contains("pending"), "{listed}");
    assert!(listed.contains("waiting for an approver"), "{listed}");
    let out = salur(&["devices", "approve", "dev-enrolled"], &db, None);
    assert!(out.status.success() && stdout(&out).contains("approved"), "{out:?}");
    let out = salur(&["devices", "list", "--json"], &db, None);
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["devices"][0]["status"], "approved", "{listed}");
    let out = salur(&["devices", "revoke", "dev-enrolled"], &db, None);
    assert!(out.status.success() && stdout(&out).contains("revoked"), "{out:?}");
    let bundle = dir.path().join("bundle.json");
    let out = salur(&["devices", "export", "dev-enrolled", "--out", &bundle.display().to_string()], &db, None);
    assert!(out.status.success() && stdout(&out).contains("verify-chain --bundle"), "{out:?}");
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    assert_eq!(written["format"], "salur-device-export-1");
    assert_eq!(written["device"]["device_id"], "dev-enrolled");
    let out = salur(&["devices", "approve", "dev-nope"], &db, None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no device dev-nope"), "{out:?}");

    // What the revoked phone still hands in is held until an auditor counts or refuses it.
    let receipt = phone.receipt(|_| {});
    assert_eq!(common::phone::call(&app, phone.upload(&[&receipt])).await.0, StatusCode::OK);
    let out = salur(&["devices", "held"], &db, None);
    let listed = stdout(&out);
    assert!(listed.contains("dev-enrolled") && listed.contains("1 waiting"), "{listed}");
    let out = salur(&["devices", "held", "--json"], &db, None);
    let held: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = held["held"][0]["receipt_id"].as_str().unwrap().to_string();
    let out = salur(&["devices", "count", &id, "--note", " "], &db, None);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("say why"), "{out:?}");
    // Its recipient is on no roster here: counting it would hide that, so it is refused.
    let out = salur(&["devices", "count", &id, "--note", "the worker's logbook shows it"], &db, None);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not on the roster"), "{out:?}");
    let out = salur(&["devices", "refuse", &id, "--note", "no such recipient on any roster"], &db, None);
    assert!(out.status.success() && stdout(&out).contains("refused"), "{out:?}");
    let out = salur(&["devices", "count", &id, "--note", "changed my mind"], &db, None);
    assert_eq!(out.status.code(), Some(2), "decided once: {out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("decided already"), "{out:?}");
    assert!(stdout(&salur(&["devices", "held"], &db, None)).contains("refuse by cli"));
    let log = format!("{:?}", store.audit_entries(0, 100).await.unwrap());
    for action in ["device_approved", "device_revoked", "device_exported", "held_receipt_decided"] {
        assert!(log.contains(action), "{action}: {log}");
    }
}

#[test]
fn salur_devices_enrol_knows_the_workers_and_post_offices_of_the_imported_rosters() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::set_up_dir(&data);
    let db = vec!["--data-dir".to_string(), data.display().to_string()];
    let csv = dir.path().join("roster.csv");
    std::fs::write(
        &csv,
        "nik,name,address,province,regency,district,village,post_office,amount,period,worker_id\n\
         3171010101900001,Siti,Jl. Merdeka 1,31,3171,317101,3171011001,jakarta-10110,600000,blt-2026-12,pos-1\n",
    )
    .unwrap();
    let out = salur(&["import-roster", &csv.display().to_string()], &db, None);
    assert!(out.status.success(), "{out:?}");
    let enrol = |worker: &str, office: &str| {
        salur(&["devices", "enrol", "--worker", worker, "--post-office", office], &db, None)
    };
    assert_eq!(enrol("pos-1", "jakarta-10110").status.code(), Some(0));
    for (worker, office, said) in [
        ("pos-9", "jakarta-10110", "no imported roster names worker pos-9"),
        ("pos-1", "bandung-40111", "no imported roster names post office bandung-40111"),
    ] {
        let out = enrol(worker, office);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.code() == Some(2) && err.contains(said), "{worker} {office}: {err}");
    }
}

#[test]
fn commands_from_the_wrong_folder_say_where_they_looked_and_make_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("not-the-data");
    let said = |o: &Output| stdout(o) + &String::from_utf8_lossy(&o.stderr);
    let reading: [&[&str]; 5] = [
        &["audit", "verify"],
        &["letter", "public-key"],
        &["users", "list"],
        &["supervisor", "add", "sup-1", "--post-office", "jakarta-10110"],
        &["close-period", "--roster", "blt-2026-11"],
    ];
    for args in reading {
        let out = salur(args, &["--data-dir".into(), wrong.display().to_string()], None);
        assert_ne!(out.status.code(), Some(0), "{args:?}: {}", said(&out));
        assert!(
            said(&out).contains("no Salur data in") && said(&out).contains("not-the-data"),
            "{args:?}: {}",
            said(&out)
        );
        assert!(!wrong.exists(), "{args:?} made the folder");
    }
    // An empty folder is no data folder either, and stays empty.
    std::fs::create_dir(&wrong).unwrap();
    let out = salur(&["audit", "verify"], &["--data-dir".into(), wrong.display().to_string()], None);
    assert!(!out.status.success() && said(&out).contains("no salur.db"), "{}", said(&out));
    assert!(std::fs::read_dir(&wrong).unwrap().next().is_none());
    // A viewer's account cannot set a server up; the first administrator's can, and says so.
    let right = dir.path().join("data");
    let out =
        salur(&["users", "add", "v", "--role", "viewer"], &["--data-dir".into(), right.display().to_string()], None);
    assert!(!out.status.success() && !right.exists(), "{}", said(&out));
    let with_env = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_salur")).args(args).env("SALUR_DATA_DIR", &right).output().unwrap()
    };
    let out = with_env(&["users", "add", "root", "--role", "administrator"]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("set up a new database"), "{}", said(&out));
    // SALUR_DATA_DIR names the folder for every command; each says which data it used.
    let out = with_env(&["audit", "verify"]);
    assert!(out.status.success() && stdout(&out).contains("intact"), "{}", said(&out));
    let used = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(used.contains("using the data in") && used.contains(&right.display().to_string()), "{used}");
}
