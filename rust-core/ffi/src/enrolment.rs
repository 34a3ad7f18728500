//! Sign-in by scanning: the approver's enrolment QR code read from a camera frame (decided in
//! salur-core's `enrolment_qr`).

use salur_core::enrolment_qr::EnrolmentInvite;
use salur_core::letter;

use crate::face::CameraFrame;
use crate::SalurError;

/// What scanning for an enrolment QR code gave.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum EnrolmentScan {
    /// No QR code in this frame (keep the camera on it).
    NoCode,
    /// A QR code that is not a usable enrolment code (a letter, a receipt, a damaged code).
    NotEnrolment,
    /// The code with the worker and post office it is bound to.
    Found {
        /// The one-time code, `XXXXX-XXXXX`.
        code: String,
        /// The worker.
        worker_id: String,
        /// The post office.
        post_office: String,
    },
}

/// Looks for the approver's enrolment QR code in a camera frame (its luma plane).
#[uniffi::export]
pub fn scan_enrolment(frame: CameraFrame) -> Result<EnrolmentScan, SalurError> {
    let missing = "no QR code in view: hold the enrolment code flat and closer";
    match letter::scan_for(&frame.y, frame.width, frame.height, frame.y_row_stride, &|_| true, missing) {
        Ok(text) => Ok(match EnrolmentInvite::from_qr_text(&text) {
            Ok(i) => EnrolmentScan::Found { code: i.code, worker_id: i.worker_id, post_office: i.post_office },
            Err(_) => EnrolmentScan::NotEnrolment,
        }),
        Err(salur_core::Error::NotFound(_)) => Ok(EnrolmentScan::NoCode),
        Err(e) => Err(e.into()),
    }
}
