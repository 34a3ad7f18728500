//! The certificate chain of a key attestation, checked as Google's own verifier
//! (`android/keyattestation`, `KeyAttestationCertPathValidator`) checks it: from the root down,
//! each certificate names the one above as its issuer and is signed by its key, each one but the
//! leaf is valid at the server's time, and only the leaf carries a key description.
//!
//! Like Google's, this verifier does not require CA:TRUE of the certificates that sign others:
//! real phones (a Sony Xperia 10 III among them) ship an attestation certificate without it, and
//! what keeps a phone's own app key from posing as an issuer is the rule that no certificate
//! above the leaf carries a key description (an app key's certificate always does). Nor is the
//! leaf's validity checked: the phone writes it from its own clock. SHA-1 signatures are refused
//! (none of Google's published chains uses one).

use x509_parser::oid_registry::{Oid, OID_PKCS1_SHA1WITHRSA, OID_SHA1_WITH_RSA};
use x509_parser::prelude::{ASN1Time, FromDer, X509Certificate};
use x509_parser::x509::SubjectPublicKeyInfo;

use super::AttestationError;

/// The bundled Google hardware attestation roots (PEM, with a note on their origin).
pub(super) const ROOTS_PEM: &[u8] = include_bytes!("../../../roots/google-attestation-roots.pem");

/// Android's software attestation roots (their private keys are published in AOSP): recognised
/// only to say why such a chain is refused.
const SOFTWARE_ROOTS_PEM: &[u8] = include_bytes!("../../../roots/android-software-attestation-roots.pem");

/// The key description extension's OID, 1.3.6.1.4.1.11129.2.1.17.
pub(super) const KEY_DESCRIPTION: &[u64] = &[1, 3, 6, 1, 4, 1, 11129, 2, 1, 17];

/// The public keys (SubjectPublicKeyInfo DER) of the certificates in a PEM bundle.
pub(super) fn keys_of(pem: &[u8]) -> Vec<Vec<u8>> {
    x509_parser::pem::Pem::iter_from_buffer(pem)
        .filter_map(Result::ok)
        .filter_map(|pem| X509Certificate::from_der(&pem.contents).ok().map(|(_, c)| c.public_key().raw.to_vec()))
        .collect()
}

/// The OID of the key description.
pub(super) fn key_description_oid() -> Oid<'static> {
    #[allow(clippy::expect_used)] // a constant, valid OID
    Oid::from(KEY_DESCRIPTION).expect("the key description OID is valid")
}

/// Checks the chain's shape, names, signatures, validity and anchor; the parsed certificates back.
pub(super) fn check<'a>(chain: &'a [Vec<u8>], now_ms: i64) -> Result<Vec<X509Certificate<'a>>, AttestationError> {
    let certs = chain
        .iter()
        .enumerate()
        .map(|(i, der)| match X509Certificate::from_der(der) {
            Ok(([], cert)) => Ok(cert),
            _ => Err(AttestationError::Malformed(i)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let now = ASN1Time::from_timestamp(now_ms.div_euclid(1000)).map_err(|_| AttestationError::Expired(1))?;
    for (i, cert) in certs.iter().enumerate().skip(1) {
        if !cert.validity().is_valid_at(now) {
            return Err(AttestationError::Expired(i));
        }
    }
    let oid = key_description_oid();
    for (i, pair) in certs.windows(2).enumerate() {
        if !same_name(&pair[0], &pair[1]) {
            return Err(AttestationError::NameChaining(i));
        }
        signed_by(&pair[0], pair[1].public_key()).map_err(|()| AttestationError::BadSignature(i))?;
        if pair[1].extensions().iter().any(|e| e.oid == oid) {
            return Err(AttestationError::Extended(i + 1));
        }
    }
    anchored(certs.last().ok_or(AttestationError::Length)?)?;
    Ok(certs)
}

/// `cert` names `issuer` as its issuer (compared as text without case: phones encode the same
/// name as PrintableString in one place and UTF8String in the other, which Java's comparison of
/// names, used by Google's verifier, also lets through).
fn same_name(cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    let (a, b) = (cert.issuer(), issuer.subject());
    a.as_raw() == b.as_raw() || a.to_string().to_lowercase() == b.to_string().to_lowercase()
}

/// `cert`'s signature verifies with `key` (SHA-1 signatures refused).
fn signed_by(cert: &X509Certificate<'_>, key: &SubjectPublicKeyInfo<'_>) -> Result<(), ()> {
    let alg = &cert.signature_algorithm.algorithm;
    if *alg == OID_PKCS1_SHA1WITHRSA || *alg == OID_SHA1_WITH_RSA {
        return Err(());
    }
    cert.verify_signature(Some(key)).map_err(|_| ())
}

/// The top of the chain is a root (self-signed with a root key) or is signed by a root key.
fn anchored(top: &X509Certificate<'_>) -> Result<(), AttestationError> {
    let signed_with =
        |key: &Vec<u8>| SubjectPublicKeyInfo::from_der(key).ok().is_some_and(|(_, spki)| signed_by(top, &spki).is_ok());
    if keys_of(ROOTS_PEM).iter().any(signed_with) {
        return Ok(());
    }
    // The software root is told by its key or its name, not its signature: its RSA root's
    // 1024-bit key is below what ring verifies, and the chain is refused either way.
    let software = x509_parser::pem::Pem::iter_from_buffer(SOFTWARE_ROOTS_PEM).filter_map(Result::ok).any(|pem| {
        X509Certificate::from_der(&pem.contents).ok().is_some_and(|(_, root)| {
            root.public_key().raw == top.public_key().raw || root.subject().as_raw() == top.issuer().as_raw()
        })
    });
    Err(if software { AttestationError::SoftwareRoot } else { AttestationError::UnknownRoot })
}

/// The serial numbers of the chain's certificates, as Google's revocation list writes them
/// (lowercase hex, no leading zeros).
pub(super) fn serials(certs: &[X509Certificate<'_>]) -> Vec<String> {
    certs.iter().map(|c| super::revocation::normalize_serial(&hex::encode(c.raw_serial()))).collect()
}

/// The leaf's public key (SubjectPublicKeyInfo DER).
pub(super) fn leaf_key(chain: &[Vec<u8>]) -> Result<Vec<u8>, AttestationError> {
    let der = chain.first().ok_or(AttestationError::Length)?;
    let (_, cert) = X509Certificate::from_der(der).map_err(|_| AttestationError::Malformed(0))?;
    Ok(cert.public_key().raw.to_vec())
}
