//! What every Lambda function of the API shares: the generic HTTP layer, with no knowledge of
//! notes (that glue, and the AWS SDK of the DynamoDB store, are `notes-http`'s and `notes`').
//!
//! - [`Problem`]: RFC 9457 `application/problem+json` errors, with the conversion from the
//!   Cognito claims errors (401, 403);
//! - [`parse_json`], [`json`], [`created`], [`no_content`] and request readers
//!   ([`header`], [`path_param`], [`query_param`]) with the shared limits;
//! - [`init_tracing`]: JSON-lines logging (a bare `LOG_LEVEL` for this project's crates only;
//!   the runtime's and the SDK's payload dumps never written);
//! - [`run`] (in Lambda) and [`respond`] (in tests): the handler loop, turning
//!   `Err(Problem)` into responses and logging one line per request;
//! - [`Health`], [`Me`]: the bodies of `GET /health` and `GET /me`;
//! - feature `openapi`: `utoipa::ToSchema` for [`Problem`] and those bodies (crates/api-spec);
//! - `event` (feature `event`): the API Gateway payload 2.0 event builder and response reader,
//!   shared by the local gateway, the bench and `testing`;
//! - `testing` (feature `testing`): API Gateway v2 events from a test's parts, Cognito claim
//!   fixtures, response readers and a log capture.
//!
//! `Me` and the claims errors' conversion need only `cognito-claims` (without its `verify`
//! feature: `lambda_http`, `serde`, `thiserror`, all linked here anyway), so they stay here and
//! `health` and `me` depend on this crate alone; see `bodies` and `claims`. A note function's
//! `main` is `notes_http::notes_main!`.
//!
//! A function's `main` is typically:
//!
//! ```no_run
//! use http_api::{Problem, Reply, Request};
//!
//! async fn handle(req: Request) -> Reply {
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
mod claims;
#[cfg(feature = "event")]
pub mod event;
mod json;
mod logging;
pub mod problem;
mod runtime;
#[cfg(feature = "testing")]
pub mod testing;

pub use lambda_http::{Body, Error as LambdaError, Request, Response};

/// What a handler returns: a response, or a [`Problem`] that [`run`] and [`respond`] turn into
/// an `application/problem+json` one.
pub type Reply = Result<Response<Body>, Problem>;

pub use crate::{
    bodies::{Health, HealthStatus, Me},
    json::{
        JSON_CONTENT_TYPE, MAX_BODY_BYTES, MAX_PARSE_DETAIL_CHARS, created, header, json,
        no_content, parse_json, path_param, query_param,
    },
    logging::{DEFAULT_LOG_LEVEL, OWN_TARGETS, PAYLOAD_TARGETS, init_tracing},
    problem::Problem,
    runtime::{respond, run},
};
