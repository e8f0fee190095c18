//! The routes the bench drives, as flat values: a view of the function table (read by
//! `function_table` from `IaC/routes.auto.tfvars.json`), which the bench may relabel (the
//! Python comparison runs `GET /me` as `me-python`).

use std::path::Path;

use function_table::{FunctionTable, TableError};

/// One HTTP route and its function's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The function (binary) name, or the bench's label for a comparison runtime.
    pub function: String,
    /// `METHOD /path`.
    pub route_key: String,
    /// `jwt` or `none`.
    pub auth: String,
    /// OAuth scopes the route requires.
    pub scopes: Vec<String>,
    /// Cognito groups the function requires.
    pub groups: Vec<String>,
    /// Memory in MB.
    pub memory: u32,
    /// Timeout in seconds.
    pub timeout: u32,
    /// Whether the function may use the notes table, and so links the AWS SDK (a tidy test
    /// keeps the SDK out of every other function).
    pub uses_table: bool,
}

impl Route {
    /// Whether the JWT authorizer guards this route.
    #[must_use]
    pub fn needs_jwt(&self) -> bool {
        self.auth == "jwt"
    }
}

/// Every HTTP route of the table at `path`, in table order.
///
/// # Errors
/// The table's error, naming the file and what to do.
pub fn load(path: &Path) -> Result<Vec<Route>, TableError> {
    let table = FunctionTable::load_tfvars(path)?;
    Ok(table
        .routes()
        .map(|(function, route)| Route {
            function: function.name.clone(),
            route_key: route.route_key(),
            auth: route.auth.to_string(),
            scopes: route.scopes.clone(),
            groups: route.groups.clone(),
            memory: function.memory,
            timeout: function.timeout,
            uses_table: !function.dynamodb.is_empty(),
        })
        .collect())
}
