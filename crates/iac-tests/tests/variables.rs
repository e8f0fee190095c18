//! The root module's input rules, as `terraform plan` enforces them on a copy of `IaC/` wired to
//! moto server (nothing is applied): the Cognito domain prefix and the callback and sign-out URLs
//! have no default; plain `http://` URLs are refused except for localhost and 127.0.0.1; group
//! names follow Cognito's CreateGroup rule, at the root (`routes`) and in `modules/cognito`.
//!
//! Needs what `apply.rs` needs (`MOTO_ENDPOINT`, `terraform`, the provider); run with
//! `cargo xtask test --no-lint -- -p iac-tests --test tests variables::`.

use std::path::Path;

use iac_tests::{RunNames, TerraformStack, Vars, package_dir, workspace_root};
use serde_json::{Value, json};

/// What the route group rule says when it refuses (IaC/variables.tf).
const ROUTE_GROUP_MESSAGE: &str = "Each route's groups must be Cognito group names: 1 to 128 letters, marks, symbols, digits or punctuation, with no whitespace and no control characters.";

/// What the cognito module's group rule says (IaC/modules/cognito/variables.tf).
const MODULE_GROUP_MESSAGE: &str = "Each Cognito group name must be 1 to 128 letters, marks, symbols, digits or punctuation: no whitespace and no control characters (CreateGroup's GroupName rule).";

/// The start of what the URL rules say (IaC/variables.tf), after `callback_urls: ` or
/// `logout_urls: `.
const URL_MESSAGE: &str = "plain http:// is allowed only for http://localhost and http://127.0.0.1 (any port and path); use https:// for every other host.";

fn endpoint() -> String {
    match iac_tests::moto_endpoint() {
        Ok(endpoint) => endpoint,
        Err(e) => panic!("{e}"),
    }
}

/// A fresh copy of `IaC/` (with `extra` files added), initialised.
fn stack(extra: &[(&str, &str)]) -> TerraformStack {
    let root = workspace_root();
    let mut stack = match TerraformStack::new(&root.join("IaC"), &endpoint()) {
        Ok(stack) => stack,
        Err(e) => panic!("preparing the Terraform stack failed: {e}"),
    };
    for (name, text) in extra {
        let path = stack.dir().join(name);
        if let Err(e) = std::fs::write(&path, text) {
            panic!("write {}: {e}", path.display());
        }
    }
    if let Err(e) = stack.init() {
        panic!("{e}");
    }
    stack
}

/// The output of a `terraform plan` that must fail, whitespace collapsed (Terraform wraps
/// messages at 78 columns).
fn failing_plan(stack: &mut TerraformStack, vars: &Vars, why: &str) -> String {
    match stack.plan(vars) {
        Ok(run) => panic!(
            "plan with {why} succeeded; it must be refused. Output:\n{}",
            run.output
        ),
        Err(e) => match e.output() {
            Some(output) => output.split_whitespace().collect::<Vec<_>>().join(" "),
            None => panic!("plan with {why} did not run: {e}"),
        },
    }
}

fn vars() -> Vars {
    let root = workspace_root();
    Vars::local_aws(&RunNames::unique(), &package_dir(&root))
}

/// `IaC/routes.auto.tfvars.json`'s routes with `health` requiring `groups`.
fn routes_with_groups(groups: &[&str]) -> Value {
    let path = workspace_root().join("IaC/routes.auto.tfvars.json");
    let text = std::fs::read_to_string(&path);
    let Ok(text) = text else {
        panic!("read {}: {text:?}", path.display())
    };
    let file: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let mut routes = file["routes"].clone();
    assert!(
        routes["health"].is_object(),
        "{} has no health route",
        path.display()
    );
    routes["health"]["groups"] = json!(groups);
    routes
}

#[test]
fn required_variables_have_no_default() {
    let mut stack = stack(&[]);
    let mut vars = Vars::new();
    for (name, value) in [
        ("package_dir", json!(package_dir(&workspace_root()))),
        ("region", json!(iac_tests::REGION)),
    ] {
        vars = vars.set(name, value);
    }
    let text = failing_plan(&mut stack, &vars, "no variables set");
    for name in ["cognito_domain_prefix", "callback_urls", "logout_urls"] {
        let message = format!(
            "The root module input variable \"{name}\" is not set, and has no default value."
        );
        assert!(text.contains(&message), "{name} must be required:\n{text}");
    }
}

#[test]
fn plain_http_urls_are_refused_except_for_loopback() {
    let mut stack = stack(&[]);
    for (variable, url) in [
        ("callback_urls", "http://example.com/callback"),
        ("logout_urls", "http://example.com/"),
        ("callback_urls", "HTTP://example.com/callback"),
        ("callback_urls", "http://localhost.example.com/callback"),
        ("logout_urls", "http://127.0.0.1.example.com/"),
    ] {
        let vars = vars().set(variable, json!([url]));
        let text = failing_plan(&mut stack, &vars, &format!("{variable} = [{url}]"));
        assert!(
            text.contains(&format!("{variable}: {URL_MESSAGE}")),
            "{variable} = [{url}] must be refused with the URL rule's message:\n{text}"
        );
    }
    // Accepted: https anywhere, http on loopback with any port and path. The plan is made to
    // fail elsewhere (a group name), so nothing but the validation runs; the URL rule stays
    // silent.
    let accepted = json!([
        "https://example.com/callback",
        "http://localhost:8080/a/b?c=d",
        "http://127.0.0.1/",
        "http://localhost",
    ]);
    let vars = vars()
        .set("callback_urls", accepted.clone())
        .set("logout_urls", accepted)
        .set("routes", routes_with_groups(&["a b"]));
    let text = failing_plan(&mut stack, &vars, "a group named \"a b\"");
    assert!(text.contains(ROUTE_GROUP_MESSAGE), "{text}");
    assert!(
        !text.contains(URL_MESSAGE),
        "https:// and loopback http:// URLs must be accepted:\n{text}"
    );
}

#[test]
fn route_groups_follow_cognitos_group_name_rule() {
    let mut stack = stack(&[]);
    let long = "g".repeat(129);
    for group in ["a b", "tab\there", "", long.as_str(), "zero\u{200b}width"] {
        let vars = vars().set("routes", routes_with_groups(&[group]));
        let text = failing_plan(&mut stack, &vars, &format!("a route group {group:?}"));
        assert!(
            text.contains(ROUTE_GROUP_MESSAGE),
            "a route group {group:?} must be refused with the group rule's message:\n{text}"
        );
    }
    // Accepted (the plan fails on a URL instead, and the group rule stays silent).
    let longest = "g".repeat(128);
    let vars = vars()
        .set(
            "routes",
            routes_with_groups(&["admin", "ünïcödé-grp", "a+b=c,d.e@f", longest.as_str()]),
        )
        .set("callback_urls", json!(["http://example.com/"]));
    let text = failing_plan(&mut stack, &vars, "an http:// callback URL");
    assert!(text.contains(URL_MESSAGE), "{text}");
    assert!(
        !text.contains(ROUTE_GROUP_MESSAGE),
        "valid group names must be accepted:\n{text}"
    );
}

#[test]
fn the_cognito_module_refuses_bad_group_names() {
    // A second instance of modules/cognito beside the root module's, given a bad group.
    let probe = r#"module "group_probe" {
  source        = "./modules/cognito"
  name          = "probe"
  domain_prefix = "probe-domain"
  callback_urls = ["https://example.com/callback"]
  logout_urls   = []
  groups        = ["admin", "a b"]
}
"#;
    let mut stack = stack(&[("zz_group_probe.tf", probe)]);
    let text = failing_plan(&mut stack, &vars(), "modules/cognito groups = [\"a b\"]");
    assert!(
        text.contains(MODULE_GROUP_MESSAGE),
        "modules/cognito must refuse the group \"a b\" with its message:\n{text}"
    );
    assert!(text.contains("in module \"group_probe\""), "{text}");
    // The root module's own (valid) groups pass the same rule.
    assert!(
        !text.contains("in module \"cognito\""),
        "the root module's groups must pass:\n{text}"
    );
}

#[test]
fn the_example_tfvars_sets_every_required_variable() {
    let path = workspace_root().join("IaC/terraform.tfvars.example");
    let text = std::fs::read_to_string(&path);
    let Ok(text) = text else {
        panic!("read {}: {text:?}", path.display())
    };
    for name in ["cognito_domain_prefix", "callback_urls", "logout_urls"] {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(&format!("{name} "))),
            "{} must set {name} (it has no default)",
            Path::new("IaC/terraform.tfvars.example").display()
        );
    }
}
