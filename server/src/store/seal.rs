//! Personal data sealed at rest (UU PDP 27/2022): recipients' NIKs, names, addresses and face
//! templates, evidence face crops and their embeddings, and each roster's pseudonymisation key
//! are stored encrypted with AES-256-GCM under a key kept outside the database, each value bound
//! (as associated data) to its table, column and row so that a sealed value moved to another row
//! does not open. A stolen database file or dump holds no readable NIK, face or roster key.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::ApiError;

/// Prefix of a sealed text value (NIK, name, address).
const TEXT_PREFIX: &str = "sld1:";
/// Prefix of a sealed binary value (templates, crops, embeddings, roster keys).
const BYTES_PREFIX: &[u8] = b"SLD1";
/// Environment variable naming the key file (64 hex digits).
pub const KEY_FILE_ENV: &str = "SALUR_SEAL_KEY_FILE";
/// Name of the key file made in the data directory when no other is named.
pub const KEY_FILE_NAME: &str = "seal.key";

/// Seals and opens values under one key.
pub struct Sealer {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

/// Where the sealing key comes from: for embedded SQLite, `DATA_DIR/seal.key` (made on first
/// start, owner-only; put the folder's key on another volume with a symlink to keep it apart from
/// backups of the database); for a database URL, the file `SALUR_SEAL_KEY_FILE` names (shared by
/// every instance), and none is refused.
pub fn key_path(data_dir: Option<&Path>) -> Result<PathBuf, ApiError> {
    match (data_dir, std::env::var_os(KEY_FILE_ENV)) {
        (Some(d), _) => Ok(d.join(KEY_FILE_NAME)),
        (None, Some(p)) => Ok(PathBuf::from(p)),
        (None, None) => Err(ApiError::BadRequest(format!(
            "personal data is sealed with a key kept outside the database: set {KEY_FILE_ENV} to a file holding \
             64 hex digits (e.g. `openssl rand -hex 32 > /etc/salur/seal.key`)"
        ))),
    }
}

impl Sealer {
    /// The key in `path` (64 hex digits), made there if the file does not exist.
    pub fn from_file(path: &Path) -> Result<Self, ApiError> {
        let io = |e: std::io::Error| ApiError::Internal(format!("seal key {}: {e}", path.display()));
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                SystemRandom::new().fill(&mut key).map_err(|_| ApiError::Internal("no secure random source".into()))?;
                let text = format!("{}\n", hex::encode(key));
                write_private(path, &text).map_err(io)?;
                text
            }
            Err(e) => return Err(io(e)),
        };
        let key = hex::decode(text.trim())
            .ok()
            .filter(|k| k.len() == 32)
            .ok_or_else(|| ApiError::BadRequest(format!("seal key {}: expected 64 hex digits", path.display())))?;
        Self::new(&key)
    }

    /// A sealer over a 32-byte key.
    pub fn new(key: &[u8]) -> Result<Self, ApiError> {
        let key =
            UnboundKey::new(&AES_256_GCM, key).map_err(|_| ApiError::Internal("seal key must be 32 bytes".into()))?;
        Ok(Self { key: LessSafeKey::new(key), rng: SystemRandom::new() })
    }

    fn seal_raw(&self, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, ApiError> {
        let mut nonce = [0u8; NONCE_LEN];
        // Random 96-bit nonces: tens of millions of values per key stay far from a collision.
        self.rng.fill(&mut nonce).map_err(|_| ApiError::Internal("no secure random source".into()))?;
        let mut out = plain.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut out)
            .map_err(|_| ApiError::Internal("sealing failed".into()))?;
        Ok([&nonce[..], &out].concat())
    }

    fn open_raw(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, ApiError> {
        let (nonce, body) = sealed.split_at_checked(NONCE_LEN).ok_or_else(unopenable)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| unopenable())?;
        let mut body = body.to_vec();
        let plain = self.key.open_in_place(nonce, Aad::from(aad), &mut body).map_err(|_| unopenable())?;
        Ok(plain.to_vec())
    }

    /// `plain` sealed as text, bound to `aad`.
    pub fn seal_text(&self, aad: &[u8], plain: &str) -> Result<String, ApiError> {
        Ok(format!("{TEXT_PREFIX}{}", B64.encode(self.seal_raw(aad, plain.as_bytes())?)))
    }

    /// The text sealed in `stored`. Every value is sealed when the database opens (`sealing.rs`),
    /// so one without the prefix was written around the server: refused, except the empty value
    /// a purge leaves.
    pub fn open_text(&self, aad: &[u8], stored: &str) -> Result<String, ApiError> {
        let Some(b64) = stored.strip_prefix(TEXT_PREFIX) else {
            return if stored.is_empty() { Ok(String::new()) } else { Err(unopenable()) };
        };
        let raw = B64.decode(b64).map_err(|_| unopenable())?;
        String::from_utf8(self.open_raw(aad, &raw)?).map_err(|_| unopenable())
    }

    /// `plain` sealed as bytes, bound to `aad`.
    pub fn seal_bytes(&self, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, ApiError> {
        Ok([BYTES_PREFIX, &self.seal_raw(aad, plain)?].concat())
    }

    /// The bytes sealed in `stored` (refused without the prefix, as [`Self::open_text`]).
    pub fn open_bytes(&self, aad: &[u8], stored: &[u8]) -> Result<Vec<u8>, ApiError> {
        match stored.strip_prefix(BYTES_PREFIX) {
            Some(raw) => self.open_raw(aad, raw),
            None if stored.is_empty() => Ok(Vec::new()),
            None => Err(unopenable()),
        }
    }

    /// Whether `stored` is already sealed.
    pub fn is_sealed_text(stored: &str) -> bool {
        stored.starts_with(TEXT_PREFIX)
    }

    /// Whether `stored` is already sealed.
    pub fn is_sealed_bytes(stored: &[u8]) -> bool {
        stored.starts_with(BYTES_PREFIX)
    }
}

fn unopenable() -> ApiError {
    // Never echo the value: it may be personal data.
    ApiError::Internal(
        "a sealed value does not open with this server's seal key (wrong key, or the row was altered)".into(),
    )
}

/// The associated data of a column of a recipient row.
pub fn recipient_aad(column: &str, roster_id: &str, recipient: &[u8]) -> Vec<u8> {
    [b"recipients|", column.as_bytes(), b"|", roster_id.as_bytes(), b"|", recipient].concat()
}

/// The associated data of a column of a KK member's row.
pub fn member_aad(column: &str, roster_id: &str, recipient: &[u8], member: &[u8]) -> Vec<u8> {
    [b"household|", column.as_bytes(), b"|", roster_id.as_bytes(), b"|", recipient, b"|", member].concat()
}

/// The associated data of a column of an evidence row.
pub fn evidence_aad(column: &str, receipt_id: &str) -> Vec<u8> {
    [b"evidence|", column.as_bytes(), b"|", receipt_id.as_bytes()].concat()
}

/// The associated data of a roster's pseudonymisation key.
pub fn roster_key_aad(roster_id: &str) -> Vec<u8> {
    [b"rosters|roster_key|", roster_id.as_bytes()].concat()
}

/// Writes a new file only its owner can read (its folder made if missing); fails if it exists.
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_row() {
        let s = Sealer::new(&[7; 32]).unwrap();
        let aad = recipient_aad("nik", "blt", &[1; 16]);
        let sealed = s.seal_text(&aad, "3171010101900001").unwrap();
        assert!(!sealed.contains("3171") && Sealer::is_sealed_text(&sealed));
        assert_eq!(s.open_text(&aad, &sealed).unwrap(), "3171010101900001");
        assert_ne!(sealed, s.seal_text(&aad, "3171010101900001").unwrap(), "a fresh nonce each time");
        assert!(s.open_text(&recipient_aad("nik", "blt", &[2; 16]), &sealed).is_err(), "moved to another row");
        assert!(s.open_text(&recipient_aad("name", "blt", &[1; 16]), &sealed).is_err(), "another column");
        assert!(Sealer::new(&[8; 32]).unwrap().open_text(&aad, &sealed).is_err(), "another key");
        let bytes = s.seal_bytes(b"x", &[9; 100]).unwrap();
        assert_eq!(s.open_bytes(b"x", &bytes).unwrap(), [9; 100]);
        let mut flipped = bytes.clone();
        flipped[20] ^= 1;
        assert!(s.open_bytes(b"x", &flipped).is_err());
        // A value written around the server (no seal) is refused, not read as plaintext; the empty
        // values a purge writes still read.
        assert!(s.open_text(&aad, "3171010101900009").is_err());
        assert!(s.open_bytes(b"x", &[1, 2, 3]).is_err());
        assert_eq!((s.open_text(&aad, "").unwrap(), s.open_bytes(b"x", &[]).unwrap()), (String::new(), Vec::new()));
    }

    #[test]
    fn the_key_file_is_made_once_owner_only_and_a_bad_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k").join(KEY_FILE_NAME);
        let a = Sealer::from_file(&path).unwrap().seal_text(b"a", "x").unwrap();
        assert_eq!(Sealer::from_file(&path).unwrap().open_text(b"a", &a).unwrap(), "x", "the same key again");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&path, "not hex").unwrap();
        assert!(matches!(Sealer::from_file(&path), Err(ApiError::BadRequest(_))));
    }
}
