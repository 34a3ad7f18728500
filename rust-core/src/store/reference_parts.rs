//! What a payment's live face was compared with, when it is not a reference the server already
//! holds: the aligned face crop of an e-KTP photo (e-KTP and proxy payments) or the template
//! enrolled on this phone. Both are sealed beside the receipt that signs their hashes and uploaded
//! with its evidence, so the server can score the payment itself.

use rusqlite::{params, OptionalExtension};

use super::Store;
use crate::crypto;
use crate::error::{Error, Result};
use crate::receipt::{Evidence, Method};

/// The reference parts of one payment, decrypted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReferenceParts {
    /// The card photo's aligned face crop (JPEG).
    pub card_face: Option<Vec<u8>>,
    /// The enrolled template (`SLFT` bytes).
    pub enrolled: Option<Vec<u8>>,
}

impl ReferenceParts {
    /// Whether there is nothing to upload.
    pub fn is_empty(&self) -> bool {
        self.card_face.is_none() && self.enrolled.is_none()
    }
}

/// Signs the parts' hashes into `evidence`, after checking that the method needs exactly these:
/// the e-KTP and proxy paths the card's face, a payment against the enrolled template that
/// template, every other payment neither (a receipt names only what the phone uploads).
pub(super) fn sign_into(evidence: Option<&mut Evidence>, parts: &ReferenceParts) -> Result<()> {
    let method = evidence.as_ref().map(|e| &e.method);
    let needs_card = matches!(method, Some(Method::EktpPhoto | Method::Proxy { .. }));
    let needs_enrolled = matches!(method, Some(Method::EnrolledTemplate));
    if needs_card != parts.card_face.is_some() {
        return Err(Error::InvalidArgument(if needs_card {
            "a payment on an e-KTP photo needs the card's face: photograph the card again".into()
        } else {
            "a card's face belongs to an e-KTP or proxy payment only".into()
        }));
    }
    if needs_enrolled != parts.enrolled.is_some() {
        return Err(Error::InvalidArgument(if needs_enrolled {
            "a payment on the enrolled face needs that enrolment: start the visit from the recipient".into()
        } else {
            "an enrolled template belongs to a payment on it only".into()
        }));
    }
    if let Some(e) = evidence {
        e.card_face_sha256 = parts.card_face.as_deref().map(|b| crypto::sha256(b).to_vec());
        e.enrolled_sha256 = parts.enrolled.as_deref().map(|b| crypto::sha256(b).to_vec());
    }
    Ok(())
}

impl Store {
    /// Seals and keeps the parts of receipt `seq` (inside the recording transaction).
    pub(super) fn keep_reference_parts(
        &self,
        tx: &rusqlite::Transaction<'_>,
        seq: u64,
        id: &str,
        parts: &ReferenceParts,
    ) -> Result<()> {
        if parts.is_empty() {
            return Ok(());
        }
        let seal = |b: &Option<Vec<u8>>, what: &str| {
            b.as_deref().map(|b| self.key.seal(b, format!("{what}/{id}").as_bytes())).transpose()
        };
        tx.execute(
            "INSERT INTO reference_parts (seq, card_face_enc, enrolled_enc) VALUES (?1, ?2, ?3)",
            params![seq as i64, seal(&parts.card_face, "card_face")?, seal(&parts.enrolled, "enrolled")?],
        )?;
        Ok(())
    }

    /// The parts of receipt `seq` not yet held by the server (`None` when there are none, or all
    /// are uploaded).
    pub fn reference_parts_to_upload(&self, seq: u64) -> Result<Option<ReferenceParts>> {
        let row = self
            .conn()
            .query_row(
                "SELECT r.id, p.card_face_enc, p.enrolled_enc FROM reference_parts p JOIN receipts r ON r.seq = p.seq
                 WHERE p.seq = ?1 AND p.uploaded_ms IS NULL",
                [seq as i64],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<Vec<u8>>>(1)?, r.get::<_, Option<Vec<u8>>>(2)?)),
            )
            .optional()?;
        let Some((id, card_face, enrolled)) = row else { return Ok(None) };
        let open = |b: Option<Vec<u8>>, what: &str| {
            b.map(|b| self.key.open(&b, format!("{what}/{id}").as_bytes())).transpose()
        };
        Ok(Some(ReferenceParts { card_face: open(card_face, "card_face")?, enrolled: open(enrolled, "enrolled")? }))
    }

    /// Marks the parts of receipt `seq` as held by the server.
    pub fn mark_reference_parts_uploaded(&self, seq: u64) -> Result<()> {
        self.conn().execute(
            "UPDATE reference_parts SET uploaded_ms = ?1 WHERE seq = ?2",
            params![super::now_ms(), seq as i64],
        )?;
        Ok(())
    }
}
