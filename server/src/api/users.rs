//! Staff accounts over HTTP (administrators only): list, add, disable, new bearer token.

use super::params::Path;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{json_body, Staff};
use super::AppState;
use crate::domain::audit::Action;
use crate::domain::credentials::{self, digest, hash_password, TOKEN_PREFIX};
use crate::domain::roles::{Permission, Role};
use crate::error::{ApiError, ErrorBody};
use crate::store::User;

/// A new account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewUser {
    #[schema(pattern = "^[a-z0-9._-]{1,64}$")]
    name: String,
    role: Role,
    /// 12 to 256 characters.
    #[schema(min_length = 12, max_length = 256)]
    password: String,
}

/// Staff accounts.
#[derive(Serialize, ToSchema)]
pub(super) struct Users {
    users: Vec<User>,
}

/// One account.
#[derive(Serialize, ToSchema)]
pub(super) struct OneUser {
    user: User,
}

/// A new bearer token (shown only here).
#[derive(Serialize, ToSchema)]
pub(super) struct NewToken {
    name: String,
    /// `salur_` and 64 hex digits.
    token: String,
}

/// Every account (no password hashes).
#[utoipa::path(get, path = "/v1/admin/users", responses((status = 200, description = "Accounts", body = Users)),
    extensions(("x-salur-permission" = json!("manage_users"))))]
pub(super) async fn list(State(state): State<AppState>, staff: Staff) -> Result<Json<Users>, ApiError> {
    staff.require(Permission::ManageUsers)?;
    Ok(Json(Users { users: state.db.users().await? }))
}

/// Adds an account with a password.
#[utoipa::path(post, path = "/v1/admin/users", request_body = NewUser,
    responses((status = 201, description = "Added", body = OneUser),
        (status = 409, description = "The name is taken", body = ErrorBody)),
    extensions(("x-salur-permission" = json!("manage_users"))))]
pub(super) async fn add(
    State(state): State<AppState>,
    staff: Staff,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<OneUser>), ApiError> {
    staff.require(Permission::ManageUsers)?;
    let new: NewUser = json_body(&body)?;
    credentials::check_user_name(&new.name)?;
    let password = new.password;
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(format!("hashing: {e}")))??;
    let user = state.db.add_user(&new.name, new.role, &hash).await?;
    state.db.audit(staff.did(Action::UserAdded, Some(&new.name), Some(format!("role {}", new.role)))).await?;
    Ok((StatusCode::CREATED, Json(OneUser { user })))
}

/// Disables an account (its sessions and tokens end).
#[utoipa::path(post, path = "/v1/admin/users/{name}/disable", params(("name" = String, Path, description = "Account")),
    responses((status = 200, description = "Disabled", body = OneUser),
        (status = 404, description = "No such account", body = ErrorBody)),
    extensions(("x-salur-permission" = json!("manage_users"))))]
pub(super) async fn disable(
    State(state): State<AppState>,
    Path(name): Path<String>,
    staff: Staff,
) -> Result<Json<OneUser>, ApiError> {
    staff.require(Permission::ManageUsers)?;
    let user = state.db.disable_user(&name).await?;
    state.db.audit(staff.did(Action::UserDisabled, Some(&name), None)).await?;
    Ok(Json(OneUser { user }))
}

/// A new bearer token for the caller's own account, shown only in this answer (each person makes
/// their own: a token for another account is refused).
#[utoipa::path(post, path = "/v1/admin/users/{name}/tokens", params(("name" = String, Path, description = "Account")),
    responses((status = 201, description = "The token", body = NewToken),
        (status = 403, description = "Another person's account", body = ErrorBody),
        (status = 404, description = "No such account", body = ErrorBody),
        (status = 409, description = "The account is disabled", body = ErrorBody)),
    extensions(("x-salur-permission" = json!("manage_users"))))]
pub(super) async fn token(
    State(state): State<AppState>,
    Path(name): Path<String>,
    staff: Staff,
) -> Result<(StatusCode, Json<NewToken>), ApiError> {
    staff.require(Permission::ManageUsers)?;
    // Each person mints their own: a token made for someone else would let one person act as
    // both sides of the four-eyes rule (propose as one account, approve as the other).
    if staff.name != name {
        return Err(ApiError::Forbidden(format!(
            "{} may not make a token for {name}: each person makes their own, logged in as themselves",
            staff.name
        )));
    }
    let token = credentials::new_secret(TOKEN_PREFIX)?;
    state.db.add_token(&name, &digest(&token)).await?;
    state.db.audit(staff.did(Action::TokenCreated, Some(&name), None)).await?;
    Ok((StatusCode::CREATED, Json(NewToken { name, token })))
}
