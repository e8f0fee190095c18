//! The route table: reads `[package.metadata.api]` out of `cargo metadata` JSON, validates it,
//! and renders it as a table, as JSON, and as `IaC/routes.auto.tfvars.json`.
//!
//! Everything here is pure (text in, values or text out) so that it is unit-tested without
//! spawning processes; [`crate::workspace`] runs `cargo metadata` and touches files.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::RangeInclusive;
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

/// Where the generated Terraform variables live, relative to the workspace root.
pub const TFVARS_PATH: &str = "IaC/routes.auto.tfvars.json";

/// The directory (relative to the workspace root) whose direct children are function crates;
/// each of them must declare `[package.metadata.api]`.
pub const FUNCTIONS_DIR: &str = "crates/functions";

/// Allowed Lambda memory sizes in MB (AWS's limits).
pub const MEMORY_MB: RangeInclusive<u64> = 128..=10_240;

/// Allowed Lambda timeouts in seconds (AWS's limits).
pub const TIMEOUT_S: RangeInclusive<u64> = 1..=900;

/// The keys `[package.metadata.api]` accepts; any other key is an error.
pub const KEYS: [&str; 6] = ["route", "auth", "scopes", "groups", "memory", "timeout"];

/// An HTTP method as API Gateway (HTTP API) route keys spell it.
///
/// The declaration order is the sort order of the route table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
    /// `HEAD`
    Head,
    /// `OPTIONS`
    Options,
    /// `ANY`: every method (API Gateway's catch-all).
    Any,
}

impl Method {
    /// Every method, in sort order.
    pub const ALL: [Self; 8] = [
        Self::Get,
        Self::Post,
        Self::Put,
        Self::Patch,
        Self::Delete,
        Self::Head,
        Self::Options,
        Self::Any,
    ];

    /// The upper-case spelling used in route keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Head => "HEAD",
            Self::Options => "OPTIONS",
            Self::Any => "ANY",
        }
    }

    /// Parses the exact upper-case spelling; anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == text)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether API Gateway checks a Cognito JWT before invoking the function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    /// The JWT authorizer runs (issuer = the user pool, audience = the app client).
    Jwt,
    /// Public route: no authorizer.
    None,
}

impl Auth {
    /// The spelling used in `Cargo.toml` and in the generated files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jwt => "jwt",
            Self::None => "none",
        }
    }
}

impl fmt::Display for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One function crate's validated `[package.metadata.api]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The function's name: its package name (also the Lambda function's base name).
    pub function: String,
    /// The HTTP method of the route key.
    pub method: Method,
    /// The path of the route key, e.g. `/notes/{id}`.
    pub path: String,
    /// Whether the JWT authorizer protects the route.
    pub auth: Auth,
    /// OAuth scopes the route requires (only with [`Auth::Jwt`]).
    pub scopes: Vec<String>,
    /// Cognito groups the function requires (only with [`Auth::Jwt`]).
    pub groups: Vec<String>,
    /// Lambda memory size in MB.
    pub memory: u32,
    /// Lambda timeout in seconds.
    pub timeout: u32,
}

impl Route {
    /// The API Gateway route key, e.g. `GET /notes/{id}`.
    pub fn route_key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// One thing wrong with one crate's route metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The package the problem is in.
    pub package: String,
    /// The key of `[package.metadata.api]` at fault (with an index for array items), if any.
    pub field: Option<String>,
    /// What is wrong and, where possible, how to fix it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(
                f,
                "crate `{}`: [package.metadata.api].{field}: {}",
                self.package, self.message
            ),
            None => write!(f, "crate `{}`: {}", self.package, self.message),
        }
    }
}

/// Why the route table could not be built or rendered.
#[derive(Debug, thiserror::Error)]
pub enum RoutesError {
    /// The text given as `cargo metadata` output is not what cargo prints.
    #[error("unexpected `cargo metadata --format-version 1` output: {0}")]
    Metadata(String),
    /// One or more crates declare invalid route metadata; every problem is listed.
    #[error("invalid route metadata (fix the Cargo.toml files named below):{}", list(.0))]
    Invalid(Vec<Problem>),
    /// Serializing the output failed (not expected to happen with these types).
    #[error("could not render the routes as JSON: {0}")]
    Render(#[from] serde_json::Error),
}

/// Reads and validates every workspace package's `[package.metadata.api]` from the JSON printed
/// by `cargo metadata --format-version 1 --no-deps`, sorted by path, then method.
///
/// Every problem in every crate is reported at once in [`RoutesError::Invalid`].
pub fn parse_metadata(metadata_json: &str) -> Result<Vec<Route>, RoutesError> {
    let metadata: Value = serde_json::from_str(metadata_json)
        .map_err(|e| RoutesError::Metadata(format!("not JSON: {e}")))?;
    let root = metadata
        .get("workspace_root")
        .and_then(Value::as_str)
        .ok_or_else(|| RoutesError::Metadata("no `workspace_root` string".to_owned()))?;
    let members: BTreeSet<&str> = metadata
        .get("workspace_members")
        .and_then(Value::as_array)
        .ok_or_else(|| RoutesError::Metadata("no `workspace_members` array".to_owned()))?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let packages = metadata
        .get("packages")
        .and_then(Value::as_array)
        .ok_or_else(|| RoutesError::Metadata("no `packages` array".to_owned()))?;

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
            return Err(RoutesError::Metadata(format!(
                "package `{id}` has no `name` or `manifest_path`"
            )));
        };
        let api = package.get("metadata").and_then(|m| m.get("api"));
        found.push((
            name,
            is_function_crate(Path::new(root), Path::new(manifest)),
            api,
        ));
    }
    found.sort_by_key(|(name, _, _)| *name);

    let mut problems = Vec::new();
    let mut routes = Vec::new();
    for (name, is_function, api) in found {
        match api {
            Some(api) => match parse_api(name, api) {
                Ok(route) => routes.push(route),
                Err(mut errors) => problems.append(&mut errors),
            },
            None if is_function => problems.push(Problem {
                package: name.to_owned(),
                field: None,
                message: format!(
                    "every crate under {FUNCTIONS_DIR}/ must declare its route in a \
                     [package.metadata.api] table (keys: {})",
                    KEYS.join(", ")
                ),
            }),
            None => {}
        }
    }
    problems.append(&mut duplicates(&routes));
    if !problems.is_empty() {
        return Err(RoutesError::Invalid(problems));
    }
    routes.sort_by(|a, b| (&a.path, a.method, &a.function).cmp(&(&b.path, b.method, &b.function)));
    Ok(routes)
}

/// Parses a route key such as `GET /notes/{id}` into its method and path, checking both.
///
/// The error is a message for the user (without the crate and field, which the caller adds).
pub fn parse_route_key(key: &str) -> Result<(Method, String), String> {
    let Some((method, path)) = key.split_once(' ') else {
        return Err(format!(
            "expected `METHOD /path` (e.g. `GET /notes/{{id}}`), got {key:?}"
        ));
    };
    let method = Method::parse(method).ok_or_else(|| {
        let all: Vec<_> = Method::ALL.iter().map(|m| m.as_str()).collect();
        match Method::parse(&method.to_ascii_uppercase()) {
            Some(upper) => format!("methods are upper case: write `{upper}`, not `{method}`"),
            None => format!(
                "unknown method {method:?} (expected one of {})",
                all.join(", ")
            ),
        }
    })?;
    check_path(path)?;
    Ok((method, path.to_owned()))
}

/// Checks a route path: starts with `/`, every segment is a literal (letters, digits, `-`,
/// `.`, `_`, `~`), a parameter `{name}`, or, last only, a greedy parameter `{name+}`.
pub fn check_path(path: &str) -> Result<(), String> {
    const WHOLE: &str = "a parameter is a whole segment, like `{id}`";
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("the path must start with `/`, got {path:?}"));
    };
    if rest.is_empty() {
        return Ok(());
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let mut names = BTreeSet::new();
    for (i, segment) in segments.iter().enumerate() {
        let bad = |why: &str| Err(format!("segment {segment:?} in {path:?}: {why}"));
        if segment.is_empty() {
            return Err(format!(
                "empty segment in {path:?} (a `//` or a trailing `/`)"
            ));
        }
        if let Some(inner) = segment.strip_prefix('{') {
            let Some(inner) = inner.strip_suffix('}') else {
                return bad(WHOLE);
            };
            let (name, greedy) = match inner.strip_suffix('+') {
                Some(name) => (name, true),
                None => (inner, false),
            };
            if greedy && i + 1 != segments.len() {
                return bad("a greedy parameter `{name+}` must be the last segment");
            }
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return bad("a parameter name is letters, digits and `_`");
            }
            if !names.insert(name) {
                return Err(format!("parameter `{name}` appears twice in {path:?}"));
            }
        } else if let Some(c) = segment
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || "-._~".contains(c)))
        {
            return if c == '{' || c == '}' {
                bad(WHOLE)
            } else {
                bad(&format!(
                    "character {c:?} is not allowed (use letters, digits, `-`, `.`, `_`, `~`)"
                ))
            };
        }
    }
    Ok(())
}

/// Renders the routes as an aligned text table, one line per route, with a header.
pub fn render_table(routes: &[Route]) -> String {
    let header = [
        "FUNCTION",
        "ROUTE",
        "AUTH",
        "SCOPES",
        "GROUPS",
        "MEMORY (MB)",
        "TIMEOUT (s)",
    ]
    .map(str::to_owned);
    let rows: Vec<[String; 7]> = routes
        .iter()
        .map(|r| {
            [
                r.function.clone(),
                r.route_key(),
                r.auth.to_string(),
                join_or_dash(&r.scopes),
                join_or_dash(&r.groups),
                r.memory.to_string(),
                r.timeout.to_string(),
            ]
        })
        .collect();
    let mut widths = [0; 7];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(widths) {
            line.push_str(&format!("{cell:<width$}  "));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Renders the routes as a pretty JSON array (what `cargo xtask routes --json` prints), each
/// item the fields of the tfvars entry plus `function`; ends with a newline.
pub fn render_json(routes: &[Route]) -> Result<String, RoutesError> {
    #[derive(Serialize)]
    struct Item<'a> {
        function: &'a str,
        #[serde(flatten)]
        route: TfRoute<'a>,
    }
    let items: Vec<Item<'_>> = routes
        .iter()
        .map(|r| Item {
            function: &r.function,
            route: TfRoute::from(r),
        })
        .collect();
    Ok(serde_json::to_string_pretty(&items)? + "\n")
}

/// Renders `IaC/routes.auto.tfvars.json`: `{"routes": {"<function>": {...}}}`, functions in
/// name order, fields in a fixed order, pretty-printed, ending with a newline.
pub fn render_tfvars(routes: &[Route]) -> Result<String, RoutesError> {
    #[derive(Serialize)]
    struct File<'a> {
        routes: BTreeMap<&'a str, TfRoute<'a>>,
    }
    let file = File {
        routes: routes
            .iter()
            .map(|r| (r.function.as_str(), TfRoute::from(r)))
            .collect(),
    };
    Ok(serde_json::to_string_pretty(&file)? + "\n")
}

/// One route as Terraform's `var.routes` sees it.
#[derive(Serialize)]
struct TfRoute<'a> {
    route_key: String,
    method: Method,
    path: &'a str,
    auth: Auth,
    scopes: &'a [String],
    groups: &'a [String],
    memory: u32,
    timeout: u32,
}

impl<'a> From<&'a Route> for TfRoute<'a> {
    fn from(r: &'a Route) -> Self {
        Self {
            route_key: r.route_key(),
            method: r.method,
            path: &r.path,
            auth: r.auth,
            scopes: &r.scopes,
            groups: &r.groups,
            memory: r.memory,
            timeout: r.timeout,
        }
    }
}

/// Formats problems as an indented list for [`RoutesError::Invalid`].
fn list(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("\n  - {p}")).collect()
}

fn join_or_dash(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(",")
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

/// Validates one crate's `[package.metadata.api]` value, collecting every problem.
fn parse_api(package: &str, api: &Value) -> Result<Route, Vec<Problem>> {
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
                "[package.metadata.api] must be a table, got {}",
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

    match (route, auth, scopes, groups, memory, timeout) {
        (Ok((method, path)), Ok(auth), Ok(scopes), Ok(groups), Ok(memory), Ok(timeout))
            if problems.is_empty() =>
        {
            Ok(Route {
                function: package.to_owned(),
                method,
                path,
                auth,
                scopes,
                groups,
                memory,
                timeout,
            })
        }
        _ => Err(problems),
    }
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

/// Finds routes declared twice, or differing only in parameter names (which API Gateway and
/// the local gateway cannot tell apart). `routes` is in package-name order.
fn duplicates(routes: &[Route]) -> Vec<Problem> {
    let mut seen: BTreeMap<(Method, String), &Route> = BTreeMap::new();
    let mut problems = Vec::new();
    for route in routes {
        let shape = (route.method, path_shape(&route.path));
        match seen.get(&shape) {
            Some(first) => problems.push(Problem {
                package: route.function.clone(),
                field: Some("route".to_owned()),
                message: if first.path == route.path {
                    format!(
                        "`{}` is also the route of crate `{}`: each route belongs to one function",
                        route.route_key(),
                        first.function
                    )
                } else {
                    format!(
                        "`{}` is the same route as `{}` of crate `{}` (only parameter names differ)",
                        route.route_key(),
                        first.route_key(),
                        first.function
                    )
                },
            }),
            None => {
                seen.insert(shape, route);
            }
        }
    }
    problems
}

/// A path with parameter names erased: `/notes/{id}` → `/notes/{}`, `/f/{p+}` → `/f/{+}`.
fn path_shape(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment.strip_prefix('{') {
            Some(inner) if inner.ends_with("+}") => "{+}",
            Some(_) => "{}",
            None => segment,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A workspace package for [`metadata`]: its name, directory under the root, and
    /// `[package.metadata.api]`.
    struct Pkg {
        name: &'static str,
        dir: String,
        api: Option<Value>,
    }

    /// A function crate under `crates/functions/` with a valid route.
    fn function(name: &'static str, route: &str) -> Pkg {
        Pkg {
            name,
            dir: format!("crates/functions/{name}"),
            api: Some(api(route)),
        }
    }

    /// Any other package.
    fn other(name: &'static str, dir: &str, api: Option<Value>) -> Pkg {
        Pkg {
            name,
            dir: dir.to_owned(),
            api,
        }
    }

    /// Builds `cargo metadata` JSON for a workspace rooted at `/ws`.
    fn metadata(packages: &[Pkg]) -> String {
        let packages: Vec<Value> = packages
            .iter()
            .map(|Pkg { name, dir, api }| {
                json!({
                    "id": format!("path+file:///ws/{dir}#{name}@0.0.0"),
                    "name": name,
                    "manifest_path": format!("/ws/{dir}/Cargo.toml"),
                    "metadata": api.as_ref().map(|api| json!({ "api": api })),
                })
            })
            .collect();
        let members: Vec<&Value> = packages.iter().map(|p| &p["id"]).collect();
        json!({
            "packages": packages,
            "workspace_members": members,
            "workspace_root": "/ws",
        })
        .to_string()
    }

    fn api(route: &str) -> Value {
        json!({
            "route": route, "auth": "jwt", "scopes": [], "groups": [], "memory": 128, "timeout": 10,
        })
    }

    fn with(mut base: Value, key: &str, value: Value) -> Value {
        base[key] = value;
        base
    }

    fn without(mut base: Value, key: &str) -> Value {
        if let Some(table) = base.as_object_mut() {
            table.remove(key);
        }
        base
    }

    /// Parses one function crate `f` with `api`; `Ok` is the route key, `Err` the messages.
    fn check(api: Value, expect: Result<&str, &[&str]>) {
        let json = metadata(&[other("f", "crates/functions/f", Some(api.clone()))]);
        let got = match parse_metadata(&json) {
            Ok(routes) => Ok(routes
                .iter()
                .map(Route::route_key)
                .collect::<Vec<_>>()
                .join(";")),
            Err(RoutesError::Invalid(problems)) => {
                Err(problems.iter().map(ToString::to_string).collect::<Vec<_>>())
            }
            Err(other) => panic!("unexpected error for {api}: {other}"),
        };
        match (got, expect) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "for {api}"),
            (Err(got), Err(want)) => assert_eq!(got, want, "for {api}"),
            (got, want) => panic!("for {api}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn valid_route_keys() {
        for key in [
            "GET /",
            "GET /health",
            "POST /notes",
            "GET /notes/{id}",
            "PATCH /a-b/c_d/e.f/g~h",
            "DELETE /users/{user_id}/notes/{id}",
            "ANY /files/{proxy+}",
            "HEAD /x",
            "OPTIONS /x/{y}",
            "PUT /v1/{A9_}",
        ] {
            check(api(key), Ok(key));
        }
    }

    #[test]
    fn invalid_route_keys() {
        let p = "crate `f`: [package.metadata.api].route: ";
        for (key, want) in [
            (
                "GET",
                "expected `METHOD /path` (e.g. `GET /notes/{id}`), got \"GET\"",
            ),
            (
                "/notes",
                "expected `METHOD /path` (e.g. `GET /notes/{id}`), got \"/notes\"",
            ),
            (
                "get /notes",
                "methods are upper case: write `GET`, not `get`",
            ),
            (
                "FETCH /notes",
                "unknown method \"FETCH\" (expected one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, ANY)",
            ),
            ("GET notes", "the path must start with `/`, got \"notes\""),
            (
                "GET  /notes",
                "the path must start with `/`, got \" /notes\"",
            ),
            (
                "GET /notes/",
                "empty segment in \"/notes/\" (a `//` or a trailing `/`)",
            ),
            (
                "GET /a//b",
                "empty segment in \"/a//b\" (a `//` or a trailing `/`)",
            ),
            (
                "GET /notes/{id",
                "segment \"{id\" in \"/notes/{id\": a parameter is a whole segment, like `{id}`",
            ),
            (
                "GET /notes/x{id}",
                "segment \"x{id}\" in \"/notes/x{id}\": a parameter is a whole segment, like `{id}`",
            ),
            (
                "GET /notes/{}",
                "segment \"{}\" in \"/notes/{}\": a parameter name is letters, digits and `_`",
            ),
            (
                "GET /notes/{a-b}",
                "segment \"{a-b}\" in \"/notes/{a-b}\": a parameter name is letters, digits and `_`",
            ),
            (
                "ANY /{proxy+}/x",
                "segment \"{proxy+}\" in \"/{proxy+}/x\": a greedy parameter `{name+}` must be the last segment",
            ),
            (
                "GET /a/{id}/b/{id}",
                "parameter `id` appears twice in \"/a/{id}/b/{id}\"",
            ),
            (
                "GET /notes?limit=1",
                "segment \"notes?limit=1\" in \"/notes?limit=1\": character '?' is not allowed (use letters, digits, `-`, `.`, `_`, `~`)",
            ),
            (
                "GET /notes /x",
                "segment \"notes \" in \"/notes /x\": character ' ' is not allowed (use letters, digits, `-`, `.`, `_`, `~`)",
            ),
        ] {
            let want = format!("{p}{want}");
            check(api(key), Err(&[want.as_str()]));
        }
    }

    #[test]
    fn field_rules() {
        let p = "crate `f`: [package.metadata.api].";
        let ok = api("GET /x");
        let cases: Vec<(Value, Result<&str, Vec<String>>)> = vec![
            (ok.clone(), Ok("GET /x")),
            (
                without(without(ok.clone(), "scopes"), "groups"),
                Ok("GET /x"),
            ),
            (with(ok.clone(), "auth", json!("none")), Ok("GET /x")),
            (
                with(ok.clone(), "scopes", json!(["notes/read", "email"])),
                Ok("GET /x"),
            ),
            (with(ok.clone(), "memory", json!(10240)), Ok("GET /x")),
            (with(ok.clone(), "timeout", json!(900)), Ok("GET /x")),
            (with(ok.clone(), "timeout", json!(1)), Ok("GET /x")),
            (
                with(ok.clone(), "memroy", json!(128)),
                Err(vec![format!(
                    "{p}memroy: unknown key (allowed: route, auth, scopes, groups, memory, timeout)"
                )]),
            ),
            (
                without(ok.clone(), "route"),
                Err(vec![format!(
                    "{p}route: missing: add e.g. route = \"GET /notes/{{id}}\""
                )]),
            ),
            (
                with(ok.clone(), "route", json!(["GET /x"])),
                Err(vec![format!("{p}route: expected a string, got an array")]),
            ),
            (
                without(ok.clone(), "auth"),
                Err(vec![format!(
                    "{p}auth: missing: add auth = \"jwt\" or auth = \"none\""
                )]),
            ),
            (
                with(ok.clone(), "auth", json!("JWT")),
                Err(vec![format!(
                    "{p}auth: expected \"jwt\" or \"none\", got the string \"JWT\""
                )]),
            ),
            (
                with(ok.clone(), "auth", json!(true)),
                Err(vec![format!(
                    "{p}auth: expected \"jwt\" or \"none\", got the boolean true"
                )]),
            ),
            (
                with(ok.clone(), "scopes", json!("email")),
                Err(vec![format!(
                    "{p}scopes: expected an array of strings, got the string \"email\""
                )]),
            ),
            (
                with(ok.clone(), "scopes", json!(["email", ""])),
                Err(vec![format!("{p}scopes[1]: a scope name cannot be empty")]),
            ),
            (
                with(ok.clone(), "groups", json!([1])),
                Err(vec![format!(
                    "{p}groups[0]: expected a group name (a string), got 1"
                )]),
            ),
            (
                with(ok.clone(), "groups", json!(["admin users"])),
                Err(vec![format!(
                    "{p}groups[0]: a group name cannot contain whitespace, got \"admin users\""
                )]),
            ),
            (
                with(ok.clone(), "groups", json!(["admin", "admin"])),
                Err(vec![format!(
                    "{p}groups[1]: group \"admin\" is listed twice"
                )]),
            ),
            (
                with(
                    with(ok.clone(), "auth", json!("none")),
                    "groups",
                    json!(["admin"]),
                ),
                Err(vec![format!(
                    "{p}groups: a route with auth = \"none\" has no token to check groups against: \
                     set auth = \"jwt\" or remove the groups"
                )]),
            ),
            (
                with(ok.clone(), "memory", json!(127)),
                Err(vec![format!(
                    "{p}memory: expected an integer in 128..=10240, got 127"
                )]),
            ),
            (
                with(ok.clone(), "memory", json!(10241)),
                Err(vec![format!(
                    "{p}memory: expected an integer in 128..=10240, got 10241"
                )]),
            ),
            (
                with(ok.clone(), "memory", json!("128")),
                Err(vec![format!(
                    "{p}memory: expected an integer in 128..=10240, got the string \"128\""
                )]),
            ),
            (
                with(ok.clone(), "timeout", json!(0)),
                Err(vec![format!(
                    "{p}timeout: expected an integer in 1..=900, got 0"
                )]),
            ),
            (
                with(ok.clone(), "timeout", json!(-5)),
                Err(vec![format!(
                    "{p}timeout: expected an integer in 1..=900, got -5"
                )]),
            ),
            (
                with(ok.clone(), "timeout", json!(2.5)),
                Err(vec![format!(
                    "{p}timeout: expected an integer in 1..=900, got 2.5"
                )]),
            ),
            (
                without(ok.clone(), "timeout"),
                Err(vec![format!(
                    "{p}timeout: missing: add e.g. timeout = 10 (allowed 1..=900)"
                )]),
            ),
            (
                json!("GET /x"),
                Err(vec![
                    "crate `f`: [package.metadata.api] must be a table, got the string \"GET /x\""
                        .to_owned(),
                ]),
            ),
            // Every problem is reported, not just the first.
            (
                json!({ "route": "GET x", "auth": "jwt", "memory": 1, "timeout": 10, "extra": 1 }),
                Err(vec![
                    format!(
                        "{p}extra: unknown key (allowed: route, auth, scopes, groups, memory, timeout)"
                    ),
                    format!("{p}route: the path must start with `/`, got \"x\""),
                    format!("{p}memory: expected an integer in 128..=10240, got 1"),
                ]),
            ),
        ];
        for (api, want) in cases {
            match &want {
                Ok(key) => check(api, Ok(*key)),
                Err(messages) => {
                    let messages: Vec<&str> = messages.iter().map(String::as_str).collect();
                    check(api, Err(&messages));
                }
            }
        }
    }

    #[test]
    fn parses_every_field() {
        let api = json!({
            "route": "DELETE /notes/{id}", "auth": "jwt", "scopes": ["notes/write"],
            "groups": ["admin", "ops"], "memory": 256, "timeout": 30,
        });
        let routes = parse_metadata(&metadata(&[other(
            "delete-note",
            "crates/functions/delete-note",
            Some(api),
        )]));
        let want = Route {
            function: "delete-note".to_owned(),
            method: Method::Delete,
            path: "/notes/{id}".to_owned(),
            auth: Auth::Jwt,
            scopes: vec!["notes/write".to_owned()],
            groups: vec!["admin".to_owned(), "ops".to_owned()],
            memory: 256,
            timeout: 30,
        };
        assert_eq!(routes.ok(), Some(vec![want]));
    }

    /// Checks a whole workspace: `Ok` is `function route` lines in output order.
    fn check_workspace(packages: &[Pkg], expect: Result<&[&str], &[&str]>) {
        let got = match parse_metadata(&metadata(packages)) {
            Ok(routes) => Ok(routes
                .iter()
                .map(|r| format!("{} {}", r.function, r.route_key()))
                .collect::<Vec<_>>()),
            Err(RoutesError::Invalid(problems)) => {
                Err(problems.iter().map(ToString::to_string).collect::<Vec<_>>())
            }
            Err(other) => panic!("unexpected error: {other}"),
        };
        match (got, expect) {
            (Ok(got), Ok(want)) => assert_eq!(got, want),
            (Err(got), Err(want)) => assert_eq!(got, want),
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn workspaces() {
        let f = function;
        // Sorted by path, then method (GET before POST before DELETE), whatever the crate order.
        check_workspace(
            &[
                f("delete-note", "DELETE /notes/{id}"),
                f("create-note", "POST /notes"),
                f("get-note", "GET /notes/{id}"),
                f("list-notes", "GET /notes"),
                f("health", "GET /health"),
                other("notes", "crates/notes", None),
                other("xtask", "xtask", None),
            ],
            Ok(&[
                "health GET /health",
                "list-notes GET /notes",
                "create-note POST /notes",
                "get-note GET /notes/{id}",
                "delete-note DELETE /notes/{id}",
            ]),
        );
        // A crate outside crates/functions may declare a route; there it is optional.
        check_workspace(
            &[
                other("extra", "tools/extra", Some(api("GET /extra"))),
                other("lib", "crates/lib", None),
            ],
            Ok(&["extra GET /extra"]),
        );
        check_workspace(
            &[f("a", "GET /x"), other("b", "crates/functions/b", None)],
            Err(&[
                "crate `b`: every crate under crates/functions/ must declare its route in a \
                   [package.metadata.api] table (keys: route, auth, scopes, groups, memory, timeout)",
            ]),
        );
        check_workspace(
            &[
                f("b", "GET /notes/{id}"),
                f("a", "GET /notes/{id}"),
                f("c", "GET /notes/{key}"),
            ],
            Err(&[
                "crate `b`: [package.metadata.api].route: `GET /notes/{id}` is also the route of \
                 crate `a`: each route belongs to one function",
                "crate `c`: [package.metadata.api].route: `GET /notes/{key}` is the same route as \
                 `GET /notes/{id}` of crate `a` (only parameter names differ)",
            ]),
        );
        // Same path, other method, or a greedy parameter beside a plain one: distinct routes.
        check_workspace(
            &[
                f("a", "GET /f/{id}"),
                f("b", "PUT /f/{id}"),
                f("c", "GET /f/{path+}"),
            ],
            Ok(&["a GET /f/{id}", "b PUT /f/{id}", "c GET /f/{path+}"]),
        );
        // Problems in several crates are all reported.
        check_workspace(
            &[f("a", "GET x"), f("b", "get /y")],
            Err(&[
                "crate `a`: [package.metadata.api].route: the path must start with `/`, got \"x\"",
                "crate `b`: [package.metadata.api].route: methods are upper case: write `GET`, not `get`",
            ]),
        );
    }

    #[test]
    fn malformed_metadata() {
        for (input, want) in [
            (
                "not json",
                "unexpected `cargo metadata --format-version 1` output: not JSON: expected ident at line 1 column 2",
            ),
            (
                "{}",
                "unexpected `cargo metadata --format-version 1` output: no `workspace_root` string",
            ),
            (
                r#"{"workspace_root": "/ws", "workspace_members": []}"#,
                "unexpected `cargo metadata --format-version 1` output: no `packages` array",
            ),
        ] {
            let got = parse_metadata(input).map_err(|e| e.to_string());
            assert_eq!(got, Err(want.to_owned()), "for {input}");
        }
    }

    fn sample() -> Vec<Route> {
        let route = |function: &str, method, path: &str, auth, groups: &[&str]| Route {
            function: function.to_owned(),
            method,
            path: path.to_owned(),
            auth,
            scopes: Vec::new(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            memory: 128,
            timeout: 10,
        };
        vec![
            route("health", Method::Get, "/health", Auth::None, &[]),
            route(
                "admin-stats",
                Method::Get,
                "/admin/stats",
                Auth::Jwt,
                &["admin", "ops"],
            ),
        ]
    }

    #[test]
    fn table() {
        let want = "\
FUNCTION     ROUTE             AUTH  SCOPES  GROUPS     MEMORY (MB)  TIMEOUT (s)
health       GET /health       none  -       -          128          10
admin-stats  GET /admin/stats  jwt   -       admin,ops  128          10
";
        assert_eq!(render_table(&sample()), want);
        assert_eq!(
            render_table(&[]),
            "FUNCTION  ROUTE  AUTH  SCOPES  GROUPS  MEMORY (MB)  TIMEOUT (s)\n"
        );
    }

    #[test]
    fn tfvars() {
        let got = render_tfvars(&sample()).map_err(|e| e.to_string());
        let want = r#"{
  "routes": {
    "admin-stats": {
      "route_key": "GET /admin/stats",
      "method": "GET",
      "path": "/admin/stats",
      "auth": "jwt",
      "scopes": [],
      "groups": [
        "admin",
        "ops"
      ],
      "memory": 128,
      "timeout": 10
    },
    "health": {
      "route_key": "GET /health",
      "method": "GET",
      "path": "/health",
      "auth": "none",
      "scopes": [],
      "groups": [],
      "memory": 128,
      "timeout": 10
    }
  }
}
"#;
        assert_eq!(got.as_deref(), Ok(want));
        assert_eq!(
            render_tfvars(&[]).map_err(|e| e.to_string()).as_deref(),
            Ok("{\n  \"routes\": {}\n}\n")
        );
    }

    #[test]
    fn json_list() {
        let got = render_json(&sample()[..1]).map_err(|e| e.to_string());
        let want = r#"[
  {
    "function": "health",
    "route_key": "GET /health",
    "method": "GET",
    "path": "/health",
    "auth": "none",
    "scopes": [],
    "groups": [],
    "memory": 128,
    "timeout": 10
  }
]
"#;
        assert_eq!(got.as_deref(), Ok(want));
    }

    #[test]
    fn shapes() {
        for (path, want) in [
            ("/", "/"),
            ("/notes", "/notes"),
            ("/notes/{id}", "/notes/{}"),
            ("/f/{a}/{rest+}", "/f/{}/{+}"),
        ] {
            assert_eq!(path_shape(path), want, "for {path}");
        }
    }
}
