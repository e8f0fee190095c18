//! Errors of the verifier: a bad configuration, a rejected token, unavailable signing keys.

use std::time::Duration;

use crate::{ClaimsError, TokenUse};

/// A [`VerifierConfig`](super::VerifierConfig) that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The issuer is empty.
    #[error(
        "the issuer is empty: set it to the tokens' `iss`, e.g. \
         https://cognito-idp.<region>.amazonaws.com/<user pool id>"
    )]
    EmptyIssuer,
    /// No audience is allowed, so no token could ever pass.
    #[error("no audiences are allowed: list the app client ids whose tokens this API accepts")]
    NoAudiences,
    /// One of the allowed audiences is the empty string.
    #[error("an allowed audience is empty: every entry must be an app client id")]
    EmptyAudience,
    /// The JWKS URL is not an absolute http(s) URL.
    #[error("the JWKS URL `{url}` is not an absolute http:// or https:// URL")]
    InvalidJwksUrl {
        /// The rejected URL.
        url: String,
    },
    /// The leeway is larger than [`MAX_LEEWAY_SECS`](super::MAX_LEEWAY_SECS).
    #[error("a leeway of {secs} s is too large: use at most {max} s")]
    LeewayTooLarge {
        /// The configured leeway.
        secs: u64,
        /// The largest accepted leeway.
        max: u64,
    },
    /// The HTTP client for fetching the JWKS could not be built.
    #[error("cannot build the HTTP client that fetches the JWKS: {0}")]
    HttpClient(#[source] reqwest::Error),
}

/// Why a token was not accepted.
///
/// Every variant but [`VerifyError::KeysUnavailable`] is the caller's problem: answer 401 (see
/// [`VerifyError::status`]); those messages name claims but never echo token contents.
/// `KeysUnavailable` is a server-side problem (the JWKS could not be fetched): its message names
/// the JWKS URL and the cause, for the logs rather than for the client.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// Not three base64url segments with a JSON header and payload, or too long.
    #[error("the token is not a well-formed JWT")]
    Malformed,
    /// The header's `alg` is not RS256.
    #[error("unsupported algorithm {alg}: only RS256 is accepted")]
    UnsupportedAlgorithm {
        /// The algorithm named in the header (only well-known names are repeated).
        alg: String,
    },
    /// The header has no `kid`.
    #[error("the token header has no signing key id (kid)")]
    MissingKeyId,
    /// The `kid` is not in the issuer's JWKS, even after refetching it.
    #[error("unknown signing key id")]
    UnknownKeyId,
    /// The signature does not match the key named by `kid`.
    #[error("invalid token signature")]
    InvalidSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token not valid yet: nbf is in the future")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("token issued in the future: iat is in the future")]
    IssuedInFuture,
    /// `iss` is not the configured issuer.
    #[error("issuer mismatch")]
    IssuerMismatch,
    /// The `aud` (id token) or `client_id` (access token) is not an allowed app client.
    #[error("audience mismatch: the token's `{claim}` is not an allowed app client")]
    AudienceMismatch {
        /// `aud` or `client_id`.
        claim: &'static str,
    },
    /// The token is not of the required kind.
    #[error("token_use mismatch: only {expected} tokens are accepted")]
    TokenUseMismatch {
        /// The required kind.
        expected: TokenUse,
    },
    /// A required claim is absent.
    #[error("the token has no `{claim}` claim")]
    MissingClaim {
        /// Name of the missing claim.
        claim: &'static str,
    },
    /// A claim has the wrong JSON type or an unusable value.
    #[error("the token's `{claim}` claim is not {expected}")]
    InvalidClaim {
        /// Name of the claim.
        claim: &'static str,
        /// What the value should have been.
        expected: &'static str,
    },
    /// The verified claims could not be turned into [`CognitoClaims`](crate::CognitoClaims).
    #[error(transparent)]
    Claims(#[from] ClaimsError),
    /// The signing keys could not be fetched: a server-side problem.
    #[error("cannot check the token: {0}")]
    KeysUnavailable(#[from] JwksError),
}

impl VerifyError {
    /// The HTTP status to answer with: 503 for [`VerifyError::KeysUnavailable`], 401 otherwise.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Self::KeysUnavailable(_) => 503,
            _ => 401,
        }
    }
}

/// Why the issuer's signing keys (JWKS) could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    /// The request failed (connection refused, timeout, TLS, ...).
    #[error("fetching the JWKS from {url} failed: {source}")]
    Fetch {
        /// The JWKS URL.
        url: String,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The JWKS endpoint answered with a non-success status.
    #[error("the JWKS endpoint {url} answered HTTP {status}")]
    Status {
        /// The JWKS URL.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The JWKS document is larger than the accepted limit.
    #[error("the JWKS from {url} is larger than {limit} bytes")]
    TooLarge {
        /// The JWKS URL.
        url: String,
        /// The size limit in bytes.
        limit: usize,
    },
    /// The document is not a JSON Web Key Set (`{"keys": [...]}`).
    #[error("the document at {url} is not a JSON Web Key Set: {source}")]
    Parse {
        /// The JWKS URL.
        url: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The cached keys are older than the maximum age plus the maximum staleness
    /// ([`VerifierConfig::jwks_max_age`](super::VerifierConfig::jwks_max_age),
    /// [`VerifierConfig::jwks_max_stale`](super::VerifierConfig::jwks_max_stale)) and could not
    /// be refetched.
    #[error(
        "the signing keys from {url} were fetched {age:?} ago, longer than the {limit:?} they \
         may be used, and could not be refetched ({last_error})"
    )]
    Expired {
        /// The JWKS URL.
        url: String,
        /// The age of the cached keys.
        age: Duration,
        /// The maximum age plus the maximum staleness.
        limit: Duration,
        /// Why the last refetch failed.
        last_error: String,
    },
    /// The last fetch failed too recently to try again.
    #[error("the last JWKS fetch failed less than {interval:?} ago ({last_error})")]
    RecentlyFailed {
        /// The message of the last failure.
        last_error: String,
        /// The configured minimum interval between fetches.
        interval: Duration,
    },
}
