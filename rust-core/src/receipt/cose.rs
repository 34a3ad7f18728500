//! COSE_Sign1 with ES256 around the receipt payload.

use super::cbor::{decode_payload, encode_payload, MAX_PAYLOAD};
use super::Receipt;
use crate::crypto;
use crate::error::{Error, Result};
use crate::keys::Signer;
use crate::sign1;

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
    let bytes = sign1::sign(encode_payload(receipt)?, signer)?;
    // Check what we produced the way the server will, so a faulty platform signer fails here,
    // before the receipt is stored.
    verify(&bytes, &spki)
}

/// Verifies a signed receipt against the device's public key (SPKI DER) and decodes it:
/// [`sign1::open`]'s checks, then a payload that decodes and names the same key. What is left
/// is the one byte form of its receipt.
pub fn verify(bytes: &[u8], spki: &[u8]) -> Result<SignedReceipt> {
    let payload = sign1::open(bytes, spki, MAX_PAYLOAD + 512, "device", Error::InvalidReceipt)?;
    let receipt = decode_payload(&payload)?;
    if receipt.key_id != crypto::key_id(spki) {
        return Err(Error::InvalidReceipt("payload names another key than the signature's".into()));
    }
    Ok(SignedReceipt { bytes: bytes.to_vec(), receipt })
}
