//! Fuzz target `note_json`: arbitrary bytes as the body of `POST /notes` and `PUT /notes/{id}`,
//! through the path both functions take: `http_api::parse_json::<NoteInput>` on a request with
//! `content-type: application/json` (a text body when the bytes are UTF-8, else binary, as
//! `lambda_http` hands them over), then `NoteInput::validate`, then the stored form (`Note`).
//!
//! It must never panic. It asserts:
//! - `parse_json` accepts exactly the non-empty bodies of at most `MAX_BODY_BYTES` that
//!   `serde_json` reads as a `NoteInput`, with the same value, and answers 400 or 413 otherwise;
//! - for validated content, the rules of `notes::validate`: the title is the input's trimmed,
//!   1 to 200 characters without control characters; the body is unchanged and at most 64 KiB;
//!   the tags are unchanged, at most 20, each 1 to 32 of `[a-z0-9-]`, no duplicates; validating
//!   the result again gives the same result;
//! - a note built from it survives the store's JSON round trip (its ETag is checked on the way
//!   in) and carries a strong ETag that `If-Match` accepts.

#![no_main]

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use http_api::{Body, MAX_BODY_BYTES, Request};
use lambda_http::http::{HeaderValue, header};
use libfuzzer_sys::fuzz_target;
use notes::validate::{BODY_MAX_BYTES, TAG_MAX_CHARS, TAGS_MAX, TITLE_MAX_CHARS};
use notes::{IfMatch, Note, NoteId, NoteInput, ValidNote};

fuzz_target!(|data: &[u8]| {
    let body = match std::str::from_utf8(data) {
        Ok(text) => Body::Text(text.to_owned()),
        Err(_) => Body::Binary(data.to_vec()),
    };
    let mut req = Request::new(body);
    req.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let parsed = http_api::parse_json::<NoteInput>(&req);
    let direct = serde_json::from_slice::<NoteInput>(data);
    let input = match parsed {
        Ok(input) => input,
        Err(problem) => {
            let status = problem.status();
            if data.len() > MAX_BODY_BYTES {
                assert_eq!(status, 413);
            } else {
                assert_eq!(status, 400, "{}", problem.detail());
                assert!(direct.is_err(), "serde_json reads what parse_json rejects");
            }
            return;
        }
    };
    assert!(!data.is_empty() && data.len() <= MAX_BODY_BYTES);
    assert_eq!(direct.ok().as_ref(), Some(&input));

    let original = input.clone();
    let valid = match input.validate() {
        Ok(valid) => valid,
        Err(error) => {
            assert!(
                matches!(error.field, "title" | "body" | "tags"),
                "{}",
                error.field
            );
            return;
        }
    };
    check_valid(&original, &valid);
    check_stored(valid);
});

fn check_valid(original: &NoteInput, valid: &ValidNote) {
    let title = valid.title();
    assert_eq!(title, original.title.trim());
    let chars = title.chars().count();
    assert!((1..=TITLE_MAX_CHARS).contains(&chars), "{chars} characters");
    assert!(!title.chars().any(char::is_control), "{title:?}");
    assert_eq!(title, title.trim(), "an untrimmed title {title:?}");

    assert_eq!(valid.body(), original.body);
    assert!(valid.body().len() <= BODY_MAX_BYTES);

    assert_eq!(valid.tags(), original.tags.as_slice());
    assert!(valid.tags().len() <= TAGS_MAX);
    let mut seen = HashSet::new();
    for tag in valid.tags() {
        assert!((1..=TAG_MAX_CHARS).contains(&tag.len()), "{tag:?}");
        assert!(
            tag.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{tag:?}"
        );
        assert!(seen.insert(tag), "duplicate tag {tag:?}");
    }

    let again = NoteInput {
        title: title.to_owned(),
        body: valid.body().to_owned(),
        tags: valid.tags().to_vec(),
    }
    .validate();
    assert_eq!(again.as_ref(), Ok(valid), "validation is not idempotent");
}

fn check_stored(valid: ValidNote) {
    let id: NoteId = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
        .parse()
        .expect("a valid note id");
    let created = DateTime::<Utc>::from_timestamp_millis(1_700_000_000_123).expect("a time");
    let updated = DateTime::<Utc>::from_timestamp_millis(1_700_000_100_456).expect("a time");
    let note = Note::new(id, valid, created, updated);
    let json = serde_json::to_string(&note).expect("a note serializes");
    let back: Result<Note, _> = serde_json::from_str(&json);
    assert_eq!(back.as_ref().ok(), Some(&note), "{back:?}");
    let tag = IfMatch::parse(note.etag());
    assert!(
        tag.as_ref().is_ok_and(|t| t.matches(note.etag())),
        "etag {:?}: {tag:?}",
        note.etag()
    );
}
