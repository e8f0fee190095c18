//! The deploy and rollback engine.

use std::future::Future;
use std::time::Duration;

use aws_sdk_lambda::types::{FunctionConfiguration, LastUpdateStatus};
use aws_sdk_s3::primitives::ByteStream;
use futures::StreamExt as _;
use sha2::{Digest as _, Sha256};
use tokio::time::Instant;

use crate::clients::Clients;
use crate::error::{Ctx, Error, Service, classify, code_of};
use crate::report::{Entry, Outcome, Progress, Report, Step};
use crate::stack::StackOutputs;
use function_table::{Arch, Manifest, Package};

/// The alias API Gateway invokes; deploy and rollback move it.
pub const ALIAS: &str = "live";

/// How a deploy runs.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Compare only: report `WouldUpdate`/`Unchanged`, upload, update and publish nothing.
    pub dry_run: bool,
    /// How many functions are deployed at the same time (at least 1).
    pub concurrency: usize,
    /// How long to wait for `LastUpdateStatus: Successful` before failing with "update stuck".
    pub update_timeout: Duration,
    /// The longest pause between two polls of the update status (polls start at 250 ms and
    /// double up to this).
    pub max_poll_interval: Duration,
    /// Where progress goes.
    pub progress: Progress,
}

impl Default for DeployOptions {
    /// Not a dry run, 4 functions at a time, 120 s update timeout, polls at most every 5 s,
    /// progress on stderr.
    fn default() -> Self {
        Self {
            dry_run: false,
            concurrency: 4,
            update_timeout: Duration::from_secs(120),
            max_poll_interval: Duration::from_secs(5),
            progress: Progress::stderr(),
        }
    }
}

/// Deploys every package of `manifest` to the function the stack maps it to, in parallel (at
/// most `options.concurrency` at a time). Per function:
///
/// 1. compare the package's `code_sha256` with the `CodeSha256` of the version alias `live`
///    points at, and the package's architecture with the function's: same code → `Unchanged`
///    (one `GetFunctionConfiguration(Qualifier=live)`, and no bucket check when every function
///    is unchanged; otherwise the full reads of `$LATEST`, the alias and its version say what
///    differs, and HeadBucket runs once before anything is written);
/// 2. put `s3://<artifacts>/<function>/<sha256 hex>.zip`, unless HeadObject finds it;
/// 3. UpdateFunctionCode from that object, then poll until `LastUpdateStatus` is `Successful`;
/// 4. check Lambda's `CodeSha256` is the package's;
/// 5. PublishVersion with that `CodeSha256` (Lambda refuses if `$LATEST` changed meanwhile),
///    then UpdateAlias `live` (with the alias's RevisionId, so a concurrent move is refused).
///
/// Any failure leaves `live` where it was; a failed function does not stop the others.
/// Comparing with what `live` runs (not with `$LATEST`) makes a rerun converge after a run that
/// stopped between the update and the alias move, and after a rollback.
///
/// # Errors
/// Only checks done before any function is touched: [`Error::NoCredentials`], a region that is
/// not the stack's ([`Error::WrongRegion`]), and the artifacts bucket
/// ([`Error::BucketMissing`], [`Error::AccessDenied`], [`Error::Unreachable`], …).
/// Per-function failures are [`Outcome::Failed`] entries of the report.
pub async fn deploy(
    clients: &Clients,
    stack: &StackOutputs,
    manifest: &Manifest,
    options: &DeployOptions,
) -> Result<Report, Error> {
    preflight(clients, stack).await?;
    let arch = manifest.arch;
    // The unchanged path first: one read of `live` a function. Only when something may be
    // uploaded (or there is nothing to deploy) is the bucket checked, still before any function
    // is touched.
    let unchanged = run_bounded(manifest.packages.iter(), options.concurrency, |package| {
        live_unchanged(clients, stack, package, arch, options)
    })
    .await;
    if unchanged.is_empty() || unchanged.iter().any(Option::is_none) {
        check_bucket(clients, &stack.artifacts_bucket).await?;
    }
    let work: Vec<(&Package, Option<Outcome>)> = manifest.packages.iter().zip(unchanged).collect();
    let entries = run_bounded(
        work.iter(),
        options.concurrency,
        |(package, unchanged)| async move {
            if let Some(outcome) = unchanged {
                return Entry {
                    function: package.function.clone(),
                    outcome: outcome.clone(),
                };
            }
            let started = Instant::now();
            let outcome = match deploy_one(clients, stack, package, arch, options).await {
                Ok(outcome) => outcome,
                Err(error) => {
                    options.progress.report(&package.function, &Step::Failed);
                    Outcome::Failed {
                        error,
                        seconds: started.elapsed().as_secs_f64(),
                    }
                }
            };
            Entry {
                function: package.function.clone(),
                outcome,
            }
        },
    )
    .await;
    Ok(Report { entries })
}

/// Moves alias `live` of each of `functions` (crate names; empty = every function of the stack)
/// to version `to`, or by default to the newest published version older than the one it points
/// at. A function already at `to` is `Unchanged`.
///
/// # Errors
/// Only checks done before any function is touched: [`Error::NoCredentials`] and
/// [`Error::WrongRegion`]. Per-function failures ([`Error::NoEarlierVersion`],
/// [`Error::VersionMissing`], [`Error::FunctionMissing`], …) are report entries.
pub async fn rollback(
    clients: &Clients,
    stack: &StackOutputs,
    functions: &[String],
    to: Option<u64>,
    progress: &Progress,
) -> Result<Report, Error> {
    preflight(clients, stack).await?;
    let functions: Vec<String> = if functions.is_empty() {
        stack.function_names.keys().cloned().collect()
    } else {
        functions.to_vec()
    };
    let entries = run_bounded(functions.iter(), 4, |function| async move {
        let started = Instant::now();
        let outcome = match rollback_one(clients, stack, function, to, progress).await {
            Ok(outcome) => outcome,
            Err(error) => {
                progress.report(function, &Step::Failed);
                Outcome::Failed {
                    error,
                    seconds: started.elapsed().as_secs_f64(),
                }
            }
        };
        Entry {
            function: function.clone(),
            outcome,
        }
    })
    .await;
    Ok(Report { entries })
}

/// Runs `work` on every item, at most `limit` at a time; results in input order.
async fn run_bounded<'a, T, F, Fut, R>(
    items: impl Iterator<Item = &'a T>,
    limit: usize,
    work: F,
) -> Vec<R>
where
    T: 'a + ?Sized,
    F: Fn(&'a T) -> Fut,
    Fut: Future<Output = R>,
{
    let mut results: Vec<(usize, R)> = futures::stream::iter(items.enumerate())
        .map(|(i, item)| {
            let fut = work(item);
            async move { (i, fut.await) }
        })
        .buffer_unordered(limit.max(1))
        .collect()
        .await;
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

async fn preflight(clients: &Clients, stack: &StackOutputs) -> Result<(), Error> {
    clients.check_credentials().await?;
    if !stack.region.is_empty() && stack.region != clients.region() {
        return Err(Error::WrongRegion {
            detail: format!(
                "the clients use {} but the stack lives in {}",
                clients.region(),
                stack.region
            ),
        });
    }
    Ok(())
}

async fn check_bucket(clients: &Clients, bucket: &str) -> Result<(), Error> {
    let result = clients.s3().head_bucket().bucket(bucket).send().await;
    let Err(err) = result else {
        return Ok(());
    };
    let resource = format!("s3://{bucket}");
    let endpoint = clients.s3_endpoint();
    let ctx = Ctx {
        operation: "HeadBucket",
        resource: &resource,
        service: Service::S3,
        endpoint: &endpoint,
    };
    // HeadBucket answers without a body: only the status says what is wrong.
    Err(match err.raw_response().map(|r| r.status().as_u16()) {
        Some(404) => Error::BucketMissing {
            bucket: bucket.to_owned(),
        },
        _ => classify(ctx, &err),
    })
}

/// One Lambda function: its name and where errors about it point.
struct Function<'a> {
    clients: &'a Clients,
    name: &'a str,
    endpoint: String,
}

impl<'a> Function<'a> {
    fn new(clients: &'a Clients, name: &'a str) -> Self {
        Self {
            clients,
            name,
            endpoint: clients.lambda_endpoint(),
        }
    }

    fn ctx(&self, operation: &'static str) -> Ctx<'_> {
        Ctx {
            operation,
            resource: self.name,
            service: Service::Lambda,
            endpoint: &self.endpoint,
        }
    }

    /// `$LATEST`'s configuration.
    async fn latest(&self) -> Result<FunctionConfiguration, Error> {
        let output = self
            .clients
            .lambda()
            .get_function()
            .function_name(self.name)
            .send()
            .await
            .map_err(|e| classify(self.ctx("GetFunction"), &e))?;
        output
            .configuration
            .ok_or_else(|| self.unexpected("GetFunction", "no Configuration"))
    }

    /// The version `live` points at and the alias's RevisionId.
    async fn alias(&self) -> Result<(String, Option<String>), Error> {
        let output = self
            .clients
            .lambda()
            .get_alias()
            .function_name(self.name)
            .name(ALIAS)
            .send()
            .await
            .map_err(|e| match code_of(&e) {
                Some("ResourceNotFoundException") => Error::AliasMissing {
                    function: self.name.to_owned(),
                    alias: ALIAS.to_owned(),
                },
                _ => classify(self.ctx("GetAlias"), &e),
            })?;
        let version = output
            .function_version()
            .ok_or_else(|| self.unexpected("GetAlias", "no FunctionVersion"))?
            .to_owned();
        Ok((version, output.revision_id().map(str::to_owned)))
    }

    /// The code and update state of one version (or `$LATEST`).
    async fn version(&self, qualifier: &str) -> Result<CodeState, Error> {
        self.clients
            .lambda()
            .get_function_configuration()
            .function_name(self.name)
            .qualifier(qualifier)
            .send()
            .await
            .map(|c| CodeState {
                code_sha256: c.code_sha256().map(str::to_owned),
                status: c.last_update_status().cloned(),
                reason: update_reason(
                    c.last_update_status_reason(),
                    c.last_update_status_reason_code().map(|r| r.as_str()),
                ),
            })
            .map_err(|e| match code_of(&e) {
                Some("ResourceNotFoundException") => Error::VersionMissing {
                    function: self.name.to_owned(),
                    version: qualifier.to_owned(),
                },
                _ => classify(self.ctx("GetFunctionConfiguration"), &e),
            })
    }

    /// Waits until `$LATEST` has finished updating.
    async fn wait_updated(&self, options: &DeployOptions) -> Result<CodeState, Error> {
        wait_until_updated(
            self.name,
            options.update_timeout,
            options.max_poll_interval,
            || self.version("$LATEST"),
        )
        .await
    }

    /// Points `live` at `version`, refusing if the alias moved since `revision_id` was read.
    async fn move_alias(&self, version: &str, revision_id: Option<String>) -> Result<(), Error> {
        self.clients
            .lambda()
            .update_alias()
            .function_name(self.name)
            .name(ALIAS)
            .function_version(version)
            .set_revision_id(revision_id)
            .send()
            .await
            .map(drop)
            .map_err(|e| match code_of(&e) {
                Some("PreconditionFailedException") => Error::AliasChanged {
                    function: self.name.to_owned(),
                    alias: ALIAS.to_owned(),
                    cause: e
                        .as_service_error()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                },
                _ => classify(self.ctx("UpdateAlias"), &e),
            })
    }

    fn unexpected(&self, operation: &str, detail: &str) -> Error {
        Error::Unexpected {
            operation: operation.to_owned(),
            resource: self.name.to_owned(),
            detail: detail.to_owned(),
        }
    }

    fn hash_mismatch(&self, stage: &str, expected: &str, actual: Option<&str>) -> Error {
        Error::HashMismatch {
            function: self.name.to_owned(),
            stage: stage.to_owned(),
            expected: expected.to_owned(),
            actual: actual.unwrap_or("(none)").to_owned(),
        }
    }
}

/// `Some(Unchanged)` when alias `live` already runs `package`'s code on the right architecture,
/// read with one `GetFunctionConfiguration(Qualifier=live)` (its `CodeSha256`, `Architectures`
/// and `Version`); `None` otherwise, or when the read fails (the full path then says why).
async fn live_unchanged(
    clients: &Clients,
    stack: &StackOutputs,
    package: &Package,
    arch: Arch,
    options: &DeployOptions,
) -> Option<Outcome> {
    let name = stack.lambda_name(&package.function)?;
    let live = clients
        .lambda()
        .get_function_configuration()
        .function_name(name)
        .qualifier(ALIAS)
        .send()
        .await
        .ok()?;
    let lambda_arch = live
        .architectures()
        .first()
        .map_or("x86_64", |a| a.as_str());
    let version = live.version()?.to_owned();
    if lambda_arch != arch.as_str()
        || live.code_sha256() != Some(package.code_sha256.as_str())
        || version == "$LATEST"
    {
        return None;
    }
    // The same steps as the full path shows for an unchanged function.
    options.progress.report(&package.function, &Step::Checking);
    options.progress.report(
        &package.function,
        &Step::Unchanged {
            version: version.clone(),
        },
    );
    Some(Outcome::Unchanged { version })
}

async fn deploy_one(
    clients: &Clients,
    stack: &StackOutputs,
    package: &Package,
    arch: Arch,
    options: &DeployOptions,
) -> Result<Outcome, Error> {
    let started = Instant::now();
    let progress = |step: Step| options.progress.report(&package.function, &step);
    let name = stack
        .lambda_name(&package.function)
        .ok_or_else(|| Error::NotInStack {
            function: package.function.clone(),
        })?;
    let function = Function::new(clients, name);
    progress(Step::Checking);
    let zip = read_zip(package).await?;

    let latest = function.latest().await?;
    let lambda_arch = latest
        .architectures()
        .first()
        .map_or("x86_64", |a| a.as_str());
    if lambda_arch != arch.as_str() {
        return Err(Error::ArchMismatch {
            function: name.to_owned(),
            package: arch.to_string(),
            lambda: lambda_arch.to_owned(),
        });
    }
    let (live, alias_revision) = function.alias().await?;
    let live_code = if live == "$LATEST" {
        latest.code_sha256().map(str::to_owned)
    } else {
        function.version(&live).await?.code_sha256
    };
    if live_code.as_deref() == Some(package.code_sha256.as_str()) {
        progress(Step::Unchanged {
            version: live.clone(),
        });
        return Ok(Outcome::Unchanged { version: live });
    }
    if options.dry_run {
        progress(Step::WouldUpdate {
            version: live.clone(),
        });
        return Ok(Outcome::WouldUpdate { version: live });
    }

    let key = format!("{}/{}.zip", package.function, package.sha256);
    upload(
        clients,
        &stack.artifacts_bucket,
        &key,
        package,
        zip,
        &progress,
    )
    .await?;

    if latest.last_update_status() == Some(&LastUpdateStatus::InProgress) {
        // Lambda refuses a code update while another update runs; let that one finish.
        progress(Step::Waiting);
        function.wait_updated(options).await?;
    }
    progress(Step::Updating);
    let updated = clients
        .lambda()
        .update_function_code()
        .function_name(name)
        .s3_bucket(&stack.artifacts_bucket)
        .s3_key(&key)
        .send()
        .await
        .map_err(|e| classify(function.ctx("UpdateFunctionCode"), &e))?;
    if updated.code_sha256() != Some(package.code_sha256.as_str()) {
        return Err(function.hash_mismatch(
            "after UpdateFunctionCode",
            &package.code_sha256,
            updated.code_sha256(),
        ));
    }
    progress(Step::Waiting);
    let settled = function.wait_updated(options).await?;
    if settled.code_sha256.as_deref() != Some(package.code_sha256.as_str()) {
        return Err(function.hash_mismatch(
            "after the update",
            &package.code_sha256,
            settled.code_sha256.as_deref(),
        ));
    }

    progress(Step::Publishing);
    let published = clients
        .lambda()
        .publish_version()
        .function_name(name)
        .code_sha256(&package.code_sha256)
        .send()
        .await
        .map_err(|e| match code_of(&e) {
            // $LATEST no longer has our code: another deploy got in between.
            Some("PreconditionFailedException") => function.hash_mismatch(
                "when publishing (PreconditionFailed)",
                &package.code_sha256,
                None,
            ),
            _ => classify(function.ctx("PublishVersion"), &e),
        })?;
    let version = published
        .version()
        .filter(|v| *v != "$LATEST")
        .ok_or_else(|| function.unexpected("PublishVersion", "no version number"))?
        .to_owned();
    if published.code_sha256() != Some(package.code_sha256.as_str()) {
        return Err(function.hash_mismatch(
            &format!("in published version {version}"),
            &package.code_sha256,
            published.code_sha256(),
        ));
    }
    function.move_alias(&version, alias_revision).await?;
    progress(Step::AliasMoved {
        from: live,
        to: version.clone(),
    });
    Ok(Outcome::Updated {
        version,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Reads the zip and checks it is the one the manifest describes.
async fn read_zip(package: &Package) -> Result<Vec<u8>, Error> {
    let path = package.zip.display().to_string();
    let bytes = tokio::fs::read(&package.zip)
        .await
        .map_err(|e| Error::ZipUnreadable {
            path: path.clone(),
            cause: e.to_string(),
        })?;
    let actual = hex::encode(Sha256::digest(&bytes));
    if actual != package.sha256 {
        return Err(Error::ZipChanged {
            path,
            expected: package.sha256.clone(),
            actual,
        });
    }
    Ok(bytes)
}

/// Puts the zip at `key` unless an object is already there (keys are content hashes).
async fn upload(
    clients: &Clients,
    bucket: &str,
    key: &str,
    package: &Package,
    zip: Vec<u8>,
    progress: &impl Fn(Step),
) -> Result<(), Error> {
    let url = format!("s3://{bucket}/{key}");
    let endpoint = clients.s3_endpoint();
    let ctx = |operation| Ctx {
        operation,
        resource: &url,
        service: Service::S3,
        endpoint: &endpoint,
    };
    let head = clients
        .s3()
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await;
    match head {
        Ok(_) => {
            progress(Step::AlreadyUploaded { url: url.clone() });
            return Ok(());
        }
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {}
        Err(e) => return Err(classify(ctx("HeadObject"), &e)),
    }
    progress(Step::Uploading {
        bytes: zip.len() as u64,
        url: url.clone(),
    });
    clients
        .s3()
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/zip")
        // S3 verifies the body against the digest: a corrupted upload is refused.
        .checksum_sha256(&package.code_sha256)
        .body(ByteStream::from(zip))
        .send()
        .await
        .map(drop)
        .map_err(|e| classify(ctx("PutObject"), &e))
}

/// What the wait and the comparisons need from a function version's configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CodeState {
    /// `CodeSha256`.
    pub code_sha256: Option<String>,
    /// `LastUpdateStatus`.
    pub status: Option<LastUpdateStatus>,
    /// `LastUpdateStatusReason` and its code, for a failed update.
    pub reason: Option<String>,
}

fn update_reason(reason: Option<&str>, code: Option<&str>) -> Option<String> {
    match (reason, code) {
        (Some(reason), Some(code)) => Some(format!("{reason} ({code})")),
        (Some(text), None) | (None, Some(text)) => Some(text.to_owned()),
        (None, None) => None,
    }
}

/// Polls `fetch` until `LastUpdateStatus` is `Successful` (returns that state), `Failed`
/// (→ [`Error::UpdateFailed`] with the reason) or `timeout` passed (→ [`Error::UpdateStuck`]).
/// Pauses start at 250 ms and double up to `max_interval`.
pub(crate) async fn wait_until_updated<F, Fut>(
    function: &str,
    timeout: Duration,
    max_interval: Duration,
    mut fetch: F,
) -> Result<CodeState, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<CodeState, Error>>,
{
    let started = Instant::now();
    let mut interval = Duration::from_millis(250).min(max_interval);
    loop {
        let state = fetch().await?;
        let status = match &state.status {
            // No status: a function that was never updated; nothing to wait for.
            None | Some(LastUpdateStatus::Successful) => return Ok(state),
            Some(LastUpdateStatus::Failed) => {
                return Err(Error::UpdateFailed {
                    function: function.to_owned(),
                    reason: state.reason.unwrap_or_else(|| "no reason given".to_owned()),
                });
            }
            Some(other) => other.as_str().to_owned(),
        };
        let waited = started.elapsed();
        if waited >= timeout {
            return Err(Error::UpdateStuck {
                function: function.to_owned(),
                status,
                waited_secs: waited.as_secs(),
            });
        }
        tokio::time::sleep(interval.min(timeout - waited)).await;
        interval = (interval * 2).min(max_interval);
    }
}

async fn rollback_one(
    clients: &Clients,
    stack: &StackOutputs,
    function_name: &str,
    to: Option<u64>,
    progress: &Progress,
) -> Result<Outcome, Error> {
    let started = Instant::now();
    let name = stack
        .lambda_name(function_name)
        .ok_or_else(|| Error::NotInStack {
            function: function_name.to_owned(),
        })?;
    let function = Function::new(clients, name);
    progress.report(function_name, &Step::Checking);
    function.latest().await?; // a missing function is FunctionMissing, not AliasMissing
    let (current, revision) = function.alias().await?;
    let target = match to {
        Some(version) => {
            let version = version.to_string();
            function.version(&version).await?;
            version
        }
        None => previous_version(&function, &current).await?,
    };
    if target == current {
        progress.report(
            function_name,
            &Step::Unchanged {
                version: current.clone(),
            },
        );
        return Ok(Outcome::Unchanged { version: current });
    }
    function.move_alias(&target, revision).await?;
    progress.report(
        function_name,
        &Step::AliasMoved {
            from: current.clone(),
            to: target.clone(),
        },
    );
    Ok(Outcome::RolledBack {
        from: current,
        to: target,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The newest published version older than `current` (any published version when `current`
/// is `$LATEST`).
async fn previous_version(function: &Function<'_>, current: &str) -> Result<String, Error> {
    let current_number = current.parse::<u64>().ok();
    let mut pages = function
        .clients
        .lambda()
        .list_versions_by_function()
        .function_name(function.name)
        .into_paginator()
        .send();
    let mut best: Option<u64> = None;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| classify(function.ctx("ListVersionsByFunction"), &e))?;
        for version in page.versions() {
            // `$LATEST` is not a published version; it does not parse.
            let Some(number) = version.version().and_then(|v| v.parse::<u64>().ok()) else {
                continue;
            };
            if current_number.is_none_or(|c| number < c) && best.is_none_or(|b| number > b) {
                best = Some(number);
            }
        }
    }
    best.map(|b| b.to_string())
        .ok_or_else(|| Error::NoEarlierVersion {
            function: function.name.to_owned(),
            current: current.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn state(status: Option<LastUpdateStatus>) -> CodeState {
        CodeState {
            code_sha256: Some("abc=".into()),
            status,
            reason: None,
        }
    }

    /// Answers polls from a script; the last answer repeats.
    struct Script(Mutex<VecDeque<CodeState>>);

    impl Script {
        fn new(answers: Vec<CodeState>) -> Self {
            Self(Mutex::new(answers.into()))
        }

        async fn next(&self) -> Result<CodeState, Error> {
            let Ok(mut queue) = self.0.lock() else {
                panic!("the script's lock is poisoned");
            };
            let next = if queue.len() > 1 {
                queue.pop_front()
            } else {
                queue.front().cloned()
            };
            let Some(next) = next else {
                panic!("the script is empty");
            };
            Ok(next)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn waits_through_in_progress_until_successful() {
        let script = Script::new(vec![
            state(Some(LastUpdateStatus::InProgress)),
            state(Some(LastUpdateStatus::InProgress)),
            state(Some(LastUpdateStatus::Successful)),
        ]);
        let started = Instant::now();
        let result = wait_until_updated(
            "f",
            Duration::from_secs(120),
            Duration::from_secs(5),
            || script.next(),
        )
        .await;
        assert_eq!(result, Ok(state(Some(LastUpdateStatus::Successful))));
        // 250 ms + 500 ms of (paused, auto-advanced) sleeping before the third poll.
        assert_eq!(started.elapsed(), Duration::from_millis(750));
    }

    #[tokio::test(start_paused = true)]
    async fn failed_update_reports_the_reason() {
        let failed = CodeState {
            code_sha256: None,
            status: Some(LastUpdateStatus::Failed),
            reason: update_reason(
                Some("The unzipped size must be smaller than 262144000 bytes"),
                Some("InvalidZipFileException"),
            ),
        };
        let script = Script::new(vec![state(Some(LastUpdateStatus::InProgress)), failed]);
        let result = wait_until_updated(
            "notes-get-note",
            Duration::from_secs(120),
            Duration::from_secs(5),
            || script.next(),
        )
        .await;
        let Err(Error::UpdateFailed { function, reason }) = &result else {
            panic!("expected UpdateFailed: {result:?}");
        };
        assert_eq!(function, "notes-get-note");
        assert_eq!(
            reason,
            "The unzipped size must be smaller than 262144000 bytes (InvalidZipFileException)"
        );
        let script = Script::new(vec![CodeState {
            status: Some(LastUpdateStatus::Failed),
            ..CodeState::default()
        }]);
        let result =
            wait_until_updated("f", Duration::from_secs(1), Duration::from_secs(1), || {
                script.next()
            })
            .await;
        let Err(Error::UpdateFailed { reason, .. }) = &result else {
            panic!("expected UpdateFailed: {result:?}");
        };
        assert_eq!(reason, "no reason given");
    }

    #[tokio::test(start_paused = true)]
    async fn stuck_update_times_out_with_bounded_polling() {
        let polls = AtomicU32::new(0);
        let started = Instant::now();
        let result = wait_until_updated(
            "f",
            Duration::from_secs(120),
            Duration::from_secs(5),
            || async {
                polls.fetch_add(1, Ordering::Relaxed);
                Ok(state(Some(LastUpdateStatus::InProgress)))
            },
        )
        .await;
        let Err(err @ Error::UpdateStuck { waited_secs, .. }) = &result else {
            panic!("expected UpdateStuck: {result:?}");
        };
        assert_eq!(*waited_secs, 120);
        assert_eq!(started.elapsed(), Duration::from_secs(120));
        // Polls at 0, 0.25, 0.75, 1.75, 3.75, then every 5 s from 7.75 to 117.75, then at 120.
        assert_eq!(polls.load(Ordering::Relaxed), 29);
        let text = err.to_string();
        assert!(
            text.starts_with("update stuck: `f` still has LastUpdateStatus InProgress after 120 s"),
            "{text}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_status_means_nothing_to_wait_for() {
        let result = wait_until_updated(
            "f",
            Duration::from_secs(1),
            Duration::from_secs(1),
            || async { Ok(state(None)) },
        )
        .await;
        assert_eq!(result, Ok(state(None)));
    }

    #[tokio::test(start_paused = true)]
    async fn fetch_errors_end_the_wait() {
        let result = wait_until_updated(
            "f",
            Duration::from_secs(1),
            Duration::from_secs(1),
            || async {
                Err(Error::FunctionMissing {
                    function: "f".into(),
                })
            },
        )
        .await;
        assert_eq!(
            result,
            Err(Error::FunctionMissing {
                function: "f".into()
            })
        );
    }

    #[tokio::test]
    async fn run_bounded_keeps_input_order_and_the_limit() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let items: Vec<u64> = (0..10).collect();
        let results = run_bounded(items.iter(), 3, |n| {
            let (running, peak) = (&running, &peak);
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                // Later items finish first, so completion order differs from input order.
                tokio::time::sleep(Duration::from_millis(10 * (10 - n))).await;
                running.fetch_sub(1, Ordering::SeqCst);
                n * 2
            }
        })
        .await;
        assert_eq!(results, (0..10).map(|n| n * 2).collect::<Vec<_>>());
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }
}
