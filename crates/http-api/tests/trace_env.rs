//! The Lambda runtime the functions are built with must not write each invocation's trace id into
//! the process environment. Upstream `lambda_runtime` 1.5.0 calls
//! `set_var("_X_AMZN_TRACE_ID", ..)` before every invocation, and glibc's `setenv` never frees
//! the value it replaces, so every invocation of a warm instance leaked one string
//! (patches/lambda_runtime/README.md). The handler must still see the trace id, in the context.
//!
//! Without a harness (`harness = false`): the workspace forbids `unsafe`, so the test cannot set
//! the Lambda variables in its own process. It runs itself again as a child with them set, as a
//! function serving [`http_api::run`] against a Runtime API served here on loopback, sends two
//! invocations with distinct trace ids and checks what the handler saw.

use std::{
    collections::VecDeque,
    process::{ExitCode, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::IntoResponse,
    routing::{get, post},
};
use http_api::{Request, testing::Event};
use lambda_http::RequestExt;
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};

/// Set in the child's environment: run as the function.
const CHILD: &str = "HTTP_API_TRACE_ENV_CHILD";
const TRACE_VAR: &str = "_X_AMZN_TRACE_ID";
/// How long the child may take to answer both invocations (it only has to start).
const ANSWER_WITHIN: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("trace_env: cannot start a tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if std::env::var_os(CHILD).is_some() {
        return match runtime.block_on(http_api::run(report_trace)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("trace_env child: the runtime stopped: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match runtime.block_on(parent()) {
        Ok(()) => {
            println!("test trace_env::runtime_leaves_the_environment_alone ... ok");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("test trace_env::runtime_leaves_the_environment_alone ... FAILED\n{e}");
            ExitCode::FAILURE
        }
    }
}

/// The child's handler: what the environment and the invocation context say the trace id is.
async fn report_trace(
    req: Request,
) -> Result<http_api::Response<http_api::Body>, http_api::Problem> {
    let context = req
        .lambda_context_ref()
        .and_then(|context| context.xray_trace_id.clone());
    let env = std::env::var(TRACE_VAR).ok();
    Ok(http_api::json(
        200,
        &json!({ "env": env, "context": context }),
    ))
}

/// The Runtime API's state: invocations not yet handed out, and the answers.
struct Api {
    pending: Mutex<VecDeque<(String, String)>>,
    answers: mpsc::UnboundedSender<(String, Bytes)>,
    /// Wakes nothing: `next` waits on it forever once every invocation is handed out, as the
    /// real Runtime API does while no event arrives.
    idle: Notify,
}

async fn next(State(api): State<Arc<Api>>) -> impl IntoResponse {
    let Some((request_id, trace_id)) = api.pending.lock().ok().and_then(|mut p| p.pop_front())
    else {
        api.idle.notified().await;
        return (StatusCode::NO_CONTENT, HeaderMap::new(), String::new());
    };
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set("lambda-runtime-aws-request-id", &request_id);
    set("lambda-runtime-trace-id", &trace_id);
    set("lambda-runtime-deadline-ms", "4102444800000");
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:trace-env",
    );
    set("content-type", "application/json");
    let event = Event::new("GET /health").to_json().to_string();
    (StatusCode::OK, headers, event)
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

async fn parent() -> Result<(), String> {
    let invocations = [
        (
            "trace-env-1",
            "Root=1-67a1b2c3-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=0",
        ),
        (
            "trace-env-2",
            "Root=1-67a1b2c4-89abcdef0123456789abcdef;Parent=7e3b5c1d9a2f4e60;Sampled=1",
        ),
    ];
    let (answers, mut answered) = mpsc::unbounded_channel();
    let api = Arc::new(Api {
        pending: Mutex::new(
            invocations
                .iter()
                .map(|(id, trace)| (id.to_string(), trace.to_string()))
                .collect(),
        ),
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

    let exe = std::env::current_exe().map_err(|e| format!("where is this test binary: {e}"))?;
    let mut child = tokio::process::Command::new(exe)
        .env(CHILD, "1")
        .env_remove(TRACE_VAR)
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "trace-env")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "trace-env")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/trace-env")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start the child function: {e}"))?;

    let mut problems = Vec::new();
    for (request_id, trace_id) in invocations {
        let answer = tokio::select! {
            answer = tokio::time::timeout(ANSWER_WITHIN, answered.recv()) => answer,
            status = child.wait() => {
                return Err(format!("the child function exited before answering: {status:?}"));
            }
        };
        let (answered_id, body) = match answer {
            Ok(Some(answer)) => answer,
            Ok(None) => return Err("the Runtime API stopped".into()),
            Err(_) => {
                return Err(format!(
                    "no answer to {request_id} within {ANSWER_WITHIN:?}"
                ));
            }
        };
        if answered_id != request_id {
            problems.push(format!("answered {answered_id}, expected {request_id}"));
        }
        let seen = seen_by_handler(&body)?;
        if seen["env"] != Value::Null {
            problems.push(format!(
                "invocation {request_id}: the runtime set {TRACE_VAR}={} in the environment \
                 (glibc leaks every replaced value; see patches/lambda_runtime/README.md)",
                seen["env"]
            ));
        }
        if seen["context"] != trace_id {
            problems.push(format!(
                "invocation {request_id}: the context's trace id is {}, expected {trace_id}",
                seen["context"]
            ));
        }
    }
    let _ = child.kill().await;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// The handler's JSON body, out of the API Gateway response the runtime posted.
fn seen_by_handler(posted: &[u8]) -> Result<Value, String> {
    let response: Value = serde_json::from_slice(posted)
        .map_err(|e| format!("the runtime posted no JSON ({e}): {posted:?}"))?;
    let body = response["body"]
        .as_str()
        .ok_or_else(|| format!("no body in {response}"))?;
    serde_json::from_str(body).map_err(|e| format!("the handler's body is no JSON ({e}): {body}"))
}
