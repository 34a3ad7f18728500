//! Capture quality measures, computed on the original image and the aligned crop.

use image::RgbImage;
use serde::Serialize;

use super::detect::Detection;

/// How good a capture is, reported with every verification.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quality {
    /// Faces the detector found in the image.
    pub faces: usize,
    /// Shorter side of the chosen face's box, in pixels of the original image.
    pub face_px: f32,
    /// Detector confidence for the chosen face, 0..1.
    pub detector_score: f32,
    /// Variance of the Laplacian of the aligned grey crop: low means blurry.
    pub sharpness: f32,
    /// Mean luma of the aligned crop's centre, 0..255.
    pub brightness: f32,
    /// Estimated head turn left or right in degrees from the landmarks; 0 is frontal.
    pub yaw_deg: f32,
}

fn luma(p: [u8; 3]) -> f32 {
    0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])
}

/// Mean luma of a whole image, sampled on a grid (enough to tell a dark frame).
pub fn mean_brightness(img: &RgbImage) -> f32 {
    let step = ((img.width() * img.height()) as f32 / 65_536.0).sqrt().max(1.0) as usize;
    let (mut sum, mut n) = (0.0f32, 0usize);
    for y in (0..img.height()).step_by(step) {
        for x in (0..img.width()).step_by(step) {
            sum += luma(img.get_pixel(x, y).0);
            n += 1;
        }
    }
    sum / n.max(1) as f32
}

/// Mean luma and variance of the Laplacian over the crop's central face area.
///
/// The centre avoids the black corners the warp leaves when the face is near the image edge.
fn crop_measures(crop: &RgbImage) -> (f32, f32) {
    let (w, h) = (crop.width() as usize, crop.height() as usize);
    let grey: Vec<f32> = crop.pixels().map(|p| luma(p.0)).collect();
    let (x0, x1, y0, y1) = (w / 4, w - w / 4, h / 4, h - h / 8);
    let (mut sum, mut lap_sum, mut lap_sq, mut n) = (0.0f32, 0.0f32, 0.0f32, 0usize);
    for y in y0..y1 {
        for x in x0..x1 {
            let c = grey[y * w + x];
            let lap =
                grey[(y - 1) * w + x] + grey[(y + 1) * w + x] + grey[y * w + x - 1] + grey[y * w + x + 1] - 4.0 * c;
            sum += c;
            lap_sum += lap;
            lap_sq += lap * lap;
            n += 1;
        }
    }
    let n = n as f32;
    let mean_lap = lap_sum / n;
    (sum / n, lap_sq / n - mean_lap * mean_lap)
}

/// Yaw from how far the nose sits from the eyes' midpoint along the eye line.
///
/// A frontal face has the nose midway; a face turned 90 degrees has it about half an
/// eye distance to one side. Rough, but enough to ask for a straighter capture.
fn yaw_deg(lm: &[[f32; 2]; 5]) -> f32 {
    let (re, le, nose) = (lm[0], lm[1], lm[2]);
    let eye = [le[0] - re[0], le[1] - re[1]];
    let mid = [(le[0] + re[0]) / 2.0, (le[1] + re[1]) / 2.0];
    let d2 = (eye[0] * eye[0] + eye[1] * eye[1]).max(f32::EPSILON);
    let t = ((nose[0] - mid[0]) * eye[0] + (nose[1] - mid[1]) * eye[1]) / d2;
    (2.0 * t).clamp(-1.0, 1.0).asin().to_degrees()
}

/// Quality of one chosen face.
pub fn measure(faces: usize, det: &Detection, crop: &RgbImage) -> Quality {
    let (brightness, sharpness) = crop_measures(crop);
    Quality {
        faces,
        face_px: det.bbox.width.min(det.bbox.height),
        detector_score: det.bbox.score,
        sharpness,
        brightness,
        yaw_deg: yaw_deg(&det.landmarks),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaw_is_zero_when_the_nose_is_centred_and_grows_as_it_moves() {
        let mut lm = [[40.0, 50.0], [70.0, 50.0], [55.0, 70.0], [45.0, 90.0], [65.0, 90.0]];
        assert!(yaw_deg(&lm).abs() < 1e-3);
        lm[2][0] = 63.0;
        let y = yaw_deg(&lm);
        assert!(y > 20.0 && y < 40.0, "{y}");
    }

    #[test]
    fn flat_crop_has_no_sharpness_and_its_own_brightness() {
        let crop = RgbImage::from_pixel(112, 112, image::Rgb([100, 100, 100]));
        let (b, s) = crop_measures(&crop);
        assert!((b - 100.0).abs() < 0.5 && s.abs() < 1e-3);
    }
}
