//! Enrolment codes (as SHA-256 digests only) and the registration nonces issued for them.

use serde::Serialize;

use super::Db;
use crate::clock::now_ms;
use crate::domain::devices::check_identifier;
use crate::error::ApiError;

/// An enrolment code as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    /// The worker it was issued for.
    pub worker_id: String,
    /// Their post office.
    pub post_office: String,
    /// When it stops working (Unix ms).
    pub expires_ms: i64,
    /// Whether a device registered with it.
    pub used: bool,
    /// The newest registration nonce issued for it, and until when it may be used.
    pub nonce: Option<(Vec<u8>, i64)>,
}

impl Enrolment {
    /// Whether it may still register a device at `now`.
    pub fn open_at(&self, now: i64) -> bool {
        !self.used && self.expires_ms > now
    }
}

/// An unused, unexpired code as listed to approvers (never the code: only its digest's start).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OpenEnrolment {
    /// The first 8 hex digits of the code's SHA-256, to tell codes apart.
    pub id: String,
    /// The worker.
    pub worker_id: String,
    /// Their post office.
    pub post_office: String,
    /// Who issued it.
    pub issued_by: String,
    /// When (Unix ms).
    pub created_ms: i64,
    /// Until when (Unix ms).
    pub expires_ms: i64,
}

#[derive(sqlx::FromRow)]
struct EnrolmentRow {
    worker_id: String,
    post_office: String,
    expires_ms: i64,
    used_ms: Option<i64>,
    nonce: Option<Vec<u8>>,
    nonce_expires_ms: Option<i64>,
}

impl Db {
    /// Issues a one-time code for `worker_id` at `post_office`, valid for `ttl_minutes` (bounded),
    /// stored as its hash and logged (without the code) as issued by `by`: the code, shown once,
    /// and its expiry. The API, `salur devices enrol` and the demo all issue through here.
    pub async fn issue_enrolment(
        &self,
        by: &crate::domain::audit::Actor,
        worker_id: &str,
        post_office: &str,
        ttl_minutes: Option<u32>,
        allow_unknown: bool,
    ) -> Result<(String, i64), ApiError> {
        use crate::domain::enrolment::{check_assignment, code_hash, new_code, ttl_minutes as bounded};
        let ttl = bounded(ttl_minutes)?;
        check_assignment(worker_id, post_office, self.assignment(worker_id, post_office).await?, allow_unknown)?;
        let code = new_code()?;
        let hash = code_hash(&code).ok_or_else(|| ApiError::Internal("a new code did not read back".into()))?;
        let expires_ms = now_ms() + i64::from(ttl) * 60_000;
        self.add_enrolment(&hash, worker_id, post_office, &by.name, expires_ms).await?;
        let detail = format!("post office {post_office}, {ttl} minutes");
        self.audit(crate::domain::audit::NewEntry {
            actor: by.clone(),
            action: crate::domain::audit::Action::EnrolmentIssued,
            target: Some(worker_id.to_string()),
            detail: Some(detail),
        })
        .await?;
        Ok((code, expires_ms))
    }

    /// Where the imported rosters place `worker_id` and `post_office`.
    pub async fn assignment(
        &self,
        worker_id: &str,
        post_office: &str,
    ) -> Result<crate::domain::enrolment::Assignment, ApiError> {
        let (w, p, both): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM recipients WHERE worker_id = $1 LIMIT 1) a),
                    (SELECT COUNT(*) FROM (SELECT 1 FROM area_stats WHERE post_office = $2 LIMIT 1) b),
                    (SELECT COUNT(*) FROM (SELECT 1 FROM recipients WHERE worker_id = $1 AND post_office = $2 LIMIT 1) c)",
        )
        .bind(worker_id)
        .bind(post_office)
        .fetch_one(&self.read)
        .await?;
        Ok(crate::domain::enrolment::Assignment {
            worker_known: w > 0,
            post_office_known: p > 0,
            worker_at_post_office: both > 0,
        })
    }

    /// Stores a new code's digest for `worker_id` at `post_office`, valid until `expires_ms`.
    pub async fn add_enrolment(
        &self,
        code_hash: &[u8; 32],
        worker_id: &str,
        post_office: &str,
        issued_by: &str,
        expires_ms: i64,
    ) -> Result<(), ApiError> {
        check_identifier("worker_id", worker_id)?;
        check_identifier("post_office", post_office)?;
        sqlx::query(
            "INSERT INTO enrolments (code_hash, worker_id, post_office, issued_by, created_ms, expires_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&code_hash[..])
        .bind(worker_id)
        .bind(post_office)
        .bind(issued_by)
        .bind(now_ms())
        .bind(expires_ms)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The code with this digest, if any.
    pub async fn enrolment(&self, code_hash: &[u8; 32]) -> Result<Option<Enrolment>, ApiError> {
        let row: Option<EnrolmentRow> = sqlx::query_as(
            "SELECT worker_id, post_office, expires_ms, used_ms, nonce, nonce_expires_ms FROM enrolments
             WHERE code_hash = $1",
        )
        .bind(&code_hash[..])
        .fetch_optional(&self.write)
        .await?;
        Ok(row.map(|r| Enrolment {
            worker_id: r.worker_id,
            post_office: r.post_office,
            expires_ms: r.expires_ms,
            used: r.used_ms.is_some(),
            nonce: r.nonce.zip(r.nonce_expires_ms),
        }))
    }

    /// Binds a new registration nonce to an open code (replacing any earlier one); false when the
    /// code is unknown, used or expired.
    pub async fn set_enrolment_nonce(
        &self,
        code_hash: &[u8; 32],
        nonce: &[u8],
        nonce_expires_ms: i64,
    ) -> Result<bool, ApiError> {
        let done = sqlx::query(
            "UPDATE enrolments SET nonce = $1, nonce_expires_ms = $2
             WHERE code_hash = $3 AND used_ms IS NULL AND expires_ms > $4",
        )
        .bind(nonce)
        .bind(nonce_expires_ms)
        .bind(&code_hash[..])
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Unused, unexpired codes, newest first.
    pub async fn open_enrolments(&self) -> Result<Vec<OpenEnrolment>, ApiError> {
        let rows: Vec<(Vec<u8>, String, String, String, i64, i64)> = sqlx::query_as(
            "SELECT code_hash, worker_id, post_office, issued_by, created_ms, expires_ms FROM enrolments
             WHERE used_ms IS NULL AND expires_ms > $1 ORDER BY created_ms DESC",
        )
        .bind(now_ms())
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(hash, worker_id, post_office, issued_by, created_ms, expires_ms)| OpenEnrolment {
                id: hex::encode(&hash[..4.min(hash.len())]),
                worker_id,
                post_office,
                issued_by,
                created_ms,
                expires_ms,
            })
            .collect())
    }
}
