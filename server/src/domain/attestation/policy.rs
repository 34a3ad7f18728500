//! What a verified attestation must say for a phone to register: our app (package name and
//! release signing certificate), an intact phone (verified boot, locked bootloader), a recent
//! enough security patch, a key generated inside the keystore, and no revoked certificate in its
//! chain. The operator sets it with `salur serve` flags (docs/security.md); a failure is refused,
//! or held pending for an approver with the reason in the audit log (`--attestation-failure hold`),
//! except a revoked certificate, which is always refused.

use std::sync::Arc;

use super::description::{BootState, KeyDescription, ORIGIN_GENERATED};
use super::revocation::{RevocationFile, RevocationList};

/// What becomes of a device that fails the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnFail {
    /// Registration is refused (403 `attestation_refused`, naming the check).
    #[default]
    Refuse,
    /// Registered pending, for an approver to decide; the failed check is in the audit entry.
    HoldPending,
}

/// The operator's attestation policy.
#[derive(Debug, Clone)]
pub struct AttestationPolicy {
    /// Package names of our app (empty: the package is not checked, and the server says so).
    pub package_names: Vec<String>,
    /// SHA-256 of our release signing certificate(s) (empty: not checked, and the server says so).
    pub signing_digests: Vec<[u8; 32]>,
    /// Lowest OS patch level accepted, YYYYMM.
    pub min_os_patch_level: Option<u32>,
    /// The boot state must be `VERIFIED` (a stock, verified OS).
    pub require_verified_boot: bool,
    /// The bootloader must be locked.
    pub require_locked: bool,
    /// Refuse, or hold pending.
    pub on_fail: OnFail,
    /// Google's revocation status list, as the operator keeps it.
    pub revocations: Option<Arc<RevocationFile>>,
}

impl Default for AttestationPolicy {
    /// Boot verified and locked, nothing else (no app identity, no patch level, no list).
    fn default() -> Self {
        Self {
            package_names: Vec::new(),
            signing_digests: Vec::new(),
            min_os_patch_level: None,
            require_verified_boot: true,
            require_locked: true,
            on_fail: OnFail::Refuse,
            revocations: None,
        }
    }
}

/// Which check a verified attestation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    /// The key was made for another app.
    #[error("app check failed: the key was made for package {found}, not {expected}")]
    Package {
        /// What the attestation names (comma-separated; `none` if absent).
        found: String,
        /// What the server accepts.
        expected: String,
    },
    /// The app is signed by another certificate (a modified or re-signed build).
    #[error("signing digest check failed: the app is signed by another certificate ({found}), not the release one")]
    SigningDigest {
        /// The attested digests, hex (`none` if absent).
        found: String,
    },
    /// The boot state is not VERIFIED.
    #[error("boot state check failed: verified boot state is {0}, not VERIFIED (a modified or unverified OS)")]
    BootState(&'static str),
    /// The bootloader is unlocked.
    #[error("bootloader check failed: the phone's bootloader is unlocked")]
    Unlocked,
    /// No root of trust in the hardware-enforced list.
    #[error("boot state check failed: the attestation carries no hardware root of trust")]
    NoRootOfTrust,
    /// The security patch is older than allowed.
    #[error("patch level check failed: OS patch level {found} is older than the minimum {min}")]
    PatchLevel {
        /// The attested level, YYYYMM (0: not stated).
        found: u32,
        /// The minimum.
        min: u32,
    },
    /// The key was imported, not generated in the keystore.
    #[error("key origin check failed: the key was not generated inside the phone's keystore")]
    Imported,
    /// A certificate of the chain is on Google's revocation list.
    #[error("revocation check failed: certificate {serial} of the chain is {status} by Google ({reason})")]
    Revoked {
        /// Its serial, hex.
        serial: String,
        /// REVOKED or SUSPENDED.
        status: String,
        /// Google's reason.
        reason: String,
    },
}

impl PolicyViolation {
    /// Whether this failure is refused even under [`OnFail::HoldPending`].
    pub fn always_refused(&self) -> bool {
        matches!(self, Self::Revoked { .. })
    }
}

/// Checks `description` against `policy` (everything but revocation), in a fixed order: boot
/// state, bootloader, key origin, package, signing digest, patch level.
pub fn check(description: &KeyDescription, policy: &AttestationPolicy) -> Result<(), PolicyViolation> {
    let hw = &description.hardware_enforced;
    if policy.require_verified_boot || policy.require_locked {
        let rot = hw.root_of_trust.as_ref().ok_or(PolicyViolation::NoRootOfTrust)?;
        if policy.require_verified_boot && rot.verified_boot_state != BootState::Verified {
            return Err(PolicyViolation::BootState(rot.verified_boot_state.as_str()));
        }
        if policy.require_locked && !rot.device_locked {
            return Err(PolicyViolation::Unlocked);
        }
    }
    if hw.origin.is_some_and(|o| o != ORIGIN_GENERATED) {
        return Err(PolicyViolation::Imported);
    }
    let app = description.application_id();
    if !policy.package_names.is_empty() {
        let names: Vec<&str> = app.map(|a| a.packages.iter().map(|p| p.name.as_str()).collect()).unwrap_or_default();
        if !names.iter().any(|n| policy.package_names.iter().any(|p| p == n)) {
            return Err(PolicyViolation::Package {
                found: if names.is_empty() { "none".into() } else { names.join(",") },
                expected: policy.package_names.join(","),
            });
        }
    }
    if !policy.signing_digests.is_empty() {
        let digests: Vec<&[u8]> =
            app.map(|a| a.signature_digests.iter().map(Vec::as_slice).collect()).unwrap_or_default();
        if !digests.iter().any(|d| policy.signing_digests.iter().any(|p| p.as_slice() == *d)) {
            let found = digests.iter().map(hex::encode).collect::<Vec<_>>().join(",");
            return Err(PolicyViolation::SigningDigest { found: if found.is_empty() { "none".into() } else { found } });
        }
    }
    if let Some(min) = policy.min_os_patch_level {
        let found = description.os_patch_level().unwrap_or(0);
        if found < min {
            return Err(PolicyViolation::PatchLevel { found, min });
        }
    }
    Ok(())
}

/// The first certificate of `serials` on `list`.
pub fn check_revocation(serials: &[String], list: &RevocationList) -> Result<(), PolicyViolation> {
    match list.first_listed(serials) {
        Some((serial, entry)) => Err(PolicyViolation::Revoked {
            serial: serial.to_string(),
            status: entry.status.to_ascii_lowercase(),
            reason: entry.reason.clone().unwrap_or_else(|| "no reason given".into()),
        }),
        None => Ok(()),
    }
}

impl AttestationPolicy {
    /// Revocation first (always refused), then [`check`].
    pub fn judge(&self, attested: &super::Attested) -> Result<(), PolicyViolation> {
        if let Some(file) = &self.revocations {
            check_revocation(&attested.serials, &file.current())?;
        }
        check(&attested.description, self)
    }

    /// Whether the app's identity is checked (package and signing digest both set).
    pub fn checks_app_identity(&self) -> bool {
        !self.package_names.is_empty() && !self.signing_digests.is_empty()
    }

    /// A minimum patch level from `YYYYMM` (2017-01 to 2099-12).
    pub fn parse_patch_level(s: &str) -> Result<u32, String> {
        let n: u32 = s.trim().parse().map_err(|_| format!("{s}: a patch level is YYYYMM, e.g. 202501"))?;
        let (year, month) = (n / 100, n % 100);
        if (2017..=2099).contains(&year) && (1..=12).contains(&month) {
            Ok(n)
        } else {
            Err(format!("{s}: a patch level is YYYYMM, e.g. 202501"))
        }
    }

    /// A signing digest from 64 hex digits (colons allowed, as `apksigner` and keytool print them).
    pub fn parse_digest(s: &str) -> Result<[u8; 32], String> {
        let clean: String = s.chars().filter(|c| *c != ':').collect();
        let bytes = hex::decode(clean.trim()).map_err(|_| format!("{s}: a signing digest is 64 hex digits"))?;
        bytes.try_into().map_err(|_| format!("{s}: a signing digest is SHA-256, 64 hex digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::description::RootOfTrust;
    use super::*;

    /// The Pixel 7 Pro's description (Google's `normal_cert_chain.pem`): verified, locked,
    /// patch 2023-02, app `com.google.attestationexample`.
    fn pixel() -> KeyDescription {
        let path = format!("{}/../test-vectors/attestation/normal_cert_chain.pem", env!("CARGO_MANIFEST_DIR"));
        let pem = std::fs::read(path).unwrap();
        let chain: Vec<_> = x509_parser::pem::Pem::iter_from_buffer(&pem).map(|p| p.unwrap().contents).collect();
        super::super::parse_chain(&chain, 1_677_628_800_000).unwrap().description
    }

    const DIGEST: &str = "68856d1d06f637d6255face5b224db43a9514ace538bb1548b844480fcd85c87";

    fn ours() -> AttestationPolicy {
        AttestationPolicy {
            package_names: vec!["com.google.attestationexample".into()],
            signing_digests: vec![AttestationPolicy::parse_digest(DIGEST).unwrap()],
            min_os_patch_level: Some(202301),
            ..AttestationPolicy::default()
        }
    }

    #[test]
    fn our_app_on_an_intact_phone_passes() {
        assert_eq!(check(&pixel(), &ours()), Ok(()));
        assert_eq!(check(&pixel(), &AttestationPolicy::default()), Ok(()));
        assert!(ours().checks_app_identity());
        assert!(!AttestationPolicy::default().checks_app_identity());
    }

    #[test]
    fn each_failed_check_is_named() {
        let policy = AttestationPolicy { package_names: vec!["id.salur.app".into()], ..ours() };
        let err = check(&pixel(), &policy).unwrap_err();
        assert!(matches!(&err, PolicyViolation::Package { found, .. } if found == "com.google.attestationexample"));
        assert!(err.to_string().starts_with("app check failed"), "{err}");

        let policy = AttestationPolicy { signing_digests: vec![[7; 32]], ..ours() };
        let err = check(&pixel(), &policy).unwrap_err();
        assert_eq!(err, PolicyViolation::SigningDigest { found: DIGEST.into() });
        assert!(err.to_string().contains("signing digest check failed"));

        let policy = AttestationPolicy { min_os_patch_level: Some(202406), ..ours() };
        let err = check(&pixel(), &policy).unwrap_err();
        assert_eq!(err, PolicyViolation::PatchLevel { found: 202302, min: 202406 });
        assert!(err.to_string().contains("patch level check failed"));

        let mut unlocked = pixel();
        let rot = unlocked.hardware_enforced.root_of_trust.as_mut().unwrap();
        rot.device_locked = false;
        rot.verified_boot_state = BootState::Unverified;
        let err = check(&unlocked, &ours()).unwrap_err();
        assert_eq!(err, PolicyViolation::BootState("UNVERIFIED"));
        assert!(err.to_string().contains("boot state check failed"));
        // Unverified boot alone allowed: the unlocked bootloader is still named.
        let relaxed = AttestationPolicy { require_verified_boot: false, ..ours() };
        assert_eq!(check(&unlocked, &relaxed), Err(PolicyViolation::Unlocked));
        let none = AttestationPolicy { require_verified_boot: false, require_locked: false, ..ours() };
        assert_eq!(check(&unlocked, &none), Ok(()));

        let mut custom_os = pixel();
        custom_os.hardware_enforced.root_of_trust =
            Some(RootOfTrust { verified_boot_state: BootState::SelfSigned, ..rot_of(&pixel()) });
        assert_eq!(check(&custom_os, &ours()), Err(PolicyViolation::BootState("SELF_SIGNED")));

        let mut no_rot = pixel();
        no_rot.hardware_enforced.root_of_trust = None;
        assert_eq!(check(&no_rot, &ours()), Err(PolicyViolation::NoRootOfTrust));

        let mut imported = pixel();
        imported.hardware_enforced.origin = Some(2);
        assert_eq!(check(&imported, &ours()), Err(PolicyViolation::Imported));

        let mut no_app = pixel();
        no_app.software_enforced.application_id = None;
        assert!(matches!(check(&no_app, &ours()), Err(PolicyViolation::Package { found, .. }) if found == "none"));
    }

    fn rot_of(d: &KeyDescription) -> RootOfTrust {
        d.hardware_enforced.root_of_trust.clone().unwrap()
    }

    #[test]
    fn a_revoked_certificate_is_named_and_always_refused() {
        let list = RevocationList::parse(
            br#"{"entries": {"D50FF25BA3F2D6B3": {"status": "REVOKED", "reason": "KEY_COMPROMISE"}}}"#,
        )
        .unwrap();
        let serials = vec!["1".to_string(), "d50ff25ba3f2d6b3".to_string()];
        let err = check_revocation(&serials, &list).unwrap_err();
        assert!(err.always_refused());
        assert_eq!(
            err.to_string(),
            "revocation check failed: certificate d50ff25ba3f2d6b3 of the chain is revoked by Google (KEY_COMPROMISE)"
        );
        assert_eq!(check_revocation(&serials[..1], &list), Ok(()));
        assert!(!PolicyViolation::Unlocked.always_refused());
    }

    #[test]
    fn flags_parse_or_say_their_form() {
        assert_eq!(AttestationPolicy::parse_patch_level("202501"), Ok(202501));
        assert!(AttestationPolicy::parse_patch_level("2025-01").is_err());
        assert!(AttestationPolicy::parse_patch_level("202513").is_err());
        assert!(AttestationPolicy::parse_patch_level("20250105").is_err());
        let colons = DIGEST
            .as_bytes()
            .chunks(2)
            .map(|c| std::str::from_utf8(c).unwrap().to_uppercase())
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(AttestationPolicy::parse_digest(&colons), AttestationPolicy::parse_digest(DIGEST));
        assert!(AttestationPolicy::parse_digest("abcd").is_err());
    }
}
