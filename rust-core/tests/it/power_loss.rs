//! Power loss under the receipt store, simulated the way SQLite's crash tests do it: at a
//! pseudo-random write the power goes, and every write not yet synced is thrown away. With
//! `synchronous=FULL` no receipt whose commit returned may be lost; with `NORMAL` some are, which
//! shows the test can fail.
#![cfg(unix)]

use crate::common;
#[path = "common/powercut.rs"]
mod powercut;

use std::path::Path;

use salur_core::keys::FixedKey;
use salur_core::receipt::SignedReceipt;
use salur_core::store::{Durability, Store};
use salur_core::Error;

use powercut::{PowerCut, Snapshot, XorShift};

/// The cut lands on one of the first this many mutating calls (writes, truncates, syncs) after
/// the store opens: some 10 commits' worth.
const MAX_OPS: u64 = 160;

#[derive(Debug, Default)]
struct Tally {
    cuts: u64,
    commits: u64,
    lost: u64,
    cuts_losing: u64,
    undone: u64,
    ops: u64,
}

/// Cuts the power `cuts` times under a store opened with `durability`, each time on a fresh copy
/// of a store with a registered device, and checks what a reboot finds.
fn cut_power(durability: Durability, cuts: u64, seed: u64) -> Tally {
    let vfs = PowerCut::install();
    let template = tempfile::tempdir().unwrap();
    let (store, signer, keys) = common::store(template.path());
    drop(store); // closed cleanly (checkpointed, WAL deleted) through the ordinary VFS
    let files = Snapshot::of(template.path());

    let mut rng = XorShift(seed);
    let mut tally = Tally::default();
    for cut in 0..cuts {
        let dir = files.copy();
        let path = dir.path().join("salur.db");
        let store = Store::open_with_vfs(&path, &keys, durability, vfs.name()).unwrap();
        // Every other run checkpoints after a few pages instead of SQLite's 1,000, so cuts also
        // land in checkpoints and in the WAL's restart from its start.
        if cut % 2 == 1 {
            let pages = 1 + rng.next() % 8;
            store.with_connection(|c| Ok(c.pragma_update(None, "wal_autocheckpoint", pages)?)).unwrap();
        }
        let at = rng.next() % MAX_OPS;
        vfs.arm(at);
        let mut committed: Vec<SignedReceipt> = Vec::new();
        for n in 0.. {
            match store.record(&signer, common::draft(n)) {
                Ok(s) => committed.push(s),
                Err(e) => {
                    assert!(matches!(e, Error::NotRecorded(_)), "cut {cut}: {e:?}");
                    break;
                }
            }
        }
        assert!(vfs.is_cut(), "cut {cut}: the store failed before the power did");
        tally.ops += vfs.ops_seen();
        drop(store);
        tally.undone += vfs.restore_after_cut().unwrap().undone as u64;

        let lost = after_reboot(&path, &keys, &committed, cut);
        if durability == Durability::Full {
            assert_eq!(lost, 0, "cut {cut} at call {at}: {lost} of {} committed receipts lost", committed.len());
        }
        tally.cuts += 1;
        tally.commits += committed.len() as u64;
        tally.lost += lost;
        tally.cuts_losing += u64::from(lost > 0);
    }
    tally
}

/// Opens the store as the app would after the reboot, checks it whole, and counts the committed
/// receipts it no longer has.
fn after_reboot(path: &Path, keys: &FixedKey, committed: &[SignedReceipt], cut: u64) -> u64 {
    let store = Store::open(path, keys).unwrap_or_else(|e| panic!("cut {cut}: the store does not open: {e}"));
    let ok: String = store.with_connection(|c| Ok(c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)).unwrap();
    assert_eq!(ok, "ok", "cut {cut}");
    assert!(store.device().unwrap().is_some(), "cut {cut}: the device registration is gone");
    let report = store.verify_chain().unwrap();
    assert!(report.is_valid(), "cut {cut}: {report:?}");
    let kept = store.receipts(0, usize::MAX >> 1).unwrap();
    assert_eq!((report.receipts, report.last_seq), (kept.len(), kept.len() as u64), "cut {cut}");
    let counts = store.outbox_counts().unwrap();
    assert_eq!(counts.pending, kept.len() as u64, "cut {cut}: every receipt kept is in the outbox");
    // A committed receipt counts as kept only with its exact signed bytes at its sequence.
    committed.iter().filter(|s| !kept.iter().any(|k| k.seq == s.receipt.seq && k.cose == s.bytes)).count() as u64
}

fn report(label: &str, t: &Tally) {
    println!(
        "power loss {label}: {} cuts, {} commits returned, {} lost, {} cuts lost commits, {} unsynced writes undone, {:.1} calls per commit",
        t.cuts,
        t.commits,
        t.lost,
        t.cuts_losing,
        t.undone,
        t.ops as f64 / t.commits.max(1) as f64
    );
}

#[test]
fn with_synchronous_full_no_committed_receipt_is_lost() {
    let t = cut_power(Durability::Full, 1_500, 0x9E37_79B9_7F4A_7C15);
    report("FULL", &t);
    assert_eq!(t.lost, 0);
    assert!(t.commits > t.cuts, "too few commits for the cuts to mean much: {t:?}");
}

#[test]
fn with_synchronous_normal_committed_receipts_are_lost() {
    let t = cut_power(Durability::Normal, 300, 0xD1B5_4A32_D192_ED03);
    report("NORMAL", &t);
    assert!(t.lost > 0, "NORMAL lost nothing: the power cut is not biting: {t:?}");
}
