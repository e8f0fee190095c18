//! Tests of the local issuer: its router served on a loopback port and driven with reqwest
//! (redirects not followed, so that every `Location` can be checked).

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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("local addr"));
    let config = IssuerConfig::new(
        state_dir,
        &base,
        CLIENT_ID,
        SECRET,
        [CALLBACK, OTHER_CALLBACK],
    );
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

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
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
    assert!(matches!(
        add_user_to_group(dir.path(), "dev@example.com", "two words"),
        Err(IssuerError::InvalidGroup(_))
    ));

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
    assert_eq!(id["cognito:groups"], json!(["admin", "editors"]));
    assert_eq!(access["cognito:groups"], json!(["admin", "editors"]));

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
    assert_eq!(access["cognito:groups"], json!(["admin", "editors"]));

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
