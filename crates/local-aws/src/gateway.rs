//! An API Gateway HTTP API emulator: routes from the crates' metadata, the JWT authorizer's
//! rules, payload 2.0 events to the functions, and API Gateway's own error answers.
//!
//! Per request: the body is read up to 10 MB (else 413); the route is matched (else 404
//! `{"message":"Not Found"}`); a `jwt` route needs a token in `Authorization` (bare or
//! `Bearer …`) that the configured issuer signed for the configured audience (else 401
//! `{"message":"Unauthorized"}` with `www-authenticate`), carrying one of the route's scopes if
//! it has any (else 403 `{"message":"Forbidden"}`); the function gets the event with the claims
//! as strings; a function error or crash is 500 `{"message":"Internal Server Error"}`, a timeout
//! or throttle 503 `{"message":"Service Unavailable"}`. One log line per request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use cognito_claims::verify::{JwtVerifier, VerifierConfig};
use http::{HeaderValue, StatusCode};

use crate::event::{self, Authorizer, Context};
use crate::lambda::{InvokeError, Lambda};
use crate::routes::RouteTable;

/// API Gateway's payload limit for HTTP APIs: 10 MB.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

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
        let needs_jwt = routes.routes().any(crate::routes::Route::needs_jwt);
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
    let Some(matched) = gateway.routes.find(method, raw_path) else {
        return aws_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let route = matched.route;
    served.function = Some(route.function.clone());

    let authorizer = if route.needs_jwt() {
        match authorize(gateway, &parts.headers, &route.scopes).await {
            Ok(authorizer) => Some(authorizer),
            Err(response) => return response,
        }
    } else {
        None
    };

    let protocol = format!("{:?}", parts.version);
    let request = event::Request {
        method,
        raw_path,
        raw_query: parts.uri.query().unwrap_or(""),
        protocol: &protocol,
        headers: &parts.headers,
        body: &body,
    };
    let context = Context {
        api_id: &gateway.api_id,
        stage: &gateway.stage,
        source_ip: peer.ip().to_string(),
        request_id,
        time: chrono::Utc::now(),
    };
    let event = event::build(
        &request,
        &route.route_key,
        &matched.path_parameters,
        authorizer.as_ref(),
        &context,
    );
    let payload = event.to_string().into_bytes();
    match gateway
        .lambda
        .invoke(&route.function, payload, request_id)
        .await
    {
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
                    tracing::warn!(target: "local_aws::gateway", "{}: {e}", route.function);
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
    let token = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .map(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
                .unwrap_or(v)
                .trim()
        })
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(aws_error(StatusCode::UNAUTHORIZED, "Unauthorized"));
    };
    let verified = match verifier.verify(token).await {
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
