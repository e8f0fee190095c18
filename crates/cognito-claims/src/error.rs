//! [`ClaimsError`]: why a request's claims are missing, unusable or insufficient.

/// Why the claims of a request cannot be used, or do not grant what the request needs.
///
/// The `Display` text is safe to show to the client: it names claims, groups and scopes but
/// never repeats a value taken from the token. [`ClaimsError::status`] gives the HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    /// The request carries no API Gateway v2 JWT authorizer context.
    #[error(
        "the request carries no JWT authorizer claims: the route must use the JWT authorizer \
         with payload format 2.0"
    )]
    MissingContext,
    /// A claim the application needs is absent.
    #[error("the token has no `{claim}` claim")]
    MissingClaim {
        /// Name of the missing claim.
        claim: &'static str,
    },
    /// A claim is present but its value cannot be used.
    #[error("the token's `{claim}` claim is not {expected}")]
    InvalidClaim {
        /// Name of the unusable claim.
        claim: &'static str,
        /// What the value should have been, e.g. "a whole number of seconds".
        expected: &'static str,
    },
    /// The caller is not a member of a group the operation requires.
    #[error("this operation requires membership of the `{group}` group")]
    MissingGroup {
        /// The required group.
        group: String,
    },
    /// The token was not granted a scope the operation requires.
    #[error("this operation requires the `{scope}` scope")]
    MissingScope {
        /// The required scope.
        scope: String,
    },
}

impl ClaimsError {
    /// The HTTP status to answer with: 401 when the caller is not (usably) authenticated,
    /// 403 when the caller is authenticated but lacks a group or scope.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Self::MissingContext | Self::MissingClaim { .. } | Self::InvalidClaim { .. } => 401,
            Self::MissingGroup { .. } | Self::MissingScope { .. } => 403,
        }
    }
}
