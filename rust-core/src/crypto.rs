//! Cryptographic primitives, in one place (the "hazmat" module): SHA-256, AES-256-GCM with
//! associated data, HMAC-SHA-256 and ECDSA P-256 verification, all from `ring`.

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hmac, signature};

use crate::error::{Error, Result};

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

/// HMAC-SHA-256 of `data` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data).as_ref());
    out
}

/// Fills a buffer with secure random bytes.
pub(crate) fn random<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    SystemRandom::new().fill(&mut out).map_err(|_| Error::Crypto("no secure random source".into()))?;
    Ok(out)
}

/// A 256-bit data-encryption key.
#[derive(Clone)]
pub struct DataKey([u8; 32]);

impl DataKey {
    /// Wraps 32 key bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A new random key.
    pub fn generate() -> Result<Self> {
        Ok(Self(random()?))
    }

    /// The raw bytes (to hand to a platform keystore for wrapping).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn aead(&self) -> LessSafeKey {
        LessSafeKey::new(UnboundKey::new(&aead::AES_256_GCM, &self.0).expect("32-byte AES key"))
    }

    /// AES-256-GCM: random nonce, then ciphertext and tag. `aad` binds the value to its place
    /// (table, column, row), so a ciphertext copied to another row does not open.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        let nonce: [u8; NONCE_LEN] = random()?;
        let mut buf = plaintext.to_vec();
        self.aead()
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut buf)
            .map_err(|_| Error::Crypto("encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend(buf);
        Ok(out)
    }

    /// Opens what [`DataKey::seal`] produced with the same `aad`.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        if sealed.len() < NONCE_LEN + aead::AES_256_GCM.tag_len() {
            return Err(Error::Crypto("encrypted value too short".into()));
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Error::Crypto("bad nonce".into()))?;
        let mut buf = body.to_vec();
        let plain = self
            .aead()
            .open_in_place(nonce, Aad::from(aad), &mut buf)
            .map_err(|_| Error::Crypto("decryption failed: wrong key, or the value was altered or moved".into()))?;
        Ok(plain.to_vec())
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)") // never print key material
    }
}

/// DER prefix of a P-256 SubjectPublicKeyInfo, before the 65-byte uncompressed point.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// SPKI DER for an uncompressed P-256 point (what Android's `PublicKey.getEncoded()` returns).
pub fn p256_spki(point: &[u8]) -> Result<Vec<u8>> {
    if point.len() != 65 || point[0] != 0x04 {
        return Err(Error::Crypto("not an uncompressed P-256 point".into()));
    }
    let mut out = P256_SPKI_PREFIX.to_vec();
    out.extend_from_slice(point);
    Ok(out)
}

/// The uncompressed point inside a P-256 SPKI; anything else is refused.
pub fn p256_point(spki: &[u8]) -> Result<&[u8]> {
    match spki.strip_prefix(&P256_SPKI_PREFIX[..]) {
        Some(point) if point.len() == 65 && point[0] == 0x04 => Ok(point),
        _ => Err(Error::Crypto("not a P-256 public key (SubjectPublicKeyInfo DER expected)".into())),
    }
}

/// Key id of a public key: the first 16 bytes of SHA-256 of its SPKI.
pub fn key_id(spki: &[u8]) -> Vec<u8> {
    sha256(spki)[..16].to_vec()
}

/// Verifies an ES256 signature in COSE's raw `r || s` form.
pub fn verify_es256(spki: &[u8], message: &[u8], raw_signature: &[u8]) -> Result<()> {
    let point = p256_point(spki)?;
    signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
        .verify(message, raw_signature)
        .map_err(|_| Error::InvalidReceipt("signature does not verify".into()))
}

/// Converts an ASN.1 DER ECDSA signature (`SEQUENCE { r INTEGER, s INTEGER }`, what Android
/// Keystore and Java's `SHA256withECDSA` return) to the 64-byte `r || s` that COSE uses.
pub fn der_to_raw_p256(der: &[u8]) -> Result<[u8; 64]> {
    let bad = || Error::Crypto("malformed DER ECDSA signature".into());
    let (tag, body, rest) = der_tlv(der).ok_or_else(bad)?;
    if tag != 0x30 || !rest.is_empty() {
        return Err(bad());
    }
    let mut out = [0u8; 64];
    let mut cursor = body;
    for half in out.chunks_exact_mut(32) {
        let (tag, int, rest) = der_tlv(cursor).ok_or_else(bad)?;
        cursor = rest;
        // DER integers are minimal and positive: at most one leading zero, before a high bit.
        let padded_needlessly = int.len() > 1 && int[0] == 0 && int[1] & 0x80 == 0;
        let minimal = !int.is_empty() && !padded_needlessly;
        if tag != 0x02 || !minimal || int[0] & 0x80 != 0 {
            return Err(bad());
        }
        let int = if int[0] == 0 { &int[1..] } else { int };
        if int.len() > 32 {
            return Err(bad());
        }
        half[32 - int.len()..].copy_from_slice(int);
    }
    if !cursor.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

/// One DER tag-length-value with a short or one-byte long length: (tag, value, rest).
fn der_tlv(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, data) = data.split_first()?;
    let (&len, data) = data.split_first()?;
    let (len, data) = match len {
        0..=0x7f => (len as usize, data),
        0x81 => {
            let (&l, data) = data.split_first()?;
            if l < 0x80 {
                return None;
            }
            (l as usize, data)
        }
        _ => return None,
    };
    (data.len() >= len).then(|| (tag, &data[..len], &data[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_place() {
        let key = DataKey::generate().unwrap();
        let sealed = key.seal(b"3171234567890001", b"roster:nik:1").unwrap();
        assert_eq!(key.open(&sealed, b"roster:nik:1").unwrap(), b"3171234567890001");
        assert!(key.open(&sealed, b"roster:nik:2").is_err());
        assert!(DataKey::generate().unwrap().open(&sealed, b"roster:nik:1").is_err());
        let mut flipped = sealed.clone();
        flipped[20] ^= 1;
        assert!(key.open(&flipped, b"roster:nik:1").is_err());
    }

    #[test]
    fn der_signatures_convert_with_padding_and_refuse_junk() {
        // r with a leading zero (high bit set), s short (31 bytes).
        let mut der = vec![0x30, 0x44, 0x02, 0x21, 0x00];
        der.extend([0x80; 32]);
        der.extend([0x02, 0x1f]);
        der.extend([0x11; 31]);
        let raw = der_to_raw_p256(&der).unwrap();
        assert_eq!(&raw[..32], &[0x80; 32]);
        assert_eq!(raw[32], 0);
        assert_eq!(&raw[33..], &[0x11; 31]);
        assert!(der_to_raw_p256(&der[..der.len() - 1]).is_err());
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(der_to_raw_p256(&trailing).is_err());
        assert!(der_to_raw_p256(&[0x30, 0x00]).is_err());
    }
}
