//! What the local stack's integration tests share (`mod common;` in `e2e.rs` and
//! `hardening.rs`): the workspace paths, an HTTP client, stacks with the real function binaries
//! or the `fixture` example, and small request helpers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use local_aws::stack::{LocalStack, StackConfig};
use reqwest::StatusCode;
use serde_json::Value;

/// A password the local issuer's policy accepts.
pub const PASSWORD: &str = "Correct-Horse-9-battery";

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `target/debug`, checked to hold the binary of every function in the table.
pub fn bin_dir() -> PathBuf {
    let dir = root().join("target/debug");
    let table =
        match function_table::FunctionTable::load_tfvars(&root().join(function_table::TFVARS_PATH))
        {
            Ok(table) => table,
            Err(e) => panic!("{e}"),
        };
    for function in table.names() {
        assert!(
            dir.join(function).is_file(),
            "{} is missing: build the function binaries first (`cargo xtask test` does; or \
             `cargo build --workspace --bins`)",
            dir.join(function).display()
        );
    }
    dir
}

/// An HTTP client that does not follow redirects, with a 30 s timeout.
pub fn http() -> reqwest::Client {
    match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
    {
        Ok(c) => c,
        Err(e) => panic!("an HTTP client: {e}"),
    }
}

/// The real functions behind the gateway, the local issuer, state and notes in `state`, the
/// functions' logs not forwarded but, at trace level, appended to `$LOCAL_AWS_TEST_LOG` when
/// that is set (`cargo xtask test` sets it and scans the file for secrets afterwards).
pub fn real_config(state: &Path) -> StackConfig {
    let mut config = StackConfig::for_workspace(&root());
    config.bin_dir = bin_dir();
    config.state_dir = state.to_path_buf();
    config.store = local_aws::stack::Store::Fs(state.join("notes"));
    config.forward_logs = false;
    config.log_level = "trace".to_owned();
    config.log_file = std::env::var_os("LOCAL_AWS_TEST_LOG").map(PathBuf::from);
    config
}

/// Starts a stack, or fails the test.
pub async fn start(config: StackConfig) -> LocalStack {
    match LocalStack::start(config).await {
        Ok(stack) => stack,
        Err(e) => panic!("start the local stack: {e}"),
    }
}

/// [`real_config`], started.
pub async fn real_stack(state: &Path) -> LocalStack {
    start(real_config(state)).await
}

/// Which store a test runs the real stack on.
#[derive(Clone, Copy, Debug)]
pub enum On {
    /// The filesystem store in the state directory (the local default).
    Fs,
    /// A fresh table on moto's DynamoDB (`MOTO_ENDPOINT`), as deployed.
    Dynamo,
}

/// [`real_config`] on the store `on`, started.
pub async fn real_stack_on(state: &Path, on: On) -> LocalStack {
    let mut config = real_config(state);
    if let On::Dynamo = on {
        let (table, endpoint_url) = moto_table("stack").await;
        config.store = local_aws::stack::Store::Dynamo {
            table,
            endpoint_url,
        };
    }
    start(config).await
}

/// The fixture function behind one route `ANY /{proxy+}` (timeout 2 s) with `auth` and
/// `scopes`, state in `state`, the workspace defaults otherwise.
pub fn fixture_config(state: &Path, auth: &str, scopes: &[&str]) -> StackConfig {
    let auth = match auth {
        "jwt" => function_table::Auth::Jwt,
        "none" => function_table::Auth::None,
        other => panic!("auth is jwt or none, not {other}"),
    };
    let fixture = function_table::Function {
        name: "fixture".to_owned(),
        trigger: function_table::Trigger::Http(function_table::Route {
            method: function_table::Method::Any,
            path: "/{proxy+}".to_owned(),
            auth,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            groups: Vec::new(),
        }),
        memory: 128,
        timeout: 2,
        dynamodb: Default::default(),
    };
    let routes = match function_table::FunctionTable::new(vec![fixture])
        .and_then(|table| table.render_tfvars())
    {
        Ok(text) => text,
        Err(e) => panic!("the fixture's function table: {e}"),
    };
    let routes_file = state.join("routes.json");
    let Ok(()) = std::fs::write(&routes_file, routes) else {
        panic!("write {}", routes_file.display());
    };
    let examples = root().join("target/debug/examples");
    assert!(
        examples.join("fixture").is_file(),
        "the fixture example is missing: `cargo test -p local-aws` builds it"
    );
    let mut config = StackConfig::for_workspace(&root());
    config.routes_file = routes_file;
    config.bin_dir = examples;
    config.state_dir = state.to_path_buf();
    config.forward_logs = false;
    config
}

/// The fixture function behind every path, no auth, at most `max_instances` instances.
pub async fn fixture_stack(state: &Path, max_instances: usize) -> LocalStack {
    let mut config = fixture_config(state, "none", &[]);
    config.max_instances = max_instances;
    start(config).await
}

/// A temporary directory, removed when dropped.
pub fn tempdir() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("a temporary directory: {e}"),
    }
}

/// Status, headers (the last value of each) and the body as JSON (a JSON string when it is
/// not JSON).
pub async fn json_of(response: reqwest::Response) -> (StatusCode, HashMap<String, String>, Value) {
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

/// One request with an optional bearer token and JSON body.
pub async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, HashMap<String, String>, Value) {
    let mut request = client.request(method, url);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    match request.send().await {
        Ok(response) => json_of(response).await,
        Err(e) => panic!("{url}: {e}"),
    }
}

/// A fresh notes table on moto (`MOTO_ENDPOINT`), with the notes crate's schema; returns its
/// name and the endpoint.
pub async fn moto_table(prefix: &str) -> (String, String) {
    use test_support::moto;
    let endpoint = moto::endpoint();
    let client = moto::dynamodb(&moto::sdk_config(&endpoint));
    let table = test_support::unique(prefix);
    if let Err(e) = notes::DynamoStore::create_table(&client, &table).await {
        panic!("cannot create the notes table {table} on moto at {endpoint}: {e}");
    }
    (table, endpoint)
}
