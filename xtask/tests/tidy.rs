//! Tidy checks on the whole repository, run with every `cargo test`: the committed route
//! tfvars match the function crates' metadata, and no test is disabled.

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
    let entries = std::fs::read_dir(dir);
    let Ok(entries) = entries else {
        panic!("cannot list {}: {entries:?}", dir.display());
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            if !skipped(&path) {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
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
    let routes = workspace::load_routes(&root);
    let Ok(routes) = routes else {
        panic!(
            "{}",
            routes.err().map(|e| e.to_string()).unwrap_or_default()
        );
    };
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
    let root = workspace::root();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(
        files.iter().any(|f| f.ends_with("xtask/tests/tidy.rs")),
        "the scan missed this very file: is the root right? {}",
        root.display()
    );
    let mut found = Vec::new();
    for file in &files {
        let Ok(source) = std::fs::read_to_string(file) else {
            continue;
        };
        let shown = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .display()
            .to_string();
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
    let metadata = workspace::cargo_metadata(&root).map_err(|e| e.to_string());
    let metadata: serde_json::Value = match metadata.and_then(|m| {
        serde_json::from_str(&m).map_err(|e| format!("cargo metadata is not JSON: {e}"))
    }) {
        Ok(metadata) => metadata,
        Err(e) => panic!("cannot read the workspace metadata: {e}"),
    };
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
