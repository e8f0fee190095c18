//! `cargo xtask token` / `login` against a fake hosted-UI token endpoint on loopback: the
//! request is exactly the seed's code exchange, errors map to hints, and the login flow checks
//! `state` and sends the PKCE verifier that matches the challenge it advertised.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine as _;
use deploy::auth::{self, AuthError, Grant, OAuthClient};
use sha2::{Digest, Sha256};

/// What the fake endpoint saw: the Authorization header and the form fields.
type Seen = Arc<Mutex<Vec<(Option<String>, HashMap<String, String>)>>>;

fn parse_form(body: &str) -> HashMap<String, String> {
    let Ok(url) = reqwest::Url::parse(&format!("http://x/?{body}")) else {
        panic!("unparsable form {body}");
    };
    url.query_pairs().into_owned().collect()
}

async fn token(State(seen): State<Seen>, headers: HeaderMap, body: String) -> (StatusCode, String) {
    let form = parse_form(&body);
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let good_client = authorization.as_deref() == Some(&auth::basic_auth("cid", "secret"));
    let answer = if !good_client {
        (
            StatusCode::BAD_REQUEST,
            r#"{"error":"invalid_client"}"#.to_owned(),
        )
    } else if form.get("code").map(String::as_str) == Some("good")
        || form.get("refresh_token").map(String::as_str) == Some("refresh")
    {
        (
            StatusCode::OK,
            r#"{"access_token":"AT","id_token":"IT","refresh_token":"RT","token_type":"Bearer","expires_in":3600}"#
                .to_owned(),
        )
    } else {
        (
            StatusCode::BAD_REQUEST,
            r#"{"error":"invalid_grant"}"#.to_owned(),
        )
    };
    if let Ok(mut seen) = seen.lock() {
        seen.push((authorization, form));
    }
    answer
}

/// Starts the fake endpoint; returns the client pointing at it and what it records.
async fn fake_hosted_ui() -> (OAuthClient, Seen) {
    let seen = Seen::default();
    let app = axum::Router::new()
        .route("/oauth2/token", post(token))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await;
    let Ok(listener) = listener else {
        panic!("cannot bind: {listener:?}");
    };
    let Ok(addr) = listener.local_addr() else {
        panic!("no address");
    };
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = OAuthClient {
        token_endpoint: format!("http://{addr}/oauth2/token"),
        client_id: "cid".to_owned(),
        client_secret: Some("secret".to_owned()),
    };
    (client, seen)
}

fn seen(seen: &Seen) -> Vec<(Option<String>, HashMap<String, String>)> {
    seen.lock().map(|s| s.clone()).unwrap_or_default()
}

#[tokio::test]
async fn code_exchange_is_the_seeds_request() {
    let (client, recorded) = fake_hosted_ui().await;
    let grant = Grant::Code {
        code: "good".to_owned(),
        redirect_uri: "http://localhost:3000/callback".to_owned(),
        code_verifier: None,
    };
    let tokens = auth::exchange(&client, &grant).await;
    let Ok(tokens) = tokens else {
        panic!("exchange failed: {tokens:?}");
    };
    assert_eq!(tokens["id_token"], "IT");
    let calls = seen(&recorded);
    assert_eq!(calls.len(), 1);
    let (authorization, form) = &calls[0];
    assert_eq!(authorization.as_deref(), Some("Basic Y2lkOnNlY3JldA=="));
    let want: HashMap<String, String> = [
        ("grant_type", "authorization_code"),
        ("code", "good"),
        ("redirect_uri", "http://localhost:3000/callback"),
        ("client_id", "cid"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(form, &want);
}

#[tokio::test]
async fn refresh_and_errors() {
    let (client, recorded) = fake_hosted_ui().await;
    let refreshed = auth::exchange(
        &client,
        &Grant::Refresh {
            refresh_token: "refresh".to_owned(),
        },
    )
    .await;
    assert!(refreshed.is_ok_and(|t| t["access_token"] == "AT"));
    assert_eq!(seen(&recorded)[0].1["grant_type"], "refresh_token");

    let used = Grant::Code {
        code: "used".to_owned(),
        redirect_uri: "http://localhost:3000/callback".to_owned(),
        code_verifier: None,
    };
    let err = auth::exchange(&client, &used).await;
    assert!(
        matches!(&err, Err(AuthError::OAuth { error, .. }) if error == "invalid_grant"),
        "{err:?}"
    );

    let mut wrong = client.clone();
    wrong.client_secret = Some("nope".to_owned());
    let err = auth::exchange(&wrong, &used).await;
    let Err(err) = err else {
        panic!("a wrong secret was accepted");
    };
    let message = err.to_string();
    assert!(message.contains("invalid_client"), "{message}");
    assert!(!message.contains("nope"), "the secret leaked: {message}");

    let mut gone = client.clone();
    gone.token_endpoint = "http://127.0.0.1:9/oauth2/token".to_owned();
    let err = auth::exchange(&gone, &used).await;
    assert!(matches!(err, Err(AuthError::Unreachable { .. })), "{err:?}");
}

/// Plays the browser: follows the authorize URL's redirect_uri with a code and the given state.
fn browser(authorize_url: &str, code: &str, state: Option<&str>) -> tokio::task::JoinHandle<u16> {
    let Ok(url) = reqwest::Url::parse(authorize_url) else {
        panic!("bad authorize url {authorize_url}");
    };
    let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
    let state = state.map_or_else(|| query["state"].clone(), str::to_owned);
    let callback = format!("{}?code={code}&state={state}", query["redirect_uri"]);
    tokio::spawn(async move {
        match reqwest::get(&callback).await {
            Ok(response) => response.status().as_u16(),
            Err(e) => panic!("callback request failed: {e}"),
        }
    })
}

#[tokio::test]
async fn login_sends_the_verifier_of_its_challenge() {
    let (client, recorded) = fake_hosted_ui().await;
    let redirect = format!("http://localhost:{}/callback", test_support::free_port());
    let mut shown = String::new();
    let mut browser_task = None;
    let tokens = auth::login(&client, &redirect, Duration::from_secs(20), |url| {
        shown = url.to_owned();
        browser_task = Some(browser(url, "good", None));
    })
    .await;
    let Ok(tokens) = tokens else {
        panic!("login failed: {tokens:?}");
    };
    assert_eq!(tokens["access_token"], "AT");
    if let Some(task) = browser_task {
        assert!(task.await.is_ok_and(|status| status == 200));
    }
    let Ok(url) = reqwest::Url::parse(&shown) else {
        panic!("bad url {shown}");
    };
    let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["redirect_uri"], redirect);
    let calls = seen(&recorded);
    let form = &calls[0].1;
    let verifier = &form["code_verifier"];
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    assert_eq!(query["code_challenge"], challenge);
    assert_eq!(form["redirect_uri"], redirect);
    assert_eq!(form["code"], "good");
}

#[tokio::test]
async fn login_rejects_a_forged_state_and_times_out() {
    let (client, recorded) = fake_hosted_ui().await;
    let redirect = format!("http://127.0.0.1:{}/cb", test_support::free_port());
    let result = auth::login(&client, &redirect, Duration::from_secs(20), |url| {
        drop(browser(url, "good", Some("forged")));
    })
    .await;
    assert!(
        matches!(&result, Err(AuthError::Login(m)) if m.contains("state does not match")),
        "{result:?}"
    );
    assert!(
        seen(&recorded).is_empty(),
        "a forged callback was exchanged"
    );

    let redirect = format!("http://127.0.0.1:{}/cb", test_support::free_port());
    let result = auth::login(&client, &redirect, Duration::from_millis(200), |_| {}).await;
    assert!(
        matches!(&result, Err(AuthError::Login(m)) if m.contains("no callback within")),
        "{result:?}"
    );
}
