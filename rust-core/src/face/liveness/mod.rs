//! The live-person check: is a real person in front of the camera, not a photo, a screen or a card?
//!
//! Two layers, used together (`docs/liveness.md` has the measured numbers and the limits):
//!
//! - **Passive** ([`LivenessEngine::passive`]): two MiniFASNet models (Silent-Face-Anti-Spoofing,
//!   Apache-2.0) judge one frontal camera frame around the YuNet box. They catch prints and screens
//!   that look like prints and screens; they do not judge a file (a photo of a real person scores real).
//! - **Active** ([`ChallengeSession`]): the core asks for three head turns (each way and each
//!   prompt's timing drawn at random, [`Challenge::random`]), follows one face through the camera frames (box continuity, SFace
//!   embedding), checks that each turn is one continuous movement and that the nose moved against
//!   the eye-mouth plane (a flat picture moved, rotated or tilted does not), and runs the passive
//!   check on the frontal frames.
//!
//! Verdicts (not live, challenge failed) are typed results, not errors; errors are for broken input
//! or models.

pub mod calibration;
mod challenge;
mod geometry;
mod passive;
pub mod recording;
mod sequence;

use std::path::Path;

use image::RgbImage;
use serde::Serialize;

use super::detect::Detection;
use super::models::{self, MINIFASNET_V1SE, MINIFASNET_V2};
use crate::error::Result;

pub use challenge::{
    Challenge, ChallengeEvidence, ChallengeSession, ChallengeState, FailReason, Hint, Movement, Step, Turn,
};
pub use geometry::{inter_eye, nose_parallax, turn, width_kept, Landmarks};
pub use passive::{
    crop_box, crop_patch, softmax, PassiveResult, PassiveScores, PassiveVerdict, PATCH, SCALE_V1SE, SCALE_V2,
};
pub use sequence::SequenceReport;

/// Default fused P(real) at or above which a frontal face is live: see `docs/liveness.md`.
pub const DEFAULT_PASSIVE_THRESHOLD: f32 = 0.85;

/// Tunable settings of the live-person check; `Default` gives the measured values
/// (`docs/liveness.md` says how each was chosen).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LivenessConfig {
    /// Fused P(real) at or above which a frontal face is live.
    pub passive_threshold: f32,
    /// Largest |turn| (inter-eye distances) at which the passive models give a verdict.
    pub max_passive_turn: f32,
    /// Largest |turn| of the resting pose taken at the start: people and cameras rest anywhere
    /// from -0.10 to +0.07, so every later measure is taken against the person's own rest.
    pub rest_turn: f32,
    /// |turn - rest| at or below which the head counts as facing the camera.
    pub frontal_turn: f32,
    /// |turn - rest| a head turn must reach.
    pub turn_threshold: f32,
    /// Mean nose parallax over the frames past the turn threshold, as a share of their mean
    /// |turn - rest|, a turn must show; less means the landmarks moved like a flat picture.
    pub min_parallax: f32,
    /// Mean eye-mouth width kept ([`width_kept`]) a turn must show; less means a flat picture
    /// tilted far enough to read as a turn.
    pub min_width_kept: f32,
    /// Largest |turn| at which a face is embedded to check it is the same person.
    pub max_embed_turn: f32,
    /// Cosine between the first frontal face and any later checked face below which the face changed.
    pub same_face_threshold: f32,
    /// Largest move of the face box between consecutive faces, in box widths.
    pub max_box_jump: f32,
    /// Largest change of the face box size between consecutive faces (ratio, >= 1).
    pub max_box_scale: f32,
    /// Frames facing the camera before the first turn is asked.
    pub hold_frames: usize,
    /// Embed every n-th face frame to check it is still the same person.
    pub embed_every: usize,
    /// Score at most this many frontal frames with the passive models.
    pub passive_frames: usize,
    /// The session's passive score is the mean of its this-many best frontal frames: the models'
    /// errors on real low-grade footage are frames wrongly read as recaptures, so the evidence that
    /// a live face was in view is in its best frames (docs/liveness.md has the figures).
    pub passive_best: usize,
    /// Best-frames mean below which the session stops early as a recapture, once 8 frontal frames
    /// are scored: far under every real sequence's (docs/liveness.md), so that a screen or print
    /// held up is refused at once instead of at the time limit.
    pub passive_early_refusal: f32,
    /// Smallest face (shorter box side, pixels) the challenge works with.
    pub min_face_px: f32,
    /// Longest time without a face before the session fails.
    pub max_gap_ms: u64,
    /// Time limit of a session from its first frame.
    pub max_duration_ms: u64,
    /// Time limit for finding the session's face (a steady frontal face) from the first frame.
    pub max_framing_ms: u64,
    /// Frame budget of a session.
    pub max_frames: usize,
    /// Search the whole frame every n-th frame and follow the face in a region around its last
    /// box in between (at the small tracker input, where that saves work; a face leaving the region
    /// and a second face seen send it back to whole frames). 1, the default, searches every frame:
    /// on doorstep framing the face fills the frame and nothing is saved, and on wider framing the
    /// followed landmarks are noisier than the turn checks were calibrated on (docs/performance.md).
    pub full_frame_every: usize,
}

impl Default for LivenessConfig {
    fn default() -> Self {
        Self {
            passive_threshold: DEFAULT_PASSIVE_THRESHOLD,
            max_passive_turn: 0.25,
            rest_turn: 0.15,
            frontal_turn: 0.10,
            turn_threshold: 0.12,
            min_parallax: 0.40,
            min_width_kept: 0.74,
            max_embed_turn: 0.20,
            same_face_threshold: 0.30,
            max_box_jump: 1.0,
            max_box_scale: 1.4,
            hold_frames: 3,
            embed_every: 6,
            passive_frames: 24,
            passive_best: 3,
            passive_early_refusal: 0.15,
            min_face_px: 60.0,
            max_gap_ms: 700,
            max_duration_ms: 25_000,
            max_framing_ms: 10_000,
            max_frames: 300,
            full_frame_every: 1,
        }
    }
}

/// The two passive models, loaded and optimized once, plus the settings.
pub struct LivenessEngine {
    v2: passive::Model,
    v1se: passive::Model,
    config: LivenessConfig,
}

impl LivenessEngine {
    /// Loads MiniFASNetV2 (scale 2.7) and MiniFASNetV1SE (scale 4.0) from their ONNX bytes,
    /// checking their SHA-256, with the default settings.
    pub fn from_bytes(v2: &[u8], v1se: &[u8]) -> Result<Self> {
        Self::with_config(v2, v1se, LivenessConfig::default())
    }

    /// Like [`Self::from_bytes`] with explicit settings.
    pub fn with_config(v2: &[u8], v1se: &[u8], config: LivenessConfig) -> Result<Self> {
        let v2 = passive::Model::load(&MINIFASNET_V2, v2)?;
        let v1se = passive::Model::load(&MINIFASNET_V1SE, v1se)?;
        Ok(Self { v2, v1se, config })
    }

    /// Loads the two files from a folder holding them under their `models/` names.
    pub fn from_dir(dir: &Path, config: LivenessConfig) -> Result<Self> {
        let v2 = models::read(dir, &MINIFASNET_V2)?;
        let v1se = models::read(dir, &MINIFASNET_V1SE)?;
        Self::with_config(&v2, &v1se, config)
    }

    /// Loads the models compiled into the library, with the default settings.
    #[cfg(feature = "bundled-models")]
    pub fn bundled() -> Result<Self> {
        let (v2, v1se) = models::bundled_liveness();
        Self::from_bytes(v2, v1se)
    }

    /// The same models with other settings (calibration sets the passive threshold aside).
    pub fn configured(self, config: LivenessConfig) -> Self {
        Self { config, ..self }
    }

    /// The settings in force.
    pub fn config(&self) -> &LivenessConfig {
        &self.config
    }

    /// Both models' logits and P(real) on two ready 80x80 patches (scale 2.7 and 4.0 crops).
    pub fn score_patches(&self, patch_v2: &RgbImage, patch_v1se: &RgbImage) -> Result<PassiveScores> {
        let v2_logits = self.v2.logits(patch_v2)?;
        let v1se_logits = self.v1se.logits(patch_v1se)?;
        let (v2, v1se) = (softmax(v2_logits)[1], softmax(v1se_logits)[1]);
        Ok(PassiveScores { v2_logits, v1se_logits, v2, v1se, fused: (v2 + v1se) / 2.0 })
    }

    /// Both models on the face box `[x, y, width, height]` of `img` (no pose check).
    pub fn score_box(&self, img: &RgbImage, face: [f32; 4]) -> Result<PassiveScores> {
        self.score_patches(&crop_patch(img, face, SCALE_V2), &crop_patch(img, face, SCALE_V1SE))
    }

    /// The passive check of one detected face (from [`crate::face::FaceEngine::detect`] on `img`).
    ///
    /// Only a frame straight from the camera means anything: a file of a real person's photo
    /// scores as live.
    pub fn passive(&self, img: &RgbImage, face: &Detection) -> Result<PassiveResult> {
        let b = face.bbox;
        let s = self.score_box(img, [b.x, b.y, b.width, b.height])?;
        let t = turn(&face.landmarks);
        let c = &self.config;
        let verdict = if t.abs() > c.max_passive_turn {
            PassiveVerdict::PoseNotFrontal
        } else if s.fused >= c.passive_threshold {
            PassiveVerdict::Live
        } else {
            PassiveVerdict::NotLive
        };
        Ok(PassiveResult { score: s.fused, verdict, v2: s.v2, v1se: s.v1se, turn: t, threshold: c.passive_threshold })
    }
}
