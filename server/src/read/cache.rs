//! The dashboard, cached for a moment: every viewer's browser polls it, and at national scale
//! each computation reads the summaries of every area. One computation runs at a time per
//! server; the others wait for it and share the answer. A write through this server (an upload,
//! a decision) makes the next read fresh; writes through other instances show within the TTL.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::dashboard::Dashboard;
use super::names::AreaNames;
use crate::error::ApiError;
use crate::store::Db;

/// How long an answer is served again.
pub const DASHBOARD_TTL: Duration = Duration::from_secs(3);

/// One cached answer: when it was computed, at which write generation, and the answer.
type Entry = (Instant, u64, Arc<Dashboard>);

/// Cached dashboards by roster (`""`: the newest roster).
#[derive(Default)]
pub struct DashboardCache {
    changes: AtomicU64,
    entries: tokio::sync::Mutex<HashMap<String, Entry>>,
}

impl DashboardCache {
    /// Notes a write through this server: the next read computes afresh.
    pub fn changed(&self) {
        self.changes.fetch_add(1, Ordering::Relaxed);
    }

    /// The dashboard of `roster` (newest when `None`) with its areas named, computed at most once per TTL.
    pub async fn get(&self, db: &Db, names: &AreaNames, roster: Option<&str>) -> Result<Arc<Dashboard>, ApiError> {
        let key = roster.unwrap_or_default().to_string();
        let mut entries = self.entries.lock().await;
        let generation = self.changes.load(Ordering::Relaxed);
        if let Some((at, seen, d)) = entries.get(&key) {
            if *seen == generation && at.elapsed() < DASHBOARD_TTL {
                return Ok(d.clone());
            }
        }
        let mut fresh = db.dashboard(roster).await?;
        names.apply(&mut fresh);
        let fresh = Arc::new(fresh);
        // Bounded: a caller naming many rosters cannot grow it past a few hundred answers.
        if entries.len() >= 256 {
            entries.retain(|_, (at, _, _)| at.elapsed() < DASHBOARD_TTL);
        }
        if entries.len() < 256 {
            entries.insert(key, (Instant::now(), generation, fresh.clone()));
        }
        Ok(fresh)
    }
}
