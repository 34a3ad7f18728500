//! Five-point alignment to the 112x112 ArcFace template, as OpenCV's `FaceRecognizerSF::alignCrop`.

use image::{Rgb, RgbImage};

/// Side of the aligned crop that SFace takes.
pub const CROP_SIZE: u32 = 112;

/// Where the five landmarks land in the 112x112 crop (the ArcFace template OpenCV uses).
const TEMPLATE: [[f32; 2]; 5] =
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]];

/// A 2x3 affine map `dst = [[a, -b, tx], [b, a, ty]] * src`: rotation, uniform scale, translation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    a: f32,
    b: f32,
    tx: f32,
    ty: f32,
}

impl Similarity {
    /// Least-squares similarity taking `src` onto the template.
    ///
    /// OpenCV gets this through Umeyama's SVD method; in 2-D the same optimum has a closed form,
    /// so no linear-algebra crate is needed.
    pub fn to_template(src: &[[f32; 2]; 5]) -> Self {
        let mean = |p: &[[f32; 2]; 5]| {
            let s = p.iter().fold([0.0f32; 2], |acc, q| [acc[0] + q[0], acc[1] + q[1]]);
            [s[0] / 5.0, s[1] / 5.0]
        };
        let (ms, md) = (mean(src), mean(&TEMPLATE));
        let (mut dot, mut cross, mut norm) = (0.0f32, 0.0f32, 0.0f32);
        for (s, d) in src.iter().zip(&TEMPLATE) {
            let (sx, sy, dx, dy) = (s[0] - ms[0], s[1] - ms[1], d[0] - md[0], d[1] - md[1]);
            dot += sx * dx + sy * dy;
            cross += sx * dy - sy * dx;
            norm += sx * sx + sy * sy;
        }
        let norm = norm.max(f32::EPSILON);
        let (a, b) = (dot / norm, cross / norm);
        Self { a, b, tx: md[0] - (a * ms[0] - b * ms[1]), ty: md[1] - (b * ms[0] + a * ms[1]) }
    }

    /// Maps a source point into the crop.
    #[cfg(test)]
    fn apply(&self, p: [f32; 2]) -> [f32; 2] {
        [self.a * p[0] - self.b * p[1] + self.tx, self.b * p[0] + self.a * p[1] + self.ty]
    }

    /// Maps a crop point back into the source image.
    fn invert(&self, p: [f32; 2]) -> [f32; 2] {
        let det = (self.a * self.a + self.b * self.b).max(f32::EPSILON);
        let (x, y) = (p[0] - self.tx, p[1] - self.ty);
        [(self.a * x + self.b * y) / det, (-self.b * x + self.a * y) / det]
    }
}

/// The aligned 112x112 face crop (bilinear, black outside the image, like `cv::warpAffine`).
pub fn align_crop(img: &RgbImage, landmarks: &[[f32; 2]; 5]) -> RgbImage {
    let m = Similarity::to_template(landmarks);
    let (w, h) = (img.width() as i64, img.height() as i64);
    let pixel = |x: i64, y: i64| -> [f32; 3] {
        if x < 0 || y < 0 || x >= w || y >= h {
            return [0.0; 3];
        }
        let p = img.get_pixel(x as u32, y as u32).0;
        [f32::from(p[0]), f32::from(p[1]), f32::from(p[2])]
    };
    RgbImage::from_fn(CROP_SIZE, CROP_SIZE, |u, v| {
        let [sx, sy] = m.invert([u as f32, v as f32]);
        let (x0, y0) = (sx.floor(), sy.floor());
        let (fx, fy) = (sx - x0, sy - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let (p00, p10, p01, p11) = (pixel(x0, y0), pixel(x0 + 1, y0), pixel(x0, y0 + 1), pixel(x0 + 1, y0 + 1));
        let mut out = [0u8; 3];
        for c in 0..3 {
            let top = p00[c] + (p10[c] - p00[c]) * fx;
            let bottom = p01[c] + (p11[c] - p01[c]) * fx;
            out[c] = (top + (bottom - top) * fy).round().clamp(0.0, 255.0) as u8;
        }
        Rgb(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_recovers_a_known_transform() {
        // The template rotated by 20 degrees, scaled by 2.5 and moved: alignment must undo it exactly.
        let (c, s) = (20f32.to_radians().cos(), 20f32.to_radians().sin());
        let src = TEMPLATE.map(|p| [2.5 * (c * p[0] - s * p[1]) + 300.0, 2.5 * (s * p[0] + c * p[1]) + 40.0]);
        let m = Similarity::to_template(&src);
        for (p, t) in src.iter().zip(&TEMPLATE) {
            let q = m.apply(*p);
            assert!((q[0] - t[0]).abs() < 1e-3 && (q[1] - t[1]).abs() < 1e-3, "{q:?} vs {t:?}");
        }
    }
}
