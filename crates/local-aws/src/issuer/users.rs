//! The user pool on disk (`users.json`): user records, PBKDF2 password hashes, verification
//! codes, group names, and the random identifiers the issuer hands out.
//!
//! Passwords are hashed with PBKDF2-HMAC-SHA256 at 600 000 iterations (OWASP's Password Storage
//! Cheat Sheet for PBKDF2-HMAC-SHA256) with a random 16-byte salt; a stored hash with fewer
//! iterations still verifies and is replaced by a new one on the user's next successful
//! sign-in ([`PasswordHash::needs_upgrade`]).

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use aws_lc_rs::pbkdf2;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::IssuerError;

/// The users file's name in the state directory.
pub(crate) const USERS_FILE: &str = "users.json";

/// PBKDF2-HMAC-SHA256 iterations for new password hashes: OWASP's Password Storage Cheat Sheet
/// asks for 600 000 with HMAC-SHA-256.
pub(crate) const PBKDF2_ITERATIONS: u32 = 600_000;

/// Failed confirmation attempts after which a verification code stops working (Cognito's
/// `ConfirmSignUp` answers `LimitExceededException` then; a new code must be requested).
pub(crate) const MAX_CODE_ATTEMPTS: u32 = 5;

/// How long a verification code stays valid, like Cognito's 24 hours.
pub(crate) const CODE_TTL_SECS: i64 = 24 * 3600;

/// The whole users file: users by lower-cased email.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct UsersFile {
    /// The users, keyed by their lower-cased email (the user name).
    #[serde(default)]
    pub users: BTreeMap<String, User>,
}

impl UsersFile {
    /// The user with this `sub`.
    pub(crate) fn by_sub(&self, sub: &str) -> Option<&User> {
        self.users.values().find(|user| user.sub == sub)
    }
}

/// One user of the local pool.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct User {
    /// The lower-cased email, which is also the user name.
    pub email: String,
    /// The stable, unique, UUID-like id.
    pub sub: String,
    /// The password hash.
    pub password: PasswordHash,
    /// Whether the email was confirmed with the verification code.
    pub confirmed: bool,
    /// The latest verification message sent (kept after confirmation for the mailbox page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// The groups the user belongs to, in the order they were added.
    #[serde(default)]
    pub groups: Vec<GroupName>,
    /// When the user was created, in seconds since the Unix epoch.
    #[serde(default)]
    pub created_at: i64,
}

impl User {
    /// A new user with a fresh `sub`.
    pub(crate) fn new(email: &str, password: &str, confirmed: bool) -> Result<Self, IssuerError> {
        Ok(Self {
            email: email.to_owned(),
            sub: uuid_v4()?,
            password: PasswordHash::new(password)?,
            confirmed,
            verification: None,
            groups: Vec::new(),
            created_at: now(),
        })
    }

    /// Stores a new verification code and returns it; announce it with [`announce_code`] once
    /// the change is saved.
    pub(crate) fn send_code(&mut self) -> Result<String, IssuerError> {
        let code = verification_code()?;
        self.verification = Some(Verification {
            code: code.clone(),
            sent_at: now(),
            failed_attempts: 0,
        });
        Ok(code)
    }

    /// The pending verification code, when it has not expired yet (a code that reached
    /// [`MAX_CODE_ATTEMPTS`] failed attempts is still returned: see
    /// [`Verification::attempts_exhausted`]).
    pub(crate) fn live_code(&self) -> Option<&str> {
        self.verification
            .as_ref()
            .filter(|v| now() < v.sent_at.saturating_add(CODE_TTL_SECS))
            .map(|v| v.code.as_str())
    }
}

/// A Cognito group name: 1 to 128 characters, each a letter, mark, symbol, number or
/// punctuation (`[\p{L}\p{M}\p{S}\p{N}\p{P}]+`: no whitespace, control or format characters),
/// the `GroupName` pattern of the `CreateGroup` API reference
/// (<https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateGroup.html>).
/// The users file is refused (as corrupt) when it holds another name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub(crate) struct GroupName(String);

impl GroupName {
    /// The name, checked against Cognito's pattern.
    pub(crate) fn parse(name: &str) -> Result<Self, IssuerError> {
        static PATTERN: std::sync::LazyLock<Option<regex::Regex>> =
            std::sync::LazyLock::new(|| {
                regex::Regex::new(r"^[\p{L}\p{M}\p{S}\p{N}\p{P}]{1,128}$").ok()
            });
        match PATTERN.as_ref() {
            Some(pattern) if pattern.is_match(name) => Ok(Self(name.to_owned())),
            _ => Err(IssuerError::InvalidGroup(name.to_owned())),
        }
    }

    /// The name.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for GroupName {
    type Error = String;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        Self::parse(&name).map_err(|err| err.to_string())
    }
}

impl From<GroupName> for String {
    fn from(name: GroupName) -> Self {
        name.0
    }
}

/// "Delivers" a verification code: the console is the local stand-in for email (the code is
/// also on the mailbox page).
pub(crate) fn announce_code(email: &str, code: &str) {
    tracing::info!("verification code for {email}: {code}");
}

/// A verification message: the code and when it was sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Verification {
    /// The 6-digit code.
    pub code: String,
    /// When it was sent, in seconds since the Unix epoch.
    pub sent_at: i64,
    /// Wrong codes entered since it was sent.
    #[serde(default)]
    pub failed_attempts: u32,
}

impl Verification {
    /// Whether [`MAX_CODE_ATTEMPTS`] wrong codes were entered: the code no longer works.
    pub(crate) fn attempts_exhausted(&self) -> bool {
        self.failed_attempts >= MAX_CODE_ATTEMPTS
    }
}

/// A PBKDF2-HMAC-SHA256 password hash with its parameters.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct PasswordHash {
    /// Always `"pbkdf2-sha256"`.
    pub algorithm: String,
    /// The iteration count.
    pub iterations: u32,
    /// The salt, hex.
    pub salt: String,
    /// The derived key, hex.
    pub hash: String,
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHash")
            .field("algorithm", &self.algorithm)
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl PasswordHash {
    /// Hashes `password` with a random 16-byte salt and [`PBKDF2_ITERATIONS`].
    pub(crate) fn new(password: &str) -> Result<Self, IssuerError> {
        Self::with_iterations(password, PBKDF2_ITERATIONS)
    }

    /// Hashes `password` with a random 16-byte salt and `iterations` (at least 1).
    pub(crate) fn with_iterations(password: &str, iterations: u32) -> Result<Self, IssuerError> {
        let salt = random_bytes::<16>()?;
        let mut hash = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            NonZeroU32::new(iterations).unwrap_or(NonZeroU32::MIN),
            &salt,
            password.as_bytes(),
            &mut hash,
        );
        Ok(Self {
            algorithm: "pbkdf2-sha256".to_owned(),
            iterations: iterations.max(1),
            salt: hex::encode(salt),
            hash: hex::encode(hash),
        })
    }

    /// Whether this hash is weaker than what [`PasswordHash::new`] makes now (fewer iterations):
    /// rehash the password at the next successful sign-in.
    pub(crate) fn needs_upgrade(&self) -> bool {
        self.algorithm != "pbkdf2-sha256" || self.iterations < PBKDF2_ITERATIONS
    }

    /// Whether `password` matches (constant-time comparison).
    pub(crate) fn verify(&self, password: &str) -> bool {
        let (Some(iterations), Ok(salt), Ok(hash)) = (
            NonZeroU32::new(self.iterations),
            hex::decode(&self.salt),
            hex::decode(&self.hash),
        ) else {
            return false;
        };
        self.algorithm == "pbkdf2-sha256"
            && pbkdf2::verify(
                pbkdf2::PBKDF2_HMAC_SHA256,
                iterations,
                &salt,
                password.as_bytes(),
                &hash,
            )
            .is_ok()
    }
}

/// Spends the time a password check takes, so that an unknown user answers as slowly as a
/// wrong password.
pub(crate) fn dummy_password_check(password: &str) {
    let mut out = [0u8; 32];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        NonZeroU32::MIN.saturating_add(PBKDF2_ITERATIONS - 1),
        b"local-aws-dummy-salt",
        password.as_bytes(),
        &mut out,
    );
}

/// The user name form of an email: trimmed and lower-cased (the pool is case-insensitive).
pub(crate) fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Checks an (already normalized) email address's syntax, as far as a local pool needs.
pub(crate) fn email_is_valid(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    (3..=254).contains(&email.len())
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>\"'(),;:\\[]".contains(c))
}

/// The current time in seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `N` bytes from the operating system's random source.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], IssuerError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|_| IssuerError::Crypto {
        what: "random bytes",
    })?;
    Ok(bytes)
}

/// A random version-4 UUID, lower-case hex with dashes.
pub(crate) fn uuid_v4() -> Result<String, IssuerError> {
    let mut b = random_bytes::<16>()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = hex::encode(b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

/// A random opaque token: `N` random bytes, base64url without padding.
pub(crate) fn random_token<const N: usize>() -> Result<String, IssuerError> {
    random_bytes::<N>().map(|bytes| URL_SAFE_NO_PAD.encode(bytes))
}

/// A random 6-digit verification code (rejection sampling, so every code is equally likely).
pub(crate) fn verification_code() -> Result<String, IssuerError> {
    const LIMIT: u32 = u32::MAX - u32::MAX % 1_000_000;
    loop {
        let value = u32::from_le_bytes(random_bytes::<4>()?);
        if value < LIMIT {
            return Ok(format!("{:06}", value % 1_000_000));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let hash = PasswordHash::new("Correct-horse-1").expect("hash");
        assert_eq!(hash.iterations, 600_000);
        assert!(!hash.needs_upgrade());
        let old = PasswordHash::with_iterations("Correct-horse-1", 100_000).expect("hash");
        assert!(old.needs_upgrade() && old.verify("Correct-horse-1"));
        assert_eq!(hash.salt.len(), 32);
        assert!(hash.verify("Correct-horse-1"));
        assert!(!hash.verify("correct-horse-1"));
        let broken = PasswordHash {
            iterations: 0,
            ..hash.clone()
        };
        assert!(!broken.verify("Correct-horse-1"));
        assert!(!format!("{hash:?}").contains(&hash.hash));
    }

    #[test]
    fn ids_and_codes_have_the_right_shape() {
        let id = uuid_v4().expect("uuid");
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4');
        assert!(matches!(id.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
        assert_ne!(id, uuid_v4().expect("uuid"));
        let code = verification_code().expect("code");
        assert_eq!(code.len(), 6);
        assert!(code.chars().all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn group_names_follow_cognito() {
        let long = "g".repeat(128);
        for good in [
            "admin",
            "\"admin\"",
            "a-b_c.d",
            "ünïcödé",
            "管理者",
            "€$+",
            long.as_str(),
        ] {
            assert_eq!(
                GroupName::parse(good).map(|g| g.as_str().to_owned()).ok(),
                Some(good.to_owned()),
                "{good}"
            );
        }
        let too_long = "g".repeat(129);
        for bad in [
            "",
            "a b",
            " admin",
            "admin ",
            "a\tb",
            "a\nb",
            "a\u{7}b",
            "a\u{200b}b",
            "a\u{a0}b",
            too_long.as_str(),
        ] {
            assert!(
                matches!(GroupName::parse(bad), Err(IssuerError::InvalidGroup(_))),
                "{bad:?}"
            );
        }
        let user: Result<User, _> = serde_json::from_value(serde_json::json!({
            "email": "a@b.co", "sub": "s", "confirmed": true, "groups": ["a b"],
            "password": {"algorithm": "pbkdf2-sha256", "iterations": 1, "salt": "", "hash": ""},
        }));
        assert!(user.is_err());
    }

    #[test]
    fn email_syntax() {
        for good in ["a@b.co", "dev.name+tag@example.com"] {
            assert!(email_is_valid(good), "{good}");
        }
        for bad in [
            "", "a", "a@b", "@b.co", "a@@b.co", "a b@c.co", "a@.co", "a@b.", "a@b..co",
        ] {
            assert!(!email_is_valid(bad), "{bad}");
        }
        assert_eq!(normalize_email("  Dev@Example.COM "), "dev@example.com");
    }
}
