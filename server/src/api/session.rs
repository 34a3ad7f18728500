//! Browser sessions: the login page, `POST /v1/login` (throttled, Argon2id, sets the HttpOnly
//! SameSite=Strict cookie), `GET /v1/session` (who, and the CSRF token), `POST /v1/logout`, and
//! the dashboard page behind them.

use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{body_error, check_json, json_body, peer, Staff, SESSION_COOKIE};
use super::AppState;
use crate::clock::now_ms;
use crate::domain::audit::{Action, Actor, NewEntry};
use crate::domain::credentials::{self, csrf_token, digest, verify_password};
use crate::domain::roles::{Permission, Role};
use crate::error::{ApiError, ErrorBody};

/// The login form, for browsers without a session.
pub const LOGIN_PAGE: &str = include_str!("login.html");

/// How long a browser session lasts (one working day).
pub const SESSION_MS: i64 = 8 * 3600 * 1000;

/// A staff member's name and password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Credentials {
    name: String,
    password: String,
}

/// Who is logged in, and the CSRF token for state-changing requests (none for bearer tokens).
#[derive(Serialize, ToSchema)]
pub(super) struct Session {
    name: String,
    role: Role,
    csrf: Option<String>,
}

/// The dashboard for staff who may see it; the login form (401) for everyone else.
#[utoipa::path(get, path = "/",
    responses((status = 200, description = "The dashboard page", content_type = "text/html", body = String),
        (status = 401, description = "The login page", content_type = "text/html", body = String)),
    extensions(("x-salur-permission" = json!("view_dashboard"))))]
pub(super) async fn page(staff: Result<Staff, ApiError>) -> Response {
    match staff {
        Ok(s) => match s.require(Permission::ViewDashboard) {
            Ok(()) => super::page::html(crate::read::dashboard::PAGE),
            Err(e) => e.into_response(),
        },
        Err(ApiError::Unauthorized(_)) => (StatusCode::UNAUTHORIZED, super::page::html(LOGIN_PAGE)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Whether the cookie may go without `Secure`: only plain http on loopback (a browser on the
/// server itself), judged by both the socket's peer and the Host the browser asked for; a reverse
/// proxy on the same machine forwards its public Host, so its users get `Secure`.
fn loopback_http(peer: Option<IpAddr>, headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    let host_loopback = name == "localhost" || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    peer.is_some_and(|p| p.is_loopback()) && host_loopback && !headers.contains_key("x-forwarded-proto")
}

fn session_cookie(value: &str, max_age_s: i64, secure: bool) -> Result<HeaderValue, ApiError> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_s}{secure}"
    ))
    .map_err(|e| ApiError::Internal(format!("cookie: {e}")))
}

/// Checks a name and password (throttled per name and per address) and starts a session: the
/// answer sets the HttpOnly, SameSite=Strict `salur_session` cookie.
#[utoipa::path(post, path = "/v1/login", request_body = Credentials,
    responses((status = 200, description = "Logged in; the cookie is set", body = Session),
        (status = 401, description = "Wrong name or password", body = ErrorBody),
        (status = 403, description = "The account is disabled", body = ErrorBody)))]
pub(super) async fn login(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    check_json(&parts.headers)?;
    let body = Bytes::from_request(Request::from_parts(parts.clone(), body), &state).await.map_err(body_error)?;
    let c: Credentials = json_body(&body)?;
    let address = peer(&parts);
    let actor = Actor { name: c.name.clone(), peer: address.map_or_else(|| "unknown".into(), |a| a.to_string()) };
    let known = state.db.login_of(&c.name).await?;
    // The attempted name goes into the log only when it is an account: a password typed into
    // the name field must not end up there.
    let target = known.as_ref().map(|_| c.name.clone());
    let failed = |why: &str| NewEntry {
        actor: Actor { name: target.clone().unwrap_or_else(|| "(unknown)".into()), peer: actor.peer.clone() },
        action: Action::LoginFailed,
        target: target.clone(),
        detail: Some(why.to_string()),
    };
    if let Err(e) = state.throttle.attempt(&c.name, address.map(|a| a.ip())) {
        state.db.audit(failed("throttled")).await?;
        return Err(e);
    }
    let stored = known.as_ref().map(|k| k.password_hash.clone());
    let password = c.password;
    // Argon2id takes tens of milliseconds of CPU: off the async workers.
    let matched = tokio::task::spawn_blocking(move || verify_password(&password, stored.as_deref()))
        .await
        .map_err(|e| ApiError::Internal(format!("password check: {e}")))?;
    let login = match (known, matched) {
        (Some(k), true) if !k.disabled => k,
        (Some(_), true) => {
            state.db.audit(failed("disabled")).await?;
            return Err(ApiError::Forbidden("this account is disabled".into()));
        }
        (known, _) => {
            state.db.audit(failed(if known.is_some() { "wrong password" } else { "unknown user" })).await?;
            return Err(ApiError::Unauthorized("wrong user name or password".into()));
        }
    };
    let session = credentials::new_secret("")?;
    state.db.add_session(&c.name, &digest(&session), now_ms() + SESSION_MS).await?;
    state.db.audit(NewEntry { actor, action: Action::LoginOk, target: None, detail: None }).await?;
    let cookie = session_cookie(&session, SESSION_MS / 1000, !loopback_http(address.map(|a| a.ip()), &parts.headers))?;
    let body = Session { name: c.name, role: login.role, csrf: Some(csrf_token(&session)) };
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// Who is logged in, and the CSRF token the page sends on state-changing requests.
#[utoipa::path(get, path = "/v1/session", responses((status = 200, description = "The caller", body = Session)),
    security(("staffBearer" = []), ("sessionCookie" = [])))]
pub(super) async fn whoami(staff: Staff) -> Json<Session> {
    Json(Session { csrf: staff.session.as_deref().map(csrf_token), name: staff.name, role: staff.role })
}

/// Ends the caller's session (the CSRF token was checked with it) and clears the cookie.
#[utoipa::path(post, path = "/v1/logout",
    responses((status = 204, description = "Logged out; the cookie is cleared"),
        (status = 400, description = "A bearer token has no session to end", body = ErrorBody)),
    security(("sessionCookie" = [], "csrfToken" = [])))]
pub(super) async fn logout(State(state): State<AppState>, staff: Staff) -> Result<Response, ApiError> {
    let Some(session) = &staff.session else {
        return Err(ApiError::BadRequest("log out ends a browser session; bearer tokens have none".into()));
    };
    state.db.end_session(&digest(session)).await?;
    state.db.audit(staff.did(Action::Logout, None, None)).await?;
    Ok(([(header::SET_COOKIE, session_cookie("", 0, false)?)], StatusCode::NO_CONTENT).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(h: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(header::HOST, HeaderValue::from_str(h).unwrap_or(HeaderValue::from_static("x")));
        m
    }

    #[test]
    fn cookies_go_without_secure_only_for_a_browser_on_the_server_itself() {
        let lo: Option<IpAddr> = "127.0.0.1".parse().ok();
        assert!(loopback_http(lo, &host("127.0.0.1:8080")));
        assert!(loopback_http(lo, &host("localhost:8080")));
        assert!(loopback_http("::1".parse().ok(), &host("[::1]:8080")));
        assert!(!loopback_http(lo, &host("salur.example.go.id")), "a reverse proxy on the same host");
        assert!(!loopback_http("10.0.0.5".parse().ok(), &host("127.0.0.1:8080")));
        assert!(!loopback_http(None, &host("localhost")));
        let mut proxied = host("localhost");
        proxied.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(!loopback_http(lo, &proxied));
    }
}
