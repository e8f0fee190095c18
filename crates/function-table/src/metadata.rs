//! Reading the function table out of `cargo metadata`: each function crate's
//! `[package.metadata.function]`, validated with every problem in every crate reported at once.
//!
//! The same validation reads the generated `IaC/routes.auto.tfvars.json` back
//! ([`crate::tfvars`]), so a hand-edited file is held to the rules a `Cargo.toml` is.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::RangeInclusive;
use std::path::Path;

use serde_json::{Map, Value};

use crate::route::{Auth, Method, Route, parse_route_key, path_shape};
use crate::{
    DynamoAccess, FUNCTIONS_DIR, Function, FunctionTable, KEYS, MEMORY_MB, TIMEOUT_S, TableError,
    Trigger,
};

/// One thing wrong with one function's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The package the problem is in.
    pub package: String,
    /// The key of `[package.metadata.function]` at fault (with an index for array items), if any.
    pub field: Option<String>,
    /// What is wrong and, where possible, how to fix it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(
                f,
                "crate `{}`: [package.metadata.function].{field}: {}",
                self.package, self.message
            ),
            None => write!(f, "crate `{}`: {}", self.package, self.message),
        }
    }
}

impl FunctionTable {
    /// Reads and validates every workspace package's `[package.metadata.function]` from the
    /// JSON printed by `cargo metadata --format-version 1 --no-deps`.
    ///
    /// Every problem in every crate is reported at once in [`TableError::Invalid`].
    ///
    /// # Errors
    /// [`TableError::Metadata`] when the text is not cargo's output, else
    /// [`TableError::Invalid`].
    pub fn from_cargo_metadata(metadata_json: &str) -> Result<Self, TableError> {
        let metadata: Value = serde_json::from_str(metadata_json)
            .map_err(|e| TableError::Metadata(format!("not JSON: {e}")))?;
        let root = metadata
            .get("workspace_root")
            .and_then(Value::as_str)
            .ok_or_else(|| TableError::Metadata("no `workspace_root` string".to_owned()))?;
        let members: BTreeSet<&str> = metadata
            .get("workspace_members")
            .and_then(Value::as_array)
            .ok_or_else(|| TableError::Metadata("no `workspace_members` array".to_owned()))?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let packages = metadata
            .get("packages")
            .and_then(Value::as_array)
            .ok_or_else(|| TableError::Metadata("no `packages` array".to_owned()))?;

        let mut found = Vec::new();
        for package in packages {
            let id = package
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !members.contains(id) {
                continue;
            }
            let (Some(name), Some(manifest)) = (
                package.get("name").and_then(Value::as_str),
                package.get("manifest_path").and_then(Value::as_str),
            ) else {
                return Err(TableError::Metadata(format!(
                    "package `{id}` has no `name` or `manifest_path`"
                )));
            };
            let api = package.get("metadata").and_then(|m| m.get("function"));
            found.push((
                name,
                is_function_crate(Path::new(root), Path::new(manifest)),
                api,
            ));
        }
        found.sort_by_key(|(name, _, _)| *name);

        let mut problems = Vec::new();
        let mut functions = Vec::new();
        for (name, is_function, api) in found {
            match api {
                Some(api) => match parse_function(name, api) {
                    Ok(function) => functions.push(function),
                    Err(mut errors) => problems.append(&mut errors),
                },
                None if is_function => problems.push(Problem {
                    package: name.to_owned(),
                    field: None,
                    message: format!(
                        "every crate under {FUNCTIONS_DIR}/ must declare itself in a \
                     [package.metadata.function] table (keys: {})",
                        KEYS.join(", ")
                    ),
                }),
                None => {}
            }
        }
        if !problems.is_empty() {
            return Err(TableError::Invalid(problems));
        }
        Self::new(functions)
    }
}

/// Whether `manifest` is `<root>/crates/functions/<name>/Cargo.toml`.
fn is_function_crate(root: &Path, manifest: &Path) -> bool {
    manifest
        .parent()
        .and_then(|dir| dir.strip_prefix(root).ok())
        .and_then(|dir| dir.parent())
        .is_some_and(|parent| parent == Path::new(FUNCTIONS_DIR))
}

/// Validates one crate's `[package.metadata.function]` value, collecting every problem.
pub(crate) fn parse_function(package: &str, api: &Value) -> Result<Function, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut problem = |field: &str, message: String| {
        problems.push(Problem {
            package: package.to_owned(),
            field: (!field.is_empty()).then(|| field.to_owned()),
            message,
        });
    };
    let Some(table) = api.as_object() else {
        problem(
            "",
            format!(
                "[package.metadata.function] must be a table, got {}",
                describe(api)
            ),
        );
        return Err(problems);
    };
    for key in table.keys().filter(|k| !KEYS.contains(&k.as_str())) {
        problem(key, format!("unknown key (allowed: {})", KEYS.join(", ")));
    }

    let route = match table.get("route") {
        None => Err("missing: add e.g. route = \"GET /notes/{id}\"".to_owned()),
        Some(Value::String(key)) => parse_route_key(key),
        Some(v) => Err(format!("expected a string, got {}", describe(v))),
    }
    .map_err(|m| problem("route", m));
    let auth = match table.get("auth") {
        None => Err("missing: add auth = \"jwt\" or auth = \"none\"".to_owned()),
        Some(Value::String(s)) if s == "jwt" => Ok(Auth::Jwt),
        Some(Value::String(s)) if s == "none" => Ok(Auth::None),
        Some(v) => Err(format!("expected \"jwt\" or \"none\", got {}", describe(v))),
    }
    .map_err(|m| problem("auth", m));
    let scopes = names(table, "scopes", "scope").map_err(|(f, m)| problem(&f, m));
    let groups = names(table, "groups", "group").map_err(|(f, m)| problem(&f, m));
    let memory =
        number(table, "memory", MEMORY_MB, "memory = 128").map_err(|m| problem("memory", m));
    let timeout =
        number(table, "timeout", TIMEOUT_S, "timeout = 10").map_err(|m| problem("timeout", m));
    let dynamodb = dynamodb_access(table).map_err(|(f, m)| problem(&f, m));

    if let (Ok(Auth::None), Ok(scopes), Ok(groups)) = (&auth, &scopes, &groups) {
        for (field, items) in [("scopes", scopes), ("groups", groups)] {
            if !items.is_empty() {
                problem(
                    field,
                    format!(
                        "a route with auth = \"none\" has no token to check {field} against: \
                         set auth = \"jwt\" or remove the {field}"
                    ),
                );
            }
        }
    }

    match (route, auth, scopes, groups, memory, timeout, dynamodb) {
        (
            Ok((method, path)),
            Ok(auth),
            Ok(scopes),
            Ok(groups),
            Ok(memory),
            Ok(timeout),
            Ok(dynamodb),
        ) if problems.is_empty() => Ok(Function {
            name: package.to_owned(),
            trigger: Trigger::Http(Route {
                method,
                path,
                auth,
                scopes,
                groups,
            }),
            memory,
            timeout,
            dynamodb,
        }),
        _ => Err(problems),
    }
}

/// Reads the optional `dynamodb = [...]`: distinct [`DynamoAccess`] names.
fn dynamodb_access(table: &Map<String, Value>) -> Result<BTreeSet<DynamoAccess>, (String, String)> {
    let Some(value) = table.get("dynamodb") else {
        return Ok(BTreeSet::new());
    };
    let allowed = || {
        DynamoAccess::ALL
            .iter()
            .map(|a| format!("{:?}", a.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(items) = value.as_array() else {
        return Err((
            "dynamodb".to_owned(),
            format!(
                "expected an array of {}, got {}",
                allowed(),
                describe(value)
            ),
        ));
    };
    let mut out = BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("dynamodb[{i}]");
        let Some(access) = item.as_str().and_then(DynamoAccess::parse) else {
            return Err((
                field,
                format!("expected one of {}, got {}", allowed(), describe(item)),
            ));
        };
        if !out.insert(access) {
            return Err((field, format!("{:?} is listed twice", access.as_str())));
        }
    }
    Ok(out)
}

/// Reads an optional array of distinct, non-empty, whitespace-free strings (scopes, groups).
fn names(
    table: &Map<String, Value>,
    key: &str,
    what: &str,
) -> Result<Vec<String>, (String, String)> {
    let Some(value) = table.get(key) else {
        return Ok(Vec::new());
    };
    let Some(items) = value.as_array() else {
        return Err((
            key.to_owned(),
            format!("expected an array of strings, got {}", describe(value)),
        ));
    };
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = format!("{key}[{i}]");
        let Some(text) = item.as_str() else {
            return Err((
                field,
                format!("expected a {what} name (a string), got {}", describe(item)),
            ));
        };
        if text.is_empty() {
            return Err((field, format!("a {what} name cannot be empty")));
        }
        if text.chars().any(char::is_whitespace) {
            return Err((
                field,
                format!("a {what} name cannot contain whitespace, got {text:?}"),
            ));
        }
        if out.iter().any(|o| o == text) {
            return Err((field, format!("{what} {text:?} is listed twice")));
        }
        out.push(text.to_owned());
    }
    Ok(out)
}

/// Reads a required integer within `range`.
fn number(
    table: &Map<String, Value>,
    key: &str,
    range: RangeInclusive<u64>,
    example: &str,
) -> Result<u32, String> {
    let Some(value) = table.get(key) else {
        return Err(format!(
            "missing: add e.g. {example} (allowed {}..={})",
            range.start(),
            range.end()
        ));
    };
    value
        .as_u64()
        .filter(|n| range.contains(n))
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| {
            format!(
                "expected an integer in {}..={}, got {}",
                range.start(),
                range.end(),
                describe(value)
            )
        })
}

/// Describes a JSON value the way the user wrote it in TOML, for error messages.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "a table".to_owned(),
    }
}

/// Finds functions named twice, and routes declared twice or differing only in parameter
/// names (which API Gateway and the local gateway cannot tell apart). `functions` is in table
/// order; the later of two is the one at fault.
pub(crate) fn conflicts(functions: &[Function]) -> Vec<Problem> {
    let mut names = BTreeSet::new();
    let mut seen: BTreeMap<(Method, String), (&Function, &Route)> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut sorted: Vec<&Function> = functions.iter().collect();
    sorted.sort_by_key(|f| &f.name);
    for function in sorted {
        if !names.insert(function.name.as_str()) {
            problems.push(Problem {
                package: function.name.clone(),
                field: None,
                message: "two functions have this name".to_owned(),
            });
        }
        let Some(route) = function.route() else {
            continue;
        };
        let shape = (route.method, path_shape(&route.path));
        match seen.get(&shape) {
            Some((first, first_route)) => problems.push(Problem {
                package: function.name.clone(),
                field: Some("route".to_owned()),
                message: if first_route.path == route.path {
                    format!(
                        "`{}` is also the route of crate `{}`: each route belongs to one function",
                        route.route_key(),
                        first.name
                    )
                } else {
                    format!(
                        "`{}` is the same route as `{}` of crate `{}` (only parameter names differ)",
                        route.route_key(),
                        first_route.route_key(),
                        first.name
                    )
                },
            }),
            None => {
                seen.insert(shape, (function, route));
            }
        }
    }
    problems
}
