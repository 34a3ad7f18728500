//! Receipts: COSE_Sign1 / ES256 over deterministic CBOR, and the per-device hash chain.

use crate::common;

use coset::{iana, CborSerializable, CoseSign1, TaggedCborSerializable};
use proptest::prelude::*;
use salur_core::crypto;
use salur_core::keys::{Signer, SoftwareSigner};
use salur_core::receipt::{
    decode_payload, encode_payload, sign, verify, verify_chain, Evidence, IneligibleReason, Liveness, Location, Method,
    Outcome, OverrideCode, Receipt, Times,
};

#[test]
fn a_signed_receipt_verifies_and_decodes_to_itself() {
    let signer = common::signer();
    let r = common::receipt(&signer);
    let signed = sign(&r, &signer).unwrap();
    let back = verify(&signed.bytes, &signer.public_key_spki().unwrap()).unwrap();
    assert_eq!(back.receipt, r);
    // COSE_Sign1 tag 18, protected header with alg ES256 (-7) and the key id.
    assert_eq!(signed.bytes[0], 0xd2);
    let parsed = CoseSign1::from_tagged_slice(&signed.bytes).unwrap();
    assert_eq!(parsed.protected.header.alg, Some(coset::Algorithm::Assigned(iana::Algorithm::ES256)));
    assert_eq!(parsed.signature.len(), 64);
}

#[test]
fn another_key_a_flipped_byte_or_another_algorithm_is_refused() {
    let signer = common::signer();
    let spki = signer.public_key_spki().unwrap();
    let signed = sign(&common::receipt(&signer), &signer).unwrap();
    let other = common::signer().public_key_spki().unwrap();
    assert!(verify(&signed.bytes, &other).is_err());

    let mut sign1 = CoseSign1::from_tagged_slice(&signed.bytes).unwrap();
    sign1.protected.header.alg = Some(coset::Algorithm::Assigned(iana::Algorithm::ES384));
    sign1.protected.original_data = None;
    let err = verify(&sign1.to_tagged_vec().unwrap(), &spki).unwrap_err();
    assert!(err.to_string().contains("ES256"), "{err}");

    // Untagged, and with an unprotected header: refused even though the signature is intact.
    let untagged = CoseSign1::from_tagged_slice(&signed.bytes).unwrap().to_vec().unwrap();
    assert!(verify(&untagged, &spki).is_err());
    let mut unprotected = CoseSign1::from_tagged_slice(&signed.bytes).unwrap();
    unprotected.unprotected.key_id = b"x".to_vec();
    assert!(verify(&unprotected.to_tagged_vec().unwrap(), &spki).is_err());
}

/// `n − s` for a big-endian 32-byte `s < n`.
fn n_minus(s: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    let mut borrow = 0u16;
    for i in (0..32).rev() {
        let d = u16::from(crypto::P256_N[i]).wrapping_sub(u16::from(s[i])).wrapping_sub(borrow);
        out[i] = d as u8;
        borrow = u16::from(d > 0xff);
    }
    out
}

/// A minimal DER ECDSA signature of raw `r || s`.
fn der(raw: &[u8]) -> Vec<u8> {
    let int = |v: &[u8]| {
        let v = &v[v.iter().position(|&b| b != 0).unwrap_or(v.len() - 1)..];
        let pad = v[0] & 0x80 != 0;
        let mut i = vec![0x02, (v.len() + usize::from(pad)) as u8];
        i.extend(pad.then_some(0u8));
        i.extend(v);
        i
    };
    let (r, s) = (int(&raw[..32]), int(&raw[32..]));
    [vec![0x30, (r.len() + s.len()) as u8], r, s].concat()
}

#[test]
fn receipts_are_signed_low_s_even_when_the_platform_signer_returns_high_s() {
    // Android Keystore returns either s or n − s; this signer always returns the high one.
    struct HighS(SoftwareSigner);
    impl Signer for HighS {
        fn public_key_spki(&self) -> salur_core::Result<Vec<u8>> {
            self.0.public_key_spki()
        }
        fn sign_der(&self, message: &[u8]) -> salur_core::Result<Vec<u8>> {
            let raw = crypto::der_to_raw_p256(&self.0.sign_der(message)?)?;
            Ok(der(&[&raw[..32], &n_minus(&raw[32..])].concat()))
        }
    }
    let signer = HighS(common::signer());
    let spki = signer.public_key_spki().unwrap();
    for _ in 0..8 {
        let signed = sign(&common::receipt(&signer.0), &signer).unwrap();
        let sign1 = CoseSign1::from_tagged_slice(&signed.bytes).unwrap();
        assert!(crypto::is_low_s(&sign1.signature));
        // Its high-S twin is a valid ECDSA signature over the same bytes, and refused.
        let mut twin = sign1.clone();
        twin.signature = [&sign1.signature[..32], &n_minus(&sign1.signature[32..])].concat();
        let err = verify(&twin.to_tagged_vec().unwrap(), &spki).unwrap_err();
        assert!(err.to_string().contains("low-S"), "{err}");
    }
}

#[test]
fn a_protected_header_with_anything_but_alg_and_kid_is_refused_though_signed() {
    let signer = common::signer();
    let spki = signer.public_key_spki().unwrap();
    let signed = sign(&common::receipt(&signer), &signer).unwrap();
    let base = CoseSign1::from_tagged_slice(&signed.bytes).unwrap();
    let resign = |protected: coset::ProtectedHeader| {
        let mut sign1 = CoseSign1 { protected, payload: base.payload.clone(), ..Default::default() };
        sign1.signature = crypto::der_to_raw_p256(&signer.sign_der(&sign1.tbs_data(&[])).unwrap()).unwrap().to_vec();
        verify(&sign1.to_tagged_vec().unwrap(), &spki)
    };
    let kid = crypto::key_id(&spki);
    let exact = || coset::HeaderBuilder::new().algorithm(iana::Algorithm::ES256).key_id(kid.clone());
    assert!(resign(coset::ProtectedHeader { original_data: None, header: exact().build() }).is_ok());
    for header in [
        exact().content_type("application/cbor".into()).build(),
        exact().add_critical(iana::HeaderParameter::Alg).build(),
        exact().value(-70_000, ciborium::Value::Null).build(),
    ] {
        let err = resign(coset::ProtectedHeader { original_data: None, header }).unwrap_err();
        assert!(err.to_string().contains("exactly {alg: ES256, kid}"), "{err}");
    }
    // The same two parameters, spelled with a non-shortest length or in the other key order.
    let mut long_len = vec![0xa2, 0x01, 0x26, 0x04, 0x58, 0x10];
    long_len.extend(&kid);
    let mut swapped = vec![0xa2, 0x04, 0x50];
    swapped.extend(&kid);
    swapped.extend([0x01, 0x26]);
    for bytes in [long_len, swapped] {
        let header = exact().build();
        let err = resign(coset::ProtectedHeader { original_data: Some(bytes), header }).unwrap_err();
        assert!(err.to_string().contains("exactly {alg: ES256, kid}"), "{err}");
    }
}

#[test]
fn a_signer_that_returns_a_bad_signature_is_caught_before_storing() {
    struct Broken(SoftwareSigner);
    impl Signer for Broken {
        fn public_key_spki(&self) -> salur_core::Result<Vec<u8>> {
            self.0.public_key_spki()
        }
        fn sign_der(&self, message: &[u8]) -> salur_core::Result<Vec<u8>> {
            self.0.sign_der(&[message, b"!"].concat())
        }
    }
    let broken = Broken(common::signer());
    assert!(sign(&common::receipt(&broken), &broken).is_err());
}

#[test]
fn a_payload_not_in_deterministic_cbor_is_refused() {
    let signer = common::signer();
    let payload = encode_payload(&common::receipt(&signer)).unwrap();
    assert!(decode_payload(&payload).is_ok());
    // The same map with its first key's length written in a longer form than needed.
    let mut loose = payload.clone();
    assert_eq!(loose[1] & 0xe0, 0x60, "first key is a text string");
    let len = loose[1] & 0x1f;
    loose.splice(1..2, [0x78, len]);
    assert!(decode_payload(&loose).is_err());
    assert!(decode_payload(&[0xa0]).is_err(), "an empty map is not a receipt");
}

#[test]
fn an_optional_field_written_as_null_or_a_format_2_field_in_format_1_is_refused() {
    let signer = common::signer();
    let mut r = common::receipt(&signer);
    r.v = salur_core::receipt::FORMAT_VERSION;
    // The same receipt with `evidence.live: null` added, re-sorted into deterministic order.
    let mut value = ciborium::Value::serialized(&r).unwrap();
    let ciborium::Value::Map(top) = &mut value else { panic!("a receipt is a map") };
    let evidence = top.iter_mut().find(|(k, _)| k.as_text() == Some("evidence")).map(|(_, v)| v).unwrap();
    let ciborium::Value::Map(fields) = evidence else { panic!("evidence is a map") };
    fields.push((ciborium::Value::Text("live".into()), ciborium::Value::Null));
    fn sorted(v: ciborium::Value) -> ciborium::Value {
        match v {
            ciborium::Value::Map(entries) => {
                let mut entries: Vec<_> = entries.into_iter().map(|(k, v)| (k, sorted(v))).collect();
                entries.sort_by_key(|(k, _)| {
                    let mut b = Vec::new();
                    ciborium::into_writer(k, &mut b).unwrap();
                    b
                });
                ciborium::Value::Map(entries)
            }
            ciborium::Value::Array(items) => ciborium::Value::Array(items.into_iter().map(sorted).collect()),
            other => other,
        }
    }
    let mut with_null = Vec::new();
    ciborium::into_writer(&sorted(value), &mut with_null).unwrap();
    assert_ne!(with_null, encode_payload(&r).unwrap());
    let e = decode_payload(&with_null).unwrap_err();
    assert!(e.to_string().contains("one encoding"), "{e}");
    // A format 1 receipt naming an override reason code (format 2) is refused.
    r.v = 1;
    r.evidence.as_mut().unwrap().method = salur_core::receipt::Method::SupervisorOverride {
        supervisor_id: "s".into(),
        reason: "stiff neck".into(),
        code: Some(salur_core::receipt::OverrideCode::CannotDoLiveCheck),
        approval: None,
    };
    let e = decode_payload(&encode_payload(&r).unwrap()).unwrap_err();
    assert!(e.to_string().contains("format 1"), "{e}");
    // Nor a supervisor's approval code, nor "received in full" (both format 2).
    r.evidence.as_mut().unwrap().method = salur_core::receipt::Method::SupervisorOverride {
        supervisor_id: "s".into(),
        reason: "stiff neck".into(),
        code: None,
        approval: Some("12345678".into()),
    };
    let e = decode_payload(&encode_payload(&r).unwrap()).unwrap_err();
    assert!(e.to_string().contains("format 1"), "{e}");
    r.evidence.as_mut().unwrap().method = salur_core::receipt::Method::RegistryTemplate;
    r.received_in_full = Some(true);
    let e = decode_payload(&encode_payload(&r).unwrap()).unwrap_err();
    assert!(e.to_string().contains("format 1"), "{e}");
    // As format 2 they decode, and re-encode to the same bytes.
    r.v = 2;
    r.evidence.as_mut().unwrap().method = salur_core::receipt::Method::SupervisorOverride {
        supervisor_id: "s".into(),
        reason: "stiff neck".into(),
        code: Some(salur_core::receipt::OverrideCode::Other),
        approval: Some("01234567".into()),
    };
    let bytes = encode_payload(&r).unwrap();
    assert_eq!(decode_payload(&bytes).unwrap(), r);
}

#[test]
fn the_random_challenge_is_a_format_3_field() {
    use salur_core::receipt::HeadMove;
    let signer = common::signer();
    let mut r = common::receipt(&signer);
    // Right, left, right with the holds of bits 3-5: 0b010_101.
    let live = common::live_check(0b010_101);
    assert_eq!(live.asked, vec![HeadMove::TurnRight, HeadMove::TurnLeft, HeadMove::TurnRight]);
    r.evidence.as_mut().unwrap().live = Some(live);
    assert!(r.evidence.as_ref().unwrap().live.as_ref().unwrap().challenge_is_valid());
    r.v = 3;
    let bytes = encode_payload(&r).unwrap();
    assert_eq!(decode_payload(&bytes).unwrap(), r);
    // The same record in a format 2 receipt is refused: one meaning per byte form.
    r.v = 2;
    let e = decode_payload(&encode_payload(&r).unwrap()).unwrap_err();
    assert!(e.to_string().contains("format 3"), "{e}");
    // Another number's turns are not the ones asked.
    r.evidence.as_mut().unwrap().live.as_mut().unwrap().challenge = Some(0b010_100);
    assert!(!r.evidence.as_ref().unwrap().live.as_ref().unwrap().challenge_is_valid());
}

fn chain(signer: &SoftwareSigner, n: u64) -> Vec<Vec<u8>> {
    let mut prev = vec![0u8; 32];
    (1..=n)
        .map(|seq| {
            let mut r = common::receipt(signer);
            r.seq = seq;
            r.prev = prev.clone();
            r.id = format!("receipt-{seq}");
            let s = sign(&r, signer).unwrap();
            prev = s.hash().to_vec();
            s.bytes
        })
        .collect()
}

#[test]
fn the_chain_check_names_the_first_missing_reordered_edited_or_foreign_receipt() {
    let signer = common::signer();
    let spki = signer.public_key_spki().unwrap();
    let c = chain(&signer, 6);
    let check = |v: &[Vec<u8>]| verify_chain(&spki, v.iter().map(Vec::as_slice));
    let ok = check(&c);
    assert!(ok.is_valid() && ok.last_seq == 6);

    let mut missing = c.clone();
    missing.remove(3);
    let b = check(&missing).first_break.unwrap();
    assert_eq!((b.seq, b.index), (4, 3));
    assert!(b.reason.contains("missing"));

    let mut reordered = c.clone();
    reordered.swap(1, 2);
    assert_eq!(check(&reordered).first_break.unwrap().seq, 2);

    let mut edited = c.clone();
    let n = edited[4].len();
    edited[4][n - 70] ^= 0x01; // inside the payload
    assert_eq!(check(&edited).first_break.unwrap().seq, 5);

    let mut first_deleted = c.clone();
    first_deleted.remove(0);
    assert_eq!(check(&first_deleted).first_break.unwrap().seq, 1);

    // A validly signed receipt whose link was forged to skip one.
    let mut forged = c[..3].to_vec();
    let mut r = common::receipt(&signer);
    r.seq = 4;
    r.prev = crypto::sha256(&c[1]).to_vec();
    forged.push(sign(&r, &signer).unwrap().bytes);
    let b = check(&forged).first_break.unwrap();
    assert_eq!(b.seq, 4);
    assert!(b.reason.contains("link"));
}

fn arb_receipt() -> impl Strategy<Value = Receipt> {
    let outcome = prop_oneof![
        Just(Outcome::Paid),
        Just(Outcome::NotHome),
        Just(Outcome::Refused),
        (
            prop_oneof![
                Just(IneligibleReason::Deceased),
                Just(IneligibleReason::Moved),
                Just(IneligibleReason::NotFound),
                Just(IneligibleReason::NotMeetingCriteria),
                Just(IneligibleReason::Other)
            ],
            proptest::option::of("\\PC{0,40}")
        )
            .prop_map(|(reason, note)| Outcome::Ineligible { reason, note }),
    ];
    let method = prop_oneof![
        Just(Method::RegistryTemplate),
        Just(Method::EktpPhoto),
        Just(Method::EnrolledTemplate),
        (any::<[u8; 16]>(), any::<[u8; 32]>()).prop_map(|(m, k)| Method::Proxy {
            member: m.to_vec(),
            kuasa_sha256: k.to_vec(),
            card_sha256: Some(k.to_vec())
        }),
        (
            "[a-z0-9-]{1,12}",
            "\\PC{1,60}",
            proptest::option::of(prop_oneof![
                Just(OverrideCode::CannotDoLiveCheck),
                Just(OverrideCode::FaceNotVerified),
                Just(OverrideCode::Other)
            ]),
            proptest::option::of("[0-9]{8}")
        )
            .prop_map(|(supervisor_id, reason, code, approval)| Method::SupervisorOverride {
                supervisor_id,
                reason,
                code,
                approval
            }),
    ];
    let evidence = proptest::option::of(
        (method, proptest::option::of(-1_000_000i32..=1_000_000), proptest::option::of(any::<[u8; 32]>())).prop_map(
            |(method, score, face)| Evidence {
                method,
                score_e6: score,
                threshold_e6: score.map(|_| 400_000),
                model: "sface_2021dec_int8bq".into(),
                liveness: Liveness::NotRun,
                live: None,
                face_sha256: face.map(|f| f.to_vec()),
                card_face_sha256: None,
                enrolled_sha256: None,
            },
        ),
    );
    let location = proptest::option::of((any::<i32>(), any::<i32>(), any::<u32>()).prop_map(|(a, b, c)| Location {
        lat_e7: a,
        lon_e7: b,
        accuracy_m: c,
    }));
    (
        ("\\PC{1,40}", "[a-z0-9-]{1,20}", "[a-z0-9-]{1,20}", 1u64..u64::MAX, any::<[u8; 32]>(), any::<[u8; 16]>()),
        (
            any::<u64>(),
            outcome,
            evidence,
            any::<i64>(),
            any::<u64>(),
            any::<i64>(),
            location,
            proptest::option::of(any::<bool>()),
            proptest::option::of("SU-[0-9A-F]{10}"),
        ),
    )
        .prop_map(
            |(
                (id, device_id, worker_id, seq, prev, recipient),
                (amount, outcome, evidence, wall, mono, off, location, received_in_full, letter_id),
            )| {
                Receipt {
                    // Format 2 (it may carry every field).
                    v: 2,
                    id,
                    device_id,
                    key_id: vec![1; 16],
                    worker_id,
                    seq,
                    prev: prev.to_vec(),
                    roster_id: "blt-2026-11".into(),
                    recipient: recipient.to_vec(),
                    amount,
                    outcome,
                    evidence,
                    time: Times { wall_ms: wall, mono_ms: mono, offset_ms: off },
                    location,
                    received_in_full,
                    letter_id,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn encode_decode_reencode_is_byte_identical(r in arb_receipt()) {
        let bytes = encode_payload(&r).unwrap();
        let back = decode_payload(&bytes).unwrap();
        prop_assert_eq!(&back, &r);
        prop_assert_eq!(encode_payload(&back).unwrap(), bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_single_byte_change_fails_verification(pos in any::<prop::sample::Index>(), delta in 1u8..=255) {
        use std::sync::OnceLock;
        static SIGNED: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
        let (bytes, spki) = SIGNED.get_or_init(|| {
            let signer = common::signer();
            (sign(&common::receipt(&signer), &signer).unwrap().bytes, signer.public_key_spki().unwrap())
        });
        let mut tampered = bytes.clone();
        let i = pos.index(tampered.len());
        tampered[i] = tampered[i].wrapping_add(delta);
        prop_assert!(verify(&tampered, spki).is_err(), "byte {} changed and still verified", i);
    }
}
