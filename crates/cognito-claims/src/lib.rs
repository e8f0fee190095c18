//! Typed Amazon Cognito claims for Lambda functions behind an API Gateway HTTP API.
//!
//! API Gateway's JWT authorizer checks the token and hands the function its claims in
//! `requestContext.authorizer.jwt.claims`, every value flattened to a string (numbers as
//! `"1657193758"`, booleans as `"true"`, arrays as `"[admin users]"`).
//! [`CognitoClaims::from_request`] turns that back into a typed value, and
//! [`CognitoClaims::require_group`] / [`CognitoClaims::require_scope`] answer the usual
//! authorization questions. Every failure is a [`ClaimsError`] that knows its HTTP status.
//!
//! With the `verify` feature, the [`verify`] module adds [`verify::JwtVerifier`]: the same checks
//! the API Gateway JWT authorizer makes (RS256 signature against the issuer's JWKS, issuer,
//! audience or client id, expiry), for running the API without AWS.

mod claims;
mod error;
#[cfg(feature = "verify")]
pub mod verify;

pub use claims::{CognitoClaims, TokenUse};
pub use error::ClaimsError;
