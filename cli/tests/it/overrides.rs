//! Supervisor approval of overrides, end to end on a real SQLite file and `salur serve` on
//! loopback: `salur supervisor add` makes the secret, `salur supervisor code` answers the phone's
//! challenge, the phone signs the code, and the server verifies it at ingestion. Forged approvals
//! (wrong digits, an unknown supervisor, the worker approving themself, none at all) are listed on
//! the dashboard; the right one is not. A receipt whose location is off the globe is refused.

use crate::common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use crate::common::net::ServerProcess;
use salur_core::approval;
use salur_core::crypto::DataKey;
use salur_core::keys::{FixedKey, SoftwareSigner};
use salur_core::receipt::{recipient_ref, Evidence, Liveness, Location, Method, Outcome, OverrideCode, Times};
use salur_core::store::{Draft, Store};
use salur_core::sync::{Backoff, SyncClient, SyncConfig};
use serde_json::Value;

const ROSTER: &str = "blt-2026-11";
const DEVICE: &str = "dev-ovr";
const WORKER: &str = "pos-7";

fn salur(args: &[&str], backend: &common::Backend) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_salur")).args(args).args(backend.cli_args()).output().unwrap()
}

/// `salur supervisor add`: the secret, alone on stdout.
fn add_supervisor(backend: &common::Backend, id: &str) -> String {
    let out = salur(&["supervisor", "add", id, "--post-office", "jakarta-10110"], backend);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let secret = stdout.trim_end_matches('\n');
    assert!(!secret.contains('\n'), "nothing but the secret on stdout: {stdout:?}");
    assert_eq!(hex::decode(secret).unwrap().len(), approval::SECRET_LEN);
    secret.to_string()
}

/// `salur supervisor code`: the supervisor's answer, with no server.
fn supervisor_code(secret: &str, challenge: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_salur"))
        .args(["supervisor", "code", "--secret", secret, "--challenge", challenge])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let code = String::from_utf8(out.stdout).unwrap().trim_end().to_string();
    assert!(approval::is_code(&code), "{code:?}");
    code
}

fn override_draft(n: u64, supervisor: &str, code: OverrideCode, approval: Option<String>) -> Draft {
    Draft {
        roster_id: ROSTER.into(),
        recipient: recipient(n),
        amount: 600_000,
        outcome: Outcome::Paid,
        evidence: Some(Evidence {
            method: Method::SupervisorOverride {
                supervisor_id: supervisor.into(),
                reason: "stiff neck, cannot turn her head".into(),
                code: Some(code),
                approval,
            },
            score_e6: None,
            threshold_e6: None,
            model: "sface_2021dec_int8bq".into(),
            liveness: Liveness::NotRun,
            live: None,
            face_sha256: None,
            card_face_sha256: None,
            enrolled_sha256: None,
        }),
        evidence_jpeg: None,
        time: Times { wall_ms: salur_core::sync::now_ms(), mono_ms: n, offset_ms: 0 },
        location: None,
        received_in_full: Some(true),
        kuasa_jpeg: None,
        card_jpeg: None,
        card_face_jpeg: None,
        enrolled_template: None,
    }
}

fn recipient(n: u64) -> Vec<u8> {
    recipient_ref(b"k", &format!("31710000000000{n:02}"))
}

#[tokio::test]
async fn forged_override_approvals_are_flagged_on_the_dashboard_and_the_right_one_is_not() {
    for backend in common::backends().await {
        common::set_up(&backend.storage);
        eprintln!("backend: {}", backend.name);
        let secret = add_supervisor(&backend, "sup-1");
        // The worker's own id registered as a supervisor: approving themself is still refused.
        let own = add_supervisor(&backend, WORKER);
        let again = salur(&["supervisor", "add", "sup-1", "--post-office", "jakarta-10110", "--json"], &backend);
        assert_eq!(again.status.code(), Some(2), "a supervisor's secret is never replaced");
        let err: Value = serde_json::from_slice(&again.stdout).unwrap();
        assert_eq!(err["error"], "invalid_argument");

        let server = ServerProcess::start(&backend);
        let dir = tempfile::tempdir().unwrap();
        let keys = FixedKey(DataKey::new([3; 32]));
        let store = Store::open(&dir.path().join("phone.db"), &keys).unwrap();
        let signer = SoftwareSigner::generate().unwrap().0;
        let mut config = SyncConfig::new(&server.url());
        config.allow_http_loopback = true;
        config.backoff = Backoff { base: Duration::from_millis(50), cap: Duration::from_secs(1), max_attempts: 5 };
        let client = SyncClient::new(&config).unwrap();
        let enrolment = server.enrolment_code(WORKER, "jakarta-10110").await;
        client.register(&store, &signer, DEVICE, WORKER, "jakarta-10110", &enrolment).await.unwrap();
        server.admin(&format!("/v1/admin/devices/{DEVICE}/approve")).await;

        let code = OverrideCode::CannotDoLiveCheck;
        let answer =
            |n: u64, secret: &str| supervisor_code(secret, &approval::challenge(DEVICE, ROSTER, &recipient(n), code));
        let right = answer(1, &secret);
        let wrong = format!("{:08}", (answer(2, &secret).parse::<u64>().unwrap() + 1) % 100_000_000);
        let cases = [
            (1, "sup-1", Some(right.clone()), "verified"),
            (2, "sup-1", Some(wrong), "invalid"),
            // The code of another recipient's challenge: it does not answer this one.
            (3, "sup-1", Some(right), "invalid"),
            (4, "sup-ghost", Some(answer(4, &secret)), "unknown_supervisor"),
            (5, WORKER, Some(answer(5, &own)), "self_approved"),
            (6, "sup-1", None, "missing"),
        ];
        let mut ids = BTreeMap::new();
        for (n, supervisor, approval, expect) in &cases {
            let signed = store.record(&signer, override_draft(*n, supervisor, code, approval.clone())).unwrap();
            ids.insert(signed.receipt.id.clone(), *expect);
        }
        // A receipt placed off the globe: refused at ingestion as an invalid receipt.
        let mut far = override_draft(7, "sup-1", code, None);
        far.evidence = None;
        far.location = Some(Location { lat_e7: 950_000_000, lon_e7: 1_068_456_000, accuracy_m: 10 });
        store.record(&signer, far).unwrap();

        let report = client.sync(&store, &signer, &()).await.unwrap();
        assert_eq!((report.progress.acknowledged, report.progress.rejected), (6, 1), "{report:?}");
        let refused = store.receipts(6, 1).unwrap().remove(0);
        assert!(refused.reason.unwrap().contains("location out of range"));

        let dashboard: Value = common::net::http()
            .get(format!("{}/v1/dashboard?roster={ROSTER}", server.url()))
            .bearer_auth(common::net::ADMIN)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .map(|b| serde_json::from_slice(&b).unwrap())
            .unwrap();
        let listed: BTreeMap<String, String> = dashboard["overrides_unverified"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                assert_eq!((o["device_id"].as_str(), o["worker_id"].as_str()), (Some(DEVICE), Some(WORKER)));
                assert_eq!(o["code"], "cannot_do_live_check");
                (o["receipt_id"].as_str().unwrap().to_string(), o["approval"].as_str().unwrap().to_string())
            })
            .collect();
        let expected: BTreeMap<String, String> =
            ids.iter().filter(|(_, e)| **e != "verified").map(|(id, e)| (id.clone(), e.to_string())).collect();
        assert_eq!(listed, expected, "every forged approval listed, the verified one not");
        assert_eq!(dashboard["overrides_unverified_count"], 5);
        let supervisors: Vec<&str> = dashboard["overrides_unverified"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["supervisor_id"].as_str().unwrap())
            .collect();
        assert!(supervisors.contains(&"sup-ghost") && supervisors.contains(&WORKER));
        let text = dashboard.to_string();
        assert!(!text.contains(&secret) && !text.contains(&own), "no secret on the dashboard");

        // The state is kept per receipt in the server's database.
        sqlx::any::install_default_drivers();
        let url = match &backend.storage {
            salur_server::Storage::Dir(d) => format!("sqlite://{}?mode=ro", d.join("salur.db").display()),
            salur_server::Storage::Url(u) => u.clone(),
        };
        let mut db = <sqlx::AnyConnection as sqlx::Connection>::connect(&url).await.unwrap();
        for (id, expect) in &ids {
            let state: Option<String> = sqlx::query_scalar("SELECT override_approval FROM receipts WHERE id = $1")
                .bind(id)
                .fetch_one(&mut db)
                .await
                .unwrap();
            assert_eq!(state.as_deref(), Some(*expect), "{id}");
        }
    }
}
