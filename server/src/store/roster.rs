//! Rosters: recipients written by import (moving their counts between areas) and read by the
//! assigned worker's phone.

use std::collections::HashMap;

use base64::Engine;
use salur_core::receipt::{recipient_ref, Standing};

use super::seal::{member_aad, recipient_aad, roster_key_aad, Sealer};
use super::Db;
use crate::clock::now_ms;
use crate::domain::areas::RecipientStanding;
use crate::domain::roster::{Current, KkMemberEntry, RosterEntry, RosterRow};
use crate::error::ApiError;

#[derive(sqlx::FromRow)]
struct Before {
    province: String,
    regency: String,
    post_office: String,
    amount: i64,
    standing: i64,
    overridden: i64,
    has_template: i64,
}

/// What one recipient's import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Put {
    /// The row came without a template and the recipient's earlier reference was kept (a
    /// re-import without photos never drops a registry template).
    pub kept_template: bool,
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    recipient: Vec<u8>,
    member: Vec<u8>,
    nik: String,
    name: String,
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    recipient: Vec<u8>,
    nik: String,
    name: String,
    address: String,
    amount: i64,
    template: Option<Vec<u8>>,
}

/// A roster with recipients assigned to one worker.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct AssignedRoster {
    /// Roster.
    pub roster_id: String,
    /// Recipients assigned to the worker.
    pub recipients: u64,
    /// Their amounts, whole rupiah.
    pub amount_total: u64,
}

#[derive(sqlx::FromRow)]
struct AssignedRow {
    roster_id: String,
    recipients: i64,
    amount_total: i64,
}

impl Db {
    /// The rosters with at least one recipient assigned to `worker_id`, newest roster first.
    pub async fn rosters_for_worker(&self, worker_id: &str) -> Result<Vec<AssignedRoster>, ApiError> {
        let rows: Vec<AssignedRow> = sqlx::query_as(
            "SELECT p.roster_id, CAST(COUNT(*) AS BIGINT) AS recipients,
                    CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) AS amount_total
             FROM recipients p JOIN rosters r ON r.roster_id = p.roster_id
             WHERE p.worker_id = $1 GROUP BY p.roster_id, r.created_ms ORDER BY r.created_ms DESC, p.roster_id",
        )
        .bind(worker_id)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| AssignedRoster {
                roster_id: r.roster_id,
                recipients: r.recipients.max(0) as u64,
                amount_total: r.amount_total.max(0) as u64,
            })
            .collect())
    }

    /// The roster's pseudonymisation key, created on first use (stored sealed).
    pub async fn roster_key(&self, roster_id: &str) -> Result<Vec<u8>, ApiError> {
        let key: [u8; 32] = ring_random()?;
        self.first_key_kept(
            "INSERT INTO rosters (roster_id, roster_key, created_ms) VALUES ($1, $2, $3)
             ON CONFLICT (roster_id) DO NOTHING",
            "SELECT roster_key FROM rosters WHERE roster_id = $1",
            roster_id,
            &roster_key_aad(roster_id),
            &key,
        )
        .await
    }

    /// Stores `candidate` sealed under `id` unless a key is already there, and returns the key
    /// that is (opened): two servers starting at once agree on the first one written.
    pub(super) async fn first_key_kept(
        &self,
        insert: &'static str,
        select: &'static str,
        id: &str,
        aad: &[u8],
        candidate: &[u8],
    ) -> Result<Vec<u8>, ApiError> {
        let sealed = self.seal.seal_bytes(aad, candidate)?;
        sqlx::query(insert).bind(id).bind(&sealed[..]).bind(now_ms()).execute(&self.write).await?;
        let stored: Vec<u8> = sqlx::query_scalar(select).bind(id).fetch_one(&self.write).await?;
        self.seal.open_bytes(aad, &stored)
    }

    /// Adds or replaces one recipient, moving its counts between areas on the dashboard. A
    /// closed period's roster is refused: its report must stay what the close counted.
    pub async fn put_recipient(&self, row: &RosterRow, template: Option<&[u8]>) -> Result<Put, ApiError> {
        let put = self.put_recipients(&[(row, template)]).await?;
        Ok(put.into_iter().next().unwrap_or(Put { kept_template: false }))
    }

    /// Adds or replaces `rows` in one transaction (all or none of them), as
    /// [`Self::put_recipient`] does each.
    pub async fn put_recipients(&self, rows: &[(&RosterRow, Option<&[u8]>)]) -> Result<Vec<Put>, ApiError> {
        // Keys first: making a roster's key writes outside the transaction.
        let mut keys: HashMap<&str, Vec<u8>> = HashMap::new();
        for (row, _) in rows {
            if !keys.contains_key(row.period.as_str()) {
                keys.insert(&row.period, self.roster_key(&row.period).await?);
            }
        }
        let mut tx = self.write.begin().await?;
        for period in keys.keys() {
            let closed: Option<i64> = sqlx::query_scalar("SELECT closed_ms FROM closed_periods WHERE roster_id = $1")
                .bind(period)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(ms) = closed {
                return Err(closed_roster(period, ms));
            }
        }
        let mut puts = Vec::with_capacity(rows.len());
        for (row, template) in rows {
            let key = &keys[row.period.as_str()];
            let recipient = recipient_ref(key, &row.nik);
            let household = row.household().map_err(ApiError::BadRequest)?;
            let kept_template = insert_recipient(&mut tx, &self.seal, row, &recipient, *template).await?;
            sqlx::query("DELETE FROM household WHERE roster_id = $1 AND recipient = $2")
                .bind(&row.period)
                .bind(&recipient)
                .execute(&mut *tx)
                .await?;
            for (nik, name) in household {
                let member = recipient_ref(key, &nik);
                let aad = |column: &str| member_aad(column, &row.period, &recipient, &member);
                sqlx::query(
                    "INSERT INTO household (roster_id, recipient, member, nik, name) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&row.period)
                .bind(&recipient)
                .bind(&member)
                .bind(self.seal.seal_text(&aad("nik"), &nik)?)
                .bind(self.seal.seal_text(&aad("name"), &name)?)
                .execute(&mut *tx)
                .await?;
            }
            puts.push(Put { kept_template });
        }
        tx.commit().await?;
        Ok(puts)
    }

    /// What the database holds now for each of `rows`' recipients (name, address, amount), where
    /// it holds them: what an import would change. One read per roster, not per row.
    pub async fn current(&self, rows: &[&RosterRow]) -> Result<Vec<Option<Current>>, ApiError> {
        // Per roster: recipient reference -> sealed name, sealed address, amount.
        type Stored = HashMap<Vec<u8>, (String, String, i64)>;
        let mut by_roster: HashMap<&str, Stored> = HashMap::new();
        let mut keys: HashMap<&str, Vec<u8>> = HashMap::new();
        for row in rows {
            let period = row.period.as_str();
            if by_roster.contains_key(period) {
                continue;
            }
            let known: Option<String> = sqlx::query_scalar("SELECT roster_id FROM rosters WHERE roster_id = $1")
                .bind(period)
                .fetch_optional(&self.read)
                .await?;
            let stored: Vec<(Vec<u8>, String, String, i64)> = if known.is_some() {
                keys.insert(period, self.roster_key(period).await?);
                sqlx::query_as("SELECT recipient, name, address, amount FROM recipients WHERE roster_id = $1")
                    .bind(period)
                    .fetch_all(&self.read)
                    .await?
            } else {
                Vec::new()
            };
            by_roster.insert(period, stored.into_iter().map(|(r, n, a, m)| (r, (n, a, m))).collect());
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let found = keys.get(row.period.as_str()).and_then(|key| {
                let recipient = recipient_ref(key, &row.nik);
                by_roster[row.period.as_str()].get(&recipient).map(|found| (recipient, found))
            });
            out.push(match found {
                Some((recipient, (name, address, amount))) => {
                    let aad = |column: &str| recipient_aad(column, &row.period, &recipient);
                    Some(Current {
                        name: self.seal.open_text(&aad("name"), name)?,
                        address: self.seal.open_text(&aad("address"), address)?,
                        amount: u64::try_from(*amount).unwrap_or(0),
                    })
                }
                None => None,
            });
        }
        Ok(out)
    }

    /// The recipients of `roster_id` assigned to `worker_id`. The roster's pseudonymisation key
    /// stays here: NIKs follow a known structure, so a phone holding it could reverse every
    /// recipient reference of the programme.
    pub async fn roster_for_worker(&self, roster_id: &str, worker_id: &str) -> Result<Vec<RosterEntry>, ApiError> {
        let known: Option<String> = sqlx::query_scalar("SELECT roster_id FROM rosters WHERE roster_id = $1")
            .bind(roster_id)
            .fetch_optional(&self.read)
            .await?;
        known.ok_or_else(|| ApiError::NotFound(format!("no roster {roster_id}")))?;
        let rows: Vec<EntryRow> = sqlx::query_as(
            "SELECT recipient, nik, name, address, amount, template FROM recipients
             WHERE roster_id = $1 AND worker_id = $2",
        )
        .bind(roster_id)
        .bind(worker_id)
        .fetch_all(&self.read)
        .await?;
        let open = |r: EntryRow| -> Result<RosterEntry, ApiError> {
            let aad = |column: &str| recipient_aad(column, roster_id, &r.recipient);
            let template = r.template.as_ref().map(|t| self.seal.open_bytes(&aad("template"), t)).transpose()?;
            Ok(RosterEntry {
                nik: self.seal.open_text(&aad("nik"), &r.nik)?,
                name: self.seal.open_text(&aad("name"), &r.name)?,
                address: self.seal.open_text(&aad("address"), &r.address)?,
                amount: r.amount.max(0) as u64,
                template: template.map(|t| base64::engine::general_purpose::STANDARD.encode(t)),
                recipient: hex::encode(&r.recipient),
                household: Vec::new(),
            })
        };
        let mut entries = rows.into_iter().map(open).collect::<Result<Vec<_>, _>>()?;
        let members: Vec<MemberRow> = sqlx::query_as(
            "SELECT h.recipient, h.member, h.nik, h.name FROM household h
             JOIN recipients p ON p.roster_id = h.roster_id AND p.recipient = h.recipient
             WHERE h.roster_id = $1 AND p.worker_id = $2 AND h.nik <> ''",
        )
        .bind(roster_id)
        .bind(worker_id)
        .fetch_all(&self.read)
        .await?;
        let mut household: std::collections::HashMap<String, Vec<KkMemberEntry>> = std::collections::HashMap::new();
        for m in members {
            let aad = |column: &str| member_aad(column, roster_id, &m.recipient, &m.member);
            household.entry(hex::encode(&m.recipient)).or_default().push(KkMemberEntry {
                member: hex::encode(&m.member),
                nik: self.seal.open_text(&aad("nik"), &m.nik)?,
                name: self.seal.open_text(&aad("name"), &m.name)?,
            });
        }
        for e in &mut entries {
            e.household = household.remove(&e.recipient).unwrap_or_default();
            e.household.sort_by(|a, b| a.name.cmp(&b.name));
        }
        // Sorted here: sealed names do not sort in SQL.
        entries.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.recipient.cmp(&b.recipient)));
        Ok(entries)
    }
}

/// The refusal of an import into a closed period.
pub fn closed_roster(roster_id: &str, closed_ms: i64) -> ApiError {
    ApiError::Conflict(format!(
        "roster {roster_id} was closed on {}: a closed period's roster cannot change; nothing was imported \
         (import corrections under a new roster id)",
        salur_core::dates::wib_minute(closed_ms)
    ))
}

/// Adds or replaces `row` as `recipient` inside `tx`, moving its counts between areas on the
/// dashboard (an import, or funds reallocated to a new family). Without a `template` the
/// recipient's earlier one is kept; returns whether one was.
pub(super) async fn insert_recipient(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    seal: &Sealer,
    row: &RosterRow,
    recipient: &[u8],
    template: Option<&[u8]>,
) -> Result<bool, ApiError> {
    use super::summaries::Deltas;
    let aad = |column: &str| recipient_aad(column, &row.period, recipient);
    let before: Option<Before> = sqlx::query_as(
        "SELECT province, regency, post_office, amount, standing, overridden,
                CAST(CASE WHEN template IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_template FROM recipients
         WHERE roster_id = $1 AND recipient = $2",
    )
    .bind(&row.period)
    .bind(recipient)
    .fetch_optional(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO recipients (roster_id, recipient, nik, name, address, province, regency, district,
                                            village, post_office, worker_id, amount, template, added_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (roster_id, recipient) DO UPDATE SET nik = excluded.nik, name = excluded.name,
            address = excluded.address, province = excluded.province, regency = excluded.regency,
            district = excluded.district, village = excluded.village, post_office = excluded.post_office,
            worker_id = excluded.worker_id, amount = excluded.amount,
            template = COALESCE(excluded.template, recipients.template)",
    )
    .bind(&row.period)
    .bind(recipient)
    .bind(seal.seal_text(&aad("nik"), &row.nik)?)
    .bind(seal.seal_text(&aad("name"), &row.name)?)
    .bind(seal.seal_text(&aad("address"), &row.address)?)
    .bind(&row.province)
    .bind(&row.regency)
    .bind(&row.district)
    .bind(&row.village)
    .bind(&row.post_office)
    .bind(&row.worker_id)
    .bind(row.amount as i64)
    .bind(template.map(|t| seal.seal_bytes(&aad("template"), t)).transpose()?)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    let mut deltas = Deltas::default();
    let kept_template = template.is_none() && before.as_ref().is_some_and(|b| b.has_template != 0);
    let standing = match before {
        Some(b) => {
            let s = RecipientStanding { standing: Standing::from_code(b.standing), overridden: b.overridden != 0 };
            deltas.leave((row.period.clone(), b.province, b.regency, b.post_office), b.amount, s);
            s
        }
        None => RecipientStanding { standing: Standing::NotVisited, overridden: false },
    };
    let new_key = (row.period.clone(), row.province.clone(), row.regency.clone(), row.post_office.clone());
    deltas.moved(new_key, row.amount as i64, None, standing);
    deltas.apply(tx).await?;
    Ok(kept_template)
}

fn ring_random() -> Result<[u8; 32], ApiError> {
    use ring::rand::SecureRandom;
    let mut k = [0u8; 32];
    ring::rand::SystemRandom::new().fill(&mut k).map_err(|_| ApiError::Internal("no secure random source".into()))?;
    Ok(k)
}
