//! The document against what ships: its operations are exactly the route table
//! (`IaC/routes.auto.tfvars.json`, generated from the function crates), the bearer scheme is
//! required exactly on the `auth = "jwt"` routes, every route states the statuses its function
//! and the gateway answer, and what the functions really serialize validates against the
//! schemas.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value, json};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn doc() -> Value {
    let Ok(doc) = api_spec::to_value() else {
        panic!("the document serializes");
    };
    doc
}

/// `function → (METHOD, path, auth, scopes, groups)` from the generated route table.
fn route_table() -> BTreeMap<String, (String, String, String, Value, Value)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../IaC/routes.auto.tfvars.json");
    let table = match function_table::FunctionTable::load_tfvars(&path) {
        Ok(table) => table,
        Err(e) => panic!("{e}"),
    };
    table
        .routes()
        .map(|(function, route)| {
            (
                function.name.clone(),
                (
                    route.method.to_string(),
                    route.path.clone(),
                    route.auth.to_string(),
                    Value::from(route.scopes.clone()),
                    Value::from(route.groups.clone()),
                ),
            )
        })
        .collect()
}

/// Every operation of the document: `(METHOD, path) → operation`.
fn operations(doc: &Value) -> BTreeMap<(String, String), Value> {
    let Some(paths) = doc["paths"].as_object() else {
        panic!("the document has no paths");
    };
    let mut found = BTreeMap::new();
    for (path, item) in paths {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                found.insert((method.to_uppercase(), path.clone()), operation.clone());
            }
        }
    }
    found
}

#[test]
fn operations_are_exactly_the_route_table() {
    let doc = doc();
    let operations = operations(&doc);
    let routes = route_table();
    let documented: BTreeSet<_> = operations.keys().cloned().collect();
    let routed: BTreeSet<_> = routes
        .values()
        .map(|(method, path, ..)| (method.clone(), path.clone()))
        .collect();
    assert_eq!(
        documented, routed,
        "the operations of the document (left) must be exactly the routes of \
         IaC/routes.auto.tfvars.json (right): add or remove an operation in \
         crates/api-spec/src/operations.rs, then `cargo run -p api-spec -- --write`"
    );
    for (function, (method, path, ..)) in &routes {
        let operation = &operations[&(method.clone(), path.clone())];
        assert_eq!(
            operation["operationId"], *function,
            "{method} {path}: the operationId is the function's name"
        );
    }
}

#[test]
fn the_bearer_scheme_is_required_exactly_on_jwt_routes() {
    let doc = doc();
    let operations = operations(&doc);
    let scheme = &doc["components"]["securitySchemes"][api_spec::BEARER_SCHEME];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(scheme["bearerFormat"], "JWT");
    let description = scheme["description"].as_str().unwrap_or_default();
    assert!(
        description.contains("Cognito id token or access token"),
        "{description}"
    );
    for (function, (method, path, auth, scopes, _)) in route_table() {
        let operation = &operations[&(method.clone(), path.clone())];
        let requirements = operation["security"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let bearer: Vec<&Value> = requirements
            .iter()
            .filter_map(|r| r.get(api_spec::BEARER_SCHEME))
            .collect();
        match auth.as_str() {
            "jwt" => {
                assert_eq!(
                    requirements.len(),
                    1,
                    "{function}: exactly one security requirement"
                );
                assert_eq!(
                    bearer,
                    [&scopes],
                    "{function}: auth = \"jwt\" requires {} with the route's scopes",
                    api_spec::BEARER_SCHEME
                );
                assert!(
                    operation["responses"].get("401").is_some(),
                    "{function}: a jwt route answers 401"
                );
            }
            "none" => {
                assert!(
                    operation.get("security").is_none(),
                    "{function}: auth = \"none\" has no security requirement"
                );
                assert!(operation["responses"].get("401").is_none(), "{function}");
            }
            other => panic!("{function}: unknown auth {other:?}"),
        }
    }
    assert!(
        doc.get("security").is_none(),
        "no document-wide security: GET /health needs none"
    );
}

#[test]
fn every_route_states_its_statuses_parameters_and_headers() {
    let doc = doc();
    let operations = operations(&doc);
    for (function, (method, path, _, scopes, groups)) in route_table() {
        let operation = &operations[&(method.clone(), path.clone())];
        let responses = &operation["responses"];
        let has = |status: &str| responses.get(status).is_some();
        for status in ["500", "503"] {
            assert!(has(status), "{function}: {status}");
        }
        let forbidden = !scopes.as_array().is_none_or(Vec::is_empty)
            || !groups.as_array().is_none_or(Vec::is_empty);
        assert_eq!(
            has("403"),
            forbidden,
            "{function}: 403 iff groups or scopes"
        );
        for (status, response) in responses.as_object().into_iter().flatten() {
            if status.starts_with('4') && response.get("$ref").is_none() {
                assert_eq!(
                    response["content"][api_spec::PROBLEM_JSON]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{function} {status}: errors are application/problem+json"
                );
            }
        }
        let parameters = operation["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let parameter = |name: &str, place: &str| {
            parameters
                .iter()
                .find(|p| p["name"] == name && p["in"] == place)
                .cloned()
        };
        for segment in path.split('/') {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                let Some(p) = parameter(name, "path") else {
                    panic!("{function}: path parameter {name}");
                };
                assert_eq!(p["required"], true);
            }
        }
        if path.ends_with("{id}") {
            assert!(has("400") && has("404"), "{function}: bad and unknown ids");
        }
        match method.as_str() {
            "POST" => {
                let created = &responses["201"];
                assert!(created["headers"].get("Location").is_some(), "{function}");
                assert!(created["headers"].get("ETag").is_some(), "{function}");
            }
            "PUT" => {
                let Some(if_match) = parameter("If-Match", "header") else {
                    panic!("{function}: If-Match");
                };
                assert_eq!(if_match["required"], true, "{function}: If-Match required");
                for status in ["412", "428"] {
                    assert!(has(status), "{function}: {status}");
                }
                assert!(responses["200"]["headers"].get("ETag").is_some());
            }
            "DELETE" => {
                assert!(has("204"), "{function}");
                assert!(responses["204"].get("content").is_none(), "{function}");
            }
            _ => {}
        }
        if matches!(method.as_str(), "POST" | "PUT") {
            assert_eq!(operation["requestBody"]["required"], true, "{function}");
            for status in ["400", "413", "415"] {
                assert!(has(status), "{function}: {status}");
            }
        }
    }
    let get_note = &operations[&("GET".to_owned(), "/notes/{id}".to_owned())];
    assert!(
        get_note["responses"]["200"]["headers"]
            .get("ETag")
            .is_some()
    );
    let list = &operations[&("GET".to_owned(), "/notes".to_owned())];
    let parameters = list["parameters"].as_array().cloned().unwrap_or_default();
    let names: Vec<&Value> = parameters.iter().map(|p| &p["name"]).collect();
    assert_eq!(names, ["limit", "cursor"]);
    assert!(
        parameters
            .iter()
            .all(|p| p["in"] == "query" && p["required"] == false)
    );
}

#[test]
fn document_header_and_limits() {
    let doc = doc();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "notes-api");
    assert_eq!(doc["servers"][0]["url"], api_spec::LOCAL_SERVER_URL);
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["Limit"]["minimum"], 1);
    assert_eq!(schemas["Limit"]["maximum"], notes::list::MAX_LIMIT);
    assert_eq!(schemas["Limit"]["default"], notes::list::DEFAULT_LIMIT);
    assert_eq!(schemas["Cursor"]["maxLength"], notes::list::CURSOR_MAX_LEN);
    for schema in ["Note", "NoteInput"] {
        let properties = &schemas[schema]["properties"];
        assert_eq!(
            properties["body"]["maxLength"],
            notes::validate::BODY_MAX_BYTES,
            "{schema}"
        );
        assert_eq!(
            properties["tags"]["maxItems"],
            notes::validate::TAGS_MAX,
            "{schema}"
        );
    }
    assert_eq!(
        schemas["Note"]["properties"]["title"]["maxLength"],
        notes::validate::TITLE_MAX_CHARS
    );
    let body_limit = http_api::MAX_BODY_BYTES.to_string();
    for (key, operation) in operations(&doc) {
        if let Some(description) = operation["requestBody"]["description"].as_str() {
            assert!(description.contains(&body_limit), "{key:?}: {description}");
        }
    }
}

/// A small JSON Schema check for the keywords this document uses: `$ref`, `type`, `enum`,
/// `oneOf`, `properties`, `required`, `additionalProperties: false`, `items`, `minLength`,
/// `maxLength`, `pattern`, `minimum`, `maximum`, `maxItems`, `uniqueItems`.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        let Some(name) = reference.strip_prefix("#/components/schemas/") else {
            errors.push(format!("{at}: unsupported $ref {reference}"));
            return;
        };
        check(doc, &doc["components"]["schemas"][name], value, at, errors);
        return;
    }
    if let Some(options) = schema["oneOf"].as_array() {
        let matching = options
            .iter()
            .filter(|option| {
                let mut inner = Vec::new();
                check(doc, option, value, at, &mut inner);
                inner.is_empty()
            })
            .count();
        if matching != 1 {
            errors.push(format!("{at}: {value} matches {matching} of oneOf"));
        }
        return;
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let type_of = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    if !types.is_empty() && !types.contains(&type_of) {
        errors.push(format!("{at}: {value} is not {types:?}"));
        return;
    }
    if let Some(values) = schema["enum"].as_array()
        && !values.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {values:?}"));
    }
    match value {
        Value::String(text) => {
            let chars = text.chars().count();
            if schema["minLength"]
                .as_u64()
                .is_some_and(|min| (chars as u64) < min)
            {
                errors.push(format!("{at}: {text:?} is too short"));
            }
            if schema["maxLength"]
                .as_u64()
                .is_some_and(|max| (chars as u64) > max)
            {
                errors.push(format!("{at}: {text:?} is too long"));
            }
            if let Some(pattern) = schema["pattern"].as_str() {
                let Ok(regex) = regex_lite::Regex::new(pattern) else {
                    panic!("{at}: pattern {pattern:?} does not compile");
                };
                if !regex.is_match(text) {
                    errors.push(format!("{at}: {text:?} does not match {pattern}"));
                }
            }
        }
        Value::Number(n) => {
            let n = n.as_f64().unwrap_or(f64::NAN);
            if schema["minimum"].as_f64().is_some_and(|min| n < min) {
                errors.push(format!("{at}: {n} < minimum"));
            }
            if schema["maximum"].as_f64().is_some_and(|max| n > max) {
                errors.push(format!("{at}: {n} > maximum"));
            }
        }
        Value::Array(items) => {
            if schema["maxItems"]
                .as_u64()
                .is_some_and(|max| items.len() as u64 > max)
            {
                errors.push(format!("{at}: too many items"));
            }
            if schema["uniqueItems"] == true {
                let unique: BTreeSet<String> = items.iter().map(Value::to_string).collect();
                if unique.len() != items.len() {
                    errors.push(format!("{at}: duplicate items"));
                }
            }
            for (i, item) in items.iter().enumerate() {
                check(doc, &schema["items"], item, &format!("{at}[{i}]"), errors);
            }
        }
        Value::Object(members) => {
            for required in schema["required"].as_array().into_iter().flatten() {
                let name = required.as_str().unwrap_or_default();
                if !members.contains_key(name) {
                    errors.push(format!("{at}: missing required {name}"));
                }
            }
            let properties = schema["properties"].as_object();
            for (name, member) in members {
                match properties.and_then(|p| p.get(name)) {
                    Some(property) => {
                        check(doc, property, member, &format!("{at}.{name}"), errors);
                    }
                    // Every object of this document lists all its members.
                    None => errors.push(format!("{at}: {name} is not in the schema")),
                }
            }
        }
        _ => {}
    }
}

fn assert_valid(doc: &Value, schema: &str, value: &Value) {
    let mut errors = Vec::new();
    let reference = json!({ "$ref": format!("#/components/schemas/{schema}") });
    check(doc, &reference, value, schema, &mut errors);
    assert!(errors.is_empty(), "{value} against {schema}: {errors:#?}");
}

fn to_value(value: impl serde::Serialize) -> Value {
    let Ok(value) = serde_json::to_value(value) else {
        panic!("serializes");
    };
    value
}

fn sample_note(tags: &[&str]) -> notes::Note {
    let input = notes::NoteInput {
        title: "  Groceries  ".to_owned(),
        body: "milk\neggs".to_owned(),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
    };
    let Ok(content) = input.validate() else {
        panic!("a valid note");
    };
    let now = chrono::Utc::now();
    notes::Note::new(notes::NoteId::new(), content, now, now)
}

#[test]
fn what_the_functions_serialize_validates() {
    let doc = doc();
    let note = sample_note(&["home", "a-1"]);
    assert_valid(&doc, "Note", &to_value(&note));
    assert_valid(&doc, "Note", &to_value(sample_note(&[])));
    assert_valid(
        &doc,
        "Page",
        &to_value(notes::Page {
            items: vec![note.clone()],
            next_cursor: Some(notes::Cursor::after(note.id())),
        }),
    );
    assert_valid(
        &doc,
        "Page",
        &to_value(notes::Page {
            items: Vec::new(),
            next_cursor: None,
        }),
    );
    assert_valid(&doc, "NoteId", &to_value(note.id()));
    assert_valid(&doc, "Health", &to_value(http_api::Health::ok()));
    assert_valid(
        &doc,
        "AdminStats",
        &to_value(notes_http::AdminStats { notes: 7 }),
    );
    for (token_use, username, email) in [
        (
            cognito_claims::TokenUse::Id,
            Some("alice"),
            Some("a@example.com"),
        ),
        (cognito_claims::TokenUse::Access, None, None),
    ] {
        let claims = cognito_claims::CognitoClaims {
            sub: "3f8e2c1a-0b4d-4c6e-9a7b-1d2e3f4a5b6c".to_owned(),
            username: username.map(str::to_owned),
            email: email.map(str::to_owned),
            email_verified: email.map(|_| true),
            groups: vec!["admin".to_owned()],
            scopes: vec!["openid".to_owned()],
            token_use,
            client_id: "local-notes-client".to_owned(),
            auth_time: Some(1_700_000_000),
            exp: 1_700_003_600,
        };
        assert_valid(&doc, "Me", &to_value(http_api::Me::from(&claims)));
    }
    for problem in [
        http_api::Problem::validation("title", "must not be empty"),
        http_api::Problem::not_found("note not found"),
        http_api::Problem::precondition_required("send If-Match"),
        http_api::Problem::internal(),
    ] {
        assert_valid(&doc, "Problem", &to_value(problem));
    }
    assert_valid(
        &doc,
        "GatewayMessage",
        &json!({ "message": "Unauthorized" }),
    );
    assert_valid(
        &doc,
        "NoteInput",
        &json!({ "title": "t", "body": "", "tags": ["x"] }),
    );

    // And the checker does refuse what the functions refuse.
    let mut errors = Vec::new();
    let input = json!({ "$ref": "#/components/schemas/NoteInput" });
    for bad in [
        json!({ "title": "t" }),
        json!({ "title": "t", "body": "", "owner": "x" }),
        json!({ "title": "t", "body": "", "tags": ["UPPER"] }),
        json!({ "title": "t", "body": "", "tags": ["x", "x"] }),
    ] {
        check(&doc, &input, &bad, "NoteInput", &mut errors);
        assert!(!errors.is_empty(), "{bad} must not validate");
        errors.clear();
    }
}

#[test]
fn example_values_validate() {
    let doc = doc();
    let Some(schemas) = doc["components"]["schemas"].as_object() else {
        panic!("components.schemas");
    };
    for (name, schema) in schemas {
        for example in schema["examples"].as_array().into_iter().flatten() {
            assert_valid(&doc, name, example);
        }
    }
}

/// Every link of [`api_spec::LINKS`] is in the document, on a documented response, and names
/// an existing operation and only parameters that operation declares.
#[test]
fn links_join_real_operations_and_parameters() {
    let Ok(json) = api_spec::to_json() else {
        panic!("the document serializes");
    };
    for snake in ["operation_id", "operation_ref", "request_body"] {
        assert!(
            !json.contains(&format!("\"{snake}\"")),
            "a `{snake}` key is left: OpenAPI spells it in camel case"
        );
    }
    let doc = doc();
    let by_id: BTreeMap<String, Value> = operations(&doc)
        .into_values()
        .filter_map(|op| Some((op["operationId"].as_str()?.to_owned(), op)))
        .collect();
    for api_spec::NoteLink {
        from,
        status,
        name,
        to,
        parameters,
    } in api_spec::LINKS
    {
        let Some(source) = by_id.get(from) else {
            panic!("link {name}: no operation {from}");
        };
        let link = &source["responses"][status]["links"][name];
        assert_eq!(link["operationId"], to, "link {name} on {from} {status}");
        let Some(target) = by_id.get(to) else {
            panic!("link {name}: no operation {to}");
        };
        let declared: BTreeSet<String> = target["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let place = p["in"].as_str()?;
                let name = p["name"].as_str()?;
                Some(if place == "path" {
                    name.to_owned()
                } else {
                    format!("{place}.{name}")
                })
            })
            .collect();
        for (parameter, expression) in parameters {
            assert!(
                declared.contains(*parameter),
                "link {name}: {to} declares no parameter {parameter} (it has {declared:?})"
            );
            assert_eq!(link["parameters"][parameter], *expression, "link {name}");
        }
    }
}
