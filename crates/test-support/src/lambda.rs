//! `harness = false` tests that run their own binary again as a Lambda function under the local
//! stack's emulator (`local_aws::lambda`): the workspace forbids `unsafe`, so a test cannot set
//! the Lambda variables in its own process, and a function must be a process of its own anyway.
//!
//! ```no_run
//! use std::process::ExitCode;
//!
//! const MARKER: &str = "MY_TEST_CHILD";
//!
//! fn main() -> ExitCode {
//!     test_support::lambda::self_test(
//!         "my_test",
//!         MARKER,
//!         |runtime| runtime.block_on(async { Ok(()) }), // as the function
//!         |runtime| vec![("it_works", runtime.block_on(async { Ok(()) }))], // as the test
//!     )
//! }
//! ```

use std::process::ExitCode;
use std::time::Duration;

use local_aws::lambda::FunctionSpec;
use tokio::runtime::Runtime;

/// How long the function may take to answer: it only has to start (a debug build, on a busy
/// machine).
pub const ANSWER_WITHIN: Duration = Duration::from_secs(60);

/// This test binary as the function `name`, with `marker` set in its environment (so that
/// [`self_test`] runs it as the function) and an [`ANSWER_WITHIN`] timeout.
///
/// # Errors
/// When the path of this binary cannot be found.
pub fn this_binary_as_function(name: &str, marker: &str) -> Result<FunctionSpec, String> {
    let exe = std::env::current_exe().map_err(|e| format!("where is this test binary: {e}"))?;
    Ok(FunctionSpec::new(name, exe)
        .env(marker, "1")
        .timeout(ANSWER_WITHIN))
}

/// The `main` of such a test: with `marker` in the environment it runs `function` (the child
/// the emulator started); else it runs `tests`, printing each named result the way libtest
/// does (`test {binary}::{name} ... ok`). Fails when the runtime cannot start, the function
/// fails, or any test fails.
pub fn self_test(
    binary: &str,
    marker: &str,
    function: impl FnOnce(&Runtime) -> Result<(), String>,
    tests: impl FnOnce(&Runtime) -> Vec<(&'static str, Result<(), String>)>,
) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("{binary}: cannot start a tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if std::env::var_os(marker).is_some() {
        return match function(&runtime) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{binary} (as the function): {e}");
                ExitCode::FAILURE
            }
        };
    }
    let results = tests(&runtime);
    if results.is_empty() {
        eprintln!("{binary}: no test ran");
        return ExitCode::FAILURE;
    }
    let mut failed = false;
    for (name, result) in results {
        match result {
            Ok(()) => println!("test {binary}::{name} ... ok"),
            Err(e) => {
                eprintln!("test {binary}::{name} ... FAILED\n{e}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
