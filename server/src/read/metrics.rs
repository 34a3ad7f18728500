//! Prometheus metrics at `/metrics`: receipt outcomes as they happen, and stored totals read
//! from the database at each scrape.

use crate::domain::ingest::Ingest;
use crate::error::ApiError;
use crate::store::Db;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

/// The service's metrics.
pub struct Metrics {
    registry: Registry,
    receipts: Family<Labels, Counter>,
    stored: Gauge,
    devices: Family<Labels, Gauge>,
    connections: Gauge,
    refused: Family<Labels, Counter>,
}

/// An open connection, counted on `/metrics` until dropped.
pub struct OpenConnection(Gauge);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("salur");
        let receipts = Family::<Labels, Counter>::default();
        registry.register("receipt_uploads", "Uploaded receipts by result", receipts.clone());
        let stored = Gauge::default();
        registry.register("receipts_stored", "Receipts held in the database", stored.clone());
        let devices = Family::<Labels, Gauge>::default();
        registry.register("devices", "Registered devices by status", devices.clone());
        let connections = Gauge::default();
        registry.register("connections_open", "Client connections open now", connections.clone());
        let refused = Family::<Labels, Counter>::default();
        registry.register(
            "connections_refused",
            "Connections closed as soon as accepted, by reason (server_full, address_full)",
            refused.clone(),
        );
        Self { registry, receipts, stored, devices, connections, refused }
    }
}

impl Metrics {
    /// Counts one upload result.
    pub fn uploaded(&self, result: Ingest) {
        self.receipts.get_or_create(&vec![("result".into(), result.as_str().into())]).inc();
    }

    /// Counts a connection as open until the answer is dropped.
    pub fn connection_opened(&self) -> OpenConnection {
        self.connections.inc();
        OpenConnection(self.connections.clone())
    }

    /// Counts a connection refused for `reason`.
    pub fn connection_refused(&self, reason: &str) {
        self.refused.get_or_create(&vec![("reason".into(), reason.into())]).inc();
    }

    /// The text exposition, with the stored totals refreshed from `db`.
    pub async fn render(&self, db: &Db) -> Result<String, ApiError> {
        let (stored, by_status) = db.totals().await?;
        self.stored.set(stored);
        for (status, n) in by_status {
            self.devices.get_or_create(&vec![("status".into(), status)]).set(n);
        }
        let mut out = String::new();
        encode(&mut out, &self.registry).map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(out)
    }
}
