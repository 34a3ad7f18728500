//! COSE_Sign1 receipt verification: arbitrary bytes never panic, and any change to a validly
//! signed receipt (the committed vector's first case, its key) is refused.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use salur_core::receipt::verify;

fn vector() -> &'static (Vec<u8>, Vec<u8>) {
    static V: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    V.get_or_init(|| {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../test-vectors/receipts/vectors.json")).expect("vectors");
        let cose = hex::decode(v["cases"][0]["cose_hex"].as_str().expect("cose")).expect("hex");
        let spki = hex::decode(v["key"]["spki_hex"].as_str().expect("spki")).expect("hex");
        verify(&cose, &spki).expect("the first vector verifies");
        (cose, spki)
    })
}

fuzz_target!(|data: &[u8]| {
    let (cose, spki) = vector();
    let _ = verify(data, spki);
    // The input as edits of the valid receipt: (position, xor) pairs.
    let mut edited = cose.clone();
    for pair in data.chunks_exact(3) {
        let at = usize::from(u16::from_le_bytes([pair[0], pair[1]])) % edited.len();
        edited[at] ^= pair[2];
    }
    if edited != *cose {
        assert!(verify(&edited, spki).is_err(), "an edited receipt verified");
    }
});
