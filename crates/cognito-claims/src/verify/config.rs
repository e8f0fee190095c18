//! [`VerifierConfig`]: what a [`JwtVerifier`](super::JwtVerifier) accepts, and its defaults.

use std::time::Duration;

use crate::TokenUse;

/// Default clock-skew allowance for `exp`, `nbf` and `iat`: 5 seconds.
///
/// Small on purpose: the local gateway and the issuer usually share a clock, and API Gateway
/// itself tolerates little skew. Raise it only for a known skew.
pub const DEFAULT_LEEWAY_SECS: u64 = 5;

/// The largest accepted leeway: 5 minutes.
pub const MAX_LEEWAY_SECS: u64 = 300;

/// Default minimum time between two JWKS fetches triggered by unknown key ids: 10 seconds.
pub const DEFAULT_JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// Default maximum age of the cached JWKS: 1 hour. Keys older than this are refetched before
/// the next token is checked, so a key the issuer withdrew stops verifying within this time.
pub const DEFAULT_JWKS_MAX_AGE: Duration = Duration::from_secs(3600);

/// Default time for which keys past [`DEFAULT_JWKS_MAX_AGE`] keep verifying while every
/// refetch fails: 1 hour.
pub const DEFAULT_JWKS_MAX_STALE: Duration = Duration::from_secs(3600);

/// Default timeout of one JWKS fetch: 5 seconds.
pub const DEFAULT_JWKS_TIMEOUT: Duration = Duration::from_secs(5);

/// What a [`JwtVerifier`](super::JwtVerifier) accepts: the same settings as an API Gateway JWT
/// authorizer (issuer, audiences) plus the verifier's own knobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierConfig {
    /// The exact `iss` value tokens must carry, e.g.
    /// `https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123`.
    pub issuer: String,
    /// Where to fetch the signing keys; `None` means `{issuer}/.well-known/jwks.json`.
    pub jwks_url: Option<String>,
    /// The accepted app client ids: an id token's `aud` or an access token's `client_id`
    /// must be one of them.
    pub audiences: Vec<String>,
    /// Accept only this kind of token; `None` accepts both id and access tokens.
    pub required_token_use: Option<TokenUse>,
    /// Clock-skew allowance in seconds for `exp`, `nbf` and `iat` (at most
    /// [`MAX_LEEWAY_SECS`]).
    pub leeway_secs: u64,
    /// Minimum time between two JWKS fetches caused by tokens with an unknown `kid`; tokens
    /// with an unknown `kid` arriving sooner are rejected without a fetch.
    pub jwks_refetch_interval: Duration,
    /// How long fetched (or installed) keys are trusted without a refetch. Once the cache is
    /// older, the next token triggers a refetch whatever its `kid`, and the fetched set
    /// replaces the cache: a key withdrawn from the JWKS stops verifying.
    pub jwks_max_age: Duration,
    /// How long past [`VerifierConfig::jwks_max_age`] the cached keys keep verifying while
    /// refetching fails (retried at most once per [`VerifierConfig::jwks_refetch_interval`],
    /// each failure logged at WARN). After that, tokens are refused with
    /// [`VerifyError::KeysUnavailable`](super::VerifyError::KeysUnavailable) (503) until a
    /// fetch succeeds.
    pub jwks_max_stale: Duration,
    /// Timeout of one JWKS fetch.
    pub jwks_timeout: Duration,
}

impl VerifierConfig {
    /// A configuration for `issuer` and the given app client ids, with the default JWKS URL,
    /// leeway, refetch interval, key ages and timeout, accepting id and access tokens.
    #[must_use]
    pub fn new<A: Into<String>>(
        issuer: impl Into<String>,
        audiences: impl IntoIterator<Item = A>,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            jwks_url: None,
            audiences: audiences.into_iter().map(Into::into).collect(),
            required_token_use: None,
            leeway_secs: DEFAULT_LEEWAY_SECS,
            jwks_refetch_interval: DEFAULT_JWKS_REFETCH_INTERVAL,
            jwks_max_age: DEFAULT_JWKS_MAX_AGE,
            jwks_max_stale: DEFAULT_JWKS_MAX_STALE,
            jwks_timeout: DEFAULT_JWKS_TIMEOUT,
        }
    }

    /// A configuration for an Amazon Cognito user pool: issuer
    /// `https://cognito-idp.{region}.amazonaws.com/{user_pool_id}`.
    #[must_use]
    pub fn for_user_pool<A: Into<String>>(
        region: &str,
        user_pool_id: &str,
        audiences: impl IntoIterator<Item = A>,
    ) -> Self {
        Self::new(
            format!("https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"),
            audiences,
        )
    }

    /// The JWKS URL in effect: [`VerifierConfig::jwks_url`] or the issuer's well-known one.
    #[must_use]
    pub fn effective_jwks_url(&self) -> String {
        match &self.jwks_url {
            Some(url) => url.clone(),
            None => format!(
                "{}/.well-known/jwks.json",
                self.issuer.trim_end_matches('/')
            ),
        }
    }
}
