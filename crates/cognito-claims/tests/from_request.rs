//! `CognitoClaims::from_request` on full API Gateway v2 (payload format 2.0) events in the shape
//! AWS documents, parsed by `lambda_http` exactly as the Lambda runtime does.

use cognito_claims::{ClaimsError, CognitoClaims, TokenUse};
use lambda_http::Request;
use serde_json::Value;

const ID_TOKEN_EVENT: &str = include_str!("events/id-token.json");
const ACCESS_TOKEN_EVENT: &str = include_str!("events/access-token.json");
const NO_AUTHORIZER_EVENT: &str = include_str!("events/no-authorizer.json");
const LAMBDA_AUTHORIZER_EVENT: &str = include_str!("events/lambda-authorizer.json");

fn request(event: &str) -> Request {
    lambda_http::request::from_str(event).expect("a valid API Gateway v2 event")
}

/// The event with one claim replaced (`Some`) or removed (`None`).
fn edited(event: &str, claim: &str, value: Option<&str>) -> String {
    let mut json: Value = serde_json::from_str(event).expect("valid JSON");
    let claims = json
        .pointer_mut("/requestContext/authorizer/jwt/claims")
        .and_then(Value::as_object_mut)
        .expect("the event has JWT claims");
    match value {
        Some(value) => claims.insert(claim.to_owned(), Value::String(value.to_owned())),
        None => claims.remove(claim),
    };
    json.to_string()
}

#[test]
fn id_token_event() {
    let claims = CognitoClaims::from_request(&request(ID_TOKEN_EVENT));
    assert_eq!(
        claims,
        Ok(CognitoClaims {
            sub: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee".into(),
            username: Some("alice".into()),
            email: Some("alice@example.com".into()),
            email_verified: Some(true),
            groups: vec!["admin".into(), "users".into()],
            scopes: Vec::new(),
            token_use: TokenUse::Id,
            client_id: "5example0client0id0abcdefg".into(),
            auth_time: Some(1_657_190_158),
            exp: 1_657_193_758,
        })
    );
}

#[test]
fn access_token_event() {
    let claims = CognitoClaims::from_request(&request(ACCESS_TOKEN_EVENT))
        .expect("the access token's claims are usable");
    assert_eq!(claims.token_use, TokenUse::Access);
    assert_eq!(claims.client_id, "5example0client0id0abcdefg");
    assert_eq!(claims.username.as_deref(), Some("alice"));
    assert_eq!(claims.groups, ["users"]);
    // The authorizer's `scopes` list wins over the `scope` claim.
    assert_eq!(claims.scopes, ["notes/write"]);
    assert_eq!(claims.require_scope("notes/write"), Ok(()));
    assert_eq!(
        claims.require_group("admin").map_err(|e| e.status()),
        Err(403)
    );
}

#[test]
fn events_without_jwt_claims_are_401() {
    for (name, event) in [
        ("no authorizer", NO_AUTHORIZER_EVENT),
        ("lambda authorizer", LAMBDA_AUTHORIZER_EVENT),
    ] {
        let err = CognitoClaims::from_request(&request(event));
        assert_eq!(err, Err(ClaimsError::MissingContext), "{name}");
        assert_eq!(err.map_err(|e| e.status()), Err(401), "{name}");
    }
    // A request that never came through API Gateway has no request context at all.
    assert_eq!(
        CognitoClaims::from_request(&Request::default()),
        Err(ClaimsError::MissingContext)
    );
}

#[test]
fn unusable_claims_in_events_are_401() {
    fn check(event: &str, claim: &str, value: Option<&str>, expected: ClaimsError) {
        let got = CognitoClaims::from_request(&request(&edited(event, claim, value)));
        assert_eq!(got, Err(expected.clone()), "{claim} = {value:?}");
        assert_eq!(expected.status(), 401);
    }
    check(
        ID_TOKEN_EVENT,
        "sub",
        None,
        ClaimsError::MissingClaim { claim: "sub" },
    );
    check(
        ID_TOKEN_EVENT,
        "aud",
        None,
        ClaimsError::MissingClaim { claim: "aud" },
    );
    check(
        ID_TOKEN_EVENT,
        "exp",
        None,
        ClaimsError::MissingClaim { claim: "exp" },
    );
    check(
        ACCESS_TOKEN_EVENT,
        "client_id",
        None,
        ClaimsError::MissingClaim { claim: "client_id" },
    );
    check(
        ID_TOKEN_EVENT,
        "exp",
        Some("tomorrow"),
        ClaimsError::InvalidClaim {
            claim: "exp",
            expected: "a number of seconds",
        },
    );
    check(
        ACCESS_TOKEN_EVENT,
        "token_use",
        Some("refresh"),
        ClaimsError::InvalidClaim {
            claim: "token_use",
            expected: "`id` or `access`",
        },
    );
}
