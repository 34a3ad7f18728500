//! Staff credentials: Argon2id password hashes, opaque random tokens (bearer tokens and browser
//! sessions, stored as SHA-256 digests only), the per-session CSRF token, name and password rules.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use ring::rand::{SecureRandom, SystemRandom};

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 12;

/// Longest password accepted (Argon2 would take any length; a bound keeps requests cheap).
pub const MAX_PASSWORD: usize = 256;

/// The prefix of bearer tokens made for users (so a leaked one is recognisable in a scan).
pub const TOKEN_PREFIX: &str = "salur_";

/// A hash that no password matches, verified for unknown users so that a login for a name that
/// does not exist costs the same as one that does.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdXItZHVtbXktc2FsdA$Fh0AqUXJ0hQx5rV1c4xBq0n5yqG1dGJ1oB2HjF1mJ3g";

/// Why a credential could not be checked or made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The password is shorter than [`MIN_PASSWORD`] or longer than [`MAX_PASSWORD`].
    #[error("a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters (a passphrase of several words is best)")]
    PasswordLength,
    /// The user name is not 1–64 of `a-z 0-9 . _ -`.
    #[error("a user name is 1-64 of a-z, 0-9, '.', '_', '-'")]
    UserName,
    /// The user name is one the server keeps for itself ([`BOOTSTRAP`], [`CLI`]).
    #[error("{0} is a built-in name")]
    BuiltInName(String),
    /// The operating system gave no random bytes (a fault on the server's side).
    #[error("the system random source failed")]
    Random,
    /// Argon2 could not hash (a fault on the server's side).
    #[error("hashing a password: {0}")]
    Hashing(String),
}

fn random<const N: usize>() -> Result<[u8; N], CredentialError> {
    let mut b = [0u8; N];
    SystemRandom::new().fill(&mut b).map_err(|_| CredentialError::Random)?;
    Ok(b)
}

/// Refuses a password shorter than [`MIN_PASSWORD`] or longer than [`MAX_PASSWORD`].
pub fn check_password(password: &str) -> Result<(), CredentialError> {
    let n = password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&n) {
        return Err(CredentialError::PasswordLength);
    }
    Ok(())
}

/// Refuses a user name that is not 1–64 of `a-z 0-9 . _ -`, or one of the built-in names.
pub fn check_user_name(name: &str) -> Result<(), CredentialError> {
    let ok = (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if !ok {
        return Err(CredentialError::UserName);
    }
    if [BOOTSTRAP, CLI].contains(&name) {
        return Err(CredentialError::BuiltInName(name.to_string()));
    }
    Ok(())
}

/// The built-in administrator behind the static bootstrap token (`SALUR_ADMIN_TOKEN`).
pub const BOOTSTRAP: &str = "bootstrap";

/// The actor of commands run on the database directly (`salur users …`, `salur import-roster`).
pub const CLI: &str = "cli";

/// The Argon2id (v19, m = 19 MiB, t = 2, p = 1: OWASP's first choice) PHC string of `password`.
pub fn hash_password(password: &str) -> Result<String, CredentialError> {
    check_password(password)?;
    let salt = SaltString::encode_b64(&random::<16>()?).map_err(|e| CredentialError::Hashing(format!("salt: {e}")))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| CredentialError::Hashing(e.to_string()))?
        .to_string())
}

/// Whether `password` matches the stored PHC string (`None`: the user does not exist; the
/// dummy hash is checked anyway so both take the same time).
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    let parsed = PasswordHash::new(stored.unwrap_or(DUMMY_HASH)).or_else(|_| PasswordHash::new(DUMMY_HASH));
    let matched = parsed.is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok());
    matched && stored.is_some()
}

/// A new opaque secret (256 random bits, hex) with `prefix`.
pub fn new_secret(prefix: &str) -> Result<String, CredentialError> {
    Ok(format!("{prefix}{}", hex::encode(random::<32>()?)))
}

/// What the database keeps of a token or session secret: its SHA-256 (the secret has 256 random
/// bits, so a fast hash is enough; the database alone never yields a usable credential).
pub fn digest(secret: &str) -> Vec<u8> {
    salur_core::crypto::sha256(secret.as_bytes()).to_vec()
}

/// The CSRF token of the browser session whose secret is `session`: derived, so nothing more is
/// stored, and unguessable without the HttpOnly cookie.
pub fn csrf_token(session: &str) -> String {
    hex::encode(salur_core::crypto::sha256(format!("salur-csrf-v1\n{session}").as_bytes()))
}

/// Compares two secrets in constant time.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_hash_is_argon2id_salted_and_verifies_only_its_password() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert_ne!(h, hash_password("correct horse battery").unwrap(), "salted");
        assert!(verify_password("correct horse battery", Some(&h)));
        assert!(!verify_password("correct horse batterY", Some(&h)));
        assert!(!verify_password("correct horse battery", None));
        assert!(!verify_password("correct horse battery", Some("not a hash")));
        // The dummy hash must parse, or unknown names would answer faster than known ones.
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn short_passwords_and_odd_names_are_refused() {
        assert_eq!(hash_password("short"), Err(CredentialError::PasswordLength));
        assert_eq!(check_password(&"x".repeat(MAX_PASSWORD + 1)), Err(CredentialError::PasswordLength));
        assert!(check_password(&"x".repeat(MIN_PASSWORD)).is_ok());
        assert!(check_user_name("ana.putri").is_ok());
        for bad in ["", "Ana", "a b", &"x".repeat(65)] {
            assert_eq!(check_user_name(bad), Err(CredentialError::UserName), "{bad}");
        }
        for built_in in [BOOTSTRAP, CLI] {
            assert_eq!(check_user_name(built_in), Err(CredentialError::BuiltInName(built_in.into())));
        }
        assert_eq!(
            check_password("short").unwrap_err().to_string(),
            "a password has 12 to 256 characters (a passphrase of several words is best)"
        );
        assert_eq!(check_user_name("A").unwrap_err().to_string(), "a user name is 1-64 of a-z, 0-9, '.', '_', '-'");
        assert_eq!(check_user_name("cli").unwrap_err().to_string(), "cli is a built-in name");
    }

    #[test]
    fn secrets_are_random_and_stored_as_digests() {
        let (a, b) = (new_secret(TOKEN_PREFIX).unwrap(), new_secret(TOKEN_PREFIX).unwrap());
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 64);
        assert_ne!(a, b);
        assert_eq!(digest(&a).len(), 32);
        assert_ne!(csrf_token(&a), csrf_token(&b));
        assert!(same_secret(b"x", b"x") && !same_secret(b"x", b"y"));
    }
}
