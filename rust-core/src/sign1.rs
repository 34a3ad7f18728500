//! The one COSE_Sign1 form Salur signs (receipts and invitation letters): ES256, a protected
//! header of exactly {alg, kid} in canonical CBOR, no unprotected headers, no detached payload.
//! One byte form per signed object, so that a hash or a replay check names one message.

use coset::{iana, CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable};

use crate::crypto;
use crate::error::{Error, Result};
use crate::keys::Signer;

/// Signs `payload` with `signer`, naming its key id; the tagged COSE_Sign1 bytes.
pub fn sign(payload: Vec<u8>, signer: &dyn Signer) -> Result<Vec<u8>> {
    let kid = crypto::key_id(&signer.public_key_spki()?);
    let protected = HeaderBuilder::new().algorithm(iana::Algorithm::ES256).key_id(kid).build();
    let sign1 = CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .try_create_signature(&[], |tbs| Ok::<_, Error>(crypto::der_to_raw_p256(&signer.sign_der(tbs)?)?.to_vec()))?
        .build();
    sign1.to_tagged_vec().map_err(|e| Error::Crypto(format!("cannot encode COSE: {e}")))
}

/// The protected header: the map {1 (alg): -7 (ES256), 4 (kid): kid} in deterministic CBOR
/// (keys ascending, shortest forms).
fn protected_header(kid: &[u8]) -> Vec<u8> {
    let map = ciborium::Value::Map(vec![(1.into(), (-7).into()), (4.into(), ciborium::Value::Bytes(kid.to_vec()))]);
    let mut out = Vec::new();
    ciborium::into_writer(&map, &mut out).expect("writing to a Vec cannot fail");
    out
}

/// Verifies `bytes` against `spki`, the key of `owner` ("device", "programme"), and returns the
/// payload. `bad` makes the caller's error.
///
/// Refused: more than `max_len` bytes, anything but a tagged COSE_Sign1, an algorithm other
/// than ES256, a key id other than the key's, a protected header with anything else or in
/// another encoding, unprotected headers, a non-canonical encoding, a high-S or bad signature.
pub fn open(bytes: &[u8], spki: &[u8], max_len: usize, owner: &str, bad: fn(String) -> Error) -> Result<Vec<u8>> {
    if bytes.len() > max_len {
        return Err(bad(format!("signed message of {} bytes exceeds {max_len}", bytes.len())));
    }
    let sign1 = CoseSign1::from_tagged_slice(bytes).map_err(|e| bad(format!("not a COSE_Sign1 message: {e}")))?;
    let header = &sign1.protected.header;
    if header.alg != Some(coset::Algorithm::Assigned(iana::Algorithm::ES256)) {
        return Err(bad("algorithm is not ES256".into()));
    }
    let kid = crypto::key_id(spki);
    if header.key_id != kid {
        return Err(bad(format!("signed with another key than the {owner}'s")));
    }
    if !sign1.unprotected.is_empty() {
        return Err(bad("unprotected headers are not allowed".into()));
    }
    // The re-encoding check below keeps the protected header's bytes as they came, so check
    // them here: exactly {1: -7, 4: kid} in canonical CBOR, nothing else and no other spelling.
    if sign1.protected.original_data.as_deref() != Some(protected_header(&kid).as_slice()) {
        return Err(bad("the protected header must be exactly {alg: ES256, kid} in canonical CBOR".into()));
    }
    if sign1.clone().to_tagged_vec().ok().as_deref() != Some(bytes) {
        return Err(bad("COSE message is not in its canonical encoding".into()));
    }
    // verify_es256 speaks of receipts; its reason is kept, under the caller's kind.
    sign1.verify_signature(&[], |sig, tbs| crypto::verify_es256(spki, tbs, sig)).map_err(|e| match e {
        Error::InvalidReceipt(why) => bad(why),
        other => other,
    })?;
    sign1.payload.ok_or_else(|| bad("no payload".into()))
}
