//! Power loss under the server's embedded SQLite store, with the phone store's test VFS
//! (`rust-core/tests/it/common/powercut.rs`): at a pseudo-random write the power goes and every
//! write not yet synced is thrown away. Receipts go in through the real router. No receipt that the
//! server answered `accepted` for may be missing after the reboot, the chain must be whole, and
//! the phone's next upload must carry on. With syncs that make nothing durable (a lying disk),
//! accepted receipts are lost, which shows the test can fail.
#![cfg(unix)]

#[path = "../../../rust-core/tests/it/common/powercut.rs"]
mod powercut;

use std::path::Path;

use crate::common::phone::{self, Phone};
use axum::http::StatusCode;
use powercut::{PowerCut, Snapshot, XorShift};
use salur_core::receipt::GENESIS;
use salur_server::store::seal::Sealer;
use salur_server::{router, AppState, Db};
use sqlx::Connection;

/// Receipts the phone has to upload: more than any run gets through before its cut.
const RECEIPTS: u64 = 400;

#[derive(Debug, Default)]
struct Tally {
    cuts: u64,
    accepted: u64,
    lost: u64,
    cuts_losing: u64,
    undone: u64,
}

/// The phone's chain of `RECEIPTS` signed not-home visits, each to its own recipient.
fn chain(phone: &Phone) -> Vec<Vec<u8>> {
    let mut prev = GENESIS.to_vec();
    (1..=RECEIPTS)
        .map(|seq| {
            let bytes = phone.receipt(|r| {
                r.seq = seq;
                r.prev.clone_from(&prev);
                r.recipient = seq.to_be_bytes().repeat(2);
                r.time.mono_ms = seq;
            });
            // The next receipt's `prev` is the SHA-256 of these signed bytes.
            prev = salur_core::crypto::sha256(&bytes).to_vec();
            bytes
        })
        .collect()
}

async fn open(dir: &Path, vfs: Option<&str>) -> Db {
    let db = dir.join("salur.db");
    let url = match vfs {
        Some(v) => format!("sqlite://{}?mode=rwc&vfs={v}", db.display()),
        None => format!("sqlite://{}?mode=rwc", db.display()),
    };
    Db::connect_sealed(&url, Sealer::new(&[7; 32]).unwrap()).await.unwrap()
}

/// Uploads `receipts` in batches of 1 to 12 until the power goes; the indexes answered accepted.
async fn upload_until_cut(app: &axum::Router, phone: &Phone, receipts: &[Vec<u8>], rng: &mut XorShift) -> Vec<usize> {
    let mut accepted = Vec::new();
    let mut next = 0;
    while next < receipts.len() {
        let n = (1 + rng.next() % 12) as usize;
        let batch: Vec<&Vec<u8>> = receipts[next..(next + n).min(receipts.len())].iter().collect();
        let (status, body) = phone::call(app, phone.upload(&batch)).await;
        if status != StatusCode::OK {
            break;
        }
        for (i, result) in body["results"].as_array().unwrap().iter().enumerate() {
            assert_eq!(result["result"], "accepted", "{body}");
            accepted.push(next + i);
        }
        next += batch.len();
    }
    accepted
}

async fn cut_power(cuts: u64, lying: bool, seed: u64) -> Tally {
    let vfs = PowerCut::install();
    let phone = Phone::new("dev-powercut");
    let receipts = chain(&phone);
    // A registered, approved device in a database closed cleanly through the ordinary VFS.
    let template = tempfile::tempdir().unwrap();
    {
        let db = open(template.path(), None).await;
        let app = router(AppState::new(db.clone(), phone::ADMIN).allow_unattested_devices(true));
        phone::approved(&app, &phone).await;
        drop(app);
        db.close().await;
    }
    let files = Snapshot::of(template.path());

    let mut rng = XorShift(seed);
    let mut tally = Tally::default();
    for cut in 0..cuts {
        let dir = files.copy();
        let db = open(dir.path(), Some(vfs.name())).await;
        let app = router(AppState::new(db.clone(), phone::ADMIN).allow_unattested_devices(true));
        vfs.set_lying_syncs(lying);
        // One run in eight goes long enough for SQLite's automatic checkpoint (1,000 pages), so
        // cuts also land inside checkpoints.
        let at = rng.next() % if cut % 8 == 7 { 4_000 } else { 300 };
        vfs.arm(at);
        let accepted = upload_until_cut(&app, &phone, &receipts, &mut rng).await;
        if !vfs.is_cut() {
            // The whole chain went in before the cut came due: nothing to check this time.
            vfs.arm(0);
        }
        drop(app);
        db.close().await;
        vfs.set_lying_syncs(false);
        tally.undone += vfs.restore_after_cut().unwrap().undone as u64;

        let lost = after_reboot(dir.path(), &phone, &receipts, &accepted, cut).await;
        if !lying {
            assert_eq!(lost, 0, "cut {cut} at call {at}: {lost} of {} accepted receipts lost", accepted.len());
        }
        tally.cuts += 1;
        tally.accepted += accepted.len() as u64;
        tally.lost += lost;
        tally.cuts_losing += u64::from(lost > 0);
    }
    tally
}

/// Opens the database as `salur serve` would after the reboot, checks it whole, counts the
/// accepted receipts it no longer holds, and has the phone upload the rest of its chain.
async fn after_reboot(dir: &Path, phone: &Phone, receipts: &[Vec<u8>], accepted: &[usize], cut: u64) -> u64 {
    let url = format!("sqlite://{}", dir.join("salur.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let ok: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut conn).await.unwrap();
    assert_eq!(ok, "ok", "cut {cut}");
    conn.close().await.unwrap();

    let db = open(dir, None).await;
    let held = db.device_receipts(&phone.id).await.unwrap();
    let chain = db.chain_status(&phone.id).await.unwrap();
    assert_eq!((chain.received, chain.contiguous_to), (held.len() as u64, held.len() as u64), "cut {cut}: {chain:?}");
    for (i, bytes) in held.iter().enumerate() {
        assert_eq!(bytes, &receipts[i], "cut {cut}: receipt {} is not what was signed", i + 1);
    }
    let lost = accepted.iter().filter(|&&i| i >= held.len()).count() as u64;
    // The phone carries on from where the server is: the device is still approved, and the rest
    // of the chain goes in.
    let app = router(AppState::new(db.clone(), phone::ADMIN).allow_unattested_devices(true));
    let rest: Vec<&Vec<u8>> = receipts[held.len()..].iter().take(50).collect();
    if !rest.is_empty() {
        let (status, body) = phone::call(&app, phone.upload(&rest)).await;
        assert_eq!(status, StatusCode::OK, "cut {cut}: {body}");
        assert!(body["results"].as_array().unwrap().iter().all(|r| r["result"] == "accepted"), "cut {cut}: {body}");
    }
    drop(app);
    db.close().await;
    lost
}

fn report(label: &str, t: &Tally) {
    println!(
        "server power loss {label}: {} cuts, {} receipts answered accepted, {} lost, {} cuts lost receipts, {} unsynced writes undone",
        t.cuts, t.accepted, t.lost, t.cuts_losing, t.undone
    );
}

#[tokio::test]
async fn the_server_loses_no_accepted_receipt_at_a_power_cut() {
    let t = cut_power(400, false, 0x9E37_79B9_7F4A_7C15).await;
    report("synchronous=FULL", &t);
    assert_eq!(t.lost, 0);
    assert!(t.accepted > t.cuts * 5, "too few receipts accepted for the cuts to mean much: {t:?}");
}

#[tokio::test]
async fn with_a_disk_that_lies_about_syncs_accepted_receipts_are_lost() {
    let t = cut_power(40, true, 0xD1B5_4A32_D192_ED03).await;
    report("lying syncs", &t);
    assert!(t.lost > 0, "nothing lost: the power cut is not biting: {t:?}");
}
