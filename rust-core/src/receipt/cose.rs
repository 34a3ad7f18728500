//! COSE_Sign1 with ES256 around the receipt payload.

use coset::{iana, CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable};

use super::cbor::{decode_payload, encode_payload, MAX_PAYLOAD};
use super::Receipt;
use crate::crypto;
use crate::error::{Error, Result};
use crate::keys::Signer;

/// A receipt with its signed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedReceipt {
    /// The tagged COSE_Sign1 message: what is stored, uploaded and hashed into the chain.
    pub bytes: Vec<u8>,
    /// The decoded payload.
    pub receipt: Receipt,
}

impl SignedReceipt {
    /// SHA-256 of the signed bytes: the next receipt's `prev`.
    pub fn hash(&self) -> [u8; 32] {
        crypto::sha256(&self.bytes)
    }
}

/// Encodes and signs `receipt` with the device key; `receipt.key_id` must be that key's id.
pub fn sign(receipt: &Receipt, signer: &dyn Signer) -> Result<SignedReceipt> {
    let spki = signer.public_key_spki()?;
    if receipt.key_id != crypto::key_id(&spki) {
        return Err(Error::InvalidReceipt("the receipt names another key than the signer's".into()));
    }
    let payload = encode_payload(receipt)?;
    let protected = HeaderBuilder::new().algorithm(iana::Algorithm::ES256).key_id(receipt.key_id.clone()).build();
    let sign1 = CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .try_create_signature(&[], |tbs| Ok::<_, Error>(crypto::der_to_raw_p256(&signer.sign_der(tbs)?)?.to_vec()))?
        .build();
    let bytes = sign1.to_tagged_vec().map_err(|e| Error::InvalidReceipt(format!("cannot encode COSE: {e}")))?;
    // Check what we produced the way the server will, so a faulty platform signer fails here,
    // before the receipt is stored.
    verify(&bytes, &spki)
}

/// The one protected header a receipt may carry: the map {1 (alg): -7 (ES256), 4 (kid): kid}
/// in deterministic CBOR (keys ascending, shortest forms).
fn protected_header(kid: &[u8]) -> Vec<u8> {
    let map = ciborium::Value::Map(vec![(1.into(), (-7).into()), (4.into(), ciborium::Value::Bytes(kid.to_vec()))]);
    let mut out = Vec::new();
    ciborium::into_writer(&map, &mut out).expect("writing to a Vec cannot fail");
    out
}

/// Verifies a signed receipt against the device's public key (SPKI DER) and decodes it.
///
/// Refused: anything but a tagged COSE_Sign1, an algorithm other than ES256, a key id other than
/// the key's, a protected header with anything else or in another encoding, unprotected headers,
/// a non-canonical encoding, a high-S or bad signature, a bad payload. What is left is the one
/// byte form of its receipt.
pub fn verify(bytes: &[u8], spki: &[u8]) -> Result<SignedReceipt> {
    let bad = |why: &str| Error::InvalidReceipt(why.to_string());
    if bytes.len() > MAX_PAYLOAD + 512 {
        return Err(bad("signed receipt too large"));
    }
    let sign1 = CoseSign1::from_tagged_slice(bytes).map_err(|e| bad(&format!("not a COSE_Sign1 message: {e}")))?;
    let header = &sign1.protected.header;
    if header.alg != Some(coset::Algorithm::Assigned(iana::Algorithm::ES256)) {
        return Err(bad("algorithm is not ES256"));
    }
    let kid = crypto::key_id(spki);
    if header.key_id != kid {
        return Err(bad("signed with another key than the device's"));
    }
    if !sign1.unprotected.is_empty() {
        return Err(bad("unprotected headers are not allowed"));
    }
    // The re-encoding check below keeps the protected header's bytes as they came, so check
    // them here: exactly {1: -7, 4: kid} in canonical CBOR, nothing else and no other spelling.
    if sign1.protected.original_data.as_deref() != Some(protected_header(&kid).as_slice()) {
        return Err(bad("the protected header must be exactly {alg: ES256, kid} in canonical CBOR"));
    }
    if sign1.clone().to_tagged_vec().ok().as_deref() != Some(bytes) {
        return Err(bad("COSE message is not in its canonical encoding"));
    }
    sign1.verify_signature(&[], |sig, tbs| crypto::verify_es256(spki, tbs, sig))?;
    let payload = sign1.payload.as_deref().ok_or_else(|| bad("no payload"))?;
    let receipt = decode_payload(payload)?;
    if receipt.key_id != kid {
        return Err(bad("payload names another key than the signature's"));
    }
    Ok(SignedReceipt { bytes: bytes.to_vec(), receipt })
}
