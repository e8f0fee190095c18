//! `respond` runs a handler exactly as `run` does in Lambda: `Ok` responses pass through
//! untouched and `Err(Problem)` becomes an `application/problem+json` response.

use http_api::{
    Body, Problem, Request, Response, json, no_content, parse_json, path_param, respond,
    testing::{Event, body_json, body_text},
};
use lambda_http::http::header;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rename {
    title: String,
}

/// A small handler that exercises the helpers and every way to fail.
async fn handler(req: Request) -> Result<Response<Body>, Problem> {
    let id = path_param(&req, "id").ok_or_else(|| Problem::bad_request("missing id"))?;
    match id.as_str() {
        "gone" => Err(Problem::not_found("no note with this id")),
        "mine" => Err(Problem::unauthorized("sign in first")),
        "admin" => Err(Problem::forbidden("admins only")),
        "broken" => Err(Problem::internal()),
        "empty" => Ok(no_content()),
        _ => {
            let rename: Rename = parse_json(&req)?;
            Ok(json(
                200,
                &serde_json::json!({ "id": id, "title": rename.title }),
            ))
        }
    }
}

async fn call(event: Event) -> Response<Body> {
    respond(&handler, event.build()).await
}

fn put(id: &str) -> Event {
    Event::new("PUT /notes/{id}").path_param("id", id)
}

#[tokio::test]
async fn problems_become_problem_json_responses() {
    async fn check(event: Event, status: u16, slug: &str) {
        let response = call(event).await;
        assert_eq!(response.status(), status, "{slug}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json",
            "{slug}"
        );
        let body = body_json(&response);
        assert_eq!(body["status"], status, "{body}");
        assert_eq!(
            body["type"],
            format!("https://notes.example/problems/{slug}"),
            "{body}"
        );
        assert!(
            body["title"].is_string() && body["detail"].is_string(),
            "{body}"
        );
        assert_eq!(
            response
                .headers()
                .get(header::WWW_AUTHENTICATE)
                .map(|v| v.as_bytes()),
            (status == 401).then_some(&b"Bearer"[..]),
            "{slug}"
        );
    }
    check(put("gone"), 404, "not-found").await;
    check(put("mine"), 401, "unauthorized").await;
    check(put("admin"), 403, "forbidden").await;
    check(put("broken"), 500, "internal").await;
    check(
        Event::new("PUT /notes/{id}").path("/notes/"),
        400,
        "bad-request",
    )
    .await;
    check(put("a").body_text("{}"), 415, "unsupported-media-type").await;
    check(
        put("a").json_body(&serde_json::json!({"title": 1})),
        400,
        "bad-request",
    )
    .await;
}

#[tokio::test]
async fn successful_responses_pass_through() {
    let response = call(put("a1").json_body(&serde_json::json!({"title": "new"}))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    assert_eq!(
        body_json(&response),
        serde_json::json!({"id": "a1", "title": "new"})
    );

    let response = call(put("empty")).await;
    assert_eq!(response.status(), 204);
    assert_eq!(body_text(&response), "");
}

#[tokio::test]
async fn validation_problems_name_the_field() {
    let response = call(put("a").json_body(&serde_json::json!({"title": "x", "extra": 1}))).await;
    assert_eq!(response.status(), 400);
    assert_eq!(body_json(&response)["field"], "extra");
}
