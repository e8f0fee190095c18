//! The issuer's signing keys: fetched from the JWKS URL and cached for at most a maximum age,
//! refetched (rate limited) when a token names a key id the cache does not know, which is how
//! key rotation is picked up, and refetched once the cache is older than the maximum age, which
//! is how a withdrawn key stops verifying.
//!
//! A failed refetch keeps the cached keys for at most the configured maximum staleness past the
//! maximum age (retried at most once per refetch interval, every failure logged at WARN); past
//! that, tokens are refused with a 503 until a fetch succeeds (logged at ERROR).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use serde_json::Value;

use super::{Clock, JwksError, VerifyError};

/// Largest JWKS document accepted, in bytes (Cognito's is well under 2 KiB).
pub(super) const MAX_JWKS_BYTES: usize = 256 * 1024;

/// How often and for how long the keys are fetched and kept.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timing {
    /// Minimum time between two fetch attempts caused by tokens (unknown `kid`, stale cache).
    pub(super) refetch_interval: Duration,
    /// Keys older than this are refetched before the next token is checked.
    pub(super) max_age: Duration,
    /// How long past `max_age` the keys keep verifying while refetching fails.
    pub(super) max_stale: Duration,
}

/// The cached RS256 keys of one issuer, by key id.
pub(super) struct KeyStore {
    url: String,
    http: reqwest::Client,
    timing: Timing,
    clock: Clock,
    state: RwLock<State>,
    /// Held while fetching, so that concurrent misses cause one fetch, not one each.
    fetching: tokio::sync::Mutex<()>,
}

impl KeyStore {
    /// A store with no keys yet; the first lookup fetches them.
    pub(super) fn new(url: String, http: reqwest::Client, timing: Timing, clock: Clock) -> Self {
        Self {
            url,
            http,
            timing,
            clock,
            state: RwLock::new(State::default()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// The key with id `kid`.
    ///
    /// Served from the cache while it is younger than the maximum age. Otherwise, or when the
    /// cache lacks `kid`, the JWKS is fetched first, unless the last attempt is more recent
    /// than the refetch interval. A failed fetch leaves the cached keys in use until they are
    /// older than the maximum age plus the maximum staleness.
    pub(super) async fn key(&self, kid: &str) -> Result<DecodingKey, VerifyError> {
        if let Some(key) = self.fresh(kid) {
            return Ok(key);
        }
        let _fetching = self.fetching.lock().await;
        // Another task may have fetched the keys while this one waited for the lock.
        if let Some(key) = self.fresh(kid) {
            return Ok(key);
        }
        let attempted_at = self.read().attempted_at;
        let now = self.now();
        let may_fetch = attempted_at
            .is_none_or(|at| now.saturating_duration_since(at) >= self.timing.refetch_interval);
        let (fetched_now, fetch_error) = if may_fetch {
            match self.fetch_locked().await {
                Ok(_) => (true, None),
                Err(error) => (false, Some(error)),
            }
        } else {
            (false, None)
        };

        let now = self.now();
        let state = self.read();
        let age = state.fetched_at.map(|at| now.saturating_duration_since(at));
        let limit = self.timing.max_age.saturating_add(self.timing.max_stale);
        let usable = fetched_now || age.is_some_and(|age| age < limit);
        if usable && let Some(key) = state.keys.get(kid) {
            return Ok(key.clone());
        }
        if fetched_now {
            return Err(VerifyError::UnknownKeyId);
        }
        let last_error = fetch_error
            .as_ref()
            .map(ToString::to_string)
            .or_else(|| state.last_error.clone());
        if let Some(age) = age.filter(|_| !usable) {
            return Err(VerifyError::KeysUnavailable(JwksError::Expired {
                url: self.url.clone(),
                age,
                limit,
                last_error: last_error
                    .unwrap_or_else(|| "no refetch attempted within the refetch interval".into()),
            }));
        }
        Err(match (fetch_error, last_error) {
            (Some(error), _) => VerifyError::KeysUnavailable(error),
            (None, Some(last_error)) => VerifyError::KeysUnavailable(JwksError::RecentlyFailed {
                last_error,
                interval: self.timing.refetch_interval,
            }),
            (None, None) => VerifyError::UnknownKeyId,
        })
    }

    /// Fetches the JWKS now, whatever the refetch interval; returns the number of usable keys.
    pub(super) async fn refresh(&self) -> Result<usize, JwksError> {
        let _fetching = self.fetching.lock().await;
        self.fetch_locked().await
    }

    /// Installs the keys of a JWKS document held in memory as if it had just been fetched
    /// (which restarts the refetch interval and the maximum age); returns the number of usable
    /// keys.
    pub(super) fn install(&self, document: &[u8]) -> Result<usize, JwksError> {
        if document.len() > MAX_JWKS_BYTES {
            return Err(JwksError::TooLarge {
                url: self.url.clone(),
                limit: MAX_JWKS_BYTES,
            });
        }
        let keys = parse_jwks(document).map_err(|source| JwksError::Parse {
            url: self.url.clone(),
            source,
        })?;
        let now = self.now();
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        state.fetched_at = Some(now);
        state.attempted_at = Some(now);
        state.last_error = None;
        let count = keys.len();
        state.keys = keys;
        Ok(count)
    }

    fn now(&self) -> Instant {
        (self.clock)()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The key `kid` when the cache holds it and is younger than the maximum age.
    fn fresh(&self, kid: &str) -> Option<DecodingKey> {
        let now = self.now();
        let state = self.read();
        let fresh = state
            .fetched_at
            .is_some_and(|at| now.saturating_duration_since(at) < self.timing.max_age);
        if fresh {
            state.keys.get(kid).cloned()
        } else {
            None
        }
    }

    /// Fetches and installs the keys; the caller holds `self.fetching`. On failure the cached
    /// keys stay, and the log says for how much longer they are used.
    async fn fetch_locked(&self) -> Result<usize, JwksError> {
        let result = fetch(&self.http, &self.url).await;
        let now = self.now();
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        state.attempted_at = Some(now);
        match result {
            Ok(keys) => {
                tracing::debug!(url = %self.url, keys = keys.len(), "fetched JWKS");
                let count = keys.len();
                state.keys = keys;
                state.fetched_at = Some(now);
                state.last_error = None;
                Ok(count)
            }
            Err(error) => {
                // Keep the keys we had: a failed fetch must not lock out valid tokens at once.
                let limit = self.timing.max_age.saturating_add(self.timing.max_stale);
                match state.fetched_at.map(|at| now.saturating_duration_since(at)) {
                    None => tracing::warn!(url = %self.url, %error, "JWKS fetch failed"),
                    Some(age) if age < limit => tracing::warn!(
                        url = %self.url,
                        %error,
                        keys_age_secs = age.as_secs(),
                        kept_for_secs = (limit - age).as_secs(),
                        "JWKS fetch failed; the cached keys stay in use"
                    ),
                    Some(age) => tracing::error!(
                        url = %self.url,
                        %error,
                        keys_age_secs = age.as_secs(),
                        "JWKS fetch failed and the cached keys are past their maximum age and \
                         staleness: tokens are refused until a fetch succeeds"
                    ),
                }
                state.last_error = Some(error.to_string());
                Err(error)
            }
        }
    }
}

impl fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.read();
        let mut kids: Vec<&String> = state.keys.keys().collect();
        kids.sort();
        f.debug_struct("KeyStore")
            .field("url", &self.url)
            .field("timing", &self.timing)
            .field("kids", &kids)
            .field("last_error", &state.last_error)
            .finish_non_exhaustive()
    }
}

/// The cache's contents.
#[derive(Default)]
struct State {
    keys: HashMap<String, DecodingKey>,
    /// When `keys` were fetched (or installed).
    fetched_at: Option<Instant>,
    /// When a fetch was last attempted, whatever its outcome.
    attempted_at: Option<Instant>,
    last_error: Option<String>,
}

/// A JSON Web Key Set; keys are parsed one by one so that one odd key does not hide the rest.
#[derive(Deserialize)]
struct KeySet {
    keys: Vec<Value>,
}

/// The members of a JWK that matter for an RS256 verification key.
#[derive(Deserialize)]
struct RsaJwk {
    kty: String,
    kid: Option<String>,
    n: Option<String>,
    e: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    alg: Option<String>,
}

/// GETs the JWKS at `url`, with a size limit, and parses it.
async fn fetch(
    http: &reqwest::Client,
    url: &str,
) -> Result<HashMap<String, DecodingKey>, JwksError> {
    let fetch_error = |source| JwksError::Fetch {
        url: url.to_owned(),
        source,
    };
    let too_large = || JwksError::TooLarge {
        url: url.to_owned(),
        limit: MAX_JWKS_BYTES,
    };
    let mut response = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(fetch_error)?;
    let status = response.status();
    if !status.is_success() {
        return Err(JwksError::Status {
            url: url.to_owned(),
            status: status.as_u16(),
        });
    }
    if response
        .content_length()
        .is_some_and(|len| len > MAX_JWKS_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(fetch_error)? {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    parse_jwks(&body).map_err(|source| JwksError::Parse {
        url: url.to_owned(),
        source,
    })
}

/// The usable RS256 signature keys of a JWKS document, by key id.
///
/// Keys that are not RSA, are marked for another use or algorithm, lack a `kid`, or have
/// unusable components are skipped (and logged); the first key wins when a `kid` repeats.
fn parse_jwks(body: &[u8]) -> Result<HashMap<String, DecodingKey>, serde_json::Error> {
    let set: KeySet = serde_json::from_slice(body)?;
    let mut keys = HashMap::new();
    for value in set.keys {
        let jwk: RsaJwk = match serde_json::from_value(value) {
            Ok(jwk) => jwk,
            Err(error) => {
                tracing::warn!(%error, "skipping a JWKS entry that is not a JSON web key");
                continue;
            }
        };
        let kid = jwk.kid.unwrap_or_default();
        let usable = jwk.kty == "RSA"
            && !kid.is_empty()
            && jwk.usage.as_deref().is_none_or(|usage| usage == "sig")
            && jwk.alg.as_deref().is_none_or(|alg| alg == "RS256");
        let (Some(n), Some(e), true) = (jwk.n, jwk.e, usable) else {
            tracing::debug!(
                kid,
                kty = jwk.kty,
                "skipping a JWKS entry that is no RS256 key"
            );
            continue;
        };
        match DecodingKey::from_rsa_components(&n, &e) {
            Ok(key) => match keys.entry(kid) {
                Entry::Vacant(slot) => {
                    slot.insert(key);
                }
                Entry::Occupied(slot) => tracing::warn!(
                    kid = slot.key(),
                    "JWKS lists the same key id twice; using the first"
                ),
            },
            Err(error) => tracing::warn!(kid, %error, "skipping a JWKS key with bad n or e"),
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_rs256_signature_keys() {
        let body = serde_json::json!({ "keys": [
            { "kty": "RSA", "kid": "good", "n": "AQAB", "e": "AQAB", "use": "sig", "alg": "RS256" },
            { "kty": "RSA", "kid": "bare", "n": "AQAB", "e": "AQAB" },
            { "kty": "RSA", "kid": "good", "n": "AQAB", "e": "AQAB" },
            { "kty": "RSA", "kid": "enc", "n": "AQAB", "e": "AQAB", "use": "enc" },
            { "kty": "RSA", "kid": "rs512", "n": "AQAB", "e": "AQAB", "alg": "RS512" },
            { "kty": "RSA", "n": "AQAB", "e": "AQAB" },
            { "kty": "RSA", "kid": "", "n": "AQAB", "e": "AQAB" },
            { "kty": "RSA", "kid": "no-n", "e": "AQAB" },
            { "kty": "RSA", "kid": "bad-b64", "n": "!!!", "e": "AQAB" },
            { "kty": "EC", "kid": "ec", "crv": "P-256", "x": "AQAB", "y": "AQAB" },
            { "kty": "oct", "kid": "hmac", "k": "c2VjcmV0" },
            { "kid": "no-kty" },
            "not an object",
        ]});
        let keys = parse_jwks(body.to_string().as_bytes()).expect("a key set");
        let mut kids: Vec<&str> = keys.keys().map(String::as_str).collect();
        kids.sort_unstable();
        assert_eq!(kids, ["bare", "good"]);
    }

    #[test]
    fn rejects_documents_that_are_not_key_sets() {
        for body in [
            &b""[..],
            b"[]",
            b"{}",
            b"{\"keys\": {}}",
            b"<html>",
            b"{\"keys\": [1",
        ] {
            assert!(
                parse_jwks(body).is_err(),
                "{:?} is not a key set",
                String::from_utf8_lossy(body)
            );
        }
        let empty = parse_jwks(b"{\"keys\": []}").expect("an empty key set is a key set");
        assert!(empty.is_empty());
    }
}
