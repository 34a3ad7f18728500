//! Face verification for the doorstep screen: camera frames or encoded photos against a
//! recipient's reference template (registry, e-KTP photo or first-visit enrolment).

use std::sync::Arc;

use salur_core::doorstep::{self, Against};
use salur_core::face::liveness::LivenessEngine;
use salur_core::face::{self, decode_image, Plane, RgbImage, Rotation, Template, YuvFrame};
use salur_core::receipt::Method;

use crate::SalurError;

/// A camera frame as Camera2 delivers it (YUV_420_888 planes with strides; NV21 is the case
/// `u_pixel_stride == 2` with V before U), and the rotation that makes it upright.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CameraFrame {
    /// Width in pixels, as captured.
    pub width: u32,
    /// Height in pixels, as captured.
    pub height: u32,
    /// Clockwise rotation to upright: 0, 90, 180 or 270.
    pub rotation_degrees: u32,
    /// Luma plane.
    pub y: Vec<u8>,
    /// Bytes per luma row.
    pub y_row_stride: u32,
    /// U (Cb) plane.
    pub u: Vec<u8>,
    /// V (Cr) plane.
    pub v: Vec<u8>,
    /// Bytes per chroma row.
    pub uv_row_stride: u32,
    /// Bytes between chroma samples (1 planar, 2 interleaved).
    pub uv_pixel_stride: u32,
}

/// What the reference template is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ReferenceKind {
    /// The registry's template (from the roster).
    Registry,
    /// A template made at the door from the e-KTP card photo.
    Ektp,
    /// The template enrolled at the first visit.
    Enrolled,
}

/// Capture quality, for hints on screen.
#[derive(Debug, Clone, Copy, uniffi::Record)]
pub struct FaceQuality {
    /// Faces in the frame.
    pub faces: u32,
    /// Shorter side of the face box, pixels.
    pub face_px: f32,
    /// Mean brightness of the face, 0..255.
    pub brightness: f32,
    /// Sharpness (variance of the Laplacian).
    pub sharpness: f32,
    /// Head turn estimate, degrees.
    pub yaw_deg: f32,
}

/// The three-band decision of a face check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum FaceDecision {
    /// Same person: the recipient may be paid.
    Accept,
    /// Not sure: take another capture.
    Retry,
    /// A different person.
    Reject,
}

impl From<face::Outcome> for FaceDecision {
    fn from(o: face::Outcome) -> Self {
        match o {
            face::Outcome::Accept => Self::Accept,
            face::Outcome::Retry => Self::Retry,
            face::Outcome::Reject => Self::Reject,
        }
    }
}

/// The decision shown to the worker.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FaceCheckResult {
    /// Accept, retry or reject.
    pub outcome: FaceDecision,
    /// Cosine score.
    pub score: f32,
    /// Threshold applied.
    pub threshold: f32,
    /// Why a retry is asked for.
    pub reasons: Vec<String>,
    /// Capture quality.
    pub quality: FaceQuality,
    /// A live check passed on the same capture sequence (a single photo never passes one).
    pub live_passed: bool,
}

/// A completed face check, kept by the core with its evidence (score, model, face crop) so that a
/// payment records exactly what was checked; pass it to [`crate::Phone::record_paid`].
#[derive(uniffi::Object)]
pub struct FaceCheck {
    pub(crate) inner: doorstep::FaceCheck,
    /// Set when a payment was recorded on it: one check pays once.
    pub(crate) spent: std::sync::atomic::AtomicBool,
}

impl FaceCheck {
    pub(crate) fn new(inner: doorstep::FaceCheck) -> Self {
        Self { inner, spent: std::sync::atomic::AtomicBool::new(false) }
    }
}

#[uniffi::export]
impl FaceCheck {
    /// The decision.
    pub fn result(&self) -> FaceCheckResult {
        let v = &self.inner.verification;
        let q = v.probe;
        FaceCheckResult {
            outcome: v.outcome.into(),
            score: v.score,
            threshold: v.threshold,
            reasons: v.reasons.clone(),
            quality: FaceQuality {
                faces: q.faces as u32,
                face_px: q.face_px,
                brightness: q.brightness,
                sharpness: q.sharpness,
                yaw_deg: q.yaw_deg,
            },
            live_passed: self.inner.live_passed(),
        }
    }

    /// Whether the recipient may be paid on this check: the face matched and a live check passed
    /// on the same sequence.
    pub fn accepted(&self) -> bool {
        self.inner.accepted()
    }

    /// Whether the face matched, whatever the live check (for the override's evidence).
    pub fn matched(&self) -> bool {
        self.inner.matched()
    }
}

/// The face models (detector, recognizer) and the two live-check models, loaded once and shared.
#[derive(uniffi::Object)]
pub struct FaceEngine {
    engine: face::FaceEngine,
    liveness: LivenessEngine,
}

fn method(kind: ReferenceKind) -> Method {
    match kind {
        ReferenceKind::Registry => Method::RegistryTemplate,
        ReferenceKind::Ektp => Method::EktpPhoto,
        ReferenceKind::Enrolled => Method::EnrolledTemplate,
    }
}

impl FaceEngine {
    pub(crate) fn face(&self) -> &face::FaceEngine {
        &self.engine
    }

    pub(crate) fn liveness(&self) -> &LivenessEngine {
        &self.liveness
    }

    /// The face of a photo of the e-KTP card as a reference (the clear face nearest the centre
    /// of the picture: the worker frames the card's photo; small or soft still counts).
    pub(crate) fn card_face(&self, image: &[u8]) -> salur_core::Result<doorstep::CardFace> {
        doorstep::CardFace::of(&self.engine, &decode_image(image)?)
    }

    fn check(&self, template: &[u8], kind: ReferenceKind, img: &RgbImage) -> Result<Arc<FaceCheck>, SalurError> {
        let reference = Template::decode(template)?;
        Ok(Arc::new(FaceCheck::new(doorstep::check_face(&self.engine, &reference, method(kind), img)?)))
    }
}

pub(crate) fn frame_image(f: &CameraFrame) -> Result<RgbImage, SalurError> {
    let uv = |data| Plane { data, row_stride: f.uv_row_stride as usize, pixel_stride: f.uv_pixel_stride as usize };
    let frame = YuvFrame {
        width: f.width,
        height: f.height,
        y: Plane { data: &f.y, row_stride: f.y_row_stride as usize, pixel_stride: 1 },
        u: uv(&f.u),
        v: uv(&f.v),
        rotation: Rotation::from_degrees(f.rotation_degrees)?,
    };
    Ok(frame.to_rgb()?)
}

#[uniffi::export]
impl FaceEngine {
    /// Loads the four models from their bytes (Android reads them from the APK's assets), each
    /// checked against its SHA-256. `detector_size` 320 suits live frames; 640 finds smaller
    /// faces (e-KTP photos).
    #[uniffi::constructor]
    pub fn from_bytes(
        yunet: Vec<u8>,
        sface: Vec<u8>,
        minifasnet_v2: Vec<u8>,
        minifasnet_v1se: Vec<u8>,
        detector_size: u32,
    ) -> Result<Arc<Self>, SalurError> {
        let config = face::FaceConfig { detector_size, ..face::FaceConfig::default() };
        Ok(Arc::new(Self {
            engine: face::FaceEngine::from_bytes(&yunet, &sface, config)?,
            liveness: LivenessEngine::from_bytes(&minifasnet_v2, &minifasnet_v1se)?,
        }))
    }

    /// Loads the four models from a folder holding them under their `models/` names.
    #[uniffi::constructor]
    pub fn from_dir(path: String, detector_size: u32) -> Result<Arc<Self>, SalurError> {
        let config = face::FaceConfig { detector_size, ..face::FaceConfig::default() };
        let dir = std::path::Path::new(&path);
        Ok(Arc::new(Self {
            engine: face::FaceEngine::from_dir(dir, config)?,
            liveness: LivenessEngine::from_dir(dir, Default::default())?,
        }))
    }

    /// Starts a live visit against a template the caller holds (found by `kind`): a random
    /// three-turn timed challenge (one of 64); feed it camera frames. Its check is bound to no recipient and
    /// cannot pay: the doorstep uses `Phone.startVisit`, where the core picks the reference.
    pub fn start_visit(
        self: Arc<Self>,
        template: Vec<u8>,
        kind: ReferenceKind,
    ) -> Result<Arc<crate::LiveSession>, SalurError> {
        let against = Against::Reference { template: Template::decode(&template)?, method: method(kind) };
        crate::LiveSession::start(self, against, None, None)
    }

    /// Checks the one face in a single camera frame against `template`. One frame proves no live
    /// person: the check cannot pay on its own (it can support a supervisor override).
    pub fn check_frame(
        &self,
        template: Vec<u8>,
        kind: ReferenceKind,
        frame: CameraFrame,
    ) -> Result<Arc<FaceCheck>, SalurError> {
        self.check(&template, kind, &frame_image(&frame)?)
    }

    /// Checks the one face in a JPEG or PNG photo against `template`.
    pub fn check_image(
        &self,
        template: Vec<u8>,
        kind: ReferenceKind,
        image: Vec<u8>,
    ) -> Result<Arc<FaceCheck>, SalurError> {
        self.check(&template, kind, &decode_image(&image)?)
    }

    /// A reference template from a photo of the e-KTP card (the clear face nearest the centre).
    pub fn template_from_card(&self, image: Vec<u8>) -> Result<Vec<u8>, SalurError> {
        Ok(self.card_face(&image)?.template.encode())
    }
}
