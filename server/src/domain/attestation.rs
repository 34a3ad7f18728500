//! Android key attestation: whether a registering phone's key was made in secure hardware, for
//! this registration. A pure function over the chain the phone sent (DER, leaf first), the key it
//! registers, the nonce the server issued and the time, so it is tested alone on real chains.
//!
//! What is verified: every certificate is signed by the next (SHA-1 refused), every issuer is a CA,
//! every certificate is valid at `now`, the last one is a Google hardware attestation root or is
//! signed by one (trust is anchored on the roots' public keys, as Google's guidance says; the root
//! certificates are in `server/roots/`), the leaf's key is the key being registered, and the key
//! description (OID 1.3.6.1.4.1.11129.2.1.17) sits in the leaf only and carries the issued nonce.
//! What is not: Google's revocation status list (it needs a network fetch; see docs/security.md),
//! and the authorization lists (boot state, patch level, application id) are not read.

use x509_parser::asn1_rs::{Enumerated, FromDer, OctetString, Sequence};
use x509_parser::oid_registry::{Oid, OID_PKCS1_SHA1WITHRSA, OID_SHA1_WITH_RSA};
use x509_parser::prelude::{ASN1Time, X509Certificate};

/// The bundled Google hardware attestation roots (PEM, with a note on their origin).
const ROOTS_PEM: &[u8] = include_bytes!("../../roots/google-attestation-roots.pem");

/// Most certificates accepted in one chain (real ones have 3 to 5).
pub const MAX_CHAIN: usize = 8;

/// The key description extension's OID, 1.3.6.1.4.1.11129.2.1.17.
const KEY_DESCRIPTION: &[u64] = &[1, 3, 6, 1, 4, 1, 11129, 2, 1, 17];

/// Where the attested key lives, as the key description says (or `None`: no attestation at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecurityLevel {
    /// No attestation was sent (only on a server run with `--allow-unattested-devices`).
    None,
    /// The key is in Android's software keystore: no better than a file.
    Software,
    /// The key is in the phone's trusted execution environment.
    Tee,
    /// The key is in a separate secure element.
    Strongbox,
}

impl SecurityLevel {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Software => "software",
            Self::Tee => "tee",
            Self::Strongbox => "strongbox",
        }
    }

    /// The stored name back (unknown names read as `None`, the least trusted).
    pub fn parse(s: &str) -> Self {
        match s {
            "software" => Self::Software,
            "tee" => Self::Tee,
            "strongbox" => Self::Strongbox,
            _ => Self::None,
        }
    }

    /// Whether the key is in secure hardware (TEE or StrongBox).
    pub fn is_hardware(self) -> bool {
        matches!(self, Self::Tee | Self::Strongbox)
    }
}

/// What a verified chain says about the registered key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attested {
    /// Where the key lives (`attestationSecurityLevel`).
    pub security_level: SecurityLevel,
    /// The key description's `attestationVersion` (e.g. 200 for KeyMint 2).
    pub attestation_version: i64,
    /// The challenge the chain carries (equal to the issued nonce).
    pub challenge: Vec<u8>,
}

/// Why a chain was refused. Positions count from 0 at the leaf.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestationError {
    /// No certificates, or more than [`MAX_CHAIN`].
    #[error("the key attestation chain must have 1 to {MAX_CHAIN} certificates")]
    Length,
    /// A certificate is not DER X.509.
    #[error("certificate {0} of the key attestation chain is not a DER X.509 certificate")]
    Malformed(usize),
    /// A certificate is not valid at the server's time.
    #[error("certificate {0} of the key attestation chain is expired or not yet valid")]
    Expired(usize),
    /// A certificate's signature does not verify with the next one's key.
    #[error("certificate {0} of the key attestation chain is not signed by the next one")]
    BadSignature(usize),
    /// An issuing certificate is not a CA.
    #[error("certificate {0} of the key attestation chain signs another but is not a CA")]
    NotCa(usize),
    /// The chain does not end at a Google hardware attestation root.
    #[error("the key attestation chain does not end at a Google hardware attestation root")]
    UnknownRoot,
    /// The leaf certifies another key than the one being registered.
    #[error("the key attestation chain certifies another key than the one being registered")]
    KeyMismatch,
    /// The leaf has no (well-formed) key description.
    #[error("the leaf of the key attestation chain has no valid key description")]
    NoKeyDescription,
    /// A certificate above the leaf carries a key description too (an extended chain, or an
    /// attestation key; only the first occurrence from the root could be trusted).
    #[error("certificate {0} of the key attestation chain carries a key description too")]
    Extended(usize),
    /// The attestation challenge is not the nonce the server issued.
    #[error("the key attestation challenge is not the one the server issued: ask for a new one and try again")]
    ChallengeMismatch,
}

/// The public keys (SubjectPublicKeyInfo DER) of the bundled roots.
fn root_keys() -> Vec<Vec<u8>> {
    x509_parser::pem::Pem::iter_from_buffer(ROOTS_PEM)
        .filter_map(Result::ok)
        .filter_map(|pem| X509Certificate::from_der(&pem.contents).ok().map(|(_, c)| c.public_key().raw.to_vec()))
        .collect()
}

/// Verifies `chain` (DER certificates, leaf first) for the key `spki` and the issued `nonce` at
/// `now_ms` (Unix milliseconds).
pub fn verify(chain: &[Vec<u8>], spki: &[u8], nonce: &[u8], now_ms: i64) -> Result<Attested, AttestationError> {
    if chain.is_empty() || chain.len() > MAX_CHAIN {
        return Err(AttestationError::Length);
    }
    let certs = chain
        .iter()
        .enumerate()
        .map(|(i, der)| match X509Certificate::from_der(der) {
            Ok(([], cert)) => Ok(cert),
            _ => Err(AttestationError::Malformed(i)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let now = ASN1Time::from_timestamp(now_ms.div_euclid(1000)).map_err(|_| AttestationError::Expired(0))?;
    for (i, cert) in certs.iter().enumerate() {
        if !cert.validity().is_valid_at(now) {
            return Err(AttestationError::Expired(i));
        }
    }
    for (i, pair) in certs.windows(2).enumerate() {
        signed_by(&pair[0], &pair[1]).map_err(|()| AttestationError::BadSignature(i))?;
        let is_ca = pair[1].basic_constraints().ok().flatten().is_some_and(|b| b.value.ca);
        if !is_ca {
            return Err(AttestationError::NotCa(i + 1));
        }
    }
    anchored(certs.last().ok_or(AttestationError::Length)?)?;
    let leaf = &certs[0];
    if leaf.public_key().raw != spki {
        return Err(AttestationError::KeyMismatch);
    }
    let oid = Oid::from(KEY_DESCRIPTION).map_err(|_| AttestationError::NoKeyDescription)?;
    if let Some(i) = certs.iter().skip(1).position(|c| c.extensions().iter().any(|e| e.oid == oid)) {
        return Err(AttestationError::Extended(i + 1));
    }
    let description = match leaf.get_extension_unique(&oid) {
        Ok(Some(ext)) => key_description(ext.value).ok_or(AttestationError::NoKeyDescription)?,
        _ => return Err(AttestationError::NoKeyDescription),
    };
    // Constant time is not needed: the nonce is no secret once the phone has it.
    if description.challenge != nonce {
        return Err(AttestationError::ChallengeMismatch);
    }
    Ok(description)
}

/// `cert`'s signature verifies with `issuer`'s key (SHA-1 signatures refused).
fn signed_by(cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> Result<(), ()> {
    let alg = &cert.signature_algorithm.algorithm;
    if *alg == OID_PKCS1_SHA1WITHRSA || *alg == OID_SHA1_WITH_RSA {
        return Err(());
    }
    cert.verify_signature(Some(issuer.public_key())).map_err(|_| ())
}

/// The top of the chain is a root (self-signed with a root key) or is signed by a root key.
fn anchored(top: &X509Certificate<'_>) -> Result<(), AttestationError> {
    let keys = root_keys();
    let signed_with = |key: &[u8]| {
        x509_parser::x509::SubjectPublicKeyInfo::from_der(key).ok().is_some_and(|(_, spki)| {
            !matches!(top.signature_algorithm.algorithm, ref a if *a == OID_PKCS1_SHA1WITHRSA || *a == OID_SHA1_WITH_RSA)
                && top.verify_signature(Some(&spki)).is_ok()
        })
    };
    if keys.iter().any(|k| signed_with(k)) {
        Ok(())
    } else {
        Err(AttestationError::UnknownRoot)
    }
}

/// The first five fields of a KeyDescription: attestationVersion, attestationSecurityLevel,
/// keyMintVersion, keyMintSecurityLevel, attestationChallenge (the authorization lists after them
/// are not read).
fn key_description(der: &[u8]) -> Option<Attested> {
    let (_, seq) = Sequence::from_der(der).ok()?;
    let rest = seq.content.as_ref();
    let (rest, version) = u32::from_der(rest).ok()?;
    let (rest, level) = Enumerated::from_der(rest).ok()?;
    let (rest, _keymint_version) = u32::from_der(rest).ok()?;
    let (rest, _keymint_level) = Enumerated::from_der(rest).ok()?;
    let (_, challenge) = OctetString::from_der(rest).ok()?;
    let security_level = match level.0 {
        0 => SecurityLevel::Software,
        1 => SecurityLevel::Tee,
        2 => SecurityLevel::Strongbox,
        _ => return None,
    };
    Some(Attested { security_level, attestation_version: i64::from(version), challenge: challenge.as_ref().to_vec() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(name: &str) -> Vec<Vec<u8>> {
        let path = format!("{}/../test-vectors/attestation/{name}", env!("CARGO_MANIFEST_DIR"));
        let pem = std::fs::read(&path).unwrap();
        x509_parser::pem::Pem::iter_from_buffer(&pem).map(|p| p.unwrap().contents).collect()
    }

    fn spki(der: &[u8]) -> Vec<u8> {
        X509Certificate::from_der(der).unwrap().1.public_key().raw.to_vec()
    }

    /// 2023-03-01T00:00:00Z: inside the validity of every certificate of the real chains.
    const NOW: i64 = 1_677_628_800_000;

    #[test]
    fn the_bundled_roots_are_googles_two() {
        let pems: Vec<_> = x509_parser::pem::Pem::iter_from_buffer(ROOTS_PEM)
            .map(|p| hex::encode(salur_core::crypto::sha256(&p.unwrap().contents)))
            .collect();
        assert_eq!(
            pems,
            [
                "cedb1cb6dc896ae5ec797348bce9286753c2b38ee71ce0fbe34a9a1248800dfc",
                "6d9db4ce6c5c0b293166d08986e05774a8776ceb525d9e4329520de12ba4bcc0"
            ]
        );
        assert_eq!(root_keys().len(), 2);
    }

    #[test]
    fn a_real_pixel_chain_is_accepted_with_its_level_and_challenge() {
        let c = chain("normal_cert_chain.pem");
        let got = verify(&c, &spki(&c[0]), b"challenge", NOW).unwrap();
        assert_eq!(got.security_level, SecurityLevel::Tee);
        assert_eq!(got.attestation_version, 200);
        assert_eq!(got.challenge, b"challenge");
        // The chain without its root certificate is anchored too (the last one is signed by a root key).
        assert!(verify(&c[..c.len() - 1], &spki(&c[0]), b"challenge", NOW).is_ok());
    }

    #[test]
    fn a_wrong_challenge_is_refused() {
        let c = chain("normal_cert_chain.pem");
        assert_eq!(verify(&c, &spki(&c[0]), b"another nonce", NOW), Err(AttestationError::ChallengeMismatch));
    }

    #[test]
    fn outside_the_validity_is_refused() {
        let c = chain("normal_cert_chain.pem");
        // The intermediates of a remotely provisioned chain live a month.
        assert_eq!(verify(&c, &spki(&c[0]), b"challenge", 1_700_000_000_000), Err(AttestationError::Expired(1)));
    }

    #[test]
    fn a_forged_signature_is_refused() {
        let mut c = chain("normal_cert_chain.pem");
        let key = spki(&c[0]);
        // The last byte of the leaf is inside its signature's s value.
        let last = c[0].len() - 1;
        c[0][last] ^= 0x01;
        assert_eq!(verify(&c, &key, b"challenge", NOW), Err(AttestationError::BadSignature(0)));
        let mut c = chain("normal_cert_chain.pem");
        let last = c[3].len() - 1;
        c[3][last] ^= 0x01;
        assert_eq!(verify(&c, &key, b"challenge", NOW), Err(AttestationError::BadSignature(3)));
    }

    #[test]
    fn another_key_than_the_leafs_is_refused() {
        let c = chain("normal_cert_chain.pem");
        let other = spki(&c[1]);
        assert_eq!(verify(&c, &other, b"challenge", NOW), Err(AttestationError::KeyMismatch));
    }

    #[test]
    fn chains_with_a_key_description_above_the_leaf_are_refused() {
        // Google's own test chains: with attestation keys, and a fake one extending it with "foo".
        let c = chain("cert_chain_with_attest_keys.pem");
        // Its signatures all verify: the attestation key above the leaf is refused (not a CA).
        assert_eq!(verify(&c, &spki(&c[0]), b"challenge", NOW), Err(AttestationError::NotCa(1)));
        let c = chain("fake_cert_chain_with_attest_keys.pem");
        let refused = verify(&c, &spki(&c[0]), b"challenge", NOW);
        assert!(refused.is_err(), "{refused:?}");
    }

    #[test]
    fn a_chain_ending_elsewhere_is_refused() {
        let c = chain("normal_cert_chain.pem");
        // Cut below the Google-signed intermediate: CA2's issuer is not a root key.
        assert_eq!(verify(&c[..3], &spki(&c[0]), b"challenge", NOW), Err(AttestationError::UnknownRoot));
    }

    #[test]
    fn malformed_and_empty_chains_are_refused() {
        assert_eq!(verify(&[], b"k", b"n", NOW), Err(AttestationError::Length));
        assert_eq!(verify(&[b"junk".to_vec()], b"k", b"n", NOW), Err(AttestationError::Malformed(0)));
        let c = chain("normal_cert_chain.pem");
        let nine: Vec<_> = (0..9).map(|_| c[0].clone()).collect();
        assert_eq!(verify(&nine, b"k", b"n", NOW), Err(AttestationError::Length));
    }

    /// A KeyDescription claiming `level` with `challenge` (empty authorization lists).
    fn description(level: u8, challenge: &[u8]) -> Vec<u8> {
        let mut body = vec![0x02, 0x02, 0x00, 0xc8, 0x0a, 0x01, level, 0x02, 0x02, 0x00, 0xc8, 0x0a, 0x01, level];
        body.extend([0x04, challenge.len() as u8]);
        body.extend(challenge);
        body.extend([0x04, 0x00, 0x30, 0x00, 0x30, 0x00]);
        let mut der = vec![0x30, body.len() as u8];
        der.extend(body);
        der
    }

    #[test]
    fn a_self_signed_chain_claiming_strongbox_is_refused() {
        use rcgen::{BasicConstraints, CertificateParams, CustomExtension, IsCa, Issuer, KeyPair};
        let root_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(vec![]).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let root = ca.self_signed(&root_key).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let mut leaf = CertificateParams::new(vec![]).unwrap();
        leaf.custom_extensions.push(CustomExtension::from_oid_content(KEY_DESCRIPTION, description(2, b"nonce")));
        let leaf = leaf.signed_by(&leaf_key, &Issuer::new(ca, &root_key)).unwrap();
        let c = vec![leaf.der().to_vec(), root.der().to_vec()];
        // Everything else is in order: the refusal is for the root alone.
        let now = crate::clock::now_ms();
        assert_eq!(verify(&c, &spki(&c[0]), b"nonce", now), Err(AttestationError::UnknownRoot));
        assert_eq!(verify(&c[..1], &spki(&c[0]), b"nonce", now), Err(AttestationError::UnknownRoot));
        assert_eq!(key_description(&description(2, b"n")).unwrap().security_level, SecurityLevel::Strongbox);
        assert_eq!(key_description(&description(0, b"n")).unwrap().security_level, SecurityLevel::Software);
        assert_eq!(key_description(&description(7, b"n")), None);
    }
}
