//! Supervisor approval of an override: a code the worker's phone cannot make up, checked by the
//! server.
//!
//! At the door the phone shows an 8-digit [`challenge`] bound to the device, roster, recipient
//! and override reason; the worker reads it to the supervisor (by phone call), whose own tool
//! (`salur supervisor code`) answers with the 8-digit [`response`] under the supervisor's secret.
//! The receipt signs the response; the server, which holds the secret, recomputes the challenge
//! from the receipt's own fields and [`verify`]s it. The phone never holds a secret.
//!
//! The response is HOTP-style: HMAC-SHA-256(secret, `"salur-override-v1"` || challenge), then
//! RFC 4226 section 5.3 dynamic truncation, modulo 10^8, zero padded.

use crate::crypto;
use crate::receipt::OverrideCode;

/// Digits of a challenge and of a response.
pub const DIGITS: usize = 8;

/// Bytes of a supervisor secret made by `salur supervisor add`.
pub const SECRET_LEN: usize = 32;

const MODULUS: u64 = 100_000_000;
const CHALLENGE_DOMAIN: &[u8] = b"salur-override-challenge-v1";
const RESPONSE_DOMAIN: &[u8] = b"salur-override-v1";

/// A new random supervisor secret.
pub fn new_secret() -> crate::Result<[u8; SECRET_LEN]> {
    crypto::random()
}

/// Whether `s` is exactly [`DIGITS`] ASCII digits (the form of a challenge and of a response).
pub fn is_code(s: &str) -> bool {
    s.len() == DIGITS && s.bytes().all(|b| b.is_ascii_digit())
}

fn push_field(out: &mut Vec<u8>, field: &[u8]) {
    // Fields are small (ids, a 16-byte reference); a longer one saturates the prefix, which is
    // still unambiguous because the bytes follow in full.
    let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(field);
}

/// The 8-digit challenge for an override by `device_id` of `recipient` (the receipt's keyed
/// reference) on `roster_id`, for `code`: SHA-256 over a domain tag and the length-prefixed
/// fields (u32 big-endian lengths), first 8 bytes big-endian, modulo 10^8.
pub fn challenge(device_id: &str, roster_id: &str, recipient: &[u8], code: OverrideCode) -> String {
    let mut input = Vec::with_capacity(96);
    push_field(&mut input, CHALLENGE_DOMAIN);
    push_field(&mut input, device_id.as_bytes());
    push_field(&mut input, roster_id.as_bytes());
    push_field(&mut input, recipient);
    push_field(&mut input, code.as_str().as_bytes());
    let digest = crypto::sha256(&input);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    format!("{:08}", u64::from_be_bytes(first) % MODULUS)
}

/// The supervisor's 8-digit answer to `challenge` under `secret`.
pub fn response(secret: &[u8], challenge: &str) -> String {
    let mut message = RESPONSE_DOMAIN.to_vec();
    message.extend_from_slice(challenge.as_bytes());
    let mac = crypto::hmac_sha256(secret, &message);
    // RFC 4226 section 5.3: the low nibble of the last byte picks four bytes, top bit cleared.
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let bin = (u32::from(mac[offset] & 0x7f) << 24)
        | (u32::from(mac[offset + 1]) << 16)
        | (u32::from(mac[offset + 2]) << 8)
        | u32::from(mac[offset + 3]);
    format!("{:08}", u64::from(bin) % MODULUS)
}

/// Whether `response` is the answer to `challenge` under `secret`, compared in constant time
/// (only the form, 8 digits, is checked before).
pub fn verify(secret: &[u8], challenge: &str, response: &str) -> bool {
    if !is_code(response) {
        return false;
    }
    let expected = self::response(secret, challenge);
    let diff = expected.bytes().zip(response.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Computed independently with Python's hmac and hashlib:
    /// ```text
    /// python3 -c 'import hmac,hashlib,struct
    /// def f(b): return struct.pack(">I",len(b))+b
    /// d=hashlib.sha256(f(b"salur-override-challenge-v1")+f(b"dev-01")+f(b"blt-2026-11")
    ///   +f(bytes(range(16)))+f(b"cannot_do_live_check")).digest()
    /// c="%08d"%(int.from_bytes(d[:8],"big")%10**8)
    /// m=hmac.new(bytes([7])*32,b"salur-override-v1"+c.encode(),hashlib.sha256).digest()
    /// o=m[31]&15; print(c,"%08d"%((int.from_bytes(m[o:o+4],"big")&0x7fffffff)%10**8))'
    /// ```
    const VECTOR: (&str, &str) = ("47516335", "02191540");

    #[test]
    fn a_fixed_vector_computed_in_python() {
        let recipient: Vec<u8> = (0..16).collect();
        let c = challenge("dev-01", "blt-2026-11", &recipient, OverrideCode::CannotDoLiveCheck);
        assert_eq!(c, VECTOR.0);
        assert_eq!(response(&[7; 32], &c), VECTOR.1);
        assert!(verify(&[7; 32], &c, VECTOR.1));
    }

    #[test]
    fn the_challenge_changes_with_every_field() {
        let r = [1u8; 16];
        let base = challenge("dev-01", "blt-2026-11", &r, OverrideCode::Other);
        assert!(is_code(&base));
        for other in [
            challenge("dev-02", "blt-2026-11", &r, OverrideCode::Other),
            challenge("dev-01", "blt-2026-12", &r, OverrideCode::Other),
            challenge("dev-01", "blt-2026-11", &[2u8; 16], OverrideCode::Other),
            challenge("dev-01", "blt-2026-11", &r, OverrideCode::FaceNotVerified),
            // Length prefixes: moving a byte from one field to the next is another input.
            challenge("dev-0", "1blt-2026-11", &r, OverrideCode::Other),
        ] {
            assert_ne!(other, base);
        }
    }

    #[test]
    fn verify_refuses_wrong_digits_secrets_and_forms() {
        let secret = [3u8; 32];
        let c = "01234567";
        let good = response(&secret, c);
        assert!(is_code(&good));
        assert!(verify(&secret, c, &good));
        let wrong = format!("{:08}", (good.parse::<u64>().unwrap() + 1) % MODULUS);
        assert!(!verify(&secret, c, &wrong));
        assert!(!verify(&[4u8; 32], c, &good));
        assert!(!verify(&secret, "01234568", &good));
        for bad in ["", "1234567", "123456789", "1234567a", " 1234567", "١٢٣٤٥٦٧٨"] {
            assert!(!verify(&secret, c, bad), "{bad:?}");
            assert!(!is_code(bad), "{bad:?}");
        }
    }
}
