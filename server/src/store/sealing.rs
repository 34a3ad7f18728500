//! The one-time pass that seals personal data stored before sealing existed, and the canary that
//! tells a wrong seal key at start instead of at the first unreadable row.

use super::seal::{evidence_aad, recipient_aad, roster_key_aad, Sealer};
use super::Db;
use crate::error::ApiError;

const CANARY_AAD: &[u8] = b"seal_state|canary";
const CANARY: &str = "salur seal canary";

type PlainRecipient = (String, Vec<u8>, String, String, String, Option<Vec<u8>>);

impl Db {
    /// Seals rows written before sealing (once), then checks the key against the canary.
    pub(super) async fn seal_existing(&self) -> Result<(), ApiError> {
        let canary: Option<String> =
            sqlx::query_scalar("SELECT canary FROM seal_state WHERE id = 1").fetch_one(&self.write).await?;
        if let Some(c) = canary {
            return match self.seal.open_text(CANARY_AAD, &c) {
                Ok(text) if text == CANARY => Ok(()),
                _ => Err(ApiError::BadRequest(
                    "the seal key does not open this database's personal data: start with the key it was sealed \
                     with (SALUR_SEAL_KEY_FILE, or seal.key in the data directory)"
                        .into(),
                )),
            };
        }
        let s = &self.seal;
        let mut tx = self.write.begin().await?;
        let recipients: Vec<PlainRecipient> =
            sqlx::query_as("SELECT roster_id, recipient, nik, name, address, template FROM recipients")
                .fetch_all(&mut *tx)
                .await?;
        for (roster, r, nik, name, address, template) in recipients {
            let aad = |column: &str| recipient_aad(column, &roster, &r);
            let text = |column: &str, v: &str| -> Result<String, ApiError> {
                if Sealer::is_sealed_text(v) {
                    Ok(v.to_string())
                } else {
                    s.seal_text(&aad(column), v)
                }
            };
            let template = match template {
                Some(t) if !Sealer::is_sealed_bytes(&t) => Some(s.seal_bytes(&aad("template"), &t)?),
                other => other,
            };
            sqlx::query(
                "UPDATE recipients SET nik = $1, name = $2, address = $3, template = $4
                 WHERE roster_id = $5 AND recipient = $6",
            )
            .bind(text("nik", &nik)?)
            .bind(text("name", &name)?)
            .bind(text("address", &address)?)
            .bind(template)
            .bind(&roster)
            .bind(&r)
            .execute(&mut *tx)
            .await?;
        }
        let evidence: Vec<(String, Vec<u8>, Option<Vec<u8>>)> =
            sqlx::query_as("SELECT receipt_id, data, embedding FROM evidence").fetch_all(&mut *tx).await?;
        for (id, data, embedding) in evidence {
            let seal = |column: &str, v: Vec<u8>| -> Result<Vec<u8>, ApiError> {
                if Sealer::is_sealed_bytes(&v) {
                    Ok(v)
                } else {
                    s.seal_bytes(&evidence_aad(column, &id), &v)
                }
            };
            let embedding = embedding.map(|e| seal("embedding", e)).transpose()?;
            sqlx::query("UPDATE evidence SET data = $1, embedding = $2 WHERE receipt_id = $3")
                .bind(seal("data", data)?)
                .bind(embedding)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
        }
        let keys: Vec<(String, Vec<u8>)> =
            sqlx::query_as("SELECT roster_id, roster_key FROM rosters").fetch_all(&mut *tx).await?;
        for (roster, key) in keys.into_iter().filter(|(_, k)| !Sealer::is_sealed_bytes(k)) {
            sqlx::query("UPDATE rosters SET roster_key = $1 WHERE roster_id = $2")
                .bind(s.seal_bytes(&roster_key_aad(&roster), &key)?)
                .bind(&roster)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE seal_state SET canary = $1 WHERE id = 1")
            .bind(s.seal_text(CANARY_AAD, CANARY)?)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
