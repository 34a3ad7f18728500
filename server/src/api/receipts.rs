//! Receipt upload: a batch, or one receipt by id.

use super::params::Path;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{json_body, HandIn, Signed};
use super::AppState;
use crate::domain::chain::ChainStatus;
use crate::domain::devices::Device;
use crate::domain::ingest::{Ingest, IngestResult};
use crate::error::{ApiError, ErrorBody};

/// Most receipts accepted in one upload.
pub const MAX_BATCH: usize = 500;

/// Receipts to upload.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ReceiptBatch)]
struct Batch {
    /// Tagged COSE_Sign1 receipts, base64.
    #[schema(max_items = 500)]
    receipts: Vec<String>,
}

/// One result per receipt, in order, and the device's chain after them.
#[derive(Serialize, ToSchema)]
pub(super) struct Uploaded {
    results: Vec<IngestResult>,
    chain: ChainStatus,
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
#[utoipa::path(post, path = "/v1/receipts", request_body = Batch,
    responses((status = 200, description = "Results and the device's chain", body = Uploaded)),
    security(("deviceSignature" = [])))]
pub(super) async fn upload_batch(
    State(state): State<AppState>,
    Signed { device, body }: HandIn,
) -> Result<Json<Uploaded>, ApiError> {
    let batch: Batch = json_body(&body)?;
    if batch.receipts.len() > MAX_BATCH {
        return Err(ApiError::BadRequest(format!("at most {MAX_BATCH} receipts per upload")));
    }
    let results = ingest_all(&state, &device, &batch.receipts).await?;
    let chain = state.db.chain_status(&device.device_id).await?;
    Ok(Json(Uploaded { results, chain }))
}

/// Uploads one receipt by id: 201 stored, 200 already stored, 409 id or sequence taken, 422 refused.
#[utoipa::path(put, path = "/v1/receipts/{id}", params(("id" = String, Path, description = "The receipt's id")),
    request_body(content = Batch, description = "Exactly one receipt"),
    responses((status = 201, description = "Stored", body = IngestResult),
        (status = 200, description = "Already stored", body = IngestResult),
        (status = 409, description = "Another receipt holds this id or sequence", body = IngestResult),
        (status = 422, description = "Refused (does not verify, or breaks a rule)", body = IngestResult),
        (status = 400, description = "Not one receipt, or its id is not the URL's", body = ErrorBody)),
    security(("deviceSignature" = [])))]
pub(super) async fn upload_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Signed { device, body }: HandIn,
) -> Result<(StatusCode, Json<IngestResult>), ApiError> {
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
    Ok((status, Json(result)))
}
