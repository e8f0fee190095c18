//! The hosted-UI-like endpoints: `/oauth2/authorize`, `/login`, `/signup`, `/confirm`,
//! `/mailbox` and `/logout`, with the sign-in session cookie.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::pages::{self, MailboxEntry};
use super::params::{self, AuthParams, AuthRequest, Rejection};
use super::tokens::Grant;
use super::users::{self, User, UsersFile};
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
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

impl Issuer {
    fn cookie(&self, value: &str, max_age: i64) -> Option<HeaderValue> {
        let secure = if self.config.base_url.starts_with("https://") {
            "; Secure"
        } else {
            ""
        };
        HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
        ))
        .ok()
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

    fn login_page_sync(&self, query: &Fields) -> Response {
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
        html(
            StatusCode::OK,
            pages::login(&params, &email_field(query), None, notice),
        )
    }

    fn login_submit_sync(&self, fields: &Fields) -> Response {
        let params = AuthParams::from_map(fields);
        let request = match params::validate(&self.config, &params) {
            Ok(request) => request,
            Err(rejection) => return rejected(rejection),
        };
        let email = email_field(fields);
        let password = field(fields, "password");
        let incorrect = || {
            html(
                StatusCode::BAD_REQUEST,
                pages::login(&params, &email, Some(INCORRECT_CREDENTIALS), None),
            )
        };
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

    fn signup_submit_sync(&self, fields: &Fields) -> Response {
        let params = AuthParams::from_map(fields);
        let email = email_field(fields);
        let password = field(fields, "password");
        let policy = &self.config.password_policy;
        let again = |error: &str| {
            html(
                StatusCode::BAD_REQUEST,
                pages::signup(&params, &email, Some(error), policy),
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

    fn confirm_submit_sync(&self, fields: &Fields) -> Response {
        let params = AuthParams::from_map(fields);
        let email = email_field(fields);
        if field(fields, "action") == "resend" {
            if let Err(err) = self.resend_code(&email) {
                return server_error(&err);
            }
            let notice = "A new code has been sent (see the console or the local mailbox).";
            return html(
                StatusCode::OK,
                pages::confirm(&params, &email, None, Some(notice)),
            );
        }
        let code = field(fields, "code").trim().to_owned();
        enum Outcome {
            Confirmed,
            Mismatch,
            Expired,
        }
        let outcome = self.users.update(|pool: &mut UsersFile| {
            let Some(user) = pool.users.get_mut(&email) else {
                return Ok(Outcome::Mismatch);
            };
            if code.is_empty() || user.verification.as_ref().is_none_or(|v| v.code != code) {
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
        let error = match outcome {
            Ok(Outcome::Confirmed) => {
                return found(&params.url("/login", &[("notice", "confirmed"), ("email", &email)]));
            }
            Ok(Outcome::Mismatch) => INVALID_CODE,
            Ok(Outcome::Expired) => EXPIRED_CODE,
            Err(err) => return server_error(&err),
        };
        html(
            StatusCode::BAD_REQUEST,
            pages::confirm(&params, &email, Some(error), None),
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
    Query(query): Query<Fields>,
) -> Response {
    issuer.login_page_sync(&query)
}

/// `POST /login`.
pub(crate) async fn login_submit(
    State(issuer): State<Arc<Issuer>>,
    Form(fields): Form<Fields>,
) -> Response {
    blocking(move || issuer.login_submit_sync(&fields)).await
}

/// `GET /signup`.
pub(crate) async fn signup_page(
    State(issuer): State<Arc<Issuer>>,
    Query(query): Query<Fields>,
) -> Response {
    let params = AuthParams::from_map(&query);
    let page = pages::signup(
        &params,
        &email_field(&query),
        None,
        &issuer.config.password_policy,
    );
    html(StatusCode::OK, page)
}

/// `POST /signup`.
pub(crate) async fn signup_submit(
    State(issuer): State<Arc<Issuer>>,
    Form(fields): Form<Fields>,
) -> Response {
    blocking(move || issuer.signup_submit_sync(&fields)).await
}

/// `GET /confirm`.
pub(crate) async fn confirm_page(Query(query): Query<Fields>) -> Response {
    let params = AuthParams::from_map(&query);
    html(
        StatusCode::OK,
        pages::confirm(&params, &email_field(&query), None, None),
    )
}

/// `POST /confirm`.
pub(crate) async fn confirm_submit(
    State(issuer): State<Arc<Issuer>>,
    Form(fields): Form<Fields>,
) -> Response {
    blocking(move || issuer.confirm_submit_sync(&fields)).await
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
