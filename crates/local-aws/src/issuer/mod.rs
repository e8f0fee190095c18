//! A built-in local Cognito-compatible OAuth2/OIDC issuer that the local API Gateway emulator
//! trusts: an RSA signing key and JWKS, hosted-UI-like sign-up/sign-in pages, Cognito's
//! `/oauth2/token` and `/oauth2/userInfo`, and users that persist in a state directory.
//!
//! Routes of [`Issuer::router`]:
//!
//! | Route | What |
//! |---|---|
//! | `GET /{pool_id}/.well-known/jwks.json` | the public key |
//! | `GET /{pool_id}/.well-known/openid-configuration` | OIDC discovery |
//! | `GET /oauth2/authorize` | starts the code flow (skips the form with a live session) |
//! | `POST /oauth2/token` | `authorization_code` (with PKCE S256) and `refresh_token` grants |
//! | `GET, POST /oauth2/userInfo` | the user's attributes for an access token |
//! | `POST /oauth2/revoke` | revokes a refresh token |
//! | `GET, POST /login`, `/signup`, `/confirm` | the hosted-UI-like pages |
//! | `GET /mailbox` | the local stand-in for email: the latest verification code per email |
//! | `GET /logout` | ends the session and redirects to a registered sign-out URL |
//!
//! The pages are a web app a browser with other tabs open visits: every form POST needs the
//! form token of its `XSRF-TOKEN` cookie (the `csrf` module; else 403); failed sign-ins lock the
//! user out as Cognito does (the `lockout` module, [`LockoutPolicy`]) and a verification code
//! stops working after 5 wrong attempts; passwords are PBKDF2-HMAC-SHA256 with 600 000
//! iterations, older hashes upgraded at the next sign-in; an app client without a secret must
//! use PKCE S256, and a `code_verifier` for a code issued without a challenge is
//! `invalid_grant`; group names follow Cognito's `CreateGroup` rule; the state directory is
//! created 0700 and its files 0600. [`crate::stack`] serves the router only for its own
//! `Host` ([`crate::hostcheck`]).

mod csrf;
mod files;
mod keys;
mod lockout;
mod oauth;
mod pages;
mod params;
mod tokens;
mod users;
mod web;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use serde_json::{Map, Value};

use files::JsonStore;
pub(crate) use files::{create_private_dir, create_private_exclusive, readable_by_others};
use keys::SigningKey;
use tokens::{AuthCode, Grant};
use users::{USERS_FILE, User, UsersFile};

pub use lockout::LockoutPolicy;

/// The password rules that sign-up and [`Issuer::admin_create_user`] enforce, like a Cognito
/// user pool's `password_policy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// The minimum number of characters.
    pub min_length: usize,
    /// At least one lowercase letter.
    pub require_lowercase: bool,
    /// At least one uppercase letter.
    pub require_uppercase: bool,
    /// At least one digit.
    pub require_numbers: bool,
    /// At least one of Cognito's special characters (or a non-leading, non-trailing space).
    pub require_symbols: bool,
}

impl Default for PasswordPolicy {
    /// The policy of `IaC/modules/cognito/main.tf`: 12 characters (the default of
    /// `password_minimum_length`), lowercase, uppercase, numbers and symbols all required.
    fn default() -> Self {
        Self {
            min_length: 12,
            require_lowercase: true,
            require_uppercase: true,
            require_numbers: true,
            require_symbols: true,
        }
    }
}

/// The characters Cognito counts as symbols in a password.
const PASSWORD_SYMBOLS: &str = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+-";

impl PasswordPolicy {
    /// Checks `password`, returning Cognito's message for the first rule it breaks
    /// (`"Password did not conform with policy: Password not long enough"`, ..).
    pub fn check(&self, password: &str) -> Result<(), String> {
        let inner = password.trim_matches(' ');
        let failure = if password.chars().count() < self.min_length {
            Some("Password not long enough")
        } else if password.chars().count() > 256 {
            Some("Password is too long")
        } else if self.require_lowercase && !password.chars().any(char::is_lowercase) {
            Some("Password must have lowercase characters")
        } else if self.require_uppercase && !password.chars().any(char::is_uppercase) {
            Some("Password must have uppercase characters")
        } else if self.require_numbers && !password.chars().any(|c| c.is_ascii_digit()) {
            Some("Password must have numeric characters")
        } else if self.require_symbols
            && !password.chars().any(|c| PASSWORD_SYMBOLS.contains(c))
            && !inner.contains(' ')
        {
            Some("Password must have symbol characters")
        } else {
            None
        };
        match failure {
            Some(reason) => Err(format!("Password did not conform with policy: {reason}")),
            None => Ok(()),
        }
    }
}

/// How the local issuer is set up: where it keeps its state, where it is served, and the one
/// app client it knows (like IaC/modules/cognito's `aws_cognito_user_pool_client`).
#[derive(Clone)]
pub struct IssuerConfig {
    /// Where the signing key, the users and the refresh tokens live (created if missing).
    pub state_dir: PathBuf,
    /// Where [`Issuer::router`] is served, e.g. `http://127.0.0.1:9000` (no trailing slash
    /// needed).
    pub base_url: String,
    /// The user pool id; the issuer URL is `{base_url}/{pool_id}`. Letters, digits, `_`, `-`.
    pub pool_id: String,
    /// The app client's id.
    pub client_id: String,
    /// The app client's secret (empty: a public client that sends none).
    pub client_secret: String,
    /// The registered callback URLs; `redirect_uri` must be exactly one of them.
    pub callback_urls: Vec<String>,
    /// The registered sign-out URLs; `logout_uri` must be exactly one of them.
    pub logout_urls: Vec<String>,
    /// The password rules.
    pub password_policy: PasswordPolicy,
    /// Access token lifetime (default 1 hour).
    pub access_token_ttl: Duration,
    /// Id token lifetime (default 1 hour).
    pub id_token_ttl: Duration,
    /// Refresh token lifetime (default 30 days).
    pub refresh_token_ttl: Duration,
    /// The lockout after failed sign-in attempts (default: Cognito's).
    pub sign_in_lockout: LockoutPolicy,
}

impl fmt::Debug for IssuerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerConfig")
            .field("state_dir", &self.state_dir)
            .field("base_url", &self.base_url)
            .field("pool_id", &self.pool_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("callback_urls", &self.callback_urls)
            .field("logout_urls", &self.logout_urls)
            .field("password_policy", &self.password_policy)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("id_token_ttl", &self.id_token_ttl)
            .field("refresh_token_ttl", &self.refresh_token_ttl)
            .field("sign_in_lockout", &self.sign_in_lockout)
            .finish()
    }
}

impl IssuerConfig {
    /// A configuration with Cognito's defaults for the rest: pool id `local_notes`, the default
    /// [`PasswordPolicy`], 1-hour access and id tokens, 30-day refresh tokens, Cognito's
    /// [`LockoutPolicy`], and as sign-out URLs the callback URLs' origins followed by `/`.
    pub fn new(
        state_dir: impl Into<PathBuf>,
        base_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        callback_urls: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        let callback_urls: Vec<String> = callback_urls.into_iter().map(Into::into).collect();
        let mut logout_urls: Vec<String> = Vec::new();
        for url in &callback_urls {
            if let Some(origin) = params::origin(url) {
                let logout = format!("{origin}/");
                if !logout_urls.contains(&logout) {
                    logout_urls.push(logout);
                }
            }
        }
        Self {
            state_dir: state_dir.into(),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            pool_id: "local_notes".to_owned(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            callback_urls,
            logout_urls,
            password_policy: PasswordPolicy::default(),
            access_token_ttl: Duration::from_secs(3600),
            id_token_ttl: Duration::from_secs(3600),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            sign_in_lockout: LockoutPolicy::default(),
        }
    }

    fn base(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }

    /// The `iss` of every token: `{base_url}/{pool_id}`.
    pub fn issuer_url(&self) -> String {
        format!("{}/{}", self.base(), self.pool_id)
    }

    /// The JWKS: `{issuer}/.well-known/jwks.json`.
    pub fn jwks_url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.issuer_url())
    }

    /// The OIDC discovery document: `{issuer}/.well-known/openid-configuration`.
    pub fn openid_configuration_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer_url())
    }

    /// The token endpoint: `{base_url}/oauth2/token`.
    pub fn token_endpoint(&self) -> String {
        format!("{}/oauth2/token", self.base())
    }

    /// The authorization endpoint: `{base_url}/oauth2/authorize`.
    pub fn authorize_url(&self) -> String {
        format!("{}/oauth2/authorize", self.base())
    }

    /// The userInfo endpoint: `{base_url}/oauth2/userInfo`.
    pub fn userinfo_url(&self) -> String {
        format!("{}/oauth2/userInfo", self.base())
    }

    /// The sign-out endpoint: `{base_url}/logout`.
    pub fn logout_url(&self) -> String {
        format!("{}/logout", self.base())
    }

    /// The local mailbox page: `{base_url}/mailbox`.
    pub fn mailbox_url(&self) -> String {
        format!("{}/mailbox", self.base())
    }

    fn validate(&self) -> Result<(), IssuerError> {
        let pool_ok = !self.pool_id.is_empty()
            && self.pool_id.len() <= 55
            && self
                .pool_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !pool_ok {
            return Err(IssuerError::Config(format!(
                "pool_id {:?} must be 1 to 55 letters, digits, '_' or '-'",
                self.pool_id
            )));
        }
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err(IssuerError::Config(format!(
                "base_url {:?} must be an absolute http:// or https:// URL",
                self.base_url
            )));
        }
        if self.client_id.is_empty() {
            return Err(IssuerError::Config(
                "client_id must not be empty".to_owned(),
            ));
        }
        Ok(())
    }
}

/// Why the issuer cannot do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssuerError {
    /// A file of the state directory could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done ("read", "write", ..).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A state file exists but does not parse.
    #[error("{} is corrupt ({reason}); fix it or delete it to start over", path.display())]
    CorruptFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The stored signing key is unusable.
    #[error(
        "the signing key {} is unusable ({reason}); delete it to generate a new one \
         (tokens signed with the old key will stop verifying)",
        path.display()
    )]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The cryptographic library or the system's random source failed.
    #[error("cannot generate {what}: the system's cryptographic random source failed")]
    Crypto {
        /// What was being generated.
        what: &'static str,
    },
    /// The [`IssuerConfig`] is unusable.
    #[error("invalid issuer configuration: {0}")]
    Config(String),
    /// A user with this email already exists.
    #[error("An account with the given email already exists: {0}")]
    UserExists(String),
    /// No user has this email.
    #[error("no user {email} in {}: sign up first, or create it with admin_create_user", path.display())]
    UnknownUser {
        /// The (lower-cased) email.
        email: String,
        /// The users file searched.
        path: PathBuf,
    },
    /// The user has not entered the verification code yet.
    #[error(
        "user {0} is not confirmed: enter the verification code shown on the console or on the \
         /mailbox page"
    )]
    UserNotConfirmed(String),
    /// The password breaks the [`PasswordPolicy`]; the message is Cognito's.
    #[error("{0}")]
    InvalidPassword(String),
    /// The email address is not syntactically valid.
    #[error("Invalid email address format: {0:?}")]
    InvalidEmail(String),
    /// The group name is not usable.
    #[error(
        "invalid group name {0:?}: Cognito group names are 1 to 128 letters, marks, symbols, \
         numbers or punctuation characters (no whitespace, control or format characters)"
    )]
    InvalidGroup(String),
    /// A token could not be signed.
    #[error("cannot sign a token: {0}")]
    Sign(#[source] jsonwebtoken::errors::Error),
}

/// The local Cognito-compatible issuer: its key, users and in-flight sign-ins.
pub struct Issuer {
    config: IssuerConfig,
    key: SigningKey,
    users: JsonStore,
    refresh_tokens: JsonStore,
    codes: Mutex<HashMap<String, AuthCode>>,
    sessions: Mutex<HashMap<String, web::Session>>,
    csrf: csrf::CsrfKey,
    lockouts: lockout::Lockouts,
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("config", &self.config)
            .field("kid", &self.key.kid())
            .finish_non_exhaustive()
    }
}

impl Issuer {
    /// Opens the issuer on `config.state_dir` (created if missing): loads the RSA key and the
    /// users file, creating them on first start.
    ///
    /// # Errors
    /// An unusable configuration, state directory, key or users file.
    pub fn open(config: IssuerConfig) -> Result<Arc<Self>, IssuerError> {
        config.validate()?;
        create_private_dir(&config.state_dir).map_err(|source| IssuerError::Io {
            action: "create",
            path: config.state_dir.clone(),
            source,
        })?;
        let key = SigningKey::load_or_create(&config.state_dir)?;
        let users = JsonStore::new(config.state_dir.join(USERS_FILE));
        users.create_if_missing::<UsersFile>()?;
        let refresh_tokens = JsonStore::new(config.state_dir.join(tokens::REFRESH_FILE));
        refresh_tokens.load::<tokens::RefreshFile>()?;
        Ok(Arc::new(Self {
            config,
            key,
            users,
            refresh_tokens,
            codes: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            csrf: csrf::CsrfKey::generate()?,
            lockouts: lockout::Lockouts::default(),
        }))
    }

    /// Every endpoint of the issuer (see the module documentation), with its state inside.
    pub fn router(self: &Arc<Self>) -> Router {
        let pool = &self.config.pool_id;
        Router::new()
            .route(&format!("/{pool}/.well-known/jwks.json"), get(oauth::jwks))
            .route(
                &format!("/{pool}/.well-known/openid-configuration"),
                get(oauth::openid_configuration),
            )
            .route("/oauth2/authorize", get(web::authorize))
            .route("/oauth2/token", post(oauth::token))
            .route(
                "/oauth2/userInfo",
                get(oauth::userinfo).post(oauth::userinfo),
            )
            .route("/oauth2/revoke", post(oauth::revoke))
            .route("/login", get(web::login_page).post(web::login_submit))
            .route("/signup", get(web::signup_page).post(web::signup_submit))
            .route("/confirm", get(web::confirm_page).post(web::confirm_submit))
            .route("/mailbox", get(web::mailbox))
            .route("/logout", get(web::logout))
            .with_state(Arc::clone(self))
    }

    /// The configuration the issuer was opened with.
    pub fn config(&self) -> &IssuerConfig {
        &self.config
    }

    /// The signing key's id (`kid` of the JWKS and of every token header).
    pub fn kid(&self) -> &str {
        self.key.kid()
    }

    /// Mints tokens for a confirmed user directly (an admin path for scripts and tests, like
    /// `AdminInitiateAuth`): the same JSON object `/oauth2/token` returns (`id_token`,
    /// `access_token`, `refresh_token`, `expires_in`, `token_type` `"Bearer"`). Empty `scopes`
    /// grant the client's scopes (`openid email profile`); other scopes are taken as given.
    ///
    /// # Errors
    /// An unknown or unconfirmed user, an unreadable users file, a signing failure.
    pub fn issue_tokens(
        &self,
        email: &str,
        scopes: &[&str],
    ) -> Result<Map<String, Value>, IssuerError> {
        let email = users::normalize_email(email);
        let pool: UsersFile = self.users.load()?;
        let user = pool
            .users
            .get(&email)
            .ok_or_else(|| IssuerError::UnknownUser {
                email: email.clone(),
                path: self.users.path().to_owned(),
            })?;
        if !user.confirmed {
            return Err(IssuerError::UserNotConfirmed(email));
        }
        let mut granted: Vec<String> = Vec::new();
        let requested: Vec<&str> = if scopes.is_empty() {
            params::ALLOWED_SCOPES.to_vec()
        } else {
            scopes.to_vec()
        };
        for scope in requested {
            if !granted.iter().any(|s| s == scope) {
                granted.push(scope.to_owned());
            }
        }
        let grant = Grant::new(&user.sub, granted, users::now(), None)?;
        self.mint(user, &grant, true)
    }

    /// Creates a confirmed user (an admin path for scripts and tests: `AdminCreateUser` with a
    /// permanent password), returning its `sub`.
    ///
    /// # Errors
    /// A malformed email, a password that breaks the policy, an existing user, an unwritable
    /// users file.
    pub fn admin_create_user(&self, email: &str, password: &str) -> Result<String, IssuerError> {
        let email = users::normalize_email(email);
        if !users::email_is_valid(&email) {
            return Err(IssuerError::InvalidEmail(email));
        }
        self.config
            .password_policy
            .check(password)
            .map_err(IssuerError::InvalidPassword)?;
        let user = User::new(&email, password, true)?;
        let sub = user.sub.clone();
        self.users.update(|pool: &mut UsersFile| {
            if pool.users.contains_key(&email) {
                return Err(IssuerError::UserExists(email.clone()));
            }
            pool.users.insert(email.clone(), user);
            Ok(())
        })?;
        Ok(sub)
    }
}

/// Adds a user to a group in the users file of `state_dir`: safe while a server runs on the
/// same directory (the file is updated under a lock and replaced atomically, and the server
/// reads it on every request), so the user's next token carries `cognito:groups`. Adding a
/// group the user already has changes nothing.
///
/// # Errors
/// [`IssuerError::UnknownUser`] when no user has this email; [`IssuerError::InvalidGroup`]
/// when `group` breaks Cognito's group-name rule (1 to 128 characters matching
/// `[\p{L}\p{M}\p{S}\p{N}\p{P}]+`, taken as given: no trimming); an unreadable or unwritable
/// users file.
pub fn add_user_to_group(state_dir: &Path, email: &str, group: &str) -> Result<(), IssuerError> {
    let group = users::GroupName::parse(group)?;
    let email = users::normalize_email(email);
    let store = JsonStore::new(state_dir.join(USERS_FILE));
    let unknown = || IssuerError::UnknownUser {
        email: email.clone(),
        path: store.path().to_owned(),
    };
    if !store.path().exists() {
        return Err(unknown());
    }
    store.update(|pool: &mut UsersFile| {
        let user = pool.users.get_mut(&email).ok_or_else(unknown)?;
        if !user.groups.contains(&group) {
            user.groups.push(group.clone());
        }
        Ok(())
    })
}

/// Locks a mutex, carrying on after a panic elsewhere (the maps stay consistent).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
