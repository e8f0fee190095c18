//! Applies the real `IaC/` root module to moto server, checks through the AWS APIs what it built,
//! destroys it and checks that nothing is left.
//!
//! One sequential test (an apply takes about a minute): init and validate; the first-apply order
//! (a plan without packages fails and says to run `cargo xtask package`); apply; the outputs; a
//! plan with the TLS-only bucket policies; API Gateway, Lambda, IAM, S3 and Cognito as moto
//! reports them; destroy; nothing named after the run is left.
//!
//! Needs `MOTO_ENDPOINT` (set by `cargo xtask test`), `terraform` (>= 1.11, or `$TERRAFORM`), the
//! provider (from the registry, or from the mirror in `$TF_PLUGIN_DIR`) and the packaged zips in
//! `<target>/lambda/<function>/bootstrap.zip` (`cargo xtask package`).
//!
//! Run: `cargo xtask test -- -p iac-tests`, or by hand with moto running:
//! `MOTO_ENDPOINT=http://127.0.0.1:PORT TF_PLUGIN_DIR=/opt/tf-plugins cargo test -p iac-tests -- --nocapture`.
//!
//! Checks after the apply are collected rather than stopping at the first mismatch, so that one
//! slow run reports every difference; destroy and the leftover checks still run, and the test
//! fails at the end listing them all.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::io::{Cursor, Read as _};
use std::path::Path;
use std::time::Instant;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_apigatewayv2::types::{AuthorizationType, AuthorizerType, IntegrationType};
use aws_sdk_cognitoidentityprovider::types::{
    ExplicitAuthFlowsType, OAuthFlowType, PreventUserExistenceErrorTypes, UsernameAttributeType,
    VerifiedAttributeType,
};
use aws_sdk_lambda::types::{Architecture, Runtime};
use aws_sdk_s3::config::Credentials;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::types::{BucketVersioningStatus, ExpirationStatus, ObjectOwnership};
use base64::Engine as _;
use iac_tests::{Outputs, REGION, RunNames, TerraformStack, Vars, package_dir, workspace_root};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

#[path = "deploy_calls/mod.rs"]
mod deploy_calls;

/// The API Gateway stage (the `stage_name` variable's default, part of the invoke URL).
const STAGE: &str = "serverless_lambda_stage";

/// ELF `e_machine` for AArch64.
const EM_AARCH64: u16 = 0xB7;

#[test]
fn apply_check_and_destroy() {
    let endpoint = match iac_tests::moto_endpoint() {
        Ok(endpoint) => endpoint,
        Err(e) => panic!("{e}"),
    };
    let root = workspace_root();
    let routes = load_routes(&root.join("IaC/routes.auto.tfvars.json"));
    let package_dir = package_dir(&root);
    let packages = check_packages(&package_dir, &routes);
    let names = RunNames::unique();
    println!("iac-tests: project_name = {}", names.project_name);

    let mut stack = match TerraformStack::new(&root.join("IaC"), &endpoint) {
        Ok(stack) => stack,
        Err(e) => panic!("preparing the Terraform stack failed: {e}"),
    };

    // 1. init + validate.
    if let Err(e) = stack.init() {
        panic!("{e}");
    }
    if let Err(e) = stack.validate() {
        panic!("{e}");
    }

    // 2. First-apply order: without packages, plan stops and says what to run.
    check_plan_without_packages(&mut stack, &names, &routes);

    // 3. Apply.
    let vars = Vars::local_aws(&names, &package_dir);
    let apply_started = Instant::now();
    if let Err(e) = stack.apply(&vars) {
        panic!("{e}");
    }
    let apply_time = apply_started.elapsed();
    println!("iac-tests: apply took {:.1} s", apply_time.as_secs_f64());

    let outputs = match stack.outputs() {
        Ok(outputs) => outputs,
        Err(e) => panic!("{e}"),
    };
    let mut report = Report::default();
    let expected = Expected::from_outputs(&mut report, &root, &names, &routes, &packages, &outputs);

    // The TLS-only bucket policies moto cannot evaluate: planned, not applied (see
    // `Vars::local_aws`). The plan must add exactly them, and nothing else may have drifted.
    let tls_vars = vars.clone().set("s3_tls_only_policy", true);
    let plan_started = Instant::now();
    match stack.plan_json(&tls_vars) {
        Ok(plan) => check_tls_plan(&mut report, &plan, &expected),
        Err(e) => report.fail(format!("plan with s3_tls_only_policy = true failed: {e}")),
    }
    println!(
        "iac-tests: plan after apply took {:.1} s",
        plan_started.elapsed().as_secs_f64()
    );

    // 4. What exists, as moto reports it.
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => panic!("cannot start a tokio runtime: {e}"),
    };
    let aws = runtime.block_on(Aws::new(&endpoint));
    let api_id = runtime.block_on(find_api(&mut report, &aws, &expected));
    let aliases = runtime.block_on(check_lambda(
        &mut report,
        &aws,
        &expected,
        api_id.as_deref(),
    ));
    if let Some(api_id) = &api_id {
        runtime.block_on(check_api(&mut report, &aws, &expected, api_id, &aliases));
    }
    runtime.block_on(check_iam(&mut report, &aws, &expected));
    runtime.block_on(check_deploy_role(&mut report, &aws, &expected));
    runtime.block_on(check_s3(&mut report, &aws, &expected));
    runtime.block_on(check_notes_table(&mut report, &aws, &expected));
    runtime.block_on(check_cognito(&mut report, &aws, &expected));

    // 5. `cargo xtask deploy` into what Terraform created, from the stack Terraform published
    // (what CI reads): unchanged code uploads nothing, a changed function moves `live`, a
    // rollback moves it back, every call is one the deploy role may make, and Terraform does
    // not fight it.
    runtime.block_on(check_deploy(&mut report, &aws, &expected, &root, &outputs));
    runtime.block_on(check_enforced_stack_read(
        &mut report,
        &aws,
        &expected,
        &outputs,
    ));
    match stack.plan_json(&vars) {
        Ok(plan) => check_no_drift(&mut report, &plan),
        Err(e) => report.fail(format!("plan after the deploy failed: {e}")),
    }

    // The listings used after destroy must find everything while it exists.
    match runtime.block_on(Leftovers::collect(&aws, &names)) {
        Ok(found) => found.check_complete(&mut report, &expected),
        Err(e) => report.fail(e),
    }

    // 6. Destroy, then nothing named after this run may be left.
    let destroy_started = Instant::now();
    let destroyed = stack.destroy();
    let destroy_time = destroy_started.elapsed();
    match destroyed {
        Ok(_) => {
            println!(
                "iac-tests: destroy took {:.1} s",
                destroy_time.as_secs_f64()
            );
            match runtime.block_on(Leftovers::collect(&aws, &names)) {
                Ok(left) => left.check_empty(&mut report),
                Err(e) => report.fail(e),
            }
        }
        Err(e) => report.fail(format!("destroy failed: {e}")),
    }
    println!(
        "iac-tests: apply {:.1} s, destroy {:.1} s, {} checks",
        apply_time.as_secs_f64(),
        destroy_time.as_secs_f64(),
        report.checked
    );
    report.finish();
}

// ---------------------------------------------------------------------------------------------
// Inputs: the route table and the packages
// ---------------------------------------------------------------------------------------------

/// One function of the table (`IaC/routes.auto.tfvars.json`, read by `function_table`), in the
/// shapes the AWS APIs answer with.
#[derive(Debug, Clone)]
struct Route {
    route_key: String,
    method: String,
    path: String,
    auth: String,
    scopes: Vec<String>,
    groups: Vec<String>,
    memory: i32,
    timeout: i32,
    /// The IAM actions its role may use on the notes table, sorted.
    dynamodb_actions: Vec<String>,
}

fn load_routes(path: &Path) -> BTreeMap<String, Route> {
    let table = match function_table::FunctionTable::load_tfvars(path) {
        Ok(table) => table,
        Err(e) => panic!("{e}"),
    };
    let routes: BTreeMap<String, Route> = table
        .routes()
        .map(|(function, route)| {
            let number = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
            (
                function.name.clone(),
                Route {
                    route_key: route.route_key(),
                    method: route.method.to_string(),
                    path: route.path.clone(),
                    auth: route.auth.to_string(),
                    scopes: route.scopes.clone(),
                    groups: route.groups.clone(),
                    memory: number(function.memory),
                    timeout: number(function.timeout),
                    dynamodb_actions: function.dynamodb_actions(),
                },
            )
        })
        .collect();
    assert!(!routes.is_empty(), "{} lists no routes", path.display());
    routes
}

/// A packaged function, as `cargo xtask package` wrote it.
#[derive(Debug)]
struct Package {
    size: i64,
    /// Base64 of the zip's SHA-256: what Lambda reports as `CodeSha256`.
    code_sha256: String,
}

/// Every function's zip exists and holds exactly one entry, an executable arm64 `bootstrap`.
fn check_packages(dir: &Path, routes: &BTreeMap<String, Route>) -> BTreeMap<String, Package> {
    let mut packages = BTreeMap::new();
    for function in routes.keys() {
        let path = dir.join(function).join("bootstrap.zip");
        let bytes = std::fs::read(&path);
        let Ok(bytes) = bytes else {
            panic!(
                "{} is missing ({:?}): run `cargo xtask package` first (`cargo xtask test` does)",
                path.display(),
                bytes.err()
            )
        };
        let archive = zip::ZipArchive::new(Cursor::new(&bytes));
        let Ok(mut archive) = archive else {
            panic!("{} is not a zip: {:?}", path.display(), archive.err())
        };
        assert_eq!(
            archive.len(),
            1,
            "{} must hold exactly one entry, `bootstrap`: run `cargo xtask package`",
            path.display()
        );
        let entry = archive.by_index(0);
        let Ok(mut entry) = entry else {
            panic!("{}: {:?}", path.display(), entry.err())
        };
        let entry_name = entry.name().map(|n| n.into_owned());
        assert_eq!(
            entry_name.as_deref().ok(),
            Some("bootstrap"),
            "{} must hold `bootstrap`: run `cargo xtask package`",
            path.display()
        );
        let mode = entry.unix_mode().unwrap_or(0);
        assert_ne!(
            mode & 0o111,
            0,
            "{}: bootstrap is not executable (mode {mode:o})",
            path.display()
        );
        let mut header = [0_u8; 20];
        let read = entry.read_exact(&mut header);
        let Ok(()) = read else {
            panic!("{}: reading bootstrap: {read:?}", path.display())
        };
        assert_eq!(
            &header[..4],
            b"\x7fELF",
            "{}: bootstrap is not an ELF file",
            path.display()
        );
        assert_eq!(
            (header[4], header[5]),
            (2, 1),
            "{}: bootstrap is not a 64-bit little-endian ELF",
            path.display()
        );
        let machine = u16::from_le_bytes([header[18], header[19]]);
        assert_eq!(
            machine,
            EM_AARCH64,
            "{}: bootstrap is not built for aarch64 (e_machine {machine:#x}); run `cargo xtask \
             package` (arm64 is its default)",
            path.display()
        );
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let code_sha256 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes));
        packages.insert(function.clone(), Package { size, code_sha256 });
    }
    packages
}

// ---------------------------------------------------------------------------------------------
// Step 2: the plan without packages
// ---------------------------------------------------------------------------------------------

fn check_plan_without_packages(
    stack: &mut TerraformStack,
    names: &RunNames,
    routes: &BTreeMap<String, Route>,
) {
    let empty = tempfile::tempdir();
    let Ok(empty) = empty else {
        panic!("tempdir: {empty:?}")
    };
    let vars = Vars::local_aws(names, empty.path());
    let error = match stack.plan(&vars) {
        Ok(run) => panic!(
            "plan with an empty package_dir succeeded; it must stop at the route module's \
             precondition and say to run `cargo xtask package`. Output:\n{}",
            run.output
        ),
        Err(e) => e,
    };
    let Some(output) = error.output() else {
        panic!("plan with an empty package_dir did not run: {error}")
    };
    // Terraform wraps messages at 78 columns; compare with the whitespace collapsed.
    let text = collapse_whitespace(output);
    assert!(
        text.contains("run `cargo xtask package`"),
        "plan without packages must say to run `cargo xtask package`:\n{error}"
    );
    for function in routes.keys() {
        let path = empty.path().join(function).join("bootstrap.zip");
        let message = format!("No package at {}", path.display());
        assert!(
            text.contains(&message),
            "plan without packages must name {}:\n{error}",
            path.display()
        );
    }
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

// ---------------------------------------------------------------------------------------------
// Step 3: outputs
// ---------------------------------------------------------------------------------------------

/// What the checks compare against: the run's names, the route table, and the outputs.
struct Expected<'a> {
    names: &'a RunNames,
    routes: &'a BTreeMap<String, Route>,
    packages: &'a BTreeMap<String, Package>,
    function_names: BTreeMap<String, String>,
    issuer: String,
    client_id: String,
    client_secret: String,
    user_pool_id: String,
    callback_urls: Vec<String>,
    notes_table: String,
    artifacts_bucket: String,
    api_gateway_endpoint: String,
    deploy_role: String,
}

impl<'a> Expected<'a> {
    /// Checks the outputs and keeps the ones later checks need.
    fn from_outputs(
        report: &mut Report,
        root: &Path,
        names: &'a RunNames,
        routes: &'a BTreeMap<String, Route>,
        packages: &'a BTreeMap<String, Package>,
        outputs: &Outputs,
    ) -> Self {
        let declared = declared_outputs(&root.join("IaC/outputs.tf"));
        let present: BTreeSet<&str> = outputs.names().collect();
        for name in &declared {
            report.check(present.contains(name.as_str()), || {
                format!("output `{name}` (declared in IaC/outputs.tf) is missing")
            });
        }
        let string = |name: &str| match outputs.string(name) {
            Ok(value) => value.to_owned(),
            Err(e) => panic!("{e}; outputs: {outputs:?}"),
        };
        let function_names = match outputs.string_map("function_names") {
            Ok(map) => map,
            Err(e) => panic!("{e}; outputs: {outputs:?}"),
        };
        let callback_urls = match outputs.string_list("callback_urls") {
            Ok(list) => list,
            Err(e) => panic!("{e}; outputs: {outputs:?}"),
        };
        let expected = Self {
            names,
            routes,
            packages,
            issuer: string("issuer"),
            client_id: string("client_id"),
            client_secret: string("client_secret"),
            user_pool_id: string("user_pool_id"),
            notes_table: string("notes_table_name"),
            artifacts_bucket: string("s3_bucket_name"),
            api_gateway_endpoint: string("api_gateway_endpoint"),
            deploy_role: string("github_deploy_role_arn")
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned(),
            function_names,
            callback_urls,
        };
        let project = &names.project_name;

        report.eq(
            "function_names covers exactly the routes",
            expected.function_names.keys().collect::<Vec<_>>(),
            routes.keys().collect::<Vec<_>>(),
        );
        for (function, name) in &expected.function_names {
            report.eq(
                &format!("function_names[{function}]"),
                name.as_str(),
                format!("{project}-{function}").as_str(),
            );
        }
        // The first function, by name, whose route needs no token (IaC/outputs.tf).
        let open = routes
            .iter()
            .find(|(_, route)| route.auth == "none")
            .map(|(function, _)| function.clone());
        let health = open.and_then(|function| expected.function_names.get(&function).cloned());
        report.check(health.is_some(), || {
            "the table has no route without a token".to_owned()
        });
        for name in ["function_name", "lambda_function_name"] {
            report.eq(
                name,
                outputs.string(name).ok().map(str::to_owned),
                health.clone(),
            );
        }
        report.eq("region", outputs.string("region").ok(), Some(REGION));
        report.check(!expected.api_gateway_endpoint.is_empty(), || {
            "api_gateway_endpoint is empty".to_owned()
        });
        report.check(
            expected
                .api_gateway_endpoint
                .ends_with(&format!("/{STAGE}")),
            || {
                format!(
                    "api_gateway_endpoint {} does not end with the stage /{STAGE}",
                    expected.api_gateway_endpoint
                )
            },
        );
        // The secret's value is never printed, only whether it is right.
        report.check(
            outputs.get("client_secret").is_some_and(|o| o.sensitive),
            || "client_secret is not marked sensitive".to_owned(),
        );
        report.check(!expected.client_secret.is_empty(), || {
            "client_secret is empty".to_owned()
        });
        report.eq(
            "notes_table_name",
            expected.notes_table.as_str(),
            format!("{project}-notes").as_str(),
        );
        report.check(
            expected
                .artifacts_bucket
                .starts_with(&format!("{project}-artifacts-")),
            || {
                format!(
                    "s3_bucket_name {} lacks the project prefix",
                    expected.artifacts_bucket
                )
            },
        );
        let issuer = format!(
            "https://cognito-idp.{REGION}.amazonaws.com/{}",
            expected.user_pool_id
        );
        report.eq("issuer", expected.issuer.as_str(), issuer.as_str());
        report.eq(
            "jwks_url",
            outputs.string("jwks_url").ok(),
            Some(format!("{issuer}/.well-known/jwks.json").as_str()),
        );
        let hosted_ui = format!(
            "https://{}.auth.{REGION}.amazoncognito.com",
            names.cognito_domain_prefix
        );
        report.eq(
            "token_endpoint",
            outputs.string("token_endpoint").ok(),
            Some(format!("{hosted_ui}/oauth2/token").as_str()),
        );
        let sign_in = outputs.string("hosted_ui_sign_in_url").unwrap_or_default();
        report.check(
            sign_in.starts_with(&format!("{hosted_ui}/oauth2/authorize?response_type=code&"))
                && sign_in.contains(&format!("client_id={}", expected.client_id)),
            || format!("hosted_ui_sign_in_url {sign_in} is not the code flow for the client"),
        );
        report.check(!expected.callback_urls.is_empty(), || {
            "callback_urls is empty".to_owned()
        });
        expected
    }

    fn lambda_name(&self, function: &str) -> String {
        format!("{}-{function}", self.names.project_name)
    }

    fn bucket_arn(bucket: &str) -> String {
        format!("arn:aws:s3:::{bucket}")
    }
}

/// The names of the `output` blocks in `outputs.tf`.
fn declared_outputs(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path);
    let Ok(text) = text else {
        panic!("read {}: {text:?}", path.display())
    };
    let names: Vec<String> = text
        .lines()
        .filter_map(|line| line.trim().strip_prefix("output \""))
        .filter_map(|rest| rest.split_once('"').map(|(name, _)| name.to_owned()))
        .collect();
    assert!(!names.is_empty(), "no outputs found in {}", path.display());
    names
}

// ---------------------------------------------------------------------------------------------
// The TLS-only bucket policies, in a plan
// ---------------------------------------------------------------------------------------------

fn check_tls_plan(report: &mut Report, plan: &Value, expected: &Expected<'_>) {
    let changes: Vec<&Value> = plan["resource_changes"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|c| c["change"]["actions"] != json!(["no-op"]))
                .collect()
        })
        .unwrap_or_default();
    let mut policy_buckets = BTreeSet::new();
    for change in changes {
        let address = change["address"].as_str().unwrap_or("?");
        let is_new_policy = change["type"] == "aws_s3_bucket_policy"
            && change["change"]["actions"] == json!(["create"]);
        if !is_new_policy {
            // Addresses and actions only: the plan holds secrets in clear text.
            report.fail(format!(
                "after the apply, a plan with s3_tls_only_policy = true must only add the two \
                 bucket policies, but it also plans {} for {address}",
                change["change"]["actions"]
            ));
            continue;
        }
        let after = &change["change"]["after"];
        let bucket = after["bucket"].as_str().unwrap_or_default().to_owned();
        let policy = after["policy"]
            .as_str()
            .and_then(|p| serde_json::from_str::<Value>(p).ok())
            .unwrap_or(Value::Null);
        let arn = Expected::bucket_arn(&bucket);
        let denies_plain_http = statements(&policy).iter().any(|s| {
            s["Effect"] == "Deny"
                && (s["Principal"] == "*" || s["Principal"]["AWS"] == "*")
                && strings(&s["Action"]) == ["s3:*"]
                && strings(&s["Condition"]["Bool"]["aws:SecureTransport"]) == ["false"]
                && strings(&s["Resource"]).into_iter().collect::<BTreeSet<_>>()
                    == BTreeSet::from([arn.clone(), format!("{arn}/*")])
        });
        report.check(denies_plain_http, || {
            format!("planned policy of {bucket} does not deny aws:SecureTransport=false: {policy}")
        });
        policy_buckets.insert(bucket);
    }
    report.eq(
        "buckets getting the TLS-only policy",
        policy_buckets,
        BTreeSet::from([expected.artifacts_bucket.clone()]),
    );
}

// ---------------------------------------------------------------------------------------------
// Step 4: what exists
// ---------------------------------------------------------------------------------------------

/// Clients for moto.
struct Aws {
    endpoint: String,
    apigw: aws_sdk_apigatewayv2::Client,
    lambda: aws_sdk_lambda::Client,
    iam: aws_sdk_iam::Client,
    s3: aws_sdk_s3::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    cognito: aws_sdk_cognitoidentityprovider::Client,
    http: reqwest::Client,
}

impl Aws {
    async fn new(endpoint: &str) -> Self {
        let config = test_support::moto::sdk_config(endpoint);
        Self {
            endpoint: endpoint.to_owned(),
            apigw: aws_sdk_apigatewayv2::Client::new(&config),
            lambda: aws_sdk_lambda::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            s3: test_support::moto::s3(&config),
            dynamodb: test_support::moto::dynamodb(&config),
            cognito: aws_sdk_cognitoidentityprovider::Client::new(&config),
            http: reqwest::Client::new(),
        }
    }

    /// Every HTTP API as (name, id), page by page (GetApis has no SDK paginator).
    async fn apis(&self) -> Result<Vec<(String, String)>, String> {
        let mut apis = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .apigw
                .get_apis()
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| format!("GetApis: {}", DisplayErrorContext(&e)))?;
            apis.extend(page.items().iter().map(|a| {
                (
                    a.name().unwrap_or_default().to_owned(),
                    a.api_id().unwrap_or_default().to_owned(),
                )
            }));
            match page.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => return Ok(apis),
            }
        }
    }

    /// The names of the log groups starting with `prefix`. CloudWatch Logs has no SDK crate in
    /// this workspace; this is its JSON protocol, which moto serves without checking signatures.
    async fn log_groups(&self, prefix: &str) -> Result<Vec<String>, String> {
        let mut names = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let mut body = json!({ "logGroupNamePrefix": prefix });
            if let Some(token) = &next {
                body["nextToken"] = json!(token);
            }
            let response = self
                .http
                .post(format!("{}/", self.endpoint))
                .header("X-Amz-Target", "Logs_20140328.DescribeLogGroups")
                .header("Content-Type", "application/x-amz-json-1.1")
                .header(
                    "Authorization",
                    format!(
                        "AWS4-HMAC-SHA256 Credential=test/20250101/{REGION}/logs/aws4_request, \
                         SignedHeaders=host, Signature=0"
                    ),
                )
                .body(body.to_string())
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|e| format!("DescribeLogGroups {prefix}: {e}"))?;
            let page: Value = response
                .json()
                .await
                .map_err(|e| format!("DescribeLogGroups {prefix}: {e}"))?;
            names.extend(
                page["logGroups"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|g| g["logGroupName"].as_str().map(str::to_owned)),
            );
            match page["nextToken"].as_str() {
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => return Ok(names),
            }
        }
    }
}

/// Sends an SDK request; on error records a failure and evaluates to `None`.
macro_rules! call {
    ($report:expr, $what:expr, $request:expr) => {
        match $request.send().await {
            Ok(output) => Some(output),
            Err(e) => {
                $report.fail(format!("{}: {}", $what, DisplayErrorContext(&e)));
                None
            }
        }
    };
}

/// Lambda: each function's configuration, code, alias and resource policy. Returns the `live`
/// alias ARN of each function.
async fn check_lambda(
    report: &mut Report,
    aws: &Aws,
    expected: &Expected<'_>,
    api_id: Option<&str>,
) -> BTreeMap<String, String> {
    let mut aliases = BTreeMap::new();
    for (function, route) in expected.routes {
        let name = expected.lambda_name(function);
        let Some(config) = call!(
            report,
            format!("GetFunctionConfiguration {name}"),
            aws.lambda.get_function_configuration().function_name(&name)
        ) else {
            continue;
        };
        let what = |field: &str| format!("Lambda {name}: {field}");
        report.eq(
            &what("runtime"),
            config.runtime(),
            Some(&Runtime::Providedal2023),
        );
        report.eq(
            &what("architectures"),
            config.architectures(),
            &[Architecture::Arm64][..],
        );
        report.eq(&what("handler"), config.handler(), Some("bootstrap"));
        report.eq(&what("memory"), config.memory_size(), Some(route.memory));
        report.eq(&what("timeout"), config.timeout(), Some(route.timeout));
        let env = config.environment().and_then(|e| e.variables());
        let var = |key: &str| env.and_then(|vars| vars.get(key)).map(String::as_str);
        report.eq(&what("NOTES_STORE"), var("NOTES_STORE"), Some("dynamodb"));
        report.eq(
            &what("NOTES_TABLE"),
            var("NOTES_TABLE"),
            Some(expected.notes_table.as_str()),
        );
        if let Some(package) = expected.packages.get(function) {
            // The function runs the zip that `cargo xtask package` built.
            report.eq(&what("code size"), config.code_size(), package.size);
            report.eq(
                &what("CodeSha256"),
                config.code_sha256(),
                Some(package.code_sha256.as_str()),
            );
        }
        let account = config
            .function_arn()
            .and_then(|arn| arn.split(':').nth(4))
            .unwrap_or("?")
            .to_owned();

        let Some(alias) = call!(
            report,
            format!("GetAlias {name}:live"),
            aws.lambda.get_alias().function_name(&name).name("live")
        ) else {
            continue;
        };
        let alias_arn = alias.alias_arn().unwrap_or_default().to_owned();
        report.eq(
            &what("alias live ARN"),
            alias_arn.as_str(),
            format!("arn:aws:lambda:{REGION}:{account}:function:{name}:live").as_str(),
        );
        report.check(
            alias
                .function_version()
                .is_some_and(|v| v.parse::<u32>().is_ok()),
            || {
                format!(
                    "Lambda {name}: alias live points at {:?}, not a published version",
                    alias.function_version()
                )
            },
        );
        aliases.insert(function.clone(), alias_arn.clone());

        // Invoke permission: API Gateway, only from this route (path parameters match a segment).
        let Some(policy) = call!(
            report,
            format!("GetPolicy {name}:live"),
            aws.lambda
                .get_policy()
                .function_name(&name)
                .qualifier("live")
        ) else {
            continue;
        };
        let policy: Value = policy
            .policy()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or(Value::Null);
        let from_api: Vec<&Value> = statements(&policy)
            .into_iter()
            .filter(|s| s["Principal"]["Service"] == "apigateway.amazonaws.com")
            .collect();
        report.eq(&what("statements allowing API Gateway"), from_api.len(), 1);
        let Some(api_id) = api_id else {
            continue;
        };
        let source_arn = format!(
            "arn:aws:execute-api:{REGION}:{account}:{api_id}/*/{}{}",
            route.method,
            path_pattern(&route.path)
        );
        for statement in from_api {
            report.eq(
                &what("permission effect"),
                &statement["Effect"],
                &json!("Allow"),
            );
            report.eq(
                &what("permission action"),
                strings(&statement["Action"]),
                vec!["lambda:InvokeFunction".to_owned()],
            );
            report.eq(
                &what("permission resource"),
                strings(&statement["Resource"]),
                vec![alias_arn.clone()],
            );
            let condition = &statement["Condition"]["ArnLike"]["AWS:SourceArn"];
            report.eq(
                &what("permission SourceArn"),
                strings(condition),
                vec![source_arn.clone()],
            );
            report.check(
                !strings(condition).iter().any(|arn| arn.ends_with("/*/*")),
                || format!("Lambda {name}: the invoke permission allows every route: {condition}"),
            );
        }
    }
    aliases
}

/// A route path as its execute-api ARN matches it: `{id}` and `{proxy+}` become `*`.
fn path_pattern(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                "*"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The id of the run's HTTP API (named `<project>-http-api`), recording a failure unless exactly
/// one exists.
async fn find_api(report: &mut Report, aws: &Aws, expected: &Expected<'_>) -> Option<String> {
    let name = format!("{}-http-api", expected.names.project_name);
    let apis = match aws.apis().await {
        Ok(apis) => apis,
        Err(e) => {
            report.fail(e);
            return None;
        }
    };
    let ids: Vec<&str> = apis
        .iter()
        .filter(|(n, _)| *n == name)
        .map(|(_, id)| id.as_str())
        .collect();
    match ids.as_slice() {
        [id] => Some((*id).to_owned()),
        _ => {
            report.fail(format!("expected one API named {name}, found {ids:?}"));
            None
        }
    }
}

/// API Gateway v2: the API, the JWT authorizer, every route with its integration, the stage.
async fn check_api(
    report: &mut Report,
    aws: &Aws,
    expected: &Expected<'_>,
    api_id: &str,
    aliases: &BTreeMap<String, String>,
) {
    let Some(api) = call!(report, "GetApi", aws.apigw.get_api().api_id(api_id)) else {
        return;
    };
    report.eq(
        "API protocol",
        api.protocol_type().map(|p| p.as_str()),
        Some("HTTP"),
    );
    let api_endpoint = api.api_endpoint().unwrap_or_default();
    report.eq(
        "api_gateway_endpoint",
        expected.api_gateway_endpoint.as_str(),
        format!("{api_endpoint}/{STAGE}").as_str(),
    );

    // Routes (moto returns them all in one page).
    let Some(listed) = call!(report, "GetRoutes", aws.apigw.get_routes().api_id(api_id)) else {
        return;
    };
    let api_routes = listed.items();
    report.eq(
        "number of API routes",
        api_routes.len(),
        expected.routes.len(),
    );
    // moto does not implement GetAuthorizers (HTTP 500), so the authorizer is found through
    // the routes that use it, then read with GetAuthorizer.
    let authorizer_ids: BTreeSet<&str> = api_routes
        .iter()
        .filter(|r| r.authorization_type() == Some(&AuthorizationType::Jwt))
        .filter_map(|r| r.authorizer_id())
        .collect();
    let authorizer_id = match authorizer_ids.iter().collect::<Vec<_>>().as_slice() {
        [id] => Some((**id).to_owned()),
        other => {
            report.fail(format!(
                "the JWT routes must share one authorizer, found {other:?}"
            ));
            None
        }
    };
    if let Some(id) = &authorizer_id {
        check_authorizer(report, aws, expected, api_id, id).await;
    }

    for (function, route) in expected.routes {
        let matching: Vec<_> = api_routes
            .iter()
            .filter(|r| r.route_key() == Some(route.route_key.as_str()))
            .collect();
        let [api_route] = matching.as_slice() else {
            report.fail(format!(
                "expected one route {}, found {}",
                route.route_key,
                matching.len()
            ));
            continue;
        };
        let what = |field: &str| format!("route {}: {field}", route.route_key);
        if route.auth == "jwt" {
            report.eq(
                &what("authorization"),
                api_route.authorization_type(),
                Some(&AuthorizationType::Jwt),
            );
            report.eq(
                &what("authorizer"),
                api_route.authorizer_id(),
                authorizer_id.as_deref(),
            );
        } else {
            report.eq(
                &what("authorization"),
                api_route.authorization_type(),
                Some(&AuthorizationType::None),
            );
            report.eq(&what("authorizer"), api_route.authorizer_id(), None);
        }
        let mut scopes = api_route.authorization_scopes().to_vec();
        scopes.sort();
        let mut wanted = route.scopes.clone();
        wanted.sort();
        report.eq(&what("scopes"), scopes, wanted);

        let target = api_route.target().unwrap_or_default();
        let Some(integration_id) = target.strip_prefix("integrations/") else {
            report.fail(format!("{}: target {target:?}", what("target")));
            continue;
        };
        let Some(integration) = call!(
            report,
            what("GetIntegration"),
            aws.apigw
                .get_integration()
                .api_id(api_id)
                .integration_id(integration_id)
        ) else {
            continue;
        };
        report.eq(
            &what("integration type"),
            integration.integration_type(),
            Some(&IntegrationType::AwsProxy),
        );
        report.eq(
            &what("payload format"),
            integration.payload_format_version(),
            Some("2.0"),
        );
        let alias = aliases.get(function).map_or("<no alias>", String::as_str);
        report.eq(
            &what("integration URI"),
            integration.integration_uri(),
            Some(
                format!(
                    "arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{alias}/invocations"
                )
                .as_str(),
            ),
        );
    }

    // The stage: access logs into the API's log group, default throttling.
    let Some(stage) = call!(
        report,
        format!("GetStage {STAGE}"),
        aws.apigw.get_stage().api_id(api_id).stage_name(STAGE)
    ) else {
        return;
    };
    report.eq("stage name", stage.stage_name(), Some(STAGE));
    let logs = stage.access_log_settings();
    let log_group = format!(
        "/aws/apigateway/{}-http-api/{STAGE}",
        expected.names.project_name
    );
    report.check(
        logs.and_then(|l| l.destination_arn())
            .is_some_and(|arn| arn.ends_with(&format!(":log-group:{log_group}"))),
        || format!("stage access logs do not go to {log_group}: {logs:?}"),
    );
    let format = logs
        .and_then(|l| l.format())
        .and_then(|f| serde_json::from_str::<Value>(f).ok());
    report.check(
        format
            .as_ref()
            .is_some_and(|f| f["requestId"] == "$context.requestId"),
        || format!("stage access log format is not JSON with requestId: {logs:?}"),
    );
    let throttling = stage.default_route_settings();
    report.check(
        throttling
            .and_then(|t| t.throttling_burst_limit())
            .is_some_and(|b| b > 0)
            && throttling
                .and_then(|t| t.throttling_rate_limit())
                .is_some_and(|r| r > 0.0),
        || format!("stage has no default route throttling: {throttling:?}"),
    );
}

async fn check_authorizer(
    report: &mut Report,
    aws: &Aws,
    expected: &Expected<'_>,
    api_id: &str,
    authorizer_id: &str,
) {
    let Some(authorizer) = call!(
        report,
        "GetAuthorizer",
        aws.apigw
            .get_authorizer()
            .api_id(api_id)
            .authorizer_id(authorizer_id)
    ) else {
        return;
    };
    report.eq(
        "authorizer type",
        authorizer.authorizer_type(),
        Some(&AuthorizerType::Jwt),
    );
    report.eq(
        "authorizer identity source",
        authorizer.identity_source(),
        &["$request.header.Authorization".to_owned()][..],
    );
    let jwt = authorizer.jwt_configuration();
    report.eq(
        "authorizer issuer",
        jwt.and_then(|j| j.issuer()),
        Some(expected.issuer.as_str()),
    );
    report.eq(
        "authorizer audience",
        jwt.map(|j| j.audience().to_vec()),
        Some(vec![expected.client_id.clone()]),
    );
}

/// IAM: each function's role has one inline least-privilege policy and no managed policies.
async fn check_iam(report: &mut Report, aws: &Aws, expected: &Expected<'_>) {
    let table_arn = format!(
        "arn:aws:dynamodb:{REGION}:{}:table/{}",
        test_support::moto::ACCOUNT_ID,
        expected.notes_table
    );
    for (function, route) in expected.routes {
        let name = expected.lambda_name(function);
        let role = format!("{name}-role");
        let what = |field: &str| format!("role {role}: {field}");

        if let Some(got) = call!(report, what("GetRole"), aws.iam.get_role().role_name(&role)) {
            let trust = got
                .role()
                .and_then(|r| r.assume_role_policy_document())
                .map_or(Value::Null, decode_policy);
            report.check(
                statements(&trust).iter().any(|s| {
                    s["Effect"] == "Allow"
                        && strings(&s["Principal"]["Service"]) == ["lambda.amazonaws.com"]
                        && strings(&s["Action"]) == ["sts:AssumeRole"]
                }),
                || format!("{}: {trust}", what("trust policy is not Lambda's")),
            );
        }
        if let Some(attached) = call!(
            report,
            what("ListAttachedRolePolicies"),
            aws.iam.list_attached_role_policies().role_name(&role)
        ) {
            report.eq(
                &what("managed policies"),
                attached.attached_policies().len(),
                0,
            );
        }
        let Some(listed) = call!(
            report,
            what("ListRolePolicies"),
            aws.iam.list_role_policies().role_name(&role)
        ) else {
            continue;
        };
        let policy_name = format!("{name}-policy");
        report.eq(
            &what("inline policies"),
            listed.policy_names(),
            &[policy_name.clone()][..],
        );
        let Some(got) = call!(
            report,
            what("GetRolePolicy"),
            aws.iam
                .get_role_policy()
                .role_name(&role)
                .policy_name(&policy_name)
        ) else {
            continue;
        };
        let document = decode_policy(got.policy_document());
        let statements = statements(&document);
        report.check(!statements.is_empty(), || {
            format!("{}: {document}", what("policy has no statements"))
        });

        let mut table_actions = BTreeSet::new();
        for statement in &statements {
            let actions = strings(&statement["Action"]);
            let resources = strings(&statement["Resource"]);
            report.eq(
                &what("statement effect"),
                &statement["Effect"],
                &json!("Allow"),
            );
            report.check(
                !actions.iter().any(|a| a == "*" || a.ends_with(":*")),
                || format!("{}: {statement}", what("wildcard action")),
            );
            report.check(
                !statements_key_present(statement, "NotAction")
                    && !statements_key_present(statement, "NotResource"),
                || format!("{}: {statement}", what("NotAction/NotResource")),
            );
            if resources.iter().any(|r| r == "*") {
                // Only X-Ray's actions support no resource scoping.
                report.check(actions.iter().all(|a| a.starts_with("xray:")), || {
                    format!("{}: {statement}", what("Resource \"*\" outside X-Ray"))
                });
                continue;
            }
            for action in &actions {
                if action.starts_with("dynamodb:") {
                    table_actions.insert(action.clone());
                    report.eq(
                        &what(&format!("{action} resource")),
                        resources.clone(),
                        vec![table_arn.clone()],
                    );
                } else if action.starts_with("logs:") {
                    let log_group = format!("/aws/lambda/{name}");
                    report.check(
                        resources.iter().all(|r| {
                            r.starts_with("arn:aws:logs:")
                                && r.ends_with(&format!(":log-group:{log_group}:*"))
                        }),
                        || format!("{}: {statement}", what("logs outside its log group")),
                    );
                } else if !action.starts_with("xray:") {
                    report.fail(format!("{}: {statement}", what("unexpected action")));
                }
            }
        }
        // What the function's Cargo.toml declares (`dynamodb = [...]`), through the function
        // table.
        report.eq(
            &what("DynamoDB actions on the notes table"),
            table_actions,
            route.dynamodb_actions.iter().cloned().collect(),
        );
    }
}

fn statements_key_present(statement: &Value, key: &str) -> bool {
    statement.get(key).is_some()
}

/// An IAM policy document: AWS returns it URL-encoded; moto returns JSON.
fn decode_policy(document: &str) -> Value {
    serde_json::from_str(document)
        .or_else(|_| serde_json::from_str(&deploy_calls::percent_decode(document)))
        .unwrap_or(Value::Null)
}

/// The notes table: the DynamoDB store's key schema (crates/notes owns it), on-demand billing,
/// point-in-time recovery on, deletion protection as the variable says.
async fn check_notes_table(report: &mut Report, aws: &Aws, expected: &Expected<'_>) {
    use aws_sdk_dynamodb::types::{BillingMode, KeyType, PointInTimeRecoveryStatus};
    let table = &expected.notes_table;
    let what = |field: &str| format!("table {table}: {field}");
    if let Some(got) = call!(
        report,
        what("DescribeTable"),
        aws.dynamodb.describe_table().table_name(table)
    ) {
        let description = got.table();
        let keys: Vec<(String, Option<KeyType>)> = description
            .map(|t| t.key_schema())
            .unwrap_or_default()
            .iter()
            .map(|k| (k.attribute_name().to_owned(), Some(k.key_type().clone())))
            .collect();
        report.eq(
            &what("key schema"),
            keys,
            vec![
                (
                    notes::store::dynamo::PARTITION_KEY.to_owned(),
                    Some(KeyType::Hash),
                ),
                (
                    notes::store::dynamo::SORT_KEY.to_owned(),
                    Some(KeyType::Range),
                ),
            ],
        );
        report.eq(
            &what("billing mode"),
            description
                .and_then(|t| t.billing_mode_summary())
                .and_then(|b| b.billing_mode())
                .cloned(),
            Some(BillingMode::PayPerRequest),
        );
    }
    if let Some(got) = call!(
        report,
        what("DescribeContinuousBackups"),
        aws.dynamodb.describe_continuous_backups().table_name(table)
    ) {
        report.eq(
            &what("point-in-time recovery"),
            got.continuous_backups_description()
                .and_then(|d| d.point_in_time_recovery_description())
                .and_then(|p| p.point_in_time_recovery_status())
                .cloned(),
            Some(PointInTimeRecoveryStatus::Enabled),
        );
    }
}

/// S3: the artifacts bucket private, encrypted, versioned, with a noncurrent-version rule, and
/// holding every package.
async fn check_s3(report: &mut Report, aws: &Aws, expected: &Expected<'_>) {
    for bucket in [&expected.artifacts_bucket] {
        let what = |field: &str| format!("bucket {bucket}: {field}");
        if let Some(got) = call!(
            report,
            what("GetPublicAccessBlock"),
            aws.s3.get_public_access_block().bucket(bucket)
        ) {
            let block = got.public_access_block_configuration();
            report.eq(
                &what("public access block"),
                block.map(|b| {
                    [
                        b.block_public_acls(),
                        b.ignore_public_acls(),
                        b.block_public_policy(),
                        b.restrict_public_buckets(),
                    ]
                }),
                Some([Some(true); 4]),
            );
        }
        if let Some(got) = call!(
            report,
            what("GetBucketEncryption"),
            aws.s3.get_bucket_encryption().bucket(bucket)
        ) {
            let algorithms: Vec<String> = got
                .server_side_encryption_configuration()
                .map(|c| c.rules())
                .unwrap_or_default()
                .iter()
                .filter_map(|r| r.apply_server_side_encryption_by_default())
                .map(|d| d.sse_algorithm().as_str().to_owned())
                .collect();
            report.check(
                algorithms
                    .iter()
                    .any(|a| a == "AES256" || a.starts_with("aws:kms")),
                || format!("{}: {algorithms:?}", what("no default encryption")),
            );
        }
        match versioning_status(aws, bucket).await {
            Ok(status) => report.eq(
                &what("versioning"),
                status,
                Some(BucketVersioningStatus::Enabled),
            ),
            Err(e) => report.fail(format!("{}: {e}", what("GetBucketVersioning"))),
        }
        if let Some(got) = call!(
            report,
            what("GetBucketLifecycleConfiguration"),
            aws.s3.get_bucket_lifecycle_configuration().bucket(bucket)
        ) {
            let expires_noncurrent = got.rules().iter().any(|r| {
                r.status() == &ExpirationStatus::Enabled
                    && r.noncurrent_version_expiration()
                        .and_then(|e| e.noncurrent_days())
                        .is_some_and(|d| d >= 1)
            });
            report.check(expires_noncurrent, || {
                format!(
                    "{}: {:?}",
                    what("no noncurrent-version expiry"),
                    got.rules()
                )
            });
        }
        if let Some(got) = call!(
            report,
            what("GetBucketOwnershipControls"),
            aws.s3.get_bucket_ownership_controls().bucket(bucket)
        ) {
            let rules: Vec<_> = got
                .ownership_controls()
                .map(|c| c.rules())
                .unwrap_or_default()
                .iter()
                .map(|r| r.object_ownership().clone())
                .collect();
            report.eq(
                &what("object ownership"),
                rules,
                vec![ObjectOwnership::BucketOwnerEnforced],
            );
        }
        // The bucket policy is not applied here (moto denies every object call under it, see
        // `Vars::local_aws`); `check_tls_plan` checks the planned one instead.
    }

    for (function, package) in expected.packages {
        let key = format!("{function}/bootstrap.zip");
        if let Some(head) = call!(
            report,
            format!("HeadObject {}/{key}", expected.artifacts_bucket),
            aws.s3
                .head_object()
                .bucket(&expected.artifacts_bucket)
                .key(&key)
        ) {
            report.eq(
                &format!("artifacts {key} size"),
                head.content_length(),
                Some(package.size),
            );
        }
    }
}

/// A bucket's versioning status. moto 5 answers GetBucketVersioning with the root element
/// `GetBucketVersioningResponse` instead of `VersioningConfiguration`, which the SDK rejects; the
/// status is then read from the raw body moto sent.
async fn versioning_status(
    aws: &Aws,
    bucket: &str,
) -> Result<Option<BucketVersioningStatus>, String> {
    let error = match aws.s3.get_bucket_versioning().bucket(bucket).send().await {
        Ok(got) => return Ok(got.status().cloned()),
        Err(e) => e,
    };
    let body = error
        .raw_response()
        .filter(|r| r.status().is_success())
        .and_then(|r| r.body().bytes())
        .map(String::from_utf8_lossy);
    let Some(body) = body.filter(|b| b.contains("<GetBucketVersioningResponse")) else {
        return Err(DisplayErrorContext(&error).to_string());
    };
    Ok(body
        .split_once("<Status>")
        .and_then(|(_, rest)| rest.split_once("</Status>"))
        .map(|(status, _)| BucketVersioningStatus::from(status)))
}

/// Cognito: the pool, the app client, the groups the routes need, the hosted-UI domain.
async fn check_cognito(report: &mut Report, aws: &Aws, expected: &Expected<'_>) {
    let pool_id = expected.user_pool_id.as_str();
    if let Some(got) = call!(
        report,
        "DescribeUserPool",
        aws.cognito.describe_user_pool().user_pool_id(pool_id)
    ) {
        let pool = got.user_pool();
        report.eq(
            "user pool name",
            pool.and_then(|p| p.name()),
            Some(format!("{}-users", expected.names.project_name).as_str()),
        );
        report.eq(
            "user pool username attributes",
            pool.map(|p| p.username_attributes().to_vec()),
            Some(vec![UsernameAttributeType::Email]),
        );
        report.eq(
            "user pool auto-verified attributes",
            pool.map(|p| p.auto_verified_attributes().to_vec()),
            Some(vec![VerifiedAttributeType::Email]),
        );
        let password = pool
            .and_then(|p| p.policies())
            .and_then(|p| p.password_policy());
        // A changed email replaces the old one only once the new one is verified.
        report.eq(
            "user pool attributes verified before an update",
            pool.and_then(|p| p.user_attribute_update_settings())
                .map(|u| u.attributes_require_verification_before_update().to_vec()),
            Some(vec![VerifiedAttributeType::Email]),
        );
        report.check(
            password.is_some_and(|p| {
                p.minimum_length().is_some_and(|l| l >= 8)
                    && p.require_lowercase()
                    && p.require_uppercase()
                    && p.require_numbers()
                    && p.require_symbols()
            }),
            || format!("user pool password policy is weak or missing: {password:?}"),
        );
    }

    if let Some(got) = call!(
        report,
        "DescribeUserPoolClient",
        aws.cognito
            .describe_user_pool_client()
            .user_pool_id(pool_id)
            .client_id(&expected.client_id)
    ) {
        let client = got.user_pool_client();
        // Compared, never printed.
        report.check(
            client.and_then(|c| c.client_secret()) == Some(expected.client_secret.as_str()),
            || {
                "the app client's secret is missing or differs from the client_secret output"
                    .to_owned()
            },
        );
        report.eq(
            "app client OAuth flows",
            client.map(|c| c.allowed_o_auth_flows().to_vec()),
            Some(vec![OAuthFlowType::Code]),
        );
        report.eq(
            "app client OAuth flows enabled",
            client.and_then(|c| c.allowed_o_auth_flows_user_pool_client()),
            Some(true),
        );
        report.eq(
            "app client scopes",
            client.map(|c| {
                c.allowed_o_auth_scopes()
                    .iter()
                    .map(String::as_str)
                    .collect::<BTreeSet<_>>()
            }),
            Some(BTreeSet::from(["email", "openid", "profile"])),
        );
        report.eq(
            "app client callback URLs",
            client.map(|c| c.callback_urls().to_vec()),
            Some(expected.callback_urls.clone()),
        );
        // Sign-in is the hosted UI's code grant; only refreshing tokens uses InitiateAuth.
        report.eq(
            "app client explicit auth flows",
            client.map(|c| c.explicit_auth_flows().to_vec()),
            Some(vec![ExplicitAuthFlowsType::AllowRefreshTokenAuth]),
        );
        report.eq(
            "app client PreventUserExistenceErrors",
            client.and_then(|c| c.prevent_user_existence_errors()),
            Some(&PreventUserExistenceErrorTypes::Enabled),
        );
    }

    let groups: BTreeSet<&str> = expected
        .routes
        .values()
        .flat_map(|r| r.groups.iter().map(String::as_str))
        .chain(["admin"])
        .collect();
    for group in groups {
        if let Some(got) = call!(
            report,
            format!("GetGroup {group}"),
            aws.cognito
                .get_group()
                .user_pool_id(pool_id)
                .group_name(group)
        ) {
            report.eq(
                "group name",
                got.group().and_then(|g| g.group_name()),
                Some(group),
            );
        }
    }

    let domain = expected.names.cognito_domain_prefix.as_str();
    if let Some(got) = call!(
        report,
        format!("DescribeUserPoolDomain {domain}"),
        aws.cognito.describe_user_pool_domain().domain(domain)
    ) {
        report.eq(
            "hosted-UI domain's pool",
            got.domain_description().and_then(|d| d.user_pool_id()),
            Some(pool_id),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Step 5: nothing left
// ---------------------------------------------------------------------------------------------

/// Everything named after the run, by kind.
#[derive(Debug, Default)]
struct Leftovers {
    functions: Vec<String>,
    apis: Vec<String>,
    user_pools: Vec<String>,
    domains: Vec<String>,
    buckets: Vec<String>,
    tables: Vec<String>,
    roles: Vec<String>,
    log_groups: Vec<String>,
}

impl Leftovers {
    async fn collect(aws: &Aws, names: &RunNames) -> Result<Self, String> {
        let prefix = format!("{}-", names.project_name);
        let ours = |name: Option<&str>| name.filter(|n| n.starts_with(&prefix)).map(str::to_owned);
        let sdk =
            |what: &str, e: &dyn std::error::Error| format!("{what}: {}", DisplayErrorContext(e));
        let mut found = Self::default();

        let mut pages = aws.lambda.list_functions().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk("ListFunctions", &e))?;
            found.functions.extend(
                page.functions()
                    .iter()
                    .filter_map(|f| ours(f.function_name())),
            );
        }
        let apis = aws.apis().await?;
        found
            .apis
            .extend(apis.iter().filter_map(|(name, _)| ours(Some(name))));
        let mut pages = aws
            .cognito
            .list_user_pools()
            .max_results(60)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk("ListUserPools", &e))?;
            found
                .user_pools
                .extend(page.user_pools().iter().filter_map(|p| ours(p.name())));
        }
        let domain = aws
            .cognito
            .describe_user_pool_domain()
            .domain(&names.cognito_domain_prefix)
            .send()
            .await
            .map_err(|e| sdk("DescribeUserPoolDomain", &e))?;
        // An unknown domain is an empty description, not an error.
        found.domains.extend(
            domain
                .domain_description()
                .and_then(|d| d.domain())
                .map(str::to_owned),
        );
        let buckets = aws
            .s3
            .list_buckets()
            .send()
            .await
            .map_err(|e| sdk("ListBuckets", &e))?;
        found
            .buckets
            .extend(buckets.buckets().iter().filter_map(|b| ours(b.name())));
        let mut pages = aws.dynamodb.list_tables().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk("ListTables", &e))?;
            found
                .tables
                .extend(page.table_names().iter().filter_map(|t| ours(Some(t))));
        }
        let mut pages = aws.iam.list_roles().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk("ListRoles", &e))?;
            found.roles.extend(
                page.roles()
                    .iter()
                    .filter_map(|r| ours(Some(r.role_name()))),
            );
        }
        for log_prefix in [
            format!("/aws/lambda/{prefix}"),
            format!("/aws/apigateway/{prefix}"),
        ] {
            found.log_groups.extend(aws.log_groups(&log_prefix).await?);
        }
        for list in [
            &mut found.functions,
            &mut found.apis,
            &mut found.user_pools,
            &mut found.buckets,
            &mut found.tables,
            &mut found.roles,
            &mut found.log_groups,
        ] {
            list.sort();
        }
        Ok(found)
    }

    /// While the stack exists, the listings find all of it (so that an empty listing after
    /// destroy means something).
    fn check_complete(&self, report: &mut Report, expected: &Expected<'_>) {
        let project = &expected.names.project_name;
        let lambdas: Vec<String> = expected.function_names.values().cloned().collect();
        report.eq("functions listed before destroy", &self.functions, &lambdas);
        report.eq(
            "APIs listed before destroy",
            &self.apis,
            &vec![format!("{project}-http-api")],
        );
        report.eq(
            "user pools listed before destroy",
            &self.user_pools,
            &vec![format!("{project}-users")],
        );
        report.eq(
            "domains found before destroy",
            &self.domains,
            &vec![expected.names.cognito_domain_prefix.clone()],
        );
        report.eq(
            "buckets listed before destroy",
            &self.buckets,
            &vec![expected.artifacts_bucket.clone()],
        );
        report.eq(
            "tables listed before destroy",
            &self.tables,
            &vec![expected.notes_table.clone()],
        );
        let mut roles: BTreeSet<String> = lambdas.iter().map(|l| format!("{l}-role")).collect();
        roles.insert(expected.deploy_role.clone());
        let listed: BTreeSet<String> = self.roles.iter().cloned().collect();
        report.eq("roles listed before destroy", &listed, &roles);
        let mut log_groups: Vec<String> =
            lambdas.iter().map(|l| format!("/aws/lambda/{l}")).collect();
        log_groups.push(format!("/aws/apigateway/{project}-http-api/{STAGE}"));
        log_groups.sort();
        report.eq(
            "log groups listed before destroy",
            &self.log_groups,
            &log_groups,
        );
    }

    fn check_empty(&self, report: &mut Report) {
        for (kind, left) in [
            ("Lambda functions", &self.functions),
            ("HTTP APIs", &self.apis),
            ("user pools", &self.user_pools),
            ("hosted-UI domains", &self.domains),
            ("buckets", &self.buckets),
            ("DynamoDB tables", &self.tables),
            ("IAM roles", &self.roles),
            ("log groups", &self.log_groups),
        ] {
            report.check(left.is_empty(), || {
                format!("destroy left {kind} behind: {left:?}")
            });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The `Statement` list of a policy document (a single statement object counts as one).
fn statements(policy: &Value) -> Vec<&Value> {
    match &policy["Statement"] {
        Value::Array(list) => list.iter().collect(),
        Value::Object(_) => vec![&policy["Statement"]],
        _ => Vec::new(),
    }
}

/// A policy element that may be one string or a list of strings, as a sorted list.
fn strings(value: &Value) -> Vec<String> {
    let mut list: Vec<String> = match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    list.sort();
    list
}

/// Collects check failures; [`finish`](Report::finish) fails the test listing all of them.
#[derive(Debug, Default)]
struct Report {
    checked: usize,
    failures: Vec<String>,
}

impl Report {
    fn check(&mut self, ok: bool, failure: impl FnOnce() -> String) {
        self.checked += 1;
        if !ok {
            self.failures.push(failure());
        }
    }

    fn eq<A, B>(&mut self, what: &str, actual: A, expected: B)
    where
        A: PartialEq<B> + Debug,
        B: Debug,
    {
        self.check(actual == expected, || {
            format!("{what}: got {actual:?}, expected {expected:?}")
        });
    }

    fn fail(&mut self, failure: String) {
        self.checked += 1;
        self.failures.push(failure);
    }

    fn finish(self) {
        assert!(
            self.failures.is_empty(),
            "{} of {} checks failed:\n- {}",
            self.failures.len(),
            self.checked,
            self.failures.join("\n- ")
        );
    }
}

#[test]
fn path_patterns_match_any_segment_for_parameters() {
    assert_eq!(path_pattern("/notes/{id}"), "/notes/*");
    assert_eq!(path_pattern("/files/{proxy+}"), "/files/*");
    assert_eq!(path_pattern("/health"), "/health");
}

#[test]
fn policy_documents_decode_from_json_and_url_encoding() {
    let json = r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}"#;
    let encoded = "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%7D%5D%7D";
    for document in [json, encoded] {
        let policy = decode_policy(document);
        assert_eq!(strings(&statements(&policy)[0]["Action"]), ["s3:GetObject"]);
    }
    assert_eq!(decode_policy("%zz"), Value::Null);
}

#[test]
fn report_collects_failures() {
    let mut report = Report::default();
    report.eq("same", 1, 1);
    report.eq("different", 1, 2);
    report.check(false, || "broken".to_owned());
    assert_eq!(report.checked, 3);
    assert_eq!(
        report.failures,
        [
            "different: got 1, expected 2".to_owned(),
            "broken".to_owned()
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Deploy into the applied stack
// ---------------------------------------------------------------------------------------------

/// The deploy engine (what `cargo xtask deploy --stack` runs) against the stack Terraform
/// created, with the real packages and the stack Terraform published in the artifacts bucket,
/// every request going through a recording proxy; then every recorded call is checked against
/// the deploy role's policy as moto's IAM holds it (see `deploy_calls`).
async fn check_deploy(
    report: &mut Report,
    aws: &Aws,
    expected: &Expected<'_>,
    root: &Path,
    outputs: &Outputs,
) {
    let from_outputs = match deploy::StackOutputs::from_terraform_json(&outputs.to_terraform_json())
    {
        Ok(stack) => stack,
        Err(e) => return report.fail(format!("the deploy tool cannot read the outputs: {e}")),
    };
    let Some(location) = published_stack(report, aws, expected, outputs).await else {
        return;
    };
    let manifest_path = package_dir(root).join("packages.json");
    let manifest = match deploy::Manifest::load(&manifest_path, root) {
        Ok(m) => m,
        Err(e) => return report.fail(format!("the package manifest: {e}")),
    };
    let proxy = match deploy_calls::RecordingProxy::start(&aws.endpoint).await {
        Ok(proxy) => proxy,
        Err(e) => return report.fail(e),
    };
    let settings = deploy::ClientSettings {
        endpoint_url: Some(proxy.url.clone()),
        region: Some(REGION.to_owned()),
        profile: None,
    };
    let clients = match deploy::Clients::new(&settings).await {
        Ok(c) => c,
        Err(e) => return report.fail(format!("deploy clients: {e}")),
    };
    let stack = match deploy::load_published(&clients, &location).await {
        Ok(stack) => stack,
        Err(e) => return report.fail(format!("the deploy tool cannot read {location}: {e}")),
    };
    report.eq(
        "the published stack, as the deploy tool reads it",
        &stack,
        &from_outputs,
    );
    deploy_and_roll_back(report, aws, &clients, &stack, &manifest, root).await;
    check_calls_against_policy(report, aws, expected, &proxy.calls()).await;
}

/// The published stack object: where the `deploy_stack_url` output says, exactly the members
/// the deploy needs, nothing secret in it.
async fn published_stack(
    report: &mut Report,
    aws: &Aws,
    expected: &Expected<'_>,
    outputs: &Outputs,
) -> Option<deploy::S3Location> {
    let url = match outputs.string("deploy_stack_url") {
        Ok(url) => url.to_owned(),
        Err(e) => {
            report.fail(format!("the published stack: {e}"));
            return None;
        }
    };
    let location: deploy::S3Location = match url.parse() {
        Ok(l) => l,
        Err(e) => {
            report.fail(format!("deploy_stack_url: {e}"));
            return None;
        }
    };
    report.eq(
        "deploy_stack_url",
        url.as_str(),
        format!(
            "s3://{}/{}",
            expected.artifacts_bucket,
            deploy::PUBLISHED_KEY
        )
        .as_str(),
    );
    let object = call!(
        report,
        format!("GetObject {url}"),
        aws.s3
            .get_object()
            .bucket(&location.bucket)
            .key(&location.key)
    )?;
    let bytes = match object.body.collect().await {
        Ok(b) => b.into_bytes(),
        Err(e) => {
            report.fail(format!("read {url}: {e}"));
            return None;
        }
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let members: BTreeSet<&str> = value
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    report.eq(
        "members of the published stack",
        members,
        BTreeSet::from([
            "alias",
            "artifacts_bucket",
            "function_names",
            "region",
            "version",
        ]),
    );
    // Compared, never printed: the secret and the words that would name one.
    report.check(!text.contains(&expected.client_secret), || {
        format!("{url} holds the app client's secret")
    });
    let lower = text.to_ascii_lowercase();
    for word in ["secret", "token", "password", "client_id", "user_pool"] {
        report.check(!lower.contains(word), || {
            format!("{url} mentions `{word}`: only what a deploy needs belongs there")
        });
    }
    Some(location)
}

/// Deploys into the applied stack with `clients` and `stack`: unchanged code uploads nothing, a
/// changed `health` moves `live`, a rollback moves it back.
async fn deploy_and_roll_back(
    report: &mut Report,
    aws: &Aws,
    clients: &deploy::Clients,
    stack: &deploy::StackOutputs,
    manifest: &deploy::Manifest,
    root: &Path,
) {
    let steps = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let recorded = std::sync::Arc::clone(&steps);
    let options = deploy::DeployOptions {
        progress: deploy::Progress::new(move |function, step| {
            if let Ok(mut steps) = recorded.lock() {
                steps.push(format!("{function}: {step:?}"));
            }
        }),
        ..deploy::DeployOptions::default()
    };

    // The code Terraform uploaded is the packaged code: nothing to do, nothing uploaded.
    match deploy::deploy(clients, stack, manifest, &options).await {
        Ok(first) => {
            for entry in &first.entries {
                report.check(
                    matches!(entry.outcome, deploy::Outcome::Unchanged { .. }),
                    || {
                        format!(
                            "a deploy right after apply must leave {} unchanged: {:?}",
                            entry.function, entry.outcome
                        )
                    },
                );
            }
            report.eq(
                "functions in the first deploy",
                first.entries.len(),
                manifest.packages.len(),
            );
        }
        Err(e) => return report.fail(format!("deploy right after apply: {e}")),
    }
    let uploads: Vec<String> = steps
        .lock()
        .map(|s| {
            s.iter()
                .filter(|l| l.contains("Uploading"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    report.check(uploads.is_empty(), || {
        format!("an unchanged deploy uploaded: {uploads:?}")
    });

    // A changed `health`: the same binary with a trailing byte (still a valid ELF).
    let Some(health) = manifest.packages.iter().find(|p| p.function == "health") else {
        return report.fail("no health package".to_owned());
    };
    let changed = match changed_package(&health.zip) {
        Ok(c) => c,
        Err(e) => return report.fail(e),
    };
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return report.fail(format!("a temporary directory: {e}")),
    };
    let zip_path = dir.path().join("health.zip");
    if let Err(e) = std::fs::write(&zip_path, &changed) {
        return report.fail(format!("write {}: {e}", zip_path.display()));
    }
    let digest = Sha256::digest(&changed);
    let changed_manifest = json!({"arch": "arm64", "packages": [{
        "function": "health", "zip": zip_path, "size": changed.len(),
        "sha256": hex_lower(&digest), "code_sha256": base64::engine::general_purpose::STANDARD.encode(digest),
    }]});
    let changed_manifest = match deploy::Manifest::from_json(&changed_manifest.to_string(), root) {
        Ok(m) => m,
        Err(e) => return report.fail(format!("the changed manifest: {e}")),
    };
    // The test's own reads bypass the recording proxy: only the deploy's calls are recorded.
    let lambda = &aws.lambda;
    let Some(health_name) = stack.lambda_name("health").map(str::to_owned) else {
        return report.fail("no health function in the outputs".to_owned());
    };
    let live = |lambda: aws_sdk_lambda::Client, name: String| async move {
        let alias = lambda
            .get_alias()
            .function_name(&name)
            .name("live")
            .send()
            .await;
        alias.ok().and_then(|a| a.function_version)
    };
    let before = live(lambda.clone(), health_name.clone()).await;
    match deploy::deploy(clients, stack, &changed_manifest, &options).await {
        Ok(second) => match second.outcome("health") {
            Some(deploy::Outcome::Updated { version, .. }) => {
                let now = live(lambda.clone(), health_name.clone()).await;
                report.eq(
                    "live after deploying a changed health",
                    now.as_deref(),
                    Some(version.as_str()),
                );
                report.check(now != before, || "live did not move".to_owned());
                let code = lambda
                    .get_function_configuration()
                    .function_name(&health_name)
                    .qualifier("live")
                    .send()
                    .await
                    .ok()
                    .and_then(|c| c.code_sha256);
                report.eq(
                    "CodeSha256 of health:live after the deploy",
                    code.as_deref(),
                    Some(changed_manifest.packages[0].code_sha256.as_str()),
                );
            }
            other => report.fail(format!("a changed health must be updated: {other:?}")),
        },
        Err(e) => return report.fail(format!("deploy of a changed health: {e}")),
    }
    match deploy::rollback(
        clients,
        stack,
        &["health".to_owned()],
        None,
        &deploy::Progress::silent(),
    )
    .await
    {
        Ok(back) => {
            report.check(back.success(), || format!("rollback of health: {back:?}"));
            let now = live(lambda.clone(), health_name.clone()).await;
            report.eq("live after the rollback", now, before);
        }
        Err(e) => report.fail(format!("rollback of health: {e}")),
    }
}

/// The zip of `path`'s `bootstrap` with one byte appended: new code, same behaviour.
fn changed_package(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Write as _;
    let bytes = std::fs::read(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let mut binary = Vec::new();
    archive
        .by_name("bootstrap")
        .map_err(|e| e.to_string())?
        .read_to_end(&mut binary)
        .map_err(|e| e.to_string())?;
    binary.push(0);
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    writer
        .start_file("bootstrap", options)
        .map_err(|e| e.to_string())?;
    writer.write_all(&binary).map_err(|e| e.to_string())?;
    Ok(writer.finish().map_err(|e| e.to_string())?.into_inner())
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// After deploys and a rollback, Terraform plans nothing for the functions and aliases: the code
/// and `live` belong to the deploy tool (`lifecycle.ignore_changes`).
fn check_no_drift(report: &mut Report, plan: &Value) {
    let changes: Vec<String> = plan["resource_changes"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|c| c["change"]["actions"] != json!(["no-op"]))
                .map(|c| {
                    format!(
                        "{} {}",
                        c["change"]["actions"],
                        c["address"].as_str().unwrap_or("?")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    report.check(changes.is_empty(), || {
        format!("after deploy and rollback, terraform plans changes (it would fight the deploy tool): {changes:?}")
    });
}

/// The optional GitHub deploy role: OIDC trust pinned to the repository's environment and STS,
/// and only the calls the deploy engine makes, on these functions and the artifacts bucket.
async fn check_deploy_role(report: &mut Report, aws: &Aws, expected: &Expected<'_>) {
    let role = &expected.deploy_role;
    let what = |field: &str| format!("deploy role {role}: {field}");
    if let Some(got) = call!(report, what("GetRole"), aws.iam.get_role().role_name(role)) {
        let trust = got
            .role()
            .and_then(|r| r.assume_role_policy_document())
            .map_or(Value::Null, decode_policy);
        let host = "token.actions.githubusercontent.com";
        let sub = format!(
            "repo:{}:environment:production",
            iac_tests::GITHUB_REPOSITORY
        );
        report.check(
            statements(&trust).iter().any(|s| {
                s["Effect"] == "Allow"
                    && strings(&s["Action"]) == ["sts:AssumeRoleWithWebIdentity"]
                    && strings(&s["Principal"]["Federated"])
                        .iter()
                        .all(|p| p.ends_with(&format!("oidc-provider/{host}")))
                    && strings(&s["Condition"]["StringEquals"][format!("{host}:aud")])
                        == ["sts.amazonaws.com"]
                    && strings(&s["Condition"]["StringEquals"][format!("{host}:sub")])
                        == [sub.clone()]
            }),
            || {
                format!(
                    "{}: {trust}",
                    what("trust is not pinned to the repository's environment")
                )
            },
        );
    }
    let Some(policy) = call!(
        report,
        what("GetRolePolicy"),
        aws.iam
            .get_role_policy()
            .role_name(role)
            .policy_name("deploy")
    ) else {
        return;
    };
    let policy = decode_policy(policy.policy_document());
    let mut allowed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for statement in statements(&policy) {
        report.eq(
            &what("statement effect"),
            statement["Effect"].as_str(),
            Some("Allow"),
        );
        for action in strings(&statement["Action"]) {
            allowed
                .entry(action)
                .or_default()
                .extend(strings(&statement["Resource"]));
        }
    }
    let lambda_actions = [
        "lambda:GetAlias",
        "lambda:GetFunction",
        "lambda:GetFunctionConfiguration",
        "lambda:ListVersionsByFunction",
        "lambda:PublishVersion",
        "lambda:UpdateAlias",
        "lambda:UpdateFunctionCode",
    ];
    let bucket = Expected::bucket_arn(&expected.artifacts_bucket);
    let mut want: BTreeSet<&str> = lambda_actions.into_iter().collect();
    want.extend(["s3:ListBucket", "s3:PutObject", "s3:GetObject"]);
    let got: BTreeSet<&str> = allowed.keys().map(String::as_str).collect();
    report.eq(&what("allowed actions"), &got, &want);
    for action in lambda_actions {
        let resources = allowed.get(action).cloned().unwrap_or_default();
        for name in expected.function_names.values() {
            report.check(
                resources
                    .iter()
                    .any(|r| r.ends_with(&format!(":function:{name}"))),
                || {
                    format!(
                        "{}: {action} does not cover {name}: {resources:?}",
                        what("policy")
                    )
                },
            );
        }
        report.check(
            resources
                .iter()
                .all(|r| r.contains(":function:") && !r.contains('*') || r.ends_with(":*")),
            || {
                format!(
                    "{}: {action} reaches beyond the functions: {resources:?}",
                    what("policy")
                )
            },
        );
    }
    let zips: BTreeSet<String> = expected
        .function_names
        .keys()
        .map(|function| format!("{bucket}/{function}/*"))
        .collect();
    let stack_object = format!("{bucket}/{}", deploy::PUBLISHED_KEY);
    report.eq(
        &what("s3:PutObject resources (each function's zips, never the stack)"),
        allowed.get("s3:PutObject").cloned().unwrap_or_default(),
        zips.clone(),
    );
    let mut readable = zips;
    readable.insert(stack_object);
    report.eq(
        &what("s3:GetObject resources (the zips and the published stack)"),
        allowed.get("s3:GetObject").cloned().unwrap_or_default(),
        readable,
    );
    report.eq(
        &what("s3:ListBucket resources"),
        allowed.get("s3:ListBucket").cloned().unwrap_or_default(),
        BTreeSet::from([bucket]),
    );
}

/// The deploy role's inline policy document, as moto's IAM holds it.
async fn deploy_policy(report: &mut Report, aws: &Aws, expected: &Expected<'_>) -> Option<Value> {
    let got = call!(
        report,
        format!("GetRolePolicy {} deploy", expected.deploy_role),
        aws.iam
            .get_role_policy()
            .role_name(&expected.deploy_role)
            .policy_name("deploy")
    )?;
    Some(decode_policy(got.policy_document()))
}

/// Every call the deploy, the rollback and the stack read made (recorded by the proxy) is one
/// the deploy role's policy allows, on the ARN AWS would check; together they use every action
/// the policy grants; and the policy refuses what a deploy must never do.
async fn check_calls_against_policy(
    report: &mut Report,
    aws: &Aws,
    expected: &Expected<'_>,
    calls: &[deploy_calls::Call],
) {
    let Some(policy) = deploy_policy(report, aws, expected).await else {
        return;
    };
    let Some(health) = expected.function_names.get("health") else {
        return report.fail("no health function".to_owned());
    };
    let Some(config) = call!(
        report,
        format!("GetFunctionConfiguration {health}"),
        aws.lambda
            .get_function_configuration()
            .function_name(health)
    ) else {
        return;
    };
    let account = config
        .function_arn()
        .and_then(|arn| arn.split(':').nth(4))
        .unwrap_or("?")
        .to_owned();
    report.check(!calls.is_empty(), || {
        "the recording proxy saw no request".to_owned()
    });
    let mut used = BTreeSet::new();
    for call in calls {
        let Some((action, resource)) = deploy_calls::iam_request(call, REGION, &account) else {
            report.fail(format!(
                "the deploy made a call this check cannot map to an IAM action: {call:?}"
            ));
            continue;
        };
        match deploy_calls::allows(&policy, &action, &resource) {
            Ok(true) => {}
            Ok(false) => report.fail(format!(
                "the deploy called {action} on {resource}, which the deploy role may not"
            )),
            Err(e) => report.fail(e),
        }
        used.insert(action);
    }
    let granted: BTreeSet<String> = statements(&policy)
        .iter()
        .flat_map(|s| strings(&s["Action"]))
        .collect();
    report.eq("IAM actions the deploy used", &used, &granted);

    let bucket = Expected::bucket_arn(&expected.artifacts_bucket);
    let function = |name: &str| format!("arn:aws:lambda:{REGION}:{account}:function:{name}");
    let notes_table = format!(
        "arn:aws:dynamodb:{REGION}:{account}:table/{}",
        expected.notes_table
    );
    let forbidden = [
        (
            "s3:PutObject",
            format!("{bucket}/{}", deploy::PUBLISHED_KEY),
        ),
        ("s3:DeleteObject", format!("{bucket}/health/bootstrap.zip")),
        ("s3:GetObject", format!("{bucket}/deploy/other.json")),
        ("s3:GetObject", format!("{bucket}/terraform.tfstate")),
        ("dynamodb:GetItem", notes_table.clone()),
        ("dynamodb:Query", notes_table.clone()),
        ("dynamodb:DeleteItem", notes_table.clone()),
        ("lambda:UpdateFunctionCode", function("someone-else")),
        ("lambda:DeleteFunction", function(health)),
        ("lambda:UpdateFunctionConfiguration", function(health)),
        ("iam:PassRole", format!("arn:aws:iam::{account}:role/any")),
        (
            "cognito-idp:DescribeUserPoolClient",
            format!(
                "arn:aws:cognito-idp:{REGION}:{account}:userpool/{}",
                expected.user_pool_id
            ),
        ),
    ];
    for (action, resource) in forbidden {
        report.eq(
            &format!("the deploy role may {action} on {resource}"),
            deploy_calls::allows(&policy, action, &resource),
            Ok(false),
        );
    }
}

/// moto server enforces IAM on S3 (against bucket and object ARNs) but only for every client at
/// once: `POST /moto-api/reset-auth` with `0` turns it on, with `inf` off again. With it on for a
/// handful of requests, an IAM user holding exactly the deploy role's policy document reads the
/// published stack; writing that object and reading another key of the artifacts bucket are
/// denied (the notes table is among the things the policy check refuses). Lambda cannot be checked this way: moto authorizes every Lambda
/// call against the resource `*`, which a policy scoped to function ARNs never matches
/// (`check_calls_against_policy` covers those calls).
async fn check_enforced_stack_read(
    report: &mut Report,
    aws: &Aws,
    expected: &Expected<'_>,
    outputs: &Outputs,
) {
    let Some(policy) = deploy_policy(report, aws, expected).await else {
        return;
    };
    let Some(location) = outputs
        .string("deploy_stack_url")
        .ok()
        .and_then(|u| u.parse::<deploy::S3Location>().ok())
    else {
        return report.fail("no usable deploy_stack_url output".to_owned());
    };
    let user = format!("{}-deploy-probe", expected.names.project_name);
    let what = |step: &str| format!("IAM user {user}: {step}");
    if call!(
        report,
        what("CreateUser"),
        aws.iam.create_user().user_name(&user)
    )
    .is_none()
    {
        return;
    }
    let created = call!(
        report,
        what("PutUserPolicy"),
        aws.iam
            .put_user_policy()
            .user_name(&user)
            .policy_name("deploy")
            .policy_document(policy.to_string())
    )
    .and(call!(
        report,
        what("CreateAccessKey"),
        aws.iam.create_access_key().user_name(&user)
    ));
    let key = created.and_then(|k| k.access_key);
    if let Some(key) = &key {
        let config = aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&aws.endpoint)
            .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
                Credentials::new(
                    key.access_key_id(),
                    key.secret_access_key(),
                    None,
                    None,
                    "deploy-probe",
                ),
            ))
            .build();
        match deploy::Clients::from_sdk_config(&config) {
            Ok(clients) => enforced_reads(report, aws, expected, &clients, &location).await,
            Err(e) => report.fail(format!("{}: {e}", what("clients"))),
        }
        call!(
            report,
            what("DeleteAccessKey"),
            aws.iam
                .delete_access_key()
                .user_name(&user)
                .access_key_id(key.access_key_id())
        );
    }
    call!(
        report,
        what("DeleteUserPolicy"),
        aws.iam
            .delete_user_policy()
            .user_name(&user)
            .policy_name("deploy")
    );
    call!(
        report,
        what("DeleteUser"),
        aws.iam.delete_user().user_name(&user)
    );
}

/// The reads and writes of [`check_enforced_stack_read`], with moto's IAM enforcement on only
/// while they run.
async fn enforced_reads(
    report: &mut Report,
    aws: &Aws,
    expected: &Expected<'_>,
    clients: &deploy::Clients,
    location: &deploy::S3Location,
) {
    let auth = match MotoAuth::enable(&aws.endpoint) {
        Ok(auth) => auth,
        Err(e) => return report.fail(e),
    };
    let read = deploy::load_published(clients, location).await;
    let s3 = clients.s3();
    let overwrite = s3
        .put_object()
        .bucket(&location.bucket)
        .key(&location.key)
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"{}"))
        .send()
        .await;
    let other_key = s3
        .get_object()
        .bucket(&location.bucket)
        .key("deploy/other.json")
        .send()
        .await;
    if let Err(e) = auth.disable() {
        report.fail(e);
    }
    match read {
        Ok(stack) => report.eq(
            "the published stack read under moto's IAM enforcement",
            stack.function_names,
            expected.function_names.clone(),
        ),
        Err(e) => report.fail(format!(
            "with only the deploy role's policy (enforced by moto), reading {location} failed: {e}"
        )),
    }
    let code = |r: Result<(), String>| r.err().unwrap_or_else(|| "allowed".to_owned());
    let sdk_code = |e: &dyn aws_sdk_s3::error::ProvideErrorMetadata| {
        e.code().unwrap_or("no error code").to_owned()
    };
    for (what, outcome) in [
        (
            format!("overwriting {location}"),
            code(overwrite.map(drop).map_err(|e| sdk_code(&e))),
        ),
        (
            format!("reading s3://{}/deploy/other.json", location.bucket),
            code(other_key.map(drop).map_err(|e| sdk_code(&e))),
        ),
    ] {
        report.eq(
            &format!("with only the deploy role's policy (enforced by moto), {what}"),
            outcome.as_str(),
            "AccessDenied",
        );
    }
}

/// moto server's global IAM enforcement switch (`/moto-api/reset-auth`), on while this lives.
struct MotoAuth {
    endpoint: String,
    previous: Option<String>,
}

impl MotoAuth {
    /// Turns enforcement on for every client of `endpoint`.
    fn enable(endpoint: &str) -> Result<Self, String> {
        let answer = reset_auth(endpoint, "0")?;
        let json = match (answer.find('{'), answer.rfind('}')) {
            (Some(start), Some(end)) if start < end => &answer[start..=end],
            _ => answer.as_str(),
        };
        let previous = serde_json::from_str::<Value>(json)
            .ok()
            .and_then(|v| {
                v["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]
                    .as_str()
                    .map(str::to_owned)
            })
            .ok_or_else(|| format!("moto's /moto-api/reset-auth answered {answer}"))?;
        Ok(Self {
            endpoint: endpoint.to_owned(),
            previous: Some(previous),
        })
    }

    /// Turns it back off (to what it was).
    fn disable(mut self) -> Result<(), String> {
        self.restore()
    }

    fn restore(&mut self) -> Result<(), String> {
        match self.previous.take() {
            Some(previous) => reset_auth(&self.endpoint, &previous).map(drop),
            None => Ok(()),
        }
    }
}

impl Drop for MotoAuth {
    fn drop(&mut self) {
        if let Err(e) = self.restore() {
            eprintln!("iac-tests: could not turn moto's IAM enforcement off again: {e}");
        }
    }
}

/// `POST <endpoint>/moto-api/reset-auth` with `count` (the number of requests moto lets through
/// before enforcing IAM; `inf` never enforces), over a plain blocking connection so that `Drop`
/// can use it. Returns the answer's body.
fn reset_auth(endpoint: &str, count: &str) -> Result<String, String> {
    use std::io::Write as _;
    let address = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(address)
        .map_err(|e| format!("connect to moto at {address}: {e}"))?;
    let request = format!(
        "POST /moto-api/reset-auth HTTP/1.1\r\nHost: {address}\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{count}",
        count.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("POST /moto-api/reset-auth: {e}"))?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| format!("POST /moto-api/reset-auth: {e}"))?;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(format!("POST /moto-api/reset-auth answered {head}"));
    }
    Ok(body.to_owned())
}
