//! The read model: what the dashboard and `/metrics` show, read from the store's summary tables.
//! It reads the store; the store never imports it.

pub mod cache;
pub mod dashboard;
pub mod metrics;
pub mod names;
pub mod overrides;
