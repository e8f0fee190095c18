//! What the operations share: API Gateway's own error body ([`GatewayMessage`]), the responses
//! every route can answer ([`Unauthorized`], [`InternalError`], [`ServiceUnavailable`]), and the
//! schemas of the headers ([`ETag`], [`Location`], [`IfMatch`], [`WwwAuthenticate`]).

use std::borrow::Cow;

use http_api::Problem;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToResponse, ToSchema};

use crate::PROBLEM_JSON;

/// The body of API Gateway's own errors, sent as `application/json`: `{"message":"Not Found"}`,
/// `"Unauthorized"`, `"Forbidden"`, `"Request Entity Too Large"`, `"Internal Server Error"`,
/// `"Service Unavailable"`. The functions never answer it; the gateway does, before or instead of
/// a function (`crates/local-aws/src/gateway.rs` answers the same).
#[derive(Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[schema(examples(json!({ "message": "Unauthorized" })))]
pub struct GatewayMessage {
    /// API Gateway's reason phrase.
    pub message: String,
}

/// The `application/json` ([`GatewayMessage`]) and `application/problem+json` ([`Problem`])
/// contents of a status both API Gateway and a function can answer.
fn either(description: &str) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(schema_ref::<GatewayMessage>()))
                .build(),
        )
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(schema_ref::<Problem>()))
                .build(),
        )
}

fn schema_ref<T: ToSchema>() -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(T::name()))
}

/// `401` on every `auth = "jwt"` route.
pub struct Unauthorized;

impl<'r> ToResponse<'r> for Unauthorized {
    fn response() -> (&'r str, RefOr<Response>) {
        let response = either(
            "No usable token. API Gateway's JWT authorizer answers `{\"message\":\"Unauthorized\"}` \
             (application/json) when `Authorization` is missing, or the token is expired, forged, \
             or for another issuer or app client; the function answers an `unauthorized` problem \
             when the verified token's claims are unusable (e.g. no `sub`).",
        )
        .header(
            "WWW-Authenticate",
            HeaderBuilder::new()
                .schema(WwwAuthenticate::schema())
                .description(Some("`Bearer`, with the authorizer's error for a bad token."))
                .build(),
        )
        .build();
        ("Unauthorized", response.into())
    }
}

/// `500` on every route.
pub struct InternalError;

impl<'r> ToResponse<'r> for InternalError {
    fn response() -> (&'r str, RefOr<Response>) {
        let response = either(
            "The server failed. The function answers an `internal` problem (e.g. the store \
             failed; the detail is generic, the cause is logged); API Gateway answers \
             `{\"message\":\"Internal Server Error\"}` when the function itself failed or crashed.",
        )
        .build();
        ("InternalError", response.into())
    }
}

/// `503` on every route.
pub struct ServiceUnavailable;

impl<'r> ToResponse<'r> for ServiceUnavailable {
    fn response() -> (&'r str, RefOr<Response>) {
        let response = ResponseBuilder::new()
            .description(
                "API Gateway answers `{\"message\":\"Service Unavailable\"}` when the function \
                 timed out or was throttled; retry later.",
            )
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(schema_ref::<GatewayMessage>()))
                    .build(),
            )
            .build();
        ("ServiceUnavailable", response.into())
    }
}

/// Declares a header-value schema type (used `inline(...)` in the operations).
macro_rules! header_schema {
    ($(#[$doc:meta])* $name:ident => $schema:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

header_schema! {
    /// The `ETag` response header: the note's strong entity tag (its `etag` field).
    ETag => notes::openapi::etag_schema()
}

header_schema! {
    /// The `If-Match` request header of a replace.
    IfMatch => notes::openapi::if_match_schema()
}

header_schema! {
    /// The `Location` header of a created note: `/notes/{id}`.
    Location => ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .format(Some(SchemaFormat::Custom("uri-reference".to_owned())))
        .pattern(Some(format!(
            "^/notes/{}",
            notes::openapi::NOTE_ID_PATTERN.trim_start_matches('^')
        )))
        .examples(["/notes/01ARZ3NDEKTSV4RRFFQ69G5FAV"])
        .into()
}

header_schema! {
    /// The `WWW-Authenticate` header of a 401.
    WwwAuthenticate => ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .examples(["Bearer"])
        .into()
}
