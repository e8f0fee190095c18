//! `xtask-aws`: the AWS-facing commands of `cargo xtask` (deploy, rollback, token, login, jwt).
//!
//! `cargo xtask deploy …` packages the functions, then runs `cargo run -p deploy --bin xtask-aws
//! -- deploy --manifest <target>/lambda/packages.json …`, so xtask itself stays free of the AWS
//! SDK and of an async runtime. This binary never builds and never spawns cargo: it deploys the
//! manifest it is given (default `<target>/lambda/packages.json`). Settings come from
//! `terraform output -json` in `IaC/` (or `--outputs FILE`, a saved copy of it), or for deploy
//! and rollback from the stack Terraform publishes in S3 (`--stack s3://BUCKET/KEY`), then flags.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use serde_json::{Map, Value};

use deploy::auth::{self, Grant, OAuthClient};
use deploy::{
    Arch, ClientSettings, Clients, DeployOptions, Manifest, Progress, S3Location, StackOutputs,
};

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    about = "Deploy, roll back and sign in to the notes API on AWS"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Upload the changed zips of a package manifest to S3, update each function's code,
    /// publish a version and move alias `live` to it (`cargo xtask deploy` packages first).
    ///
    /// A function whose `live` version already runs the packaged code is left alone (nothing is
    /// uploaded). One function failing does not stop the others; its alias stays where it was and
    /// the exit code is 1.
    Deploy(DeployArgs),
    /// Move alias `live` back: to the previous published version, or to `--to VERSION`.
    Rollback(RollbackArgs),
    /// Exchange an authorization code (or a refresh token) for tokens at the hosted UI's
    /// token endpoint; prints the token response as JSON.
    Token(TokenArgs),
    /// Sign in through the hosted UI: listens on the loopback callback URL, prints (and opens)
    /// the authorize URL with state and PKCE, exchanges the code it receives; prints the tokens.
    Login(LoginArgs),
    /// Create the notes table (the DynamoDB store's key schema, on-demand) on an emulator
    /// unless it exists: what `cargo xtask dev --store dynamodb --endpoint-url URL` runs before
    /// the local stack starts. On AWS, Terraform creates the table.
    NotesTable(NotesTableArgs),
    /// Read a JWT.
    Jwt {
        #[command(subcommand)]
        cmd: JwtCmd,
    },
}

#[derive(Debug, Subcommand)]
enum JwtCmd {
    /// Print a JWT's header and payload as JSON (NOT verified: for reading only).
    Decode {
        /// The token (a leading `Bearer ` is ignored).
        token: String,
    },
}

#[derive(Debug, Args)]
struct StackArgs {
    /// The Terraform root module whose outputs describe the stack.
    #[arg(long, value_name = "DIR", default_value = "IaC")]
    iac_dir: PathBuf,
    /// Read the outputs from this file (saved `terraform output -json`) instead of running
    /// terraform.
    #[arg(long, value_name = "FILE", env = "XTASK_TF_OUTPUTS")]
    outputs: Option<PathBuf>,
}

/// Where deploy and rollback find the stack: Terraform's outputs (the default), or the object
/// Terraform publishes in the artifacts bucket.
#[derive(Debug, Args)]
struct DeployStackArgs {
    /// Read the stack from the object Terraform publishes in the artifacts bucket (the
    /// `deploy_stack_url` output: s3://<artifacts bucket>/deploy/stack.json) instead of
    /// running terraform: needs only s3:GetObject on that object, neither Terraform nor its
    /// state. The region comes from --region or the credential chain (AWS_REGION).
    #[arg(long, value_name = "s3://BUCKET/KEY", conflicts_with = "outputs")]
    stack: Option<S3Location>,
    #[command(flatten)]
    terraform: StackArgs,
}

#[derive(Debug, Args)]
struct AwsArgs {
    /// Send every AWS request here (an emulator such as moto server); S3 then uses path-style
    /// addressing. Default: AWS itself (or `AWS_ENDPOINT_URL`).
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// The named profile from ~/.aws/config to use.
    #[arg(long, value_name = "P")]
    profile: Option<String>,
    /// The region; default: the stack's `region` output (with --stack: the credential chain's).
    #[arg(long, value_name = "R")]
    region: Option<String>,
}

#[derive(Debug, Args)]
struct NotesTableArgs {
    /// The DynamoDB endpoint (an emulator such as moto server).
    #[arg(long, value_name = "URL")]
    endpoint_url: String,
    /// The table's name.
    #[arg(long, value_name = "NAME", default_value = "notes-local")]
    table: String,
    /// The region the emulator is asked in.
    #[arg(long, value_name = "R", default_value = "us-east-1")]
    region: String,
}

#[derive(Debug, Args)]
struct DeployArgs {
    /// Deploy only this function (repeatable); default: every packaged function.
    #[arg(short = 'f', long = "function", value_name = "NAME")]
    functions: Vec<String>,
    /// The architecture the manifest must be built for; must match the functions' (Terraform
    /// creates arm64).
    #[arg(long, value_enum, default_value_t = Arch::Arm64)]
    arch: Arch,
    /// Compare only: say what would change, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// The package manifest to deploy (`cargo xtask package` writes it; `--no-build` is a flag
    /// of `cargo xtask deploy`); default: <target>/lambda/packages.json. Relative zip paths in
    /// it are read from the workspace root.
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// How many functions to deploy at the same time.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
    concurrency: u16,
    /// How long to wait for one function's code update to finish, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    update_timeout: u64,
    #[command(flatten)]
    stack: DeployStackArgs,
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Debug, Args)]
struct RollbackArgs {
    /// Roll back only this function (repeatable); default: every function of the stack.
    #[arg(short = 'f', long = "function", value_name = "NAME")]
    functions: Vec<String>,
    /// The version to point `live` at; default: the one before the current.
    #[arg(long, value_name = "VERSION")]
    to: Option<u64>,
    #[command(flatten)]
    stack: DeployStackArgs,
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Debug, Args)]
struct ClientArgs {
    /// The token endpoint; default: the stack's `token_endpoint` output.
    #[arg(long, value_name = "URL")]
    token_endpoint: Option<String>,
    /// The app client id; default: the stack's `client_id` output.
    #[arg(long, value_name = "ID")]
    client_id: Option<String>,
    /// Read the client secret from this environment variable instead of the stack's
    /// `client_secret` output (it is never printed).
    #[arg(long, value_name = "VAR", default_value = "COGNITO_CLIENT_SECRET")]
    client_secret_env: String,
    #[command(flatten)]
    stack: StackArgs,
}

#[derive(Debug, Args)]
struct TokenArgs {
    /// The authorization code from the hosted UI's redirect.
    #[arg(
        long,
        value_name = "CODE",
        required_unless_present = "refresh",
        conflicts_with = "refresh"
    )]
    code: Option<String>,
    /// The redirect URI the code was issued for; default: the first of the stack's
    /// `callback_urls`.
    #[arg(long, value_name = "URI")]
    redirect_uri: Option<String>,
    /// The PKCE verifier, if the authorize request carried a challenge.
    #[arg(long, value_name = "VERIFIER")]
    code_verifier: Option<String>,
    /// Exchange this refresh token instead of a code.
    #[arg(long, value_name = "TOKEN")]
    refresh: Option<String>,
    #[command(flatten)]
    client: ClientArgs,
}

#[derive(Debug, Args)]
struct LoginArgs {
    /// The redirect URI to listen on (http://localhost:PORT/PATH); default: the first of the
    /// stack's `callback_urls`.
    #[arg(long, value_name = "URI")]
    redirect_uri: Option<String>,
    /// How long to wait for the browser, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    timeout: u64,
    /// Only print the authorize URL; do not try to open a browser.
    #[arg(long)]
    no_browser: bool,
    #[command(flatten)]
    client: ClientArgs,
}

/// Why a command failed, each with what to do about it.
#[derive(Debug, thiserror::Error)]
enum Error {
    #[error(transparent)]
    Deploy(#[from] deploy::Error),
    #[error(transparent)]
    Manifest(#[from] deploy::ManifestError),
    #[error(transparent)]
    Stack(#[from] deploy::StackOutputsError),
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
    #[error("could not run `{command}`: {cause}")]
    Spawn { command: String, cause: String },
    #[error("`{command}` failed{}", if detail.is_empty() { String::new() } else { format!(":\n{detail}") })]
    Failed { command: String, detail: String },
    #[error("cannot read {path}: {cause}")]
    Read { path: String, cause: String },
    #[error(
        "the packages in target/lambda are {found}, not {wanted}: run `cargo xtask package --arch {wanted}`, or `cargo xtask deploy --arch {wanted}` without --no-build or --manifest (it packages first)"
    )]
    ArchMismatch { found: String, wanted: String },
    #[error("{0}")]
    Setting(String),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let root = workspace_root();
    match runtime.block_on(run(&root, cli.cmd)) {
        Ok(code) => code,
        Err(e) => {
            // The whole chain: each cause after a colon.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: where cargo runs us from (`CARGO_MANIFEST_DIR` is this crate at build
/// time, two levels down).
fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .nth(2)
        .map_or_else(|| here.to_path_buf(), Path::to_path_buf)
}

async fn run(root: &Path, cmd: Cmd) -> anyhow::Result<ExitCode> {
    match cmd {
        Cmd::Deploy(args) => deploy_cmd(root, args).await,
        Cmd::Rollback(args) => Ok(rollback_cmd(root, args).await?),
        Cmd::Token(args) => Ok(token_cmd(root, args).await?),
        Cmd::Login(args) => Ok(login_cmd(root, args).await?),
        Cmd::NotesTable(args) => notes_table_cmd(args).await,
        Cmd::Jwt {
            cmd: JwtCmd::Decode { token },
        } => {
            let (header, payload) = auth::decode_jwt(&token)?;
            let out = serde_json::json!({ "header": header, "payload": payload });
            println!("{}", pretty(&out));
            eprintln!("note: decoded only; the signature was NOT verified");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn notes_table_cmd(args: NotesTableArgs) -> anyhow::Result<ExitCode> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&args.endpoint_url)
        .region(aws_config::Region::new(args.region.clone()));
    // An emulator checks no signature: without credentials in the environment, sign with
    // fixed fake ones rather than fail.
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() && std::env::var_os("AWS_PROFILE").is_none()
    {
        loader = loader.credentials_provider(aws_sdk_lambda::config::Credentials::new(
            "local",
            "local",
            None,
            None,
            "xtask-aws",
        ));
    }
    let sdk = loader.load().await;
    let client = aws_sdk_dynamodb::Client::from_conf(notes::dynamo_config(&sdk));
    notes::DynamoStore::create_table(&client, &args.table)
        .await
        .with_context(|| {
            format!(
                "creating the notes table {} at {} (is the emulator running?)",
                args.table, args.endpoint_url
            )
        })?;
    eprintln!("notes table {} ready at {}", args.table, args.endpoint_url);
    Ok(ExitCode::SUCCESS)
}

async fn deploy_cmd(root: &Path, args: DeployArgs) -> anyhow::Result<ExitCode> {
    let (stack, clients) = stack_and_clients(root, &args.stack, &args.aws).await?;
    let manifest_path = args.manifest.clone().unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| root.join("target"), |dir| root.join(dir))
            .join("lambda/packages.json")
    });
    let manifest = Manifest::load(&manifest_path, root)
        .with_context(|| {
            format!(
                "no usable package manifest at {}: `cargo xtask package` writes one (or deploy \
                 with `cargo xtask deploy`, which packages first)",
                manifest_path.display()
            )
        })?
        .select(&args.functions)?;
    if manifest.arch != args.arch {
        return Err(Error::ArchMismatch {
            found: manifest.arch.as_str().to_owned(),
            wanted: args.arch.as_str().to_owned(),
        }
        .into());
    }
    let options = DeployOptions {
        dry_run: args.dry_run,
        concurrency: usize::from(args.concurrency),
        update_timeout: Duration::from_secs(args.update_timeout),
        ..DeployOptions::default()
    };
    eprintln!(
        "deploying {} function(s) to {} (bucket {}){}",
        manifest.packages.len(),
        clients.region(),
        stack.artifacts_bucket,
        if args.dry_run { ", dry run" } else { "" }
    );
    let report = deploy::deploy(&clients, &stack, &manifest, &options).await?;
    print!("{}", deploy::render_table(&report));
    Ok(report_code(&report))
}

async fn rollback_cmd(root: &Path, args: RollbackArgs) -> Result<ExitCode, Error> {
    let (stack, clients) = stack_and_clients(root, &args.stack, &args.aws).await?;
    let report = deploy::rollback(
        &clients,
        &stack,
        &args.functions,
        args.to,
        &Progress::stderr(),
    )
    .await?;
    print!("{}", deploy::render_table(&report));
    Ok(report_code(&report))
}

async fn token_cmd(root: &Path, args: TokenArgs) -> Result<ExitCode, Error> {
    let settings = AuthSettings::load(root, &args.client)?;
    let grant = if let Some(refresh_token) = args.refresh {
        Grant::Refresh { refresh_token }
    } else {
        Grant::Code {
            code: args.code.unwrap_or_default(),
            redirect_uri: settings.redirect_uri(args.redirect_uri)?,
            code_verifier: args.code_verifier,
        }
    };
    let tokens = auth::exchange(&settings.client, &grant).await?;
    println!("{}", pretty(&Value::Object(tokens)));
    Ok(ExitCode::SUCCESS)
}

async fn login_cmd(root: &Path, args: LoginArgs) -> Result<ExitCode, Error> {
    let settings = AuthSettings::load(root, &args.client)?;
    let redirect_uri = settings.redirect_uri(args.redirect_uri)?;
    let no_browser = args.no_browser;
    let tokens = auth::login(
        &settings.client,
        &redirect_uri,
        Duration::from_secs(args.timeout),
        |url| {
            eprintln!("Open this URL in a browser and sign in:\n\n  {url}\n");
            if !no_browser {
                open_browser(url);
            }
            eprintln!("waiting for the redirect to {redirect_uri} …");
        },
    )
    .await?;
    println!("{}", pretty(&Value::Object(tokens)));
    Ok(ExitCode::SUCCESS)
}

/// The client settings of `token` and `login`: flags first, then the Terraform outputs.
struct AuthSettings {
    client: OAuthClient,
    callback_urls: Vec<String>,
}

impl AuthSettings {
    fn load(root: &Path, args: &ClientArgs) -> Result<Self, Error> {
        let secret_from_env = std::env::var(&args.client_secret_env)
            .ok()
            .filter(|s| !s.is_empty());
        let need_outputs =
            args.token_endpoint.is_none() || args.client_id.is_none() || secret_from_env.is_none();
        let outputs = if need_outputs {
            let json = terraform_outputs(root, &args.stack)?;
            serde_json::from_str::<Map<String, Value>>(&json).map_err(|e| {
                Error::Setting(format!(
                    "`terraform output -json` is not a JSON object: {e}"
                ))
            })?
        } else {
            Map::new()
        };
        let output = |name: &str| -> Option<&Value> { outputs.get(name)?.get("value") };
        let string = |flag: &Option<String>, name: &str| -> Result<String, Error> {
            flag.clone()
                .or_else(|| output(name).and_then(Value::as_str).map(str::to_owned))
                .ok_or_else(|| {
                    Error::Setting(format!(
                        "no {name}: pass --{} or run `terraform apply` in IaC/ so the output exists",
                        name.replace('_', "-")
                    ))
                })
        };
        let client = OAuthClient {
            token_endpoint: string(&args.token_endpoint, "token_endpoint")?,
            client_id: string(&args.client_id, "client_id")?,
            client_secret: secret_from_env.or_else(|| {
                output("client_secret")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            }),
        };
        let callback_urls = output("callback_urls")
            .and_then(Value::as_array)
            .map(|urls| {
                urls.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            client,
            callback_urls,
        })
    }

    fn redirect_uri(&self, flag: Option<String>) -> Result<String, Error> {
        flag.or_else(|| self.callback_urls.first().cloned())
            .ok_or_else(|| {
                Error::Setting(
                    "no redirect URI: pass --redirect-uri or set callback_urls in Terraform"
                        .to_owned(),
                )
            })
    }
}

/// The stack and the clients of a deploy or rollback. With `--stack`, the clients come first
/// (region from `--region` or the chain) and read the published object; otherwise the stack
/// comes from Terraform's outputs and its `region` is the default region.
async fn stack_and_clients(
    root: &Path,
    args: &DeployStackArgs,
    aws: &AwsArgs,
) -> Result<(StackOutputs, Clients), Error> {
    if let Some(location) = &args.stack {
        let clients = clients(aws, aws.region.clone()).await?;
        eprintln!("reading the stack from {location}");
        let stack = deploy::load_published(&clients, location).await?;
        return Ok((stack, clients));
    }
    let outputs = terraform_outputs(root, &args.terraform)?;
    let stack = StackOutputs::from_terraform_json(&outputs)?;
    let region = aws.region.clone().unwrap_or_else(|| stack.region.clone());
    let clients = clients(aws, Some(region)).await?;
    Ok((stack, clients))
}

async fn clients(aws: &AwsArgs, region: Option<String>) -> Result<Clients, Error> {
    let settings = ClientSettings {
        endpoint_url: aws.endpoint_url.clone(),
        region,
        profile: aws.profile.clone(),
    };
    Ok(Clients::new(&settings).await?)
}

/// `terraform output -json` in the IaC directory, or the saved copy named by `--outputs`.
fn terraform_outputs(root: &Path, args: &StackArgs) -> Result<String, Error> {
    if let Some(path) = &args.outputs {
        return std::fs::read_to_string(path).map_err(|e| Error::Read {
            path: path.display().to_string(),
            cause: e.to_string(),
        });
    }
    let dir = root.join(&args.iac_dir);
    let terraform = std::env::var_os("TERRAFORM").unwrap_or_else(|| "terraform".into());
    let command = format!("terraform output -json (in {})", dir.display());
    let output = Command::new(&terraform)
        .args(["output", "-json"])
        .current_dir(&dir)
        .output()
        .map_err(|e| Error::Spawn {
            command: command.clone(),
            cause: format!("{e}; is Terraform installed (or TERRAFORM set)?"),
        })?;
    if !output.status.success() {
        return Err(Error::Failed {
            command,
            detail: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    let json = String::from_utf8_lossy(&output.stdout).into_owned();
    if json.trim() == "{}" {
        return Err(Error::Setting(format!(
            "{command} printed no outputs: the stack was never applied (run `terraform apply` in {}) or the state is elsewhere (pass --outputs FILE)",
            dir.display()
        )));
    }
    Ok(json)
}

fn report_code(report: &deploy::Report) -> ExitCode {
    if report.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// Best effort: hands the URL to the desktop's opener, quietly.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let _ = Command::new(opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}
