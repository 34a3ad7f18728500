//! The HTML pages (dashboard, login, receipt check) with headers that let a page run only its own
//! inline script: a Content-Security-Policy naming that script's SHA-256, no framing, no MIME
//! sniffing. A name or note that slipped past the escaping could then show, but never run.

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

/// The policy for `page`: each inline `<script>` by hash, inline styles (the pages have `style`
/// attributes), and calls only to this origin.
pub(crate) fn policy(page: &str) -> String {
    let hashes: Vec<String> = page
        .split("<script>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</script>"))
        .map(|(body, _)| format!("'sha256-{}'", B64.encode(salur_core::crypto::sha256(body.as_bytes()))))
        .collect();
    format!(
        "default-src 'none'; script-src {}; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        if hashes.is_empty() { "'none'".to_string() } else { hashes.join(" ") }
    )
}

/// `page` as an HTML answer with its policy and the no-framing, no-sniffing, no-store headers.
pub(crate) fn html(page: &'static str) -> Response {
    (
        [
            (header::CONTENT_SECURITY_POLICY, policy(page)),
            (header::X_FRAME_OPTIONS, "DENY".to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::REFERRER_POLICY, "no-referrer".to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Html(page),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_each_inline_script_by_its_hash_and_nothing_else() {
        let page = "<p>x</p><script>alert(1)</script><script>go()</script>";
        let p = policy(page);
        let h = |s: &str| format!("'sha256-{}'", B64.encode(salur_core::crypto::sha256(s.as_bytes())));
        assert!(p.contains(&format!("script-src {} {};", h("alert(1)"), h("go()"))), "{p}");
        assert!(!p.contains("unsafe-eval") && !p.contains("script-src 'unsafe-inline'"));
        assert!(policy("<p>no script</p>").contains("script-src 'none';"));
    }

    #[test]
    fn every_page_has_exactly_one_inline_script_and_no_script_file() {
        for page in [crate::read::dashboard::PAGE, super::super::LOGIN_PAGE, super::super::checks::PAGE] {
            assert_eq!(page.matches("<script").count(), 1);
            assert_eq!(page.matches("<script>").count(), 1, "a script with attributes would not be hashed");
            assert_eq!(policy(page).matches("'sha256-").count(), 1);
        }
    }
}
