//! The JWT verifier against real Cognito-format tokens minted by moto server, and against forged
//! and broken tokens signed with keys generated here and served from a loopback JWKS endpoint.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::RSA_PKCS1_SHA384;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognito_claims::verify::{
    DEFAULT_JWKS_MAX_AGE, DEFAULT_JWKS_MAX_STALE, DEFAULT_JWKS_REFETCH_INTERVAL, JwtVerifier,
    VerifiedToken, VerifierConfig, VerifyError,
};
use cognito_claims::{CognitoClaims, TokenUse};
use serde_json::{Value, json};
use test_support::jwt::{TestKey, b64, cognito_id_claims};
use test_support::moto;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool";
const CLIENT: &str = "client-a";

// ---------------------------------------------------------------------------------------------
// Test keys, tokens and a loopback JWKS endpoint
// ---------------------------------------------------------------------------------------------

fn now() -> i64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(elapsed.as_secs()).expect("seconds fit in i64")
}

/// Claims of a valid Cognito id token for `CLIENT`.
fn id_claims() -> Value {
    cognito_id_claims(ISSUER, CLIENT, 3600)
}

/// Claims of a valid Cognito access token for `CLIENT`.
fn access_claims() -> Value {
    let now = now();
    json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "cognito:groups": ["admin"],
        "iss": ISSUER,
        "version": 2,
        "client_id": CLIENT,
        "origin_jti": "a6f5e4d3-c2b1-a0f9-e8d7-c6b5a4f3e2d1",
        "event_id": "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
        "token_use": "access",
        "scope": "openid notes/read notes/write",
        "auth_time": now - 10,
        "exp": now + 3600,
        "iat": now - 10,
        "jti": "d1e2f3a4-b5c6-d7e8-f9a0-b1c2d3e4f5a6",
        "username": "alice",
    })
}

fn with(mut claims: Value, claim: &str, value: Value) -> Value {
    claims[claim] = value;
    claims
}

fn without(mut claims: Value, claim: &str) -> Value {
    if let Some(object) = claims.as_object_mut() {
        object.remove(claim);
    }
    claims
}

/// A loopback HTTP server answering every request with the current (status, body) and
/// counting the requests.
struct JwksServer {
    url: String,
    response: Arc<Mutex<(u16, String)>>,
    hits: Arc<AtomicUsize>,
}

impl JwksServer {
    async fn start(keys: &[&TestKey]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let url = format!(
            "http://{}/us-east-1_TestPool/.well-known/jwks.json",
            listener.local_addr().expect("bound address")
        );
        let server = Self {
            url,
            response: Arc::new(Mutex::new((200, String::new()))),
            hits: Arc::new(AtomicUsize::new(0)),
        };
        server.publish(keys);
        let response = Arc::clone(&server.response);
        let hits = Arc::clone(&server.hits);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let response = Arc::clone(&response);
                let hits = Arc::clone(&hits);
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0_u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    hits.fetch_add(1, Ordering::SeqCst);
                    let (status, body) = response.lock().expect("response lock").clone();
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                         content-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    // A client that hung up early is not this test's concern.
                    let _ = socket.write_all(reply.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        server
    }

    /// Serves a JWKS with exactly these keys from now on.
    fn publish(&self, keys: &[&TestKey]) {
        let keys: Vec<Value> = keys.iter().map(|key| key.jwk()).collect();
        self.respond(200, &json!({ "keys": keys }).to_string());
    }

    fn respond(&self, status: u16, body: &str) {
        *self.response.lock().expect("response lock") = (status, body.to_owned());
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn config(&self) -> VerifierConfig {
        VerifierConfig {
            jwks_url: Some(self.url.clone()),
            ..VerifierConfig::new(ISSUER, [CLIENT, "client-b"])
        }
    }

    fn verifier(&self) -> JwtVerifier {
        JwtVerifier::new(self.config()).expect("valid verifier config")
    }
}

/// A clock for the verifier's key cache that moves only when the test says so.
#[derive(Clone)]
struct TestClock {
    start: Instant,
    offset: Arc<Mutex<Duration>>,
}

impl TestClock {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            offset: Arc::new(Mutex::new(Duration::ZERO)),
        }
    }

    fn advance(&self, by: Duration) {
        *self.offset.lock().expect("clock lock") += by;
    }

    /// A verifier for `config` whose key cache reads this clock.
    fn verifier(&self, config: VerifierConfig) -> JwtVerifier {
        let clock = self.clone();
        JwtVerifier::with_clock(
            config,
            Arc::new(move || clock.start + *clock.offset.lock().expect("clock lock")),
        )
        .expect("valid verifier config")
    }
}

/// Asserts that `token` is rejected with exactly `expected` (the error's message) and 401.
async fn assert_rejected(verifier: &JwtVerifier, name: &str, token: &str, expected: &str) {
    match verifier.verify(token).await {
        Ok(verified) => panic!("{name}: accepted, expected `{expected}`: {verified:?}"),
        Err(error) => {
            assert_eq!(error.to_string(), expected, "{name}");
            assert_eq!(error.status(), 401, "{name}");
        }
    }
}

async fn assert_accepted(verifier: &JwtVerifier, name: &str, token: &str) -> VerifiedToken {
    match verifier.verify(token).await {
        Ok(verified) => verified,
        Err(error) => panic!("{name}: rejected: {error}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Our own keys: valid, forged and broken tokens
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn accepts_valid_id_and_access_tokens() {
    let key = TestKey::new("k1");
    let server = JwksServer::start(&[&key]).await;
    let verifier = server.verifier();

    let id = assert_accepted(&verifier, "id token", &key.rs256(&id_claims())).await;
    assert_eq!(id.kid, "k1");
    assert_eq!(id.claims["cognito:username"], "alice");
    assert_eq!(id.cognito.token_use, TokenUse::Id);
    assert_eq!(id.cognito.client_id, CLIENT);
    assert_eq!(id.cognito.groups, ["admin", "users"]);
    assert_eq!(id.cognito.username.as_deref(), Some("alice"));
    assert_eq!(id.cognito.email.as_deref(), Some("alice@example.com"));
    assert_eq!(id.cognito.email_verified, Some(true));
    assert!(id.cognito.scopes.is_empty());

    let access = assert_accepted(&verifier, "access token", &key.rs256(&access_claims())).await;
    assert_eq!(access.cognito.token_use, TokenUse::Access);
    assert_eq!(access.cognito.client_id, CLIENT);
    assert_eq!(
        access.cognito.scopes,
        ["openid", "notes/read", "notes/write"]
    );
    assert_eq!(access.cognito.require_scope("notes/write"), Ok(()));
    assert!(access.cognito.require_scope("notes").is_err());

    // The second allowed audience works too; both tokens needed one JWKS fetch.
    let other = with(id_claims(), "aud", json!("client-b"));
    assert_accepted(&verifier, "second audience", &key.rs256(&other)).await;
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn gateway_claims_are_what_api_gateway_hands_over() {
    let key = TestKey::new("k1");
    let server = JwksServer::start(&[&key]).await;
    let claims = id_claims();
    let verified = assert_accepted(&server.verifier(), "id token", &key.rs256(&claims)).await;
    let gateway = verified.to_gateway_claims();
    let expect = |claim: &str, value: String| {
        assert_eq!(gateway.get(claim), Some(&value), "{claim}");
    };
    expect("cognito:groups", "[admin users]".to_owned());
    expect("email_verified", "true".to_owned());
    expect("exp", claims["exp"].to_string());
    expect("aud", CLIENT.to_owned());
    expect("iss", ISSUER.to_owned());
    assert_eq!(gateway.len(), claims.as_object().map_or(0, |o| o.len()));
    // A function reading these through `from_parts` sees the verifier's typed claims.
    assert_eq!(
        CognitoClaims::from_parts(&gateway, None),
        Ok(verified.cognito)
    );
}

#[tokio::test]
async fn rejects_forged_and_broken_tokens() {
    let key = TestKey::new("k1");
    let foreign = TestKey::new("k1");
    let server = JwksServer::start(&[&key]).await;
    let verifier = server.verifier();
    let now = now();
    let id = id_claims();
    let access = access_claims();
    let valid = key.rs256(&id);
    let header_b64 = b64(json!({ "alg": "RS256", "kid": "k1" }).to_string());
    let payload_b64 = b64(id.to_string());

    let flipped = {
        let (input, signature) = valid.rsplit_once('.').expect("three segments");
        let mut signature = URL_SAFE_NO_PAD.decode(signature).expect("base64 signature");
        signature[10] ^= 0x01;
        format!("{input}.{}", b64(signature))
    };
    let alg_none = format!("{}.{payload_b64}.", b64(r#"{"alg":"none","kid":"k1"}"#));
    let alg_none_signed = format!(
        "{}.{payload_b64}.{}",
        b64(r#"{"alg":"none","kid":"k1"}"#),
        valid.rsplit_once('.').expect("three segments").1
    );
    let hs256 = |secret: &[u8]| {
        let input = format!("{}.{payload_b64}", b64(r#"{"alg":"HS256","kid":"k1"}"#));
        let mac_key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
        let tag = aws_lc_rs::hmac::sign(&mac_key, input.as_bytes());
        format!("{input}.{}", b64(tag.as_ref()))
    };
    let rs384 = {
        let header = b64(r#"{"alg":"RS384","kid":"k1"}"#);
        key.sign_with(&RSA_PKCS1_SHA384, &header, &payload_b64)
    };
    let jwk_n = key.jwk()["n"].as_str().expect("n").to_owned();

    let malformed = "the token is not a well-formed JWT";
    let cases: Vec<(&str, String, &str)> = vec![
        // Signatures and algorithms.
        ("flipped signature byte", flipped, "invalid token signature"),
        (
            "foreign key under a valid kid",
            foreign.rs256(&id),
            "invalid token signature",
        ),
        (
            "signature of another token",
            format!(
                "{header_b64}.{}.{}",
                b64(access.to_string()),
                valid.rsplit_once('.').expect("3").1
            ),
            "invalid token signature",
        ),
        (
            "empty signature",
            format!("{header_b64}.{payload_b64}."),
            "invalid token signature",
        ),
        (
            "alg none",
            alg_none,
            "unsupported algorithm none: only RS256 is accepted",
        ),
        (
            "alg none with a signature",
            alg_none_signed,
            "unsupported algorithm none: only RS256 is accepted",
        ),
        (
            "HS256 keyed with the public key DER",
            hs256(&key.public_der()),
            "unsupported algorithm HS256: only RS256 is accepted",
        ),
        (
            "HS256 keyed with the JWK modulus",
            hs256(jwk_n.as_bytes()),
            "unsupported algorithm HS256: only RS256 is accepted",
        ),
        (
            "RS384 with the right key",
            rs384,
            "unsupported algorithm RS384: only RS256 is accepted",
        ),
        (
            "no kid",
            key.token(&json!({ "alg": "RS256" }), &id),
            "the token header has no signing key id (kid)",
        ),
        (
            "unknown kid",
            key.token(&json!({ "alg": "RS256", "kid": "k9" }), &id),
            "unknown signing key id",
        ),
        // Time.
        (
            "expired",
            key.rs256(&with(id.clone(), "exp", json!(now - 60))),
            "token expired",
        ),
        (
            "expired long ago",
            key.rs256(&with(id.clone(), "exp", json!(1))),
            "token expired",
        ),
        (
            "future nbf",
            key.rs256(&with(id.clone(), "nbf", json!(now + 60))),
            "token not valid yet: nbf is in the future",
        ),
        (
            "future iat",
            key.rs256(&with(id.clone(), "iat", json!(now + 60))),
            "token issued in the future: iat is in the future",
        ),
        // Issuer, audience, client id, token use.
        (
            "wrong iss",
            key.rs256(&with(
                id.clone(),
                "iss",
                json!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"),
            )),
            "issuer mismatch",
        ),
        (
            "iss with a trailing slash",
            key.rs256(&with(id.clone(), "iss", json!(format!("{ISSUER}/")))),
            "issuer mismatch",
        ),
        (
            "wrong aud",
            key.rs256(&with(id.clone(), "aud", json!("client-z"))),
            "audience mismatch: the token's `aud` is not an allowed app client",
        ),
        (
            "aud prefix",
            key.rs256(&with(id.clone(), "aud", json!("client-"))),
            "audience mismatch: the token's `aud` is not an allowed app client",
        ),
        (
            "wrong client_id",
            key.rs256(&with(access.clone(), "client_id", json!("client-z"))),
            "audience mismatch: the token's `client_id` is not an allowed app client",
        ),
        (
            "access token with aud but no client_id",
            key.rs256(&with(
                without(access.clone(), "client_id"),
                "aud",
                json!(CLIENT),
            )),
            "the token has no `client_id` claim",
        ),
        (
            "id token with client_id but no aud",
            key.rs256(&with(
                without(id.clone(), "aud"),
                "client_id",
                json!(CLIENT),
            )),
            "the token has no `aud` claim",
        ),
        (
            "unknown token_use",
            key.rs256(&with(id.clone(), "token_use", json!("refresh"))),
            "the token's `token_use` claim is not `id` or `access`",
        ),
        // Missing claims.
        (
            "missing exp",
            key.rs256(&without(id.clone(), "exp")),
            "the token has no `exp` claim",
        ),
        (
            "missing sub",
            key.rs256(&without(id.clone(), "sub")),
            "the token has no `sub` claim",
        ),
        (
            "missing token_use",
            key.rs256(&without(id.clone(), "token_use")),
            "the token has no `token_use` claim",
        ),
        (
            "missing iss",
            key.rs256(&without(id.clone(), "iss")),
            "the token has no `iss` claim",
        ),
        (
            "null sub",
            key.rs256(&with(id.clone(), "sub", Value::Null)),
            "the token has no `sub` claim",
        ),
        (
            "empty sub",
            key.rs256(&with(id.clone(), "sub", json!(""))),
            "the token's `sub` claim is not a non-empty string",
        ),
        // Wrong JSON types.
        (
            "exp as a string",
            key.rs256(&with(id.clone(), "exp", json!((now + 3600).to_string()))),
            "the token's `exp` claim is not a number of seconds",
        ),
        (
            "negative exp",
            key.rs256(&with(id.clone(), "exp", json!(-1))),
            "the token's `exp` claim is not a number of seconds",
        ),
        (
            "nbf as a string",
            key.rs256(&with(id.clone(), "nbf", json!("0"))),
            "the token's `nbf` claim is not a number of seconds",
        ),
        (
            "iat as a string",
            key.rs256(&with(id.clone(), "iat", json!("0"))),
            "the token's `iat` claim is not a number of seconds",
        ),
        (
            "auth_time as a bool",
            key.rs256(&with(id.clone(), "auth_time", json!(true))),
            "the token's `auth_time` claim is not a number of seconds",
        ),
        (
            "aud as a number",
            key.rs256(&with(id.clone(), "aud", json!(7))),
            "the token's `aud` claim is not a string",
        ),
        (
            "aud as an array",
            key.rs256(&with(id.clone(), "aud", json!([CLIENT]))),
            "the token's `aud` claim is not a string",
        ),
        (
            "client_id as an array",
            key.rs256(&with(access.clone(), "client_id", json!([CLIENT]))),
            "the token's `client_id` claim is not a string",
        ),
        (
            "iss as an array",
            key.rs256(&with(id.clone(), "iss", json!([ISSUER]))),
            "the token's `iss` claim is not a string",
        ),
        (
            "sub as a number",
            key.rs256(&with(id.clone(), "sub", json!(42))),
            "the token's `sub` claim is not a string",
        ),
        (
            "token_use as a bool",
            key.rs256(&with(id.clone(), "token_use", json!(true))),
            "the token's `token_use` claim is not a string",
        ),
        (
            "groups as a string",
            key.rs256(&with(id.clone(), "cognito:groups", json!("[admin]"))),
            "the token's `cognito:groups` claim is not an array of strings",
        ),
        (
            "groups with a number",
            key.rs256(&with(id.clone(), "cognito:groups", json!(["admin", 1]))),
            "the token's `cognito:groups` claim is not an array of strings",
        ),
        (
            "scope as an array",
            key.rs256(&with(access.clone(), "scope", json!(["notes/write"]))),
            "the token's `scope` claim is not a string",
        ),
        (
            "username as a number",
            key.rs256(&with(access.clone(), "username", json!(1))),
            "the token's `username` claim is not a string",
        ),
        (
            "email_verified as yes",
            key.rs256(&with(id.clone(), "email_verified", json!("yes"))),
            "the token's `email_verified` claim is not a boolean",
        ),
        // Malformed segments.
        (
            "two segments",
            format!("{header_b64}.{payload_b64}"),
            malformed,
        ),
        ("four segments", format!("{valid}.x"), malformed),
        ("empty token", String::new(), malformed),
        (
            "non-base64 header",
            format!("{{{header_b64}.{payload_b64}.sig"),
            malformed,
        ),
        (
            "non-JSON header",
            format!("{}.{payload_b64}.sig", b64("RS256 k1")),
            malformed,
        ),
        (
            "non-base64 payload",
            key.sign_raw(&header_b64, "not*base64"),
            malformed,
        ),
        (
            "non-JSON payload",
            key.sign_raw(&header_b64, &b64("not json")),
            malformed,
        ),
        (
            "payload not an object",
            key.sign_raw(&header_b64, &b64("[1,2]")),
            malformed,
        ),
        (
            "non-base64 signature",
            format!("{header_b64}.{payload_b64}.***"),
            malformed,
        ),
        ("Bearer prefix", format!("Bearer {valid}"), malformed),
    ];
    for (name, token, expected) in &cases {
        assert_rejected(&verifier, name, token, expected).await;
    }
    // Every kid was known or unknown after the first fetch; the unknown one did not cause a
    // second fetch within the refetch interval.
    assert_eq!(server.hits(), 1);
    // After all that, the valid token still passes.
    assert_accepted(&verifier, "valid", &valid).await;
}

#[tokio::test]
async fn leeway_is_small_and_explicit() {
    let key = TestKey::new("k1");
    let server = JwksServer::start(&[&key]).await;
    let now = now();
    let verifier = server.verifier();
    assert_eq!(verifier.config().leeway_secs, 5);
    // Within the default 5 s of leeway: accepted.
    for (claim, value) in [("exp", now - 2), ("nbf", now + 2), ("iat", now + 2)] {
        let token = key.rs256(&with(id_claims(), claim, json!(value)));
        assert_accepted(&verifier, claim, &token).await;
    }
    // Beyond it: rejected; with a larger leeway: accepted.
    let late = key.rs256(&with(id_claims(), "exp", json!(now - 30)));
    assert_rejected(&verifier, "expired 30 s ago", &late, "token expired").await;
    let lenient = JwtVerifier::new(VerifierConfig {
        leeway_secs: 120,
        ..server.config()
    })
    .expect("valid config");
    assert_accepted(&lenient, "expired 30 s ago, 120 s leeway", &late).await;
}

#[tokio::test]
async fn required_token_use() {
    let key = TestKey::new("k1");
    let server = JwksServer::start(&[&key]).await;
    let id = key.rs256(&id_claims());
    let access = key.rs256(&access_claims());
    let only = |token_use| {
        JwtVerifier::new(VerifierConfig {
            required_token_use: Some(token_use),
            ..server.config()
        })
        .expect("valid config")
    };
    let access_only = only(TokenUse::Access);
    let id_only = only(TokenUse::Id);
    assert_accepted(&access_only, "access token", &access).await;
    assert_rejected(
        &access_only,
        "id token",
        &id,
        "token_use mismatch: only access tokens are accepted",
    )
    .await;
    assert_accepted(&id_only, "id token", &id).await;
    assert_rejected(
        &id_only,
        "access token",
        &access,
        "token_use mismatch: only id tokens are accepted",
    )
    .await;
}

#[tokio::test]
async fn unknown_kids_refetch_at_most_once_per_interval() {
    let key = TestKey::new("k1");
    let server = JwksServer::start(&[&key]).await;
    let verifier = server.verifier();
    let unknown = key.token(&json!({ "alg": "RS256", "kid": "nope" }), &id_claims());

    // Many concurrent requests with an unknown kid on a cold cache: one fetch between them.
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let verifier = verifier.clone();
            let token = unknown.clone();
            tokio::spawn(async move { verifier.verify(&token).await.map(|_| ()) })
        })
        .collect();
    for attempt in attempts {
        let result = attempt.await.expect("task finished");
        assert!(
            matches!(result, Err(VerifyError::UnknownKeyId)),
            "{result:?}"
        );
    }
    assert_eq!(server.hits(), 1);

    // More unknown kids within the interval: still no refetch; known keys keep working.
    for _ in 0..5 {
        assert_rejected(&verifier, "unknown kid", &unknown, "unknown signing key id").await;
    }
    assert_accepted(&verifier, "known kid", &key.rs256(&id_claims())).await;
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn unknown_kid_refetches_again_once_the_interval_has_passed() {
    let key = TestKey::new("k1");
    let server = JwksServer::start(&[&key]).await;
    let interval = Duration::from_secs(1);
    let verifier = JwtVerifier::new(VerifierConfig {
        jwks_refetch_interval: interval,
        ..server.config()
    })
    .expect("valid config");
    let unknown = key.token(&json!({ "alg": "RS256", "kid": "nope" }), &id_claims());

    assert_rejected(&verifier, "first", &unknown, "unknown signing key id").await;
    assert_rejected(&verifier, "second", &unknown, "unknown signing key id").await;
    assert_eq!(server.hits(), 1);
    // Letting the refetch interval pass (time itself is what is under test here).
    tokio::time::sleep(interval + Duration::from_millis(200)).await;
    assert_rejected(
        &verifier,
        "after the interval",
        &unknown,
        "unknown signing key id",
    )
    .await;
    assert_rejected(&verifier, "right after", &unknown, "unknown signing key id").await;
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn key_rotation_is_picked_up() {
    let old = TestKey::new("old");
    let new = TestKey::new("new");
    let server = JwksServer::start(&[&old]).await;
    let verifier = JwtVerifier::new(VerifierConfig {
        jwks_refetch_interval: Duration::ZERO,
        ..server.config()
    })
    .expect("valid config");
    let old_token = old.rs256(&id_claims());
    let new_token = new.rs256(&id_claims());

    assert_accepted(&verifier, "old key", &old_token).await;
    assert_rejected(
        &verifier,
        "new key before rotation",
        &new_token,
        "unknown signing key id",
    )
    .await;
    assert_eq!(server.hits(), 2);

    // The issuer publishes the new key next to the old one: the new kid triggers a refetch.
    server.publish(&[&new, &old]);
    assert_accepted(&verifier, "new key after rotation", &new_token).await;
    assert_accepted(&verifier, "old key still published", &old_token).await;
    assert_eq!(server.hits(), 3);

    // The old key is withdrawn: once the keys are refetched, its tokens stop passing.
    server.publish(&[&new]);
    assert_eq!(verifier.refresh_keys().await.expect("JWKS refresh"), 1);
    assert_rejected(
        &verifier,
        "withdrawn key",
        &old_token,
        "unknown signing key id",
    )
    .await;
    assert_accepted(&verifier, "new key", &new_token).await;
}

#[tokio::test]
async fn a_withdrawn_key_is_rejected_once_the_keys_are_older_than_the_max_age() {
    let old = TestKey::new("old");
    let new = TestKey::new("new");
    let server = JwksServer::start(&[&old, &new]).await;
    let clock = TestClock::new();
    let verifier = clock.verifier(server.config());
    let old_token = old.rs256(&id_claims());
    let new_token = new.rs256(&id_claims());
    assert_eq!(server.config().jwks_max_age, Duration::from_secs(3600));

    assert_accepted(&verifier, "old key", &old_token).await;
    assert_eq!(server.hits(), 1);
    // The issuer withdraws the old key. Within the max age the cache is trusted as it is.
    server.publish(&[&new]);
    clock.advance(DEFAULT_JWKS_MAX_AGE - Duration::from_secs(1));
    assert_accepted(&verifier, "old key within the max age", &old_token).await;
    assert_eq!(server.hits(), 1);
    // Past the max age the next token refetches, whatever its kid, and the cache is replaced.
    clock.advance(Duration::from_secs(1));
    assert_rejected(
        &verifier,
        "withdrawn key past the max age",
        &old_token,
        "unknown signing key id",
    )
    .await;
    assert_eq!(server.hits(), 2);
    assert_accepted(&verifier, "the key still published", &new_token).await;
    assert_eq!(server.hits(), 2);

    // A configured max age applies the same way.
    let server = JwksServer::start(&[&old]).await;
    let clock = TestClock::new();
    let verifier = clock.verifier(VerifierConfig {
        jwks_max_age: Duration::from_secs(60),
        ..server.config()
    });
    assert_accepted(&verifier, "old key", &old_token).await;
    server.publish(&[&new]);
    clock.advance(Duration::from_secs(60));
    assert_rejected(&verifier, "withdrawn", &old_token, "unknown signing key id").await;
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn cached_keys_keep_verifying_while_the_jwks_endpoint_fails() {
    let key = TestKey::new("k1");
    let server = JwksServer::start(&[&key]).await;
    let clock = TestClock::new();
    let verifier = clock.verifier(server.config());
    let token = key.rs256(&id_claims());
    assert_accepted(&verifier, "first", &token).await;
    assert_eq!(server.hits(), 1);

    server.respond(503, "down");
    clock.advance(DEFAULT_JWKS_MAX_AGE);
    assert_accepted(&verifier, "stale keys, refetch failed", &token).await;
    assert_eq!(server.hits(), 2);
    // Failed refetches are retried at most once per refetch interval.
    assert_accepted(&verifier, "within the refetch interval", &token).await;
    assert_eq!(server.hits(), 2);
    clock.advance(DEFAULT_JWKS_REFETCH_INTERVAL);
    assert_accepted(&verifier, "next retry failed too", &token).await;
    assert_eq!(server.hits(), 3);
    // Until the keys are older than the max age plus the max staleness.
    clock.advance(DEFAULT_JWKS_MAX_STALE - DEFAULT_JWKS_REFETCH_INTERVAL - Duration::from_secs(1));
    assert_accepted(&verifier, "last second of staleness", &token).await;
    assert_eq!(server.hits(), 4);
    clock.advance(DEFAULT_JWKS_REFETCH_INTERVAL);
    match verifier.verify(&token).await {
        Err(error @ VerifyError::KeysUnavailable(_)) => {
            assert_eq!(error.status(), 503);
            let message = error.to_string();
            assert!(message.contains("could not be refetched"), "{message}");
            assert!(message.contains("answered HTTP 503"), "{message}");
        }
        other => panic!("keys past max age + max stale must not verify: {other:?}"),
    }
    assert_eq!(server.hits(), 5);
    // Within the refetch interval, still refused without a fetch.
    let refused = verifier.verify(&token).await;
    assert!(
        matches!(refused, Err(VerifyError::KeysUnavailable(_))),
        "{refused:?}"
    );
    assert_eq!(server.hits(), 5);

    // The endpoint recovers: the next attempt fetches fresh keys.
    server.publish(&[&key]);
    clock.advance(DEFAULT_JWKS_REFETCH_INTERVAL);
    assert_accepted(&verifier, "after recovery", &token).await;
    assert_eq!(server.hits(), 6);
    clock.advance(DEFAULT_JWKS_MAX_AGE - Duration::from_secs(1));
    assert_accepted(&verifier, "fresh again", &token).await;
    assert_eq!(server.hits(), 6);
}

#[tokio::test]
async fn jwks_failures_are_server_errors() {
    let key = TestKey::new("k1");
    let server = JwksServer::start(&[&key]).await;
    let verifier = server.verifier();
    let token = key.rs256(&id_claims());

    async fn unavailable(verifier: &JwtVerifier, token: &str, expected: &str) {
        match verifier.verify(token).await {
            Err(error @ VerifyError::KeysUnavailable(_)) => {
                assert_eq!(error.status(), 503);
                let message = error.to_string();
                assert!(message.contains(expected), "{message:?} lacks {expected:?}");
            }
            other => panic!("expected KeysUnavailable containing {expected:?}, got {other:?}"),
        }
    }

    server.respond(500, "oops");
    unavailable(&verifier, &token, "answered HTTP 500").await;
    // Within the interval the failure is remembered rather than retried.
    unavailable(&verifier, &token, "the last JWKS fetch failed").await;
    assert_eq!(server.hits(), 1);

    for (status, body, expected) in [
        (500, "oops", "answered HTTP 500"),
        (404, "{}", "answered HTTP 404"),
        (200, "<html>", "is not a JSON Web Key Set"),
        (200, r#"{"keys": "none"}"#, "is not a JSON Web Key Set"),
    ] {
        server.respond(status, body);
        let verifier = server.verifier();
        unavailable(&verifier, &token, expected).await;
        let refreshed = verifier.refresh_keys().await;
        assert!(refreshed.is_err(), "{refreshed:?}");
    }
    let huge = format!(r#"{{"keys": [], "pad": "{}"}}"#, "x".repeat(300 * 1024));
    server.respond(200, &huge);
    unavailable(&server.verifier(), &token, "is larger than").await;

    // Nobody listening.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        listener.local_addr().expect("address")
    };
    let verifier = JwtVerifier::new(VerifierConfig {
        jwks_url: Some(format!("http://{closed}/jwks.json")),
        ..server.config()
    })
    .expect("valid config");
    unavailable(&verifier, &token, "fetching the JWKS from").await;

    // Once the endpoint recovers, a verifier whose fetch failed recovers after the interval.
    server.publish(&[&key]);
    let verifier = JwtVerifier::new(VerifierConfig {
        jwks_refetch_interval: Duration::ZERO,
        ..server.config()
    })
    .expect("valid config");
    server.respond(503, "busy");
    unavailable(&verifier, &token, "answered HTTP 503").await;
    server.publish(&[&key]);
    assert_accepted(&verifier, "after recovery", &token).await;
}

// ---------------------------------------------------------------------------------------------
// Real Cognito-format tokens from moto server
// ---------------------------------------------------------------------------------------------

async fn moto_sign_in() -> moto::SignedIn {
    moto::sign_in(
        &moto::sdk_config(&moto::endpoint()),
        "cognito-claims",
        &["admin"],
    )
    .await
}

/// A verifier for `sign_in`'s pool: moto names the real AWS host in `iss` but serves the JWKS
/// itself.
fn moto_verifier(sign_in: &moto::SignedIn, edit: impl FnOnce(&mut VerifierConfig)) -> JwtVerifier {
    let mut config = VerifierConfig {
        jwks_url: Some(sign_in.jwks_url()),
        ..VerifierConfig::for_user_pool(
            moto::REGION,
            &sign_in.pool_id,
            [sign_in.client_id.as_str()],
        )
    };
    edit(&mut config);
    JwtVerifier::new(config).expect("valid verifier config")
}

#[tokio::test]
async fn moto_cognito_tokens() {
    let sign_in = moto_sign_in().await;
    let verifier = moto_verifier(&sign_in, |_| {});

    let id = assert_accepted(&verifier, "moto id token", &sign_in.id_token).await;
    assert_eq!(id.kid, "dummy");
    assert_eq!(id.cognito.token_use, TokenUse::Id);
    assert_eq!(id.cognito.client_id, sign_in.client_id);
    assert_eq!(id.cognito.groups, ["admin"]);
    assert_eq!(id.cognito.require_group("admin"), Ok(()));
    assert_eq!(
        id.cognito.username.as_deref(),
        Some(sign_in.username.as_str())
    );
    assert_eq!(id.cognito.email.as_deref(), Some(sign_in.email.as_str()));
    assert!(!id.cognito.sub.is_empty());

    let access = assert_accepted(&verifier, "moto access token", &sign_in.access_token).await;
    assert_eq!(access.kid, "dummy");
    assert_eq!(access.cognito.token_use, TokenUse::Access);
    assert_eq!(access.cognito.client_id, sign_in.client_id);
    assert_eq!(access.cognito.sub, id.cognito.sub);
    assert_eq!(access.cognito.groups, ["admin"]);
    assert_eq!(
        access.cognito.username.as_deref(),
        Some(sign_in.username.as_str())
    );
    assert_eq!(
        access
            .cognito
            .require_scope("aws.cognito.signin.user.admin"),
        Ok(())
    );

    // What API Gateway would hand the function reads back to the same claims.
    for verified in [&id, &access] {
        let gateway: HashMap<String, String> = verified.to_gateway_claims();
        assert_eq!(
            gateway.get("cognito:groups").map(String::as_str),
            Some("[admin]")
        );
        assert_eq!(
            CognitoClaims::from_parts(&gateway, None).as_ref(),
            Ok(&verified.cognito)
        );
    }

    // Wrong audience: neither `aud` nor `client_id` is accepted.
    let other_client = moto_verifier(&sign_in, |c| c.audiences = vec!["some-other-client".into()]);
    assert_rejected(
        &other_client,
        "id token, wrong audience",
        &sign_in.id_token,
        "audience mismatch: the token's `aud` is not an allowed app client",
    )
    .await;
    assert_rejected(
        &other_client,
        "access token, wrong audience",
        &sign_in.access_token,
        "audience mismatch: the token's `client_id` is not an allowed app client",
    )
    .await;

    // Required token_use.
    let access_only = moto_verifier(&sign_in, |c| c.required_token_use = Some(TokenUse::Access));
    assert_rejected(
        &access_only,
        "id token where access is required",
        &sign_in.id_token,
        "token_use mismatch: only access tokens are accepted",
    )
    .await;
    assert_accepted(&access_only, "access token", &sign_in.access_token).await;
    let id_only = moto_verifier(&sign_in, |c| c.required_token_use = Some(TokenUse::Id));
    assert_rejected(
        &id_only,
        "access token where id is required",
        &sign_in.access_token,
        "token_use mismatch: only id tokens are accepted",
    )
    .await;

    // Another pool's issuer.
    let other_pool = moto_verifier(&sign_in, |c| {
        c.issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other".into();
    });
    assert_rejected(
        &other_pool,
        "other issuer",
        &sign_in.id_token,
        "issuer mismatch",
    )
    .await;

    // A tampered moto token (claims changed, signature kept).
    let (header, rest) = sign_in.id_token.split_once('.').expect("three segments");
    let (_, signature) = rest.split_once('.').expect("three segments");
    let mut claims = id.claims.clone();
    claims.insert("cognito:groups".into(), json!(["admin", "superuser"]));
    let tampered = format!(
        "{header}.{}.{signature}",
        b64(Value::Object(claims).to_string())
    );
    assert_rejected(&verifier, "tampered", &tampered, "invalid token signature").await;
}
