//! The real chains of `test-vectors/attestation/`: every `NAME.pem` with a `NAME.json` beside it
//! (in the JSON form of Google's `android/keyattestation` `testdata/`, so its files drop in as
//! they are) must parse to the JSON's values; every `.pem` under an `invalid/` folder must be
//! refused.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::Value;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::description::{AuthorizationList, KeyDescription};
use super::{chain, SecurityLevel};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/attestation")
}

fn pems(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            pems(&path, out);
        } else if path.extension().is_some_and(|e| e == "pem") {
            out.push(path);
        }
    }
}

fn chain_of(path: &Path) -> Vec<Vec<u8>> {
    let pem = std::fs::read(path).unwrap();
    x509_parser::pem::Pem::iter_from_buffer(&pem).map(|p| p.unwrap().contents).collect()
}

fn leaf_description(der: &[u8]) -> KeyDescription {
    let (_, cert) = X509Certificate::from_der(der).unwrap();
    let ext = cert.get_extension_unique(&chain::key_description_oid()).unwrap().unwrap();
    KeyDescription::parse(ext.value).unwrap()
}

fn level(v: &Value) -> SecurityLevel {
    match v.as_str().unwrap() {
        "SOFTWARE" => SecurityLevel::Software,
        "TRUSTED_ENVIRONMENT" => SecurityLevel::Tee,
        "STRONG_BOX" => SecurityLevel::Strongbox,
        other => panic!("unknown level {other}"),
    }
}

fn num(v: &Value) -> i64 {
    v.as_str().map_or_else(|| v.as_i64().unwrap(), |s| s.parse().unwrap())
}

fn bytes(v: &Value) -> Vec<u8> {
    B64.decode(v.as_str().unwrap()).unwrap()
}

/// `field` of the JSON list is present exactly when parsed, with the same number.
fn same_number(name: &str, json: &Value, field: &str, got: Option<u32>) {
    assert_eq!(json.get(field).map(num), got.map(i64::from), "{name}: {field}");
}

fn compare_list(name: &str, json: Option<&Value>, got: &AuthorizationList) {
    let empty = Value::Object(Default::default());
    let json = json.unwrap_or(&empty);
    same_number(name, json, "osVersion", got.os_version);
    same_number(name, json, "osPatchLevel", got.os_patch_level);
    same_number(name, json, "vendorPatchLevel", got.vendor_patch_level);
    same_number(name, json, "bootPatchLevel", got.boot_patch_level);
    let origin = json.get("origin").map(|o| match o.as_str().unwrap() {
        "GENERATED" => 0,
        "DERIVED" => 1,
        "IMPORTED" => 2,
        "RESERVED" | "UNKNOWN" => 3,
        "SECURELY_IMPORTED" => 4,
        other => panic!("{name}: origin {other}"),
    });
    assert_eq!(origin, got.origin, "{name}: origin");
    match (json.get("rootOfTrust"), &got.root_of_trust) {
        (None, None) => {}
        (Some(j), Some(r)) => {
            assert_eq!(bytes(&j["verifiedBootKey"]), r.verified_boot_key, "{name}: verifiedBootKey");
            assert_eq!(j["deviceLocked"].as_bool().unwrap(), r.device_locked, "{name}: deviceLocked");
            assert_eq!(j["verifiedBootState"].as_str().unwrap(), r.verified_boot_state.as_str(), "{name}: boot state");
            assert_eq!(j.get("verifiedBootHash").map(bytes), r.verified_boot_hash, "{name}: verifiedBootHash");
        }
        (j, r) => panic!("{name}: rootOfTrust {j:?} but parsed {r:?}"),
    }
    match (json.get("attestationApplicationId"), &got.application_id) {
        (None, None) => {}
        (Some(j), Some(app)) => {
            let packages: Vec<(String, i64)> = j["packages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p["name"].as_str().unwrap().to_string(), num(&p["version"])))
                .collect();
            let parsed: Vec<(String, i64)> = app.packages.iter().map(|p| (p.name.clone(), p.version)).collect();
            assert_eq!(parsed, packages, "{name}: packages");
            let digests: Vec<Vec<u8>> = j["signatures"].as_array().unwrap().iter().map(bytes).collect();
            assert_eq!(app.signature_digests, digests, "{name}: signature digests");
        }
        (j, a) => panic!("{name}: attestationApplicationId {j:?} but parsed {a:?}"),
    }
}

#[test]
fn every_real_chain_parses_to_its_json() {
    let mut all = Vec::new();
    pems(&root(), &mut all);
    let mut compared = Vec::new();
    for pem in all.iter().filter(|p| !p.components().any(|c| c.as_os_str() == "invalid")) {
        let json_path = pem.with_extension("json");
        let Ok(text) = std::fs::read(&json_path) else { continue };
        let name = pem.strip_prefix(root()).unwrap().display().to_string();
        let json: Value = serde_json::from_slice(&text).unwrap();
        let chain = chain_of(pem);
        let d = leaf_description(&chain[0]);
        assert_eq!(d.attestation_version, num(&json["attestationVersion"]), "{name}: attestationVersion");
        assert_eq!(d.attestation_security_level, level(&json["attestationSecurityLevel"]), "{name}");
        assert_eq!(d.keymint_version, num(&json["keyMintVersion"]), "{name}: keyMintVersion");
        assert_eq!(d.keymint_security_level, level(&json["keyMintSecurityLevel"]), "{name}");
        assert_eq!(d.challenge, bytes(&json["attestationChallenge"]), "{name}: challenge");
        assert_eq!(d.unique_id, bytes(&json["uniqueId"]), "{name}: uniqueId");
        compare_list(&name, json.get("softwareEnforced"), &d.software_enforced);
        compare_list(&name, json.get("hardwareEnforced"), &d.hardware_enforced);
        compared.push(name);
    }
    compared.sort();
    assert_eq!(compared, ["normal_cert_chain.pem", "testdpc_rsa_leaf.pem"], "add new vectors here too");
}

#[test]
fn every_chain_under_invalid_is_refused() {
    let mut all = Vec::new();
    pems(&root(), &mut all);
    for pem in all.iter().filter(|p| p.components().any(|c| c.as_os_str() == "invalid")) {
        let chain = chain_of(pem);
        // Any time: an invalid chain is refused at every moment.
        for now in [1_500_000_000_000, 1_677_628_800_000, crate::clock::now_ms()] {
            assert!(super::parse_chain(&chain, now).is_err(), "{} accepted", pem.display());
        }
    }
}
