//! JPEG and PNG decode with EXIF orientation: never a panic, and an image that decodes stays
//! within the documented bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use salur_core::face::{decode_image, MAX_PIXELS, MAX_SIDE};

fuzz_target!(|data: &[u8]| {
    if let Ok(img) = decode_image(data) {
        let (w, h) = img.dimensions();
        assert!(w <= MAX_SIDE && h <= MAX_SIDE, "{w}x{h} over the side limit");
        assert!(u64::from(w) * u64::from(h) <= MAX_PIXELS, "{w}x{h} over the pixel limit");
    }
});
