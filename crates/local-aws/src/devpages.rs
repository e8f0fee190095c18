//! The local stack's own sign-in client, on the issuer's port: `/dev/login`, the banner's
//! sign-in link, starts an authorization code flow the way a careful client does, and
//! `/dev/callback`, its redirect target, finishes it. So a person can sign in with a browser and
//! call the API without writing a client.
//!
//! `/dev/login` makes a random `state` and a PKCE verifier, remembers them (for 10 minutes, in
//! memory), sets the cookie `local_dev_state` to the state (`HttpOnly`, `SameSite=Lax`, path
//! `/dev`) and redirects to `/oauth2/authorize` with the state and the verifier's S256
//! challenge. `/dev/callback` serves only a `state` it issued, still pending, that matches that
//! cookie (each state works once); anything else (no state, an unknown or used one, another
//! browser's) gets a 400 page that says to start again at `/dev/login`, and no code is
//! exchanged. With a good state it exchanges the code at `/oauth2/token` exactly as a client
//! would (Basic client auth and the verifier) and shows the tokens with a `curl` line that uses
//! them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::issuer::Issuer;

/// What the pages need: the issuer (for its endpoints and client), the API's URL, and the
/// sign-ins started at `/dev/login`.
#[derive(Clone)]
pub struct DevPages {
    /// The local issuer.
    pub issuer: Arc<Issuer>,
    /// The API's base URL, for the curl line.
    pub api_url: String,
    pending: Arc<Mutex<HashMap<String, Pending>>>,
}

impl DevPages {
    /// The pages for `issuer`, showing `api_url` in the curl line.
    #[must_use]
    pub fn new(issuer: Arc<Issuer>, api_url: String) -> Self {
        Self {
            issuer,
            api_url,
            pending: Arc::default(),
        }
    }
}

/// A sign-in started at `/dev/login`: its PKCE verifier and when it expires.
#[derive(Clone)]
struct Pending {
    verifier: String,
    expires_at: i64,
}

/// How long a sign-in started at `/dev/login` can finish.
const PENDING_TTL_SECS: i64 = 600;

/// The cookie that binds the state to the browser that started the sign-in.
const STATE_COOKIE: &str = "local_dev_state";

/// The path of the callback page.
pub const CALLBACK_PATH: &str = "/dev/callback";

/// The path that starts a sign-in (the banner's link).
pub const LOGIN_PATH: &str = "/dev/login";

/// The routes to merge into the issuer's router.
pub fn router(pages: DevPages) -> axum::Router {
    axum::Router::new()
        .route(LOGIN_PATH, axum::routing::get(login))
        .route(CALLBACK_PATH, axum::routing::get(callback))
        .with_state(pages)
}

fn random_token() -> Option<String> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(URL_SAFE_NO_PAD.encode(bytes))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn state_cookie(headers: &HeaderMap) -> Option<String> {
    let mut values = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == STATE_COOKIE)
        .map(|(_, value)| value.to_owned());
    let first = values.next()?;
    values.next().is_none().then_some(first)
}

fn refused(status: StatusCode, title: &str, text: &str) -> Response {
    (
        status,
        [(CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        page(title, &format!("<p>{}</p>", escape(text))),
    )
        .into_response()
}

/// `GET /dev/login`: a new state and verifier, the state cookie, and the redirect to
/// `/oauth2/authorize`.
async fn login(State(pages): State<DevPages>) -> Response {
    let (Some(state), Some(verifier)) = (random_token(), random_token()) else {
        return refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in failed",
            "The system's random source failed.",
        );
    };
    let config = pages.issuer.config();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let redirect_uri = format!("{}{CALLBACK_PATH}", config.base_url);
    let Ok(mut authorize) = reqwest::Url::parse(&config.authorize_url()) else {
        return refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in failed",
            "The issuer's authorize URL is not a URL.",
        );
    };
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &config.client_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", "openid email profile")
        .append_pair("state", &state)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let now = now();
    {
        let mut pending = lock(&pages.pending);
        pending.retain(|_, p| p.expires_at > now);
        pending.insert(
            state.clone(),
            Pending {
                verifier,
                expires_at: now + PENDING_TTL_SECS,
            },
        );
    }
    let secure = if config.base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{STATE_COOKIE}={state}; Path=/dev; Max-Age={PENDING_TTL_SECS}; HttpOnly; SameSite=Lax{secure}"
    );
    match (
        HeaderValue::from_str(authorize.as_str()),
        HeaderValue::from_str(&cookie),
    ) {
        (Ok(location), Ok(cookie)) => (
            StatusCode::FOUND,
            [
                (LOCATION, location),
                (SET_COOKIE, cookie),
                (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        _ => refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in failed",
            "The redirect is not a valid header value.",
        ),
    }
}

#[derive(serde::Deserialize)]
struct Params {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(
    State(pages): State<DevPages>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    let config = pages.issuer.config();
    let start_again = format!(
        "Start the sign-in again at {}{LOGIN_PATH}.",
        config.base_url
    );
    let Some(state) = params.state.filter(|s| !s.is_empty()) else {
        return refused(
            StatusCode::BAD_REQUEST,
            "Sign-in refused",
            &format!(
                "The callback has no state parameter, so it cannot be told apart from a forged one. {start_again}"
            ),
        );
    };
    let cookie_matches = state_cookie(&headers).is_some_and(|cookie| {
        Sha256::digest(cookie.as_bytes()) == Sha256::digest(state.as_bytes())
    });
    let pending = if cookie_matches {
        lock(&pages.pending)
            .remove(&state)
            .filter(|p| p.expires_at > now())
    } else {
        None
    };
    let Some(pending) = pending else {
        return refused(
            StatusCode::BAD_REQUEST,
            "Sign-in refused",
            &format!(
                "The state of this callback was not issued to this browser by {LOGIN_PATH}, or it was already used or has expired. {start_again}"
            ),
        );
    };
    let Some(code) = params.code else {
        let error = params.error.unwrap_or_else(|| "no code".to_owned());
        let detail = params.error_description.unwrap_or_default();
        return page(
            "Sign-in failed",
            &format!("<p>{}: {}</p>", escape(&error), escape(&detail)),
        )
        .into_response();
    };
    let redirect_uri = format!("{}{CALLBACK_PATH}", config.base_url);
    let answer = reqwest::Client::new()
        .post(config.token_endpoint())
        .basic_auth(&config.client_id, Some(&config.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("client_id", config.client_id.as_str()),
            ("code_verifier", pending.verifier.as_str()),
        ])
        .send()
        .await;
    let body: Option<Value> = match answer {
        Ok(response) => response.json().await.ok(),
        Err(_) => None,
    };
    let token = |name: &str| {
        body.as_ref()
            .and_then(|b| b.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let (Some(id_token), Some(access_token)) = (token("id_token"), token("access_token")) else {
        let shown = body.map(|b| b.to_string()).unwrap_or_default();
        return page(
            "Token exchange failed",
            &format!("<pre>{}</pre>", escape(&shown)),
        )
        .into_response();
    };
    let api = &pages.api_url;
    page(
        "Signed in",
        &format!(
            "<p>The code was exchanged at <code>{token_url}</code>. Call the API with the id token:</p>\
             <pre>curl -s -H 'Authorization: Bearer {id}' {api}/me</pre>\
             <h2>id_token</h2><textarea readonly rows=6>{id}</textarea>\
             <h2>access_token</h2><textarea readonly rows=6>{access}</textarea>",
            token_url = escape(&config.token_endpoint()),
            id = escape(&id_token),
            access = escape(&access_token),
            api = escape(api),
        ),
    )
    .into_response()
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=utf-8><title>{title}</title>\
         <style>body{{font-family:sans-serif;max-width:52rem;margin:2rem auto}}\
         textarea{{width:100%;font-family:monospace}}pre{{white-space:pre-wrap;word-break:break-all;background:#f4f4f4;padding:.5rem}}</style>\
         </head><body><h1>{title}</h1>{body}</body></html>"
    ))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
