//! Deterministic CBOR (RFC 8949 section 4.2.1) for receipt payloads.

use ciborium::Value;

use super::Receipt;
use crate::error::{Error, Result};

/// Largest payload accepted; a real receipt is under 1 KiB.
pub const MAX_PAYLOAD: usize = 16 * 1024;

fn encoded(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).expect("writing to a Vec cannot fail");
    out
}

/// Sorts every map's keys by their encoded bytes. ciborium already writes the shortest integer
/// and length forms and definite lengths; key order is the one thing left to fix.
fn canonicalize(v: Value) -> Value {
    match v {
        Value::Map(entries) => {
            let mut entries: Vec<(Vec<u8>, Value, Value)> =
                entries.into_iter().map(|(k, v)| (encoded(&k), canonicalize(k), canonicalize(v))).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Map(entries.into_iter().map(|(_, k, v)| (k, v)).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonicalize).collect()),
        Value::Tag(t, inner) => Value::Tag(t, Box::new(canonicalize(*inner))),
        other => other,
    }
}

/// The receipt as deterministic CBOR.
pub fn encode_payload(receipt: &Receipt) -> Result<Vec<u8>> {
    let value = Value::serialized(receipt).map_err(|e| Error::InvalidReceipt(format!("cannot encode: {e}")))?;
    Ok(encoded(&canonicalize(value)))
}

/// Parses a payload, refusing any encoding that is not the deterministic one (so that one
/// receipt has exactly one byte form), unknown fields and oversized input.
pub fn decode_payload(bytes: &[u8]) -> Result<Receipt> {
    if bytes.len() > MAX_PAYLOAD {
        return Err(Error::InvalidReceipt(format!("payload of {} bytes exceeds {MAX_PAYLOAD}", bytes.len())));
    }
    let value: Value =
        ciborium::from_reader(bytes).map_err(|e| Error::InvalidReceipt(format!("payload is not CBOR: {e}")))?;
    if encoded(&canonicalize(value.clone())) != bytes {
        return Err(Error::InvalidReceipt("payload is not deterministic CBOR".into()));
    }
    let receipt: Receipt =
        value.deserialized().map_err(|e| Error::InvalidReceipt(format!("payload is not a receipt: {e}")))?;
    if !super::SUPPORTED_VERSIONS.contains(&receipt.v) {
        return Err(Error::InvalidReceipt(format!("receipt format {} is not supported", receipt.v)));
    }
    // A version 1 receipt cannot carry what version 2 added: one meaning per byte form.
    let v2_fields = receipt.received_in_full.is_some()
        || receipt.letter_id.is_some()
        || receipt.evidence.as_ref().is_some_and(|e| {
            e.live.is_some()
                || matches!(e.method, super::Method::SupervisorOverride { code: Some(_), .. })
                || matches!(e.method, super::Method::SupervisorOverride { approval: Some(_), .. })
                || matches!(e.method, super::Method::Proxy { .. })
        });
    if receipt.v < 2 && v2_fields {
        return Err(Error::InvalidReceipt("a format 1 receipt cannot carry format 2 fields".into()));
    }
    let v3_fields = receipt.evidence.as_ref().is_some_and(|e| {
        e.live.as_ref().is_some_and(|l| l.challenge.is_some())
            || e.card_face_sha256.is_some()
            || e.enrolled_sha256.is_some()
    });
    if receipt.v < 3 && v3_fields {
        return Err(Error::InvalidReceipt(format!("a format {} receipt cannot carry format 3 fields", receipt.v)));
    }
    // An optional field written as null decodes like one left out: only the form this encoder
    // writes is accepted, so a receipt has exactly one byte form.
    if encode_payload(&receipt)? != bytes {
        return Err(Error::InvalidReceipt("payload is not in the one encoding of its receipt".into()));
    }
    Ok(receipt)
}

/// The CBOR payload as JSON for people (byte strings in hex).
pub fn payload_json(bytes: &[u8]) -> Result<serde_json::Value> {
    let value: Value =
        ciborium::from_reader(bytes).map_err(|e| Error::InvalidReceipt(format!("payload is not CBOR: {e}")))?;
    Ok(to_json(&value))
}

fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Integer(i) => {
            let i = i128::from(*i);
            i64::try_from(i).map(J::from).unwrap_or_else(|_| J::from(i.to_string()))
        }
        Value::Bytes(b) => J::from(hex::encode(b)),
        Value::Float(f) => J::from(*f),
        Value::Text(t) => J::from(t.as_str()),
        Value::Bool(b) => J::from(*b),
        Value::Null => J::Null,
        Value::Tag(_, inner) => to_json(inner),
        Value::Array(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| (k.as_text().map_or_else(|| to_json(k).to_string(), str::to_string), to_json(v)))
                .collect(),
        ),
        _ => J::Null,
    }
}
