//! The GitHub Actions workflows: they parse, the package matrix is exactly the workspace's
//! functions (fed by `cargo xtask routes --json`), every `cargo xtask` subcommand they call
//! exists, and every third-party action is pinned by commit SHA with its version in a comment.
//! (zizmor, the workflow linter, runs as one of `cargo xtask test`'s lints.)

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

fn workflows() -> Vec<(String, String)> {
    let dir = xtask::workspace::root().join(".github/workflows");
    let entries = std::fs::read_dir(&dir);
    let Ok(entries) = entries else {
        panic!("cannot list {}: {entries:?}", dir.display());
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 2,
        "expected ci.yml and deploy.yml in {}",
        dir.display()
    );
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path);
            let Ok(text) = text else {
                panic!("read {}: {text:?}", path.display());
            };
            (path.display().to_string(), text)
        })
        .collect()
}

fn parse(name: &str, text: &str) -> Yaml {
    match YamlLoader::load_from_str(text) {
        Ok(mut docs) if docs.len() == 1 => docs.remove(0),
        Ok(docs) => panic!("{name}: {} YAML documents, expected one", docs.len()),
        Err(e) => panic!("{name} is not valid YAML: {e}"),
    }
}

/// Every `run:` script of every step of every job.
fn run_scripts(doc: &Yaml) -> Vec<String> {
    let mut scripts = Vec::new();
    if let Some(jobs) = doc["jobs"].as_hash() {
        for job in jobs.values() {
            for step in job["steps"].as_vec().into_iter().flatten() {
                if let Some(run) = step["run"].as_str() {
                    scripts.push(run.to_owned());
                }
            }
        }
    }
    scripts
}

#[test]
fn workflows_parse_and_have_the_expected_shape() {
    for (name, text) in workflows() {
        let doc = parse(&name, &text);
        assert!(doc["name"].as_str().is_some(), "{name}: no name");
        assert!(!doc["on"].is_badvalue(), "{name}: no triggers");
        assert_eq!(
            doc["permissions"]["contents"].as_str(),
            Some("read"),
            "{name}: top-level permissions must be contents: read"
        );
        let Some(jobs) = doc["jobs"].as_hash() else {
            panic!("{name}: no jobs");
        };
        for (job_name, job) in jobs {
            let job_name = job_name.as_str().unwrap_or("?");
            let writes_id_token = job["permissions"]["id-token"].as_str() == Some("write");
            if writes_id_token {
                assert_eq!(
                    job_name, "deploy",
                    "{name}: only the deploy job may mint OIDC tokens"
                );
            }
        }
    }
}

#[test]
fn every_action_is_pinned_by_commit_with_its_version() {
    for (name, text) in workflows() {
        for (i, line) in text.lines().enumerate() {
            let Some(uses) = line
                .trim()
                .strip_prefix("- uses:")
                .or_else(|| line.trim().strip_prefix("uses:"))
            else {
                continue;
            };
            let uses = uses.trim();
            if uses.starts_with("./") {
                continue;
            }
            let (action, rest) = uses.split_once('@').unwrap_or((uses, ""));
            let (sha, comment) = rest.split_once('#').unwrap_or((rest, ""));
            let sha = sha.trim();
            assert!(
                sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()),
                "{name}:{}: {action} is not pinned by a 40-hex commit SHA",
                i + 1
            );
            assert!(
                !comment.trim().is_empty(),
                "{name}:{}: {action}@{sha} needs `# <version>`",
                i + 1
            );
        }
    }
}

#[test]
fn the_package_matrix_is_the_workspaces_functions() {
    let ci = workflows()
        .into_iter()
        .find(|(name, _)| name.ends_with("ci.yml"));
    let Some((name, text)) = ci else {
        panic!("no ci.yml");
    };
    let doc = parse(&name, &text);
    let matrix = doc["jobs"]["package"]["strategy"]["matrix"]["function"].as_str();
    assert_eq!(
        matrix,
        Some("${{ fromJSON(needs.routes.outputs.functions) }}"),
        "{name}: the package matrix must come from the routes job"
    );
    let routes_script = run_scripts(&doc)
        .into_iter()
        .find(|s| s.contains("functions="))
        .unwrap_or_default();
    assert!(
        routes_script.contains("cargo xtask routes --json | jq -c '[.[].function]'"),
        "{name}: the routes job must list the functions with `cargo xtask routes --json`: {routes_script}"
    );
    // What that jq program makes of `cargo xtask routes --json` is the set of function crates.
    let root = xtask::workspace::root();
    let routes = match xtask::workspace::load_routes(&root) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    let json = match routes.render_json() {
        Ok(j) => j,
        Err(e) => panic!("{e}"),
    };
    let listed: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap_or_default();
    let from_json: BTreeSet<String> = listed
        .iter()
        .filter_map(|r| r["function"].as_str().map(str::to_owned))
        .collect();
    let dirs = std::fs::read_dir(root.join("crates/functions"));
    let Ok(dirs) = dirs else {
        panic!("cannot list crates/functions");
    };
    let crates: BTreeSet<String> = dirs
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        from_json, crates,
        "the matrix must build exactly the function crates"
    );
}

#[test]
fn every_cargo_xtask_subcommand_the_workflows_call_exists() {
    let mut called = BTreeSet::new();
    for (name, text) in workflows() {
        for script in run_scripts(&parse(&name, &text)) {
            for rest in script.split("cargo xtask ").skip(1) {
                if let Some(sub) = rest.split_whitespace().next() {
                    called.insert(sub.to_owned());
                }
            }
        }
    }
    for expected in ["routes", "package", "deploy", "rollback"] {
        assert!(
            called.contains(expected),
            "the workflows should call `cargo xtask {expected}`: {called:?}"
        );
    }
    for sub in &called {
        let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["help", sub])
            .output();
        let Ok(output) = output else {
            panic!("run xtask: {output:?}");
        };
        assert!(
            output.status.success(),
            "the workflows call `cargo xtask {sub}`, which does not exist: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// No job that holds AWS credentials, and nothing in deploy.yml, runs or installs Terraform:
/// `terraform output` needs the whole state, which holds the Cognito client secret, and the
/// deploy role may not read it. Deploy and rollback read the stack Terraform publishes in the
/// artifacts bucket instead (`--stack`, from the repository variable AWS_DEPLOY_STACK).
#[test]
fn no_deploying_job_runs_terraform() {
    let mut deploy_jobs = 0;
    for (name, text) in workflows() {
        let doc = parse(&name, &text);
        let Some(jobs) = doc["jobs"].as_hash() else {
            panic!("{name}: no jobs");
        };
        for (job_name, job) in jobs {
            let job_name = job_name.as_str().unwrap_or("?");
            let steps: Vec<&Yaml> = job["steps"].as_vec().into_iter().flatten().collect();
            let uses = |step: &Yaml| step["uses"].as_str().unwrap_or_default().to_owned();
            let has_credentials = job["permissions"]["id-token"].as_str() == Some("write")
                || steps
                    .iter()
                    .any(|s| uses(s).contains("configure-aws-credentials"));
            if !has_credentials && !name.ends_with("deploy.yml") {
                continue;
            }
            for step in &steps {
                assert!(
                    !uses(step).contains("setup-terraform"),
                    "{name}: job {job_name} installs Terraform ({}): the deploy must not need it",
                    uses(step)
                );
                let run = step["run"].as_str().unwrap_or_default();
                assert!(
                    !run.contains("terraform"),
                    "{name}: job {job_name} runs terraform, which reads the state (and the \
                     client secret in it):\n{run}"
                );
            }
            if has_credentials {
                deploy_jobs += 1;
                let scripts: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
                for command in ["cargo xtask deploy ", "cargo xtask rollback "] {
                    let calls: Vec<&str> = scripts
                        .iter()
                        .flat_map(|s| s.lines())
                        .filter(|l| l.contains(command))
                        .collect();
                    assert!(
                        !calls.is_empty() && calls.iter().all(|l| l.contains("--stack ")),
                        "{name}: job {job_name} must call `{command}--stack …` (the published \
                         stack): {calls:?}"
                    );
                }
            }
        }
    }
    assert!(
        deploy_jobs >= 1,
        "no job holds AWS credentials: where is the deploy job?"
    );
}

/// Every flag the GitHub workflows pass to `cargo xtask deploy` exists: `cargo xtask deploy
/// --help` lists them (its own, such as `--no-build`, and those it passes on to xtask-aws).
/// `rollback` is forwarded unchanged; crates/deploy/tests/engine.rs checks its flags.
#[test]
fn the_workflows_call_deploy_with_flags_that_exist() {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["deploy", "--help"])
        .output();
    let Ok(output) = output else {
        panic!("run xtask: {output:?}");
    };
    let help = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let mut checked = 0;
    for (name, text) in workflows() {
        for line in text.lines().filter(|l| l.contains("cargo xtask deploy ")) {
            let (_, args) = line.split_once("cargo xtask deploy ").unwrap_or_default();
            for flag in args.split_whitespace().filter(|a| a.starts_with("--")) {
                assert!(
                    help.contains(flag),
                    "{name} calls `cargo xtask deploy {flag}`, which `deploy --help` does not list"
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 2,
        "expected the deploy workflow to pass flags to deploy"
    );
}
