//! The test event builder: the payload format 2.0 shape AWS documents, and what
//! `lambda_http` makes of it.

use http_api::testing::{CLIENT_ID, ClaimsFixture, Event, ISSUER};
use lambda_http::{Body, RequestExt, request::RequestContext};
use serde_json::Value;

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .map(|object| object.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    keys
}

#[test]
fn minimal_event_has_the_documented_shape() {
    let event = Event::new("GET /health").to_json();
    assert_eq!(
        keys(&event),
        [
            "headers",
            "isBase64Encoded",
            "rawPath",
            "rawQueryString",
            "requestContext",
            "routeKey",
            "version"
        ]
    );
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "GET /health");
    assert_eq!(event["rawPath"], "/health");
    assert_eq!(event["rawQueryString"], "");
    assert_eq!(event["isBase64Encoded"], false);
    let context = &event["requestContext"];
    assert_eq!(
        keys(context),
        [
            "accountId",
            "apiId",
            "domainName",
            "domainPrefix",
            "http",
            "requestId",
            "routeKey",
            "stage",
            "time",
            "timeEpoch"
        ]
    );
    assert_eq!(context["stage"], "$default");
    assert_eq!(context["routeKey"], "GET /health");
    assert_eq!(
        keys(&context["http"]),
        ["method", "path", "protocol", "sourceIp", "userAgent"]
    );
    assert_eq!(context["http"]["method"], "GET");
    assert_eq!(context["http"]["path"], "/health");
    assert!(
        context["timeEpoch"]
            .as_i64()
            .is_some_and(|t| t > 1_700_000_000_000)
    );
    // "12/Mar/2020:19:03:58 +0000"
    let time = context["time"].as_str().unwrap_or_default();
    assert_eq!(time.len(), 26, "{time}");
    assert!(time.ends_with(" +0000"), "{time}");
    for header in [
        "host",
        "user-agent",
        "x-amzn-trace-id",
        "x-forwarded-for",
        "x-forwarded-proto",
    ] {
        assert!(event["headers"][header].is_string(), "{header}");
    }
}

#[test]
fn request_ids_are_unique() {
    let a = Event::new("GET /health").to_json();
    let b = Event::new("GET /health").to_json();
    assert_ne!(
        a["requestContext"]["requestId"],
        b["requestContext"]["requestId"]
    );
    let (a, b) = (Event::new("GET /a").build(), Event::new("GET /a").build());
    let id = |r: &lambda_http::Request| r.lambda_context_ref().map(|c| c.request_id.clone());
    assert!(id(&a).is_some_and(|id| id.len() == 36));
    assert_ne!(id(&a), id(&b));
}

#[test]
fn path_query_headers_cookies_and_path_parameters() {
    let event = Event::new("GET /notes/{id}")
        .path_param("id", "01JABC")
        .query("limit", "5")
        .query("tag", "a b")
        .query("tag", "c&d")
        .header("Accept", "application/json")
        .header("x-multi", "1")
        .header("X-Multi", "2")
        .header("cookie", "a=1; b=2")
        .without_header("user-agent");
    let json = event.to_json();
    assert_eq!(json["rawPath"], "/notes/01JABC");
    assert_eq!(json["rawQueryString"], "limit=5&tag=a%20b&tag=c%26d");
    assert_eq!(json["queryStringParameters"]["tag"], "a b,c&d");
    assert_eq!(json["pathParameters"]["id"], "01JABC");
    assert_eq!(json["headers"]["accept"], "application/json");
    assert_eq!(json["headers"]["x-multi"], "1,2");
    assert!(json["headers"].get("user-agent").is_none());
    assert!(json["headers"].get("cookie").is_none());
    assert_eq!(json["cookies"], serde_json::json!(["a=1", "b=2"]));

    let req = event.build();
    assert_eq!(req.method(), "GET");
    assert_eq!(req.uri().path(), "/notes/01JABC");
    assert_eq!(http_api::path_param(&req, "id").as_deref(), Some("01JABC"));
    assert_eq!(req.path_parameters().first("id"), Some("01JABC"));
    assert_eq!(http_api::query_param(&req, "limit").as_deref(), Some("5"));
    assert_eq!(
        req.query_string_parameters().all("tag"),
        Some(vec!["a b", "c&d"])
    );
    assert_eq!(http_api::header(&req, "accept"), Some("application/json"));
    assert_eq!(http_api::header(&req, "Cookie"), Some("a=1; b=2"));
    assert_eq!(http_api::header(&req, "user-agent"), None);
}

#[test]
fn user_agent_reaches_the_request_context() {
    let json = Event::new("GET /health")
        .header("User-Agent", "tests/1.0")
        .to_json();
    assert_eq!(json["headers"]["user-agent"], "tests/1.0");
    assert_eq!(json["requestContext"]["http"]["userAgent"], "tests/1.0");
}

#[test]
fn explicit_path_and_method_override() {
    let req = Event::new("$default")
        .method("delete")
        .path("/anything")
        .build();
    assert_eq!(req.method(), "DELETE");
    assert_eq!(req.uri().path(), "/anything");
    let req = Event::new("ANY /proxy/{path+}")
        .method("POST")
        .path_param("path", "a/b")
        .build();
    assert_eq!(req.method(), "POST");
    assert_eq!(req.uri().path(), "/proxy/a/b");
}

#[test]
fn bodies_text_and_base64() {
    let req = Event::new("POST /notes").body_text("hello").build();
    assert!(matches!(req.body(), Body::Text(t) if t == "hello"));
    assert_eq!(http_api::header(&req, "content-length"), Some("5"));

    let event = Event::new("POST /notes").body_base64(&[0, 159, 146, 150]);
    assert_eq!(event.to_json()["isBase64Encoded"], true);
    assert_eq!(event.to_json()["body"], "AJ+Slg==");
    let req = event.build();
    assert!(matches!(req.body(), Body::Binary(b) if b == &[0, 159, 146, 150]));
    assert_eq!(http_api::header(&req, "content-length"), Some("4"));
}

fn authorizer_claims(req: &lambda_http::Request) -> Option<Value> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|jwt| serde_json::json!({ "claims": jwt.claims, "scopes": jwt.scopes })),
        _ => None,
    }
}

#[test]
fn without_claims_there_is_no_authorizer() {
    let event = Event::new("GET /health");
    assert!(
        event.to_json()["requestContext"]
            .get("authorizer")
            .is_none()
    );
    assert_eq!(authorizer_claims(&event.build()), None);
}

#[test]
fn id_token_claims_are_strings_as_aws_sends_them() {
    let req = Event::new("GET /me")
        .claims(ClaimsFixture::user("sub-a").groups(&["admin", "users"]))
        .build();
    let jwt = authorizer_claims(&req).expect("an authorizer");
    let claims = &jwt["claims"];
    assert_eq!(claims["sub"], "sub-a");
    assert_eq!(claims["token_use"], "id");
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["exp"], "1999999999");
    assert_eq!(claims["email_verified"], "true");
    assert_eq!(claims["cognito:groups"], "[admin users]");
    assert!(
        claims
            .as_object()
            .is_some_and(|c| c.values().all(Value::is_string))
    );
    assert_eq!(jwt["scopes"], Value::Null);
}

#[test]
fn access_token_claims_and_scopes() {
    let fixture = ClaimsFixture::access_token("sub-b")
        .scopes(&["openid", "notes/read"])
        .without("username")
        .set("custom", "x");
    let req = Event::new("GET /notes").claims(fixture).build();
    let jwt = authorizer_claims(&req).expect("an authorizer");
    assert_eq!(jwt["claims"]["token_use"], "access");
    assert_eq!(jwt["claims"]["client_id"], CLIENT_ID);
    assert_eq!(jwt["claims"]["scope"], "openid notes/read");
    assert_eq!(jwt["claims"]["custom"], "x");
    assert!(jwt["claims"].get("aud").is_none());
    assert!(jwt["claims"].get("username").is_none());
    assert_eq!(jwt["scopes"], serde_json::json!(["openid", "notes/read"]));
}
