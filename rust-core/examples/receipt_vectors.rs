//! Writes `test-vectors/receipts/vectors.json`: known-answer receipts that the Rust core, the
//! server, the CLI and the Kotlin tests all check. ECDSA signatures are randomized, so the file is
//! written once and committed; run this only to add cases (it rewrites every signature):
//!
//!     cargo run -p salur-core --example receipt_vectors
//!
//! The key below is a TEST KEY, published on purpose. Never use it for anything else.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use coset::{iana, CoseSign1, HeaderBuilder, TaggedCborSerializable};
use salur_core::crypto;
use salur_core::keys::{Signer, SoftwareSigner};
use salur_core::receipt::{
    payload_json, recipient_ref, sign, Evidence, IneligibleReason, Liveness, Location, Method, Outcome, Receipt, Times,
    GENESIS,
};
use serde_json::{json, Value};

fn main() {
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/receipts/vectors.json");
    // Reuse the committed test key when there is one, so the key stays stable across runs.
    let pkcs8 = std::fs::read_to_string(&out)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["key"]["pkcs8_hex"].as_str().map(|h| hex::decode(h).unwrap()))
        .unwrap_or_else(|| SoftwareSigner::generate().unwrap().1);
    let key = SoftwareSigner::from_pkcs8(&pkcs8).unwrap();
    let spki = key.public_key_spki().unwrap();
    let (other, other_pkcs8) = SoftwareSigner::generate().unwrap();
    let roster_key = b"salur test roster key";

    let base = |seq: u64, prev: Vec<u8>, outcome: Outcome, evidence: Option<Evidence>, signer: &dyn Signer| Receipt {
        v: 1,
        id: format!("0193a6f0-0000-7000-8000-00000000000{seq}"),
        device_id: "dev-test-0001".into(),
        key_id: crypto::key_id(&signer.public_key_spki().unwrap()),
        worker_id: "pos-test-01".into(),
        seq,
        prev,
        roster_id: "blt-2026-11".into(),
        recipient: recipient_ref(roster_key, &format!("317101010190000{seq}")),
        amount: 600_000,
        outcome,
        evidence,
        time: Times {
            wall_ms: 1_795_000_000_000 + seq as i64 * 60_000,
            mono_ms: 3_600_000 + seq * 60_000,
            offset_ms: -840,
        },
        location: Some(Location { lat_e7: -62_088_000, lon_e7: 1_068_456_000, accuracy_m: 9 }),
        received_in_full: None,
        letter_id: None,
    };
    let face = |method| {
        Some(Evidence {
            method,
            score_e6: Some(587_214),
            threshold_e6: Some(400_000),
            model: "sface_2021dec_int8bq".into(),
            liveness: Liveness::Passed,
            live: None,
            face_sha256: Some(crypto::sha256(b"test face crop").to_vec()),
            card_face_sha256: None,
            enrolled_sha256: None,
        })
    };

    // A valid chain of four: paid, ineligible, not home, supervisor override.
    let mut chain = Vec::new();
    let mut prev = GENESIS.to_vec();
    for (seq, outcome, evidence) in [
        (1, Outcome::Paid, face(Method::RegistryTemplate)),
        (2, Outcome::Ineligible { reason: IneligibleReason::Deceased, note: None }, None),
        (3, Outcome::NotHome, None),
        (
            4,
            Outcome::Paid,
            Some(Evidence {
                method: Method::SupervisorOverride {
                    supervisor_id: "pos-super-07".into(),
                    reason: "recipient's face injured; identity confirmed with e-KTP and neighbour".into(),
                    code: None,
                    approval: None,
                },
                score_e6: Some(201_004),
                threshold_e6: Some(400_000),
                model: "sface_2021dec_int8bq".into(),
                liveness: Liveness::Passed,
                live: None,
                face_sha256: None,
                card_face_sha256: None,
                enrolled_sha256: None,
            }),
        ),
    ] {
        let s = sign(&base(seq, prev.clone(), outcome, evidence, &key), &key).unwrap();
        prev = s.hash().to_vec();
        chain.push(s.bytes);
    }
    let case = |name: &str, bytes: &[u8], expect: &str, why: &str| {
        let payload =
            CoseSign1::from_tagged_slice(bytes).ok().and_then(|s| s.payload).and_then(|p| payload_json(&p).ok());
        json!({ "name": name, "cose_hex": hex::encode(bytes), "payload": payload, "expect": expect, "why": why })
    };
    let mut cases = vec![
        case("paid_registry_template", &chain[0], "valid", ""),
        case("ineligible_deceased", &chain[1], "valid", ""),
        case("not_home", &chain[2], "valid", ""),
        case("paid_supervisor_override", &chain[3], "valid", ""),
    ];
    let mut flipped = chain[0].clone();
    let n = flipped.len();
    flipped[n - 80] ^= 0x01;
    cases.push(case("flipped_payload_byte", &flipped, "invalid", "signature does not verify"));
    let mut bad_sig = chain[0].clone();
    bad_sig[n - 1] ^= 0x80;
    cases.push(case("flipped_signature_byte", &bad_sig, "invalid", "signature does not verify"));
    let foreign = sign(&base(1, GENESIS.to_vec(), Outcome::Paid, face(Method::EktpPhoto), &other), &other).unwrap();
    cases.push(case("wrong_key", &foreign.bytes, "invalid", "signed with another key than the device's"));
    let mut es384 = CoseSign1::from_tagged_slice(&chain[0]).unwrap();
    es384.protected.header.alg = Some(coset::Algorithm::Assigned(iana::Algorithm::ES384));
    es384.protected.original_data = None;
    let es384 = es384.to_tagged_vec().unwrap();
    cases.push(case("wrong_algorithm", &es384, "invalid", "algorithm is not ES256"));

    // The high-S twin: the same receipt with s := n − s. ECDSA accepts it; we do not.
    let mut twin = CoseSign1::from_tagged_slice(&chain[0]).unwrap();
    let s = &mut twin.signature[32..];
    let mut borrow = 0u16;
    for i in (0..32).rev() {
        let d = u16::from(crypto::P256_N[i]).wrapping_sub(u16::from(s[i])).wrapping_sub(borrow);
        s[i] = d as u8;
        borrow = u16::from(d > 0xff);
    }
    let twin = twin.to_tagged_vec().unwrap();
    cases.push(case("high_s_twin", &twin, "invalid", "low-S"));
    // Validly signed, but the protected header carries more than {alg, kid} or spells it
    // in another order: each would be a second byte form of the same receipt.
    let kid = crypto::key_id(&spki);
    let payload = CoseSign1::from_tagged_slice(&chain[0]).unwrap().payload.unwrap();
    let resign = |protected: coset::ProtectedHeader| {
        let mut sign1 = CoseSign1 { protected, payload: Some(payload.clone()), ..Default::default() };
        let der = key.sign_der(&sign1.tbs_data(&[])).unwrap();
        sign1.signature = crypto::der_to_raw_p256(&der).unwrap().to_vec();
        sign1.to_tagged_vec().unwrap()
    };
    let extra = HeaderBuilder::new()
        .algorithm(iana::Algorithm::ES256)
        .key_id(kid.clone())
        .content_format(iana::CoapContentFormat::Cbor)
        .build();
    let extra = resign(coset::ProtectedHeader { original_data: None, header: extra });
    cases.push(case("extra_protected_header", &extra, "invalid", "protected header must be exactly"));
    let header = HeaderBuilder::new().algorithm(iana::Algorithm::ES256).key_id(kid.clone()).build();
    let mut swapped = vec![0xa2, 0x04, 0x50];
    swapped.extend(&kid);
    swapped.extend([0x01, 0x26]);
    let swapped = resign(coset::ProtectedHeader { original_data: Some(swapped), header });
    cases.push(case("protected_header_keys_out_of_order", &swapped, "invalid", "protected header must be exactly"));

    let hexes = |v: &[&Vec<u8>]| v.iter().map(hex::encode).collect::<Vec<_>>();
    let doc = json!({
        "note": "TEST KEY, published on purpose: never use it outside tests. Written by rust-core/examples/receipt_vectors.rs.",
        "format": "COSE_Sign1 (tag 18), ES256, payload deterministic CBOR (RFC 8949 4.2.1); prev = SHA-256 of the previous COSE bytes",
        "key": { "pkcs8_hex": hex::encode(&pkcs8), "spki_hex": hex::encode(&spki), "key_id_hex": hex::encode(crypto::key_id(&spki)) },
        "other_key": { "pkcs8_hex": hex::encode(&other_pkcs8), "spki_hex": hex::encode(other.public_key_spki().unwrap()) },
        "roster_key_utf8": std::str::from_utf8(roster_key).unwrap(),
        "cases": cases,
        "chains": [
            { "name": "valid_chain", "cose_hex": hexes(&chain.iter().collect::<Vec<_>>()), "valid": true, "last_seq": 4 },
            { "name": "missing_receipt", "cose_hex": hexes(&[&chain[0], &chain[2], &chain[3]]), "valid": false, "first_bad_seq": 2 },
            { "name": "reordered", "cose_hex": hexes(&[&chain[0], &chain[2], &chain[1], &chain[3]]), "valid": false, "first_bad_seq": 2 },
            { "name": "edited_receipt", "cose_hex": hexes(&[&chain[0], &chain[1], &flipped, &chain[3]]), "valid": false, "first_bad_seq": 3 },
        ],
    });
    std::fs::write(&out, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
    eprintln!("wrote {}", out.display());
}
