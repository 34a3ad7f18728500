//! SFace embeddings of aligned face crops.

use image::RgbImage;
use tract_onnx::prelude::*;

use super::align::CROP_SIZE;
use super::models::{self, Plan, RunSettings, SFACE};
use crate::error::{Error, Result};

/// Length of an SFace embedding.
pub const EMBEDDING_DIM: usize = 128;

/// The SFace model.
pub(crate) struct Recognizer {
    plan: Plan,
}

impl Recognizer {
    /// Loads SFace for one 112x112 crop at a time.
    pub(crate) fn load(bytes: &[u8], settings: RunSettings) -> Result<Self> {
        let s = CROP_SIZE as usize;
        Ok(Self { plan: models::load(&SFACE, bytes, &[1, 3, s, s], settings)? })
    }

    /// L2-normalized embedding of an aligned crop.
    ///
    /// The crop goes in as RGB 0..255, as OpenCV's `FaceRecognizerSF::feature` feeds it
    /// (`swapRB=true`); the graph itself subtracts 127.5 and scales by 1/128.
    pub(crate) fn embed(&self, crop: &RgbImage) -> Result<Vec<f32>> {
        let s = CROP_SIZE as usize;
        if crop.dimensions() != (CROP_SIZE, CROP_SIZE) {
            return Err(Error::InvalidArgument(format!("crop must be {s}x{s}")));
        }
        let input = Tensor::from_shape(&[1, 3, s, s], &planar_rgb(crop)).expect("shape matches data");
        let out = models::run(&self.plan, &SFACE, input)?;
        let v = out
            .first()
            .and_then(|t| t.try_as_plain_ram().ok()?.as_slice::<f32>().ok().map(<[f32]>::to_vec))
            .filter(|v| v.len() == EMBEDDING_DIM)
            .ok_or_else(|| Error::Model { model: SFACE.id.into(), detail: "unexpected output".into() })?;
        normalize(v).ok_or_else(|| Error::Model { model: SFACE.id.into(), detail: "zero embedding".into() })
    }
}

/// The crop as planar RGB 0..255, the model's input layout.
pub(super) fn planar_rgb(crop: &RgbImage) -> Vec<f32> {
    let s = crop.width() as usize * crop.height() as usize;
    let mut data = vec![0f32; 3 * s];
    for (i, px) in crop.pixels().enumerate() {
        for c in 0..3 {
            data[c * s + i] = f32::from(px.0[c]);
        }
    }
    data
}

/// Scales `v` to unit length; `None` for a zero or non-finite vector.
pub(crate) fn normalize(mut v: Vec<f32>) -> Option<Vec<f32>> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if !n.is_finite() || n < 1e-12 {
        return None;
    }
    v.iter_mut().for_each(|x| *x /= n);
    Some(v)
}

/// Cosine similarity of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
