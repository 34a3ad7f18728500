//! Receipt upload: a batch, or one receipt by id.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{json_body, Signed};
use super::AppState;
use crate::domain::devices::Device;
use crate::domain::ingest::{Ingest, IngestResult};
use crate::error::ApiError;

/// Most receipts accepted in one upload.
pub const MAX_BATCH: usize = 500;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    /// COSE_Sign1 receipts, base64.
    receipts: Vec<String>,
}

async fn ingest_all(state: &AppState, device: &Device, receipts: &[String]) -> Result<Vec<IngestResult>, ApiError> {
    let decoded: Vec<Result<Vec<u8>, String>> =
        receipts.iter().map(|r| B64.decode(r).map_err(|_| "not base64".to_string())).collect();
    let results = state.db.ingest_batch(device, &decoded).await?;
    state.dashboards.changed();
    for r in &results {
        state.metrics.uploaded(r.result);
    }
    Ok(results)
}

/// Uploads up to [`MAX_BATCH`] receipts; one result per receipt, in order.
pub(super) async fn upload_batch(
    State(state): State<AppState>,
    Signed { device, body }: Signed,
) -> Result<Json<Value>, ApiError> {
    let batch: Batch = json_body(&body)?;
    if batch.receipts.len() > MAX_BATCH {
        return Err(ApiError::BadRequest(format!("at most {MAX_BATCH} receipts per upload")));
    }
    let results = ingest_all(&state, &device, &batch.receipts).await?;
    let chain = state.db.chain_status(&device.device_id).await?;
    Ok(Json(json!({ "results": results, "chain": chain })))
}

/// Uploads one receipt by id: 201 stored, 200 already stored, 409 id or sequence taken, 422 refused.
pub(super) async fn upload_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Signed { device, body }: Signed,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let one: Batch = json_body(&body)?;
    let [receipt] = one.receipts.as_slice() else {
        return Err(ApiError::BadRequest("send exactly one receipt".into()));
    };
    // Check the URL before storing anything; a receipt that does not verify is refused below.
    let named = B64.decode(receipt).ok().and_then(|b| salur_core::receipt::verify(&b, &device.public_key).ok());
    if named.is_some_and(|s| s.receipt.id != id) {
        return Err(ApiError::BadRequest("the receipt's id does not match the URL".into()));
    }
    let result = ingest_all(&state, &device, std::slice::from_ref(receipt)).await?.remove(0);
    let status = match result.result {
        Ingest::Accepted => StatusCode::CREATED,
        Ingest::Duplicate => StatusCode::OK,
        Ingest::Conflict => StatusCode::CONFLICT,
        Ingest::Rejected => StatusCode::UNPROCESSABLE_ENTITY,
    };
    Ok((status, Json(json!(result))))
}
