//! A function at the most verbose log level writes no token, cookie, claim value or note body:
//! this test binary runs itself again as a note-creating function
//! (`notes_http::init_notes_function` with a filesystem store, which installs
//! `http_api::init_tracing`'s subscriber, then `http_api::run`) against a Runtime API served here
//! on loopback (http-api's `tests/common`), hands it one `POST /notes` event carrying a bearer
//! token, a cookie, an e-mail claim and a note, and reads everything the function wrote to
//! stdout and stderr.
//!
//! It runs the function twice: with `LOG_LEVEL=trace` (the most verbose level `IaC/variables.tf`
//! accepts) and with `RUST_LOG=trace` (every crate at trace, for experts). Upstream
//! `lambda_runtime` logs the whole invocation event at TRACE ("raw JSON event received from
//! Lambda"); `http_api`'s filter keeps that event off at every level.
//!
//! Without a harness (`harness = false`), for the reason given in `common/mod.rs`.

#[path = "../../http-api/tests/common/mod.rs"]
mod common;

use std::{process::ExitCode, time::Duration};

use http_api::{
    Body, Problem, Request, Response,
    testing::{ClaimsFixture, Event},
};
use notes::{AnyStore, NoteInput, NotesService};
use serde_json::Value;
use tokio::io::AsyncReadExt;

/// Set in the child's environment: run as the function.
const CHILD: &str = "NOTES_HTTP_NO_SECRETS_LOGGED_CHILD";
/// How long the child may take to answer (it only has to start).
const ANSWER_WITHIN: Duration = Duration::from_secs(60);

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
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("no_secrets_logged: cannot start a tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if std::env::var_os(CHILD).is_some() {
        return match runtime.block_on(child()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("no_secrets_logged child: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let mut failed = false;
    for (name, variable) in [
        ("log_level_trace_writes_no_secrets", "LOG_LEVEL"),
        ("rust_log_trace_writes_no_secrets", "RUST_LOG"),
    ] {
        match runtime.block_on(parent(variable)) {
            Ok(()) => println!("test no_secrets_logged::{name} ... ok"),
            Err(e) => {
                eprintln!("test no_secrets_logged::{name} ... FAILED\n{e}");
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

/// The child: what `notes_http::notes_main!` runs, with the create-note handler.
async fn child() -> Result<(), lambda_http::Error> {
    let service = notes_http::init_notes_function().await?;
    http_api::run(|req| create(&service, req)).await
}

async fn create(service: &NotesService<AnyStore>, req: Request) -> Result<Response<Body>, Problem> {
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
    let (address, mut answered) = common::serve(vec![common::Invocation {
        request_id: "no-secrets-1".to_owned(),
        trace_id: "Root=1-67a1b2c3-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=0"
            .to_owned(),
        event,
    }])
    .await?;
    let mut command = common::function_command(CHILD, "no-secrets-logged", address)?;
    for name in [
        "RUST_LOG",
        "LOG_LEVEL",
        "AWS_LAMBDA_LOG_LEVEL",
        "NOTES_BUCKET",
    ] {
        command.env_remove(name);
    }
    let mut child = command
        .env(variable, "trace")
        .env("NOTES_STORE", "fs")
        .env("NOTES_DIR", dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the child function: {e}"))?;
    let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err("the child's output is not piped".into());
    };
    let read_out = tokio::spawn(async move {
        let mut text = Vec::new();
        let _ = stdout.read_to_end(&mut text).await;
        text
    });
    let read_err = tokio::spawn(async move {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text).await;
        text
    });

    let answer = tokio::select! {
        answer = tokio::time::timeout(ANSWER_WITHIN, answered.recv()) => answer,
        status = child.wait() => {
            let output = String::from_utf8_lossy(&read_err.await.unwrap_or_default()).into_owned();
            return Err(format!("the function exited before answering: {status:?}\n{output}"));
        }
    };
    let posted = match answer {
        Ok(Some((_, posted))) => posted,
        Ok(None) => return Err("the Runtime API stopped".into()),
        Err(_) => return Err(format!("no answer within {ANSWER_WITHIN:?}")),
    };
    // Everything the function wrote: stop it, then read both pipes to their end.
    let _ = child.kill().await;
    let stdout = read_out.await.map_err(|e| format!("reading stdout: {e}"))?;
    let stderr = read_err.await.map_err(|e| format!("reading stderr: {e}"))?;
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr)
    );

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
