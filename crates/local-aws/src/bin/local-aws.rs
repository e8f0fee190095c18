//! `local-aws`: the local stack's command line, run by `cargo xtask dev` (serve, users, groups)
//! and `cargo xtask token --local` (tokens from the local issuer for scripts).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};

use local_aws::gateway::JwtConfig;
use local_aws::issuer::{self, Issuer, IssuerConfig};
use local_aws::stack::{LOCAL_CLIENT_ID, LocalStack, StackConfig, Store, Trust};

/// The API's default port.
const API_PORT: u16 = 3001;
/// The local issuer's default port (its URL is part of every token's `iss`).
const ISSUER_PORT: u16 = 3002;

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask dev",
    about = "The notes API on this machine: the real function binaries behind a local API Gateway and a local Cognito-compatible sign-in"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Serve the API and the sign-in pages until Ctrl-C.
    Serve(ServeArgs),
    /// Manage local users.
    User {
        #[command(subcommand)]
        cmd: UserCmd,
    },
    /// Manage group membership (e.g. `admin`, which GET /admin/stats requires).
    Group {
        #[command(subcommand)]
        cmd: GroupCmd,
    },
    /// Print tokens for a confirmed local user as JSON (an admin path, no password needed).
    Token(TokenArgs),
}

#[derive(Debug, Args)]
struct StateArgs {
    /// The state directory (issuer key, users, notes).
    #[arg(long, value_name = "DIR", default_value = ".local/dev")]
    state_dir: PathBuf,
    /// The local issuer's port; tokens name it in `iss`, so use the same one as `serve`.
    #[arg(long, value_name = "PORT", default_value_t = ISSUER_PORT)]
    issuer_port: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum StoreKind {
    Fs,
    Dynamodb,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// The API's port on 127.0.0.1.
    #[arg(long, value_name = "PORT", default_value_t = API_PORT)]
    port: u16,
    #[command(flatten)]
    state: StateArgs,
    /// Where the function binaries are.
    #[arg(long, value_name = "DIR", default_value = "target/debug")]
    bin_dir: PathBuf,
    /// The routes file (what `cargo xtask routes --write` generates).
    #[arg(
        long,
        value_name = "FILE",
        default_value = "IaC/routes.auto.tfvars.json"
    )]
    routes: PathBuf,
    /// Where notes go: a directory in the state dir, or a DynamoDB table on an endpoint.
    #[arg(long, value_enum, default_value_t = StoreKind::Fs)]
    store: StoreKind,
    /// The DynamoDB endpoint for `--store dynamodb` (e.g. moto server).
    #[arg(long, value_name = "URL", required_if_eq("store", "dynamodb"))]
    endpoint_url: Option<String>,
    /// The table for `--store dynamodb`; it must exist (`cargo xtask dev` creates it).
    #[arg(long, value_name = "NAME", default_value = "notes-local")]
    table: String,
    /// Trust this issuer instead of the local one (a Cognito pool URL, or moto's).
    #[arg(long, value_name = "URL", requires = "audience")]
    issuer: Option<String>,
    /// The external issuer's JWKS URL (default `{issuer}/.well-known/jwks.json`).
    #[arg(long, value_name = "URL", requires = "issuer")]
    jwks_url: Option<String>,
    /// The external issuer's app client id (repeatable).
    #[arg(long, value_name = "ID", requires = "issuer")]
    audience: Vec<String>,
    /// A redirect URI the local app client accepts (repeatable); default: the issuer's own
    /// /dev/callback page and http://localhost:3000/callback.
    #[arg(long, value_name = "URL")]
    callback_url: Vec<String>,
    /// The most instances per function.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    max_instances: u16,
    /// Stop instances idle this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    idle_timeout: u64,
    /// Restart a function's instances when its binary changes (`cargo xtask dev --watch` rebuilds).
    #[arg(long)]
    watch_binaries: bool,
    /// `LOG_LEVEL` for the functions.
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    log_level: String,
}

#[derive(Debug, Subcommand)]
enum UserCmd {
    /// Create a confirmed user (skipping the sign-up pages).
    Add {
        #[arg(long)]
        email: String,
        /// The password (must meet the pool's policy).
        #[arg(long, env = "LOCAL_USER_PASSWORD", hide_env_values = true)]
        password: String,
        #[command(flatten)]
        state: StateArgs,
    },
}

#[derive(Debug, Subcommand)]
enum GroupCmd {
    /// Add a user to a group (the next token they get carries it in cognito:groups).
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        group: String,
        #[command(flatten)]
        state: StateArgs,
    },
}

#[derive(Debug, Args)]
struct TokenArgs {
    /// The user.
    #[arg(long)]
    email: String,
    /// A scope for the access token (repeatable); default: openid email profile.
    #[arg(long, value_name = "SCOPE")]
    scope: Vec<String>,
    #[command(flatten)]
    state: StateArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    local_aws::cli::init_logging("info");
    local_aws::cli::block_on(run(cli.cmd))
}

fn issuer_config(state: &StateArgs) -> anyhow::Result<IssuerConfig> {
    let state_dir = &state.state_dir;
    let secret = local_aws::stack::read_client_secret(state_dir)
        .map_err(anyhow::Error::msg)?
        .with_context(|| {
            format!(
                "no local stack state in {} (no client-secret): run `cargo xtask dev` once first",
                state_dir.display()
            )
        })?;
    let base = format!("http://127.0.0.1:{}", state.issuer_port);
    Ok(IssuerConfig::new(
        state_dir.join("issuer"),
        base,
        LOCAL_CLIENT_ID.to_owned(),
        secret,
        Vec::<String>::new(),
    ))
}

async fn run(cmd: Cmd) -> anyhow::Result<()> {
    match cmd {
        Cmd::Serve(args) => serve(args).await,
        Cmd::User {
            cmd:
                UserCmd::Add {
                    email,
                    password,
                    state,
                },
        } => {
            let issuer = Issuer::open(issuer_config(&state)?)?;
            let sub = issuer
                .admin_create_user(&email, &password)
                .with_context(|| format!("cannot create {email}"))?;
            eprintln!("created {email} (sub {sub}), confirmed");
            Ok(())
        }
        Cmd::Group {
            cmd:
                GroupCmd::Add {
                    email,
                    group,
                    state,
                },
        } => {
            issuer::add_user_to_group(&state.state_dir.join("issuer"), &email, &group)
                .with_context(|| format!("cannot add {email} to {group}"))?;
            eprintln!("added {email} to {group}; tokens issued from now on carry it");
            Ok(())
        }
        Cmd::Token(args) => {
            let issuer = Issuer::open(issuer_config(&args.state)?)?;
            let scopes: Vec<&str> = if args.scope.is_empty() {
                vec!["openid", "email", "profile"]
            } else {
                args.scope.iter().map(String::as_str).collect()
            };
            let tokens = issuer
                .issue_tokens(&args.email, &scopes)
                .with_context(|| format!("cannot issue tokens for {}", args.email))?;
            let json = serde_json::to_string_pretty(&serde_json::Value::Object(tokens))?;
            println!("{json}");
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let root = std::env::current_dir().context("cannot read the current directory")?;
    let mut config = StackConfig::for_workspace(&root);
    config.routes_file = args.routes.clone();
    config.bin_dir = args.bin_dir.clone();
    config.state_dir = args.state.state_dir.clone();
    config.gateway_port = args.port;
    config.issuer_port = args.state.issuer_port;
    config.max_instances = usize::from(args.max_instances);
    config.idle_timeout = Duration::from_secs(args.idle_timeout);
    config.log_level = args.log_level.clone();
    config.store = match args.store {
        StoreKind::Fs => Store::Fs(args.state.state_dir.join("notes")),
        StoreKind::Dynamodb => Store::Dynamo {
            table: args.table.clone(),
            endpoint_url: args.endpoint_url.clone().unwrap_or_default(),
        },
    };
    config.trust = match &args.issuer {
        Some(issuer) => Trust::External(JwtConfig {
            issuer: issuer.clone(),
            jwks_url: args.jwks_url.clone(),
            audiences: args.audience.clone(),
        }),
        None => Trust::Local,
    };
    let issuer_base = format!("http://127.0.0.1:{}", args.state.issuer_port);
    config.callback_urls = if args.callback_url.is_empty() {
        vec![
            format!("{issuer_base}/dev/callback"),
            "http://localhost:3000/callback".to_owned(),
        ]
    } else {
        args.callback_url.clone()
    };
    let callback = config.callback_urls[0].clone();
    let stack = LocalStack::start(config)
        .await
        .context("cannot start the local stack")?;
    banner(&stack, &args, &callback);

    let watcher = args.watch_binaries.then(|| {
        let gateway = std::sync::Arc::clone(&stack.gateway);
        let bin_dir = args.bin_dir.clone();
        tokio::spawn(async move { watch_binaries(&gateway, &bin_dir).await })
    });
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("\nstopping…");
    if let Some(watcher) = watcher {
        watcher.abort();
    }
    stack.shutdown().await;
    eprintln!("stopped");
    Ok(())
}

fn banner(stack: &LocalStack, args: &ServeArgs, callback: &str) {
    let api = &stack.api_url;
    let mut lines = vec![
        "notes-api is running locally (Ctrl-C stops everything)".to_owned(),
        format!("  API        {api}"),
        format!("  try        curl -s {api}/health"),
    ];
    if let Some(issuer) = &stack.issuer {
        let config = issuer.config();
        if callback.ends_with(local_aws::devpages::CALLBACK_PATH) {
            lines.push(format!(
                "  sign in    {}{}",
                config.base_url,
                local_aws::devpages::LOGIN_PATH
            ));
        } else {
            lines.push(format!(
                "  sign in    {}?response_type=code&client_id={}&redirect_uri={}&scope=openid+email+profile",
                config.authorize_url(),
                config.client_id,
                urlencode(callback)
            ));
        }
        lines.push(format!(
            "  mailbox    {}/mailbox   (verification codes land here)",
            config.base_url
        ));
        lines.push("  token      TOKEN=$(cargo xtask token --local --email you@example.com | jq -r .id_token)".to_owned());
        lines.push(format!(
            "             curl -s -H \"Authorization: Bearer $TOKEN\" {api}/me"
        ));
        lines.push(format!(
            "  issuer     {} (JWKS {})",
            config.issuer_url(),
            config.jwks_url()
        ));
    }
    lines.push(format!(
        "  routes     {} functions from {}",
        stack.gateway.routes().functions().count(),
        args.routes.display()
    ));
    lines.push(format!(
        "  state      {} ({})",
        args.state.state_dir.display(),
        match args.store {
            StoreKind::Fs => "notes on the filesystem",
            StoreKind::Dynamodb => "notes in DynamoDB",
        }
    ));
    eprintln!("\n{}\n", lines.join("\n"));
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Polls the binaries' modification times; a changed binary's instances are retired so the next
/// request cold-starts the new build.
async fn watch_binaries(gateway: &local_aws::gateway::Gateway, bin_dir: &Path) {
    let functions: Vec<String> = gateway.lambda().functions().map(str::to_owned).collect();
    let mtime = |f: &str| -> Option<SystemTime> {
        std::fs::metadata(bin_dir.join(f))
            .and_then(|m| m.modified())
            .ok()
    };
    let mut seen: Vec<Option<SystemTime>> = functions.iter().map(|f| mtime(f)).collect();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        for (function, last) in functions.iter().zip(seen.iter_mut()) {
            let now = mtime(function);
            if now.is_some() && now != *last {
                *last = now;
                gateway
                    .lambda()
                    .swap_binary(function, bin_dir.join(function))
                    .await;
                eprintln!("[dev] {function} rebuilt: the next request starts the new binary");
            }
        }
    }
}
