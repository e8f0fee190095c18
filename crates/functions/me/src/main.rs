//! `GET /me`: the caller's identity ([`http_api::Me`]), read from the claims API Gateway's JWT
//! authorizer passed on.

use cognito_claims::CognitoClaims;
use http_api::{Reply, Request};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    http_api::init_tracing();
    http_api::run(handler).await
}

async fn handler(req: Request) -> Reply {
    let claims = CognitoClaims::from_request(&req)?;
    Ok(http_api::json(200, &http_api::Me::from(&claims)))
}

#[cfg(test)]
mod tests {
    use http_api::testing::{CLIENT_ID, ClaimsFixture, Event, body_json};
    use http_api::{Body, Response};

    use super::*;

    async fn call(event: Event) -> Response<Body> {
        http_api::respond(&handler, event.build()).await
    }

    #[tokio::test]
    async fn id_token_identity() {
        let claims = ClaimsFixture::id_token("sub-a").groups(&["admin", "users"]);
        let response = call(Event::new("GET /me").claims(claims)).await;
        assert_eq!(response.status(), 200);
        let body = body_json(&response);
        assert_eq!(body["sub"], "sub-a");
        assert_eq!(body["groups"], serde_json::json!(["admin", "users"]));
        assert_eq!(body["token_use"], "id");
        assert_eq!(body["client_id"], CLIENT_ID);
    }

    #[tokio::test]
    async fn access_token_identity_has_scopes() {
        let claims = ClaimsFixture::access_token("sub-b").scopes(&["openid", "email"]);
        let body = body_json(&call(Event::new("GET /me").claims(claims)).await);
        assert_eq!(body["token_use"], "access");
        assert_eq!(body["scopes"], serde_json::json!(["openid", "email"]));
    }

    #[tokio::test]
    async fn no_authorizer_context_is_401_problem() {
        let response = call(Event::new("GET /me")).await;
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        assert_eq!(body_json(&response)["status"], 401);
    }

    #[tokio::test]
    async fn missing_sub_is_401() {
        let claims = ClaimsFixture::id_token("sub-a").without("sub");
        assert_eq!(
            call(Event::new("GET /me").claims(claims)).await.status(),
            401
        );
    }
}
