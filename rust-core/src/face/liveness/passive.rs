//! The passive check: two MiniFASNet models judge one camera frame around the YuNet box.
//!
//! Preprocessing is upstream Silent-Face-Anti-Spoofing's (`generate_patches.py`, `test.py`): a box
//! `scale` times the face box (smaller if the image is too small), centred on the face and shifted
//! back inside the image, cut with integer corners, resized to 80x80 with OpenCV's bilinear
//! arithmetic, BGR, raw 0..255 floats in NCHW. Each model gives three logits; after softmax class 1 is
//! "real". The two models' P(real) are averaged (upstream's Android app).

use image::RgbImage;
use serde::Serialize;
use tract_onnx::prelude::*;

use crate::error::{Error, Result};
use crate::face::models::{self, ModelSpec, Plan};

/// Side of the square model input.
pub const PATCH: u32 = 80;
/// Crop scale of MiniFASNetV2.
pub const SCALE_V2: f32 = 2.7;
/// Crop scale of MiniFASNetV1SE.
pub const SCALE_V1SE: f32 = 4.0;

/// What the passive check says about one face.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PassiveVerdict {
    /// The camera saw a live face.
    Live,
    /// The camera saw a picture (print, screen) of a face.
    NotLive,
    /// The head is turned too far for the models: no verdict; face the camera.
    PoseNotFrontal,
}

impl PassiveVerdict {
    /// Stable snake_case name (for JSON and logs).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::NotLive => "not_live",
            Self::PoseNotFrontal => "pose_not_frontal",
        }
    }
}

/// The passive check's answer for one face.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PassiveResult {
    /// Fused P(real), 0..1: the mean of the two models' P(real). Computed even when the pose is not
    /// frontal, but then not used for the verdict.
    pub score: f32,
    /// Live, not live, or no verdict because the head is turned.
    pub verdict: PassiveVerdict,
    /// P(real) of MiniFASNetV2 (crop scale 2.7).
    pub v2: f32,
    /// P(real) of MiniFASNetV1SE (crop scale 4.0).
    pub v1se: f32,
    /// Head turn measured from the landmarks (see [`super::turn`]).
    pub turn: f32,
    /// Threshold applied to `score`.
    pub threshold: f32,
}

impl PassiveResult {
    /// True only for a frontal face judged live.
    pub fn live(&self) -> bool {
        self.verdict == PassiveVerdict::Live
    }
}

/// Logits and P(real) of both models on one face.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PassiveScores {
    /// Raw logits of MiniFASNetV2.
    pub v2_logits: [f32; 3],
    /// Raw logits of MiniFASNetV1SE.
    pub v1se_logits: [f32; 3],
    /// Softmax class 1 of MiniFASNetV2.
    pub v2: f32,
    /// Softmax class 1 of MiniFASNetV1SE.
    pub v1se: f32,
    /// Mean of the two.
    pub fused: f32,
}

pub(crate) struct Model {
    plan: Plan,
    spec: &'static ModelSpec,
}

impl Model {
    pub(crate) fn load(spec: &'static ModelSpec, bytes: &[u8]) -> Result<Self> {
        let p = PATCH as usize;
        Ok(Self { plan: models::load(spec, bytes, &[1, 3, p, p], models::RunSettings::default())?, spec })
    }

    /// Raw logits for one 80x80 RGB patch (fed as BGR planes, 0..255).
    pub(crate) fn logits(&self, patch: &RgbImage) -> Result<[f32; 3]> {
        let p = PATCH as usize;
        if patch.dimensions() != (PATCH, PATCH) {
            return Err(Error::InvalidArgument(format!("liveness patch must be {p}x{p}")));
        }
        let mut data = vec![0f32; 3 * p * p];
        for (x, y, px) in patch.enumerate_pixels() {
            let i = y as usize * p + x as usize;
            data[i] = f32::from(px.0[2]);
            data[p * p + i] = f32::from(px.0[1]);
            data[2 * p * p + i] = f32::from(px.0[0]);
        }
        let input = Tensor::from_shape(&[1, 3, p, p], &data).expect("shape matches data");
        let out = models::run(&self.plan, self.spec, input)?;
        let v = out
            .first()
            .and_then(|t| t.try_as_plain_ram().ok()?.as_slice::<f32>().ok().map(<[f32]>::to_vec))
            .filter(|v| v.len() == 3 && v.iter().all(|x| x.is_finite()))
            .ok_or_else(|| Error::Model { model: self.spec.id.into(), detail: "unexpected output".into() })?;
        Ok([v[0], v[1], v[2]])
    }
}

/// Softmax of three logits.
pub fn softmax(z: [f32; 3]) -> [f32; 3] {
    let m = z.iter().copied().fold(f32::MIN, f32::max);
    let e = z.map(|v| (v - m).exp());
    let s: f32 = e.iter().sum();
    e.map(|v| v / s)
}

/// Upstream `CropImage._get_new_box`: integer corners (left, top, right, bottom; inclusive) of the
/// box `scale` times the face box, shifted (not clipped) back inside a `w` x `h` image.
pub fn crop_box(w: u32, h: u32, face: [f32; 4], scale: f32) -> [i64; 4] {
    let (w, h) = (f64::from(w), f64::from(h));
    let [x, y, bw, bh] = face.map(f64::from);
    let (bw, bh) = (bw.max(1.0), bh.max(1.0));
    let s = ((h - 1.0) / bh).min((w - 1.0) / bw).min(f64::from(scale));
    let (nw, nh) = (bw * s, bh * s);
    let (cx, cy) = (bw / 2.0 + x, bh / 2.0 + y);
    let (mut l, mut t, mut r, mut b) = (cx - nw / 2.0, cy - nh / 2.0, cx + nw / 2.0, cy + nh / 2.0);
    if l < 0.0 {
        r -= l;
        l = 0.0;
    }
    if t < 0.0 {
        b -= t;
        t = 0.0;
    }
    if r > w - 1.0 {
        l -= r - w + 1.0;
        r = w - 1.0;
    }
    if b > h - 1.0 {
        t -= b - h + 1.0;
        b = h - 1.0;
    }
    // Python's int() truncates towards zero.
    [l.trunc() as i64, t.trunc() as i64, r.trunc() as i64, b.trunc() as i64]
}

/// The 80x80 model input for a face box at `scale`: the upstream crop, then OpenCV `INTER_LINEAR`.
pub fn crop_patch(img: &RgbImage, face: [f32; 4], scale: f32) -> RgbImage {
    let [l, t, r, b] = crop_box(img.width(), img.height(), face, scale);
    let clampx = |v: i64| v.clamp(0, i64::from(img.width()) - 1);
    let clampy = |v: i64| v.clamp(0, i64::from(img.height()) - 1);
    let (l, t, r, b) = (clampx(l), clampy(t), clampx(r), clampy(b));
    let (sw, sh) = ((r - l + 1).max(1) as usize, (b - t + 1).max(1) as usize);
    resize_linear(img, l as u32, t as u32, sw, sh, PATCH as usize)
}

/// OpenCV's 8-bit bilinear resize of the `sw` x `sh` region at (`x0`, `y0`) to `out` x `out`:
/// half-pixel centres, edge replication, 11-bit fixed-point weights, rounded (`cv::resize`
/// `INTER_LINEAR` on `CV_8U`).
fn resize_linear(img: &RgbImage, x0: u32, y0: u32, sw: usize, sh: usize, out: usize) -> RgbImage {
    const BITS: i32 = 11;
    const ONE: i32 = 1 << BITS;
    let taps = |src: usize| -> Vec<(usize, usize, i32, i32)> {
        let scale = src as f64 / out as f64;
        (0..out)
            .map(|d| {
                let fx = (d as f64 + 0.5) * scale - 0.5;
                let mut sx = fx.floor() as i64;
                let mut f = (fx - sx as f64) as f32;
                if sx < 0 {
                    sx = 0;
                    f = 0.0;
                }
                if sx >= src as i64 - 1 {
                    sx = src as i64 - 1;
                    f = 0.0;
                }
                let a = ((1.0 - f) * ONE as f32).round() as i32;
                let s0 = sx as usize;
                let s1 = (s0 + 1).min(src - 1);
                (s0, s1, a, ONE - a)
            })
            .collect()
    };
    let (tx, ty) = (taps(sw), taps(sh));
    let px = |x: usize, y: usize, c: usize| i32::from(img.get_pixel(x0 + x as u32, y0 + y as u32).0[c]);
    let mut dst = RgbImage::new(out as u32, out as u32);
    // Horizontal pass into fixed point, then vertical, as OpenCV's HResizeLinear / VResizeLinear.
    // Only the source rows the vertical taps read (at most 2 per output row).
    let mut rows: Vec<Option<Vec<[i32; 3]>>> = vec![None; sh];
    for &(r0, r1, _, _) in &ty {
        for y in [r0, r1] {
            if rows[y].is_none() {
                rows[y] = Some(
                    tx.iter()
                        .map(|&(s0, s1, a0, a1)| [0, 1, 2].map(|c| px(s0, y, c) * a0 + px(s1, y, c) * a1))
                        .collect(),
                );
            }
        }
    }
    let row = |y: usize| rows[y].as_deref().unwrap_or_default();
    for (dy, &(r0, r1, b0, b1)) in ty.iter().enumerate() {
        for (dx, (a, b)) in row(r0).iter().zip(row(r1)).enumerate() {
            let v = [0, 1, 2].map(|c| {
                let (s0, s1) = (a[c], b[c]);
                // VResizeLinear<uchar, int, short, FixedPtCast<int, uchar, 22>>, in its SIMD form.
                let v = (((b0 * (s0 >> 4)) >> 16) + ((b1 * (s1 >> 4)) >> 16) + 2) >> 2;
                v.clamp(0, 255) as u8
            });
            dst.put_pixel(dx as u32, dy as u32, image::Rgb(v));
        }
    }
    dst
}
