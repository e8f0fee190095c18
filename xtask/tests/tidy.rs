//! Tidy checks on the whole repository, run with every `cargo test`: the committed route
//! tfvars match the function crates' metadata, no test is disabled, function crates list only
//! the dependencies they use, the dependency rules of `docs/architecture.md` hold, every Rust
//! file opens with a `//!` line, no comment points at an issue number, each crate links one
//! integration-test binary, and no `IaC/*.tf` names a function.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use function_table::TFVARS_PATH;
use xtask::workspace::{self, TfvarsStatus};

/// Attributes that silently disable or weaken a test. Spelled with `concat!` so that this file
/// does not match itself.
const FORBIDDEN: [&str; 2] = [concat!("#[", "ignore"), concat!("#[", "should_panic")];

/// Directories never scanned: build output, tool installs, VCS data, anything hidden, and
/// `patches/` (third-party crates as published, with a change each; their own unit tests are
/// never built here, see `patches/lambda_runtime/README.md`).
fn skipped(dir: &Path) -> bool {
    dir.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
        n.starts_with('.') || n == "target" || n == "node_modules" || n == "patches"
    })
}

/// Every `.rs` file under `dir`, recursively, in a stable order.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    files_with_extension(dir, "rs", out);
}

/// Every file named `*.{extension}` under `dir`, recursively (outside [`skipped`] directories),
/// in a stable order.
fn files_with_extension(dir: &Path, extension: &str, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir);
    let Ok(entries) = entries else {
        panic!("cannot list {}: {entries:?}", dir.display());
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            if !skipped(&path) {
                files_with_extension(&path, extension, out);
            }
        } else if path.extension().is_some_and(|e| e == extension) {
            out.push(path);
        }
    }
}

/// Every `.rs` file of the repository (outside [`skipped`] directories) as (path relative to the
/// root, text), in a stable order; fails when the scan misses this very file.
fn repository_sources() -> Vec<(String, String)> {
    let root = workspace::root();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(
        files.iter().any(|f| f.ends_with("xtask/tests/tidy.rs")),
        "the scan missed this very file: is the root right? {}",
        root.display()
    );
    files
        .iter()
        .map(|file| {
            let shown = file
                .strip_prefix(&root)
                .unwrap_or(file)
                .display()
                .to_string();
            match std::fs::read_to_string(file) {
                Ok(source) => (shown, source),
                Err(e) => panic!("cannot read {shown}: {e}"),
            }
        })
        .collect()
}

/// The workspace's function table, from the function crates' `[package.metadata.function]`.
fn function_table(root: &Path) -> function_table::FunctionTable {
    match workspace::load_routes(root) {
        Ok(table) => table,
        Err(e) => panic!("cannot read the function table: {e}"),
    }
}

/// The workspace's `cargo metadata --no-deps`, parsed.
fn workspace_metadata(root: &Path) -> serde_json::Value {
    let metadata = workspace::cargo_metadata(root).map_err(|e| e.to_string());
    match metadata.and_then(|m| {
        serde_json::from_str(&m).map_err(|e| format!("cargo metadata is not JSON: {e}"))
    }) {
        Ok(metadata) => metadata,
        Err(e) => panic!("cannot read the workspace metadata: {e}"),
    }
}

/// The `line: text` of every line of `source` holding a forbidden attribute.
fn forbidden_lines(source: &str) -> Vec<String> {
    source
        .lines()
        .enumerate()
        .filter(|(_, line)| FORBIDDEN.iter().any(|f| line.contains(f)))
        .map(|(i, line)| format!("{}: {}", i + 1, line.trim()))
        .collect()
}

#[test]
fn routes_tfvars_is_up_to_date() {
    let root = workspace::root();
    let routes = function_table(&root);
    let expected = routes.render_tfvars();
    let Ok(expected) = expected else {
        panic!("cannot render the tfvars: {expected:?}");
    };
    let status = workspace::tfvars_status(&root, &expected).map_err(|e| e.to_string());
    assert_eq!(
        status,
        Ok(TfvarsStatus::UpToDate),
        "{TFVARS_PATH} does not match the function crates' [package.metadata.function]: \
         run `cargo xtask routes --write`"
    );
}

#[test]
fn no_test_is_disabled() {
    let mut found = Vec::new();
    for (shown, source) in repository_sources() {
        found.extend(
            forbidden_lines(&source)
                .into_iter()
                .map(|l| format!("{shown}:{l}")),
        );
    }
    assert!(
        found.is_empty(),
        "tests must not be disabled or expect panics ({} or {}); make them pass, \
         or assert on the error instead:\n{}",
        FORBIDDEN[0],
        FORBIDDEN[1],
        found.join("\n")
    );
}

#[test]
fn forbidden_attributes_are_found() {
    let ignore = concat!("#[", "ignore]");
    let ignore_reason = concat!("#[", "ignore = \"slow\"]");
    let should_panic = concat!("#[", "should_panic(expected = \"boom\")]");
    for (source, want) in [
        ("#[test]\nfn a() {}\n".to_owned(), vec![]),
        (
            format!("#[test]\n{ignore}\nfn a() {{}}\n"),
            vec![format!("2: {ignore}")],
        ),
        (
            format!("  {ignore_reason}\n"),
            vec![format!("1: {ignore_reason}")],
        ),
        (
            format!("#[test]\n    {should_panic}\nfn a() {{}}\n"),
            vec![format!("2: {should_panic}")],
        ),
    ] {
        assert_eq!(forbidden_lines(&source), want, "for {source:?}");
    }
    assert!(skipped(Path::new("/r/target")));
    assert!(skipped(Path::new("/r/.tools")));
    assert!(!skipped(Path::new("/r/crates")));
}

/// Whether `source` names the crate `ident` the way Rust code uses a dependency: `ident::`
/// (paths and `#[ident::…]` attributes), `use ident`, or `ident!`. Whole-line comments do not
/// count, and `ident` must start an identifier (`other_ident::` and `crate::ident::` are not it).
fn names_crate(source: &str, ident: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .any(|line| {
            line.match_indices(ident).any(|(at, _)| {
                let before = line[..at].chars().next_back();
                let after = &line[at + ident.len()..];
                let starts = before.is_none_or(|c| !is_ident(c) && c != ':');
                let used = after.starts_with("::")
                    || after.starts_with('!')
                    || (line[..at]
                        .trim_end()
                        .strip_suffix("use")
                        .is_some_and(|head| head.chars().next_back().is_none_or(|c| !is_ident(c)))
                        && after.chars().next().is_none_or(|c| !is_ident(c)));
                starts && used
            })
        })
}

#[test]
fn function_crates_use_every_dependency() {
    for (source, ident, want) in [
        ("use notes::{Note, Owner};", "notes", true),
        ("    let id = notes::NoteId::new();", "notes", true),
        ("#[tokio::test]", "tokio", true),
        ("    let v = serde_json::json!({});", "serde_json", true),
        ("    json!({}); use serde_json;", "serde_json", true),
        ("notes_http::notes_main!(handler);", "notes_http", true),
        ("notes_http::notes_main!(handler);", "notes", false),
        ("use crate::notes::Note;", "notes", false),
        ("//! See [`notes::Note`].", "notes", false),
        ("let notes = service.count_all();", "notes", false),
        ("use notesy::Note;", "notes", false),
        ("let reuse notes;", "notes", false),
    ] {
        assert_eq!(names_crate(source, ident), want, "{ident} in {source:?}");
    }

    let root = workspace::root();
    let metadata = workspace_metadata(&root);
    let functions = root.join("crates").join("functions");
    let mut checked = Vec::new();
    let mut unused = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let Some(dir) = package["manifest_path"]
            .as_str()
            .and_then(|m| Path::new(m).parent())
        else {
            continue;
        };
        if dir.parent() != Some(functions.as_path()) {
            continue;
        }
        let crate_name = package["name"].as_str().unwrap_or_default();
        checked.push(crate_name.to_owned());
        let mut files = Vec::new();
        for sub in ["src", "tests"] {
            if dir.join(sub).is_dir() {
                rust_files(&dir.join(sub), &mut files);
            }
        }
        let sources: Vec<String> = files
            .iter()
            .filter_map(|file| std::fs::read_to_string(file).ok())
            .collect();
        for dependency in package["dependencies"].as_array().into_iter().flatten() {
            let section = match dependency["kind"].as_str() {
                None => "[dependencies]",
                Some("dev") => "[dev-dependencies]",
                Some(_) => continue,
            };
            let name = dependency["rename"]
                .as_str()
                .or_else(|| dependency["name"].as_str())
                .unwrap_or_default();
            let ident = name.replace('-', "_");
            if !sources.iter().any(|source| names_crate(source, &ident)) {
                unused.push(format!(
                    "crates/functions/{}: `{name}` in {section} is not used in src/ or tests/ \
                     (no `{ident}::`, `use {ident}`, `{ident}!` or `#[{ident}::`)",
                    dir.file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or(crate_name)
                ));
            }
        }
    }
    assert!(
        checked.iter().any(|name| name == "health"),
        "no function crate found under {}: {checked:?}",
        functions.display()
    );
    assert!(
        unused.is_empty(),
        "function crates must list only the dependencies they use; remove these from their \
         Cargo.toml:\n{}",
        unused.join("\n")
    );
}

/// The packages `package` links, itself included: its normal dependencies, transitively, with
/// the features a build of that package alone selects (`cargo tree -p PACKAGE -e normal`, the
/// command `docs/architecture.md` names).
fn linked_packages(root: &Path, package: &str) -> BTreeSet<String> {
    let tree = xtask::cmd::Cmd::new(workspace::cargo())
        .args([
            "tree", "--quiet", "-e", "normal", "--prefix", "none", "-f", "{p}", "-p",
        ])
        .arg(package)
        .dir(root)
        .read();
    match tree {
        Ok(tree) => parse_tree(&tree),
        Err(e) => panic!("cannot list what {package} links: {e}"),
    }
}

/// The package names in `cargo tree --prefix none -f {p}` output (`name vX.Y.Z (path) (*)`).
fn parse_tree(tree: &str) -> BTreeSet<String> {
    tree.lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// One rule of `docs/architecture.md`: `package` links nothing `forbidden` accepts.
struct Rule {
    package: String,
    why: &'static str,
    forbidden: fn(&str) -> bool,
}

/// The AWS SDK: its service crates and `aws-config`.
fn aws_sdk(name: &str) -> bool {
    name.starts_with("aws-sdk-") || name == "aws-config"
}

/// The domain crates: the notes model and its HTTP glue.
fn domain(name: &str) -> bool {
    name == "notes" || name == "notes-http"
}

/// What a crate that touches no notes links none of: the AWS SDK and the domain crates.
fn aws_sdk_or_domain(name: &str) -> bool {
    aws_sdk(name) || domain(name)
}

/// A violation line for every linked package `rule` forbids, sorted.
fn broken(rule: &Rule, linked: &BTreeSet<String>) -> Vec<String> {
    linked
        .iter()
        .filter(|name| (rule.forbidden)(name))
        .map(|name| format!("{} links {name}: {}", rule.package, rule.why))
        .collect()
}

#[test]
fn tree_parsing_and_rules_find_violations() {
    let tree = "health v0.1.0 (/w/crates/functions/health)\nhttp-api v0.1.0 (/w/crates/http-api)\n\
                aws-sdk-dynamodb v1.0.0\nnotes v0.1.0 (/w/crates/notes) (*)\n\ntokio v1.48.0\n";
    let linked = parse_tree(tree);
    assert_eq!(
        linked.iter().map(String::as_str).collect::<Vec<_>>(),
        ["aws-sdk-dynamodb", "health", "http-api", "notes", "tokio"]
    );
    let rule = Rule {
        package: "health".into(),
        why: "it touches no notes",
        forbidden: aws_sdk_or_domain,
    };
    assert_eq!(
        broken(&rule, &linked),
        [
            "health links aws-sdk-dynamodb: it touches no notes",
            "health links notes: it touches no notes"
        ]
    );
    assert!(aws_sdk("aws-config") && !aws_sdk("aws-lc-rs") && !aws_sdk("aws-smithy-types"));
    assert!(domain("notes-http") && !domain("notes-api"));
}

#[test]
fn dependency_rules_of_the_architecture_hold() {
    let root = workspace::root();
    let table = function_table(&root);
    let metadata = workspace_metadata(&root);
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let members: BTreeSet<String> = packages
        .iter()
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect();
    // The shared test fixtures are a dev-dependency only: nothing that ships links them.
    let mut found: Vec<String> = packages
        .iter()
        .flat_map(|package| {
            let name = package["name"].as_str().unwrap_or_default().to_owned();
            package["dependencies"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|d| d["name"] == "test-support" && d["kind"] != "dev")
                .map(move |_| format!("{name} has test-support outside [dev-dependencies]"))
        })
        .collect();
    let is_member = |name: &str| members.contains(name);

    let mut rules = Vec::new();
    let mut with_table = Vec::new();
    for function in table.functions() {
        if function.dynamodb.is_empty() {
            rules.push(Rule {
                package: function.name.clone(),
                why: "a function links the AWS SDK or the notes crates only if its \
                      [package.metadata.function] grants it access to the notes table",
                forbidden: aws_sdk_or_domain,
            });
        } else {
            with_table.push(function.name.clone());
        }
    }
    for (package, why, forbidden) in [
        (
            "xtask",
            "xtask links no AWS SDK and no async runtime (crates/deploy's xtask-aws talks to AWS)",
            (|n| aws_sdk(n) || n == "tokio") as fn(&str) -> bool,
        ),
        (
            "local-aws",
            "the local stack runs the function binaries and links no domain crate",
            domain,
        ),
        (
            "http-api",
            "the generic HTTP layer links neither the notes crates nor the AWS SDK",
            aws_sdk_or_domain,
        ),
    ] {
        rules.push(Rule {
            package: package.into(),
            why,
            forbidden,
        });
    }
    assert!(
        rules.iter().any(|r| r.package == "health") && !with_table.is_empty(),
        "the function table should hold health (no table access) and at least one function \
         with access to the notes table: {:?}",
        table.names().collect::<Vec<_>>()
    );

    for rule in &rules {
        found.extend(broken(rule, &linked_packages(&root, &rule.package)));
    }
    // function-table is the data model every other crate reads: it links no workspace crate.
    let model = linked_packages(&root, "function-table");
    found.extend(
        model
            .iter()
            .filter(|name| *name != "function-table" && is_member(name))
            .map(|name| format!("function-table links the workspace crate {name}")),
    );
    // The check sees the SDK where it is: a function with table access links aws-sdk-dynamodb.
    let table_user = linked_packages(&root, &with_table[0]);
    assert!(
        table_user.contains("aws-sdk-dynamodb"),
        "{} has access to the notes table but `cargo tree` shows no aws-sdk-dynamodb; is the \
         tree read right? {table_user:?}",
        with_table[0]
    );
    assert!(
        found.is_empty(),
        "docs/architecture.md's dependency rules are broken:\n{}",
        found.join("\n")
    );
}

/// Whether `source` opens with a `//!` line (the module's documentation).
fn opens_with_module_doc(source: &str) -> bool {
    source.starts_with("//!")
}

/// The tracker's word for an entry, spelled with `concat!` so that this file does not match
/// itself.
const ISSUE: &str = concat!("iss", "ue");

/// The `line: text` of every comment line of `source` that names a tracker entry by number
/// ([`ISSUE`], then optional spaces or `#`, then a digit): a reader of the code cannot see the
/// tracker, so a comment states the fact itself.
fn issue_references(source: &str) -> Vec<String> {
    let lower = source.to_lowercase();
    lower
        .lines()
        .enumerate()
        .filter(|(_, line)| {
            let Some(at) = line.find("//") else {
                return false;
            };
            let comment = &line[at..];
            comment.match_indices(ISSUE).any(|(i, word)| {
                let rest = comment[i + word.len()..].trim_start_matches([' ', '#']);
                rest.len() < comment.len() - i - word.len()
                    && rest.starts_with(|c: char| c.is_ascii_digit())
            })
        })
        .map(|(i, _)| format!("{}: {}", i + 1, source.lines().nth(i).unwrap_or("").trim()))
        .collect()
}

#[test]
fn every_rust_file_opens_with_a_doc_line_and_names_no_issue() {
    assert!(opens_with_module_doc("//! What this is.\n\nuse x;\n"));
    assert!(!opens_with_module_doc("use x;\n//! late\n"));
    assert!(!opens_with_module_doc("// plain comment\n"));
    assert!(!opens_with_module_doc(""));
    let capital = format!("I{}", &ISSUE[1..]);
    assert_eq!(
        issue_references(&format!(
            "//! Aims ({ISSUE} #8).\n// see {capital} 12\nlet {ISSUE} = 3;\n// {ISSUE}s\n"
        )),
        [
            format!("1: //! Aims ({ISSUE} #8)."),
            format!("2: // see {capital} 12")
        ]
    );
    assert!(
        issue_references(&format!(
            "// an {ISSUE}r\n// the {ISSUE} is #\n// {ISSUE}, 3\n"
        ))
        .is_empty()
    );

    let sources = repository_sources();
    assert!(
        sources.len() > 20,
        "the scan found too few files: {:?}",
        sources.iter().map(|(shown, _)| shown).collect::<Vec<_>>()
    );
    let mut undocumented = Vec::new();
    let mut references = Vec::new();
    for (shown, source) in &sources {
        if !opens_with_module_doc(source) {
            undocumented.push(shown.clone());
        }
        references.extend(
            issue_references(source)
                .into_iter()
                .map(|l| format!("{shown}:{l}")),
        );
    }
    assert!(
        undocumented.is_empty(),
        "every .rs file opens with a `//!` line saying what it is for; these do not:\n{}",
        undocumented.join("\n")
    );
    assert!(
        references.is_empty(),
        "comments name issues by number; state the fact itself instead:\n{}",
        references.join("\n")
    );
}

/// The names of the `[[test]]` targets `manifest` declares with `harness = false`.
fn harnessless_tests(manifest: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for section in manifest.split("[[test]]").skip(1) {
        let body = section.split("\n[").next().unwrap_or_default();
        let field = |key: &str| {
            body.lines()
                .filter_map(|line| line.split_once('='))
                .find(|(k, _)| k.trim() == key)
                .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        };
        if field("harness").as_deref() == Some("false")
            && let Some(name) = field("name")
        {
            names.insert(name);
        }
    }
    names
}

#[test]
fn each_crate_links_one_integration_test_binary() {
    let manifest = "[package]\nname = \"x\"\n\n[[test]]\nname = \"tests\"\npath = \"tests/tests.rs\"\n\n\
                    [[test]]\nname = \"own\"\nharness = false\n\n[dependencies]\nharness = 1\n";
    assert_eq!(
        harnessless_tests(manifest).into_iter().collect::<Vec<_>>(),
        ["own"]
    );

    let root = workspace::root();
    let metadata = workspace_metadata(&root);
    let mut seen = 0;
    let mut extra = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let name = package["name"].as_str().unwrap_or_default();
        let manifest_path = package["manifest_path"].as_str().unwrap_or_default();
        let manifest = match std::fs::read_to_string(manifest_path) {
            Ok(manifest) => manifest,
            Err(e) => panic!("cannot read {manifest_path}: {e}"),
        };
        let own_process = harnessless_tests(&manifest);
        let tests: Vec<&str> = package["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| {
                t["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "test"))
            })
            .filter_map(|t| t["name"].as_str())
            .filter(|t| !own_process.contains(*t))
            .collect();
        seen += tests.len();
        if tests.len() > 1 {
            extra.push(format!("{name}: {}", tests.join(", ")));
        }
    }
    assert!(
        seen > 3,
        "too few test targets found: is the metadata read right?"
    );
    assert!(
        extra.is_empty(),
        "a crate's integration tests are one binary (`autotests = false`, tests/tests.rs with a \
         module a file, see docs/architecture.md); these crates build several:\n{}",
        extra.join("\n")
    );
}

/// Whether `text` holds `word` with no name character (`[A-Za-z0-9_-]`) on either side.
fn holds_word(text: &str, word: &str) -> bool {
    let name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    text.match_indices(word).any(|(at, _)| {
        text[..at].chars().next_back().is_none_or(|c| !name(c))
            && text[at + word.len()..]
                .chars()
                .next()
                .is_none_or(|c| !name(c))
    })
}

#[test]
fn the_terraform_names_no_function() {
    assert!(holds_word("x = \"health\"", "health"));
    assert!(holds_word("health", "health"));
    assert!(!holds_word("a health-check", "health"));
    assert!(!holds_word("name = var.me_too", "me"));
    assert!(!holds_word("some", "me"));

    let root = workspace::root();
    let table = function_table(&root);
    let mut files = Vec::new();
    files_with_extension(&root.join("IaC"), "tf", &mut files);
    assert!(
        files.iter().any(|f| f.ends_with("IaC/main.tf")),
        "the scan missed IaC/main.tf: {files:?}"
    );
    let mut found = Vec::new();
    for file in &files {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => panic!("cannot read {}: {e}", file.display()),
        };
        let shown = file.strip_prefix(&root).unwrap_or(file).display();
        for (n, line) in text.lines().enumerate() {
            for name in table.names() {
                if holds_word(line, name) {
                    found.push(format!("{shown}:{}: `{name}` in {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "IaC/*.tf names functions; a function is stated once, in its crate's Cargo.toml, and \
         reaches Terraform through {}:\n{}",
        TFVARS_PATH,
        found.join("\n")
    );
}

/// Whether `source` writes a payload 2.0 event's `rawQueryString` (as a `json!` key or a map
/// insert), the mark of an event builder; reading `event["rawQueryString"]` is no mark.
fn builds_payload_events(source: &str) -> bool {
    source.contains("\"rawQueryString\":") || source.contains("\"rawQueryString\".into()")
}

#[test]
fn one_payload_event_builder_serves_the_gateway_and_the_tests() {
    assert!(builds_payload_events("json!({\"rawQueryString\": q})"));
    assert!(builds_payload_events(
        "event.insert(\"rawQueryString\".into(), q.into());"
    ));
    assert!(!builds_payload_events(
        "assert_eq!(event[\"rawQueryString\"], \"a=1\");"
    ));

    let builders: Vec<String> = repository_sources()
        .into_iter()
        .filter(|(_, source)| builds_payload_events(source))
        .map(|(shown, _)| shown)
        .collect();
    assert_eq!(
        builders,
        ["crates/http-api/src/event.rs"],
        "an API Gateway payload 2.0 event is built in one place, `http_api::event::build` \
         (the local gateway, the bench and `http_api::testing::Event` call it)"
    );
}
