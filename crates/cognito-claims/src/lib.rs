//! Cognito claims.
