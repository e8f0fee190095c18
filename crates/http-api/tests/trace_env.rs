//! The Lambda runtime the functions are built with must not write each invocation's trace id into
//! the process environment. Upstream `lambda_runtime` 1.5.0 calls
//! `set_var("_X_AMZN_TRACE_ID", ..)` before every invocation, and glibc's `setenv` never frees
//! the value it replaces, so every invocation of a warm instance leaked one string
//! (patches/lambda_runtime/README.md). The handler must still see the trace id, in the context.
//!
//! Without a harness (`harness = false`): the workspace forbids `unsafe`, so the test cannot set
//! the Lambda variables in its own process. It runs itself again as a function serving
//! [`http_api::run`], under the local stack's Lambda emulator (`local_aws::lambda`, the Runtime
//! API the dev stack uses), invokes the one warm instance twice and checks what the handler saw
//! against the trace ids the emulator handed out.

use std::process::ExitCode;

use http_api::{Request, testing::Event};
use lambda_http::RequestExt;
use local_aws::lambda::{Lambda, LambdaConfig};
use serde_json::{Value, json};
use test_support::lambda::this_binary_as_function;

/// Set in the child's environment: run as the function.
const CHILD: &str = "HTTP_API_TRACE_ENV_CHILD";
const TRACE_VAR: &str = "_X_AMZN_TRACE_ID";

fn main() -> ExitCode {
    test_support::lambda::self_test(
        "trace_env",
        CHILD,
        |runtime| {
            runtime
                .block_on(http_api::run(report_trace))
                .map_err(|e| format!("the runtime stopped: {e}"))
        },
        |runtime| {
            vec![(
                "runtime_leaves_the_environment_alone",
                runtime.block_on(parent()),
            )]
        },
    )
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
    let function = this_binary_as_function("trace-env", CHILD)?;
    let lambda = Lambda::new([function], LambdaConfig::default());
    let event = Event::new("GET /health").to_json().to_string();
    let mut problems = Vec::new();
    let mut trace_ids = Vec::new();
    for (n, request_id) in ["trace-env-1", "trace-env-2"].into_iter().enumerate() {
        let invoked = lambda
            .invoke("trace-env", event.clone().into_bytes(), request_id)
            .await
            .map_err(|e| format!("invocation {request_id}: {e}"))?;
        if invoked.cold != (n == 0) || invoked.instance != 1 {
            problems.push(format!(
                "invocation {request_id} ran cold={} on instance {}: both should run on one \
                 warm instance",
                invoked.cold, invoked.instance
            ));
        }
        let seen = seen_by_handler(&invoked.payload)?;
        if seen["env"] != Value::Null {
            problems.push(format!(
                "invocation {request_id}: the runtime set {TRACE_VAR}={} in the environment \
                 (glibc leaks every replaced value; see patches/lambda_runtime/README.md)",
                seen["env"]
            ));
        }
        if seen["context"] != invoked.trace_id.as_str() {
            problems.push(format!(
                "invocation {request_id}: the context's trace id is {}, expected {}",
                seen["context"], invoked.trace_id
            ));
        }
        trace_ids.push(invoked.trace_id);
    }
    lambda.shutdown().await;
    if trace_ids[0] == trace_ids[1] {
        problems.push(format!(
            "the emulator handed out one trace id twice: {}",
            trace_ids[0]
        ));
    }
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
