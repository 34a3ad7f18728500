//! Invitation letters: the programme key that signs them and the rows they are printed from.

use salur_core::keys::{Signer, SoftwareSigner};
use salur_core::letter::{self, Letter};

use super::Db;
use crate::error::ApiError;

/// The one programme key's name in `programme_keys`.
const LETTER_KEY: &str = "letters";

/// The associated data of the sealed programme key.
fn programme_key_aad(name: &str) -> Vec<u8> {
    [b"programme_keys|pkcs8|", name.as_bytes()].concat()
}

/// One letter to print: what the recipient reads, and the signed token for its QR code.
#[derive(Debug, Clone)]
pub struct PrintedLetter {
    /// What the token signs.
    pub letter: Letter,
    /// The QR code's text.
    pub token: String,
    /// Name (printed, never in the token).
    pub name: String,
    /// Address.
    pub address: String,
    /// Post office that pays.
    pub post_office: String,
    /// Worker assigned.
    pub worker_id: String,
}

#[derive(sqlx::FromRow)]
struct LetterRow {
    recipient: Vec<u8>,
    name: String,
    address: String,
    amount: i64,
    post_office: String,
    worker_id: String,
}

impl Db {
    /// The programme key, created on first use and stored sealed.
    pub async fn programme_signer(&self) -> Result<SoftwareSigner, ApiError> {
        let (_, pkcs8) = SoftwareSigner::generate().map_err(|e| ApiError::Internal(e.to_string()))?;
        let pkcs8 = self
            .first_key_kept(
                "INSERT INTO programme_keys (key_name, pkcs8, created_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (key_name) DO NOTHING",
                "SELECT pkcs8 FROM programme_keys WHERE key_name = $1",
                LETTER_KEY,
                &programme_key_aad(LETTER_KEY),
                &pkcs8,
            )
            .await?;
        SoftwareSigner::from_pkcs8(&pkcs8).map_err(|e| ApiError::Internal(e.to_string()))
    }

    /// The programme's public key (SPKI DER): what phones and auditors verify letters with.
    pub async fn programme_public_key(&self) -> Result<Vec<u8>, ApiError> {
        self.programme_signer().await?.public_key_spki().map_err(|e| ApiError::Internal(e.to_string()))
    }

    /// Every letter of `roster_id`, signed, ordered by post office, worker and name.
    pub async fn letters(&self, roster_id: &str) -> Result<Vec<PrintedLetter>, ApiError> {
        let rows: Vec<LetterRow> = sqlx::query_as(
            "SELECT recipient, name, address, amount, post_office, worker_id FROM recipients WHERE roster_id = $1",
        )
        .bind(roster_id)
        .fetch_all(&self.read)
        .await?;
        if rows.is_empty() {
            return Err(ApiError::NotFound(format!("no recipients in roster {roster_id}: import it first")));
        }
        let signer = self.programme_signer().await?;
        let mut letters = Vec::with_capacity(rows.len());
        for r in rows {
            let aad = |column: &str| super::seal::recipient_aad(column, roster_id, &r.recipient);
            let letter = Letter {
                letter_id: letter::letter_id(roster_id, &r.recipient),
                roster: roster_id.to_string(),
                period: roster_id.to_string(),
                recipient: hex::encode(&r.recipient),
                amount: r.amount.max(0) as u64,
            };
            let token = letter::issue(&letter, &signer).map_err(|e| ApiError::Internal(e.to_string()))?;
            letters.push(PrintedLetter {
                letter,
                token,
                name: self.seal.open_text(&aad("name"), &r.name)?,
                address: self.seal.open_text(&aad("address"), &r.address)?,
                post_office: r.post_office,
                worker_id: r.worker_id,
            });
        }
        // Sorted here: sealed names do not sort in SQL.
        letters.sort_by(|a, b| (&a.post_office, &a.worker_id, &a.name).cmp(&(&b.post_office, &b.worker_id, &b.name)));
        Ok(letters)
    }
}
