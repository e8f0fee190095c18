//! JWT verification with the rules of API Gateway's JWT authorizer and Amazon Cognito's token
//! format, for running the API without AWS (feature `verify`).
//!
//! A token passes [`JwtVerifier::verify`] when:
//! - it is three base64url segments, its header says `alg: RS256` (every other algorithm,
//!   `none` and HS256 included, is rejected) and names a `kid`;
//! - that `kid` is in the issuer's JWKS and the RS256 signature verifies with that key. The JWKS
//!   is fetched over HTTP and cached: an unknown `kid` triggers at most one refetch per
//!   [`VerifierConfig::jwks_refetch_interval`], which picks up key rotation; a cache older than
//!   [`VerifierConfig::jwks_max_age`] (default 1 hour) is refetched before the next token is
//!   checked and replaced by what the issuer publishes now, so a withdrawn key stops verifying.
//!   While refetching fails (retried at most once per refetch interval, each failure logged at
//!   WARN with the keys' age), the cached keys keep verifying for at most
//!   [`VerifierConfig::jwks_max_stale`] (default 1 hour) past the maximum age; after that,
//!   tokens get [`VerifyError::KeysUnavailable`] (503) until a fetch succeeds;
//! - `iss` equals [`VerifierConfig::issuer`] exactly;
//! - `token_use` is `id` or `access` (and the required one, if configured); an id token's `aud`
//!   or an access token's `client_id` is one of [`VerifierConfig::audiences`];
//! - `exp` is present and not in the past, `nbf` and `iat` (if present) are not in the future,
//!   each with [`VerifierConfig::leeway_secs`] of tolerance;
//! - every claim it uses has the right JSON type (times are numbers, `cognito:groups` is an
//!   array of strings, `aud` a string, ...).

mod config;
mod error;
mod gateway;
mod jwks;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use crate::{CognitoClaims, TokenUse};

pub use config::{
    DEFAULT_JWKS_MAX_AGE, DEFAULT_JWKS_MAX_STALE, DEFAULT_JWKS_REFETCH_INTERVAL,
    DEFAULT_JWKS_TIMEOUT, DEFAULT_LEEWAY_SECS, MAX_LEEWAY_SECS, VerifierConfig,
};
pub use error::{ConfigError, JwksError, VerifyError};
pub use gateway::gateway_claims;

/// Longest token accepted, in bytes; Cognito tokens are a few KiB at most.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// A token that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedToken {
    /// The header's key id: which JWKS key signed the token.
    pub kid: String,
    /// All claims of the token, as JSON.
    pub claims: Map<String, Value>,
    /// The typed Cognito claims: the scalar claims read the same way a function reads them
    /// behind API Gateway, `cognito:groups` taken from the token's JSON array as it is.
    pub cognito: CognitoClaims,
}

impl VerifiedToken {
    /// The claims in the string form API Gateway hands to functions
    /// (`requestContext.authorizer.jwt.claims`); see [`gateway_claims`].
    #[must_use]
    pub fn to_gateway_claims(&self) -> HashMap<String, String> {
        gateway_claims(&self.claims)
    }
}

/// The time source of a verifier's key cache (the age of the keys, the refetch interval):
/// [`Instant::now`] for [`JwtVerifier::new`]; tests pass a clock they move by hand to
/// [`JwtVerifier::with_clock`]. Token times (`exp`, `nbf`, `iat`) are always checked against
/// the system clock.
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// Verifies Cognito JWTs against one issuer. Cheap to clone; clones share the key cache.
#[derive(Debug, Clone)]
pub struct JwtVerifier {
    inner: Arc<Inner>,
}

impl JwtVerifier {
    /// A verifier for `config`. No network access happens until the first token (or
    /// [`JwtVerifier::refresh_keys`]).
    ///
    /// # Errors
    /// [`ConfigError`] when the issuer or an audience is empty, no audience is allowed, the JWKS
    /// URL is not an http(s) URL, the leeway exceeds [`MAX_LEEWAY_SECS`], or the HTTP client
    /// cannot be built.
    pub fn new(config: VerifierConfig) -> Result<Self, ConfigError> {
        Self::with_clock(config, Arc::new(Instant::now))
    }

    /// [`JwtVerifier::new`] with the key cache reading the time from `clock`.
    ///
    /// # Errors
    /// As [`JwtVerifier::new`].
    pub fn with_clock(config: VerifierConfig, clock: Clock) -> Result<Self, ConfigError> {
        if config.issuer.is_empty() {
            return Err(ConfigError::EmptyIssuer);
        }
        if config.audiences.is_empty() {
            return Err(ConfigError::NoAudiences);
        }
        if config.audiences.iter().any(String::is_empty) {
            return Err(ConfigError::EmptyAudience);
        }
        if config.leeway_secs > MAX_LEEWAY_SECS {
            return Err(ConfigError::LeewayTooLarge {
                secs: config.leeway_secs,
                max: MAX_LEEWAY_SECS,
            });
        }
        let jwks_url = config.effective_jwks_url();
        let is_http = reqwest::Url::parse(&jwks_url)
            .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.has_host());
        if !is_http {
            return Err(ConfigError::InvalidJwksUrl { url: jwks_url });
        }
        let http = reqwest::Client::builder()
            .timeout(config.jwks_timeout)
            .build()
            .map_err(ConfigError::HttpClient)?;

        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = config.leeway_secs;
        validation.set_issuer(&[config.issuer.as_str()]);
        // `exp` is required, but `jsonwebtoken` would report an `exp` of the wrong JSON type as
        // missing; `check_claims` requires it with precise errors instead.
        validation.set_required_spec_claims::<&str>(&[]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        // Cognito access tokens carry `client_id` instead of `aud`: checked in `check_claims`.
        validation.validate_aud = false;

        let timing = jwks::Timing {
            refetch_interval: config.jwks_refetch_interval,
            max_age: config.jwks_max_age,
            max_stale: config.jwks_max_stale,
        };
        let keys = jwks::KeyStore::new(jwks_url, http, timing, clock);
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                validation,
                keys,
            }),
        })
    }

    /// The configuration this verifier was built with.
    #[must_use]
    pub fn config(&self) -> &VerifierConfig {
        &self.inner.config
    }

    /// Fetches the JWKS now (e.g. at startup, to fail fast), whatever the refetch interval.
    /// Returns how many usable RS256 keys it holds.
    ///
    /// # Errors
    /// [`JwksError`] when the JWKS cannot be fetched or parsed; the previous keys stay in use.
    pub async fn refresh_keys(&self) -> Result<usize, JwksError> {
        self.inner.keys.refresh().await
    }

    /// Installs the keys of a JWKS document held in memory (read from a file, or built by a
    /// test) as if it had just been fetched from the JWKS URL. Returns how many usable RS256
    /// keys it holds.
    ///
    /// Until [`VerifierConfig::jwks_refetch_interval`] has passed, a token naming another `kid`
    /// is rejected with [`VerifyError::UnknownKeyId`] without a fetch; with a long interval the
    /// verifier never touches the network (offline use, tests, the fuzz targets in `fuzz/`).
    /// Installed keys age like fetched ones: past [`VerifierConfig::jwks_max_age`] the verifier
    /// tries the JWKS URL, so offline use needs a long maximum age too.
    ///
    /// # Errors
    /// [`JwksError::TooLarge`] or [`JwksError::Parse`] when the document is not a usable key
    /// set; the previous keys stay in use.
    pub fn install_keys(&self, document: &[u8]) -> Result<usize, JwksError> {
        self.inner.keys.install(document)
    }

    /// Checks `token` (the bare JWT, without a `Bearer ` prefix) as described in the
    /// [module documentation](self).
    ///
    /// # Errors
    /// A [`VerifyError`] saying which check failed; [`VerifyError::status`] maps it to 401, or
    /// to 503 when the signing keys could not be fetched.
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, VerifyError> {
        let kid = check_header(token)?;
        let key = self.inner.keys.key(&kid).await?;
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &self.inner.validation)
            .map_err(from_jwt_error)?;
        let claims = data.claims;
        check_claims(&claims, &self.inner.config, now_secs())?;
        let cognito = typed_claims(&claims)?;
        Ok(VerifiedToken {
            kid,
            claims,
            cognito,
        })
    }
}

/// The parts of a verifier that its clones share.
#[derive(Debug)]
struct Inner {
    config: VerifierConfig,
    validation: Validation,
    keys: jwks::KeyStore,
}

/// Algorithm names repeated in [`VerifyError::UnsupportedAlgorithm`]; anything else is reported
/// as unrecognised so that error messages never echo arbitrary token contents.
const KNOWN_ALGORITHMS: [&str; 15] = [
    "none", "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
    "ES256", "ES384", "ES512", "ES256K", "EdDSA",
];

/// Checks the token's shape and header; returns its `kid`.
fn check_header(token: &str) -> Result<String, VerifyError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(VerifyError::Malformed);
    }
    let mut segments = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(VerifyError::Malformed);
    };
    let header = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| VerifyError::Malformed)?;
    let header: Map<String, Value> =
        serde_json::from_slice(&header).map_err(|_| VerifyError::Malformed)?;
    match header.get("alg") {
        Some(Value::String(alg)) if alg == "RS256" => {}
        Some(Value::String(alg)) => {
            let alg = if KNOWN_ALGORITHMS.contains(&alg.as_str()) {
                alg.clone()
            } else {
                "(unrecognised)".to_owned()
            };
            return Err(VerifyError::UnsupportedAlgorithm { alg });
        }
        _ => {
            return Err(VerifyError::UnsupportedAlgorithm {
                alg: "(missing)".to_owned(),
            });
        }
    }
    match header.get("kid") {
        Some(Value::String(kid)) if !kid.is_empty() => Ok(kid.clone()),
        _ => Err(VerifyError::MissingKeyId),
    }
}

/// Maps `jsonwebtoken`'s signature and standard-claim failures to ours.
fn from_jwt_error(error: jsonwebtoken::errors::Error) -> VerifyError {
    match error.kind() {
        ErrorKind::InvalidSignature => VerifyError::InvalidSignature,
        ErrorKind::ExpiredSignature => VerifyError::Expired,
        ErrorKind::ImmatureSignature => VerifyError::NotYetValid,
        ErrorKind::InvalidIssuer => VerifyError::IssuerMismatch,
        ErrorKind::MissingRequiredClaim(claim) => VerifyError::MissingClaim {
            claim: static_claim_name(claim),
        },
        ErrorKind::InvalidClaimFormat(claim) => VerifyError::InvalidClaim {
            claim: static_claim_name(claim),
            expected: "a number of seconds",
        },
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
            VerifyError::UnsupportedAlgorithm {
                alg: "(unrecognised)".to_owned(),
            }
        }
        ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat | ErrorKind::Provider(_) => {
            tracing::warn!(%error, "a JWKS key could not be used to check a signature");
            VerifyError::InvalidSignature
        }
        _ => VerifyError::Malformed,
    }
}

/// The registered claim names `jsonwebtoken` reports, as `'static` strings.
fn static_claim_name(claim: &str) -> &'static str {
    match claim {
        "exp" => "exp",
        "nbf" => "nbf",
        "iat" => "iat",
        "iss" => "iss",
        "sub" => "sub",
        "aud" => "aud",
        _ => "(registered claim)",
    }
}

/// The checks API Gateway and Cognito make beyond the signature, with strict JSON types.
fn check_claims(
    claims: &Map<String, Value>,
    config: &VerifierConfig,
    now: i64,
) -> Result<(), VerifyError> {
    let leeway = i64::try_from(config.leeway_secs).unwrap_or(i64::MAX);

    if required_str(claims, "iss")? != config.issuer {
        return Err(VerifyError::IssuerMismatch);
    }
    if required_str(claims, "sub")?.is_empty() {
        return Err(VerifyError::InvalidClaim {
            claim: "sub",
            expected: "a non-empty string",
        });
    }
    let token_use = TokenUse::from_claim(required_str(claims, "token_use")?).ok_or(
        VerifyError::InvalidClaim {
            claim: "token_use",
            expected: "`id` or `access`",
        },
    )?;
    if let Some(expected) = config.required_token_use
        && expected != token_use
    {
        return Err(VerifyError::TokenUseMismatch { expected });
    }
    let client_claim = token_use.client_id_claim();
    let client_id = required_str(claims, client_claim)?;
    if !config.audiences.iter().any(|allowed| allowed == client_id) {
        return Err(VerifyError::AudienceMismatch {
            claim: client_claim,
        });
    }

    let exp = seconds(claims, "exp")?.ok_or(VerifyError::MissingClaim { claim: "exp" })?;
    if exp.saturating_add(leeway) < now {
        return Err(VerifyError::Expired);
    }
    if seconds(claims, "nbf")?.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err(VerifyError::NotYetValid);
    }
    if seconds(claims, "iat")?.is_some_and(|iat| iat > now.saturating_add(leeway)) {
        return Err(VerifyError::IssuedInFuture);
    }
    seconds(claims, "auth_time")?;

    for claim in ["scope", "username", "cognito:username", "email"] {
        if claims.get(claim).is_some_and(|value| !value.is_string()) {
            return Err(VerifyError::InvalidClaim {
                claim,
                expected: "a string",
            });
        }
    }
    if let Some(groups) = claims.get("cognito:groups") {
        let is_string_list = groups
            .as_array()
            .is_some_and(|items| items.iter().all(Value::is_string));
        if !is_string_list {
            return Err(VerifyError::InvalidClaim {
                claim: "cognito:groups",
                expected: "an array of strings",
            });
        }
    }
    // Cognito writes a boolean, but federated users' attributes can arrive as "true"/"false".
    if let Some(verified) = claims.get("email_verified") {
        let usable = verified.is_boolean()
            || verified
                .as_str()
                .is_some_and(|text| text == "true" || text == "false");
        if !usable {
            return Err(VerifyError::InvalidClaim {
                claim: "email_verified",
                expected: "a boolean",
            });
        }
    }
    Ok(())
}

/// The typed Cognito claims of a verified token. Scalar claims are read from their API Gateway
/// string form, as a function behind API Gateway reads them; `cognito:groups` is the token's
/// JSON array itself (checked by [`check_claims`] to hold only strings), never its flattened
/// text re-parsed.
fn typed_claims(claims: &Map<String, Value>) -> Result<CognitoClaims, VerifyError> {
    let groups = claims
        .get("cognito:groups")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let mut flat = gateway_claims(claims);
    flat.remove("cognito:groups");
    Ok(CognitoClaims::from_parts_with_groups(&flat, None, groups)?)
}

/// A required string claim.
fn required_str<'a>(
    claims: &'a Map<String, Value>,
    claim: &'static str,
) -> Result<&'a str, VerifyError> {
    match claims.get(claim) {
        None | Some(Value::Null) => Err(VerifyError::MissingClaim { claim }),
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(VerifyError::InvalidClaim {
            claim,
            expected: "a string",
        }),
    }
}

/// An optional NumericDate claim (seconds since the Unix epoch; fractions are truncated).
fn seconds(claims: &Map<String, Value>, claim: &'static str) -> Result<Option<i64>, VerifyError> {
    const MAX_EXACT: f64 = 9_007_199_254_740_992.0;
    let invalid = VerifyError::InvalidClaim {
        claim,
        expected: "a number of seconds",
    };
    match claims.get(claim) {
        None => Ok(None),
        Some(Value::Number(number)) => match (number.as_i64(), number.as_f64()) {
            (Some(whole), _) => Ok(Some(whole)),
            // Finite and within ±2^53, so the truncated value converts exactly.
            (None, Some(float)) if float.is_finite() && float.abs() <= MAX_EXACT => {
                Ok(Some(float.trunc() as i64))
            }
            _ => Err(invalid),
        },
        Some(_) => Err(invalid),
    }
}

/// Seconds since the Unix epoch.
fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_support::jwt::TestKey;

    fn encode(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn header_checks() {
        fn check(token: &str, expected: Result<&str, &str>) {
            let got = check_header(token).map_err(|e| e.to_string());
            assert_eq!(
                got.as_deref().map_err(String::as_str),
                expected,
                "token {token:?}"
            );
        }
        let body = encode("{}");
        let rs256 = encode(r#"{"alg":"RS256","kid":"k1"}"#);
        check(&format!("{rs256}.{body}.sig"), Ok("k1"));
        check(&format!("{rs256}.{body}."), Ok("k1"));
        check(
            &format!("{rs256}.{body}"),
            Err("the token is not a well-formed JWT"),
        );
        check(
            &format!("{rs256}.{body}.sig.x"),
            Err("the token is not a well-formed JWT"),
        );
        check("", Err("the token is not a well-formed JWT"));
        check("!!!.e30.sig", Err("the token is not a well-formed JWT"));
        check(
            &format!("{}.{body}.sig", encode("not json")),
            Err("the token is not a well-formed JWT"),
        );
        check(
            &format!("{}.{body}.sig", encode("[1]")),
            Err("the token is not a well-formed JWT"),
        );
        check(
            &format!("{rs256}=.{body}.sig"),
            Err("the token is not a well-formed JWT"),
        );
        check(
            &format!("{}.{body}.", encode(r#"{"alg":"none","kid":"k1"}"#)),
            Err("unsupported algorithm none: only RS256 is accepted"),
        );
        check(
            &format!("{}.{body}.sig", encode(r#"{"alg":"HS256","kid":"k1"}"#)),
            Err("unsupported algorithm HS256: only RS256 is accepted"),
        );
        check(
            &format!("{}.{body}.sig", encode(r#"{"alg":"rs256","kid":"k1"}"#)),
            Err("unsupported algorithm (unrecognised): only RS256 is accepted"),
        );
        check(
            &format!("{}.{body}.sig", encode(r#"{"alg":"<script>","kid":"k1"}"#)),
            Err("unsupported algorithm (unrecognised): only RS256 is accepted"),
        );
        check(
            &format!("{}.{body}.sig", encode(r#"{"kid":"k1"}"#)),
            Err("unsupported algorithm (missing): only RS256 is accepted"),
        );
        check(
            &format!("{}.{body}.sig", encode(r#"{"alg":["RS256"],"kid":"k1"}"#)),
            Err("unsupported algorithm (missing): only RS256 is accepted"),
        );
        for header in [
            r#"{"alg":"RS256"}"#,
            r#"{"alg":"RS256","kid":""}"#,
            r#"{"alg":"RS256","kid":7}"#,
        ] {
            check(
                &format!("{}.{body}.sig", encode(header)),
                Err("the token header has no signing key id (kid)"),
            );
        }
        let long = "a".repeat(MAX_TOKEN_BYTES);
        check(
            &format!("{rs256}.{long}.sig"),
            Err("the token is not a well-formed JWT"),
        );
    }

    /// A token for `claims` whose header names `kid`, RS256-signed with `key`.
    fn signed(key: &TestKey, kid: &str, claims: &Value) -> String {
        key.token(&serde_json::json!({ "alg": "RS256", "kid": kid }), claims)
    }

    #[tokio::test]
    async fn installed_keys_are_used_without_fetching() {
        let pair = TestKey::new("k1");
        let jwks = pair.jwks();
        // Nothing listens on port 1: a fetch would fail, and the error would say so (503).
        let mut config = VerifierConfig::new("https://issuer.example", ["client"]);
        config.jwks_url = Some("http://127.0.0.1:1/.well-known/jwks.json".into());
        config.jwks_refetch_interval = std::time::Duration::from_secs(3600);
        let verifier = JwtVerifier::new(config).expect("a valid configuration");
        let installed = verifier.install_keys(jwks.to_string().as_bytes());
        assert_eq!(installed.ok(), Some(1));

        let claims = serde_json::json!({
            "iss": "https://issuer.example", "sub": "user-1", "token_use": "id",
            "aud": "client", "exp": now_secs() + 600,
        });
        let token = signed(&pair, "k1", &claims);
        let verified = verifier
            .verify(&token)
            .await
            .map(|v| (v.kid, v.cognito.sub));
        assert_eq!(
            verified.map_err(|e| e.to_string()),
            Ok(("k1".to_owned(), "user-1".to_owned()))
        );
        // An unknown kid is rejected without a fetch (which would be KeysUnavailable).
        let other = verifier.verify(&signed(&pair, "k2", &claims)).await;
        assert!(matches!(other, Err(VerifyError::UnknownKeyId)), "{other:?}");

        // A document that is no key set is an error, and the installed keys stay.
        let too_large = vec![b' '; jwks::MAX_JWKS_BYTES + 1];
        for document in [&b"{}"[..], b"not json", &too_large] {
            let got = verifier.install_keys(document);
            assert!(
                matches!(
                    got,
                    Err(JwksError::Parse { .. } | JwksError::TooLarge { .. })
                ),
                "{got:?}"
            );
        }
        assert!(verifier.verify(&token).await.is_ok());
        assert_eq!(verifier.install_keys(br#"{"keys": []}"#).ok(), Some(0));
        let gone = verifier.verify(&token).await;
        assert!(matches!(gone, Err(VerifyError::UnknownKeyId)), "{gone:?}");
    }

    /// A verifier holding one installed key `k1` (no network), and that key.
    fn offline_verifier() -> (JwtVerifier, TestKey) {
        let pair = TestKey::new("k1");
        let jwks = pair.jwks();
        let mut config = VerifierConfig::new("https://issuer.example", ["client"]);
        config.jwks_url = Some("http://127.0.0.1:1/.well-known/jwks.json".into());
        config.jwks_refetch_interval = std::time::Duration::from_secs(3600);
        let verifier = JwtVerifier::new(config).expect("a valid configuration");
        assert_eq!(
            verifier.install_keys(jwks.to_string().as_bytes()).ok(),
            Some(1)
        );
        (verifier, pair)
    }

    #[tokio::test]
    async fn groups_are_the_tokens_array_not_its_text_reparsed() {
        let (verifier, pair) = offline_verifier();
        let claims = |groups: Value| {
            serde_json::json!({
                "iss": "https://issuer.example", "sub": "user-1", "token_use": "id",
                "aud": "client", "exp": now_secs() + 600, "cognito:groups": groups,
            })
        };
        for (groups, expected, admin) in [
            (serde_json::json!(["admin"]), &["admin"][..], true),
            (
                serde_json::json!(["users", "admin"]),
                &["users", "admin"],
                true,
            ),
            (serde_json::json!([]), &[], false),
            // Group names with quotes and commas (Cognito allows punctuation in names).
            (serde_json::json!([r#""admin""#]), &[r#""admin""#], false),
            (
                serde_json::json!([r#""x","admin""#]),
                &[r#""x","admin""#],
                false,
            ),
            (serde_json::json!(["[admin]"]), &["[admin]"], false),
        ] {
            let token = signed(&pair, "k1", &claims(groups.clone()));
            let verified = verifier.verify(&token).await.expect("a valid token");
            assert_eq!(verified.cognito.groups, expected, "{groups}");
            assert_eq!(verified.cognito.has_group("admin"), admin, "{groups}");
            // A function behind API Gateway, reading the flattened form, decides the same.
            let behind_gateway = CognitoClaims::from_parts(&verified.to_gateway_claims(), None)
                .expect("valid gateway claims");
            assert_eq!(behind_gateway.has_group("admin"), admin, "{groups}");
            assert_eq!(behind_gateway.groups, expected, "{groups}");
        }
    }

    #[test]
    fn config_errors() {
        fn check(edit: impl FnOnce(&mut VerifierConfig), expected: &str) {
            let mut config = VerifierConfig::new("https://issuer.example", ["client"]);
            edit(&mut config);
            let got = JwtVerifier::new(config)
                .map(|_| ())
                .map_err(|e| e.to_string());
            assert!(
                got.as_ref()
                    .is_err_and(|message| message.contains(expected)),
                "expected an error containing {expected:?}, got {got:?}"
            );
        }
        check(|c| c.issuer.clear(), "the issuer is empty");
        check(|c| c.audiences.clear(), "no audiences are allowed");
        check(
            |c| c.audiences.push(String::new()),
            "an allowed audience is empty",
        );
        check(|c| c.leeway_secs = MAX_LEEWAY_SECS + 1, "too large");
        check(
            |c| c.jwks_url = Some("ftp://x/jwks".into()),
            "not an absolute http",
        );
        check(
            |c| c.jwks_url = Some("/jwks.json".into()),
            "not an absolute http",
        );
        check(
            |c| c.issuer = "us-east-1_abc".into(),
            "`us-east-1_abc/.well-known/jwks.json`",
        );
        let ok = JwtVerifier::new(VerifierConfig::new("https://issuer.example/", ["client"]));
        assert!(ok.is_ok(), "{ok:?}");
    }

    #[test]
    fn default_jwks_url_and_user_pool_issuer() {
        let config = VerifierConfig::for_user_pool("eu-west-1", "eu-west-1_AbC", ["client"]);
        assert_eq!(
            config.issuer,
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC"
        );
        assert_eq!(
            config.effective_jwks_url(),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC/.well-known/jwks.json"
        );
        assert_eq!(config.leeway_secs, 5);
        assert_eq!(config.jwks_refetch_interval.as_secs(), 10);
        let custom = VerifierConfig {
            jwks_url: Some("http://127.0.0.1:1/pool/.well-known/jwks.json".into()),
            ..config
        };
        assert_eq!(
            custom.effective_jwks_url(),
            "http://127.0.0.1:1/pool/.well-known/jwks.json"
        );
    }
}
