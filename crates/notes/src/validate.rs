//! Input validation: [`NoteInput`] (the client's JSON) becomes a [`ValidNote`], and the rules for
//! matching an `If-Match` header against a note's ETag.

use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;

/// Longest title, in characters, after trimming.
pub const TITLE_MAX_CHARS: usize = 200;
/// Largest body, in bytes of UTF-8 (64 KiB).
pub const BODY_MAX_BYTES: usize = 64 * 1024;
/// Most tags on one note.
pub const TAGS_MAX: usize = 20;
/// Longest tag, in characters.
pub const TAG_MAX_CHARS: usize = 32;

/// Why a value supplied by the client was rejected.
///
/// Displays as `field: message`, e.g. `title: must be 1 to 200 characters after trimming`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The offending field (`title`, `body`, `tags`, `id`, `owner`, `limit`, `cursor`, `if_match`).
    pub field: &'static str,
    /// What is wrong and what would be accepted.
    pub message: String,
}

impl ValidationError {
    /// Builds a validation error for `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// The content of a note as a client sends it (create and replace).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(examples(json!({ "title": "Groceries", "body": "milk, eggs", "tags": ["home"] })))
)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    /// Title: trimmed, then 1 to 200 characters, no control characters.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::title_input_schema))]
    pub title: String,
    /// Body: any UTF-8 text up to 64 KiB; may be empty.
    #[cfg_attr(feature = "openapi", schema(max_length = 65536))]
    pub body: String,
    /// Tags: at most 20, each 1 to 32 characters of `[a-z0-9-]`, no duplicates.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::tags_schema))]
    pub tags: Vec<String>,
}

impl NoteInput {
    /// Checks every rule and returns the normalized content (the title trimmed).
    ///
    /// # Errors
    /// The first [`ValidationError`] found, checking title, then body, then tags.
    pub fn validate(self) -> Result<ValidNote, ValidationError> {
        let title = self.title.trim();
        let title_chars = title.chars().count();
        if title_chars == 0 || title_chars > TITLE_MAX_CHARS {
            return Err(ValidationError::new(
                "title",
                format!("must be 1 to {TITLE_MAX_CHARS} characters after trimming"),
            ));
        }
        if title.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "title",
                "must not contain control characters (such as newlines or tabs)",
            ));
        }
        let title = title.to_owned();

        if self.body.len() > BODY_MAX_BYTES {
            return Err(ValidationError::new(
                "body",
                format!(
                    "must be at most {BODY_MAX_BYTES} bytes of UTF-8 (64 KiB), got {}",
                    self.body.len()
                ),
            ));
        }

        if self.tags.len() > TAGS_MAX {
            return Err(ValidationError::new(
                "tags",
                format!(
                    "at most {TAGS_MAX} tags are allowed, got {}",
                    self.tags.len()
                ),
            ));
        }
        let mut seen = HashSet::with_capacity(self.tags.len());
        for tag in &self.tags {
            let valid = !tag.is_empty()
                && tag.len() <= TAG_MAX_CHARS
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !valid {
                return Err(ValidationError::new(
                    "tags",
                    format!(
                        "each tag must be 1 to {TAG_MAX_CHARS} characters of a-z, 0-9 or '-', got {tag:?}"
                    ),
                ));
            }
            if !seen.insert(tag.as_str()) {
                return Err(ValidationError::new(
                    "tags",
                    format!("duplicate tag {tag:?}: each tag may appear only once"),
                ));
            }
        }

        Ok(ValidNote {
            title,
            body: self.body,
            tags: self.tags,
        })
    }
}

/// Note content that passed [`NoteInput::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidNote {
    title: String,
    body: String,
    tags: Vec<String>,
}

impl ValidNote {
    /// The trimmed title.
    #[must_use]
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The body.
    #[must_use]
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The tags.
    #[must_use]
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// Splits into `(title, body, tags)`.
    #[must_use]
    pub fn into_parts(self) -> (String, String, Vec<String>) {
        (self.title, self.body, self.tags)
    }
}

/// A parsed `If-Match` precondition for replacing a note.
///
/// Rules (strict on purpose):
/// - accepted: exactly the strong tag as sent in the `ETag` header (`"` + 32 lower-case hex
///   characters + `"`), or the same 32 hex characters without quotes; surrounding spaces are
///   ignored;
/// - rejected with a [`ValidationError`] (HTTP 400): `*` (a replace must name the version it
///   replaces), weak tags (`W/"…"`, never equal under the strong comparison If-Match requires),
///   lists of tags, and anything else that is not a tag of this API.
///
/// A well-formed tag that differs from the current ETag is not a validation error: the service
/// reports it as `PreconditionFailed` (HTTP 412).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfMatch(String);

impl IfMatch {
    /// Parses an `If-Match` header value according to the rules above.
    ///
    /// # Errors
    /// [`ValidationError`] (field `if_match`) when the value is not an acceptable tag.
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let value = value.trim();
        if value == "*" {
            return Err(ValidationError::new(
                "if_match",
                "\"*\" is not accepted: send the note's ETag as returned by GET",
            ));
        }
        if value.starts_with("W/") {
            return Err(ValidationError::new(
                "if_match",
                "weak entity tags are not accepted: send the note's ETag as returned by GET",
            ));
        }
        let hex = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        let is_tag = hex.len() == 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !is_tag {
            return Err(ValidationError::new(
                "if_match",
                "must be the note's ETag as returned by GET (a quoted string of 32 hex characters)",
            ));
        }
        Ok(Self(format!("\"{hex}\"")))
    }

    /// Whether this precondition matches `etag` (a note's quoted strong ETag).
    #[must_use]
    pub fn matches(&self, etag: &str) -> bool {
        self.0 == etag
    }

    /// The normalized (quoted) tag.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IfMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(title: &str, body: &str, tags: &[&str]) -> NoteInput {
        NoteInput {
            title: title.into(),
            body: body.into(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    /// Validates and returns the failing field, or `None` when valid.
    fn check(input: NoteInput, expected_field: Option<&str>) {
        let label = format!("{input:?}");
        let got = input.validate().err().map(|e| e.field);
        assert_eq!(got, expected_field, "{label}");
    }

    #[test]
    fn title_rules() {
        check(input("a", "", &[]), None);
        check(input(&"t".repeat(200), "", &[]), None);
        check(input(&"t".repeat(201), "", &[]), Some("title"));
        // Multi-byte characters count as one each.
        check(input(&"é".repeat(200), "", &[]), None);
        check(input(&"é".repeat(201), "", &[]), Some("title"));
        check(input(&"😀".repeat(200), "", &[]), None);
        // Trimmed before measuring.
        check(input(&format!("  {}  ", "t".repeat(200)), "", &[]), None);
        check(input("", "", &[]), Some("title"));
        check(input("   \t ", "", &[]), Some("title"));
        check(input("a\nb", "", &[]), Some("title"));
        check(input("a\u{0}b", "", &[]), Some("title"));
        check(input("a\u{7f}b", "", &[]), Some("title"));
        check(input("a\u{9f}b", "", &[]), Some("title"));
    }

    #[test]
    fn title_is_trimmed() {
        let v = input("  hello world \n", "", &[])
            .validate()
            .expect("valid");
        assert_eq!(v.title(), "hello world");
    }

    #[test]
    fn body_rules() {
        check(input("t", "", &[]), None);
        check(input("t", &"b".repeat(BODY_MAX_BYTES), &[]), None);
        check(
            input("t", &"b".repeat(BODY_MAX_BYTES + 1), &[]),
            Some("body"),
        );
        // Bytes, not characters: 2-byte chars reach the limit at half the count.
        check(input("t", &"é".repeat(BODY_MAX_BYTES / 2), &[]), None);
        check(
            input("t", &format!("{}b", "é".repeat(BODY_MAX_BYTES / 2)), &[]),
            Some("body"),
        );
        check(input("t", "line\nbreaks\tand\u{0}nul", &[]), None);
    }

    #[test]
    fn tag_rules() {
        let twenty: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
        let twenty: Vec<&str> = twenty.iter().map(String::as_str).collect();
        check(input("t", "", &twenty), None);
        let mut twenty_one = twenty.clone();
        twenty_one.push("t20");
        check(input("t", "", &twenty_one), Some("tags"));
        check(input("t", "", &[&"a".repeat(32)]), None);
        check(input("t", "", &[&"a".repeat(33)]), Some("tags"));
        check(input("t", "", &["a-b-9"]), None);
        for bad in ["", "A", "a b", "a_b", "é", "a/b", "a.b", "-\n"] {
            check(input("t", "", &[bad]), Some("tags"));
        }
        check(input("t", "", &["x", "y", "x"]), Some("tags"));
    }

    #[test]
    fn error_messages_are_actionable() {
        let err = input("", "", &[]).validate().expect_err("invalid");
        assert_eq!(
            err.to_string(),
            "title: must be 1 to 200 characters after trimming"
        );
        let err = input("t", "", &["x", "x"]).validate().expect_err("invalid");
        assert!(err.to_string().contains("duplicate tag \"x\""), "{err}");
    }

    #[test]
    fn json_input() {
        let ok: NoteInput =
            serde_json::from_str(r#"{"title":"t","body":"b"}"#).expect("tags default");
        assert!(ok.tags.is_empty());
        assert!(serde_json::from_str::<NoteInput>(r#"{"title":"t","body":"b","x":1}"#).is_err());
        assert!(serde_json::from_str::<NoteInput>(r#"{"title":"t"}"#).is_err());
    }

    fn check_if_match(value: &str, ok: bool) {
        assert_eq!(IfMatch::parse(value).is_ok(), ok, "If-Match {value:?}");
    }

    #[test]
    fn if_match_rules() {
        let hex = "0123456789abcdef0123456789abcdef";
        check_if_match(&format!("\"{hex}\""), true);
        check_if_match(hex, true);
        check_if_match(&format!("  \"{hex}\" "), true);
        for bad in [
            "*".to_owned(),
            format!("W/\"{hex}\""),
            format!("\"{}\"", hex.to_uppercase()),
            format!("\"{hex}0\""),
            format!("\"{}\"", &hex[1..]),
            format!("\"{hex}"),
            format!("\"{hex}\", \"{hex}\""),
            String::new(),
            "\"\"".to_owned(),
        ] {
            check_if_match(&bad, false);
        }
        let quoted = IfMatch::parse(&format!("\"{hex}\"")).expect("valid");
        let bare = IfMatch::parse(hex).expect("valid");
        assert_eq!(quoted, bare);
        assert!(bare.matches(&format!("\"{hex}\"")));
        assert!(!bare.matches(hex));
    }
}
