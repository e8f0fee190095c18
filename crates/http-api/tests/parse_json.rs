//! `parse_json` against requests built from API Gateway v2 events: content type, size,
//! emptiness, syntax and shape, text and base64 bodies.

use http_api::{MAX_BODY_BYTES, Problem, parse_json, testing::Event};
use serde::Deserialize;

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct NewNote {
    title: String,
    #[serde(default)]
    tags: Vec<String>,
}

fn post() -> Event {
    Event::new("POST /notes")
}

fn parse(event: Event) -> Result<NewNote, Problem> {
    parse_json(&event.build())
}

/// Expects the event to be rejected with `status`, `slug` and (for 400s) `field`.
fn check_rejected(name: &str, event: Event, status: u16, slug: &str, field: Option<&str>) {
    match parse(event) {
        Ok(note) => panic!("{name}: accepted {note:?}"),
        Err(problem) => {
            assert_eq!(problem.status(), status, "{name}: {problem}");
            assert!(problem.type_uri().ends_with(slug), "{name}: {problem:?}");
            assert_eq!(problem.field(), field, "{name}: {problem:?}");
            assert!(
                problem.detail().chars().count() < 400,
                "{name}: {}",
                problem.detail()
            );
        }
    }
}

fn check_accepted(name: &str, event: Event, title: &str) {
    match parse(event) {
        Ok(note) => assert_eq!(note.title, title, "{name}"),
        Err(problem) => panic!("{name}: rejected: {problem}"),
    }
}

#[test]
fn content_type_rules() {
    let body = r#"{"title":"a"}"#;
    check_accepted(
        "json",
        post()
            .header("content-type", "application/json")
            .body_text(body),
        "a",
    );
    check_accepted(
        "charset",
        post()
            .header("content-type", "application/json; charset=utf-8")
            .body_text(body),
        "a",
    );
    check_accepted(
        "upper case",
        post()
            .header("Content-Type", "APPLICATION/JSON;Charset=UTF-8")
            .body_text(body),
        "a",
    );
    check_accepted(
        "+json",
        post()
            .header("content-type", "application/vnd.notes+json")
            .body_text(body),
        "a",
    );
    check_rejected(
        "missing",
        post().body_text(body),
        415,
        "unsupported-media-type",
        None,
    );
    check_rejected(
        "text/plain",
        post().header("content-type", "text/plain").body_text(body),
        415,
        "unsupported-media-type",
        None,
    );
    check_rejected(
        "form",
        post()
            .header("content-type", "application/x-www-form-urlencoded")
            .body_text("title=a"),
        415,
        "unsupported-media-type",
        None,
    );
    check_rejected(
        "latin-1",
        post()
            .header("content-type", "application/json; charset=iso-8859-1")
            .body_text(body),
        415,
        "unsupported-media-type",
        None,
    );
}

#[test]
fn size_limit() {
    let at_limit = format!(
        r#"{{"title":"{}"}}"#,
        "x".repeat(MAX_BODY_BYTES - r#"{"title":""}"#.len())
    );
    assert_eq!(at_limit.len(), MAX_BODY_BYTES);
    let json = |body: &str| {
        post()
            .header("content-type", "application/json")
            .body_text(body)
    };
    match parse(json(&at_limit)) {
        Ok(note) => assert_eq!(note.title.len(), MAX_BODY_BYTES - 12),
        Err(problem) => panic!("at the limit: {problem}"),
    }
    let over = format!("{at_limit} ");
    check_rejected("over", json(&over), 413, "payload-too-large", None);
    let binary_over = post()
        .header("content-type", "application/json")
        .body_base64(over.as_bytes());
    check_rejected("binary over", binary_over, 413, "payload-too-large", None);
}

#[test]
fn bodies_that_are_not_a_valid_document() {
    let json = || post().header("content-type", "application/json");
    check_rejected("no body", json(), 400, "bad-request", None);
    check_rejected("empty", json().body_text(""), 400, "bad-request", None);
    check_rejected(
        "empty without content type",
        post(),
        400,
        "bad-request",
        None,
    );
    check_rejected(
        "whitespace",
        json().body_text("  \n"),
        400,
        "bad-request",
        None,
    );
    check_rejected(
        "syntax",
        json().body_text("{\"title\":"),
        400,
        "bad-request",
        None,
    );
    check_rejected(
        "trailing",
        json().body_text("{\"title\":\"a\"} x"),
        400,
        "bad-request",
        None,
    );
    check_rejected(
        "not an object",
        json().body_text("\"a\""),
        400,
        "bad-request",
        None,
    );
    check_rejected("null", json().body_text("null"), 400, "bad-request", None);
    check_rejected(
        "missing field",
        json().body_text("{}"),
        400,
        "bad-request",
        None,
    );
    check_rejected(
        "wrong type",
        json().body_text(r#"{"title":5}"#),
        400,
        "bad-request",
        Some("title"),
    );
    check_rejected(
        "wrong nested type",
        json().body_text(r#"{"title":"a","tags":["x",7]}"#),
        400,
        "bad-request",
        Some("tags[1]"),
    );
    check_rejected(
        "unknown field",
        json().body_text(r#"{"title":"a","colour":"red"}"#),
        400,
        "bad-request",
        Some("colour"),
    );
    check_rejected(
        "invalid utf-8",
        json().body_base64(b"{\"title\":\"\xff\"}"),
        400,
        "bad-request",
        None,
    );
}

#[test]
fn serde_messages_reach_the_client_truncated() {
    let long_field = "f".repeat(2_000);
    let event = post()
        .header("content-type", "application/json")
        .body_text(&format!(r#"{{"title":"a","{long_field}":1}}"#));
    let problem = match parse(event) {
        Ok(note) => panic!("accepted {note:?}"),
        Err(problem) => problem,
    };
    assert!(
        problem.detail().contains("unknown field"),
        "{}",
        problem.detail()
    );
    assert!(problem.detail().ends_with('…'), "{}", problem.detail());
    assert!(problem.detail().chars().count() < 400);
}

#[test]
fn base64_bodies_are_decoded() {
    let event = post()
        .header("content-type", "application/json")
        .body_base64(r#"{"title":"from base64","tags":["é"]}"#.as_bytes());
    match parse(event) {
        Ok(note) => assert_eq!(
            note,
            NewNote {
                title: "from base64".into(),
                tags: vec!["é".into()]
            }
        ),
        Err(problem) => panic!("rejected: {problem}"),
    }
}
