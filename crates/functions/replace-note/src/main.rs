//! `PUT /notes/{id}`: replaces one of the caller's notes with optimistic concurrency.
//! `If-Match` is required (`428` without it); a stale tag is `412` and changes nothing.

use http_api::{Problem, Reply, Request};
use notes::NoteInput;
use notes_http::Notes;

notes_http::notes_main!(handler);

async fn handler(service: &Notes, req: Request) -> Reply {
    let (_, owner) = notes_http::caller(&req)?;
    let id = notes_http::note_id(&req)?;
    let if_match = http_api::header(&req, "if-match").ok_or_else(|| {
        Problem::precondition_required("send If-Match with the note's current ETag")
    })?;
    let input: NoteInput = http_api::parse_json(&req)?;
    let note = service
        .replace(&owner, &id, if_match, input)
        .await
        .map_err(notes_http::problem)?;
    Ok(notes_http::note_response(200, &note))
}

#[cfg(test)]
mod tests {
    use http_api::testing::{ClaimsFixture, Event, body_json};
    use notes::Owner;
    use notes_http::testing::{fs_service, seed_note};

    use super::*;

    const NEW: &str = r#"{"title":"new title","body":"new body","tags":["x"]}"#;

    fn put(id: &str, sub: &str, if_match: Option<&str>, body: &str) -> Event {
        let event = Event::new("PUT /notes/{id}")
            .path_param("id", id)
            .claims(ClaimsFixture::user(sub))
            .header("content-type", "application/json")
            .body_text(body);
        match if_match {
            Some(tag) => event.header("if-match", tag),
            None => event,
        }
    }

    #[tokio::test]
    async fn replaces_with_current_etag() {
        let (_dir, service) = fs_service().await;
        let note = seed_note(&service, "sub-a", "old").await;
        let req = put(&note.id().to_string(), "sub-a", Some(note.etag()), NEW).build();
        let response = http_api::respond(&|r| handler(&service, r), req).await;
        assert_eq!(response.status(), 200);
        let body = body_json(&response);
        assert_eq!(body["title"], "new title");
        assert_eq!(
            body["created_at"],
            serde_json::to_value(note.created_at()).expect("time")
        );
        let etag = response.headers()["etag"].to_str().expect("etag");
        assert_ne!(etag, note.etag());
        // The old tag is now stale.
        let req = put(&note.id().to_string(), "sub-a", Some(note.etag()), NEW).build();
        let response = http_api::respond(&|r| handler(&service, r), req).await;
        assert_eq!(response.status(), 412);
    }

    #[tokio::test]
    async fn errors_change_nothing() {
        let (_dir, service) = fs_service().await;
        let note = seed_note(&service, "sub-a", "old").await;
        let id = note.id().to_string();
        let tag = note.etag();
        let stale = format!("\"{}\"", "0".repeat(32));
        let cases = [
            (Event::new("PUT /notes/{id}").path_param("id", &id), 401),
            (put(&id, "sub-a", None, NEW), 428),
            (put(&id, "sub-a", Some(&stale), NEW), 412),
            (put(&id, "sub-a", Some(tag.trim_matches('"')), NEW), 400),
            (put(&id, "sub-b", Some(tag), NEW), 404),
            (put("../../x", "sub-a", Some(tag), NEW), 400),
            (
                put(&notes::NoteId::new().to_string(), "sub-a", Some(tag), NEW),
                404,
            ),
            (put(&id, "sub-a", Some(tag), "{"), 400),
            (
                put(&id, "sub-a", Some(tag), NEW).header("content-type", "text/xml"),
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
            assert_eq!(body_json(&response)["status"], status);
        }
        let owner = Owner::new("sub-a").expect("owner");
        let current = service.get(&owner, &note.id()).await.expect("note");
        assert_eq!(current.etag(), tag);
        assert_eq!(current.title(), "old");
    }
}
