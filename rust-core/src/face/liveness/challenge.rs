//! The active challenge: two head turns in an order the attacker cannot know, judged frame by frame.
//!
//! A [`ChallengeSession`] consumes camera frames and answers after each one: still in progress (with
//! a hint for the screen), passed (with the evidence) or failed (with a typed reason). It
//!
//! - waits for a steady frontal face, and keeps its SFace embedding as the session's face;
//! - follows that face: the box may not jump between consecutive faces, the face may not vanish for
//!   long, a later frontal frame must embed close to the first one, and a second face may not appear;
//! - counts a turn when the turn measure goes from frontal out past [`LivenessConfig::turn_threshold`]
//!   and back, through at least one frame in between (photos swapped in the hand jump);
//! - checks that at the turn the nose moved against the eye-mouth plane ([`super::nose_parallax`]):
//!   a flat picture moved, rotated, scaled or tilted maps onto itself by one homography;
//! - scores frontal frames with the passive models (a screen replaying a real turn is only stopped by
//!   what the camera sees);
//! - fails after a time limit or a frame budget.

use ring::rand::{SecureRandom, SystemRandom};
use serde::Serialize;

use super::geometry::{nose_parallax, turn, width_kept, Landmarks};
use super::{LivenessConfig, LivenessEngine};
use crate::error::{Error, FaceBox, Result};
use crate::face::{align_crop, cosine, Capture, Detection, FaceEngine, RgbImage};

/// One head movement the challenge asks for. Left and right are the subject's own, in frames as
/// the camera delivers them (not mirrored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Movement {
    /// Turn the head to the subject's left (the nose moves towards the left eye).
    TurnLeft,
    /// Turn the head to the subject's right.
    TurnRight,
}

impl Movement {
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TurnLeft => "turn_left",
            Self::TurnRight => "turn_right",
        }
    }

    /// The other direction.
    pub fn opposite(self) -> Self {
        match self {
            Self::TurnLeft => Self::TurnRight,
            Self::TurnRight => Self::TurnLeft,
        }
    }

    fn from_sign(s: f32) -> Self {
        if s >= 0.0 {
            Self::TurnLeft
        } else {
            Self::TurnRight
        }
    }

    fn hint(self) -> Hint {
        match self {
            Self::TurnLeft => Hint::TurnLeft,
            Self::TurnRight => Hint::TurnRight,
        }
    }
}

/// One movement asked, and how long the person faces the camera before it is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Which way.
    pub movement: Movement,
    /// Milliseconds of facing the camera, from the session's face (or the previous turn's
    /// return), before this movement is asked.
    pub hold_ms: u32,
}

/// The movements asked, in order, and when each is asked.
///
/// A production challenge ([`Challenge::random`]) is three turns, each way drawn on its own, each
/// asked after a hold of 0.5 s or 3.5 s drawn on its own: 8 x 8 = 64 challenges. A turn must reach
/// the threshold after its prompt and within [`Challenge::RESPONSE_MS`] of it, so the two holds
/// give disjoint windows: a recording answers one pattern of directions and holds, and fails the
/// other 63 (`wrong_direction`, `too_early` or `too_late`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Challenge {
    steps: Vec<Step>,
    /// Whether the holds and the response window are enforced.
    timed: bool,
    /// Analysis of a recorded sequence: one turn each way, either order.
    #[serde(skip)]
    any_order: bool,
}

impl Challenge {
    /// The two holds a random challenge draws from (milliseconds).
    pub const HOLDS_MS: [u32; 2] = [500, 3_500];
    /// How long after its prompt a turn may reach the threshold: a reaction and the turn out,
    /// generous for a slow person, and equal to the gap between the holds so that their windows
    /// do not overlap.
    pub const RESPONSE_MS: u32 = 3_000;
    /// Movements in a random challenge.
    pub const RANDOM_STEPS: usize = 3;
    /// How many different random challenges there are.
    pub const COUNT: usize = 64;

    /// Two turns, `first` then the other way, untimed (tests, the demo, a server-chosen order).
    pub fn new(first: Movement) -> Self {
        let steps = vec![Step { movement: first, hold_ms: 0 }, Step { movement: first.opposite(), hold_ms: 0 }];
        Self { steps, timed: false, any_order: false }
    }

    /// The given movements, untimed: how a recording is judged against a challenge it may have
    /// been made for (1 to 4 movements).
    pub fn untimed(moves: &[Movement]) -> Result<Self> {
        if moves.is_empty() || moves.len() > 4 {
            return Err(Error::InvalidArgument("a challenge is 1 to 4 movements".into()));
        }
        Ok(Self {
            steps: moves.iter().map(|&movement| Step { movement, hold_ms: 0 }).collect(),
            timed: false,
            any_order: false,
        })
    }

    /// A timed challenge of the given steps (1 to 4 movements, holds of at most 10 s).
    pub fn timed(steps: Vec<Step>) -> Result<Self> {
        if steps.is_empty() || steps.len() > 4 || steps.iter().any(|s| s.hold_ms > 10_000) {
            return Err(Error::InvalidArgument("a challenge is 1 to 4 movements with holds of at most 10 s".into()));
        }
        Ok(Self { steps, timed: true, any_order: false })
    }

    /// The `index`-th of the [`Self::COUNT`] random challenges (bits 0-2 the directions, 3-5 the
    /// holds; higher bits ignored).
    pub fn numbered(index: u8) -> Self {
        let steps = (0..Self::RANDOM_STEPS)
            .map(|i| Step {
                movement: if index >> i & 1 == 0 { Movement::TurnLeft } else { Movement::TurnRight },
                hold_ms: Self::HOLDS_MS[usize::from(index >> (i + 3) & 1)],
            })
            .collect();
        Self { steps, timed: true, any_order: false }
    }

    /// The number of this challenge among the [`Self::COUNT`] random ones (the inverse of
    /// [`Self::numbered`]), or `None` when it is not one of them (untimed, another length or
    /// other holds): what a receipt signs so that the server can check it.
    pub fn number(&self) -> Option<u8> {
        if !self.timed || self.any_order || self.steps.len() != Self::RANDOM_STEPS {
            return None;
        }
        let mut n = 0u8;
        for (i, s) in self.steps.iter().enumerate() {
            let hold = Self::HOLDS_MS.iter().position(|&h| h == s.hold_ms)?;
            n |= u8::from(s.movement == Movement::TurnRight) << i | (hold as u8) << (i + 3);
        }
        Some(n)
    }

    /// [`Self::random`], but never the challenge numbered `previous` (the one this recipient's
    /// last live check on the phone drew): the server flags a repeat, so an honest phone does
    /// not make one. Uniform over the other 63.
    pub fn random_except(previous: Option<u8>) -> Result<Self> {
        loop {
            let c = Self::random()?;
            if previous.is_none() || c.number() != previous {
                return Ok(c);
            }
        }
    }

    /// One of the [`Self::COUNT`] challenges, drawn from the system's secure random generator.
    pub fn random() -> Result<Self> {
        let mut b = [0u8; 1];
        SystemRandom::new().fill(&mut b).map_err(|_| Error::Crypto("the system random generator failed".into()))?;
        // 64 divides 256: the low six bits are uniform.
        Ok(Self::numbered(b[0] & 0x3f))
    }

    /// One turn each way in either order ("would a challenge pass on this recording").
    pub(crate) fn any_order() -> Self {
        Self { any_order: true, ..Self::new(Movement::TurnLeft) }
    }

    /// The movements in the order asked.
    pub fn steps(&self) -> Vec<Movement> {
        self.steps.iter().map(|s| s.movement).collect()
    }

    /// Each movement's hold, in order (milliseconds).
    pub fn holds_ms(&self) -> Vec<u32> {
        self.steps.iter().map(|s| s.hold_ms).collect()
    }

    /// Whether the holds and the response window are enforced.
    pub fn is_timed(&self) -> bool {
        self.timed
    }
}

/// What the screen should tell the person now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hint {
    /// Look straight at the camera.
    FaceTheCamera,
    /// Turn your head to your left, then back.
    TurnLeft,
    /// Turn your head to your right, then back.
    TurnRight,
    /// Hold the phone and your head still.
    HoldStill,
    /// No face in view.
    NoFace,
    /// The face is too small: come closer.
    MoveCloser,
    /// Another face is in view: only the recipient.
    OneFaceOnly,
}

impl Hint {
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FaceTheCamera => "face_the_camera",
            Self::TurnLeft => "turn_left",
            Self::TurnRight => "turn_right",
            Self::HoldStill => "hold_still",
            Self::NoFace => "no_face",
            Self::MoveCloser => "move_closer",
            Self::OneFaceOnly => "one_face_only",
        }
    }
}

/// Why a challenge (or a recorded sequence) did not pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailReason {
    /// The time limit passed before both turns.
    TimedOut,
    /// The frame budget ran out before both turns.
    TooManyFrames,
    /// The face left the view for too long.
    FaceLost,
    /// A later face does not embed like the first one: another person.
    FaceChanged,
    /// The face box jumped between consecutive frames: not one face followed.
    FaceJumped,
    /// More than one face in view.
    MultipleFaces,
    /// The face turned like a flat picture (moved, rotated or tilted), not a head.
    FlatPicture,
    /// A turn was not one continuous movement out and back.
    NotContinuous,
    /// The head turned the other way than asked.
    WrongDirection,
    /// The passive models judged the frontal frames a print or a screen.
    Spoof,
    /// The recorded sequence ended before both turns (sequence analysis only).
    Incomplete,
    /// A turn came before it was asked (a recording playing its own timing).
    TooEarly,
    /// A turn came too long after it was asked.
    TooLate,
}

impl FailReason {
    /// Stable snake_case name (for JSON, receipts and logs).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TimedOut => "timed_out",
            Self::TooManyFrames => "too_many_frames",
            Self::FaceLost => "face_lost",
            Self::FaceChanged => "face_changed",
            Self::FaceJumped => "face_jumped",
            Self::MultipleFaces => "multiple_faces",
            Self::FlatPicture => "flat_picture",
            Self::NotContinuous => "not_continuous",
            Self::WrongDirection => "wrong_direction",
            Self::Spoof => "spoof",
            Self::Incomplete => "incomplete",
            Self::TooEarly => "too_early",
            Self::TooLate => "too_late",
        }
    }
}

/// One head turn seen in the frames.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Turn {
    /// Which way.
    pub movement: Movement,
    /// Turn measure at the peak, from the person's resting pose (signed).
    pub peak: f32,
    /// Mean nose parallax over the frames past the turn threshold, in the turn's direction, as a
    /// share of their mean turn from rest (a head's nose moves with the turn; a flat picture's
    /// landmarks move together).
    pub parallax: f32,
    /// Mean eye-mouth width kept over those frames ([`super::width_kept`]); a flat picture tilted
    /// far enough to read as a turn keeps much less than a head.
    pub width_kept: f32,
    /// Part-way frames, out and back: outside the frontal zone and short of the threshold or of
    /// 75 % of the peak, whichever is higher (0 means a jump).
    pub intermediate: usize,
    /// Frames the turn took (outside the frontal zone).
    pub frames: usize,
    /// Whether it came back through the frontal zone (not straight to the other side).
    pub returned: bool,
    /// Time of its first frame past the threshold (when the turn was made).
    pub reach_ms: u64,
    /// Time of its first frame outside the frontal zone.
    pub start_ms: u64,
    /// Time of the frame that came back.
    pub end_ms: u64,
}

impl Turn {
    /// One movement out and back with at least one frame in between.
    pub fn continuous(&self) -> bool {
        self.returned && self.intermediate >= 1
    }
}

/// What a passed challenge proves, for the receipt.
#[derive(Debug, Clone, Serialize)]
pub struct ChallengeEvidence {
    /// The turns asked.
    pub challenge: Challenge,
    /// The turns seen, in order.
    pub turns: Vec<Turn>,
    /// Mean fused P(real) of the best frontal frames scored ([`LivenessConfig::passive_best`]).
    pub passive_score: f32,
    /// Frontal frames scored by the passive models.
    pub passive_frames: usize,
    /// The person's resting turn measure, taken while they faced the camera at the start.
    pub rest_turn: f32,
    /// Lowest cosine of a checked face against the first frontal face.
    pub min_same_face: f32,
    /// Frames pushed.
    pub frames: usize,
    /// Time from the first to the last frame.
    pub duration_ms: u64,
    /// The first steady frontal face (aligned crop and embedding): verify this one against the
    /// recipient, so the person who turned is the person compared.
    #[serde(skip)]
    pub capture: Capture,
}

/// Where a session stands after a frame.
#[derive(Debug, Clone)]
pub enum ChallengeState {
    /// Keep sending frames.
    InProgress {
        /// 0 facing the camera, 1 the first turn, 2 the second turn.
        step: usize,
        /// What to show the person.
        hint: Hint,
    },
    /// Both turns done by one live face.
    Passed(Box<ChallengeEvidence>),
    /// Not a live person, or not done in time; start a new session (with a new random challenge).
    Failed(FailReason),
}

impl ChallengeState {
    /// True once passed or failed.
    pub fn is_done(&self) -> bool {
        !matches!(self, Self::InProgress { .. })
    }
}

/// A frame outside the frontal zone that is part of an excursion.
#[derive(Debug, Clone)]
struct Excursion {
    sign: f32,
    anchor: Landmarks,
    peak: f32,
    reached: bool,
    past: usize,
    reach_ms: u64,
    /// |turn - rest| of every frame of the excursion, to find the part-way frames at its end.
    levels: Vec<f32>,
    frames: usize,
    parallax_sum: f32,
    reach_sum: f32,
    width_sum: f32,
    parallax_n: usize,
    start_ms: u64,
}

/// Follows the turn measure, from the person's resting pose, from frontal out and back, and
/// measures parallax against the most frontal frame before each excursion.
#[derive(Debug, Clone, Default)]
struct Tracker {
    rest: f32,
    anchor: Option<(Landmarks, f32)>,
    excursion: Option<Excursion>,
}

impl Tracker {
    fn close(&mut self, returned: bool, t_ms: u64, cfg: &LivenessConfig) -> Option<Turn> {
        let e = self.excursion.take()?;
        e.reached.then(|| Turn {
            movement: Movement::from_sign(e.sign),
            peak: e.peak * e.sign,
            parallax: e.parallax_sum / e.reach_sum.max(f32::EPSILON),
            width_kept: e.width_sum / e.parallax_n.max(1) as f32,
            // Part-way: outside the frontal zone and short of the threshold or of 75 % of the
            // peak, whichever is higher. A head passes through such a frame even at 5 fps; a photo
            // swapped in the hand jumps from frontal to its own turn.
            intermediate: e.levels.iter().filter(|&&l| l < cfg.turn_threshold.max(0.75 * e.peak)).count(),
            frames: e.frames,
            returned,
            reach_ms: e.reach_ms,
            start_ms: e.start_ms,
            end_ms: t_ms,
        })
    }

    /// Feeds one face; returns a turn when one has just finished.
    fn step(&mut self, lm: &Landmarks, t_ms: u64, cfg: &LivenessConfig) -> Option<Turn> {
        let y = turn(lm) - self.rest;
        if y.abs() <= cfg.frontal_turn {
            let done = self.close(true, t_ms, cfg);
            let fresh_run = done.is_some();
            match self.anchor {
                Some((_, best)) if !fresh_run && best <= y.abs() => {}
                _ => self.anchor = Some((*lm, y.abs())),
            }
            return done;
        }
        let sign = y.signum();
        let mut done = None;
        if self.excursion.as_ref().is_some_and(|e| e.sign != sign) {
            // Straight from one side to the other without a frontal frame.
            done = self.close(false, t_ms, cfg);
        }
        if self.excursion.is_none() {
            let (anchor, _) = self.anchor?;
            self.excursion = Some(Excursion {
                sign,
                anchor,
                peak: 0.0,
                reached: false,
                past: 0,
                reach_ms: 0,
                levels: Vec::new(),
                frames: 0,
                parallax_sum: 0.0,
                reach_sum: 0.0,
                width_sum: 0.0,
                parallax_n: 0,
                start_ms: t_ms,
            });
        }
        let e = self.excursion.as_mut()?;
        e.frames += 1;
        e.peak = e.peak.max(y.abs());
        if y.abs() >= cfg.turn_threshold {
            // One frame past the threshold is landmark noise on a poor frame, not a turn.
            e.past += 1;
            if e.past == 1 {
                e.reach_ms = t_ms;
            }
            e.reached = e.past >= 2;
            let along = nose_parallax(&e.anchor, lm).map_or(0.0, |(a, _)| a);
            e.parallax_sum += along * sign;
            e.reach_sum += y.abs();
            e.width_sum += width_kept(&e.anchor, lm);
            e.parallax_n += 1;
        }
        e.levels.push(y.abs());
        done
    }

    fn turned_out(&self) -> bool {
        self.excursion.as_ref().is_some_and(|e| e.reached)
    }
}

/// One live-person challenge in progress. Feed it every camera frame you can afford to analyse.
#[derive(Debug, Clone)]
pub struct ChallengeSession {
    challenge: Challenge,
    cfg: LivenessConfig,
    finished: Option<ChallengeState>,
    start_ms: Option<u64>,
    last_ms: u64,
    frames: usize,
    face_frames: usize,
    last_face: Option<(FaceBox, u64)>,
    multi_run: usize,
    /// Turn measures of the current run of steady frontal frames before the reference.
    hold: Vec<f32>,
    reference: Option<Capture>,
    since_embed: usize,
    min_same: f32,
    passive: Vec<f32>,
    turns: Vec<Turn>,
    tracker: Tracker,
    /// When the current movement is asked (timed challenges).
    prompt_ms: Option<u64>,
}

impl ChallengeSession {
    /// A session for `challenge` with the liveness engine's settings.
    pub fn new(challenge: Challenge, live: &LivenessEngine) -> Self {
        Self::with_config(challenge, live.config().clone())
    }

    /// A session with explicit settings.
    pub fn with_config(challenge: Challenge, cfg: LivenessConfig) -> Self {
        Self {
            challenge,
            cfg,
            finished: None,
            start_ms: None,
            last_ms: 0,
            frames: 0,
            face_frames: 0,
            last_face: None,
            multi_run: 0,
            hold: Vec::new(),
            reference: None,
            since_embed: 0,
            min_same: 1.0,
            passive: Vec::new(),
            turns: Vec::new(),
            tracker: Tracker::default(),
            prompt_ms: None,
        }
    }

    /// The challenge asked.
    pub fn challenge(&self) -> Challenge {
        self.challenge.clone()
    }

    /// Turns seen so far (after a failure, the last one may be the turn that failed).
    pub fn turns(&self) -> &[Turn] {
        &self.turns
    }

    /// Frames pushed so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    fn fail(&mut self, reason: FailReason) -> ChallengeState {
        let s = ChallengeState::Failed(reason);
        self.finished = Some(s.clone());
        s
    }

    fn step(&self) -> usize {
        if self.reference.is_none() {
            0
        } else {
            (self.turns.len() + 1).min(self.challenge.steps.len().max(2))
        }
    }

    /// The faces of this frame: near the last one at the tracker's input while it is being
    /// followed, the whole frame at the first frame, every `full_frame_every`-th and when it is lost.
    /// After a frame with two faces the next is searched whole, to confirm or clear it. Returns the
    /// faces and whether the whole frame was searched.
    fn find_faces(&self, face: &FaceEngine, img: &RgbImage, t_ms: u64) -> Result<(Vec<Detection>, bool)> {
        let every = self.cfg.full_frame_every.max(1);
        if let Some((last, seen)) = self.last_face {
            let due = self.frames.is_multiple_of(every) || self.multi_run > 0;
            if !due && t_ms.saturating_sub(seen) <= self.cfg.max_gap_ms {
                if let Some(near) = face.detect_near(img, &last)?.filter(|n| !n.is_empty()) {
                    return Ok((near, false));
                }
            }
        }
        Ok((face.detect(img)?, true))
    }

    /// The next movement's prompt, or "face the camera" while its hold runs.
    fn hint_now(&self, t_ms: u64) -> Hint {
        match self.prompt_ms {
            Some(p) if t_ms < p => Hint::FaceTheCamera,
            _ => self.expected().hint(),
        }
    }

    fn progress(&self, hint: Hint) -> ChallengeState {
        ChallengeState::InProgress { step: self.step(), hint }
    }

    fn expected(&self) -> Movement {
        match self.turns.first() {
            Some(t) if self.challenge.any_order => t.movement.opposite(),
            _ => self.challenge.steps.get(self.turns.len()).map_or(Movement::TurnLeft, |s| s.movement),
        }
    }

    /// The hold before the next movement, when the challenge is timed.
    fn hold_before(&self, counted: usize) -> Option<u64> {
        let step = self.challenge.steps.get(counted)?;
        self.challenge.timed.then_some(u64::from(step.hold_ms))
    }

    /// Whether every movement asked has been made.
    fn complete(&self) -> bool {
        if self.challenge.any_order {
            return [Movement::TurnLeft, Movement::TurnRight]
                .iter()
                .all(|m| self.turns.iter().any(|t| t.movement == *m));
        }
        self.turns.len() >= self.challenge.steps.len()
    }

    /// Analyses one upright RGB camera frame taken at `t_ms` (any monotonic clock, milliseconds).
    ///
    /// Once the session has passed or failed it keeps answering the same.
    pub fn push(
        &mut self,
        face: &FaceEngine,
        live: &LivenessEngine,
        img: &RgbImage,
        t_ms: u64,
    ) -> Result<ChallengeState> {
        if let Some(done) = &self.finished {
            return Ok(done.clone());
        }
        self.frames += 1;
        let start = *self.start_ms.get_or_insert(t_ms);
        self.last_ms = self.last_ms.max(t_ms);
        let elapsed = t_ms.saturating_sub(start);
        if elapsed > self.cfg.max_duration_ms || self.reference.is_none() && elapsed > self.cfg.max_framing_ms {
            return Ok(self.fail(FailReason::TimedOut));
        }
        if self.frames > self.cfg.max_frames {
            return Ok(self.fail(FailReason::TooManyFrames));
        }
        let (faces, whole_frame) = self.find_faces(face, img, t_ms)?;
        let lost = |s: &Self| {
            s.reference.is_some() && s.last_face.is_some_and(|(_, seen)| t_ms.saturating_sub(seen) > s.cfg.max_gap_ms)
        };
        let Some(main) = main_face(&faces) else {
            if lost(self) {
                return Ok(self.fail(FailReason::FaceLost));
            }
            return Ok(self.progress(Hint::NoFace));
        };
        if lost(self) {
            return Ok(self.fail(FailReason::FaceLost));
        }
        let others = faces.iter().filter(|d| d.area() >= 0.25 * main.area()).count();
        if others > 1 {
            self.multi_run += 1;
            if self.multi_run >= 2 {
                return Ok(self.fail(FailReason::MultipleFaces));
            }
            return Ok(self.progress(Hint::OneFaceOnly));
        }
        // Only a whole frame can say the second face is gone (a region around ours cannot).
        if whole_frame {
            self.multi_run = 0;
        }
        let moved = self.last_face.map(|(prev, _)| box_jump(&prev, &main.bbox));
        if let Some((jump, scale)) = moved {
            if self.reference.is_some() && (jump > self.cfg.max_box_jump || scale > self.cfg.max_box_scale) {
                return Ok(self.fail(FailReason::FaceJumped));
            }
        }
        self.last_face = Some((main.bbox, t_ms));
        self.face_frames += 1;
        if main.bbox.width.min(main.bbox.height) < self.cfg.min_face_px {
            self.hold.clear();
            return Ok(self.progress(Hint::MoveCloser));
        }
        let y = turn(&main.landmarks);
        // Before the resting pose is known, "frontal" is the wide band people rest in.
        let frontal = match self.reference {
            Some(_) => (y - self.tracker.rest).abs() <= self.cfg.frontal_turn,
            None => y.abs() <= self.cfg.rest_turn,
        };

        // Passive models on frontal frames, up to the budget; judged on the best of them at the end.
        if frontal && y.abs() <= self.cfg.max_passive_turn && self.passive.len() < self.cfg.passive_frames {
            self.passive.push(live.passive(img, &main)?.score);
            if self.passive.len() >= 8
                && best_mean(&self.passive, self.cfg.passive_best) < self.cfg.passive_early_refusal
            {
                return Ok(self.fail(FailReason::Spoof));
            }
        }

        let Some(reference) = &self.reference else {
            // Step 0: a steady frontal face becomes the session's face.
            let steady = moved.is_none_or(|(jump, scale)| jump <= 0.4 && scale <= 1.15);
            if !frontal {
                self.hold.clear();
                return Ok(self.progress(Hint::FaceTheCamera));
            }
            // A head still turning is not at rest either.
            let still = self.hold.last().is_none_or(|&p| (y - p).abs() <= self.cfg.frontal_turn / 2.0);
            if !steady || !still {
                self.hold.clear();
                self.hold.push(y);
                return Ok(self.progress(Hint::HoldStill));
            }
            self.hold.push(y);
            if self.hold.len() < self.cfg.hold_frames.max(1) {
                return Ok(self.progress(Hint::HoldStill));
            }
            self.tracker.rest = median(&self.hold);
            let crop = align_crop(img, &main.landmarks);
            let embedding = face.embed_crop(&crop)?;
            let quality = face.quality(img, &main, faces.len());
            self.reference = Some(Capture { detection: main, quality, crop, embedding });
            self.tracker.step(&main.landmarks, t_ms, &self.cfg);
            self.prompt_ms = self.hold_before(0).map(|h| t_ms + h);
            return Ok(self.progress(self.hint_now(t_ms)));
        };

        // Same person: embed a near-frontal face every few frames (turned faces embed too differently).
        self.since_embed += 1;
        if y.abs() <= self.cfg.max_embed_turn && self.since_embed >= self.cfg.embed_every {
            self.since_embed = 0;
            let score = cosine(&reference.embedding, &face.embed_crop(&align_crop(img, &main.landmarks))?);
            self.min_same = self.min_same.min(score);
            if score < self.cfg.same_face_threshold {
                return Ok(self.fail(FailReason::FaceChanged));
            }
        }

        if let Some(t) = self.tracker.step(&main.landmarks, t_ms, &self.cfg) {
            let expected = self.expected();
            // A recording is judged on one turn each way in either order: a repeat of its first
            // turn is shown but not counted. A live challenge fails on any turn not asked.
            let repeat = self.challenge.any_order && self.turns.first().is_some_and(|f| f.movement == t.movement);
            let wrong = t.movement != expected && !(self.challenge.any_order && self.turns.is_empty()) && !repeat;
            // Kept even when it fails the session: the report shows what was seen.
            self.turns.push(t);
            if repeat {
                // Not counted, so not judged: a natural recording glances aside while talking.
                return Ok(self.progress(Hint::FaceTheCamera));
            }
            if !t.continuous() {
                return Ok(self.fail(FailReason::NotContinuous));
            }
            if t.parallax < self.cfg.min_parallax || t.width_kept < self.cfg.min_width_kept {
                return Ok(self.fail(FailReason::FlatPicture));
            }
            if wrong {
                return Ok(self.fail(FailReason::WrongDirection));
            }
            if let Some(prompt) = self.prompt_ms {
                if t.reach_ms < prompt {
                    return Ok(self.fail(FailReason::TooEarly));
                }
                if t.reach_ms > prompt + u64::from(Challenge::RESPONSE_MS) {
                    return Ok(self.fail(FailReason::TooLate));
                }
            }
            if self.complete() {
                return self.finish(face, live, img, &main, t_ms);
            }
            self.prompt_ms = self.hold_before(self.turns.len()).map(|h| t.end_ms + h);
        }
        // Asked and not turned in time (a turn under way is judged when it comes back).
        if let Some(prompt) = self.prompt_ms {
            if !self.tracker.turned_out() && t_ms > prompt + u64::from(Challenge::RESPONSE_MS) {
                return Ok(self.fail(FailReason::TooLate));
            }
        }
        let hint = if self.tracker.turned_out() || !frontal && self.tracker.excursion.is_none() {
            Hint::FaceTheCamera
        } else {
            self.hint_now(t_ms)
        };
        Ok(self.progress(hint))
    }

    fn finish(
        &mut self,
        face: &FaceEngine,
        live: &LivenessEngine,
        img: &RgbImage,
        main: &Detection,
        t_ms: u64,
    ) -> Result<ChallengeState> {
        let Some(reference) = self.reference.clone() else {
            return Ok(self.fail(FailReason::Incomplete));
        };
        // The last frame is frontal: it is checked for identity and, if few were scored, liveness.
        let score = cosine(&reference.embedding, &face.embed_crop(&align_crop(img, &main.landmarks))?);
        self.min_same = self.min_same.min(score);
        if score < self.cfg.same_face_threshold {
            return Ok(self.fail(FailReason::FaceChanged));
        }
        if self.passive.len() < self.cfg.passive_best.max(1) {
            self.passive.push(live.passive(img, main)?.score);
        }
        let passive_score = best_mean(&self.passive, self.cfg.passive_best);
        if passive_score < self.cfg.passive_threshold {
            return Ok(self.fail(FailReason::Spoof));
        }
        let s = ChallengeState::Passed(Box::new(ChallengeEvidence {
            challenge: self.challenge.clone(),
            turns: self.turns.clone(),
            passive_score,
            passive_frames: self.passive.len(),
            rest_turn: self.tracker.rest,
            min_same_face: self.min_same,
            frames: self.frames,
            duration_ms: t_ms.saturating_sub(self.start_ms.unwrap_or(t_ms)),
            capture: reference,
        }));
        self.finished = Some(s.clone());
        Ok(s)
    }
}

/// Mean of the `k` highest values (all of them when fewer).
fn best_mean(v: &[f32], k: usize) -> f32 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| b.total_cmp(a));
    s.truncate(k.max(1));
    s.iter().sum::<f32>() / s.len().max(1) as f32
}

fn median(v: &[f32]) -> f32 {
    let mut s = v.to_vec();
    s.sort_by(f32::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(0.0)
}

/// The largest face among those scoring within 0.1 of the best (as the face engine picks).
fn main_face(faces: &[Detection]) -> Option<Detection> {
    let best = faces.iter().map(|d| d.bbox.score).fold(f32::MIN, f32::max);
    faces.iter().filter(|d| d.bbox.score >= best - 0.1).max_by(|a, b| a.area().total_cmp(&b.area())).copied()
}

/// How far the box centre moved (in previous box widths) and how much its size changed (ratio >= 1).
fn box_jump(prev: &FaceBox, cur: &FaceBox) -> (f32, f32) {
    let (pcx, pcy) = (prev.x + prev.width / 2.0, prev.y + prev.height / 2.0);
    let (cx, cy) = (cur.x + cur.width / 2.0, cur.y + cur.height / 2.0);
    let jump = (cx - pcx).hypot(cy - pcy) / prev.width.max(1.0);
    let r = cur.width.max(1.0) / prev.width.max(1.0);
    (jump, r.max(1.0 / r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lm(t: f32) -> Landmarks {
        // Eyes 30 px apart; the nose shifted by t inter-eye distances, as a turning head would.
        [[40.0, 50.0], [70.0, 50.0], [55.0 + 30.0 * t, 68.0], [44.0, 85.0], [66.0, 85.0]]
    }

    fn run(track: &[f32]) -> Vec<Turn> {
        let cfg = LivenessConfig::default();
        let mut tr = Tracker::default();
        track.iter().enumerate().filter_map(|(i, &t)| tr.step(&lm(t), i as u64 * 100, &cfg)).collect()
    }

    #[test]
    fn a_smooth_turn_out_and_back_counts_once_with_its_direction() {
        let turns = run(&[0.0, 0.02, 0.09, 0.25, 0.3, 0.2, 0.05, 0.0]);
        assert_eq!(turns.len(), 1);
        let t = turns[0];
        assert_eq!(t.movement, Movement::TurnLeft);
        assert!(t.continuous() && (t.peak - 0.3).abs() < 1e-4 && t.parallax > 0.2, "{t:?}");
        assert!((t.width_kept - 1.0).abs() < 1e-4, "{t:?}");
        let turns = run(&[0.0, -0.09, -0.3, -0.25, -0.1, 0.0]);
        assert_eq!(turns[0].movement, Movement::TurnRight);
    }

    #[test]
    fn a_jump_out_and_back_is_not_continuous_and_a_wobble_is_no_turn() {
        let turns = run(&[0.0, 0.0, 0.3, 0.3, 0.3, 0.0, 0.0]);
        assert_eq!(turns.len(), 1);
        assert!(!turns[0].continuous());
        assert!(run(&[0.0, 0.08, 0.11, 0.05]).is_empty());
        // One noisy frame past the threshold is not a turn.
        assert!(run(&[0.0, 0.02, 0.2, 0.03, 0.0]).is_empty());
        // Straight from one side to the other: the first turn never came back.
        let turns = run(&[0.0, 0.15, 0.3, 0.3, -0.3, -0.3, -0.15, 0.0]);
        assert_eq!(turns.len(), 2);
        assert!(!turns[0].returned && turns[1].continuous());
    }

    #[test]
    fn reason_and_hint_names_are_stable() {
        assert_eq!(FailReason::FlatPicture.as_str(), "flat_picture");
        assert_eq!(Hint::FaceTheCamera.as_str(), "face_the_camera");
        assert_eq!(Movement::TurnLeft.opposite().as_str(), "turn_right");
        assert_eq!(serde_json::to_string(&FailReason::TimedOut).expect("json"), "\"timed_out\"");
    }

    #[test]
    fn random_challenges_are_three_timed_turns_drawn_from_64() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2_000 {
            let c = Challenge::random().expect("rng");
            assert!(c.is_timed() && c.steps().len() == Challenge::RANDOM_STEPS);
            assert!(c.holds_ms().iter().all(|h| Challenge::HOLDS_MS.contains(h)));
            seen.insert((c.steps(), c.holds_ms()));
        }
        // 2,000 draws miss one of 64 equally likely challenges with probability about 64 e^-31.
        assert_eq!(seen.len(), Challenge::COUNT);
        let distinct: std::collections::HashSet<_> =
            (0..64u8).map(|i| (Challenge::numbered(i).steps(), Challenge::numbered(i).holds_ms())).collect();
        assert_eq!(distinct.len(), Challenge::COUNT);
        // The two holds' response windows do not overlap.
        assert!(Challenge::HOLDS_MS[0] + Challenge::RESPONSE_MS <= Challenge::HOLDS_MS[1]);
        assert!(Challenge::timed(vec![]).is_err());
    }

    #[test]
    fn a_phone_never_draws_the_recipients_previous_challenge_again() {
        let seen: std::collections::HashSet<_> =
            (0..2_000).map(|_| Challenge::random_except(Some(9)).expect("rng").number()).collect();
        assert!(!seen.contains(&Some(9)));
        // The 63 others all come up (each is missed by 2,000 draws with probability about e^-32).
        assert_eq!(seen.len(), Challenge::COUNT - 1);
    }

    #[test]
    fn a_random_challenge_is_named_by_its_number_and_no_other_challenge_is() {
        for i in 0..64u8 {
            assert_eq!(Challenge::numbered(i).number(), Some(i));
        }
        let left = Movement::TurnLeft;
        assert_eq!(Challenge::new(left).number(), None);
        assert_eq!(Challenge::untimed(&[left, left.opposite(), left]).expect("moves").number(), None);
        let odd_hold = vec![Step { movement: left, hold_ms: 900 }; 3];
        assert_eq!(Challenge::timed(odd_hold).expect("steps").number(), None);
        let two = vec![Step { movement: left, hold_ms: 500 }; 2];
        assert_eq!(Challenge::timed(two).expect("steps").number(), None);
    }
}
