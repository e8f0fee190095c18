//! A function at the most verbose log level writes no token, cookie, claim value or note body:
//! this test binary runs itself again as a note-creating function
//! (`notes_http::init_notes_function` with a filesystem store, which installs
//! `http_api::init_tracing`'s subscriber, then `http_api::run`) under the local stack's Lambda
//! emulator (`local_aws::lambda`), hands it one `POST /notes` event carrying a bearer
//! token, a cookie, an e-mail claim and a note, and reads everything the function wrote to
//! stdout and stderr.
//!
//! It runs the function twice: with `LOG_LEVEL=trace` (the most verbose level `IaC/variables.tf`
//! accepts) and with `RUST_LOG=trace` (every crate at trace, for experts). Upstream
//! `lambda_runtime` logs the whole invocation event at TRACE ("raw JSON event received from
//! Lambda"); `http_api`'s filter keeps that event off at every level.
//!
//! Without a harness (`harness = false`): the workspace forbids `unsafe`, so the test cannot set
//! the Lambda variables in its own process; it runs itself again as the function.

use std::process::ExitCode;

use http_api::{
    Reply, Request,
    testing::{ClaimsFixture, Event},
};
use local_aws::lambda::{Lambda, LambdaConfig};
use notes::NoteInput;
use notes_http::Notes;
use serde_json::Value;
use test_support::lambda::this_binary_as_function;

/// Set in the child's environment: run as the function.
const CHILD: &str = "NOTES_HTTP_NO_SECRETS_LOGGED_CHILD";

/// What must never be logged, by what it is.
const SECRETS: [(&str, &str); 6] = [
    // A JWT in compact form (header `{"alg":"RS256","kid":"k1"}`, payload `{"sub":"…"}`).
    (
        "the bearer token",
        "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJzdWItbG9nIn0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg",
    ),
    ("the cookie", "session=cookie-value-4d1f9a"),
    ("the cookie's value", "cookie-value-4d1f9a"),
    ("the note's title", "title-marker-8e2b7c"),
    ("the note's body", "body-marker-5a3c91"),
    ("the e-mail claim", "sub-log-mail@example.com"),
];

fn main() -> ExitCode {
    test_support::lambda::self_test(
        "no_secrets_logged",
        CHILD,
        |runtime| runtime.block_on(child()).map_err(|e| e.to_string()),
        |runtime| {
            vec![
                (
                    "log_level_trace_writes_no_secrets",
                    runtime.block_on(parent("LOG_LEVEL")),
                ),
                (
                    "rust_log_trace_writes_no_secrets",
                    runtime.block_on(parent("RUST_LOG")),
                ),
            ]
        },
    )
}

/// The child: what `notes_http::notes_main!` runs, with the create-note handler.
async fn child() -> Result<(), lambda_http::Error> {
    let service = notes_http::init_notes_function().await?;
    http_api::run(|req| create(&service, req)).await
}

async fn create(service: &Notes, req: Request) -> Reply {
    let (_, owner) = notes_http::caller(&req)?;
    let input: NoteInput = http_api::parse_json(&req)?;
    let note = service
        .create(&owner, input)
        .await
        .map_err(notes_http::problem)?;
    Ok(notes_http::note_created(&note))
}

/// The event: every secret of [`SECRETS`] in it, where API Gateway puts it.
fn event() -> String {
    let claims = ClaimsFixture::id_token("sub-log").set("email", SECRETS[5].1);
    Event::new("POST /notes")
        .claims(claims)
        .header("authorization", &format!("Bearer {}", SECRETS[0].1))
        .cookie(SECRETS[1].1)
        .json_body(&serde_json::json!({
            "title": SECRETS[3].1,
            "body": SECRETS[4].1,
            "tags": ["log-test"],
        }))
        .to_json()
        .to_string()
}

/// Runs the function with `variable=trace`, invokes it once, and checks its output.
async fn parent(variable: &str) -> Result<(), String> {
    let event = event();
    for (what, secret) in SECRETS {
        if !event.contains(secret) {
            return Err(format!("the event lacks {what}: {event}"));
        }
    }
    let dir = tempfile::tempdir().map_err(|e| format!("a temporary directory: {e}"))?;
    let log = dir.path().join("function.log");
    let data = dir.path().join("notes");
    // The emulator starts the process with a clean environment: nothing of this test's own
    // `RUST_LOG` or `LOG_LEVEL` reaches it, only what is set here.
    let lambda = Lambda::new(
        [this_binary_as_function("no-secrets-logged", CHILD)?
            .env(variable, "trace")
            .env("NOTES_STORE", "fs")
            .env("NOTES_DIR", data.display().to_string())],
        LambdaConfig {
            forward_logs: false,
            log_file: Some(log.clone()),
            ..LambdaConfig::default()
        },
    );
    let invoked = lambda
        .invoke("no-secrets-logged", event.into_bytes(), "no-secrets-1")
        .await;
    // Everything the function wrote is in the log once it is stopped.
    lambda.shutdown().await;
    let written = std::fs::read_to_string(&log).unwrap_or_default();
    let posted = invoked
        .map_err(|e| format!("the invocation failed: {e}\n{written}"))?
        .payload;
    // Each line as the function wrote it, without the emulator's `[name#instance] ` label.
    let output: String = written
        .lines()
        .map(|line| line.split_once("] ").map_or(line, |(_, rest)| rest))
        .map(|line| format!("{line}\n"))
        .collect();

    let response: Value = serde_json::from_slice(&posted)
        .map_err(|e| format!("the runtime posted no JSON ({e}): {posted:?}"))?;
    if response["statusCode"] != 201 {
        return Err(format!("expected a 201 from the function, got {response}"));
    }
    // The log is there: the request's line, at info, from this project's code.
    let done = output.lines().any(|line| {
        serde_json::from_str::<Value>(line).is_ok_and(|line| {
            line["fields"]["message"] == "request done" && line["fields"]["status"] == 201
        })
    });
    if !done {
        return Err(format!(
            "no `request done` line with status 201 in:\n{output}"
        ));
    }
    let leaked: Vec<&str> = SECRETS
        .iter()
        .filter(|(_, secret)| output.contains(secret))
        .map(|(what, _)| *what)
        .collect();
    if leaked.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{variable}=trace: the function logged {}:\n{output}",
            leaked.join(", ")
        ))
    }
}
