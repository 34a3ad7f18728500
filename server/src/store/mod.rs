//! The server's database: SQL per backend, rows as `FromRow` structs, the domain's rules applied
//! inside transactions. Nothing here knows about HTTP or the dashboard's shape.
//!
//! Embedded SQLite by default (WAL, `synchronous=FULL`, one writer connection so ingestion is
//! serialized without lock-upgrade failures, readers beside it), or PostgreSQL for national scale
//! (several stateless API instances over one database). The same SQL runs on both through sqlx's
//! `Any` driver; each backend has its own migrations.

mod audit;
mod checks;
mod closing;
pub mod devices;
mod enrolments;
mod evidence;
mod faces;
mod held;
mod letters;
mod reallocations;
mod receipts;
mod references;
mod replays;
mod retention;
mod roster;
pub mod seal;
mod sealing;
mod summaries;
mod supervisors;
mod users;
mod verdicts;

use std::path::Path;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

use crate::domain::verdict::DEFAULT_EVIDENCE_WINDOW_MS;
use crate::error::ApiError;

pub use audit::audit_csv;
pub use checks::{Complaint, PublicReceipt};
pub use closing::ClosedPeriod;
pub use devices::{DeviceExport, NewDevice};
pub use enrolments::{Enrolment, OpenEnrolment};
pub use evidence::{UploadStatus, MAX_EVIDENCE};
pub use faces::IndexSize;
pub use held::{HeldReceipt, HELD_LIST_LIMIT};
pub use letters::PrintedLetter;
pub use reallocations::{reallocations_csv, Reallocation};
pub use references::ReferenceParts;
pub use retention::PurgeReport;
pub use roster::{closed_roster, AssignedRoster, Put};
pub use users::{Holder, Login, User};
pub use verdicts::{UnverifiedPayment, VerifiedShare, VERDICT_LIST_LIMIT};

/// Handles to the database.
#[derive(Clone)]
pub struct Db {
    pub(crate) read: AnyPool,
    pub(crate) write: AnyPool,
    /// Seals personal data at rest (`seal.rs`).
    pub(crate) seal: std::sync::Arc<seal::Sealer>,
    /// How long a face payment may wait for its evidence crop before it counts as `no_evidence`.
    pub(crate) evidence_window_ms: i64,
    /// This instance's packed faces per programme period, for the 1:N check (`faces.rs`).
    pub(crate) faces: std::sync::Arc<std::sync::RwLock<faces::FaceIndexes>>,
}

impl Db {
    /// The same database, with face payments awaiting their crop for `ms` before they count as
    /// `no_evidence` (`salur serve --evidence-window-hours`).
    pub fn with_evidence_window(mut self, ms: i64) -> Self {
        self.evidence_window_ms = ms.max(0);
        self
    }

    /// Opens (creating and migrating) `salur.db` in `data_dir`.
    pub async fn open(data_dir: &Path) -> Result<Self, ApiError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| ApiError::Internal(format!("creating {}: {e}", data_dir.display())))?;
        let sealer = seal::Sealer::from_file(&seal::key_path(Some(data_dir))?)?;
        Self::connect_sealed(&format!("sqlite://{}?mode=rwc", data_dir.join("salur.db").display()), sealer).await
    }

    /// Connects to `sqlite://PATH` or `postgres://...`, sealing with the key file that
    /// `SALUR_SEAL_KEY_FILE` names, and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Self, ApiError> {
        Self::connect_sealed(url, seal::Sealer::from_file(&seal::key_path(None)?)?).await
    }

    /// [`Self::connect`] with this sealer; data stored before sealing is sealed on first open.
    pub async fn connect_sealed(url: &str, sealer: seal::Sealer) -> Result<Self, ApiError> {
        let seal = std::sync::Arc::new(sealer);
        sqlx::any::install_default_drivers();
        let (db, migrator) = if url.starts_with("sqlite:") {
            let options = || {
                AnyPoolOptions::new().after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
                             PRAGMA busy_timeout = 10000;",
                        )
                        .await?;
                        Ok(())
                    })
                })
            };
            let write = options().max_connections(1).connect(url).await?;
            let read = options().max_connections(4).connect(url).await?;
            (
                Self { read, write, seal, evidence_window_ms: DEFAULT_EVIDENCE_WINDOW_MS, faces: faces::new_indexes() },
                sqlx::migrate!("./migrations/sqlite"),
            )
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = AnyPoolOptions::new().max_connections(16).connect(url).await?;
            (
                Self {
                    read: pool.clone(),
                    write: pool,
                    seal,
                    evidence_window_ms: DEFAULT_EVIDENCE_WINDOW_MS,
                    faces: faces::new_indexes(),
                },
                sqlx::migrate!("./migrations/postgres"),
            )
        } else {
            return Err(ApiError::BadRequest("the database URL must start with sqlite: or postgres:".into()));
        };
        migrator.run(&db.write).await.map_err(|e| ApiError::Internal(format!("migrating the database: {e}")))?;
        db.rebuild_if_needed().await?;
        db.seal_existing().await?;
        db.code_existing().await?;
        Ok(db)
    }

    /// Closes every connection and waits for them to go (a clean shutdown; the power-loss test
    /// needs the files closed before its reboot).
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }

    /// Receipts held, and registered devices by status (for `/metrics`).
    pub async fn totals(&self) -> Result<(i64, Vec<(String, i64)>), ApiError> {
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM receipts").fetch_one(&self.read).await?;
        let by_status: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM devices GROUP BY status").fetch_all(&self.read).await?;
        Ok((stored, by_status))
    }
}
