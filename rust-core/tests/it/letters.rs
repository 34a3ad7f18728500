//! Opening a recipient from a scanned invitation letter on the phone's store: a genuine letter
//! opens and its id goes into the receipts; every other letter is refused with its reason.

use crate::common;

use salur_core::doorstep::{self, LetterOpening};
use salur_core::keys::{Signer, SoftwareSigner};
use salur_core::letter::{self, Letter, Problem};
use salur_core::store::{Recipient, Store};

const ROSTER: &str = "blt-2026-12";

fn recipient(n: u8, amount: u64) -> Recipient {
    Recipient {
        roster_id: ROSTER.into(),
        recipient: vec![n; 16],
        nik: format!("31710101018000{n:02}"),
        name: format!("Penerima {n}"),
        address: "Jl. Merdeka".into(),
        amount,
        template: None,
        enrolled: None,
        household: Vec::new(),
    }
}

fn letter_for(r: &Recipient, roster: &str, amount: u64) -> Letter {
    Letter {
        letter_id: letter::letter_id(roster, &r.recipient),
        roster: roster.into(),
        period: roster.into(),
        recipient: hex::encode(&r.recipient),
        amount,
    }
}

fn refusal(store: &Store, token: &str) -> Problem {
    match doorstep::open_letter(store, ROSTER, token).unwrap() {
        LetterOpening::Refused { problem, why } => {
            assert!(!why.contains("31710101018"), "no NIK in the detail: {why}");
            problem
        }
        LetterOpening::Opened { .. } => panic!("{token} opened"),
    }
}

#[test]
fn a_genuine_letter_opens_its_recipient_and_the_receipt_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let (store, signer, _) = common::store(dir.path());
    let (programme, _) = SoftwareSigner::generate().unwrap();
    let (siti, joko) = (recipient(1, 600_000), recipient(2, 600_000));
    let token = letter::issue(&letter_for(&siti, ROSTER, 600_000), &programme).unwrap();

    // Before the roster came with its programme key, nothing can be verified.
    store.replace_roster(ROSTER, std::slice::from_ref(&siti), None).unwrap();
    assert_eq!(refusal(&store, &token), Problem::NoProgrammeKey);
    store.replace_roster(ROSTER, std::slice::from_ref(&siti), Some(&programme.public_key_spki().unwrap())).unwrap();

    // Another QR code, a forged signature, one changed character, another period, another
    // worker's recipient, an amount that is not the roster's.
    assert_eq!(refusal(&store, "https://example.com/promo"), Problem::NotALetter);
    let (other_key, _) = SoftwareSigner::generate().unwrap();
    assert_eq!(
        refusal(&store, &letter::issue(&letter_for(&siti, ROSTER, 600_000), &other_key).unwrap()),
        Problem::Forged
    );
    let mut altered = token.clone().into_bytes();
    let at = altered.len() - 30;
    altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
    assert_eq!(refusal(&store, std::str::from_utf8(&altered).unwrap()), Problem::Forged);
    let last_period = letter::issue(&letter_for(&siti, "blt-2026-11", 600_000), &programme).unwrap();
    assert_eq!(refusal(&store, &last_period), Problem::OtherRoster);
    let others = letter::issue(&letter_for(&joko, ROSTER, 600_000), &programme).unwrap();
    assert_eq!(refusal(&store, &others), Problem::NotOnThisPhone);
    let edited = letter::issue(&letter_for(&siti, ROSTER, 900_000), &programme).unwrap();
    assert_eq!(refusal(&store, &edited), Problem::AmountDiffers);

    // None of the refusals noted a letter; the genuine one does.
    assert_eq!(store.scanned_letter(ROSTER, &siti.recipient).unwrap(), None);
    let LetterOpening::Opened { letter: opened, recipient: r } = doorstep::open_letter(&store, ROSTER, &token).unwrap()
    else {
        panic!("the genuine letter was refused")
    };
    assert_eq!((r.name.as_str(), r.amount), ("Penerima 1", 600_000));
    assert_eq!(opened.letter_id, letter::letter_id(ROSTER, &siti.recipient));
    let mut draft = common::draft(1);
    (draft.roster_id, draft.recipient) = (ROSTER.into(), siti.recipient.clone());
    let signed = store.record(&signer, draft).unwrap();
    assert_eq!(signed.receipt.letter_id.as_deref(), Some(opened.letter_id.as_str()));
    // It verifies in the one byte form, and a receipt of a recipient whose letter was not
    // scanned names none.
    salur_core::receipt::verify(&signed.bytes, &signer.public_key_spki().unwrap()).unwrap();
    // The scan belonged to that visit: the next visit, opened from the list, names no letter.
    let mut draft = common::draft(3);
    (draft.roster_id, draft.recipient, draft.outcome) =
        (ROSTER.into(), siti.recipient.clone(), salur_core::receipt::Outcome::NotHome);
    assert_eq!(store.record(&signer, draft).unwrap().receipt.letter_id, None);
    store.replace_roster(ROSTER, &[siti.clone(), joko.clone()], None).unwrap();
    let mut draft = common::draft(2);
    (draft.roster_id, draft.recipient) = (ROSTER.into(), joko.recipient.clone());
    assert_eq!(store.record(&signer, draft).unwrap().receipt.letter_id, None);
    // A refresh without a key keeps the one the phone has.
    assert!(store.programme_key(ROSTER).unwrap().is_some());
}
