//! Google's attestation certificate revocation status list: the JSON that Google publishes (at
//! `https://android.googleapis.com/attestation/status`) and the operator downloads into a file
//! that `salur serve --attestation-revocations FILE` reads:
//!
//! ```json
//! {"entries": {"2c8cdddfd5e03bfc": {"status": "REVOKED", "reason": "KEY_COMPROMISE"}}}
//! ```
//!
//! Keys are certificate serial numbers in lowercase hex; a certificate of the chain whose serial
//! is listed as `REVOKED` or `SUSPENDED` is refused (as Google's verifier does). The check is a
//! pure function; [`RevocationFile`] is the one piece that reads the file, again whenever the
//! operator replaces it, so a refreshed list applies without a restart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

/// One listed certificate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Entry {
    /// `REVOKED` or `SUSPENDED` (anything else listed is treated as revoked too: the list names
    /// only certificates Google no longer vouches for).
    pub status: String,
    /// Why (`KEY_COMPROMISE`, `CA_COMPROMISE`, `SUPERSEDED`, `SOFTWARE_FLAW`, ...).
    #[serde(default)]
    pub reason: Option<String>,
}

/// The list: serial (normalised) → entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationList {
    entries: BTreeMap<String, Entry>,
}

#[derive(serde::Deserialize)]
struct Wire {
    entries: BTreeMap<String, Entry>,
}

/// A serial in hex as Google's list writes it: lowercase, without leading zeros.
pub fn normalize_serial(hex: &str) -> String {
    let lower = hex.trim().to_ascii_lowercase();
    let trimmed = lower.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed.into()
    }
}

impl RevocationList {
    /// Parses Google's JSON.
    pub fn parse(json: &[u8]) -> Result<Self, String> {
        let wire: Wire = serde_json::from_slice(json).map_err(|e| format!("not a revocation status list: {e}"))?;
        Ok(Self { entries: wire.entries.into_iter().map(|(k, v)| (normalize_serial(&k), v)).collect() })
    }

    /// How many serials are listed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is listed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first of `serials` (normalised hex) that is listed, with its entry.
    pub fn first_listed<'a>(&'a self, serials: &'a [String]) -> Option<(&'a str, &'a Entry)> {
        serials.iter().find_map(|s| self.entries.get(&normalize_serial(s)).map(|e| (s.as_str(), e)))
    }
}

/// The operator's copy of the list, read again when the file changes (its modification time or
/// size). A file that stops parsing keeps the last good list (and says so in the log): a
/// half-written download must not open the door to revoked keys.
#[derive(Debug)]
pub struct RevocationFile {
    path: PathBuf,
    state: Mutex<(Option<(SystemTime, u64)>, RevocationList)>,
}

impl RevocationFile {
    /// Reads `path` now: a missing or malformed file is an error (the server does not start).
    pub fn open(path: &Path) -> Result<Self, String> {
        let stamp = stamp(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let list = RevocationList::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Self { path: path.to_path_buf(), state: Mutex::new((Some(stamp), list)) })
    }

    /// The list as the file says now.
    pub fn current(&self) -> RevocationList {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = stamp(&self.path).ok();
        if now.is_some() && now != state.0 {
            match std::fs::read(&self.path).map_err(|e| e.to_string()).and_then(|b| RevocationList::parse(&b)) {
                Ok(list) => {
                    tracing::info!(path = %self.path.display(), serials = list.len(), "attestation revocation list reloaded");
                    *state = (now, list);
                }
                Err(e) => {
                    tracing::warn!(path = %self.path.display(), error = %e, "attestation revocation list unreadable: the last good one stays")
                }
            }
        }
        state.1.clone()
    }
}

fn stamp(path: &Path) -> std::io::Result<(SystemTime, u64)> {
    let meta = std::fs::metadata(path)?;
    Ok((meta.modified()?, meta.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn googles_format_parses_and_serials_match_without_leading_zeros_or_case() {
        let list = RevocationList::parse(
            br#"{"entries": {
                "2c8cdddfd5e03bfc": {"status": "REVOKED", "expires": "2020-11-13", "reason": "KEY_COMPROMISE", "comment": "x"},
                "0C35747A084470C3135AEEFE2B8D40CD6": {"status": "SUSPENDED"}}}"#,
        )
        .unwrap();
        assert_eq!(list.len(), 2);
        let serials = vec!["1".to_string(), "c35747a084470c3135aeefe2b8d40cd6".to_string()];
        let (serial, entry) = list.first_listed(&serials).unwrap();
        assert_eq!((serial, entry.status.as_str(), entry.reason.as_deref()), (serials[1].as_str(), "SUSPENDED", None));
        assert!(list.first_listed(&["02c8cdddfd5e03bfc".to_string()]).is_some());
        assert!(list.first_listed(&["2c8cdddfd5e03bfd".to_string()]).is_none());
        assert!(RevocationList::parse(b"{}").is_err());
        assert!(RevocationList::parse(b"[1]").is_err());
        assert_eq!(normalize_serial("000"), "0");
    }

    #[test]
    fn the_file_is_read_again_when_replaced_and_a_broken_one_keeps_the_last_list() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("status.json");
        std::fs::write(&path, br#"{"entries": {}}"#).unwrap();
        let file = RevocationFile::open(&path).unwrap();
        assert!(file.current().is_empty());
        std::fs::write(&path, br#"{"entries": {"2a": {"status": "REVOKED", "reason": "KEY_COMPROMISE"}}}"#).unwrap();
        assert_eq!(file.current().len(), 1);
        std::fs::write(&path, b"{\"entries\": {").unwrap();
        assert_eq!(file.current().len(), 1, "a half-written file keeps the last good list");
        assert!(RevocationFile::open(&dir.path().join("missing.json")).is_err());
    }
}
