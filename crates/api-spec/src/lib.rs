//! The API's OpenAPI 3.1 contract, generated from the code with `utoipa`.
//!
//! The schemas are derived from the types the functions really (de)serialize: `notes::Note`,
//! `notes::NoteInput`, `notes::Page` (and the `NoteId`, `Cursor` and `Limit` they use),
//! `http_api::Problem` and the bodies of `GET /health`, `GET /me` and `GET /admin/stats`
//! (`http_api::{Health, Me}`, `notes_http::AdminStats`). [`operations`] describes one operation
//! per route, with every status the function and API Gateway in front of it answer. The
//! document is committed as `openapi.json` at the workspace root (the local gateway serves it at
//! `/openapi.json`); `cargo run -p api-spec -- --write` regenerates it and `tests/fresh.rs`
//! fails when it is stale.
//!
//! ```
//! let doc = api_spec::document();
//! assert!(doc.paths.paths.contains_key("/notes/{id}"));
//! ```

use std::path::PathBuf;

use utoipa::OpenApi as _;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi, RefOr};

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
            notes_http::AdminStats,
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
    modifiers(&BearerJwt, &NoteLinks),
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

/// An OpenAPI link: after `status` of operation `from`, a client may call `to` with
/// `parameters` (name as OpenAPI spells it, e.g. `header.If-Match`, and a runtime expression).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoteLink {
    /// The operation whose response the link starts from.
    pub from: &'static str,
    /// The response status.
    pub status: &'static str,
    /// The link's name.
    pub name: &'static str,
    /// The operation it leads to.
    pub to: &'static str,
    /// The target's parameters and the expressions that fill them.
    pub parameters: &'static [(&'static str, &'static str)],
}

const fn link(
    from: &'static str,
    status: &'static str,
    name: &'static str,
    to: &'static str,
    parameters: &'static [(&'static str, &'static str)],
) -> NoteLink {
    NoteLink {
        from,
        status,
        name,
        to,
        parameters,
    }
}

/// The OpenAPI links between the note operations: what a client does next with a response,
/// e.g. replace the note it just created with the `ETag` it got. Stateful testers
/// (schemathesis) follow them to chain create, read, replace and delete on real ids.
pub const LINKS: [NoteLink; 9] = [
    link(
        "create-note",
        "201",
        "GetCreatedNote",
        "get-note",
        &[("id", "$response.body#/id")],
    ),
    link(
        "create-note",
        "201",
        "ReplaceCreatedNote",
        "replace-note",
        &[
            ("id", "$response.body#/id"),
            ("header.If-Match", "$response.header.ETag"),
        ],
    ),
    link(
        "create-note",
        "201",
        "DeleteCreatedNote",
        "delete-note",
        &[("id", "$response.body#/id")],
    ),
    link(
        "get-note",
        "200",
        "ReplaceReadNote",
        "replace-note",
        &[
            ("id", "$request.path.id"),
            ("header.If-Match", "$response.header.ETag"),
        ],
    ),
    link(
        "get-note",
        "200",
        "DeleteReadNote",
        "delete-note",
        &[("id", "$request.path.id")],
    ),
    link(
        "replace-note",
        "200",
        "GetReplacedNote",
        "get-note",
        &[("id", "$request.path.id")],
    ),
    link(
        "replace-note",
        "200",
        "ReplaceAgain",
        "replace-note",
        &[
            ("id", "$request.path.id"),
            ("header.If-Match", "$response.header.ETag"),
        ],
    ),
    link(
        "replace-note",
        "200",
        "DeleteReplacedNote",
        "delete-note",
        &[("id", "$request.path.id")],
    ),
    link(
        "delete-note",
        "204",
        "GetDeletedNote",
        "get-note",
        &[("id", "$request.path.id")],
    ),
];

/// Adds [`LINKS`] to the responses they start from.
struct NoteLinks;

impl utoipa::Modify for NoteLinks {
    fn modify(&self, openapi: &mut OpenApi) {
        for NoteLink {
            from,
            status,
            name,
            to,
            parameters,
        } in LINKS
        {
            let operation = openapi.paths.paths.values_mut().find_map(|item| {
                [
                    item.get.as_mut(),
                    item.put.as_mut(),
                    item.post.as_mut(),
                    item.delete.as_mut(),
                ]
                .into_iter()
                .flatten()
                .find(|op| op.operation_id.as_deref() == Some(from))
            });
            let Some(RefOr::T(response)) =
                operation.and_then(|op| op.responses.responses.get_mut(status))
            else {
                continue;
            };
            let mut link = LinkBuilder::new().operation_id(to);
            for (parameter, expression) in parameters {
                link = link.parameter(*parameter, *expression);
            }
            response
                .links
                .insert((*name).to_owned(), RefOr::T(link.build()));
        }
    }
}

/// The OpenAPI 3.1 document of the API.
#[must_use]
pub fn document() -> OpenApi {
    ApiDoc::openapi()
}

/// The document as committed and served: pretty JSON with a trailing newline.
///
/// utoipa 5.5 serializes a link's fields in snake case (`operation_id`); OpenAPI names them in
/// camel case (`operationId`, `operationRef`, `requestBody`), so they are renamed here. No
/// other part of the document has keys in snake case (`tests/contract.rs` checks).
///
/// # Errors
/// When serializing fails (it does not for this document).
pub fn to_json() -> Result<String, serde_json::Error> {
    let mut json = serde_json::to_string_pretty(&document())?;
    for (snake, camel) in [
        ("\"operation_id\": ", "\"operationId\": "),
        ("\"operation_ref\": ", "\"operationRef\": "),
        ("\"request_body\": ", "\"requestBody\": "),
    ] {
        json = json.replace(snake, camel);
    }
    json.push('\n');
    Ok(json)
}

/// [`to_json`] parsed, for tests and tools that inspect the document.
///
/// # Errors
/// When serializing fails (it does not for this document).
pub fn to_value() -> Result<serde_json::Value, serde_json::Error> {
    serde_json::from_str(&to_json()?)
}

/// Where the committed document lives: `openapi.json` at the workspace root.
#[must_use]
pub fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi.json")
}
