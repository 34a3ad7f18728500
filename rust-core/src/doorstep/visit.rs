//! One live visit: a camera sequence that proves a live person (the random head-turn challenge
//! and the passive texture check) and identifies them against the recipient's reference on a
//! face from that same sequence. It ends in a [`FaceCheck`] a payment can rest on, or in an
//! enrolment template.

use super::{millionths, FaceCheck};
use crate::error::Result;
use crate::face::liveness::{
    Challenge, ChallengeEvidence, ChallengeSession, ChallengeState, FailReason, Hint, LivenessEngine,
};
use crate::face::{models, FaceEngine, RgbImage, Template};
use crate::receipt::{Evidence, HeadMove, LiveCheck, LiveMethod, Liveness, Method};

/// On the e-KTP path a probe this close to the card's own photo is the card held up again.
pub const CARD_AGAIN_SCORE: f32 = 0.92;

/// Why a visit's capture cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitFailure {
    /// The live check failed.
    Live(FailReason),
    /// On the e-KTP (or proxy) path, the person's face is nearly the card's photo: the card was
    /// shown again.
    CardShownAgain,
}

impl VisitFailure {
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live(r) => r.as_str(),
            Self::CardShownAgain => "card_shown_again",
        }
    }
}

/// Where a visit stands after a frame.
#[derive(Debug, Clone)]
pub enum VisitState {
    /// Keep sending frames; show `hint`.
    InProgress {
        /// 0 facing the camera, 1 the first turn, 2 the second.
        step: usize,
        /// What to tell the person.
        hint: Hint,
    },
    /// A live person, compared with the reference: see the check's decision.
    Checked(Box<FaceCheck>),
    /// A live person enrolled (no reference yet): their new template.
    Enrolled(Box<EnrolledFace>),
    /// The sequence cannot be used; start a new visit (a new random challenge).
    Failed(VisitFailure),
}

/// A template enrolled at the first visit from a passed live check, with its record.
#[derive(Debug, Clone)]
pub struct EnrolledFace {
    /// The new reference template.
    pub template: Template,
    /// What the live check ran and found.
    pub live: LiveCheck,
}

/// The face of an e-KTP card photo as a reference ([`crate::face::FaceEngine::reference_face`]).
#[derive(Debug, Clone)]
pub struct CardFace {
    /// The template made from `face_jpeg`.
    pub template: Template,
    /// The card photo's aligned face crop (JPEG): its hash is signed and it is uploaded, so the
    /// server can score the live face against the card itself; no NIK, name or address.
    pub face_jpeg: Vec<u8>,
}

impl CardFace {
    /// The face of the card in `card` (the photo of an e-KTP).
    pub fn of(face: &FaceEngine, card: &RgbImage) -> Result<Self> {
        let (template, face_jpeg) = face.reference_face(card)?;
        Ok(Self { template, face_jpeg })
    }
}

/// What the visit compares against.
#[derive(Debug, Clone)]
pub enum Against {
    /// A reference template the phone holds, found by `method` (registry, or enrolled here).
    Reference {
        /// The template.
        template: Template,
        /// How it was obtained.
        method: Method,
    },
    /// The photo on the recipient's e-KTP card (no reference held yet).
    Card(CardFace),
    /// Nothing yet: the visit enrols the person.
    Enrol,
    /// A member of the recipient's KK collecting with a surat kuasa: their own e-KTP photo is the
    /// reference for their live face.
    Proxy {
        /// The face of the member's e-KTP photo.
        card: CardFace,
        /// That photo (JPEG, [`super::card_photo`]), kept with the receipt.
        card_jpeg: Vec<u8>,
        /// The member's reference.
        member: Vec<u8>,
        /// The photo of the surat kuasa (JPEG), kept with the receipt.
        kuasa_jpeg: Vec<u8>,
    },
}

/// A live visit in progress.
pub struct LiveVisit {
    session: ChallengeSession,
    against: Against,
    done: bool,
    made_for: Option<(String, Vec<u8>)>,
}

/// The signed record of a passed challenge.
pub fn live_record(e: &ChallengeEvidence, live: &LivenessEngine) -> LiveCheck {
    LiveCheck {
        method: LiveMethod::PassiveAndChallenge,
        passive_e6: Some(millionths(e.passive_score)),
        passive_threshold_e6: Some(millionths(live.config().passive_threshold)),
        asked: e.challenge.steps().into_iter().map(HeadMove::from).collect(),
        met: e.turns.iter().map(|t| HeadMove::from(t.movement)).collect(),
        frames: u32::try_from(e.frames).unwrap_or(u32::MAX),
        duration_ms: u32::try_from(e.duration_ms).unwrap_or(u32::MAX),
        models: vec![
            models::YUNET.id.to_string(),
            models::SFACE.id.to_string(),
            models::MINIFASNET_V2.id.to_string(),
            models::MINIFASNET_V1SE.id.to_string(),
        ],
        challenge: e.challenge.number(),
    }
}

impl LiveVisit {
    /// A visit with a fresh random challenge.
    pub fn start(live: &LivenessEngine, against: Against) -> Result<Self> {
        Self::start_avoiding(live, against, None)
    }

    /// A visit with a fresh random challenge other than `previous` (the number the recipient's
    /// last live check on this phone signed, [`crate::store::Store::last_challenge`]).
    pub fn start_avoiding(live: &LivenessEngine, against: Against, previous: Option<u8>) -> Result<Self> {
        Ok(Self::with_challenge(live, against, Challenge::random_except(previous)?))
    }

    /// A visit with a given challenge (a server-chosen one, or tests).
    pub fn with_challenge(live: &LivenessEngine, against: Against, challenge: Challenge) -> Self {
        Self { session: ChallengeSession::new(challenge, live), against, done: false, made_for: None }
    }

    /// Binds the visit to the recipient (roster, reference) whose reference the core picked: only
    /// a bound check can pay, and only that recipient.
    pub fn for_recipient(mut self, roster_id: &str, recipient: &[u8]) -> Self {
        self.made_for = Some((roster_id.to_string(), recipient.to_vec()));
        self
    }

    /// The recipient the visit is bound to.
    pub fn made_for(&self) -> Option<&(String, Vec<u8>)> {
        self.made_for.as_ref()
    }

    /// The challenge asked.
    pub fn challenge(&self) -> Challenge {
        self.session.challenge()
    }

    /// Judges one upright, unmirrored camera frame taken at `t_ms` (the phone's monotonic clock).
    /// Frames after the visit ended are refused: a new visit takes a new challenge.
    pub fn push(&mut self, face: &FaceEngine, live: &LivenessEngine, img: &RgbImage, t_ms: u64) -> Result<VisitState> {
        if self.done {
            return Err(crate::Error::InvalidArgument("this visit has ended: start a new one".into()));
        }
        let state = match self.session.push(face, live, img, t_ms)? {
            ChallengeState::InProgress { step, hint } => return Ok(VisitState::InProgress { step, hint }),
            ChallengeState::Failed(r) => VisitState::Failed(VisitFailure::Live(r)),
            ChallengeState::Passed(e) => self.conclude(face, live, &e)?,
        };
        self.done = true;
        Ok(state)
    }

    fn conclude(&self, face: &FaceEngine, live: &LivenessEngine, e: &ChallengeEvidence) -> Result<VisitState> {
        let record = live_record(e, live);
        let (template, method) = match &self.against {
            Against::Enrol => {
                let template = face.template_of(&[&e.capture])?;
                return Ok(VisitState::Enrolled(Box::new(EnrolledFace { template, live: record })));
            }
            Against::Reference { template, method } => (template, method.clone()),
            Against::Card(card) => (&card.template, Method::EktpPhoto),
            Against::Proxy { card, card_jpeg, member, kuasa_jpeg } => {
                let kuasa_sha256 = crate::crypto::sha256(kuasa_jpeg).to_vec();
                let card_sha256 = Some(crate::crypto::sha256(card_jpeg).to_vec());
                (&card.template, Method::Proxy { member: member.clone(), kuasa_sha256, card_sha256 })
            }
        };
        let verification = face.verify(template, &e.capture)?;
        let from_card = matches!(method, Method::EktpPhoto | Method::Proxy { .. });
        if from_card && verification.score >= CARD_AGAIN_SCORE {
            return Ok(VisitState::Failed(VisitFailure::CardShownAgain));
        }
        let evidence = Evidence {
            method,
            score_e6: Some(millionths(verification.score)),
            threshold_e6: Some(millionths(verification.threshold)),
            model: models::SFACE.id.to_string(),
            liveness: Liveness::Passed,
            live: Some(record),
            face_sha256: None,
            card_face_sha256: None,
            enrolled_sha256: None,
        };
        let crop_jpeg = FaceEngine::crop_jpeg(&e.capture.crop)?;
        let made_for = self.made_for.clone();
        let (kuasa_jpeg, card_jpeg) = match &self.against {
            Against::Proxy { kuasa_jpeg, card_jpeg, .. } => (Some(kuasa_jpeg.clone()), Some(card_jpeg.clone())),
            _ => (None, None),
        };
        let card_face_jpeg = match &self.against {
            Against::Card(card) | Against::Proxy { card, .. } => Some(card.face_jpeg.clone()),
            _ => None,
        };
        // The phone's enrolled template goes up with the payment: the server's reference after it.
        let enrolled_template = (evidence.method == Method::EnrolledTemplate).then(|| template.encode());
        let check = FaceCheck {
            verification,
            evidence,
            crop_jpeg,
            made_for,
            kuasa_jpeg,
            card_jpeg,
            card_face_jpeg,
            enrolled_template,
        };
        Ok(VisitState::Checked(Box::new(check)))
    }
}
