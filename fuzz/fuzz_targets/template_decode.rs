//! Face templates from storage or the server: decoding never panics, and a decoded template
//! encodes back to the same bytes with a finite unit vector.
#![no_main]

use libfuzzer_sys::fuzz_target;
use salur_core::face::Template;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = Template::decode(data) {
        assert_eq!(t.encode(), data, "one byte form per template");
        let norm: f32 = t.vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!(t.vector.iter().all(|x| x.is_finite()) && (norm - 1.0).abs() < 1e-3, "norm {norm}");
    }
});
