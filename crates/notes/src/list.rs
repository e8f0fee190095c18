//! Listing parameters and results: [`Limit`], the opaque pagination [`Cursor`], [`ListQuery`]
//! and [`Page`].

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::{Note, NoteId};
use crate::validate::ValidationError;

/// Page size used when the client does not ask for one.
pub const DEFAULT_LIMIT: u32 = 20;
/// Largest page size a client may ask for.
pub const MAX_LIMIT: u32 = 100;
/// Longest cursor string accepted.
pub const CURSOR_MAX_LEN: usize = 64;
/// Version prefix of the cursor payload.
const CURSOR_V1: &str = "v1:";

/// How many notes a page holds: 1 to 100, default 20.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Limit(u32);

impl Limit {
    /// Parses the `limit` query parameter: absent means 20; otherwise only ASCII digits whose
    /// value is 1 to 100.
    ///
    /// # Errors
    /// [`ValidationError`] (field `limit`) for anything else.
    pub fn parse(value: Option<&str>) -> Result<Self, ValidationError> {
        let Some(value) = value else {
            return Ok(Self::default());
        };
        let invalid = || {
            ValidationError::new(
                "limit",
                format!("must be a whole number from 1 to {MAX_LIMIT}, got {value:?}"),
            )
        };
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        // Too many digits overflow u32: out of range as well.
        let n: u32 = value.parse().map_err(|_| invalid())?;
        Self::new(n).map_err(|_| invalid())
    }

    /// Checks that `n` is 1 to 100.
    ///
    /// # Errors
    /// [`ValidationError`] (field `limit`) when out of range.
    pub fn new(n: u32) -> Result<Self, ValidationError> {
        if (1..=MAX_LIMIT).contains(&n) {
            Ok(Self(n))
        } else {
            Err(ValidationError::new(
                "limit",
                format!("must be a whole number from 1 to {MAX_LIMIT}, got {n}"),
            ))
        }
    }

    /// The page size.
    #[must_use]
    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for Limit {
    fn default() -> Self {
        Self(DEFAULT_LIMIT)
    }
}

/// An opaque position in a listing: "continue after this note".
///
/// Clients see base64url (no padding) of a small versioned payload (`v1:<NoteId>`). Because
/// every listing is scoped to the caller's own notes, a cursor only says where to start; one
/// crafted from another user's ids can never reveal that user's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cursor(NoteId);

impl Cursor {
    /// A cursor that continues after `id` (newest-first order: with ids older than `id`).
    #[must_use]
    pub fn after(id: NoteId) -> Self {
        Self(id)
    }

    /// The id the listing continues after.
    #[must_use]
    pub fn position(&self) -> NoteId {
        self.0
    }

    /// Parses a cursor a client sent back.
    ///
    /// # Errors
    /// [`ValidationError`] (field `cursor`) when the value is longer than 64 characters, is not
    /// base64url without padding, or does not hold a `v1` payload with a valid note id.
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let invalid = || {
            ValidationError::new(
                "cursor",
                "is not a valid cursor: pass back next_cursor from the previous page unchanged",
            )
        };
        if value.is_empty() || value.len() > CURSOR_MAX_LEN {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(value).map_err(|_| invalid())?;
        let payload = std::str::from_utf8(&bytes).map_err(|_| invalid())?;
        let id = payload.strip_prefix(CURSOR_V1).ok_or_else(invalid)?;
        let id: NoteId = id.parse().map_err(|_| invalid())?;
        Ok(Self(id))
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(format!("{CURSOR_V1}{}", self.0)))
    }
}

impl FromStr for Cursor {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Cursor {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cursor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// What to list: a page size and where to start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// How many notes at most.
    pub limit: Limit,
    /// Continue after this position; `None` starts with the newest note.
    pub cursor: Option<Cursor>,
}

impl ListQuery {
    /// Parses the `limit` and `cursor` query parameters.
    ///
    /// # Errors
    /// [`ValidationError`] for a bad `limit` or `cursor`.
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, ValidationError> {
        Ok(Self {
            limit: Limit::parse(limit)?,
            cursor: cursor.map(Cursor::parse).transpose()?,
        })
    }
}

/// One page of a listing, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page {
    /// The notes, newest (highest id) first.
    pub items: Vec<Note>,
    /// Present only when more notes remain: pass it back as `cursor`.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub next_cursor: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_limit(value: Option<&str>, expected: Option<u32>) {
        assert_eq!(
            Limit::parse(value).ok().map(Limit::get),
            expected,
            "limit {value:?}"
        );
    }

    #[test]
    fn limit_rules() {
        check_limit(None, Some(20));
        check_limit(Some("1"), Some(1));
        check_limit(Some("100"), Some(100));
        check_limit(Some("007"), Some(7));
        for bad in [
            "0",
            "101",
            "",
            "-1",
            "+5",
            " 5",
            "5 ",
            "1.5",
            "1e2",
            "abc",
            "99999999999999999999",
            "٣",
        ] {
            check_limit(Some(bad), None);
        }
        let err = Limit::parse(Some("0")).expect_err("invalid");
        assert_eq!(err.field, "limit");
    }

    fn check_cursor(value: &str, ok: bool) {
        assert_eq!(Cursor::parse(value).is_ok(), ok, "cursor {value:?}");
    }

    #[test]
    fn cursor_round_trip() {
        let id = NoteId::new();
        let cursor = Cursor::after(id);
        let text = cursor.to_string();
        assert!(text.len() <= CURSOR_MAX_LEN);
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let back = Cursor::parse(&text).expect("round trip");
        assert_eq!(back.position(), id);
        let json = serde_json::to_string(&cursor).expect("serialize");
        assert_eq!(json, format!("\"{text}\""));
    }

    #[test]
    fn cursor_rejects_garbage() {
        let id = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
        let enc = |s: &str| URL_SAFE_NO_PAD.encode(s);
        check_cursor(&enc(&format!("v1:{id}")), true);
        for bad in [
            String::new(),
            "!!!!".to_owned(),
            "not base64 at all".to_owned(),
            // Padding is not accepted.
            base64::engine::general_purpose::URL_SAFE.encode(format!("v1:{id}x")),
            // Standard alphabet characters.
            "dj+6MDFBUlozTkRFS1RTVjRSUkZGUTY5RzVGQVY/".to_owned(),
            enc(&format!("v2:{id}")),
            enc(id),
            enc(&format!("v1:{}", id.to_lowercase())),
            enc(&format!("v1:{id}X")),
            enc("v1:../../etc/passwd"),
            enc("v1:"),
            enc(&format!("v1:{id}{}", " ".repeat(30))),
            "A".repeat(65),
        ] {
            check_cursor(&bad, false);
        }
        // Tampering with one character of a valid cursor.
        let good = enc(&format!("v1:{id}"));
        let mut tampered = good.clone().into_bytes();
        tampered[0] = if tampered[0] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).expect("ascii");
        check_cursor(&tampered, false);
        assert_eq!(Cursor::parse("!!").expect_err("invalid").field, "cursor");
    }

    #[test]
    fn list_query_parse() {
        let q = ListQuery::parse(None, None).expect("defaults");
        assert_eq!(q, ListQuery::default());
        assert_eq!(q.limit.get(), 20);
        assert!(ListQuery::parse(Some("0"), None).is_err());
        assert!(ListQuery::parse(None, Some("zzz")).is_err());
    }
}
