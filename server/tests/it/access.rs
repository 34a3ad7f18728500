//! Accounts, roles, sessions and the audit log through the router (tower `oneshot`), on SQLite and
//! PostgreSQL: every staff route without credentials (401), with a viewer's where it needs more
//! (403) and with its owners' (2xx); the cookie's flags and CSRF; wrong passwords, disabled users,
//! throttling; what the audit log records.

use crate::common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use salur_core::keys::{Signer, SoftwareSigner};
use salur_server::domain::credentials::{digest, hash_password, new_secret, TOKEN_PREFIX};
use salur_server::domain::roles::Role;
use salur_server::{router, AppState, Db, LoginThrottle};
use serde_json::{json, Value};
use tower::ServiceExt;

const BOOTSTRAP: &str = "access-test-bootstrap";
const PASSWORD: &str = "a long enough passphrase";

/// An account per role, each with a bearer token.
struct Staff {
    tokens: Vec<(Role, String)>,
}

impl Staff {
    async fn create(db: &Db) -> Self {
        let hash = hash_password(PASSWORD).unwrap();
        let mut tokens = Vec::new();
        for role in Role::ALL {
            db.add_user(role.as_str(), role, &hash).await.unwrap();
            let token = new_secret(TOKEN_PREFIX).unwrap();
            db.add_token(role.as_str(), &digest(&token)).await.unwrap();
            tokens.push((role, token));
        }
        Self { tokens }
    }

    fn token(&self, role: Role) -> &str {
        &self.tokens.iter().find(|(r, _)| *r == role).unwrap().1
    }
}

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let res = app.clone().oneshot(req).await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let bytes = to_bytes(res.into_body(), 1 << 20).await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, headers, body)
}

fn request(method: &str, uri: &str, token: Option<&str>, body: Option<Value>) -> Request<Body> {
    let mut r = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        r = r.header("authorization", format!("Bearer {t}"));
    }
    match body {
        Some(b) => r.header("content-type", "application/json").body(Body::from(b.to_string())).unwrap(),
        None => r.body(Body::empty()).unwrap(),
    }
}

/// A login from `peer`.
fn login(name: &str, password: &str, peer: &str) -> Request<Body> {
    let mut r = request("POST", "/v1/login", None, Some(json!({ "name": name, "password": password })));
    r.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    r
}

async fn register(app: &axum::Router, staff: &Staff, device_id: &str) {
    let signer = SoftwareSigner::generate().unwrap().0;
    let code = common::enrolment_code(app, staff.token(Role::Approver), "pos-a", "jakarta-10110").await;
    let reg = json!({ "device_id": device_id, "worker_id": "pos-a", "post_office": "jakarta-10110",
                      "public_key": B64.encode(signer.public_key_spki().unwrap()), "enrolment_code": code });
    let req = common::signed_request(&signer, device_id, "POST", "/v1/devices", serde_json::to_vec(&reg).unwrap());
    assert_eq!(call(app, req).await.0, StatusCode::CREATED);
}

/// Each backend's router, its database and an account per role.
async fn setups() -> Vec<(common::Backend, axum::Router, Db, Staff)> {
    let mut out = Vec::new();
    for b in common::backends().await {
        let db = b.storage.open().await.unwrap();
        let staff = Staff::create(&db).await;
        let app = router(AppState::new(db.clone(), BOOTSTRAP).allow_unattested_devices(true));
        out.push((b, app, db, staff));
    }
    out
}

#[tokio::test]
async fn every_staff_route_refuses_no_credentials_and_too_low_a_role_and_serves_its_owners() {
    use Role::*;
    for (backend, app, _db, staff) in setups().await {
        let name = backend.name;
        register(&app, &staff, "dev-acl").await;
        let new_user = |n: &str| Some(json!({ "name": n, "role": "viewer", "password": PASSWORD }));
        // (method, path, body, the roles that may, besides the administrator)
        let routes: Vec<(&str, String, Option<Value>, Vec<Role>)> = vec![
            ("GET", "/".into(), None, vec![Viewer, Supervisor, Approver, Finance, Auditor]),
            ("GET", "/metrics".into(), None, vec![Viewer, Supervisor, Approver, Finance, Auditor]),
            ("GET", "/v1/dashboard".into(), None, vec![Viewer, Supervisor, Approver, Finance, Auditor]),
            ("GET", "/v1/session".into(), None, vec![Viewer, Supervisor, Approver, Finance, Auditor]),
            ("GET", "/v1/admin/devices".into(), None, vec![Approver]),
            ("POST", "/v1/admin/devices/dev-acl/approve".into(), None, vec![Approver]),
            ("POST", "/v1/admin/devices/dev-acl/revoke".into(), None, vec![Approver]),
            ("GET", "/v1/admin/enrolments".into(), None, vec![Approver]),
            (
                "POST",
                "/v1/admin/enrolments".into(),
                Some(json!({ "worker_id": "pos-a", "post_office": "p", "allow_unknown": true })),
                vec![Approver],
            ),
            ("GET", "/v1/devices/dev-acl/chain".into(), None, vec![Approver, Auditor]),
            ("GET", "/v1/devices/dev-acl/chain/status".into(), None, vec![Approver, Auditor]),
            ("GET", "/v1/admin/devices/dev-acl/export".into(), None, vec![Approver, Auditor]),
            ("GET", "/v1/admin/reallocations".into(), None, vec![Finance, Auditor]),
            ("GET", "/v1/admin/reallocations?format=csv".into(), None, vec![Finance, Auditor]),
            ("GET", "/v1/admin/face-sweep?roster=blt-2026-11".into(), None, vec![Auditor]),
            ("GET", "/v1/admin/audit".into(), None, vec![Auditor]),
            ("GET", "/v1/admin/audit?format=csv".into(), None, vec![Auditor]),
            ("GET", "/v1/admin/audit/verify".into(), None, vec![Auditor]),
            ("GET", "/v1/admin/complaints".into(), None, vec![Auditor]),
            ("GET", "/v1/admin/held-receipts".into(), None, vec![Auditor]),
            ("GET", "/v1/admin/users".into(), None, vec![]),
            ("POST", "/v1/admin/users".into(), new_user("added-by-admin"), vec![]),
            // Each person makes their own token: the administrator's own account.
            ("POST", "/v1/admin/users/administrator/tokens".into(), None, vec![]),
            ("POST", "/v1/admin/users/added-by-admin/disable".into(), None, vec![]),
        ];
        // The API description names the same owners for every route as the server enforces.
        let (_, _, doc) = call(&app, request("GET", "/openapi.json", None, None)).await;
        for (method, path, _, owners) in &routes {
            let op = documented(&doc, method, path);
            let mut expected: Vec<&str> =
                Role::ALL.iter().filter(|r| **r == Administrator || owners.contains(r)).map(|r| r.as_str()).collect();
            let mut listed: Vec<&str> =
                op["x-salur-roles"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
            expected.sort_unstable();
            listed.sort_unstable();
            assert_eq!(listed, expected, "{name}: x-salur-roles of {method} {path}");
        }
        for (method, path, body, owners) in &routes {
            let (status, _, _) = call(&app, request(method, path, None, body.clone())).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {method} {path} without credentials");
            let (status, _, _) = call(&app, request(method, path, Some("salur_00ff"), body.clone())).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {method} {path} with an unknown token");
            for role in Role::ALL {
                if role == Administrator {
                    continue;
                }
                let (status, _, answer) =
                    call(&app, request(method, path, Some(staff.token(role)), body.clone())).await;
                if owners.contains(&role) {
                    assert!(status.is_success(), "{name}: {method} {path} as {role}: {status} {answer}");
                } else {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{name}: {method} {path} as {role}: {answer}");
                }
            }
            // The administrator may use every route; the bootstrap token none, once an
            // administrator account exists.
            let (status, _, answer) =
                call(&app, request(method, path, Some(staff.token(Administrator)), body.clone())).await;
            assert!(status.is_success(), "{name}: {method} {path} as administrator: {status} {answer}");
            let (status, _, answer) = call(&app, request(method, path, Some(BOOTSTRAP), body.clone())).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {method} {path} with the bootstrap token: {answer}");
        }
        // The phone's routes stay device-signed: a staff token is no device signature.
        for path in ["/v1/rosters", "/v1/roster/blt-2026-11"] {
            let (status, _, _) = call(&app, request("GET", path, Some(staff.token(Administrator)), None)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {path}");
        }
        // Public: health, time, the API description.
        for path in ["/healthz", "/v1/time", "/openapi.json", "/cek"] {
            assert_eq!(call(&app, request("GET", path, None, None)).await.0, StatusCode::OK, "{name}: {path}");
        }
    }
}

/// The operation of the API description that serves `method path` (`{name}` matches a segment).
fn documented<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    let (path, method) = (path.split('?').next().unwrap(), method.to_lowercase());
    let wanted: Vec<&str> = path.split('/').collect();
    // Literal segments sort before `{`: the most specific template is found first.
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(template, item)| {
            let parts: Vec<&str> = template.split('/').collect();
            item.get(&method).is_some()
                && parts.len() == wanted.len()
                && parts.iter().zip(&wanted).all(|(t, w)| t.starts_with('{') || t == w)
        })
        .map(|(_, item)| &item[&method])
        .unwrap_or_else(|| panic!("{method} {path} is not documented"))
}

fn cookie_of(headers: &axum::http::HeaderMap) -> String {
    let set = headers.get("set-cookie").unwrap().to_str().unwrap();
    set.split(';').next().unwrap().to_string()
}

fn with_cookie(mut r: Request<Body>, cookie: &str, csrf: Option<&str>) -> Request<Body> {
    r.headers_mut().insert("cookie", cookie.parse().unwrap());
    if let Some(c) = csrf {
        r.headers_mut().insert("x-csrf-token", c.parse().unwrap());
    }
    r
}

#[tokio::test]
async fn a_browser_session_is_a_strict_httponly_cookie_and_state_changes_need_its_csrf_token() {
    for (backend, app, _db, staff) in setups().await {
        let name = backend.name;
        register(&app, &staff, "dev-csrf").await;
        let (status, headers, body) = call(&app, login("approver", PASSWORD, "10.0.0.7:40000")).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
        let set = headers.get("set-cookie").unwrap().to_str().unwrap().to_string();
        for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(set.contains(flag), "{name}: {flag} in {set}");
        }
        let cookie = cookie_of(&headers);
        let csrf = body["csrf"].as_str().unwrap().to_string();
        assert_eq!(body["role"], "approver");

        // Reads need no CSRF token; the page and the session answer.
        let (status, _, page) = call(&app, with_cookie(request("GET", "/", None, None), &cookie, None)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.as_str().unwrap().contains("/v1/dashboard"), "{name}: the dashboard, not the login form");
        let (_, _, me) = call(&app, with_cookie(request("GET", "/v1/session", None, None), &cookie, None)).await;
        assert_eq!((me["name"].as_str(), me["csrf"].as_str()), (Some("approver"), Some(csrf.as_str())));

        // A state change by cookie: refused without the token and with a wrong one, done with it.
        let approve = || request("POST", "/v1/admin/devices/dev-csrf/approve", None, None);
        let (status, _, body) = call(&app, with_cookie(approve(), &cookie, None)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: no CSRF token: {body}");
        assert!(body["message"].as_str().unwrap().contains("x-csrf-token"));
        let (status, _, _) = call(&app, with_cookie(approve(), &cookie, Some(&"0".repeat(64)))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: wrong CSRF token");
        let (status, _, body) = call(&app, with_cookie(approve(), &cookie, Some(&csrf))).await;
        assert_eq!((status, body["device"]["status"].as_str()), (StatusCode::OK, Some("approved")), "{name}");

        // Without a session the page is the login form (401); a forged cookie is no session.
        let (status, _, page) = call(&app, request("GET", "/", None, None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(page.as_str().unwrap().contains("/v1/login"));
        let forged = format!("salur_session={}", "ab".repeat(32));
        assert_eq!(
            call(&app, with_cookie(request("GET", "/v1/dashboard", None, None), &forged, None)).await.0,
            StatusCode::UNAUTHORIZED
        );

        // Logout is a state change too; afterwards the cookie is worthless.
        let logout = || request("POST", "/v1/logout", None, None);
        assert_eq!(call(&app, with_cookie(logout(), &cookie, None)).await.0, StatusCode::FORBIDDEN);
        let (status, headers, _) = call(&app, with_cookie(logout(), &cookie, Some(&csrf))).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert!(headers.get("set-cookie").unwrap().to_str().unwrap().contains("Max-Age=0"));
        let (status, _, _) = call(&app, with_cookie(request("GET", "/v1/dashboard", None, None), &cookie, None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: the session ended");
        // A login posted as a form (what a cross-site page could send) is refused.
        let form = Request::post("/v1/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!("name=approver&password={PASSWORD}")))
            .unwrap();
        assert_eq!(call(&app, form).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
}

/// The bootstrap token sets a server up and stops working once a named administrator exists (and
/// works again only if every administrator is disabled, so a locked-out server can be recovered
/// by whoever holds the server's own token file).
#[tokio::test]
async fn the_bootstrap_token_stops_when_the_first_administrator_account_exists() {
    for b in common::backends().await {
        let name = b.name;
        let db = b.storage.open().await.unwrap();
        let app = router(AppState::new(db.clone(), BOOTSTRAP));
        let (status, _, _) = call(&app, request("GET", "/v1/admin/users", Some(BOOTSTRAP), None)).await;
        assert_eq!(status, StatusCode::OK, "{name}: the bootstrap token sets the server up");
        let viewer = json!({ "name": "first-viewer", "role": "viewer", "password": PASSWORD });
        let (status, _, _) = call(&app, request("POST", "/v1/admin/users", Some(BOOTSTRAP), Some(viewer))).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _, _) = call(&app, request("GET", "/v1/admin/users", Some(BOOTSTRAP), None)).await;
        assert_eq!(status, StatusCode::OK, "{name}: a viewer account changes nothing");
        let admin = json!({ "name": "siti-admin", "role": "administrator", "password": PASSWORD });
        let (status, _, _) = call(&app, request("POST", "/v1/admin/users", Some(BOOTSTRAP), Some(admin))).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _, answer) = call(&app, request("GET", "/v1/admin/users", Some(BOOTSTRAP), None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {answer}");
        assert!(answer["message"].as_str().unwrap().contains("first administrator account"), "{answer}");
        // The administrator logs in and makes their own token; not one for the viewer.
        let (status, headers, body) = call(&app, login("siti-admin", PASSWORD, "10.0.0.9:1000")).await;
        assert_eq!(status, StatusCode::OK);
        let (cookie, csrf) = (cookie_of(&headers), body["csrf"].as_str().unwrap().to_string());
        let own = with_cookie(request("POST", "/v1/admin/users/siti-admin/tokens", None, None), &cookie, Some(&csrf));
        let (status, _, made) = call(&app, own).await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {made}");
        let token = made["token"].as_str().unwrap().to_string();
        let other = request("POST", "/v1/admin/users/first-viewer/tokens", Some(&token), None);
        assert_eq!(call(&app, other).await.0, StatusCode::FORBIDDEN);
        let (status, _, _) = call(&app, request("GET", "/v1/admin/users", Some(&token), None)).await;
        assert_eq!(status, StatusCode::OK);
        // Every administrator disabled: the token file recovers the server.
        db.disable_user("siti-admin").await.unwrap();
        let (status, _, _) = call(&app, request("GET", "/v1/admin/users", Some(BOOTSTRAP), None)).await;
        assert_eq!(status, StatusCode::OK, "{name}");
    }
}

#[tokio::test]
async fn wrong_passwords_unknown_and_disabled_users_are_refused_and_logins_are_throttled() {
    for (backend, _app, db, staff) in setups().await {
        let name = backend.name;
        // Generous limits first: the answers themselves.
        let app = router(AppState::new(db.clone(), BOOTSTRAP));
        let (status, _, body) = call(&app, login("viewer", "not the passphrase", "10.0.0.1:1000")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {body}");
        assert_eq!(call(&app, login("nobody", PASSWORD, "10.0.0.1:1000")).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(call(&app, login("viewer", PASSWORD, "10.0.0.1:1000")).await.0, StatusCode::OK);

        // A disabled user: no login (even with the right password), the token and session end.
        let (_, headers, _) = call(&app, login("finance", PASSWORD, "10.0.0.1:1000")).await;
        let cookie = cookie_of(&headers);
        let (status, _, _) = call(
            &app,
            request("POST", "/v1/admin/users/finance/disable", Some(staff.token(Role::Administrator)), None),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, body) = call(&app, login("finance", PASSWORD, "10.0.0.1:1000")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: {body}");
        let reallocations = |t: Option<&str>| request("GET", "/v1/admin/reallocations", t, None);
        assert_eq!(call(&app, reallocations(Some(staff.token(Role::Finance)))).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(call(&app, with_cookie(reallocations(None), &cookie, None)).await.0, StatusCode::UNAUTHORIZED);

        // Per name: after 3 attempts even the right password waits; another name does not.
        let strict = router(AppState::new(db.clone(), BOOTSTRAP).with_throttle(LoginThrottle::new(
            3,
            Duration::from_secs(3600),
            100,
            Duration::from_secs(1),
        )));
        for _ in 0..3 {
            assert_eq!(
                call(&strict, login("auditor", "guess guess guess", "10.0.0.2:1")).await.0,
                StatusCode::UNAUTHORIZED
            );
        }
        let (status, headers, body) = call(&strict, login("auditor", PASSWORD, "10.0.0.3:1")).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")), "{name}");
        let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=3600).contains(&wait), "{name}: Retry-After {wait}");
        assert_eq!(call(&strict, login("approver", PASSWORD, "10.0.0.3:1")).await.0, StatusCode::OK);

        // Per address: one address spraying names is stopped; another address is not.
        let strict = router(AppState::new(db.clone(), BOOTSTRAP).with_throttle(LoginThrottle::new(
            100,
            Duration::from_secs(1),
            3,
            Duration::from_secs(3600),
        )));
        for user in ["a1", "a2", "a3"] {
            assert_eq!(call(&strict, login(user, "guess guess guess", "10.9.9.9:5")).await.0, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(call(&strict, login("viewer", PASSWORD, "10.9.9.9:6")).await.0, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(call(&strict, login("viewer", PASSWORD, "10.8.8.8:6")).await.0, StatusCode::OK);

        let failed: Vec<String> = db
            .audit_entries(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "login_failed")
            .filter_map(|e| e.detail)
            .collect();
        for why in ["wrong password", "unknown user", "disabled", "throttled"] {
            assert!(failed.iter().any(|d| d == why), "{name}: a failed login for {why} is logged: {failed:?}");
        }
    }
}

#[tokio::test]
async fn the_audit_log_says_who_did_what_from_where_and_holds_no_secrets() {
    for (backend, app, db, staff) in setups().await {
        let name = backend.name;
        register(&app, &staff, "dev-aud").await;
        let (_, headers, body) = call(&app, login("approver", PASSWORD, "192.0.2.10:5555")).await;
        let (cookie, csrf) = (cookie_of(&headers), body["csrf"].as_str().unwrap().to_string());
        let mut approve =
            with_cookie(request("POST", "/v1/admin/devices/dev-aud/approve", None, None), &cookie, Some(&csrf));
        approve.extensions_mut().insert(ConnectInfo("192.0.2.10:5556".parse::<SocketAddr>().unwrap()));
        assert_eq!(call(&app, approve).await.0, StatusCode::OK);
        let admin = staff.token(Role::Administrator);
        let add = json!({ "name": "new-viewer", "role": "viewer", "password": "another long passphrase" });
        assert_eq!(call(&app, request("POST", "/v1/admin/users", Some(admin), Some(add))).await.0, StatusCode::CREATED);
        // No token for another person, not even from an administrator: each makes their own.
        let (status, _, refused) =
            call(&app, request("POST", "/v1/admin/users/new-viewer/tokens", Some(admin), None)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: {refused}");
        assert!(refused["message"].as_str().unwrap_or_default().contains("each person makes their own"), "{refused}");
        let (_, _, made) = call(&app, request("POST", "/v1/admin/users/administrator/tokens", Some(admin), None)).await;
        let new_token = made["token"].as_str().unwrap().to_string();
        call(&app, request("GET", "/v1/admin/face-sweep?roster=blt-2026-11", Some(staff.token(Role::Auditor)), None))
            .await;
        call(&app, request("GET", "/v1/admin/reallocations?format=csv", Some(staff.token(Role::Finance)), None)).await;
        call(&app, request("POST", "/v1/admin/devices/dev-aud/revoke", Some(&new_token), None)).await;

        let (status, _, log) =
            call(&app, request("GET", "/v1/admin/audit", Some(staff.token(Role::Auditor)), None)).await;
        assert_eq!(status, StatusCode::OK);
        let entries = log["entries"].as_array().unwrap();
        let find = |action: &str| {
            entries.iter().find(|e| e["action"] == action).unwrap_or_else(|| panic!("{name}: {action} in {log}"))
        };
        let e = find("login_ok");
        assert_eq!((e["actor"].as_str(), e["peer"].as_str()), (Some("approver"), Some("192.0.2.10:5555")));
        let e = find("device_approved");
        assert_eq!(
            (e["actor"].as_str(), e["target"].as_str(), e["peer"].as_str()),
            (Some("approver"), Some("dev-aud"), Some("192.0.2.10:5556"))
        );
        assert!(e["at_ms"].as_i64().unwrap() > 0);
        assert_eq!(
            (find("user_added")["actor"].as_str(), find("user_added")["target"].as_str()),
            (Some("administrator"), Some("new-viewer"))
        );
        assert_eq!(find("token_created")["target"], "administrator");
        assert_eq!(find("face_sweep")["actor"], "auditor");
        assert_eq!(find("reallocations_read")["actor"], "finance");
        assert_eq!(find("device_revoked")["actor"], "administrator");
        assert_eq!(find("audit_read")["actor"], "auditor", "reading the log is logged too");
        // Gapless, chained, and free of the secrets that passed through.
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(e["seq"].as_u64(), Some(i as u64 + 1));
        }
        let text = log.to_string();
        for secret in [
            PASSWORD,
            "another long passphrase",
            &new_token,
            &csrf,
            admin,
            BOOTSTRAP,
            cookie.split('=').nth(1).unwrap(),
        ] {
            assert!(!text.contains(secret), "{name}: a secret in the audit log");
        }
        let (_, _, csv) =
            call(&app, request("GET", "/v1/admin/audit?format=csv", Some(staff.token(Role::Auditor)), None)).await;
        assert!(csv.as_str().unwrap().starts_with("seq,at_ms,actor,peer,action,target,detail,prev"), "{csv}");
        let (_, _, check) = call(&app, request("GET", "/v1/admin/audit/verify", Some(admin), None)).await;
        assert_eq!(check["first_break"], Value::Null, "{name}: {check}");
        assert!(check["entries"].as_u64().unwrap() >= 9);
        // Concurrent appends (two instances over PostgreSQL, or many tasks) keep the chain whole.
        let appends = (0..20).map(|_| call(&app, request("GET", "/v1/admin/audit/verify", Some(admin), None)));
        futures::future::join_all(appends).await;
        assert_eq!(db.verify_audit().await.unwrap().first_break, None, "{name}");
    }
}
