//! The errors a user can act on, and the mapping from SDK errors to them.
//!
//! Every message is one line: the cause, then `; hint: …` with what to do about it. SDK errors
//! are classified by what the response (or the missing response) says: no credentials,
//! credentials rejected, wrong region, endpoint unreachable, bucket missing, access denied,
//! function missing; anything else keeps the SDK's own description.

use std::error::Error as StdError;
use std::fmt::Write as _;

use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Why a deploy or rollback of one function (or of the whole run) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The credential chain found no credentials (or a provider in it failed).
    #[error(
        "no AWS credentials: {cause}; hint: pass --profile (and run `aws sso login` for an SSO \
         profile), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )]
    NoCredentials {
        /// What the credential chain reported.
        cause: String,
    },

    /// AWS answered, but refused the credentials (invalid, expired or from another partition).
    #[error(
        "AWS rejected the credentials during {operation}: {cause}; hint: they are invalid or \
         expired: refresh them (`aws sso login`) or use another --profile"
    )]
    CredentialsRejected {
        /// The API operation, e.g. `GetFunction`.
        operation: String,
        /// The service's error code and message.
        cause: String,
    },

    /// No region was configured anywhere in the chain.
    #[error(
        "no AWS region configured; hint: pass --region, set AWS_REGION, or use the stack's \
         `region` Terraform output"
    )]
    NoRegion,

    /// The request went to a region the resource does not live in.
    #[error(
        "wrong region: {detail}; hint: pass --region with the stack's region (the `region` \
         Terraform output)"
    )]
    WrongRegion {
        /// What disagrees with what.
        detail: String,
    },

    /// No response at all: connection refused, DNS failure or timeout.
    #[error(
        "cannot reach {endpoint} during {operation}: {cause}; hint: check the network, \
         --endpoint-url and --region"
    )]
    Unreachable {
        /// The API operation, e.g. `HeadBucket`.
        operation: String,
        /// The endpoint that did not answer.
        endpoint: String,
        /// The transport error.
        cause: String,
    },

    /// The artifacts bucket does not exist.
    #[error(
        "the artifacts bucket `{bucket}` does not exist; hint: run `terraform apply` in IaC/ \
         first? (or check the `s3_bucket_name` output and --region)"
    )]
    BucketMissing {
        /// The bucket name.
        bucket: String,
    },

    /// The credentials may not do what the deploy needs.
    #[error(
        "access denied: {operation} on {resource}: {cause}; hint: allow that action for the \
         deploying identity, or use another --profile"
    )]
    AccessDenied {
        /// The API operation.
        operation: String,
        /// The bucket, key or function it was called on.
        resource: String,
        /// The service's error code and message.
        cause: String,
    },

    /// The published stack object (or its bucket) does not exist.
    #[error(
        "no deploy stack at {url}; hint: `terraform apply` in IaC/ publishes it (check the \
         `deploy_stack_url` output, the repository variable AWS_DEPLOY_STACK and --region)"
    )]
    StackMissing {
        /// Where it was looked for, `s3://BUCKET/KEY`.
        url: String,
    },

    /// The published stack object is not what Terraform writes.
    #[error("{url}: {cause}")]
    StackInvalid {
        /// Where it was read, `s3://BUCKET/KEY`.
        url: String,
        /// What was wrong (a [`crate::StackOutputsError`] message, with its hint).
        cause: String,
    },

    /// The Lambda function the stack names does not exist.
    #[error(
        "Lambda function `{function}` does not exist (ResourceNotFoundException); hint: run \
         `terraform apply` in IaC/ first? (or check --region)"
    )]
    FunctionMissing {
        /// The Lambda function name.
        function: String,
    },

    /// The package's function is not in the stack's `function_names` output.
    #[error(
        "function `{function}` is not in the stack's `function_names` output; hint: run \
         `terraform apply` in IaC/ first? (a new route needs its Lambda function)"
    )]
    NotInStack {
        /// The function (crate) name.
        function: String,
    },

    /// The function has no alias `live`.
    #[error(
        "Lambda function `{function}` has no alias `{alias}`; hint: run `terraform apply` in \
         IaC/ first? (it creates the alias)"
    )]
    AliasMissing {
        /// The Lambda function name.
        function: String,
        /// The alias name.
        alias: String,
    },

    /// The package was built for another architecture than the function runs on.
    #[error(
        "`{function}` runs on {lambda} but the package is built for {package}; hint: run \
         `cargo xtask package --arch {lambda}`, or change the architecture in IaC/ and apply"
    )]
    ArchMismatch {
        /// The Lambda function name.
        function: String,
        /// The package's architecture.
        package: String,
        /// The function's architecture.
        lambda: String,
    },

    /// The zip named by the manifest cannot be read.
    #[error("cannot read {path}: {cause}; hint: run `cargo xtask package`")]
    ZipUnreadable {
        /// The zip's path.
        path: String,
        /// The I/O error.
        cause: String,
    },

    /// The zip on disk is not the one the manifest describes.
    #[error(
        "{path} has SHA-256 {actual}, but packages.json says {expected}; hint: rerun `cargo \
         xtask package`"
    )]
    ZipChanged {
        /// The zip's path.
        path: String,
        /// The manifest's SHA-256 (hex).
        expected: String,
        /// The file's SHA-256 (hex).
        actual: String,
    },

    /// Lambda reported `LastUpdateStatus: Failed`.
    #[error(
        "Lambda failed to update `{function}`: {reason}; hint: fix the cause and deploy again \
         (the alias was not moved)"
    )]
    UpdateFailed {
        /// The Lambda function name.
        function: String,
        /// `LastUpdateStatusReason` (and its code).
        reason: String,
    },

    /// The update did not finish in time.
    #[error(
        "update stuck: `{function}` still has LastUpdateStatus {status} after {waited_secs} s; \
         hint: check the function in the Lambda console, then deploy again (the alias was not \
         moved)"
    )]
    UpdateStuck {
        /// The Lambda function name.
        function: String,
        /// The last status seen.
        status: String,
        /// How long the deploy waited.
        waited_secs: u64,
    },

    /// Another update of the function is running.
    #[error(
        "another update of `{function}` is in progress: {cause}; hint: wait for it (or for the \
         other deploy) to finish, then deploy again"
    )]
    UpdateConflict {
        /// The Lambda function name.
        function: String,
        /// The service's message.
        cause: String,
    },

    /// Lambda's code hash is not the package's.
    #[error(
        "Lambda reports a different code hash for `{function}` {stage}: {actual}, expected \
         {expected}; hint: the S3 artifact or the function changed underneath (a concurrent \
         deploy?): deploy again (the alias was not moved)"
    )]
    HashMismatch {
        /// The Lambda function name.
        function: String,
        /// When it was seen, e.g. `after the update`.
        stage: String,
        /// The package's CodeSha256 (base64).
        expected: String,
        /// Lambda's CodeSha256 (base64).
        actual: String,
    },

    /// The alias moved while the deploy or rollback was running.
    #[error(
        "the alias `{alias}` of `{function}` changed during this run: {cause}; hint: another \
         deploy or rollback is running; run again when it is done"
    )]
    AliasChanged {
        /// The Lambda function name.
        function: String,
        /// The alias name.
        alias: String,
        /// The service's message.
        cause: String,
    },

    /// Rollback found no published version older than the alias's.
    #[error(
        "`{function}` has no published version older than {current} to roll back to; hint: \
         pass --to VERSION"
    )]
    NoEarlierVersion {
        /// The Lambda function name.
        function: String,
        /// The alias's current version.
        current: String,
    },

    /// Rollback `--to` names a version that does not exist.
    #[error(
        "`{function}` has no published version {version}; hint: list them with `aws lambda \
         list-versions-by-function --function-name {function}`"
    )]
    VersionMissing {
        /// The Lambda function name.
        function: String,
        /// The version asked for.
        version: String,
    },

    /// An AWS response that says something unexpected.
    #[error(
        "{operation} on {resource} returned {detail}; hint: this looks like a bug in the deploy tool"
    )]
    Unexpected {
        /// The API operation.
        operation: String,
        /// What it was called on.
        resource: String,
        /// What was wrong with the response.
        detail: String,
    },

    /// Any other AWS error.
    #[error(
        "{operation} on {resource} failed: {cause}; hint: run again (deploys are idempotent); \
         if it persists, check the function and bucket in the AWS console"
    )]
    Aws {
        /// The API operation.
        operation: String,
        /// What it was called on.
        resource: String,
        /// The SDK's description of the error.
        cause: String,
    },
}

/// Which service a request went to (for messages about unreachable endpoints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    S3,
    Lambda,
}

/// What a failed request was: the operation, what it was called on and where it went.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub operation: &'static str,
    pub resource: &'a str,
    pub service: Service,
    /// The endpoint requests go to, for "cannot reach" messages.
    pub endpoint: &'a str,
}

/// How far a failed request got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// The request could not be built or signed (credentials resolution fails here).
    Construction,
    /// The request was not answered: connection refused, DNS, timeouts.
    NoResponse,
    /// The request failed while sending for another reason.
    DispatchOther,
    /// A response arrived.
    Response,
}

/// What an SDK error says, reduced to what classification needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Facts {
    pub stage: Stage,
    pub status: Option<u16>,
    pub code: Option<String>,
    /// The SDK's full description (error code, message and sources).
    pub cause: String,
    /// S3's `x-amz-bucket-region` header, when present.
    pub bucket_region: Option<String>,
}

impl Facts {
    pub(crate) fn of<E>(err: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + StdError + 'static,
    {
        let stage = match err {
            SdkError::ConstructionFailure(_) => Stage::Construction,
            SdkError::TimeoutError(_) => Stage::NoResponse,
            SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => Stage::NoResponse,
            SdkError::DispatchFailure(_) => Stage::DispatchOther,
            _ => Stage::Response,
        };
        let raw = err.raw_response();
        Self {
            stage,
            status: raw.map(|r| r.status().as_u16()),
            code: code_of(err).map(str::to_owned),
            cause: DisplayErrorContext(err).to_string(),
            bucket_region: raw
                .and_then(|r| r.headers().get("x-amz-bucket-region"))
                .map(str::to_owned),
        }
    }
}

const CREDENTIAL_CODES: [&str; 9] = [
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "ExpiredToken",
    "ExpiredTokenException",
    "TokenRefreshRequired",
    "InvalidToken",
];

const REGION_CODES: [&str; 3] = [
    "PermanentRedirect",
    "AuthorizationHeaderMalformed",
    "IllegalLocationConstraintException",
];

/// Maps an SDK error to the error a user can act on.
pub(crate) fn classify<E>(ctx: Ctx<'_>, err: &SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    classify_facts(ctx, &Facts::of(err))
}

/// The classification itself, on the facts extracted from an SDK error.
pub(crate) fn classify_facts(ctx: Ctx<'_>, facts: &Facts) -> Error {
    let operation = ctx.operation.to_owned();
    let resource = ctx.resource.to_owned();
    let cause = facts.cause.clone();
    let code = facts.code.as_deref().unwrap_or("");
    match facts.stage {
        Stage::NoResponse => {
            return Error::Unreachable {
                operation,
                endpoint: ctx.endpoint.to_owned(),
                cause,
            };
        }
        // The SDK resolves credentials while building and signing the request; a failure there
        // surfaces as a construction or (non-I/O) dispatch failure that names the provider.
        Stage::Construction | Stage::DispatchOther
            if cause.to_ascii_lowercase().contains("credential") =>
        {
            return Error::NoCredentials { cause };
        }
        Stage::Construction | Stage::DispatchOther => {
            return Error::Aws {
                operation,
                resource,
                cause,
            };
        }
        Stage::Response => {}
    }
    if CREDENTIAL_CODES.contains(&code) {
        return Error::CredentialsRejected { operation, cause };
    }
    if facts.status == Some(301) || REGION_CODES.contains(&code) {
        let mut detail = format!("{resource} is not in this region ({cause})");
        if let Some(region) = &facts.bucket_region {
            let _ = write!(detail, "; it is in {region}");
        }
        return Error::WrongRegion { detail };
    }
    if code == "AccessDenied" || code == "AccessDeniedException" || facts.status == Some(403) {
        return Error::AccessDenied {
            operation,
            resource,
            cause,
        };
    }
    if code == "NoSuchBucket" {
        let bucket = resource.split('/').nth(2).unwrap_or(&resource).to_owned();
        return Error::BucketMissing { bucket };
    }
    if ctx.service == Service::Lambda {
        match code {
            "ResourceNotFoundException" => return Error::FunctionMissing { function: resource },
            "ResourceConflictException" => {
                return Error::UpdateConflict {
                    function: resource,
                    cause,
                };
            }
            _ => {}
        }
    }
    Error::Aws {
        operation,
        resource,
        cause,
    }
}

/// The SDK error's service error code, if a service error arrived.
pub(crate) fn code_of<E, R>(err: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    err.as_service_error().and_then(ProvideErrorMetadata::code)
}

/// An error and its sources, joined with `: ` (for errors from outside the SDK's request path).
pub(crate) fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = e.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: Ctx<'static> = Ctx {
        operation: "PutObject",
        resource: "s3://artifacts/get-note/ab.zip",
        service: Service::S3,
        endpoint: "https://s3.eu-west-1.amazonaws.com",
    };

    const LAMBDA: Ctx<'static> = Ctx {
        operation: "GetFunction",
        resource: "notes-get-note",
        service: Service::Lambda,
        endpoint: "https://lambda.eu-west-1.amazonaws.com",
    };

    fn response(status: u16, code: &str) -> Facts {
        Facts {
            stage: Stage::Response,
            status: Some(status),
            code: Some(code.to_owned()).filter(|c| !c.is_empty()),
            cause: format!("{code}: something"),
            bucket_region: None,
        }
    }

    #[test]
    fn no_response_is_unreachable_and_names_the_endpoint() {
        let facts = Facts {
            stage: Stage::NoResponse,
            status: None,
            code: None,
            cause: "io error: Connection refused".into(),
            bucket_region: None,
        };
        let err = classify_facts(CTX, &facts);
        let Error::Unreachable { endpoint, .. } = &err else {
            panic!("expected Unreachable, got {err:?}");
        };
        assert_eq!(endpoint, "https://s3.eu-west-1.amazonaws.com");
        let text = err.to_string();
        assert!(text.contains("Connection refused"), "{text}");
        assert!(text.contains("hint: "), "{text}");
    }

    #[test]
    fn credential_failures_before_sending_are_no_credentials() {
        let facts = Facts {
            stage: Stage::DispatchOther,
            status: None,
            code: None,
            cause: "failed to construct request: an identity resolver failed: the credential \
                    provider was not enabled"
                .into(),
            bucket_region: None,
        };
        assert!(matches!(
            classify_facts(LAMBDA, &facts),
            Error::NoCredentials { .. }
        ));
    }

    #[test]
    fn rejected_and_expired_credentials() {
        for code in [
            "UnrecognizedClientException",
            "ExpiredToken",
            "InvalidAccessKeyId",
        ] {
            let err = classify_facts(LAMBDA, &response(403, code));
            assert!(
                matches!(err, Error::CredentialsRejected { .. }),
                "{code}: {err:?}"
            );
        }
    }

    #[test]
    fn redirects_are_wrong_region_and_name_the_right_one() {
        let mut facts = response(301, "");
        facts.bucket_region = Some("eu-central-1".into());
        let err = classify_facts(CTX, &facts);
        assert!(matches!(err, Error::WrongRegion { .. }), "{err:?}");
        assert!(err.to_string().contains("eu-central-1"), "{err}");
        let err = classify_facts(CTX, &response(400, "AuthorizationHeaderMalformed"));
        assert!(matches!(err, Error::WrongRegion { .. }), "{err:?}");
    }

    #[test]
    fn access_denied_names_operation_and_resource() {
        let err = classify_facts(CTX, &response(403, "AccessDenied"));
        let Error::AccessDenied {
            operation,
            resource,
            ..
        } = &err
        else {
            panic!("expected AccessDenied, got {err:?}");
        };
        assert_eq!(operation, "PutObject");
        assert_eq!(resource, "s3://artifacts/get-note/ab.zip");
        let err = classify_facts(LAMBDA, &response(403, "AccessDeniedException"));
        assert!(matches!(err, Error::AccessDenied { .. }), "{err:?}");
    }

    #[test]
    fn no_such_bucket_names_the_bucket() {
        let err = classify_facts(CTX, &response(404, "NoSuchBucket"));
        assert_eq!(
            err,
            Error::BucketMissing {
                bucket: "artifacts".into()
            }
        );
    }

    #[test]
    fn lambda_not_found_is_function_missing_with_the_terraform_hint() {
        let err = classify_facts(LAMBDA, &response(404, "ResourceNotFoundException"));
        assert_eq!(
            err,
            Error::FunctionMissing {
                function: "notes-get-note".into()
            }
        );
        assert!(
            err.to_string()
                .contains("run `terraform apply` in IaC/ first?")
        );
        let err = classify_facts(LAMBDA, &response(409, "ResourceConflictException"));
        assert!(matches!(err, Error::UpdateConflict { .. }), "{err:?}");
    }

    #[test]
    fn anything_else_keeps_the_sdk_description() {
        let err = classify_facts(LAMBDA, &response(500, "ServiceException"));
        let Error::Aws { cause, .. } = &err else {
            panic!("expected Aws, got {err:?}");
        };
        assert_eq!(cause, "ServiceException: something");
    }

    #[test]
    fn every_message_is_one_line_with_a_hint() {
        let samples = [
            Error::NoCredentials { cause: "x".into() },
            Error::NoRegion,
            Error::UpdateStuck {
                function: "f".into(),
                status: "InProgress".into(),
                waited_secs: 120,
            },
            Error::HashMismatch {
                function: "f".into(),
                stage: "after the update".into(),
                expected: "a".into(),
                actual: "b".into(),
            },
        ];
        for err in samples {
            let text = err.to_string();
            assert!(!text.contains('\n'), "{text}");
            assert!(text.contains("; hint: "), "{text}");
        }
    }
}
