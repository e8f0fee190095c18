//! What the bench reads from disk rather than measures with a clock: file sizes, criterion's
//! estimates, and a description of the machine.

use std::path::Path;

use serde_json::Value;

use crate::model::{JwtRow, SizeRow};

/// Sizes of `function`'s arm64 zip (`<lambda_dir>/<function>/bootstrap.zip`) and x86_64
/// binary (`<bin_dir>/<function>`); `with_sdk` is whether the function table gives it access
/// to the notes table (the only functions that link the AWS SDK).
#[must_use]
pub fn size_row(function: &str, with_sdk: bool, lambda_dir: &Path, bin_dir: &Path) -> SizeRow {
    let size = |path: &Path| std::fs::metadata(path).ok().map(|m| m.len());
    SizeRow {
        function: function.to_owned(),
        arm64_zip: size(&lambda_dir.join(function).join("bootstrap.zip")),
        x86_64_binary: size(&bin_dir.join(function)),
        with_sdk,
    }
}

/// Criterion's estimates for benchmark `id` under `criterion_dir`
/// (`<dir>/<id>/new/estimates.json`): the mean and its confidence interval.
///
/// # Errors
/// When the file is missing or not criterion's shape.
pub fn criterion_estimate(criterion_dir: &Path, id: &str) -> Result<JwtRow, String> {
    let path = criterion_dir.join(id).join("new").join("estimates.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_estimates(id, &text)
        .ok_or_else(|| format!("{}: not criterion's estimates", path.display()))
}

/// Parses criterion's `estimates.json`.
#[must_use]
pub fn parse_estimates(id: &str, text: &str) -> Option<JwtRow> {
    let value: Value = serde_json::from_str(text).ok()?;
    let mean = &value["mean"];
    let ci = &mean["confidence_interval"];
    Some(JwtRow {
        benchmark: id.to_owned(),
        mean_ns: mean["point_estimate"].as_f64()?,
        mean_ci_ns: (ci["lower_bound"].as_f64()?, ci["upper_bound"].as_f64()?),
    })
}

/// `CPU model, N cores, M GiB` from `/proc`.
#[must_use]
pub fn machine() -> String {
    let model = crate::procfs::cpu_model().unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let mem_kib = crate::procfs::mem_total_kib();
    format!(
        "{model}, {cores} cores, {:.0} GiB, {} {}",
        mem_kib as f64 / 1024.0 / 1024.0,
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// The output of a command's first line, or `unknown`.
#[must_use]
pub fn command_line(program: &str, args: &[&str], dir: &Path) -> String {
    std::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn criterion_estimates() {
        let text = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":24900.5,"upper_bound":25100.0},"point_estimate":25000.0,"standard_error":50.0},"median":{}}"#;
        let row = parse_estimates("verify_id_token", text);
        let Some(row) = row else {
            panic!("not parsed");
        };
        assert_eq!(row.mean_ns, 25_000.0);
        assert_eq!(row.mean_ci_ns, (24_900.5, 25_100.0));
        assert_eq!(row.per_second(), 40_000.0);
        assert_eq!(parse_estimates("x", "{}"), None);
        assert_eq!(parse_estimates("x", "not json"), None);
    }

    #[test]
    fn sizes_of_missing_files_are_none() {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("tempdir: {e}"),
        };
        let written = std::fs::create_dir_all(dir.path().join("lambda/me"))
            .and_then(|()| std::fs::write(dir.path().join("lambda/me/bootstrap.zip"), [0; 10]));
        assert!(written.is_ok(), "{written:?}");
        let row = size_row(
            "me",
            true,
            &dir.path().join("lambda"),
            &dir.path().join("release"),
        );
        assert_eq!(row.arm64_zip, Some(10));
        assert_eq!(row.x86_64_binary, None);
        assert!(row.with_sdk);
    }
}
