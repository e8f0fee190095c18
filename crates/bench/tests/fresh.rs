//! `BENCHMARKS.md` and `docs/bench/bench.svg` are what the committed measurements
//! (`docs/bench/results.json`, written by the same run) render to now: a change to the report's
//! wording, layout or analysis that was not re-rendered fails here. Re-render with
//! `cargo run -p bench --bin bench -- --root . --from-results docs/bench/results.json` (no measuring).

use std::path::{Path, PathBuf};

use bench::model::Measurements;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

#[test]
fn committed_report_and_chart_render_from_the_committed_results() {
    let root = root();
    let results = read(&root.join("docs/bench/results.json"));
    let m: Measurements = match serde_json::from_str(&results) {
        Ok(m) => m,
        Err(e) => panic!("docs/bench/results.json is not a bench results file: {e}"),
    };
    let stale = "stale: run `cargo run -p bench --bin bench -- --root . --from-results docs/bench/results.json`";
    let svg = match bench::chart::render(&m) {
        Ok(Some(svg)) => svg,
        Ok(None) => panic!("the committed results draw no chart"),
        Err(e) => panic!("the chart: {e}"),
    };
    assert!(
        svg == read(&root.join("docs/bench/bench.svg")),
        "docs/bench/bench.svg is {stale}"
    );
    let report = bench::report::render(
        &m,
        Some("docs/bench/bench.svg"),
        &bench::analysis::explain(&m),
    );
    assert!(
        report == read(&root.join("BENCHMARKS.md")),
        "BENCHMARKS.md is {stale}"
    );
}
