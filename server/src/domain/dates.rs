//! Days as the programme counts them: Western Indonesian Time (UTC+7), shared with the phone.

pub use salur_core::dates::{civil_date, indonesian_minute, wib_day, WIB_OFFSET_MS};
