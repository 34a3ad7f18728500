//! What the store keeps of invitation letters: each roster's programme key, and the letter
//! scanned at a recipient's door.

use rusqlite::{params, OptionalExtension};

use super::{now_ms, Store};
use crate::error::Result;

impl Store {
    /// The programme's public key (SPKI DER) that came with `roster_id`, if the server sent one.
    pub fn programme_key(&self, roster_id: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn()
            .query_row("SELECT spki FROM programme_key WHERE roster_id = ?1", [roster_id], |r| r.get(0))
            .optional()?)
    }

    /// Notes that the letter `letter_id` of this recipient was scanned and verified at the door;
    /// the receipts recorded for the recipient from now on name it.
    pub fn note_scanned_letter(&self, roster_id: &str, recipient: &[u8], letter_id: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO scanned_letter (roster_id, recipient, letter_id, scanned_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (roster_id, recipient) DO UPDATE SET letter_id = excluded.letter_id,
                 scanned_ms = excluded.scanned_ms",
            params![roster_id, recipient, letter_id, now_ms()],
        )?;
        Ok(())
    }

    /// The id of the letter scanned for this recipient, if any.
    pub fn scanned_letter(&self, roster_id: &str, recipient: &[u8]) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT letter_id FROM scanned_letter WHERE roster_id = ?1 AND recipient = ?2",
                params![roster_id, recipient],
                |r| r.get(0),
            )
            .optional()?)
    }
}
