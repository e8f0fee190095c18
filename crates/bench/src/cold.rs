//! Cold starts and warm invocations of one function under the local Runtime API emulator
//! ([`local_aws::lambda::Lambda`]), with no gateway in between.
//!
//! A cold start is timed from handing the invocation to an emulator that has no instance of
//! the function (it then binds the instance's Runtime API listener and spawns the binary) to
//! the function's response; between two samples the instance is killed and waited for. The
//! instance of the last cold start then serves the warm series, one invocation at a time, and
//! its peak RSS (`VmHWM`) is read from `/proc` at the end.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::routes::Route;
use local_aws::lambda::{FunctionSpec, Lambda, LambdaConfig, RuntimeApiAddress};

use crate::model::{FunctionRow, Runtime};
use crate::workload::Workload;

/// What to run.
#[derive(Clone, Debug)]
pub struct Target {
    /// The name in the report (`me`, `me (Python)`).
    pub label: String,
    /// The route whose events it gets.
    pub route: Route,
    /// The executable the emulator spawns.
    pub binary: PathBuf,
    /// Its environment (besides Lambda's standard variables).
    pub env: Vec<(String, String)>,
    /// Rust or Python.
    pub runtime: Runtime,
}

/// How many of each.
#[derive(Clone, Copy, Debug)]
pub struct Counts {
    /// Cold starts.
    pub cold: usize,
    /// Warm invocations after them.
    pub warm: usize,
}

/// Runs `counts.cold` cold starts then `counts.warm` warm invocations of `target`, with
/// events from `workload` (which learns about the notes created or deleted).
pub async fn measure(target: &Target, counts: Counts, workload: &mut Workload) -> FunctionRow {
    let name = target.route.function.clone();
    let spec = FunctionSpec::new(&name, &target.binary)
        .envs(target.env.clone())
        .memory(target.route.memory)
        .timeout(Duration::from_secs(u64::from(target.route.timeout).max(30)));
    let lambda = Lambda::new(
        [spec],
        LambdaConfig {
            idle_timeout: Duration::from_secs(3600),
            queue_timeout: Duration::from_secs(60),
            forward_logs: false,
            // awslambdaric appends its paths to `host:port/prefix`; lambda_runtime needs a URL.
            runtime_api_address: match target.runtime {
                Runtime::Rust => RuntimeApiAddress::Url,
                Runtime::Python => RuntimeApiAddress::HostPortPath,
            },
            ..LambdaConfig::default()
        },
    );
    let mut row = FunctionRow {
        function: target.label.clone(),
        runtime: target.runtime,
        route: target.route.route_key.clone(),
        ..FunctionRow::default()
    };
    let mut statuses = BTreeMap::new();
    for i in 0..counts.cold {
        if i > 0 {
            lambda.kill_instances(&name).await;
        }
        if let Some((ms, cold)) = invoke(&lambda, &target.route, workload, &mut statuses).await {
            if cold {
                row.cold_ms.push(ms);
            }
        } else {
            row.errors += 1;
        }
    }
    for _ in 0..counts.warm {
        match invoke(&lambda, &target.route, workload, &mut statuses).await {
            Some((ms, false)) => row.warm_ms.push(ms),
            // A cold start here means the warm instance died: not a warm sample.
            Some((_, true)) => {}
            None => row.errors += 1,
        }
    }
    row.peak_rss_kib = lambda
        .instance_pids(&name)
        .await
        .into_iter()
        .map(crate::procfs::peak_rss_kib)
        .max()
        .unwrap_or(0);
    row.statuses = statuses;
    lambda.shutdown().await;
    row
}

/// One invocation: its duration in ms and whether it was a cold start, or `None` when it
/// failed. The answer's status is counted in `statuses`.
async fn invoke(
    lambda: &Lambda,
    route: &Route,
    workload: &mut Workload,
    statuses: &mut BTreeMap<u16, u64>,
) -> Option<(f64, bool)> {
    let planned = workload.plan(route);
    let request_id = ulid::Ulid::new().to_string();
    let event = workload.event(route, &planned, &request_id);
    let started = Instant::now();
    let invoked = lambda.invoke(&route.function, event, &request_id).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let invoked = match invoked {
        Ok(invoked) => invoked,
        Err(e) => {
            eprintln!("bench: {}: {e}", route.function);
            return None;
        }
    };
    let response = http_api::event::response(&invoked.payload).ok()?;
    let status = response.status.as_u16();
    *statuses.entry(status).or_default() += 1;
    workload.observe(&planned, status, &response.headers, &response.body);
    Some((ms, invoked.cold))
}
