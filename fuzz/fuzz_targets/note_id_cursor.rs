//! Fuzz target `note_id_cursor`: arbitrary text through the parsers of the note routes'
//! parameters — `NoteId` (the `{id}` path parameter), `Cursor` and `Limit` (the list route's
//! query), `IfMatch` (the replace route's header) — and, as a raw query string, through
//! `lambda_http`'s query map into `ListQuery`, the way `list-notes` reads `limit` and `cursor`.
//!
//! It must never panic, and whatever a parser accepts must round-trip:
//! - a note id prints as exactly the text it was parsed from (only the canonical form is
//!   accepted), and its cursor parses back to the same position;
//! - an accepted cursor is canonical (it prints as the text it was parsed from, so one position
//!   has one cursor) and holds a valid note id;
//! - an accepted limit is 1 to 100, was written in ASCII digits only, and its value parses to
//!   the same limit;
//! - an accepted `If-Match` is a quoted 32-hex-digit tag that parses to itself and matches the
//!   ETag it names.

#![no_main]

use lambda_http::aws_lambda_events::query_map::QueryMap;
use libfuzzer_sys::fuzz_target;
use notes::list::{CURSOR_MAX_LEN, MAX_LIMIT};
use notes::{Cursor, IfMatch, Limit, ListQuery, NoteId, Owner};

fuzz_target!(|text: &str| {
    check_note_id(text);
    check_cursor(text);
    check_limit(text);
    check_if_match(text);

    // As `list-notes` reads them: the raw query string, parsed as lambda_http parses it.
    let Ok(query) = text.parse::<QueryMap>();
    let (limit, cursor) = (query.first("limit"), query.first("cursor"));
    match ListQuery::parse(limit, cursor) {
        Ok(parsed) => {
            assert_eq!(Limit::parse(limit).ok(), Some(parsed.limit));
            assert_eq!(parsed.cursor.map(|c| c.to_string()).as_deref(), cursor);
        }
        Err(error) => assert!(matches!(error.field, "limit" | "cursor"), "{}", error.field),
    }
});

fn check_note_id(text: &str) {
    let Ok(id) = text.parse::<NoteId>() else {
        return;
    };
    assert_eq!(id.to_string(), text, "a note id that is not canonical");
    assert_eq!(id.to_string().parse::<NoteId>().ok(), Some(id));
    let owner = Owner::new("x".repeat(128)).expect("the longest owner");
    for store in ['f', 'd'] {
        let cursor = Cursor::issued(id, &owner, store).to_string();
        assert!(cursor.len() <= CURSOR_MAX_LEN, "cursor {cursor:?} too long");
        let back = Cursor::parse(&cursor).expect("an issued cursor parses");
        assert_eq!(back.position(), id);
        assert!(back.check(&owner, store).is_ok());
    }
    // The older, unbound form is refused.
    assert!(Cursor::parse(&Cursor::after(id).to_string()).is_err());
}

fn check_cursor(text: &str) {
    let cursor = match Cursor::parse(text) {
        Ok(cursor) => cursor,
        Err(error) => {
            assert_eq!(error.field, "cursor");
            return;
        }
    };
    assert_eq!(
        cursor.to_string(),
        text,
        "an accepted cursor that is not canonical"
    );
    let id = cursor.position();
    assert_eq!(id.to_string().parse::<NoteId>().ok(), Some(id));
    assert_eq!(Cursor::parse(&cursor.to_string()).ok(), Some(cursor));
}

fn check_limit(text: &str) {
    let limit = match Limit::parse(Some(text)) {
        Ok(limit) => limit,
        Err(error) => {
            assert_eq!(error.field, "limit");
            return;
        }
    };
    assert!(
        (1..=MAX_LIMIT).contains(&limit.get()),
        "limit {}",
        limit.get()
    );
    assert!(text.bytes().all(|b| b.is_ascii_digit()), "limit {text:?}");
    assert_eq!(text.trim_start_matches('0'), limit.get().to_string());
    assert_eq!(
        Limit::parse(Some(&limit.get().to_string())).ok(),
        Some(limit)
    );
    assert_eq!(Limit::new(limit.get()).ok(), Some(limit));
}

fn check_if_match(text: &str) {
    let parsed = match IfMatch::parse(text) {
        Ok(parsed) => parsed,
        Err(error) => {
            assert_eq!(error.field, "if_match");
            return;
        }
    };
    // Its printed form is the same precondition (RFC 9110's list, canonically spaced).
    let printed = parsed.to_string();
    assert_eq!(IfMatch::parse(&printed).ok().as_ref(), Some(&parsed), "{printed:?}");
    match &parsed {
        IfMatch::Any => {
            assert_eq!(text.trim_matches([' ', '\t']), "*");
            assert!(parsed.matches("\"anything\""));
        }
        IfMatch::Tags(tags) => {
            assert!(!tags.is_empty(), "{text:?}");
            for tag in tags {
                let inner = tag
                    .opaque
                    .strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .unwrap_or_else(|| panic!("unquoted tag {:?}", tag.opaque));
                assert!(
                    inner.bytes().all(|b| b == 0x21 || (0x23..=0x7e).contains(&b)),
                    "tag {:?}",
                    tag.opaque
                );
                // Strong comparison: a strong tag matches itself, a weak one nothing.
                assert_eq!(
                    parsed.matches(&tag.opaque),
                    tags.iter().any(|t| !t.weak && t.opaque == tag.opaque)
                );
            }
        }
    }
}
