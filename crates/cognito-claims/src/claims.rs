//! [`CognitoClaims`]: the claims of a Cognito id or access token, parsed from the string map that
//! the API Gateway JWT authorizer puts in the payload-2.0 request context.

use std::collections::HashMap;
use std::fmt;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::{Deserialize, Serialize};

use crate::ClaimsError;

/// Which kind of Cognito token the claims come from (the `token_use` claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenUse {
    /// An OpenID Connect id token: carries `aud`, `cognito:username` and user attributes.
    Id,
    /// An OAuth 2.0 access token: carries `client_id`, `username` and `scope`.
    Access,
}

impl TokenUse {
    /// The claim value: `"id"` or `"access"`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Access => "access",
        }
    }

    /// Parses a `token_use` claim value; `None` for anything but `"id"` and `"access"`.
    #[must_use]
    pub fn from_claim(value: &str) -> Option<Self> {
        match value {
            "id" => Some(Self::Id),
            "access" => Some(Self::Access),
            _ => None,
        }
    }

    /// The claim that names the app client for this kind of token: `aud` for id tokens,
    /// `client_id` for access tokens.
    #[must_use]
    pub fn client_id_claim(self) -> &'static str {
        match self {
            Self::Id => "aud",
            Self::Access => "client_id",
        }
    }
}

impl fmt::Display for TokenUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The claims of a Cognito token that the application uses, with their real types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CognitoClaims {
    /// The user's stable, unique id (`sub`).
    pub sub: String,
    /// The user name: `cognito:username` (id tokens), else `username` (access tokens).
    pub username: Option<String>,
    /// The `email` attribute, when the token carries it.
    pub email: Option<String>,
    /// The `email_verified` attribute, when the token carries it.
    pub email_verified: Option<bool>,
    /// The user's groups (`cognito:groups`); empty when the user belongs to none.
    pub groups: Vec<String>,
    /// The OAuth scopes granted to the token; empty for id tokens.
    pub scopes: Vec<String>,
    /// Whether this is an id or an access token (`token_use`).
    pub token_use: TokenUse,
    /// The app client the token was issued to: `aud` (id tokens) or `client_id` (access tokens).
    pub client_id: String,
    /// When the user authenticated (`auth_time`), in seconds since the Unix epoch.
    pub auth_time: Option<i64>,
    /// When the token expires (`exp`), in seconds since the Unix epoch.
    pub exp: i64,
}

impl CognitoClaims {
    /// Reads the claims that API Gateway's JWT authorizer put in the request context
    /// (`requestContext.authorizer.jwt`, payload format 2.0).
    ///
    /// # Errors
    /// [`ClaimsError::MissingContext`] when the request has no JWT authorizer context (a route
    /// without the authorizer, or payload format 1.0), and the errors of
    /// [`CognitoClaims::from_parts`].
    pub fn from_request(req: &Request) -> Result<Self, ClaimsError> {
        let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() else {
            return Err(ClaimsError::MissingContext);
        };
        let jwt = ctx
            .authorizer
            .as_ref()
            .and_then(|authorizer| authorizer.jwt.as_ref())
            .ok_or(ClaimsError::MissingContext)?;
        Self::from_parts(&jwt.claims, jwt.scopes.as_deref())
    }

    /// Builds the claims from API Gateway's string form of the token's claims and, when the
    /// authorizer supplied one, its list of scopes.
    ///
    /// Scopes come from `scopes` when it is present and non-empty, otherwise from the `scope`
    /// claim split on spaces. `cognito:groups` is read by API Gateway's rule only (see
    /// [`parse_gateway_groups`]): `[admin users]` is the two groups `admin` and `users`, a value
    /// without the brackets is one group name; nothing in the value is ever parsed as JSON, so
    /// a group named `"admin"` (quotes included) is not the group `admin`.
    ///
    /// # Errors
    /// [`ClaimsError::MissingClaim`] when `sub`, `token_use`, `exp` or the client id (`aud` for
    /// id tokens, `client_id` for access tokens) is absent; [`ClaimsError::InvalidClaim`] when a
    /// claim has an unusable value (empty `sub`, `token_use` other than `id`/`access`,
    /// non-numeric `exp` or `auth_time`, `email_verified` other than `true`/`false`).
    pub fn from_parts(
        claims: &HashMap<String, String>,
        scopes: Option<&[String]>,
    ) -> Result<Self, ClaimsError> {
        let groups = claims
            .get("cognito:groups")
            .map(|value| parse_gateway_groups(value))
            .unwrap_or_default();
        Self::from_parts_with_groups(claims, scopes, groups)
    }

    /// [`CognitoClaims::from_parts`] with the groups already known as a list (the verifier has
    /// the token's JSON array); the `cognito:groups` entry of `claims` is not read. Empty names
    /// are dropped.
    pub(crate) fn from_parts_with_groups(
        claims: &HashMap<String, String>,
        scopes: Option<&[String]>,
        groups: Vec<String>,
    ) -> Result<Self, ClaimsError> {
        let sub = required_text(claims, "sub")?;
        let token_use = TokenUse::from_claim(required(claims, "token_use")?).ok_or(
            ClaimsError::InvalidClaim {
                claim: "token_use",
                expected: "`id` or `access`",
            },
        )?;
        let client_id = required_text(claims, token_use.client_id_claim())?;
        let exp = seconds(claims, "exp")?.ok_or(ClaimsError::MissingClaim { claim: "exp" })?;
        let auth_time = seconds(claims, "auth_time")?;
        let email_verified = match claims.get("email_verified").map(String::as_str) {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => {
                return Err(ClaimsError::InvalidClaim {
                    claim: "email_verified",
                    expected: "`true` or `false`",
                });
            }
        };
        let username =
            optional_text(claims, "cognito:username").or_else(|| optional_text(claims, "username"));
        let groups = groups.into_iter().filter(|g| !g.is_empty()).collect();
        let scopes = match scopes {
            Some(list) if !list.is_empty() => list
                .iter()
                .filter(|scope| !scope.is_empty())
                .cloned()
                .collect(),
            _ => claims
                .get("scope")
                .map(|scope| split_scopes(scope))
                .unwrap_or_default(),
        };
        Ok(Self {
            sub: sub.to_owned(),
            username,
            email: optional_text(claims, "email"),
            email_verified,
            groups,
            scopes,
            token_use,
            client_id: client_id.to_owned(),
            auth_time,
            exp,
        })
    }

    /// Whether the user is a member of `group` (exact, case-sensitive match).
    #[must_use]
    pub fn has_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    /// Whether the token was granted `scope` (exact match against one whole scope).
    #[must_use]
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Succeeds when the user is a member of `group`.
    ///
    /// # Errors
    /// [`ClaimsError::MissingGroup`] (403) otherwise.
    pub fn require_group(&self, group: &str) -> Result<(), ClaimsError> {
        if self.has_group(group) {
            Ok(())
        } else {
            Err(ClaimsError::MissingGroup {
                group: group.to_owned(),
            })
        }
    }

    /// Succeeds when the token was granted `scope`.
    ///
    /// # Errors
    /// [`ClaimsError::MissingScope`] (403) otherwise.
    pub fn require_scope(&self, scope: &str) -> Result<(), ClaimsError> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(ClaimsError::MissingScope {
                scope: scope.to_owned(),
            })
        }
    }
}

/// Largest magnitude accepted for a fractional seconds value (2^53, exact in an `f64`).
const MAX_FRACTIONAL_SECONDS: f64 = 9_007_199_254_740_992.0;

/// The value of a required claim.
fn required<'a>(
    claims: &'a HashMap<String, String>,
    claim: &'static str,
) -> Result<&'a str, ClaimsError> {
    claims
        .get(claim)
        .map(String::as_str)
        .ok_or(ClaimsError::MissingClaim { claim })
}

/// The value of a required claim that must not be empty.
fn required_text<'a>(
    claims: &'a HashMap<String, String>,
    claim: &'static str,
) -> Result<&'a str, ClaimsError> {
    let value = required(claims, claim)?;
    if value.is_empty() {
        return Err(ClaimsError::InvalidClaim {
            claim,
            expected: "a non-empty string",
        });
    }
    Ok(value)
}

/// The value of an optional text claim; an empty value counts as absent.
fn optional_text(claims: &HashMap<String, String>, claim: &str) -> Option<String> {
    claims.get(claim).filter(|value| !value.is_empty()).cloned()
}

/// An optional time claim in seconds since the Unix epoch (fractions are truncated).
fn seconds(
    claims: &HashMap<String, String>,
    claim: &'static str,
) -> Result<Option<i64>, ClaimsError> {
    let Some(value) = claims.get(claim) else {
        return Ok(None);
    };
    if let Ok(whole) = value.parse::<i64>() {
        return Ok(Some(whole));
    }
    match value.parse::<f64>() {
        Ok(number) if number.is_finite() && number.abs() <= MAX_FRACTIONAL_SECONDS => {
            // Finite and within ±2^53, so the truncated value converts exactly.
            Ok(Some(number.trunc() as i64))
        }
        _ => Err(ClaimsError::InvalidClaim {
            claim,
            expected: "a number of seconds",
        }),
    }
}

/// Reads `cognito:groups` the way API Gateway's JWT authorizer writes it into
/// `requestContext.authorizer.jwt.claims` (payload format 2.0).
///
/// The authorizer hands every claim over as a string ("Control access to HTTP APIs with JWT
/// authorizers in API Gateway": the claims are passed on to the integration; "Create AWS Lambda
/// proxy integrations for HTTP APIs in API Gateway": `claims` is a map of strings). An array
/// claim becomes its items joined by single spaces inside brackets, string items unquoted:
/// `["admin","users"]` arrives as `[admin users]`, one group as `[admin]`, an empty array as
/// `[]`; Cognito leaves `cognito:groups` out of a token whose user is in no group ("Understanding
/// the identity (ID) token", Amazon Cognito Developer Guide). The rendering itself is not on
/// those pages; it is what API Gateway sends (reported in aws/aws-lambda-go#591).
///
/// So the rule is: a value in brackets is split on whitespace after the brackets are
/// stripped; any other non-empty value is one group name (a claim that was a string in the
/// token); an empty value is no group. Cognito group names cannot contain whitespace (1 to 128
/// characters of `[\p{L}\p{M}\p{S}\p{N}\p{P}]`, CreateGroup in the Amazon Cognito API
/// Reference), so the split is exact, and since quotes and commas are allowed in names, they are
/// kept as part of the name: `["admin"]` is the one group `"admin"`, `["x","admin"]` the one
/// group `"x","admin"`.
fn parse_gateway_groups(value: &str) -> Vec<String> {
    let trimmed = value.trim();
    match trimmed
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    {
        Some(inner) => inner.split_whitespace().map(str::to_owned).collect(),
        None if trimmed.is_empty() => Vec::new(),
        None => vec![trimmed.to_owned()],
    }
}

/// Splits an OAuth `scope` claim on spaces (RFC 6749 §3.3).
fn split_scopes(scope: &str) -> Vec<String> {
    scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The claims of an id token as API Gateway hands them over.
    fn id_token() -> HashMap<String, String> {
        map(&[
            ("sub", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
            ("token_use", "id"),
            ("aud", "client-123"),
            (
                "iss",
                "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc",
            ),
            ("exp", "1657193758"),
            ("iat", "1657190158"),
            ("auth_time", "1657190158"),
            ("cognito:username", "alice"),
            ("email", "alice@example.com"),
            ("email_verified", "true"),
            ("cognito:groups", "[admin users]"),
        ])
    }

    /// The claims of an access token as API Gateway hands them over.
    fn access_token() -> HashMap<String, String> {
        map(&[
            ("sub", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
            ("token_use", "access"),
            ("client_id", "client-123"),
            ("exp", "1657193758"),
            ("username", "alice"),
            ("scope", "notes/read notes/write"),
        ])
    }

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn with(
        mut claims: HashMap<String, String>,
        claim: &str,
        value: &str,
    ) -> HashMap<String, String> {
        claims.insert(claim.to_owned(), value.to_owned());
        claims
    }

    fn without(mut claims: HashMap<String, String>, claim: &str) -> HashMap<String, String> {
        claims.remove(claim);
        claims
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_a_full_id_token() {
        let claims = CognitoClaims::from_parts(&id_token(), None);
        assert_eq!(
            claims,
            Ok(CognitoClaims {
                sub: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee".into(),
                username: Some("alice".into()),
                email: Some("alice@example.com".into()),
                email_verified: Some(true),
                groups: strings(&["admin", "users"]),
                scopes: Vec::new(),
                token_use: TokenUse::Id,
                client_id: "client-123".into(),
                auth_time: Some(1_657_190_158),
                exp: 1_657_193_758,
            })
        );
    }

    #[test]
    fn parses_a_minimal_access_token() {
        let claims = CognitoClaims::from_parts(&access_token(), None);
        assert_eq!(
            claims,
            Ok(CognitoClaims {
                sub: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee".into(),
                username: Some("alice".into()),
                email: None,
                email_verified: None,
                groups: Vec::new(),
                scopes: strings(&["notes/read", "notes/write"]),
                token_use: TokenUse::Access,
                client_id: "client-123".into(),
                auth_time: None,
                exp: 1_657_193_758,
            })
        );
    }

    fn groups_of(value: Option<&str>) -> Vec<String> {
        let claims = match value {
            Some(value) => with(id_token(), "cognito:groups", value),
            None => without(id_token(), "cognito:groups"),
        };
        match CognitoClaims::from_parts(&claims, None) {
            Ok(claims) => claims.groups,
            Err(error) => panic!("cognito:groups = {value:?}: {error}"),
        }
    }

    #[test]
    fn groups_in_api_gateways_bracket_form() {
        for (value, expected) in [
            (Some("[admin users]"), &["admin", "users"][..]),
            (Some("[admin]"), &["admin"]),
            (Some("[ admin   users ]"), &["admin", "users"]),
            (Some("[]"), &[]),
            (Some("[ ]"), &[]),
            // A claim that was a string in the token: one group name.
            (Some("admin"), &["admin"]),
            (Some("us-east-1_abc_Google"), &["us-east-1_abc_Google"]),
            (Some(""), &[]),
            (None, &[]),
            // Brackets are punctuation, which Cognito group names may contain.
            (Some("[[admin]]"), &["[admin]"]),
            (Some("[x] [admin]"), &["x]", "[admin"]),
            (Some("[admin"), &["[admin"]),
        ] {
            assert_eq!(
                groups_of(value),
                strings(expected),
                "cognito:groups = {value:?}"
            );
        }
    }

    #[test]
    fn quoted_group_names_are_names_not_json() {
        // Groups literally named `"admin"` and `"x","admin"` (Cognito allows quotes and commas),
        // as API Gateway renders them: never the group `admin`.
        for (value, expected) in [
            (r#"["admin"]"#, &[r#""admin""#][..]),
            (r#"["x","admin"]"#, &[r#""x","admin""#]),
            (r#"[ "admin", "users" ]"#, &[r#""admin","#, r#""users""#]),
            (r#"["admin", 3]"#, &[r#""admin","#, "3"]),
            (r#"["admin]"#, &[r#""admin"#]),
        ] {
            let claims = with(id_token(), "cognito:groups", value);
            let claims = CognitoClaims::from_parts(&claims, None).expect("valid claims");
            assert_eq!(
                claims.groups,
                strings(expected),
                "cognito:groups = {value:?}"
            );
            assert_eq!(
                claims.require_group("admin").map_err(|e| e.status()),
                Err(403),
                "cognito:groups = {value:?}"
            );
        }
    }

    #[test]
    fn typed_groups_are_taken_as_they_are() {
        let claims = CognitoClaims::from_parts_with_groups(
            &with(id_token(), "cognito:groups", "[admin]"),
            None,
            strings(&[r#""admin""#, "", "a b"]),
        )
        .expect("valid claims");
        assert_eq!(claims.groups, strings(&[r#""admin""#, "a b"]));
        assert!(claims.require_group("admin").is_err());
    }

    #[test]
    fn scopes_from_the_authorizer_or_the_scope_claim() {
        fn check(claim: Option<&str>, authorizer: Option<&[&str]>, expected: &[&str]) {
            let claims = match claim {
                Some(value) => with(access_token(), "scope", value),
                None => without(access_token(), "scope"),
            };
            let authorizer = authorizer.map(strings);
            let got = CognitoClaims::from_parts(&claims, authorizer.as_deref()).map(|c| c.scopes);
            assert_eq!(
                got,
                Ok(strings(expected)),
                "scope = {claim:?}, scopes = {authorizer:?}"
            );
        }
        check(
            Some("notes/read notes/write"),
            None,
            &["notes/read", "notes/write"],
        );
        check(
            Some("  notes/read   notes/write "),
            None,
            &["notes/read", "notes/write"],
        );
        check(Some("openid"), None, &["openid"]);
        check(Some(""), None, &[]);
        check(None, None, &[]);
        check(Some("openid"), Some(&["notes/read"]), &["notes/read"]);
        check(Some("openid"), Some(&[]), &["openid"]);
        check(None, Some(&["notes/read", ""]), &["notes/read"]);
    }

    #[test]
    fn missing_and_unusable_claims_are_401() {
        fn check(claims: HashMap<String, String>, expected: ClaimsError) {
            let got = CognitoClaims::from_parts(&claims, None);
            assert_eq!(got, Err(expected.clone()));
            assert_eq!(expected.status(), 401);
        }
        fn missing(claim: &'static str) -> ClaimsError {
            ClaimsError::MissingClaim { claim }
        }
        fn invalid(claim: &'static str, expected: &'static str) -> ClaimsError {
            ClaimsError::InvalidClaim { claim, expected }
        }
        check(without(id_token(), "sub"), missing("sub"));
        check(without(id_token(), "token_use"), missing("token_use"));
        check(without(id_token(), "exp"), missing("exp"));
        check(without(id_token(), "aud"), missing("aud"));
        check(without(access_token(), "client_id"), missing("client_id"));
        // An access token names its client in `client_id`; an `aud` does not stand in for it.
        check(
            with(without(access_token(), "client_id"), "aud", "client-123"),
            missing("client_id"),
        );
        check(
            with(id_token(), "sub", ""),
            invalid("sub", "a non-empty string"),
        );
        check(
            with(id_token(), "aud", ""),
            invalid("aud", "a non-empty string"),
        );
        check(
            with(id_token(), "token_use", "refresh"),
            invalid("token_use", "`id` or `access`"),
        );
        check(
            with(id_token(), "token_use", "ID"),
            invalid("token_use", "`id` or `access`"),
        );
        check(
            with(id_token(), "exp", "soon"),
            invalid("exp", "a number of seconds"),
        );
        check(
            with(id_token(), "exp", ""),
            invalid("exp", "a number of seconds"),
        );
        check(
            with(id_token(), "exp", "NaN"),
            invalid("exp", "a number of seconds"),
        );
        check(
            with(id_token(), "exp", "1e300"),
            invalid("exp", "a number of seconds"),
        );
        check(
            with(id_token(), "auth_time", "yesterday"),
            invalid("auth_time", "a number of seconds"),
        );
        check(
            with(id_token(), "email_verified", "yes"),
            invalid("email_verified", "`true` or `false`"),
        );
        check(
            with(id_token(), "email_verified", "True"),
            invalid("email_verified", "`true` or `false`"),
        );
    }

    #[test]
    fn typed_values() {
        fn check(claim: &str, value: &str, expected: (i64, Option<i64>, Option<bool>)) {
            let claims = CognitoClaims::from_parts(&with(id_token(), claim, value), None)
                .map(|c| (c.exp, c.auth_time, c.email_verified));
            assert_eq!(claims, Ok(expected), "{claim} = {value:?}");
        }
        check(
            "exp",
            "1700000000.9",
            (1_700_000_000, Some(1_657_190_158), Some(true)),
        );
        check("exp", "-5", (-5, Some(1_657_190_158), Some(true)));
        check("auth_time", "0", (1_657_193_758, Some(0), Some(true)));
        check(
            "email_verified",
            "false",
            (1_657_193_758, Some(1_657_190_158), Some(false)),
        );
    }

    #[test]
    fn username_prefers_cognito_username() {
        fn check(claims: HashMap<String, String>, expected: Option<&str>) {
            let got = CognitoClaims::from_parts(&claims, None).map(|c| c.username);
            assert_eq!(got, Ok(expected.map(str::to_owned)));
        }
        check(with(id_token(), "username", "other"), Some("alice"));
        check(without(id_token(), "cognito:username"), None);
        check(
            with(without(id_token(), "cognito:username"), "username", "bob"),
            Some("bob"),
        );
        check(with(id_token(), "cognito:username", ""), None);
    }

    #[test]
    fn require_group_and_scope() {
        let id = CognitoClaims::from_parts(&id_token(), None).expect("valid id token");
        let access = CognitoClaims::from_parts(&access_token(), None).expect("valid access token");
        assert_eq!(id.require_group("admin"), Ok(()));
        assert_eq!(id.require_group("users"), Ok(()));
        for group in ["Admin", "admi", "admin users", ""] {
            let err = id.require_group(group);
            assert_eq!(
                err,
                Err(ClaimsError::MissingGroup {
                    group: group.into()
                })
            );
            assert_eq!(err.map_err(|e| e.status()), Err(403));
        }
        assert_eq!(access.require_scope("notes/write"), Ok(()));
        // Whole scopes only: no substring or prefix matches.
        for scope in ["notes/writ", "notes", "notes/read notes/write", "write", ""] {
            let err = access.require_scope(scope);
            assert_eq!(
                err,
                Err(ClaimsError::MissingScope {
                    scope: scope.into()
                })
            );
            assert_eq!(err.map_err(|e| e.status()), Err(403));
        }
        assert!(!id.has_scope("notes/write"));
        assert_eq!(
            access.require_group("admin").map_err(|e| e.to_string()),
            Err("this operation requires membership of the `admin` group".to_owned())
        );
    }

    #[test]
    fn messages_name_the_claim_but_not_its_value() {
        let secret = "s3cr3t-value-from-token";
        for claim in ["exp", "auth_time", "email_verified", "token_use"] {
            let err = CognitoClaims::from_parts(&with(id_token(), claim, secret), None)
                .expect_err("unusable value");
            let message = err.to_string();
            assert!(message.contains(claim), "{message}");
            assert!(!message.contains(secret), "{message}");
        }
        assert_eq!(
            ClaimsError::MissingContext.status(),
            401,
            "no authorizer context means unauthenticated"
        );
    }

    #[test]
    fn serializes_for_responses() {
        let claims = CognitoClaims::from_parts(&access_token(), None).expect("valid access token");
        let json = serde_json::to_value(&claims).expect("serializable");
        assert_eq!(json["token_use"], "access");
        assert_eq!(json["client_id"], "client-123");
        assert_eq!(
            json["scopes"],
            serde_json::json!(["notes/read", "notes/write"])
        );
        assert_eq!(json["exp"], 1_657_193_758);
    }

    #[test]
    fn token_use_round_trips() {
        for token_use in [TokenUse::Id, TokenUse::Access] {
            assert_eq!(TokenUse::from_claim(token_use.as_str()), Some(token_use));
            assert_eq!(token_use.to_string(), token_use.as_str());
            let json = serde_json::to_string(&token_use).expect("serializable");
            assert_eq!(json, format!("\"{token_use}\""));
        }
        assert_eq!(TokenUse::from_claim("refresh"), None);
    }
}
