//! The stack settings the engine needs, from `terraform output -json` in `IaC/`.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::Value;

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

    /// The Lambda function name of `function` (a crate name), if the stack has it.
    #[must_use]
    pub fn lambda_name(&self, function: &str) -> Option<&str> {
        self.function_names.get(function).map(String::as_str)
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
