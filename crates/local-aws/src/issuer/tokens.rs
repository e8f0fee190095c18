//! Tokens: Cognito's id and access token claims, one-time authorization codes (in memory) and
//! refresh tokens (persisted in the state directory, so that restarts keep sessions).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::params::AuthRequest;
use super::users::{self, User};
use super::{Issuer, IssuerError, lock};

/// The refresh tokens' file name in the state directory.
pub(crate) const REFRESH_FILE: &str = "refresh-tokens.json";

/// How long an authorization code can be exchanged.
const CODE_TTL_SECS: i64 = 300;

/// One authentication: who, when, with which scopes, and the ids Cognito ties its tokens to.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub sub: String,
    pub scopes: Vec<String>,
    pub auth_time: i64,
    pub origin_jti: String,
    pub event_id: String,
    pub nonce: Option<String>,
}

impl Grant {
    /// A new authentication event for `sub`.
    pub(crate) fn new(
        sub: &str,
        scopes: Vec<String>,
        auth_time: i64,
        nonce: Option<String>,
    ) -> Result<Self, IssuerError> {
        Ok(Self {
            sub: sub.to_owned(),
            scopes,
            auth_time,
            origin_jti: users::uuid_v4()?,
            event_id: users::uuid_v4()?,
            nonce,
        })
    }
}

/// An issued, not yet exchanged authorization code.
#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub grant: Grant,
    pub expires_at: i64,
}

/// The refresh tokens file: records by SHA-256 (hex) of the token, so the file holds no
/// usable token.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct RefreshFile {
    #[serde(default)]
    pub tokens: BTreeMap<String, RefreshRecord>,
}

/// What a refresh token stands for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RefreshRecord {
    pub client_id: String,
    pub sub: String,
    pub scopes: Vec<String>,
    pub auth_time: i64,
    pub origin_jti: String,
    pub event_id: String,
    pub expires_at: i64,
}

/// The lookup key of a refresh token.
fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

impl Issuer {
    /// Signs an id and an access token for `user` (and a refresh token when `with_refresh`),
    /// returning the token endpoint's JSON object.
    pub(crate) fn mint(
        &self,
        user: &User,
        grant: &Grant,
        with_refresh: bool,
    ) -> Result<Map<String, Value>, IssuerError> {
        let now = users::now();
        let issuer = self.config.issuer_url();
        let groups = (!user.groups.is_empty())
            .then(|| Value::Array(user.groups.iter().map(|g| json!(g.as_str())).collect()));

        let mut id = Map::new();
        id.insert("sub".into(), json!(user.sub));
        id.insert("email_verified".into(), json!(true));
        id.insert("iss".into(), json!(issuer));
        id.insert("cognito:username".into(), json!(user.sub));
        id.insert("origin_jti".into(), json!(grant.origin_jti));
        id.insert("aud".into(), json!(self.config.client_id));
        id.insert("event_id".into(), json!(grant.event_id));
        id.insert("token_use".into(), json!("id"));
        id.insert("auth_time".into(), json!(grant.auth_time));
        id.insert(
            "exp".into(),
            json!(now.saturating_add(secs(self.config.id_token_ttl))),
        );
        id.insert("iat".into(), json!(now));
        id.insert("jti".into(), json!(users::uuid_v4()?));
        id.insert("email".into(), json!(user.email));
        if let Some(groups) = &groups {
            id.insert("cognito:groups".into(), groups.clone());
        }
        if let Some(nonce) = &grant.nonce {
            id.insert("nonce".into(), json!(nonce));
        }

        let access_ttl = secs(self.config.access_token_ttl);
        let mut access = Map::new();
        access.insert("sub".into(), json!(user.sub));
        access.insert("iss".into(), json!(issuer));
        access.insert("client_id".into(), json!(self.config.client_id));
        access.insert("origin_jti".into(), json!(grant.origin_jti));
        access.insert("event_id".into(), json!(grant.event_id));
        access.insert("token_use".into(), json!("access"));
        access.insert("scope".into(), json!(grant.scopes.join(" ")));
        access.insert("auth_time".into(), json!(grant.auth_time));
        access.insert("exp".into(), json!(now.saturating_add(access_ttl)));
        access.insert("iat".into(), json!(now));
        access.insert("jti".into(), json!(users::uuid_v4()?));
        access.insert("username".into(), json!(user.sub));
        if let Some(groups) = groups {
            access.insert("cognito:groups".into(), groups);
        }

        let mut response = Map::new();
        response.insert("id_token".into(), json!(self.key.sign(&id)?));
        response.insert("access_token".into(), json!(self.key.sign(&access)?));
        if with_refresh {
            response.insert(
                "refresh_token".into(),
                json!(self.new_refresh_token(grant, now)?),
            );
        }
        response.insert("expires_in".into(), json!(access_ttl));
        response.insert("token_type".into(), json!("Bearer"));
        Ok(response)
    }

    fn new_refresh_token(&self, grant: &Grant, now: i64) -> Result<String, IssuerError> {
        let token = users::random_token::<48>()?;
        let record = RefreshRecord {
            client_id: self.config.client_id.clone(),
            sub: grant.sub.clone(),
            scopes: grant.scopes.clone(),
            auth_time: grant.auth_time,
            origin_jti: grant.origin_jti.clone(),
            event_id: grant.event_id.clone(),
            expires_at: now.saturating_add(secs(self.config.refresh_token_ttl)),
        };
        self.refresh_tokens.update(|file: &mut RefreshFile| {
            file.tokens.retain(|_, r| r.expires_at > now);
            file.tokens.insert(token_hash(&token), record);
            Ok(())
        })?;
        Ok(token)
    }

    /// The live record of a refresh token.
    pub(crate) fn refresh_record(&self, token: &str) -> Result<Option<RefreshRecord>, IssuerError> {
        let file: RefreshFile = self.refresh_tokens.load()?;
        Ok(file
            .tokens
            .get(&token_hash(token))
            .filter(|r| r.expires_at > users::now())
            .cloned())
    }

    /// Forgets a refresh token issued to `client_id` (unknown tokens are fine).
    pub(crate) fn revoke_refresh_token(
        &self,
        token: &str,
        client_id: &str,
    ) -> Result<(), IssuerError> {
        let hash = token_hash(token);
        let file: RefreshFile = self.refresh_tokens.load()?;
        if file
            .tokens
            .get(&hash)
            .is_none_or(|r| r.client_id != client_id)
        {
            return Ok(());
        }
        self.refresh_tokens.update(|file: &mut RefreshFile| {
            file.tokens.remove(&hash);
            Ok(())
        })
    }

    /// Stores a one-time authorization code for a validated request, returning the code.
    pub(crate) fn store_code(
        &self,
        request: &AuthRequest,
        grant: Grant,
    ) -> Result<String, IssuerError> {
        let code = users::uuid_v4()?;
        let now = users::now();
        let mut codes = lock(&self.codes);
        codes.retain(|_, c| c.expires_at > now);
        codes.insert(
            code.clone(),
            AuthCode {
                client_id: self.config.client_id.clone(),
                redirect_uri: request.redirect_uri.clone(),
                code_challenge: request.code_challenge.clone(),
                grant,
                expires_at: now.saturating_add(CODE_TTL_SECS),
            },
        );
        Ok(code)
    }

    /// Takes an authorization code out (each code works once), if it has not expired.
    pub(crate) fn take_code(&self, code: &str) -> Option<AuthCode> {
        lock(&self.codes)
            .remove(code)
            .filter(|c| c.expires_at > users::now())
    }
}
