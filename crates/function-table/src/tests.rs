//! Unit tests of the function table: the metadata rules, every message, and the rendered forms.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::route::path_shape;
use crate::*;

fn parse_metadata(json: &str) -> Result<Vec<Function>, TableError> {
    FunctionTable::from_cargo_metadata(json).map(|t| t.functions().to_vec())
}

fn key(f: &Function) -> String {
    f.route().map(Route::route_key).unwrap_or_default()
}

fn table_of(functions: Vec<Function>) -> FunctionTable {
    match FunctionTable::new(functions) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    }
}

/// A workspace package for [`metadata`]: its name, directory under the root, and
/// `[package.metadata.function]`.
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
                "metadata": api.as_ref().map(|api| json!({ "function": api })),
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
        Ok(routes) => Ok(routes.iter().map(key).collect::<Vec<_>>().join(";")),
        Err(TableError::Invalid(problems)) => {
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
    let p = "crate `f`: [package.metadata.function].route: ";
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
    let p = "crate `f`: [package.metadata.function].";
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
                "{p}memroy: unknown key (allowed: route, auth, scopes, groups, memory, timeout, dynamodb)"
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
                "crate `f`: [package.metadata.function] must be a table, got the string \"GET /x\""
                    .to_owned(),
            ]),
        ),
        // Every problem is reported, not just the first.
        (
            json!({ "route": "GET x", "auth": "jwt", "memory": 1, "timeout": 10, "extra": 1 }),
            Err(vec![
                format!(
                    "{p}extra: unknown key (allowed: route, auth, scopes, groups, memory, timeout, dynamodb)"
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
        "dynamodb": ["DeleteItem", "UpdateItem"],
    });
    let routes = parse_metadata(&metadata(&[other(
        "delete-note",
        "crates/functions/delete-note",
        Some(api),
    )]));
    let want = Function {
        name: "delete-note".to_owned(),
        trigger: Trigger::Http(Route {
            method: Method::Delete,
            path: "/notes/{id}".to_owned(),
            auth: Auth::Jwt,
            scopes: vec!["notes/write".to_owned()],
            groups: vec!["admin".to_owned(), "ops".to_owned()],
        }),
        memory: 256,
        timeout: 30,
        dynamodb: BTreeSet::from([DynamoAccess::DeleteItem, DynamoAccess::UpdateItem]),
    };
    assert_eq!(routes.ok(), Some(vec![want]));
}

/// Checks a whole workspace: `Ok` is `function route` lines in output order.
fn check_workspace(packages: &[Pkg], expect: Result<&[&str], &[&str]>) {
    let got = match parse_metadata(&metadata(packages)) {
        Ok(routes) => Ok(routes
            .iter()
            .map(|f| format!("{} {}", f.name, key(f)))
            .collect::<Vec<_>>()),
        Err(TableError::Invalid(problems)) => {
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
            "crate `b`: every crate under crates/functions/ must declare itself in a \
               [package.metadata.function] table (keys: route, auth, scopes, groups, memory, timeout, dynamodb)",
        ]),
    );
    check_workspace(
        &[
            f("b", "GET /notes/{id}"),
            f("a", "GET /notes/{id}"),
            f("c", "GET /notes/{key}"),
        ],
        Err(&[
            "crate `b`: [package.metadata.function].route: `GET /notes/{id}` is also the route of \
             crate `a`: each route belongs to one function",
            "crate `c`: [package.metadata.function].route: `GET /notes/{key}` is the same route as \
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
            "crate `a`: [package.metadata.function].route: the path must start with `/`, got \"x\"",
            "crate `b`: [package.metadata.function].route: methods are upper case: write `GET`, not `get`",
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

fn sample() -> FunctionTable {
    let function =
        |name: &str, path: &str, auth, groups: &[&str], dynamodb: &[DynamoAccess]| Function {
            name: name.to_owned(),
            trigger: Trigger::Http(Route {
                method: Method::Get,
                path: path.to_owned(),
                auth,
                scopes: Vec::new(),
                groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            }),
            memory: 128,
            timeout: 10,
            dynamodb: dynamodb.iter().copied().collect(),
        };
    table_of(vec![
        function("health", "/health", Auth::None, &[], &[]),
        function(
            "admin-stats",
            "/admin/stats",
            Auth::Jwt,
            &["admin", "ops"],
            &[DynamoAccess::BatchGetItem],
        ),
    ])
}

#[test]
fn table() {
    let want = "\
FUNCTION     ROUTE             AUTH  SCOPES  GROUPS     MEMORY (MB)  TIMEOUT (s)  DYNAMODB
admin-stats  GET /admin/stats  jwt   -       admin,ops  128          10           BatchGetItem
health       GET /health       none  -       -          128          10           -
";
    assert_eq!(sample().render_table(), want);
    assert_eq!(
        FunctionTable::default().render_table(),
        "FUNCTION  ROUTE  AUTH  SCOPES  GROUPS  MEMORY (MB)  TIMEOUT (s)  DYNAMODB\n"
    );
}

#[test]
fn tfvars() {
    let got = sample().render_tfvars().map_err(|e| e.to_string());
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
      "timeout": 10,
      "dynamodb_actions": [
        "dynamodb:BatchGetItem"
      ]
    },
    "health": {
      "route_key": "GET /health",
      "method": "GET",
      "path": "/health",
      "auth": "none",
      "scopes": [],
      "groups": [],
      "memory": 128,
      "timeout": 10,
      "dynamodb_actions": []
    }
  }
}
"#;
    assert_eq!(got.as_deref(), Ok(want));
    assert_eq!(
        FunctionTable::default()
            .render_tfvars()
            .map_err(|e| e.to_string())
            .as_deref(),
        Ok("{\n  \"routes\": {}\n}\n")
    );
}

#[test]
fn json_list() {
    let health = sample().get("health").cloned().into_iter().collect();
    let got = table_of(health).render_json().map_err(|e| e.to_string());
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
    "timeout": 10,
    "dynamodb_actions": []
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

#[test]
fn dynamodb_access() {
    let f = |access: Value| with(api("GET /x"), "dynamodb", access);
    check(f(json!(["GetItem", "Query"])), Ok("GET /x"));
    check(f(json!([])), Ok("GET /x"));
    for (access, message) in [
        (
            json!(["Scan"]),
            "[package.metadata.function].dynamodb[0]: expected one of \"GetItem\", \"PutItem\", \
             \"UpdateItem\", \"DeleteItem\", \"Query\", \"BatchGetItem\", got the string \"Scan\"",
        ),
        (
            json!(["Query", "Query"]),
            "[package.metadata.function].dynamodb[1]: \"Query\" is listed twice",
        ),
        (
            json!("GetItem"),
            "[package.metadata.function].dynamodb: expected an array of \"GetItem\", \
             \"PutItem\", \"UpdateItem\", \"DeleteItem\", \"Query\", \"BatchGetItem\", got the \
             string \"GetItem\"",
        ),
    ] {
        let want = format!("crate `f`: {message}");
        check(f(access), Err(&[want.as_str()]));
    }
}

#[test]
fn tfvars_round_trip() {
    let table = sample();
    let text = match table.render_tfvars() {
        Ok(text) => text,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(FunctionTable::from_tfvars(&text), Ok(table));
    let edited = text.replace("\"dynamodb:BatchGetItem\"", "\"dynamodb:Query\"");
    assert!(FunctionTable::from_tfvars(&edited).is_ok());
    let unknown_action = text.replace("\"dynamodb:BatchGetItem\"", "\"dynamodb:Scan\"");
    assert!(FunctionTable::from_tfvars(&unknown_action).is_err());
    let broken = text.replace("\"method\": \"GET\"", "\"method\": \"POST\"");
    assert!(
        FunctionTable::from_tfvars(&broken).is_err_and(|e| e.contains("do not match route_key")),
    );
    let unknown = text.replace("\"memory\"", "\"memory_mb\"");
    assert!(FunctionTable::from_tfvars(&unknown).is_err());
}
