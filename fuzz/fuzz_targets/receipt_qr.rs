//! The receipt QR text a recipient's copy carries: decoding never panics and stays under the
//! documented size; text that decodes is, surrounding spaces aside (scanners add them), the one
//! text of its bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use salur_core::receipt::{from_qr_text, qr_text, MAX_QR_RECEIPT};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(cose) = from_qr_text(&text) {
        assert!(cose.len() <= MAX_QR_RECEIPT, "{} bytes", cose.len());
        assert_eq!(qr_text(&cose).expect("encodes"), text.trim(), "a second text of the same receipt");
    }
});
