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
/// Largest accepted difference between the phone's signing time and the server's clock.
pub const MAX_SKEW_MS: i64 = 5 * 60 * 1000;

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

/// Checks a request's signature and freshness against the device's registered key.
pub fn verify_request(
    spki: &[u8],
    method: &str,
    path_and_query: &str,
    time_header: &str,
    signature_header: &str,
    body: &[u8],
    now_ms: i64,
) -> Result<()> {
    let bad = |why: &str| Error::InvalidArgument(why.to_string());
    let time_ms: i64 = time_header.parse().map_err(|_| bad("x-salur-time is not a number"))?;
    if (now_ms - time_ms).abs() > MAX_SKEW_MS {
        return Err(bad("request time is more than 5 minutes from the server's: fix the phone's clock"));
    }
    let sig = B64.decode(signature_header).map_err(|_| bad("x-salur-signature is not base64"))?;
    crypto::verify_es256(spki, &signing_input(method, path_and_query, time_ms, body), &sig)
        .map_err(|_| bad("request signature does not verify"))
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
    }
}
