//! What a payment's live face was compared with when the server did not hold it: the face crop of
//! an e-KTP photo and the template enrolled on the phone (sealed, checked against the hashes the
//! receipt signs), and the first verified enrolment kept as the recipient's reference.

use salur_core::face::Template;
use salur_core::receipt::Receipt;

use super::seal::{evidence_aad, recipient_aad};
use super::Db;
use crate::clock::now_ms;
use crate::error::ApiError;

/// Largest card face crop accepted (a 112x112 JPEG is a few kilobytes).
pub const MAX_CARD_FACE: usize = 24 * 1024;
/// Largest enrolled template accepted (a template is well under one kilobyte).
pub const MAX_ENROLLED: usize = 8 * 1024;

/// A payment's reference parts as the server holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReferenceParts {
    /// The e-KTP photo's aligned face crop (JPEG).
    pub card_face: Option<Vec<u8>>,
    /// The enrolled template (`SLFT` bytes).
    pub enrolled: Option<Vec<u8>>,
}

#[derive(sqlx::FromRow)]
struct PartsRow {
    card_face: Option<Vec<u8>>,
    enrolled: Option<Vec<u8>>,
}

/// A recipient's two possible references, sealed.
#[derive(sqlx::FromRow)]
struct HeldRow {
    template: Option<Vec<u8>>,
    enrolled_template: Option<Vec<u8>>,
}

/// Refuses a part the receipt does not sign, or bytes that are not the ones it signs.
fn check_part(what: &str, sent: Option<&[u8]>, signed: Option<&[u8]>, max: usize) -> Result<(), ApiError> {
    match (sent, signed) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(ApiError::Unprocessable(format!("this receipt signs no {what}"))),
        (Some(b), _) if b.len() > max => Err(ApiError::PayloadTooLarge(format!("the {what} is over {max} bytes"))),
        (Some(b), Some(hash)) if salur_core::crypto::sha256(b).as_slice() != hash => Err(ApiError::Unprocessable(
            format!("the {what} does not match the hash the receipt signs: send the bytes the phone kept"),
        )),
        (Some(_), Some(_)) => Ok(()),
    }
}

impl Db {
    /// Keeps the parts `sent` for `receipt` (already verified, from the device that signed it):
    /// each must be what the receipt signs; a part sent again is kept as it was.
    pub async fn put_reference_parts(&self, receipt: &Receipt, sent: &ReferenceParts) -> Result<(), ApiError> {
        let evidence = receipt.evidence.as_ref();
        let signed_card = evidence.and_then(|e| e.card_face_sha256.as_deref());
        let signed_enrolled = evidence.and_then(|e| e.enrolled_sha256.as_deref());
        check_part("card face", sent.card_face.as_deref(), signed_card, MAX_CARD_FACE)?;
        check_part("enrolled template", sent.enrolled.as_deref(), signed_enrolled, MAX_ENROLLED)?;
        let seal = |what: &str, b: &Option<Vec<u8>>| {
            b.as_deref().map(|b| self.seal.seal_bytes(&evidence_aad(what, &receipt.id), b)).transpose()
        };
        sqlx::query(
            "INSERT INTO receipt_references (receipt_id, card_face, enrolled, received_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT (receipt_id) DO UPDATE SET
                card_face = COALESCE(receipt_references.card_face, excluded.card_face),
                enrolled = COALESCE(receipt_references.enrolled, excluded.enrolled)",
        )
        .bind(&receipt.id)
        .bind(seal("card_face", &sent.card_face)?)
        .bind(seal("enrolled", &sent.enrolled)?)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The parts held for a receipt.
    pub async fn reference_parts(&self, receipt_id: &str) -> Result<ReferenceParts, ApiError> {
        let row: Option<PartsRow> =
            sqlx::query_as("SELECT card_face, enrolled FROM receipt_references WHERE receipt_id = $1")
                .bind(receipt_id)
                .fetch_optional(&self.read)
                .await?;
        let Some(row) = row else { return Ok(ReferenceParts::default()) };
        let open = |what: &str, b: Option<Vec<u8>>| {
            b.map(|b| self.seal.open_bytes(&evidence_aad(what, receipt_id), &b)).transpose()
        };
        Ok(ReferenceParts { card_face: open("card_face", row.card_face)?, enrolled: open("enrolled", row.enrolled)? })
    }

    /// The reference the server holds for a recipient: the registry's template, else the first
    /// enrolment it verified. An unreadable one counts as none.
    pub async fn held_reference(&self, roster_id: &str, recipient: &[u8]) -> Result<Option<Template>, ApiError> {
        let row: Option<HeldRow> = sqlx::query_as(
            "SELECT template, enrolled_template FROM recipients WHERE roster_id = $1 AND recipient = $2",
        )
        .bind(roster_id)
        .bind(recipient)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let (column, sealed) = match (row.template, row.enrolled_template) {
            (Some(t), _) => ("template", t),
            (None, Some(t)) => ("enrolled_template", t),
            (None, None) => return Ok(None),
        };
        let bytes = self.seal.open_bytes(&recipient_aad(column, roster_id, recipient), &sealed)?;
        Ok(Template::decode(&bytes).ok())
    }

    /// Keeps a verified enrolment as the recipient's reference when they have none yet (the
    /// first one stays: a later enrolment is checked against it, never replaces it); whether this
    /// one was kept.
    pub async fn keep_enrolled_reference(
        &self,
        roster_id: &str,
        recipient: &[u8],
        template: &[u8],
    ) -> Result<bool, ApiError> {
        let sealed = self.seal.seal_bytes(&recipient_aad("enrolled_template", roster_id, recipient), template)?;
        let kept = sqlx::query(
            "UPDATE recipients SET enrolled_template = $1
             WHERE roster_id = $2 AND recipient = $3 AND template IS NULL AND enrolled_template IS NULL",
        )
        .bind(sealed)
        .bind(roster_id)
        .bind(recipient)
        .execute(&self.write)
        .await?;
        Ok(kept.rows_affected() == 1)
    }
}
