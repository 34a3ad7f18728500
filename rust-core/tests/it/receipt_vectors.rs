//! The committed known-answer files in test-vectors/receipts/ (also checked by the server and
//! the Kotlin tests).

use crate::common;

use salur_core::crypto;
use salur_core::keys::{Signer, SoftwareSigner};
use salur_core::receipt::{payload_json, verify, verify_chain};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = common::root().join("test-vectors/receipts").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

#[test]
fn every_case_verifies_or_fails_as_recorded() {
    let doc = load("vectors.json");
    let spki = bytes(&doc["key"]["spki_hex"]);
    let key = SoftwareSigner::from_pkcs8(&bytes(&doc["key"]["pkcs8_hex"])).unwrap();
    assert_eq!(key.public_key_spki().unwrap(), spki, "the test key matches its public key");
    assert_eq!(crypto::key_id(&spki), bytes(&doc["key"]["key_id_hex"]));
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 8);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let cose = bytes(&case["cose_hex"]);
        match (case["expect"].as_str().unwrap(), verify(&cose, &spki)) {
            ("valid", Ok(signed)) => {
                // The decoded JSON in the file is exactly what the payload says.
                let sign1 = <coset::CoseSign1 as coset::TaggedCborSerializable>::from_tagged_slice(&cose).unwrap();
                assert_eq!(payload_json(&sign1.payload.unwrap()).unwrap(), case["payload"], "{name}");
                assert_eq!(case["payload"]["seq"], signed.receipt.seq, "{name}");
            }
            ("invalid", Err(e)) => {
                let why = case["why"].as_str().unwrap();
                assert!(e.to_string().contains(why), "{name}: {e} (expected {why})");
            }
            (expect, got) => panic!("{name}: expected {expect}, got {got:?}"),
        }
    }
}

#[test]
fn every_chain_reports_its_first_bad_sequence() {
    let doc = load("vectors.json");
    let spki = bytes(&doc["key"]["spki_hex"]);
    for chain in doc["chains"].as_array().unwrap() {
        let receipts: Vec<Vec<u8>> = chain["cose_hex"].as_array().unwrap().iter().map(bytes).collect();
        let report = verify_chain(&spki, receipts.iter().map(Vec::as_slice));
        let name = chain["name"].as_str().unwrap();
        assert_eq!(report.is_valid(), chain["valid"].as_bool().unwrap(), "{name}: {report:?}");
        match report.first_break {
            Some(b) => assert_eq!(b.seq, chain["first_bad_seq"].as_u64().unwrap(), "{name}"),
            None => assert_eq!(report.last_seq, chain["last_seq"].as_u64().unwrap(), "{name}"),
        }
    }
}

#[test]
fn der_signatures_from_java_sha256withecdsa_verify_after_conversion() {
    let doc = load("java-sha256withecdsa.json");
    let spki = bytes(&doc["spki_hex"]);
    for case in doc["cases"].as_array().unwrap() {
        let (message, der) = (bytes(&case["message_hex"]), bytes(&case["der_signature_hex"]));
        let raw = crypto::der_to_raw_p256(&der).unwrap();
        crypto::verify_es256(&spki, &message, &raw).unwrap();
        let mut wrong = message.clone();
        wrong.push(b'!');
        assert!(crypto::verify_es256(&spki, &wrong, &raw).is_err());
    }
}
