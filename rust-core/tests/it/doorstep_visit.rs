//! The doorstep's live visit on real frames: a payment rests on the identity match and a passed
//! live check of one camera sequence; enrolment and the e-KTP path need the live check too; the
//! signed receipt (format 2) records what ran.

use crate::common;

use std::sync::OnceLock;

use salur_core::doorstep::{self, Against, LiveVisit, VisitFailure, VisitState};
use salur_core::face::liveness::{Challenge, FailReason, LivenessConfig, LivenessEngine, Movement};
use salur_core::face::{read_image, FacePick, RgbImage, Template};
use salur_core::keys::{Signer, SoftwareSigner};
use salur_core::receipt::{self, HeadMove, Liveness, Method, OverrideCode};

fn clip() -> &'static Vec<RgbImage> {
    static CLIP: OnceLock<Vec<RgbImage>> = OnceLock::new();
    CLIP.get_or_init(|| {
        let dir = common::root().join("test-vectors/liveness/motion/lp_d12");
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "jpg"))
            .collect();
        paths.sort();
        paths.iter().map(|p| read_image(p).unwrap()).collect()
    })
}

fn live() -> &'static LivenessEngine {
    static LIVE: OnceLock<LivenessEngine> = OnceLock::new();
    LIVE.get_or_init(|| LivenessEngine::from_dir(&common::root().join("models"), LivenessConfig::default()).unwrap())
}

/// The clip's person turns left, then right, at 8.333 frames per second.
fn run(against: Against, frames: &[RgbImage]) -> VisitState {
    let mut visit = LiveVisit::with_challenge(live(), against, Challenge::new(Movement::TurnLeft));
    for (i, img) in frames.iter().enumerate() {
        let state = visit.push(common::engine(), live(), img, (i * 120) as u64).unwrap();
        if !matches!(state, VisitState::InProgress { .. }) {
            let again = visit.push(common::engine(), live(), img, (i * 120 + 120) as u64);
            assert!(again.is_err(), "an ended visit takes no more frames");
            return state;
        }
    }
    panic!("the visit did not end");
}

fn template_of(img: &RgbImage) -> Template {
    common::engine().template(img, FacePick::Single).unwrap()
}

#[test]
fn a_live_matched_visit_pays_and_its_receipt_records_the_live_check() {
    let reference = template_of(&clip()[60]);
    let state = run(Against::Reference { template: reference, method: Method::RegistryTemplate }, clip());
    let VisitState::Checked(check) = state else { panic!("{state:?}") };
    assert!(check.matched() && check.live_passed() && check.accepted(), "{:?}", check.verification);
    let live = check.evidence.live.clone().unwrap();
    assert_eq!(check.evidence.liveness, Liveness::Passed);
    assert_eq!(live.asked, vec![HeadMove::TurnLeft, HeadMove::TurnRight]);
    assert_eq!(live.met, live.asked);
    assert!(live.passive_e6.unwrap() >= live.passive_threshold_e6.unwrap());
    assert_eq!(live.models.len(), 4);
    assert!(live.duration_ms <= 6_000, "a cooperative person finishes within 6 s of frames: {}", live.duration_ms);

    // Signed as format 2, verified, and the record survives the round trip byte for byte.
    let (signer, _) = SoftwareSigner::generate().unwrap();
    let mut r = common::receipt(&signer);
    r.v = receipt::FORMAT_VERSION;
    r.evidence = Some(check.evidence.clone());
    let signed = receipt::sign(&r, &signer).unwrap();
    let back = receipt::verify(&signed.bytes, &signer.public_key_spki().unwrap()).unwrap();
    assert_eq!(back.receipt.evidence.unwrap().live.unwrap(), live);
    // A format 1 receipt cannot carry the record (one meaning per byte form).
    r.v = 1;
    let old = receipt::sign(&r, &signer);
    let refused = old.map(|s| receipt::verify(&s.bytes, &signer.public_key_spki().unwrap()));
    assert!(matches!(refused, Err(_) | Ok(Err(_))), "{refused:?}");
}

#[test]
fn a_live_person_who_is_not_the_recipient_is_not_accepted() {
    let someone_else = template_of(&common::photo("same/fr_obama/1.jpg"));
    let state = run(Against::Reference { template: someone_else, method: Method::RegistryTemplate }, clip());
    let VisitState::Checked(check) = state else { panic!("{state:?}") };
    assert!(check.live_passed() && !check.matched() && !check.accepted());
}

#[test]
fn a_still_photo_of_the_recipient_never_reaches_the_face_comparison() {
    let reference = template_of(&clip()[60]);
    // Held still past the session's 25 s limit (an untimed challenge asks no prompt to miss).
    let held: Vec<RgbImage> = (0..230).map(|_| clip()[0].clone()).collect();
    let state = run(Against::Reference { template: reference.clone(), method: Method::RegistryTemplate }, &held);
    assert!(matches!(state, VisitState::Failed(VisitFailure::Live(_))), "{state:?}");
    // One still image can be compared, but it records no live check and cannot pay.
    let still = doorstep::check_face(common::engine(), &reference, Method::RegistryTemplate, &clip()[0]).unwrap();
    assert!(still.matched() && !still.accepted());
    assert_eq!(still.evidence.liveness, Liveness::NotRun);
    // Its override keeps what ran and the reason code.
    let o = doorstep::override_evidence(
        "sup-1",
        "cannot turn her head",
        OverrideCode::CannotDoLiveCheck,
        Some("01234567"),
        Some(&still),
    );
    assert!(matches!(
        o.method,
        Method::SupervisorOverride { code: Some(OverrideCode::CannotDoLiveCheck), approval: Some(ref a), .. } if a == "01234567"
    ));
    assert_eq!((o.score_e6, o.liveness), (still.evidence.score_e6, Liveness::NotRun));
}

#[test]
fn the_ektp_card_shown_again_is_refused_and_enrolment_needs_the_live_check() {
    let VisitState::Enrolled(enrolled) = run(Against::Enrol, clip()) else { panic!("enrolment did not pass") };
    // The card's photo is the very face the visit captures (the enrolment above took it from the
    // same frames): the card held up again.
    let state = run(Against::Reference { template: enrolled.template.clone(), method: Method::EktpPhoto }, clip());
    assert!(matches!(state, VisitState::Failed(VisitFailure::CardShownAgain)), "{state:?}");

    assert_eq!(enrolled.live.met, vec![HeadMove::TurnLeft, HeadMove::TurnRight]);
    let later = common::engine().capture(&clip()[60], FacePick::Single).unwrap();
    assert!(common::engine().verify(&enrolled.template, &later).unwrap().score > 0.5);
    let held: Vec<RgbImage> = (0..100).map(|_| clip()[30].clone()).collect();
    let failed = run(Against::Enrol, &held);
    assert!(matches!(failed, VisitState::Failed(VisitFailure::Live(r)) if r != FailReason::FaceChanged), "{failed:?}");
}

#[test]
fn only_a_check_made_for_this_recipient_pays_and_only_once_per_period() {
    use salur_core::receipt::Standing;
    use salur_core::store::Recipient;
    let reference = template_of(&clip()[60]);
    let recipient = |r: u8| Recipient {
        roster_id: "blt".into(),
        recipient: vec![r; 16],
        nik: "3171000000000001".into(),
        name: "Siti".into(),
        address: "Jl. 1".into(),
        amount: 600_000,
        template: Some(reference.encode()),
        enrolled: None,
        household: Vec::new(),
    };
    let (siti, budi) = (recipient(1), recipient(2));
    let (found, method) = doorstep::reference(&siti).unwrap().unwrap();
    assert_eq!((found.vector.len(), &method), (reference.vector.len(), &Method::RegistryTemplate));
    let mut visit = LiveVisit::with_challenge(
        live(),
        Against::Reference { template: found, method },
        Challenge::new(Movement::TurnLeft),
    )
    .for_recipient("blt", &siti.recipient);
    let mut check = None;
    for (i, img) in clip().iter().enumerate() {
        if let VisitState::Checked(c) = visit.push(common::engine(), live(), img, (i * 120) as u64).unwrap() {
            check = Some(*c);
            break;
        }
    }
    let check = check.expect("the visit ends in a check");
    assert!(doorstep::may_pay(&check, &siti, Standing::NotVisited).is_ok());
    assert!(doorstep::may_pay(&check, &siti, Standing::NotHome).is_ok(), "a revisit after not-home pays");
    let e = doorstep::may_pay(&check, &budi, Standing::NotVisited).unwrap_err();
    assert!(e.to_string().contains("not made for this recipient"), "{e}");
    let e = doorstep::may_pay(&check, &siti, Standing::Paid).unwrap_err();
    assert!(e.to_string().contains("already paid"), "{e}");
    let unbound = doorstep::FaceCheck { made_for: None, ..check };
    assert!(doorstep::may_pay(&unbound, &siti, Standing::NotVisited).is_err());
}
