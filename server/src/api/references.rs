//! What a payment's live face was compared with, handed in with its evidence (the e-KTP photo's
//! face crop, the enrolled template), and the server's own verdict on the payment once the crop
//! and its reference are both in.

use super::params::Path;
use axum::extract::State;
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use salur_core::face::Template;
use salur_core::receipt::{Method, Receipt};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{json_body, HandIn, Signed};
use super::AppState;
use crate::domain::verdict::{self, Against, Scores, Verdict};
use crate::error::{ApiError, ErrorBody};
use crate::store::ReferenceParts;

/// A payment's reference parts, each only when its receipt signs its hash.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Parts {
    /// The e-KTP photo's aligned face crop (JPEG), base64: its SHA-256 is `evidence.card_face_sha256`.
    #[schema(content_encoding = "base64")]
    card_face: Option<String>,
    /// The enrolled template (`SLFT`), base64: its SHA-256 is `evidence.enrolled_sha256`.
    #[schema(content_encoding = "base64")]
    enrolled: Option<String>,
}

/// Which parts the server holds for the payment.
#[derive(Serialize, ToSchema)]
pub(super) struct PartsHeld {
    /// The card's face.
    card_face: bool,
    /// The enrolled template.
    enrolled: bool,
}

fn base64_part(what: &str, b: Option<&String>) -> Result<Option<Vec<u8>>, ApiError> {
    b.map(|b| B64.decode(b).map_err(|_| ApiError::BadRequest(format!("{what} is not base64")))).transpose()
}

/// Hands in what a payment's live face was compared with (before or after its evidence crop).
#[utoipa::path(put, path = "/v1/receipts/{id}/references", params(("id" = String, Path, description = "Receipt")),
    request_body = Parts,
    responses((status = 200, description = "The parts held", body = PartsHeld),
        (status = 404, description = "No such receipt of this device", body = ErrorBody),
        (status = 413, description = "A part is larger than a crop or a template can be", body = ErrorBody),
        (status = 422, description = "A part the receipt does not sign, or other bytes than it signs", body = ErrorBody)),
    security(("deviceSignature" = [])))]
pub(super) async fn put(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Signed { device, body }: HandIn,
) -> Result<Json<PartsHeld>, ApiError> {
    crate::domain::devices::check_identifier("receipt id", &id)?;
    let p: Parts = json_body(&body)?;
    let sent = ReferenceParts {
        card_face: base64_part("card_face", p.card_face.as_ref())?,
        enrolled: base64_part("enrolled", p.enrolled.as_ref())?,
    };
    let receipt = state.db.device_receipt(&device, &id).await?;
    state.db.put_reference_parts(&receipt, &sent).await?;
    // The crop may have come first: the payment is judged now that its reference is here (and a
    // crop stored but not yet embedded is processed here, rather than wait for a status call).
    if let Some(live) = state.db.evidence_embedding(&id).await? {
        judge(&state, &receipt, &Ok(live)).await?;
    } else if let Some(jpeg) = state.db.evidence_unprocessed(&id).await? {
        super::evidence::process(&state, &device, &id, jpeg).await?;
    }
    let held = state.db.reference_parts(&id).await?;
    Ok(Json(PartsHeld { card_face: held.card_face.is_some(), enrolled: held.enrolled.is_some() }))
}

/// The server's verdict on a payment whose crop is in (`live`: its embedding, or why there is
/// none), when the verdict may still change and what the face is compared with is here too.
pub(super) async fn judge(
    state: &AppState,
    receipt: &Receipt,
    live: &Result<Vec<f32>, String>,
) -> Result<(), ApiError> {
    let Some(awaiting) = state.db.awaiting_verdict(&receipt.id, live.is_err()).await? else { return Ok(()) };
    let was = awaiting.verdict.as_deref();
    let Some(evidence) = receipt.evidence.as_ref() else { return Ok(()) };
    let Ok(live) = live else {
        state.dashboards.changed();
        return state.db.set_verdict(&receipt.id, was, Verdict::Mismatch, Scores::default()).await;
    };
    let against = Against::of(evidence);
    let parts = state.db.reference_parts(&receipt.id).await?;
    // What the phone brought to compare with: `None` nothing, `Some(None)` unreadable.
    let brought = match against {
        Against::Held | Against::Nothing => None,
        // Judged when the card's face or the enrolment arrives.
        Against::CardFace if parts.card_face.is_none() => return Ok(()),
        Against::Enrolled if parts.enrolled.is_none() => return Ok(()),
        Against::CardFace => Some(state.faces.embed(parts.card_face.clone().unwrap_or_default()).await?.ok()),
        Against::Enrolled => Some(parts.enrolled.as_deref().and_then(|b| Template::decode(b).ok()).map(|t| t.vector)),
    };
    let (roster, recipient) = (&awaiting.roster_id, &awaiting.recipient);
    let mut held = state.db.held_reference(roster, recipient).await?;
    let mut outcome = scored(against, &evidence.method, brought.as_ref(), held.as_ref(), live, awaiting.score_e6);
    // A verified first enrolment of a recipient the server held nothing for becomes their
    // reference, but only from a receipt that counts (not held from a revoked device, not flagged,
    // not late). When another instance kept one meanwhile, this payment is judged against it.
    if outcome.0 == Verdict::Verified && held.is_none() && against == Against::Enrolled && awaiting.counts() {
        if let Some(template) = &parts.enrolled {
            if !state.db.keep_enrolled_reference(roster, recipient, template).await? {
                held = state.db.held_reference(roster, recipient).await?;
                outcome = scored(against, &evidence.method, brought.as_ref(), held.as_ref(), live, awaiting.score_e6);
            }
        }
    }
    state.db.set_verdict(&receipt.id, was, outcome.0, outcome.1).await?;
    state.dashboards.changed();
    Ok(())
}

/// The verdict and scores of a live face (`live`) compared with what `against` names: the
/// reference `held` for the recipient, or what the phone `brought` (`Some(None)`: unreadable),
/// itself checked against `held` when the server holds one.
fn scored(
    against: Against,
    method: &Method,
    brought: Option<&Option<Vec<f32>>>,
    held: Option<&Template>,
    live: &[f32],
    signed_score_e6: Option<i64>,
) -> (Verdict, Scores) {
    let reference = match against {
        Against::Held => held.map(|t| Some(t.vector.clone())),
        _ => brought.cloned(),
    };
    match reference {
        None => (Verdict::NoReference, Scores::default()),
        Some(None) => (Verdict::Mismatch, Scores::default()),
        Some(Some(r)) => {
            let checked = against.checked_against_held(method);
            let (vs_held, live_vs_held) = match (brought, held) {
                (Some(b), Some(h)) if checked => (
                    Some(b.as_ref().and_then(|b| verdict::score_e6(&h.vector, b))),
                    Some(verdict::score_e6(&h.vector, live)),
                ),
                _ => (None, None),
            };
            let scores = Scores { live: verdict::score_e6(&r, live), reference: vs_held, live_vs_held };
            (verdict::judge_scores(scores, signed_score_e6), scores)
        }
    }
}
