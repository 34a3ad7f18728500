//! Invitation letter tokens from a scanned QR code: verification never panics and refuses any
//! text not signed by the programme key (a fixed test key: nothing here is signed by it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use salur_core::letter::verify;

fuzz_target!(|data: &[u8]| {
    let spki = include_bytes!("../corpus_keys/programme_spki.der");
    let text = String::from_utf8_lossy(data);
    assert!(verify(&text, spki).is_err(), "a letter nobody signed verified");
});
