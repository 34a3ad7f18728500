//! Registered devices and their keys.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use salur_core::crypto;
use salur_core::receipt::ChainReport;
use serde::Serialize;
use utoipa::ToSchema;

use super::Db;
use crate::clock::now_ms;
use crate::domain::attestation::SecurityLevel;
use crate::domain::audit::{Action, Actor, NewEntry};
use crate::domain::devices::{Device, DeviceStatus};
use crate::domain::enrolment;
use crate::error::ApiError;

#[derive(sqlx::FromRow)]
struct DeviceRow {
    device_id: String,
    worker_id: String,
    post_office: String,
    public_key: Vec<u8>,
    status: String,
    attestation: Option<String>,
    security_level: Option<String>,
    attestation_version: Option<i64>,
    attestation_challenge: Option<String>,
    upload_key: Option<Vec<u8>>,
}

impl TryFrom<DeviceRow> for Device {
    type Error = ApiError;
    fn try_from(r: DeviceRow) -> Result<Self, ApiError> {
        let security_level = SecurityLevel::parse(r.security_level.as_deref().unwrap_or("none"));
        Ok(Device {
            device_id: r.device_id,
            worker_id: r.worker_id,
            post_office: r.post_office,
            public_key: r.public_key,
            upload_key_id: r.upload_key.as_deref().map(|k| hex::encode(crypto::key_id(k))),
            upload_key: r.upload_key,
            status: r.status.parse()?,
            attestation_certs: r
                .attestation
                .and_then(|a| serde_json::from_str::<Vec<String>>(&a).ok())
                .map_or(0, |certs| certs.len() as u64),
            security_level,
            attestation_version: r.attestation_version,
            attestation_challenge: r.attestation_challenge,
            flagged: !security_level.is_hardware(),
        })
    }
}

const DEVICE_COLUMNS: &str = "device_id, worker_id, post_office, public_key, status, attestation, security_level, \
                              attestation_version, attestation_challenge, upload_key";

/// A device about to be registered with an enrolment code.
#[derive(Debug, Clone)]
pub struct NewDevice<'a> {
    /// Device id.
    pub device_id: &'a str,
    /// Worker (equal to the code's).
    pub worker_id: &'a str,
    /// Post office (equal to the code's).
    pub post_office: &'a str,
    /// SPKI DER of its key.
    pub spki: &'a [u8],
    /// The chain as sent (base64 DER, leaf first), kept for approvers.
    pub attestation: &'a [String],
    /// What the verified chain proved (`None` level: no chain, on a server that allows it).
    pub security_level: SecurityLevel,
    /// The attestation version, when verified.
    pub attestation_version: Option<i64>,
    /// The challenge the chain carried.
    pub challenge: Option<&'a [u8]>,
    /// Its first state (domain/enrolment.rs `initial_status`).
    pub status: DeviceStatus,
    /// SPKI DER of its upload key, if it named one, and that key's chain as sent.
    pub upload: Option<(&'a [u8], &'a [String])>,
}

impl Db {
    /// Registers a device and uses up its enrolment code (`code_hash`) in one transaction: of two
    /// registrations with one code, even at once, only the first succeeds. The same registration
    /// again (a retry after a lost answer) returns the device as it is; another key or worker for
    /// a known device id is a conflict.
    pub async fn enrol_device(&self, new: &NewDevice<'_>, code_hash: &[u8; 32]) -> Result<Device, ApiError> {
        if let Some(d) = self.device(new.device_id).await? {
            if d.public_key == new.spki && d.worker_id == new.worker_id && d.post_office == new.post_office {
                return Ok(d);
            }
            return Err(ApiError::Conflict(format!(
                "device {} is registered with another key or worker",
                new.device_id
            )));
        }
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        // The row lock (PostgreSQL) or the one writer (SQLite) orders concurrent uses of one code;
        // the second sees used_ms set and changes nothing.
        let used = sqlx::query(
            "UPDATE enrolments SET used_ms = $1, used_by_device = $2
             WHERE code_hash = $3 AND used_ms IS NULL AND expires_ms > $4 AND worker_id = $5 AND post_office = $6",
        )
        .bind(now)
        .bind(new.device_id)
        .bind(&code_hash[..])
        .bind(now)
        .bind(new.worker_id)
        .bind(new.post_office)
        .execute(&mut *tx)
        .await?;
        if used.rows_affected() != 1 {
            return Err(enrolment::refused().into());
        }
        sqlx::query(
            "INSERT INTO devices (device_id, worker_id, post_office, public_key, key_id, status, registered_ms, status_ms,
                                  attestation, security_level, attestation_version, attestation_challenge,
                                  upload_key, upload_attestation)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(new.device_id)
        .bind(new.worker_id)
        .bind(new.post_office)
        .bind(new.spki)
        .bind(crypto::key_id(new.spki))
        .bind(new.status.as_str())
        .bind(now)
        .bind(now)
        .bind((!new.attestation.is_empty()).then(|| serde_json::json!(new.attestation).to_string()))
        .bind(new.security_level.as_str())
        .bind(new.attestation_version)
        .bind(new.challenge.map(hex::encode))
        .bind(new.upload.map(|(k, _)| k))
        .bind(new.upload.and_then(|(_, chain)| (!chain.is_empty()).then(|| serde_json::json!(chain).to_string())))
        .execute(&mut *tx)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                ApiError::Conflict("this key (or device id) is already registered to another device".into())
            }
            other => other.into(),
        })?;
        tx.commit().await?;
        self.device(new.device_id).await?.ok_or_else(|| ApiError::Internal("device vanished".into()))
    }

    /// One device.
    pub async fn device(&self, device_id: &str) -> Result<Option<Device>, ApiError> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE device_id = $1");
        let row: Option<DeviceRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(device_id).fetch_optional(&self.write).await?;
        row.map(Device::try_from).transpose()
    }

    /// All devices.
    pub async fn devices(&self) -> Result<Vec<Device>, ApiError> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices ORDER BY device_id");
        let rows: Vec<DeviceRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&self.read).await?;
        rows.into_iter().map(Device::try_from).collect()
    }

    /// Approves or revokes a device.
    pub async fn set_device_status(&self, device_id: &str, status: DeviceStatus) -> Result<Device, ApiError> {
        let done = sqlx::query("UPDATE devices SET status = $1, status_ms = $2 WHERE device_id = $3")
            .bind(status.as_str())
            .bind(now_ms())
            .bind(device_id)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(ApiError::NotFound(format!("no device {device_id}")));
        }
        self.device(device_id).await?.ok_or_else(|| ApiError::Internal("device vanished".into()))
    }

    /// Approves or revokes a device on a staff member's word, logged: the one path for the API's
    /// buttons and `salur devices approve|revoke`.
    pub async fn decide_device(&self, by: &Actor, device_id: &str, status: DeviceStatus) -> Result<Device, ApiError> {
        let action = match status {
            DeviceStatus::Approved => Action::DeviceApproved,
            DeviceStatus::Revoked => Action::DeviceRevoked,
            DeviceStatus::Pending => return Err(ApiError::BadRequest("a device is approved or revoked".into())),
        };
        // The change and its audit entry commit together: no crash between them leaves an
        // approval or a revocation unlogged.
        let mut tx = self.write.begin().await?;
        let worker: Option<String> = sqlx::query_scalar("SELECT worker_id FROM devices WHERE device_id = $1")
            .bind(device_id)
            .fetch_optional(&mut *tx)
            .await?;
        let worker = worker.ok_or_else(|| ApiError::NotFound(format!("no device {device_id}")))?;
        sqlx::query("UPDATE devices SET status = $1, status_ms = $2 WHERE device_id = $3")
            .bind(status.as_str())
            .bind(now_ms())
            .bind(device_id)
            .execute(&mut *tx)
            .await?;
        let detail = Some(format!("worker {worker}"));
        let entry = NewEntry { actor: by.clone(), action, target: Some(device_id.to_string()), detail };
        super::audit::append(&mut tx, entry).await?;
        tx.commit().await?;
        self.device(device_id).await?.ok_or_else(|| ApiError::Internal("device vanished".into()))
    }

    /// Everything needed to check a device's chain offline, logged as an export by `by`.
    pub async fn export_device(&self, by: &Actor, device_id: &str) -> Result<DeviceExport, ApiError> {
        let device =
            self.device(device_id).await?.ok_or_else(|| ApiError::NotFound(format!("no device {device_id}")))?;
        let receipts = self.device_receipts(device_id).await?;
        let report = salur_core::receipt::verify_chain(&device.public_key, receipts.iter().map(Vec::as_slice));
        let attestation = self.device_attestation(device_id).await?;
        let detail = Some(format!("{} receipts", receipts.len()));
        self.audit(NewEntry {
            actor: by.clone(),
            action: Action::DeviceExported,
            target: Some(device_id.to_string()),
            detail,
        })
        .await?;
        Ok(DeviceExport {
            format: EXPORT_FORMAT,
            exported_ms: now_ms(),
            key_id: hex::encode(crypto::key_id(&device.public_key)),
            public_key: B64.encode(&device.public_key),
            device,
            attestation,
            receipts: receipts.iter().map(|r| B64.encode(r)).collect(),
            verification: report,
        })
    }

    /// The attestation certificates (base64 DER, leaf first) `device_id` sent at registration.
    pub async fn device_attestation(&self, device_id: &str) -> Result<Vec<String>, ApiError> {
        let json: Option<Option<String>> = sqlx::query_scalar("SELECT attestation FROM devices WHERE device_id = $1")
            .bind(device_id)
            .fetch_optional(&self.read)
            .await?;
        match json.flatten() {
            Some(j) => serde_json::from_str(&j).map_err(|e| ApiError::Internal(format!("stored attestation: {e}"))),
            None => Ok(Vec::new()),
        }
    }
}

/// Version of the export bundle's layout.
pub const EXPORT_FORMAT: &str = "salur-device-export-1";

/// Everything needed to check a device's chain offline (`salur receipts verify-chain --bundle`).
#[derive(Serialize, ToSchema)]
pub struct DeviceExport {
    /// [`EXPORT_FORMAT`].
    pub format: &'static str,
    /// When it was made.
    pub exported_ms: i64,
    /// The device as registered.
    pub device: Device,
    /// Key id (hex).
    pub key_id: String,
    /// SPKI DER, base64.
    pub public_key: String,
    /// The attestation chain sent at registration (base64 DER, leaf first).
    pub attestation: Vec<String>,
    /// The receipts (base64 COSE_Sign1), in sequence order.
    pub receipts: Vec<String>,
    /// The server's check of them.
    pub verification: ChainReport,
}
