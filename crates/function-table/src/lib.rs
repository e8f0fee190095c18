//! The project's own data model, owned here and nowhere else: the function table.
//!
//! Each crate under `crates/functions/` states once, in its `Cargo.toml`, what it is:
//!
//! ```toml
//! [package.metadata.function]
//! route = "GET /notes/{id}"   # what invokes it: an HTTP route of the API
//! auth = "jwt"                # the JWT authorizer checks a Cognito token ("none": public)
//! scopes = []                 # OAuth scopes the route requires (any one of them)
//! groups = []                 # Cognito groups the function requires
//! memory = 128                # MB
//! timeout = 10                # s
//! dynamodb = ["GetItem"]      # what it may do with the notes table (see `DynamoAccess`)
//! ```
//!
//! [`FunctionTable`] is that table, read from `cargo metadata` ([`metadata`]) and validated with
//! every problem reported at once. Everything else is derived from it through this crate:
//! `cargo xtask routes` (a text table and `--json`), `IaC/routes.auto.tfvars.json` (Terraform's
//! `var.routes`, [`tfvars`], which also reads the file back), the local gateway's route
//! matching ([`matcher`]), and the tests that check Terraform's result against the table.
//! The `packages.json` manifest `cargo xtask package` writes and `deploy` reads, and the
//! architecture it was built for, live in [`packages`].
//!
//! What invokes a function is a [`Trigger`]; an HTTP route is the one kind today, and another
//! kind (a Cognito trigger, say) is another variant of it, in the same table.

pub mod matcher;
pub mod metadata;
pub mod packages;
pub mod route;
pub mod tfvars;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::fmt;
use std::ops::RangeInclusive;

pub use crate::matcher::{Matched, RouteTable};
pub use crate::metadata::Problem;
pub use crate::packages::{Arch, Manifest, ManifestError, Package};
pub use crate::route::{Auth, Method, Route, check_path, parse_route_key};

/// Where the generated Terraform variables live, relative to the workspace root.
pub const TFVARS_PATH: &str = "IaC/routes.auto.tfvars.json";

/// The directory (relative to the workspace root) whose direct children are function crates;
/// each of them must declare `[package.metadata.function]`.
pub const FUNCTIONS_DIR: &str = "crates/functions";

/// The `Cargo.toml` table a function crate declares itself in.
pub const METADATA_TABLE: &str = "package.metadata.function";

/// Allowed Lambda memory sizes in MB (AWS's limits).
pub const MEMORY_MB: RangeInclusive<u64> = 128..=10_240;

/// Allowed Lambda timeouts in seconds (AWS's limits).
pub const TIMEOUT_S: RangeInclusive<u64> = 1..=900;

/// The keys `[package.metadata.function]` accepts; any other key is an error.
pub const KEYS: [&str; 7] = [
    "route", "auth", "scopes", "groups", "memory", "timeout", "dynamodb",
];

/// One thing a function may do with the notes table, as `dynamodb = [...]` spells it: the
/// DynamoDB operation's name, which is also its IAM action (`dynamodb:<name>`) in the function's
/// role policy (`IaC/modules/route`), on the notes table only.
///
/// A transaction (`TransactWriteItems`) needs the actions of its items: the store's create is a
/// `PutItem` and an `UpdateItem` (the counter), its delete a `DeleteItem` and an `UpdateItem`
/// ("Using IAM with DynamoDB transactions").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DynamoAccess {
    /// `dynamodb:GetItem`: read one note.
    GetItem,
    /// `dynamodb:PutItem`: create or replace a note.
    PutItem,
    /// `dynamodb:UpdateItem`: move a counter.
    UpdateItem,
    /// `dynamodb:DeleteItem`: delete a note.
    DeleteItem,
    /// `dynamodb:Query`: a page of an owner's notes.
    Query,
    /// `dynamodb:BatchGetItem`: read the counters.
    BatchGetItem,
}

impl DynamoAccess {
    /// Every access, in declaration order.
    pub const ALL: [Self; 6] = [
        Self::GetItem,
        Self::PutItem,
        Self::UpdateItem,
        Self::DeleteItem,
        Self::Query,
        Self::BatchGetItem,
    ];

    /// The spelling in `Cargo.toml`: the operation's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GetItem => "GetItem",
            Self::PutItem => "PutItem",
            Self::UpdateItem => "UpdateItem",
            Self::DeleteItem => "DeleteItem",
            Self::Query => "Query",
            Self::BatchGetItem => "BatchGetItem",
        }
    }

    /// Parses the `Cargo.toml` spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }

    /// The IAM action it grants.
    pub fn iam_action(self) -> String {
        format!("dynamodb:{}", self.as_str())
    }
}

impl fmt::Display for DynamoAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What invokes a function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// An HTTP route of the API, behind API Gateway.
    Http(Route),
}

/// One function crate's validated `[package.metadata.function]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    /// The function's name: its package name, its binary's name, and the Lambda function's
    /// base name.
    pub name: String,
    /// What invokes it.
    pub trigger: Trigger,
    /// Lambda memory size in MB.
    pub memory: u32,
    /// Lambda timeout in seconds.
    pub timeout: u32,
    /// What it may do with the notes table.
    pub dynamodb: BTreeSet<DynamoAccess>,
}

impl Function {
    /// The HTTP route that invokes it, if that is its trigger.
    pub fn route(&self) -> Option<&Route> {
        match &self.trigger {
            Trigger::Http(route) => Some(route),
        }
    }

    /// The IAM actions its role may use on the notes table, sorted.
    pub fn dynamodb_actions(&self) -> Vec<String> {
        let mut actions: Vec<String> = self.dynamodb.iter().map(|a| a.iam_action()).collect();
        actions.sort_unstable();
        actions
    }
}

/// The validated function table: every function, HTTP routes sorted by path, then method,
/// then name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FunctionTable {
    functions: Vec<Function>,
}

impl FunctionTable {
    /// A table of already validated functions (sorted as [`FunctionTable`] documents).
    ///
    /// # Errors
    /// [`TableError::Invalid`] when two functions share a name or a route.
    pub fn new(functions: Vec<Function>) -> Result<Self, TableError> {
        let mut functions = functions;
        functions.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
        let problems = metadata::conflicts(&functions);
        if problems.is_empty() {
            Ok(Self { functions })
        } else {
            Err(TableError::Invalid(problems))
        }
    }

    /// Every function, in table order.
    pub fn functions(&self) -> &[Function] {
        &self.functions
    }

    /// The function called `name`.
    pub fn get(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.name == name)
    }

    /// Every function's name, in table order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.functions.iter().map(|f| f.name.as_str())
    }

    /// Every HTTP route with its function, in table order.
    pub fn routes(&self) -> impl Iterator<Item = (&Function, &Route)> {
        self.functions
            .iter()
            .filter_map(|f| f.route().map(|r| (f, r)))
    }
}

fn sort_key(f: &Function) -> (Option<(&str, Method)>, &str) {
    (f.route().map(|r| (r.path.as_str(), r.method)), &f.name)
}

/// Why the function table could not be built, read or rendered.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The text given as `cargo metadata` output is not what cargo prints.
    #[error("unexpected `cargo metadata --format-version 1` output: {0}")]
    Metadata(String),
    /// One or more crates declare invalid metadata; every problem is listed.
    #[error("invalid function metadata (fix the Cargo.toml files named below):{}", list(.0))]
    Invalid(Vec<Problem>),
    /// The generated routes file could not be read.
    #[error("cannot read {path}: {cause}; run `cargo xtask routes --write` to generate it")]
    Read {
        /// The file.
        path: String,
        /// Why.
        cause: String,
    },
    /// The generated routes file is not what `cargo xtask routes --write` writes.
    #[error(
        "{path} is not a routes file: {cause}; regenerate it with `cargo xtask routes --write`"
    )]
    Tfvars {
        /// The file.
        path: String,
        /// What is wrong.
        cause: String,
    },
    /// Serializing the output failed (not expected to happen with these types).
    #[error("could not render the function table as JSON: {0}")]
    Render(#[from] serde_json::Error),
}

/// Formats problems as an indented list for [`TableError::Invalid`].
fn list(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("\n  - {p}")).collect()
}
