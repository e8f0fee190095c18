//! The S3 and Lambda clients, built with aws-config's standard chain.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_lambda::config::ProvideCredentials as _;

use crate::error::{Error, chain};

/// How to reach AWS. Every field left `None` falls back to aws-config's standard chain
/// (environment, shared config and credentials files, SSO, web identity, IMDS).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientSettings {
    /// A custom endpoint for both services, e.g. moto server `http://127.0.0.1:5000`. S3 then
    /// uses path-style addressing (what emulators expect).
    pub endpoint_url: Option<String>,
    /// The region; `None` reads it from the chain (`AWS_REGION`, the profile). Pass the stack's
    /// `region` output here when the user gave no `--region`.
    pub region: Option<String>,
    /// A named profile from `~/.aws/config`.
    pub profile: Option<String>,
}

/// The clients a deploy or rollback uses, and where they point.
#[derive(Debug, Clone)]
pub struct Clients {
    lambda: aws_sdk_lambda::Client,
    s3: aws_sdk_s3::Client,
    region: String,
    endpoint_url: Option<String>,
    credentials: Option<aws_sdk_lambda::config::SharedCredentialsProvider>,
}

impl Clients {
    /// Builds the clients from `settings` and the standard chain. Credentials are resolved
    /// lazily; [`Clients::check_credentials`] (which `deploy` and `rollback` call first) reports
    /// missing ones.
    ///
    /// # Errors
    /// [`Error::NoRegion`] when no region is configured anywhere.
    pub async fn new(settings: &ClientSettings) -> Result<Self, Error> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &settings.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        Self::from_sdk_config(&loader.load().await)
    }

    /// Builds the clients from an already loaded configuration (its region, credentials,
    /// endpoint URL, retry and timeout settings). With an endpoint URL, S3 uses path-style
    /// addressing.
    ///
    /// # Errors
    /// [`Error::NoRegion`] when `config` has no region.
    pub fn from_sdk_config(config: &SdkConfig) -> Result<Self, Error> {
        let region = config
            .region()
            .map(|r| r.as_ref().to_owned())
            .filter(|r| !r.is_empty())
            .ok_or(Error::NoRegion)?;
        let endpoint_url = config.endpoint_url().map(str::to_owned);
        let s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(endpoint_url.is_some())
            .build();
        Ok(Self {
            lambda: aws_sdk_lambda::Client::new(config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            region,
            endpoint_url,
            credentials: config.credentials_provider(),
        })
    }

    /// Resolves the credentials once, so a run without any fails up front with one clear error
    /// instead of once per function.
    ///
    /// # Errors
    /// [`Error::NoCredentials`] with what the chain reported.
    pub async fn check_credentials(&self) -> Result<(), Error> {
        let Some(provider) = &self.credentials else {
            return Err(Error::NoCredentials {
                cause: "no credentials provider is configured".into(),
            });
        };
        provider
            .provide_credentials()
            .await
            .map(drop)
            .map_err(|e| Error::NoCredentials { cause: chain(&e) })
    }

    /// The region the clients send requests to.
    #[must_use]
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The custom endpoint, if any.
    #[must_use]
    pub fn endpoint_url(&self) -> Option<&str> {
        self.endpoint_url.as_deref()
    }

    /// The Lambda client.
    #[must_use]
    pub fn lambda(&self) -> &aws_sdk_lambda::Client {
        &self.lambda
    }

    /// The S3 client.
    #[must_use]
    pub fn s3(&self) -> &aws_sdk_s3::Client {
        &self.s3
    }

    /// Where Lambda requests go, for messages.
    pub(crate) fn lambda_endpoint(&self) -> String {
        self.endpoint_url
            .clone()
            .unwrap_or_else(|| format!("https://lambda.{}.amazonaws.com", self.region))
    }

    /// Where S3 requests go, for messages.
    pub(crate) fn s3_endpoint(&self) -> String {
        self.endpoint_url
            .clone()
            .unwrap_or_else(|| format!("https://s3.{}.amazonaws.com", self.region))
    }
}
