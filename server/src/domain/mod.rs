//! The rules that decide money and audit, as pure functions and types: no database, no HTTP.
//! The store applies them inside its transactions; the read model reports what they decided.
//! Each rule is defined once here (or, where the phone needs it too, in `salur-core`).

pub mod areas;
pub mod attestation;
pub mod audit;
pub mod bounds;
pub mod chain;
pub mod closing;
pub mod complaints;
pub mod credentials;
pub mod dates;
pub mod devices;
pub mod duplicates;
pub mod enrolment;
pub mod export;
pub mod held;
pub mod ingest;
pub mod overrides;
pub mod reallocation;
pub mod retention;
pub mod roles;
pub mod roster;
pub mod sweep;
pub mod targets;
pub mod verdict;
