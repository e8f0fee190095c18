//! An API Gateway HTTP API emulator: routes from the crates' metadata, the JWT authorizer's
//! rules, payload 2.0 events to the functions, and API Gateway's own error answers.
//!
//! Per request: the request line and header values may total 10240 bytes and the body 10 MB
//! (else 413 `{"message":"Request Entity Too Large"}`); the route is matched (else 404
//! `{"message":"Not Found"}`); a `jwt` route needs a token in `Authorization` (bare or
//! `Bearer …`; repeated `Authorization` headers are joined with commas first, as API Gateway
//! joins every repeated header, so they never make a valid token) that the configured issuer
//! signed for the configured audience (else 401
//! `{"message":"Unauthorized"}` with `www-authenticate`), carrying one of the route's scopes if
//! it has any (else 403 `{"message":"Forbidden"}`); the function gets the event with the claims
//! as strings; a function error or crash is 500 `{"message":"Internal Server Error"}`, a timeout
//! or throttle 503 `{"message":"Service Unavailable"}`. A request whose `Host` (with
//! `X-Forwarded-Proto` and the path) is no URL is 400 `{"message":"Bad Request"}`: the
//! function's `lambda_http` would panic on its event. One log line per request.
//! `GET /openapi.json` answers the workspace's committed `openapi.json`, before routes and auth.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use cognito_claims::verify::{JwtVerifier, VerifierConfig};
use http::{HeaderValue, StatusCode};

use http_api::event::{self, Authorizer, BodyEncoding, Context};

use crate::ACCOUNT_ID;
use crate::lambda::{InvokeError, Lambda};
use function_table::{Function, Route, RouteTable};

/// API Gateway's payload limit for HTTP APIs: 10 MB.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// Where the gateway serves the API's OpenAPI contract.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// The committed OpenAPI contract (`openapi.json` at the workspace root, written by
/// `cargo run -p api-spec -- --write`), embedded at build time so that this crate does not
/// depend on the generator.
pub const OPENAPI_JSON: &str = include_str!("../../../openapi.json");

/// API Gateway's quota for HTTP APIs on the "total combined size of request line and header
/// values": 10240 bytes. Past it the request is refused like an oversized body (413).
pub const MAX_HEAD_BYTES: usize = 10240;

/// What [`MAX_HEAD_BYTES`] counts: the request line (`METHOD target HTTP/1.1`) and every
/// header value, repeated headers included.
fn head_size(parts: &http::request::Parts) -> usize {
    let target = parts.uri.path_and_query().map_or(0, |p| p.as_str().len());
    let line = parts.method.as_str().len() + 1 + target + 1 + "HTTP/1.1".len();
    line + parts.headers.values().map(HeaderValue::len).sum::<usize>()
}

/// Whether the function can read the event made of this request: `lambda_http` builds the
/// request's URL from the `Host` header, `X-Forwarded-Proto` (else `https`) and the path, each
/// header's repeated values joined with commas as in the event, and panics when that is not a
/// URL (lambda_http 1.3 unwraps the parse in `build_request_uri`). So a malformed `Host` (or
/// an empty one with the path `/`), or a scheme that is none, would crash the function: API
/// Gateway never forwards such a request, and here it is a 400 before any function runs. Found
/// by the `claims_from_event` fuzz target (docs/hardening.md, "Fuzzing").
fn forms_request_url(headers: &http::HeaderMap, raw_path: &str) -> bool {
    let joined = |name: http::header::HeaderName| -> Option<Result<String, ()>> {
        let values: Result<Vec<&str>, _> = headers
            .get_all(&name)
            .iter()
            .map(HeaderValue::to_str)
            .collect();
        match values {
            Ok(values) if values.is_empty() => None,
            Ok(values) => Some(Ok(values.join(","))),
            Err(_) => Some(Err(())),
        }
    };
    // Without `Host`, lambda_http takes the event's `domainName`, which is then empty. When
    // `Host` is not visible ASCII, it takes `domainName` too (the header, lossily decoded):
    // refused rather than guessed.
    let host = match joined(http::header::HOST) {
        None => String::new(),
        Some(Ok(host)) => host,
        Some(Err(())) => return false,
    };
    let scheme = match joined(http::header::HeaderName::from_static("x-forwarded-proto")) {
        Some(Ok(scheme)) => scheme,
        None | Some(Err(())) => "https".to_owned(),
    };
    reqwest::Url::parse(&format!("{scheme}://{host}{raw_path}")).is_ok()
}

/// An oversized body is still read (and dropped) up to this size, so that the client, still
/// sending, gets the 413 instead of a broken pipe; beyond it the connection is cut.
const DRAIN_LIMIT_BYTES: usize = 64 * 1024 * 1024;

/// The body, or `None` when it is over [`MAX_BODY_BYTES`] (read to the end or to
/// [`DRAIN_LIMIT_BYTES`]).
async fn read_body(body: Body) -> Option<Vec<u8>> {
    use futures::StreamExt as _;
    let mut stream = body.into_data_stream();
    let mut data = Vec::new();
    let mut seen = 0_usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.ok()?;
        seen += chunk.len();
        if seen > DRAIN_LIMIT_BYTES {
            return None;
        }
        if seen <= MAX_BODY_BYTES {
            data.extend_from_slice(&chunk);
        }
    }
    (seen <= MAX_BODY_BYTES).then_some(data)
}

/// Which tokens the JWT authorizer accepts: like `aws_apigatewayv2_authorizer`'s
/// `jwt_configuration` (issuer, audience), plus where the keys are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JwtConfig {
    /// The exact `iss` of accepted tokens.
    pub issuer: String,
    /// The JWKS URL (`None`: `{issuer}/.well-known/jwks.json`).
    pub jwks_url: Option<String>,
    /// Accepted app client ids (`aud` of id tokens, `client_id` of access tokens).
    pub audiences: Vec<String>,
}

/// Why the gateway cannot start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The authorizer configuration is unusable.
    #[error("JWT authorizer: {0}")]
    Authorizer(String),
}

/// The gateway: routes, the authorizer and the functions.
#[derive(Debug)]
pub struct Gateway {
    routes: RouteTable,
    lambda: Lambda,
    verifier: Option<JwtVerifier>,
    api_id: String,
    stage: String,
    log_requests: bool,
}

impl Gateway {
    /// A gateway over `routes` and `lambda`; `jwt` is required when any route uses `jwt`.
    ///
    /// # Errors
    /// [`GatewayError::Authorizer`] for a bad or missing authorizer configuration.
    pub fn new(
        routes: RouteTable,
        lambda: Lambda,
        jwt: Option<JwtConfig>,
    ) -> Result<Self, GatewayError> {
        let needs_jwt = routes
            .functions()
            .filter_map(Function::route)
            .any(Route::needs_jwt);
        let verifier = match jwt {
            Some(jwt) => {
                let mut config = VerifierConfig::new(jwt.issuer, jwt.audiences);
                config.jwks_url = jwt.jwks_url;
                Some(
                    JwtVerifier::new(config)
                        .map_err(|e| GatewayError::Authorizer(e.to_string()))?,
                )
            }
            None if needs_jwt => {
                return Err(GatewayError::Authorizer(
                    "some routes use auth = \"jwt\" but no issuer is configured".to_owned(),
                ));
            }
            None => None,
        };
        Ok(Self {
            routes,
            lambda,
            verifier,
            api_id: "local".to_owned(),
            stage: "$default".to_owned(),
            log_requests: true,
        })
    }

    /// Turns the one-line-per-request log off (tests that count lines turn it on).
    #[must_use]
    pub fn quiet(mut self) -> Self {
        self.log_requests = false;
        self
    }

    /// The functions behind the gateway.
    #[must_use]
    pub fn lambda(&self) -> &Lambda {
        &self.lambda
    }

    /// The route table.
    #[must_use]
    pub fn routes(&self) -> &RouteTable {
        &self.routes
    }

    /// The axum app; serve it with `into_make_service_with_connect_info::<SocketAddr>()`.
    pub fn router(self: &Arc<Self>) -> axum::Router {
        axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(self))
    }
}

/// API Gateway's JSON error answer.
fn aws_error(status: StatusCode, message: &str) -> Response {
    let mut response = (
        status,
        [(http::header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "message": message }).to_string(),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer"),
        );
    }
    response
}

/// What the log line says about the function.
struct Served {
    function: Option<String>,
    start: &'static str,
}

async fn handle(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let request_id = ulid::Ulid::new().to_string();
    let mut served = Served {
        function: None,
        start: "-",
    };
    let mut response = serve(&gateway, peer, request, &request_id, &mut served).await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("apigw-requestid", value);
    }
    if gateway.log_requests {
        tracing::info!(
            target: "local_aws::gateway",
            "{method} {path} {} {} {} {}ms",
            response.status().as_u16(),
            served.function.as_deref().unwrap_or("-"),
            served.start,
            started.elapsed().as_millis()
        );
    }
    response
}

async fn serve(
    gateway: &Gateway,
    peer: SocketAddr,
    request: Request,
    request_id: &str,
    served: &mut Served,
) -> Response {
    let (parts, body) = request.into_parts();
    if head_size(&parts) > MAX_HEAD_BYTES {
        return aws_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    }
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > DRAIN_LIMIT_BYTES) {
        return aws_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    }
    let Some(body) = read_body(Body::new(body)).await else {
        return aws_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    };

    let method = parts.method.as_str();
    let raw_path = parts.uri.path();
    if method == "GET" && raw_path == OPENAPI_PATH {
        return (
            StatusCode::OK,
            [(http::header::CONTENT_TYPE, "application/json")],
            OPENAPI_JSON,
        )
            .into_response();
    }
    let Some(matched) = gateway.routes.find(method, raw_path) else {
        return aws_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let route = matched.route;
    let function = &matched.function.name;
    served.function = Some(function.clone());

    let authorizer = if route.needs_jwt() {
        match authorize(gateway, &parts.headers, &route.scopes).await {
            Ok(authorizer) => Some(authorizer),
            Err(response) => return response,
        }
    } else {
        None
    };

    if !forms_request_url(&parts.headers, raw_path) {
        return aws_error(StatusCode::BAD_REQUEST, "Bad Request");
    }

    let protocol = format!("{:?}", parts.version);
    let request = event::Request {
        method,
        raw_path,
        raw_query: parts.uri.query().unwrap_or(""),
        protocol: &protocol,
        headers: &parts.headers,
        body: &body,
        encoding: BodyEncoding::ByContentType,
    };
    let host = parts
        .headers
        .get(http::header::HOST)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let context = Context {
        account_id: ACCOUNT_ID,
        api_id: &gateway.api_id,
        domain_name: &host,
        stage: &gateway.stage,
        source_ip: peer.ip().to_string(),
        request_id,
        time: chrono::Utc::now(),
    };
    let event = event::build(
        &request,
        &route.route_key(),
        &matched.path_parameters,
        authorizer.as_ref(),
        &context,
    );
    let payload = event.to_string().into_bytes();
    match gateway.lambda.invoke(function, payload, request_id).await {
        Ok(invoked) => {
            served.start = if invoked.cold { "cold" } else { "warm" };
            match event::response(&invoked.payload) {
                Ok(answer) => {
                    let mut response = Response::new(Body::from(answer.body));
                    *response.status_mut() = answer.status;
                    *response.headers_mut() = answer.headers;
                    response
                }
                Err(e) => {
                    tracing::warn!(target: "local_aws::gateway", "{function}: {e}");
                    aws_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
                }
            }
        }
        Err(e) => {
            tracing::warn!(target: "local_aws::gateway", "{e}");
            match e {
                InvokeError::Timeout { .. } | InvokeError::Throttled { .. } => {
                    aws_error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
                }
                _ => aws_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
            }
        }
    }
}

/// The JWT authorizer: the token from `Authorization` (bare or `Bearer `), verified, then the
/// route's scopes (any one of them must be in the token's `scope`).
async fn authorize(
    gateway: &Gateway,
    headers: &http::HeaderMap,
    scopes: &[String],
) -> Result<Authorizer, Response> {
    let Some(verifier) = &gateway.verifier else {
        return Err(aws_error(StatusCode::UNAUTHORIZED, "Unauthorized"));
    };
    let Some(token) = bearer_token(headers) else {
        return Err(aws_error(StatusCode::UNAUTHORIZED, "Unauthorized"));
    };
    let verified = match verifier.verify(&token).await {
        Ok(verified) => verified,
        Err(e) if e.status() == 503 => {
            tracing::warn!(target: "local_aws::gateway", "the issuer's keys are unavailable: {e}");
            return Err(aws_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable",
            ));
        }
        Err(e) => {
            let mut response = aws_error(StatusCode::UNAUTHORIZED, "Unauthorized");
            let challenge = format!(
                "Bearer scope=\"{}\" error=\"invalid_token\" error_description=\"{}\"",
                scopes.join(" "),
                e.to_string().replace('"', "'")
            );
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(http::header::WWW_AUTHENTICATE, value);
            }
            return Err(response);
        }
    };
    let token_scopes: Vec<String> = verified
        .claims
        .get("scope")
        .and_then(serde_json::Value::as_str)
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    if !scopes.is_empty() && !scopes.iter().any(|s| token_scopes.contains(s)) {
        let mut response = aws_error(StatusCode::FORBIDDEN, "Forbidden");
        let challenge = format!(
            "Bearer scope=\"{}\" error=\"insufficient_scope\" error_description=\"the token lacks the scopes this route requires\"",
            scopes.join(" ")
        );
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(http::header::WWW_AUTHENTICATE, value);
        }
        return Err(response);
    }
    Ok(Authorizer {
        claims: verified.to_gateway_claims(),
        scopes: (!scopes.is_empty()).then_some(token_scopes),
    })
}

/// The token the authorizer verifies: the `Authorization` values joined with commas (one
/// header: its value), trimmed, without a `Bearer ` prefix; `None` when there is none or a
/// value is not visible ASCII. Two headers join into something no issuer signed, so a request
/// carrying two tokens is refused instead of being served as whichever came first.
fn bearer_token(headers: &http::HeaderMap) -> Option<String> {
    let values = headers
        .get_all(http::header::AUTHORIZATION)
        .iter()
        .map(|v| v.to_str().ok())
        .collect::<Option<Vec<&str>>>()?;
    let joined = values.join(",");
    let value = joined.trim();
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .unwrap_or(value)
        .trim();
    (!token.is_empty()).then(|| token.to_owned())
}

#[cfg(test)]
fn _assert_send() {
    fn send<T: Send>(_: &T) {}
    fn check(gateway: &Gateway, lambda: &Lambda, peer: SocketAddr, request: Request) {
        send(&lambda.invoke("f", Vec::new(), "r"));
        let mut served = Served {
            function: None,
            start: "-",
        };
        send(&serve(gateway, peer, request, "r", &mut served));
    }
    let _ = check;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
        event::header_map(pairs.iter().copied()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn only_requests_that_form_a_url_reach_a_function() {
        fn check(pairs: &[(&str, &str)], path: &str, expected: bool) {
            assert_eq!(
                forms_request_url(&headers(pairs), path),
                expected,
                "{pairs:?} {path}"
            );
        }
        check(&[("host", "127.0.0.1:3001")], "/notes", true);
        check(&[("host", "localhost")], "/notes/01J%2F..", true);
        check(
            &[("host", "api.example"), ("x-forwarded-proto", "http")],
            "/",
            true,
        );
        // What the claims_from_event fuzz target found lambda_http panicking on.
        check(&[("host", "abcdef1234>execute-api.example")], "/me", false);
        // An empty host makes `https:///me`, which a URL parser reads as `https://me/`; with
        // the path `/` it is no URL.
        check(&[], "/me", true);
        check(&[], "/", false);
        check(&[("host", "")], "/", false);
        check(&[("host", "a b")], "/me", false);
        check(&[("host", "h"), ("x-forwarded-proto", "a b")], "/me", false);
        check(
            &[
                ("host", "h"),
                ("x-forwarded-proto", "http"),
                ("x-forwarded-proto", "https"),
            ],
            "/me",
            false,
        );
        check(&[("host", "[::1")], "/me", false);
    }

    #[test]
    fn the_token_comes_from_one_authorization_header() {
        let token = |pairs: &[(&str, &str)]| bearer_token(&headers(pairs));
        assert_eq!(
            token(&[("authorization", "Bearer a.b.c")]).as_deref(),
            Some("a.b.c")
        );
        assert_eq!(
            token(&[("authorization", "bearer a.b.c ")]).as_deref(),
            Some("a.b.c")
        );
        assert_eq!(
            token(&[("authorization", "a.b.c")]).as_deref(),
            Some("a.b.c")
        );
        assert_eq!(token(&[("authorization", "  ")]), None);
        assert_eq!(token(&[("x-other", "Bearer a.b.c")]), None);
        // Two tokens, or one twice: joined as API Gateway joins repeated headers, which is
        // neither token.
        assert_eq!(
            token(&[
                ("authorization", "Bearer a.b.c"),
                ("authorization", "Bearer d.e.f")
            ])
            .as_deref(),
            Some("a.b.c,Bearer d.e.f")
        );
        assert_eq!(
            token(&[
                ("authorization", "Bearer a.b.c"),
                ("authorization", "Bearer a.b.c")
            ])
            .as_deref(),
            Some("a.b.c,Bearer a.b.c")
        );
        let Ok(value) = HeaderValue::from_bytes(b"Bearer \xff") else {
            panic!("obs-text is a valid header value");
        };
        let mut opaque = http::HeaderMap::new();
        opaque.insert(http::header::AUTHORIZATION, value);
        assert_eq!(bearer_token(&opaque), None);
    }

    #[test]
    fn the_head_quota_counts_the_request_line_and_every_header_value() {
        let request = |target: &str, pairs: &[(&str, &str)]| {
            let mut request = http::Request::new(());
            *request.uri_mut() = match target.parse() {
                Ok(uri) => uri,
                Err(e) => panic!("{target}: {e}"),
            };
            *request.headers_mut() = headers(pairs);
            request.into_parts().0
        };
        // "GET /a?b HTTP/1.1" is 17 bytes; values 3 + 2 + 2; names do not count.
        let parts = request("/a?b", &[("host", "h:1"), ("x-n", "v1"), ("x-n", "v2")]);
        assert_eq!(head_size(&parts), 17 + 7);
        let at_limit = "v".repeat(MAX_HEAD_BYTES - 17);
        assert_eq!(
            head_size(&request("/a?b", &[("x", &at_limit)])),
            MAX_HEAD_BYTES
        );
        let long_path = format!("/{}", "p".repeat(MAX_HEAD_BYTES));
        assert!(head_size(&request(&long_path, &[])) > MAX_HEAD_BYTES);
    }
}
