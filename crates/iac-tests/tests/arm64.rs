//! The packaged arm64 `bootstrap` really runs: each zip that `cargo xtask package` made is
//! unpacked, its binary started under qemu-user (the arm64 glibc as its sysroot) against a
//! minimal Lambda Runtime API served by this test, handed one API Gateway v2 event, and its
//! answer checked.
//!
//! `cargo xtask test` packages the functions, unpacks qemu into `.tools/debs` and sets
//! `QEMU_AARCH64` and `QEMU_LD_PREFIX`; without them this test fails and says so.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{Notify, mpsc};

/// How long one function may take to start under emulation and answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

const REQUEST_ID: &str = "8f5c1a3e-0000-4000-8000-000000000001";

/// The Runtime API's state: the one event to hand out and where the answer goes.
#[derive(Clone)]
struct RuntimeApi {
    event: Arc<Mutex<Option<String>>>,
    answers: mpsc::Sender<(String, String)>,
    never: Arc<Notify>,
}

async fn next(State(api): State<RuntimeApi>) -> (HeaderMap, String) {
    let event = api.event.lock().ok().and_then(|mut e| e.take());
    let Some(event) = event else {
        // One invocation per process: later polls wait until the process is killed.
        api.never.notified().await;
        return (HeaderMap::new(), String::new());
    };
    let mut headers = HeaderMap::new();
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
        + 30_000;
    for (name, value) in [
        ("lambda-runtime-aws-request-id", REQUEST_ID.to_owned()),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:arm64-test:live".to_owned(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".to_owned(),
        ),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    (headers, event)
}

async fn respond(
    State(api): State<RuntimeApi>,
    UrlPath(id): UrlPath<String>,
    body: String,
) -> StatusCode {
    let _ = api.answers.send((format!("response {id}"), body)).await;
    StatusCode::ACCEPTED
}

async fn error(
    State(api): State<RuntimeApi>,
    UrlPath(id): UrlPath<String>,
    body: String,
) -> StatusCode {
    let _ = api.answers.send((format!("error {id}"), body)).await;
    StatusCode::ACCEPTED
}

async fn init_error(State(api): State<RuntimeApi>, body: String) -> StatusCode {
    let _ = api.answers.send(("init error".to_owned(), body)).await;
    StatusCode::ACCEPTED
}

/// Kills the emulated process however the test ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn env_path(name: &str) -> PathBuf {
    match std::env::var_os(name) {
        Some(value) if !value.is_empty() => PathBuf::from(value),
        _ => panic!(
            "{name} is not set: run this test through `cargo xtask test`, which unpacks \
             qemu-user and the arm64 sysroot into .tools/debs and sets QEMU_AARCH64 and \
             QEMU_LD_PREFIX"
        ),
    }
}

/// The `bootstrap` entry of a packaged zip, written to `dir` as an executable.
fn unpack_bootstrap(zip_path: &Path, dir: &Path) -> PathBuf {
    let file = match std::fs::File::open(zip_path) {
        Ok(f) => f,
        Err(e) => panic!(
            "cannot open {}: {e}; run `cargo xtask package` first (cargo xtask test does)",
            zip_path.display()
        ),
    };
    let mut archive = match zip::ZipArchive::new(file) {
        Ok(a) => a,
        Err(e) => panic!("{} is not a zip: {e}", zip_path.display()),
    };
    assert_eq!(archive.len(), 1, "{}: one entry", zip_path.display());
    let mut entry = match archive.by_name("bootstrap") {
        Ok(e) => e,
        Err(e) => panic!("{} has no bootstrap entry: {e}", zip_path.display()),
    };
    assert_eq!(
        entry.unix_mode().map(|m| m & 0o777),
        Some(0o755),
        "bootstrap must be executable in the zip (Lambda runs it as is)"
    );
    let mut binary = Vec::new();
    if let Err(e) = entry.read_to_end(&mut binary) {
        panic!("read bootstrap from {}: {e}", zip_path.display());
    }
    // ELF header: 64-bit, little-endian, e_machine EM_AARCH64 (183).
    assert!(binary.starts_with(b"\x7fELF\x02\x01"), "not a 64-bit ELF");
    assert_eq!(
        u16::from_le_bytes([binary[18], binary[19]]),
        183,
        "{}: not an arm64 binary",
        zip_path.display()
    );
    let path = dir.join("bootstrap");
    let written = std::fs::write(&path, &binary).and_then(|()| {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
    });
    if let Err(e) = written {
        panic!("write {}: {e}", path.display());
    }
    path
}

/// Starts `function`'s packaged bootstrap under qemu, hands it `event`, returns what it posted
/// back: (`response <id>` | `error <id>` | `init error`, body).
async fn invoke(function: &str, event: &str, extra_env: &[(&str, &str)]) -> (String, String) {
    let qemu = env_path("QEMU_AARCH64");
    let sysroot = env_path("QEMU_LD_PREFIX");
    assert!(qemu.is_file(), "{} does not exist", qemu.display());
    let root = iac_tests::workspace_root();
    let zip_path = iac_tests::package_dir(&root)
        .join(function)
        .join("bootstrap.zip");
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("a temporary directory: {e}"),
    };
    let bootstrap = unpack_bootstrap(&zip_path, dir.path());

    let (answers, mut received) = mpsc::channel(4);
    let api = RuntimeApi {
        event: Arc::new(Mutex::new(Some(event.to_owned()))),
        answers,
        never: Arc::new(Notify::new()),
    };
    let app = axum::Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(respond),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(api);
    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => panic!("bind the Runtime API: {e}"),
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => panic!("the Runtime API's address: {e}"),
    };
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let mut command = Command::new(&qemu);
    command
        .arg(&bootstrap)
        .env_clear()
        .env("QEMU_LD_PREFIX", &sysroot)
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", format!("arm64-test-{function}"))
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "arm64-test")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/arm64-test")
        .env("AWS_REGION", "us-east-1")
        .envs(extra_env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let child = match command.spawn() {
        Ok(c) => Killed(c),
        Err(e) => panic!(
            "start {} under {}: {e}",
            bootstrap.display(),
            qemu.display()
        ),
    };
    let answer = tokio::time::timeout(ANSWER_TIMEOUT, received.recv()).await;
    let mut child = child;
    let exited = child.0.try_wait().ok().flatten();
    server.abort();
    match answer {
        Ok(Some(answer)) => answer,
        _ => {
            let _ = child.0.kill();
            let mut stderr = String::new();
            if let Some(mut pipe) = child.0.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            panic!(
                "{function} under qemu did not answer within {}s (exit: {exited:?}); stderr:\n{stderr}",
                ANSWER_TIMEOUT.as_secs()
            );
        }
    }
}

fn event(method: &str, path: &str, claims: Option<Value>) -> String {
    let mut event = serde_json::json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"accept": "application/json", "host": "abc123.execute-api.us-east-1.amazonaws.com"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "arm64-test"},
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": format!("{method} {path}"),
            "stage": "$default",
            "time": "10/Mar/2026:00:00:00 +0000",
            "timeEpoch": 1_773_100_800_000_u64
        },
        "isBase64Encoded": false
    });
    if let Some(claims) = claims {
        event["requestContext"]["authorizer"] =
            serde_json::json!({"jwt": {"claims": claims, "scopes": null}});
    }
    event.to_string()
}

fn http_answer(kind: &str, body: &str) -> (u64, Value) {
    assert_eq!(kind, format!("response {REQUEST_ID}"), "body: {body}");
    let response: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => panic!("the function's answer is not JSON ({e}): {body}"),
    };
    let status = response["statusCode"].as_u64().unwrap_or_default();
    let payload = response["body"].as_str().unwrap_or_default();
    let payload: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
    (status, payload)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packaged_arm64_health_answers_under_qemu() {
    let (kind, body) = invoke("health", &event("GET", "/health", None), &[]).await;
    let (status, payload) = http_answer(&kind, &body);
    assert_eq!(status, 200, "{body}");
    assert_eq!(payload["status"], "ok", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packaged_arm64_me_reads_the_authorizer_claims_under_qemu() {
    let claims = serde_json::json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "cognito:username": "alice",
        "cognito:groups": "[admin users]",
        "email": "alice@example.com",
        "token_use": "id",
        "aud": "client123",
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123",
        "exp": "1657193758",
        "iat": "1657190158"
    });
    let (kind, body) = invoke("me", &event("GET", "/me", Some(claims)), &[]).await;
    let (status, payload) = http_answer(&kind, &body);
    assert_eq!(status, 200, "{body}");
    assert_eq!(payload["sub"], "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
    assert_eq!(payload["groups"], serde_json::json!(["admin", "users"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packaged_arm64_get_note_answers_404_from_an_empty_filesystem_store() {
    let data = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("a temporary directory: {e}"),
    };
    let Some(data_dir) = data.path().to_str() else {
        panic!("a UTF-8 temporary path");
    };
    let claims = serde_json::json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "token_use": "id",
        "aud": "client123",
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123",
        "exp": "1657193758",
        "iat": "1657190158"
    });
    let mut event: Value = match serde_json::from_str(&event(
        "GET",
        "/notes/01J0000000000000000000000A",
        Some(claims),
    )) {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    };
    event["routeKey"] = "GET /notes/{id}".into();
    event["requestContext"]["routeKey"] = "GET /notes/{id}".into();
    event["pathParameters"] = serde_json::json!({"id": "01J0000000000000000000000A"});
    let (kind, body) = invoke(
        "get-note",
        &event.to_string(),
        &[("NOTES_STORE", "fs"), ("NOTES_DIR", data_dir)],
    )
    .await;
    let (status, payload) = http_answer(&kind, &body);
    assert_eq!(status, 404, "{body}");
    assert_eq!(payload["status"], 404, "a problem+json body: {body}");
}
