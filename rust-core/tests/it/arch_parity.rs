//! The core's numbers on this CPU against those recorded on x86-64: phones are ARM64, where tract
//! runs other (NEON) kernels than on the x86 machines the thresholds were calibrated on.
//!
//! - faces: per photo of test-vectors/faces/pairs.csv, multi/ and noface/ the faces found and the
//!   main face's box and detector score (or why there is none); per pair the cosine score and the
//!   three-band decision;
//! - the live check: the passive models' fused score and verdict on the four reference photos, and
//!   the verdict, reason and turns of lp_d12 and the four webcam clips in test-vectors/liveness/turns;
//! - receipts: the committed vectors' payloads re-encoded to the same deterministic CBOR, and
//!   re-signed to the same COSE bytes up to the ECDSA signature (which differs run to run).
//!
//! The reference files in test-vectors/arm64/ were written by this test on x86-64
//! (`SALUR_WRITE_X86_REFERENCE=1 cargo test --release -p salur-core --features bundled-models
//! --test it arch_parity::`). On x86 the test suite checks them every run, so they cannot go stale when
//! a model or the pre-processing changes; scripts/arm64.sh runs the same test under qemu-aarch64.
//!
//! `SALUR_PARITY_EVERY=k` (scripts/arm64.sh under qemu, where tract's NEON kernels are emulated
//! and the whole set takes more than 20 CPU minutes) checks every k-th pair and its photos, every
//! k-th photo of multi/ and noface/, and only the first clip, against the same reference entries.
//!
//! Tolerance: scores (cosine, detector, P(real), turn peaks) within [`SCORE_TOL`], boxes within
//! [`BOX_TOL_PX`]; every decision, count and verdict exactly equal. The largest difference seen is
//! printed (`--nocapture`) and quoted in docs/arm64.md.

#![allow(missing_docs)]

use crate::common;
use crate::liveness::attacks;

use std::path::PathBuf;
use std::sync::OnceLock;

use coset::TaggedCborSerializable;
use salur_core::face::liveness::LivenessEngine;
use salur_core::face::{read_image, FaceEngine, FacePick};
use salur_core::keys::SoftwareSigner;
use salur_core::receipt::{decode_payload, encode_payload, sign, verify};
use serde_json::{json, Map, Value};

/// Largest accepted |x86 - this CPU| for a score (cosine similarity, detector confidence, fused
/// P(real), turn peak). Float sums in another order (NEON against AVX2/AVX-512 FMA kernels) move
/// such a score by about 1e-6 to 1e-4; 2e-3 leaves room for that and is still 50 times smaller
/// than the 0.1 retry band below the face threshold, so no decision can hinge on it unseen: the
/// decisions are compared exactly as well.
const SCORE_TOL: f32 = 2e-3;
/// Largest accepted difference of a face box coordinate or side, in pixels.
const BOX_TOL_PX: f32 = 1.0;

/// Every k-th item checked (`SALUR_PARITY_EVERY`), or all of them.
fn every() -> usize {
    std::env::var("SALUR_PARITY_EVERY").ok().and_then(|v| v.parse().ok()).filter(|&k| k > 0).unwrap_or(1)
}

/// Whether only a sample is checked: then the reference's maps are compared on the keys checked.
fn sampled() -> bool {
    every() > 1
}

fn root() -> PathBuf {
    common::root()
}

fn face() -> &'static FaceEngine {
    common::engine()
}

fn live() -> &'static LivenessEngine {
    static ENGINE: OnceLock<LivenessEngine> = OnceLock::new();
    ENGINE.get_or_init(|| LivenessEngine::bundled().expect("liveness models load"))
}

/// Rounds for the file: 7 significant decimals keep every f32 digit that matters here.
fn num(x: f32) -> Value {
    json!((f64::from(x) * 1e7).round() / 1e7)
}

/// Writes `got` as the reference (`SALUR_WRITE_X86_REFERENCE` set, x86-64 only) or compares it
/// with the committed one: numbers within `tol(path)`, everything else equal. Returns the largest
/// score difference seen.
fn check(name: &str, got: &Value) -> f32 {
    let path = root().join("test-vectors/arm64").join(name);
    if std::env::var_os("SALUR_WRITE_X86_REFERENCE").is_some() {
        if !cfg!(target_arch = "x86_64") {
            panic!("the reference values are x86-64's: write them on x86-64");
        }
        std::fs::write(&path, serde_json::to_string_pretty(got).unwrap() + "\n").unwrap();
        return 0.0;
    }
    let want: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let (mut worst, mut bad) = ((0f32, String::new()), Vec::new());
    let want = if sampled() { only_keys_of(&want, got) } else { want };
    compare("", &want, got, &mut worst, &mut bad);
    println!("{name}: largest score difference from x86-64 {:.2e} ({})", worst.0, worst.1);
    assert!(bad.is_empty(), "{name}: {} differences from x86-64:\n{}", bad.len(), bad.join("\n"));
    worst.0
}

/// `want` with each second-level map cut to the keys `got` has (a sample), so that a key `got`
/// invented still differs.
fn only_keys_of(want: &Value, got: &Value) -> Value {
    let mut out = want.clone();
    for (section, entries) in out.as_object_mut().unwrap() {
        if let (Some(w), Some(g)) = (entries.as_object_mut(), got.get(section).and_then(Value::as_object)) {
            w.retain(|k, _| g.contains_key(k));
        }
    }
    out
}

fn compare(at: &str, want: &Value, got: &Value, worst: &mut (f32, String), bad: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            let keys = |m: &Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
            if keys(w) != keys(g) {
                bad.push(format!("{at}: keys {:?} against {:?}", keys(w), keys(g)));
                return;
            }
            for (k, v) in w {
                compare(&format!("{at}/{k}"), v, &g[k], worst, bad);
            }
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
            for (i, (a, b)) in w.iter().zip(g).enumerate() {
                compare(&format!("{at}/{i}"), a, b, worst, bad);
            }
        }
        (Value::Number(w), Value::Number(g)) if w.is_f64() || g.is_f64() => {
            let d = (w.as_f64().unwrap() - g.as_f64().unwrap()).abs() as f32;
            let is_box = at.contains("/box/");
            let tol = if is_box { BOX_TOL_PX } else { SCORE_TOL };
            if !is_box && d > worst.0 {
                *worst = (d, at.to_string());
            }
            if d > tol {
                bad.push(format!("{at}: x86-64 {w}, here {g} (tolerance {tol})"));
            }
        }
        _ if want != got => bad.push(format!("{at}: x86-64 {want}, here {got}")),
        _ => {}
    }
}

/// The pairs ("a b") that x86-64's reference decides as `decision`.
fn pairs_deciding(decision: &str) -> Vec<String> {
    let path = root().join("test-vectors/arm64/faces.json");
    let reference: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let pairs = reference["pairs"].as_object().unwrap();
    pairs.iter().filter(|(_, v)| v["decision"] == decision).map(|(k, _)| k.clone()).collect()
}

#[test]
fn faces_score_within_tolerance_and_decide_the_same() {
    let faces = root().join("test-vectors/faces");
    let engine = face();
    let csv = std::fs::read_to_string(faces.join("pairs.csv")).unwrap();
    // The photos of the pairs, and those with several faces or none (one detection each: qemu is slow).
    // A sample takes every k-th pair and, from x86-64's reference, every pair in the retry band:
    // the ones nearest a threshold, where a drift would flip a decision first.
    let near: Vec<String> = if sampled() { pairs_deciding("retry") } else { Vec::new() };
    let lines: Vec<&str> = csv
        .lines()
        .skip(1)
        .enumerate()
        .filter(|(i, l)| {
            i % every() == 0 || near.iter().any(|n| *n == l.split(',').take(2).collect::<Vec<_>>().join(" "))
        })
        .map(|(_, l)| l)
        .collect();
    let mut names: Vec<String> = lines.iter().flat_map(|l| l.split(',').take(2).map(String::from)).collect();
    for dir in ["multi", "noface"] {
        let mut found: Vec<String> = std::fs::read_dir(faces.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| matches!(x.to_str(), Some("jpg" | "jpeg" | "png"))))
            .map(|p| p.strip_prefix(&faces).unwrap().to_string_lossy().into_owned())
            .collect();
        found.sort();
        names.extend(found.into_iter().step_by(every()));
    }
    names.sort();
    names.dedup();
    let mut photos = Map::new();
    let mut captures = std::collections::HashMap::new();
    for name in &names {
        let img = read_image(&faces.join(name)).unwrap();
        let entry = match engine.capture(&img, FacePick::Largest) {
            Ok(c) => {
                let b = c.detection.bbox;
                let entry = json!({
                    "faces": c.quality.faces,
                    "score": num(b.score),
                    "box": [num(b.x), num(b.y), num(b.width), num(b.height)],
                });
                captures.insert(name.clone(), c);
                entry
            }
            Err(e) => {
                json!({ "faces": engine.detect(&img).unwrap().len(), "capture_error": format!("{:?}", e.kind()) })
            }
        };
        photos.insert(name.clone(), entry);
    }
    // Keyed by "a b" (not a list) so that a sample compares with the same entries of the reference.
    let mut pairs = Map::new();
    for line in &lines {
        let cols: Vec<&str> = line.split(',').collect();
        let (a, b) = (&captures[cols[0]], &captures[cols[1]]);
        let v = engine.verify(&engine.template_of(&[a]).unwrap(), b).unwrap();
        pairs.insert(format!("{} {}", cols[0], cols[1]), json!({ "score": num(v.score), "decision": v.outcome }));
    }
    assert!(pairs.len() >= 354_usize.div_ceil(every()) && (!sampled() || pairs.len() < 354));
    check("faces.json", &json!({ "photos": photos, "pairs": pairs }));
}

#[test]
fn the_live_check_gives_the_same_verdicts_within_tolerance() {
    let dir = root().join("test-vectors/liveness");
    let mut passive = Map::new();
    for name in ["sfas_image_T1.jpg", "sfas_apk_7.jpeg", "sfas_image_F1.jpg", "sfas_image_F2.jpg"] {
        let img = read_image(&dir.join("images").join(name)).unwrap();
        let d = face().detect(&img).unwrap().into_iter().max_by(|a, b| a.area().total_cmp(&b.area())).unwrap();
        let r = live().passive(&img, &d).unwrap();
        passive.insert(name.into(), json!({ "score": num(r.score), "verdict": r.verdict.as_str() }));
    }
    let mut clips = Map::new();
    for (set, name) in [
        ("motion", "lp_d12"),
        ("turns", "clm_cap12"),
        ("turns", "ht_capture4"),
        ("turns", "ht_capture5"),
        ("turns", "noturn_proc_gaze_left"),
    ]
    .into_iter()
    .take(if sampled() { 1 } else { 5 })
    {
        let (frames, fps) = attacks::clip(&dir.join(set).join(name));
        let r = live().analyze_sequence(face(), &frames, fps).unwrap();
        let turns: Vec<Value> = r
            .turns
            .iter()
            .map(|t| json!({ "movement": t.movement.as_str(), "peak": num(t.peak), "frames": t.frames }))
            .collect();
        clips.insert(
            name.into(),
            json!({ "live": r.live, "reason": r.reason_str(), "frames": r.frames, "turns": turns }),
        );
    }
    check("liveness.json", &json!({ "passive": passive, "clips": clips }));
}

fn vectors() -> Value {
    let path = root().join("test-vectors/receipts/vectors.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

/// The committed vectors were written on x86-64 (rust-core/examples/receipt_vectors.rs).
#[test]
fn receipts_encode_and_sign_to_the_same_bytes() {
    let doc = vectors();
    let key = SoftwareSigner::from_pkcs8(&bytes(&doc["key"]["pkcs8_hex"])).unwrap();
    let spki = bytes(&doc["key"]["spki_hex"]);
    let mut checked = 0;
    for case in doc["cases"].as_array().unwrap().iter().filter(|c| c["expect"] == "valid") {
        let name = case["name"].as_str().unwrap();
        let cose = bytes(&case["cose_hex"]);
        let x86 = coset::CoseSign1::from_tagged_slice(&cose).unwrap();
        let payload = x86.payload.clone().unwrap();
        let receipt = decode_payload(&payload).unwrap();
        assert_eq!(encode_payload(&receipt).unwrap(), payload, "{name}: deterministic CBOR");
        let ours = sign(&receipt, &key).unwrap();
        assert_eq!(verify(&ours.bytes, &spki).unwrap().receipt, receipt, "{name}");
        let here = coset::CoseSign1::from_tagged_slice(&ours.bytes).unwrap();
        assert_eq!(here.protected.original_data, x86.protected.original_data, "{name}: protected header");
        assert_eq!(here.payload, x86.payload, "{name}: payload");
        assert_eq!(here.tbs_data(b""), x86.tbs_data(b""), "{name}: the bytes signed");
        // The whole message up to the 64-byte ES256 signature (r || s), which is random.
        assert_eq!(ours.bytes.len(), cose.len(), "{name}");
        assert_eq!(ours.bytes[..cose.len() - 64], cose[..cose.len() - 64], "{name}: COSE bytes before the signature");
        checked += 1;
    }
    assert!(checked >= 4, "{checked} valid cases");
}
