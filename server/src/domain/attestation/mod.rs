//! Android key attestation: whether a registering phone's key was made in secure hardware, for
//! this registration, by our app on an intact phone. A pure function over the chain the phone
//! sent (DER, leaf first), the key it registers, the nonce the server issued and the time, so it
//! is tested alone on real chains; then the operator's [`policy`] over what the chain says.
//!
//! - [`chain`]: the certificates, checked as Google's own verifier checks them (names,
//!   signatures, validity, a Google hardware root; Android's software root is refused with its
//!   reason), trust anchored on the roots' public keys (`server/roots/`);
//! - [`description`]: the key description (OID 1.3.6.1.4.1.11129.2.1.17) in the leaf only:
//!   versions, levels, challenge, and from the authorization lists the application id, the root of
//!   trust, the OS version and patch levels, the key's origin;
//! - [`policy`]: package name, signing digest, boot state, bootloader lock, patch level, origin,
//!   and [`revocation`]: Google's revocation status list, from a file the operator refreshes.

pub mod chain;
pub mod description;
pub mod policy;
pub mod revocation;

pub use description::{BootState, KeyDescription};
pub use policy::{AttestationPolicy, OnFail, PolicyViolation};

/// Most certificates accepted in one chain (real ones have 3 to 5).
pub const MAX_CHAIN: usize = 8;

/// Where the attested key lives, as the key description says (or `None`: no attestation at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, utoipa::ToSchema)]
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
    /// Where the key lives: the lower of `attestationSecurityLevel` and `keyMintSecurityLevel`.
    pub security_level: SecurityLevel,
    /// The key description's `attestationVersion` (e.g. 200 for KeyMint 2).
    pub attestation_version: i64,
    /// The challenge the chain carries (equal to the issued nonce).
    pub challenge: Vec<u8>,
    /// The whole key description, for the [`policy`].
    pub description: KeyDescription,
    /// The serial numbers of the chain's certificates (lowercase hex), for the revocation list.
    pub serials: Vec<String>,
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
    /// A certificate above the leaf is not valid at the server's time.
    #[error("certificate {0} of the key attestation chain is expired or not yet valid")]
    Expired(usize),
    /// A certificate does not name the next one as its issuer.
    #[error("certificate {0} of the key attestation chain names another issuer than the next one")]
    NameChaining(usize),
    /// A certificate's signature does not verify with the next one's key.
    #[error("certificate {0} of the key attestation chain is not signed by the next one")]
    BadSignature(usize),
    /// The chain ends at Android's software attestation root, whose private key is public.
    #[error(
        "this phone's keystore attests only in software (its chain ends at Android's software attestation root, \
         whose private key is public), so its key cannot be told from a forged one: use a phone with hardware key \
         attestation (Android 8 or later with a TEE)"
    )]
    SoftwareRoot,
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
    /// attestation key made by the app, which Google's verifier refuses as well).
    #[error("certificate {0} of the key attestation chain carries a key description too")]
    Extended(usize),
    /// The attestation challenge is not the nonce the server issued.
    #[error("the key attestation challenge is not the one the server issued: ask for a new one and try again")]
    ChallengeMismatch,
    /// The chain is sound but the operator's policy refuses what it says.
    #[error(transparent)]
    Policy(#[from] PolicyViolation),
}

/// Verifies `chain` (DER certificates, leaf first) for the key `spki` and the issued `nonce` at
/// `now_ms` (Unix milliseconds). The [`policy`] is applied after, by the caller.
pub fn verify(chain: &[Vec<u8>], spki: &[u8], nonce: &[u8], now_ms: i64) -> Result<Attested, AttestationError> {
    let attested = parse_chain(chain, now_ms)?;
    if chain::leaf_key(chain)? != spki {
        return Err(AttestationError::KeyMismatch);
    }
    // Constant time is not needed: the nonce is no secret once the phone has it.
    if attested.challenge != nonce {
        return Err(AttestationError::ChallengeMismatch);
    }
    Ok(attested)
}

/// The chain checked and its key description read, whatever key and challenge it carries.
pub fn parse_chain(chain: &[Vec<u8>], now_ms: i64) -> Result<Attested, AttestationError> {
    if chain.is_empty() || chain.len() > MAX_CHAIN {
        return Err(AttestationError::Length);
    }
    let certs = chain::check(chain, now_ms)?;
    let leaf = certs.first().ok_or(AttestationError::Length)?;
    let description = match leaf.get_extension_unique(&chain::key_description_oid()) {
        Ok(Some(ext)) => KeyDescription::parse(ext.value).map_err(|why| {
            tracing::info!(why, "key description does not parse");
            AttestationError::NoKeyDescription
        })?,
        _ => return Err(AttestationError::NoKeyDescription),
    };
    Ok(Attested {
        security_level: description.security_level(),
        attestation_version: description.attestation_version,
        challenge: description.challenge.clone(),
        serials: chain::serials(&certs),
        description,
    })
}

#[cfg(test)]
mod vectors;

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::prelude::{FromDer, X509Certificate};

    /// The public keys (SubjectPublicKeyInfo DER) of the bundled Google roots.
    fn root_keys() -> Vec<Vec<u8>> {
        chain::keys_of(chain::ROOTS_PEM)
    }

    #[test]
    fn a_chain_ending_at_androids_software_root_is_refused_as_such() {
        let pem = include_bytes!("../../../roots/android-software-attestation-roots.pem");
        let roots: Vec<_> = x509_parser::pem::Pem::iter_from_buffer(pem).map(|p| p.unwrap().contents).collect();
        assert_eq!(roots.len(), 2);
        for root in roots {
            assert_eq!(parse_chain(&[root], NOW), Err(AttestationError::SoftwareRoot));
        }
    }

    #[test]
    fn the_serials_are_read_for_the_revocation_list() {
        let c = chain("normal_cert_chain.pem");
        let got = parse_chain(&c, NOW).unwrap();
        assert_eq!(got.serials.len(), 5);
        assert_eq!(got.serials[0], "1");
        // The 2019 issue of Google's RSA root.
        assert_eq!(got.serials[4], "d50ff25ba3f2d6b3");
    }

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
        let pems: Vec<_> = x509_parser::pem::Pem::iter_from_buffer(chain::ROOTS_PEM)
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
        // Its signatures all verify: the attestation key above the leaf carries a key description
        // (Google's verifier refuses these chains too: ADDITIONAL_ATTESTATION_EXTENSION).
        assert_eq!(verify(&c, &spki(&c[0]), b"challenge", NOW), Err(AttestationError::Extended(1)));
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
        leaf.custom_extensions
            .push(CustomExtension::from_oid_content(chain::KEY_DESCRIPTION, description(2, b"nonce")));
        let leaf = leaf.signed_by(&leaf_key, &Issuer::new(ca, &root_key)).unwrap();
        let c = vec![leaf.der().to_vec(), root.der().to_vec()];
        // Everything else is in order: the refusal is for the root alone.
        let now = crate::clock::now_ms();
        assert_eq!(verify(&c, &spki(&c[0]), b"nonce", now), Err(AttestationError::UnknownRoot));
        assert_eq!(verify(&c[..1], &spki(&c[0]), b"nonce", now), Err(AttestationError::UnknownRoot));
        let level = |der: Vec<u8>| KeyDescription::parse(&der).map(|d| d.security_level());
        assert_eq!(level(description(2, b"n")), Ok(SecurityLevel::Strongbox));
        assert_eq!(level(description(0, b"n")), Ok(SecurityLevel::Software));
        assert!(level(description(7, b"n")).is_err());
    }
}
