//! The route table and API Gateway's route matching.
//!
//! The table is `IaC/routes.auto.tfvars.json`, the file `cargo xtask routes --write` generates
//! from the function crates' `[package.metadata.api]` (and a test keeps current), so the local
//! gateway and Terraform read the same list. Matching follows HTTP API's rules: the method must
//! equal the route's (or the route is `ANY`), literal segments beat `{param}` segments, which
//! beat a trailing `{proxy+}`; `$default` catches what nothing else does.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;

/// One route: the function behind it and what the authorizer requires.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Route {
    /// The function (crate) name, which is also its binary's name.
    #[serde(skip)]
    pub function: String,
    /// `METHOD /path`, or `$default`.
    pub route_key: String,
    /// `auth = "jwt"` or `"none"`.
    pub auth: String,
    /// OAuth scopes the route requires (any one of them, as API Gateway checks).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Cognito groups the function requires (the function checks them; listed for the banner).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Memory in MB (Lambda's `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`).
    pub memory: u32,
    /// Timeout in seconds.
    pub timeout: u32,
}

impl Route {
    /// Whether the JWT authorizer guards this route.
    #[must_use]
    pub fn needs_jwt(&self) -> bool {
        self.auth == "jwt"
    }
}

/// Why the route table cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RoutesError {
    /// The file could not be read.
    #[error("cannot read {path}: {cause}; run `cargo xtask routes --write` to generate it")]
    Read {
        /// The file.
        path: String,
        /// Why.
        cause: String,
    },
    /// The file is not the generated shape.
    #[error(
        "{path} is not a routes file: {cause}; regenerate it with `cargo xtask routes --write`"
    )]
    Json {
        /// The file.
        path: String,
        /// Why.
        cause: String,
    },
    /// A route key is not `METHOD /path` or `$default`.
    #[error("route `{route_key}` of {function}: {cause}")]
    Invalid {
        /// The function.
        function: String,
        /// Its route key.
        route_key: String,
        /// What is wrong.
        cause: String,
    },
    /// Two functions claim the same route.
    #[error("route `{route_key}` is declared by both {first} and {second}")]
    Duplicate {
        /// The route key.
        route_key: String,
        /// One function.
        first: String,
        /// The other.
        second: String,
    },
}

#[derive(Deserialize)]
struct RoutesFile {
    routes: BTreeMap<String, Route>,
}

/// A path segment pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
}

#[derive(Clone, Debug)]
struct Compiled {
    method: Option<String>,
    segments: Vec<Segment>,
    route: Route,
}

/// A matched route with its path parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matched<'a> {
    /// The route.
    pub route: &'a Route,
    /// `{name}` → the decoded segment (for `{proxy+}`, the rest of the path).
    pub path_parameters: HashMap<String, String>,
}

/// The compiled route table.
#[derive(Clone, Debug, Default)]
pub struct RouteTable {
    routes: Vec<Compiled>,
    default: Option<Route>,
}

impl RouteTable {
    /// Reads the generated routes file.
    ///
    /// # Errors
    /// A [`RoutesError`] naming the file and what to do.
    pub fn load(path: &Path) -> Result<Self, RoutesError> {
        let text = std::fs::read_to_string(path).map_err(|e| RoutesError::Read {
            path: path.display().to_string(),
            cause: e.to_string(),
        })?;
        let file: RoutesFile = serde_json::from_str(&text).map_err(|e| RoutesError::Json {
            path: path.display().to_string(),
            cause: e.to_string(),
        })?;
        Self::new(
            file.routes
                .into_iter()
                .map(|(function, route)| Route { function, ..route }),
        )
    }

    /// Compiles routes.
    ///
    /// # Errors
    /// [`RoutesError::Invalid`] or [`RoutesError::Duplicate`].
    pub fn new(routes: impl IntoIterator<Item = Route>) -> Result<Self, RoutesError> {
        let mut table = Self::default();
        let mut seen: HashMap<String, String> = HashMap::new();
        for route in routes {
            if let Some(first) = seen.insert(route.route_key.clone(), route.function.clone()) {
                return Err(RoutesError::Duplicate {
                    route_key: route.route_key.clone(),
                    first,
                    second: route.function.clone(),
                });
            }
            if route.route_key == "$default" {
                table.default = Some(route);
                continue;
            }
            let invalid = |cause: &str| RoutesError::Invalid {
                function: route.function.clone(),
                route_key: route.route_key.clone(),
                cause: cause.to_owned(),
            };
            let Some((method, path)) = route.route_key.split_once(' ') else {
                return Err(invalid("expected `METHOD /path` or `$default`"));
            };
            if !path.starts_with('/') {
                return Err(invalid("the path must start with `/`"));
            }
            let mut segments = Vec::new();
            let parts: Vec<&str> = path.split('/').skip(1).filter(|s| !s.is_empty()).collect();
            for (i, part) in parts.iter().enumerate() {
                let segment = if let Some(name) =
                    part.strip_prefix('{').and_then(|p| p.strip_suffix("+}"))
                {
                    if i + 1 != parts.len() {
                        return Err(invalid("a greedy `{name+}` must be the last segment"));
                    }
                    Segment::Greedy(name.to_owned())
                } else if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}'))
                {
                    Segment::Param(name.to_owned())
                } else {
                    Segment::Literal((*part).to_owned())
                };
                segments.push(segment);
            }
            let method = (method != "ANY").then(|| method.to_owned());
            table.routes.push(Compiled {
                method,
                segments,
                route,
            });
        }
        Ok(table)
    }

    /// Every route, `$default` last.
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.routes
            .iter()
            .map(|c| &c.route)
            .chain(self.default.as_ref())
    }

    /// The route API Gateway would pick for `method` and `path` (the raw path, percent-encoded
    /// as sent), or `None` (API Gateway's 404).
    #[must_use]
    pub fn find(&self, method: &str, path: &str) -> Option<Matched<'_>> {
        let parts: Vec<&str> = path.split('/').skip(1).filter(|s| !s.is_empty()).collect();
        let mut best: Option<(Vec<u8>, Matched<'_>)> = None;
        for compiled in &self.routes {
            if compiled.method.as_deref().is_some_and(|m| m != method) {
                continue;
            }
            let Some((mut rank, path_parameters)) = match_segments(&compiled.segments, &parts)
            else {
                continue;
            };
            // An exact method beats ANY at equal path specificity.
            rank.push(u8::from(compiled.method.is_some()));
            if best.as_ref().is_none_or(|(b, _)| rank > *b) {
                best = Some((
                    rank,
                    Matched {
                        route: &compiled.route,
                        path_parameters,
                    },
                ));
            }
        }
        best.map(|(_, m)| m).or_else(|| {
            self.default.as_ref().map(|route| Matched {
                route,
                path_parameters: HashMap::new(),
            })
        })
    }
}

/// Matches segment patterns against path parts; the rank compares specificity segment by
/// segment (literal 3 > param 2 > greedy 1).
fn match_segments(
    segments: &[Segment],
    parts: &[&str],
) -> Option<(Vec<u8>, HashMap<String, String>)> {
    let mut rank = Vec::with_capacity(segments.len());
    let mut params = HashMap::new();
    for (i, segment) in segments.iter().enumerate() {
        match segment {
            Segment::Literal(literal) => {
                if parts.get(i).map(|p| decode(p)) != Some(literal.clone()) {
                    return None;
                }
                rank.push(3);
            }
            Segment::Param(name) => {
                params.insert(name.clone(), decode(parts.get(i)?));
                rank.push(2);
            }
            Segment::Greedy(name) => {
                let rest = parts.get(i..).filter(|r| !r.is_empty())?;
                params.insert(name.clone(), decode(&rest.join("/")));
                rank.push(1);
                return Some((rank, params));
            }
        }
    }
    (parts.len() == segments.len()).then_some((rank, params))
}

/// Percent-decodes a path segment (invalid escapes are kept as they are).
#[must_use]
pub fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = segment.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(function: &str, key: &str) -> Route {
        Route {
            function: function.to_owned(),
            route_key: key.to_owned(),
            auth: "jwt".to_owned(),
            scopes: Vec::new(),
            groups: Vec::new(),
            memory: 128,
            timeout: 10,
        }
    }

    fn table(keys: &[(&str, &str)]) -> RouteTable {
        match RouteTable::new(keys.iter().map(|(f, k)| route(f, k))) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    fn check(table: &RouteTable, method: &str, path: &str, want: Option<(&str, &[(&str, &str)])>) {
        let found = table.find(method, path);
        let got = found.as_ref().map(|m| {
            let mut params: Vec<(String, String)> = m
                .path_parameters
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            params.sort();
            (m.route.function.clone(), params)
        });
        let want = want.map(|(f, params)| {
            let mut params: Vec<(String, String)> = params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            params.sort();
            (f.to_owned(), params)
        });
        assert_eq!(got, want, "{method} {path}");
    }

    #[test]
    fn matches_like_api_gateway() {
        let t = table(&[
            ("list", "GET /notes"),
            ("get", "GET /notes/{id}"),
            ("special", "GET /notes/special"),
            ("any", "ANY /notes/{id}"),
            ("files", "GET /files/{path+}"),
            ("fallback", "$default"),
        ]);
        check(&t, "GET", "/notes", Some(("list", &[])));
        check(&t, "GET", "/notes/", Some(("list", &[])));
        check(&t, "GET", "/notes/abc", Some(("get", &[("id", "abc")])));
        check(&t, "GET", "/notes/special", Some(("special", &[])));
        check(&t, "DELETE", "/notes/abc", Some(("any", &[("id", "abc")])));
        check(&t, "GET", "/notes/a%20b", Some(("get", &[("id", "a b")])));
        check(
            &t,
            "GET",
            "/files/a/b/c.txt",
            Some(("files", &[("path", "a/b/c.txt")])),
        );
        check(&t, "GET", "/files", Some(("fallback", &[])));
        check(&t, "POST", "/notes", Some(("fallback", &[])));
        check(&t, "GET", "/notes/a/b", Some(("fallback", &[])));
    }

    #[test]
    fn without_default_unmatched_is_none() {
        let t = table(&[("get", "GET /notes/{id}")]);
        check(&t, "GET", "/other", None);
        check(&t, "get", "/notes/x", None);
    }

    #[test]
    fn rejects_bad_tables() {
        for keys in [
            &[("a", "GET notes")][..],
            &[("a", "/notes")],
            &[("a", "GET /{p+}/x")],
            &[("a", "GET /x"), ("b", "GET /x")],
        ] {
            assert!(
                RouteTable::new(keys.iter().map(|(f, k)| route(f, k))).is_err(),
                "{keys:?}"
            );
        }
    }

    #[test]
    fn the_committed_routes_file_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../IaC/routes.auto.tfvars.json");
        let t = match RouteTable::load(&path) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        };
        check(&t, "GET", "/health", Some(("health", &[])));
        let found = t.find("GET", "/notes/01J0000000000000000000000A");
        assert_eq!(found.map(|m| m.route.function.as_str()), Some("get-note"));
        assert!(t.routes().all(|r| r.timeout > 0 && r.memory >= 128));
    }
}
