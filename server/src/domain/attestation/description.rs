//! The key description (OID 1.3.6.1.4.1.11129.2.1.17) in an attested key's certificate, read as
//! far as Salur's policy needs: the versions and security levels, the challenge, and from both
//! authorization lists the key's origin, the root of trust, the OS version and patch levels and
//! the attestation application id (package names and signing-certificate digests).
//!
//! The schema is Android's (`KeyDescription` in the Keystore documentation): a SEQUENCE of
//! attestationVersion, attestationSecurityLevel, keyMintVersion, keyMintSecurityLevel,
//! attestationChallenge, uniqueId, softwareEnforced and hardwareEnforced; each authorization list
//! is a SEQUENCE of optional fields under EXPLICIT context-specific tags (large numbers: 704 is
//! the root of trust, 709 the application id). Values are read as BER, which DER is a part of, so
//! the lenient encodings of older phones (a BOOLEAN true of 0x01) still parse; unknown tags are
//! skipped, a tag read twice in one list is refused.

use x509_parser::asn1_rs::{Any, Class, Enumerated, FromBer, OctetString, Sequence, Set};

use super::SecurityLevel;

/// `verifiedBootState` of the root of trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootState {
    /// The whole boot chain verified with the key in the phone's fuses (a locked, stock phone).
    Verified,
    /// Verified with a key the owner installed (a custom OS, locked again).
    SelfSigned,
    /// Not verified: the bootloader is unlocked, any OS may run.
    Unverified,
    /// Verification failed.
    Failed,
}

impl BootState {
    /// The name Android's documentation and Google's JSON use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "VERIFIED",
            Self::SelfSigned => "SELF_SIGNED",
            Self::Unverified => "UNVERIFIED",
            Self::Failed => "FAILED",
        }
    }
}

/// `RootOfTrust` (tag 704): the phone's boot state, as its secure hardware saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootOfTrust {
    /// Digest of the key that verified the boot image (empty or zeros when unlocked on some phones).
    pub verified_boot_key: Vec<u8>,
    /// Whether the bootloader is locked.
    pub device_locked: bool,
    /// The boot state.
    pub verified_boot_state: BootState,
    /// Digest of the verified boot data (attestation version 3 and later).
    pub verified_boot_hash: Option<Vec<u8>>,
}

/// One package of the attestation application id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageInfo {
    /// The package name (e.g. `id.salur.app`).
    pub name: String,
    /// Its version code.
    pub version: i64,
}

/// `AttestationApplicationId` (tag 709): which app asked for the key, as Android's Keystore says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplicationId {
    /// The packages of the calling uid (one, unless packages share a uid).
    pub packages: Vec<PackageInfo>,
    /// SHA-256 of each signing certificate of the calling app.
    pub signature_digests: Vec<Vec<u8>>,
}

/// The fields of an `AuthorizationList` that Salur reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthorizationList {
    /// `origin` (702): 0 generated in the keystore, 2 imported, ...
    pub origin: Option<u32>,
    /// `rootOfTrust` (704).
    pub root_of_trust: Option<RootOfTrust>,
    /// `osVersion` (705), e.g. 160000 for Android 16.
    pub os_version: Option<u32>,
    /// `osPatchLevel` (706), YYYYMM.
    pub os_patch_level: Option<u32>,
    /// `attestationApplicationId` (709).
    pub application_id: Option<ApplicationId>,
    /// `vendorPatchLevel` (718), YYYYMMDD (or YYYYMM on older phones).
    pub vendor_patch_level: Option<u32>,
    /// `bootPatchLevel` (719), YYYYMMDD (or YYYYMM).
    pub boot_patch_level: Option<u32>,
}

/// The parts of a key description that Salur reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDescription {
    /// `attestationVersion` (e.g. 3 for Keymaster 4, 200 for KeyMint 2, 400 for KeyMint 4).
    pub attestation_version: i64,
    /// Who signed the attestation.
    pub attestation_security_level: SecurityLevel,
    /// `keyMintVersion` (`keymasterVersion` before KeyMint).
    pub keymint_version: i64,
    /// Where the key lives.
    pub keymint_security_level: SecurityLevel,
    /// `attestationChallenge`: the server's nonce.
    pub challenge: Vec<u8>,
    /// `uniqueId` (empty unless asked for).
    pub unique_id: Vec<u8>,
    /// What Android's OS enforces (and states: the application id is here).
    pub software_enforced: AuthorizationList,
    /// What the TEE or StrongBox enforces (the root of trust is here).
    pub hardware_enforced: AuthorizationList,
}

/// Origin value of a key generated inside the keystore.
pub const ORIGIN_GENERATED: u32 = 0;

/// Tags of the authorization list read here.
mod tag {
    pub const ORIGIN: u32 = 702;
    pub const ROOT_OF_TRUST: u32 = 704;
    pub const OS_VERSION: u32 = 705;
    pub const OS_PATCH_LEVEL: u32 = 706;
    pub const APPLICATION_ID: u32 = 709;
    pub const VENDOR_PATCH_LEVEL: u32 = 718;
    pub const BOOT_PATCH_LEVEL: u32 = 719;
}

/// Why a key description did not parse (a short word for the log: the device sees one refusal).
pub type ParseError = &'static str;

/// One BER value of type `T` filling all of `der`.
fn whole<'a, T: FromBer<'a>>(der: &'a [u8], what: ParseError) -> Result<T, ParseError> {
    match T::from_ber(der) {
        Ok(([], v)) => Ok(v),
        _ => Err(what),
    }
}

/// The next BER value of type `T` in `rest`.
fn next<'a, T: FromBer<'a>>(rest: &mut &'a [u8], what: ParseError) -> Result<T, ParseError> {
    let (r, v) = T::from_ber(rest).map_err(|_| what)?;
    *rest = r;
    Ok(v)
}

fn level(e: Enumerated) -> Result<SecurityLevel, ParseError> {
    match e.0 {
        0 => Ok(SecurityLevel::Software),
        1 => Ok(SecurityLevel::Tee),
        2 => Ok(SecurityLevel::Strongbox),
        _ => Err("unknown security level"),
    }
}

impl KeyDescription {
    /// Parses the extension's value (DER of the `KeyDescription` SEQUENCE).
    pub fn parse(der: &[u8]) -> Result<Self, ParseError> {
        let seq: Sequence = whole(der, "not a SEQUENCE")?;
        let mut rest = seq.content.as_ref();
        let attestation_version = next::<i64>(&mut rest, "attestationVersion")?;
        let attestation_security_level = level(next(&mut rest, "attestationSecurityLevel")?)?;
        let keymint_version = next::<i64>(&mut rest, "keyMintVersion")?;
        let keymint_security_level = level(next(&mut rest, "keyMintSecurityLevel")?)?;
        let challenge = next::<OctetString>(&mut rest, "attestationChallenge")?.as_ref().to_vec();
        let unique_id = next::<OctetString>(&mut rest, "uniqueId")?.as_ref().to_vec();
        let software: Sequence = next(&mut rest, "softwareEnforced")?;
        let hardware: Sequence = next(&mut rest, "hardwareEnforced")?;
        // KeyMint 4 may append fields; nothing after the two lists is read.
        Ok(Self {
            attestation_version,
            attestation_security_level,
            keymint_version,
            keymint_security_level,
            challenge,
            unique_id,
            software_enforced: AuthorizationList::parse(software.content.as_ref())?,
            hardware_enforced: AuthorizationList::parse(hardware.content.as_ref())?,
        })
    }

    /// Where the key is, as Google's verifier counts it: the lower of the two levels (an old
    /// phone's TEE keymaster attested by Android's software keystore is a software attestation).
    pub fn security_level(&self) -> SecurityLevel {
        self.attestation_security_level.min(self.keymint_security_level)
    }

    /// The application id (Android's keystore puts it in the software-enforced list; a phone that
    /// puts it in the hardware list is read too).
    pub fn application_id(&self) -> Option<&ApplicationId> {
        self.software_enforced.application_id.as_ref().or(self.hardware_enforced.application_id.as_ref())
    }

    /// The OS patch level, YYYYMM: the secure hardware's, else the OS's.
    pub fn os_patch_level(&self) -> Option<u32> {
        self.hardware_enforced.os_patch_level.or(self.software_enforced.os_patch_level)
    }
}

impl AuthorizationList {
    /// Parses the content of an authorization list SEQUENCE.
    fn parse(mut rest: &[u8]) -> Result<Self, ParseError> {
        let mut list = Self::default();
        let mut seen = Vec::new();
        while !rest.is_empty() {
            let field: Any = next(&mut rest, "authorization list field")?;
            if field.class() != Class::ContextSpecific {
                return Err("authorization list field is not context-specific");
            }
            let number = field.tag().0;
            if seen.contains(&number) {
                return Err("authorization list has a tag twice");
            }
            seen.push(number);
            let inner = field.data;
            match number {
                tag::ORIGIN => list.origin = Some(whole(inner, "origin")?),
                tag::ROOT_OF_TRUST => list.root_of_trust = Some(RootOfTrust::parse(inner)?),
                tag::OS_VERSION => list.os_version = Some(whole(inner, "osVersion")?),
                tag::OS_PATCH_LEVEL => list.os_patch_level = Some(whole(inner, "osPatchLevel")?),
                tag::APPLICATION_ID => {
                    let octets: OctetString = whole(inner, "attestationApplicationId")?;
                    list.application_id = Some(ApplicationId::parse(octets.as_ref())?);
                }
                tag::VENDOR_PATCH_LEVEL => list.vendor_patch_level = Some(whole(inner, "vendorPatchLevel")?),
                tag::BOOT_PATCH_LEVEL => list.boot_patch_level = Some(whole(inner, "bootPatchLevel")?),
                _ => {}
            }
        }
        Ok(list)
    }
}

impl RootOfTrust {
    fn parse(der: &[u8]) -> Result<Self, ParseError> {
        let seq: Sequence = whole(der, "rootOfTrust")?;
        let mut rest = seq.content.as_ref();
        let verified_boot_key = next::<OctetString>(&mut rest, "verifiedBootKey")?.as_ref().to_vec();
        let device_locked = next::<bool>(&mut rest, "deviceLocked")?;
        let verified_boot_state = match next::<Enumerated>(&mut rest, "verifiedBootState")?.0 {
            0 => BootState::Verified,
            1 => BootState::SelfSigned,
            2 => BootState::Unverified,
            3 => BootState::Failed,
            _ => return Err("unknown verifiedBootState"),
        };
        let verified_boot_hash = if rest.is_empty() {
            None
        } else {
            Some(next::<OctetString>(&mut rest, "verifiedBootHash")?.as_ref().to_vec())
        };
        Ok(Self { verified_boot_key, device_locked, verified_boot_state, verified_boot_hash })
    }
}

impl ApplicationId {
    fn parse(der: &[u8]) -> Result<Self, ParseError> {
        let seq: Sequence = whole(der, "AttestationApplicationId")?;
        let mut rest = seq.content.as_ref();
        let packages: Set = next(&mut rest, "package_infos")?;
        let digests: Set = next(&mut rest, "signature_digests")?;
        let mut id = Self::default();
        let mut p = packages.content.as_ref();
        while !p.is_empty() {
            let info: Sequence = next(&mut p, "AttestationPackageInfo")?;
            let mut f = info.content.as_ref();
            let name = next::<OctetString>(&mut f, "package_name")?;
            let version = next::<i64>(&mut f, "version")?;
            id.packages.push(PackageInfo { name: String::from_utf8_lossy(name.as_ref()).into_owned(), version });
        }
        let mut d = digests.content.as_ref();
        while !d.is_empty() {
            id.signature_digests.push(next::<OctetString>(&mut d, "signature_digest")?.as_ref().to_vec());
        }
        Ok(id)
    }
}
