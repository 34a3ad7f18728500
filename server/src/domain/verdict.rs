//! The server's own verdict on a payment: it does not take the phone's word that the face
//! matched, it compares the evidence crop the receipt signs with the reference it holds.
//!
//! `verified` means "the evidence face matches the reference the server holds, at a score close
//! to the one the phone signed". It does not mean "a live person was there": the crop is a still
//! image, and the live check is the phone's (signed in the receipt's `live` record).

use salur_core::receipt::{Evidence, Method, Outcome, Receipt};
use serde::Serialize;

/// The match threshold the server applies, in millionths (the calibrated 1:1 threshold, 0.40:
/// `salur_core::face::DEFAULT_MATCH_THRESHOLD`). The signed threshold is not used: a phone could
/// sign a lower one.
pub const THRESHOLD_E6: i64 = 400_000;

/// How far the server's score may sit from the signed one before the receipt is a `mismatch`,
/// in millionths. The phone scores the raw aligned crop; the server scores the same crop after
/// the phone's JPEG encoding (quality 85), so some drift is expected: over the 72 genuine pairs
/// of the project's photos, median 0.0056 and at most 0.0192 (`server/tests/it/verdicts.rs::
/// drift_of_the_jpeg_crop_is_small` asserts the largest stays under half of this). A signed score
/// inflated by more than 0.05 (the low-score margin, one grey zone) is caught.
pub const SCORE_TOLERANCE_E6: i64 = 50_000;

/// Default time a face payment may wait for its crop before it counts as `no_evidence`.
pub const DEFAULT_EVIDENCE_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// The server's verdict on one payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The crop is expected but has not arrived yet (within the evidence window).
    Pending,
    /// The server's own score clears the threshold and is close to the signed one.
    Verified,
    /// Below the threshold, far from the signed score, or not an image of a face.
    Mismatch,
    /// No crop: the receipt names none, or none arrived within the evidence window.
    NoEvidence,
    /// The server holds no reference to compare with (no registry photo; a proxy's card).
    NoReference,
}

impl Verdict {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Verified => "verified",
            Self::Mismatch => "mismatch",
            Self::NoEvidence => "no_evidence",
            Self::NoReference => "no_reference",
        }
    }

    /// Every verdict, in the order the dashboard and the report list them.
    pub const ALL: [Verdict; 5] = [Self::Verified, Self::Mismatch, Self::NoEvidence, Self::NoReference, Self::Pending];

    /// The stored name back.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// SQL for a receipt's verdict as of `cutoff_ms` (a `pending` one received before it reads as
/// `no_evidence`): the one rule the dashboard and the report both use.
pub fn sql_effective(cutoff_param: &str) -> String {
    format!(
        "CASE WHEN r.verdict = '{pending}' AND r.received_ms < {cutoff_param} THEN '{none}' ELSE r.verdict END",
        pending = Verdict::Pending.as_str(),
        none = Verdict::NoEvidence.as_str()
    )
}

/// SQL (over `receipts r`) for a payment the server verified against a reference of its own: the
/// registry photo or a first enrolment it kept, directly or through the card or enrolment the
/// phone brought (then `reference_score_e6` is set). A payment `verified` only against a card
/// face or enrolment the phone alone supplied (a proxy's card, an e-KTP or first enrolment of a
/// recipient the server held nothing for) rests on the phone's word for who is on the card: the
/// dashboard counts it as phone-only.
pub const SQL_SERVER_VERIFIED: &str =
    "r.verdict = 'verified' AND (r.method NOT IN ('ektp_photo', 'enrolled_template', 'proxy') \
     OR r.reference_score_e6 IS NOT NULL)";

/// What the server holds to compare a payment's face with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    /// The recipient's registry template from the roster, or the first enrolment it verified.
    Registry,
    /// Nothing.
    None,
}

/// What a payment's live face is compared with on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Against {
    /// The reference the server holds for the recipient.
    Held,
    /// The face crop of the e-KTP photo the receipt signs (e-KTP and proxy payments, format 3).
    CardFace,
    /// The enrolled template the receipt signs (payments on a first-visit enrolment, format 3).
    Enrolled,
    /// Nothing the server can have: a proxy's face before the card's face was signed.
    Nothing,
}

impl Against {
    /// What the live face of a payment by `evidence` is compared with. Receipts signed before
    /// format 3 name no card face or enrolment: an e-KTP or enrolment payment among them is
    /// compared with the reference held, a proxy's with nothing.
    pub fn of(evidence: &Evidence) -> Self {
        match &evidence.method {
            Method::EktpPhoto | Method::Proxy { .. } if evidence.card_face_sha256.is_some() => Self::CardFace,
            Method::EnrolledTemplate if evidence.enrolled_sha256.is_some() => Self::Enrolled,
            Method::Proxy { .. } | Method::SupervisorOverride { .. } => Self::Nothing,
            Method::RegistryTemplate | Method::EktpPhoto | Method::EnrolledTemplate => Self::Held,
        }
    }

    /// Whether the reference the phone brought (a card, an enrolment) must also match the one the
    /// server holds for the recipient: the recipient's own card or enrolment must, a proxy's card
    /// is another person's.
    pub fn checked_against_held(self, method: &Method) -> bool {
        matches!(self, Self::CardFace | Self::Enrolled) && !matches!(method, Method::Proxy { .. })
    }
}

/// The verdict a receipt gets when it is stored: `None` when it is not a face payment (not paid,
/// or paid on a supervisor's override, which the override approval judges). A face payment whose
/// receipt names no crop is `no_evidence` at once: it is kept and flagged rather than refused,
/// because the receipt records that cash left and refusing it would hide that (receipts signed
/// before the crop hash existed are judged the same way). So is a format 3 payment on an e-KTP
/// photo or an enrolment that names no card face or enrolled template: this build's phones always
/// sign them, so their absence is a client of someone's own.
pub fn on_arrival(r: &Receipt, reference: Reference) -> Option<Verdict> {
    if r.outcome != Outcome::Paid {
        return None;
    }
    // A payment that names no identification at all rests on nothing the server can check.
    let Some(evidence) = r.evidence.as_ref() else { return Some(Verdict::NoEvidence) };
    if matches!(evidence.method, Method::SupervisorOverride { .. }) {
        return None;
    }
    if evidence.face_sha256.is_none() {
        return Some(Verdict::NoEvidence);
    }
    let against = Against::of(evidence);
    let names_its_reference = matches!(against, Against::CardFace | Against::Enrolled);
    let needs_its_reference =
        matches!(evidence.method, Method::EktpPhoto | Method::Proxy { .. } | Method::EnrolledTemplate);
    if r.v >= 3 && needs_its_reference && !names_its_reference {
        return Some(Verdict::NoEvidence);
    }
    Some(match (against, reference) {
        (Against::CardFace | Against::Enrolled, _) | (Against::Held, Reference::Registry) => Verdict::Pending,
        (Against::Held, Reference::None) | (Against::Nothing, _) => Verdict::NoReference,
    })
}

/// The scores the server computed for one payment, in millionths.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scores {
    /// The live crop against what it is compared with (`None`: the crop or that reference could
    /// not be read).
    pub live: Option<i64>,
    /// The reference the phone brought against the one the server holds for the recipient, when
    /// it must match one ([`Against::checked_against_held`]) and the server holds one (`None`
    /// inside: unreadable).
    pub reference: Option<Option<i64>>,
    /// The live crop against the reference the server holds, in the same case: a card or template
    /// made to sit between two faces (a morph of the registry photo and the impostor's own face)
    /// matches both, and only this comparison catches it.
    pub live_vs_held: Option<Option<i64>>,
}

/// The verdict on a payment's scores: the live face must clear the threshold near the signed
/// score ([`judge`]); where the server holds the recipient's own reference and the phone brought
/// a card or enrolment, that card or enrolment and the live face itself must both match it (a card
/// of someone else matched to their own live face, or a morph, is the attack this catches).
pub fn judge_scores(scores: Scores, signed_score_e6: Option<i64>) -> Verdict {
    let live = judge(scores.live, signed_score_e6);
    let below = |s: Option<Option<i64>>| s.is_some_and(|s| s.is_none_or(|s| s < THRESHOLD_E6));
    if live == Verdict::Verified && (below(scores.reference) || below(scores.live_vs_held)) {
        Verdict::Mismatch
    } else {
        live
    }
}

/// The verdict once the crop arrived and the server scored it (`server_score_e6`, `None` when the
/// crop could not be read as a face image) against the signed score.
pub fn judge(server_score_e6: Option<i64>, signed_score_e6: Option<i64>) -> Verdict {
    let Some(server) = server_score_e6 else { return Verdict::Mismatch };
    let close = signed_score_e6.is_some_and(|signed| (server - signed).abs() <= SCORE_TOLERANCE_E6);
    if server >= THRESHOLD_E6 && close {
        Verdict::Verified
    } else {
        Verdict::Mismatch
    }
}

/// Cosine similarity in millionths, rounded (the unit-length vectors of one model).
pub fn score_e6(a: &[f32], b: &[f32]) -> Option<i64> {
    if a.len() != b.len() || a.is_empty() {
        return None;
    }
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    dot.is_finite().then(|| (f64::from(dot) * 1e6).round() as i64)
}

#[cfg(test)]
mod tests {
    use salur_core::receipt::{Evidence, Liveness, Times, FORMAT_VERSION, GENESIS};

    use super::*;

    fn paid(method: Method, crop: bool) -> Receipt {
        Receipt {
            v: FORMAT_VERSION,
            id: "r1".into(),
            device_id: "d1".into(),
            key_id: vec![0; 16],
            worker_id: "w1".into(),
            seq: 1,
            prev: GENESIS.to_vec(),
            roster_id: "blt".into(),
            recipient: vec![7; 16],
            amount: 600_000,
            outcome: Outcome::Paid,
            evidence: Some(Evidence {
                method,
                score_e6: Some(710_000),
                threshold_e6: Some(400_000),
                model: "m".into(),
                liveness: Liveness::Passed,
                live: None,
                face_sha256: crop.then(|| vec![1; 32]),
                card_face_sha256: None,
                enrolled_sha256: None,
            }),
            time: Times { wall_ms: 0, mono_ms: 0, offset_ms: 0 },
            location: None,
            received_in_full: Some(true),
            letter_id: None,
        }
    }

    #[test]
    fn a_face_payment_without_a_crop_has_no_evidence_at_once() {
        let r = paid(Method::RegistryTemplate, false);
        assert_eq!(on_arrival(&r, Reference::Registry), Some(Verdict::NoEvidence));
        assert_eq!(on_arrival(&paid(Method::RegistryTemplate, true), Reference::Registry), Some(Verdict::Pending));
        let mut ektp = paid(Method::EktpPhoto, true);
        ektp.v = 2;
        assert_eq!(on_arrival(&ektp, Reference::None), Some(Verdict::NoReference));
    }

    fn proxy() -> Method {
        Method::Proxy { member: vec![1; 16], kuasa_sha256: vec![2; 32], card_sha256: Some(vec![3; 32]) }
    }

    fn naming(mut r: Receipt, card_face: bool, enrolled: bool) -> Receipt {
        let e = r.evidence.as_mut().unwrap();
        e.card_face_sha256 = card_face.then(|| vec![4; 32]);
        e.enrolled_sha256 = enrolled.then(|| vec![5; 32]);
        r
    }

    #[test]
    fn a_proxys_face_is_not_compared_with_the_recipients_registry_photo() {
        let mut old = paid(proxy(), true);
        old.v = 2;
        assert_eq!(on_arrival(&old, Reference::Registry), Some(Verdict::NoReference));
        // Format 3: the member's card face goes up with it and is the reference.
        let card = naming(paid(proxy(), true), true, false);
        assert_eq!(Against::of(card.evidence.as_ref().unwrap()), Against::CardFace);
        assert!(!Against::CardFace.checked_against_held(&proxy()), "the member is another person");
        assert_eq!(on_arrival(&card, Reference::Registry), Some(Verdict::Pending));
        assert_eq!(on_arrival(&card, Reference::None), Some(Verdict::Pending));
    }

    #[test]
    fn a_format_3_card_or_enrolment_payment_must_name_what_it_was_compared_with() {
        for method in [Method::EktpPhoto, Method::EnrolledTemplate, proxy()] {
            assert_eq!(
                on_arrival(&paid(method.clone(), true), Reference::None),
                Some(Verdict::NoEvidence),
                "{method:?}"
            );
            let mut old = paid(method.clone(), true);
            old.v = 2;
            assert_ne!(on_arrival(&old, Reference::Registry), Some(Verdict::NoEvidence), "{method:?} before format 3");
        }
        let ektp = naming(paid(Method::EktpPhoto, true), true, false);
        assert_eq!(on_arrival(&ektp, Reference::None), Some(Verdict::Pending));
        assert!(Against::CardFace.checked_against_held(&Method::EktpPhoto));
        let enrolled = naming(paid(Method::EnrolledTemplate, true), false, true);
        assert_eq!(Against::of(enrolled.evidence.as_ref().unwrap()), Against::Enrolled);
        assert!(Against::Enrolled.checked_against_held(&Method::EnrolledTemplate));
        // A registry payment naming a card face still compares with the registry photo.
        let registry = naming(paid(Method::RegistryTemplate, true), true, false);
        assert_eq!(Against::of(registry.evidence.as_ref().unwrap()), Against::Held);
    }

    #[test]
    fn a_card_or_enrolment_of_someone_else_is_a_mismatch_even_when_the_live_face_matches_it() {
        let live = Some(700_000);
        let signed = Some(710_000);
        let with = |reference, live_vs_held| Scores { live, reference, live_vs_held };
        assert_eq!(judge_scores(with(None, None), signed), Verdict::Verified);
        assert_eq!(judge_scores(with(Some(Some(650_000)), Some(Some(600_000))), signed), Verdict::Verified);
        assert_eq!(judge_scores(with(Some(Some(120_000)), Some(Some(600_000))), signed), Verdict::Mismatch);
        assert_eq!(judge_scores(with(Some(None), None), signed), Verdict::Mismatch);
        // A morph between the registry photo and the impostor: it matches both, the impostor's
        // live face does not match the registry photo.
        assert_eq!(judge_scores(with(Some(Some(710_000)), Some(Some(20_000))), signed), Verdict::Mismatch);
        let low = Scores { live: Some(100_000), reference: Some(Some(900_000)), live_vs_held: Some(Some(900_000)) };
        assert_eq!(judge_scores(low, signed), Verdict::Mismatch);
    }

    #[test]
    fn overrides_and_other_outcomes_get_no_face_verdict() {
        let over =
            Method::SupervisorOverride { supervisor_id: "s".into(), reason: "r".into(), code: None, approval: None };
        assert_eq!(on_arrival(&paid(over, false), Reference::Registry), None);
        let mut bare = paid(Method::RegistryTemplate, true);
        bare.evidence = None;
        assert_eq!(on_arrival(&bare, Reference::Registry), Some(Verdict::NoEvidence), "a payment naming nothing");
        let mut home = paid(Method::RegistryTemplate, true);
        home.outcome = Outcome::NotHome;
        assert_eq!(on_arrival(&home, Reference::Registry), None);
    }

    #[test]
    fn the_server_score_must_clear_the_threshold_and_sit_near_the_signed_one() {
        assert_eq!(judge(Some(700_000), Some(710_000)), Verdict::Verified);
        assert_eq!(judge(Some(400_000), Some(400_000 + SCORE_TOLERANCE_E6)), Verdict::Verified);
        // Another person's crop: the server's own score is low.
        assert_eq!(judge(Some(120_000), Some(710_000)), Verdict::Mismatch);
        // The right crop with an inflated signed score.
        assert_eq!(judge(Some(520_000), Some(950_000)), Verdict::Mismatch);
        assert_eq!(judge(Some(520_000), Some(520_000 + SCORE_TOLERANCE_E6 + 1)), Verdict::Mismatch);
        // A signed score below the server's is as suspect: the phone paid on a number that is not its own.
        assert_eq!(judge(Some(900_000), Some(450_000)), Verdict::Mismatch);
        // Just below the threshold, even when the phone signed the same.
        assert_eq!(judge(Some(399_999), Some(399_999)), Verdict::Mismatch);
        // Unreadable crop; no signed score.
        assert_eq!(judge(None, Some(700_000)), Verdict::Mismatch);
        assert_eq!(judge(Some(700_000), None), Verdict::Mismatch);
    }

    #[test]
    fn stored_names_read_back_and_the_cutoff_rule_names_both() {
        for v in Verdict::ALL {
            assert_eq!(Verdict::parse(v.as_str()), Some(v));
        }
        assert_eq!(Verdict::parse("x"), None);
        let sql = sql_effective("$2");
        assert!(sql.contains("'pending'") && sql.contains("'no_evidence'") && sql.contains("$2"));
    }

    #[test]
    fn cosine_in_millionths() {
        assert_eq!(score_e6(&[1.0, 0.0], &[1.0, 0.0]), Some(1_000_000));
        assert_eq!(score_e6(&[1.0, 0.0], &[0.0, 1.0]), Some(0));
        assert_eq!(score_e6(&[0.6, 0.8], &[0.8, 0.6]), Some(960_000));
        assert_eq!(score_e6(&[1.0], &[1.0, 0.0]), None);
        assert_eq!(score_e6(&[f32::NAN], &[1.0]), None);
    }
}
