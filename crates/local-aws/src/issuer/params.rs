//! The OAuth 2.0 authorization-request parameters that the hosted-UI pages carry from form to
//! form, their validation against the app client, and URL query encoding.

use std::collections::HashMap;

use super::IssuerConfig;

/// The scopes the app client allows (`allowed_oauth_scopes` of IaC/modules/cognito).
pub(crate) const ALLOWED_SCOPES: [&str; 3] = ["openid", "email", "profile"];

/// The authorization request's parameters, as received (unvalidated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AuthParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub nonce: Option<String>,
    pub prompt: Option<String>,
}

impl AuthParams {
    /// Picks the authorization parameters out of a query or form; empty values count as absent.
    pub(crate) fn from_map(map: &HashMap<String, String>) -> Self {
        let get = |key: &str| map.get(key).filter(|value| !value.is_empty()).cloned();
        Self {
            response_type: get("response_type"),
            client_id: get("client_id"),
            redirect_uri: get("redirect_uri"),
            scope: get("scope"),
            state: get("state"),
            code_challenge: get("code_challenge"),
            code_challenge_method: get("code_challenge_method"),
            nonce: get("nonce"),
            prompt: get("prompt"),
        }
    }

    /// The parameters that are present, as name/value pairs in a fixed order.
    pub(crate) fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("response_type", &self.response_type),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", &self.scope),
            ("state", &self.state),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("nonce", &self.nonce),
            ("prompt", &self.prompt),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|value| (name, value)))
        .collect()
    }

    /// `path?query`, or just `path` when there are no parameters.
    pub(crate) fn url(&self, path: &str, extra: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(&str, &str)> = extra.to_vec();
        pairs.extend(self.pairs());
        append_query(path, &encode_query(pairs))
    }
}

/// An authorization request that passed validation.
#[derive(Debug, Clone)]
pub(crate) struct AuthRequest {
    /// The registered callback URL the code goes to.
    pub redirect_uri: String,
    /// The granted scopes, deduplicated, in request order.
    pub scopes: Vec<String>,
    /// The client's `state`, returned as is.
    pub state: Option<String>,
    /// The PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// The OIDC `nonce`, copied into the id token.
    pub nonce: Option<String>,
    /// `prompt=login`: ask for credentials even with a live session.
    pub force_login: bool,
}

/// Why an authorization request cannot proceed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// The client or redirect URI cannot be trusted: show an error page (never redirect).
    Page(String),
    /// An OAuth error to report to the (registered) redirect URI: this URL.
    Redirect(String),
}

/// Validates an authorization request the way Cognito's `/oauth2/authorize` does.
pub(crate) fn validate(
    config: &IssuerConfig,
    params: &AuthParams,
) -> Result<AuthRequest, Rejection> {
    let client_id = params
        .client_id
        .as_deref()
        .ok_or_else(|| Rejection::Page("The request has no client_id parameter.".to_owned()))?;
    if client_id != config.client_id {
        return Err(Rejection::Page(format!(
            "Unknown client_id \"{client_id}\": this local issuer only knows the app client \"{}\".",
            config.client_id
        )));
    }
    let redirect_uri = params
        .redirect_uri
        .as_deref()
        .ok_or_else(|| Rejection::Page("The request has no redirect_uri parameter.".to_owned()))?;
    if !config.callback_urls.iter().any(|url| url == redirect_uri) {
        return Err(Rejection::Page(format!(
            "redirect_uri \"{redirect_uri}\" is not a registered callback URL of this app client \
             (registered: {}). Register it or use one of those.",
            if config.callback_urls.is_empty() {
                "none".to_owned()
            } else {
                config.callback_urls.join(", ")
            }
        )));
    }
    let error = |error: &str| {
        let mut pairs = vec![("error", error)];
        if let Some(state) = params.state.as_deref() {
            pairs.push(("state", state));
        }
        Rejection::Redirect(append_query(redirect_uri, &encode_query(pairs)))
    };
    if params.response_type.as_deref() != Some("code") {
        return Err(error("unsupported_response_type"));
    }
    if let Some(challenge) = params.code_challenge.as_deref()
        && (params.code_challenge_method.as_deref() != Some("S256") || !is_pkce_value(challenge))
    {
        return Err(error("invalid_request"));
    }
    // A public client (no secret) has nothing but PKCE to bind the code to its flow: S256 is
    // required (RFC 9700, section 2.1.1).
    if config.client_secret.is_empty() && params.code_challenge.is_none() {
        return Err(error("invalid_request"));
    }
    let mut scopes: Vec<String> = Vec::new();
    match params.scope.as_deref() {
        None => scopes.extend(ALLOWED_SCOPES.iter().map(|s| (*s).to_owned())),
        Some(requested) => {
            for scope in requested.split_whitespace() {
                if !ALLOWED_SCOPES.contains(&scope) {
                    return Err(error("invalid_scope"));
                }
                if !scopes.iter().any(|s| s == scope) {
                    scopes.push(scope.to_owned());
                }
            }
            if scopes.is_empty() {
                return Err(error("invalid_scope"));
            }
        }
    }
    Ok(AuthRequest {
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        state: params.state.clone(),
        code_challenge: params.code_challenge.clone(),
        nonce: params.nonce.clone(),
        force_login: params.prompt.as_deref() == Some("login"),
    })
}

/// Whether `value` is a syntactically valid PKCE verifier or S256 challenge (RFC 7636: 43 to
/// 128 unreserved characters).
pub(crate) fn is_pkce_value(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub(crate) fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `name=value&..`, percent-encoded.
pub(crate) fn encode_query<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(name, value)| format!("{}={}", percent_encode(name), percent_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Appends an encoded query to a URL that may already have one.
pub(crate) fn append_query(url: &str, query: &str) -> String {
    if query.is_empty() {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&{query}")
    } else {
        format!("{url}?{query}")
    }
}

/// The origin (`scheme://host[:port]`) of an absolute URL.
pub(crate) fn origin(url: &str) -> Option<&str> {
    let scheme_end = url.find("://")?;
    let rest = url.get(scheme_end + 3..)?;
    let host_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if host_len == 0 {
        return None;
    }
    url.get(..scheme_end + 3 + host_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> IssuerConfig {
        IssuerConfig::new(
            "/tmp/x",
            "http://127.0.0.1:9000",
            "client",
            "secret",
            ["http://localhost:3000/callback"],
        )
    }

    fn params() -> AuthParams {
        AuthParams {
            response_type: Some("code".into()),
            client_id: Some("client".into()),
            redirect_uri: Some("http://localhost:3000/callback".into()),
            state: Some("s t".into()),
            ..AuthParams::default()
        }
    }

    #[test]
    fn encoding_and_origins() {
        assert_eq!(percent_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(
            append_query("http://x/cb?a=1", "b=2"),
            "http://x/cb?a=1&b=2"
        );
        assert_eq!(append_query("http://x/cb", "b=2"), "http://x/cb?b=2");
        assert_eq!(
            origin("http://localhost:3000/callback?x"),
            Some("http://localhost:3000")
        );
        assert_eq!(origin("https://app.example"), Some("https://app.example"));
        assert_eq!(origin("nope"), None);
        assert_eq!(
            params().url("/login", &[("email", "a@b.co")]),
            "/login?email=a%40b.co&response_type=code&client_id=client&redirect_uri=\
             http%3A%2F%2Flocalhost%3A3000%2Fcallback&state=s%20t"
        );
    }

    #[test]
    fn validation_follows_cognito() {
        let config = config();
        let ok = validate(&config, &params()).expect("valid");
        assert_eq!(ok.scopes, ["openid", "email", "profile"]);

        let unknown_client = AuthParams {
            client_id: Some("other".into()),
            ..params()
        };
        assert!(matches!(
            validate(&config, &unknown_client),
            Err(Rejection::Page(_))
        ));
        let bad_uri = AuthParams {
            redirect_uri: Some("http://evil/cb".into()),
            ..params()
        };
        assert!(
            matches!(validate(&config, &bad_uri), Err(Rejection::Page(m)) if m.contains("http://evil/cb"))
        );

        let token = AuthParams {
            response_type: Some("token".into()),
            ..params()
        };
        assert_eq!(
            validate(&config, &token).map(|_| ()),
            Err(Rejection::Redirect(
                "http://localhost:3000/callback?error=unsupported_response_type&state=s%20t".into()
            ))
        );
        let plain = AuthParams {
            code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
            code_challenge_method: Some("plain".into()),
            ..params()
        };
        assert!(
            matches!(validate(&config, &plain), Err(Rejection::Redirect(u)) if u.contains("error=invalid_request"))
        );
        let scope = AuthParams {
            scope: Some("openid admin".into()),
            ..params()
        };
        assert!(
            matches!(validate(&config, &scope), Err(Rejection::Redirect(u)) if u.contains("error=invalid_scope"))
        );
        let scope = AuthParams {
            scope: Some("email openid email".into()),
            ..params()
        };
        assert_eq!(
            validate(&config, &scope).expect("valid").scopes,
            ["email", "openid"]
        );

        // a public client must use PKCE with S256
        let public = IssuerConfig {
            client_secret: String::new(),
            ..config
        };
        assert!(
            matches!(validate(&public, &params()), Err(Rejection::Redirect(u)) if u.contains("error=invalid_request"))
        );
        assert!(
            matches!(validate(&public, &plain), Err(Rejection::Redirect(u)) if u.contains("error=invalid_request"))
        );
        let s256 = AuthParams {
            code_challenge_method: Some("S256".into()),
            ..plain
        };
        assert!(validate(&public, &s256).is_ok());
    }
}
