//! `DELETE /notes/{id}`: deletes one of the caller's notes; `204 No Content`. Another user's
//! note is a 404 and stays untouched.

use http_api::{Reply, Request};
use notes_http::Notes;

notes_http::notes_main!(handler);

async fn handler(service: &Notes, req: Request) -> Reply {
    let (_, owner) = notes_http::caller(&req)?;
    let id = notes_http::note_id(&req)?;
    service
        .delete(&owner, &id)
        .await
        .map_err(notes_http::problem)?;
    Ok(http_api::no_content())
}

#[cfg(test)]
mod tests {
    use http_api::testing::{Event, body_json};
    use notes::Owner;
    use notes_http::testing::{fs_service, seed_note};

    use super::*;

    fn delete(id: &str, sub: Option<&str>) -> Request {
        Event::new("DELETE /notes/{id}")
            .path_param("id", id)
            .caller(sub)
            .build()
    }

    #[tokio::test]
    async fn deletes_then_404() {
        let (_dir, service) = fs_service().await;
        let note = seed_note(&service, "sub-a", "doomed").await;
        let id = note.id().to_string();
        let handle = |r| handler(&service, r);
        let response = http_api::respond(&handle, delete(&id, Some("sub-a"))).await;
        assert_eq!(response.status(), 204);
        assert!(response.body().is_empty());
        let again = http_api::respond(&handle, delete(&id, Some("sub-a"))).await;
        assert_eq!(again.status(), 404);
        let owner = Owner::new("sub-a").expect("owner");
        assert!(service.get(&owner, &note.id()).await.is_err());
    }

    #[tokio::test]
    async fn errors_leave_the_note_alone() {
        let (_dir, service) = fs_service().await;
        let note = seed_note(&service, "sub-a", "kept").await;
        let id = note.id().to_string();
        let cases = [
            (delete(&id, None), 401),
            (delete(&id, Some("sub-b")), 404),
            (delete("01ARZ3NDEKTSV4RRFFQ69G5FA", Some("sub-a")), 400),
            (
                delete(&notes::NoteId::new().to_string(), Some("sub-a")),
                404,
            ),
        ];
        for (req, status) in cases {
            let response = http_api::respond(&|r| handler(&service, r), req).await;
            assert_eq!(response.status(), status);
            assert_eq!(body_json(&response)["status"], status);
        }
        let owner = Owner::new("sub-a").expect("owner");
        let still_there = service.get(&owner, &note.id()).await.expect("note kept");
        assert_eq!(still_there.etag(), note.etag());
    }
}
