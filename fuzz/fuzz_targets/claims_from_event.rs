//! Fuzz target `claims_from_event`: arbitrary bytes as an API Gateway HTTP API (payload format
//! 2.0) event, read the way every function reads it — `serde_json` into `lambda_http`'s
//! `LambdaRequest` (what the Lambda runtime does with the invocation body), then into a
//! `Request` — and then through what the functions take from it: the authorizer's claims
//! (`CognitoClaims::from_request`, `notes_http::caller`), the `{id}` path parameter
//! (`notes_http::note_id`), the list route's `limit` and `cursor`, and the JSON body
//! (`http_api::parse_json`).
//!
//! It must never panic. For what is accepted it asserts what the claims promise: `sub` and the
//! client id are non-empty and equal the claims they were read from, no group or scope is empty,
//! optional texts are never `Some("")`, and the caller's `Owner` is the `sub`.
//!
//! `lambda_http` itself panics (`unwrap`/`expect` in `request.rs`) on events whose host and path
//! do not form a URL, whose raw query string is not a valid URI query, or whose body claims to be
//! base64 and is not. API Gateway never sends such events, and the local gateway does not either
//! (see docs/hardening.md, "Fuzzing"), so [`lambda_http_accepts`] skips them: they are outside
//! the contract, and the bug would be lambda_http's.

#![no_main]

use std::collections::HashMap;

use base64::Engine as _;
use cognito_claims::CognitoClaims;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::http::Uri;
use lambda_http::request::{LambdaRequest, RequestContext};
use lambda_http::{Request, RequestExt};
use libfuzzer_sys::fuzz_target;
use notes::{ListQuery, NoteInput};

fuzz_target!(|data: &[u8]| {
    // The runtime reads the invocation body with serde_json from bytes, as here.
    let Ok(LambdaRequest::ApiGatewayV2(event)) = serde_json::from_slice::<LambdaRequest>(data)
    else {
        return;
    };
    if !lambda_http_accepts(&event) {
        return;
    }
    let req = Request::from(LambdaRequest::ApiGatewayV2(event));

    match CognitoClaims::from_request(&req) {
        Ok(claims) => check_claims(&req, &claims),
        Err(error) => {
            assert_eq!(error.status(), 401, "{error}");
            assert!(notes_http::caller(&req).is_err());
        }
    }
    if let Ok(id) = notes_http::note_id(&req) {
        assert_eq!(
            Some(id.to_string()),
            http_api::path_param(&req, "id"),
            "a note id that does not print as the path parameter it was parsed from"
        );
    }
    let limit = http_api::query_param(&req, "limit");
    let cursor = http_api::query_param(&req, "cursor");
    if let Ok(query) = ListQuery::parse(limit.as_deref(), cursor.as_deref()) {
        assert_eq!(
            query.cursor.map(|c| c.to_string()),
            cursor,
            "an accepted cursor that is not canonical"
        );
    }
    match http_api::parse_json::<NoteInput>(&req) {
        Ok(input) => {
            let _ = input.validate();
        }
        Err(problem) => assert!(
            matches!(problem.status(), 400 | 413 | 415),
            "parse_json answered {}",
            problem.status()
        ),
    }
});

/// What the claims read from an event promise.
fn check_claims(req: &Request, claims: &CognitoClaims) {
    let Some(RequestContext::ApiGatewayV2(context)) = req.request_context_ref() else {
        panic!("claims without an API Gateway v2 request context");
    };
    let Some(jwt) = context.authorizer.as_ref().and_then(|a| a.jwt.as_ref()) else {
        panic!("claims without a JWT authorizer context");
    };
    let raw: &HashMap<String, String> = &jwt.claims;
    assert!(!claims.sub.is_empty());
    assert_eq!(raw.get("sub"), Some(&claims.sub));
    assert!(!claims.client_id.is_empty());
    assert_eq!(
        raw.get(claims.token_use.client_id_claim()),
        Some(&claims.client_id)
    );
    assert_eq!(
        raw.get("token_use").map(String::as_str),
        Some(claims.token_use.as_str())
    );
    assert!(claims.groups.iter().all(|g| !g.is_empty()), "{claims:?}");
    assert!(claims.scopes.iter().all(|s| !s.is_empty()), "{claims:?}");
    for text in [&claims.username, &claims.email].into_iter().flatten() {
        assert!(!text.is_empty(), "{claims:?}");
    }
    for group in &claims.groups {
        assert!(claims.has_group(group) && claims.require_group(group).is_ok());
    }
    for scope in &claims.scopes {
        assert!(claims.has_scope(scope) && claims.require_scope(scope).is_ok());
    }
    assert_eq!(
        CognitoClaims::from_parts(raw, jwt.scopes.as_deref()).as_ref(),
        Ok(claims)
    );
    // The caller is the `sub`, when it is a usable owner id.
    if let Ok((caller, owner)) = notes_http::caller(req) {
        assert_eq!(&caller, claims);
        assert_eq!(owner.as_str(), claims.sub);
    }
    let _ = serde_json::to_string(claims);
}

/// Whether `lambda_http` can turn `event` into a `Request` without panicking: the checks its
/// `into_api_gateway_v2_request` leaves to `unwrap`/`expect` (lambda_http 1.3, `request.rs`),
/// written out. Events from API Gateway always pass them.
fn lambda_http_accepts(event: &ApiGatewayV2httpRequest) -> bool {
    let host = event
        .headers
        .get("host")
        .and_then(|value| value.to_str().ok())
        .or(event.request_context.domain_name.as_deref());
    let raw_path = event.raw_path.as_deref().unwrap_or_default();
    // `apigw_path_with_stage`: a named stage is prefixed unless the path starts with it.
    let path = match event.request_context.stage.as_deref() {
        None | Some("$default") => raw_path.to_owned(),
        Some(stage) if raw_path.starts_with(&format!("/{stage}/")) => raw_path.to_owned(),
        Some(stage) => format!("/{stage}{raw_path}"),
    };
    // `build_request_uri`: `Url::parse(..).unwrap()`.
    let mut uri = match host {
        None => match url::Url::parse(&format!("http://localhost{path}")) {
            Ok(url) => url.path().to_owned(),
            Err(_) => return false,
        },
        Some(host) => {
            let scheme = event
                .headers
                .get("x-forwarded-proto")
                .and_then(|value| value.to_str().ok())
                .unwrap_or("https");
            match url::Url::parse(&format!("{scheme}://{host}{path}")) {
                Ok(url) => url.to_string(),
                Err(_) => return false,
            }
        }
    };
    if let Some(query) = event.raw_query_string.as_deref().filter(|q| !q.is_empty()) {
        uri.push('?');
        uri.push_str(query);
    }
    // `http::Request::builder().uri(uri)…body(…).expect("failed to build request")`.
    if Uri::try_from(uri).is_err() {
        return false;
    }
    // `Body::from_maybe_encoded`: `.expect("failed to decode aws base64 encoded body")`.
    match (&event.body, event.is_base64_encoded) {
        (Some(body), true) => base64::engine::general_purpose::STANDARD
            .decode(body)
            .is_ok(),
        _ => true,
    }
}
