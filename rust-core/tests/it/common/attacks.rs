//! Synthesized presentation attacks built from real photos and clip frames: a flat picture moved,
//! rotated, scaled and tilted in front of the camera; a screen replaying frames. Plain Rust (bilinear
//! sampling through a homography), no image-processing dependency.
#![allow(dead_code)]

use std::path::Path;

use salur_core::face::{read_image, RgbImage};

/// Row-major 3x3 matrix.
pub type Mat3 = [f64; 9];

pub fn mul(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut r = [0f64; 9];
    for i in 0..3 {
        for j in 0..3 {
            r[3 * i + j] = (0..3).map(|k| a[3 * i + k] * b[3 * k + j]).sum();
        }
    }
    r
}

pub fn invert(m: &Mat3) -> Mat3 {
    let [a, b, c, d, e, f, g, h, i] = *m;
    let det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
    assert!(det.abs() > 1e-12, "singular homography");
    let inv = [
        e * i - f * h,
        c * h - b * i,
        b * f - c * e,
        f * g - d * i,
        a * i - c * g,
        c * d - a * f,
        d * h - e * g,
        b * g - a * h,
        a * e - b * d,
    ];
    inv.map(|v| v / det)
}

/// Where a flat card showing `src` (w x h) lands in the camera image: turned `yaw_deg` about its
/// vertical axis and `pitch_deg` about its horizontal one, rolled `roll_deg` in its plane, scaled by
/// `scale`, its centre at (`cx`, `cy`), seen by a pinhole camera `distance` card-widths away.
pub struct CardPose {
    pub yaw_deg: f64,
    pub pitch_deg: f64,
    pub roll_deg: f64,
    pub scale: f64,
    pub cx: f64,
    pub cy: f64,
    pub distance: f64,
}

impl CardPose {
    pub fn still(cx: f64, cy: f64) -> Self {
        Self { yaw_deg: 0.0, pitch_deg: 0.0, roll_deg: 0.0, scale: 1.0, cx, cy, distance: 2.0 }
    }

    /// Homography from card pixels to camera pixels.
    pub fn homography(&self, w: u32, h: u32) -> Mat3 {
        let (w, h) = (f64::from(w), f64::from(h));
        let (cy_, sy_) = (self.yaw_deg.to_radians().cos(), self.yaw_deg.to_radians().sin());
        let (cp, sp) = (self.pitch_deg.to_radians().cos(), self.pitch_deg.to_radians().sin());
        let (cr, sr) = (self.roll_deg.to_radians().cos(), self.roll_deg.to_radians().sin());
        let rz = [cr, -sr, 0.0, sr, cr, 0.0, 0.0, 0.0, 1.0];
        let ry = [cy_, 0.0, sy_, 0.0, 1.0, 0.0, -sy_, 0.0, cy_];
        let rx = [1.0, 0.0, 0.0, 0.0, cp, -sp, 0.0, sp, cp];
        let r = mul(&rx, &mul(&ry, &rz));
        let d = self.distance * w;
        let f = d * self.scale;
        // [r1 r2 t] with t = (0, 0, d), card centred at its origin.
        let rt = [r[0], r[1], 0.0, r[3], r[4], 0.0, r[6], r[7], d];
        let k = [f, 0.0, self.cx, 0.0, f, self.cy, 0.0, 0.0, 1.0];
        let centre = [1.0, 0.0, -w / 2.0, 0.0, 1.0, -h / 2.0, 0.0, 0.0, 1.0];
        mul(&k, &mul(&rt, &centre))
    }
}

fn sample(src: &RgbImage, x: f64, y: f64) -> Option<[f32; 3]> {
    let (w, h) = (f64::from(src.width()), f64::from(src.height()));
    if !(0.0..=w - 1.0).contains(&x) || !(0.0..=h - 1.0).contains(&y) {
        return None;
    }
    let (x0, y0) = (x.floor() as u32, y.floor() as u32);
    let (x1, y1) = ((x0 + 1).min(src.width() - 1), (y0 + 1).min(src.height() - 1));
    let (fx, fy) = ((x - f64::from(x0)) as f32, (y - f64::from(y0)) as f32);
    let p = |x, y| src.get_pixel(x, y).0.map(f32::from);
    let (a, b, c, d) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
    Some([0, 1, 2].map(|i| {
        let top = a[i] + (b[i] - a[i]) * fx;
        let bot = c[i] + (d[i] - c[i]) * fx;
        top + (bot - top) * fy
    }))
}

/// Draws `src` through homography `h` (src -> canvas) onto `canvas`.
pub fn draw(canvas: &mut RgbImage, src: &RgbImage, h: &Mat3) {
    let inv = invert(h);
    for (x, y, px) in canvas.enumerate_pixels_mut() {
        let (xf, yf) = (f64::from(x), f64::from(y));
        let wz = inv[6] * xf + inv[7] * yf + inv[8];
        if wz <= 0.0 {
            continue;
        }
        let sx = (inv[0] * xf + inv[1] * yf + inv[2]) / wz;
        let sy = (inv[3] * xf + inv[4] * yf + inv[5]) / wz;
        if let Some(v) = sample(src, sx, sy) {
            px.0 = v.map(|c| c.round().clamp(0.0, 255.0) as u8);
        }
    }
}

/// A plain wall with a soft gradient (what is behind a card held up to the camera).
pub fn wall(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let v = 150.0 - 40.0 * f64::from(y) / f64::from(h) + 10.0 * f64::from(x) / f64::from(w);
        image::Rgb([v as u8, (v * 0.97) as u8, (v * 0.9) as u8])
    })
}

/// The frame a camera sees of `photo` held as a card at `pose`.
pub fn card_frame(photo: &RgbImage, pose: &CardPose, w: u32, h: u32) -> RgbImage {
    let mut canvas = wall(w, h);
    draw(&mut canvas, photo, &pose.homography(photo.width(), photo.height()));
    canvas
}

/// A flat photo waved in front of the camera over `n` frames: shifted, rotated, scaled and tilted
/// (up to `max_tilt_deg` about its vertical axis, which is how a sheet is "turned").
pub fn flat_motion(photo: &RgbImage, n: usize, max_tilt_deg: f64, w: u32, h: u32) -> Vec<RgbImage> {
    let fit = 0.8 * (f64::from(w) / f64::from(photo.width())).min(f64::from(h) / f64::from(photo.height()));
    (0..n)
        .map(|i| {
            let p = i as f64 / n as f64 * std::f64::consts::TAU;
            let pose = CardPose {
                yaw_deg: max_tilt_deg * p.sin(),
                pitch_deg: 10.0 * (2.0 * p).sin(),
                roll_deg: 8.0 * (1.5 * p).sin(),
                scale: fit * (1.0 + 0.1 * (0.7 * p).sin()),
                cx: f64::from(w) / 2.0 + 0.08 * f64::from(w) * (1.3 * p).sin(),
                cy: f64::from(h) / 2.0 + 0.05 * f64::from(h) * p.cos(),
                distance: 1.5,
            };
            card_frame(photo, &pose, w, h)
        })
        .collect()
}

/// A small hand tremor around a held card: sub-degree rotation and a pixel or two of shift.
pub fn held(photo: &RgbImage, i: usize, w: u32, h: u32) -> RgbImage {
    let fit = 0.95 * (f64::from(w) / f64::from(photo.width())).min(f64::from(h) / f64::from(photo.height()));
    let p = i as f64 * 1.7;
    let pose = CardPose {
        yaw_deg: 1.5 * p.sin(),
        pitch_deg: 1.0 * (1.3 * p).cos(),
        roll_deg: 0.6 * (0.9 * p).sin(),
        scale: fit,
        cx: f64::from(w) / 2.0 + 1.5 * p.cos(),
        cy: f64::from(h) / 2.0 + 1.5 * (0.8 * p).sin(),
        distance: 3.0,
    };
    card_frame(photo, &pose, w, h)
}

/// Settings of a simulated phone screen replaying a frame to the camera.
#[derive(Debug, Clone, Copy)]
pub struct Screen {
    /// Screen size relative to the camera frame.
    pub scale: f64,
    /// Contrast kept (1 = unchanged).
    pub contrast: f32,
    /// Pixel-grid pitch in camera pixels and how much the grid lines darken (0..1).
    pub grid: u32,
    pub grid_depth: f32,
    /// Strength of a glare spot (0..1 of white).
    pub glare: f32,
}

impl Screen {
    pub const SET: [Screen; 3] = [
        Screen { scale: 0.6, contrast: 0.75, grid: 2, grid_depth: 0.2, glare: 0.35 },
        Screen { scale: 0.75, contrast: 0.85, grid: 2, grid_depth: 0.12, glare: 0.2 },
        Screen { scale: 0.9, contrast: 0.9, grid: 2, grid_depth: 0.08, glare: 0.15 },
    ];
}

/// The camera's view of `frame` shown on a phone held up to it: smaller, in a black bezel on a
/// wall, flatter contrast, a visible pixel grid and a glare spot.
pub fn screen_frame(frame: &RgbImage, s: &Screen) -> RgbImage {
    let (w, h) = frame.dimensions();
    let mut out = wall(w, h);
    let (sw, sh) = ((f64::from(w) * s.scale) as u32, (f64::from(h) * s.scale) as u32);
    let (x0, y0) = ((w - sw) / 2, (h - sh) / 2);
    let bezel = (0.06 * f64::from(sw)) as u32;
    for y in y0.saturating_sub(bezel)..(y0 + sh + bezel).min(h) {
        for x in x0.saturating_sub(bezel)..(x0 + sw + bezel).min(w) {
            out.put_pixel(x, y, image::Rgb([14, 14, 16]));
        }
    }
    let shown = image::imageops::resize(frame, sw, sh, image::imageops::FilterType::Triangle);
    let (gcx, gcy) = (0.7 * f64::from(sw), 0.3 * f64::from(sh));
    for (x, y, p) in shown.enumerate_pixels() {
        let grid = if x % s.grid == 0 || y % s.grid == 0 { 1.0 - s.grid_depth } else { 1.0 };
        let g = (-(((f64::from(y) - gcy) / (0.35 * f64::from(sh))).powi(2)
            + -((f64::from(x) - gcx) / (0.3 * f64::from(sw))).powi(2)))
        .exp() as f32
            * 255.0
            * s.glare;
        let v =
            p.0.map(|c| ((f32::from(c) * s.contrast + (1.0 - s.contrast) * 128.0) * grid + g).clamp(0.0, 255.0) as u8);
        out.put_pixel(x0 + x, y0 + y, image::Rgb(v));
    }
    out
}

/// A crude print: duller range, warm paper tint, slight blur and a halftone-like dot pattern.
pub fn print_frame(frame: &RgbImage) -> RgbImage {
    let blurred = image::imageops::blur(frame, 0.8);
    RgbImage::from_fn(frame.width(), frame.height(), |x, y| {
        let p = blurred.get_pixel(x, y).0.map(f32::from);
        let dot = if (x + y) % 3 == 0 { 0.94 } else { 1.0 };
        let tint = [1.0, 0.97, 0.88];
        image::Rgb([0, 1, 2].map(|c| ((p[c] * 0.7 + 45.0) * tint[c] * dot).clamp(0.0, 255.0) as u8))
    })
}

/// The frames of a motion clip (every file, sorted) and its frame rate.
pub fn clip(dir: &Path) -> (Vec<RgbImage>, f32) {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    paths.sort();
    let fps: f32 = std::fs::read_to_string(dir.join("fps.txt")).unwrap().trim().parse().unwrap();
    (paths.iter().map(|p| read_image(p).unwrap()).collect(), fps)
}

/// A similarity transform (scale + shift) that puts box `from` onto box `to` (x, y, w, h).
pub fn box_onto(from: [f32; 4], to: [f32; 4]) -> Mat3 {
    let s = f64::from(to[2] / from[2]);
    let (fcx, fcy) = (f64::from(from[0] + from[2] / 2.0), f64::from(from[1] + from[3] / 2.0));
    let (tcx, tcy) = (f64::from(to[0] + to[2] / 2.0), f64::from(to[1] + to[3] / 2.0));
    [s, 0.0, tcx - s * fcx, 0.0, s, tcy - s * fcy, 0.0, 0.0, 1.0]
}
