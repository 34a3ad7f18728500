//! Closing a period: the realisation report per regency and post office, and the retur list of
//! every recipient not paid with the reason, from each recipient's facts. Pure: the store reads
//! the facts, this decides what they add up to.

use std::collections::BTreeMap;

use salur_core::receipt::Standing;
use serde::{Deserialize, Serialize};

/// What the period recorded for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientFacts {
    /// Regency code.
    pub regency: String,
    /// Post office.
    pub post_office: String,
    /// NIK (for the retur list the ministry reconciles against).
    pub nik: String,
    /// Name.
    pub name: String,
    /// Whole rupiah due.
    pub amount: u64,
    /// Where they stand (the dashboard's rule).
    pub standing: Standing,
    /// Rupiah paid by their payment receipts.
    pub paid_amount: u64,
    /// Payment receipts (more than one is a double payment).
    pub payments: u64,
    /// The reason of their latest ineligible report.
    pub ineligible_reason: Option<String>,
    /// Payments made on a supervisor's override.
    pub overrides: u64,
    /// Payments collected by a family member.
    pub proxies: u64,
    /// Complaints against their receipts.
    pub complaints: u64,
    /// Their funds went to another family through a completed reallocation case: not returned.
    pub reallocated: bool,
    /// The server's own verdicts on their face payments.
    pub server: ServerChecks,
}

/// The server's own verdicts on face payments (`domain::verdict`), counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerChecks {
    /// The evidence face matches the reference the server holds.
    pub verified: u64,
    /// Below the threshold, far from the signed score, or not a face.
    pub mismatch: u64,
    /// No crop: none named, or none arrived within the evidence window.
    pub no_evidence: u64,
    /// Nothing on the server to compare with.
    pub no_reference: u64,
    /// The crop is still awaited (within the evidence window).
    pub pending: u64,
}

impl ServerChecks {
    fn add(&mut self, o: &ServerChecks) {
        self.verified += o.verified;
        self.mismatch += o.mismatch;
        self.no_evidence += o.no_evidence;
        self.no_reference += o.no_reference;
        self.pending += o.pending;
    }

    /// Face payments that rest on the phone's word alone (everything but `verified`).
    pub fn phone_only(&self) -> u64 {
        self.mismatch + self.no_evidence + self.no_reference + self.pending
    }
}

/// One line of the realisation report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRow {
    /// Regency code (`all` for the total).
    pub regency: String,
    /// Post office (`all` for the total).
    pub post_office: String,
    /// Recipients on the roster.
    pub recipients: u64,
    /// Recipients paid.
    pub paid: u64,
    /// Rupiah paid.
    pub paid_amount: u64,
    /// Rupiah due to the recipients not paid and not reallocated (what goes back).
    pub retur_amount: u64,
    /// Recipients whose funds were reallocated to another family (ineligible, not returned).
    pub reallocated: u64,
    /// Rupiah of those reallocated funds.
    pub reallocated_amount: u64,
    /// Recipients paid more than once (each payment is in `paid_amount`: the cash left).
    pub double_paid: u64,
    /// Recipients found ineligible, by reason.
    pub ineligible: BTreeMap<String, u64>,
    /// Recipients last recorded not home.
    pub not_home: u64,
    /// Recipients who refused.
    pub refused: u64,
    /// Recipients never visited.
    pub not_visited: u64,
    /// Payments collected by a family member.
    pub proxy: u64,
    /// Payments on a supervisor's override.
    pub overrides: u64,
    /// Complaints against the receipts.
    pub complaints: u64,
    /// The server's own verdicts on the face payments.
    #[serde(default)]
    pub server: ServerChecks,
}

impl ReportRow {
    fn add(&mut self, f: &RecipientFacts) {
        self.recipients += 1;
        match f.standing {
            Standing::Paid => self.paid += 1,
            Standing::Ineligible => {
                *self.ineligible.entry(f.ineligible_reason.clone().unwrap_or_else(|| "other".into())).or_default() += 1
            }
            Standing::NotHome => self.not_home += 1,
            Standing::Refused => self.refused += 1,
            Standing::NotVisited => self.not_visited += 1,
        }
        // Every recipient is paid, reallocated or returned: never two of them.
        match (f.standing, f.reallocated) {
            (Standing::Paid, _) => {}
            (_, true) => {
                self.reallocated += 1;
                self.reallocated_amount += f.amount;
            }
            (_, false) => self.retur_amount += f.amount,
        }
        if f.payments > 1 {
            self.double_paid += 1;
        }
        self.paid_amount += f.paid_amount;
        self.proxy += f.proxies;
        self.overrides += f.overrides;
        self.complaints += f.complaints;
        self.server.add(&f.server);
    }

    /// Recipients found ineligible, whatever the reason.
    pub fn ineligible_total(&self) -> u64 {
        self.ineligible.values().sum()
    }
}

/// The report: a row per (regency, post office), sorted, and the total.
pub fn report(facts: &[RecipientFacts]) -> (Vec<ReportRow>, ReportRow) {
    let mut rows: BTreeMap<(String, String), ReportRow> = BTreeMap::new();
    let mut total = ReportRow { regency: "all".into(), post_office: "all".into(), ..ReportRow::default() };
    for f in facts {
        let row = rows.entry((f.regency.clone(), f.post_office.clone())).or_insert_with(|| ReportRow {
            regency: f.regency.clone(),
            post_office: f.post_office.clone(),
            ..ReportRow::default()
        });
        row.add(f);
        total.add(f);
    }
    (rows.into_values().collect(), total)
}

/// What a close counted, kept with the closed period so that every later run of the report
/// shows the same figures (what arrives afterwards is reported apart, see [`AfterClose`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counted {
    /// The report's rows.
    pub rows: Vec<ReportRow>,
    /// Its total.
    pub total: ReportRow,
}

/// What reached the server for a closed period after its close: never folded into the closed
/// figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AfterClose {
    /// Receipts that arrived after the close (kept, marked late).
    pub late_receipts: u64,
    /// Of those, payments.
    pub late_payments: u64,
    /// Complaints filed after the close.
    pub complaints: u64,
    /// Recipients added to the roster after the close (families funds were reallocated to).
    pub recipients_added: u64,
    /// The server's verdicts now on the payments the close counted: a crop that arrived after
    /// the close shows here, never in the closed figures.
    pub server_now: ServerChecks,
}

/// One recipient whose money goes back, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReturRow {
    /// Regency code.
    pub regency: String,
    /// Post office.
    pub post_office: String,
    /// NIK.
    pub nik: String,
    /// Name.
    pub name: String,
    /// Rupiah returned.
    pub amount: u64,
    /// `ineligible:<reason>`, `not_home`, `refused` or `not_visited`.
    pub reason: String,
}

/// Every recipient not paid and whose funds were not reallocated, by post office and name.
pub fn retur(facts: &[RecipientFacts]) -> Vec<ReturRow> {
    let mut out: Vec<ReturRow> = facts
        .iter()
        .filter(|f| f.standing != Standing::Paid && !f.reallocated)
        .map(|f| ReturRow {
            regency: f.regency.clone(),
            post_office: f.post_office.clone(),
            nik: f.nik.clone(),
            name: f.name.clone(),
            amount: f.amount,
            reason: match f.standing {
                Standing::Ineligible => format!("ineligible:{}", f.ineligible_reason.as_deref().unwrap_or("other")),
                Standing::NotHome => "not_home".into(),
                Standing::Refused => "refused".into(),
                _ => "not_visited".into(),
            },
        })
        .collect();
    out.sort_by(|a, b| (&a.regency, &a.post_office, &a.name).cmp(&(&b.regency, &b.post_office, &b.name)));
    out
}

/// The Indonesian words for an ineligible reason's code (the report's and the CSVs' label).
pub fn ineligible_label(code: &str) -> &str {
    match code {
        "deceased" => "meninggal dunia",
        "moved" => "pindah domisili",
        "not_found" => "tidak ditemukan",
        "not_meeting_criteria" => "tidak memenuhi kriteria",
        "other" => "alasan lain",
        other => other,
    }
}

/// The Indonesian words for a retur reason ([`ReturRow::reason`]).
pub fn retur_label(reason: &str) -> String {
    match reason.strip_prefix("ineligible:") {
        Some(why) => format!("Tidak layak: {}", ineligible_label(why)),
        None => match reason {
            "not_home" => "Tidak di rumah",
            "refused" => "Menolak bantuan",
            "not_visited" => "Belum dikunjungi",
            other => other,
        }
        .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(po: &str, standing: Standing, paid_amount: u64) -> RecipientFacts {
        RecipientFacts {
            regency: "3171".into(),
            post_office: po.into(),
            nik: "3171010101900001".into(),
            name: format!("{standing:?}"),
            amount: 600_000,
            standing,
            paid_amount,
            payments: u64::from(paid_amount > 0),
            ineligible_reason: (standing == Standing::Ineligible).then(|| "deceased".into()),
            overrides: 0,
            proxies: 0,
            complaints: 0,
            reallocated: false,
            server: ServerChecks::default(),
        }
    }

    #[test]
    fn the_report_adds_up_and_the_retur_lists_every_unpaid_recipient() {
        let mut all = vec![
            facts("a", Standing::Paid, 600_000),
            facts("a", Standing::Ineligible, 0),
            facts("a", Standing::NotHome, 0),
            facts("b", Standing::Refused, 0),
            facts("b", Standing::NotVisited, 0),
        ];
        all[0].overrides = 1;
        all[0].complaints = 2;
        all[0].server.mismatch = 1;
        all[3].server.verified = 1;
        let (rows, total) = report(&all);
        assert_eq!((total.server.verified, total.server.mismatch, total.server.phone_only()), (1, 1, 1));
        let counted = Counted { rows: rows.clone(), total: total.clone() };
        let json = serde_json::to_string(&counted).unwrap();
        assert_eq!(serde_json::from_str::<Counted>(&json).unwrap(), counted, "what a close counted reads back");
        assert_eq!(rows.len(), 2);
        assert_eq!((total.recipients, total.paid, total.paid_amount, total.retur_amount), (5, 1, 600_000, 2_400_000));
        assert_eq!((total.ineligible_total(), total.not_home, total.refused, total.not_visited), (1, 1, 1, 1));
        assert_eq!((total.overrides, total.complaints), (1, 2));
        assert_eq!(rows[0].recipients + rows[1].recipients, total.recipients);
        let retur = retur(&all);
        let reasons: Vec<&str> = retur.iter().map(|r| r.reason.as_str()).collect();
        // By post office, then name.
        assert_eq!(reasons, ["ineligible:deceased", "not_home", "not_visited", "refused"]);
        assert_eq!(retur.iter().map(|r| r.amount).sum::<u64>(), total.retur_amount);
    }

    #[test]
    fn reallocated_funds_are_not_returned_and_double_payments_are_counted() {
        let mut all = vec![
            facts("a", Standing::Paid, 1_200_000),
            facts("a", Standing::Ineligible, 0),
            facts("a", Standing::Ineligible, 0),
            facts("a", Standing::NotHome, 0),
        ];
        all[0].payments = 2;
        all[1].reallocated = true;
        let (_, total) = report(&all);
        assert_eq!((total.paid, total.paid_amount, total.double_paid), (1, 1_200_000, 1));
        assert_eq!((total.reallocated, total.reallocated_amount, total.retur_amount), (1, 600_000, 1_200_000));
        let retur = retur(&all);
        assert_eq!(retur.len(), 2, "the reallocated recipient's money is not sent back");
        assert_eq!(total.paid + total.reallocated + retur.len() as u64, total.recipients);
    }
}
