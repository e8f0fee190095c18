//! The function table's JSON forms: `IaC/routes.auto.tfvars.json` (Terraform's `var.routes`),
//! the list `cargo xtask routes --json` prints, the text table `cargo xtask routes` prints, and
//! reading the tfvars file back (the local gateway and the tests do) through the same
//! validation a `Cargo.toml` gets.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::route::{Auth, Method};
use crate::{DynamoAccess, Function, FunctionTable, TableError, metadata};

/// One function as Terraform's `var.routes` sees it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TfRoute {
    route_key: String,
    method: Method,
    path: String,
    auth: Auth,
    scopes: Vec<String>,
    groups: Vec<String>,
    memory: u32,
    timeout: u32,
    /// The IAM actions on the notes table, sorted.
    dynamodb_actions: Vec<String>,
}

impl TfRoute {
    fn of(function: &Function) -> Option<Self> {
        let route = function.route()?;
        Some(Self {
            route_key: route.route_key(),
            method: route.method,
            path: route.path.clone(),
            auth: route.auth,
            scopes: route.scopes.clone(),
            groups: route.groups.clone(),
            memory: function.memory,
            timeout: function.timeout,
            dynamodb_actions: function.dynamodb_actions(),
        })
    }

    /// The entry as the `[package.metadata.function]` table it was generated from.
    fn as_metadata(&self) -> Result<Value, String> {
        let mut dynamodb = Vec::new();
        for action in &self.dynamodb_actions {
            let access = DynamoAccess::ALL
                .into_iter()
                .find(|a| a.iam_action() == *action)
                .ok_or_else(|| format!("unknown DynamoDB action {action:?}"))?;
            dynamodb.push(access.as_str());
        }
        Ok(json!({
            "route": self.route_key,
            "auth": self.auth.as_str(),
            "scopes": self.scopes,
            "groups": self.groups,
            "memory": self.memory,
            "timeout": self.timeout,
            "dynamodb": dynamodb,
        }))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    routes: BTreeMap<String, TfRoute>,
}

impl FunctionTable {
    /// Renders `IaC/routes.auto.tfvars.json`: `{"routes": {"<function>": {...}}}`, functions
    /// in name order, fields in a fixed order, pretty-printed, ending with a newline.
    ///
    /// # Errors
    /// [`TableError::Render`] (not expected with these types).
    pub fn render_tfvars(&self) -> Result<String, TableError> {
        let file = File {
            routes: self
                .functions()
                .iter()
                .filter_map(|f| TfRoute::of(f).map(|r| (f.name.clone(), r)))
                .collect(),
        };
        Ok(serde_json::to_string_pretty(&file)? + "\n")
    }

    /// Renders the table as a pretty JSON array (what `cargo xtask routes --json` prints),
    /// each item the fields of the tfvars entry plus `function`; ends with a newline.
    ///
    /// # Errors
    /// [`TableError::Render`] (not expected with these types).
    pub fn render_json(&self) -> Result<String, TableError> {
        #[derive(Serialize)]
        struct Item<'a> {
            function: &'a str,
            #[serde(flatten)]
            route: TfRoute,
        }
        let items: Vec<Item<'_>> = self
            .functions()
            .iter()
            .filter_map(|f| {
                TfRoute::of(f).map(|route| Item {
                    function: &f.name,
                    route,
                })
            })
            .collect();
        Ok(serde_json::to_string_pretty(&items)? + "\n")
    }

    /// Renders the table as aligned text, one line per function, with a header.
    pub fn render_table(&self) -> String {
        let header = [
            "FUNCTION",
            "ROUTE",
            "AUTH",
            "SCOPES",
            "GROUPS",
            "MEMORY (MB)",
            "TIMEOUT (s)",
            "DYNAMODB",
        ]
        .map(str::to_owned);
        let rows: Vec<[String; 8]> = self
            .routes()
            .map(|(f, r)| {
                [
                    f.name.clone(),
                    r.route_key(),
                    r.auth.to_string(),
                    join_or_dash(r.scopes.iter().map(String::as_str)),
                    join_or_dash(r.groups.iter().map(String::as_str)),
                    f.memory.to_string(),
                    f.timeout.to_string(),
                    join_or_dash(f.dynamodb.iter().map(|a| a.as_str())),
                ]
            })
            .collect();
        let mut widths = [0; 8];
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

    /// Reads the generated tfvars file back, held to the rules of `[package.metadata.function]`
    /// and to the file's own shape (no unknown fields; `method` and `path` agree with
    /// `route_key`).
    ///
    /// # Errors
    /// [`TableError::Read`] or [`TableError::Tfvars`], naming the file and what to do.
    pub fn load_tfvars(path: &Path) -> Result<Self, TableError> {
        let text = std::fs::read_to_string(path).map_err(|e| TableError::Read {
            path: path.display().to_string(),
            cause: e.to_string(),
        })?;
        Self::from_tfvars(&text).map_err(|cause| TableError::Tfvars {
            path: path.display().to_string(),
            cause,
        })
    }

    /// [`FunctionTable::load_tfvars`] for text; the error says what is wrong.
    ///
    /// # Errors
    /// A message naming the function and field at fault.
    pub fn from_tfvars(text: &str) -> Result<Self, String> {
        let file: File = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut functions = Vec::with_capacity(file.routes.len());
        let mut problems = Vec::new();
        for (name, entry) in &file.routes {
            let table = entry
                .as_metadata()
                .map_err(|e| format!("function `{name}`: {e}"))?;
            match metadata::parse_function(name, &table) {
                Ok(function) => {
                    let consistent = function
                        .route()
                        .is_some_and(|r| r.method == entry.method && r.path == entry.path);
                    if !consistent {
                        return Err(format!(
                            "function `{name}`: `method` and `path` do not match route_key {:?}",
                            entry.route_key
                        ));
                    }
                    functions.push(function);
                }
                Err(mut found) => problems.append(&mut found),
            }
        }
        if !problems.is_empty() {
            return Err(problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "));
        }
        Self::new(functions).map_err(|e| e.to_string())
    }
}

fn join_or_dash<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.collect();
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(",")
    }
}
