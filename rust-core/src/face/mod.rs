//! On-device face verification: YuNet detection, five-point alignment, SFace embedding, cosine score.
//!
//! [`FaceEngine`] is cheap to share across threads (`Arc`): each call runs the models with its own state.

mod align;
mod detect;
pub mod eval;
mod input;
pub mod liveness;
pub mod models;
mod onnx_fold;
mod quality;
mod recognize;
mod resize;
mod template;

use std::path::Path;

use serde::Serialize;

pub use crate::error::FaceBox;
pub use align::{align_crop, CROP_SIZE};
pub use detect::Detection;
pub use image::RgbImage;
pub use input::{decode_crop, decode_image, read_image, Plane, Rotation, YuvFrame, MAX_PIXELS, MAX_SIDE};
pub use quality::Quality;
pub use recognize::{cosine, EMBEDDING_DIM};
pub use template::Template;

use crate::error::{Error, Result};
use detect::Detector;
use recognize::Recognizer;

/// Default cosine threshold: see `docs/face-threshold.md` for how it was chosen.
pub const DEFAULT_MATCH_THRESHOLD: f32 = 0.40;

/// Tunable settings of the engine; `Default` gives the calibrated values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaceConfig {
    /// Square detector input in pixels, a multiple of 32 (320 is faster, 640 finds smaller faces).
    pub detector_size: u32,
    /// Minimum detector score for a face.
    pub detection_threshold: f32,
    /// IoU above which overlapping detections are merged.
    pub nms_threshold: f32,
    /// Cosine score at or above which two faces are the same person.
    pub match_threshold: f32,
    /// Scores this far below the threshold ask for another capture instead of rejecting.
    pub retry_margin: f32,
    /// Smallest face (shorter box side, pixels) worth comparing.
    pub min_face_px: f32,
    /// Darkest acceptable face (mean luma of the crop).
    pub min_brightness: f32,
    /// Blurriest acceptable face (variance of the Laplacian of the crop).
    pub min_sharpness: f32,
    /// Head turns beyond this many degrees make a failed match a retry.
    pub max_yaw_deg: f32,
    /// Intra-op threads per inference (1 to [`models::MAX_THREADS`]; 1 runs on the caller's thread).
    pub threads: usize,
}

impl Default for FaceConfig {
    fn default() -> Self {
        Self {
            detector_size: 640,
            detection_threshold: 0.75,
            nms_threshold: 0.3,
            match_threshold: DEFAULT_MATCH_THRESHOLD,
            retry_margin: 0.05,
            min_face_px: 40.0,
            min_brightness: 40.0,
            min_sharpness: 15.0,
            max_yaw_deg: 35.0,
            threads: 1,
        }
    }
}

/// Which face to use when a photo has several.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FacePick {
    /// Exactly one face, otherwise [`Error::MultipleFaces`] (the doorstep rule).
    Single,
    /// The largest clear face (the largest among those scoring within 0.1 of the best).
    Largest,
    /// The clear face nearest the image's centre (among those scoring within 0.1 of the best):
    /// reference photos and e-KTP captures frame the recipient in the middle, and a bystander
    /// behind them (often larger, nearer the lens) stands to a side.
    Centered,
}

/// Smallest face a reference photo still gives a template from: a registry photo is what it
/// is; below this YuNet's landmarks are too coarse to align.
pub const REFERENCE_MIN_FACE_PX: f32 = 24.0;

/// Square input of the second, small detector that follows a face between camera frames (at the
/// app's 320 input and 640x480 frames it sees a 384-pixel square of the frame, at 0.36 of the cost).
pub const TRACK_INPUT: u32 = 192;

/// The smallest region followed around the last face box, in box sides (YuNet needs the context).
pub const TRACK_REGION: f32 = 1.6;

/// One face taken from one image, ready to compare.
#[derive(Debug, Clone)]
pub struct Capture {
    /// The chosen face.
    pub detection: Detection,
    /// Its quality.
    pub quality: Quality,
    /// The aligned 112x112 crop (the evidence kept with a receipt).
    pub crop: RgbImage,
    /// Its unit-length embedding.
    pub embedding: Vec<f32>,
}

/// The three-band decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Same person.
    Accept,
    /// Not sure: take another capture (grey-zone score or a quality problem).
    Retry,
    /// A different person.
    Reject,
}

/// The answer to one verification.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// Accept, retry or reject.
    pub outcome: Outcome,
    /// Cosine similarity, -1..1.
    pub score: f32,
    /// Threshold applied.
    pub threshold: f32,
    /// Why a retry was asked for (empty otherwise).
    pub reasons: Vec<String>,
    /// Quality of the probe capture.
    pub probe: Quality,
}

/// The face `pick` chooses among the clear ones (scoring within 0.1 of the best: a big, weak
/// detection, a poster or a blurred shape, must not win over the clear face): the largest, or
/// the one nearest the centre of a `width` x `height` image.
fn main_face(faces: &[Detection], pick: FacePick, width: u32, height: u32) -> Option<Detection> {
    let best = faces.iter().map(|d| d.bbox.score).fold(f32::MIN, f32::max);
    let clear = faces.iter().filter(|d| d.bbox.score >= best - 0.1);
    let (cx, cy) = (width as f32 / 2.0, height as f32 / 2.0);
    let off_centre = |d: &Detection| {
        let (x, y) = (d.bbox.x + d.bbox.width / 2.0 - cx, d.bbox.y + d.bbox.height / 2.0 - cy);
        x * x + y * y
    };
    match pick {
        FacePick::Centered => clear.min_by(|a, b| off_centre(a).total_cmp(&off_centre(b))).copied(),
        FacePick::Single | FacePick::Largest => clear.max_by(|a, b| a.area().total_cmp(&b.area())).copied(),
    }
}

/// The face engine: both models loaded and optimized, plus its settings.
pub struct FaceEngine {
    detector: Detector,
    /// Loaded on first use: following a face is off by default (`full_frame_every`).
    tracker: std::sync::OnceLock<Detector>,
    yunet: Vec<u8>,
    settings: models::RunSettings,
    recognizer: Recognizer,
    config: FaceConfig,
    model_sha256: [u8; 32],
}

impl FaceEngine {
    /// Loads the models from the two ONNX files' bytes, checking their SHA-256.
    pub fn from_bytes(yunet: &[u8], sface: &[u8], config: FaceConfig) -> Result<Self> {
        let settings = models::RunSettings { threads: config.threads, ..models::RunSettings::default() };
        let detector = Detector::load(yunet, config.detector_size, settings)?;
        let recognizer = Recognizer::load(sface, settings)?;
        let mut model_sha256 = [0u8; 32];
        model_sha256.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, sface).as_ref());
        let (tracker, yunet) = (std::sync::OnceLock::new(), yunet.to_vec());
        Ok(Self { detector, tracker, yunet, settings, recognizer, config, model_sha256 })
    }

    /// Loads the models from a folder holding the two files under their `models/` names.
    pub fn from_dir(dir: &Path, config: FaceConfig) -> Result<Self> {
        let yunet = models::read(dir, &models::YUNET)?;
        let sface = models::read(dir, &models::SFACE)?;
        Self::from_bytes(&yunet, &sface, config)
    }

    /// Loads the models compiled into the library.
    #[cfg(feature = "bundled-models")]
    pub fn bundled(config: FaceConfig) -> Result<Self> {
        let (yunet, sface) = models::bundled();
        Self::from_bytes(yunet, sface, config)
    }

    /// The settings in force.
    pub fn config(&self) -> &FaceConfig {
        &self.config
    }

    /// Detector input size in pixels.
    pub fn detector_size(&self) -> u32 {
        self.detector.size()
    }

    /// All faces in the image, best score first.
    pub fn detect(&self, img: &RgbImage) -> Result<Vec<Detection>> {
        self.detector.detect(img, self.config.detection_threshold, self.config.nms_threshold)
    }

    /// Faces in a region around `last` (a face box of the previous frame), found by the small
    /// [`TRACK_INPUT`] detector at the same pixel scale as a whole-frame search (so landmarks are
    /// as precise), in `img`'s pixels, best first. `None` when following cannot save anything (the
    /// face too large for the region at this scale, or the region as large as the frame): search
    /// the whole frame with [`Self::detect`]. Empty when the face left the region.
    pub fn detect_near(&self, img: &RgbImage, last: &FaceBox) -> Result<Option<Vec<Detection>>> {
        let (w, h) = (img.width() as f32, img.height() as f32);
        let scale = (self.detector.size() as f32 / w.max(h)).min(1.0);
        let tracker = match self.tracker.get() {
            Some(t) => t,
            None => {
                let t = Detector::load(&self.yunet, TRACK_INPUT.min(self.config.detector_size), self.settings)?;
                self.tracker.get_or_init(|| t)
            }
        };
        let side = tracker.size() as f32 / scale;
        let face_side = last.width.max(last.height);
        if !face_side.is_finite() || side < TRACK_REGION * face_side || side >= w.max(h) {
            return Ok(None);
        }
        // A side x side square centred on the face, moved inside the frame where it pokes out.
        let place = |centre: f32, len: f32| (centre - side / 2.0).clamp(0.0, (len - side).max(0.0));
        let (x0, y0) = (place(last.x + last.width / 2.0, w) as u32, place(last.y + last.height / 2.0, h) as u32);
        let (rw, rh) = ((side as u32).min(img.width() - x0), (side as u32).min(img.height() - y0));
        let region = image::imageops::crop_imm(img, x0, y0, rw, rh).to_image();
        let mut found = tracker.detect(&region, self.config.detection_threshold, self.config.nms_threshold)?;
        for d in &mut found {
            d.bbox.x += x0 as f32;
            d.bbox.y += y0 as f32;
            for p in &mut d.landmarks {
                p[0] += x0 as f32;
                p[1] += y0 as f32;
            }
        }
        Ok(Some(found))
    }

    /// Quality of one detected face in `img` (the image it was detected in).
    pub fn quality(&self, img: &RgbImage, face: &Detection, faces: usize) -> Quality {
        quality::measure(faces, face, &align_crop(img, &face.landmarks))
    }

    /// Finds, checks and embeds the face to compare; typed errors say what to fix.
    pub fn capture(&self, img: &RgbImage, pick: FacePick) -> Result<Capture> {
        self.capture_with(img, pick, self.config.min_face_px, self.config.min_sharpness)
    }

    /// A registry photo or e-KTP capture as the reference: the face nearest the centre, and a
    /// small or soft face still gives a template (its quality is in the capture, for the record);
    /// only no face, a face under [`REFERENCE_MIN_FACE_PX`] or a dark one are refused.
    pub fn capture_reference(&self, img: &RgbImage) -> Result<Capture> {
        self.capture_with(img, FacePick::Centered, REFERENCE_MIN_FACE_PX, 0.0)
    }

    /// The reference template of `img` ([`Self::capture_reference`]) and the capture's quality.
    pub fn reference_template(&self, img: &RgbImage) -> Result<(Template, Quality)> {
        let cap = self.capture_reference(img)?;
        Ok((Template::fuse(self.model_sha256, models::SFACE.id, &[cap.embedding])?, cap.quality))
    }

    /// An e-KTP card photo as a reference: the aligned face crop as JPEG (all of the card that
    /// leaves the phone) and the template made from those very bytes, so that the server scoring
    /// the same JPEG gets the same reference.
    pub fn reference_face(&self, img: &RgbImage) -> Result<(Template, Vec<u8>)> {
        let cap = self.capture_reference(img)?;
        let jpeg = Self::crop_jpeg(&cap.crop)?;
        let embedding = self.recognizer.embed(&decode_crop(&jpeg)?)?;
        Ok((Template::fuse(self.model_sha256, models::SFACE.id, &[embedding])?, jpeg))
    }

    fn capture_with(&self, img: &RgbImage, pick: FacePick, min_face_px: f32, min_sharpness: f32) -> Result<Capture> {
        let faces = self.detect(img)?;
        let c = &self.config;
        let Some(chosen) = main_face(&faces, pick, img.width(), img.height()) else {
            let brightness = quality::mean_brightness(img);
            if brightness < c.min_brightness {
                return Err(Error::TooDark { brightness, min: c.min_brightness });
            }
            return Err(Error::NoFace);
        };
        if pick == FacePick::Single && faces.len() > 1 {
            return Err(Error::MultipleFaces { faces: faces.iter().map(|d| d.bbox).collect() });
        }
        let crop = align_crop(img, &chosen.landmarks);
        let quality = quality::measure(faces.len(), &chosen, &crop);
        if quality.face_px < min_face_px {
            return Err(Error::FaceTooSmall { size_px: quality.face_px, min_px: min_face_px });
        }
        if quality.brightness < c.min_brightness {
            return Err(Error::TooDark { brightness: quality.brightness, min: c.min_brightness });
        }
        if quality.sharpness < min_sharpness {
            return Err(Error::TooBlurry { sharpness: quality.sharpness, min: min_sharpness });
        }
        let embedding = self.recognizer.embed(&crop)?;
        Ok(Capture { detection: chosen, quality, crop, embedding })
    }

    /// Embedding of an already aligned 112x112 crop (see [`align_crop`]).
    pub fn embed_crop(&self, crop: &RgbImage) -> Result<Vec<f32>> {
        self.recognizer.embed(crop)
    }

    /// The aligned crop as a small JPEG: the evidence kept (sealed) with a receipt.
    pub fn crop_jpeg(crop: &RgbImage) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
            .encode_image(crop)
            .map_err(|e| Error::InvalidArgument(format!("cannot encode the face crop: {e}")))?;
        Ok(out)
    }

    /// A single-capture template of the one face in `img`.
    pub fn template(&self, img: &RgbImage, pick: FacePick) -> Result<Template> {
        let cap = self.capture(img, pick)?;
        Template::fuse(self.model_sha256, models::SFACE.id, &[cap.embedding])
    }

    /// A template from captures already taken (e.g. the steady frontal face of a passed live check).
    pub fn template_of(&self, captures: &[&Capture]) -> Result<Template> {
        let vectors: Vec<Vec<f32>> = captures.iter().map(|c| c.embedding.clone()).collect();
        Template::fuse(self.model_sha256, models::SFACE.id, &vectors)
    }

    /// Fuses several captures of one person into one template; refuses captures of different people.
    pub fn enroll(&self, images: &[RgbImage]) -> Result<Template> {
        if images.is_empty() {
            return Err(Error::InvalidArgument("enrolment needs at least one photo".into()));
        }
        let vectors =
            images.iter().map(|img| Ok(self.capture(img, FacePick::Single)?.embedding)).collect::<Result<Vec<_>>>()?;
        let threshold = self.config.match_threshold;
        for a in 0..vectors.len() {
            for b in a + 1..vectors.len() {
                let score = cosine(&vectors[a], &vectors[b]);
                if score < threshold {
                    return Err(Error::EnrolmentMismatch { a, b, score, threshold });
                }
            }
        }
        Template::fuse(self.model_sha256, models::SFACE.id, &vectors)
    }

    /// Compares a probe capture with a reference template: the three-band decision.
    pub fn verify(&self, reference: &Template, probe: &Capture) -> Result<Verification> {
        if reference.model_sha256 != self.model_sha256 {
            return Err(Error::InvalidTemplate(
                "the template was made with another recognizer model: enrol the recipient again".into(),
            ));
        }
        let c = &self.config;
        let score = cosine(&reference.vector, &probe.embedding);
        let mut reasons = Vec::new();
        if score < c.match_threshold {
            if score >= c.match_threshold - c.retry_margin {
                reasons.push(format!("score {score:.3} is just below the threshold {:.3}", c.match_threshold));
            }
            if probe.quality.yaw_deg.abs() > c.max_yaw_deg {
                reasons.push(format!("head turned about {:.0} degrees: face the camera", probe.quality.yaw_deg.abs()));
            }
        }
        let outcome = match (score >= c.match_threshold, reasons.is_empty()) {
            (true, _) => Outcome::Accept,
            (false, false) => Outcome::Retry,
            (false, true) => Outcome::Reject,
        };
        Ok(Verification { outcome, score, threshold: c.match_threshold, reasons, probe: probe.quality })
    }

    /// Verifies a probe image against a reference image (e.g. an e-KTP photo).
    pub fn verify_images(&self, reference: &RgbImage, probe: &RgbImage, pick: FacePick) -> Result<Verification> {
        let reference = self.template(reference, pick)?;
        self.verify(&reference, &self.capture(probe, pick)?)
    }
}
