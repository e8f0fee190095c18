//! JSON in and out, and small readers for headers, path and query parameters.
//!
//! [`parse_json`] enforces the request rules every function shares: a JSON content type
//! (415), a body size limit (413), a non-empty body and a document of the expected shape
//! (400). Responses are built with [`json`], [`created`] and [`no_content`].

use lambda_http::{
    Body, Request, RequestExt, Response,
    http::{HeaderValue, StatusCode, header},
};
use serde::{Serialize, de::DeserializeOwned};

use crate::Problem;

/// The largest request body [`parse_json`] accepts, in bytes (128 KiB): room for a 64 KiB
/// note body even when JSON escaping doubles it.
pub const MAX_BODY_BYTES: usize = 128 * 1024;

/// The longest `detail` a JSON parse problem carries; serde's messages quote the client's
/// input, and the client does not need more than this to find the mistake.
pub const MAX_PARSE_DETAIL_CHARS: usize = 300;

/// The media type of JSON responses.
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// Reads the request body as a JSON document of type `T`.
///
/// The rules, in order:
/// - an empty body is 400;
/// - `content-type` must be `application/json` or `application/<anything>+json`
///   (case-insensitive; parameters are allowed, but a `charset` must be UTF-8), else 415;
/// - the body must be at most [`MAX_BODY_BYTES`], else 413;
/// - the body must be UTF-8 JSON of the shape `T` describes (unknown fields are rejected
///   when `T` says `#[serde(deny_unknown_fields)]`), else 400 naming the offending field
///   in `"field"` when there is one.
///
/// Text and binary bodies (API Gateway's `isBase64Encoded`, already decoded by
/// `lambda_http`) are treated alike.
pub fn parse_json<T: DeserializeOwned>(req: &Request) -> Result<T, Problem> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        // `Body` is non-exhaustive; a future variant is not something this API accepts.
        _ => {
            return Err(Problem::unsupported_media_type(
                "the request body must be a JSON document",
            ));
        }
    };
    if bytes.is_empty() {
        return Err(Problem::bad_request(
            "the request body is empty; send a JSON document with content-type: application/json",
        ));
    }
    check_content_type(header(req, header::CONTENT_TYPE.as_str()))?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Problem::payload_too_large(format!(
            "the request body is {} bytes; the limit is {MAX_BODY_BYTES} bytes",
            bytes.len()
        )));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(parse_problem)?;
    // Anything but whitespace after the document is an error too.
    deserializer.end().map_err(|error| {
        Problem::bad_request(format!(
            "the request body is not valid JSON for this route: {}",
            truncate(&error.to_string(), MAX_PARSE_DETAIL_CHARS)
        ))
    })?;
    Ok(value)
}

/// A response with `status` and `value` as its `application/json` body.
///
/// A value that cannot be serialised (a bug, e.g. a map with non-string keys) or an invalid
/// status code is logged and answered with [`Problem::internal`].
pub fn json<T: Serialize>(status: u16, value: &T) -> Response<Body> {
    let Ok(status) = StatusCode::from_u16(status) else {
        tracing::error!(status, "json(): invalid HTTP status code");
        return Problem::internal().into_response();
    };
    match serde_json::to_string(value) {
        Ok(body) => {
            let mut response = Response::new(Body::Text(body));
            *response.status_mut() = status;
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(JSON_CONTENT_TYPE),
            );
            response
        }
        Err(error) => {
            tracing::error!(%error, "json(): failed to serialise the response body");
            Problem::internal().into_response()
        }
    }
}

/// A `201 Created` JSON response whose `Location` header is `location` (e.g. `/notes/{id}`).
///
/// A `location` that is not a valid header value is logged and left out.
pub fn created<T: Serialize>(location: &str, value: &T) -> Response<Body> {
    let mut response = json(201, value);
    if response.status() == StatusCode::CREATED {
        match HeaderValue::from_str(location) {
            Ok(location) => {
                response.headers_mut().insert(header::LOCATION, location);
            }
            Err(_) => tracing::error!("created(): location is not a valid header value"),
        }
    }
    response
}

/// A `204 No Content` response with an empty body.
pub fn no_content() -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// The first value of the request header `name` (case-insensitive), if present and visible
/// ASCII.
pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The path parameter `name` of the route (e.g. `id` in `GET /notes/{id}`), as API Gateway
/// extracted it.
pub fn path_param(req: &Request, name: &str) -> Option<String> {
    req.path_parameters_ref()
        .and_then(|params| params.first(name))
        .map(str::to_owned)
}

/// The first value of the query-string parameter `name`, percent-decoded.
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|params| params.first(name))
        .map(str::to_owned)
}

fn check_content_type(content_type: Option<&str>) -> Result<(), Problem> {
    const EXPECTED: &str = "send the body with content-type: application/json";
    let Some(content_type) = content_type else {
        return Err(Problem::unsupported_media_type(format!(
            "the request has no content-type; {EXPECTED}"
        )));
    };
    let mut parts = content_type.split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let is_json = essence == JSON_CONTENT_TYPE
        || essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json") && subtype.len() > "+json".len());
    if !is_json {
        return Err(Problem::unsupported_media_type(format!(
            "content-type {essence:?} is not supported; {EXPECTED}"
        )));
    }
    for parameter in parts {
        let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        if name.trim().eq_ignore_ascii_case("charset") {
            let charset = value.trim().trim_matches('"');
            if !charset.eq_ignore_ascii_case("utf-8") && !charset.eq_ignore_ascii_case("utf8") {
                return Err(Problem::unsupported_media_type(format!(
                    "charset {charset:?} is not supported; JSON must be UTF-8"
                )));
            }
        }
    }
    Ok(())
}

fn parse_problem(error: serde_path_to_error::Error<serde_json::Error>) -> Problem {
    let path = error.path().to_string();
    let inner = error.into_inner();
    let message = truncate(&inner.to_string(), MAX_PARSE_DETAIL_CHARS);
    let detail = format!("the request body is not valid JSON for this route: {message}");
    // `.` is serde_path_to_error's name for the document root.
    if path.is_empty() || path == "." || inner.is_syntax() || inner.is_eof() {
        Problem::bad_request(detail)
    } else {
        Problem::bad_request(detail).with_field(path)
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        fn check(content_type: Option<&str>, accepted: bool) {
            assert_eq!(
                check_content_type(content_type).is_ok(),
                accepted,
                "{content_type:?}"
            );
        }
        check(Some("application/json"), true);
        check(Some("Application/JSON"), true);
        check(Some("application/json; charset=utf-8"), true);
        check(Some("application/json;charset=\"UTF-8\""), true);
        check(Some("application/merge-patch+json"), true);
        check(Some("application/problem+json; charset=utf-8"), true);
        check(None, false);
        check(Some(""), false);
        check(Some("text/plain"), false);
        check(Some("text/json"), false);
        check(Some("application/+json"), false);
        check(Some("application/jsonx"), false);
        check(Some("application/x-www-form-urlencoded"), false);
        check(Some("application/json; charset=iso-8859-1"), false);
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("abcdef", 3), "abc…");
        assert_eq!(truncate("ééé", 2), "éé…");
    }

    #[test]
    fn json_sets_status_and_content_type() {
        let response = json(200, &serde_json::json!({"a": 1}));
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()[header::CONTENT_TYPE], JSON_CONTENT_TYPE);
        assert!(matches!(response.body(), Body::Text(t) if t == r#"{"a":1}"#));
    }

    #[test]
    fn json_with_an_invalid_status_is_a_500_problem() {
        let response = json(42, &1);
        assert_eq!(response.status(), 500);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            crate::problem::PROBLEM_CONTENT_TYPE
        );
    }

    #[test]
    fn json_with_an_unserialisable_value_is_a_500_problem() {
        let mut map = std::collections::HashMap::new();
        map.insert((1, 2), "tuple keys are not JSON object keys");
        assert_eq!(json(200, &map).status(), 500);
    }

    #[test]
    fn created_and_no_content() {
        let response = created("/notes/01J", &serde_json::json!({"id": "01J"}));
        assert_eq!(response.status(), 201);
        assert_eq!(response.headers()[header::LOCATION], "/notes/01J");
        let response = created("/bad\nlocation", &1);
        assert_eq!(response.status(), 201);
        assert!(response.headers().get(header::LOCATION).is_none());
        let response = no_content();
        assert_eq!(response.status(), 204);
        assert!(matches!(response.body(), Body::Empty));
    }
}
