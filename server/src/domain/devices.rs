//! Devices: their registration state and the fields a phone may claim at registration.

use std::str::FromStr;

use serde::Serialize;

use salur_core::request_auth::KeyRole;

use super::attestation::SecurityLevel;

/// Registration state of a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    /// Waiting for an administrator.
    Pending,
    /// May upload.
    Approved,
    /// May no longer upload; its receipts stay.
    Revoked,
}

impl DeviceStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Revoked => "revoked",
        }
    }
}

/// Why a device may not do what it asked, or what it claimed is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// The device waits for an approver.
    #[error("the device is waiting for approval by an administrator")]
    Pending,
    /// The device was revoked.
    #[error("the device was revoked: contact your supervisor")]
    Revoked,
    /// An identifier (named by the field) that is not 1 to 64 letters, digits, `-`, `_` or `.`.
    #[error("{field} must be 1 to 64 letters, digits, '-', '_' or '.'")]
    BadIdentifier {
        /// The field, as the caller names it (`worker_id`, …).
        field: String,
    },
    /// A request signed with the upload key on a route it does not serve.
    #[error(
        "the upload key only hands in receipts, their evidence and the chain's status: sign this request with the \
         device key (unlock the phone)"
    )]
    UploadKeyScope,
    /// A request signed with an upload key the device never registered.
    #[error("this device registered no upload key: sign with the device key")]
    NoUploadKey,
    /// The upload key offered at registration breaks a rule ([`check_upload_key`]).
    #[error("upload key: {0}")]
    BadUploadKey(&'static str),
    /// The device key is attested in secure hardware and the upload key is not.
    #[error(
        "the device key is attested in secure hardware, so the upload key must be too: send its attestation, made \
         with the same nonce"
    )]
    UploadKeyLessAttested,
    /// A stored status that is none of the known ones (a fault on the server's side).
    #[error("unknown device status {0}")]
    UnknownStatus(String),
}

impl FromStr for DeviceStatus {
    type Err = DeviceError;
    fn from_str(s: &str) -> Result<Self, DeviceError> {
        Ok(match s {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "revoked" => Self::Revoked,
            other => return Err(DeviceError::UnknownStatus(other.to_string())),
        })
    }
}

/// A registered device.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Device {
    /// Device id.
    pub device_id: String,
    /// Worker using it.
    pub worker_id: String,
    /// Post office it belongs to.
    pub post_office: String,
    /// SPKI DER of its signing key.
    #[serde(skip)]
    pub public_key: Vec<u8>,
    /// SPKI DER of its upload key, when it registered one ([`KeyRole::Upload`]).
    #[serde(skip)]
    pub upload_key: Option<Vec<u8>>,
    /// The upload key's id (hex, first 16 bytes of the SHA-256 of its SPKI), when registered.
    pub upload_key_id: Option<String>,
    /// Registration state.
    pub status: DeviceStatus,
    /// Certificates in the key attestation chain sent at registration (0: none sent).
    pub attestation_certs: u64,
    /// Where its key lives, as its verified attestation said (`none`: no attestation).
    pub security_level: SecurityLevel,
    /// The attestation's `attestationVersion`, when verified.
    pub attestation_version: Option<i64>,
    /// The attestation challenge (hex): the nonce issued for its enrolment code.
    pub attestation_challenge: Option<String>,
    /// Whether the dashboard flags it: its key is not proven to be in secure hardware.
    pub flagged: bool,
}

impl Device {
    /// Whether the device may upload, or why not (in words for the phone).
    pub fn may_upload(&self) -> Result<(), DeviceError> {
        match self.status {
            DeviceStatus::Approved => Ok(()),
            DeviceStatus::Pending => Err(DeviceError::Pending),
            DeviceStatus::Revoked => Err(DeviceError::Revoked),
        }
    }

    /// The key a request signed as `role` must verify with, for a route that hands in what the
    /// device signed (`hand_in`) or not: the upload key serves hand-in routes only, so a locked
    /// (or stolen) phone can upload what exists but cannot register, read a roster or ask for
    /// anything else.
    pub fn request_key(&self, role: KeyRole, hand_in: bool) -> Result<&[u8], DeviceError> {
        match role {
            KeyRole::Device => Ok(&self.public_key),
            KeyRole::Upload if !hand_in => Err(DeviceError::UploadKeyScope),
            // Revoked, a phone hands in with the device key only: after the worker's unlock, not
            // from a stolen phone in someone's pocket.
            KeyRole::Upload if self.status == DeviceStatus::Revoked => Err(DeviceError::Revoked),
            KeyRole::Upload => self.upload_key.as_deref().ok_or(DeviceError::NoUploadKey),
        }
    }

    /// Whether the device may hand in what it already signed (receipts, their evidence, its
    /// chain's status): a revoked device may, and what it sends is held for an auditor, so that a
    /// worker's honest payments are not stranded on a phone revoked while offline.
    pub fn may_hand_in(&self) -> Result<(), DeviceError> {
        match self.status {
            DeviceStatus::Revoked => Ok(()),
            _ => self.may_upload(),
        }
    }
}

/// Whether `upload` may serve beside the device key `device` (SPKI DER each), given where each
/// key's attestation placed it (`None`: no attestation sent): another key than the device key,
/// and no less attested, so that a phone whose device key is proven to live in secure hardware
/// cannot name a software key to upload for it. (Each chain is verified against the same
/// registration nonce, and judged by the operator's policy, before this.)
pub fn check_upload_key(
    device: &[u8],
    upload: &[u8],
    device_level: SecurityLevel,
    upload_level: SecurityLevel,
) -> Result<(), DeviceError> {
    if device == upload {
        return Err(DeviceError::BadUploadKey("it must be another key than the device key"));
    }
    if device_level.is_hardware() && !upload_level.is_hardware() {
        return Err(DeviceError::UploadKeyLessAttested);
    }
    Ok(())
}

/// An identifier a phone sends at registration (device, worker, post office): 1 to 64 letters,
/// digits, `-`, `_` or `.`, so that it is safe in logs, URLs and file names.
pub fn check_identifier(name: &str, value: &str) -> Result<(), DeviceError> {
    if value.is_empty() || value.len() > 64 || !value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(DeviceError::BadIdentifier { field: name.to_string() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_short_and_plain() {
        assert!(check_identifier("worker_id", "w-01.a_b").is_ok());
        for bad in ["", "a b", "a/b", "é", &"x".repeat(65)] {
            assert_eq!(
                check_identifier("worker_id", bad),
                Err(DeviceError::BadIdentifier { field: "worker_id".into() })
            );
        }
        assert_eq!(
            check_identifier("post_office", "").unwrap_err().to_string(),
            "post_office must be 1 to 64 letters, digits, '-', '_' or '.'"
        );
    }

    #[test]
    fn only_an_approved_device_uploads() {
        let mut d = device(None);
        d.status = DeviceStatus::Pending;
        assert_eq!(d.may_upload(), Err(DeviceError::Pending));
        assert_eq!(DeviceError::Pending.to_string(), "the device is waiting for approval by an administrator");
        d.status = DeviceStatus::Approved;
        assert!(d.may_upload().is_ok());
        d.status = DeviceStatus::Revoked;
        assert_eq!(d.may_upload(), Err(DeviceError::Revoked));
        assert_eq!(DeviceError::Revoked.to_string(), "the device was revoked: contact your supervisor");
        assert!(d.may_hand_in().is_ok(), "a revoked phone still hands in what it signed");
        d.status = DeviceStatus::Pending;
        assert_eq!(d.may_hand_in(), Err(DeviceError::Pending));
        d.status = DeviceStatus::Revoked;
        for s in [DeviceStatus::Pending, DeviceStatus::Approved, DeviceStatus::Revoked] {
            assert_eq!(s.as_str().parse::<DeviceStatus>().unwrap(), s);
        }
        assert_eq!("lost".parse::<DeviceStatus>(), Err(DeviceError::UnknownStatus("lost".into())));
    }

    fn device(upload: Option<&[u8]>) -> Device {
        Device {
            device_id: "d".into(),
            worker_id: "w".into(),
            post_office: "p".into(),
            public_key: b"device".to_vec(),
            upload_key: upload.map(<[u8]>::to_vec),
            upload_key_id: None,
            status: DeviceStatus::Approved,
            attestation_certs: 0,
            security_level: SecurityLevel::Tee,
            attestation_version: None,
            attestation_challenge: None,
            flagged: false,
        }
    }

    #[test]
    fn the_upload_key_serves_hand_in_routes_only() {
        let d = device(Some(b"upload"));
        assert_eq!(d.request_key(KeyRole::Device, false).unwrap(), b"device");
        assert_eq!(d.request_key(KeyRole::Device, true).unwrap(), b"device");
        assert_eq!(d.request_key(KeyRole::Upload, true).unwrap(), b"upload");
        assert_eq!(d.request_key(KeyRole::Upload, false), Err(DeviceError::UploadKeyScope));
        assert_eq!(device(None).request_key(KeyRole::Upload, true), Err(DeviceError::NoUploadKey));
        let revoked = Device { status: DeviceStatus::Revoked, ..device(Some(b"upload")) };
        assert_eq!(revoked.request_key(KeyRole::Upload, true), Err(DeviceError::Revoked));
        assert_eq!(revoked.request_key(KeyRole::Device, true).unwrap(), b"device");
    }

    #[test]
    fn an_upload_key_is_another_key_and_no_less_attested() {
        use SecurityLevel as L;
        assert!(check_upload_key(b"a", b"b", L::Tee, L::Tee).is_ok());
        assert!(check_upload_key(b"a", b"b", L::Tee, L::Strongbox).is_ok());
        assert!(check_upload_key(b"a", b"b", L::None, L::None).is_ok());
        assert!(matches!(check_upload_key(b"a", b"a", L::None, L::None), Err(DeviceError::BadUploadKey(_))));
        for weaker in [L::None, L::Software] {
            assert_eq!(check_upload_key(b"a", b"b", L::Strongbox, weaker), Err(DeviceError::UploadKeyLessAttested));
        }
    }
}
