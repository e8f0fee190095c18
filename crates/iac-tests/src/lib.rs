//! A Terraform harness for applying the real `IaC/` root module to a local AWS (moto server).
//!
//! [`TerraformStack::new`] copies `IaC/` into a temporary directory (leaving out `.terraform/`,
//! state files, `terraform.tfvars` and local `*override.tf` files) and adds one override file,
//! [`OVERRIDE_FILE`], whose `provider "aws"` block points every service the stack uses at the
//! local endpoint with fake credentials. Terraform merges override files into the root module,
//! so the user's IaC itself is applied unchanged.
//!
//! Every command runs `terraform` (from `$TERRAFORM`, else `PATH`) with `-no-color`, in the
//! temporary directory, with a private `TF_DATA_DIR`, `TF_IN_AUTOMATION=1` and `TF_INPUT=0`;
//! `init` adds `-plugin-dir=$TF_PLUGIN_DIR` when that is set (offline machines and CI). A
//! failing command returns [`HarnessError::Failed`] naming the command and holding its output.
//! Dropping a stack that was applied and not destroyed runs a best-effort `terraform destroy`.
//!
//! ```no_run
//! use iac_tests::{RunNames, TerraformStack, Vars, package_dir, workspace_root};
//!
//! # fn main() -> Result<(), iac_tests::HarnessError> {
//! let endpoint = iac_tests::moto_endpoint()?;
//! let root = workspace_root();
//! let mut stack = TerraformStack::new(&root.join("IaC"), &endpoint)?;
//! stack.init()?;
//! let vars = Vars::local_aws(&RunNames::unique(), &package_dir(&root));
//! stack.apply(&vars)?;
//! let outputs = stack.outputs()?;
//! println!("API at {}", outputs.string("api_gateway_endpoint")?);
//! stack.destroy()?;
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::hash::{BuildHasher as _, Hasher as _};
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tempfile::TempDir;

/// The region everything is created in (moto accepts any; the tests use this one).
pub const REGION: &str = "us-east-1";

/// The repository the test stack's GitHub deploy role trusts.
pub const GITHUB_REPOSITORY: &str = "example-org/notes-api";

/// The app client's callback URLs in the tests (`IaC/terraform.tfvars.example`'s local value).
pub const LOCAL_CALLBACK_URLS: &[&str] = &["http://localhost:3000/callback"];

/// The app client's sign-out URLs in the tests (`IaC/terraform.tfvars.example`'s local value).
pub const LOCAL_LOGOUT_URLS: &[&str] = &["http://localhost:3000/"];

/// The name of the provider override file written next to the copied root module.
pub const OVERRIDE_FILE: &str = "zz_local_aws_override.tf";

/// The provider `endpoints` keys pointed at the local AWS: every service the IaC calls.
pub const ENDPOINT_SERVICES: &[&str] = &[
    "apigatewayv2",
    "cognitoidp",
    "dynamodb",
    "iam",
    "lambda",
    "logs",
    "s3",
    "sts",
];

/// How many trailing output lines a [`HarnessError::Failed`] shows.
pub const TAIL_LINES: usize = 40;

/// How long one terraform command may run by default before it is killed.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// How often a running command is checked for exit and for its deadline.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Why a harness step failed.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// `MOTO_ENDPOINT` is not set.
    #[error(
        "MOTO_ENDPOINT is not set: run the IaC tests through `cargo xtask test`, which starts moto \
         server (or start `moto_server -H 127.0.0.1 -p PORT` and set \
         MOTO_ENDPOINT=http://127.0.0.1:PORT)"
    )]
    NoEndpoint,
    /// A file or directory could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The terraform program could not be started.
    #[error(
        "cannot run `{}`: {source}; install Terraform >= 1.11 or point $TERRAFORM at it",
        program.to_string_lossy()
    )]
    Spawn {
        /// The program that was run.
        program: OsString,
        /// The underlying error.
        source: io::Error,
    },
    /// `TF_PLUGIN_DIR` names something that is not a directory.
    #[error(
        "TF_PLUGIN_DIR={} is not a directory: point it at a provider mirror (a directory holding \
         registry.terraform.io/hashicorp/aws/<version>/<os>_<arch>/), or unset it to download \
         the provider from the registry",
        path.display()
    )]
    PluginDir {
        /// The value of `TF_PLUGIN_DIR`.
        path: PathBuf,
    },
    /// `terraform init` failed.
    #[error("{failure}\n\n{hint}")]
    Init {
        /// The failed command.
        failure: Box<HarnessError>,
        /// What to do about it.
        hint: String,
    },
    /// A terraform command exited unsuccessfully.
    #[error(
        "`{command}` failed ({status}) after {:.1} s; last {TAIL_LINES} lines of its output:\n{}",
        duration.as_secs_f64(),
        tail(output, TAIL_LINES)
    )]
    Failed {
        /// The command line.
        command: String,
        /// How it exited.
        status: ExitStatus,
        /// Its whole output, stdout and stderr interleaved.
        output: String,
        /// How long it ran.
        duration: Duration,
    },
    /// A terraform command did not finish in time and was killed.
    #[error(
        "`{command}` did not finish within {timeout:?} and was killed; last {TAIL_LINES} lines of \
         its output:\n{}",
        tail(output, TAIL_LINES)
    )]
    Timeout {
        /// The command line.
        command: String,
        /// The limit.
        timeout: Duration,
        /// What it printed until then.
        output: String,
    },
    /// A command's JSON output could not be parsed (the text is not repeated: it may hold secrets).
    #[error("`{command}` printed something that is not the expected JSON: {message}")]
    Json {
        /// The command line.
        command: String,
        /// What was wrong.
        message: String,
    },
    /// An output is missing or has another type.
    #[error("terraform output `{name}` {problem}")]
    Output {
        /// The output's name.
        name: String,
        /// What is wrong with it.
        problem: &'static str,
    },
}

impl HarnessError {
    /// The whole output of the failed command, when a command ran.
    pub fn output(&self) -> Option<&str> {
        match self {
            Self::Failed { output, .. } | Self::Timeout { output, .. } => Some(output),
            Self::Init { failure, .. } => failure.output(),
            _ => None,
        }
    }
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The local AWS endpoint from `MOTO_ENDPOINT` (set by `cargo xtask test`).
pub fn moto_endpoint() -> Result<String, HarnessError> {
    match std::env::var("MOTO_ENDPOINT") {
        Ok(endpoint) if !endpoint.trim().is_empty() => {
            Ok(endpoint.trim().trim_end_matches('/').to_owned())
        }
        _ => Err(HarnessError::NoEndpoint),
    }
}

/// The workspace root (the directory holding `IaC/` and the root `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir
        .ancestors()
        .nth(2)
        .map_or_else(|| crate_dir.to_path_buf(), Path::to_path_buf)
}

/// Cargo's target directory: `$CARGO_TARGET_DIR` (relative to `root` if relative), else
/// `<root>/target`.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// Where `cargo xtask package` writes `<function>/bootstrap.zip`: `<target>/lambda`.
pub fn package_dir(root: &Path) -> PathBuf {
    target_dir(root).join("lambda")
}

/// Names that are unique to one test run, so that runs never collide on one local AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunNames {
    /// The `project_name` variable: `it` and 8 hex digits (every resource name starts with it).
    pub project_name: String,
    /// The `cognito_domain_prefix` variable: `<project_name>-auth`.
    pub cognito_domain_prefix: String,
}

impl RunNames {
    /// Fresh names derived from the process id, the time and a random seed. Hex digits only, so
    /// the domain prefix can never contain the words Cognito forbids (`aws`, `amazon`, `cognito`)
    /// and the project name fits `IaC/variables.tf`'s rule (`^[a-z][a-z0-9-]{1,30}[a-z0-9]$`).
    pub fn unique() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        hasher.write_u128(nanos);
        let suffix = hasher.finish() & 0xffff_ffff;
        Self::from_project(&format!("it{suffix:08x}"))
    }

    /// Names for a given project name.
    pub fn from_project(project_name: &str) -> Self {
        Self {
            project_name: project_name.to_owned(),
            cognito_domain_prefix: format!("{project_name}-auth"),
        }
    }
}

/// Terraform input variables, passed to each command as a JSON `-var-file`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vars(BTreeMap<String, Value>);

impl Vars {
    /// No variables.
    pub fn new() -> Self {
        Self::default()
    }

    /// The variables a local-AWS run needs: the run's unique names, the required callback and
    /// logout URLs (the local ones of `IaC/terraform.tfvars.example`), `package_dir`, the region,
    /// and two settings moto needs and AWS must never get:
    /// - `force_destroy_buckets = true`: the buckets are versioned and hold objects;
    /// - `s3_tls_only_policy = false`: moto evaluates the TLS-only bucket policy without any
    ///   `aws:SecureTransport` context, so its Deny matches every object call (even the
    ///   provider's own reads of the uploaded zips fail with 403). Check the policy in a plan
    ///   with `s3_tls_only_policy = true` instead.
    ///
    /// It also turns on the optional GitHub deploy role (for the repository
    /// `example-org/notes-api`), so that module is applied and checked too.
    pub fn local_aws(names: &RunNames, package_dir: &Path) -> Self {
        Self::new()
            .set("project_name", names.project_name.as_str())
            .set(
                "cognito_domain_prefix",
                names.cognito_domain_prefix.as_str(),
            )
            .set("callback_urls", LOCAL_CALLBACK_URLS.to_vec())
            .set("logout_urls", LOCAL_LOGOUT_URLS.to_vec())
            .set("package_dir", package_dir.to_string_lossy().as_ref())
            .set("region", REGION)
            .set("force_destroy_buckets", true)
            // The run's table goes with the run (the default, true, is checked by the
            // variables test).
            .set("notes_table_deletion_protection", false)
            .set("s3_tls_only_policy", false)
            .set("enable_github_deploy_role", true)
            .set("github_repository", GITHUB_REPOSITORY)
    }

    /// These variables with `name` set to `value`.
    #[must_use]
    pub fn set(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.0.insert(name.to_owned(), value.into());
        self
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    fn to_json(&self) -> Value {
        Value::Object(self.0.clone().into_iter().collect())
    }
}

/// One `terraform output -json` value.
#[derive(Clone, PartialEq)]
pub struct Output {
    /// Whether the output is marked `sensitive`.
    pub sensitive: bool,
    /// Its value.
    pub value: Value,
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Output");
        s.field("sensitive", &self.sensitive);
        if self.sensitive {
            s.field("value", &"<sensitive>");
        } else {
            s.field("value", &self.value);
        }
        s.finish()
    }
}

/// The root module's outputs. `Debug` never shows sensitive values.
#[derive(Debug, Clone, PartialEq)]
pub struct Outputs(BTreeMap<String, Output>);

impl Outputs {
    /// Parses `terraform output -json`.
    fn parse(command: &str, text: &str) -> Result<Self, HarnessError> {
        let json_error = |message: String| HarnessError::Json {
            command: command.to_owned(),
            message,
        };
        let value: Value = serde_json::from_str(text).map_err(|e| json_error(e.to_string()))?;
        let Value::Object(map) = value else {
            return Err(json_error("not a JSON object".to_owned()));
        };
        let mut outputs = BTreeMap::new();
        for (name, entry) in map {
            let sensitive = entry
                .get("sensitive")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let Some(value) = entry.get("value") else {
                return Err(json_error(format!("output `{name}` has no value")));
            };
            outputs.insert(
                name,
                Output {
                    sensitive,
                    value: value.clone(),
                },
            );
        }
        Ok(Self(outputs))
    }

    /// The outputs in `terraform output -json`'s shape again (`{"name": {"sensitive", "value"}}`),
    /// for code that reads that text, such as the deploy tool.
    pub fn to_terraform_json(&self) -> String {
        let map: serde_json::Map<String, Value> = self
            .0
            .iter()
            .map(|(name, output)| {
                let entry =
                    serde_json::json!({"sensitive": output.sensitive, "value": output.value});
                (name.clone(), entry)
            })
            .collect();
        Value::Object(map).to_string()
    }

    /// The output `name`, if present.
    pub fn get(&self, name: &str) -> Option<&Output> {
        self.0.get(name)
    }

    /// The names of all outputs.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// The value of `name`, which must exist.
    pub fn value(&self, name: &str) -> Result<&Value, HarnessError> {
        self.get(name)
            .map(|o| &o.value)
            .ok_or_else(|| HarnessError::Output {
                name: name.to_owned(),
                problem: "is missing",
            })
    }

    /// The value of `name`, which must be a string.
    pub fn string(&self, name: &str) -> Result<&str, HarnessError> {
        self.value(name)?
            .as_str()
            .ok_or_else(|| HarnessError::Output {
                name: name.to_owned(),
                problem: "is not a string",
            })
    }

    /// The value of `name`, which must be a map of strings.
    pub fn string_map(&self, name: &str) -> Result<BTreeMap<String, String>, HarnessError> {
        let problem = HarnessError::Output {
            name: name.to_owned(),
            problem: "is not a map of strings",
        };
        let Value::Object(map) = self.value(name)? else {
            return Err(problem);
        };
        map.iter()
            .map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
            .collect::<Option<_>>()
            .ok_or(problem)
    }

    /// The value of `name`, which must be a list of strings.
    pub fn string_list(&self, name: &str) -> Result<Vec<String>, HarnessError> {
        let problem = HarnessError::Output {
            name: name.to_owned(),
            problem: "is not a list of strings",
        };
        let Value::Array(items) = self.value(name)? else {
            return Err(problem);
        };
        items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or(problem)
    }
}

/// What a successful terraform command printed and how long it took.
#[derive(Debug, Clone)]
pub struct Run {
    /// stdout and stderr, interleaved.
    pub output: String,
    /// How long the command ran.
    pub duration: Duration,
}

/// A copy of the root module in a temporary directory, wired to a local AWS endpoint.
///
/// Dropping it after [`apply`](Self::apply) (even a failed one) without a successful
/// [`destroy`](Self::destroy) runs a best-effort destroy with the last applied variables.
#[derive(Debug)]
pub struct TerraformStack {
    dir: TempDir,
    terraform: OsString,
    plugin_dir: Option<PathBuf>,
    timeout: Duration,
    /// The variables of the last apply, while something may exist.
    applied: Option<Vars>,
    /// Numbers the variable and plan files.
    runs: u32,
}

impl TerraformStack {
    /// Copies the root module `source` (normally `<workspace>/IaC`) into a new temporary directory
    /// and writes [`OVERRIDE_FILE`] pointing every provider endpoint at `endpoint`.
    pub fn new(source: &Path, endpoint: &str) -> Result<Self, HarnessError> {
        let plugin_dir = match std::env::var_os("TF_PLUGIN_DIR") {
            Some(dir) if !dir.is_empty() => {
                let dir = PathBuf::from(dir);
                if !dir.is_dir() {
                    return Err(HarnessError::PluginDir { path: dir });
                }
                Some(dir)
            }
            _ => None,
        };
        let terraform = std::env::var_os("TERRAFORM")
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "terraform".into());
        let dir = tempfile::Builder::new()
            .prefix("iac-tests-")
            .tempdir()
            .map_err(|source| HarnessError::Io {
                action: "create a temporary directory in",
                path: std::env::temp_dir(),
                source,
            })?;
        copy_module(source, dir.path())?;
        let override_path = dir.path().join(OVERRIDE_FILE);
        fs::write(&override_path, provider_override(endpoint)).map_err(|source| {
            HarnessError::Io {
                action: "write",
                path: override_path,
                source,
            }
        })?;
        Ok(Self {
            dir,
            terraform,
            plugin_dir,
            timeout: DEFAULT_COMMAND_TIMEOUT,
            applied: None,
            runs: 0,
        })
    }

    /// Sets how long one terraform command may run before it is killed.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The temporary directory holding the copied module (terraform's working directory).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `terraform init -input=false`, with `-plugin-dir=$TF_PLUGIN_DIR` when that is set.
    pub fn init(&mut self) -> Result<Run, HarnessError> {
        let mut args = vec!["init".to_owned(), "-input=false".to_owned()];
        if let Some(dir) = &self.plugin_dir {
            args.push(format!("-plugin-dir={}", dir.display()));
        }
        self.terraform(&args).map_err(|failure| {
            let hint = match &self.plugin_dir {
                Some(dir) => format!(
                    "terraform init used the provider mirror TF_PLUGIN_DIR={}: it must hold \
                     registry.terraform.io/hashicorp/aws in a version matching IaC/terraform.tf \
                     for this platform (and matching IaC/.terraform.lock.hcl).",
                    dir.display()
                ),
                None => "terraform init could not install the providers. Without internet access \
                         set TF_PLUGIN_DIR to a provider mirror (a directory holding \
                         registry.terraform.io/hashicorp/aws/<version>/<os>_<arch>/; on the CI \
                         machine TF_PLUGIN_DIR=/opt/tf-plugins)."
                    .to_owned(),
            };
            HarnessError::Init {
                failure: Box::new(failure),
                hint,
            }
        })
    }

    /// `terraform validate`.
    pub fn validate(&mut self) -> Result<Run, HarnessError> {
        self.terraform(&["validate".to_owned()])
    }

    /// `terraform plan` with `vars`. On failure the error holds the whole output
    /// ([`HarnessError::output`]), e.g. to look for a precondition's message.
    pub fn plan(&mut self, vars: &Vars) -> Result<Run, HarnessError> {
        let var_file = self.write_vars(vars)?;
        self.terraform(&["plan".to_owned(), "-input=false".to_owned(), var_file])
    }

    /// `terraform plan -out` with `vars`, then `terraform show -json` of that plan.
    ///
    /// The JSON holds sensitive values in clear text: never print it whole.
    pub fn plan_json(&mut self, vars: &Vars) -> Result<Value, HarnessError> {
        let var_file = self.write_vars(vars)?;
        let plan_file = format!("run-{}.tfplan", self.runs);
        self.terraform(&[
            "plan".to_owned(),
            "-input=false".to_owned(),
            var_file,
            format!("-out={plan_file}"),
        ])?;
        self.show_json(Some(&plan_file))
    }

    /// `terraform show -json` of the current state.
    ///
    /// The JSON holds sensitive values in clear text: never print it whole.
    pub fn state_json(&mut self) -> Result<Value, HarnessError> {
        self.show_json(None)
    }

    fn show_json(&mut self, plan_file: Option<&str>) -> Result<Value, HarnessError> {
        let mut args = vec!["show".to_owned(), "-json".to_owned()];
        args.extend(plan_file.map(str::to_owned));
        let command = self.command_line(&args);
        let run = self.terraform_quiet(&args)?;
        serde_json::from_str(&run.output).map_err(|e| HarnessError::Json {
            command,
            message: e.to_string(),
        })
    }

    /// `terraform apply -auto-approve` with `vars` (terraform's default parallelism). From here
    /// on, dropping the stack destroys what exists, even when the apply fails part way.
    pub fn apply(&mut self, vars: &Vars) -> Result<Run, HarnessError> {
        let var_file = self.write_vars(vars)?;
        self.applied = Some(vars.clone());
        self.terraform(&[
            "apply".to_owned(),
            "-input=false".to_owned(),
            "-auto-approve".to_owned(),
            var_file,
        ])
    }

    /// `terraform output -json`.
    pub fn outputs(&mut self) -> Result<Outputs, HarnessError> {
        let args = ["output".to_owned(), "-json".to_owned()];
        let command = self.command_line(&args);
        let run = self.terraform_quiet(&args)?;
        Outputs::parse(&command, &run.output)
    }

    /// `terraform destroy -auto-approve` with the variables of the last apply (nothing to do if
    /// nothing was applied).
    pub fn destroy(&mut self) -> Result<Run, HarnessError> {
        let Some(vars) = self.applied.clone() else {
            return Ok(Run {
                output: "nothing applied".to_owned(),
                duration: Duration::ZERO,
            });
        };
        let var_file = self.write_vars(&vars)?;
        let run = self.terraform(&[
            "destroy".to_owned(),
            "-input=false".to_owned(),
            "-auto-approve".to_owned(),
            var_file,
        ])?;
        self.applied = None;
        Ok(run)
    }

    /// Writes `vars` to a new JSON variable file and returns the `-var-file=` argument.
    fn write_vars(&mut self, vars: &Vars) -> Result<String, HarnessError> {
        self.runs += 1;
        // Not *.auto.tfvars.json: terraform would load it into every later command.
        let name = format!("run-{}.tfvars.json", self.runs);
        let path = self.dir.path().join(&name);
        fs::write(&path, vars.to_json().to_string()).map_err(|source| HarnessError::Io {
            action: "write",
            path,
            source,
        })?;
        Ok(format!("-var-file={name}"))
    }

    fn command_line(&self, args: &[String]) -> String {
        format!(
            "{} {} -no-color",
            self.terraform.to_string_lossy(),
            args.join(" ")
        )
    }

    /// Runs terraform with `args` and `-no-color`, stdout and stderr interleaved.
    fn terraform(&self, args: &[String]) -> Result<Run, HarnessError> {
        self.run(args, true)
    }

    /// Like [`terraform`](Self::terraform), but with only stdout captured (for JSON output);
    /// stderr is still reported when the command fails.
    fn terraform_quiet(&self, args: &[String]) -> Result<Run, HarnessError> {
        self.run(args, false)
    }

    fn run(&self, args: &[String], merge_stderr: bool) -> Result<Run, HarnessError> {
        let command_line = self.command_line(args);
        let mut command = Command::new(&self.terraform);
        command
            .args(args)
            .arg("-no-color")
            .current_dir(self.dir.path())
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("TF_DATA_DIR", self.dir.path().join(".terraform-data"))
            // Static test keys are in the override; a profile in the environment must not be
            // looked up, and there is no instance metadata to ask.
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_DEFAULT_PROFILE")
            .stdin(Stdio::null());
        // The user's TF_VAR_*, TF_CLI_ARGS* and TF_WORKSPACE must not change what is tested.
        for (key, _) in std::env::vars_os() {
            let key_text = key.to_string_lossy();
            if key_text.starts_with("TF_VAR_")
                || key_text.starts_with("TF_CLI_ARGS")
                || key_text == "TF_WORKSPACE"
            {
                command.env_remove(&key);
            }
        }
        let (reader, writer) = io::pipe().map_err(|source| HarnessError::Io {
            action: "create a pipe for",
            path: PathBuf::from(&self.terraform),
            source,
        })?;
        let (stderr_reader, stderr_writer) = if merge_stderr {
            let clone = writer.try_clone().map_err(|source| HarnessError::Io {
                action: "create a pipe for",
                path: PathBuf::from(&self.terraform),
                source,
            })?;
            (None, clone)
        } else {
            let (r, w) = io::pipe().map_err(|source| HarnessError::Io {
                action: "create a pipe for",
                path: PathBuf::from(&self.terraform),
                source,
            })?;
            (Some(r), w)
        };
        command.stdout(writer).stderr(stderr_writer);
        let start = Instant::now();
        let child = command.spawn().map_err(|source| HarnessError::Spawn {
            program: self.terraform.clone(),
            source,
        })?;
        // Our copies of the pipe's write ends live in `command`: close them, or the readers
        // would never see the end of the output.
        drop(command);
        let stdout = read_in_background(reader);
        let stderr = stderr_reader.map(read_in_background);
        let waited = wait_with_deadline(child, start + self.timeout);
        let mut output = join_reader(stdout);
        let error_output = stderr.map(join_reader).unwrap_or_default();
        let duration = start.elapsed();
        match waited {
            Ok(status) if status.success() => Ok(Run { output, duration }),
            Ok(status) => {
                if !error_output.is_empty() {
                    output.push_str(&error_output);
                }
                Err(HarnessError::Failed {
                    command: command_line,
                    status,
                    output,
                    duration,
                })
            }
            Err(WaitError::Timeout) => {
                output.push_str(&error_output);
                Err(HarnessError::Timeout {
                    command: command_line,
                    timeout: self.timeout,
                    output,
                })
            }
            Err(WaitError::Io(source)) => Err(HarnessError::Io {
                action: "wait for",
                path: PathBuf::from(&self.terraform),
                source,
            }),
        }
    }
}

impl Drop for TerraformStack {
    fn drop(&mut self) {
        if self.applied.is_none() {
            return;
        }
        eprintln!(
            "iac-tests: destroying what the test applied in {} (best effort)",
            self.dir.path().display()
        );
        if let Err(e) = self.destroy() {
            eprintln!("iac-tests: the cleanup destroy failed: {e}");
        }
    }
}

/// The `provider "aws"` override pointing every service at `endpoint`.
fn provider_override(endpoint: &str) -> String {
    let width = ENDPOINT_SERVICES.iter().map(|s| s.len()).max().unwrap_or(0);
    let endpoints: String = ENDPOINT_SERVICES
        .iter()
        .map(|service| format!("    {service:<width$} = \"{endpoint}\"\n"))
        .collect();
    format!(
        "# Written by crates/iac-tests: points the root module's provider at a local AWS.\n\
         provider \"aws\" {{\n  \
           region                      = \"{REGION}\"\n  \
           access_key                  = \"test\"\n  \
           secret_key                  = \"test\"\n  \
           skip_credentials_validation = true\n  \
           skip_metadata_api_check     = true\n  \
           skip_region_validation      = true\n  \
           s3_use_path_style           = true\n\n  \
           endpoints {{\n{endpoints}  }}\n\
         }}\n"
    )
}

/// Whether `name` (a file or directory name in the module) stays out of the copy.
fn skipped(name: &str, is_dir: bool) -> bool {
    if is_dir {
        return name == ".terraform";
    }
    name.contains(".tfstate")
        || name == "terraform.tfvars"
        || name == "terraform.tfvars.json"
        || name.ends_with(".tfplan")
        // A developer's local override files would change what is applied.
        || name == "override.tf"
        || name == "override.tf.json"
        || name.ends_with("_override.tf")
        || name.ends_with("_override.tf.json")
}

/// Copies the module directory `from` into `to`, recursively, without [`skipped`] entries.
fn copy_module(from: &Path, to: &Path) -> Result<(), HarnessError> {
    let io_error = |action, path: &Path| {
        let path = path.to_path_buf();
        move |source| HarnessError::Io {
            action,
            path,
            source,
        }
    };
    let entries = fs::read_dir(from).map_err(io_error("read the directory", from))?;
    for entry in entries {
        let entry = entry.map_err(io_error("read the directory", from))?;
        let path = entry.path();
        let file_type = entry.file_type().map_err(io_error("inspect", &path))?;
        let is_dir = file_type.is_dir() || (file_type.is_symlink() && path.is_dir());
        let name = entry.file_name();
        if skipped(&name.to_string_lossy(), is_dir) {
            continue;
        }
        let target = to.join(&name);
        if is_dir {
            fs::create_dir_all(&target).map_err(io_error("create", &target))?;
            copy_module(&path, &target)?;
        } else {
            fs::copy(&path, &target).map_err(io_error("copy", &path))?;
        }
    }
    Ok(())
}

/// Reads a pipe to its end on another thread.
fn read_in_background(mut reader: io::PipeReader) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        // A read error ends the capture; what was read so far is still reported.
        let _ = reader.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn join_reader(handle: thread::JoinHandle<String>) -> String {
    handle
        .join()
        .unwrap_or_else(|_| "<the output reader panicked>".to_owned())
}

enum WaitError {
    Timeout,
    Io(io::Error),
}

/// Waits for `child` to exit, killing it at `deadline`.
fn wait_with_deadline(mut child: Child, deadline: Instant) -> Result<ExitStatus, WaitError> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                // Best effort: the process may have exited in between.
                let _ = child.kill();
                let _ = child.wait();
                return Err(WaitError::Timeout);
            }
            Ok(None) => thread::sleep(POLL_INTERVAL),
            Err(e) => return Err(WaitError::Io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_fit_the_variable_rules() {
        let a = RunNames::unique();
        let b = RunNames::unique();
        assert_ne!(a, b);
        for names in [a, b] {
            let p = &names.project_name;
            assert_eq!(p.len(), 10, "{p}");
            let Some(suffix) = p.strip_prefix("it") else {
                panic!("{p} does not start with `it`")
            };
            assert!(
                suffix
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
                "{p}"
            );
            let d = &names.cognito_domain_prefix;
            assert_eq!(d, &format!("{p}-auth"));
            for word in ["aws", "amazon", "cognito"] {
                assert!(!d.contains(word), "{d}");
            }
        }
    }

    #[test]
    fn override_points_every_service_at_the_endpoint() {
        let text = provider_override("http://127.0.0.1:5000");
        for service in ENDPOINT_SERVICES {
            let line = text
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{service} ")));
            let Some(line) = line else {
                panic!("no endpoint for {service} in:\n{text}")
            };
            assert!(line.ends_with("= \"http://127.0.0.1:5000\""), "{line}");
        }
        assert!(
            text.contains("s3_use_path_style           = true"),
            "{text}"
        );
        assert!(text.contains(&format!("region                      = \"{REGION}\"")));
    }

    #[test]
    fn copy_leaves_out_local_state_and_overrides() {
        let Ok(src) = tempfile::tempdir() else {
            panic!("tempdir")
        };
        let Ok(dst) = tempfile::tempdir() else {
            panic!("tempdir")
        };
        let files = [
            "main.tf",
            "routes.auto.tfvars.json",
            ".terraform.lock.hcl",
            "modules/a/main.tf",
            ".terraform/providers/x",
            "terraform.tfstate",
            "terraform.tfstate.backup",
            "terraform.tfvars",
            "local_override.tf",
            "modules/a/.terraform/y",
        ];
        for file in files {
            let path = src.path().join(file);
            let Some(parent) = path.parent() else {
                panic!("{file} has no parent")
            };
            let created = fs::create_dir_all(parent).and_then(|()| fs::write(&path, file));
            let Ok(()) = created else {
                panic!("write {file}: {created:?}")
            };
        }
        let copied = copy_module(src.path(), dst.path());
        let Ok(()) = copied else {
            panic!("copy: {copied:?}")
        };
        for kept in &files[..4] {
            assert!(dst.path().join(kept).is_file(), "{kept} was not copied");
        }
        for left_out in &files[4..] {
            assert!(!dst.path().join(left_out).exists(), "{left_out} was copied");
        }
        assert!(!dst.path().join(".terraform").exists());
    }

    #[test]
    fn outputs_parse_and_hide_sensitive_values() {
        let text = r#"{
            "client_secret": {"sensitive": true, "type": "string", "value": "s3cr3t-value"},
            "function_names": {"sensitive": false, "type": ["map","string"], "value": {"health": "p-health"}},
            "callback_urls": {"sensitive": false, "type": ["list","string"], "value": ["http://x/cb"]},
            "region": {"sensitive": false, "type": "string", "value": "us-east-1"}
        }"#;
        let parsed = Outputs::parse("terraform output -json", text);
        let Ok(outputs) = parsed else {
            panic!("parse: {parsed:?}")
        };
        assert_eq!(outputs.string("region").ok(), Some("us-east-1"));
        assert_eq!(
            outputs.string_map("function_names").ok(),
            Some(BTreeMap::from([(
                "health".to_owned(),
                "p-health".to_owned()
            )]))
        );
        assert_eq!(
            outputs.string_list("callback_urls").ok(),
            Some(vec!["http://x/cb".to_owned()])
        );
        assert!(outputs.get("client_secret").is_some_and(|o| o.sensitive));
        assert!(!format!("{outputs:?}").contains("s3cr3t"));
        assert!(matches!(
            outputs.string("missing"),
            Err(HarnessError::Output { .. })
        ));
        assert!(matches!(
            outputs.string_map("region"),
            Err(HarnessError::Output { .. })
        ));
    }

    #[test]
    fn failure_shows_the_command_and_the_tail() {
        let output: String = (1..=100).map(|i| format!("line {i}\n")).collect();
        let Ok(status) = Command::new("false").status() else {
            panic!("run `false`")
        };
        let output_len = output.len();
        let error = HarnessError::Failed {
            command: "terraform plan -no-color".to_owned(),
            status,
            output,
            duration: Duration::from_millis(1500),
        };
        let text = error.to_string();
        assert!(text.contains("`terraform plan -no-color` failed"), "{text}");
        assert!(text.contains("line 61\n"), "{text}");
        assert!(text.ends_with("line 100"), "{text}");
        assert!(!text.contains("line 60\n"), "{text}");
        assert_eq!(error.output().map(str::len), Some(output_len));
    }

    #[test]
    fn vars_are_json() {
        use serde_json::json;
        let vars = Vars::local_aws(&RunNames::from_project("itabc"), Path::new("/p/lambda"));
        let json = vars.to_json();
        assert_eq!(json["project_name"], "itabc");
        assert_eq!(json["cognito_domain_prefix"], "itabc-auth");
        assert_eq!(json["package_dir"], "/p/lambda");
        assert_eq!(
            json["callback_urls"],
            json!(["http://localhost:3000/callback"])
        );
        assert_eq!(json["logout_urls"], json!(["http://localhost:3000/"]));
        assert_eq!(json["region"], REGION);
        assert_eq!(json["force_destroy_buckets"], true);
        assert_eq!(json["s3_tls_only_policy"], false);
        let vars = vars.set("s3_tls_only_policy", true);
        assert_eq!(vars.get("s3_tls_only_policy"), Some(&Value::Bool(true)));
    }
}
