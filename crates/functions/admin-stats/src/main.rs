//! `GET /admin/stats`: the number of notes of all users, for members of the Cognito group
//! `admin` only (`403` for everyone else).

use cognito_claims::CognitoClaims;
use http_api::{Body, Problem, Request, Response};
use notes::{AnyStore, NotesService};

/// The Cognito group this route requires (also declared in this crate's route metadata).
const ADMIN_GROUP: &str = "admin";

http_api::notes_main!(handler);

async fn handler(
    service: &NotesService<AnyStore>,
    req: Request,
) -> Result<Response<Body>, Problem> {
    let claims = CognitoClaims::from_request(&req)?;
    claims.require_group(ADMIN_GROUP)?;
    let notes = service.count_all().await?;
    Ok(http_api::json(200, &http_api::AdminStats { notes }))
}

#[cfg(test)]
mod tests {
    use http_api::testing::{ClaimsFixture, Event, body_json, fs_service, seed_note};

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
}
