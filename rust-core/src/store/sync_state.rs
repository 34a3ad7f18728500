//! What the sync client keeps in the store: one-sync-at-a-time guard, the status the worker sees
//! (pending, last success, last error), the server clock offset, and roster replacement.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{now_ms, Recipient, Store};
use crate::error::{Error, Result};

/// Held while a sync runs; dropping it (including when the sync future is cancelled) frees the store.
pub struct SyncGuard<'a>(&'a Store);

impl Drop for SyncGuard<'_> {
    fn drop(&mut self) {
        self.0.syncing.store(false, Ordering::Release);
    }
}

/// Upload status for the worker and supervisor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    /// Receipts not yet acknowledged by the server (never sent, or sent without an answer).
    pub pending: u64,
    /// Receipts the server accepted.
    pub acknowledged: u64,
    /// Receipts the server refused (kept, with the reason).
    pub rejected: u64,
    /// When the oldest unacknowledged receipt was recorded (ms since the epoch).
    pub oldest_pending_ms: Option<i64>,
    /// When a sync last finished with everything sent.
    pub last_success_ms: Option<i64>,
    /// The last sync's error, in words for the worker (cleared by a successful sync).
    pub last_error: Option<String>,
    /// Its stable kind (see [`Error::kind`]).
    pub last_error_kind: Option<String>,
    /// When it happened.
    pub last_error_ms: Option<i64>,
    /// Server time minus phone time, from the last time check.
    pub clock_offset_ms: i64,
    /// Evidence face crops the server refused at their last try (kept, tried again next sync).
    pub evidence_refused: u64,
}

/// What a roster refresh changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RosterChange {
    /// Recipients new on the phone.
    pub added: u64,
    /// Recipients no longer assigned (removed from the phone).
    pub removed: u64,
    /// Recipients replaced with the server's current data (templates included).
    pub updated: u64,
}

impl Store {
    /// Claims the store for one sync; [`Error::SyncBusy`] if a sync is already running.
    pub fn begin_sync(&self) -> Result<SyncGuard<'_>> {
        self.syncing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| SyncGuard(self))
            .map_err(|_| Error::SyncBusy)
    }

    /// The upload status.
    pub fn sync_status(&self) -> Result<SyncStatus> {
        let counts = self.outbox_counts()?;
        let conn = self.conn();
        let oldest = conn
            .query_row(
                "SELECT MIN(r.created_ms) FROM outbox o JOIN receipts r ON r.seq = o.seq
                 WHERE o.state IN ('pending', 'sent')",
                [],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        let mut status = conn.query_row(
            "SELECT clock_offset_ms, last_success_ms, last_error, last_error_kind, last_error_ms
             FROM sync_state WHERE id = 1",
            [],
            |r| {
                Ok(SyncStatus {
                    clock_offset_ms: r.get(0)?,
                    last_success_ms: r.get(1)?,
                    last_error: r.get(2)?,
                    last_error_kind: r.get(3)?,
                    last_error_ms: r.get(4)?,
                    ..SyncStatus::default()
                })
            },
        )?;
        status.evidence_refused = conn.query_row(
            "SELECT COUNT(*) FROM evidence WHERE uploaded_ms IS NULL AND refused_ms IS NOT NULL",
            [],
            |r| r.get::<_, i64>(0),
        )? as u64;
        status.pending = counts.pending + counts.sent;
        status.acknowledged = counts.acknowledged;
        status.rejected = counts.rejected;
        status.oldest_pending_ms = oldest;
        Ok(status)
    }

    /// Server time minus phone time, as last measured.
    pub fn clock_offset_ms(&self) -> Result<i64> {
        Ok(self.conn().query_row("SELECT clock_offset_ms FROM sync_state WHERE id = 1", [], |r| r.get(0))?)
    }

    /// Records a measured clock offset.
    pub fn set_clock_offset_ms(&self, offset: i64) -> Result<()> {
        self.conn().execute("UPDATE sync_state SET clock_offset_ms = ?1 WHERE id = 1", [offset])?;
        Ok(())
    }

    /// Records the outcome of a sync: `None` for success (clears the last error).
    pub fn note_sync(&self, error: Option<&Error>) -> Result<()> {
        let now = now_ms();
        let conn = self.conn();
        match error {
            None => conn.execute(
                "UPDATE sync_state SET last_attempt_ms = ?1, last_success_ms = ?1, last_error = NULL,
                 last_error_kind = NULL, last_error_ms = NULL WHERE id = 1",
                [now],
            )?,
            Some(e) => {
                let message = e.hint().map_or_else(|| e.to_string(), |h| format!("{h} ({e})"));
                conn.execute(
                    "UPDATE sync_state SET last_attempt_ms = ?1, last_error = ?2, last_error_kind = ?3,
                     last_error_ms = ?1 WHERE id = 1",
                    params![now, message, e.kind().as_str()],
                )?
            }
        };
        Ok(())
    }

    /// Acknowledged receipts with a sequence in one of `ranges` (inclusive) or above `above`:
    /// the ones the server says it does not hold.
    pub fn acknowledged_missing(&self, ranges: &[[u64; 2]], above: u64) -> Result<Vec<u64>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT seq FROM outbox WHERE state = 'acknowledged' ORDER BY seq")?;
        let seqs = stmt.query_map([], |r| r.get::<_, i64>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(seqs
            .into_iter()
            .map(|s| s as u64)
            .filter(|&s| s > above || ranges.iter().any(|[from, to]| (*from..=*to).contains(&s)))
            .collect())
    }

    /// Evidence crops of acknowledged receipts not yet uploaded, with a sequence above
    /// `after_seq` (refused ones included: they are tried again): (sequence, receipt id, JPEG).
    pub fn evidence_to_upload(&self, after_seq: u64, limit: usize) -> Result<Vec<(u64, String, Vec<u8>)>> {
        let seqs: Vec<(i64, String)> = {
            let conn = self.conn();
            let mut stmt = conn.prepare(
                "SELECT e.seq, r.id FROM evidence e JOIN outbox o ON o.seq = e.seq JOIN receipts r ON r.seq = e.seq
                 WHERE e.uploaded_ms IS NULL AND o.state = 'acknowledged' AND e.seq > ?1 ORDER BY e.seq LIMIT ?2",
            )?;
            let rows = stmt
                .query_map(params![after_seq as i64, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            rows
        };
        seqs.into_iter()
            .filter_map(|(seq, id)| self.evidence(seq as u64).transpose().map(|jpeg| Ok((seq as u64, id, jpeg?))))
            .collect()
    }

    /// Marks a receipt's evidence crop as held by the server.
    pub fn mark_evidence_uploaded(&self, seq: u64) -> Result<()> {
        self.conn().execute(
            "UPDATE evidence SET uploaded_ms = ?1, refused_ms = NULL, refused_reason = NULL WHERE seq = ?2",
            params![now_ms(), seq as i64],
        )?;
        Ok(())
    }

    /// Notes that the server refused a receipt's evidence crop (the crop is kept, for a later try).
    pub fn mark_evidence_refused(&self, seq: u64, reason: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE evidence SET refused_ms = ?1, refused_reason = ?2 WHERE seq = ?3",
            params![now_ms(), reason, seq as i64],
        )?;
        Ok(())
    }

    /// Replaces the phone's copy of a roster with the server's (one transaction): recipients no
    /// longer assigned are removed, the others replaced (templates included), and the programme's
    /// public key that its letters verify with kept when the server sent one.
    pub fn replace_roster(
        &self,
        roster_id: &str,
        recipients: &[Recipient],
        programme_key: Option<&[u8]>,
    ) -> Result<RosterChange> {
        if let Some(r) = recipients.iter().find(|r| r.roster_id != roster_id) {
            return Err(Error::InvalidArgument(format!("recipient of roster {} given for {roster_id}", r.roster_id)));
        }
        let before: HashSet<Vec<u8>> = {
            let conn = self.conn();
            let mut stmt = conn.prepare("SELECT recipient FROM roster WHERE roster_id = ?1")?;
            let rows = stmt.query_map([roster_id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            rows
        };
        let after: HashSet<&[u8]> = recipients.iter().map(|r| r.recipient.as_slice()).collect();
        let gone: Vec<&Vec<u8>> = before.iter().filter(|r| !after.contains(r.as_slice())).collect();
        let mut change = RosterChange { removed: gone.len() as u64, ..RosterChange::default() };
        for r in recipients {
            if before.contains(&r.recipient) {
                change.updated += 1;
            } else {
                change.added += 1;
            }
        }
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut delete = tx.prepare("DELETE FROM roster WHERE roster_id = ?1 AND recipient = ?2")?;
            let mut delete_household = tx.prepare("DELETE FROM household WHERE roster_id = ?1 AND recipient = ?2")?;
            for r in gone {
                delete.execute(params![roster_id, r])?;
                delete_household.execute(params![roster_id, r])?;
            }
            self.insert_recipients(&tx, recipients)?;
            if let Some(spki) = programme_key {
                tx.execute(
                    "INSERT INTO programme_key (roster_id, spki) VALUES (?1, ?2)
                     ON CONFLICT (roster_id) DO UPDATE SET spki = excluded.spki",
                    params![roster_id, spki],
                )?;
            }
        }
        tx.commit()?;
        Ok(change)
    }
}
