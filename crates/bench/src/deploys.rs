//! Deploys against moto server: `cargo xtask deploy`'s engine ([`deploy::deploy`]) when nothing
//! changed, when one function changed and when all did, against the naive path (every function
//! uploaded and updated, one after the other, nothing skipped).
//!
//! The functions are created directly with the SDK (arm64, `provided.al2023`, version 1
//! published, alias `live` on it), from the real arm64 zips, like `crates/deploy`'s tests do:
//! quicker than Terraform and the same state the engine meets after `terraform apply`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, FunctionCode, LastUpdateStatus, Runtime};
use aws_sdk_s3::primitives::ByteStream;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use crate::model::{DeployResult, DeployScenario};

const ROLE_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// How many runs of each.
#[derive(Clone, Copy, Debug)]
pub struct Repeats {
    /// Unchanged redeploys.
    pub unchanged: usize,
    /// Deploys with one function changed.
    pub one_changed: usize,
    /// Deploys with every function changed (0: skipped).
    pub all_changed: usize,
    /// Naive deploys.
    pub naive: usize,
}

/// One function's package.
#[derive(Clone, Debug)]
pub struct Input {
    /// The function (crate) name.
    pub function: String,
    /// Its `bootstrap` binary (arm64), from which changed zips are made.
    pub binary: PathBuf,
    /// Its `bootstrap.zip`.
    pub zip: PathBuf,
}

/// Why the deploy benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum DeployBenchError {
    /// A setup call to moto failed.
    #[error("setting up on moto ({endpoint}): {what}: {cause}")]
    Setup {
        /// moto's URL.
        endpoint: String,
        /// The call.
        what: String,
        /// Why.
        cause: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        cause: String,
    },
    /// A deploy failed.
    #[error("a deploy failed: {0}")]
    Deploy(String),
}

/// The world the deploys run in.
struct Fixture {
    clients: deploy::Clients,
    bucket: String,
    names: BTreeMap<String, String>,
    dir: PathBuf,
}

/// Runs every scenario; progress goes to stderr.
///
/// # Errors
/// See [`DeployBenchError`].
pub async fn run(
    endpoint: &str,
    inputs: &[Input],
    work_dir: &Path,
    repeats: Repeats,
) -> Result<DeployResult, DeployBenchError> {
    let fx = Fixture::new(endpoint, inputs, work_dir).await?;
    let mut current: Vec<(String, PathBuf)> = inputs
        .iter()
        .map(|i| (i.function.clone(), i.zip.clone()))
        .collect();
    let total_zip_bytes = current
        .iter()
        .filter_map(|(_, zip)| std::fs::metadata(zip).ok().map(|m| m.len()))
        .sum();
    let mut result = DeployResult {
        functions: inputs.len(),
        total_zip_bytes,
        ..DeployResult::default()
    };

    // What one API call costs: read-only round trips, one at a time.
    if let Some(name) = fx.names.values().next() {
        for _ in 0..20 {
            let sent = Instant::now();
            fx.clients
                .lambda()
                .get_function_configuration()
                .function_name(name)
                .send()
                .await
                .map_err(|e| {
                    DeployBenchError::Deploy(format!("GetFunctionConfiguration: {e:?}"))
                })?;
            result.call_ms.push(sent.elapsed().as_secs_f64() * 1000.0);
        }
    }

    let mut unchanged = DeployScenario {
        name: "unchanged".to_owned(),
        changed: 0,
        ours_s: Vec::new(),
    };
    for i in 0..repeats.unchanged {
        eprintln!("bench: deploy, unchanged {}/{}", i + 1, repeats.unchanged);
        unchanged.ours_s.push(fx.deploy(&current, 0).await?);
    }
    result.scenarios.push(unchanged);

    for i in 0..repeats.naive {
        eprintln!(
            "bench: deploy, naive upload-then-update of every function {}/{}",
            i + 1,
            repeats.naive
        );
        result.naive_s.push(fx.naive(&current, i).await?);
    }

    let mut counter = 0_u64;
    let mut one = DeployScenario {
        name: "one changed".to_owned(),
        changed: 1,
        ours_s: Vec::new(),
    };
    for i in 0..repeats.one_changed {
        eprintln!(
            "bench: deploy, one changed {}/{}",
            i + 1,
            repeats.one_changed
        );
        let k = i % inputs.len().max(1);
        counter += 1;
        current[k].1 = fx.variant(&inputs[k], counter)?;
        one.ours_s.push(fx.deploy(&current, 1).await?);
    }
    result.scenarios.push(one);

    if repeats.all_changed > 0 {
        let mut all = DeployScenario {
            name: "all changed".to_owned(),
            changed: inputs.len(),
            ours_s: Vec::new(),
        };
        for i in 0..repeats.all_changed {
            eprintln!(
                "bench: deploy, all changed {}/{}",
                i + 1,
                repeats.all_changed
            );
            for (k, input) in inputs.iter().enumerate() {
                counter += 1;
                current[k].1 = fx.variant(input, counter)?;
            }
            all.ours_s.push(fx.deploy(&current, inputs.len()).await?);
        }
        result.scenarios.push(all);
    }
    Ok(result)
}

/// The SDK configuration for moto server at `endpoint`: us-east-1, fixed test credentials.
#[must_use]
pub fn moto_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_lambda::config::SharedCredentialsProvider::new(
            aws_sdk_lambda::config::Credentials::new("test", "test", None, None, "bench"),
        ))
        .build()
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> DeployBenchError + '_ {
    move |e| DeployBenchError::Io {
        path: path.display().to_string(),
        cause: e.to_string(),
    }
}

impl Fixture {
    async fn new(
        endpoint: &str,
        inputs: &[Input],
        work_dir: &Path,
    ) -> Result<Self, DeployBenchError> {
        let setup = |what: &str, cause: String| DeployBenchError::Setup {
            endpoint: endpoint.to_owned(),
            what: what.to_owned(),
            cause,
        };
        let config = moto_config(endpoint);
        let clients = deploy::Clients::from_sdk_config(&config)
            .map_err(|e| setup("clients", e.to_string()))?;
        let id = ulid::Ulid::new().to_string().to_lowercase();
        let bucket = format!("bench-{id}");
        clients
            .s3()
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .map_err(|e| setup("CreateBucket", format!("{e:?}")))?;
        let iam = aws_sdk_iam::Client::new(&config);
        let role = iam
            .create_role()
            .role_name(format!("bench-{id}"))
            .assume_role_policy_document(ROLE_POLICY)
            .send()
            .await
            .map_err(|e| setup("CreateRole", format!("{e:?}")))?;
        let role_arn = role
            .role
            .map(|r| r.arn)
            .ok_or_else(|| setup("CreateRole", "no role in the answer".to_owned()))?;
        let mut names = BTreeMap::new();
        for input in inputs {
            let name = format!("bench-{id}-{}", input.function);
            let zip = std::fs::read(&input.zip).map_err(io_error(&input.zip))?;
            clients
                .lambda()
                .create_function()
                .function_name(&name)
                .runtime(Runtime::Providedal2023)
                .role(&role_arn)
                .handler("bootstrap")
                .architectures(Architecture::Arm64)
                .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
                .publish(true)
                .send()
                .await
                .map_err(|e| setup(&format!("CreateFunction {name}"), format!("{e:?}")))?;
            clients
                .lambda()
                .create_alias()
                .function_name(&name)
                .name(deploy::ALIAS)
                .function_version("1")
                .send()
                .await
                .map_err(|e| setup(&format!("CreateAlias {name}"), format!("{e:?}")))?;
            names.insert(input.function.clone(), name);
        }
        let dir = work_dir.join(&id);
        std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        Ok(Self {
            clients,
            bucket,
            names,
            dir,
        })
    }

    fn stack(&self) -> Result<deploy::StackOutputs, DeployBenchError> {
        let json = serde_json::json!({
            "region": {"value": "us-east-1"},
            "s3_bucket_name": {"value": self.bucket},
            "function_names": {"value": self.names},
        });
        deploy::StackOutputs::from_terraform_json(&json.to_string())
            .map_err(|e| DeployBenchError::Deploy(e.to_string()))
    }

    /// A zip of `input`'s binary with `counter` appended: new code, new `CodeSha256`.
    fn variant(&self, input: &Input, counter: u64) -> Result<PathBuf, DeployBenchError> {
        let mut binary = std::fs::read(&input.binary).map_err(io_error(&input.binary))?;
        binary.extend_from_slice(format!("\0bench-variant-{counter}").as_bytes());
        let zip = xtask::package::zip_bootstrap(&binary)
            .map_err(|e| DeployBenchError::Deploy(e.to_string()))?;
        let path = self.dir.join(format!("{}-{counter}.zip", input.function));
        std::fs::write(&path, zip).map_err(io_error(&path))?;
        Ok(path)
    }

    /// `packages.json` for `zips`, loaded as the engine loads it.
    fn manifest(&self, zips: &[(String, PathBuf)]) -> Result<deploy::Manifest, DeployBenchError> {
        let mut packages = Vec::new();
        for (function, zip) in zips {
            let bytes = std::fs::read(zip).map_err(io_error(zip))?;
            let digest = Sha256::digest(&bytes);
            packages.push(serde_json::json!({
                "function": function,
                "zip": zip,
                "size": bytes.len(),
                "sha256": hex::encode(digest),
                "code_sha256": base64::engine::general_purpose::STANDARD.encode(digest),
            }));
        }
        let json = serde_json::json!({"arch": "arm64", "packages": packages}).to_string();
        deploy::Manifest::from_json(&json, &self.dir)
            .map_err(|e| DeployBenchError::Deploy(e.to_string()))
    }

    /// One engine deploy of `zips`; its wall time in seconds. Fails unless exactly `changed`
    /// functions were updated and the rest unchanged.
    async fn deploy(
        &self,
        zips: &[(String, PathBuf)],
        changed: usize,
    ) -> Result<f64, DeployBenchError> {
        let manifest = self.manifest(zips)?;
        let stack = self.stack()?;
        let options = deploy::DeployOptions {
            progress: deploy::Progress::silent(),
            ..deploy::DeployOptions::default()
        };
        let started = Instant::now();
        let report = deploy::deploy(&self.clients, &stack, &manifest, &options)
            .await
            .map_err(|e| DeployBenchError::Deploy(e.to_string()))?;
        let seconds = started.elapsed().as_secs_f64();
        if !report.success() {
            return Err(DeployBenchError::Deploy(deploy::render_table(&report)));
        }
        let updated = report
            .entries
            .iter()
            .filter(|e| matches!(e.outcome, deploy::Outcome::Updated { .. }))
            .count();
        if updated != changed {
            return Err(DeployBenchError::Deploy(format!(
                "expected {changed} updated, got {updated}:\n{}",
                deploy::render_table(&report)
            )));
        }
        Ok(seconds)
    }

    /// The naive path over `zips`: one function after the other, upload, update, wait,
    /// publish, move the alias. Its wall time in seconds.
    async fn naive(&self, zips: &[(String, PathBuf)], run: usize) -> Result<f64, DeployBenchError> {
        let lambda = self.clients.lambda();
        let failed = |what: &str, e: String| DeployBenchError::Deploy(format!("naive {what}: {e}"));
        let started = Instant::now();
        for (function, zip) in zips {
            let name = &self.names[function];
            let bytes = tokio::fs::read(zip).await.map_err(io_error(zip))?;
            let key = format!("naive/{function}/{run}.zip");
            self.clients
                .s3()
                .put_object()
                .bucket(&self.bucket)
                .key(&key)
                .body(ByteStream::from(bytes))
                .send()
                .await
                .map_err(|e| failed("PutObject", format!("{e:?}")))?;
            lambda
                .update_function_code()
                .function_name(name)
                .s3_bucket(&self.bucket)
                .s3_key(&key)
                .send()
                .await
                .map_err(|e| failed("UpdateFunctionCode", format!("{e:?}")))?;
            let mut pause = Duration::from_millis(250);
            loop {
                let config = lambda
                    .get_function_configuration()
                    .function_name(name)
                    .send()
                    .await
                    .map_err(|e| failed("GetFunctionConfiguration", format!("{e:?}")))?;
                match config.last_update_status() {
                    None | Some(LastUpdateStatus::Successful) => break,
                    Some(LastUpdateStatus::Failed) => {
                        return Err(failed("update", "LastUpdateStatus Failed".to_owned()));
                    }
                    Some(_) => {}
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            let version = lambda
                .publish_version()
                .function_name(name)
                .send()
                .await
                .map_err(|e| failed("PublishVersion", format!("{e:?}")))?
                .version
                .unwrap_or_default();
            lambda
                .update_alias()
                .function_name(name)
                .name(deploy::ALIAS)
                .function_version(version)
                .send()
                .await
                .map_err(|e| failed("UpdateAlias", format!("{e:?}")))?;
        }
        Ok(started.elapsed().as_secs_f64())
    }
}
