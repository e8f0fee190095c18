//! The packaged arm64 `bootstrap` really runs: each zip that `cargo xtask package` made is
//! unpacked, its binary started under qemu-user (the arm64 glibc as its sysroot) by the local
//! stack's Lambda emulator (`local_aws::lambda`, the Runtime API `cargo xtask dev` uses; it runs
//! `qemu-aarch64 bootstrap`), handed one API Gateway v2 event (`http_api::testing::Event`, the
//! builder the functions' own tests use), and its answer checked.
//!
//! `cargo xtask test` packages the functions, unpacks qemu into `.tools/debs` and sets
//! `QEMU_AARCH64` and `QEMU_LD_PREFIX`; without them this test fails and says so.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http_api::testing::{ClaimsFixture, Event};
use local_aws::lambda::{FunctionSpec, InvokeError, Lambda, LambdaConfig};
use serde_json::Value;

/// How long one function may take to start under emulation and answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

const REQUEST_ID: &str = "8f5c1a3e-0000-4000-8000-000000000001";

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

/// Starts `function`'s packaged bootstrap under qemu, hands it `event`, returns the API Gateway
/// response it posted, or what Lambda would report instead.
async fn invoke(
    function: &str,
    event: &Event,
    extra_env: &[(&str, &str)],
) -> Result<Value, InvokeError> {
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
    let mut env = vec![("QEMU_LD_PREFIX".to_owned(), sysroot.display().to_string())];
    env.extend(
        extra_env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let name = format!("arm64-test-{function}");
    let lambda = Lambda::new(
        [FunctionSpec::new(&name, qemu)
            .arg(bootstrap)
            .envs(env)
            .timeout(ANSWER_TIMEOUT)],
        LambdaConfig::default(),
    );
    let invoked = lambda
        .invoke(&name, event.to_json().to_string().into_bytes(), REQUEST_ID)
        .await;
    lambda.shutdown().await;
    let invoked = invoked?;
    match serde_json::from_slice(&invoked.payload) {
        Ok(response) => Ok(response),
        Err(e) => panic!(
            "{function}'s answer is not JSON ({e}): {}",
            String::from_utf8_lossy(&invoked.payload)
        ),
    }
}

/// The status and JSON body of `function`'s answer to `event`.
async fn http_answer(function: &str, event: &Event, extra_env: &[(&str, &str)]) -> (u64, Value) {
    let response = match invoke(function, event, extra_env).await {
        Ok(response) => response,
        Err(e) => panic!("{function} under qemu: {e}"),
    };
    let status = response["statusCode"].as_u64().unwrap_or_default();
    let payload = response["body"].as_str().unwrap_or_default();
    let payload: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
    (status, payload)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packaged_arm64_health_answers_under_qemu() {
    let (status, payload) = http_answer("health", &Event::new("GET /health"), &[]).await;
    assert_eq!(status, 200, "{payload}");
    assert_eq!(payload["status"], "ok", "{payload}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packaged_arm64_me_reads_the_authorizer_claims_under_qemu() {
    let sub = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
    let claims = ClaimsFixture::id_token(sub).groups(&["admin", "users"]);
    let (status, payload) = http_answer("me", &Event::new("GET /me").claims(claims), &[]).await;
    assert_eq!(status, 200, "{payload}");
    assert_eq!(payload["sub"], sub);
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
    let event = Event::new("GET /notes/{id}")
        .path_param("id", "01J0000000000000000000000A")
        .claims(ClaimsFixture::id_token(
            "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        ));
    let (status, payload) = http_answer(
        "get-note",
        &event,
        &[("NOTES_STORE", "fs"), ("NOTES_DIR", data_dir)],
    )
    .await;
    assert_eq!(status, 404, "{payload}");
    assert_eq!(payload["status"], 404, "a problem+json body: {payload}");
}
