//! The local stack's own callback page, `/dev/callback` on the issuer's port: the redirect
//! target of the banner's sign-in link. It exchanges the code at `/oauth2/token` exactly as a
//! client would (Basic client auth) and shows the tokens with a `curl` line that uses them, so a
//! person can sign in with a browser and call the API without writing a client.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Html;
use serde_json::Value;

use crate::issuer::Issuer;

/// What the page needs: the issuer (for its endpoints and client) and the API's URL.
#[derive(Clone)]
pub struct DevPages {
    /// The local issuer.
    pub issuer: Arc<Issuer>,
    /// The API's base URL, for the curl line.
    pub api_url: String,
}

/// The path of the callback page.
pub const CALLBACK_PATH: &str = "/dev/callback";

/// The routes to merge into the issuer's router.
pub fn router(pages: DevPages) -> axum::Router {
    axum::Router::new()
        .route(CALLBACK_PATH, axum::routing::get(callback))
        .with_state(pages)
}

#[derive(serde::Deserialize)]
struct Params {
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(State(pages): State<DevPages>, Query(params): Query<Params>) -> Html<String> {
    let config = pages.issuer.config();
    let Some(code) = params.code else {
        let error = params.error.unwrap_or_else(|| "no code".to_owned());
        let detail = params.error_description.unwrap_or_default();
        return page(
            "Sign-in failed",
            &format!("<p>{}: {}</p>", escape(&error), escape(&detail)),
        );
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
        );
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
