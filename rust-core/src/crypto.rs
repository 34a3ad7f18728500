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

/// The order n of the P-256 group, big-endian (a signature's `s` and `n − s` both verify).
pub const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa,
    0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// ⌊n / 2⌋ for P-256, big-endian: the largest `s` of a low-S signature.
const P256_HALF_N: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xde, 0x73, 0x7d,
    0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

/// Whether a raw `r || s` signature is in low-S form (`s ≤ n/2`). ECDSA accepts `(r, s)` and
/// `(r, n − s)` alike; we accept only the lower so that each signed message has one signature
/// form (a receipt one byte form, a request one id).
pub fn is_low_s(raw_signature: &[u8]) -> bool {
    // Big-endian byte strings of equal length compare like the numbers they hold.
    raw_signature.len() == 64 && raw_signature[32..] <= P256_HALF_N[..]
}

/// Turns a high-S signature into its low-S twin (`s := n − s`); a low-S one is left as it is.
/// An `s ≥ n` is left too: it is invalid either way and fails verification.
fn normalise_low_s(raw: &mut [u8; 64]) {
    if raw[32..] > P256_HALF_N[..] && raw[32..] < P256_N[..] {
        let twin = n_minus(&raw[32..]);
        raw[32..].copy_from_slice(&twin);
    }
}

/// `n − s` for a big-endian `s < n` (32 bytes), by schoolbook subtraction with borrow.
fn n_minus(s: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0u16;
    for i in (0..32).rev() {
        let d = u16::from(P256_N[i]).wrapping_sub(u16::from(s[i])).wrapping_sub(borrow);
        out[i] = d as u8; // the low byte; a wrapped difference sets the borrow
        borrow = u16::from(d > 0xff);
    }
    out
}

/// Verifies an ES256 signature in COSE's raw `r || s` form; a high-S signature is refused even
/// when ECDSA alone would accept it.
pub fn verify_es256(spki: &[u8], message: &[u8], raw_signature: &[u8]) -> Result<()> {
    let point = p256_point(spki)?;
    if raw_signature.len() == 64 && !is_low_s(raw_signature) {
        return Err(Error::InvalidReceipt(
            "signature is not in low-S form (s > n/2): only one form is accepted".into(),
        ));
    }
    signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
        .verify(message, raw_signature)
        .map_err(|_| Error::InvalidReceipt("signature does not verify".into()))
}

/// Converts an ASN.1 DER ECDSA signature (`SEQUENCE { r INTEGER, s INTEGER }`, what Android
/// Keystore and Java's `SHA256withECDSA` return) to the 64-byte `r || s` that COSE uses, in
/// low-S form: platform signers return either `s` or `n − s`, and only the lower is accepted.
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
    normalise_low_s(&mut out);
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

    /// The DER signature (minimal integers, as DER requires) of 32-byte `r` and `s`.
    fn der(r: &[u8; 32], s: &[u8; 32]) -> Vec<u8> {
        let int = |v: &[u8; 32]| {
            let start = v.iter().position(|&b| b != 0).unwrap_or(31);
            let mut i = vec![0x02, 0];
            if v[start] & 0x80 != 0 {
                i.push(0);
            }
            i.extend(&v[start..]);
            i[1] = (i.len() - 2) as u8;
            i
        };
        let (r, s) = (int(r), int(s));
        let mut out = vec![0x30, (r.len() + s.len()) as u8];
        out.extend(r);
        out.extend(s);
        out
    }

    #[test]
    fn high_s_signatures_are_normalised_when_converted_and_refused_raw() {
        let (signer, _) = crate::keys::SoftwareSigner::generate().unwrap();
        let spki = crate::keys::Signer::public_key_spki(&signer).unwrap();
        // ring signs with random nonces, so about half its signatures come out high-S.
        let mut high_seen = 0;
        for _ in 0..64 {
            let der_sig = crate::keys::Signer::sign_der(&signer, b"m").unwrap();
            let raw = der_to_raw_p256(&der_sig).unwrap();
            assert!(is_low_s(&raw));
            verify_es256(&spki, b"m", &raw).unwrap();
            let r: [u8; 32] = raw[..32].try_into().unwrap();
            let twin_s = n_minus(&raw[32..]);
            // DER is unique, so the signer's bytes differ from the low-S form's exactly when it was high-S.
            high_seen += usize::from(der_sig != der(&r, &raw[32..].try_into().unwrap()));
            // The twin is a valid ECDSA signature that we refuse, and converting it gives `raw` back.
            let mut twin = raw;
            twin[32..].copy_from_slice(&twin_s);
            assert!(!is_low_s(&twin));
            let e = verify_es256(&spki, b"m", &twin).unwrap_err();
            assert!(e.to_string().contains("low-S"), "{e}");
            assert_eq!(der_to_raw_p256(&der(&r, &twin_s)).unwrap(), raw);
        }
        assert!(high_seen > 0, "the signer gave some high-S signatures to normalise");
        // n/2 itself is low; n/2 + 1 is high; s ≥ n is left alone (and fails verification).
        let mut at_half = [0u8; 64];
        at_half[32..].copy_from_slice(&P256_HALF_N);
        assert!(is_low_s(&at_half));
        let mut above = at_half;
        above[63] += 1;
        assert!(!is_low_s(&above));
        assert_eq!(der_to_raw_p256(&der(&[1; 32], &P256_N)).unwrap()[32..], P256_N);
    }
}
