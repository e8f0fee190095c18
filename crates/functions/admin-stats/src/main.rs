//! `GET /admin/stats`: the number of notes of all users, for members of the Cognito group
//! `admin` only (`403` for everyone else).

use cognito_claims::CognitoClaims;
use http_api::{Reply, Request};
use notes_http::Notes;

/// The Cognito group this route requires (also declared in this crate's route metadata).
const ADMIN_GROUP: &str = "admin";

notes_http::notes_main!(handler);

async fn handler(service: &Notes, req: Request) -> Reply {
    let claims = CognitoClaims::from_request(&req)?;
    claims.require_group(ADMIN_GROUP)?;
    let notes = service.count_all().await.map_err(notes_http::problem)?;
    Ok(http_api::json(200, &notes_http::AdminStats { notes }))
}

#[cfg(test)]
mod tests {
    use http_api::testing::{ClaimsFixture, Event, body_json};
    use notes_http::testing::{fs_service, seed_note};

    use super::*;

    fn stats(claims: Option<ClaimsFixture>) -> Request {
        let event = Event::new("GET /admin/stats");
        match claims {
            Some(claims) => event.claims(claims),
            None => event,
        }
        .build()
    }

    #[tokio::test]
    async fn admins_see_counts_of_all_users() {
        let (_dir, service) = fs_service().await;
        seed_note(&service, "sub-a", "a").await;
        seed_note(&service, "sub-b", "b").await;
        let admin = ClaimsFixture::user("sub-admin").groups(&["users", "admin"]);
        let response = http_api::respond(&|r| handler(&service, r), stats(Some(admin))).await;
        assert_eq!(response.status(), 200);
        assert_eq!(body_json(&response)["notes"], 2);
    }

    #[tokio::test]
    async fn everyone_else_is_refused() {
        let (_dir, service) = fs_service().await;
        let cases = [
            (stats(None), 401),
            (stats(Some(ClaimsFixture::user("sub-a"))), 403),
            (
                stats(Some(ClaimsFixture::user("sub-a").groups(&["users"]))),
                403,
            ),
            (
                stats(Some(
                    ClaimsFixture::user("sub-a").groups(&["administrators"]),
                )),
                403,
            ),
        ];
        for (req, status) in cases {
            let response = http_api::respond(&|r| handler(&service, r), req).await;
            assert_eq!(response.status(), status);
            assert_eq!(body_json(&response)["status"], status);
        }
    }

    /// `cognito:groups` exactly as API Gateway hands it over (its bracket form, `[a b]`).
    fn with_groups_claim(value: &str) -> Request {
        stats(Some(
            ClaimsFixture::user("sub-a").set("cognito:groups", value),
        ))
    }

    #[tokio::test]
    async fn quoted_group_names_are_not_the_admin_group() {
        let (_dir, service) = fs_service().await;
        // Groups named `"admin"` and `"x","admin"` (Cognito allows quotes and commas in group
        // names): API Gateway renders them as below, and neither is the group `admin`.
        for value in [
            r#"["admin"]"#,
            r#"["x","admin"]"#,
            r#"[ "admin" ]"#,
            r#"["x", "admin"]"#,
            "[admin,users]",
            "[Admin]",
            "[]",
        ] {
            let response =
                http_api::respond(&|r| handler(&service, r), with_groups_claim(value)).await;
            assert_eq!(response.status(), 403, "cognito:groups = {value}");
            assert_eq!(
                body_json(&response)["status"],
                403,
                "cognito:groups = {value}"
            );
        }
        for value in ["[admin]", "[users admin]", "[\"x\" admin]"] {
            let response =
                http_api::respond(&|r| handler(&service, r), with_groups_claim(value)).await;
            assert_eq!(response.status(), 200, "cognito:groups = {value}");
        }
    }
}
