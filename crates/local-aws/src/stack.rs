//! The whole local system on loopback: the issuer, the Lambda emulator with every function's
//! binary, and the gateway in front. `cargo xtask dev` and the end-to-end tests start it the
//! same way, with [`LocalStack::start`].
//!
//! The state directory (`.local/dev` for `cargo xtask dev`) and the issuer's directory in it are
//! created with mode 0700 (an existing one open to others is narrowed to 0700); the app client's
//! secret (`client-secret`) is created with mode 0600, and an existing one that others may read
//! or write is refused (the stack does not start) until it is `chmod 600`ed or deleted.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::devpages::{self, DevPages};
use crate::gateway::{Gateway, JwtConfig};
use crate::hostcheck::{self, Refusal};
use crate::issuer::{Issuer, IssuerConfig};
use crate::lambda::{FunctionSpec, Lambda, LambdaConfig};
use function_table::{FunctionTable, RouteTable};

/// The app client the local issuer serves (a fixed id; the secret lives in the state dir).
pub const LOCAL_CLIENT_ID: &str = "local-notes-client";

/// Where the notes live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Store {
    /// The filesystem store in this directory.
    Fs(PathBuf),
    /// The DynamoDB store: a table on a DynamoDB endpoint (an emulator such as moto). The table
    /// must exist (`cargo xtask dev --store dynamodb` creates it with the notes crate's schema).
    Dynamo {
        /// The table.
        table: String,
        /// The endpoint, e.g. `http://127.0.0.1:5000`.
        endpoint_url: String,
    },
}

/// Which issuer's tokens the gateway accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trust {
    /// The built-in local issuer (started with the stack).
    Local,
    /// Another Cognito-compatible issuer: a real pool, or moto's Cognito.
    External(JwtConfig),
}

/// How to start the stack.
#[derive(Clone, Debug)]
pub struct StackConfig {
    /// The route table.
    pub routes_file: PathBuf,
    /// Where the function binaries are (`<dir>/<function>`), e.g. `target/debug`.
    pub bin_dir: PathBuf,
    /// Persistent state: the issuer's key and users, the notes (filesystem store).
    pub state_dir: PathBuf,
    /// The gateway's loopback port (0: any free one).
    pub gateway_port: u16,
    /// The issuer's loopback port (0: any free one).
    pub issuer_port: u16,
    /// Where notes go.
    pub store: Store,
    /// Whose tokens count.
    pub trust: Trust,
    /// Redirect URIs the local app client accepts; empty: the issuer's own `/dev/callback`
    /// page and `http://localhost:3000/callback`.
    pub callback_urls: Vec<String>,
    /// The most instances per function.
    pub max_instances: usize,
    /// How long idle instances live.
    pub idle_timeout: Duration,
    /// `LOG_LEVEL` for the functions.
    pub log_level: String,
    /// Whether to forward the functions' output.
    pub forward_logs: bool,
    /// Also append the functions' output to this file.
    pub log_file: Option<PathBuf>,
}

impl StackConfig {
    /// Defaults for a workspace at `root`: routes from `IaC/routes.auto.tfvars.json`, binaries
    /// in `target/debug`, state in `.local/dev`, any free ports, the filesystem store, the local
    /// issuer, 4 instances per function, 5 minutes idle.
    #[must_use]
    pub fn for_workspace(root: &Path) -> Self {
        let state_dir = root.join(".local/dev");
        Self {
            routes_file: root.join("IaC/routes.auto.tfvars.json"),
            bin_dir: root.join("target/debug"),
            store: Store::Fs(state_dir.join("notes")),
            state_dir,
            gateway_port: 0,
            issuer_port: 0,
            trust: Trust::Local,
            callback_urls: Vec::new(),
            max_instances: 4,
            idle_timeout: Duration::from_secs(300),
            log_level: "info".to_owned(),
            forward_logs: true,
            log_file: None,
        }
    }
}

/// Why the stack cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// The route table.
    #[error(transparent)]
    Routes(#[from] function_table::TableError),
    /// A function binary is missing.
    #[error(
        "no binary for {function} at {path}: build the functions first (`cargo build --workspace --bins`; `cargo xtask dev` does)"
    )]
    MissingBinary {
        /// The function.
        function: String,
        /// Where it was looked for.
        path: String,
    },
    /// A port could not be bound.
    #[error(
        "cannot listen on 127.0.0.1:{port}: {cause} (is another `cargo xtask dev` running? pick another with --port)"
    )]
    Bind {
        /// The port.
        port: u16,
        /// Why.
        cause: String,
    },
    /// The issuer could not open its state.
    #[error("local issuer: {0}")]
    Issuer(String),
    /// The gateway's configuration.
    #[error(transparent)]
    Gateway(#[from] crate::gateway::GatewayError),
    /// The state directory.
    #[error("state directory {path}: {cause}")]
    State {
        /// The directory.
        path: String,
        /// Why.
        cause: String,
    },
}

/// The running stack. Dropping it stops the servers; call [`LocalStack::shutdown`] to also stop
/// the function instances and wait for them.
pub struct LocalStack {
    /// The API's base URL, e.g. `http://127.0.0.1:3001`.
    pub api_url: String,
    /// The local issuer, when [`Trust::Local`].
    pub issuer: Option<Arc<Issuer>>,
    /// The gateway (and through it the functions).
    pub gateway: Arc<Gateway>,
    servers: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for LocalStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStack")
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

impl LocalStack {
    /// Binds both ports, opens the issuer, sets up the functions and serves.
    ///
    /// # Errors
    /// See [`StackError`].
    pub async fn start(config: StackConfig) -> Result<Self, StackError> {
        let routes = RouteTable::new(&FunctionTable::load_tfvars(&config.routes_file)?);
        crate::issuer::create_private_dir(&config.state_dir).map_err(|e| StackError::State {
            path: config.state_dir.display().to_string(),
            cause: e.to_string(),
        })?;
        let mut servers = Vec::new();

        let (issuer, jwt) = match &config.trust {
            Trust::Local => {
                let listener = bind(config.issuer_port).await?;
                let base_url = url_of(&listener)?;
                let callback_urls = if config.callback_urls.is_empty() {
                    vec![
                        format!("{base_url}{}", devpages::CALLBACK_PATH),
                        "http://localhost:3000/callback".to_owned(),
                    ]
                } else {
                    config.callback_urls.clone()
                };
                let secret = client_secret(&config.state_dir)?;
                let issuer_config = IssuerConfig::new(
                    config.state_dir.join("issuer"),
                    base_url,
                    LOCAL_CLIENT_ID.to_owned(),
                    secret,
                    callback_urls,
                );
                let jwt = JwtConfig {
                    issuer: issuer_config.issuer_url(),
                    jwks_url: Some(issuer_config.jwks_url()),
                    audiences: vec![LOCAL_CLIENT_ID.to_owned()],
                };
                let issuer =
                    Issuer::open(issuer_config).map_err(|e| StackError::Issuer(e.to_string()))?;
                (Some((issuer, listener)), Some(jwt))
            }
            Trust::External(jwt) => (None, Some(jwt.clone())),
        };

        let mut functions = Vec::new();
        for route in routes.functions() {
            let binary = config.bin_dir.join(&route.name);
            if !binary.is_file() {
                return Err(StackError::MissingBinary {
                    function: route.name.clone(),
                    path: binary.display().to_string(),
                });
            }
            functions.push(
                FunctionSpec::new(&route.name, binary)
                    .envs(function_env(&config))
                    .memory(route.memory)
                    .timeout(Duration::from_secs(u64::from(route.timeout)))
                    .max_instances(config.max_instances),
            );
        }
        let lambda = Lambda::new(
            functions,
            LambdaConfig {
                idle_timeout: config.idle_timeout,
                forward_logs: config.forward_logs,
                log_file: config.log_file.clone(),
                ..LambdaConfig::default()
            },
        );
        let gateway = Arc::new(Gateway::new(routes, lambda, jwt)?);
        let listener = bind(config.gateway_port).await?;
        let api_url = url_of(&listener)?;
        let app = hostcheck::guard(gateway.router(), port_of(&listener)?, Refusal::Json)
            .into_make_service_with_connect_info::<SocketAddr>();
        servers.push(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
        let issuer = match issuer {
            Some((issuer, listener)) => {
                let pages = DevPages::new(Arc::clone(&issuer), api_url.clone());
                let app = hostcheck::guard(
                    issuer.router().merge(devpages::router(pages)),
                    port_of(&listener)?,
                    Refusal::Html,
                );
                servers.push(tokio::spawn(async move {
                    let _ = axum::serve(listener, app).await;
                }));
                Some(issuer)
            }
            None => None,
        };
        Ok(Self {
            api_url,
            issuer,
            gateway,
            servers,
        })
    }

    /// Stops the servers and every function instance.
    pub async fn shutdown(self) {
        for server in &self.servers {
            server.abort();
        }
        self.gateway.lambda().shutdown().await;
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        for server in &self.servers {
            server.abort();
        }
    }
}

/// What Terraform sets for a function, adapted to the local store.
fn function_env(config: &StackConfig) -> Vec<(String, String)> {
    let mut env = vec![
        ("LOG_LEVEL".to_owned(), config.log_level.clone()),
        (
            "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH".to_owned(),
            "true".to_owned(),
        ),
    ];
    match &config.store {
        Store::Fs(dir) => {
            env.push(("NOTES_STORE".to_owned(), "fs".to_owned()));
            env.push(("NOTES_DIR".to_owned(), dir.display().to_string()));
        }
        Store::Dynamo {
            table,
            endpoint_url,
        } => {
            env.push(("NOTES_STORE".to_owned(), "dynamodb".to_owned()));
            env.push(("NOTES_TABLE".to_owned(), table.clone()));
            env.push(("AWS_ENDPOINT_URL".to_owned(), endpoint_url.clone()));
            let mut passed = false;
            for name in [
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN",
            ] {
                if let Ok(value) = std::env::var(name) {
                    passed = true;
                    env.push((name.to_owned(), value));
                }
            }
            // The endpoint is an emulator, which checks no signature: without credentials of
            // the developer's, the functions sign with fixed fake ones instead of failing.
            if !passed {
                env.push(("AWS_ACCESS_KEY_ID".to_owned(), "local".to_owned()));
                env.push(("AWS_SECRET_ACCESS_KEY".to_owned(), "local".to_owned()));
            }
        }
    }
    env
}

async fn bind(port: u16) -> Result<tokio::net::TcpListener, StackError> {
    tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| StackError::Bind {
            port,
            cause: e.to_string(),
        })
}

fn port_of(listener: &tokio::net::TcpListener) -> Result<u16, StackError> {
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| StackError::Bind {
            port: 0,
            cause: e.to_string(),
        })
}

fn url_of(listener: &tokio::net::TcpListener) -> Result<String, StackError> {
    listener
        .local_addr()
        .map(|addr| format!("http://{addr}"))
        .map_err(|e| StackError::Bind {
            port: 0,
            cause: e.to_string(),
        })
}

/// The local app client's secret's file in a state directory.
pub const CLIENT_SECRET_FILE: &str = "client-secret";

/// The local app client's secret: made once, kept in `<state>/client-secret`, created with
/// mode 0600 (a temporary file opened 0600, then linked into place). An existing file that
/// others may read or write (any of the mode bits 0o077) is refused rather than trusted: the
/// secret may have leaked; `chmod 600` it to keep it, or delete it to get a new one.
fn client_secret(state_dir: &Path) -> Result<String, StackError> {
    let path = state_dir.join(CLIENT_SECRET_FILE);
    let state_error = |cause: String| StackError::State {
        path: path.display().to_string(),
        cause,
    };
    if let Some(secret) = read_client_secret(state_dir).map_err(state_error)? {
        return Ok(secret);
    }
    let mut bytes = [0_u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| state_error(format!("no randomness: {e}")))?;
    let secret = hex::encode(bytes);
    let created = crate::issuer::create_private_exclusive(&path, secret.as_bytes())
        .map_err(|e| state_error(e.to_string()))?;
    if created {
        return Ok(secret);
    }
    // Another process created it first: use theirs.
    read_client_secret(state_dir)
        .map_err(state_error)?
        .ok_or_else(|| state_error("the file is empty".to_owned()))
}

/// Reads the local app client's secret from `<state_dir>/client-secret`: `Ok(None)` when the
/// file is missing or empty; an error when it cannot be read or when others than its owner may
/// read or write it (the module documentation says why).
///
/// # Errors
/// A message saying what is wrong with the file.
pub fn read_client_secret(state_dir: &Path) -> Result<Option<String>, String> {
    let path = state_dir.join(CLIENT_SECRET_FILE);
    let metadata = match std::fs::metadata(&path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    if crate::issuer::readable_by_others(&metadata) {
        return Err(format!(
            "{} is readable or writable by other users, so the client secret may have leaked; \
             `chmod 600` it to keep using it, or delete it to get a new one",
            path.display()
        ));
    }
    let secret = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let secret = secret.trim().to_owned();
    Ok((!secret.is_empty()).then_some(secret))
}
