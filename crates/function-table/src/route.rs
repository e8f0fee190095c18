//! Route keys: the HTTP method, the path grammar API Gateway (HTTP API) accepts, and the
//! authorizer settings of one route.
//!
//! The one parser of route keys in the workspace: [`parse_route_key`] reads `METHOD /path` for
//! the function table (from `Cargo.toml`) and for the generated `IaC/routes.auto.tfvars.json`
//! alike, so every reader accepts exactly what Terraform is given.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// An HTTP method as API Gateway (HTTP API) route keys spell it.
///
/// The declaration order is the sort order of the route table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// An HTTP route: the route key and what API Gateway's JWT authorizer requires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
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
}

impl Route {
    /// The API Gateway route key, e.g. `GET /notes/{id}`.
    pub fn route_key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Whether the JWT authorizer guards this route.
    pub fn needs_jwt(&self) -> bool {
        self.auth == Auth::Jwt
    }
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

/// A path with parameter names erased: `/notes/{id}` → `/notes/{}`, `/f/{p+}` → `/f/{+}`.
pub fn path_shape(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment.strip_prefix('{') {
            Some(inner) if inner.ends_with("+}") => "{+}",
            Some(_) => "{}",
            None => segment,
        })
        .collect::<Vec<_>>()
        .join("/")
}
