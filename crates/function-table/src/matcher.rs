//! API Gateway's route matching, for the local gateway: the method must equal the route's (or
//! the route is `ANY`), literal segments beat `{param}` segments, which beat a trailing
//! `{proxy+}`; an exact method beats `ANY` at equal specificity. Request paths are matched with
//! empty segments dropped (`/notes/` is `/notes`), each segment percent-decoded.
//!
//! The routes are the function table's, already validated by [`crate::route::check_path`], so
//! compiling them cannot fail.

use std::collections::HashMap;

use crate::{Function, FunctionTable, Method, Route};

/// A path segment pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
}

#[derive(Clone, Debug)]
struct Compiled {
    method: Option<Method>,
    segments: Vec<Segment>,
    function: Function,
}

/// A matched route with its path parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matched<'a> {
    /// The function behind the route.
    pub function: &'a Function,
    /// Its route.
    pub route: &'a Route,
    /// `{name}` → the decoded segment (for `{proxy+}`, the rest of the path).
    pub path_parameters: HashMap<String, String>,
}

/// The compiled route table.
#[derive(Clone, Debug, Default)]
pub struct RouteTable {
    routes: Vec<Compiled>,
}

impl RouteTable {
    /// Compiles the HTTP routes of `table`.
    pub fn new(table: &FunctionTable) -> Self {
        let routes = table
            .routes()
            .map(|(function, route)| {
                let parts: Vec<&str> = route
                    .path
                    .split('/')
                    .skip(1)
                    .filter(|s| !s.is_empty())
                    .collect();
                let segments = parts
                    .iter()
                    .map(|part| {
                        if let Some(name) =
                            part.strip_prefix('{').and_then(|p| p.strip_suffix("+}"))
                        {
                            Segment::Greedy(name.to_owned())
                        } else if let Some(name) =
                            part.strip_prefix('{').and_then(|p| p.strip_suffix('}'))
                        {
                            Segment::Param(name.to_owned())
                        } else {
                            Segment::Literal((*part).to_owned())
                        }
                    })
                    .collect();
                Compiled {
                    method: (route.method != Method::Any).then_some(route.method),
                    segments,
                    function: function.clone(),
                }
            })
            .collect();
        Self { routes }
    }

    /// Every function with a route, in table order.
    pub fn functions(&self) -> impl Iterator<Item = &Function> {
        self.routes.iter().map(|c| &c.function)
    }

    /// The route API Gateway would pick for `method` and `path` (the raw path, percent-encoded
    /// as sent), or `None` (API Gateway's 404).
    #[must_use]
    pub fn find(&self, method: &str, path: &str) -> Option<Matched<'_>> {
        let parts: Vec<&str> = path.split('/').skip(1).filter(|s| !s.is_empty()).collect();
        let mut best: Option<(Vec<u8>, Matched<'_>)> = None;
        for compiled in &self.routes {
            if compiled.method.is_some_and(|m| m.as_str() != method) {
                continue;
            }
            let Some((mut rank, path_parameters)) = match_segments(&compiled.segments, &parts)
            else {
                continue;
            };
            // An exact method beats ANY at equal path specificity.
            rank.push(u8::from(compiled.method.is_some()));
            let Some(route) = compiled.function.route() else {
                continue;
            };
            if best.as_ref().is_none_or(|(b, _)| rank > *b) {
                best = Some((
                    rank,
                    Matched {
                        function: &compiled.function,
                        route,
                        path_parameters,
                    },
                ));
            }
        }
        best.map(|(_, m)| m)
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

    fn function(name: &str, key: &str) -> Result<Function, String> {
        let (method, path) = crate::parse_route_key(key)?;
        Ok(Function {
            name: name.to_owned(),
            trigger: crate::Trigger::Http(Route {
                method,
                path,
                auth: crate::Auth::Jwt,
                scopes: Vec::new(),
                groups: Vec::new(),
            }),
            memory: 128,
            timeout: 10,
            dynamodb: std::collections::BTreeSet::new(),
        })
    }

    fn function_table(keys: &[(&str, &str)]) -> Result<FunctionTable, String> {
        let functions = keys
            .iter()
            .map(|(f, k)| function(f, k))
            .collect::<Result<Vec<_>, _>>()?;
        FunctionTable::new(functions).map_err(|e| e.to_string())
    }

    fn table(keys: &[(&str, &str)]) -> RouteTable {
        match function_table(keys) {
            Ok(t) => RouteTable::new(&t),
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
            (m.function.name.clone(), params)
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
            // API Gateway's `$default` is not a route IaC/modules/route accepts; a catch-all
            // is `ANY /{proxy+}`, the least specific route there is.
            ("fallback", "ANY /{proxy+}"),
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
        check(
            &t,
            "GET",
            "/files",
            Some(("fallback", &[("proxy", "files")])),
        );
        check(
            &t,
            "POST",
            "/notes",
            Some(("fallback", &[("proxy", "notes")])),
        );
        check(
            &t,
            "GET",
            "/notes/a/b",
            Some(("fallback", &[("proxy", "notes/a/b")])),
        );
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
            assert!(function_table(keys).is_err(), "{keys:?}");
        }
    }

    #[test]
    fn the_committed_routes_file_loads() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../IaC/routes.auto.tfvars.json");
        let t = match FunctionTable::load_tfvars(&path) {
            Ok(t) => RouteTable::new(&t),
            Err(e) => panic!("{e}"),
        };
        check(&t, "GET", "/health", Some(("health", &[])));
        let found = t.find("GET", "/notes/01J0000000000000000000000A");
        assert_eq!(found.map(|m| m.function.name.as_str()), Some("get-note"));
        assert!(t.functions().all(|f| f.timeout > 0 && f.memory >= 128));
    }
}
