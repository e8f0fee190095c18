//! The `soak` binary that `cargo xtask soak` runs once it has built the functions in release:
//! a fresh local stack in `target/soak`, the load of [`bench::soak`] against it, the report
//! (Markdown) on stdout, and exit status 1 when the run missed a bar.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bench::soak::{self, SoakOptions};
use clap::Parser;
use local_aws::stack::{StackConfig, Store};

/// A bounded load run against a fresh local stack (its own state dir and ports): mixed
/// routes over notes each client creates, replaces and deletes, then every kept note read
/// back. Exits 1 when a request failed, a note was lost, duplicated or resurrected, or
/// memory grew more than 10 % after the warm-up.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask soak", bin_name = "cargo xtask soak")]
struct SoakArgs {
    /// Concurrent clients.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: u16,
    /// How long to load after the warm-up, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    duration: u64,
    /// The warm-up, with the same load: invocations per function instance before memory is
    /// first measured (at most 300 s). An instance's heap takes a few hundred to settle.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    warm_up: u64,
    /// The most requests in all.
    #[arg(long, value_name = "N", default_value_t = 5_000_000)]
    max_requests: u64,
    /// Where the function binaries are.
    #[arg(long, value_name = "DIR", default_value = "target/debug")]
    bin_dir: PathBuf,
    /// Instances per function.
    #[arg(long, value_name = "N", default_value_t = 8)]
    max_instances: usize,
    /// Append the report (Markdown) to this file as well.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = SoakArgs::parse();
    // The stack would log a line per request: the soak reports warnings only, unless asked.
    local_aws::cli::init_logging("warn");
    local_aws::cli::block_on(run(args))
}

async fn run(args: SoakArgs) -> Result<(), String> {
    let root = std::env::current_dir().map_err(|e| e.to_string())?;
    let state = root.join("target/soak");
    let _ = std::fs::remove_dir_all(&state);
    let mut config = StackConfig::for_workspace(&root);
    config.bin_dir = args.bin_dir.clone();
    config.state_dir = state.clone();
    config.store = Store::Fs(state.join("notes"));
    config.max_instances = args.max_instances;
    config.forward_logs = false;
    let options = SoakOptions {
        concurrency: usize::from(args.concurrency),
        duration: Duration::from_secs(args.duration),
        warm_up_invocations: args.warm_up,
        max_requests: args.max_requests,
    };
    eprintln!(
        "soak: {} clients, a warm-up of {} invocations per instance, then {} s, against the real \
         binaries in {} (state in {})",
        options.concurrency,
        args.warm_up,
        args.duration,
        args.bin_dir.display(),
        state.display()
    );
    let report = soak::run(config, &options)
        .await
        .map_err(|e| e.to_string())?;
    let text = report.render(&options);
    println!("{text}");
    for sample in &report.failure_samples {
        eprintln!("soak: failed: {sample}");
    }
    if let Some(path) = &args.report {
        let header = format!(
            "\n### Soak, {}\n\n",
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
        );
        let mut existing = std::fs::read_to_string(path).unwrap_or_default();
        existing.push_str(&header);
        existing.push_str(&text);
        std::fs::write(path, existing).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if report.passed() {
        Ok(())
    } else {
        Err("the soak failed (see the report above)".to_owned())
    }
}
