//! The one error type of salur-core, mapped once at the FFI and HTTP edges.

use serde::Serialize;

/// A face found in an image, as reported when there are too many.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FaceBox {
    /// Left edge in pixels of the original image.
    pub x: f32,
    /// Top edge in pixels.
    pub y: f32,
    /// Width in pixels.
    pub width: f32,
    /// Height in pixels.
    pub height: f32,
    /// Detector confidence, 0..1.
    pub score: f32,
}

/// Everything that can go wrong in salur-core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes are not a JPEG or PNG image.
    #[error("not an image: expected a JPEG or PNG photo")]
    NotAnImage,
    /// The image file ends early.
    #[error("the image file is truncated")]
    TruncatedImage,
    /// The image could not be decoded.
    #[error("the image is corrupt: {0}")]
    CorruptImage(String),
    /// The image is larger than the decoder accepts (refused before allocating).
    #[error("the image is too large: {width}x{height} pixels (at most {max_side} per side, {max_pixels} in all)")]
    ImageTooLarge {
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// Largest side accepted.
        max_side: u32,
        /// Largest pixel count accepted.
        max_pixels: u64,
    },
    /// A raw camera frame whose planes do not match its declared size and strides.
    #[error("invalid camera frame: {0}")]
    InvalidFrame(String),
    /// No face was found.
    #[error("no face found")]
    NoFace,
    /// More than one face was found where one was expected.
    #[error("{} faces found where one was expected", faces.len())]
    MultipleFaces {
        /// Every face found, best score first.
        faces: Vec<FaceBox>,
    },
    /// The face is too small for a reliable comparison.
    #[error("the face is too small: {size_px:.0} px, at least {min_px:.0} px needed")]
    FaceTooSmall {
        /// Shorter side of the face box.
        size_px: f32,
        /// Smallest accepted.
        min_px: f32,
    },
    /// The image or face is too dark.
    #[error("the photo is too dark: brightness {brightness:.0}, at least {min:.0} needed")]
    TooDark {
        /// Mean luma, 0..255.
        brightness: f32,
        /// Darkest accepted.
        min: f32,
    },
    /// The face is too blurry.
    #[error("the face is too blurry: sharpness {sharpness:.0}, at least {min:.0} needed")]
    TooBlurry {
        /// Variance of the Laplacian of the face crop.
        sharpness: f32,
        /// Blurriest accepted.
        min: f32,
    },
    /// Enrolment captures do not show one and the same person.
    #[error(
        "the enrolment photos show different people (captures {a} and {b} score {score:.3}, below {threshold:.3})"
    )]
    EnrolmentMismatch {
        /// Index of one capture.
        a: usize,
        /// Index of the other.
        b: usize,
        /// Their cosine score.
        score: f32,
        /// The match threshold.
        threshold: f32,
    },
    /// A face template that cannot be decoded or does not belong to this engine's model.
    #[error("invalid face template: {0}")]
    InvalidTemplate(String),
    /// A model file with the wrong hash, or one that failed to load or run.
    #[error("model {model}: {detail}")]
    Model {
        /// Model id.
        model: String,
        /// What went wrong.
        detail: String,
    },
    /// The model file is not the one this build was made for.
    #[error("model {model} has SHA-256 {actual}, expected {expected}: use the file from the models/ folder")]
    ModelHash {
        /// Model id.
        model: String,
        /// The hash this build accepts.
        expected: String,
        /// The file's hash.
        actual: String,
    },
    /// A signed receipt that does not verify or decode.
    #[error("invalid receipt: {0}")]
    InvalidReceipt(String),
    /// An invitation letter whose token does not verify, or is not for this roster or worker.
    #[error("invalid letter: {0}")]
    InvalidLetter(String),
    /// Encryption, decryption or key handling failed.
    #[error("crypto: {0}")]
    Crypto(String),
    /// The database refused or failed a read or write.
    #[error("storage: {0}")]
    Storage(String),
    /// A disbursement could not be committed (disk full, I/O error): nothing was recorded.
    #[error("the disbursement was not recorded: {0}")]
    NotRecorded(String),
    /// A record that does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// Bad arguments from the caller.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The server could not be reached or did not answer in time (receipts stay queued).
    #[error("no connection to the server: {0}")]
    Network(String),
    /// The server's certificate or key is not the one this app trusts.
    #[error("the server's identity could not be verified: {0}")]
    Tls(String),
    /// The server refused a request.
    #[error("the server refused the request ({status} {code}): {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's stable error code.
        code: String,
        /// The server's message.
        message: String,
    },
    /// The server refused the enrolment code: unknown, used, expired, or another worker's.
    #[error("the enrolment code was refused: {0}")]
    EnrolmentRefused(String),
    /// The server refused this phone's key attestation (or its lack of one).
    #[error("the phone's key attestation was refused: {0}")]
    AttestationRefused(String),
    /// A sync of this store is already running.
    #[error("a sync is already running")]
    SyncBusy,
    /// The platform (the app's keystore or data-key provider) failed a call the core made; the
    /// platform's own kind is kept so the cause reaches the screen unchanged.
    #[error("{detail}")]
    Platform {
        /// The kind the platform reported.
        kind: ErrorKind,
        /// What it said.
        detail: String,
    },
    /// A file could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Result with the crate's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A short instruction a postal worker can act on, where there is one.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            Error::NoFace => "No face seen: point the camera at the recipient's face.",
            Error::MultipleFaces { .. } => "More than one face: only the recipient should be in the picture.",
            Error::FaceTooSmall { .. } => "Face too small: move closer so the face fills the oval.",
            Error::TooDark { .. } => "Too dark: move to the light or face the recipient toward it.",
            Error::TooBlurry { .. } => "Too blurry: hold the phone still and tap to focus.",
            Error::NotAnImage | Error::CorruptImage(_) | Error::TruncatedImage => {
                "The photo could not be read: take it again."
            }
            Error::ImageTooLarge { .. } => "The photo is too large: use the app's camera.",
            Error::EnrolmentMismatch { .. } => "The photos show different people: retake them of the recipient only.",
            Error::NotRecorded(_) => "The disbursement was NOT recorded: free space on the phone and try again.",
            Error::Network(_) => "No connection: receipts are kept on the phone and upload when there is signal.",
            Error::Tls(_) => "The server could not be verified: do not retry on this network; tell your supervisor.",
            Error::EnrolmentRefused(_) => "The enrolment code was refused: ask your supervisor for a new one.",
            Error::AttestationRefused(_) => {
                "This phone's key is not proven to be in secure hardware: ask your supervisor which phone to use."
            }
            Error::Server { status: 403, .. } => "This phone is not approved to upload: ask your supervisor.",
            Error::SyncBusy => "An upload is already running: wait for it to finish.",
            Error::InvalidLetter(_) => {
                "This letter is not valid for your roster: do not pay; check the recipient's KTP and call your supervisor."
            }
            _ => return None,
        })
    }

    /// The stable kind of this error (for JSON output, the store and the FFI).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotAnImage => ErrorKind::NotAnImage,
            Error::TruncatedImage => ErrorKind::TruncatedImage,
            Error::CorruptImage(_) => ErrorKind::CorruptImage,
            Error::ImageTooLarge { .. } => ErrorKind::ImageTooLarge,
            Error::InvalidFrame(_) => ErrorKind::InvalidFrame,
            Error::NoFace => ErrorKind::NoFace,
            Error::MultipleFaces { .. } => ErrorKind::MultipleFaces,
            Error::FaceTooSmall { .. } => ErrorKind::FaceTooSmall,
            Error::TooDark { .. } => ErrorKind::TooDark,
            Error::TooBlurry { .. } => ErrorKind::TooBlurry,
            Error::EnrolmentMismatch { .. } => ErrorKind::EnrolmentMismatch,
            Error::InvalidTemplate(_) => ErrorKind::InvalidTemplate,
            Error::Model { .. } => ErrorKind::Model,
            Error::ModelHash { .. } => ErrorKind::ModelHash,
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::InvalidReceipt(_) => ErrorKind::InvalidReceipt,
            Error::InvalidLetter(_) => ErrorKind::InvalidLetter,
            Error::Crypto(_) => ErrorKind::Crypto,
            Error::Storage(_) => ErrorKind::Storage,
            Error::NotRecorded(_) => ErrorKind::NotRecorded,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Network(_) => ErrorKind::Network,
            Error::Tls(_) => ErrorKind::Tls,
            Error::Server { .. } => ErrorKind::Server,
            Error::EnrolmentRefused(_) => ErrorKind::EnrolmentRefused,
            Error::AttestationRefused(_) => ErrorKind::AttestationRefused,
            Error::SyncBusy => ErrorKind::SyncBusy,
            Error::Io { .. } => ErrorKind::Io,
            Error::Platform { kind, .. } => *kind,
        }
    }
}

/// The kinds of [`Error`], stable across releases: code branches on these, never on messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Not a JPEG or PNG.
    NotAnImage,
    /// The image ends early.
    TruncatedImage,
    /// The image cannot be decoded.
    CorruptImage,
    /// The image is larger than accepted.
    ImageTooLarge,
    /// A camera frame whose planes do not match its size.
    InvalidFrame,
    /// No face found.
    NoFace,
    /// Several faces where one was expected.
    MultipleFaces,
    /// The face is too small.
    FaceTooSmall,
    /// Too dark.
    TooDark,
    /// Too blurry.
    TooBlurry,
    /// Enrolment photos of different people.
    EnrolmentMismatch,
    /// A template that cannot be used.
    InvalidTemplate,
    /// A model failed to load or run.
    Model,
    /// A model file with the wrong hash.
    ModelHash,
    /// Bad arguments from the caller.
    InvalidArgument,
    /// A receipt that does not verify.
    InvalidReceipt,
    /// An invitation letter that does not verify or is not for this roster.
    InvalidLetter,
    /// Encryption or key handling failed.
    Crypto,
    /// The database failed.
    Storage,
    /// A disbursement was not recorded.
    NotRecorded,
    /// No such record.
    NotFound,
    /// No connection to the server.
    Network,
    /// The server's identity could not be verified.
    Tls,
    /// The server refused a request.
    Server,
    /// The enrolment code was refused (unknown, used, expired, another worker's).
    EnrolmentRefused,
    /// The phone's key attestation was refused.
    AttestationRefused,
    /// A sync is already running.
    SyncBusy,
    /// A file could not be read or written.
    Io,
    /// A fault in the binding or platform layer.
    Internal,
}

impl ErrorKind {
    /// Every kind.
    pub const ALL: [ErrorKind; 29] = [
        ErrorKind::NotAnImage,
        ErrorKind::TruncatedImage,
        ErrorKind::CorruptImage,
        ErrorKind::ImageTooLarge,
        ErrorKind::InvalidFrame,
        ErrorKind::NoFace,
        ErrorKind::MultipleFaces,
        ErrorKind::FaceTooSmall,
        ErrorKind::TooDark,
        ErrorKind::TooBlurry,
        ErrorKind::EnrolmentMismatch,
        ErrorKind::InvalidTemplate,
        ErrorKind::Model,
        ErrorKind::ModelHash,
        ErrorKind::InvalidArgument,
        ErrorKind::InvalidReceipt,
        ErrorKind::InvalidLetter,
        ErrorKind::Crypto,
        ErrorKind::Storage,
        ErrorKind::NotRecorded,
        ErrorKind::NotFound,
        ErrorKind::Network,
        ErrorKind::Tls,
        ErrorKind::Server,
        ErrorKind::EnrolmentRefused,
        ErrorKind::AttestationRefused,
        ErrorKind::SyncBusy,
        ErrorKind::Io,
        ErrorKind::Internal,
    ];

    /// The stable snake_case name (`no_face`, `network`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotAnImage => "not_an_image",
            ErrorKind::TruncatedImage => "truncated_image",
            ErrorKind::CorruptImage => "corrupt_image",
            ErrorKind::ImageTooLarge => "image_too_large",
            ErrorKind::InvalidFrame => "invalid_frame",
            ErrorKind::NoFace => "no_face",
            ErrorKind::MultipleFaces => "multiple_faces",
            ErrorKind::FaceTooSmall => "face_too_small",
            ErrorKind::TooDark => "too_dark",
            ErrorKind::TooBlurry => "too_blurry",
            ErrorKind::EnrolmentMismatch => "enrolment_mismatch",
            ErrorKind::InvalidTemplate => "invalid_template",
            ErrorKind::Model => "model",
            ErrorKind::ModelHash => "model_hash",
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::InvalidReceipt => "invalid_receipt",
            ErrorKind::InvalidLetter => "invalid_letter",
            ErrorKind::Crypto => "crypto",
            ErrorKind::Storage => "storage",
            ErrorKind::NotRecorded => "not_recorded",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Network => "network",
            ErrorKind::Tls => "tls",
            ErrorKind::Server => "server",
            ErrorKind::EnrolmentRefused => "enrolment_refused",
            ErrorKind::AttestationRefused => "attestation_refused",
            ErrorKind::SyncBusy => "sync_busy",
            ErrorKind::Io => "io",
            ErrorKind::Internal => "internal",
        }
    }

    /// The kind named `name` (as written by [`ErrorKind::as_str`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Storage(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorKind;

    #[test]
    fn every_kind_has_a_distinct_name_that_reads_back() {
        let names: std::collections::HashSet<_> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), ErrorKind::ALL.len());
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_name(k.as_str()), Some(k));
        }
        assert_eq!(ErrorKind::from_name("no such kind"), None);
    }
}
