//! Offline analysis of a recorded frame sequence: would a challenge of one turn each way (in either
//! order) pass on it? For `salur liveness --frames DIR` and for measuring the check.

use serde::Serialize;

use super::challenge::{Challenge, ChallengeSession, ChallengeState, FailReason, Turn};
use super::LivenessEngine;
use crate::error::{Error, Result};
use crate::face::{FaceEngine, RgbImage};

/// The answer for one recorded sequence.
#[derive(Debug, Clone, Serialize)]
pub struct SequenceReport {
    /// True when a challenge of one turn each way passes on these frames.
    pub live: bool,
    /// Turns seen, in order, up to where the analysis stopped; when it failed on a turn (not
    /// continuous, flat, wrong way) that turn is the last one.
    pub turns: Vec<Turn>,
    /// Frames analysed (the analysis stops when it passes or fails).
    pub frames: usize,
    /// Why it did not pass; `None` when live.
    pub reason: Option<FailReason>,
    /// Mean fused P(real) of the frontal frames scored, when it passed.
    pub passive_score: Option<f32>,
}

impl SequenceReport {
    /// The reason as a stable snake_case string, `None` when live.
    pub fn reason_str(&self) -> Option<&'static str> {
        self.reason.map(FailReason::as_str)
    }
}

impl LivenessEngine {
    /// Runs a challenge session over `frames` taken at `fps` frames per second, accepting one turn
    /// each way in either order, with this engine's settings (time limit included).
    pub fn analyze_sequence(&self, face: &FaceEngine, frames: &[RgbImage], fps: f32) -> Result<SequenceReport> {
        self.analyze_against(face, frames, fps, Challenge::any_order())
    }

    /// Runs a session asking `challenge` over the recorded `frames` (an untimed challenge judges
    /// only the movements and their order: a recording has no prompts to be timed against).
    pub fn analyze_against(
        &self,
        face: &FaceEngine,
        frames: &[RgbImage],
        fps: f32,
        challenge: Challenge,
    ) -> Result<SequenceReport> {
        if !(fps.is_finite() && fps > 0.0) {
            return Err(Error::InvalidArgument(format!("frame rate {fps} must be positive")));
        }
        let mut session = ChallengeSession::new(challenge, self);
        let mut last = None;
        for (i, img) in frames.iter().enumerate() {
            let t_ms = (i as f64 * 1000.0 / f64::from(fps)).round() as u64;
            let state = session.push(face, self, img, t_ms)?;
            if state.is_done() {
                last = Some(state);
                break;
            }
        }
        let (live, reason, passive_score) = match last {
            Some(ChallengeState::Passed(e)) => (true, None, Some(e.passive_score)),
            Some(ChallengeState::Failed(r)) => (false, Some(r), None),
            _ => (false, Some(FailReason::Incomplete), None),
        };
        Ok(SequenceReport { live, turns: session.turns().to_vec(), frames: session.frames(), reason, passive_score })
    }
}
