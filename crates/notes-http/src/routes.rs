//! What the note routes share: the caller as an [`Owner`], the `{id}` path parameter as a
//! [`NoteId`], and a note answered with its `ETag`.

use cognito_claims::CognitoClaims;
use http_api::{Problem, path_param};
use lambda_http::{
    Body, Request, Response,
    http::{HeaderValue, header},
};
use notes::{Note, NoteId, Owner};

/// The authenticated caller: the claims API Gateway's JWT authorizer passed on, and the
/// owner every note operation is scoped by (the token's `sub`). 401 when there are none.
pub fn caller(req: &Request) -> Result<(CognitoClaims, Owner), Problem> {
    let claims = CognitoClaims::from_request(req)?;
    let owner = Owner::new(claims.sub.clone())
        .map_err(|_| Problem::unauthorized("the token's sub claim is not a usable user id"))?;
    Ok((claims, owner))
}

/// The note id from the `{id}` path parameter, validated strictly (400 when malformed).
pub fn note_id(req: &Request) -> Result<NoteId, Problem> {
    let raw = path_param(req, "id")
        .ok_or_else(|| Problem::validation("id", "the note id is missing from the path"))?;
    raw.parse::<NoteId>().map_err(crate::problem)
}

/// `note` as JSON with the given status and its `ETag` header.
pub fn note_response(status: u16, note: &Note) -> Response<Body> {
    with_etag(http_api::json(status, note), note)
}

/// `201 Created` with `Location: /notes/{id}` and the note's `ETag`.
pub fn note_created(note: &Note) -> Response<Body> {
    with_etag(
        http_api::created(&format!("/notes/{}", note.id()), note),
        note,
    )
}

fn with_etag(mut response: Response<Body>, note: &Note) -> Response<Body> {
    if let Ok(etag) = HeaderValue::from_str(note.etag()) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}
