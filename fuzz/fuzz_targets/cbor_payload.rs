//! The receipt payload's CBOR: decoding never panics, and a payload that decodes is the one
//! encoding of its receipt (decode, encode, compare).
#![no_main]

use libfuzzer_sys::fuzz_target;
use salur_core::receipt::{decode_payload, encode_payload};

fuzz_target!(|data: &[u8]| {
    if let Ok(receipt) = decode_payload(data) {
        let again = encode_payload(&receipt).expect("a decoded receipt encodes");
        assert_eq!(again, data, "a second byte form of one receipt was accepted");
        assert_eq!(decode_payload(&again).expect("decodes again"), receipt);
    }
});
