//! The API's OpenAPI 3.1 contract, generated from the code with `utoipa`.
//!
//! The schemas are derived from the types the functions really (de)serialize: `notes::Note`,
//! `notes::NoteInput`, `notes::Page` (and the `NoteId`, `Cursor` and `Limit` they use),
//! `http_api::Problem` and the bodies of `GET /health`, `GET /me` and `GET /admin/stats`
//! (`http_api::{Health, Me, AdminStats}`). [`operations`] describes one operation per route,
//! with every status the function and API Gateway in front of it answer. The document is
//! committed as `openapi.json` at the workspace root (the local gateway serves it at
//! `/openapi.json`); `cargo run -p api-spec -- --write` regenerates it and `tests/fresh.rs`
//! fails when it is stale.
//!
//! ```
//! let doc = api_spec::document();
//! assert!(doc.paths.paths.contains_key("/notes/{id}"));
//! ```

use std::path::PathBuf;

use utoipa::OpenApi as _;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

pub mod operations;
pub mod responses;

/// The name of the security scheme every `auth = "jwt"` route requires.
pub const BEARER_SCHEME: &str = "cognito_jwt";

/// Where `cargo xtask dev` serves the API (the `servers` entry of the document).
pub const LOCAL_SERVER_URL: &str = "http://127.0.0.1:3001";

/// The media type of error bodies the functions answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The document as `utoipa` derives it; [`document`] is the public entry.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "notes-api",
        description = "Per-user notes behind an API Gateway HTTP API with a Cognito JWT \
                       authorizer, one Lambda function per route. Every note operation is scoped \
                       by the caller's `sub`: another user's note is indistinguishable from a \
                       missing one (404). Errors of the functions are RFC 9457 problems \
                       (`application/problem+json`); API Gateway's own errors (an unknown route, \
                       a rejected token, a failed or timed-out function) are \
                       `{\"message\": …}` as `application/json`."
    ),
    servers((url = "http://127.0.0.1:3001", description = "the local gateway of `cargo xtask dev`")),
    paths(
        operations::health,
        operations::me,
        operations::list_notes,
        operations::create_note,
        operations::get_note,
        operations::replace_note,
        operations::delete_note,
        operations::admin_stats,
    ),
    components(
        schemas(
            notes::Note,
            notes::NoteInput,
            notes::Page,
            notes::NoteId,
            notes::Cursor,
            notes::Limit,
            http_api::Problem,
            http_api::Health,
            http_api::Me,
            http_api::AdminStats,
            responses::GatewayMessage,
        ),
        responses(
            responses::Unauthorized,
            responses::InternalError,
            responses::ServiceUnavailable,
        ),
    ),
    tags(
        (name = "health", description = "Liveness, without authentication."),
        (name = "identity", description = "Who is calling."),
        (name = "notes", description = "The caller's notes."),
        (name = "admin", description = "For members of the Cognito group `admin`."),
    ),
    modifiers(&BearerJwt),
)]
struct ApiDoc;

/// Adds the bearer JWT security scheme the operations refer to.
struct BearerJwt;

impl utoipa::Modify for BearerJwt {
    fn modify(&self, openapi: &mut OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .description(Some(
                "A Cognito id token or access token issued by the user pool to the API's app \
                 client, as `Authorization: Bearer <token>`. API Gateway's JWT authorizer checks \
                 its signature (the pool's JWKS), issuer, audience (`aud` of an id token, \
                 `client_id` of an access token) and expiry before the function runs.",
            ))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(BEARER_SCHEME, SecurityScheme::Http(scheme));
    }
}

/// The OpenAPI 3.1 document of the API.
#[must_use]
pub fn document() -> OpenApi {
    ApiDoc::openapi()
}

/// The document as committed: pretty JSON with a trailing newline.
///
/// # Errors
/// When serializing fails (it does not for this document).
pub fn to_json() -> Result<String, serde_json::Error> {
    let mut json = serde_json::to_string_pretty(&document())?;
    json.push('\n');
    Ok(json)
}

/// Where the committed document lives: `openapi.json` at the workspace root.
#[must_use]
pub fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi.json")
}
