//! Raw camera frames (NV21 and YUV_420_888 with row padding, any rotation) give the same
//! decision as the JPEG they were made from.

use crate::common;

use image::RgbImage;
use salur_core::face::{FacePick, Outcome, Plane, Rotation, YuvFrame};
use salur_core::Error;

/// Full-range BT.601 planes (what Android cameras produce): Y, then U and V subsampled 2x2.
fn yuv_planes(img: &RgbImage) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let px = |x: usize, y: usize| img.get_pixel(x as u32, y as u32).0.map(f32::from);
    let y_plane = (0..h * w)
        .map(|i| {
            let [r, g, b] = px(i % w, i / w);
            (0.299 * r + 0.587 * g + 0.114 * b).round() as u8
        })
        .collect();
    let (mut u, mut v) = (Vec::new(), Vec::new());
    for cy in 0..h / 2 {
        for cx in 0..w / 2 {
            let [mut r, mut g, mut b] = [0.0f32; 3];
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let p = px(2 * cx + dx, 2 * cy + dy);
                (r, g, b) = (r + p[0] / 4.0, g + p[1] / 4.0, b + p[2] / 4.0);
            }
            u.push((-0.168_736 * r - 0.331_264 * g + 0.5 * b + 128.0).round().clamp(0.0, 255.0) as u8);
            v.push((0.5 * r - 0.418_688 * g - 0.081_312 * b + 128.0).round().clamp(0.0, 255.0) as u8);
        }
    }
    (y_plane, u, v)
}

/// The photo as a sensor mounted at `degrees` would deliver it: turned back counter-clockwise.
fn as_sensor_sees_it(upright: &RgbImage, degrees: u32) -> RgbImage {
    let even = image::imageops::crop_imm(upright, 0, 0, upright.width() & !1, upright.height() & !1).to_image();
    match degrees {
        90 => image::imageops::rotate270(&even),
        180 => image::imageops::rotate180(&even),
        270 => image::imageops::rotate90(&even),
        _ => even,
    }
}

fn nv21(img: &RgbImage) -> Vec<u8> {
    let (y, u, v) = yuv_planes(img);
    let mut out = y;
    for (v, u) in v.iter().zip(&u) {
        out.extend([*v, *u]);
    }
    out
}

#[test]
fn nv21_frames_in_every_rotation_decide_like_the_jpeg() {
    let engine = common::engine();
    let reference = engine.template(&common::photo("same/fr_biden/1.jpg"), FacePick::Single).unwrap();
    for (probe, expected) in [("same/fr_biden/2.jpg", Outcome::Accept), ("same/fr_obama/2.jpg", Outcome::Reject)] {
        let upright = common::photo(probe);
        let from_jpeg = engine.verify(&reference, &engine.capture(&upright, FacePick::Single).unwrap()).unwrap();
        assert_eq!(from_jpeg.outcome, expected, "{probe}");
        for degrees in [0, 90, 180, 270] {
            let sensor = as_sensor_sees_it(&upright, degrees);
            let data = nv21(&sensor);
            let frame =
                YuvFrame::nv21(&data, sensor.width(), sensor.height(), Rotation::from_degrees(degrees).unwrap())
                    .unwrap()
                    .to_rgb()
                    .unwrap();
            assert_eq!(frame.width(), upright.width() & !1, "rotation {degrees} must come back upright");
            let result = engine.verify(&reference, &engine.capture(&frame, FacePick::Single).unwrap()).unwrap();
            assert_eq!(result.outcome, expected, "{probe} at {degrees} degrees");
            assert!(
                (result.score - from_jpeg.score).abs() < 0.05,
                "{probe} at {degrees}: {} vs {}",
                result.score,
                from_jpeg.score
            );
        }
    }
}

#[test]
fn yuv_420_888_planes_with_row_padding_are_read_with_their_strides() {
    let engine = common::engine();
    let upright = common::photo("same/fr_biden/2.jpg");
    let sensor = as_sensor_sees_it(&upright, 90);
    let (w, h) = (sensor.width() as usize, sensor.height() as usize);
    let (y, u, v) = yuv_planes(&sensor);
    // Rows padded to a multiple of 64 bytes, as many camera HALs do; the last row is left short.
    let stride = w.div_ceil(64) * 64;
    let pad = |plane: &[u8], cols: usize, stride: usize| -> Vec<u8> {
        let mut out = Vec::new();
        for (i, row) in plane.chunks(cols).enumerate() {
            out.extend(row);
            if i + 1 < plane.len() / cols {
                out.resize(out.len() + stride - cols, 0xAB);
            }
        }
        out
    };
    let (yp, up, vp) = (pad(&y, w, stride), pad(&u, w / 2, stride / 2), pad(&v, w / 2, stride / 2));
    let frame = YuvFrame {
        width: w as u32,
        height: h as u32,
        y: Plane { data: &yp, row_stride: stride, pixel_stride: 1 },
        u: Plane { data: &up, row_stride: stride / 2, pixel_stride: 1 },
        v: Plane { data: &vp, row_stride: stride / 2, pixel_stride: 1 },
        rotation: Rotation::R90,
    };
    let rgb = frame.to_rgb().unwrap();
    let reference = engine.template(&common::photo("same/fr_biden/1.jpg"), FacePick::Single).unwrap();
    let result = engine.verify(&reference, &engine.capture(&rgb, FacePick::Single).unwrap()).unwrap();
    assert_eq!(result.outcome, Outcome::Accept);

    // One byte short of the last row is an error, not an out-of-bounds read.
    let short = YuvFrame { y: Plane { data: &yp[..yp.len() - 1], ..frame.y }, ..frame };
    assert!(matches!(short.to_rgb(), Err(Error::InvalidFrame(_))));
    assert!(matches!(Rotation::from_degrees(45), Err(Error::InvalidFrame(_))));
    assert!(matches!(YuvFrame::nv21(&[0; 10], 640, 480, Rotation::R0), Err(Error::InvalidFrame(_))));
    // Strides chosen to wrap the size arithmetic are refused, not a panic or a wrapped bounds check.
    for (row_stride, pixel_stride) in [(usize::MAX, 1), (usize::MAX / 2, usize::MAX / 2), (8, usize::MAX)] {
        let hostile = YuvFrame { u: Plane { data: &up, row_stride, pixel_stride }, ..frame };
        assert!(matches!(hostile.to_rgb(), Err(Error::InvalidFrame(_))), "{row_stride} {pixel_stride}");
    }
}
