//! `GET /notes/{id}`: one of the caller's notes, with its `ETag`. Another user's note is a 404,
//! exactly like a missing one.

use http_api::{Reply, Request};
use notes_http::Notes;

notes_http::notes_main!(handler);

async fn handler(service: &Notes, req: Request) -> Reply {
    let (_, owner) = notes_http::caller(&req)?;
    let id = notes_http::note_id(&req)?;
    let note = service
        .get(&owner, &id)
        .await
        .map_err(notes_http::problem)?;
    Ok(notes_http::note_response(200, &note))
}

#[cfg(test)]
mod tests {
    use http_api::testing::{Event, body_json};
    use notes_http::testing::{fs_service, seed_note};

    use super::*;

    fn get(id: &str, sub: Option<&str>) -> Request {
        Event::new("GET /notes/{id}")
            .path_param("id", id)
            .caller(sub)
            .build()
    }

    #[tokio::test]
    async fn owner_gets_note_with_etag() {
        let (_dir, service) = fs_service().await;
        let note = seed_note(&service, "sub-a", "first").await;
        let req = get(&note.id().to_string(), Some("sub-a"));
        let response = http_api::respond(&|r| handler(&service, r), req).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["etag"], note.etag());
        let body = body_json(&response);
        assert_eq!(body["title"], "first");
        assert_eq!(body["id"], note.id().to_string());
    }

    #[tokio::test]
    async fn errors() {
        let (_dir, service) = fs_service().await;
        let note = seed_note(&service, "sub-a", "private").await;
        let id = note.id().to_string();
        let unknown = notes::NoteId::new().to_string();
        let cases = [
            (get(&id, None), 401),                   // no authorizer context
            (get(&id, Some("sub-b")), 404),          // another user's note
            (get(&unknown, Some("sub-a")), 404),     // unknown id
            (get("not-a-ulid", Some("sub-a")), 400), // malformed id
            (get("..%2F..%2Fetc", Some("sub-a")), 400),
            (get(&id.to_lowercase(), Some("sub-a")), 400),
        ];
        for (req, status) in cases {
            let response = http_api::respond(&|r| handler(&service, r), req).await;
            assert_eq!(response.status(), status);
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json"
            );
            assert_eq!(body_json(&response)["status"], status);
        }
    }
}
