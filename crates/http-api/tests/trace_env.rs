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

mod common;

use std::{process::ExitCode, time::Duration};

use http_api::{Request, testing::Event};
use lambda_http::RequestExt;
use serde_json::{Value, json};

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
    let (address, mut answered) = common::serve(
        invocations
            .iter()
            .map(|(request_id, trace_id)| common::Invocation {
                request_id: (*request_id).to_owned(),
                trace_id: (*trace_id).to_owned(),
                event: Event::new("GET /health").to_json().to_string(),
            })
            .collect(),
    )
    .await?;
    let mut child = common::function_command(CHILD, "trace-env", address)?
        .env_remove(TRACE_VAR)
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
