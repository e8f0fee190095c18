//! Events from the builder carry claims exactly where `cognito-claims` reads them, and
//! claim failures become the right problems.

use cognito_claims::{ClaimsError, CognitoClaims, TokenUse};
use http_api::{
    Body, Problem, Request, Response, json, respond,
    testing::{CLIENT_ID, ClaimsFixture, Event, body_json},
};
use lambda_http::http::header;

fn claims_of(event: Event) -> Result<CognitoClaims, ClaimsError> {
    CognitoClaims::from_request(&event.build())
}

#[test]
fn id_token_fixture_is_read_by_cognito_claims() {
    let claims = claims_of(
        Event::new("GET /notes/{id}")
            .path_param("id", "01JX")
            .claims(ClaimsFixture::user("sub-a").groups(&["admin"])),
    )
    .expect("the fixture's claims are valid");
    assert_eq!(claims.sub, "sub-a");
    assert_eq!(claims.token_use, TokenUse::Id);
    assert_eq!(claims.client_id, CLIENT_ID);
    assert_eq!(claims.exp, 1_999_999_999);
    assert_eq!(claims.groups, ["admin"]);
    assert_eq!(claims.email.as_deref(), Some("sub-a@example.com"));
    assert_eq!(claims.email_verified, Some(true));
    assert!(claims.scopes.is_empty());
}

#[test]
fn access_token_fixture_is_read_by_cognito_claims() {
    let claims = claims_of(
        Event::new("GET /notes")
            .claims(ClaimsFixture::access_token("sub-b").scopes(&["openid", "notes/read"])),
    )
    .expect("the fixture's claims are valid");
    assert_eq!(claims.sub, "sub-b");
    assert_eq!(claims.token_use, TokenUse::Access);
    assert_eq!(claims.client_id, CLIENT_ID);
    assert_eq!(claims.scopes, ["openid", "notes/read"]);
    assert!(claims.groups.is_empty());
}

#[test]
fn missing_claims_and_missing_authorizer() {
    assert_eq!(
        claims_of(Event::new("GET /me").claims(ClaimsFixture::user("a").without("sub"))),
        Err(ClaimsError::MissingClaim { claim: "sub" })
    );
    assert_eq!(
        claims_of(Event::new("GET /me")),
        Err(ClaimsError::MissingContext)
    );
}

async fn admin_only(req: Request) -> Result<Response<Body>, Problem> {
    let claims = CognitoClaims::from_request(&req)?;
    claims.require_group("admin")?;
    Ok(json(200, &serde_json::json!({ "sub": claims.sub })))
}

#[tokio::test]
async fn claim_failures_become_401_and_403() {
    async fn check(event: Event, status: u16) {
        let response = respond(&admin_only, event.build()).await;
        assert_eq!(response.status(), status);
        assert_eq!(
            response.headers().get(header::WWW_AUTHENTICATE).is_some(),
            status == 401
        );
        let body = body_json(&response);
        if status == 200 {
            assert_eq!(body["sub"], "u");
        } else {
            assert_eq!(body["status"], status, "{body}");
        }
    }
    let stats = || Event::new("GET /admin/stats");
    check(stats(), 401).await;
    check(stats().claims(ClaimsFixture::user("u").without("exp")), 401).await;
    check(stats().claims(ClaimsFixture::user("u")), 403).await;
    check(
        stats().claims(ClaimsFixture::user("u").groups(&["users"])),
        403,
    )
    .await;
    check(
        stats().claims(ClaimsFixture::user("u").groups(&["users", "admin"])),
        200,
    )
    .await;
}
