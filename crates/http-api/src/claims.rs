//! The conversion of a `cognito-claims` error into a [`Problem`]: 401 for missing or unusable
//! claims, 403 for a missing group or scope.
//!
//! It lives here, not in a crate of its own, because `Problem` is this crate's and every
//! authenticated route needs it (`?` on `CognitoClaims::from_request` and `require_group`);
//! `cognito-claims` without its `verify` feature adds only `lambda_http`, `serde` and
//! `thiserror`, which this crate links anyway. The notes errors' conversion is in `notes-http`.

use cognito_claims::ClaimsError;

use crate::Problem;

impl From<ClaimsError> for Problem {
    fn from(error: ClaimsError) -> Self {
        match error.status() {
            403 => Problem::forbidden(error.to_string()),
            _ => Problem::unauthorized(error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_errors() {
        fn check(error: ClaimsError, status: u16) {
            let detail = error.to_string();
            let problem = Problem::from(error);
            assert_eq!(problem.status(), status, "{problem}");
            assert_eq!(problem.detail(), detail);
        }
        check(ClaimsError::MissingContext, 401);
        check(ClaimsError::MissingClaim { claim: "sub" }, 401);
        check(
            ClaimsError::MissingGroup {
                group: "admin".into(),
            },
            403,
        );
        check(
            ClaimsError::MissingScope {
                scope: "notes/write".into(),
            },
            403,
        );
    }
}
