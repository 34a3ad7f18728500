//! Disbursement receipts: what the worker's phone signs instead of a paper signature.
//!
//! A [`Receipt`] is encoded as deterministic CBOR (RFC 8949 section 4.2), signed as a COSE_Sign1
//! message (RFC 9052) with ES256 by the device key, and chained: each receipt carries its
//! per-device sequence number and the SHA-256 of the previous receipt's signed bytes. No floats
//! are signed (scores in millionths, coordinates in 1e-7 degrees) so every encoder agrees on the
//! bytes.

mod cbor;
mod chain;
mod cose;
mod qr;

use serde::{Deserialize, Serialize};

pub use cbor::{decode_payload, encode_payload, payload_json};
pub use chain::{verify_chain, ChainBreak, ChainReport};
pub use cose::{sign, verify, SignedReceipt};
pub use qr::{from_qr_text, qr_modules, qr_text, MAX_QR_RECEIPT, QR_PREFIX};

/// Receipt format version written by this build: 2 adds the live-person check's record
/// ([`Evidence::live`]), 3 the random challenge drawn for it ([`LiveCheck::challenge`]).
/// Versions 1 and 2 still verify.
pub const FORMAT_VERSION: u32 = 3;

/// Every format version this build verifies.
pub const SUPPORTED_VERSIONS: [u32; 3] = [1, 2, 3];

/// Hash of "no previous receipt" (the first in a device's chain).
pub const GENESIS: [u8; 32] = [0; 32];

/// One disbursement event, as signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Format version ([`FORMAT_VERSION`]).
    pub v: u32,
    /// Receipt id, a UUIDv7 (time-ordered) in text form.
    pub id: String,
    /// Device id given at registration.
    pub device_id: String,
    /// Key id of the signing key (first 16 bytes of SHA-256 of its SPKI).
    #[serde(with = "serde_bytes_vec")]
    pub key_id: Vec<u8>,
    /// The postal worker.
    pub worker_id: String,
    /// Per-device sequence number, from 1 without gaps.
    pub seq: u64,
    /// SHA-256 of the previous receipt's COSE bytes ([`GENESIS`] for the first).
    #[serde(with = "serde_bytes_vec")]
    pub prev: Vec<u8>,
    /// Roster (programme and period) the recipient belongs to.
    pub roster_id: String,
    /// Keyed hash of the recipient's NIK (see `docs/receipts.md`): never the NIK itself.
    #[serde(with = "serde_bytes_vec")]
    pub recipient: Vec<u8>,
    /// Whole rupiah: paid out, or freed for reallocation when the recipient is ineligible.
    pub amount: u64,
    /// What happened at the door.
    pub outcome: Outcome,
    /// How the recipient was identified (for `paid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// Clocks at signing.
    pub time: Times,
    /// Where, when the phone knew.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The recipient confirmed they received the whole amount (format 2; set on payments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_in_full: Option<bool>,
    /// The id of the invitation letter scanned at this door (format 2; absent when none was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub letter_id: Option<String>,
}

/// What happened at the door.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Outcome {
    /// The recipient was identified and paid.
    Paid,
    /// The recipient is not eligible; the amount goes to reallocation.
    Ineligible {
        /// Why.
        reason: IneligibleReason,
        /// The worker's words (required for `other`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Nobody home.
    NotHome,
    /// The recipient refused the aid.
    Refused,
}

/// Why a recipient is not eligible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IneligibleReason {
    /// Deceased.
    Deceased,
    /// Moved away.
    Moved,
    /// Not found at the address.
    NotFound,
    /// Does not meet the programme's criteria.
    NotMeetingCriteria,
    /// Something else, described in the note.
    Other,
}

/// How the recipient's identity was established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// Against what.
    pub method: Method,
    /// Cosine score in millionths (absent for an override without a capture).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_e6: Option<i32>,
    /// Threshold in millionths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_e6: Option<i32>,
    /// Recognizer model id.
    pub model: String,
    /// Live-person check: passed, failed or not run.
    pub liveness: Liveness,
    /// What the live-person check ran and found (format 2 on; absent when none ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveCheck>,
    /// SHA-256 of the evidence face crop (JPEG) kept encrypted on the phone.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "serde_bytes_opt")]
    pub face_sha256: Option<Vec<u8>>,
    /// SHA-256 of the aligned face crop (JPEG) of the e-KTP photo the live face was compared with
    /// (e-KTP and proxy payments, format 3): only the face leaves the phone, uploaded like the
    /// evidence crop, so the server can score live face against card itself.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "serde_bytes_opt")]
    pub card_face_sha256: Option<Vec<u8>>,
    /// SHA-256 of the enrolled template (`SLFT` bytes) the live face was compared with (payments
    /// on a first-visit enrolment, format 3): uploaded with the receipt, it becomes the server's
    /// reference for the recipient.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "serde_bytes_opt")]
    pub enrolled_sha256: Option<Vec<u8>>,
}

/// Reference the face was compared with, or the fallback used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Method {
    /// The registry's reference template.
    RegistryTemplate,
    /// The photo on the recipient's e-KTP card.
    EktpPhoto,
    /// The template enrolled at the first visit.
    EnrolledTemplate,
    /// A member of the recipient's Kartu Keluarga collected with a power of attorney (surat
    /// kuasa): the member's own e-KTP photo was the reference for their live face (format 2 on).
    Proxy {
        /// The member's reference (the roster's keyed hash of their NIK, like `recipient`).
        #[serde(with = "serde_bytes_vec")]
        member: Vec<u8>,
        /// SHA-256 of the photo of the surat kuasa (JPEG) kept sealed on the phone.
        #[serde(with = "serde_bytes_vec")]
        kuasa_sha256: Vec<u8>,
        /// SHA-256 of the photo of the member's e-KTP (JPEG) their live face was matched to,
        /// kept sealed on the phone: what an auditor compares with the card. Absent only in proxy
        /// receipts signed before it was added (they still verify); the phone's store and the
        /// server require it on every new proxy payment.
        #[serde(default, skip_serializing_if = "Option::is_none", with = "serde_bytes_opt")]
        card_sha256: Option<Vec<u8>>,
    },
    /// A supervisor vouched for a genuine recipient the camera could not verify (audited).
    SupervisorOverride {
        /// The supervisor's worker id.
        supervisor_id: String,
        /// Why, in words.
        reason: String,
        /// Why, as a code the dashboard counts (format 2 on).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<OverrideCode>,
        /// The supervisor's 8-digit answer to the override's challenge (format 2 on; see
        /// [`crate::approval`]): the server checks it with the supervisor's secret.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        approval: Option<String>,
    },
}

/// Why a supervisor vouched for a recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverrideCode {
    /// The recipient cannot do the live check (injured neck, blind, very old...).
    CannotDoLiveCheck,
    /// Completed face comparisons did not verify a recipient the supervisor knows.
    FaceNotVerified,
    /// Something else, said in the reason.
    Other,
}

impl OverrideCode {
    /// The snake_case name, as signed and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CannotDoLiveCheck => "cannot_do_live_check",
            Self::FaceNotVerified => "face_not_verified",
            Self::Other => "other",
        }
    }
}

/// Result of the live-person check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Liveness {
    /// Passed.
    Passed,
    /// Failed.
    Failed,
    /// Not run.
    NotRun,
}

/// How the live-person check was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveMethod {
    /// The passive texture models on the frontal frames and a random head-movement challenge,
    /// on one camera sequence.
    PassiveAndChallenge,
}

/// A head movement the challenge asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadMove {
    /// Turn the head to the person's left (the face moves to the image's right).
    TurnLeft,
    /// Turn the head to the person's right.
    TurnRight,
}

impl From<crate::face::liveness::Movement> for HeadMove {
    fn from(m: crate::face::liveness::Movement) -> Self {
        match m {
            crate::face::liveness::Movement::TurnLeft => Self::TurnLeft,
            crate::face::liveness::Movement::TurnRight => Self::TurnRight,
        }
    }
}

/// The record of a live-person check, as signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveCheck {
    /// How it was made.
    pub method: LiveMethod,
    /// Fused passive score in millionths (P(real) of the two texture models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passive_e6: Option<i32>,
    /// Passive threshold in millionths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passive_threshold_e6: Option<i32>,
    /// The movements asked for, in order.
    pub asked: Vec<HeadMove>,
    /// The movements seen, in order.
    pub met: Vec<HeadMove>,
    /// Camera frames judged.
    pub frames: u32,
    /// From first to last frame, milliseconds.
    pub duration_ms: u32,
    /// Ids of the models that ran.
    pub models: Vec<String>,
    /// The random challenge drawn on the phone for this check, by its number (format 3 on;
    /// `face::liveness::Challenge::numbered`: the turns and their holds), absent when the check
    /// was not a random one. The server refuses a number whose turns are not `asked` and flags
    /// one that repeats the recipient's previous challenge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<u8>,
}

impl LiveCheck {
    /// Whether the signed challenge number is one of the random challenges and its turns are the
    /// ones `asked` (true when no number is signed): a phone of ours never signs another.
    pub fn challenge_is_valid(&self) -> bool {
        use crate::face::liveness::Challenge;
        self.challenge.is_none_or(|n| {
            usize::from(n) < Challenge::COUNT
                && Challenge::numbered(n).steps().into_iter().map(HeadMove::from).eq(self.asked.iter().copied())
        })
    }
}

/// The phone's clocks when it signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Times {
    /// Wall clock, Unix milliseconds (the phone's, possibly wrong).
    pub wall_ms: i64,
    /// Milliseconds since boot (monotonic; orders events across wall-clock changes).
    pub mono_ms: u64,
    /// Last known server-minus-phone clock offset in milliseconds.
    pub offset_ms: i64,
}

/// Position, in integer units so that the signed bytes are exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// Latitude in 1e-7 degrees.
    pub lat_e7: i32,
    /// Longitude in 1e-7 degrees.
    pub lon_e7: i32,
    /// Accuracy radius in metres.
    pub accuracy_m: u32,
}

impl Location {
    /// Largest |latitude| in 1e-7 degrees.
    pub const MAX_LAT_E7: i32 = 900_000_000;
    /// Largest |longitude| in 1e-7 degrees.
    pub const MAX_LON_E7: i32 = 1_800_000_000;
    /// Largest accuracy radius accepted, metres.
    pub const MAX_ACCURACY_M: u32 = 100_000;

    /// Refuses a position off the globe or an accuracy radius over 100 km.
    pub fn check(&self) -> crate::Result<()> {
        if self.lat_e7.unsigned_abs() > Self::MAX_LAT_E7.unsigned_abs()
            || self.lon_e7.unsigned_abs() > Self::MAX_LON_E7.unsigned_abs()
            || self.accuracy_m > Self::MAX_ACCURACY_M
        {
            return Err(crate::Error::InvalidArgument(format!(
                "location out of range: latitude within ±90°, longitude within ±180°, accuracy at most {} m",
                Self::MAX_ACCURACY_M
            )));
        }
        Ok(())
    }
}

/// Where a recipient stands after their visits: a later visit only ever raises it (paid beats
/// ineligible beats refused beats not home). The one definition used by the phone's roster, the
/// server's summaries and its SQL rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Not visited yet.
    #[default]
    NotVisited = 0,
    /// Nobody home at a visit.
    NotHome = 1,
    /// Refused the aid.
    Refused = 2,
    /// Found ineligible (funds freed for reallocation).
    Ineligible = 3,
    /// Paid.
    Paid = 4,
}

impl Standing {
    /// Every standing, lowest first.
    pub const ALL: [Standing; 5] =
        [Standing::NotVisited, Standing::NotHome, Standing::Refused, Standing::Ineligible, Standing::Paid];

    /// The standing a visit with this outcome gives.
    pub fn of(outcome: &Outcome) -> Self {
        match outcome {
            Outcome::Paid => Self::Paid,
            Outcome::Ineligible { .. } => Self::Ineligible,
            Outcome::Refused => Self::Refused,
            Outcome::NotHome => Self::NotHome,
        }
    }

    /// The standing of an outcome by its stored name (`paid`, `ineligible`, `refused`, `not_home`).
    pub fn of_name(outcome: &str) -> Self {
        Self::ALL.into_iter().find(|s| s.outcome_name() == Some(outcome)).unwrap_or_default()
    }

    /// The outcome name that gives this standing (none for not visited).
    pub fn outcome_name(self) -> Option<&'static str> {
        match self {
            Self::NotVisited => None,
            Self::NotHome => Some("not_home"),
            Self::Refused => Some("refused"),
            Self::Ineligible => Some("ineligible"),
            Self::Paid => Some("paid"),
        }
    }

    /// The number stored in the server's `recipients.standing` column.
    pub fn code(self) -> i64 {
        self as i64
    }

    /// The standing stored as `code` (an unknown number reads as not visited).
    pub fn from_code(code: i64) -> Self {
        Self::ALL.into_iter().find(|s| s.code() == code).unwrap_or_default()
    }

    /// A SQL `CASE` giving the standing code of the outcome name in `column` (for rebuilds).
    pub fn sql_case(column: &str) -> String {
        let arms: String = Self::ALL
            .iter()
            .filter_map(|s| s.outcome_name().map(|n| format!(" WHEN '{n}' THEN {}", s.code())))
            .collect();
        format!("CASE {column}{arms} ELSE 0 END")
    }
}

/// Keyed hash that stands for a recipient in receipts: HMAC-SHA-256 of the NIK under the roster's
/// pseudonymisation key, first 16 bytes.
pub fn recipient_ref(roster_key: &[u8], nik: &str) -> Vec<u8> {
    crate::crypto::hmac_sha256(roster_key, nik.trim().as_bytes())[..16].to_vec()
}

/// Byte strings as CBOR byte strings (serde's default would make arrays of integers).
mod serde_bytes_vec {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        ciborium::Value::deserialize(d)?.into_bytes().map_err(|_| serde::de::Error::custom("expected bytes"))
    }
}

mod serde_bytes_opt {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_bytes(b),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        super::serde_bytes_vec::deserialize(d).map(Some)
    }
}

/// Characters of a receipt code: 60 bits of the receipt's hash (a guess is one in 10^18; two of
/// ten million receipts share a code about once in 20 000 such periods).
pub const CODE_LEN: usize = 12;

/// The code the recipient keeps and can check (`/cek`, `salur receipt check`): the first 60 bits
/// of the SHA-256 of the receipt's signed bytes in Crockford base32, `XXXX-XXXX-XXXX`. Short
/// enough to read aloud; it names this receipt only, never the person.
pub fn code(cose: &[u8]) -> String {
    crate::crockford::grouped(&crate::crockford::encode_bits(&crate::crypto::sha256(cose), CODE_LEN), 4)
}

/// A typed receipt code in its one stored form (no hyphens, upper case), if it can be one.
pub fn normalize_code(typed: &str) -> Option<String> {
    crate::crockford::normalize(typed, CODE_LEN)
}

#[cfg(test)]
mod tests {
    use super::{IneligibleReason, Location, Outcome, OverrideCode, Standing};

    #[test]
    fn a_receipt_code_is_its_hash_read_aloud_and_typed_back() {
        let code = super::code(b"signed receipt bytes");
        assert!(code.len() == 14 && code.chars().filter(|&c| c == '-').count() == 2, "{code}");
        assert_ne!(code, super::code(b"signed receipt byteZ"));
        let typed = code.to_lowercase().replace('-', " ").replace('0', "o");
        assert_eq!(super::normalize_code(&typed), Some(code.replace('-', "")));
        assert_eq!(super::normalize_code("ABCD-EFGH-JKM"), None);
    }

    #[test]
    fn override_code_names_are_their_signed_names() {
        for c in [OverrideCode::CannotDoLiveCheck, OverrideCode::FaceNotVerified, OverrideCode::Other] {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }

    #[test]
    fn locations_off_the_globe_are_refused() {
        let at = |lat_e7, lon_e7, accuracy_m| Location { lat_e7, lon_e7, accuracy_m }.check().is_ok();
        assert!(at(-62_088_000, 1_068_456_000, 12));
        assert!(at(900_000_000, -1_800_000_000, 100_000));
        assert!(!at(900_000_001, 0, 1));
        assert!(!at(0, -1_800_000_001, 1));
        assert!(!at(i32::MIN, 0, 1));
        assert!(!at(0, 0, 100_001));
    }

    #[test]
    fn standing_only_rises_and_round_trips_through_names_and_codes() {
        let order = [
            Outcome::NotHome,
            Outcome::Refused,
            Outcome::Ineligible { reason: IneligibleReason::Moved, note: None },
            Outcome::Paid,
        ];
        let mut last = Standing::NotVisited;
        for o in &order {
            let s = Standing::of(o);
            assert!(s > last, "{s:?} should outrank {last:?}");
            assert_eq!(Standing::of_name(s.outcome_name().unwrap_or("")), s);
            assert_eq!(Standing::from_code(s.code()), s);
            last = s;
        }
        assert_eq!(Standing::of_name("unknown"), Standing::NotVisited);
        assert_eq!(Standing::from_code(99), Standing::NotVisited);
        assert_eq!(
            Standing::sql_case("o"),
            "CASE o WHEN 'not_home' THEN 1 WHEN 'refused' THEN 2 WHEN 'ineligible' THEN 3 WHEN 'paid' THEN 4 ELSE 0 END"
        );
    }
}
