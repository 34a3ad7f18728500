//! YuNet face detection: letterbox, run, decode the anchor-free heads, NMS, map back.

use image::RgbImage;
use serde::Serialize;
use tract_onnx::prelude::*;

use super::models::{self, Plan, RunSettings, YUNET};
use super::resize;
use crate::error::{Error, FaceBox, Result};

const STRIDES: [usize; 3] = [8, 16, 32];

/// A detected face: box, detector score and five landmarks in original-image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Detection {
    /// Box and score.
    #[serde(flatten)]
    pub bbox: FaceBox,
    /// Right eye, left eye, nose tip, right and left mouth corners (the subject's right and left), as (x, y).
    pub landmarks: [[f32; 2]; 5],
}

impl Detection {
    /// Box area, for picking the largest face.
    pub fn area(&self) -> f32 {
        self.bbox.width * self.bbox.height
    }
}

/// The YuNet model, optimized for one square input size.
pub(crate) struct Detector {
    plan: Plan,
    size: u32,
}

impl Detector {
    /// Loads YuNet for a `size` x `size` input (a multiple of 32, e.g. 320 or 640).
    pub(crate) fn load(bytes: &[u8], size: u32, settings: RunSettings) -> Result<Self> {
        if !(64..=1920).contains(&size) || !size.is_multiple_of(32) {
            return Err(Error::InvalidArgument(format!(
                "detector input size {size} must be a multiple of 32 between 64 and 1920"
            )));
        }
        let s = size as usize;
        Ok(Self { plan: models::load(&YUNET, bytes, &[1, 3, s, s], settings)?, size })
    }

    /// The square input size the model runs at.
    pub(crate) fn size(&self) -> u32 {
        self.size
    }

    /// Finds faces scoring at least `score_threshold`, best first, after NMS at `nms_threshold` IoU.
    pub(crate) fn detect(&self, img: &RgbImage, score_threshold: f32, nms_threshold: f32) -> Result<Vec<Detection>> {
        let input = letterbox(img, self.size);
        let outputs = models::run(&self.plan, &YUNET, input.tensor)?;
        let mut found = decode(&outputs, self.size as usize, score_threshold)?;
        for d in &mut found {
            d.bbox.x /= input.scale_x;
            d.bbox.y /= input.scale_y;
            d.bbox.width /= input.scale_x;
            d.bbox.height /= input.scale_y;
            for p in &mut d.landmarks {
                p[0] /= input.scale_x;
                p[1] /= input.scale_y;
            }
        }
        Ok(nms(found, nms_threshold))
    }
}

pub(super) struct Letterboxed {
    pub(super) tensor: Tensor,
    scale_x: f32,
    scale_y: f32,
}

/// Shrinks the image so its longer side fits `size` (never enlarges: YuNet misses faces blown up
/// past its largest anchors), pads right and bottom with black, and lays it
/// out as a BGR planar 0..255 tensor (what OpenCV's `FaceDetectorYN` feeds the model).
pub(super) fn letterbox(img: &RgbImage, size: u32) -> Letterboxed {
    let (w, h) = img.dimensions();
    // f64 and round-half-up, the same arithmetic as scripts/reference_models.py: YuNet's boxes move
    // by several pixels when the shrunk image is one row taller or shorter.
    let scale = (f64::from(size) / f64::from(w.max(h))).min(1.0);
    let fit = |side: u32| ((f64::from(side) * scale + 0.5).floor() as u32).clamp(1, size);
    let (rw, rh) = (fit(w), fit(h));
    let resized;
    let src = if (rw, rh) == (w, h) {
        img
    } else {
        resized = resize::shrink(img, rw, rh);
        &resized
    };
    let s = size as usize;
    let mut data = vec![0f32; 3 * s * s];
    for (x, y, px) in src.enumerate_pixels() {
        let i = y as usize * s + x as usize;
        data[i] = f32::from(px.0[2]);
        data[s * s + i] = f32::from(px.0[1]);
        data[2 * s * s + i] = f32::from(px.0[0]);
    }
    let tensor = Tensor::from_shape(&[1, 3, s, s], &data).expect("shape matches data");
    Letterboxed { tensor, scale_x: rw as f32 / w as f32, scale_y: rh as f32 / h as f32 }
}

/// Decodes YuNet's outputs (cls, obj, bbox, kps for each stride) as OpenCV's `FaceDetectorYN` does.
fn decode(outputs: &[TValue], size: usize, score_threshold: f32) -> Result<Vec<Detection>> {
    let view = |i: usize| -> Result<&[f32]> {
        outputs
            .get(i)
            .and_then(|t| t.try_as_plain_ram().ok()?.as_slice::<f32>().ok())
            .ok_or_else(|| Error::Model { model: YUNET.id.into(), detail: format!("output {i} missing or not f32") })
    };
    let mut found = Vec::new();
    for (level, &stride) in STRIDES.iter().enumerate() {
        let cols = size / stride;
        let cells = cols * cols;
        let (cls, obj, bbox, kps) = (view(level)?, view(3 + level)?, view(6 + level)?, view(9 + level)?);
        if cls.len() < cells || obj.len() < cells || bbox.len() < 4 * cells || kps.len() < 10 * cells {
            return Err(Error::Model { model: YUNET.id.into(), detail: "output sizes do not match the input".into() });
        }
        let st = stride as f32;
        for idx in 0..cells {
            let score = (cls[idx].clamp(0.0, 1.0) * obj[idx].clamp(0.0, 1.0)).sqrt();
            if score < score_threshold {
                continue;
            }
            let (r, c) = ((idx / cols) as f32, (idx % cols) as f32);
            let b = &bbox[idx * 4..idx * 4 + 4];
            let (cx, cy) = ((c + b[0]) * st, (r + b[1]) * st);
            let (w, h) = (b[2].exp() * st, b[3].exp() * st);
            let k = &kps[idx * 10..idx * 10 + 10];
            let mut landmarks = [[0f32; 2]; 5];
            for (n, p) in landmarks.iter_mut().enumerate() {
                *p = [(k[2 * n] + c) * st, (k[2 * n + 1] + r) * st];
            }
            found.push(Detection {
                bbox: FaceBox { x: cx - w / 2.0, y: cy - h / 2.0, width: w, height: h, score },
                landmarks,
            });
        }
    }
    Ok(found)
}

fn iou(a: &FaceBox, b: &FaceBox) -> f32 {
    let ix = (a.x + a.width).min(b.x + b.width) - a.x.max(b.x);
    let iy = (a.y + a.height).min(b.y + b.height) - a.y.max(b.y);
    if ix <= 0.0 || iy <= 0.0 {
        return 0.0;
    }
    let inter = ix * iy;
    inter / (a.width * a.height + b.width * b.height - inter)
}

/// Greedy non-maximum suppression, highest score first.
fn nms(mut found: Vec<Detection>, threshold: f32) -> Vec<Detection> {
    found.sort_by(|a, b| b.bbox.score.total_cmp(&a.bbox.score));
    let mut kept: Vec<Detection> = Vec::new();
    for d in found {
        if kept.iter().all(|k| iou(&k.bbox, &d.bbox) <= threshold) {
            kept.push(d);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(x: f32, score: f32) -> Detection {
        Detection { bbox: FaceBox { x, y: 0.0, width: 10.0, height: 10.0, score }, landmarks: [[0.0; 2]; 5] }
    }

    #[test]
    fn nms_keeps_best_of_overlapping_and_separate_boxes() {
        let kept = nms(vec![det(0.0, 0.8), det(1.0, 0.95), det(50.0, 0.9)], 0.3);
        let xs: Vec<f32> = kept.iter().map(|d| d.bbox.x).collect();
        assert_eq!(xs, vec![1.0, 50.0]);
    }

    #[test]
    fn letterbox_shrinks_large_images_and_never_enlarges_small_ones() {
        let l = letterbox(&RgbImage::new(1000, 501), 320);
        assert_eq!(l.tensor.shape(), &[1, 3, 320, 320]);
        // 501 * 0.32 = 160.32 rows: the per-axis scale keeps the mapping back exact.
        assert!((l.scale_x - 0.32).abs() < 1e-6 && (l.scale_y - 160.0 / 501.0).abs() < 1e-6);
        let l = letterbox(&RgbImage::new(200, 100), 320);
        assert_eq!((l.scale_x, l.scale_y), (1.0, 1.0));
    }
}
