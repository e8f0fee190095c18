//! Unit-test helper: run code under the crate's JSON log subscriber and collect its output.

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use tracing::level_filters::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::logging::{LogFilter, subscriber};

/// Runs `f` with the JSON-lines subscriber `init_tracing` installs (level `info`), writing
/// to memory; returns `f`'s result and the log lines, each parsed as JSON.
pub(crate) fn capture_logs<R>(f: impl FnOnce() -> R) -> (R, Vec<serde_json::Value>) {
    let capture = Capture::default();
    let subscriber = subscriber(LogFilter::level(LevelFilter::INFO), capture.clone());
    let result = tracing::subscriber::with_default(subscriber, f);
    let text = capture
        .0
        .lock()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let lines = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("every log line is JSON"))
        .collect();
    (result, lines)
}

/// Collects what the subscriber writes.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut bytes) = self.0.lock() {
            bytes.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl MakeWriter<'_> for Capture {
    type Writer = Capture;

    fn make_writer(&self) -> Capture {
        self.clone()
    }
}
