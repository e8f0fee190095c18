//! The entry point every function uses: [`run`] in Lambda, [`respond`] in unit tests.
//!
//! Both do the same thing to a request: run the handler inside a span that carries the
//! request ids, turn an `Err(Problem)` into its problem+json response, and log one line per
//! invocation with the method, route, path, status and duration. Headers, bodies and tokens
//! are never logged.

use std::{convert::Infallible, future::Future, time::Instant};

use lambda_http::{Body, Request, RequestExt, Response, request::RequestContext, service_fn};
use tracing::Instrument;

use crate::{Reply, problem::Slug};

/// Serves `handler` on the Lambda Runtime API until the runtime stops.
///
/// A handler's `Err(Problem)` becomes an HTTP response (never a Lambda-level error), so a
/// client's mistake never shows up as a failed invocation. Call [`crate::init_tracing`]
/// first.
///
/// State built at init is borrowed by the handler (`notes_http::notes_main!` does this with
/// the notes service):
///
/// ```no_run
/// use http_api::Request;
///
/// struct Config {
///     greeting: String,
/// }
///
/// async fn handle(config: &Config, req: Request) -> http_api::Reply {
///     let _ = req;
///     Ok(http_api::json(200, &serde_json::json!({ "greeting": config.greeting })))
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), lambda_http::Error> {
///     http_api::init_tracing();
///     let config = Config { greeting: "hello".to_owned() };
///     http_api::run(|req| handle(&config, req)).await
/// }
/// ```
pub async fn run<H, Fut>(handler: H) -> Result<(), lambda_http::Error>
where
    H: Fn(Request) -> Fut,
    Fut: Future<Output = Reply> + Send,
{
    lambda_http::run(service_fn(|req: Request| {
        let invocation = Invocation::start(&handler, req);
        async move { Ok::<_, Infallible>(invocation.finish().await) }
    }))
    .await
}

/// Runs `handler` on `req` exactly as [`run`] does in Lambda (same conversion of `Problem`
/// into a response, same logging), without the Lambda runtime.
pub async fn respond<H, Fut>(handler: &H, req: Request) -> Response<Body>
where
    H: Fn(Request) -> Fut,
    Fut: Future<Output = Reply>,
{
    Invocation::start(handler, req).finish().await
}

/// One request in flight: the handler's future, plus what the log line needs (copied out of
/// the request before the handler takes it).
struct Invocation<Fut> {
    span: tracing::Span,
    started: Instant,
    future: Fut,
}

impl<Fut> Invocation<Fut>
where
    Fut: Future<Output = Reply>,
{
    fn start<H>(handler: &H, req: Request) -> Self
    where
        H: Fn(Request) -> Fut,
    {
        let (route, api_request_id) = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(context)) => (
                context.route_key.clone().unwrap_or_default(),
                context.request_id.clone().unwrap_or_default(),
            ),
            _ => (String::new(), String::new()),
        };
        let request_id = req
            .lambda_context_ref()
            .map(|context| context.request_id.clone())
            .unwrap_or_default();
        let span = tracing::info_span!(
            "request",
            request_id = %request_id,
            api_request_id = %api_request_id,
            method = %req.method(),
            route = %route,
            path = %req.raw_http_path(),
        );
        let started = Instant::now();
        let future = span.in_scope(|| handler(req));
        Self {
            span,
            started,
            future,
        }
    }

    async fn finish(self) -> Response<Body> {
        let Self {
            span,
            started,
            future,
        } = self;
        let outcome = future.instrument(span.clone()).await;
        let _entered = span.enter();
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        match outcome {
            Ok(response) => {
                let status = response.status().as_u16();
                if status >= 500 {
                    tracing::warn!(status, duration_ms, "request done");
                } else {
                    tracing::info!(status, duration_ms, "request done");
                }
                response
            }
            Err(problem) => {
                let status = problem.status();
                let problem_type = Slug(&problem).to_string();
                if status >= 500 {
                    tracing::warn!(status, problem = %problem_type, duration_ms, "request done");
                } else {
                    tracing::info!(status, problem = %problem_type, duration_ms, "request done");
                }
                problem.into_response()
            }
        }
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use lambda_http::http::header;
    use serde_json::Value;

    use super::*;
    use crate::Problem;
    use crate::testing::{Event, capture_logs};

    async fn not_found(_req: Request) -> Reply {
        tracing::info!("looking the note up");
        Err(Problem::not_found("no note with this id"))
    }

    /// Runs `not_found` on a request carrying a token and a body, returning the response
    /// and the log lines.
    fn logged_request() -> (Response<Body>, Vec<Value>, String) {
        let event = Event::new("PUT /notes/{id}")
            .path_param("id", "01JNOTE")
            .header("authorization", "Bearer secret-token-value")
            .json_body(&serde_json::json!({"title": "secret body text"}));
        let req = event.build();
        let lambda_request_id = req
            .lambda_context_ref()
            .map(|c| c.request_id.clone())
            .unwrap_or_default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a tokio runtime");
        let (response, lines) = capture_logs(|| runtime.block_on(respond(&not_found, req)));
        (response, lines, lambda_request_id)
    }

    #[test]
    fn one_json_line_per_request_with_ids_route_and_status() {
        let (response, lines, lambda_request_id) = logged_request();
        assert_eq!(response.status(), 404);
        assert_eq!(lines.len(), 2, "{lines:?}");
        let handler_line = &lines[0];
        assert_eq!(handler_line["fields"]["message"], "looking the note up");
        assert_eq!(
            handler_line["span"]["request_id"],
            lambda_request_id.as_str()
        );
        let done = &lines[1];
        assert_eq!(done["level"], "INFO");
        assert_eq!(done["fields"]["message"], "request done");
        assert_eq!(done["fields"]["status"], 404);
        assert_eq!(done["fields"]["problem"], "not-found");
        assert!(done["fields"]["duration_ms"].as_f64().is_some(), "{done}");
        assert!(!lambda_request_id.is_empty());
        assert_eq!(done["span"]["request_id"], lambda_request_id.as_str());
        assert_eq!(done["span"]["method"], "PUT");
        assert_eq!(done["span"]["route"], "PUT /notes/{id}");
        assert_eq!(done["span"]["path"], "/notes/01JNOTE");
        assert!(
            done["span"]["api_request_id"]
                .as_str()
                .is_some_and(|id| !id.is_empty()),
            "{done}"
        );
    }

    #[test]
    fn logs_never_carry_tokens_headers_or_bodies() {
        let (_, lines, _) = logged_request();
        let all = lines
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        for secret in [
            "secret-token-value",
            "secret body text",
            "authorization",
            "content-type",
        ] {
            assert!(!all.contains(secret), "{secret} leaked into {all}");
        }
    }

    #[test]
    fn problems_become_problem_responses() {
        let (response, _, _) = logged_request();
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            crate::problem::PROBLEM_CONTENT_TYPE
        );
    }
}
