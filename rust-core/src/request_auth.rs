//! Device-signed HTTP requests: every call a phone makes to the API carries an ES256 signature
//! over the method, path, time and body hash, made with the same device key that signs receipts.
//! No passwords or bearer tokens live on the phone, and a captured request cannot be altered.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::crypto;
use crate::error::{Error, Result};
use crate::keys::Signer;

/// Header naming the device.
pub const DEVICE_HEADER: &str = "x-salur-device";
/// Header with the signing time, Unix milliseconds.
pub const TIME_HEADER: &str = "x-salur-time";
/// Header with the base64 raw `r || s` ES256 signature.
pub const SIGNATURE_HEADER: &str = "x-salur-signature";
/// Header naming the key that signed, when it is not the device key: `upload` for the key that
/// signs uploads while the phone is locked (absent: the device key).
pub const KEY_HEADER: &str = "x-salur-key";
/// Largest accepted difference between the phone's signing time and the server's clock.
pub const MAX_SKEW_MS: i64 = 5 * 60 * 1000;

/// Which of the phone's two keys signs a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRole {
    /// The device key: bound to the worker's unlock; signs receipts and may make any request.
    Device,
    /// The upload key: needs no unlock, and the server accepts it only for handing in what the
    /// device key already signed (receipts, their evidence crops, the chain's status), so a
    /// locked phone uploads in the background while a stolen one can neither pay nor read a roster.
    Upload,
}

impl KeyRole {
    /// The [`KEY_HEADER`] value naming this role (`None`: the header is left out).
    pub fn header_value(self) -> Option<&'static str> {
        match self {
            Self::Device => None,
            Self::Upload => Some("upload"),
        }
    }

    /// The role a request's [`KEY_HEADER`] names (absent: the device key).
    pub fn from_header(value: Option<&str>) -> Result<Self> {
        match value {
            None => Ok(Self::Device),
            Some("upload") => Ok(Self::Upload),
            Some(other) => Err(Error::InvalidArgument(format!(
                "{KEY_HEADER}: {other:?} is not a key (send upload, or leave it out)"
            ))),
        }
    }
}

/// The bytes a request signature covers.
pub fn signing_input(method: &str, path_and_query: &str, time_ms: i64, body: &[u8]) -> Vec<u8> {
    format!(
        "SALUR-REQUEST-V1\n{}\n{path_and_query}\n{time_ms}\n{}",
        method.to_ascii_uppercase(),
        hex::encode(crypto::sha256(body))
    )
    .into_bytes()
}

/// The three headers for one request, as (name, value) pairs.
pub fn sign_request(
    signer: &dyn Signer,
    device_id: &str,
    method: &str,
    path_and_query: &str,
    time_ms: i64,
    body: &[u8],
) -> Result<[(&'static str, String); 3]> {
    let der = signer.sign_der(&signing_input(method, path_and_query, time_ms, body))?;
    let raw = crypto::der_to_raw_p256(&der)?;
    Ok([
        (DEVICE_HEADER, device_id.to_string()),
        (TIME_HEADER, time_ms.to_string()),
        (SIGNATURE_HEADER, B64.encode(raw)),
    ])
}

/// Parses the signing time and checks it is within [`MAX_SKEW_MS`] of `now_ms` (a check the
/// server makes before it reads the body); returns the signing time.
pub fn check_fresh(time_header: &str, now_ms: i64) -> Result<i64> {
    let time_ms: i64 =
        time_header.parse().map_err(|_| Error::InvalidArgument("x-salur-time is not a number".into()))?;
    // abs_diff cannot overflow, whatever number the caller sent.
    if now_ms.abs_diff(time_ms) > MAX_SKEW_MS.unsigned_abs() {
        return Err(Error::InvalidArgument(
            "request time is more than 5 minutes from the server's: fix the phone's clock".into(),
        ));
    }
    Ok(time_ms)
}

/// Decodes the signature header to raw `r || s`, refusing any other length and the high-S form
/// (`sign_request` always sends the low one), so that each signed request has one signature:
/// the server remembers it to refuse a replay.
pub fn decode_signature(signature_header: &str) -> Result<[u8; 64]> {
    let bad = |why: &str| Error::InvalidArgument(why.to_string());
    let sig = B64.decode(signature_header).map_err(|_| bad("x-salur-signature is not base64"))?;
    let raw: [u8; 64] = sig.try_into().map_err(|_| bad("x-salur-signature is not a 64-byte ES256 signature"))?;
    if !crypto::is_low_s(&raw) {
        return Err(bad("x-salur-signature is not in low-S form"));
    }
    Ok(raw)
}

/// Checks a request's signature and freshness against the device's registered key; returns the
/// verified raw signature, which names this one request (for replay detection).
pub fn verify_request(
    spki: &[u8],
    method: &str,
    path_and_query: &str,
    time_header: &str,
    signature_header: &str,
    body: &[u8],
    now_ms: i64,
) -> Result<[u8; 64]> {
    let time_ms = check_fresh(time_header, now_ms)?;
    let sig = decode_signature(signature_header)?;
    crypto::verify_es256(spki, &signing_input(method, path_and_query, time_ms, body), &sig)
        .map_err(|_| Error::InvalidArgument("request signature does not verify".into()))?;
    Ok(sig)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SoftwareSigner;

    #[test]
    fn a_signed_request_verifies_only_unchanged_and_fresh() {
        let signer = SoftwareSigner::generate().unwrap().0;
        let spki = signer.public_key_spki().unwrap();
        let [_, (_, t), (_, sig)] = sign_request(&signer, "dev-1", "post", "/v1/receipts", 1_000_000, b"{}").unwrap();
        verify_request(&spki, "POST", "/v1/receipts", &t, &sig, b"{}", 1_000_500).unwrap();
        assert!(verify_request(&spki, "POST", "/v1/receipts", &t, &sig, b"{ }", 1_000_500).is_err());
        assert!(verify_request(&spki, "POST", "/v1/roster", &t, &sig, b"{}", 1_000_500).is_err());
        assert!(verify_request(&spki, "POST", "/v1/receipts", &t, &sig, b"{}", 1_000_000 + MAX_SKEW_MS + 1).is_err());
        // Times at the ends of i64 are refused, not wrapped into range.
        assert!(check_fresh(&i64::MIN.to_string(), i64::MAX).is_err());
        assert!(check_fresh(&i64::MAX.to_string(), i64::MIN).is_err());
    }

    #[test]
    fn requests_are_signed_low_s_and_the_high_s_twin_is_refused() {
        let signer = SoftwareSigner::generate().unwrap().0;
        let spki = signer.public_key_spki().unwrap();
        for _ in 0..16 {
            let [_, (_, t), (_, sig)] = sign_request(&signer, "dev-1", "GET", "/v1/rosters", 5_000, b"").unwrap();
            let raw = verify_request(&spki, "GET", "/v1/rosters", &t, &sig, b"", 5_000).unwrap();
            let mut twin = raw;
            let mut borrow = 0u16;
            for i in (32..64).rev() {
                let d = u16::from(crypto::P256_N[i - 32]).wrapping_sub(u16::from(raw[i])).wrapping_sub(borrow);
                twin[i] = d as u8;
                borrow = u16::from(d > 0xff);
            }
            let e = verify_request(&spki, "GET", "/v1/rosters", &t, &B64.encode(twin), b"", 5_000).unwrap_err();
            assert!(e.to_string().contains("low-S"), "{e}");
        }
    }
}
