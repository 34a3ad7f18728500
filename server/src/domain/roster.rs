//! Rosters: the recipients of a programme period, each assigned to a worker, as imported and as
//! sent to the worker's phone.

use serde::{Deserialize, Serialize};

/// One CSV row of `salur import-roster`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterRow {
    /// 16-digit NIK.
    pub nik: String,
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Province code.
    pub province: String,
    /// Regency (kabupaten/kota) code.
    pub regency: String,
    /// District (kecamatan) code.
    pub district: String,
    /// Village (desa/kelurahan) code.
    pub village: String,
    /// Post office that delivers.
    pub post_office: String,
    /// Whole rupiah.
    pub amount: u64,
    /// Programme period, the roster id (e.g. `blt-2026-11`).
    pub period: String,
    /// Worker assigned.
    pub worker_id: String,
    /// Reference photo, relative to `--photos` (default: `<nik>.jpg`, then `<nik>.png`).
    #[serde(default)]
    pub photo: Option<String>,
}

/// A recipient as sent to the assigned worker's phone.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RosterEntry {
    /// Keyed hash of the NIK (hex): what receipts name.
    pub recipient: String,
    /// NIK (the phone seals it at rest).
    pub nik: String,
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Whole rupiah.
    pub amount: u64,
    /// Encoded face template (base64), when the registry has a photo.
    pub template: Option<String>,
}

impl RosterRow {
    /// Checks the fields; the reason when the row must be refused.
    pub fn validate(&self) -> Result<(), String> {
        if self.nik.len() != 16 || !self.nik.bytes().all(|b| b.is_ascii_digit()) {
            return Err("NIK must be 16 digits".into());
        }
        if self.amount == 0 {
            return Err("amount must be a positive number of rupiah".into());
        }
        let required = [
            ("name", &self.name),
            ("address", &self.address),
            ("province", &self.province),
            ("regency", &self.regency),
            ("district", &self.district),
            ("village", &self.village),
            ("post_office", &self.post_office),
            ("period", &self.period),
            ("worker_id", &self.worker_id),
        ];
        match required.iter().find(|(_, v)| v.trim().is_empty()) {
            Some((name, _)) => Err(format!("{name} is empty")),
            None => Ok(()),
        }
    }
}

/// What the import did.
#[derive(Debug, Default, Serialize)]
pub struct ImportSummary {
    /// Rows imported.
    pub imported: usize,
    /// Of those, with a reference template.
    pub with_template: usize,
    /// Imported without a template (they enrol at the first visit), with why.
    pub without_template: Vec<(usize, String)>,
    /// Templates made from photos below the doorstep's capture gates (small or soft faces: a
    /// registry photo is what it is), with the face's size and sharpness.
    pub low_quality_template: Vec<(usize, String)>,
    /// Rows refused (line number, reason).
    pub refused: Vec<(usize, String)>,
}

#[cfg(test)]
mod tests {
    use super::RosterRow;

    fn row() -> RosterRow {
        RosterRow {
            nik: "3171010101010001".into(),
            name: "Siti".into(),
            address: "Jl. Mawar 1".into(),
            province: "31".into(),
            regency: "3171".into(),
            district: "317101".into(),
            village: "3171011001".into(),
            post_office: "10110".into(),
            amount: 600_000,
            period: "blt-2026-11".into(),
            worker_id: "w1".into(),
            photo: None,
        }
    }

    #[test]
    fn rows_need_a_16_digit_nik_an_amount_and_every_field() {
        assert!(row().validate().is_ok());
        let bad = [
            RosterRow { nik: "31710101".into(), ..row() },
            RosterRow { nik: "317101010101000x".into(), ..row() },
            RosterRow { amount: 0, ..row() },
            RosterRow { worker_id: " ".into(), ..row() },
        ];
        let why: Vec<String> = bad.iter().map(|r| r.validate().unwrap_err()).collect();
        assert_eq!(why[0], "NIK must be 16 digits");
        assert_eq!(why[1], "NIK must be 16 digits");
        assert!(why[2].starts_with("amount"));
        assert_eq!(why[3], "worker_id is empty");
    }
}
