//! Tests of the local issuer: its router served on a loopback port and driven with reqwest
//! (redirects not followed, so that every `Location` can be checked).

use std::fs;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode, Url};
use serde_json::{Map, Value, json};

use super::users::UsersFile;
use super::*;

const CLIENT_ID: &str = "local-client";
const SECRET: &str = "local-secret";
const CALLBACK: &str = "http://localhost:3000/callback";
const OTHER_CALLBACK: &str = "http://localhost:3000/other";
const PASSWORD: &str = "Correct-Horse-9";
/// RFC 7636 appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct Server {
    issuer: Arc<Issuer>,
    base: String,
    http: Client,
}

async fn serve(state_dir: &Path) -> Server {
    serve_with(state_dir, |_| {}).await
}

/// [`serve`] with a changed configuration.
async fn serve_with(state_dir: &Path, change: impl FnOnce(&mut IssuerConfig)) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("local addr"));
    let mut config = IssuerConfig::new(
        state_dir,
        &base,
        CLIENT_ID,
        SECRET,
        [CALLBACK, OTHER_CALLBACK],
    );
    change(&mut config);
    let issuer = Issuer::open(config).expect("open issuer");
    let router = issuer.router();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let http = Client::builder()
        .redirect(Policy::none())
        .cookie_store(true)
        .build()
        .expect("client");
    Server { issuer, base, http }
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, path: &str) -> Response {
        self.http.get(self.url(path)).send().await.expect("GET")
    }

    /// The form token of this client's `XSRF-TOKEN` cookie, from a page with a form (which
    /// sets the cookie on the first visit).
    async fn form_token(&self) -> String {
        let page = self
            .get("/signup")
            .await
            .text()
            .await
            .expect("sign-up page");
        form_token(&page)
    }

    /// A form POST as the pages send it: with the form token.
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        let token = self.form_token().await;
        let mut form = form.to_vec();
        form.push(("_csrf", &token));
        self.post_raw(path, &form).await
    }

    /// A form POST exactly as given.
    async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .expect("POST")
    }

    async fn token(
        &self,
        auth: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(self.issuer.config().token_endpoint())
            .form(form);
        if let Some((id, secret)) = auth {
            let credentials = STANDARD.encode(format!("{id}:{secret}"));
            request = request.header(AUTHORIZATION, format!("Basic {credentials}"));
        }
        let response = request.send().await.expect("token request");
        let status = response.status();
        (status, response.json().await.expect("token JSON"))
    }

    async fn exchange(&self, code: &str, verifier: &str) -> (StatusCode, Value) {
        self.token(
            Some((CLIENT_ID, SECRET)),
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", verifier),
            ],
        )
        .await
    }

    /// A fresh code through `/oauth2/authorize`, relying on the session cookie.
    async fn code_from_session(&self) -> String {
        let response = self.get(&authorize_path(&authorize_params())).await;
        assert_eq!(response.status(), StatusCode::FOUND);
        let location = location(&response);
        assert!(location.starts_with(CALLBACK), "{location}");
        param(&location, "code").expect("code")
    }

    /// Verifies a token with a key built from the JWKS endpoint's `n` and `e`.
    async fn verify(&self, token: &str) -> Map<String, Value> {
        let jwks: Value = self
            .http
            .get(self.issuer.config().jwks_url())
            .send()
            .await
            .expect("JWKS")
            .json()
            .await
            .expect("JWKS JSON");
        let key = &jwks["keys"][0];
        let header = jsonwebtoken::decode_header(token).expect("header");
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), key["kid"].as_str());
        let decoding = DecodingKey::from_rsa_components(
            key["n"].as_str().expect("n"),
            key["e"].as_str().expect("e"),
        )
        .expect("RSA components");
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[self.issuer.config().issuer_url()]);
        validation.validate_aud = false;
        jsonwebtoken::decode::<Map<String, Value>>(token, &decoding, &validation)
            .expect("token verifies")
            .claims
    }
}

/// The `_csrf` hidden field's value on a page.
fn form_token(page: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = page.find(marker).expect("a _csrf field") + marker.len();
    let end = page[start..].find('"').expect("end of the value") + start;
    page[start..end].to_owned()
}

fn authorize_params() -> Vec<(&'static str, &'static str)> {
    vec![
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", CALLBACK),
        ("scope", "openid email profile"),
        ("state", "st@te 1"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
}

fn authorize_path(params: &[(&str, &str)]) -> String {
    format!(
        "/oauth2/authorize?{}",
        params::encode_query(params.iter().copied())
    )
}

fn with<'a>(
    mut params: Vec<(&'a str, &'a str)>,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    params.extend_from_slice(extra);
    params
}

fn location(response: &Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .expect("Location")
        .to_str()
        .expect("ASCII Location")
        .to_owned()
}

fn param(url: &str, name: &str) -> Option<String> {
    let url = Url::parse("http://base.invalid")
        .expect("base")
        .join(url)
        .expect("URL");
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn code_of(issuer: &Issuer, email: &str) -> String {
    let pool: UsersFile = issuer.users.load().expect("users");
    pool.users[email]
        .verification
        .as_ref()
        .expect("verification")
        .code
        .clone()
}

#[tokio::test]
async fn issued_tokens_verify_with_the_jwks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve(dir.path()).await;
    let sub = server
        .issuer
        .admin_create_user("Admin@Example.com", PASSWORD)
        .expect("create");
    let tokens = server
        .issuer
        .issue_tokens("admin@example.com", &[])
        .expect("tokens");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert!(tokens["refresh_token"].is_string());
    let id = server
        .verify(tokens["id_token"].as_str().expect("id_token"))
        .await;
    assert_eq!(id["sub"], sub.as_str());
    assert_eq!(id["email"], "admin@example.com");
    let access = server
        .verify(tokens["access_token"].as_str().expect("access"))
        .await;
    assert_eq!(access["scope"], "openid email profile");
    let custom = server
        .issuer
        .issue_tokens("admin@example.com", &["notes/read"])
        .expect("tokens");
    let access = server
        .verify(custom["access_token"].as_str().expect("access"))
        .await;
    assert_eq!(access["scope"], "notes/read");

    assert!(matches!(
        server.issuer.issue_tokens("nobody@example.com", &[]),
        Err(IssuerError::UnknownUser { .. })
    ));
    assert!(matches!(
        server
            .issuer
            .admin_create_user("admin@example.com", PASSWORD),
        Err(IssuerError::UserExists(_))
    ));
    assert!(matches!(
        server.issuer.admin_create_user("x@example.com", "short"),
        Err(IssuerError::InvalidPassword(m)) if m.contains("Password not long enough")
    ));
    assert!(matches!(
        server.issuer.admin_create_user("not-an-email", PASSWORD),
        Err(IssuerError::InvalidEmail(_))
    ));

    let discovery: Value = server
        .get("/local_notes/.well-known/openid-configuration")
        .await
        .json()
        .await
        .expect("discovery JSON");
    let config = server.issuer.config();
    assert_eq!(discovery["issuer"], config.issuer_url());
    assert_eq!(discovery["issuer"], format!("{}/local_notes", server.base));
    assert_eq!(discovery["jwks_uri"], config.jwks_url());
    assert_eq!(
        discovery["token_endpoint"],
        format!("{}/oauth2/token", server.base)
    );
    assert_eq!(discovery["authorization_endpoint"], config.authorize_url());
    assert_eq!(
        discovery["userinfo_endpoint"],
        format!("{}/oauth2/userInfo", server.base)
    );
    assert_eq!(
        discovery["end_session_endpoint"],
        format!("{}/logout", server.base)
    );
    assert_eq!(discovery["response_types_supported"], json!(["code"]));
    assert_eq!(
        discovery["scopes_supported"],
        json!(["openid", "email", "profile"])
    );
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(
        discovery["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
    let jwks: Value = server
        .get("/local_notes/.well-known/jwks.json")
        .await
        .json()
        .await
        .expect("JWKS");
    let key = &jwks["keys"][0];
    assert_eq!(
        (&key["kty"], &key["alg"], &key["use"]),
        (&json!("RSA"), &json!("RS256"), &json!("sig"))
    );
    assert_eq!(key["kid"], server.issuer.kid());
    assert_eq!(key["e"], "AQAB");
    assert_eq!(
        key["n"].as_str().map(str::len),
        Some(342),
        "2048-bit modulus, no leading zero"
    );
}

#[tokio::test]
async fn the_hosted_ui_code_flow_works_like_cognito() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve(dir.path()).await;
    let params = authorize_params();

    // authorize → login
    let response = server.get(&authorize_path(&params)).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let login = location(&response);
    assert!(login.starts_with("/login?"), "{login}");
    for (name, value) in &params {
        assert_eq!(
            param(&login, name).as_deref(),
            Some(*value),
            "{name} carried to /login"
        );
    }
    let page = server.get(&login).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.expect("login page");
    assert!(page.contains("action=\"/login\"") && page.contains("name=\"code_challenge\""));
    assert!(page.contains("href=\"/signup?"));

    // sign up: policy violations first, then an existing email, then success
    let signup_path = login.replacen("/login", "/signup", 1);
    assert_eq!(server.get(&signup_path).await.status(), StatusCode::OK);
    for (password, message) in [
        (
            "Sh0rt!",
            "Password did not conform with policy: Password not long enough",
        ),
        (
            "ALLUPPERCASE-1234",
            "Password did not conform with policy: Password must have lowercase characters",
        ),
        (
            "alllowercase-1234",
            "Password did not conform with policy: Password must have uppercase characters",
        ),
        (
            "NoNumbers-Here!",
            "Password did not conform with policy: Password must have numeric characters",
        ),
        (
            "NoSymbols12345",
            "Password did not conform with policy: Password must have symbol characters",
        ),
    ] {
        let form = with(
            params.clone(),
            &[("email", "Dev@Example.com"), ("password", password)],
        );
        let response = server.post("/signup", &form).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body = response.text().await.expect("signup page");
        assert!(body.contains(message), "{password}: {body}");
    }
    let form = with(
        params.clone(),
        &[("email", "not an email"), ("password", PASSWORD)],
    );
    let body = server
        .post("/signup", &form)
        .await
        .text()
        .await
        .expect("page");
    assert!(body.contains("Invalid email address format."));

    let form = with(
        params.clone(),
        &[("email", "Dev@Example.com"), ("password", PASSWORD)],
    );
    let response = server.post("/signup", &form).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let confirm = location(&response);
    assert!(confirm.starts_with("/confirm?"), "{confirm}");
    assert_eq!(param(&confirm, "email").as_deref(), Some("dev@example.com"));
    assert_eq!(param(&confirm, "state").as_deref(), Some("st@te 1"));
    let body = server
        .post("/signup", &form)
        .await
        .text()
        .await
        .expect("page");
    assert!(body.contains("An account with the given email already exists."));

    // the code is in the issuer's state and in the mailbox
    let code = code_of(&server.issuer, "dev@example.com");
    let mailbox = server.get("/mailbox").await.text().await.expect("mailbox");
    assert!(mailbox.contains("dev@example.com") && mailbox.contains(&code));
    assert!(
        server
            .get(&confirm)
            .await
            .text()
            .await
            .expect("confirm page")
            .contains("dev@example.com")
    );

    // an unconfirmed user with the right password is sent to /confirm
    let login_form = with(
        params.clone(),
        &[("email", "dev@example.com"), ("password", PASSWORD)],
    );
    let response = server.post("/login", &login_form).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(location(&response).starts_with("/confirm?"));

    // confirm: wrong code, then the right one
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let form = with(
        params.clone(),
        &[("email", "dev@example.com"), ("code", wrong)],
    );
    let response = server.post("/confirm", &form).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = response.text().await.expect("confirm page");
    assert!(body.contains("Invalid verification code provided, please try again."));
    let form = with(
        params.clone(),
        &[("email", "dev@example.com"), ("code", &code)],
    );
    let response = server.post("/confirm", &form).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let login = location(&response);
    assert!(login.starts_with("/login?"), "{login}");
    assert_eq!(param(&login, "client_id").as_deref(), Some(CLIENT_ID));
    assert!(
        server
            .get(&login)
            .await
            .text()
            .await
            .expect("page")
            .contains("Your account is confirmed")
    );

    // sign in → callback with code and state, and a session cookie
    let response = server.post("/login", &login_form).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let callback = location(&response);
    assert!(
        callback.starts_with(&format!("{CALLBACK}?code=")),
        "{callback}"
    );
    assert_eq!(param(&callback, "state").as_deref(), Some("st@te 1"));
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .expect("cookie")
        .to_str()
        .expect("ASCII");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let code = param(&callback, "code").expect("code");

    // token exchange with Basic auth and PKCE
    let response = server
        .http
        .post(server.issuer.config().token_endpoint())
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let tokens: Value = response.json().await.expect("tokens");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    let refresh_token = tokens["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned();

    let sub = server
        .issuer
        .users
        .load::<UsersFile>()
        .expect("users")
        .users["dev@example.com"]
        .sub
        .clone();
    let id = server
        .verify(tokens["id_token"].as_str().expect("id_token"))
        .await;
    let mut names: Vec<&str> = id.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "aud",
            "auth_time",
            "cognito:username",
            "email",
            "email_verified",
            "event_id",
            "exp",
            "iat",
            "iss",
            "jti",
            "origin_jti",
            "sub",
            "token_use"
        ]
    );
    assert_eq!(id["sub"], sub.as_str());
    assert_eq!(id["cognito:username"], sub.as_str());
    assert_eq!(id["email"], "dev@example.com");
    assert_eq!(id["email_verified"], true);
    assert_eq!(id["aud"], CLIENT_ID);
    assert_eq!(id["token_use"], "id");
    assert_eq!(id["iss"], server.issuer.config().issuer_url());
    let iat = id["iat"].as_i64().expect("numeric iat");
    assert_eq!(id["exp"].as_i64(), Some(iat + 3600));
    assert!(id["auth_time"].as_i64().expect("numeric auth_time") <= iat);

    let access = server
        .verify(tokens["access_token"].as_str().expect("access_token"))
        .await;
    let mut names: Vec<&str> = access.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "auth_time",
            "client_id",
            "event_id",
            "exp",
            "iat",
            "iss",
            "jti",
            "origin_jti",
            "scope",
            "sub",
            "token_use",
            "username"
        ]
    );
    assert_eq!(access["client_id"], CLIENT_ID);
    assert_eq!(access["token_use"], "access");
    assert_eq!(access["scope"], "openid email profile");
    assert_eq!(access["username"], sub.as_str());
    assert_eq!(access["origin_jti"], id["origin_jti"]);
    assert_eq!(access["event_id"], id["event_id"]);
    assert_ne!(access["jti"], id["jti"]);

    // refresh: new id and access tokens, no new refresh token
    let (status, refreshed) = server
        .token(
            Some((CLIENT_ID, SECRET)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_token),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert!(refreshed.get("refresh_token").is_none());
    let again = server
        .verify(refreshed["access_token"].as_str().expect("access"))
        .await;
    assert_eq!(again["origin_jti"], access["origin_jti"]);
    assert_eq!(again["auth_time"], access["auth_time"]);
    assert_ne!(again["jti"], access["jti"]);
    server
        .verify(refreshed["id_token"].as_str().expect("id"))
        .await;
    let (status, body) = server
        .token(
            Some((CLIENT_ID, SECRET)),
            &[("grant_type", "refresh_token"), ("refresh_token", "nope")],
        )
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
    );

    // a code works once
    assert_eq!(
        server.exchange(&code, VERIFIER).await,
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
    );

    // with a live session, authorize skips the form; a wrong secret is invalid_client and
    // leaves the code usable, a wrong verifier is invalid_grant
    let code = server.code_from_session().await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    let invalid_client = (StatusCode::BAD_REQUEST, json!({"error": "invalid_client"}));
    assert_eq!(
        server.token(Some((CLIENT_ID, "wrong")), &form).await,
        invalid_client
    );
    assert_eq!(
        server.token(Some(("other", SECRET)), &form).await,
        invalid_client
    );
    assert_eq!(server.token(None, &form).await, invalid_client);
    let unsupported = [("grant_type", "password"), ("username", "dev@example.com")];
    assert_eq!(
        server.token(Some((CLIENT_ID, SECRET)), &unsupported).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "unsupported_grant_type"})
        )
    );
    let wrong_verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX";
    assert_eq!(
        server.exchange(&code, wrong_verifier).await,
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
    );

    // redirect_uri mismatch, and a missing verifier
    let code = server.code_from_session().await;
    let mismatch = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", OTHER_CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    assert_eq!(
        server.token(Some((CLIENT_ID, SECRET)), &mismatch).await,
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
    );
    let code = server.code_from_session().await;
    let no_verifier = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", CALLBACK),
    ];
    assert_eq!(
        server.token(Some((CLIENT_ID, SECRET)), &no_verifier).await,
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
    );

    // client_secret_post
    let code = server.code_from_session().await;
    let (status, tokens) = server
        .token(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", CLIENT_ID),
                ("client_secret", SECRET),
                ("code", &code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");

    // authorize errors: never redirect to an unregistered URI
    let bad_uri = [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", "http://evil.example/callback"),
        ("state", "x"),
    ];
    let response = server.get(&authorize_path(&bad_uri)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(LOCATION).is_none());
    let body = response.text().await.expect("error page");
    assert!(body.contains("http://evil.example/callback") && body.contains("not a registered"));
    let unknown_client = [
        ("response_type", "code"),
        ("client_id", "nope"),
        ("redirect_uri", CALLBACK),
    ];
    let response = server.get(&authorize_path(&unknown_client)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(LOCATION).is_none());
    let token_flow = [
        ("response_type", "token"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", CALLBACK),
        ("state", "s"),
    ];
    let response = server.get(&authorize_path(&token_flow)).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        location(&response),
        format!("{CALLBACK}?error=unsupported_response_type&state=s")
    );
    let plain = with(authorize_params(), &[]);
    let plain: Vec<_> = plain
        .into_iter()
        .map(|(k, v)| {
            if k == "code_challenge_method" {
                (k, "plain")
            } else {
                (k, v)
            }
        })
        .collect();
    let response = server.get(&authorize_path(&plain)).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        param(&location(&response), "error").as_deref(),
        Some("invalid_request")
    );

    // logout: registered logout_uri only, and the session is gone afterwards
    let response = server
        .get("/logout?client_id=local-client&logout_uri=http%3A%2F%2Fevil%2F")
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = server
        .get("/logout?client_id=local-client&logout_uri=http%3A%2F%2Flocalhost%3A3000%2F")
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), "http://localhost:3000/");
    let response = server.get(&authorize_path(&authorize_params())).await;
    assert!(location(&response).starts_with("/login?"));
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_the_same() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve(dir.path()).await;
    server
        .issuer
        .admin_create_user("user@example.com", PASSWORD)
        .expect("create");
    let mut pages = Vec::new();
    for (email, password) in [
        ("user@example.com", "Wrong-Password-1"),
        ("ghost@example.com", PASSWORD),
    ] {
        let form = with(
            authorize_params(),
            &[("email", email), ("password", password)],
        );
        let response = server.post("/login", &form).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.headers().get(LOCATION).is_none());
        let body = response.text().await.expect("page");
        assert!(body.contains("Incorrect username or password."), "{body}");
        pages.push(body.replace(email, "EMAIL"));
    }
    assert_eq!(pages[0], pages[1]);
}

#[tokio::test]
async fn state_persists_and_groups_reach_the_next_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = serve(dir.path()).await;
    let sub = first
        .issuer
        .admin_create_user("dev@example.com", PASSWORD)
        .expect("create");
    let kid = first.issuer.kid().to_owned();
    let tokens = first
        .issuer
        .issue_tokens("dev@example.com", &[])
        .expect("tokens");
    let refresh_token = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = dir.path().join(keys::KEY_FILE);
        let mode = fs::metadata(key).expect("key file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let second = serve(dir.path()).await;
    assert_eq!(second.issuer.kid(), kid);
    let tokens = second
        .issuer
        .issue_tokens("DEV@example.com", &[])
        .expect("tokens after reopen");
    let id = second
        .verify(tokens["id_token"].as_str().expect("id"))
        .await;
    assert_eq!(id["sub"], sub.as_str());
    assert!(id.get("cognito:groups").is_none());
    // the same key is published
    let jwks = |server: &Server| {
        let url = server.issuer.config().jwks_url();
        let http = server.http.clone();
        async move {
            http.get(url)
                .send()
                .await
                .expect("JWKS")
                .text()
                .await
                .expect("body")
        }
    };
    assert_eq!(jwks(&first).await, jwks(&second).await);

    add_user_to_group(dir.path(), "Dev@Example.com", "admin").expect("add to group");
    add_user_to_group(dir.path(), "dev@example.com", "admin").expect("idempotent");
    add_user_to_group(dir.path(), "dev@example.com", "editors").expect("second group");
    assert!(matches!(
        add_user_to_group(dir.path(), "ghost@example.com", "admin"),
        Err(IssuerError::UnknownUser { .. })
    ));
    for bad in ["two words", " admin", "admin\n", "a\u{200b}b", ""] {
        assert!(
            matches!(
                add_user_to_group(dir.path(), "dev@example.com", bad),
                Err(IssuerError::InvalidGroup(_))
            ),
            "{bad:?}"
        );
    }
    // Cognito allows quotes in a group name; the token carries it as one array element.
    add_user_to_group(dir.path(), "dev@example.com", "\"admin\"").expect("quoted group");

    let tokens = second
        .issuer
        .issue_tokens("dev@example.com", &[])
        .expect("tokens");
    let id = second
        .verify(tokens["id_token"].as_str().expect("id"))
        .await;
    let access = second
        .verify(tokens["access_token"].as_str().expect("access"))
        .await;
    let groups = json!(["admin", "editors", "\"admin\""]);
    assert_eq!(id["cognito:groups"], groups);
    assert_eq!(access["cognito:groups"], groups);

    // the refresh token of the first instance still works, and carries the new groups
    let (status, refreshed) = second
        .token(
            Some((CLIENT_ID, SECRET)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_token),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let access = second
        .verify(refreshed["access_token"].as_str().expect("access"))
        .await;
    assert_eq!(access["cognito:groups"], groups);

    // a users file holding a group name Cognito refuses is reported, not served
    let users_path = dir.path().join(USERS_FILE);
    let good = fs::read_to_string(&users_path).expect("users file");
    let bad = good.replacen("\"editors\"", "\"two words\"", 1);
    assert_ne!(good, bad);
    let bad_dir = tempfile::tempdir().expect("tempdir");
    fs::write(bad_dir.path().join(USERS_FILE), bad).expect("write");
    let config = IssuerConfig::new(
        bad_dir.path(),
        "http://127.0.0.1:1",
        CLIENT_ID,
        SECRET,
        [CALLBACK],
    );
    assert!(matches!(
        Issuer::open(config),
        Err(IssuerError::CorruptFile { .. })
    ));

    // revocation
    let response = second
        .http
        .post(second.url("/oauth2/revoke"))
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[("token", refresh_token.as_str())])
        .send()
        .await
        .expect("revoke");
    assert_eq!(response.status(), StatusCode::OK);
    let (status, _) = second
        .token(
            Some((CLIENT_ID, SECRET)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_token),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn userinfo_answers_for_a_valid_access_token_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve(dir.path()).await;
    let sub = server
        .issuer
        .admin_create_user("dev@example.com", PASSWORD)
        .expect("create");
    let tokens = server
        .issuer
        .issue_tokens("dev@example.com", &[])
        .expect("tokens");
    let access = tokens["access_token"].as_str().expect("access");
    let userinfo = server.issuer.config().userinfo_url();

    let response = server
        .http
        .get(&userinfo)
        .bearer_auth(access)
        .send()
        .await
        .expect("userinfo");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(
        body,
        json!({"sub": sub, "email": "dev@example.com", "email_verified": "true", "username": sub})
    );

    // flip the signature's first character
    let dot = access.rfind('.').expect("signature") + 1;
    let first = if access[dot..].starts_with('A') {
        "B"
    } else {
        "A"
    };
    let tampered = format!("{}{first}{}", &access[..dot], &access[dot + 1..]);
    let id_token = tokens["id_token"].as_str().expect("id");
    for bad in ["garbage", tampered.as_str(), id_token] {
        let response = server
            .http
            .get(&userinfo)
            .bearer_auth(bad)
            .send()
            .await
            .expect("userinfo");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{bad}");
        assert!(response.headers().contains_key("www-authenticate"));
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body, json!({"error": "invalid_token"}));
    }
    let response = server.http.get(&userinfo).send().await.expect("userinfo");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn the_default_policy_is_the_terraform_one() {
    let policy = PasswordPolicy::default();
    assert_eq!(policy.min_length, 12);
    assert!(policy.require_lowercase && policy.require_uppercase);
    assert!(policy.require_numbers && policy.require_symbols);
    assert_eq!(policy.check(PASSWORD), Ok(()));
    assert_eq!(
        policy.check("Has spaces in 1t"),
        Ok(()),
        "an inner space counts as a symbol"
    );
    assert!(policy.check(" Nospaces1234").is_err());
}

#[test]
fn config_defaults() {
    let config = IssuerConfig::new(
        "/tmp/state",
        "http://127.0.0.1:9000/",
        "id",
        "secret",
        [
            "http://localhost:3000/callback",
            "http://localhost:3000/other",
            "https://app.example/cb",
        ],
    );
    assert_eq!(config.pool_id, "local_notes");
    assert_eq!(config.issuer_url(), "http://127.0.0.1:9000/local_notes");
    assert_eq!(
        config.jwks_url(),
        "http://127.0.0.1:9000/local_notes/.well-known/jwks.json"
    );
    assert_eq!(
        config.token_endpoint(),
        "http://127.0.0.1:9000/oauth2/token"
    );
    assert_eq!(
        config.authorize_url(),
        "http://127.0.0.1:9000/oauth2/authorize"
    );
    assert_eq!(
        config.logout_urls,
        ["http://localhost:3000/", "https://app.example/"]
    );
    assert_eq!(config.access_token_ttl.as_secs(), 3600);
    assert_eq!(config.id_token_ttl.as_secs(), 3600);
    assert_eq!(config.refresh_token_ttl.as_secs(), 30 * 24 * 3600);
    assert!(!format!("{config:?}").contains("secret\""));
    let bad = IssuerConfig {
        pool_id: "a/{b}".into(),
        ..config
    };
    assert!(matches!(Issuer::open(bad), Err(IssuerError::Config(_))));
}

#[tokio::test]
async fn form_posts_without_the_right_form_token_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve(dir.path()).await;
    server
        .issuer
        .admin_create_user("user@example.com", PASSWORD)
        .expect("create");
    let token = server.form_token().await;
    // another browser: its own cookie, so its token is not this one's
    let other = serve_client();
    let other_page = other
        .get(server.url("/signup"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("page");
    let other_token = form_token(&other_page);
    assert_ne!(token, other_token);

    let signup = with(
        authorize_params(),
        &[("email", "new@example.com"), ("password", PASSWORD)],
    );
    let login = with(
        authorize_params(),
        &[("email", "user@example.com"), ("password", PASSWORD)],
    );
    let confirm = with(
        authorize_params(),
        &[("email", "user@example.com"), ("code", "123456")],
    );
    for (path, form) in [
        ("/signup", &signup),
        ("/login", &login),
        ("/confirm", &confirm),
    ] {
        let missing = form.clone();
        let wrong = with(form.clone(), &[("_csrf", "AAAA")]);
        let foreign = with(form.clone(), &[("_csrf", other_token.as_str())]);
        for (what, form) in [
            ("missing", missing),
            ("wrong", wrong),
            ("another's", foreign),
        ] {
            let response = server.post_raw(path, &form).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path} {what}");
            assert!(response.headers().get(LOCATION).is_none());
            assert!(
                response.headers().get(SET_COOKIE).is_none(),
                "{path} {what}"
            );
            let body = response.text().await.expect("page");
            assert!(body.contains("XSRF token"), "{path} {what}: {body}");
        }
        // the token without its cookie is refused too
        let response = Client::new()
            .post(server.url(path))
            .form(&with(form.clone(), &[("_csrf", token.as_str())]))
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path} no cookie");
    }
    let pool: UsersFile = server.issuer.users.load().expect("users");
    assert!(!pool.users.contains_key("new@example.com"));

    // with the right token each works; the cookie is HttpOnly and SameSite
    let response = server.get("/confirm?email=a%40b.co").await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = Client::new()
        .get(server.url("/login?client_id=x"))
        .send()
        .await
        .expect("page");
    assert!(
        response.headers().get(SET_COOKIE).is_none(),
        "error pages set no cookie"
    );
    let fresh = serve_client()
        .get(server.url("/signup"))
        .send()
        .await
        .expect("page");
    let cookie = fresh
        .headers()
        .get(SET_COOKIE)
        .expect("XSRF-TOKEN cookie")
        .to_str()
        .expect("ASCII")
        .to_owned();
    assert!(
        cookie.starts_with("XSRF-TOKEN=")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert_eq!(
        server.post("/login", &login).await.status(),
        StatusCode::FOUND
    );
    assert_eq!(
        server.post("/signup", &signup).await.status(),
        StatusCode::FOUND
    );
}

/// A client with its own cookie jar, not following redirects.
fn serve_client() -> Client {
    Client::builder()
        .redirect(Policy::none())
        .cookie_store(true)
        .build()
        .expect("client")
}

#[tokio::test]
async fn five_wrong_codes_invalidate_the_code_until_a_new_one_is_sent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve(dir.path()).await;
    let form = with(
        authorize_params(),
        &[("email", "dev@example.com"), ("password", PASSWORD)],
    );
    assert_eq!(
        server.post("/signup", &form).await.status(),
        StatusCode::FOUND
    );
    let code = code_of(&server.issuer, "dev@example.com");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    fn attempt(code: &str) -> Vec<(&str, &str)> {
        with(
            authorize_params(),
            &[("email", "dev@example.com"), ("code", code)],
        )
    }
    for n in 1..=5 {
        let response = server.post("/confirm", &attempt(wrong)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "attempt {n}");
        let body = response.text().await.expect("page");
        assert!(
            body.contains("Invalid verification code provided, please try again."),
            "attempt {n}: {body}"
        );
    }
    // the right code no longer works
    let response = server.post("/confirm", &attempt(&code)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let body = response.text().await.expect("page");
    assert!(
        body.contains("Attempt limit exceeded, please try after some time."),
        "{body}"
    );
    let pool: UsersFile = server.issuer.users.load().expect("users");
    assert!(!pool.users["dev@example.com"].confirmed);
    let mailbox = server.get("/mailbox").await.text().await.expect("mailbox");
    assert!(mailbox.contains("attempt limit exceeded"), "{mailbox}");

    // a new code starts over
    let resend = with(
        authorize_params(),
        &[("email", "dev@example.com"), ("action", "resend")],
    );
    assert_eq!(
        server.post("/confirm", &resend).await.status(),
        StatusCode::OK
    );
    let code = code_of(&server.issuer, "dev@example.com");
    let response = server.post("/confirm", &attempt(&code)).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let pool: UsersFile = server.issuer.users.load().expect("users");
    assert!(pool.users["dev@example.com"].confirmed);
}

#[tokio::test]
async fn failed_sign_ins_lock_out_known_and_unknown_users_alike() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A long first lockout, so that the test is not racing a one-second window.
    let server = serve_with(dir.path(), |config| {
        config.sign_in_lockout.first_lockout = Duration::from_secs(3600);
    })
    .await;
    server
        .issuer
        .admin_create_user("user@example.com", PASSWORD)
        .expect("create");
    let mut pages = Vec::new();
    for email in ["user@example.com", "ghost@example.com"] {
        fn login<'a>(email: &'a str, password: &'a str) -> Vec<(&'a str, &'a str)> {
            with(
                authorize_params(),
                &[("email", email), ("password", password)],
            )
        }
        let form = |password| login(email, password);
        for n in 1..=5 {
            let response = server.post("/login", &form("Wrong-Password-1")).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{email} {n}");
            let body = response.text().await.expect("page");
            assert!(body.contains("Incorrect username or password."), "{body}");
        }
        // locked out: even the right password is refused, without a code
        let response = server.post("/login", &form(PASSWORD)).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{email}");
        assert!(response.headers().get(LOCATION).is_none());
        let body = response.text().await.expect("page");
        assert!(body.contains("Password attempts exceeded"), "{body}");
        pages.push(body.replace(email, "EMAIL"));
    }
    assert_eq!(
        pages[0], pages[1],
        "the lockout says nothing about who exists"
    );

    // other users are not affected
    server
        .issuer
        .admin_create_user("other@example.com", PASSWORD)
        .expect("create");
    let form = with(
        authorize_params(),
        &[("email", "other@example.com"), ("password", PASSWORD)],
    );
    assert_eq!(
        server.post("/login", &form).await.status(),
        StatusCode::FOUND
    );
}

#[tokio::test]
async fn an_old_password_hash_is_upgraded_at_the_next_sign_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve(dir.path()).await;
    server
        .issuer
        .admin_create_user("old@example.com", PASSWORD)
        .expect("create");
    // the users file as the issuer wrote it before: PBKDF2-SHA256 with 100 000 iterations
    let old = users::PasswordHash::with_iterations(PASSWORD, 100_000).expect("hash");
    server
        .issuer
        .users
        .update(|pool: &mut UsersFile| {
            if let Some(user) = pool.users.get_mut("old@example.com") {
                user.password = old.clone();
            }
            Ok(())
        })
        .expect("write the old hash");
    let stored = || -> Value {
        let text = fs::read_to_string(dir.path().join(USERS_FILE)).expect("users file");
        let file: Value = serde_json::from_str(&text).expect("JSON");
        file["users"]["old@example.com"]["password"].clone()
    };
    assert_eq!(stored()["iterations"], 100_000);
    let old_hash = stored()["hash"].clone();

    let form = with(
        authorize_params(),
        &[("email", "old@example.com"), ("password", PASSWORD)],
    );
    let response = server.post("/login", &form).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(location(&response).starts_with(CALLBACK));
    let upgraded = stored();
    assert_eq!(upgraded["algorithm"], "pbkdf2-sha256");
    assert_eq!(upgraded["iterations"], 600_000);
    assert_ne!(upgraded["hash"], old_hash);

    // the new hash works, from a fresh browser
    let fresh = serve_with(dir.path(), |_| {}).await;
    let response = fresh.post("/login", &form).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(location(&response).starts_with(CALLBACK));
    let wrong = with(
        authorize_params(),
        &[
            ("email", "old@example.com"),
            ("password", "Wrong-Password-1"),
        ],
    );
    assert_eq!(
        fresh.post("/login", &wrong).await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn pkce_cannot_be_downgraded_and_public_clients_must_use_s256() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve(dir.path()).await;
    server
        .issuer
        .admin_create_user("dev@example.com", PASSWORD)
        .expect("create");
    let no_pkce: Vec<_> = authorize_params()
        .into_iter()
        .filter(|(name, _)| !name.starts_with("code_challenge"))
        .collect();
    let form = with(
        no_pkce.clone(),
        &[("email", "dev@example.com"), ("password", PASSWORD)],
    );
    let response = server.post("/login", &form).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let code = param(&location(&response), "code").expect("code");
    // a verifier for a code issued without a challenge
    assert_eq!(
        server.exchange(&code, VERIFIER).await,
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
    );
    // the code is gone (used once), a fresh one without a verifier works
    let response = server.get(&authorize_path(&no_pkce)).await;
    let code = param(&location(&response), "code").expect("code");
    let (status, tokens) = server
        .token(
            Some((CLIENT_ID, SECRET)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");

    // a public client (no secret)
    let dir = tempfile::tempdir().expect("tempdir");
    let public = serve_with(dir.path(), |config| config.client_secret = String::new()).await;
    let response = public.get(&authorize_path(&no_pkce)).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        param(&location(&response), "error").as_deref(),
        Some("invalid_request")
    );
    let plain: Vec<_> = authorize_params()
        .into_iter()
        .map(|(k, v)| {
            if k == "code_challenge_method" {
                (k, "plain")
            } else {
                (k, v)
            }
        })
        .collect();
    let response = public.get(&authorize_path(&plain)).await;
    assert_eq!(
        param(&location(&response), "error").as_deref(),
        Some("invalid_request")
    );
    let response = public.get(&authorize_path(&authorize_params())).await;
    assert!(location(&response).starts_with("/login?"));
}

/// A fixed RSA 2048 test key (PKCS#8 DER, base64), made with `openssl genpkey` and
/// `openssl pkcs8 -topk8 -nocrypt`; used only by the test below.
const TEST_KEY_PKCS8: [&str; 19] = [
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCZt9lYGbcHBK5isMjq9e8o5db2Uhc+3ybqBz8i",
    "uYa9dPoCVxs4Ds8LcrP1Wm4iyJ7lfOzaWbFdFl7AR33wuy9/mo6hyeWhHth8p3fQPdTEqqPGHcjO4OlMd5JC1vJx",
    "4wEqt6HYYjuKXy7LDa5PsHc5OTtCwS5gBmlgLGWGRuL4KL87YJ2Q43jUxpWc0YHJth/0tdKLNZWDQGSWWpBkD3UX",
    "puIEes3KyjqZJ94hOPmu4g4isAEUwl5/1X6N2cHQ5LbydTTZfILFgyC6DpiopGLUvkiaU5leAwtbiO7T53srdmIK",
    "zVTZ7jJw59jwM3GsTbZNkPbshXL5beHYrdY+Wt2bAgMBAAECggEADIuFCNwcZE28/5/m3coRaRiM2RBtBjwG/H13",
    "6RkUBn039B3wwjvvKMOFLUZii6Ms2JS/7bf5MhwjwnRzMkTMhRDzh/+mpmYSi+XM8OlC5oP4lrASldOkJpHxlVPe",
    "eG3qx/Yxlqu5qTrIYljs+2Lu7/QcQn/qjXqoeelVpcY+OrtUKSbaaZwRpxmoJdiAMz3QvRAQjAsxsaQHyC42BTx1",
    "dosI90mmuDv7A/ENKIdXjru6it2kR8uRyhJQBOQ18Ner/k+0ioadfxO7kIbOFrzxfKkwidUlOtC8+AitMq/gcImj",
    "UCvsnPpYkCdQOukxfRYo+n4esO2dAncTNTSPhTSlRQKBgQDQQc1s8kdzUV5jcrIPhTk08dWMRlaUA77EJxp8CgiC",
    "FChUqFmleTGf2AdD1wMLVJg50fuqpZ4XpEQDzxnhaNz5QV0vi8x8nrJsX7sHRp1qnSs9cSsNGBPmKlmh7xFvTi0N",
    "j1f6U5Mx+5V9YWFx/9yh+8eaHyUKtMb0bcckdoCXjQKBgQC89UQ8QJTs1NUlbsCmVPPQF/gzgE54LzpWTqfEWYaL",
    "e+VjJwTYfLxe7aM37P7oS1dWc+AmZ9+izCa2+NhkE87vNTBLdftD1safVAO/1S+qxLFO1tj+w/YYiwSwvpbcJfCr",
    "VyRtE6bQ9BI5wVgkXy6qRQzRX1jMx1EA4oAKH+oLxwKBgQCAL3CVVY+bMINrrQZivTrYFt69x/G0i5WZQQRxQu+3",
    "uVaVvUXor29XFu5p2Gd8Suaj+Fby05w6qxZeTdR9RUF2fsAv6tnD/x6NzGLfeJyeKf2ahRTdq2tcKccgAHn3y+O5",
    "S/j4EQcyJcv+77i+JaIVZleWywLO0zT+8K86B2LhZQKBgQCsrqgxOAPhe49eqhw85Z37KiyVREhx5Rc3EKKY+gfP",
    "KOa0+k+fWD79scZbsaYyu8eRJkxOTNc/e7pVtIxsyP1v9fewvp1lnb3elXTntvfc4+v11Lpx+LvKKiGbNFHB1ppe",
    "u0B6vl7Qznxpc5wNgT6wNHJGVRBd9Di+yj+hARFuuQKBgGuJWdLPbrKiFXucj39T9IFWOQ7+8H1xNy+VGwe3hZBa",
    "9cPWZWv6zgmXKtDBH1egBTFift6LJwFFw5sbrMG+H/+05n6EoI0dq3ZqK9fkOA8oOiRkPt+BlWMv9rbH9SFIE7E3",
    "B1Fj5Sln1aROfhazdyUo6cGHIcGZ6Seizmh3gNn7",
];

/// The JWK `n` of [`TEST_KEY_PKCS8`]: `openssl rsa -noout -modulus`, as unpadded base64url.
const TEST_KEY_N: [&str; 4] = [
    "mbfZWBm3BwSuYrDI6vXvKOXW9lIXPt8m6gc_IrmGvXT6AlcbOA7PC3Kz9VpuIsie5Xzs2lmxXRZewEd98Lsvf5qO",
    "ocnloR7YfKd30D3UxKqjxh3IzuDpTHeSQtbyceMBKreh2GI7il8uyw2uT7B3OTk7QsEuYAZpYCxlhkbi-Ci_O2Cd",
    "kON41MaVnNGBybYf9LXSizWVg0BkllqQZA91F6biBHrNyso6mSfeITj5ruIOIrABFMJef9V-jdnB0OS28nU02XyC",
    "xYMgug6YqKRi1L5ImlOZXgMLW4ju0-d7K3ZiCs1U2e4ycOfY8DNxrE22TZD27IVy-W3h2K3WPlrdmw",
];

#[test]
fn the_jwks_of_a_fixed_key_has_the_modulus_and_exponent_openssl_computed() {
    let pkcs8 = STANDARD
        .decode(TEST_KEY_PKCS8.concat())
        .expect("base64 test key");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(keys::KEY_FILE);
    fs::write(&path, &pkcs8).expect("write the key file");
    let key = SigningKey::load_or_create(dir.path()).expect("an existing key file loads");
    let jwks = key.jwks();
    let jwk = &jwks["keys"][0];
    assert_eq!(jwk["n"], TEST_KEY_N.concat().as_str());
    assert_eq!(jwk["e"], "AQAB");
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["alg"], "RS256");
    assert_eq!(jwk["kid"], key.kid());
    assert_eq!(
        fs::read(&path).expect("key file"),
        pkcs8,
        "the file is left as it was"
    );
    let mut claims = Map::new();
    claims.insert("sub".into(), json!("alice"));
    claims.insert("iss".into(), json!("https://issuer.test"));
    claims.insert("exp".into(), json!(4_102_444_800_u64));
    let token = key.sign(&claims).expect("sign");
    let verified = key.verify(&token, "https://issuer.test").expect("verify");
    assert_eq!(verified["sub"], "alice");
    let bad = SigningKey::from_pkcs8(&path, b"not a key");
    assert!(bad.is_err(), "a damaged key file is an error, not a panic");
}
