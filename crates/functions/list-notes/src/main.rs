//! `GET /notes?limit=&cursor=`: the caller's notes, newest first; `limit` 1..=100 (default 20);
//! `next_cursor` (opaque) when more remain.

use http_api::{Reply, Request};
use notes::ListQuery;
use notes_http::Notes;

notes_http::notes_main!(handler);

async fn handler(service: &Notes, req: Request) -> Reply {
    let (_, owner) = notes_http::caller(&req)?;
    let limit = http_api::query_param(&req, "limit");
    let cursor = http_api::query_param(&req, "cursor");
    let query =
        ListQuery::parse(limit.as_deref(), cursor.as_deref()).map_err(notes_http::problem)?;
    let page = service
        .list(&owner, query)
        .await
        .map_err(notes_http::problem)?;
    Ok(http_api::json(200, &page))
}

#[cfg(test)]
mod tests {
    use http_api::testing::{ClaimsFixture, Event, body_json};
    use notes_http::testing::{fs_service, seed_note};
    use serde_json::Value;

    use super::*;

    fn list(sub: &str, query: &[(&str, &str)]) -> Request {
        let mut event = Event::new("GET /notes").claims(ClaimsFixture::user(sub));
        for (name, value) in query {
            event = event.query(name, value);
        }
        event.build()
    }

    fn titles(body: &Value) -> Vec<String> {
        let items = body["items"].as_array().expect("items");
        items
            .iter()
            .map(|n| n["title"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    #[tokio::test]
    async fn pages_newest_first_and_only_own_notes() {
        let (_dir, service) = fs_service().await;
        for title in ["n1", "n2", "n3"] {
            seed_note(&service, "sub-a", title).await;
        }
        seed_note(&service, "sub-b", "someone else's").await;
        let handle = |r| handler(&service, r);

        let first = body_json(&http_api::respond(&handle, list("sub-a", &[("limit", "2")])).await);
        assert_eq!(titles(&first), ["n3", "n2"]);
        let cursor = first["next_cursor"].as_str().expect("a cursor");
        let second = body_json(
            &http_api::respond(
                &handle,
                list("sub-a", &[("limit", "2"), ("cursor", cursor)]),
            )
            .await,
        );
        assert_eq!(titles(&second), ["n1"]);
        assert!(second["next_cursor"].is_null());

        // User A's cursor is refused to user B (a 400 naming the cursor), never followed.
        let other = http_api::respond(&handle, list("sub-b", &[("cursor", cursor)])).await;
        assert_eq!(other.status(), 400);
        assert_eq!(body_json(&other)["field"], "cursor");
        let all_b = body_json(&http_api::respond(&handle, list("sub-b", &[])).await);
        assert_eq!(titles(&all_b), ["someone else's"]);
    }

    #[tokio::test]
    async fn bad_queries_are_400() {
        let (_dir, service) = fs_service().await;
        let handle = |r| handler(&service, r);
        for query in [
            [("limit", "0")],
            [("limit", "101")],
            [("limit", "-1")],
            [("limit", "ten")],
            [("cursor", "not a cursor")],
            [("cursor", "Li4vLi4vZXRj")],
        ] {
            let response = http_api::respond(&handle, list("sub-a", &query)).await;
            assert_eq!(response.status(), 400, "{query:?}");
            assert_eq!(body_json(&response)["status"], 400);
        }
        let response = http_api::respond(&handle, Event::new("GET /notes").build()).await;
        assert_eq!(response.status(), 401);
    }
}
