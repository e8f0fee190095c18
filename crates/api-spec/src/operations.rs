//! One operation per route of `IaC/routes.auto.tfvars.json`, named after the function crate that
//! serves it (its `operationId`), with every status the function (see its `src/main.rs`) and
//! API Gateway in front of it answer. The functions are markers for `utoipa::path`; they are
//! never called.

use http_api::{Health, Me, Problem};
use notes::{Cursor, Limit, Note, NoteId, NoteInput, Page};
use notes_http::AdminStats;

use crate::responses::{
    ETag, GatewayMessage, IfMatch, InternalError, Location, ServiceUnavailable, Unauthorized,
};

/// Liveness check
///
/// Answers `{"status":"ok"}` without authentication.
#[utoipa::path(
    get,
    path = "/health",
    operation_id = "health",
    tag = "health",
    responses(
        (status = 200, description = "The function answered.", body = Health),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub fn health() {}

/// The caller's identity
///
/// The claims of the caller's token, as API Gateway's JWT authorizer passed them on. Works with
/// an id token (email, `cognito:username`) and an access token (scopes).
#[utoipa::path(
    get,
    path = "/me",
    operation_id = "me",
    tag = "identity",
    security(("cognito_jwt" = [])),
    responses(
        (status = 200, description = "The caller's identity.", body = Me),
        (status = 401, response = Unauthorized),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub fn me() {}

/// List the caller's notes
///
/// Newest first, `limit` per page (1 to 100, default 20). When more notes remain, the page's
/// `next_cursor` is set: pass it back as `cursor` for the next page.
#[utoipa::path(
    get,
    path = "/notes",
    operation_id = "list-notes",
    tag = "notes",
    security(("cognito_jwt" = [])),
    params(
        ("limit" = Option<Limit>, Query, description = "How many notes at most: a whole number from 1 to 100 (default 20)."),
        ("cursor" = Option<Cursor>, Query, description = "Where to continue: `next_cursor` of the previous page, unchanged."),
    ),
    responses(
        (status = 200, description = "One page of the caller's notes, newest first.", body = Page),
        (status = 400, description = "`limit` is not a whole number from 1 to 100, or `cursor` is not one this API issued (`validation`, with `field`).", body = Problem, content_type = "application/problem+json"),
        (status = 401, response = Unauthorized),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub fn list_notes() {}

/// Create a note
///
/// Creates a note for the caller from `{"title", "body", "tags"}` (unknown fields are rejected).
/// The title is trimmed.
#[utoipa::path(
    post,
    path = "/notes",
    operation_id = "create-note",
    tag = "notes",
    security(("cognito_jwt" = [])),
    request_body(
        content = NoteInput,
        content_type = "application/json",
        description = "The note's content, as JSON (`application/json` or `application/*+json`, UTF-8), at most 131072 bytes.",
    ),
    responses(
        (status = 201, description = "Created.", body = Note,
            headers(
                ("Location" = inline(Location), description = "The new note: `/notes/{id}`."),
                ("ETag" = inline(ETag), description = "The note's entity tag (its `etag`)."),
            )),
        (status = 400, description = "The body is empty, not JSON, has unknown or missing fields (`bad-request`), or breaks a rule for `title`, `body` or `tags` (`validation`, with `field`).", body = Problem, content_type = "application/problem+json"),
        (status = 401, response = Unauthorized),
        (status = 409, description = "A note with the generated id already exists (practically impossible with ULIDs): retry.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 131072 bytes (the function's `payload-too-large` problem), or over 10 MB (API Gateway's `{\"message\":\"Request Entity Too Large\"}`).",
            content(
                (Problem = "application/problem+json"),
                (GatewayMessage = "application/json"),
            )),
        (status = 415, description = "The body is not JSON: no `content-type`, another media type, or a charset other than UTF-8 (`unsupported-media-type`).", body = Problem, content_type = "application/problem+json"),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub fn create_note() {}

/// Get a note
///
/// One of the caller's notes, with its `ETag`. Another user's note is a 404, exactly like a
/// missing one.
#[utoipa::path(
    get,
    path = "/notes/{id}",
    operation_id = "get-note",
    tag = "notes",
    security(("cognito_jwt" = [])),
    params(("id" = NoteId, Path, description = "The note's id.")),
    responses(
        (status = 200, description = "The note.", body = Note,
            headers(("ETag" = inline(ETag), description = "The note's entity tag (its `etag`): send it as If-Match to replace the note."))),
        (status = 400, description = "`id` is not a note id (`validation`, field `id`).", body = Problem, content_type = "application/problem+json"),
        (status = 401, response = Unauthorized),
        (status = 404, description = "The caller has no note with this id (`not-found`).", body = Problem, content_type = "application/problem+json"),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub fn get_note() {}

/// Replace a note
///
/// Replaces one of the caller's notes with optimistic concurrency: `If-Match` must carry the
/// note's current `ETag` (428 without it, 412 when it is stale, and then nothing changes).
/// `created_at` is kept, `updated_at` and the `ETag` change.
#[utoipa::path(
    put,
    path = "/notes/{id}",
    operation_id = "replace-note",
    tag = "notes",
    security(("cognito_jwt" = [])),
    params(
        ("id" = NoteId, Path, description = "The note's id."),
        ("If-Match" = inline(IfMatch), Header, description = "The note's current ETag, as GET returned it (RFC 9110: a list of entity tags, or `*` for any existing note). Required. A value that is not entity-tag syntax is a 400; a well-formed tag that is not the current one (weak tags never are) is a 412."),
    ),
    request_body(
        content = NoteInput,
        content_type = "application/json",
        description = "The note's new content, as JSON (`application/json` or `application/*+json`, UTF-8), at most 131072 bytes.",
    ),
    responses(
        (status = 200, description = "Replaced.", body = Note,
            headers(("ETag" = inline(ETag), description = "The note's new entity tag."))),
        (status = 400, description = "`id` is not a note id, `If-Match` is not entity-tag syntax (e.g. unquoted), or the body is not a valid note (`bad-request` or `validation`, with `field`).", body = Problem, content_type = "application/problem+json"),
        (status = 401, response = Unauthorized),
        (status = 404, description = "The caller has no note with this id (`not-found`).", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` names no current ETag of the note: it changed since it was read, or the tag was weak or another. Fetch it again and retry with its new ETag (`precondition-failed`).", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 131072 bytes (the function's `payload-too-large` problem), or over 10 MB (API Gateway's `{\"message\":\"Request Entity Too Large\"}`).",
            content(
                (Problem = "application/problem+json"),
                (GatewayMessage = "application/json"),
            )),
        (status = 415, description = "The body is not JSON: no `content-type`, another media type, or a charset other than UTF-8 (`unsupported-media-type`).", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "No `If-Match` header (`precondition-required`).", body = Problem, content_type = "application/problem+json"),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub fn replace_note() {}

/// Delete a note
///
/// Deletes one of the caller's notes. Another user's note is a 404 and stays untouched.
#[utoipa::path(
    delete,
    path = "/notes/{id}",
    operation_id = "delete-note",
    tag = "notes",
    security(("cognito_jwt" = [])),
    params(("id" = NoteId, Path, description = "The note's id.")),
    responses(
        (status = 204, description = "Deleted; no body."),
        (status = 400, description = "`id` is not a note id (`validation`, field `id`).", body = Problem, content_type = "application/problem+json"),
        (status = 401, response = Unauthorized),
        (status = 404, description = "The caller has no note with this id (`not-found`).", body = Problem, content_type = "application/problem+json"),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub fn delete_note() {}

/// Note statistics
///
/// The number of notes of all users, for members of the Cognito group `admin` only (read from
/// the token's `cognito:groups`); 403 for everyone else.
#[utoipa::path(
    get,
    path = "/admin/stats",
    operation_id = "admin-stats",
    tag = "admin",
    security(("cognito_jwt" = [])),
    responses(
        (status = 200, description = "The statistics.", body = AdminStats),
        (status = 401, response = Unauthorized),
        (status = 403, description = "The caller is not a member of the group `admin` (`forbidden`).", body = Problem, content_type = "application/problem+json"),
        (status = 500, response = InternalError),
        (status = 503, response = ServiceUnavailable),
    ),
)]
pub fn admin_stats() {}
