//! `GET /health`: liveness check, no authentication. Answers `{"status":"ok"}`.

use http_api::{Reply, Request};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    http_api::init_tracing();
    http_api::run(handler).await
}

async fn handler(_req: Request) -> Reply {
    Ok(http_api::json(200, &http_api::Health::ok()))
}

#[cfg(test)]
mod tests {
    use http_api::testing::{Event, body_json};

    use super::*;

    #[tokio::test]
    async fn answers_ok_without_a_token() {
        let response = http_api::respond(&handler, Event::new("GET /health").build()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(body_json(&response), serde_json::json!({ "status": "ok" }));
    }
}
