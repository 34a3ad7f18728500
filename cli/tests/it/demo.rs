//! `salur demo` from an empty folder: the summary it prints matches the server's database and
//! the phone's store; nothing is stored twice; the impostor is not paid; every chain verifies.

use std::collections::BTreeSet;
use std::process::Command;

use salur_core::store::AuditLog;
use serde_json::Value;
use sqlx::{Connection, Row};

#[tokio::test]
async fn the_demo_summary_matches_the_databases() {
    let cwd = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_salur"))
        .args(["demo", "--json", "--data-dir"])
        .arg(data.path())
        .current_dir(cwd.path())
        // Every log line the server and the phone write, at debug level: none may hold a NIK.
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("[6/6]"), "progress goes to stderr");
    assert!(stderr.lines().filter(|l| l.contains("DEBUG")).count() > 20, "the debug log is on: {stderr}");
    let nik_like = stderr
        .split(|c: char| !c.is_ascii_digit())
        .filter(|run| run.len() == 16 && run.starts_with("3171"))
        .collect::<BTreeSet<_>>();
    assert!(nik_like.is_empty(), "NIKs in the log: {nik_like:?}");
    let s: Value = serde_json::from_slice(&out.stdout).expect("stdout is exactly one JSON object");
    let n = |k: &str| s[k].as_u64().unwrap_or_else(|| panic!("key {k} missing"));
    assert_eq!((n("paid"), n("overrides"), n("ineligible"), n("not_home")), (4, 2, 1, 1));
    assert_eq!(
        (n("letters_scanned"), n("letters_refused")),
        (5, 1),
        "everyone at the door showed a letter; one forged"
    );
    assert!(data.path().join("letters.pdf").metadata().unwrap().len() > 10_000, "the letters were printed");
    assert_eq!(n("overrides_unverified"), 0, "both overrides carry the supervisor's real approval");
    assert_eq!(
        n("paid_live"),
        2,
        "paid by face after the head-turn challenge: a recipient, and a KK member for another"
    );
    assert_eq!(n("paid_proxy"), 1, "Budi's daughter collects for him with a surat kuasa");
    // The server compared the evidence faces itself: the recipient paid by face against her
    // registry photo, the daughter against the face of her own e-KTP, which the phone handed in
    // with the payment (only the face: no NIK, name or address).
    assert_eq!(n("server_verified"), n("paid_live"), "{s}");
    assert_eq!(s["server_not_verified"], serde_json::json!([]), "{s}");
    // The demo has one recorded head-turn clip, used for both live payments: the national 1:N
    // check sees one face under two recipients, as it should.
    assert_eq!(n("face_duplicates"), 1, "{s}");
    assert_eq!(n("live_refused"), 1, "the photo held up to the camera");
    assert_eq!(n("rejected"), 4, "impostor, no face, two faces, too dark");
    assert_eq!((n("pending_offline"), n("pending"), n("synced")), (6, 0, 6));
    assert_eq!(s["chains_valid"], true);
    // Not paid: the deceased, the one not home, and the impostor's visit.
    assert_eq!((s["period_closed"].as_bool(), n("retur")), (Some(true), 3));
    assert!(data.path().join("laporan-blt-demo.pdf").exists() && data.path().join("retur-blt-demo.csv").exists());
    assert_eq!(s["receipt_checked"], true, "the paid recipient's code says paid on the public check");
    assert!(s["verify_ms_median"].as_f64().unwrap() > 0.0);
    assert_eq!((n("dashboard_paid_before"), n("dashboard_paid_after")), (0, 4));
    assert!(std::fs::read_dir(cwd.path()).unwrap().next().is_none(), "nothing written to the current folder");

    // The server's own database.
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=ro", data.path().join("server/salur.db").display());
    let mut db = sqlx::AnyConnection::connect(&url).await.unwrap();
    let row = sqlx::query("SELECT COUNT(*), COUNT(DISTINCT id) FROM receipts").fetch_one(&mut db).await.unwrap();
    let (all, distinct): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!((all as u64, distinct as u64), (n("server_receipts"), n("server_receipts")));
    assert_eq!(all as u64, n("synced"));
    let paid: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM receipts WHERE outcome = 'paid'").fetch_one(&mut db).await.unwrap();
    assert_eq!(paid as u64, n("paid"));
    // Names are sealed at rest: the server's store opens them (with the data folder's key).
    let server = salur_server::Db::open(&data.path().join("server")).await.unwrap();
    let roster = server.roster_for_worker("blt-demo", "pos-demo-01").await.unwrap();
    let paid_to = |name: &str| {
        let reference = &roster.iter().find(|e| e.name == name).unwrap().recipient;
        format!("SELECT COUNT(*) FROM receipts WHERE outcome = 'paid' AND recipient = X'{reference}'")
    };
    let impostor_paid: i64 =
        sqlx::query_scalar(sqlx::AssertSqlSafe(paid_to("Rahmat Hidayat"))).fetch_one(&mut db).await.unwrap();
    assert_eq!(impostor_paid, 0, "the impostor's visit left no receipt");
    // The photo held up to the camera collected nothing: Budi was paid once, to his daughter.
    let budi = &roster.iter().find(|e| e.name == "Budi Santoso").unwrap().recipient;
    let methods: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT method FROM receipts WHERE outcome = 'paid' AND recipient = X'{budi}'"
    )))
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(methods, vec!["proxy".to_string()]);
    // The face payments say a live check passed; the two overrides say none did.
    let by_live: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT method, COALESCE(liveness, ''), COUNT(*) FROM receipts WHERE outcome = 'paid'
         GROUP BY method, liveness ORDER BY method",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(
        by_live,
        vec![
            ("proxy".into(), "passed".into(), 1),
            ("registry_template".into(), "passed".into(), 1),
            ("supervisor_override".into(), "not_run".into(), 2)
        ]
    );

    // The server checked both overrides' approval codes against the supervisor's secret.
    let approvals: Vec<(String, i64)> = sqlx::query_as(
        "SELECT COALESCE(override_approval, ''), COUNT(*) FROM receipts WHERE method = 'supervisor_override'
         GROUP BY override_approval",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(approvals, vec![("verified".into(), 2)]);

    // Every device chain, verified here from the stored bytes and the registered key.
    let devices = sqlx::query("SELECT device_id, public_key FROM devices").fetch_all(&mut db).await.unwrap();
    let mut server_ids = BTreeSet::new();
    for d in &devices {
        let (id, key): (String, Vec<u8>) = (d.get(0), d.get(1));
        let rows: Vec<Vec<u8>> = sqlx::query_scalar("SELECT cose FROM receipts WHERE device_id = $1 ORDER BY seq")
            .bind(&id)
            .fetch_all(&mut db)
            .await
            .unwrap();
        assert!(salur_core::receipt::verify_chain(&key, rows.iter().map(Vec::as_slice)).is_valid());
        for r in &rows {
            server_ids.insert(salur_core::receipt::verify(r, &key).unwrap().receipt.id.clone());
        }
    }
    // The phone's store holds the same receipts, all acknowledged.
    let phone = AuditLog::open(&data.path().join("phone/phone.db")).unwrap();
    assert!(phone.verify_chain(None).unwrap().is_valid());
    let phone_ids: BTreeSet<String> = phone.receipts().unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(phone_ids, server_ids);
}
