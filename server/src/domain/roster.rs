//! Rosters: the recipients of a programme period, each assigned to a worker, as imported and as
//! sent to the worker's phone.

use serde::{Deserialize, Serialize};

/// One CSV row of `salur import-roster`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
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
    /// The other members of the recipient's Kartu Keluarga who may collect for them with a surat
    /// kuasa: `NIK:Name` entries separated by `|` (empty: nobody may).
    #[serde(default)]
    pub kk_members: Option<String>,
}

/// The rows of a roster CSV (a header line, then one recipient per record), each with its line
/// number: the row, or why it is refused (unreadable, or failing [`RosterRow::validate`]).
pub fn read_csv(input: impl std::io::Read) -> Vec<(usize, Result<RosterRow, String>)> {
    csv::Reader::from_reader(input)
        .deserialize::<RosterRow>()
        .enumerate()
        .map(|(i, r)| {
            let row = r.map_err(|e| format!("unreadable row: {e}")).and_then(|r| r.validate().map(|()| r));
            (i + 2, row)
        })
        .collect()
}

/// A roster id (period) that is safe as a file name and in a URL: `[A-Za-z0-9._-]{1,64}`, not
/// starting with a dot.
pub fn is_identifier(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && !id.starts_with('.')
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Most KK members listed for one recipient (a Kartu Keluarga rarely lists more than ten).
pub const MAX_KK_MEMBERS: usize = 16;

/// A member of a recipient's KK as sent to the phone.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KkMemberEntry {
    /// Keyed hash of the member's NIK (hex): what a proxy receipt names.
    pub member: String,
    /// NIK (the phone seals it at rest and compares it with the e-KTP shown).
    pub nik: String,
    /// Name.
    pub name: String,
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
    /// The members of the recipient's KK who may collect for them.
    pub household: Vec<KkMemberEntry>,
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
        if let Some((name, _)) = required.iter().find(|(_, v)| v.trim().is_empty()) {
            return Err(format!("{name} is empty"));
        }
        // The period names files (close-period's report) and URLs: a plain identifier only.
        if !is_identifier(&self.period) {
            return Err("period must be 1 to 64 letters, digits, '.', '_' or '-' (e.g. blt-2026-11)".into());
        }
        self.household().map(|_| ())
    }

    /// The KK members of `kk_members` as (NIK, name), or why the column cannot be read.
    pub fn household(&self) -> Result<Vec<(String, String)>, String> {
        let Some(list) = self.kk_members.as_deref().filter(|l| !l.trim().is_empty()) else { return Ok(Vec::new()) };
        let mut members: Vec<(String, String)> = Vec::new();
        for entry in list.split('|') {
            let (nik, name) = entry.split_once(':').ok_or("kk_members entries are NIK:Name, separated by |")?;
            let (nik, name) = (nik.trim(), name.trim());
            if nik.len() != 16 || !nik.bytes().all(|b| b.is_ascii_digit()) {
                return Err("a KK member's NIK must be 16 digits".into());
            }
            if name.is_empty() {
                return Err("a KK member's name is empty".into());
            }
            if nik == self.nik.trim() || members.iter().any(|(n, _)| n == nik) {
                return Err("kk_members lists the recipient or one member twice".into());
            }
            members.push((nik.to_string(), name.to_string()));
        }
        if members.len() > MAX_KK_MEMBERS {
            return Err(format!("at most {MAX_KK_MEMBERS} KK members per recipient"));
        }
        Ok(members)
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
    /// Rows without a photo whose recipient kept the reference template imported earlier.
    pub kept_template: Vec<usize>,
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
            kk_members: None,
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
        // A period names the close-period report's files: no path out of the output folder.
        for period in ["x/../../etc", "..", ".hidden", "a b", "blt\t2026", ""] {
            let why = RosterRow { period: period.into(), ..row() }.validate().unwrap_err();
            assert!(why.starts_with("period"), "{period:?}: {why}");
        }
        assert!(RosterRow { period: "blt-2026.11_a".into(), ..row() }.validate().is_ok());
    }

    #[test]
    fn kk_members_are_nik_name_pairs_of_other_people() {
        let with = |list: &str| RosterRow { kk_members: Some(list.into()), ..row() };
        let two = with("3171010101010002: Budi | 3171010101010003:Ani");
        assert_eq!(
            two.household().unwrap(),
            vec![("3171010101010002".into(), "Budi".into()), ("3171010101010003".into(), "Ani".into())]
        );
        assert!(with(" ").household().unwrap().is_empty());
        for bad in [
            "3171010101010002",
            "317101010101000:Budi",
            "3171010101010002: ",
            "3171010101010001:Siti",
            "3171010101010002:Budi|3171010101010002:Budi",
        ] {
            assert!(with(bad).validate().is_err(), "{bad}");
        }
        let many: Vec<String> = (0..17).map(|i| format!("31710101010110{i:02}:M{i}")).collect();
        assert!(with(&many.join("|")).validate().unwrap_err().contains("at most"));
    }
}
