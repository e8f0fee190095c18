//! The stack settings the engine needs: from `terraform output -json` in `IaC/` (a developer's
//! machine, which can read the state), or from the object Terraform publishes in the artifacts
//! bucket (`s3://<artifacts>/deploy/stack.json`, what CI reads with only `s3:GetObject` on it).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::clients::Clients;
use crate::engine::ALIAS;
use crate::error::{Ctx, Error, Service, classify, code_of};

/// Where `IaC/main.tf` publishes the stack in the artifacts bucket (`aws_s3_object.deploy_stack`).
pub const PUBLISHED_KEY: &str = "deploy/stack.json";

/// The `version` of the published stack this tool reads.
pub const PUBLISHED_VERSION: u64 = 1;

/// What the engine needs to know about the deployed stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackOutputs {
    /// The region the stack lives in (output `region`).
    pub region: String,
    /// The artifacts bucket the zips go to (output `s3_bucket_name`).
    pub artifacts_bucket: String,
    /// Function (crate) name to Lambda function name (output `function_names`).
    pub function_names: BTreeMap<String, String>,
}

/// Why the Terraform outputs cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StackOutputsError {
    /// Not JSON, or not a JSON object.
    #[error(
        "`terraform output -json` did not print a JSON object: {cause}; hint: run it in IaC/ by \
         hand to see what went wrong"
    )]
    Json {
        /// What was wrong.
        cause: String,
    },
    /// An output the engine needs is absent.
    #[error(
        "the Terraform output `{name}` is missing; hint: run `terraform apply` in IaC/ first? \
         (a stack that was never applied has no outputs)"
    )]
    Missing {
        /// The output's name.
        name: String,
    },
    /// An output has the wrong shape.
    #[error(
        "the Terraform output `{name}` is not {expected}: {cause}; hint: IaC/outputs.tf and the \
         deploy tool disagree: update whichever is stale"
    )]
    Invalid {
        /// The output's name.
        name: String,
        /// What it should be.
        expected: String,
        /// What was wrong.
        cause: String,
    },
    /// The published stack object is not what `IaC/main.tf` writes.
    #[error(
        "the published deploy stack is not usable: {cause}; hint: `terraform apply` in IaC/ \
         writes it (aws_s3_object.deploy_stack); IaC/ and the deploy tool may be from different \
         commits"
    )]
    Published {
        /// What was wrong.
        cause: String,
    },
}

/// The published stack, as `IaC/main.tf` encodes it (`local.deploy_stack`).
#[derive(serde::Deserialize)]
struct Published {
    version: u64,
    region: String,
    artifacts_bucket: String,
    function_names: BTreeMap<String, String>,
    alias: String,
}

impl StackOutputs {
    /// Parses the output of `terraform output -json`: an object whose members are
    /// `{"value": …, "type": …, "sensitive": …}`. Reads `region`, `s3_bucket_name` and
    /// `function_names`; other outputs are ignored.
    ///
    /// # Errors
    /// [`StackOutputsError::Json`] for text that is not a JSON object,
    /// [`StackOutputsError::Missing`] naming the first missing output,
    /// [`StackOutputsError::Invalid`] for an output of the wrong type or an empty value.
    pub fn from_terraform_json(json: &str) -> Result<Self, StackOutputsError> {
        let value: Value = serde_json::from_str(json).map_err(|e| StackOutputsError::Json {
            cause: e.to_string(),
        })?;
        let Value::Object(outputs) = value else {
            return Err(StackOutputsError::Json {
                cause: format!("found {}", kind(&value)),
            });
        };
        let region: String = output(&outputs, "region", "a non-empty string")?;
        let artifacts_bucket: String = output(&outputs, "s3_bucket_name", "a non-empty string")?;
        let function_names: BTreeMap<String, String> =
            output(&outputs, "function_names", "a map of strings")?;
        for (name, value) in [("region", &region), ("s3_bucket_name", &artifacts_bucket)] {
            if value.is_empty() {
                return Err(StackOutputsError::Invalid {
                    name: name.into(),
                    expected: "a non-empty string".into(),
                    cause: "it is empty".into(),
                });
            }
        }
        if let Some((function, _)) = function_names.iter().find(|(_, v)| v.is_empty()) {
            return Err(StackOutputsError::Invalid {
                name: "function_names".into(),
                expected: "a map of non-empty strings".into(),
                cause: format!("`{function}` maps to an empty name"),
            });
        }
        Ok(Self {
            region,
            artifacts_bucket,
            function_names,
        })
    }

    /// Parses the stack object Terraform publishes at `s3://<artifacts>/deploy/stack.json`:
    /// `{"version": 1, "region", "artifacts_bucket", "function_names", "alias"}`. Other members
    /// are ignored.
    ///
    /// # Errors
    /// [`StackOutputsError::Published`] for text that is not that object, another `version`, an
    /// empty value, or an alias other than [`ALIAS`] (the one this tool moves).
    pub fn from_published_json(json: &str) -> Result<Self, StackOutputsError> {
        let bad = |cause: String| StackOutputsError::Published { cause };
        let value: Value = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        if !value.is_object() {
            return Err(bad(format!("it is {}, not a JSON object", kind(&value))));
        }
        let published: Published = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
        if published.version != PUBLISHED_VERSION {
            return Err(bad(format!(
                "its version is {}, this deploy tool reads version {PUBLISHED_VERSION}",
                published.version
            )));
        }
        for (name, value) in [
            ("region", &published.region),
            ("artifacts_bucket", &published.artifacts_bucket),
        ] {
            if value.is_empty() {
                return Err(bad(format!("`{name}` is empty")));
            }
        }
        if let Some((function, _)) = published.function_names.iter().find(|(_, v)| v.is_empty()) {
            return Err(bad(format!(
                "`function_names` maps `{function}` to an empty name"
            )));
        }
        if published.alias != ALIAS {
            return Err(bad(format!(
                "its alias is `{}`, but this deploy tool moves `{ALIAS}`",
                published.alias
            )));
        }
        Ok(Self {
            region: published.region,
            artifacts_bucket: published.artifacts_bucket,
            function_names: published.function_names,
        })
    }

    /// The Lambda function name of `function` (a crate name), if the stack has it.
    #[must_use]
    pub fn lambda_name(&self, function: &str) -> Option<&str> {
        self.function_names.get(function).map(String::as_str)
    }
}

/// Reads the published stack at `location` with `clients`' S3 client (GetObject only).
///
/// # Errors
/// [`Error::StackMissing`] when the object (or its bucket) does not exist,
/// [`Error::StackInvalid`] when it is not the published stack, and the classified S3 errors
/// ([`Error::AccessDenied`], [`Error::NoCredentials`], [`Error::Unreachable`], …).
pub async fn load_published(
    clients: &Clients,
    location: &S3Location,
) -> Result<StackOutputs, Error> {
    let url = location.to_string();
    let endpoint = clients.s3_endpoint();
    let ctx = Ctx {
        operation: "GetObject",
        resource: &url,
        service: Service::S3,
        endpoint: &endpoint,
    };
    let output = clients
        .s3()
        .get_object()
        .bucket(&location.bucket)
        .key(&location.key)
        .send()
        .await
        .map_err(|e| match code_of(&e) {
            Some("NoSuchKey" | "NoSuchBucket") => Error::StackMissing { url: url.clone() },
            _ if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
                Error::StackMissing { url: url.clone() }
            }
            _ => classify(ctx, &e),
        })?;
    let bytes = output
        .body
        .collect()
        .await
        .map_err(|e| Error::Unreachable {
            operation: "GetObject".to_owned(),
            endpoint: endpoint.clone(),
            cause: e.to_string(),
        })?
        .into_bytes();
    let text = std::str::from_utf8(&bytes).map_err(|e| Error::StackInvalid {
        url: url.clone(),
        cause: format!("not UTF-8: {e}"),
    })?;
    StackOutputs::from_published_json(text).map_err(|e| Error::StackInvalid {
        url,
        cause: e.to_string(),
    })
}

/// An S3 object, written `s3://BUCKET/KEY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// The object key.
    pub key: String,
}

impl FromStr for S3Location {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let usage = || {
            format!(
                "`{text}` is not s3://BUCKET/KEY (e.g. s3://notes-api-artifacts-123/{PUBLISHED_KEY}, \
                 the `deploy_stack_url` Terraform output)"
            )
        };
        let rest = text.strip_prefix("s3://").ok_or_else(usage)?;
        let (bucket, key) = rest.split_once('/').ok_or_else(usage)?;
        if bucket.is_empty() || key.is_empty() || key.ends_with('/') {
            return Err(usage());
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

fn output<T: DeserializeOwned>(
    outputs: &serde_json::Map<String, Value>,
    name: &str,
    expected: &str,
) -> Result<T, StackOutputsError> {
    let invalid = |cause: String| StackOutputsError::Invalid {
        name: name.into(),
        expected: expected.into(),
        cause,
    };
    let entry = outputs
        .get(name)
        .ok_or_else(|| StackOutputsError::Missing { name: name.into() })?;
    let value = entry
        .get("value")
        .ok_or_else(|| invalid("it has no `value` (is this `terraform output -json`?)".into()))?;
    serde_json::from_value(value.clone()).map_err(|e| invalid(e.to_string()))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
