//! Names for the codes the dashboard shows: provinces and regencies from the bundled Kemendagri
//! list (`server/data/area-names.csv`, sources in `server/data/SOURCES.md`), and post offices
//! (and corrections) from an operator's file in the same `kind,code,name` form; the operator's file
//! may also give a post office's street address (`post_office_address,code,address`), which the
//! invitation letters print.

use std::collections::HashMap;
use std::path::Path;

use super::dashboard::{Area, Dashboard};
use crate::error::ApiError;

const BUNDLED: &str = include_str!("../../data/area-names.csv");

/// Names by kind and code.
#[derive(Debug, Clone, Default)]
pub struct AreaNames {
    provinces: HashMap<String, String>,
    regencies: HashMap<String, String>,
    post_offices: HashMap<String, String>,
    post_office_addresses: HashMap<String, String>,
}

impl AreaNames {
    /// The bundled province and regency names.
    pub fn bundled() -> Self {
        let mut names = Self::default();
        // The bundled file is checked by a test: a bad line there is a build defect, not input.
        if let Err(e) = names.add_csv(BUNDLED) {
            tracing::error!(error = %e, "bundled area names");
        }
        names
    }

    /// The bundled names with `path`'s added (and preferred).
    pub fn bundled_and(path: &Path) -> Result<Self, ApiError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ApiError::BadRequest(format!("area names {}: {e}", path.display())))?;
        let mut names = Self::bundled();
        names.add_csv(&text).map_err(|e| ApiError::BadRequest(format!("area names {}: {e}", path.display())))?;
        Ok(names)
    }

    /// Adds `kind,code,name` lines (`#` starts a comment line); the line number of the first bad one.
    pub fn add_csv(&mut self, text: &str) -> Result<(), String> {
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.splitn(3, ',');
            let (Some(kind), Some(code), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(format!("line {}: expected kind,code,name", i + 1));
            };
            let map = match kind.trim() {
                "province" => &mut self.provinces,
                "regency" => &mut self.regencies,
                "post_office" => &mut self.post_offices,
                "post_office_address" => &mut self.post_office_addresses,
                other => {
                    return Err(format!(
                        "line {}: kind {other}: use province, regency, post_office or post_office_address",
                        i + 1
                    ))
                }
            };
            let (code, name) = (code.trim(), name.trim().trim_matches('"'));
            if code.is_empty() || name.is_empty() || name.len() > 120 {
                return Err(format!("line {}: an empty code, or a name empty or over 120 bytes", i + 1));
            }
            map.insert(code.to_string(), name.to_string());
        }
        Ok(())
    }

    /// The province and regency codes known (what an import checks rows against).
    pub fn known(&self) -> crate::domain::roster::KnownAreas {
        crate::domain::roster::KnownAreas {
            provinces: self.provinces.keys().cloned().collect(),
            regencies: self.regencies.keys().cloned().collect(),
        }
    }

    /// A regency's name by its four-digit code.
    pub fn regency(&self, code: &str) -> Option<&str> {
        self.regencies.get(code).map(String::as_str)
    }

    /// A post office's name, where the operator's file gives one.
    pub fn post_office(&self, code: &str) -> Option<&str> {
        self.post_offices.get(code).map(String::as_str)
    }

    /// A post office's street address, where the operator's file gives one.
    pub fn post_office_address(&self, code: &str) -> Option<&str> {
        self.post_office_addresses.get(code).map(String::as_str)
    }

    /// Names `area`'s codes where known.
    pub fn name(&self, area: &mut Area) {
        area.province_name = self.provinces.get(&area.province).cloned();
        area.regency_name = self.regencies.get(&area.regency).cloned();
        area.post_office_name = self.post_offices.get(&area.post_office).cloned();
    }

    /// Names every area of `d`.
    pub fn apply(&self, d: &mut Dashboard) {
        for a in &mut d.areas {
            self.name(a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_list_names_every_province_and_regency_it_holds() {
        let mut names = AreaNames::default();
        names.add_csv(BUNDLED).unwrap();
        assert_eq!((names.provinces.len(), names.regencies.len()), (34, 514));
        assert_eq!(names.provinces["31"], "DKI JAKARTA");
        assert_eq!(names.regencies["3171"], "KOTA JAKARTA SELATAN");
        assert!(names.regencies.keys().all(|r| names.provinces.contains_key(&r[..2])), "each regency's province");
    }

    #[test]
    fn an_operators_file_adds_post_offices_and_overrides_and_bad_lines_are_named() {
        let mut names = AreaNames::bundled();
        names
            .add_csv("# ours\npost_office,jakarta-10110,KPC Jakarta Pusat\nregency,3171,Kota Jakarta Selatan\n")
            .unwrap();
        assert_eq!(names.post_offices["jakarta-10110"], "KPC Jakarta Pusat");
        assert_eq!(names.regencies["3171"], "Kota Jakarta Selatan");
        assert_eq!(names.add_csv("province,31").unwrap_err(), "line 1: expected kind,code,name");
        assert!(names.add_csv("\nvillage,1,x").unwrap_err().starts_with("line 2: kind village"));
        // An address may hold commas: the rest of the line is the address.
        names.add_csv("post_office_address,jakarta-10110,\"Jl. Lapangan Banteng Utara 1, Jakarta 10710\"").unwrap();
        assert_eq!(names.post_office_address("jakarta-10110"), Some("Jl. Lapangan Banteng Utara 1, Jakarta 10710"));
        assert_eq!(names.post_office_address("bandung-40111"), None);
    }
}
