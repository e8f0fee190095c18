//! `cargo xtask deploy`: packages the functions in-process ([`crate::package`]), then runs the
//! AWS-facing `xtask-aws deploy` of crates/deploy with `--manifest <target>/lambda/packages.json`.
//!
//! The flags are those of `xtask-aws deploy` plus `--no-build`; the packaging ones (`--arch`,
//! `-f`) go to the packaging and are passed on, so that xtask-aws checks the manifest against
//! them. xtask-aws itself never builds: it deploys the manifest it is given.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::package::{self, Arch, PackageError, PackageOptions};
use crate::workspace;

/// The flags of `cargo xtask deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Deploy only this function (repeatable; packaged, then deployed); default: every function.
    #[arg(short = 'f', long = "function", value_name = "NAME")]
    pub functions: Vec<String>,
    /// The architecture to package for (passed on: xtask-aws checks the manifest against it);
    /// must match the functions' (Terraform creates arm64).
    #[arg(long, value_enum, default_value_t = Arch::Arm64)]
    pub arch: Arch,
    /// Compare only: say what would change, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not package (a flag of xtask, not of xtask-aws): deploy the zips that
    /// `cargo xtask package` (or `package --index`) left in target/lambda.
    #[arg(long)]
    pub no_build: bool,
    /// The package manifest to deploy (implies --no-build); relative zip paths in it are read
    /// from the workspace root.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// How many functions to deploy at the same time.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub concurrency: u16,
    /// How long to wait for one function's code update to finish, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub update_timeout: u64,
    /// Read the stack from the object Terraform publishes in the artifacts bucket (the
    /// `deploy_stack_url` output: s3://<artifacts bucket>/deploy/stack.json) instead of
    /// running terraform: needs only s3:GetObject on that object, neither Terraform nor its
    /// state. The region comes from --region or the credential chain (AWS_REGION).
    #[arg(long, value_name = "s3://BUCKET/KEY", conflicts_with = "outputs")]
    pub stack: Option<String>,
    /// The Terraform root module whose outputs describe the stack.
    #[arg(long, value_name = "DIR", default_value = "IaC")]
    pub iac_dir: PathBuf,
    /// Read the outputs from this file (saved `terraform output -json`) instead of running
    /// terraform.
    #[arg(long, value_name = "FILE", env = "XTASK_TF_OUTPUTS")]
    pub outputs: Option<PathBuf>,
    /// Send every AWS request here (an emulator such as moto server); S3 then uses path-style
    /// addressing. Default: AWS itself (or `AWS_ENDPOINT_URL`).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// The named profile from ~/.aws/config to use.
    #[arg(long, value_name = "P")]
    pub profile: Option<String>,
    /// The region; default: the stack's `region` output (with --stack: the credential chain's).
    #[arg(long, value_name = "R")]
    pub region: Option<String>,
}

impl DeployArgs {
    /// Whether the functions are packaged before deploying (neither --no-build nor --manifest).
    #[must_use]
    pub fn packages(&self) -> bool {
        !self.no_build && self.manifest.is_none()
    }

    /// The arguments of `xtask-aws` for this deploy of the manifest at `manifest`.
    #[must_use]
    pub fn aws_args(&self, manifest: &Path) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["deploy".into(), "--manifest".into(), manifest.into()];
        for function in &self.functions {
            args.extend(["-f".into(), function.into()]);
        }
        args.extend(["--arch".into(), self.arch.as_str().into()]);
        if self.dry_run {
            args.push("--dry-run".into());
        }
        args.extend([
            "--concurrency".into(),
            self.concurrency.to_string().into(),
            "--update-timeout".into(),
            self.update_timeout.to_string().into(),
            "--iac-dir".into(),
            self.iac_dir.clone().into(),
        ]);
        let optional: [(&str, Option<OsString>); 5] = [
            ("--stack", self.stack.clone().map(Into::into)),
            ("--outputs", self.outputs.clone().map(Into::into)),
            ("--endpoint-url", self.endpoint_url.clone().map(Into::into)),
            ("--profile", self.profile.clone().map(Into::into)),
            ("--region", self.region.clone().map(Into::into)),
        ];
        for (flag, value) in optional {
            if let Some(value) = value {
                args.extend([flag.into(), value]);
            }
        }
        args
    }
}

/// Packages the functions unless told not to, then returns the manifest to deploy: `--manifest`,
/// or `<target>/lambda/packages.json`.
///
/// # Errors
/// The packaging's [`PackageError`].
pub fn prepare(root: &Path, args: &DeployArgs) -> Result<PathBuf, PackageError> {
    if let Some(manifest) = &args.manifest {
        return Ok(manifest.clone());
    }
    if args.packages() {
        let packages = package::package(
            root,
            &PackageOptions {
                arch: args.arch,
                functions: args.functions.clone(),
                profile: None,
            },
        )?;
        eprint!("{}", package::render_table(&packages));
    }
    Ok(package::manifest_path(root))
}

/// The `cargo run` command that runs `xtask-aws` with `args` from the workspace root.
#[must_use]
pub fn xtask_aws(root: &Path, args: &[OsString]) -> crate::cmd::Cmd {
    crate::cmd::Cmd::new(workspace::cargo())
        .args([
            "run",
            "--quiet",
            "--package",
            "deploy",
            "--bin",
            "xtask-aws",
            "--",
        ])
        .args(args)
        .dir(root)
}

/// `cargo xtask deploy`: [`prepare`], then `xtask-aws deploy --manifest …`; its exit status.
///
/// # Errors
/// Packaging failed, or xtask-aws could not be started.
pub fn run(root: &Path, args: &DeployArgs) -> anyhow::Result<ExitCode> {
    use anyhow::Context as _;
    let manifest = prepare(root, args).context("packaging the functions for the deploy")?;
    let status = xtask_aws(root, &args.aws_args(&manifest)).status()?;
    Ok(crate::cmd::exit_code(status))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        deploy: DeployArgs,
    }

    fn parse(args: &[&str]) -> DeployArgs {
        match Cli::try_parse_from(std::iter::once("deploy").chain(args.iter().copied())) {
            Ok(cli) => cli.deploy,
            Err(e) => panic!("{args:?}: {e}"),
        }
    }

    #[test]
    fn every_flag_reaches_xtask_aws() {
        let args = parse(&[
            "--no-build",
            "--stack",
            "s3://b/deploy/stack.json",
            "-f",
            "get-note",
            "--function",
            "me",
            "--arch",
            "x86_64",
            "--dry-run",
            "--concurrency",
            "2",
            "--update-timeout",
            "9",
            "--endpoint-url",
            "http://127.0.0.1:1",
            "--profile",
            "p",
            "--region",
            "eu-west-1",
        ]);
        assert!(!args.packages());
        let got: Vec<String> = args
            .aws_args(Path::new("/t/packages.json"))
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let want = "deploy --manifest /t/packages.json -f get-note -f me --arch x86_64 --dry-run \
                    --concurrency 2 --update-timeout 9 --iac-dir IaC --stack \
                    s3://b/deploy/stack.json --endpoint-url http://127.0.0.1:1 --profile p \
                    --region eu-west-1";
        assert_eq!(got.join(" "), want);
    }

    #[test]
    fn a_manifest_implies_no_build_and_is_deployed_as_given() {
        let args = parse(&["--manifest", "m.json", "--outputs", "o.json"]);
        assert!(!args.packages());
        let root = Path::new("/nowhere");
        assert_eq!(prepare(root, &args).ok(), Some(PathBuf::from("m.json")));
        assert!(parse(&[]).packages());
    }
}
