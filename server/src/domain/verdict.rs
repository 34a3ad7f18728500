//! The server's own verdict on a payment: it does not take the phone's word that the face
//! matched, it compares the evidence crop the receipt signs with the reference it holds.
//!
//! `verified` means "the evidence face matches the reference the server holds, at a score close
//! to the one the phone signed". It does not mean "a live person was there": the crop is a still
//! image, and the live check is the phone's (signed in the receipt's `live` record).

use salur_core::receipt::{Method, Outcome, Receipt};
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

/// What the server holds to compare a payment's face with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    /// The recipient's registry template from the roster.
    Registry,
    /// Nothing.
    None,
}

/// The verdict a receipt gets when it is stored: `None` when it is not a face payment (not paid,
/// or paid on a supervisor's override, which the override approval judges). A face payment whose
/// receipt names no crop is `no_evidence` at once: it is kept and flagged rather than refused,
/// because the receipt records that cash left and refusing it would hide that (receipts signed
/// before the crop hash existed are judged the same way).
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
    Some(match reference_for(&evidence.method, reference) {
        Reference::Registry => Verdict::Pending,
        Reference::None => Verdict::NoReference,
    })
}

/// The reference the server compares a method's live face with. A proxy's live face is the KK
/// member's, not the recipient's: the registry photo is no reference for it.
pub fn reference_for(method: &Method, held: Reference) -> Reference {
    match method {
        Method::RegistryTemplate | Method::EktpPhoto | Method::EnrolledTemplate => held,
        Method::Proxy { .. } | Method::SupervisorOverride { .. } => Reference::None,
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
        assert_eq!(on_arrival(&paid(Method::EktpPhoto, true), Reference::None), Some(Verdict::NoReference));
    }

    #[test]
    fn a_proxys_face_is_not_compared_with_the_recipients_registry_photo() {
        let proxy = Method::Proxy { member: vec![1; 16], kuasa_sha256: vec![2; 32], card_sha256: Some(vec![3; 32]) };
        assert_eq!(on_arrival(&paid(proxy, true), Reference::Registry), Some(Verdict::NoReference));
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
