//! RFC 9457 problem details: the one error shape every function answers with.
//!
//! A [`Problem`] is serialised as `application/problem+json`:
//!
//! ```json
//! { "type": "https://notes.example/problems/validation", "title": "Invalid request",
//!   "status": 400, "detail": "title: must not be empty", "field": "title" }
//! ```
//!
//! # The `type` scheme
//!
//! Every `type` is [`TYPE_BASE`] followed by a short, stable slug (`validation`, `not-found`,
//! ...). The host is under the reserved `.example` TLD: the URI identifies the *kind* of
//! problem and is never fetched. Clients branch on `type` (or `status`), never on `title`
//! or `detail`, which are for humans. The slugs are part of the API contract.
//!
//! `detail` is always safe to show a client: server-side failures use [`Problem::internal`],
//! whose text is generic; the real cause goes to the log instead.

use std::fmt;

use lambda_http::{
    Body, Response,
    http::{HeaderValue, StatusCode, header},
};
use serde::{Deserialize, Serialize};

/// The prefix of every problem `type` URI; a slug such as `not-found` follows it.
pub const TYPE_BASE: &str = "https://notes.example/problems/";

/// The media type of a problem response body.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// An RFC 9457 problem: an HTTP error status with a machine-readable type and a client-safe
/// explanation.
///
/// Handlers return `Result<Response<Body>, Problem>` ([`crate::Reply`]); [`crate::respond`] and [`crate::run`]
/// turn an `Err` into its response, so a client's mistake never becomes a Lambda error.
///
/// The fields live behind one `Box`, so `Result<_, Problem>` stays pointer-sized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(transparent)]
#[error("{} {}: {}", .0.status, .0.title, .0.detail)]
pub struct Problem(Box<Fields>);

impl Problem {
    /// 400 `bad-request`: the request is malformed (bad JSON, bad query parameter, ...).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(400, "bad-request", "Bad request", detail)
    }

    /// 400 `validation`: a well-formed request whose `field` breaks a rule.
    pub fn validation(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(400, "validation", "Invalid request", detail).with_field(field)
    }

    /// 401 `unauthorized`: no usable credentials. The response carries
    /// `www-authenticate: Bearer`.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, "unauthorized", "Unauthorized", detail)
    }

    /// 403 `forbidden`: authenticated, but not allowed to do this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, "forbidden", "Forbidden", detail)
    }

    /// 404 `not-found`: no such resource (or none the caller may see).
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, "not-found", "Not found", detail)
    }

    /// 405 `method-not-allowed`; `allowed` (e.g. `["GET", "PUT"]`) becomes the `Allow` header.
    pub fn method_not_allowed(allowed: &[&str]) -> Self {
        let allow = allowed.join(", ");
        let mut problem = Self::new(
            405,
            "method-not-allowed",
            "Method not allowed",
            format!("this resource accepts only: {allow}"),
        );
        problem.0.allow = Some(allow);
        problem
    }

    /// 409 `conflict`: the resource already exists or is in a conflicting state.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(409, "conflict", "Conflict", detail)
    }

    /// 412 `precondition-failed`: an `If-Match` / `If-None-Match` condition did not hold.
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(412, "precondition-failed", "Precondition failed", detail)
    }

    /// 428 `precondition-required`: the route needs a conditional request (`If-Match`).
    pub fn precondition_required(detail: impl Into<String>) -> Self {
        Self::new(
            428,
            "precondition-required",
            "Precondition required",
            detail,
        )
    }

    /// 413 `payload-too-large`: the request body exceeds a limit.
    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::new(413, "payload-too-large", "Payload too large", detail)
    }

    /// 415 `unsupported-media-type`: the body is not in a format the route accepts.
    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            detail,
        )
    }

    /// 500 `internal`: something failed on our side. The detail is deliberately generic;
    /// log the cause before returning this.
    pub fn internal() -> Self {
        Self::new(
            500,
            "internal",
            "Internal server error",
            "the server failed to handle this request; try again later",
        )
    }

    /// 503 `service-unavailable`: a dependency is temporarily unavailable.
    pub fn service_unavailable(detail: impl Into<String>) -> Self {
        Self::new(503, "service-unavailable", "Service unavailable", detail)
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.0.status
    }

    /// The problem type URI ([`TYPE_BASE`] + slug).
    pub fn type_uri(&self) -> &str {
        &self.0.type_uri
    }

    /// The short, human-readable summary of the problem type.
    pub fn title(&self) -> &str {
        &self.0.title
    }

    /// The client-safe explanation of this occurrence.
    pub fn detail(&self) -> &str {
        &self.0.detail
    }

    /// The request field a validation problem is about, if any.
    pub fn field(&self) -> Option<&str> {
        self.0.field.as_deref()
    }

    /// Attaches the request field this problem is about (shown as `"field"`).
    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.0.field = Some(field.into());
        self
    }

    /// The `application/problem+json` response: status, body, and for a 401
    /// `www-authenticate: Bearer`, for a 405 `Allow`.
    pub fn into_response(self) -> Response<Body> {
        let body = match serde_json::to_string(&self) {
            Ok(body) => body,
            // Unreachable for this plain struct; answer with a fixed, valid document anyway.
            Err(_) => format!(
                r#"{{"type":"{TYPE_BASE}internal","title":"Internal server error","status":500,"detail":"the server failed to handle this request; try again later"}}"#
            ),
        };
        let mut response = Response::new(Body::Text(body));
        *response.status_mut() =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        );
        if self.0.status == 401 {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(allow) = self.0.allow.and_then(|a| HeaderValue::from_str(&a).ok()) {
            headers.insert(header::ALLOW, allow);
        }
        response
    }

    fn new(status: u16, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Self(Box::new(Fields {
            type_uri: format!("{TYPE_BASE}{slug}"),
            title: title.to_owned(),
            status,
            detail: detail.into(),
            field: None,
            allow: None,
        }))
    }
}

impl From<Problem> for Response<Body> {
    fn from(problem: Problem) -> Self {
        problem.into_response()
    }
}

/// The RFC 9457 members of a [`Problem`], in their JSON shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(
        description = "An RFC 9457 problem, the body of every error a function answers \
                       (`application/problem+json`). Branch on `type` or `status`; `title` and \
                       `detail` are for humans.",
        examples(json!({
            "type": "https://notes.example/problems/validation",
            "title": "Invalid request",
            "status": 400,
            "detail": "must be 1 to 200 characters after trimming",
            "field": "title"
        }))
    )
)]
struct Fields {
    /// The kind of problem: `https://notes.example/problems/` followed by a stable slug
    /// (`bad-request`, `validation`, `unauthorized`, `forbidden`, `not-found`, `conflict`,
    /// `precondition-failed`, `payload-too-large`, `unsupported-media-type`,
    /// `precondition-required`, `internal`, ...). It identifies the kind and is never fetched.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(format = "uri"))]
    type_uri: String,
    /// A short, human-readable summary of the problem type.
    title: String,
    /// The HTTP status code of the response.
    #[cfg_attr(feature = "openapi", schema(minimum = 400, maximum = 599))]
    status: u16,
    /// A client-safe explanation of this occurrence.
    detail: String,
    /// The request field a validation problem is about, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    field: Option<String>,
    /// The methods a route accepts, sent as the `Allow` header of a 405.
    #[serde(skip)]
    allow: Option<String>,
}

/// The schema of a problem is that of its members (`Fields`), under the name `Problem`.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Problem {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <Fields as utoipa::PartialSchema>::schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Problem {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("Problem")
    }
}

/// A short, log-friendly name for a problem: its slug (`not-found`), without the URI base.
pub(crate) struct Slug<'a>(pub(crate) &'a Problem);

impl fmt::Display for Slug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let uri = self.0.type_uri();
        f.write_str(uri.strip_prefix(TYPE_BASE).unwrap_or(uri))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(response: &Response<Body>) -> serde_json::Value {
        match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap_or(serde_json::Value::Null),
            _ => serde_json::Value::Null,
        }
    }

    fn check(problem: Problem, status: u16, slug: &str) {
        let detail = problem.detail().to_owned();
        let title = problem.title().to_owned();
        let response = problem.into_response();
        assert_eq!(response.status().as_u16(), status, "{slug}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            PROBLEM_CONTENT_TYPE
        );
        assert_eq!(
            response.headers().get(header::WWW_AUTHENTICATE).is_some(),
            status == 401,
            "{slug}: www-authenticate only on 401"
        );
        let body = body_of(&response);
        assert_eq!(body["type"], format!("{TYPE_BASE}{slug}"));
        assert_eq!(body["status"], status);
        assert_eq!(body["title"], title.as_str());
        assert_eq!(body["detail"], detail.as_str());
        assert!(!title.is_empty() && !detail.is_empty(), "{slug}");
    }

    #[test]
    fn every_constructor_has_its_status_type_and_content_type() {
        check(Problem::bad_request("bad"), 400, "bad-request");
        check(Problem::validation("title", "too long"), 400, "validation");
        check(Problem::unauthorized("no token"), 401, "unauthorized");
        check(Problem::forbidden("admins only"), 403, "forbidden");
        check(Problem::not_found("no such note"), 404, "not-found");
        check(
            Problem::method_not_allowed(&["GET"]),
            405,
            "method-not-allowed",
        );
        check(Problem::conflict("exists"), 409, "conflict");
        check(
            Problem::precondition_failed("etag"),
            412,
            "precondition-failed",
        );
        check(Problem::payload_too_large("big"), 413, "payload-too-large");
        check(
            Problem::unsupported_media_type("json"),
            415,
            "unsupported-media-type",
        );
        check(
            Problem::precondition_required("if-match"),
            428,
            "precondition-required",
        );
        check(Problem::internal(), 500, "internal");
        check(
            Problem::service_unavailable("later"),
            503,
            "service-unavailable",
        );
    }

    #[test]
    fn validation_carries_the_field_and_others_do_not() {
        let body = body_of(&Problem::validation("title", "must not be empty").into_response());
        assert_eq!(body["field"], "title");
        let body = body_of(&Problem::not_found("x").into_response());
        assert!(body.get("field").is_none(), "{body}");
        let body = body_of(
            &Problem::bad_request("x")
                .with_field("limit")
                .into_response(),
        );
        assert_eq!(body["field"], "limit");
    }

    #[test]
    fn method_not_allowed_sends_allow() {
        let response = Problem::method_not_allowed(&["GET", "PUT"]).into_response();
        assert_eq!(response.headers()[header::ALLOW], "GET, PUT");
        assert!(body_of(&response).get("allow").is_none());
    }

    #[test]
    fn internal_detail_is_generic() {
        let problem = Problem::internal();
        assert!(!problem.detail().contains("error"), "{}", problem.detail());
        assert_eq!(Slug(&problem).to_string(), "internal");
    }

    #[test]
    fn display_and_round_trip() {
        let problem = Problem::conflict("already exists");
        assert_eq!(problem.to_string(), "409 Conflict: already exists");
        let json = serde_json::to_string(&problem).unwrap_or_default();
        let back: Result<Problem, _> = serde_json::from_str(&json);
        assert_eq!(back.ok(), Some(problem));
    }
}
