//! Cross-site request forgery protection of the hosted-UI forms (`/login`, `/signup`,
//! `/confirm`), like the `XSRF-TOKEN` cookie and `_csrf` field of Cognito's hosted UI.
//!
//! The design is a signed double-submit cookie: a page that shows a form sets the cookie
//! `XSRF-TOKEN` (a random 256-bit value; `HttpOnly`, `SameSite=Lax`, kept when the request
//! already has one) and puts `HMAC-SHA256(key, cookie)` in the form's hidden `_csrf` field; a
//! form POST is served only when its `_csrf` field is the HMAC of its `XSRF-TOKEN` cookie,
//! else it gets a 403 page. The key is random per issuer process, so that a page on another
//! port of the same host, which can set a cookie for `127.0.0.1` (cookies ignore ports) but
//! cannot read this issuer's pages, cannot make a matching pair; forms shown before a restart
//! must be reloaded.

use aws_lc_rs::hmac;
use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::IssuerError;
use super::users;

/// The cookie's name (Cognito's hosted UI uses the same).
pub(crate) const CSRF_COOKIE: &str = "XSRF-TOKEN";

/// The hidden form field's name (Cognito's hosted UI uses the same).
pub(crate) const CSRF_FIELD: &str = "_csrf";

/// The process's key for the form tokens.
pub(crate) struct CsrfKey(hmac::Key);

impl CsrfKey {
    /// A fresh random key.
    pub(crate) fn generate() -> Result<Self, IssuerError> {
        let bytes = users::random_bytes::<32>()?;
        Ok(Self(hmac::Key::new(hmac::HMAC_SHA256, &bytes)))
    }

    /// The form token for a cookie value.
    pub(crate) fn token(&self, cookie: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.0, cookie.as_bytes()).as_ref())
    }

    /// Whether `token` is the form token of `cookie` (constant-time comparison).
    pub(crate) fn verify(&self, cookie: &str, token: &str) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        is_cookie_value(cookie) && hmac::verify(&self.0, cookie.as_bytes(), &tag).is_ok()
    }
}

/// A new cookie value: 32 random bytes, base64url.
pub(crate) fn new_cookie_value() -> Result<String, IssuerError> {
    users::random_token::<32>()
}

/// Whether `value` has the shape of a cookie value this module makes.
fn is_cookie_value(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The values of cookie `name` in the request, in order.
pub(crate) fn cookies(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(cookie, _)| *cookie == name)
        .map(|(_, value)| value.to_owned())
        .collect()
}

/// The request's `XSRF-TOKEN` cookies that this module could have made (another application
/// on the same host may have set one of that name too: cookies ignore ports).
pub(crate) fn request_cookies(headers: &HeaderMap) -> Vec<String> {
    let mut values = cookies(headers, CSRF_COOKIE);
    values.retain(|value| is_cookie_value(value));
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_the_cookie_and_the_key() {
        let key = CsrfKey::generate().expect("key");
        let cookie = new_cookie_value().expect("cookie");
        let other = new_cookie_value().expect("cookie");
        let token = key.token(&cookie);
        assert!(key.verify(&cookie, &token));
        assert!(!key.verify(&other, &token));
        assert!(!key.verify(&cookie, ""));
        assert!(!key.verify(&cookie, "not base64!"));
        assert!(!key.verify(&cookie, &key.token(&other)));
        let another_key = CsrfKey::generate().expect("key");
        assert!(!another_key.verify(&cookie, &token));
        assert!(!key.verify("short", &key.token("short")));
    }
}
