//! The token helpers behind `cargo xtask token`, `login` and `jwt decode`.
//!
//! - [`exchange`]: the seed's code exchange: POST `{domain}/oauth2/token`, form-encoded
//!   `grant_type=authorization_code`, `code`, `redirect_uri`, `client_id` (and `code_verifier`
//!   under PKCE), with `Authorization: Basic base64(client_id:client_secret)`; or
//!   `grant_type=refresh_token`. OAuth errors come back as [`AuthError::OAuth`] with a hint.
//! - [`login`]: the whole flow for a person at a terminal: a loopback listener on the
//!   callback URL's port, the hosted-UI authorize URL with `state` and PKCE S256, the code
//!   received, checked against `state` and exchanged.
//! - [`decode_jwt`]: header and payload of a JWT, **not verified** (for reading only).
//!
//! The client secret is sent only in the `Authorization` header and never printed.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// How long one token request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long [`login`] waits for the browser to come back by default.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(300);

/// Why a token operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token endpoint answered with an OAuth error (`{"error": …}`).
    #[error("the token endpoint refused: {error}{}; {hint}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    OAuth {
        /// The OAuth error code, e.g. `invalid_grant`.
        error: String,
        /// The server's `error_description`, if any.
        description: Option<String>,
        /// What to do about it.
        hint: &'static str,
    },
    /// The endpoint could not be reached.
    #[error(
        "could not reach {url}: {source}; check the URL (`terraform output token_endpoint`) and your network"
    )]
    Unreachable {
        /// The URL.
        url: String,
        /// The transport error.
        source: reqwest::Error,
    },
    /// The endpoint answered something that is not an OAuth response.
    #[error("unexpected answer from {url}: HTTP {status}: {body}")]
    Unexpected {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// A token could not be decoded.
    #[error("not a JWT: {0}")]
    NotJwt(String),
    /// A setting is missing or malformed.
    #[error("{0}")]
    Config(String),
    /// The login callback did not arrive or was wrong.
    #[error("login failed: {0}")]
    Login(String),
}

/// An OAuth client of the hosted UI: where to exchange codes and as whom.
#[derive(Clone)]
pub struct OAuthClient {
    /// The token endpoint, `https://<domain>/oauth2/token`.
    pub token_endpoint: String,
    /// The app client id.
    pub client_id: String,
    /// The app client secret (confidential clients; never printed).
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("token_endpoint", &self.token_endpoint)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl OAuthClient {
    /// The authorize endpoint next to the token endpoint (`…/oauth2/authorize`).
    pub fn authorize_endpoint(&self) -> Result<String, AuthError> {
        self.token_endpoint
            .strip_suffix("/oauth2/token")
            .map(|base| format!("{base}/oauth2/authorize"))
            .ok_or_else(|| {
                AuthError::Config(format!(
                    "token endpoint {} does not end in /oauth2/token",
                    self.token_endpoint
                ))
            })
    }
}

/// What is exchanged for tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    /// An authorization code from the hosted UI's redirect.
    Code {
        /// The code.
        code: String,
        /// The redirect URI the code was issued for (must match exactly).
        redirect_uri: String,
        /// The PKCE verifier, when the authorize request carried a challenge.
        code_verifier: Option<String>,
    },
    /// A refresh token.
    Refresh {
        /// The refresh token.
        refresh_token: String,
    },
}

impl Grant {
    /// The form fields of the token request.
    pub fn form(&self, client_id: &str) -> Vec<(&'static str, String)> {
        match self {
            Self::Code {
                code,
                redirect_uri,
                code_verifier,
            } => {
                let mut form = vec![
                    ("grant_type", "authorization_code".to_owned()),
                    ("code", code.clone()),
                    ("redirect_uri", redirect_uri.clone()),
                    ("client_id", client_id.to_owned()),
                ];
                if let Some(verifier) = code_verifier {
                    form.push(("code_verifier", verifier.clone()));
                }
                form
            }
            Self::Refresh { refresh_token } => vec![
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", refresh_token.clone()),
                ("client_id", client_id.to_owned()),
            ],
        }
    }
}

/// `Basic base64(client_id:client_secret)`, the seed's client authentication.
pub fn basic_auth(client_id: &str, client_secret: &str) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{client_id}:{client_secret}"))
    )
}

/// What to do about an OAuth error code from the token endpoint.
pub fn hint(error: &str) -> &'static str {
    match error {
        "invalid_grant" => {
            "the code or refresh token is expired, already used, or was issued for another redirect_uri or client; sign in again (`cargo xtask login`)"
        }
        "invalid_client" => {
            "the client id or secret is wrong; compare with `terraform output client_id` and `terraform output -raw client_secret`"
        }
        "unauthorized_client" => {
            "this app client may not use this grant; check allowed_oauth_flows in IaC/modules/cognito"
        }
        "invalid_request" => "a parameter is missing or malformed; check the code and redirect URI",
        "unsupported_grant_type" => "the endpoint does not support this grant type",
        _ => "see the error description",
    }
}

/// Exchanges a grant for tokens; returns the token response (`id_token`, `access_token`, …).
pub async fn exchange(
    client: &OAuthClient,
    grant: &Grant,
) -> Result<Map<String, Value>, AuthError> {
    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|source| AuthError::Unreachable {
            url: client.token_endpoint.clone(),
            source,
        })?;
    let mut request = http
        .post(&client.token_endpoint)
        .form(&grant.form(&client.client_id));
    if let Some(secret) = &client.client_secret {
        request = request.header(
            reqwest::header::AUTHORIZATION,
            basic_auth(&client.client_id, secret),
        );
    }
    let unreachable = |source| AuthError::Unreachable {
        url: client.token_endpoint.clone(),
        source,
    };
    let response = request.send().await.map_err(unreachable)?;
    let status = response.status();
    let body = response.text().await.map_err(unreachable)?;
    interpret(&client.token_endpoint, status.as_u16(), &body)
}

/// Reads a token endpoint's answer: a JSON object on 200, an OAuth error otherwise.
pub fn interpret(url: &str, status: u16, body: &str) -> Result<Map<String, Value>, AuthError> {
    let json: Option<Map<String, Value>> = serde_json::from_str(body).ok();
    match json {
        Some(object) if status == 200 && object.contains_key("access_token") => Ok(object),
        Some(object) if object.get("error").is_some_and(Value::is_string) => {
            let error = object
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            Err(AuthError::OAuth {
                hint: hint(&error),
                description: object
                    .get("error_description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                error,
            })
        }
        _ => Err(AuthError::Unexpected {
            url: url.to_owned(),
            status,
            body: body.chars().take(300).collect(),
        }),
    }
}

/// A PKCE pair (RFC 7636, S256).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pkce {
    /// The secret sent with the code exchange.
    pub verifier: String,
    /// `BASE64URL(SHA256(verifier))`, sent with the authorize request.
    pub challenge: String,
}

impl Pkce {
    /// A fresh pair from 32 random bytes.
    pub fn new() -> Result<Self, AuthError> {
        Ok(Self::from_verifier(random_token()?))
    }

    /// The pair for a given verifier.
    pub fn from_verifier(verifier: String) -> Self {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Self {
            verifier,
            challenge,
        }
    }
}

/// 32 random bytes, base64url (43 characters): a PKCE verifier or a `state`.
pub fn random_token() -> Result<String, AuthError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| AuthError::Config(format!("no randomness from the OS: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The hosted-UI authorize URL for the code flow with PKCE.
pub fn authorize_url(
    client: &OAuthClient,
    redirect_uri: &str,
    state: &str,
    pkce: &Pkce,
) -> Result<String, AuthError> {
    let endpoint = client.authorize_endpoint()?;
    let mut url = reqwest::Url::parse(&endpoint)
        .map_err(|e| AuthError::Config(format!("bad authorize endpoint {endpoint}: {e}")))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client.client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", "openid email profile")
        .append_pair("state", state)
        .append_pair("code_challenge_method", "S256")
        .append_pair("code_challenge", &pkce.challenge);
    Ok(url.into())
}

/// The loopback address and path a redirect URI is served on: `http://localhost:<port>/<path>`
/// or `http://127.0.0.1:<port>/<path>`; anything else cannot be received here.
pub fn callback_listen(redirect_uri: &str) -> Result<(SocketAddr, String), AuthError> {
    let url = reqwest::Url::parse(redirect_uri)
        .map_err(|e| AuthError::Config(format!("bad redirect URI {redirect_uri}: {e}")))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1"));
    if url.scheme() != "http" || !loopback {
        return Err(AuthError::Config(format!(
            "redirect URI {redirect_uri} is not http://localhost:<port>/…; login can only receive a loopback callback (add one to callback_urls in Terraform, or pass --redirect-uri)"
        )));
    }
    let port = url.port_or_known_default().unwrap_or(80);
    Ok((
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        url.path().to_owned(),
    ))
}

/// What the browser brought back to the callback.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct Callback {
    /// The authorization code.
    pub code: Option<String>,
    /// The state echoed back.
    pub state: Option<String>,
    /// An OAuth error from the hosted UI.
    pub error: Option<String>,
    /// Its description.
    pub error_description: Option<String>,
}

/// Checks a callback against the `state` sent; returns the code.
pub fn check_callback(callback: &Callback, state: &str) -> Result<String, AuthError> {
    if let Some(error) = &callback.error {
        return Err(AuthError::Login(format!(
            "the hosted UI returned {error}{}",
            callback
                .error_description
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        )));
    }
    if callback.state.as_deref() != Some(state) {
        return Err(AuthError::Login(
            "the callback's state does not match the one sent (a stale tab or a forged redirect); start again".to_owned(),
        ));
    }
    callback
        .code
        .clone()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| AuthError::Login("the callback carried no code".to_owned()))
}

/// Runs the browser sign-in: listens on the redirect URI's loopback port, hands the authorize
/// URL to `show` (print it, open a browser), waits up to `timeout` for the callback, checks
/// `state`, and exchanges the code with its PKCE verifier.
pub async fn login(
    client: &OAuthClient,
    redirect_uri: &str,
    timeout: Duration,
    show: impl FnOnce(&str),
) -> Result<Map<String, Value>, AuthError> {
    let (addr, path) = callback_listen(redirect_uri)?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        AuthError::Login(format!(
            "cannot listen on {addr} for the callback: {e} (is another login or dev server running?)"
        ))
    })?;
    let state = random_token()?;
    let pkce = Pkce::new()?;
    let url = authorize_url(client, redirect_uri, &state, &pkce)?;

    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Callback>(1);
    let app = axum::Router::new().route(
        &path,
        axum::routing::get(
            move |axum::extract::Query(callback): axum::extract::Query<Callback>| async move {
                let ok = callback.error.is_none() && callback.code.is_some();
                // A full channel means a callback already arrived; later ones are ignored.
                let _ = sender.try_send(callback);
                axum::response::Html(if ok {
                    "<!doctype html><title>Signed in</title><p>Signed in. You can close this tab and return to the terminal.</p>"
                } else {
                    "<!doctype html><title>Sign-in failed</title><p>Sign-in failed; the terminal says why.</p>"
                })
            },
        ),
    );
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    show(&url);
    let callback = tokio::time::timeout(timeout, receiver.recv()).await;
    server.abort();
    let callback = match callback {
        Ok(Some(callback)) => callback,
        Ok(None) => return Err(AuthError::Login("the callback listener stopped".to_owned())),
        Err(_) => {
            return Err(AuthError::Login(format!(
                "no callback within {}s; open the URL above in a browser and sign in",
                timeout.as_secs()
            )));
        }
    };
    let code = check_callback(&callback, &state)?;
    exchange(
        client,
        &Grant::Code {
            code,
            redirect_uri: redirect_uri.to_owned(),
            code_verifier: Some(pkce.verifier),
        },
    )
    .await
}

/// The header and payload of a JWT, decoded but **not verified**.
pub fn decode_jwt(token: &str) -> Result<(Value, Value), AuthError> {
    let token = token.trim();
    let token = token.strip_prefix("Bearer ").unwrap_or(token);
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(AuthError::NotJwt(format!(
            "expected 3 dot-separated parts, found {}",
            parts.len()
        )));
    }
    let part = |name: &str, text: &str| -> Result<Value, AuthError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map_err(|e| AuthError::NotJwt(format!("the {name} is not base64url: {e}")))?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| AuthError::NotJwt(format!("the {name} is not JSON: {e}")))?;
        if value.is_object() {
            Ok(value)
        } else {
            Err(AuthError::NotJwt(format!(
                "the {name} is not a JSON object"
            )))
        }
    };
    Ok((part("header", parts[0])?, part("payload", parts[1])?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> OAuthClient {
        OAuthClient {
            token_endpoint: "https://notes-auth.auth.eu-west-1.amazoncognito.com/oauth2/token"
                .to_owned(),
            client_id: "client123".to_owned(),
            client_secret: Some("s3cret".to_owned()),
        }
    }

    #[test]
    fn forms() {
        let code = Grant::Code {
            code: "abc".to_owned(),
            redirect_uri: "http://localhost:3000/callback".to_owned(),
            code_verifier: None,
        };
        assert_eq!(
            code.form("cid"),
            vec![
                ("grant_type", "authorization_code".to_owned()),
                ("code", "abc".to_owned()),
                ("redirect_uri", "http://localhost:3000/callback".to_owned()),
                ("client_id", "cid".to_owned()),
            ]
        );
        let refresh = Grant::Refresh {
            refresh_token: "r".to_owned(),
        };
        assert_eq!(
            refresh.form("cid"),
            vec![
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", "r".to_owned()),
                ("client_id", "cid".to_owned()),
            ]
        );
    }

    #[test]
    fn basic_auth_is_base64_of_id_colon_secret() {
        assert_eq!(
            basic_auth("client123", "s3cret"),
            "Basic Y2xpZW50MTIzOnMzY3JldA=="
        );
    }

    #[test]
    fn debug_redacts_the_secret() {
        let text = format!("{:?}", client());
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }

    #[test]
    fn pkce_matches_rfc_7636_appendix_b() {
        let pkce = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_owned());
        assert_eq!(
            pkce.challenge,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn random_tokens_are_43_url_safe_chars_and_differ() {
        let (Ok(a), Ok(b)) = (random_token(), random_token()) else {
            panic!("no randomness");
        };
        assert_eq!(a.len(), 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{a}"
        );
        assert_ne!(a, b);
    }

    #[test]
    fn authorize_urls() {
        let pkce = Pkce::from_verifier("v".repeat(43));
        let url = authorize_url(&client(), "http://localhost:3000/callback", "st", &pkce);
        let Ok(url) = url else {
            panic!("{url:?}");
        };
        assert_eq!(
            url,
            format!(
                "https://notes-auth.auth.eu-west-1.amazoncognito.com/oauth2/authorize?response_type=code&client_id=client123&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcallback&scope=openid+email+profile&state=st&code_challenge_method=S256&code_challenge={}",
                pkce.challenge
            )
        );
        let mut bad = client();
        bad.token_endpoint = "https://example.com/token".to_owned();
        let err = authorize_url(&bad, "http://localhost:3000/callback", "st", &pkce);
        assert!(
            matches!(&err, Err(AuthError::Config(m)) if m.contains("does not end in /oauth2/token")),
            "{err:?}"
        );
    }

    #[test]
    fn callback_addresses() {
        for (uri, want) in [
            ("http://localhost:3000/callback", Some((3000, "/callback"))),
            ("http://127.0.0.1:8765/cb", Some((8765, "/cb"))),
            ("http://localhost/", Some((80, "/"))),
            ("https://localhost:3000/callback", None),
            ("http://example.com:3000/callback", None),
            ("not a url", None),
        ] {
            let got = callback_listen(uri)
                .ok()
                .map(|(addr, path)| (addr.port(), path));
            let want = want.map(|(port, path)| (port, path.to_owned()));
            assert_eq!(got, want, "for {uri}");
        }
    }

    #[test]
    fn callbacks() {
        let cb = |code: Option<&str>, state: Option<&str>, error: Option<&str>| Callback {
            code: code.map(str::to_owned),
            state: state.map(str::to_owned),
            error: error.map(str::to_owned),
            error_description: error.map(|_| "denied by user".to_owned()),
        };
        assert_eq!(
            check_callback(&cb(Some("c"), Some("s"), None), "s")
                .ok()
                .as_deref(),
            Some("c")
        );
        for (callback, want) in [
            (cb(Some("c"), Some("other"), None), "state does not match"),
            (cb(Some("c"), None, None), "state does not match"),
            (cb(None, Some("s"), None), "no code"),
            (
                cb(None, Some("s"), Some("access_denied")),
                "returned access_denied: denied by user",
            ),
        ] {
            let err = check_callback(&callback, "s");
            assert!(
                matches!(&err, Err(AuthError::Login(m)) if m.contains(want)),
                "{callback:?}: {err:?}"
            );
        }
    }

    #[test]
    fn token_endpoint_answers() {
        let url = "https://x/oauth2/token";
        let ok = interpret(
            url,
            200,
            r#"{"access_token":"a","id_token":"i","token_type":"Bearer"}"#,
        );
        assert!(ok.is_ok_and(|m| m.get("id_token") == Some(&Value::from("i"))));
        let err = interpret(url, 400, r#"{"error":"invalid_grant"}"#);
        let Err(err) = err else {
            panic!("an error answer was accepted");
        };
        assert_eq!(
            err.to_string(),
            format!(
                "the token endpoint refused: invalid_grant; {}",
                hint("invalid_grant")
            )
        );
        let err = interpret(
            url,
            400,
            r#"{"error":"invalid_client","error_description":"bad secret"}"#,
        );
        assert!(
            err.as_ref().is_err_and(|e| e.to_string().starts_with(
                "the token endpoint refused: invalid_client (bad secret); the client id or secret is wrong"
            )),
            "{err:?}"
        );
        let err = interpret(url, 502, "<html>bad gateway</html>");
        assert!(
            matches!(&err, Err(AuthError::Unexpected { status: 502, body, .. }) if body == "<html>bad gateway</html>"),
            "{err:?}"
        );
        // A 200 without tokens is not a success.
        assert!(interpret(url, 200, "{}").is_err());
    }

    #[test]
    fn jwt_decoding() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"k1"}"#);
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"u1","token_use":"id"}"#);
        let token = format!("{header}.{payload}.c2ln");
        let Ok((h, p)) = decode_jwt(&format!("Bearer {token}\n")) else {
            panic!("valid token rejected");
        };
        assert_eq!(h["kid"], "k1");
        assert_eq!(p["sub"], "u1");
        for (bad, want) in [
            ("abc".to_owned(), "expected 3 dot-separated parts, found 1"),
            (format!("{header}.{payload}"), "found 2"),
            (format!("{header}.!!!.sig"), "the payload is not base64url"),
            (
                format!("{}.{payload}.sig", URL_SAFE_NO_PAD.encode("nope")),
                "the header is not JSON",
            ),
            (
                format!("{}.{payload}.sig", URL_SAFE_NO_PAD.encode("[1]")),
                "the header is not a JSON object",
            ),
        ] {
            let err = decode_jwt(&bad);
            assert!(
                err.as_ref().is_err_and(|e| e.to_string().contains(want)),
                "{bad}: {err:?}"
            );
        }
    }
}
