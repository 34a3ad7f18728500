//! The enrolment QR code an approver hands a worker (`salur devices enrol`): the one-time code
//! with the worker and post office it is bound to, so the phone's sign-in takes all three from
//! one scan instead of three typed fields.
//!
//! Its text is `SALUR-ENROL1 ` and a JSON object `{"c":CODE,"w":WORKER,"po":POST_OFFICE}`. It is
//! not signed: the server binds the code to that worker and post office and refuses any other
//! pair, so a changed QR code only fails the registration.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What an enrolment QR code's text starts with (a letter's starts with its own prefix).
pub const QR_PREFIX: &str = "SALUR-ENROL1 ";
/// Longest worker id or post office code accepted from a QR code.
const MAX_ID_CHARS: usize = 64;
/// Characters of an enrolment code (without its hyphen).
const CODE_CHARS: usize = 10;

/// What an enrolment QR code carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentInvite {
    /// The one-time code, `XXXXX-XXXXX`.
    #[serde(rename = "c")]
    pub code: String,
    /// The worker it is bound to.
    #[serde(rename = "w")]
    pub worker_id: String,
    /// The post office it is bound to.
    #[serde(rename = "po")]
    pub post_office: String,
}

impl EnrolmentInvite {
    /// The QR code's text.
    pub fn to_qr_text(&self) -> Result<String> {
        let json = serde_json::to_string(self).map_err(|e| Error::InvalidArgument(format!("enrolment QR: {e}")))?;
        Ok(format!("{QR_PREFIX}{json}"))
    }

    /// Reads a QR code's text: [`Error::InvalidArgument`] naming what is wrong when it is not an
    /// enrolment code this app can use.
    pub fn from_qr_text(text: &str) -> Result<Self> {
        let bad = |why: &str| Error::InvalidArgument(format!("not a usable enrolment QR code: {why}"));
        let json = text.strip_prefix(QR_PREFIX).ok_or_else(|| bad("it does not start with SALUR-ENROL1"))?;
        let invite: Self = serde_json::from_str(json).map_err(|_| bad("its fields are not c, w and po"))?;
        let code = crate::crockford::normalize(&invite.code, CODE_CHARS)
            .ok_or_else(|| bad("the code is not 10 characters"))?;
        for (what, id) in [("worker", &invite.worker_id), ("post office", &invite.post_office)] {
            let printable = id.chars().all(|c| c.is_ascii_graphic());
            if id.is_empty() || id.chars().count() > MAX_ID_CHARS || !printable {
                return Err(bad(&format!("the {what} is empty, over {MAX_ID_CHARS} characters or not printable")));
            }
        }
        Ok(Self { code: crate::crockford::grouped(&code, 5), ..invite })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite() -> EnrolmentInvite {
        EnrolmentInvite { code: "7K3QX-M2P9D".into(), worker_id: "pos-1".into(), post_office: "jakarta-10110".into() }
    }

    #[test]
    fn the_text_reads_back_and_a_typed_looking_code_is_normalised() {
        let text = invite().to_qr_text().unwrap();
        assert_eq!(text, r#"SALUR-ENROL1 {"c":"7K3QX-M2P9D","w":"pos-1","po":"jakarta-10110"}"#);
        assert_eq!(EnrolmentInvite::from_qr_text(&text).unwrap(), invite());
        let lower = r#"SALUR-ENROL1 {"c":"7k3qxm2p9d","w":"pos-1","po":"jakarta-10110"}"#;
        assert_eq!(EnrolmentInvite::from_qr_text(lower).unwrap(), invite());
    }

    #[test]
    fn anything_else_is_refused_with_its_reason() {
        let refused = |text: &str| EnrolmentInvite::from_qr_text(text).unwrap_err().to_string();
        assert!(refused("SALUR1 letter").contains("does not start"));
        assert!(refused(r#"SALUR-ENROL1 {"c":"7K3QX-M2P9D","w":"pos-1"}"#).contains("fields"));
        assert!(refused(r#"SALUR-ENROL1 {"c":"7K3QX-M2P9D","w":"pos-1","po":"x","extra":1}"#).contains("fields"));
        assert!(refused(r#"SALUR-ENROL1 {"c":"7K3QX","w":"pos-1","po":"x"}"#).contains("10 characters"));
        assert!(refused(r#"SALUR-ENROL1 {"c":"7K3QX-M2P9D","w":"","po":"x"}"#).contains("worker"));
        let long = format!(r#"SALUR-ENROL1 {{"c":"7K3QX-M2P9D","w":"w","po":"{}"}}"#, "p".repeat(65));
        assert!(refused(&long).contains("post office"));
        assert!(refused("SALUR-ENROL1 {\"c\":\"7K3QX-M2P9D\",\"w\":\"a\\nb\",\"po\":\"x\"}").contains("worker"));
    }
}
