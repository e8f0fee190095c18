//! What a run did per function, the final table, and progress while it works.

use std::fmt;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::error::Error;

/// What happened to one function.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// New code is live: a version was published and `live` points at it.
    Updated {
        /// The published version `live` now points at.
        version: String,
        /// Wall-clock seconds this function took.
        seconds: f64,
    },
    /// `live` already runs this code; nothing was uploaded or published.
    Unchanged {
        /// The version `live` points at.
        version: String,
    },
    /// Dry run: the code differs from what `live` runs, so a deploy would update it.
    WouldUpdate {
        /// The version `live` points at now.
        version: String,
    },
    /// Rollback: `live` moved from one version to another.
    RolledBack {
        /// The version `live` pointed at before.
        from: String,
        /// The version `live` points at now.
        to: String,
        /// Wall-clock seconds this function took.
        seconds: f64,
    },
    /// The function failed; its alias is where it was.
    Failed {
        /// Why.
        error: Error,
        /// Wall-clock seconds until it failed.
        seconds: f64,
    },
}

impl Outcome {
    /// The short result word of the table: `updated`, `unchanged`, `would update`,
    /// `rolled back` or `failed`.
    #[must_use]
    pub fn label(&self) -> &'static str {
        match self {
            Self::Updated { .. } => "updated",
            Self::Unchanged { .. } => "unchanged",
            Self::WouldUpdate { .. } => "would update",
            Self::RolledBack { .. } => "rolled back",
            Self::Failed { .. } => "failed",
        }
    }

    /// The error, for a failed function.
    #[must_use]
    pub fn error(&self) -> Option<&Error> {
        match self {
            Self::Failed { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// One function's line in the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The function (crate) name.
    pub function: String,
    /// What happened.
    pub outcome: Outcome,
}

/// What a deploy or rollback did, one entry per function in input order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// The functions, in the order they were given.
    pub entries: Vec<Entry>,
}

impl Report {
    /// True when no function failed (the command's exit code).
    #[must_use]
    pub fn success(&self) -> bool {
        self.entries.iter().all(|e| e.outcome.error().is_none())
    }

    /// The outcome of `function`, if it was part of the run.
    #[must_use]
    pub fn outcome(&self, function: &str) -> Option<&Outcome> {
        self.entries
            .iter()
            .find(|e| e.function == function)
            .map(|e| &e.outcome)
    }
}

/// The final table (function, result, version, seconds), then one line per failure with its
/// error. Columns are space-aligned; lines have no trailing spaces.
///
/// ```text
/// function  result     version  seconds
/// get-note  updated    7        4.2
/// health    unchanged  3        -
/// me        failed     -        0.3
///
/// me: Lambda function `notes-me` does not exist (ResourceNotFoundException); hint: …
/// ```
#[must_use]
pub fn render_table(report: &Report) -> String {
    let mut rows = vec![[
        "function".to_owned(),
        "result".to_owned(),
        "version".to_owned(),
        "seconds".to_owned(),
    ]];
    for entry in &report.entries {
        let (version, seconds) = match &entry.outcome {
            Outcome::Updated { version, seconds } => (version.clone(), Some(*seconds)),
            Outcome::Unchanged { version } | Outcome::WouldUpdate { version } => {
                (version.clone(), None)
            }
            Outcome::RolledBack { from, to, seconds } => {
                (format!("{to} (was {from})"), Some(*seconds))
            }
            Outcome::Failed { seconds, .. } => ("-".to_owned(), Some(*seconds)),
        };
        rows.push([
            entry.function.clone(),
            entry.outcome.label().to_owned(),
            version,
            seconds.map_or_else(|| "-".to_owned(), |s| format!("{s:.1}")),
        ]);
    }
    let mut widths = [0usize; 4];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let _ = write!(line, "{cell:<width$}");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let failures: Vec<_> = report
        .entries
        .iter()
        .filter_map(|e| e.outcome.error().map(|err| (&e.function, err)))
        .collect();
    if !failures.is_empty() {
        out.push('\n');
        for (function, error) in failures {
            let _ = writeln!(out, "{function}: {error}");
        }
    }
    out
}

/// A step of the work on one function, reported while it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Comparing the local package with what `live` runs.
    Checking,
    /// `live` already runs this code.
    Unchanged {
        /// The version `live` points at.
        version: String,
    },
    /// Dry run: this function would be updated.
    WouldUpdate {
        /// The version `live` points at.
        version: String,
    },
    /// Putting the zip into the artifacts bucket.
    Uploading {
        /// The zip's size.
        bytes: u64,
        /// `s3://bucket/key`.
        url: String,
    },
    /// The zip was already in the bucket; no upload.
    AlreadyUploaded {
        /// `s3://bucket/key`.
        url: String,
    },
    /// Calling UpdateFunctionCode.
    Updating,
    /// Polling until `LastUpdateStatus` is `Successful`.
    Waiting,
    /// Publishing a version.
    Publishing,
    /// `live` now points at `to`.
    AliasMoved {
        /// The previous version.
        from: String,
        /// The new version.
        to: String,
    },
    /// The function failed (the report has the error).
    Failed,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Checking => f.write_str("checking…"),
            Self::Unchanged { version } => write!(f, "unchanged (live = {version})"),
            Self::WouldUpdate { version } => write!(f, "would update (live = {version})"),
            Self::Uploading { bytes, .. } => write!(f, "uploading {}…", human_size(*bytes)),
            Self::AlreadyUploaded { .. } => {
                f.write_str("the zip is already in the bucket, no upload")
            }
            Self::Updating => f.write_str("updating the function code…"),
            Self::Waiting => f.write_str("waiting for the update…"),
            Self::Publishing => f.write_str("publishing a version…"),
            Self::AliasMoved { from, to } => write!(f, "live -> {to} (was {from})"),
            Self::Failed => f.write_str("failed"),
        }
    }
}

/// A progress callback: the function (crate) name and the step.
type Callback = dyn Fn(&str, &Step) + Send + Sync;

/// Receives progress: the function (crate) name and the step. Cheap to clone.
#[derive(Clone)]
pub struct Progress(Arc<Callback>);

impl Progress {
    /// Calls `f` for every step.
    pub fn new(f: impl Fn(&str, &Step) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// Prints `function: step` lines to stderr, e.g. `get-note: uploading 3.1 MiB…`.
    #[must_use]
    pub fn stderr() -> Self {
        Self::new(|function, step| eprintln!("{function}: {step}"))
    }

    /// Reports nothing.
    #[must_use]
    pub fn silent() -> Self {
        Self::new(|_, _| {})
    }

    pub(crate) fn report(&self, function: &str, step: &Step) {
        (self.0)(function, step);
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::stderr()
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Progress(..)")
    }
}

/// A byte count for people: `512 B`, `12.0 KiB`, `3.1 MiB`.
#[must_use]
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    #[allow(clippy::cast_precision_loss)] // display only
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns_and_lists_failures() {
        let report = Report {
            entries: vec![
                Entry {
                    function: "get-note".into(),
                    outcome: Outcome::Updated {
                        version: "7".into(),
                        seconds: 4.21,
                    },
                },
                Entry {
                    function: "health".into(),
                    outcome: Outcome::Unchanged {
                        version: "3".into(),
                    },
                },
                Entry {
                    function: "me".into(),
                    outcome: Outcome::Failed {
                        error: Error::FunctionMissing {
                            function: "notes-me".into(),
                        },
                        seconds: 0.31,
                    },
                },
                Entry {
                    function: "list-notes".into(),
                    outcome: Outcome::RolledBack {
                        from: "5".into(),
                        to: "4".into(),
                        seconds: 0.5,
                    },
                },
            ],
        };
        let expected = "\
function    result       version    seconds
get-note    updated      7          4.2
health      unchanged    3          -
me          failed       -          0.3
list-notes  rolled back  4 (was 5)  0.5

me: Lambda function `notes-me` does not exist (ResourceNotFoundException); hint: run \
`terraform apply` in IaC/ first? (or check --region)
";
        assert_eq!(render_table(&report), expected);
        assert!(!report.success());
    }

    #[test]
    fn empty_and_successful_reports() {
        let report = Report::default();
        assert!(report.success());
        assert_eq!(
            render_table(&report),
            "function  result  version  seconds\n"
        );
        let report = Report {
            entries: vec![Entry {
                function: "health".into(),
                outcome: Outcome::WouldUpdate {
                    version: "2".into(),
                },
            }],
        };
        assert!(report.success());
        assert_eq!(
            report.outcome("health").map(Outcome::label),
            Some("would update")
        );
        assert_eq!(report.outcome("me"), None);
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1.0 KiB");
        assert_eq!(human_size(3_250_585), "3.1 MiB");
        assert_eq!(human_size(5 * 1024 * 1024 * 1024), "5.0 GiB");
    }

    #[test]
    fn steps_read_like_the_progress_lines() {
        let step = Step::Uploading {
            bytes: 3_250_585,
            url: "s3://b/get-note/ab.zip".into(),
        };
        assert_eq!(step.to_string(), "uploading 3.1 MiB…");
        let step = Step::AliasMoved {
            from: "6".into(),
            to: "7".into(),
        };
        assert_eq!(step.to_string(), "live -> 7 (was 6)");
    }
}
