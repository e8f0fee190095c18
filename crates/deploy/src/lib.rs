//! The deploy and rollback engine behind `cargo xtask deploy` and `cargo xtask rollback`.
//!
//! Inputs: the package manifest ([`Manifest`], from `cargo xtask package`), the stack
//! ([`StackOutputs`]: from the Terraform outputs, or the object Terraform publishes in the
//! artifacts bucket, read with [`load_published`]) and the clients ([`Clients`], from [`ClientSettings`] and
//! aws-config's standard chain). [`deploy`] uploads content-addressed zips
//! (`s3://<artifacts>/<function>/<sha256>.zip`), updates each function's code, publishes a
//! version and moves alias `live` to it, only when `live` does not already run that code;
//! [`rollback`] moves `live` back. Both return a [`Report`]; [`render_table`] prints it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::path::Path;
//! use deploy::{ClientSettings, Clients, DeployOptions, Manifest, StackOutputs};
//!
//! let root = Path::new(".");
//! let manifest = Manifest::load(&root.join("target/lambda/packages.json"), root)?;
//! let stack = StackOutputs::from_terraform_json(r#"{"region":{"value":"eu-west-1"}, "…":{}}"#)?;
//! let settings = ClientSettings { region: Some(stack.region.clone()), ..Default::default() };
//! let clients = Clients::new(&settings).await?;
//! let report = deploy::deploy(&clients, &stack, &manifest, &DeployOptions::default()).await?;
//! print!("{}", deploy::render_table(&report));
//! if !report.success() {
//!     std::process::exit(1);
//! }
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod auth;
pub mod clients;
pub mod engine;
pub mod error;
pub mod report;
pub mod stack;

pub use clients::{ClientSettings, Clients};
pub use engine::{ALIAS, DeployOptions, deploy, rollback};
pub use error::Error;
/// The package manifest `cargo xtask package` writes, and its architecture: the
/// `function-table` crate owns both.
pub use function_table::{Arch, Manifest, ManifestError, Package};
pub use report::{Entry, Outcome, Progress, Report, Step, human_size, render_table};
pub use stack::{PUBLISHED_KEY, S3Location, StackOutputs, StackOutputsError, load_published};
