//! What every Lambda function of the API shares.
//!
//! - [`Problem`]: RFC 9457 `application/problem+json` errors, with conversions from the
//!   claims and domain errors;
//! - [`parse_json`], [`json`], [`created`], [`no_content`] and request readers
//!   ([`header`], [`path_param`], [`query_param`]) with the shared limits;
//! - [`init_tracing`]: JSON-lines logging (a bare `LOG_LEVEL` for this project's crates only;
//!   the runtime's and the SDK's payload dumps never written);
//! - [`run`] (in Lambda) and [`respond`] (in tests): the handler loop, turning
//!   `Err(Problem)` into responses and logging one line per request;
//! - [`init_notes_function`] and [`notes_main!`]: a note function's start-up and `main`, with the
//!   domain service configured from the environment ([`notes_service_from_env`]);
//! - [`caller`], [`note_id`], [`note_response`], [`note_created`]: what the note routes share;
//! - [`Health`], [`Me`], [`AdminStats`]: the bodies of `GET /health`, `GET /me` and
//!   `GET /admin/stats`;
//! - feature `openapi`: `utoipa::ToSchema` for [`Problem`] and those bodies (crates/api-spec);
//! - `testing` (feature `testing`): API Gateway v2 event builder and Cognito claim fixtures.
//!
//! A function's `main` is typically:
//!
//! ```no_run
//! use http_api::{Problem, Request, Response, Body};
//!
//! async fn handle(req: Request) -> Result<Response<Body>, Problem> {
//!     let id = http_api::path_param(&req, "id")
//!         .ok_or_else(|| Problem::bad_request("missing path parameter id"))?;
//!     Ok(http_api::json(200, &serde_json::json!({ "id": id })))
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), lambda_http::Error> {
//!     http_api::init_tracing();
//!     http_api::run(handle).await
//! }
//! ```

mod bodies;
mod json;
mod logging;
mod map;
mod notes_http;
pub mod problem;
mod runtime;
#[cfg(test)]
mod test_support;
#[cfg(feature = "testing")]
pub mod testing;

pub use lambda_http::{Body, Error as LambdaError, Request, Response};

pub use crate::{
    bodies::{AdminStats, Health, HealthStatus, Me},
    json::{
        JSON_CONTENT_TYPE, MAX_BODY_BYTES, MAX_PARSE_DETAIL_CHARS, created, header, json,
        no_content, parse_json, path_param, query_param,
    },
    logging::{DEFAULT_LOG_LEVEL, OWN_TARGETS, PAYLOAD_TARGETS, init_tracing},
    map::{InitError, init_notes_function, notes_service_from_env, notes_service_from_vars},
    notes_http::{caller, note_created, note_id, note_response},
    problem::Problem,
    runtime::{respond, run},
};
