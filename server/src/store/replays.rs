//! Signed requests already received, shared by every instance over the database: a request
//! replayed through another instance finds its id here and is refused.

use super::Db;
use crate::error::ApiError;

impl Db {
    /// Records the id of a verified signed request until `expires_ms`. False when this or any
    /// other instance recorded it before (a replay). One statement: of two instances receiving
    /// the same request at once, the primary key lets exactly one insert it.
    pub async fn remember_request(&self, id: &[u8; 32], expires_ms: i64) -> Result<bool, ApiError> {
        let done =
            sqlx::query("INSERT INTO seen_requests (id, expires_ms) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING")
                .bind(id.to_vec())
                .bind(expires_ms)
                .execute(&self.write)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets the requests remembered until `now_ms` or before (their time is outside the
    /// clock skew, so they would be refused as stale anyway); returns how many.
    pub async fn forget_requests(&self, now_ms: i64) -> Result<u64, ApiError> {
        let done =
            sqlx::query("DELETE FROM seen_requests WHERE expires_ms <= $1").bind(now_ms).execute(&self.write).await?;
        Ok(done.rows_affected())
    }

    /// How many signed requests are remembered (tests, `/metrics`).
    pub async fn remembered_requests(&self) -> Result<i64, ApiError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM seen_requests").fetch_one(&self.read).await?)
    }
}
