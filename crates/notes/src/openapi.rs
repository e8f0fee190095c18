//! OpenAPI schemas (feature `openapi`) of the values whose serde form is written by hand
//! ([`NoteId`], [`Cursor`], [`Limit`], a note's ETag and its tags), built from the same constants
//! the parsers use. The structs ([`Note`](crate::Note), [`Page`](crate::Page),
//! [`NoteInput`](crate::NoteInput)) derive theirs.

use std::borrow::Cow;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::list::{CURSOR_MAX_LEN, Cursor, DEFAULT_LIMIT, Limit, MAX_LIMIT};
use crate::model::NoteId;
use crate::validate::{TAG_MAX_CHARS, TAGS_MAX, TITLE_MAX_CHARS};

/// A note id: a ULID in its canonical form (upper-case Crockford base32, 26 characters, the
/// first at most `7` so that it fits 128 bits).
pub const NOTE_ID_PATTERN: &str = "^[0-7][0-9A-HJKMNP-TV-Z]{25}$";

/// A note's strong ETag as the `ETag` header and the `etag` field carry it.
pub const ETAG_PATTERN: &str = "^\"[0-9a-f]{32}\"$";

/// What `If-Match` accepts (RFC 9110 §13.1.1): `*`, or a comma-separated list of entity tags
/// (`"…"` or weak `W/"…"`, visible ASCII but `"` inside), empty elements and spaces or tabs
/// around the commas allowed. Anything else is a 400; a tag that is not the current one, a 412.
pub const IF_MATCH_PATTERN: &str = "^([ \\t]*\\*[ \\t]*|[ \\t]*(,[ \\t]*)*(W/)?\"[!#-~]*\"([ \\t]*,([ \\t]*(W/)?\"[!#-~]*\")?)*[ \\t]*)$";

/// Characters Rust's `str::trim` removes (Unicode `White_Space`), as a regex class body.
const WHITE_SPACE: &str =
    r"\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// Control characters (`char::is_control`, category `Cc`), as a regex class body.
const CONTROL: &str = r"\u0000-\u001f\u007f-\u009f";

/// What a note's title accepts, exactly: optional white space around 1 to
/// [`TITLE_MAX_CHARS`] characters without control characters whose first and last are not
/// white space. The `\uXXXX` escapes mean the same in ECMA-262 (JSON Schema), Python and Rust.
#[must_use]
pub fn title_pattern() -> String {
    let inner = TITLE_MAX_CHARS - 2;
    format!(
        "^[{WHITE_SPACE}]*[^{WHITE_SPACE}{CONTROL}](?:[^{CONTROL}]{{0,{inner}}}[^{WHITE_SPACE}{CONTROL}])?[{WHITE_SPACE}]*$"
    )
}

/// The schema of a note's `title` in a request: [`title_pattern`].
#[must_use]
pub fn title_input_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .description(Some(format!(
            "Trimmed, then 1 to {TITLE_MAX_CHARS} characters, no control characters."
        )))
        .min_length(Some(1))
        .pattern(Some(title_pattern()))
        .into()
}

/// A pagination cursor: base64url without padding.
pub const CURSOR_PATTERN: &str = "^[A-Za-z0-9_-]+$";

impl PartialSchema for NoteId {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .description(Some(
                "A note id: a ULID in canonical form (26 upper-case Crockford base32 \
                 characters); ids sort by creation time.",
            ))
            .min_length(Some(26))
            .max_length(Some(26))
            .pattern(Some(NOTE_ID_PATTERN))
            .examples(["01ARZ3NDEKTSV4RRFFQ69G5FAV"])
            .into()
    }
}

impl ToSchema for NoteId {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("NoteId")
    }
}

impl PartialSchema for Cursor {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .description(Some(
                "An opaque pagination cursor: pass `next_cursor` of the previous page back \
                 unchanged. It belongs to the caller's own listing: another user's cursor, one \
                 of another store or of an older format is a 400.",
            ))
            .min_length(Some(1))
            .max_length(Some(CURSOR_MAX_LEN))
            .pattern(Some(CURSOR_PATTERN))
            .examples(
                crate::Owner::new("example-sub")
                    .map(|owner| Cursor::issued(example_id(), &owner, 'd').to_string()),
            )
            .into()
    }
}

impl ToSchema for Cursor {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Cursor")
    }
}

impl PartialSchema for Limit {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Integer))
            .description(Some("How many notes a page holds at most."))
            .minimum(Some(1))
            .maximum(Some(MAX_LIMIT))
            .default(Some(DEFAULT_LIMIT.into()))
            .into()
    }
}

impl ToSchema for Limit {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Limit")
    }
}

/// The schema of a note's `etag` field and `ETag` header.
#[must_use]
pub fn etag_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .description(Some(
            "The note's strong entity tag, quotes included: send it back as If-Match to replace \
             the note.",
        ))
        .pattern(Some(ETAG_PATTERN))
        .examples(["\"0123456789abcdef0123456789abcdef\""])
        .into()
}

/// The schema of the `If-Match` header of a replace.
#[must_use]
pub fn if_match_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .description(Some(
            "RFC 9110 If-Match: `*` or a list of entity tags. A list holding the note's current \
             ETag (or `*`) matches; any other well-formed value is a 412.",
        ))
        .pattern(Some(IF_MATCH_PATTERN))
        .examples(["\"0123456789abcdef0123456789abcdef\""])
        .into()
}

/// The schema of a note's tags.
#[must_use]
pub fn tags_schema() -> RefOr<Schema> {
    let tag = ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .min_length(Some(1))
        .max_length(Some(TAG_MAX_CHARS))
        .pattern(Some(format!("^[a-z0-9-]{{1,{TAG_MAX_CHARS}}}$")));
    ArrayBuilder::new()
        .items(tag)
        .description(Some(format!(
            "At most {TAGS_MAX} tags, each 1 to {TAG_MAX_CHARS} characters of a-z, 0-9 or '-', \
             no duplicates; kept in the order sent."
        )))
        .max_items(Some(TAGS_MAX))
        .unique_items(true)
        .into()
}

fn example_id() -> NoteId {
    "01ARZ3NDEKTSV4RRFFQ69G5FAV"
        .parse()
        .unwrap_or_else(|_| NoteId::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern_of(schema: RefOr<Schema>) -> String {
        let RefOr::T(Schema::Object(object)) = schema else {
            panic!("an inline object schema");
        };
        let Some(pattern) = object.pattern else {
            panic!("a pattern");
        };
        pattern
    }

    fn title_accepted(title: &str) -> bool {
        crate::NoteInput {
            title: title.to_owned(),
            body: String::new(),
            tags: Vec::new(),
        }
        .validate()
        .is_ok()
    }

    /// The title pattern accepts exactly what validation accepts: every character of the
    /// first planes alone, at the start, inside and at the end, and the length limits.
    #[test]
    fn the_title_pattern_is_the_validation_rule() {
        let Ok(pattern) = regex_lite::Regex::new(&title_pattern()) else {
            panic!("the title pattern compiles: {}", title_pattern());
        };
        let mut titles: Vec<String> = Vec::new();
        for c in (0..0x3100_u32).filter_map(char::from_u32) {
            titles.extend([
                c.to_string(),
                format!("{c}a"),
                format!("a{c}"),
                format!("a{c}b"),
            ]);
        }
        let long = "é".repeat(TITLE_MAX_CHARS);
        titles.extend([
            long.clone(),
            format!(" \u{3000}{long}\u{85}\t"),
            format!("{long}x"),
            format!("x{}", " ".repeat(TITLE_MAX_CHARS)),
            String::new(),
            "\u{1c}groceries".to_owned(),
        ]);
        for title in &titles {
            assert_eq!(
                pattern.is_match(title),
                title_accepted(title),
                "pattern and validation disagree on {title:?}"
            );
        }
    }

    #[test]
    fn the_if_match_pattern_is_the_parser() {
        let Ok(pattern) = regex_lite::Regex::new(IF_MATCH_PATTERN) else {
            panic!("the If-Match pattern compiles: {IF_MATCH_PATTERN}");
        };
        let tag = "\"0123456789abcdef0123456789abcdef\"";
        for value in [
            tag.to_owned(),
            format!(" {tag}\t"),
            format!("W/{tag}"),
            format!(", {tag} ,, \"x\" ,"),
            "*".to_owned(),
            " *".to_owned(),
            "\"\"".to_owned(),
            "\"a,b\"".to_owned(),
            String::new(),
            ",".to_owned(),
            "**".to_owned(),
            "*, \"a\"".to_owned(),
            "\"a\" \"b\"".to_owned(),
            "\"a".to_owned(),
            "w/\"a\"".to_owned(),
            "\"a b\"".to_owned(),
            "0123456789abcdef0123456789abcdef".to_owned(),
            "\"caf\u{e9}\"".to_owned(),
        ] {
            assert_eq!(
                pattern.is_match(&value),
                crate::IfMatch::parse(&value).is_ok(),
                "{value:?}"
            );
        }
    }

    #[test]
    fn schemas_carry_the_parsers_rules() {
        assert_eq!(pattern_of(NoteId::schema()), NOTE_ID_PATTERN);
        assert_eq!(pattern_of(etag_schema()), ETAG_PATTERN);
        let RefOr::T(Schema::Object(limit)) = Limit::schema() else {
            panic!("an inline object schema");
        };
        assert_eq!(limit.default, Some(serde_json::json!(DEFAULT_LIMIT)));
        let RefOr::T(Schema::Array(tags)) = tags_schema() else {
            panic!("an inline array schema");
        };
        assert_eq!(tags.max_items, Some(TAGS_MAX));
    }
}
