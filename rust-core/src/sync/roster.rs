//! The roster calls: the worker's assigned rosters, and one roster downloaded onto the phone.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::{decode, registered, unexpected, url_segment, SyncClient};
use crate::error::Result;
use crate::keys::Signer;
use crate::store::{KkMember, Recipient, RosterChange, Store};

/// A roster with at least one recipient assigned to this device's worker.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct AssignedRoster {
    /// Roster (programme and period).
    pub roster_id: String,
    /// Recipients assigned to the worker on it.
    pub recipients: u64,
    /// Their amounts, whole rupiah.
    pub amount_total: u64,
}

#[derive(Deserialize)]
struct RostersAnswer {
    rosters: Vec<AssignedRoster>,
}

#[derive(Deserialize)]
struct RosterAnswer {
    recipients: Vec<RosterEntry>,
    /// The programme's public key (base64 SPKI DER) that the roster's letters verify with.
    #[serde(default)]
    programme_key: Option<String>,
}

#[derive(Deserialize)]
struct RosterEntry {
    recipient: String,
    nik: String,
    name: String,
    address: String,
    amount: u64,
    template: Option<String>,
    /// The KK members who may collect for the recipient (absent from servers before proxies).
    #[serde(default)]
    household: Vec<MemberEntry>,
}

#[derive(Deserialize)]
struct MemberEntry {
    member: String,
    nik: String,
    name: String,
}

impl SyncClient {
    /// The rosters on which the server assigns recipients to this device's worker.
    pub async fn assigned_rosters(&self, store: &Store, signer: &dyn Signer) -> Result<Vec<AssignedRoster>> {
        let device = registered(store)?;
        let auth = Self::auth(store, signer, &device)?;
        let answer = self.http.call(Some(auth), Method::GET, "/v1/rosters", None, &|_| {}).await?;
        Ok(decode::<RostersAnswer>(&answer, "rosters")?.rosters)
    }

    /// Replaces the phone's copy of `roster_id` with the recipients now assigned to this worker.
    pub async fn refresh_roster(&self, store: &Store, signer: &dyn Signer, roster_id: &str) -> Result<RosterChange> {
        let device = registered(store)?;
        let auth = Self::auth(store, signer, &device)?;
        let path = format!("/v1/roster/{}", url_segment(roster_id)?);
        let answer = self.http.call(Some(auth), Method::GET, &path, None, &|_| {}).await?;
        let roster: RosterAnswer = decode(&answer, "roster")?;
        let recipients = roster
            .recipients
            .into_iter()
            .map(|e| {
                let bad = |what: &str| unexpected(format!("roster entry with a malformed {what}"));
                Ok(Recipient {
                    roster_id: roster_id.to_string(),
                    recipient: hex::decode(&e.recipient).map_err(|_| bad("recipient"))?,
                    nik: e.nik,
                    name: e.name,
                    address: e.address,
                    amount: e.amount,
                    template: e.template.map(|t| B64.decode(t)).transpose().map_err(|_| bad("template"))?,
                    enrolled: None,
                    household: e
                        .household
                        .into_iter()
                        .map(|m| {
                            let member = hex::decode(&m.member).ok().filter(|b| b.len() == 16);
                            Ok(KkMember {
                                member: member.ok_or_else(|| bad("household member"))?,
                                nik: m.nik,
                                name: m.name,
                            })
                        })
                        .collect::<Result<_>>()?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let programme_key = roster
            .programme_key
            .map(|k| B64.decode(k))
            .transpose()
            .map_err(|_| unexpected("roster with a malformed programme key".into()))?;
        if let Some(spki) = &programme_key {
            // A key that cannot verify would refuse every genuine letter at the door: refuse it here.
            crate::crypto::p256_point(spki)
                .map_err(|_| unexpected("roster with a programme key that is not a P-256 public key".into()))?;
        }
        store.replace_roster(roster_id, &recipients, programme_key.as_deref())
    }
}
