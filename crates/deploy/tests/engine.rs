//! The deploy and rollback engine against moto server (a local AWS), whose URL comes from
//! `MOTO_ENDPOINT`. Every test creates its own bucket, IAM role and functions (created with
//! the SDK, `provided.al2023` on arm64, alias `live` on version 1), so tests run in parallel.
//!
//! Run: `cargo xtask test` (it starts moto server), or start `moto_server -H 127.0.0.1 -p PORT`
//! and run `MOTO_ENDPOINT=http://127.0.0.1:PORT cargo test -p deploy`.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, FunctionCode, Runtime};
use aws_sdk_s3::primitives::ByteStream;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use deploy::{
    ClientSettings, Clients, DeployOptions, Error, Manifest, Outcome, Progress, Report,
    StackOutputs, Step,
};
use sha2::{Digest as _, Sha256};
use tempfile::TempDir;
use test_support::moto::{endpoint as moto_endpoint, sdk_config};

const ROLE_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// A zip with one `bootstrap` entry holding `content` (Lambda never runs it on moto).
fn zip_of(content: &[u8]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    let Ok(()) = writer.start_file("bootstrap", options) else {
        panic!("start the zip entry");
    };
    let Ok(()) = writer.write_all(content) else {
        panic!("write the zip entry");
    };
    match writer.finish() {
        Ok(cursor) => cursor.into_inner(),
        Err(e) => panic!("finish the zip: {e}"),
    }
}

fn code_sha256(zip: &[u8]) -> String {
    BASE64.encode(Sha256::digest(zip))
}

fn sha256_hex(zip: &[u8]) -> String {
    hex::encode(Sha256::digest(zip))
}

/// Progress steps, recorded.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<(String, Step)>>>);

impl Recorder {
    fn progress(&self) -> Progress {
        let steps = Arc::clone(&self.0);
        Progress::new(move |function, step| {
            let Ok(mut steps) = steps.lock() else {
                panic!("the recorder's lock is poisoned");
            };
            steps.push((function.to_owned(), step.clone()));
        })
    }

    fn steps(&self, function: &str) -> Vec<Step> {
        let Ok(steps) = self.0.lock() else {
            panic!("the recorder's lock is poisoned");
        };
        steps
            .iter()
            .filter(|(f, _)| f == function)
            .map(|(_, s)| s.clone())
            .collect()
    }

    fn uploaded(&self, function: &str) -> bool {
        self.steps(function)
            .iter()
            .any(|s| matches!(s, Step::Uploading { .. }))
    }

    fn clear(&self) {
        let Ok(mut steps) = self.0.lock() else {
            panic!("the recorder's lock is poisoned");
        };
        steps.clear();
    }
}

/// One test's world: a bucket, a role, functions, a directory for zips.
struct Fixture {
    id: String,
    endpoint: String,
    clients: Clients,
    lambda: aws_sdk_lambda::Client,
    s3: aws_sdk_s3::Client,
    bucket: String,
    role_arn: String,
    dir: TempDir,
    function_names: BTreeMap<String, String>,
    recorder: Recorder,
}

impl Fixture {
    async fn new() -> Self {
        let endpoint = moto_endpoint();
        let config = sdk_config(&endpoint);
        let id = ulid::Ulid::new().to_string().to_lowercase();
        let clients = match Clients::from_sdk_config(&config) {
            Ok(c) => c,
            Err(e) => panic!("build the clients: {e}"),
        };
        let lambda = clients.lambda().clone();
        let s3 = clients.s3().clone();
        let bucket = format!("deploy-test-{id}");
        if let Err(e) = s3.create_bucket().bucket(&bucket).send().await {
            panic!("create a bucket on moto (is MOTO_ENDPOINT right?): {e:?}");
        }
        let iam = aws_sdk_iam::Client::new(&config);
        let role = iam
            .create_role()
            .role_name(format!("deploy-test-{id}"))
            .assume_role_policy_document(ROLE_POLICY)
            .send()
            .await;
        let role_arn = match role.map(|r| r.role.map(|r| r.arn)) {
            Ok(Some(arn)) => arn,
            other => panic!("create an IAM role on moto: {other:?}"),
        };
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("create a temporary directory: {e}"),
        };
        Self {
            id,
            endpoint,
            clients,
            lambda,
            s3,
            bucket,
            role_arn,
            dir,
            function_names: BTreeMap::new(),
            recorder: Recorder::default(),
        }
    }

    /// The Lambda name the stack maps `function` to.
    fn lambda_name(&self, function: &str) -> String {
        format!("dt-{}-{function}", self.id)
    }

    /// Creates Lambda function for `function` with a zip of `content`, version 1 published and
    /// alias `live` on it; adds it to the stack's `function_names`.
    async fn create_function(&mut self, function: &str, content: &[u8], arch: Architecture) {
        let name = self.lambda_name(function);
        let created = self
            .lambda
            .create_function()
            .function_name(&name)
            .runtime(Runtime::Providedal2023)
            .role(&self.role_arn)
            .handler("bootstrap")
            .architectures(arch)
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(zip_of(content)))
                    .build(),
            )
            .publish(true)
            .send()
            .await;
        if let Err(e) = created {
            panic!("create function {name}: {e:?}");
        }
        let alias = self
            .lambda
            .create_alias()
            .function_name(&name)
            .name("live")
            .function_version("1")
            .send()
            .await;
        if let Err(e) = alias {
            panic!("create alias live of {name}: {e:?}");
        }
        self.function_names.insert(function.to_owned(), name);
    }

    /// Writes the zips and a `packages.json` for them, and loads it the way xtask will.
    fn manifest(&self, packages: &[(&str, &[u8])]) -> Manifest {
        let mut entries = Vec::new();
        for (function, content) in packages {
            let zip = zip_of(content);
            let relative = format!("target/lambda/{function}/bootstrap.zip");
            let path = self.dir.path().join(&relative);
            let written = path
                .parent()
                .map(std::fs::create_dir_all)
                .and_then(Result::ok)
                .and_then(|()| std::fs::write(&path, &zip).ok());
            assert!(written.is_some(), "write {}", path.display());
            entries.push(serde_json::json!({
                "function": function,
                "zip": relative,
                "size": zip.len(),
                "sha256": sha256_hex(&zip),
                "code_sha256": code_sha256(&zip),
            }));
        }
        let json = serde_json::json!({"arch": "arm64", "packages": entries}).to_string();
        let path = self.dir.path().join("packages.json");
        let Ok(()) = std::fs::write(&path, json) else {
            panic!("write {}", path.display());
        };
        match Manifest::load(&path, self.dir.path()) {
            Ok(m) => m,
            Err(e) => panic!("load the manifest: {e}"),
        }
    }

    /// The stack, parsed from `terraform output -json`-shaped text.
    fn stack(&self) -> StackOutputs {
        let json = serde_json::json!({
            "region": {"value": "us-east-1", "type": "string", "sensitive": false},
            "s3_bucket_name": {"value": self.bucket, "type": "string", "sensitive": false},
            "function_names": {"value": self.function_names, "type": ["map", "string"], "sensitive": false},
            "client_secret": {"value": "x", "type": "string", "sensitive": true},
        });
        match StackOutputs::from_terraform_json(&json.to_string()) {
            Ok(s) => s,
            Err(e) => panic!("parse the stack outputs: {e}"),
        }
    }

    fn options(&self) -> DeployOptions {
        DeployOptions {
            update_timeout: Duration::from_secs(20),
            max_poll_interval: Duration::from_millis(200),
            progress: self.recorder.progress(),
            ..DeployOptions::default()
        }
    }

    async fn deploy(&self, manifest: &Manifest, options: &DeployOptions) -> Report {
        match deploy::deploy(&self.clients, &self.stack(), manifest, options).await {
            Ok(report) => report,
            Err(e) => panic!("deploy failed before touching any function: {e}"),
        }
    }

    async fn rollback(&self, functions: &[&str], to: Option<u64>) -> Report {
        let functions: Vec<String> = functions.iter().map(|f| (*f).to_owned()).collect();
        let progress = self.recorder.progress();
        match deploy::rollback(&self.clients, &self.stack(), &functions, to, &progress).await {
            Ok(report) => report,
            Err(e) => panic!("rollback failed before touching any function: {e}"),
        }
    }

    /// The version alias `live` of `function` points at.
    async fn live(&self, function: &str) -> String {
        let alias = self
            .lambda
            .get_alias()
            .function_name(self.lambda_name(function))
            .name("live")
            .send()
            .await;
        match alias.map(|a| a.function_version) {
            Ok(Some(v)) => v,
            other => panic!("get alias live of {function}: {other:?}"),
        }
    }

    /// The published versions of `function` (without `$LATEST`).
    async fn versions(&self, function: &str) -> Vec<String> {
        let listed = self
            .lambda
            .list_versions_by_function()
            .function_name(self.lambda_name(function))
            .send()
            .await;
        let Ok(listed) = listed else {
            panic!("list versions of {function}: {listed:?}");
        };
        listed
            .versions()
            .iter()
            .filter_map(|v| v.version())
            .filter(|v| *v != "$LATEST")
            .map(str::to_owned)
            .collect()
    }

    /// `CodeSha256` of `function` at `qualifier` (a version, `live` or `$LATEST`).
    async fn code_of(&self, function: &str, qualifier: &str) -> String {
        let config = self
            .lambda
            .get_function_configuration()
            .function_name(self.lambda_name(function))
            .qualifier(qualifier)
            .send()
            .await;
        match config.map(|c| c.code_sha256) {
            Ok(Some(sha)) => sha,
            other => panic!("get the configuration of {function}:{qualifier}: {other:?}"),
        }
    }

    /// The object's bytes, or `None` when the key does not exist.
    async fn object(&self, key: &str) -> Option<Vec<u8>> {
        match self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(o) => match o.body.collect().await {
                Ok(data) => Some(data.into_bytes().to_vec()),
                Err(e) => panic!("read s3://{}/{key}: {e}", self.bucket),
            },
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => None,
            Err(e) => panic!("get s3://{}/{key}: {e:?}", self.bucket),
        }
    }

    fn key(function: &str, content: &[u8]) -> String {
        format!("{function}/{}.zip", sha256_hex(&zip_of(content)))
    }
}

fn outcome<'a>(report: &'a Report, function: &str) -> &'a Outcome {
    match report.outcome(function) {
        Some(o) => o,
        None => panic!("{function} is not in the report: {report:?}"),
    }
}

fn failure<'a>(report: &'a Report, function: &str) -> &'a Error {
    match outcome(report, function) {
        Outcome::Failed { error, .. } => error,
        other => panic!("{function} should have failed: {other:?}"),
    }
}

fn updated_version(report: &Report, function: &str) -> String {
    match outcome(report, function) {
        Outcome::Updated { version, .. } => version.clone(),
        other => panic!("{function} should have been updated: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn first_deploy_uploads_updates_publishes_and_moves_live() {
    let mut fx = Fixture::new().await;
    fx.create_function("get-note", b"v0", Architecture::Arm64)
        .await;
    let manifest = fx.manifest(&[("get-note", b"v1")]);
    let package = &manifest.packages[0];

    let report = fx.deploy(&manifest, &fx.options()).await;

    assert!(report.success(), "{}", deploy::render_table(&report));
    assert_eq!(updated_version(&report, "get-note"), "2");
    assert_eq!(fx.live("get-note").await, "2");
    assert_eq!(fx.versions("get-note").await, ["1", "2"]);
    assert_eq!(fx.code_of("get-note", "2").await, package.code_sha256);
    assert_ne!(fx.code_of("get-note", "1").await, package.code_sha256);
    let key = Fixture::key("get-note", b"v1");
    assert_eq!(key, format!("get-note/{}.zip", package.sha256));
    assert_eq!(fx.object(&key).await, Some(zip_of(b"v1")));
    let steps = fx.recorder.steps("get-note");
    assert!(fx.recorder.uploaded("get-note"), "{steps:?}");
    assert!(steps.contains(&Step::Waiting), "{steps:?}");
    assert_eq!(
        steps.last(),
        Some(&Step::AliasMoved {
            from: "1".into(),
            to: "2".into()
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn second_deploy_of_the_same_zip_is_unchanged_and_uploads_nothing() {
    let mut fx = Fixture::new().await;
    fx.create_function("health", b"v0", Architecture::Arm64)
        .await;
    fx.create_function("me", b"v0", Architecture::Arm64).await;
    let manifest = fx.manifest(&[("health", b"v1"), ("me", b"v1")]);
    let first = fx.deploy(&manifest, &fx.options()).await;
    assert!(first.success(), "{}", deploy::render_table(&first));
    fx.recorder.clear();

    let second = fx.deploy(&manifest, &fx.options()).await;

    assert!(second.success(), "{}", deploy::render_table(&second));
    for function in ["health", "me"] {
        assert_eq!(
            outcome(&second, function),
            &Outcome::Unchanged {
                version: "2".into()
            }
        );
        assert_eq!(fx.versions(function).await, ["1", "2"]);
        assert_eq!(fx.live(function).await, "2");
        assert_eq!(
            fx.recorder.steps(function),
            [
                Step::Checking,
                Step::Unchanged {
                    version: "2".into()
                }
            ]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_changed_zip_updates_again_and_only_that_function() {
    let mut fx = Fixture::new().await;
    fx.create_function("list-notes", b"v0", Architecture::Arm64)
        .await;
    fx.create_function("create-note", b"v0", Architecture::Arm64)
        .await;
    let first = fx
        .deploy(
            &fx.manifest(&[("list-notes", b"v1"), ("create-note", b"v1")]),
            &fx.options(),
        )
        .await;
    assert!(first.success(), "{}", deploy::render_table(&first));
    fx.recorder.clear();

    let manifest = fx.manifest(&[("list-notes", b"v2"), ("create-note", b"v1")]);
    let second = fx.deploy(&manifest, &fx.options()).await;

    assert!(second.success(), "{}", deploy::render_table(&second));
    assert_eq!(updated_version(&second, "list-notes"), "3");
    assert_eq!(fx.live("list-notes").await, "3");
    assert_eq!(
        fx.code_of("list-notes", "live").await,
        manifest.packages[0].code_sha256
    );
    assert_eq!(
        outcome(&second, "create-note"),
        &Outcome::Unchanged {
            version: "2".into()
        }
    );
    assert_eq!(fx.versions("create-note").await, ["1", "2"]);
    assert!(!fx.recorder.uploaded("create-note"));
    // Both artifacts stay: the bucket is content-addressed.
    assert!(
        fx.object(&Fixture::key("list-notes", b"v1"))
            .await
            .is_some()
    );
    assert!(
        fx.object(&Fixture::key("list-notes", b"v2"))
            .await
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_missing_function_fails_while_the_others_succeed() {
    let mut fx = Fixture::new().await;
    fx.create_function("get-note", b"v0", Architecture::Arm64)
        .await;
    // In the stack's outputs, but never created in Lambda.
    let ghost = fx.lambda_name("delete-note");
    fx.function_names
        .insert("delete-note".into(), ghost.clone());
    let manifest = fx.manifest(&[
        ("delete-note", b"v1"),
        ("get-note", b"v1"),
        ("admin-stats", b"v1"), // not in the stack at all
    ]);

    let report = fx.deploy(&manifest, &fx.options()).await;

    assert!(!report.success());
    let names: Vec<_> = report.entries.iter().map(|e| e.function.as_str()).collect();
    assert_eq!(names, ["delete-note", "get-note", "admin-stats"]);
    let error = failure(&report, "delete-note");
    assert_eq!(error, &Error::FunctionMissing { function: ghost });
    assert!(
        error
            .to_string()
            .contains("run `terraform apply` in IaC/ first?"),
        "{error}"
    );
    assert_eq!(
        failure(&report, "admin-stats"),
        &Error::NotInStack {
            function: "admin-stats".into()
        }
    );
    assert_eq!(updated_version(&report, "get-note"), "2");
    assert_eq!(fx.live("get-note").await, "2");
    // Nothing was uploaded for the failed functions.
    assert_eq!(fx.object(&Fixture::key("delete-note", b"v1")).await, None);
    assert!(!fx.recorder.uploaded("delete-note"));
    let table = deploy::render_table(&report);
    assert!(table.contains("delete-note: Lambda function"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_function_failing_after_the_update_keeps_its_alias() {
    let mut fx = Fixture::new().await;
    fx.create_function("replace-note", b"v0", Architecture::Arm64)
        .await;
    fx.create_function("me", b"v0", Architecture::X8664).await;
    fx.create_function("health", b"v0", Architecture::Arm64)
        .await;
    let manifest = fx.manifest(&[("replace-note", b"v1"), ("me", b"v1"), ("health", b"v1")]);
    // Poison the content-addressed key: the deploy sees it exists, skips the upload and
    // updates the function from it; Lambda then reports another hash than the package's.
    let poisoned = fx
        .s3
        .put_object()
        .bucket(&fx.bucket)
        .key(Fixture::key("replace-note", b"v1"))
        .body(ByteStream::from(zip_of(b"not v1")))
        .send()
        .await;
    assert!(poisoned.is_ok(), "{poisoned:?}");

    let report = fx.deploy(&manifest, &fx.options()).await;

    assert!(!report.success());
    let error = failure(&report, "replace-note");
    let Error::HashMismatch {
        expected, actual, ..
    } = error
    else {
        panic!("expected HashMismatch: {error:?}");
    };
    assert_eq!(expected, &manifest.packages[0].code_sha256);
    assert_eq!(actual, &code_sha256(&zip_of(b"not v1")));
    assert!(
        error
            .to_string()
            .starts_with("Lambda reports a different code hash"),
        "{error}"
    );
    // The alias did not move and no version was published with the wrong code.
    assert_eq!(fx.live("replace-note").await, "1");
    assert_eq!(fx.versions("replace-note").await, ["1"]);
    assert!(
        fx.recorder
            .steps("replace-note")
            .contains(&Step::AlreadyUploaded {
                url: format!("s3://{}/{}", fx.bucket, Fixture::key("replace-note", b"v1"))
            })
    );

    assert_eq!(
        failure(&report, "me"),
        &Error::ArchMismatch {
            function: fx.lambda_name("me"),
            package: "arm64".into(),
            lambda: "x86_64".into()
        }
    );
    assert_eq!(fx.live("me").await, "1");
    assert_eq!(fx.versions("me").await, ["1"]);
    assert_eq!(fx.object(&Fixture::key("me", b"v1")).await, None);

    assert_eq!(updated_version(&report, "health"), "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_zip_that_changed_since_packaging_is_refused() {
    let mut fx = Fixture::new().await;
    fx.create_function("health", b"v0", Architecture::Arm64)
        .await;
    let manifest = fx.manifest(&[("health", b"v1")]);
    let Ok(()) = std::fs::write(&manifest.packages[0].zip, zip_of(b"edited")) else {
        panic!("overwrite the zip");
    };

    let report = fx.deploy(&manifest, &fx.options()).await;

    let error = failure(&report, "health");
    assert!(matches!(error, Error::ZipChanged { .. }), "{error:?}");
    assert!(
        error.to_string().contains("rerun `cargo xtask package`"),
        "{error}"
    );
    assert_eq!(fx.live("health").await, "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dry_run_compares_and_writes_nothing() {
    let mut fx = Fixture::new().await;
    fx.create_function("get-note", b"v0", Architecture::Arm64)
        .await;
    fx.create_function("health", b"same", Architecture::Arm64)
        .await;
    let manifest = fx.manifest(&[("get-note", b"v1"), ("health", b"same")]);
    let latest_before = fx.code_of("get-note", "$LATEST").await;
    let options = DeployOptions {
        dry_run: true,
        ..fx.options()
    };

    let report = fx.deploy(&manifest, &options).await;

    assert!(report.success(), "{}", deploy::render_table(&report));
    assert_eq!(
        outcome(&report, "get-note"),
        &Outcome::WouldUpdate {
            version: "1".into()
        }
    );
    assert_eq!(
        outcome(&report, "health"),
        &Outcome::Unchanged {
            version: "1".into()
        }
    );
    assert_eq!(fx.object(&Fixture::key("get-note", b"v1")).await, None);
    assert_eq!(fx.code_of("get-note", "$LATEST").await, latest_before);
    assert_eq!(fx.versions("get-note").await, ["1"]);
    assert_eq!(fx.live("get-note").await, "1");
    let listed = fx.s3.list_objects_v2().bucket(&fx.bucket).send().await;
    let Ok(listed) = listed else {
        panic!("list the bucket: {listed:?}");
    };
    assert_eq!(listed.key_count(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rerun_converges_after_a_deploy_that_stopped_before_publishing() {
    let mut fx = Fixture::new().await;
    fx.create_function("get-note", b"v0", Architecture::Arm64)
        .await;
    let manifest = fx.manifest(&[("get-note", b"v1")]);
    // What a run that died after UpdateFunctionCode leaves: the artifact, $LATEST updated,
    // no version, `live` on the old one.
    let key = Fixture::key("get-note", b"v1");
    let put = fx
        .s3
        .put_object()
        .bucket(&fx.bucket)
        .key(&key)
        .body(ByteStream::from(zip_of(b"v1")))
        .send()
        .await;
    assert!(put.is_ok(), "{put:?}");
    let updated = fx
        .lambda
        .update_function_code()
        .function_name(fx.lambda_name("get-note"))
        .s3_bucket(&fx.bucket)
        .s3_key(&key)
        .send()
        .await;
    assert!(updated.is_ok(), "{updated:?}");
    assert_eq!(
        fx.code_of("get-note", "$LATEST").await,
        manifest.packages[0].code_sha256
    );

    let report = fx.deploy(&manifest, &fx.options()).await;

    // Not "unchanged": `live` does not run this code yet.
    assert_eq!(updated_version(&report, "get-note"), "2");
    assert_eq!(fx.live("get-note").await, "2");
    assert_eq!(
        fx.code_of("get-note", "live").await,
        manifest.packages[0].code_sha256
    );
    assert!(!fx.recorder.uploaded("get-note"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rollback_moves_live_to_the_previous_version_until_there_is_none() {
    let mut fx = Fixture::new().await;
    fx.create_function("get-note", b"v0", Architecture::Arm64)
        .await;
    for content in [b"v1", b"v2"] {
        let report = fx
            .deploy(&fx.manifest(&[("get-note", content)]), &fx.options())
            .await;
        assert!(report.success(), "{}", deploy::render_table(&report));
    }
    assert_eq!(fx.live("get-note").await, "3");

    // No names: every function of the stack.
    let report = fx.rollback(&[], None).await;
    let Outcome::RolledBack { from, to, .. } = outcome(&report, "get-note") else {
        panic!("expected a rollback: {report:?}");
    };
    assert_eq!((from.as_str(), to.as_str()), ("3", "2"));
    assert_eq!(fx.live("get-note").await, "2");
    assert_eq!(
        fx.code_of("get-note", "live").await,
        code_sha256(&zip_of(b"v1"))
    );

    let report = fx.rollback(&["get-note"], None).await;
    assert!(report.success(), "{}", deploy::render_table(&report));
    assert_eq!(fx.live("get-note").await, "1");

    let report = fx.rollback(&["get-note"], None).await;
    assert!(!report.success());
    let error = failure(&report, "get-note");
    assert_eq!(
        error,
        &Error::NoEarlierVersion {
            function: fx.lambda_name("get-note"),
            current: "1".into()
        }
    );
    assert!(error.to_string().contains("pass --to VERSION"), "{error}");
    assert_eq!(fx.live("get-note").await, "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rollback_to_a_given_version() {
    let mut fx = Fixture::new().await;
    fx.create_function("me", b"v0", Architecture::Arm64).await;
    for content in [b"v1", b"v2"] {
        let report = fx
            .deploy(&fx.manifest(&[("me", content)]), &fx.options())
            .await;
        assert!(report.success(), "{}", deploy::render_table(&report));
    }

    let report = fx.rollback(&["me"], Some(1)).await;
    assert_eq!(outcome(&report, "me").label(), "rolled back", "{report:?}");
    assert_eq!(fx.live("me").await, "1");

    let report = fx.rollback(&["me"], Some(1)).await;
    assert_eq!(
        outcome(&report, "me"),
        &Outcome::Unchanged {
            version: "1".into()
        }
    );

    // Forward again works too.
    let report = fx.rollback(&["me"], Some(3)).await;
    assert!(report.success(), "{}", deploy::render_table(&report));
    assert_eq!(fx.live("me").await, "3");

    let report = fx.rollback(&["me"], Some(9)).await;
    assert_eq!(
        failure(&report, "me"),
        &Error::VersionMissing {
            function: fx.lambda_name("me"),
            version: "9".into()
        }
    );
    assert_eq!(fx.live("me").await, "3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rollback_without_an_earlier_version_is_an_error_and_others_still_roll_back() {
    let mut fx = Fixture::new().await;
    fx.create_function("health", b"v0", Architecture::Arm64)
        .await;
    fx.create_function("me", b"v0", Architecture::Arm64).await;
    let report = fx
        .deploy(&fx.manifest(&[("me", b"v1")]), &fx.options())
        .await;
    assert!(report.success(), "{}", deploy::render_table(&report));

    let report = fx.rollback(&["health", "me", "ghost"], None).await;

    assert!(!report.success());
    assert!(matches!(
        failure(&report, "health"),
        Error::NoEarlierVersion { .. }
    ));
    assert_eq!(fx.live("health").await, "1");
    assert_eq!(
        failure(&report, "ghost"),
        &Error::NotInStack {
            function: "ghost".into()
        }
    );
    assert_eq!(fx.live("me").await, "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redeploy_after_a_rollback_moves_live_forward_again() {
    let mut fx = Fixture::new().await;
    fx.create_function("get-note", b"v0", Architecture::Arm64)
        .await;
    let manifest = fx.manifest(&[("get-note", b"v1")]);
    let report = fx.deploy(&manifest, &fx.options()).await;
    assert!(report.success(), "{}", deploy::render_table(&report));
    let report = fx.rollback(&["get-note"], None).await;
    assert!(report.success(), "{}", deploy::render_table(&report));
    assert_eq!(fx.live("get-note").await, "1");
    fx.recorder.clear();

    // $LATEST still has v1, but `live` does not run it: this is an update, not "unchanged".
    let report = fx.deploy(&manifest, &fx.options()).await;

    assert!(report.success(), "{}", deploy::render_table(&report));
    assert!(matches!(
        outcome(&report, "get-note"),
        Outcome::Updated { .. }
    ));
    assert_eq!(
        fx.code_of("get-note", "live").await,
        manifest.packages[0].code_sha256
    );
    assert!(!fx.recorder.uploaded("get-note"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_missing_bucket_stops_the_run_before_any_function() {
    let mut fx = Fixture::new().await;
    fx.create_function("health", b"v0", Architecture::Arm64)
        .await;
    let manifest = fx.manifest(&[("health", b"v1")]);
    let mut stack = fx.stack();
    stack.artifacts_bucket = format!("missing-{}", fx.id);

    let result = deploy::deploy(&fx.clients, &stack, &manifest, &fx.options()).await;

    assert_eq!(
        result.map(drop),
        Err(Error::BucketMissing {
            bucket: format!("missing-{}", fx.id)
        })
    );
    assert!(fx.recorder.steps("health").is_empty());
    assert_eq!(fx.live("health").await, "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clients_from_another_region_than_the_stack_are_refused() {
    let fx = Fixture::new().await;
    let mut stack = fx.stack();
    stack.region = "eu-west-1".into();

    let result = deploy::rollback(&fx.clients, &stack, &[], None, &Progress::silent()).await;

    let Err(error @ Error::WrongRegion { .. }) = &result else {
        panic!("expected WrongRegion: {result:?}");
    };
    let text = error.to_string();
    assert!(
        text.contains("us-east-1") && text.contains("eu-west-1"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_credentials_fail_up_front() {
    let fx = Fixture::new().await;
    let config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(&fx.endpoint)
        .build();
    let Ok(clients) = Clients::from_sdk_config(&config) else {
        panic!("build the clients");
    };

    let result = deploy::deploy(&clients, &fx.stack(), &fx.manifest(&[]), &fx.options()).await;

    let Err(error @ Error::NoCredentials { .. }) = &result else {
        panic!("expected NoCredentials: {result:?}");
    };
    assert!(error.to_string().contains("--profile"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreachable_endpoint_is_reported_as_such() {
    let fx = Fixture::new().await;
    // A loopback port nobody listens on.
    let port = match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(addr) => addr.port(),
        Err(e) => panic!("find a free port: {e}"),
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let Ok(clients) = Clients::from_sdk_config(&sdk_config(&endpoint)) else {
        panic!("build the clients");
    };

    let result = deploy::deploy(&clients, &fx.stack(), &fx.manifest(&[]), &fx.options()).await;

    let Err(Error::Unreachable {
        operation,
        endpoint: reported,
        ..
    }) = &result
    else {
        panic!("expected Unreachable: {result:?}");
    };
    assert_eq!(operation, "HeadBucket");
    assert_eq!(reported, &endpoint);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clients_from_the_standard_chain_reach_the_endpoint() {
    // Uses the environment `cargo xtask test` sets (fake static credentials).
    let fx = Fixture::new().await;
    let settings = ClientSettings {
        endpoint_url: Some(fx.endpoint.clone()),
        region: Some("us-east-1".into()),
        profile: None,
    };
    let clients = match Clients::new(&settings).await {
        Ok(c) => c,
        Err(e) => panic!("build the clients: {e}"),
    };
    assert_eq!(clients.region(), "us-east-1");
    assert_eq!(clients.endpoint_url(), Some(fx.endpoint.as_str()));
    if let Err(e) = clients.check_credentials().await {
        panic!("the standard chain found no credentials (run through `cargo xtask test`): {e}");
    }
    // Path-style S3 against the emulator: the fixture's bucket is visible.
    let head = clients.s3().head_bucket().bucket(&fx.bucket).send().await;
    assert!(head.is_ok(), "{head:?}");
}

/// A TCP proxy in front of moto that forwards bytes until the client first sends a request whose
/// request line contains `trigger`; from then on it refuses: that connection is cut before the
/// request reaches moto, and every connection (open or new) is closed at once, until
/// [`FaultProxy::heal`], after which it forwards everything. This is an endpoint that starts
/// failing in the middle of a deploy and later recovers.
struct FaultProxy {
    url: String,
    broken: Arc<std::sync::atomic::AtomicBool>,
    tripped: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    async fn start(upstream: &str, trigger: &'static str) -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => panic!("bind the fault proxy: {e}"),
        };
        let url = match listener.local_addr() {
            Ok(addr) => format!("http://{addr}"),
            Err(e) => panic!("the fault proxy's address: {e}"),
        };
        let broken = Arc::new(AtomicBool::new(false));
        let tripped = Arc::new(AtomicBool::new(false));
        let (b, t) = (Arc::clone(&broken), Arc::clone(&tripped));
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if b.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let (b, t, upstream) = (Arc::clone(&b), Arc::clone(&t), upstream.clone());
                tokio::spawn(async move {
                    let _ = Self::pipe(client, &upstream, trigger, &b, &t).await;
                });
            }
        });
        Self {
            url,
            broken,
            tripped,
            task,
        }
    }

    async fn pipe(
        client: tokio::net::TcpStream,
        upstream: &str,
        trigger: &str,
        broken: &std::sync::atomic::AtomicBool,
        tripped: &std::sync::atomic::AtomicBool,
    ) -> std::io::Result<()> {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let server = tokio::net::TcpStream::connect(upstream).await?;
        let (mut client_read, mut client_write) = client.into_split();
        let (mut server_read, mut server_write) = server.into_split();
        let back = tokio::spawn(async move {
            let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        });
        let mut buf = vec![0_u8; 64 * 1024];
        loop {
            let n = client_read.read(&mut buf).await?;
            if n == 0 || broken.load(Ordering::SeqCst) {
                break;
            }
            let chunk = &buf[..n];
            let request_line = chunk.split(|&b| b == b'\n').next().unwrap_or_default();
            let first_time = !tripped.load(Ordering::SeqCst);
            if first_time && String::from_utf8_lossy(request_line).contains(trigger) {
                broken.store(true, Ordering::SeqCst);
                tripped.store(true, Ordering::SeqCst);
                break;
            }
            server_write.write_all(chunk).await?;
        }
        back.abort();
        Ok(())
    }

    fn heal(&self) {
        self.broken
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }

    fn tripped(&self) -> bool {
        self.tripped.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_endpoint_that_fails_mid_deploy_moves_no_alias_and_a_rerun_converges() {
    let mut fx = Fixture::new().await;
    fx.create_function("get-note", b"v0", Architecture::Arm64)
        .await;
    let old_code = fx.code_of("get-note", "live").await;
    let manifest = fx.manifest(&[("get-note", b"v1")]);
    // PublishVersion is `POST /2015-03-31/functions/<name>/versions`: the upload and the code
    // update have gone through when the endpoint starts refusing.
    let proxy = FaultProxy::start(&fx.endpoint, "/versions HTTP/1.1").await;
    let Ok(clients) = Clients::from_sdk_config(&sdk_config(&proxy.url)) else {
        panic!("build the clients");
    };
    let options = DeployOptions {
        progress: fx.recorder.progress(),
        ..fx.options()
    };

    let report = match deploy::deploy(&clients, &fx.stack(), &manifest, &options).await {
        Ok(report) => report,
        Err(e) => panic!("the preflight runs before the fault: {e}"),
    };

    assert!(proxy.tripped(), "the deploy never reached PublishVersion");
    assert!(!report.success(), "{report:?}");
    let message = failure(&report, "get-note").to_string();
    assert!(
        message.contains("PublishVersion") && message.contains("hint:"),
        "the error should name the failed call and say what to do: {message}"
    );
    assert_eq!(fx.live("get-note").await, "1", "the alias must not move");
    assert_eq!(fx.code_of("get-note", "live").await, old_code);
    assert_eq!(fx.versions("get-note").await, ["1"]);
    let table = deploy::render_table(&report);
    assert!(table.contains("failed"), "{table}");

    proxy.heal();
    fx.recorder.clear();
    let report = match deploy::deploy(&clients, &fx.stack(), &manifest, &options).await {
        Ok(report) => report,
        Err(e) => panic!("the rerun failed before touching any function: {e}"),
    };

    assert!(report.success(), "{report:?}");
    assert_eq!(updated_version(&report, "get-note"), "2");
    assert_eq!(fx.live("get-note").await, "2");
    assert_eq!(
        fx.code_of("get-note", "live").await,
        manifest.packages[0].code_sha256
    );
    assert!(
        !fx.recorder.uploaded("get-note"),
        "the artifact was already in S3: the rerun must not upload it again"
    );
}

// ---------------------------------------------------------------------------------------------
// The command line (`cargo xtask deploy` / `rollback` run this binary)
// ---------------------------------------------------------------------------------------------

/// Runs `xtask-aws` with `args`; returns (exit code, stdout, stderr).
fn cli(args: &[&str]) -> (i32, String, String) {
    cli_with_terraform(args, None)
}

/// [`cli`], with `$TERRAFORM` set to `terraform` when given.
fn cli_with_terraform(args: &[&str], terraform: Option<&str>) -> (i32, String, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_xtask-aws"));
    command.args(args).env_remove("XTASK_TF_OUTPUTS");
    if let Some(terraform) = terraform {
        command.env("TERRAFORM", terraform);
    }
    let output = command.output();
    let Ok(output) = output else {
        panic!("run xtask-aws: {output:?}");
    };
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

impl Fixture {
    /// Writes what `terraform output -json` would print for this stack; returns its path.
    fn outputs_file(&self) -> String {
        let json = serde_json::json!({
            "region": {"value": "us-east-1", "type": "string", "sensitive": false},
            "s3_bucket_name": {"value": self.bucket, "type": "string", "sensitive": false},
            "function_names": {"value": self.function_names, "type": ["map", "string"], "sensitive": false},
        });
        self.write("outputs.json", &json.to_string())
    }

    /// Writes the zips and a manifest with absolute zip paths (what --manifest reads).
    fn manifest_file(&self, packages: &[(&str, &[u8])]) -> String {
        let manifest = self.manifest(packages);
        let entries: Vec<_> = manifest
            .packages
            .iter()
            .map(|p| {
                serde_json::json!({
                    "function": p.function, "zip": p.zip, "size": p.size,
                    "sha256": p.sha256, "code_sha256": p.code_sha256,
                })
            })
            .collect();
        let json = serde_json::json!({"arch": "arm64", "packages": entries});
        self.write("cli-packages.json", &json.to_string())
    }

    fn write(&self, name: &str, content: &str) -> String {
        let path = self.dir.path().join(name);
        let Ok(()) = std::fs::write(&path, content) else {
            panic!("write {}", path.display());
        };
        path.display().to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_command_line_deploys_skips_unchanged_and_rolls_back() {
    let mut fx = Fixture::new().await;
    fx.create_function("get-note", b"v0", Architecture::Arm64)
        .await;
    let outputs = fx.outputs_file();
    let manifest = fx.manifest_file(&[("get-note", b"v1")]);
    let base = [
        "--outputs",
        outputs.as_str(),
        "--endpoint-url",
        fx.endpoint.as_str(),
    ];
    let deploy: Vec<&str> = ["deploy", "--manifest", manifest.as_str()]
        .into_iter()
        .chain(base)
        .collect();

    let (code, stdout, stderr) = cli(&deploy);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains("get-note") && stdout.contains("updated"),
        "{stdout}"
    );
    assert_eq!(fx.live("get-note").await, "2");

    let (code, stdout, stderr) = cli(&deploy);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("unchanged"), "{stdout}");
    assert_eq!(fx.versions("get-note").await, ["1", "2"]);

    let rollback: Vec<&str> = ["rollback", "-f", "get-note"]
        .into_iter()
        .chain(base)
        .collect();
    let (code, stdout, stderr) = cli(&rollback);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("rolled back"), "{stdout}");
    assert_eq!(fx.live("get-note").await, "1");

    let (code, stdout, stderr) = cli(&rollback);
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("failed"), "{stdout}");
    assert_eq!(fx.live("get-note").await, "1");
}

impl Fixture {
    /// Puts `body` at `s3://<bucket>/<key>` (as `IaC/main.tf` publishes the stack); returns the URL.
    async fn put_object(&self, key: &str, body: &str) -> String {
        let put = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(body.as_bytes().to_vec()))
            .send()
            .await;
        if let Err(e) = put {
            panic!("put s3://{}/{key}: {e:?}", self.bucket);
        }
        format!("s3://{}/{key}", self.bucket)
    }

    /// The stack as `IaC/main.tf` publishes it (`local.deploy_stack`).
    fn published_stack(&self) -> String {
        serde_json::json!({
            "version": 1,
            "region": "us-east-1",
            "artifacts_bucket": self.bucket,
            "function_names": self.function_names,
            "alias": "live",
        })
        .to_string()
    }
}

/// `--stack s3://…` reads the published stack with one GetObject and never runs terraform
/// (`$TERRAFORM` points at a program that would fail).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_command_line_deploys_and_rolls_back_from_the_published_stack() {
    let mut fx = Fixture::new().await;
    fx.create_function("get-note", b"v0", Architecture::Arm64)
        .await;
    let url = fx
        .put_object(deploy::PUBLISHED_KEY, &fx.published_stack())
        .await;
    let manifest = fx.manifest_file(&[("get-note", b"v1")]);
    let no_terraform = Some("/bin/false");
    let aws = [
        "--endpoint-url",
        fx.endpoint.as_str(),
        "--region",
        "us-east-1",
    ];
    let deploy: Vec<&str> = [
        "deploy",
        "--manifest",
        manifest.as_str(),
        "--stack",
        url.as_str(),
    ]
    .into_iter()
    .chain(aws)
    .collect();
    let (code, stdout, stderr) = cli_with_terraform(&deploy, no_terraform);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stderr.contains(&format!("reading the stack from {url}")),
        "{stderr}"
    );
    assert!(
        stdout.contains("get-note") && stdout.contains("updated"),
        "{stdout}"
    );
    assert_eq!(fx.live("get-note").await, "2");

    let rollback: Vec<&str> = ["rollback", "-f", "get-note", "--stack", url.as_str()]
        .into_iter()
        .chain(aws)
        .collect();
    let (code, stdout, stderr) = cli_with_terraform(&rollback, no_terraform);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("rolled back"), "{stdout}");
    assert_eq!(fx.live("get-note").await, "1");

    // A missing object, a malformed one, and one with an unknown alias: a message, exit 1,
    // nothing moved.
    let missing = format!("s3://{}/deploy/missing.json", fx.bucket);
    let malformed = fx
        .put_object("deploy/malformed.json", "{\"version\": 1,")
        .await;
    let blue = fx.published_stack().replace("\"live\"", "\"blue\"");
    let other_alias = fx.put_object("deploy/blue.json", &blue).await;
    for (stack, want) in [
        (
            missing.as_str(),
            format!("no deploy stack at {missing}; hint: `terraform apply` in IaC/ publishes it"),
        ),
        (
            malformed.as_str(),
            format!("{malformed}: the published deploy stack is not usable: EOF"),
        ),
        (
            other_alias.as_str(),
            "its alias is `blue`, but this deploy tool moves `live`".to_owned(),
        ),
    ] {
        let args: Vec<&str> = ["deploy", "--manifest", manifest.as_str(), "--stack", stack]
            .into_iter()
            .chain(aws)
            .collect();
        let (code, stdout, stderr) = cli_with_terraform(&args, no_terraform);
        assert_eq!(code, 1, "{stack}: stdout:\n{stdout}\nstderr:\n{stderr}");
        assert!(
            stderr.contains(&want),
            "{stack}: expected {want:?} in:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert_eq!(fx.live("get-note").await, "1");
    assert_eq!(fx.versions("get-note").await, ["1", "2"]);
}

#[test]
fn the_command_line_explains_bad_settings() {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let missing = dir.path().join("nope.json");
    let Some(missing) = missing.to_str() else {
        panic!("a UTF-8 path");
    };
    let no_outputs = dir.path().join("empty.json");
    let Ok(()) = std::fs::write(&no_outputs, r#"{"region":{"value":"us-east-1"}}"#) else {
        panic!("write");
    };
    let Some(no_outputs) = no_outputs.to_str() else {
        panic!("a UTF-8 path");
    };
    for (args, want) in [
        (&["deploy", "--outputs", missing][..], "cannot read"),
        (
            &["deploy", "--outputs", no_outputs],
            "the Terraform output `s3_bucket_name` is missing",
        ),
        (&["rollback", "--to", "x"], "invalid value 'x'"),
        (
            &["deploy", "--stack", "notes-artifacts/deploy/stack.json"],
            "is not s3://BUCKET/KEY",
        ),
        (
            &[
                "rollback",
                "--stack",
                "s3://b/deploy/stack.json",
                "--outputs",
                missing,
            ],
            "cannot be used with",
        ),
        (&["jwt", "decode", "not-a-token"], "not a JWT"),
        (&["deploy", "--arch", "mips"], "invalid value 'mips'"),
    ] {
        let (code, stdout, stderr) = cli(args);
        assert_ne!(code, 0, "{args:?} should fail; stdout: {stdout}");
        assert!(
            stderr.contains(want),
            "{args:?}: expected {want:?} in:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn jwt_decode_prints_header_and_payload() {
    let part = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let token = format!(
        "{}.{}.c2ln",
        part(serde_json::json!({"alg": "RS256", "kid": "k1"})),
        part(serde_json::json!({"sub": "alice", "token_use": "id"}))
    );
    let (code, stdout, stderr) = cli(&["jwt", "decode", &format!("Bearer {token}")]);
    assert_eq!(code, 0, "{stderr}");
    let printed: serde_json::Value = match serde_json::from_str(&stdout) {
        Ok(v) => v,
        Err(e) => panic!("not JSON ({e}): {stdout}"),
    };
    assert_eq!(printed["header"]["kid"], "k1");
    assert_eq!(printed["payload"]["sub"], "alice");
    assert!(stderr.contains("NOT verified"), "{stderr}");
}

/// Every flag the GitHub workflows pass to `cargo xtask rollback` exists (xtask forwards it
/// here unchanged). `cargo xtask deploy` has its own flags: xtask/tests/workflows.rs checks those.
#[test]
fn the_workflows_call_rollback_with_flags_that_exist() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.github/workflows");
    let mut checked = 0;
    for file in ["ci.yml", "deploy.yml"] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        for command in ["rollback"] {
            let needle = format!("cargo xtask {command} ");
            for line in text.lines().filter(|l| l.contains(&needle)) {
                let (_, args) = line.split_once(&needle).unwrap_or_default();
                let (_, _, help) = cli(&[command, "--help"]);
                let (_, help_out, _) = cli(&[command, "--help"]);
                let help = format!("{help}{help_out}");
                for flag in args.split_whitespace().filter(|a| a.starts_with("--")) {
                    assert!(
                        help.contains(flag),
                        "{file} calls `cargo xtask {command} {flag}`, which `{command} --help` does not list"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(
        checked >= 1,
        "expected the deploy workflow to pass flags to rollback"
    );
}

/// Without a usable manifest, `deploy` says which command writes one, exits 1 and starts no
/// process: `cargo`, `terraform` and a browser opener on `PATH` (and `$CARGO`, `$TERRAFORM`)
/// would each leave a mark.
#[test]
fn deploy_without_a_manifest_names_the_command_that_writes_one_and_spawns_nothing() {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let bin = dir.path().join("bin");
    let mark = dir.path().join("spawned");
    let Ok(()) = std::fs::create_dir(&bin) else {
        panic!("mkdir");
    };
    for program in ["cargo", "terraform", "xdg-open", "open"] {
        let path = bin.join(program);
        let script = format!("#!/bin/sh\necho {program} >> '{}'\n", mark.display());
        let Ok(()) = std::fs::write(&path, script) else {
            panic!("write {program}");
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let Ok(()) = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            else {
                panic!("chmod {program}");
            };
        }
    }
    let outputs = dir.path().join("outputs.json");
    let json = serde_json::json!({
        "region": {"value": "us-east-1"},
        "s3_bucket_name": {"value": "notes-artifacts"},
        "function_names": {"value": {"get-note": "notes-get-note"}},
    });
    let Ok(()) = std::fs::write(&outputs, json.to_string()) else {
        panic!("write outputs");
    };
    let target = dir.path().join("target");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_xtask-aws"))
        .args(["deploy", "--outputs"])
        .arg(&outputs)
        .args(["--endpoint-url", "http://127.0.0.1:9"])
        .env_remove("XTASK_TF_OUTPUTS")
        .env("PATH", &bin)
        .env("CARGO", bin.join("cargo"))
        .env("TERRAFORM", bin.join("terraform"))
        .env("CARGO_TARGET_DIR", &target)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output();
    let Ok(output) = output else {
        panic!("run xtask-aws: {output:?}");
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let manifest = target.join("lambda/packages.json");
    let want = format!(
        "no usable package manifest at {}: `cargo xtask package` writes one",
        manifest.display()
    );
    assert!(stderr.contains(&want), "expected {want:?} in:\n{stderr}");
    assert!(
        stderr.contains("cannot read the package manifest"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !mark.exists(),
        "xtask-aws started a process: {}",
        std::fs::read_to_string(&mark).unwrap_or_default()
    );
}

/// `xtask-aws notes-table` (what `cargo xtask dev --store dynamodb` runs) creates the notes
/// table with the store's key schema on moto, and a second run finds it there.
#[tokio::test]
async fn notes_table_creates_the_table_once_and_then_finds_it() {
    let endpoint = test_support::moto::endpoint();
    let table = test_support::unique("notes-dev");
    for run in 0..2 {
        let (code, _, stderr) = cli(&[
            "notes-table",
            "--endpoint-url",
            &endpoint,
            "--table",
            &table,
        ]);
        assert_eq!(code, 0, "run {run}: {stderr}");
        assert!(
            stderr.contains(&format!("notes table {table} ready")),
            "{stderr}"
        );
    }
    let client = test_support::moto::dynamodb(&sdk_config(&endpoint));
    let described = client.describe_table().table_name(&table).send().await;
    let keys: Vec<String> = described
        .as_ref()
        .ok()
        .and_then(|d| d.table())
        .map(|t| {
            t.key_schema()
                .iter()
                .map(|k| k.attribute_name().to_owned())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            notes::store::dynamo::PARTITION_KEY,
            notes::store::dynamo::SORT_KEY
        ],
        "{described:?}"
    );
    let (code, _, stderr) = cli(&["notes-table", "--endpoint-url", "http://127.0.0.1:9"]);
    assert_ne!(code, 0, "an unreachable emulator fails");
    assert!(stderr.contains("is the emulator running?"), "{stderr}");
}
