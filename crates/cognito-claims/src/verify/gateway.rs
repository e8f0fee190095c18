//! The string form in which API Gateway's JWT authorizer hands claims to a function.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Flattens JSON claims into API Gateway's `requestContext.authorizer.jwt.claims` form: strings
/// as they are, numbers and booleans as their JSON text (`"1657193758"`, `"true"`), arrays as
/// `[a b]` (items space separated, string items unquoted), objects as compact JSON; `null`
/// claims are left out.
#[must_use]
pub fn gateway_claims(claims: &Map<String, Value>) -> HashMap<String, String> {
    claims
        .iter()
        .filter_map(|(name, value)| Some((name.clone(), gateway_value(value)?)))
        .collect()
}

fn gateway_value(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        Value::Array(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|item| match item {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                })
                .collect();
            Some(format!("[{}]", items.join(" ")))
        }
        Value::Bool(_) | Value::Number(_) | Value::Object(_) => Some(value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn flattens_like_api_gateway() {
        fn check(value: Value, expected: Option<&str>) {
            let mut claims = Map::new();
            claims.insert("c".to_owned(), value.clone());
            let got = gateway_claims(&claims);
            assert_eq!(got.get("c").map(String::as_str), expected, "{value}");
        }
        check(json!("alice"), Some("alice"));
        check(json!(""), Some(""));
        check(json!(1_657_193_758), Some("1657193758"));
        check(json!(-3), Some("-3"));
        check(json!(1.5), Some("1.5"));
        check(json!(true), Some("true"));
        check(json!(false), Some("false"));
        check(json!(["admin", "users"]), Some("[admin users]"));
        check(json!(["admin"]), Some("[admin]"));
        check(json!([]), Some("[]"));
        check(json!(["a", 1, true]), Some("[a 1 true]"));
        check(json!({"k": "v"}), Some(r#"{"k":"v"}"#));
        check(Value::Null, None);
    }
}
