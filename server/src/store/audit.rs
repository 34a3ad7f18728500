//! The audit log: appends in one transaction with its head (so entries stay gapless and chained
//! under concurrent writers), reads, the chain check and the CSV export.

use super::Db;
use crate::clock::now_ms;
use crate::domain::audit::{self, ChainReport, Entry, NewEntry};
use crate::error::ApiError;

#[derive(sqlx::FromRow)]
struct EntryRow {
    seq: i64,
    at_ms: i64,
    actor: String,
    peer: String,
    action: String,
    target: Option<String>,
    detail: Option<String>,
    prev: Vec<u8>,
}

impl From<EntryRow> for Entry {
    fn from(r: EntryRow) -> Self {
        Entry {
            seq: r.seq,
            at_ms: r.at_ms,
            actor: r.actor,
            peer: r.peer,
            action: r.action,
            target: r.target,
            detail: r.detail,
            prev: r.prev,
        }
    }
}

const COLUMNS: &str = "seq, at_ms, actor, peer, action, target, detail, prev";

impl Db {
    /// Appends an entry after the current head.
    pub async fn audit(&self, new: NewEntry) -> Result<Entry, ApiError> {
        let mut tx = self.write.begin().await?;
        let entry = append(&mut tx, new).await?;
        tx.commit().await?;
        Ok(entry)
    }

    /// Entries after position `after`, oldest first, at most `limit`.
    pub async fn audit_entries(&self, after: i64, limit: i64) -> Result<Vec<Entry>, ApiError> {
        let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2");
        let rows: Vec<EntryRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(after).bind(limit).fetch_all(&self.read).await?;
        Ok(rows.into_iter().map(Entry::from).collect())
    }

    /// Checks the whole log against itself and its head.
    pub async fn verify_audit(&self) -> Result<ChainReport, ApiError> {
        // Head, entries, head again: an append committed in between shows as a moved head, and
        // the read is repeated rather than reported as a break.
        let head = || sqlx::query_as::<_, (i64, Vec<u8>)>("SELECT seq, hash FROM audit_head WHERE id = 1");
        let sql = format!("SELECT {COLUMNS} FROM audit_log ORDER BY seq");
        let mut tries = 0;
        let ((seq, hash), rows) = loop {
            let before = head().fetch_one(&self.write).await?;
            let rows: Vec<EntryRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(&self.write).await?;
            let after = head().fetch_one(&self.write).await?;
            tries += 1;
            if before == after || tries == 5 {
                break (after, rows);
            }
        };
        let entries: Vec<Entry> = rows.into_iter().map(Entry::from).collect();
        let head = hash.try_into().ok().map(|h: [u8; 32]| (seq, h));
        let report = audit::verify(&entries, head);
        Ok(report)
    }
}

/// Entries as CSV (prev as hex), for an auditor's spreadsheet.
pub fn audit_csv(entries: &[Entry]) -> Result<String, ApiError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| ApiError::Internal(e.to_string());
    for e in entries {
        w.serialize(e).map_err(internal)?;
    }
    let text = String::from_utf8(w.into_inner().map_err(|e| ApiError::Internal(e.to_string()))?)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    crate::domain::export::spreadsheet_safe(&text).map_err(internal)
}

/// Appends an entry after the current head inside `tx`: a change and the entry that records it
/// commit together, so no crash between them leaves a change unlogged.
pub(super) async fn append(tx: &mut sqlx::Transaction<'static, sqlx::Any>, new: NewEntry) -> Result<Entry, ApiError> {
    // Taking the head row first: in PostgreSQL its row lock makes concurrent appenders wait
    // for each other, so each sees the hash the previous one wrote.
    let (seq, prev): (i64, Vec<u8>) =
        sqlx::query_as("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
            .fetch_one(&mut **tx)
            .await?;
    let prev: [u8; 32] =
        prev.try_into().map_err(|_| ApiError::Internal("the audit head's hash is not 32 bytes".into()))?;
    let entry = audit::next(new, seq, now_ms(), prev);
    let sql = format!("INSERT INTO audit_log ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(entry.seq)
        .bind(entry.at_ms)
        .bind(&entry.actor)
        .bind(&entry.peer)
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(&entry.detail)
        .bind(&entry.prev)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(entry.hash().to_vec()).execute(&mut **tx).await?;
    Ok(entry)
}
