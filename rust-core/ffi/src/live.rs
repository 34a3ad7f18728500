//! The live visit for the doorstep screen: camera frames in, a hint per frame out, and at the
//! end a face check a payment can rest on (identity and live person on one sequence) or an
//! enrolment. The core picks the random challenge and judges every frame; Kotlin only shows.

use std::sync::{Arc, Mutex};

use salur_core::doorstep::{self, Against, VisitFailure, VisitState};
use salur_core::face::liveness::{FailReason, Hint, Movement};

use crate::face::{frame_image, CameraFrame, FaceCheck, FaceEngine};
use crate::SalurError;

/// A head movement asked for (the person's own left and right).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum HeadMove {
    /// Turn the head to the left, then back.
    TurnLeft,
    /// Turn the head to the right, then back.
    TurnRight,
}

/// What to tell the person now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LiveHint {
    /// Look straight at the camera.
    FaceTheCamera,
    /// Turn your head to your left, then back.
    TurnLeft,
    /// Turn your head to your right, then back.
    TurnRight,
    /// Hold still.
    HoldStill,
    /// No face in view.
    NoFace,
    /// Come closer.
    MoveCloser,
    /// Only the recipient in view.
    OneFaceOnly,
}

/// Why a live visit failed (start a new one; after repeated failures of a genuine recipient,
/// the supervisor override with a reason code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LiveFailure {
    /// Not done within the time limit.
    TimedOut,
    /// Too many frames without finishing.
    TooManyFrames,
    /// The face left the view.
    FaceLost,
    /// Another person's face appeared.
    FaceChanged,
    /// The face jumped: not one face followed.
    FaceJumped,
    /// More than one face in view.
    MultipleFaces,
    /// A flat picture moved or tilted, not a head.
    FlatPicture,
    /// A turn was not one continuous movement.
    NotContinuous,
    /// The head turned the other way than asked.
    WrongDirection,
    /// The camera saw a print or a screen.
    Spoof,
    /// The sequence ended early.
    Incomplete,
    /// On the e-KTP path: the card was held up again instead of the person.
    CardShownAgain,
    /// A turn came before the screen asked for it.
    TooEarly,
    /// A turn came too long after the screen asked for it.
    TooLate,
}

/// Where the visit stands after a frame.
#[derive(Debug, Clone, uniffi::Record)]
pub struct LiveProgress {
    /// 0 facing the camera, then the number of the movement being asked (1 to 3).
    pub step: u32,
    /// What to show (none once finished).
    pub hint: Option<LiveHint>,
    /// The visit ended (passed or failed).
    pub finished: bool,
    /// Why it failed, when it did.
    pub failure: Option<LiveFailure>,
}

fn hint(h: Hint) -> LiveHint {
    match h {
        Hint::FaceTheCamera => LiveHint::FaceTheCamera,
        Hint::TurnLeft => LiveHint::TurnLeft,
        Hint::TurnRight => LiveHint::TurnRight,
        Hint::HoldStill => LiveHint::HoldStill,
        Hint::NoFace => LiveHint::NoFace,
        Hint::MoveCloser => LiveHint::MoveCloser,
        Hint::OneFaceOnly => LiveHint::OneFaceOnly,
    }
}

fn failure(f: VisitFailure) -> LiveFailure {
    match f {
        VisitFailure::CardShownAgain => LiveFailure::CardShownAgain,
        VisitFailure::Live(r) => match r {
            FailReason::TimedOut => LiveFailure::TimedOut,
            FailReason::TooManyFrames => LiveFailure::TooManyFrames,
            FailReason::FaceLost => LiveFailure::FaceLost,
            FailReason::FaceChanged => LiveFailure::FaceChanged,
            FailReason::FaceJumped => LiveFailure::FaceJumped,
            FailReason::MultipleFaces => LiveFailure::MultipleFaces,
            FailReason::FlatPicture => LiveFailure::FlatPicture,
            FailReason::NotContinuous => LiveFailure::NotContinuous,
            FailReason::WrongDirection => LiveFailure::WrongDirection,
            FailReason::Spoof => LiveFailure::Spoof,
            FailReason::Incomplete => LiveFailure::Incomplete,
            FailReason::TooEarly => LiveFailure::TooEarly,
            FailReason::TooLate => LiveFailure::TooLate,
        },
    }
}

enum Outcome {
    Running,
    Checked(Arc<FaceCheck>),
    Enrolled(Vec<u8>),
    /// The enrolment was saved as a recipient's reference.
    Saved,
    Failed,
}

struct Inner {
    visit: doorstep::LiveVisit,
    outcome: Outcome,
}

/// One live visit (a random three-turn timed challenge, one of 64); frames go in from the camera thread.
#[derive(uniffi::Object)]
pub struct LiveSession {
    engine: Arc<FaceEngine>,
    inner: Mutex<Inner>,
    challenge: Vec<HeadMove>,
}

fn head_move(m: Movement) -> HeadMove {
    match m {
        Movement::TurnLeft => HeadMove::TurnLeft,
        Movement::TurnRight => HeadMove::TurnRight,
    }
}

impl LiveSession {
    pub(crate) fn start(
        engine: Arc<FaceEngine>,
        against: Against,
        made_for: Option<(&str, &[u8])>,
        previous_challenge: Option<u8>,
    ) -> Result<Arc<Self>, SalurError> {
        let mut visit = doorstep::LiveVisit::start_avoiding(engine.liveness(), against, previous_challenge)?;
        if let Some((roster_id, recipient)) = made_for {
            visit = visit.for_recipient(roster_id, recipient);
        }
        let challenge = visit.challenge().steps().into_iter().map(head_move).collect();
        Ok(Arc::new(Self { engine, inner: Mutex::new(Inner { visit, outcome: Outcome::Running }), challenge }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic mid-frame (caught by UniFFI) leaves the visit half-updated: it fails.
        self.inner.lock().unwrap_or_else(|poisoned| {
            let mut inner = poisoned.into_inner();
            inner.outcome = Outcome::Failed;
            inner
        })
    }

    /// Hands the template of a finished enrolment visit made for `recipient` to `save`; once
    /// saved it is gone from the session, so one enrolment becomes one recipient's reference.
    /// `None`: the visit was not made for them, has not enrolled, or was saved already.
    pub(crate) fn save_enrolled(
        &self,
        roster_id: &str,
        recipient: &[u8],
        save: impl FnOnce(&[u8]) -> salur_core::Result<()>,
    ) -> Option<salur_core::Result<()>> {
        let mut inner = self.lock();
        if inner.visit.made_for() != Some(&(roster_id.to_string(), recipient.to_vec())) {
            return None;
        }
        let Outcome::Enrolled(template) = &inner.outcome else { return None };
        let saved = save(template);
        if saved.is_ok() {
            inner.outcome = Outcome::Saved;
        }
        Some(saved)
    }
}

#[uniffi::export]
impl LiveSession {
    /// The movements asked for, in order (show them one at a time, as the hints say).
    pub fn challenge(&self) -> Vec<HeadMove> {
        self.challenge.clone()
    }

    /// Judges one camera frame taken at `t_ms` (`SystemClock.elapsedRealtime()`); the frame's
    /// rotation makes it upright. Blocking (tens of milliseconds): call off the UI thread.
    pub fn push_frame(&self, frame: CameraFrame, t_ms: u64) -> Result<LiveProgress, SalurError> {
        let img = frame_image(&frame)?;
        let mut inner = self.lock();
        let state = inner.visit.push(self.engine.face(), self.engine.liveness(), &img, t_ms)?;
        let done = |failure| LiveProgress { step: 2, hint: None, finished: true, failure };
        Ok(match state {
            VisitState::InProgress { step, hint: h } => {
                LiveProgress { step: step as u32, hint: Some(hint(h)), finished: false, failure: None }
            }
            VisitState::Checked(check) => {
                inner.outcome = Outcome::Checked(Arc::new(FaceCheck::new(*check)));
                done(None)
            }
            VisitState::Enrolled(e) => {
                inner.outcome = Outcome::Enrolled(e.template.encode());
                done(None)
            }
            VisitState::Failed(f) => {
                inner.outcome = Outcome::Failed;
                done(Some(failure(f)))
            }
        })
    }

    /// The face check of a finished visit against a reference (pass it to `Phone.recordPaid`).
    pub fn check(&self) -> Option<Arc<FaceCheck>> {
        match &self.lock().outcome {
            Outcome::Checked(c) => Some(c.clone()),
            _ => None,
        }
    }

    /// Whether this enrolment visit enrolled the person and the template is not saved yet.
    pub fn has_enrolled(&self) -> bool {
        matches!(self.lock().outcome, Outcome::Enrolled(_))
    }

    /// Whether the visit ended in failure.
    pub fn failed(&self) -> bool {
        matches!(self.lock().outcome, Outcome::Failed)
    }
}
