//! The receipt store on a real SQLite file: append-only, encrypted at rest, durable under
//! SIGKILL, and honest when the disk is full.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use salur_core::keys::{FixedKey, KeyProvider, Signer, SoftwareSigner};
use salur_core::store::{AuditLog, OutboxState, Recipient, Store};
use salur_core::Error;

#[test]
fn receipts_chain_and_move_through_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let (store, signer, _) = common::store(dir.path());
    for n in 1..=5 {
        let s = store.record(&signer, common::draft(n)).unwrap();
        assert_eq!(s.receipt.seq, n);
    }
    let report = store.verify_chain().unwrap();
    assert!(report.is_valid() && report.last_seq == 5, "{report:?}");
    assert_eq!(store.pending(10).unwrap().len(), 5);
    store.set_state(&[1, 2, 3], OutboxState::Sent, None).unwrap();
    store.set_state(&[1, 2], OutboxState::Acknowledged, None).unwrap();
    store.set_state(&[3], OutboxState::Rejected, Some("unknown recipient")).unwrap();
    let counts = store.outbox_counts().unwrap();
    assert_eq!((counts.pending, counts.acknowledged, counts.rejected), (2, 2, 1));
    assert_eq!(store.receipts(2, 1).unwrap()[0].reason.as_deref(), Some("unknown recipient"));
    assert!(matches!(store.set_state(&[99], OutboxState::Sent, None), Err(Error::NotFound(_))));

    // Another key cannot write into this device's chain.
    let other = common::signer();
    assert!(store.record(&other, common::draft(6)).is_err());
    assert!(store.set_device("dev-jkt-0001", "pos-12345", &other).is_err());
}

#[test]
fn a_recipient_is_paid_once_even_by_two_taps_at_the_same_moment() {
    let dir = tempfile::tempdir().unwrap();
    let (store, signer, _) = common::store(dir.path());
    // Eight threads pay the same recipient at once: the store's write lock lets exactly one through.
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> =
            (0..8).map(|_| scope.spawn(|| store.record(&signer, common::draft(1)).map(|s| s.receipt.seq))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let paid: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(paid, vec![&1], "{results:?}");
    for refused in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(matches!(refused, Error::InvalidArgument(m) if m.contains("already paid")), "{refused:?}");
    }
    // Other outcomes for the same recipient, and payments of others, still record.
    let mut visit = common::draft(1);
    visit.outcome = salur_core::receipt::Outcome::NotHome;
    visit.evidence = None;
    visit.enrolled_template = None;
    assert_eq!(store.record(&signer, visit).unwrap().receipt.seq, 2);
    assert_eq!(store.record(&signer, common::draft(2)).unwrap().receipt.seq, 3);
    assert!(store.verify_chain().unwrap().is_valid());
}

#[test]
fn what_a_payment_was_compared_with_is_signed_sealed_and_handed_over_once() {
    let dir = tempfile::tempdir().unwrap();
    let (store, signer, _) = common::store(dir.path());
    let sha = |b: &[u8]| Some(salur_core::crypto::sha256(b).to_vec());
    // A payment against the template enrolled here signs that template's hash.
    let paid = store.record(&signer, common::draft(1)).unwrap().receipt;
    let e = paid.evidence.as_ref().unwrap();
    assert_eq!((e.enrolled_sha256.clone(), e.card_face_sha256.clone()), (sha(common::ENROLLED), None));
    // Without the template, or with a card face it was not compared with: refused, nothing kept.
    let mut bare = common::draft(2);
    bare.enrolled_template = None;
    let refused = store.record(&signer, bare).unwrap_err();
    assert!(matches!(&refused, Error::InvalidArgument(m) if m.contains("enrolment")), "{refused:?}");
    let mut extra = common::draft(2);
    extra.card_face_jpeg = Some(b"card".to_vec());
    assert!(matches!(store.record(&signer, extra), Err(Error::InvalidArgument(_))));
    // An e-KTP payment needs the card's face and signs its hash.
    let card_face = b"\xff\xd8 the e-KTP photo's aligned face crop \xff\xd9".to_vec();
    let mut ektp = common::draft(2);
    ektp.enrolled_template = None;
    ektp.evidence.as_mut().unwrap().method = salur_core::receipt::Method::EktpPhoto;
    let refused = store.record(&signer, ektp.clone()).unwrap_err();
    assert!(matches!(&refused, Error::InvalidArgument(m) if m.contains("card")), "{refused:?}");
    ektp.card_face_jpeg = Some(card_face.clone());
    let by_card = store.record(&signer, ektp).unwrap().receipt;
    assert_eq!(by_card.seq, 2, "the refusals took no sequence number");
    assert_eq!(by_card.evidence.as_ref().unwrap().card_face_sha256, sha(&card_face));
    // Handed to the uploader until the server holds them; sealed in the file.
    let parts = store.reference_parts_to_upload(2).unwrap().unwrap();
    assert_eq!((parts.card_face.as_deref(), parts.enrolled.as_deref()), (Some(&card_face[..]), None));
    assert_eq!(store.reference_parts_to_upload(1).unwrap().unwrap().enrolled.as_deref(), Some(common::ENROLLED));
    store.mark_reference_parts_uploaded(2).unwrap();
    assert_eq!(store.reference_parts_to_upload(2).unwrap(), None);
    drop(store);
    for name in ["salur.db", "salur.db-wal"] {
        let file = std::fs::read(dir.path().join(name)).unwrap_or_default();
        for secret in [&card_face[..], common::ENROLLED] {
            assert!(!file.windows(secret.len()).any(|w| w == secret), "stored in the clear in {name}");
        }
    }
}

#[test]
fn signed_receipts_cannot_be_updated_or_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let (store, signer, _) = common::store(dir.path());
    store.record(&signer, common::draft(1)).unwrap();
    store
        .with_connection(|c| {
            let upd = c.execute("UPDATE receipts SET amount = 1 WHERE seq = 1", []).unwrap_err();
            assert!(upd.to_string().contains("append-only"), "{upd}");
            assert!(c.execute("UPDATE receipts SET cose = x'00' WHERE seq = 1", []).is_err());
            assert!(c.execute("DELETE FROM receipts", []).is_err());
            Ok(())
        })
        .unwrap();
    assert!(store.verify_chain().unwrap().is_valid());
}

#[test]
fn no_plaintext_nik_template_or_face_crop_reaches_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (store, signer, keys) = common::store(dir.path());
    let nik = "3171234567890001";
    let template = vec![0x5a; 532];
    let crop = b"\xff\xd8\xff\xe0 JFIF face crop bytes that must never be stored in the clear \xff\xd9".to_vec();
    let recipient = salur_core::receipt::recipient_ref(b"roster key", nik);
    store
        .put_recipients(&[Recipient {
            roster_id: "blt-2026-11".into(),
            recipient: recipient.clone(),
            nik: nik.into(),
            name: "Siti Aminah".into(),
            address: "Jl. Merdeka 1".into(),
            amount: 600_000,
            template: Some(template.clone()),
            enrolled: None,
            household: Vec::new(),
        }])
        .unwrap();
    let mut draft = common::draft(1);
    draft.recipient = recipient.clone();
    draft.evidence_jpeg = Some(crop.clone());
    let signed = store.record(&signer, draft).unwrap();
    assert_eq!(
        signed.receipt.evidence.as_ref().unwrap().face_sha256.as_deref(),
        Some(&salur_core::crypto::sha256(&crop)[..])
    );
    // Round trip through the store's own API.
    let back = store.recipient("blt-2026-11", &recipient).unwrap();
    assert_eq!((back.nik.as_str(), back.template.as_deref()), (nik, Some(&template[..])));
    assert_eq!(store.evidence(1).unwrap().as_deref(), Some(&crop[..]));
    drop(store);

    // Every byte SQLite wrote: the database and any WAL left behind.
    let mut bytes = Vec::new();
    for f in std::fs::read_dir(dir.path()).unwrap() {
        bytes.extend(std::fs::read(f.unwrap().path()).unwrap());
    }
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(contains(b"Siti Aminah"), "the search itself works on this file");
    assert!(!contains(nik.as_bytes()), "plaintext NIK in the file");
    assert!(!contains(&template[..64]), "plaintext template in the file");
    assert!(!contains(&crop[4..40]), "plaintext face crop in the file");

    // The sealed values are bound to their row and key: the wrong key cannot read them.
    let wrong = FixedKey(salur_core::crypto::DataKey::generate().unwrap());
    let reopened = Store::open(&dir.path().join("salur.db"), &wrong).unwrap();
    assert!(matches!(reopened.recipient("blt-2026-11", &recipient), Err(Error::Crypto(_))));
    let right = Store::open(&dir.path().join("salur.db"), &keys).unwrap();
    assert_eq!(right.recipient("blt-2026-11", &recipient).unwrap().nik, nik);
    assert!(keys.data_key().is_ok());
}

#[test]
fn a_full_disk_at_commit_records_nothing_and_leaves_the_store_usable() {
    let dir = tempfile::tempdir().unwrap();
    let (store, signer, _) = common::store(dir.path());
    store.record(&signer, common::draft(1)).unwrap();
    // SQLite's own page limit makes the next write fail exactly as a full disk does (SQLITE_FULL).
    let pages: i64 = store.with_connection(|c| Ok(c.query_row("PRAGMA page_count", [], |r| r.get(0))?)).unwrap();
    store.with_connection(|c| Ok(c.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))?)).unwrap();
    let mut big = common::draft(2);
    big.evidence_jpeg = Some(vec![0xAB; 64 * 1024]);
    let err = store.record(&signer, big).unwrap_err();
    assert!(matches!(err, Error::NotRecorded(_)), "{err:?}");
    assert!(err.to_string().contains("full"), "{err}");
    assert!(err.hint().unwrap().contains("NOT recorded"));
    assert_eq!(store.receipts(0, 10).unwrap().len(), 1, "the failed receipt must not exist");
    assert_eq!(store.outbox_counts().unwrap().pending, 1);

    store.with_connection(|c| Ok(c.query_row("PRAGMA max_page_count = 1000000", [], |_| Ok(()))?)).unwrap();
    let s = store.record(&signer, common::draft(3)).unwrap();
    assert_eq!(s.receipt.seq, 2, "the sequence continues without a gap");
    assert!(store.verify_chain().unwrap().is_valid());
    let ok: String = store.with_connection(|c| Ok(c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)).unwrap();
    assert_eq!(ok, "ok");
}

const CRASH_DIR: &str = "SALUR_CRASH_TEST_DIR";

/// Child side of the crash test: records receipts forever, printing each sequence number only
/// after `record` returned (that is, after the commit).
#[test]
#[ignore = "run by sigkill_at_random_moments_loses_no_committed_receipt as a child process"]
fn crash_child_writer() {
    let Ok(dir) = std::env::var(CRASH_DIR) else { return };
    let dir = Path::new(&dir);
    let keys = FixedKey(salur_core::crypto::DataKey::new([9; 32]));
    let signer = SoftwareSigner::open_or_create(&dir.join("device.key"), &keys).unwrap();
    let store = Store::open(&dir.join("salur.db"), &keys).unwrap();
    store.set_device("dev-crash", "pos-1", &signer).unwrap();
    let mut out = std::io::stdout().lock();
    // A recipient is paid once: each run pays new ones, after those the earlier runs committed.
    let base = store.receipts(0, usize::MAX).unwrap().len() as u64 + 1_000;
    for n in base.. {
        let s = store.record(&signer, common::draft(n)).unwrap();
        use std::io::Write;
        writeln!(out, "committed {}", s.receipt.seq).unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn sigkill_at_random_moments_loses_no_committed_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut committed = 0u64;
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let kills = 200;
    for round in 0..kills {
        let mut child = Command::new(&exe)
            .args(["--exact", "store::crash_child_writer", "--ignored", "--nocapture", "--test-threads=1"])
            .env(CRASH_DIR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill after a pseudo-random number of commits seen (0..8) plus a random delay, so the
        // kill lands at any point: before the first write, mid-transaction, mid-checkpoint.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let (wait_lines, delay_us) = (seed % 8, (seed >> 8) % 3000);
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // The test harness prints its own lines too; only "committed N" counts.
        let seq = |l: &str| l.strip_prefix("committed ").map(|n| n.parse::<u64>().unwrap());
        let mut last = committed;
        let mut seen = 0;
        while seen < wait_lines {
            match lines.next() {
                Some(Ok(l)) => {
                    if let Some(n) = seq(&l) {
                        last = n;
                        seen += 1;
                    }
                }
                _ => break,
            }
        }
        std::thread::sleep(Duration::from_micros(delay_us));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Commits printed after we stopped reading still count as committed.
        for l in lines.map_while(Result::ok) {
            last = seq(&l).unwrap_or(last);
        }
        committed = committed.max(last);

        let keys = FixedKey(salur_core::crypto::DataKey::new([9; 32]));
        let store = Store::open(&dir.path().join("salur.db"), &keys).unwrap();
        let ok: String =
            store.with_connection(|c| Ok(c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)).unwrap();
        assert_eq!(ok, "ok", "round {round}");
        let report = store.verify_chain().unwrap();
        assert!(report.is_valid(), "round {round}: {report:?}");
        assert!(report.last_seq >= committed, "round {round}: receipt {committed} was committed but is gone");
        committed = report.last_seq;
    }
    assert!(committed >= kills / 2, "only {committed} receipts committed in {kills} runs");
    let audit = AuditLog::open(&dir.path().join("salur.db")).unwrap();
    assert_eq!(audit.receipts().unwrap().len() as u64, committed);
    assert!(audit.verify_chain(None).unwrap().is_valid());
    let spki = audit.device().unwrap().unwrap().public_key;
    let keys = FixedKey(salur_core::crypto::DataKey::new([9; 32]));
    let signer = SoftwareSigner::open_or_create(&dir.path().join("device.key"), &keys).unwrap();
    assert_eq!(signer.public_key_spki().unwrap(), spki);
}

const FSIZE_DIR: &str = "SALUR_FSIZE_TEST_DIR";

/// Child side of the file-size test: appends until the OS refuses to grow the file, then reports.
#[test]
#[ignore = "run by an_os_write_error_at_commit_records_nothing as a child process under a file-size limit"]
fn fsize_child_writer() {
    let Ok(dir) = std::env::var(FSIZE_DIR) else { return };
    let dir = Path::new(&dir);
    let keys = FixedKey(salur_core::crypto::DataKey::new([5; 32]));
    let signer = SoftwareSigner::open_or_create(&dir.join("device.key"), &keys).unwrap();
    let store = Store::open(&dir.join("salur.db"), &keys).unwrap();
    // From 1: the parent paid recipient 0, and a recipient is paid once.
    for n in 1..100_000 {
        let mut draft = common::draft(n);
        draft.evidence_jpeg = Some(vec![(n % 251) as u8; 4096]);
        match store.record(&signer, draft) {
            Ok(s) => println!("committed {}", s.receipt.seq),
            Err(e) => {
                println!("refused {} {e}", e.kind());
                // The store must still answer after the failed commit.
                println!("pending {}", store.outbox_counts().unwrap().pending);
                return;
            }
        }
    }
}

#[test]
fn an_os_write_error_at_commit_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let keys = FixedKey(salur_core::crypto::DataKey::new([5; 32]));
    let signer = SoftwareSigner::open_or_create(&dir.path().join("device.key"), &keys).unwrap();
    {
        let store = Store::open(&dir.path().join("salur.db"), &keys).unwrap();
        store.set_device("dev-fsize", "pos-1", &signer).unwrap();
        store.record(&signer, common::draft(0)).unwrap();
    }
    // RLIMIT_FSIZE: any write past 256 KiB fails with EFBIG (SIGXFSZ is ignored, and stays ignored
    // across exec), a real OS-level write error under SQLite, as on a full or failing disk.
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("sh")
        .args(["-c", "trap '' XFSZ; ulimit -f 256; exec \"$0\" \"$@\""])
        .arg(&exe)
        .args(["--exact", "store::fsize_child_writer", "--ignored", "--nocapture", "--test-threads=1"])
        .env(FSIZE_DIR, dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let committed =
        text.lines().filter_map(|l| l.strip_prefix("committed ")).filter_map(|n| n.parse::<u64>().ok()).max();
    let refused = text.lines().find(|l| l.starts_with("refused ")).unwrap_or_else(|| panic!("never refused: {text}"));
    // SQLite reports the EFBIG as "disk I/O error"; the store turns it into NotRecorded.
    assert!(refused.starts_with("refused not_recorded"), "{refused}");
    let committed = committed.expect("some receipts fit under the limit");
    let pending: u64 = text.lines().find_map(|l| l.strip_prefix("pending ")).unwrap().parse().unwrap();
    assert_eq!(pending, committed, "after the refusal the store still answers, with exactly what was committed");

    let store = Store::open(&dir.path().join("salur.db"), &keys).unwrap();
    let ok: String = store.with_connection(|c| Ok(c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)).unwrap();
    assert_eq!(ok, "ok");
    let report = store.verify_chain().unwrap();
    assert!(report.is_valid(), "{report:?}");
    assert_eq!(report.last_seq, committed, "nothing beyond the last successful commit");
    // Without the limit the same store takes the next receipt, gapless.
    assert_eq!(store.record(&signer, common::draft(200_000)).unwrap().receipt.seq, committed + 1);
}

#[test]
fn an_enrolled_face_survives_roster_refreshes_and_never_replaces_a_reference() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _signer, _keys) = common::store(dir.path());
    let row = |nik: &str, template: Option<Vec<u8>>| Recipient {
        roster_id: "blt".into(),
        recipient: salur_core::receipt::recipient_ref(b"k", nik),
        nik: nik.into(),
        name: format!("R {nik}"),
        address: "Jl. 1".into(),
        amount: 600_000,
        template,
        enrolled: None,
        household: Vec::new(),
    };
    let (without, with) = (row("3171000000000001", None), row("3171000000000002", Some(vec![1; 8])));
    store.put_recipients(&[without.clone(), with.clone()]).unwrap();
    store.set_enrolled("blt", &without.recipient, &[9; 8]).unwrap();
    // Once enrolled, or with a registry template, nothing from the door replaces the reference.
    for r in [&without, &with] {
        let e = store.set_enrolled("blt", &r.recipient, &[7; 8]).unwrap_err();
        assert!(e.to_string().contains("already has a reference"), "{e}");
    }
    assert!(store.set_enrolled("blt", &[0; 16], &[7; 8]).is_err(), "an unknown recipient is refused");
    // A roster refresh rewrites the registry's columns and keeps the enrolment.
    let mut renamed = without.clone();
    renamed.name = "Renamed".into();
    store.put_recipients(&[renamed]).unwrap();
    let back = store.recipient("blt", &without.recipient).unwrap();
    assert_eq!((back.name.as_str(), back.enrolled.as_deref()), ("Renamed", Some(&[9u8; 8][..])));
    assert_eq!(store.standing("blt", &without.recipient).unwrap(), salur_core::receipt::Standing::NotVisited);
}

#[test]
fn the_next_visit_knows_the_recipients_last_challenge() {
    let dir = tempfile::tempdir().unwrap();
    let (store, signer, _) = common::store(dir.path());
    let mut paid = common::draft(1);
    paid.evidence.as_mut().unwrap().live = Some(common::live_check(7));
    let (roster, a) = (paid.roster_id.clone(), paid.recipient.clone());
    store.record(&signer, paid).unwrap();
    let other = common::draft(2);
    let b = other.recipient.clone();
    store.record(&signer, other).unwrap();
    assert_eq!(store.last_challenge(&roster, &a).unwrap(), Some(7));
    assert_eq!(store.last_challenge(&roster, &b).unwrap(), None, "a check with no random challenge");
    assert_eq!(store.last_challenge("another-roster", &a).unwrap(), None);
}
