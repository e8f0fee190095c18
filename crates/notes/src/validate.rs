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

/// A parsed `If-Match` precondition for replacing a note, evaluated as RFC 9110 §13.1.1
/// ("If-Match") defines it:
///
/// ```text
/// If-Match    = "*" / #entity-tag
/// entity-tag  = [ weak ] opaque-tag        weak = %s"W/"
/// opaque-tag  = DQUOTE *etagc DQUOTE       etagc = %x21 / %x23-7E / obs-text
/// ```
///
/// - `*` matches any existing note;
/// - a list (comma-separated, optional spaces or tabs around the commas, empty elements
///   allowed as §5.6.1 requires) matches when one of its tags is the note's current ETag under
///   the strong comparison §8.8.3.2 requires: a weak tag (`W/"…"`) never matches;
/// - a well-formed tag that is not the current one is no error of the request: the service
///   answers `PreconditionFailed` (HTTP 412);
/// - only a value that is not this syntax is a [`ValidationError`] (HTTP 400): an unquoted
///   value, a tag with a character `etagc` excludes, two tags without a comma, or an empty value
///   (a list that names no tag). `obs-text` (bytes above 0x7E) is refused too: an HTTP header
///   this API reads is visible ASCII.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`.
    Any,
    /// The listed tags, as sent (quotes included); `weak` tags are kept only to be refused by
    /// the comparison.
    Tags(Vec<EntityTag>),
}

/// One entity tag of an `If-Match` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityTag {
    /// Whether it was sent with the `W/` prefix.
    pub weak: bool,
    /// The opaque tag with its quotes, e.g. `"0123…"`.
    pub opaque: String,
}

impl IfMatch {
    /// Parses an `If-Match` header value.
    ///
    /// # Errors
    /// [`ValidationError`] (field `if_match`) when the value is not `*` or a list of entity
    /// tags.
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let invalid = |why: &str| {
            ValidationError::new(
                "if_match",
                format!(
                    "is not an entity tag list ({why}): send the note's ETag as GET returned it, \
                     quotes included, e.g. \"0123456789abcdef0123456789abcdef\""
                ),
            )
        };
        let ows = |c: char| c == ' ' || c == '\t';
        let value = value.trim_matches(ows);
        if value == "*" {
            return Ok(Self::Any);
        }
        let mut tags = Vec::new();
        let mut rest = value;
        loop {
            rest = rest.trim_start_matches(ows);
            if let Some(after) = rest.strip_prefix(',') {
                // An empty list element.
                rest = after;
                continue;
            }
            if rest.is_empty() {
                break;
            }
            let (weak, quoted) = match rest.strip_prefix("W/") {
                Some(after) => (true, after),
                None => (false, rest),
            };
            let Some(body) = quoted.strip_prefix('"') else {
                return Err(invalid("a tag must be a quoted string"));
            };
            let Some(end) = body.find('"') else {
                return Err(invalid("a tag has no closing quote"));
            };
            let opaque = &body[..end];
            if !opaque
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b))
            {
                return Err(invalid("a tag holds a character entity tags exclude"));
            }
            tags.push(EntityTag {
                weak,
                opaque: format!("\"{opaque}\""),
            });
            rest = body[end + 1..].trim_start_matches(ows);
            match rest.strip_prefix(',') {
                Some(after) => rest = after,
                None if rest.is_empty() => break,
                None => return Err(invalid("tags must be separated by commas")),
            }
        }
        if tags.is_empty() {
            return Err(invalid("it is empty"));
        }
        Ok(Self::Tags(tags))
    }

    /// Whether this precondition holds for an existing note whose ETag is `etag` (quoted,
    /// strong).
    #[must_use]
    pub fn matches(&self, etag: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Tags(tags) => tags.iter().any(|tag| !tag.weak && tag.opaque == etag),
        }
    }
}

impl fmt::Display for IfMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("*"),
            Self::Tags(tags) => {
                for (n, tag) in tags.iter().enumerate() {
                    if n > 0 {
                        f.write_str(", ")?;
                    }
                    if tag.weak {
                        f.write_str("W/")?;
                    }
                    f.write_str(&tag.opaque)?;
                }
                Ok(())
            }
        }
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
    fn if_match_follows_rfc_9110() {
        let etag = "\"0123456789abcdef0123456789abcdef\"";
        let holds = |value: &str| {
            IfMatch::parse(value)
                .unwrap_or_else(|e| panic!("{value:?} is entity-tag syntax: {e}"))
                .matches(etag)
        };
        // Matches: the tag itself, in a list, `*`, with spaces, tabs and empty elements.
        for value in [
            etag.to_owned(),
            format!("  {etag} "),
            format!("\"other\", {etag}"),
            format!("W/{etag}, {etag}"),
            format!(", ,{etag},\t,"),
            "*".to_owned(),
            " * ".to_owned(),
        ] {
            assert!(holds(&value), "{value:?} should match");
        }
        // Well-formed but not the current tag: 412, not 400. The RFC's own examples
        // (§13.1.1: `"xyzzy"`, `"xyzzy", "r2d2xxxx", "c3piozzzz"`) are among them.
        for value in [
            "\"xyzzy\"".to_owned(),
            "\"xyzzy\", \"r2d2xxxx\", \"c3piozzzz\"".to_owned(),
            "\"anything\"".to_owned(),
            "\"\"".to_owned(),
            format!("W/{etag}"),
            etag.to_uppercase(),
            "\"a,b\"".to_owned(),
            "\"!#$%&'()*+-./:;<=>?@[]^_`{|}~\"".to_owned(),
        ] {
            assert!(!holds(&value), "{value:?} should not match");
        }
        // Not entity-tag syntax: 400.
        for value in [
            "",
            "  ",
            ",",
            "0123456789abcdef0123456789abcdef",
            "**",
            "*, \"a\"",
            "\"a\" \"b\"",
            "\"a",
            "w/\"a\"",
            "W/ \"a\"",
            "\"a b\"",
            "\"caf\u{e9}\"",
            "\"a\"x",
        ] {
            check_if_match(value, false);
        }
        let err = IfMatch::parse("nonsense").expect_err("not syntax");
        assert_eq!(err.field, "if_match");
        let parsed = IfMatch::parse(&format!("W/\"a\" ,{etag}")).expect("syntax");
        assert_eq!(parsed.to_string(), format!("W/\"a\", {etag}"));
    }
}
