//! Fuzz target `jwt_parse`: arbitrary bytes through the JWT verifier of `cognito-claims`
//! (feature `verify`, what the local gateway's authorizer runs on every `Authorization` header).
//!
//! The verifier trusts one RSA key generated at start-up, installed from an in-memory JWKS
//! (`JwtVerifier::install_keys`) with a refetch interval and a maximum key age of a century, so
//! no input ever causes a fetch: `verify` then completes on its first poll, and [`block_on`]
//! asserts that it does. The first input byte picks what the rest is:
//! - 0, 1: the whole token, as a client would send it after `Bearer ` (header, payload and
//!   signature all fuzzed; the signature check rejects almost everything, the header and
//!   segment parsing are what get exercised);
//! - 2: the claims (payload) of a token with the right header, signed with the trusted key, so
//!   that fuzzed claims reach the claim checks (`iss`, `aud`/`client_id`, `token_use`, times,
//!   JSON types) and `CognitoClaims::from_parts`;
//! - 3: the header of a token with valid claims, signed with the trusted key.
//!
//! It must never panic. Every rejection must be a 401 (the keys are always there, so never the
//! 503 of unavailable keys), and an unsupported algorithm is only ever named when it is a
//! well-known one. For an accepted token it asserts what a verified token promises: the trusted
//! `kid`, the configured issuer and client, an `exp` that has not passed, typed claims equal to
//! what a function behind API Gateway would read from the same claims (groups included, except
//! that API Gateway's flattened `[a b]` form splits a name containing whitespace, which no
//! Cognito group name has), and that the token is rejected once one character of its signature
//! is changed.

#![no_main]

use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognito_claims::CognitoClaims;
use cognito_claims::verify::{JwtVerifier, VerifiedToken, VerifierConfig, VerifyError};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_FuzzPool";
const CLIENT: &str = "fuzz-client";
const KID: &str = "fuzz-key";
/// The algorithm names the verifier may repeat in an error (its `KNOWN_ALGORITHMS`).
const NAMEABLE_ALGORITHMS: [&str; 17] = [
    "none",
    "HS256",
    "HS384",
    "HS512",
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "ES256K",
    "EdDSA",
    "(unrecognised)",
    "(missing)",
];

/// The verifier and the private half of the one key it trusts.
struct Fixture {
    verifier: JwtVerifier,
    key: KeyPair,
    random: SystemRandom,
}

impl Fixture {
    fn new() -> Self {
        let key = KeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
        let public = key.public_key();
        let jwks = json!({ "keys": [{
            "kty": "RSA",
            "kid": KID,
            "alg": "RS256",
            "use": "sig",
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
        }]});
        let mut config = VerifierConfig::new(ISSUER, [CLIENT]);
        // Nothing listens there, and the interval and maximum age mean it is never asked anyway.
        config.jwks_url = Some("http://127.0.0.1:1/.well-known/jwks.json".to_owned());
        config.jwks_refetch_interval = Duration::from_secs(100 * 365 * 24 * 3600);
        config.jwks_max_age = config.jwks_refetch_interval;
        let verifier = JwtVerifier::new(config).expect("a valid verifier configuration");
        let installed = verifier.install_keys(jwks.to_string().as_bytes());
        assert_eq!(installed.ok(), Some(1), "the fixture's JWKS holds one key");
        Self {
            verifier,
            key,
            random: SystemRandom::new(),
        }
    }

    /// `header.payload.signature` with the two segments as given (already base64url).
    fn sign(&self, header: &str, payload: &str) -> String {
        let input = format!("{header}.{payload}");
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &self.random,
                input.as_bytes(),
                &mut signature,
            )
            .expect("RS256 signing");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(Fixture::new)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let fixture = fixture();
    let token = match mode % 4 {
        0 | 1 => match std::str::from_utf8(rest) {
            Ok(token) => token.to_owned(),
            Err(_) => return,
        },
        2 => fixture.sign(
            &b64(json!({ "alg": "RS256", "kid": KID }).to_string()),
            &b64(rest),
        ),
        _ => fixture.sign(&b64(rest), &b64(valid_claims().to_string())),
    };
    match block_on(fixture.verifier.verify(&token)) {
        Ok(verified) => check_accepted(fixture, &token, &verified),
        Err(error) => check_rejected(&error),
    }
});

fn check_accepted(fixture: &Fixture, token: &str, verified: &VerifiedToken) {
    assert_eq!(verified.kid, KID);
    assert_eq!(
        verified.claims.get("iss").and_then(Value::as_str),
        Some(ISSUER)
    );
    let cognito = &verified.cognito;
    assert_eq!(cognito.client_id, CLIENT);
    assert!(!cognito.sub.is_empty());
    assert_eq!(
        verified.claims.get("token_use").and_then(Value::as_str),
        Some(cognito.token_use.as_str())
    );
    let leeway = i64::try_from(fixture.verifier.config().leeway_secs).unwrap_or(i64::MAX);
    assert!(
        cognito.exp.saturating_add(leeway) >= now() - 1,
        "an expired token was accepted: exp {}",
        cognito.exp
    );
    // What a function behind API Gateway reads from the same claims.
    let gateway = CognitoClaims::from_parts(&verified.to_gateway_claims(), None);
    let split_groups: Vec<String> = cognito
        .groups
        .iter()
        .flat_map(|group| group.split_whitespace())
        .map(str::to_owned)
        .collect();
    let as_flattened = CognitoClaims {
        groups: split_groups,
        ..cognito.clone()
    };
    assert_eq!(gateway.as_ref(), Ok(&as_flattened));

    // One changed character of the signature: the first one carries six signature bits.
    let (signed, signature) = token
        .rsplit_once('.')
        .expect("a verified token has 3 parts");
    let mut tampered: Vec<u8> = signature.bytes().collect();
    tampered[0] = if tampered[0] == b'A' { b'B' } else { b'A' };
    let tampered = format!(
        "{signed}.{}",
        String::from_utf8(tampered).expect("base64 is ASCII")
    );
    assert!(
        block_on(fixture.verifier.verify(&tampered)).is_err(),
        "a token with a changed signature was accepted"
    );
}

fn check_rejected(error: &VerifyError) {
    assert_eq!(error.status(), 401, "{error}");
    if let VerifyError::UnsupportedAlgorithm { alg } = error {
        assert!(
            NAMEABLE_ALGORITHMS.contains(&alg.as_str()),
            "an error repeats the token's algorithm {alg:?}"
        );
    }
    let _ = error.to_string();
}

/// Claims of a valid id token for the fixture's issuer and client.
fn valid_claims() -> Value {
    let now = now();
    json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "iss": ISSUER,
        "aud": CLIENT,
        "token_use": "id",
        "cognito:groups": ["admin"],
        "email_verified": true,
        "auth_time": now,
        "iat": now,
        "exp": now + 3600,
    })
}

/// A token segment: base64url without padding.
fn b64(segment: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(segment)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Polls `future` once: with its keys installed, the verifier never waits (only a JWKS fetch
/// would), so anything but `Ready` is a bug — and would otherwise be a network access.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the verifier waited (for a JWKS fetch?) with its keys installed"),
    }
}
