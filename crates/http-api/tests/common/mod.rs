//! A Lambda Runtime API on loopback for the tests that run this test binary again as a function
//! (`harness = false`; the workspace forbids `unsafe`, so a test cannot set the Lambda variables
//! in its own process): it hands out the given invocations, one per `…/invocation/next`, and
//! reports what the function posts back. `crates/notes-http/tests/no_secrets_logged.rs`
//! includes this file too (`#[path]`), for a note function run the same way.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::IntoResponse,
    routing::{get, post},
};
use tokio::sync::{Notify, mpsc};

/// One invocation to hand out.
pub struct Invocation {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// `Lambda-Runtime-Trace-Id`.
    pub trace_id: String,
    /// The event, as the body of `…/invocation/next`.
    pub event: String,
}

/// The Runtime API's state: invocations not yet handed out, and the answers.
struct Api {
    pending: Mutex<VecDeque<Invocation>>,
    answers: mpsc::UnboundedSender<(String, Bytes)>,
    /// Wakes nothing: `next` waits on it forever once every invocation is handed out, as the
    /// real Runtime API does while no event arrives.
    idle: Notify,
}

async fn next(State(api): State<Arc<Api>>) -> impl IntoResponse {
    let Some(invocation) = api.pending.lock().ok().and_then(|mut p| p.pop_front()) else {
        api.idle.notified().await;
        return (StatusCode::NO_CONTENT, HeaderMap::new(), String::new());
    };
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set("lambda-runtime-aws-request-id", &invocation.request_id);
    set("lambda-runtime-trace-id", &invocation.trace_id);
    set("lambda-runtime-deadline-ms", "4102444800000");
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:http-api-test",
    );
    set("content-type", "application/json");
    (StatusCode::OK, headers, invocation.event)
}

async fn response(
    State(api): State<Arc<Api>>,
    Path(request_id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let _ = api.answers.send((request_id, body));
    StatusCode::ACCEPTED
}

async fn error(Path(request_id): Path<String>, body: Bytes) -> StatusCode {
    eprintln!(
        "the handler failed invocation {request_id}: {}",
        String::from_utf8_lossy(&body)
    );
    StatusCode::ACCEPTED
}

/// Serves a Runtime API on a free loopback port handing out `invocations`; returns its address
/// and the channel of `(request id, posted response)`.
pub async fn serve(
    invocations: Vec<Invocation>,
) -> Result<(SocketAddr, mpsc::UnboundedReceiver<(String, Bytes)>), String> {
    let (answers, answered) = mpsc::unbounded_channel();
    let api = Arc::new(Api {
        pending: Mutex::new(invocations.into()),
        answers,
        idle: Notify::new(),
    });
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .with_state(api);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot listen on loopback: {e}"))?;
    let address = listener
        .local_addr()
        .map_err(|e| format!("no local address: {e}"))?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((address, answered))
}

/// This test binary, to be run again as the function, with the Lambda variables of a function
/// named `name` pointing at the Runtime API `address`, and `child` set to `1`.
pub fn function_command(
    child: &str,
    name: &str,
    address: SocketAddr,
) -> Result<tokio::process::Command, String> {
    let exe: PathBuf =
        std::env::current_exe().map_err(|e| format!("where is this test binary: {e}"))?;
    let mut command = tokio::process::Command::new(exe);
    command
        .env(child, "1")
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", name)
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    Ok(command)
}
