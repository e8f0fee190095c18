//! `POST /notes`: creates a note for the caller from `{"title", "body", "tags"}`;
//! `201 Created` with `Location` and `ETag`.

use http_api::{Reply, Request};
use notes::NoteInput;
use notes_http::Notes;

notes_http::notes_main!(handler);

async fn handler(service: &Notes, req: Request) -> Reply {
    let (_, owner) = notes_http::caller(&req)?;
    let input: NoteInput = http_api::parse_json(&req)?;
    let note = service
        .create(&owner, input)
        .await
        .map_err(notes_http::problem)?;
    Ok(notes_http::note_created(&note))
}

#[cfg(test)]
mod tests {
    use http_api::testing::{ClaimsFixture, Event, body_json};
    use notes::{ListQuery, Owner};
    use notes_http::testing::fs_service;

    use super::*;

    fn post(body: &str) -> Event {
        Event::new("POST /notes")
            .claims(ClaimsFixture::user("sub-a"))
            .header("content-type", "application/json")
            .body_text(body)
    }

    #[tokio::test]
    async fn creates_with_location_and_etag() {
        let (_dir, service) = fs_service().await;
        let req = post(r#"{"title":"  Hello  ","body":"world","tags":["a-1"]}"#).build();
        let response = http_api::respond(&|r| handler(&service, r), req).await;
        assert_eq!(response.status(), 201);
        let body = body_json(&response);
        assert_eq!(body["title"], "Hello");
        let id = body["id"].as_str().expect("id");
        assert_eq!(response.headers()["location"], format!("/notes/{id}"));
        assert_eq!(
            response.headers()["etag"],
            body["etag"].as_str().expect("etag")
        );
    }

    #[tokio::test]
    async fn base64_body_is_accepted() {
        let (_dir, service) = fs_service().await;
        let req = Event::new("POST /notes")
            .claims(ClaimsFixture::user("sub-a"))
            .header("content-type", "application/json; charset=utf-8")
            .body_base64(br#"{"title":"encoded","body":""}"#)
            .build();
        let response = http_api::respond(&|r| handler(&service, r), req).await;
        assert_eq!(response.status(), 201);
    }

    #[tokio::test]
    async fn client_mistakes_are_4xx_problems_and_store_nothing() {
        let (_dir, service) = fs_service().await;
        let huge = format!(r#"{{"title":"t","body":"{}"}}"#, "x".repeat(200 * 1024));
        let long_body = format!(r#"{{"title":"t","body":"{}"}}"#, "x".repeat(64 * 1024 + 1));
        let cases = [
            (
                Event::new("POST /notes").body_text(r#"{"title":"t","body":""}"#),
                401,
            ),
            (post("{not json"), 400),
            (post(r#"{"title":"t","body":"","owner":"sub-b"}"#), 400),
            (post(r#"{"title":"   ","body":""}"#), 400),
            (post(r#"{"title":"t","body":"","tags":["UPPER"]}"#), 400),
            (post(&long_body), 400),
            (post(""), 400),
            (post(&huge), 413),
            (
                post(r#"{"title":"t","body":""}"#).header("content-type", "text/plain"),
                415,
            ),
            (
                post(r#"{"title":"t","body":""}"#).without_header("content-type"),
                415,
            ),
        ];
        for (event, status) in cases {
            let response = http_api::respond(&|r| handler(&service, r), event.build()).await;
            assert_eq!(
                response.status(),
                status,
                "{}",
                http_api::testing::body_text(&response)
            );
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json"
            );
            assert_eq!(body_json(&response)["status"], status);
        }
        let owner = Owner::new("sub-a").expect("owner");
        let page = service
            .list(&owner, ListQuery::default())
            .await
            .expect("list");
        assert!(page.items.is_empty());
    }
}
