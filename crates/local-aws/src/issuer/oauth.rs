//! The machine endpoints, answering like Cognito: the JWKS, OIDC discovery,
//! `/oauth2/token`, `/oauth2/userInfo` and `/oauth2/revoke`.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::params::{ALLOWED_SCOPES, is_pkce_value};
use super::tokens::Grant;
use super::users::UsersFile;
use super::web::Fields;
use super::{Issuer, IssuerError};

/// An OAuth 2.0 error of the token and revocation endpoints.
#[derive(Debug)]
enum OAuthError {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnsupportedGrantType,
    Server(IssuerError),
}

impl From<IssuerError> for OAuthError {
    fn from(err: IssuerError) -> Self {
        Self::Server(err)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let (status, error) = match self {
            Self::InvalidRequest => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::InvalidClient => (StatusCode::BAD_REQUEST, "invalid_client"),
            Self::InvalidGrant => (StatusCode::BAD_REQUEST, "invalid_grant"),
            Self::UnsupportedGrantType => (StatusCode::BAD_REQUEST, "unsupported_grant_type"),
            Self::Server(err) => {
                tracing::error!(error = %err, "local issuer token request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "server_error")
            }
        };
        no_store(status, Json(json!({ "error": error })).into_response())
    }
}

/// Adds `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 section 5.1).
fn no_store(status: StatusCode, mut response: Response) -> Response {
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The S256 PKCE transformation of a verifier.
fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The credentials of `Authorization: <scheme> <credentials>`, scheme case-insensitive.
fn authorization<'a>(headers: &'a HeaderMap, scheme: &str) -> Option<&'a str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (given, credentials) = value.split_once(' ')?;
    given
        .eq_ignore_ascii_case(scheme)
        .then(|| credentials.trim())
}

impl Issuer {
    /// Client authentication: `client_secret_basic` or `client_secret_post`.
    fn authenticate_client(&self, headers: &HeaderMap, fields: &Fields) -> Result<(), OAuthError> {
        let (id, secret) = match authorization(headers, "Basic") {
            Some(credentials) => {
                let decoded = STANDARD
                    .decode(credentials)
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .ok_or(OAuthError::InvalidClient)?;
                let (id, secret) = decoded.split_once(':').ok_or(OAuthError::InvalidClient)?;
                if fields.get("client_id").is_some_and(|form_id| form_id != id) {
                    return Err(OAuthError::InvalidClient);
                }
                (id.to_owned(), Some(secret.to_owned()))
            }
            None => (
                fields
                    .get("client_id")
                    .cloned()
                    .ok_or(OAuthError::InvalidClient)?,
                fields.get("client_secret").cloned(),
            ),
        };
        if id != self.config.client_id {
            return Err(OAuthError::InvalidClient);
        }
        let secret = secret.unwrap_or_default();
        if Sha256::digest(secret.as_bytes()) != Sha256::digest(self.config.client_secret.as_bytes())
        {
            return Err(OAuthError::InvalidClient);
        }
        Ok(())
    }

    fn token_sync(
        &self,
        headers: &HeaderMap,
        fields: &Fields,
    ) -> Result<Map<String, Value>, OAuthError> {
        self.authenticate_client(headers, fields)?;
        match fields.get("grant_type").map(String::as_str) {
            Some("authorization_code") => self.code_grant(fields),
            Some("refresh_token") => self.refresh_grant(fields),
            Some(_) => Err(OAuthError::UnsupportedGrantType),
            None => Err(OAuthError::InvalidRequest),
        }
    }

    fn code_grant(&self, fields: &Fields) -> Result<Map<String, Value>, OAuthError> {
        let code = fields.get("code").ok_or(OAuthError::InvalidRequest)?;
        let auth = self.take_code(code).ok_or(OAuthError::InvalidGrant)?;
        if auth.client_id != self.config.client_id
            || fields.get("redirect_uri") != Some(&auth.redirect_uri)
        {
            return Err(OAuthError::InvalidGrant);
        }
        match (&auth.code_challenge, fields.get("code_verifier")) {
            (Some(challenge), Some(verifier)) => {
                if !is_pkce_value(verifier) || s256(verifier) != *challenge {
                    return Err(OAuthError::InvalidGrant);
                }
            }
            (Some(_), None) => return Err(OAuthError::InvalidGrant),
            // A verifier for a code issued without a challenge: the code may have been injected
            // into a flow that used PKCE (RFC 9700, section 4.8.2).
            (None, Some(_)) => return Err(OAuthError::InvalidGrant),
            (None, None) => {}
        }
        let pool: UsersFile = self.users.load()?;
        let user = pool
            .by_sub(&auth.grant.sub)
            .filter(|u| u.confirmed)
            .ok_or(OAuthError::InvalidGrant)?;
        Ok(self.mint(user, &auth.grant, true)?)
    }

    fn refresh_grant(&self, fields: &Fields) -> Result<Map<String, Value>, OAuthError> {
        let token = fields
            .get("refresh_token")
            .ok_or(OAuthError::InvalidRequest)?;
        let record = self
            .refresh_record(token)?
            .ok_or(OAuthError::InvalidGrant)?;
        if record.client_id != self.config.client_id {
            return Err(OAuthError::InvalidGrant);
        }
        let pool: UsersFile = self.users.load()?;
        let user = pool
            .by_sub(&record.sub)
            .filter(|u| u.confirmed)
            .ok_or(OAuthError::InvalidGrant)?;
        let grant = Grant {
            sub: record.sub,
            scopes: record.scopes,
            auth_time: record.auth_time,
            origin_jti: record.origin_jti,
            event_id: record.event_id,
            nonce: None,
        };
        Ok(self.mint(user, &grant, false)?)
    }

    fn revoke_sync(&self, headers: &HeaderMap, fields: &Fields) -> Result<(), OAuthError> {
        self.authenticate_client(headers, fields)?;
        let token = fields.get("token").ok_or(OAuthError::InvalidRequest)?;
        Ok(self.revoke_refresh_token(token, &self.config.client_id)?)
    }

    fn userinfo_sync(&self, headers: &HeaderMap) -> Response {
        let invalid = || {
            let mut response = no_store(
                StatusCode::UNAUTHORIZED,
                Json(json!({"error": "invalid_token"})).into_response(),
            );
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
            response
        };
        let Some(token) = authorization(headers, "Bearer") else {
            return invalid();
        };
        let Ok(claims) = self.key.verify(token, &self.config.issuer_url()) else {
            return invalid();
        };
        if claims.get("token_use").and_then(Value::as_str) != Some("access")
            || claims.get("client_id").and_then(Value::as_str) != Some(&self.config.client_id)
        {
            return invalid();
        }
        let Some(sub) = claims.get("sub").and_then(Value::as_str) else {
            return invalid();
        };
        let pool: UsersFile = match self.users.load() {
            Ok(pool) => pool,
            Err(err) => return OAuthError::Server(err).into_response(),
        };
        let Some(user) = pool.by_sub(sub) else {
            return invalid();
        };
        no_store(
            StatusCode::OK,
            Json(json!({
                "sub": user.sub,
                "email": user.email,
                "email_verified": if user.confirmed { "true" } else { "false" },
                "username": user.sub,
            }))
            .into_response(),
        )
    }

    fn openid_configuration_document(&self) -> Value {
        let config = &self.config;
        json!({
            "issuer": config.issuer_url(),
            "authorization_endpoint": config.authorize_url(),
            "token_endpoint": config.token_endpoint(),
            "userinfo_endpoint": config.userinfo_url(),
            "jwks_uri": config.jwks_url(),
            "end_session_endpoint": config.logout_url(),
            "revocation_endpoint": format!("{}/oauth2/revoke", config.base()),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "scopes_supported": ALLOWED_SCOPES,
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        })
    }
}

/// `GET /{pool_id}/.well-known/jwks.json`.
pub(crate) async fn jwks(State(issuer): State<Arc<Issuer>>) -> Json<Value> {
    Json(issuer.key.jwks())
}

/// `GET /{pool_id}/.well-known/openid-configuration`.
pub(crate) async fn openid_configuration(State(issuer): State<Arc<Issuer>>) -> Json<Value> {
    Json(issuer.openid_configuration_document())
}

/// `POST /oauth2/token`.
pub(crate) async fn token(
    State(issuer): State<Arc<Issuer>>,
    headers: HeaderMap,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let Ok(Form(fields)) = form else {
        return OAuthError::InvalidRequest.into_response();
    };
    super::web::blocking(move || match issuer.token_sync(&headers, &fields) {
        Ok(tokens) => no_store(StatusCode::OK, Json(tokens).into_response()),
        Err(err) => err.into_response(),
    })
    .await
}

/// `POST /oauth2/revoke`.
pub(crate) async fn revoke(
    State(issuer): State<Arc<Issuer>>,
    headers: HeaderMap,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let Ok(Form(fields)) = form else {
        return OAuthError::InvalidRequest.into_response();
    };
    super::web::blocking(move || match issuer.revoke_sync(&headers, &fields) {
        Ok(()) => no_store(StatusCode::OK, ().into_response()),
        Err(err) => err.into_response(),
    })
    .await
}

/// `GET` and `POST /oauth2/userInfo`.
pub(crate) async fn userinfo(State(issuer): State<Arc<Issuer>>, headers: HeaderMap) -> Response {
    super::web::blocking(move || issuer.userinfo_sync(&headers)).await
}
