//! Registered devices and their keys.

use salur_core::crypto;

use super::Db;
use crate::clock::now_ms;
use crate::domain::devices::{Device, DeviceStatus};
use crate::error::ApiError;

#[derive(sqlx::FromRow)]
struct DeviceRow {
    device_id: String,
    worker_id: String,
    post_office: String,
    public_key: Vec<u8>,
    status: String,
    attestation: Option<String>,
}

impl TryFrom<DeviceRow> for Device {
    type Error = ApiError;
    fn try_from(r: DeviceRow) -> Result<Self, ApiError> {
        Ok(Device {
            device_id: r.device_id,
            worker_id: r.worker_id,
            post_office: r.post_office,
            public_key: r.public_key,
            status: r.status.parse()?,
            attestation_certs: r
                .attestation
                .and_then(|a| serde_json::from_str::<Vec<String>>(&a).ok())
                .map_or(0, |certs| certs.len() as u64),
        })
    }
}

const DEVICE_COLUMNS: &str = "device_id, worker_id, post_office, public_key, status, attestation";

impl Db {
    /// Registers a device as pending; the same registration again is a no-op, another key for
    /// a known device id is a conflict.
    pub async fn register_device(
        &self,
        device_id: &str,
        worker_id: &str,
        post_office: &str,
        spki: &[u8],
        attestation: &[String],
    ) -> Result<Device, ApiError> {
        if let Some(d) = self.device(device_id).await? {
            if d.public_key == spki && d.worker_id == worker_id && d.post_office == post_office {
                return Ok(d);
            }
            return Err(ApiError::Conflict(format!("device {device_id} is registered with another key or worker")));
        }
        let now = now_ms();
        sqlx::query(
            "INSERT INTO devices (device_id, worker_id, post_office, public_key, key_id, status, registered_ms, status_ms,
                                  attestation)
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8)",
        )
        .bind(device_id)
        .bind(worker_id)
        .bind(post_office)
        .bind(spki)
        .bind(crypto::key_id(spki))
        .bind(now)
        .bind(now)
        .bind((!attestation.is_empty()).then(|| serde_json::json!(attestation).to_string()))
        .execute(&self.write)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                ApiError::Conflict("this key is already registered to another device".into())
            }
            other => other.into(),
        })?;
        self.device(device_id).await?.ok_or_else(|| ApiError::Internal("device vanished".into()))
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
