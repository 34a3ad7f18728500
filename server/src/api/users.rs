//! Staff accounts over HTTP (administrators only): list, add, disable, new bearer token.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{json_body, Staff};
use super::AppState;
use crate::domain::audit::Action;
use crate::domain::credentials::{self, digest, hash_password, TOKEN_PREFIX};
use crate::domain::roles::{Permission, Role};
use crate::error::ApiError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    name: String,
    role: Role,
    password: String,
}

/// Every account (no password hashes).
pub(super) async fn list(State(state): State<AppState>, staff: Staff) -> Result<Json<Value>, ApiError> {
    staff.require(Permission::ManageUsers)?;
    Ok(Json(json!({ "users": state.db.users().await? })))
}

/// Adds an account with a password.
pub(super) async fn add(
    State(state): State<AppState>,
    staff: Staff,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    staff.require(Permission::ManageUsers)?;
    let new: NewUser = json_body(&body)?;
    credentials::check_user_name(&new.name)?;
    let password = new.password;
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(format!("hashing: {e}")))??;
    let user = state.db.add_user(&new.name, new.role, &hash).await?;
    state.db.audit(staff.did(Action::UserAdded, Some(&new.name), Some(format!("role {}", new.role)))).await?;
    Ok((StatusCode::CREATED, Json(json!({ "user": user }))))
}

/// Disables an account (its sessions and tokens end).
pub(super) async fn disable(
    State(state): State<AppState>,
    Path(name): Path<String>,
    staff: Staff,
) -> Result<Json<Value>, ApiError> {
    staff.require(Permission::ManageUsers)?;
    let user = state.db.disable_user(&name).await?;
    state.db.audit(staff.did(Action::UserDisabled, Some(&name), None)).await?;
    Ok(Json(json!({ "user": user })))
}

/// A new bearer token for an account, shown only in this answer.
pub(super) async fn token(
    State(state): State<AppState>,
    Path(name): Path<String>,
    staff: Staff,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    staff.require(Permission::ManageUsers)?;
    let token = credentials::new_secret(TOKEN_PREFIX)?;
    state.db.add_token(&name, &digest(&token)).await?;
    state.db.audit(staff.did(Action::TokenCreated, Some(&name), None)).await?;
    Ok((StatusCode::CREATED, Json(json!({ "name": name, "token": token }))))
}
