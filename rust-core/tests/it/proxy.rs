//! Collection by a family member on real frames: only a member of the recipient's KK, matched
//! live to their own e-KTP photo, with the surat kuasa photographed; the signed receipt names
//! the member and the photo's hash, and the phone keeps the photo sealed.

use crate::common;

use std::sync::OnceLock;

use salur_core::doorstep::{self, Against, CardFace, LiveVisit, ProxyLookup, VisitState};
use salur_core::face::liveness::{Challenge, LivenessConfig, LivenessEngine, Movement};
use salur_core::face::{decode_image, read_image, FacePick, RgbImage};
use salur_core::keys::{FixedKey, Signer, SoftwareSigner};
use salur_core::receipt::{self, Method, Standing, Times};
use salur_core::store::{KkMember, Recipient, Store};

const ROSTER: &str = "blt-2026-12";
const RECIPIENT_NIK: &str = "3171010101500001";
const MEMBER_NIK: &str = "3171010101800021";

fn clip() -> &'static Vec<RgbImage> {
    static CLIP: OnceLock<Vec<RgbImage>> = OnceLock::new();
    CLIP.get_or_init(|| {
        let dir = common::root().join("test-vectors/liveness/motion/lp_d12");
        let mut paths: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        paths.retain(|p| p.extension().is_some_and(|x| x == "jpg"));
        paths.sort();
        paths.iter().map(|p| read_image(p).unwrap()).collect()
    })
}

fn live() -> &'static LivenessEngine {
    static LIVE: OnceLock<LivenessEngine> = OnceLock::new();
    LIVE.get_or_init(|| LivenessEngine::from_dir(&common::root().join("models"), LivenessConfig::default()).unwrap())
}

/// A photographed page: white paper, lines of dark "handwriting", a signature, as PNG.
fn kuasa_page(w: u32, h: u32) -> Vec<u8> {
    let mut page = RgbImage::from_pixel(w, h, image::Rgb([236, 234, 228]));
    for (x, y, p) in page.enumerate_pixels_mut() {
        let line = (y / 40) % 2 == 0 && y % 40 < 6 && x > w / 10 && x < w * 9 / 10;
        let signature = y > h * 3 / 4 && y < h * 4 / 5 && (x / 7 + y / 3) % 9 == 0;
        if line || signature {
            *p = image::Rgb([40, 40, 60]);
        }
    }
    let mut out = Vec::new();
    page.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
    out
}

struct Phone {
    _dir: tempfile::TempDir,
    store: Store,
    signer: SoftwareSigner,
    recipient: Recipient,
}

/// A phone whose roster holds one recipient (Pak Harjo, bedridden) whose KK lists his daughter.
fn phone() -> Phone {
    let dir = tempfile::tempdir().unwrap();
    let keys = FixedKey(salur_core::crypto::DataKey::new([7; 32]));
    let signer = SoftwareSigner::generate().unwrap().0;
    let store = Store::open(&dir.path().join("phone.db"), &keys).unwrap();
    store.set_device("dev-proxy", "pos-1", &signer).unwrap();
    let recipient = Recipient {
        roster_id: ROSTER.into(),
        recipient: receipt::recipient_ref(b"roster key", RECIPIENT_NIK),
        nik: RECIPIENT_NIK.into(),
        name: "Harjo Susilo".into(),
        address: "Jl. Kenanga 3".into(),
        amount: 600_000,
        template: Some(
            common::engine().template(&common::photo("same/fr_obama/1.jpg"), FacePick::Single).unwrap().encode(),
        ),
        enrolled: None,
        household: vec![KkMember {
            member: receipt::recipient_ref(b"roster key", MEMBER_NIK),
            nik: MEMBER_NIK.into(),
            name: "Sri Wahyuni".into(),
        }],
    };
    store.put_recipients(std::slice::from_ref(&recipient)).unwrap();
    Phone { _dir: dir, store, signer, recipient }
}

/// The member's live visit (the clip's person turns left, then right) against `card`.
fn proxy_visit(p: &Phone, card: &RgbImage, kuasa_jpeg: Vec<u8>) -> VisitState {
    let member = p.recipient.household[0].member.clone();
    let mut card_jpeg = Vec::new();
    card.write_to(&mut std::io::Cursor::new(&mut card_jpeg), image::ImageFormat::Png).unwrap();
    let card_jpeg = salur_core::doorstep::card_photo(&card_jpeg).unwrap();
    let card = CardFace::of(common::engine(), &salur_core::face::decode_image(&card_jpeg).unwrap()).unwrap();
    let against = Against::Proxy { card, card_jpeg, member, kuasa_jpeg };
    let mut visit = LiveVisit::with_challenge(live(), against, Challenge::new(Movement::TurnLeft))
        .for_recipient(ROSTER, &p.recipient.recipient);
    for (i, img) in clip().iter().enumerate() {
        let state = visit.push(common::engine(), live(), img, (i * 120) as u64).unwrap();
        if !matches!(state, VisitState::InProgress { .. }) {
            return state;
        }
    }
    panic!("the visit did not end");
}

fn times() -> Times {
    Times { wall_ms: 1_796_000_000_000, mono_ms: 5_000, offset_ms: 0 }
}

#[test]
fn only_a_member_of_the_kk_is_found_by_the_nik_on_their_ektp() {
    let p = phone();
    let find = |nik: &str| doorstep::find_member(&p.store, ROSTER, &p.recipient.recipient, nik).unwrap();
    let ProxyLookup::Member(m) = find("3171 0101 0180 0021") else { panic!("the daughter, typed in groups") };
    assert_eq!((m.name.as_str(), m.member.as_slice()), ("Sri Wahyuni", p.recipient.household[0].member.as_slice()));
    assert_eq!(find("3171.0101.0180.0021"), ProxyLookup::Member(m));
    assert_eq!(find(RECIPIENT_NIK), ProxyLookup::RecipientThemself);
    // A neighbour, one digit off the daughter: not in the KK.
    assert_eq!(find("3171010101800022"), ProxyLookup::NotInKk);
    for typo in ["317101010180002", "31710101018000211", "317101010180002A", ""] {
        assert_eq!(find(typo), ProxyLookup::NotANik, "{typo:?}");
    }
}

#[test]
fn the_kuasa_photo_is_kept_readable_bounded_and_in_one_byte_form() {
    let big = doorstep::kuasa_photo(&kuasa_page(3000, 4000)).unwrap();
    let kept = decode_image(&big).unwrap();
    assert_eq!(kept.dimensions(), (1200, doorstep::KUASA_MAX_SIDE));
    assert!(big.starts_with(&[0xFF, 0xD8]), "kept as JPEG");
    assert!(big.len() < 600_000, "{} bytes", big.len());
    // Kept as is below the cap, still re-encoded once.
    let small = decode_image(&doorstep::kuasa_photo(&kuasa_page(827, 1169)).unwrap()).unwrap();
    assert_eq!(small.dimensions(), (827, 1169));
    let e = doorstep::kuasa_photo(&kuasa_page(640, 427)).unwrap_err();
    assert!(e.to_string().contains("closer"), "{e}");
    assert!(doorstep::kuasa_photo(b"not a photo").is_err());
}

#[test]
fn a_member_matched_live_to_their_own_ektp_collects_and_the_receipt_names_them() {
    let p = phone();
    let kuasa = doorstep::kuasa_photo(&kuasa_page(1240, 1754)).unwrap();
    // Her e-KTP photo: a frame of her own, away from the moment the live check captures.
    let VisitState::Checked(check) = proxy_visit(&p, &clip()[60], kuasa.clone()) else { panic!("no check") };
    let check = *check;
    assert!(check.accepted(), "{:?}", check.verification);
    let Method::Proxy { member, kuasa_sha256, card_sha256 } = &check.evidence.method else {
        panic!("{:?}", check.evidence.method)
    };
    assert_eq!(member, &p.recipient.household[0].member);
    assert_eq!(kuasa_sha256.as_slice(), salur_core::crypto::sha256(&kuasa).as_slice());
    let card = check.card_jpeg.clone().expect("the e-KTP photo goes with the check");
    assert_eq!(card_sha256.as_deref(), Some(salur_core::crypto::sha256(&card).as_slice()));
    doorstep::may_pay(&check, &p.recipient, Standing::NotVisited).unwrap();

    let signed = p.store.record(&p.signer, doorstep::paid_draft(&p.recipient, check.clone(), times())).unwrap();
    let back = receipt::verify(&signed.bytes, &p.signer.public_key_spki().unwrap()).unwrap();
    let evidence = back.receipt.evidence.unwrap();
    assert!(matches!(&evidence.method, Method::Proxy { member, .. } if member == &p.recipient.household[0].member));
    assert_eq!(back.receipt.received_in_full, Some(true));
    assert_eq!(back.receipt.amount, 600_000);
    // The phone keeps the photo sealed, byte for byte what the receipt hashed; no other receipt has one.
    assert_eq!(p.store.kuasa(signed.receipt.seq).unwrap().as_deref(), Some(kuasa.as_slice()));
    // And the e-KTP photo the member's live face was matched to, for the auditor to compare.
    assert_eq!(p.store.proxy_card(signed.receipt.seq).unwrap().as_deref(), Some(card.as_slice()));
    let db = std::fs::read(p._dir.path().join("phone.db")).unwrap();
    let middle = &kuasa[kuasa.len() / 2..kuasa.len() / 2 + 64];
    assert!(!db.windows(64).any(|w| w == middle), "the photo is not stored in the clear");
    let middle = &card[card.len() / 2..card.len() / 2 + 64];
    assert!(!db.windows(64).any(|w| w == middle), "nor the e-KTP photo (it shows the NIK)");
    // Paid: the same member cannot collect again this period.
    let again = doorstep::may_pay(&check, &p.recipient, p.store.standing(ROSTER, &p.recipient.recipient).unwrap());
    assert!(again.unwrap_err().to_string().contains("already paid"));
}

#[test]
fn someone_elses_ektp_does_not_pay_and_a_proxy_payment_needs_its_kuasa_photo() {
    let p = phone();
    let kuasa = doorstep::kuasa_photo(&kuasa_page(1240, 1754)).unwrap();
    // The live person shows an e-KTP that is not theirs.
    let VisitState::Checked(check) = proxy_visit(&p, &common::photo("same/fr_obama/1.jpg"), kuasa.clone()) else {
        panic!("no check")
    };
    assert!(check.live_passed() && !check.matched());
    assert!(doorstep::may_pay(&check, &p.recipient, Standing::NotVisited).is_err());

    // The store refuses a proxy receipt whose surat kuasa photo is missing or another one.
    let VisitState::Checked(good) = proxy_visit(&p, &clip()[60], kuasa) else { panic!("no check") };
    let mut without = doorstep::paid_draft(&p.recipient, (*good).clone(), times());
    without.kuasa_jpeg = None;
    let e = p.store.record(&p.signer, without).unwrap_err();
    assert!(e.to_string().contains("surat kuasa"), "{e}");
    let mut other = doorstep::paid_draft(&p.recipient, *good, times());
    other.kuasa_jpeg = Some(doorstep::kuasa_photo(&kuasa_page(900, 1200)).unwrap());
    assert!(p.store.record(&p.signer, other).is_err());
    // Nor one whose e-KTP photo is missing or swapped for another.
    let VisitState::Checked(good) =
        proxy_visit(&p, &clip()[60], doorstep::kuasa_photo(&kuasa_page(1240, 1754)).unwrap())
    else {
        panic!("no check")
    };
    let mut no_card = doorstep::paid_draft(&p.recipient, (*good).clone(), times());
    no_card.card_jpeg = None;
    assert!(p.store.record(&p.signer, no_card).unwrap_err().to_string().contains("e-KTP"));
    let mut swapped = doorstep::paid_draft(&p.recipient, *good, times());
    swapped.card_jpeg = Some(doorstep::card_photo(&kuasa_page(900, 1200)).unwrap());
    assert!(p.store.record(&p.signer, swapped).is_err());
    assert_eq!(p.store.standing(ROSTER, &p.recipient.recipient).unwrap(), Standing::NotVisited, "nothing recorded");
}
