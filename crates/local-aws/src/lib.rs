//! AWS on a laptop, for this project: what `cargo xtask dev` runs and the end-to-end tests use.
//!
//! - [`lambda`]: a Lambda Runtime API emulator running the real function binaries (cold
//!   starts, warm reuse, scale-out, idle reaping, timeouts, crash replacement);
//! - [`gateway`]: the API Gateway HTTP API emulator with the JWT authorizer's rules (the routes
//!   and their matching are `function_table`'s, read from `IaC/routes.auto.tfvars.json`; the
//!   payload 2.0 events are `http_api::event`'s);
//! - [`issuer`]: a Cognito-compatible local issuer: RSA key, JWKS, hosted-UI-like pages,
//!   `/oauth2/token`, users that persist in a state directory;
//! - [`devpages`]: the stack's `/dev/login` and `/dev/callback` pages (a sign-in with state and
//!   PKCE, the code exchanged, tokens shown);
//! - [`hostcheck`]: every loopback server refuses requests not addressed to its own
//!   `127.0.0.1:PORT` or `localhost:PORT` (DNS rebinding);
//! - [`stack`]: all of it wired together on loopback, as `cargo xtask dev` starts it;
//! - [`cli`]: the logging, runtime and error exit the stack's command lines share.

#![warn(missing_docs)]

pub mod cli;
pub mod devpages;
pub mod gateway;
pub mod hostcheck;
pub mod issuer;
pub mod lambda;
pub mod stack;

/// The AWS account id the local stack reports (in function ARNs and `requestContext`).
pub const ACCOUNT_ID: &str = "000000000000";
