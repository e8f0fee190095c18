//! The hosted-UI-like endpoints: `/oauth2/authorize`, `/login`, `/signup`, `/confirm`,
//! `/mailbox` and `/logout`, with the sign-in session cookie.
//!
//! Every form POST carries the form token of the `XSRF-TOKEN` cookie (the `csrf` module); one
//! without it, or with a wrong one, gets a 403 page and changes nothing. Guessing is bounded
//! like Cognito: sign-in attempts by the `lockout` module ("Password attempts exceeded"), and
//! a verification code stops working after 5 wrong codes ("Attempt limit exceeded, please try
//! after some time.", Cognito's `LimitExceededException` of `ConfirmSignUp`,
//! <https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ConfirmSignUp.html>)
//! until a new code is requested. A correct password of a user whose stored hash is older than
//! today's work factor is rehashed on that sign-in.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::csrf;
use super::lockout::{self, Attempt};
use super::pages::{self, MailboxEntry};
use super::params::{self, AuthParams, AuthRequest, Rejection};
use super::tokens::Grant;
use super::users::{self, PasswordHash, User, UsersFile};
use super::{Issuer, IssuerError, lock};

/// A query string or form, by field name.
pub(crate) type Fields = HashMap<String, String>;

/// The session cookie's name.
const SESSION_COOKIE: &str = "local_cognito_session";

/// How long a sign-in session lets `/oauth2/authorize` skip the form (Cognito: 1 hour).
const SESSION_TTL_SECS: i64 = 3600;

/// The sign-in error, the same for unknown users and wrong passwords.
pub(crate) const INCORRECT_CREDENTIALS: &str = "Incorrect username or password.";

const INVALID_CODE: &str = "Invalid verification code provided, please try again.";
const EXPIRED_CODE: &str = "Invalid code provided, please request a code again.";
const CONFIRMED_NOTICE: &str = "Your account is confirmed. Sign in to continue.";

/// Cognito's `NotAuthorizedException` message for a sign-in during a lockout.
pub(crate) const PASSWORD_ATTEMPTS_EXCEEDED: &str = "Password attempts exceeded";

/// Cognito's `LimitExceededException` message once a code got too many wrong attempts.
pub(crate) const ATTEMPT_LIMIT_EXCEEDED: &str =
    "Attempt limit exceeded, please try after some time.";

/// The form-token refusal.
const CSRF_REFUSED: &str = "This form did not come from this sign-in page, or it has expired \
    (missing or wrong XSRF token). Reload the page and try again.";

/// A signed-in browser.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    sub: String,
    auth_time: i64,
    expires_at: i64,
}

/// Runs blocking work (file I/O, PBKDF2) off the async runtime.
pub(crate) async fn blocking(work: impl FnOnce() -> Response + Send + 'static) -> Response {
    match tokio::task::spawn_blocking(work).await {
        Ok(response) => response,
        Err(err) => {
            tracing::error!(error = %err, "local issuer request handler failed");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                pages::message("Something went wrong", "The request handler failed.", true),
            )
        }
    }
}

/// An HTML page that is not cached.
pub(crate) fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Html(body),
    )
        .into_response()
}

/// A 302 redirect.
pub(crate) fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(location) => (
            StatusCode::FOUND,
            [
                (LOCATION, location),
                (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        Err(_) => html(
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::message(
                "Invalid redirect",
                "The redirect URL is not a valid header value.",
                true,
            ),
        ),
    }
}

/// A 500 page for a state-directory or crypto failure (logged).
pub(crate) fn server_error(err: &IssuerError) -> Response {
    tracing::error!(error = %err, "local issuer request failed");
    html(
        StatusCode::INTERNAL_SERVER_ERROR,
        pages::message("Something went wrong", &err.to_string(), true),
    )
}

/// The 403 page of a form POST without the right form token.
fn csrf_refused() -> Response {
    html(
        StatusCode::FORBIDDEN,
        pages::message("Invalid request", CSRF_REFUSED, true),
    )
}

fn bad_request(text: &str) -> Response {
    html(
        StatusCode::BAD_REQUEST,
        pages::message("Invalid request", text, true),
    )
}

fn rejected(rejection: Rejection) -> Response {
    match rejection {
        Rejection::Page(text) => bad_request(&text),
        Rejection::Redirect(url) => found(&url),
    }
}

fn field<'a>(fields: &'a Fields, name: &str) -> &'a str {
    fields.get(name).map(String::as_str).unwrap_or_default()
}

/// The email of a form or query: `email`, or Cognito's `username`, normalized.
fn email_field(fields: &Fields) -> String {
    let email = fields
        .get("email")
        .filter(|e| !e.is_empty())
        .or_else(|| fields.get("username"));
    users::normalize_email(email.map(String::as_str).unwrap_or_default())
}

/// The session id in the request's cookies.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    csrf::cookies(headers, SESSION_COOKIE).into_iter().next()
}

/// A page that shows a form: its token, and the `XSRF-TOKEN` cookie to set when the request
/// had none.
pub(crate) struct FormToken {
    token: String,
    set_cookie: Option<HeaderValue>,
}

impl FormToken {
    /// `response` with the cookie set, if it is new.
    fn apply(self, mut response: Response) -> Response {
        if let Some(cookie) = self.set_cookie {
            response.headers_mut().append(SET_COOKIE, cookie);
        }
        response
    }
}

impl Issuer {
    fn secure_attribute(&self) -> &'static str {
        if self.config.base_url.starts_with("https://") {
            "; Secure"
        } else {
            ""
        }
    }

    fn cookie(&self, value: &str, max_age: i64) -> Option<HeaderValue> {
        let secure = self.secure_attribute();
        HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
        ))
        .ok()
    }

    /// The form token for a page: from the request's `XSRF-TOKEN` cookie, or a new cookie.
    fn form_token(&self, headers: &HeaderMap) -> Result<FormToken, IssuerError> {
        if let Some(cookie) = csrf::request_cookies(headers).first() {
            return Ok(FormToken {
                token: self.csrf.token(cookie),
                set_cookie: None,
            });
        }
        let cookie = csrf::new_cookie_value()?;
        let secure = self.secure_attribute();
        let set_cookie = HeaderValue::from_str(&format!(
            "{}={cookie}; Path=/; HttpOnly; SameSite=Lax{secure}",
            csrf::CSRF_COOKIE
        ))
        .ok();
        Ok(FormToken {
            token: self.csrf.token(&cookie),
            set_cookie,
        })
    }

    /// Checks a form POST's token against its cookie: the token (to render the next form
    /// with), or `None` (answer [`csrf_refused`]).
    fn check_form_token(&self, headers: &HeaderMap, fields: &Fields) -> Option<String> {
        let token = field(fields, csrf::CSRF_FIELD);
        csrf::request_cookies(headers)
            .iter()
            .any(|cookie| self.csrf.verify(cookie, token))
            .then(|| token.to_owned())
    }

    fn create_session(&self, sub: &str, auth_time: i64) -> Result<String, IssuerError> {
        let id = users::random_token::<32>()?;
        let now = users::now();
        let mut sessions = lock(&self.sessions);
        sessions.retain(|_, s| s.expires_at > now);
        sessions.insert(
            id.clone(),
            Session {
                sub: sub.to_owned(),
                auth_time,
                expires_at: now.saturating_add(SESSION_TTL_SECS),
            },
        );
        Ok(id)
    }

    fn live_session(&self, headers: &HeaderMap) -> Option<Session> {
        let id = session_cookie(headers)?;
        let session = lock(&self.sessions).get(&id).cloned()?;
        (session.expires_at > users::now()).then_some(session)
    }

    /// Issues a code for a signed-in user and redirects to the client's callback with it;
    /// `new_session` is the session to set as a cookie, if one was just created.
    fn complete_sign_in(
        &self,
        request: &AuthRequest,
        user: &User,
        auth_time: i64,
        new_session: Option<&str>,
    ) -> Response {
        let code = Grant::new(
            &user.sub,
            request.scopes.clone(),
            auth_time,
            request.nonce.clone(),
        )
        .and_then(|grant| self.store_code(request, grant));
        let code = match code {
            Ok(code) => code,
            Err(err) => return server_error(&err),
        };
        let mut pairs = vec![("code", code.as_str())];
        if let Some(state) = request.state.as_deref() {
            pairs.push(("state", state));
        }
        let mut response = found(&params::append_query(
            &request.redirect_uri,
            &params::encode_query(pairs),
        ));
        if let Some(cookie) = new_session.and_then(|id| self.cookie(id, SESSION_TTL_SECS)) {
            response.headers_mut().append(SET_COOKIE, cookie);
        }
        response
    }

    fn authorize_sync(&self, headers: &HeaderMap, query: &Fields) -> Response {
        let params = AuthParams::from_map(query);
        let request = match params::validate(&self.config, &params) {
            Ok(request) => request,
            Err(rejection) => return rejected(rejection),
        };
        if !request.force_login
            && let Some(session) = self.live_session(headers)
        {
            let pool: UsersFile = match self.users.load() {
                Ok(pool) => pool,
                Err(err) => return server_error(&err),
            };
            if let Some(user) = pool.by_sub(&session.sub).filter(|u| u.confirmed) {
                return self.complete_sign_in(&request, user, session.auth_time, None);
            }
        }
        found(&params.url("/login", &[]))
    }

    fn login_page_sync(&self, headers: &HeaderMap, query: &Fields) -> Response {
        let params = AuthParams::from_map(query);
        let notice = (field(query, "notice") == "confirmed").then_some(CONFIRMED_NOTICE);
        if let Err(rejection) = params::validate(&self.config, &params) {
            if notice.is_some() && params.client_id.is_none() {
                let text = "Your account is confirmed. Return to the application to sign in.";
                return html(
                    StatusCode::OK,
                    pages::message("Account confirmed", text, false),
                );
            }
            return rejected(rejection);
        }
        let form = match self.form_token(headers) {
            Ok(form) => form,
            Err(err) => return server_error(&err),
        };
        let page = pages::login(&params, &form.token, &email_field(query), None, notice);
        form.apply(html(StatusCode::OK, page))
    }

    fn login_submit_sync(&self, headers: &HeaderMap, fields: &Fields) -> Response {
        let Some(csrf) = self.check_form_token(headers, fields) else {
            return csrf_refused();
        };
        let params = AuthParams::from_map(fields);
        let request = match params::validate(&self.config, &params) {
            Ok(request) => request,
            Err(rejection) => return rejected(rejection),
        };
        let email = email_field(fields);
        let password = field(fields, "password");
        let again = |status: StatusCode, error: &str| {
            html(
                status,
                pages::login(&params, &csrf, &email, Some(error), None),
            )
        };
        let incorrect = || again(StatusCode::BAD_REQUEST, INCORRECT_CREDENTIALS);
        let policy = &self.config.sign_in_lockout;
        if self.lockouts.begin(policy, &email, lockout::now_ms()) == Attempt::LockedOut {
            return again(StatusCode::TOO_MANY_REQUESTS, PASSWORD_ATTEMPTS_EXCEEDED);
        }
        let pool: UsersFile = match self.users.load() {
            Ok(pool) => pool,
            Err(err) => return server_error(&err),
        };
        let Some(user) = pool.users.get(&email) else {
            users::dummy_password_check(password);
            return incorrect();
        };
        if !user.password.verify(password) {
            return incorrect();
        }
        self.lockouts.succeeded(&email);
        if user.password.needs_upgrade()
            && let Err(err) = self.upgrade_password_hash(&email, password)
        {
            return server_error(&err);
        }
        if !user.confirmed {
            if user.live_code().is_none()
                && let Err(err) = self.resend_code(&email)
            {
                return server_error(&err);
            }
            return found(&params.url("/confirm", &[("email", &email)]));
        }
        let auth_time = users::now();
        match self.create_session(&user.sub, auth_time) {
            Ok(session) => self.complete_sign_in(&request, user, auth_time, Some(&session)),
            Err(err) => server_error(&err),
        }
    }

    fn signup_submit_sync(&self, headers: &HeaderMap, fields: &Fields) -> Response {
        let Some(csrf) = self.check_form_token(headers, fields) else {
            return csrf_refused();
        };
        let params = AuthParams::from_map(fields);
        let email = email_field(fields);
        let password = field(fields, "password");
        let policy = &self.config.password_policy;
        let again = |error: &str| {
            html(
                StatusCode::BAD_REQUEST,
                pages::signup(&params, &csrf, &email, Some(error), policy),
            )
        };
        if !users::email_is_valid(&email) {
            return again("Invalid email address format.");
        }
        if let Err(message) = policy.check(password) {
            return again(&message);
        }
        let created = User::new(&email, password, false).and_then(|mut user| {
            let code = user.send_code()?;
            self.users.update(|pool: &mut UsersFile| {
                if pool.users.contains_key(&email) {
                    return Err(IssuerError::UserExists(email.clone()));
                }
                pool.users.insert(email.clone(), user);
                Ok(())
            })?;
            Ok(code)
        });
        match created {
            Ok(code) => {
                users::announce_code(&email, &code);
                found(&params.url("/confirm", &[("email", &email)]))
            }
            Err(IssuerError::UserExists(_)) => {
                again("An account with the given email already exists.")
            }
            Err(err) => server_error(&err),
        }
    }

    /// Replaces the stored hash of `email`'s password (just verified) with one of today's work
    /// factor, unless another request did it first.
    fn upgrade_password_hash(&self, email: &str, password: &str) -> Result<(), IssuerError> {
        let hash = PasswordHash::new(password)?;
        self.users.update(|pool: &mut UsersFile| {
            if let Some(user) = pool.users.get_mut(email)
                && user.password.needs_upgrade()
                && user.password.verify(password)
            {
                user.password = hash;
                tracing::info!(email = %email, "password hash upgraded");
            }
            Ok(())
        })
    }

    /// Sends a new code to an unconfirmed user; nothing for unknown or confirmed users.
    fn resend_code(&self, email: &str) -> Result<(), IssuerError> {
        let code = self.users.update(|pool: &mut UsersFile| {
            match pool.users.get_mut(email).filter(|u| !u.confirmed) {
                Some(user) => user.send_code().map(Some),
                None => Ok(None),
            }
        })?;
        if let Some(code) = code {
            users::announce_code(email, &code);
        }
        Ok(())
    }

    fn confirm_submit_sync(&self, headers: &HeaderMap, fields: &Fields) -> Response {
        let Some(csrf) = self.check_form_token(headers, fields) else {
            return csrf_refused();
        };
        let params = AuthParams::from_map(fields);
        let email = email_field(fields);
        if field(fields, "action") == "resend" {
            if let Err(err) = self.resend_code(&email) {
                return server_error(&err);
            }
            let notice = "A new code has been sent (see the console or the local mailbox).";
            return html(
                StatusCode::OK,
                pages::confirm(&params, &csrf, &email, None, Some(notice)),
            );
        }
        let code = field(fields, "code").trim().to_owned();
        enum Outcome {
            Confirmed,
            Mismatch,
            Expired,
            LimitExceeded,
        }
        let outcome = self.users.update(|pool: &mut UsersFile| {
            let Some(user) = pool.users.get_mut(&email) else {
                return Ok(Outcome::Mismatch);
            };
            let confirmed = user.confirmed;
            let Some(verification) = user.verification.as_mut() else {
                return Ok(Outcome::Mismatch);
            };
            if !confirmed && verification.attempts_exhausted() {
                return Ok(Outcome::LimitExceeded);
            }
            if code.is_empty() || verification.code.as_bytes() != code.as_bytes() {
                if !confirmed {
                    verification.failed_attempts = verification.failed_attempts.saturating_add(1);
                }
                return Ok(Outcome::Mismatch);
            }
            if user.confirmed {
                return Ok(Outcome::Confirmed);
            }
            if user.live_code().is_none() {
                return Ok(Outcome::Expired);
            }
            user.confirmed = true;
            tracing::info!(email = %email, "user confirmed");
            Ok(Outcome::Confirmed)
        });
        let (status, error) = match outcome {
            Ok(Outcome::Confirmed) => {
                return found(&params.url("/login", &[("notice", "confirmed"), ("email", &email)]));
            }
            Ok(Outcome::Mismatch) => (StatusCode::BAD_REQUEST, INVALID_CODE),
            Ok(Outcome::Expired) => (StatusCode::BAD_REQUEST, EXPIRED_CODE),
            Ok(Outcome::LimitExceeded) => (StatusCode::TOO_MANY_REQUESTS, ATTEMPT_LIMIT_EXCEEDED),
            Err(err) => return server_error(&err),
        };
        html(
            status,
            pages::confirm(&params, &csrf, &email, Some(error), None),
        )
    }

    fn mailbox_sync(&self) -> Response {
        let pool: UsersFile = match self.users.load() {
            Ok(pool) => pool,
            Err(err) => return server_error(&err),
        };
        let mut messages: Vec<(i64, MailboxEntry)> = pool
            .users
            .values()
            .filter_map(|user| {
                let message = user.verification.as_ref()?;
                let status = if user.confirmed {
                    "used (account confirmed)"
                } else if message.attempts_exhausted() {
                    "invalidated (attempt limit exceeded: resend a code)"
                } else if user.live_code().is_some() {
                    "pending"
                } else {
                    "expired"
                };
                let sent_at = chrono::DateTime::from_timestamp(message.sent_at, 0)
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_default();
                Some((
                    message.sent_at,
                    MailboxEntry {
                        email: user.email.clone(),
                        code: message.code.clone(),
                        sent_at,
                        status,
                    },
                ))
            })
            .collect();
        messages.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.email.cmp(&b.1.email)));
        let entries: Vec<MailboxEntry> = messages.into_iter().map(|(_, entry)| entry).collect();
        html(StatusCode::OK, pages::mailbox(&entries))
    }

    fn logout_sync(&self, headers: &HeaderMap, query: &Fields) -> Response {
        if field(query, "client_id") != self.config.client_id {
            return bad_request("Unknown or missing client_id.");
        }
        if let Some(id) = session_cookie(headers) {
            lock(&self.sessions).remove(&id);
        }
        let mut response = if let Some(uri) = query.get("logout_uri") {
            if self.config.logout_urls.iter().any(|u| u == uri) {
                found(uri)
            } else {
                bad_request(&format!(
                    "logout_uri \"{uri}\" is not a registered sign-out URL of this app client \
                     (registered: {}).",
                    self.config.logout_urls.join(", ")
                ))
            }
        } else if query.contains_key("redirect_uri") {
            // Cognito's other form: sign out, then sign in again.
            let params = AuthParams::from_map(query);
            match params::validate(&self.config, &params) {
                Ok(_) => found(&params.url("/login", &[])),
                Err(rejection) => rejected(rejection),
            }
        } else {
            bad_request("The request has no logout_uri parameter.")
        };
        if let Some(cookie) = self.cookie("", 0) {
            response.headers_mut().append(SET_COOKIE, cookie);
        }
        response
    }
}

/// `GET /oauth2/authorize`.
pub(crate) async fn authorize(
    State(issuer): State<Arc<Issuer>>,
    headers: HeaderMap,
    Query(query): Query<Fields>,
) -> Response {
    blocking(move || issuer.authorize_sync(&headers, &query)).await
}

/// `GET /login`.
pub(crate) async fn login_page(
    State(issuer): State<Arc<Issuer>>,
    headers: HeaderMap,
    Query(query): Query<Fields>,
) -> Response {
    issuer.login_page_sync(&headers, &query)
}

/// `POST /login`.
pub(crate) async fn login_submit(
    State(issuer): State<Arc<Issuer>>,
    headers: HeaderMap,
    Form(fields): Form<Fields>,
) -> Response {
    blocking(move || issuer.login_submit_sync(&headers, &fields)).await
}

/// `GET /signup`.
pub(crate) async fn signup_page(
    State(issuer): State<Arc<Issuer>>,
    headers: HeaderMap,
    Query(query): Query<Fields>,
) -> Response {
    let form = match issuer.form_token(&headers) {
        Ok(form) => form,
        Err(err) => return server_error(&err),
    };
    let params = AuthParams::from_map(&query);
    let page = pages::signup(
        &params,
        &form.token,
        &email_field(&query),
        None,
        &issuer.config.password_policy,
    );
    form.apply(html(StatusCode::OK, page))
}

/// `POST /signup`.
pub(crate) async fn signup_submit(
    State(issuer): State<Arc<Issuer>>,
    headers: HeaderMap,
    Form(fields): Form<Fields>,
) -> Response {
    blocking(move || issuer.signup_submit_sync(&headers, &fields)).await
}

/// `GET /confirm`.
pub(crate) async fn confirm_page(
    State(issuer): State<Arc<Issuer>>,
    headers: HeaderMap,
    Query(query): Query<Fields>,
) -> Response {
    let form = match issuer.form_token(&headers) {
        Ok(form) => form,
        Err(err) => return server_error(&err),
    };
    let params = AuthParams::from_map(&query);
    let page = pages::confirm(&params, &form.token, &email_field(&query), None, None);
    form.apply(html(StatusCode::OK, page))
}

/// `POST /confirm`.
pub(crate) async fn confirm_submit(
    State(issuer): State<Arc<Issuer>>,
    headers: HeaderMap,
    Form(fields): Form<Fields>,
) -> Response {
    blocking(move || issuer.confirm_submit_sync(&headers, &fields)).await
}

/// `GET /mailbox`.
pub(crate) async fn mailbox(State(issuer): State<Arc<Issuer>>) -> Response {
    blocking(move || issuer.mailbox_sync()).await
}

/// `GET /logout`.
pub(crate) async fn logout(
    State(issuer): State<Arc<Issuer>>,
    headers: HeaderMap,
    Query(query): Query<Fields>,
) -> Response {
    blocking(move || issuer.logout_sync(&headers, &query)).await
}
