//! The doorstep decision: from a camera capture to the evidence a receipt signs. Shared by the
//! app (through the FFI) and `salur demo`, so both record exactly the same thing.
//!
//! A payment by face rests on a [`FaceCheck`] from a [`LiveVisit`]: the identity match and a
//! passed live check on one camera sequence. A single-image check ([`check_face`]) records
//! `liveness: not_run` and can only support a supervisor override.

mod letter;
mod proxy;
mod visit;

pub use letter::{open_letter, LetterOpening};
pub use proxy::{card_photo, find_member, kuasa_photo, ProxyLookup, CARD_MAX_SIDE, KUASA_MAX_SIDE, KUASA_MIN_SIDE};
pub use visit::{Against, CardFace, EnrolledFace, LiveVisit, VisitFailure, VisitState, CARD_AGAIN_SCORE};

use crate::error::Result;
use crate::face::{models, FaceEngine, FacePick, Outcome as Decision, RgbImage, Template, Verification};
use crate::receipt::{Evidence, Liveness, Method, Outcome, OverrideCode, Times};
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
    /// The recipient (roster, reference) whose reference the core picked for this check; a check
    /// made against a reference the caller supplied is for nobody and cannot pay.
    pub made_for: Option<(String, Vec<u8>)>,
    /// On a proxy collection, the photo of the surat kuasa the evidence names.
    pub kuasa_jpeg: Option<Vec<u8>>,
    /// On a proxy collection, the photo of the member's e-KTP the evidence names.
    pub card_jpeg: Option<Vec<u8>>,
    /// On the e-KTP and proxy paths, the card photo's aligned face crop (JPEG) the live face was
    /// compared with.
    pub card_face_jpeg: Option<Vec<u8>>,
    /// On a payment against the template enrolled here, that template (`SLFT` bytes).
    pub enrolled_template: Option<Vec<u8>>,
}

impl FaceCheck {
    /// Whether the face matched the reference.
    pub fn matched(&self) -> bool {
        self.verification.outcome == Decision::Accept
    }

    /// Whether a live check passed on the same capture sequence.
    pub fn live_passed(&self) -> bool {
        self.evidence.liveness == Liveness::Passed && self.evidence.live.is_some()
    }

    /// Whether the recipient may be paid on this check: matched and proven live.
    pub fn accepted(&self) -> bool {
        self.matched() && self.live_passed()
    }
}

pub(crate) fn millionths(x: f32) -> i32 {
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
        // One still image proves no live person: the receipt says so.
        liveness: Liveness::NotRun,
        live: None,
        face_sha256: None,
        card_face_sha256: None,
        enrolled_sha256: None,
    };
    Ok(FaceCheck {
        verification,
        evidence,
        crop_jpeg: FaceEngine::crop_jpeg(&capture.crop)?,
        made_for: None,
        kuasa_jpeg: None,
        card_jpeg: None,
        card_face_jpeg: None,
        enrolled_template: None,
    })
}

/// Evidence for a supervisor override: the supervisor vouches for a genuine recipient the camera
/// could not verify, with their 8-digit `approval` (see [`crate::approval`]); the last check's
/// score and live-check record are kept when there was one.
pub fn override_evidence(
    supervisor_id: &str,
    reason: &str,
    code: OverrideCode,
    approval: Option<&str>,
    last_check: Option<&FaceCheck>,
) -> Evidence {
    Evidence {
        method: Method::SupervisorOverride {
            supervisor_id: supervisor_id.to_string(),
            reason: reason.to_string(),
            code: Some(code),
            approval: approval.map(str::to_string),
        },
        score_e6: last_check.and_then(|c| c.evidence.score_e6),
        threshold_e6: last_check.and_then(|c| c.evidence.threshold_e6),
        model: models::SFACE.id.to_string(),
        liveness: last_check.map_or(Liveness::NotRun, |c| c.evidence.liveness),
        live: last_check.and_then(|c| c.evidence.live.clone()),
        face_sha256: None,
        card_face_sha256: None,
        enrolled_sha256: None,
    }
}

/// The reference the core compares a recipient with: the registry's template, else the one
/// enrolled on this phone at the first visit; `None` when there is neither (e-KTP or enrol).
pub fn reference(recipient: &Recipient) -> Result<Option<(Template, Method)>> {
    if let Some(t) = &recipient.template {
        return Ok(Some((Template::decode(t)?, Method::RegistryTemplate)));
    }
    recipient.enrolled.as_deref().map(|t| Ok((Template::decode(t)?, Method::EnrolledTemplate))).transpose()
}

/// Refuses a second payment of a recipient already paid this period on this phone.
pub fn not_paid_yet(standing: crate::receipt::Standing) -> Result<()> {
    if standing == crate::receipt::Standing::Paid {
        return Err(crate::Error::InvalidArgument(
            "this recipient is already paid this period: show the receipt, do not pay again".into(),
        ));
    }
    Ok(())
}

/// Whether `check` may pay `recipient`, who stands at `standing` on this phone: accepted (live and
/// matched), made for this very recipient, and not paid already this period.
pub fn may_pay(check: &FaceCheck, recipient: &Recipient, standing: crate::receipt::Standing) -> Result<()> {
    let refuse = |why: &str| Err(crate::Error::InvalidArgument(why.to_string()));
    not_paid_yet(standing)?;
    if check.made_for.as_ref() != Some(&(recipient.roster_id.clone(), recipient.recipient.clone())) {
        return refuse("this face check was not made for this recipient: start the visit from the recipient");
    }
    if !check.matched() {
        return refuse("the face check did not accept this person: retake, or use a supervisor override");
    }
    if !check.live_passed() {
        return refuse("no live check passed on this capture: run the live visit (or a supervisor override)");
    }
    Ok(())
}

/// The draft of a payment on an accepted check (see [`may_pay`]): its evidence, face crop and,
/// on a proxy collection, the surat kuasa photo its evidence names; the recipient confirmed
/// receiving the amount in full.
pub fn paid_draft(recipient: &Recipient, check: FaceCheck, time: Times) -> Draft {
    let mut d = draft(recipient, Outcome::Paid, Some(check.evidence), Some(check.crop_jpeg), time);
    d.kuasa_jpeg = check.kuasa_jpeg;
    d.card_jpeg = check.card_jpeg;
    d.card_face_jpeg = check.card_face_jpeg;
    d.enrolled_template = check.enrolled_template;
    d.received_in_full = Some(true);
    d
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
        received_in_full: None,
        kuasa_jpeg: None,
        card_jpeg: None,
        card_face_jpeg: None,
        enrolled_template: None,
    }
}
