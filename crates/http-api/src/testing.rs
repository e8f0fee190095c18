//! Test support for function crates (feature `testing`): API Gateway HTTP API events in
//! the payload format 2.0 shape AWS documents, Cognito claim fixtures, response readers, and
//! [`capture_logs`] (the log lines code writes under [`crate::init_tracing`]'s subscriber).
//! A notes service for tests is `notes_http::testing`'s.
//!
//! ```
//! use http_api::testing::{ClaimsFixture, Event};
//!
//! let req = Event::new("GET /notes/{id}")
//!     .path_param("id", "01J0000000000000000000000")
//!     .claims(ClaimsFixture::user("sub-a").groups(&["admin"]))
//!     .build();
//! assert_eq!(req.uri().path(), "/notes/01J0000000000000000000000");
//! ```
//!
//! The event is serialised to JSON and read back with `lambda_http::request::from_str`, so
//! the handler sees exactly what `lambda_http` makes of a real invocation. Claims are
//! strings, as API Gateway sends them: `"exp": "1999999999"`, `"cognito:groups": "[admin]"`.
//!
//! Builders and readers here panic on misuse (that is a failing test), never on a
//! request a handler could receive.

use std::{
    collections::{BTreeMap, HashMap},
    io::Write,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use lambda_http::{Body, Context, Request, RequestExt, Response};
use serde_json::Value;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::event::{self, BodyEncoding};
use crate::logging::{LogFilter, subscriber};

/// The AWS region the fixtures pretend to be in.
pub const REGION: &str = "us-east-1";
/// The Cognito user pool id the fixtures' tokens come from.
pub const USER_POOL_ID: &str = "us-east-1_Example1";
/// The issuer (`iss`) of the fixtures' tokens: the pool's URL.
pub const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example1";
/// The app client id: `aud` of id tokens and `client_id` of access tokens.
pub const CLIENT_ID: &str = "1example23456789abcdefghij";
/// The AWS account id in the request context.
pub const ACCOUNT_ID: &str = "123456789012";
/// The HTTP API id in the request context and the domain name.
pub const API_ID: &str = "r3pmxmplak";
/// `exp` of the fixtures' tokens (2033-05-18): far in the future, as a string.
pub const EXPIRES_AT: &str = "1999999999";
/// `iat` and `auth_time` of the fixtures' tokens: one hour before [`EXPIRES_AT`].
pub const ISSUED_AT: &str = "1999996399";

/// An API Gateway HTTP API (payload format 2.0) event under construction.
///
/// Without [`Event::claims`] the event has no `authorizer`, like a route with
/// `auth = "none"`.
#[derive(Debug, Clone)]
#[must_use]
pub struct Event {
    route_key: String,
    method: String,
    path: Option<String>,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    removed_headers: Vec<String>,
    cookies: Vec<String>,
    path_params: BTreeMap<String, String>,
    body: Option<(Vec<u8>, BodyEncoding)>,
    claims: Option<ClaimsFixture>,
    source_ip: String,
    user_agent: String,
}

impl Event {
    /// An event for `route_key` (e.g. `"GET /notes/{id}"`, or `"$default"`).
    ///
    /// The method comes from the route key (`GET` for `$default`); the path is the route's
    /// path with `{name}` replaced by the [`Event::path_param`]s, unless [`Event::path`] sets it.
    pub fn new(route_key: &str) -> Self {
        let method = match route_key.split_once(' ') {
            Some((method, _)) if method != "ANY" => method.to_owned(),
            _ => "GET".to_owned(),
        };
        Self {
            route_key: route_key.to_owned(),
            method,
            path: None,
            query: Vec::new(),
            headers: Vec::new(),
            removed_headers: Vec::new(),
            cookies: Vec::new(),
            path_params: BTreeMap::new(),
            body: None,
            claims: None,
            source_ip: "192.0.2.1".to_owned(),
            user_agent: "curl/8.5.0".to_owned(),
        }
    }

    /// Overrides the HTTP method (for `ANY` and `$default` routes, or to test a mismatch).
    pub fn method(mut self, method: &str) -> Self {
        self.method = method.to_ascii_uppercase();
        self
    }

    /// Sets `rawPath` (and `requestContext.http.path`).
    pub fn path(mut self, path: &str) -> Self {
        self.path = Some(path.to_owned());
        self
    }

    /// Adds a path parameter (`pathParameters`), e.g. `("id", "01J...")`.
    pub fn path_param(mut self, name: &str, value: &str) -> Self {
        self.path_params.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Appends a query-string parameter (to `rawQueryString`, percent-encoded, and to
    /// `queryStringParameters`, where repeated names are joined with commas as AWS does).
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets a header (name lower-cased as API Gateway does; a repeated name is joined with
    /// commas). `cookie` headers go to `cookies`, as in payload 2.0; `user-agent` also sets
    /// `requestContext.http.userAgent`.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = name.to_ascii_lowercase();
        if name == "user-agent" {
            self.user_agent = value.to_owned();
        }
        if name == "cookie" {
            self.cookies
                .extend(value.split(';').map(|c| c.trim().to_owned()));
            return self;
        }
        match self.headers.iter_mut().find(|(n, _)| *n == name) {
            Some((_, existing)) => {
                existing.push(',');
                existing.push_str(value);
            }
            None => self.headers.push((name, value.to_owned())),
        }
        self
    }

    /// Removes a header, including the defaults every event has (`host`, `user-agent`,
    /// `x-amzn-trace-id`, `x-forwarded-for`, `x-forwarded-port`, `x-forwarded-proto`,
    /// `content-length`).
    pub fn without_header(mut self, name: &str) -> Self {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(n, _)| *n != name);
        self.removed_headers.push(name);
        self
    }

    /// Adds a cookie (`"name=value"`) to `cookies`.
    pub fn cookie(mut self, cookie: &str) -> Self {
        self.cookies.push(cookie.to_owned());
        self
    }

    /// A text body (`isBase64Encoded: false`), whatever the content type.
    pub fn body_text(mut self, body: &str) -> Self {
        self.body = Some((body.as_bytes().to_vec(), BodyEncoding::Text));
        self
    }

    /// A binary body: base64-encoded with `isBase64Encoded: true`, as API Gateway sends
    /// bodies it does not consider text.
    pub fn body_base64(mut self, bytes: &[u8]) -> Self {
        self.body = Some((bytes.to_vec(), BodyEncoding::Base64));
        self
    }

    /// `value` as the body, with `content-type: application/json`.
    pub fn json_body(self, value: &Value) -> Self {
        self.header("content-type", "application/json")
            .body_text(&value.to_string())
    }

    /// The caller's verified token claims (`requestContext.authorizer.jwt`).
    pub fn claims(mut self, claims: ClaimsFixture) -> Self {
        self.claims = Some(claims);
        self
    }

    /// The caller's claims for `Some(sub)` (an id token), or no authorizer context for `None`.
    pub fn caller(mut self, sub: Option<&str>) -> Self {
        self.claims = sub.map(ClaimsFixture::user);
        self
    }

    /// The client address (`requestContext.http.sourceIp`, `x-forwarded-for`).
    pub fn source_ip(mut self, ip: &str) -> Self {
        self.source_ip = ip.to_owned();
        self
    }

    /// The event as API Gateway would send it, built by [`crate::event::build`] (the local
    /// gateway's builder) from a request with the headers API Gateway adds (`host`,
    /// `user-agent`, `x-amzn-trace-id`, `x-forwarded-for`, `-port`, `-proto`, and
    /// `content-length` with a body) unless [`Event::without_header`] removed them.
    ///
    /// # Panics
    ///
    /// If a header set is not a valid HTTP header (that is a failing test).
    pub fn to_json(&self) -> Value {
        let path = self.raw_path();
        let raw_query = self
            .query
            .iter()
            .map(|(n, v)| format!("{}={}", percent_encode(n), percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let domain_name = format!("{API_ID}.execute-api.{REGION}.amazonaws.com");
        // API Gateway's request ids look like `JKJaXmPLvHcESHA=`.
        let (count, epoch_ms) = next_unique();
        let request_id = format!("{:011X}{:04X}=", epoch_ms & 0xFFF_FFFF_FFFF, count & 0xFFFF);

        let (body, encoding) = match &self.body {
            Some((bytes, encoding)) => (bytes.as_slice(), *encoding),
            None => (&[][..], BodyEncoding::ByContentType),
        };
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut default = |name: &str, value: String| {
            if !self.removed(name) {
                pairs.push((name.to_owned(), value));
            }
        };
        if self.body.is_some() {
            default("content-length", body.len().to_string());
        }
        default("host", domain_name.clone());
        default("user-agent", self.user_agent.clone());
        default(
            "x-amzn-trace-id",
            format!("Root=1-{:08x}-{:024x}", epoch_ms / 1000, epoch_ms),
        );
        default("x-forwarded-for", self.source_ip.clone());
        default("x-forwarded-port", "443".to_owned());
        default("x-forwarded-proto", "https".to_owned());
        pairs.retain(|(name, _)| !self.headers.iter().any(|(set, _)| set == name));
        pairs.extend(self.headers.iter().cloned());
        if !self.cookies.is_empty() {
            pairs.push(("cookie".to_owned(), self.cookies.join("; ")));
        }
        let headers = event::header_map(pairs).unwrap_or_else(|e| panic!("{e}"));

        let request = event::Request {
            method: &self.method,
            raw_path: &path,
            raw_query: &raw_query,
            protocol: "HTTP/1.1",
            headers: &headers,
            body,
            encoding,
        };
        let authorizer = self.claims.as_ref().map(|claims| event::Authorizer {
            claims: claims.claims.clone().into_iter().collect(),
            scopes: claims.authorizer_scopes(),
        });
        let context = event::Context {
            account_id: ACCOUNT_ID,
            api_id: API_ID,
            domain_name: &domain_name,
            stage: "$default",
            source_ip: self.source_ip.clone(),
            request_id: &request_id,
            time: chrono::DateTime::from_timestamp_millis(epoch_ms).unwrap_or_default(),
        };
        let path_parameters: HashMap<String, String> =
            self.path_params.clone().into_iter().collect();
        event::build(
            &request,
            &self.route_key,
            &path_parameters,
            authorizer.as_ref(),
            &context,
        )
    }

    /// The `lambda_http::Request` a function receives for this event, with a Lambda
    /// context (request id, function ARN, a deadline 10 s away) as the runtime attaches one.
    ///
    /// # Panics
    ///
    /// If `lambda_http` rejects the event (e.g. an invalid header name or method was set).
    pub fn build(&self) -> Request {
        let event = self.to_json().to_string();
        let request = lambda_http::request::from_str(&event).unwrap_or_else(|error| {
            panic!("lambda_http rejected the test event: {error}\n{event}")
        });
        let (count, now_ms) = next_unique();
        let mut context = Context::default();
        context.request_id = format!(
            "{:08x}-0000-4000-8000-{:012x}",
            now_ms & 0xFFFF_FFFF,
            count & 0xFFFF_FFFF_FFFF
        );
        context.invoked_function_arn =
            format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:test-function:live");
        context.deadline = u64::try_from(now_ms).unwrap_or_default() + 10_000;
        request.with_lambda_context(context)
    }

    fn raw_path(&self) -> String {
        if let Some(path) = &self.path {
            return path.clone();
        }
        let route_path = match self.route_key.split_once(' ') {
            Some((_, path)) => path,
            None => "/",
        };
        route_path
            .split('/')
            .map(|segment| {
                let name = segment
                    .strip_prefix('{')
                    .and_then(|s| s.strip_suffix('}'))
                    .map(|s| s.trim_end_matches('+'));
                match name.and_then(|name| self.path_params.get(name)) {
                    Some(value) => value.clone(),
                    None => segment.to_owned(),
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    fn removed(&self, name: &str) -> bool {
        self.removed_headers.iter().any(|n| n == name)
    }
}

/// The claims API Gateway's JWT authorizer passes on for a Cognito token, every value a
/// string.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct ClaimsFixture {
    claims: BTreeMap<String, String>,
}

impl ClaimsFixture {
    /// The claims of an id token for user `sub` (`token_use` `id`, `aud` = [`CLIENT_ID`],
    /// an email and a `cognito:username`), the kind the hosted UI hands a browser app.
    pub fn user(sub: &str) -> Self {
        Self::id_token(sub)
    }

    /// The claims of a Cognito id token for `sub`.
    pub fn id_token(sub: &str) -> Self {
        let mut claims = common_claims(sub);
        claims.insert("token_use".into(), "id".into());
        claims.insert("aud".into(), CLIENT_ID.into());
        claims.insert("cognito:username".into(), sub.into());
        claims.insert("email".into(), format!("{sub}@example.com"));
        claims.insert("email_verified".into(), "true".into());
        Self { claims }
    }

    /// The claims of a Cognito access token for `sub` (`token_use` `access`, `client_id`,
    /// `scope` `openid email`, `username`; no `aud`).
    pub fn access_token(sub: &str) -> Self {
        let mut claims = common_claims(sub);
        claims.insert("token_use".into(), "access".into());
        claims.insert("client_id".into(), CLIENT_ID.into());
        claims.insert("scope".into(), "openid email".into());
        claims.insert("username".into(), sub.into());
        claims.insert("version".into(), "2".into());
        Self { claims }
    }

    /// Sets `cognito:groups` as API Gateway renders it: `"[admin users]"`.
    pub fn groups(self, groups: &[&str]) -> Self {
        self.set("cognito:groups", &format!("[{}]", groups.join(" ")))
    }

    /// Sets the `scope` claim (space-separated); it also becomes the authorizer's `scopes`.
    pub fn scopes(self, scopes: &[&str]) -> Self {
        self.set("scope", &scopes.join(" "))
    }

    /// Sets (or replaces) any claim.
    pub fn set(mut self, name: &str, value: &str) -> Self {
        self.claims.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Removes a claim (e.g. `"sub"`, to test a token without one).
    pub fn without(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// The claims, by name.
    pub fn claims(&self) -> &BTreeMap<String, String> {
        &self.claims
    }

    /// The authorizer's `scopes`: the `scope` claim split on spaces, or `null` without one.
    fn authorizer_scopes(&self) -> Option<Vec<String>> {
        self.claims
            .get("scope")
            .map(|scope| scope.split_whitespace().map(str::to_owned).collect())
    }
}

/// The response body as text (empty for an empty body; binary bodies decoded lossily).
pub fn body_text(response: &Response<Body>) -> String {
    match response.body() {
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    }
}

/// The response body parsed as JSON.
///
/// # Panics
///
/// If the body is not JSON (that is a failing test).
pub fn body_json(response: &Response<Body>) -> Value {
    let text = body_text(response);
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("response body is not JSON ({error}): {text:?}"))
}

fn common_claims(sub: &str) -> BTreeMap<String, String> {
    let (jti, _) = next_unique();
    [
        ("sub", sub.to_owned()),
        ("iss", ISSUER.to_owned()),
        ("auth_time", ISSUED_AT.to_owned()),
        ("iat", ISSUED_AT.to_owned()),
        ("exp", EXPIRES_AT.to_owned()),
        ("jti", format!("jti-{jti}")),
        ("origin_jti", format!("origin-{jti}")),
        ("event_id", format!("event-{jti}")),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// A number unique in this process, and the current time in milliseconds.
fn next_unique() -> (u64, i64) {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    (count, chrono::Utc::now().timestamp_millis())
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Runs `f` with the JSON-lines subscriber [`crate::init_tracing`] installs (level `info`),
/// writing to memory; returns `f`'s result and the log lines, each parsed as JSON.
///
/// # Panics
///
/// If a line written is not JSON (that is a failing test).
pub fn capture_logs<R>(f: impl FnOnce() -> R) -> (R, Vec<Value>) {
    let capture = Capture::default();
    let subscriber = subscriber(LogFilter::level(LevelFilter::INFO), capture.clone());
    let result = tracing::subscriber::with_default(subscriber, f);
    (result, capture.json_lines())
}

/// Collects what a subscriber writes ([`capture_logs`], and the logging module's tests).
#[derive(Clone, Default)]
pub(crate) struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    /// Every line written so far, parsed as JSON.
    ///
    /// # Panics
    ///
    /// If a line is not JSON (that is a failing test).
    pub(crate) fn json_lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(|line| serde_json::from_str(line).expect("every log line is JSON"))
            .collect()
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut bytes) = self.0.lock() {
            bytes.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl MakeWriter<'_> for Capture {
    type Writer = Capture;

    fn make_writer(&self) -> Capture {
        self.clone()
    }
}
