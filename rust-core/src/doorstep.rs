//! The doorstep decision: from a camera capture to the evidence a receipt signs. Shared by the
//! app (through the FFI) and `salur demo`, so both record exactly the same thing.

use crate::error::Result;
use crate::face::{models, FaceEngine, FacePick, Outcome as Decision, RgbImage, Template, Verification};
use crate::receipt::{Evidence, Liveness, Method, Outcome, Times};
use crate::store::{Draft, Recipient};

/// A face check at the door, with what to keep if it leads to a payment.
#[derive(Debug, Clone)]
pub struct FaceCheck {
    /// The decision and its score.
    pub verification: Verification,
    /// The evidence to sign when the recipient is paid on this check.
    pub evidence: Evidence,
    /// The aligned face crop (JPEG), kept sealed on the phone and uploaded for the audit sweep.
    pub crop_jpeg: Vec<u8>,
}

impl FaceCheck {
    /// Whether the recipient may be paid on this check alone.
    pub fn accepted(&self) -> bool {
        self.verification.outcome == Decision::Accept
    }
}

fn millionths(x: f32) -> i32 {
    (f64::from(x) * 1e6).round() as i32
}

/// Captures the one face in `image` and compares it with `reference`. Capture problems (no face,
/// two faces, too dark...) are errors carrying a hint for the worker.
pub fn check_face(engine: &FaceEngine, reference: &Template, method: Method, image: &RgbImage) -> Result<FaceCheck> {
    let capture = engine.capture(image, FacePick::Single)?;
    let verification = engine.verify(reference, &capture)?;
    let evidence = Evidence {
        method,
        score_e6: Some(millionths(verification.score)),
        threshold_e6: Some(millionths(verification.threshold)),
        model: models::SFACE.id.to_string(),
        // No live-person check has landed yet: the receipt says so rather than claiming one.
        liveness: Liveness::NotRun,
        live: None,
        face_sha256: None,
    };
    Ok(FaceCheck { verification, evidence, crop_jpeg: FaceEngine::crop_jpeg(&capture.crop)? })
}

/// Evidence for a supervisor override: the supervisor vouches for a genuine recipient the camera
/// could not verify; the last check's score is kept when there was one.
pub fn override_evidence(supervisor_id: &str, reason: &str, last_check: Option<&FaceCheck>) -> Evidence {
    Evidence {
        method: Method::SupervisorOverride { supervisor_id: supervisor_id.to_string(), reason: reason.to_string() },
        score_e6: last_check.and_then(|c| c.evidence.score_e6),
        threshold_e6: last_check.and_then(|c| c.evidence.threshold_e6),
        model: models::SFACE.id.to_string(),
        liveness: Liveness::NotRun,
        live: None,
        face_sha256: None,
    }
}

/// The draft of a receipt for `recipient` (with the evidence and its face crop, when there is
/// one): the store adds id, sequence, chain link and signs.
pub fn draft(
    recipient: &Recipient,
    outcome: Outcome,
    evidence: Option<Evidence>,
    evidence_jpeg: Option<Vec<u8>>,
    time: Times,
) -> Draft {
    Draft {
        roster_id: recipient.roster_id.clone(),
        recipient: recipient.recipient.clone(),
        amount: recipient.amount,
        outcome,
        evidence,
        evidence_jpeg,
        time,
        location: None,
    }
}
