//! Supervisors who approve overrides, and their secrets (never logged, never served).

use super::Db;
use crate::clock::now_ms;
use crate::domain::devices::check_identifier;
use crate::domain::overrides::Supervisor;
use crate::error::ApiError;

#[derive(sqlx::FromRow)]
struct SupervisorRow {
    secret: Vec<u8>,
    revoked_ms: Option<i64>,
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

impl Db {
    /// Adds a supervisor with `secret`; a conflict when the id is taken (secrets are never replaced
    /// silently).
    pub async fn add_supervisor(&self, supervisor_id: &str, post_office: &str, secret: &[u8]) -> Result<(), ApiError> {
        check_identifier("supervisor_id", supervisor_id)?;
        check_identifier("post_office", post_office)?;
        let added = sqlx::query(
            "INSERT INTO supervisors (supervisor_id, post_office, secret, created_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT (supervisor_id) DO NOTHING",
        )
        .bind(supervisor_id)
        .bind(post_office)
        .bind(secret)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        if added.rows_affected() == 0 {
            return Err(ApiError::Conflict(format!("supervisor {supervisor_id} already exists")));
        }
        Ok(())
    }
}

/// The supervisor `supervisor_id`, read inside the ingestion transaction.
pub(super) async fn supervisor(tx: &mut Tx, supervisor_id: &str) -> Result<Option<Supervisor>, ApiError> {
    let row: Option<SupervisorRow> =
        sqlx::query_as("SELECT secret, revoked_ms FROM supervisors WHERE supervisor_id = $1")
            .bind(supervisor_id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.map(|r| Supervisor { secret: r.secret, revoked: r.revoked_ms.is_some() }))
}
