//! Listing parameters and results: [`Limit`], the opaque pagination [`Cursor`], [`ListQuery`]
//! and [`Page`].

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use sha2::{Digest, Sha256};

use crate::model::{Note, NoteId, Owner};
use crate::validate::ValidationError;

/// Page size used when the client does not ask for one.
pub const DEFAULT_LIMIT: u32 = 20;
/// Largest page size a client may ask for.
pub const MAX_LIMIT: u32 = 100;
/// Longest cursor string accepted.
pub const CURSOR_MAX_LEN: usize = 64;
/// Version prefix of the cursor payload: `v2:<store>:<owner tag>:<note id>`.
const CURSOR_V2: &str = "v2:";
/// The payload version cursors had before they were bound to a store and an owner.
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

/// An opaque position in a listing: "continue after this note", bound to the listing it came
/// from.
///
/// Clients see base64url (no padding) of a small versioned payload,
/// `v2:<store>:<owner tag>:<NoteId>`: the store that issued it (`f` filesystem, `d` DynamoDB)
/// and the first 4 bytes of the SHA-256 of the owner's `sub`, in hex. A cursor of another
/// store, of another user or of the older `v1` format is refused with a 400
/// ([`Cursor::check`]), never followed. The binding is a check, not the isolation: every listing
/// reads only the caller's own notes whatever the cursor says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cursor {
    id: NoteId,
    binding: Option<Binding>,
}

/// Which listing a cursor belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Binding {
    store: char,
    owner: [u8; 4],
}

fn owner_tag(owner: &Owner) -> [u8; 4] {
    let digest = Sha256::digest(owner.as_str().as_bytes());
    [digest[0], digest[1], digest[2], digest[3]]
}

impl Cursor {
    /// A position after `id`, bound to no listing: it positions any listing (what code that
    /// builds queries itself uses). A client never gets one: the service hands out
    /// [`Cursor::issued`] ones.
    #[must_use]
    pub fn after(id: NoteId) -> Self {
        Self { id, binding: None }
    }

    /// The cursor a listing of `owner`'s notes in the store of kind `store` hands out to
    /// continue after `id`.
    #[must_use]
    pub fn issued(id: NoteId, owner: &Owner, store: char) -> Self {
        Self {
            id,
            binding: Some(Binding {
                store,
                owner: owner_tag(owner),
            }),
        }
    }

    /// The id the listing continues after.
    #[must_use]
    pub fn position(&self) -> NoteId {
        self.id
    }

    /// Checks that this cursor came from a listing of `owner`'s notes in the store of kind
    /// `store` (a cursor bound to no listing passes).
    ///
    /// # Errors
    /// [`ValidationError`] (field `cursor`) for a cursor of another store or another user.
    pub fn check(&self, owner: &Owner, store: char) -> Result<(), ValidationError> {
        match self.binding {
            Some(binding) if binding.store != store => Err(ValidationError::new(
                "cursor",
                "comes from another notes store: start the listing again without a cursor",
            )),
            Some(binding) if binding.owner != owner_tag(owner) => Err(ValidationError::new(
                "cursor",
                "comes from another user's listing: pass back only your own next_cursor",
            )),
            _ => Ok(()),
        }
    }

    /// Parses a cursor a client sent back.
    ///
    /// # Errors
    /// [`ValidationError`] (field `cursor`) when the value is longer than 64 characters, is not
    /// base64url without padding, holds the older `v1` payload, or does not hold a `v2` payload
    /// with a store, an owner tag and a valid note id.
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
        if payload.starts_with(CURSOR_V1) {
            return Err(ValidationError::new(
                "cursor",
                "is of an older format: start the listing again without a cursor",
            ));
        }
        let rest = payload.strip_prefix(CURSOR_V2).ok_or_else(invalid)?;
        let mut parts = rest.split(':');
        let (Some(store), Some(owner), Some(id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let mut chars = store.chars();
        let (Some(store), None) = (chars.next(), chars.next()) else {
            return Err(invalid());
        };
        if !store.is_ascii_lowercase() {
            return Err(invalid());
        }
        let is_lower_hex = |t: &str| {
            t.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if owner.len() != 8 || !is_lower_hex(owner) {
            return Err(invalid());
        }
        let owner: [u8; 4] = hex::decode(owner)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(invalid)?;
        let id: NoteId = id.parse().map_err(|_| invalid())?;
        Ok(Self {
            id,
            binding: Some(Binding { store, owner }),
        })
    }
}

impl fmt::Display for Cursor {
    /// The `v2` form of an issued cursor; a cursor bound to no listing prints as the `v1` form,
    /// which [`Cursor::parse`] refuses (nothing hands one out).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let payload = match self.binding {
            Some(Binding { store, owner }) => {
                format!("{CURSOR_V2}{store}:{}:{}", hex::encode(owner), self.id)
            }
            None => format!("{CURSOR_V1}{}", self.id),
        };
        f.write_str(&URL_SAFE_NO_PAD.encode(payload))
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

    fn alice() -> Owner {
        Owner::new("alice").expect("owner")
    }

    #[test]
    fn cursor_round_trip() {
        let id = NoteId::new();
        let cursor = Cursor::issued(id, &alice(), 'd');
        let text = cursor.to_string();
        assert!(text.len() <= CURSOR_MAX_LEN, "{text}");
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let back = Cursor::parse(&text).expect("round trip");
        assert_eq!(back, cursor);
        assert_eq!(back.position(), id);
        let json = serde_json::to_string(&cursor).expect("serialize");
        assert_eq!(json, format!("\"{text}\""));
        // The longest store names a single character: a 128-character owner changes nothing.
        let long = Owner::new("x".repeat(128)).expect("owner");
        assert!(Cursor::issued(id, &long, 'f').to_string().len() <= CURSOR_MAX_LEN);
    }

    #[test]
    fn a_cursor_belongs_to_its_store_and_owner() {
        let id = NoteId::new();
        let bob = Owner::new("bob").expect("owner");
        let text = Cursor::issued(id, &alice(), 'd').to_string();
        let cursor = Cursor::parse(&text).expect("parse");
        assert_eq!(cursor.check(&alice(), 'd'), Ok(()));
        let other_user = cursor.check(&bob, 'd').expect_err("bob");
        assert_eq!(other_user.field, "cursor");
        assert!(other_user.message.contains("another user"), "{other_user}");
        let other_store = cursor.check(&alice(), 'f').expect_err("fs");
        assert!(
            other_store.message.contains("another notes store"),
            "{other_store}"
        );
        // Built in code, bound to nothing: it positions any listing.
        assert_eq!(Cursor::after(id).check(&bob, 'f'), Ok(()));
        // The v1 form (what cursors were before, and what an unbound cursor prints as).
        let old = Cursor::parse(&Cursor::after(id).to_string()).expect_err("v1");
        assert!(old.message.contains("older format"), "{old}");
    }

    #[test]
    fn cursor_rejects_garbage() {
        let id = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
        let enc = |s: &str| URL_SAFE_NO_PAD.encode(s);
        check_cursor(&enc(&format!("v2:d:0a1b2c3d:{id}")), true);
        for bad in [
            String::new(),
            "!!!!".to_owned(),
            "not base64 at all".to_owned(),
            // Padding is not accepted.
            base64::engine::general_purpose::URL_SAFE.encode(format!("v2:d:0a1b2c3d:{id}x")),
            // Standard alphabet characters.
            "dj+6MDFBUlozTkRFS1RTVjRSUkZGUTY5RzVGQVY/".to_owned(),
            enc(&format!("v1:{id}")),
            enc(&format!("v2:{id}")),
            enc(&format!("v2:d:{id}")),
            enc(&format!("v2:D:0a1b2c3d:{id}")),
            enc(&format!("v2:dd:0a1b2c3d:{id}")),
            enc(&format!("v2:d:0A1B2C3D:{id}")),
            enc(&format!("v2:d:0a1b2c:{id}")),
            enc(&format!("v2:d:0a1b2c3d:{id}:x")),
            enc(id),
            enc(&format!("v2:d:0a1b2c3d:{}", id.to_lowercase())),
            enc("v2:d:0a1b2c3d:../../etc/passwd"),
            enc("v2:"),
            "A".repeat(65),
        ] {
            check_cursor(&bad, false);
        }
        // Tampering with one character of a valid cursor.
        let good = enc(&format!("v2:d:0a1b2c3d:{id}"));
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
