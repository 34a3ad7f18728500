//! Rosters: the recipients of a programme period, each assigned to a worker, as imported and as
//! sent to the worker's phone.

use std::io::Read;

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

/// The columns of a roster file, in the order `salur import-roster --help` names them.
pub const COLUMNS: [&str; 13] = [
    "nik",
    "name",
    "address",
    "province",
    "regency",
    "district",
    "village",
    "post_office",
    "amount",
    "period",
    "worker_id",
    "photo",
    "kk_members",
];

/// The columns a roster file may leave out.
const OPTIONAL: [&str; 2] = ["photo", "kk_members"];

/// The rows of a roster CSV (a header line, then one recipient per record), each with its line
/// number: the row, or why it is refused (unreadable, or failing [`RosterRow::validate`]). Fields
/// are separated by `,` or by `;` (what a spreadsheet writes in an Indonesian locale), told from
/// the header line. A header that is not a roster's is one problem at line 1, not one per row.
pub fn read_csv(input: impl std::io::Read) -> Vec<(usize, Result<RosterRow, String>)> {
    let mut bytes = Vec::new();
    if let Err(e) = std::io::BufReader::new(input).read_to_end(&mut bytes) {
        return vec![(1, Err(format!("unreadable file: {e}")))];
    }
    let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let count = |c: u8| first.iter().filter(|b| **b == c).count();
    let delimiter = if count(b';') > count(b',') { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).from_reader(&bytes[..]);
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim().trim_start_matches('\u{feff}').to_ascii_lowercase()).collect(),
        Err(e) => return vec![(1, Err(format!("header: unreadable: {e}")))],
    };
    if let Some(unknown) = header.iter().find(|c| !COLUMNS.contains(&c.as_str())) {
        return vec![(1, Err(format!("header: unknown column {unknown:?}: the columns are {}", COLUMNS.join(", "))))];
    }
    let missing: Vec<&str> =
        COLUMNS.iter().filter(|c| !OPTIONAL.contains(c) && !header.iter().any(|h| h == *c)).copied().collect();
    if !missing.is_empty() {
        return vec![(
            1,
            Err(format!("header: missing column(s) {}: the columns are {}", missing.join(", "), COLUMNS.join(", "))),
        )];
    }
    reader
        .records()
        .enumerate()
        .map(|(i, record)| {
            let line = i + 2;
            let row = record
                .map_err(|e| format!("unreadable row: {e}"))
                .and_then(|r| row_of(&header, &r))
                .and_then(|r| r.validate().map(|()| r));
            (line, row)
        })
        .collect()
}

/// A record as a roster row, by the header's column names.
fn row_of(header: &[String], record: &csv::StringRecord) -> Result<RosterRow, String> {
    if record.len() != header.len() {
        return Err(format!("{} fields where the header has {}", record.len(), header.len()));
    }
    let field = |name: &str| header.iter().position(|h| h == name).and_then(|i| record.get(i)).unwrap_or("").trim();
    let optional = |name: &str| Some(field(name).to_string()).filter(|v| !v.is_empty());
    Ok(RosterRow {
        nik: field("nik").to_string(),
        name: field("name").to_string(),
        address: field("address").to_string(),
        province: field("province").to_string(),
        regency: field("regency").to_string(),
        district: field("district").to_string(),
        village: field("village").to_string(),
        post_office: field("post_office").to_string(),
        amount: parse_rupiah(field("amount")).map_err(|why| format!("column amount: {why}"))?,
        period: field("period").to_string(),
        worker_id: field("worker_id").to_string(),
        photo: optional("photo"),
        kk_members: optional("kk_members"),
    })
}

/// Whole rupiah as an officer writes them: `600000`, `600.000` or `Rp600.000` (dots group the
/// thousands; a comma would be a decimal part, which rupiah amounts do not have).
pub fn parse_rupiah(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let t = t.strip_prefix("Rp").or_else(|| t.strip_prefix("rp")).unwrap_or(t).trim();
    let grouped = t.contains('.');
    let groups: Vec<&str> = t.split('.').collect();
    let well_grouped =
        !grouped || (groups[0].len() <= 3 && !groups[0].is_empty() && groups[1..].iter().all(|g| g.len() == 3));
    let digits: String = groups.concat();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || !well_grouped {
        return Err(format!("{text:?} is not a whole number of rupiah: write 600000 or 600.000"));
    }
    digits.parse::<u64>().map_err(|_| format!("{text:?} is far too large"))
}

/// The amounts a roster may carry, whole rupiah (`salur import-roster --min-amount/--max-amount`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmountBounds {
    /// Smallest.
    pub min: u64,
    /// Largest.
    pub max: u64,
}

impl Default for AmountBounds {
    /// Rp50.000 to Rp10.000.000: cash-aid payments (BLT Rp600.000 for three months, PKH up to a
    /// few million a year) sit well inside; Rp1 or Rp900.000.000.000 are typing errors.
    fn default() -> Self {
        Self { min: 50_000, max: 10_000_000 }
    }
}

impl AmountBounds {
    /// Whether `amount` is inside, or what to do.
    pub fn check(&self, amount: u64) -> Result<(), String> {
        if (self.min..=self.max).contains(&amount) {
            Ok(())
        } else {
            Err(format!(
                "column amount: {} is outside {} to {} (check the figure, or set --min-amount/--max-amount)",
                salur_core::slip::rupiah(amount),
                salur_core::slip::rupiah(self.min),
                salur_core::slip::rupiah(self.max)
            ))
        }
    }
}

/// The province and regency codes of the bundled Kemendagri list.
#[derive(Debug, Clone, Default)]
pub struct KnownAreas {
    /// Province codes (2 digits).
    pub provinces: std::collections::HashSet<String>,
    /// Regency codes (4 digits, the first two the province's).
    pub regencies: std::collections::HashSet<String>,
}

impl KnownAreas {
    /// Whether the row's province and regency exist and belong together, or what is wrong.
    pub fn check(&self, row: &RosterRow) -> Result<(), String> {
        if !self.provinces.contains(&row.province) {
            return Err(format!("column province: {:?} is no province code of the Kemendagri list", row.province));
        }
        if !self.regencies.contains(&row.regency) {
            return Err(format!("column regency: {:?} is no regency code of the Kemendagri list", row.regency));
        }
        if !row.regency.starts_with(&row.province) {
            return Err(format!(
                "columns province and regency: regency {} is not in province {} (its first two digits name its province)",
                row.regency, row.province
            ));
        }
        Ok(())
    }

    /// A warning (never a refusal: people move) when the NIK's region digits are not the row's
    /// regency.
    pub fn nik_region_note(row: &RosterRow) -> Option<String> {
        (row.nik.len() >= 4 && row.regency.len() == 4 && row.nik[..4] != row.regency).then(|| {
            format!("NIK issued in regency {} but listed in {} (kept: people move)", &row.nik[..4], row.regency)
        })
    }
}

/// The lines whose NIK an earlier line of the same file already has, with that earlier line: a
/// second row would silently replace the first's name and amount.
pub fn repeated_niks<'a>(rows: impl IntoIterator<Item = (usize, &'a RosterRow)>) -> Vec<(usize, usize)> {
    let mut first: std::collections::HashMap<(&str, &str), usize> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for (line, row) in rows {
        match first.get(&(row.period.as_str(), row.nik.as_str())) {
            Some(earlier) => out.push((line, *earlier)),
            None => {
                first.insert((row.period.as_str(), row.nik.as_str()), line);
            }
        }
    }
    out
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
            return Err("column nik: a NIK is 16 digits".into());
        }
        // The first two digits are a province code: none is 00 (a placeholder, not a person).
        if self.nik.starts_with("00") {
            return Err("column nik: a NIK starts with its province code, never 00 (a placeholder?)".into());
        }
        if self.amount == 0 {
            return Err("column amount: a positive number of rupiah".into());
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
            return Err(format!("column {name} is empty"));
        }
        // The period names files (close-period's report) and URLs: a plain identifier only.
        if !is_identifier(&self.period) {
            return Err("column period: 1 to 64 letters, digits, '.', '_' or '-' (e.g. blt-2026-11)".into());
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

/// A recipient as the database holds them, for an import's list of changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Amount, rupiah.
    pub amount: u64,
}

/// What importing `row` would change of the recipient held as `current`: the amount with both
/// values, the name and address only named (the list is printed and pasted into tickets, so it
/// carries no one's name or address).
pub fn changes(row: &RosterRow, current: &Current) -> Vec<String> {
    let mut out = Vec::new();
    if row.amount != current.amount {
        out.push(format!(
            "amount {} -> {}",
            salur_core::slip::rupiah(current.amount),
            salur_core::slip::rupiah(row.amount)
        ));
    }
    if row.name != current.name {
        out.push("name changes".into());
    }
    if row.address != current.address {
        out.push("address changes".into());
    }
    out
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
    /// Recipients already held whose amount, name or address the import changes (line, what).
    pub changes: Vec<(usize, String)>,
    /// Rows that add a recipient not held before.
    pub added: usize,
    /// Imported, with a note worth a look (a NIK issued in another regency).
    pub notes: Vec<(usize, String)>,
    /// Checked only (`--dry-run`): nothing was written.
    pub dry_run: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(why[0], "column nik: a NIK is 16 digits");
        assert_eq!(why[1], "column nik: a NIK is 16 digits");
        assert!(why[2].starts_with("column amount"));
        assert_eq!(why[3], "column worker_id is empty");
        assert!(RosterRow { nik: "0000000000000000".into(), ..row() }.validate().unwrap_err().contains("never 00"));
        // A period names the close-period report's files: no path out of the output folder.
        for period in ["x/../../etc", "..", ".hidden", "a b", "blt\t2026", ""] {
            let why = RosterRow { period: period.into(), ..row() }.validate().unwrap_err();
            assert!(why.starts_with("column period"), "{period:?}: {why}");
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

    #[test]
    fn a_spreadsheets_csv_reads_with_either_separator_and_dotted_amounts() {
        let comma = "nik,name,address,province,regency,district,village,post_office,amount,period,worker_id\n\
                     3171010101010001,Siti,Jl. Mawar 1,31,3171,317101,3171011001,10110,600.000,blt-2026-11,w1\n";
        let semicolon = comma.replace(',', ";").replace("600.000", "Rp600.000");
        for text in [comma.to_string(), semicolon] {
            let rows = read_csv(text.as_bytes());
            assert_eq!(rows.len(), 1, "{text}");
            assert_eq!(rows[0].1.as_ref().unwrap().amount, 600_000);
        }
        for (bad, why) in
            [("600,50", "whole number"), ("6.00", "whole number"), ("18446744073709551616", "too large"), ("", "whole")]
        {
            assert!(parse_rupiah(bad).unwrap_err().contains(why), "{bad}");
        }
        assert_eq!(parse_rupiah("1.200.000"), Ok(1_200_000));
    }

    #[test]
    fn a_wrong_header_is_one_problem_not_one_per_row() {
        let rows = read_csv("nik;nama\n1;2\n3;4\n".as_bytes());
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0, 1);
        assert!(rows[0].1.as_ref().unwrap_err().contains("unknown column \"nama\""));
        let rows = read_csv("nik,name\n1,2\n".as_bytes());
        assert!(rows[0].1.as_ref().unwrap_err().contains("missing column(s) address"), "{rows:?}");
    }

    #[test]
    fn amounts_areas_and_repeated_niks_are_checked() {
        let bounds = AmountBounds::default();
        assert!(bounds.check(600_000).is_ok());
        assert!(bounds.check(1).is_err() && bounds.check(900_000_000_000).is_err());
        let known = KnownAreas {
            provinces: ["31".to_string(), "32".to_string()].into(),
            regencies: ["3171".to_string(), "3273".to_string()].into(),
        };
        assert!(known.check(&row()).is_ok());
        assert!(known.check(&RosterRow { province: "99".into(), ..row() }).unwrap_err().contains("province"));
        assert!(known.check(&RosterRow { regency: "9999".into(), ..row() }).unwrap_err().contains("regency"));
        // Jakarta's province with Bandung's regency.
        assert!(known.check(&RosterRow { regency: "3273".into(), ..row() }).unwrap_err().contains("not in province"));
        assert_eq!(KnownAreas::nik_region_note(&row()), None);
        assert!(KnownAreas::nik_region_note(&RosterRow { regency: "3273".into(), ..row() }).is_some());
        let (a, b) = (row(), RosterRow { name: "Other".into(), ..row() });
        let other_period = RosterRow { period: "pkh".into(), ..row() };
        assert_eq!(repeated_niks([(2, &a), (3, &b), (4, &other_period)]), vec![(3, 2)]);
    }
}
