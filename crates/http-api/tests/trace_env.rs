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
use std::time::Duration;

use http_api::{Request, testing::Event};
use lambda_http::RequestExt;
use local_aws::lambda::{FunctionSpec, Lambda, LambdaConfig};
use serde_json::{Value, json};

/// Set in the child's environment: run as the function.
const CHILD: &str = "HTTP_API_TRACE_ENV_CHILD";
const TRACE_VAR: &str = "_X_AMZN_TRACE_ID";

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
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
    let exe = std::env::current_exe().map_err(|e| format!("where is this test binary: {e}"))?;
    let lambda = Lambda::new(
        [FunctionSpec {
            name: "trace-env".to_owned(),
            binary: exe,
            args: Vec::new(),
            env: vec![(CHILD.to_owned(), "1".to_owned())],
            memory: 128,
            // It only has to start (a debug build, on a busy machine).
            timeout: Duration::from_secs(60),
            max_instances: 1,
        }],
        LambdaConfig::default(),
    );
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
