//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` attributes and the
//! types they answer with, so it cannot drift from the code. What every route shares is added
//! here once: the security schemes, the roles of each staff route (from the permission it
//! checks, through [`Permission::holders`]), the device-signature headers, and the error answers
//! the layers in front of every handler give.

use serde_json::{json, Map, Value};

use crate::domain::roles::Permission;

/// The document's fixed parts; the paths come from the router.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Salur disbursement API",
        version = "1",
        description = "Devices register their ECDSA P-256 key, download their roster and upload COSE_Sign1 \
receipts; the server verifies every signature and chain link and stores each receipt once. Device requests are \
signed (headers x-salur-device, x-salur-time, x-salur-signature: base64 raw r||s ES256 over \
'SALUR-REQUEST-V1\\n{METHOD}\\n{path?query}\\n{time_ms}\\n{hex sha256(body)}'), by the device key, or by \
the device's upload key with x-salur-key: upload, which serves only the routes that hand in receipts, evidence and \
the chain's status. Staff routes take a user's bearer \
token (`salur users token`, or the bootstrap administrator's SALUR_ADMIN_TOKEN) or a browser session cookie from \
POST /v1/login; state-changing requests with the cookie also carry the session's CSRF token in x-csrf-token \
(GET /v1/session). Each staff route names the permission it checks in x-salur-permission and the roles holding it \
in x-salur-roles; administrators may use every route. Every administrative and auditor action is appended to a \
hash-chained audit log (GET /v1/admin/audit)."
    ),
    components(schemas(crate::error::ErrorBody))
)]
pub(super) struct ApiDoc;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

fn error(description: &str) -> Value {
    json!({ "description": description,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn schemes() -> Value {
    json!({
        "deviceSignature": { "type": "apiKey", "in": "header", "name": "x-salur-signature",
            "description": "ES256 request signature by the device key, with x-salur-device and x-salur-time" },
        "staffBearer": { "type": "http", "scheme": "bearer",
            "description": "A user's opaque token (salur_… from `salur users token` or POST /v1/admin/users/{name}/tokens), or the bootstrap administrator's token (SALUR_ADMIN_TOKEN or the text in DATA_DIR/admin-token)." },
        "sessionCookie": { "type": "apiKey", "in": "cookie", "name": "salur_session",
            "description": "Browser session from POST /v1/login: HttpOnly, SameSite=Strict, Secure unless plain http on loopback; 8 hours." },
        "csrfToken": { "type": "apiKey", "in": "header", "name": "x-csrf-token",
            "description": "The session's CSRF token (from POST /v1/login or GET /v1/session), required with the session cookie on every request that is not GET or HEAD." },
    })
}

fn header_param(name: &str, description: &str, required: bool) -> Value {
    json!({ "name": name, "in": "header", "required": required, "description": description,
            "schema": { "type": "string", "maxLength": 128 } })
}

/// Adds to one operation what its kind of route shares.
fn complete(method: &str, op: &mut Map<String, Value>) {
    if let Some(p) = op.get("x-salur-permission").and_then(Value::as_str) {
        let roles: Vec<&str> =
            Permission::named(p).map(Permission::holders).unwrap_or_default().iter().map(|r| r.as_str()).collect();
        op.insert("x-salur-roles".into(), json!(roles));
        if !op.contains_key("security") {
            let cookie = if method == "get" {
                json!({ "sessionCookie": [] })
            } else {
                json!({ "sessionCookie": [], "csrfToken": [] })
            };
            op.insert("security".into(), json!([{ "staffBearer": [] }, cookie]));
        }
    }
    let security: Vec<String> = op
        .get("security")
        .and_then(Value::as_array)
        .map(|s| s.iter().filter_map(Value::as_object).flat_map(|o| o.keys().cloned()).collect())
        .unwrap_or_default();
    // Staff routes that check no permission (who am I, log out) are open to every role.
    if !op.contains_key("x-salur-roles") && security.iter().any(|s| s == "staffBearer" || s == "sessionCookie") {
        let every: Vec<&str> = crate::domain::roles::Role::ALL.iter().map(|r| r.as_str()).collect();
        op.insert("x-salur-roles".into(), json!(every));
    }
    if security.iter().any(|s| s == "deviceSignature") {
        let only = security.iter().all(|s| s == "deviceSignature");
        let params = op.entry("parameters").or_insert_with(|| json!([]));
        if let Some(list) = params.as_array_mut() {
            list.push(header_param("x-salur-device", "The signing device's id", only));
            list.push(header_param(
                "x-salur-time",
                "Unix milliseconds of signing (within the clock-skew window)",
                only,
            ));
        }
    }
    let has_body = op.contains_key("requestBody");
    let takes_input = has_body || op.contains_key("parameters");
    let responses = op.entry("responses").or_insert_with(|| json!({}));
    let Some(responses) = responses.as_object_mut() else { return };
    let mut shared: Vec<(&str, &str)> = vec![
        ("408", "The request took longer than the server allows"),
        ("429", "Too many requests from this address or device: see Retry-After"),
        ("503", "The server is at its limit of requests: see Retry-After"),
    ];
    if takes_input || !security.is_empty() {
        shared.push(("400", "Malformed request"));
        shared.push(("413", "Body too large for this route"));
    }
    if has_body {
        shared.push(("415", "Body is not application/json"));
    }
    if !security.is_empty() {
        shared.push(("401", "No valid credential: device signature (fresh, not replayed), token or session"));
        shared.push(("403", "Not allowed: device pending or revoked, role too low, or CSRF token missing"));
    }
    for (code, description) in shared {
        responses.entry(code).or_insert_with(|| error(description));
    }
}

/// The finished document, as served at `/openapi.json`.
pub(super) fn document(doc: utoipa::openapi::OpenApi) -> Result<String, serde_json::Error> {
    let mut v = serde_json::to_value(doc)?;
    if let Some(components) = v.get_mut("components").and_then(Value::as_object_mut) {
        components.insert("securitySchemes".into(), schemes());
    }
    if let Some(paths) = v.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for (method, op) in item.iter_mut().filter(|(m, _)| METHODS.contains(&m.as_str())) {
                if let Some(op) = op.as_object_mut() {
                    complete(method, op);
                }
            }
        }
    }
    serde_json::to_string_pretty(&v)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use crate::domain::roles::Permission;

    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                out.push((method.clone(), path.clone(), op.clone()));
            }
        }
        out
    }

    #[test]
    fn every_staff_route_names_a_known_permission_and_its_holders() {
        let doc: Value = serde_json::from_str(super::super::openapi().unwrap()).unwrap();
        let ops = operations(&doc);
        assert!(ops.len() >= 33, "{} operations", ops.len());
        let mut staff = 0;
        for (method, path, op) in &ops {
            assert!(op["responses"].as_object().unwrap().keys().any(|c| c.starts_with('2')), "{method} {path}");
            let Some(name) = op.get("x-salur-permission") else { continue };
            staff += 1;
            let p = Permission::named(name.as_str().unwrap()).unwrap_or_else(|| panic!("{method} {path}: {name}"));
            let roles: Vec<&str> = p.holders().iter().map(|r| r.as_str()).collect();
            assert_eq!(op["x-salur-roles"], serde_json::json!(roles), "{method} {path}");
            for code in ["401", "403"] {
                assert!(op["responses"].get(code).is_some(), "{method} {path} documents {code}");
            }
        }
        assert!(staff >= 19, "{staff} staff operations");
    }

    #[test]
    fn every_reference_resolves_and_request_bodies_refuse_unknown_fields() {
        let text = super::super::openapi().unwrap();
        let doc: Value = serde_json::from_str(text).unwrap();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for part in text.split("\"#/components/schemas/").skip(1) {
            let name = part.split('"').next().unwrap();
            assert!(schemas.contains_key(name), "{name} is referenced but not defined");
        }
        // Device-signed uploads document the headers they are signed with.
        let upload = &doc["paths"]["/v1/receipts"]["post"];
        let headers: Vec<&str> =
            upload["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(headers, ["x-salur-device", "x-salur-time"]);
        assert_eq!(schemas["ReceiptBatch"]["properties"]["receipts"]["maxItems"], 500);
        for body in ["ReceiptBatch", "Registration", "EvidenceChunk", "NewUser", "Credentials", "CaseDecision"] {
            assert_eq!(schemas[body]["additionalProperties"], false, "{body}");
        }
    }
}
