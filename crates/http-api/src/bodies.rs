//! The response bodies of the routes that need no domain crate: [`Health`] (`GET /health`) and
//! [`Me`] (`GET /me`, from the Cognito claims). With feature `openapi` they implement
//! `utoipa::ToSchema`, so the contract describes exactly what the functions serialize.
//!
//! They are here rather than in a crate of their own so that `health` and `me` depend on this
//! crate alone (and `me` on `cognito-claims`, which this crate needs anyway for the claims
//! errors' problems); the body of `GET /admin/stats` counts notes and is `notes-http`'s.

use cognito_claims::{CognitoClaims, TokenUse};
use serde::Serialize;

/// The body of `GET /health`: `{"status":"ok"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// Always `ok`: the function answered.
    #[cfg_attr(feature = "openapi", schema(schema_with = health_status_schema))]
    pub status: HealthStatus,
}

impl Health {
    /// `{"status":"ok"}`.
    #[must_use]
    pub fn ok() -> Self {
        Self {
            status: HealthStatus::Ok,
        }
    }
}

/// The value of [`Health::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// The function answered.
    Ok,
}

/// The body of `GET /me`: the caller's identity, from the claims API Gateway's JWT authorizer
/// passed on. Absent optional claims are `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    /// The user's stable, unique id (`sub`); every note is scoped by it.
    pub sub: String,
    /// The user name: `cognito:username` (id tokens), else `username` (access tokens).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub username: Option<String>,
    /// The `email` attribute, when the token carries it (id tokens).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub email: Option<String>,
    /// The `email_verified` attribute, when the token carries it.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub email_verified: Option<bool>,
    /// The user's Cognito groups (`cognito:groups`); empty when none.
    pub groups: Vec<String>,
    /// The OAuth scopes granted to the token; empty for id tokens.
    pub scopes: Vec<String>,
    /// Which kind of token called: `id` or `access` (`token_use`).
    #[cfg_attr(feature = "openapi", schema(schema_with = token_use_schema))]
    pub token_use: TokenUse,
    /// The app client the token was issued to (`aud` of id tokens, `client_id` of access tokens).
    pub client_id: String,
    /// When the user authenticated (`auth_time`), in seconds since the Unix epoch.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub auth_time: Option<i64>,
    /// When the token expires (`exp`), in seconds since the Unix epoch.
    pub expires_at: i64,
}

impl From<&CognitoClaims> for Me {
    fn from(claims: &CognitoClaims) -> Self {
        Self {
            sub: claims.sub.clone(),
            username: claims.username.clone(),
            email: claims.email.clone(),
            email_verified: claims.email_verified,
            groups: claims.groups.clone(),
            scopes: claims.scopes.clone(),
            token_use: claims.token_use,
            client_id: claims.client_id.clone(),
            auth_time: claims.auth_time,
            expires_at: claims.exp,
        }
    }
}

/// `status` of [`Health`]: the one value of [`HealthStatus`].
#[cfg(feature = "openapi")]
fn health_status_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .description(Some("Always `ok`: the function answered."))
        .enum_values(Some(["ok"]))
        .into()
}

/// `token_use` as the contract states it: one of [`TokenUse`]'s claim values.
#[cfg(feature = "openapi")]
fn token_use_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .description(Some(
            "Which kind of token called: `id` or `access` (`token_use`).",
        ))
        .enum_values(Some([TokenUse::Id.as_str(), TokenUse::Access.as_str()]))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(
            serde_json::to_value(Health::ok()).ok(),
            Some(serde_json::json!({ "status": "ok" }))
        );
        let claims = CognitoClaims {
            sub: "sub-a".to_owned(),
            username: None,
            email: Some("a@example.com".to_owned()),
            email_verified: Some(true),
            groups: vec!["admin".to_owned()],
            scopes: Vec::new(),
            token_use: TokenUse::Id,
            client_id: "client".to_owned(),
            auth_time: Some(1),
            exp: 2,
        };
        let Ok(me) = serde_json::to_value(Me::from(&claims)) else {
            panic!("Me serializes");
        };
        assert_eq!(
            me,
            serde_json::json!({
                "sub": "sub-a", "username": null, "email": "a@example.com",
                "email_verified": true, "groups": ["admin"], "scopes": [], "token_use": "id",
                "client_id": "client", "auth_time": 1, "expires_at": 2,
            })
        );
    }
}
