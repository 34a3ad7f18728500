//! Camera YUV 4:2:0 frames with the strides the app passes: NV21 and three planes, any sizes and
//! strides. A typed error or an upright image of the frame's size, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use salur_core::face::{Plane, Rotation, YuvFrame};

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (head, body) = data.split_at(8);
    let width = u32::from(head[0] % 64);
    let height = u32::from(head[1] % 64);
    let rotation = Rotation::from_degrees(u32::from(head[2] % 4) * 90).unwrap_or(Rotation::R0);
    if let Ok(frame) = YuvFrame::nv21(body, width, height, rotation) {
        check(&frame);
    }
    // Three planes cut from the body at fuzzed strides (row strides may be short, pixel strides 0).
    let third = body.len() / 3;
    let plane = |i: usize, row: u8, pixel: u8| Plane {
        data: &body[i * third..(i + 1) * third],
        row_stride: usize::from(row),
        pixel_stride: usize::from(pixel % 4),
    };
    let frame = YuvFrame {
        width,
        height,
        y: plane(0, head[3], head[4]),
        u: plane(1, head[5], head[6]),
        v: plane(2, head[5], head[7]),
        rotation,
    };
    check(&frame);
});

fn check(frame: &YuvFrame<'_>) {
    if let Ok(img) = frame.to_rgb() {
        let (w, h) = img.dimensions();
        assert!((w, h) == (frame.width, frame.height) || (w, h) == (frame.height, frame.width), "{w}x{h}");
    }
}
