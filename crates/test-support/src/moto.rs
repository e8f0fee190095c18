//! moto server as the tests' AWS: its endpoint from `MOTO_ENDPOINT` (set by `cargo xtask test`),
//! an SDK configuration with fixed fake credentials (a developer's own AWS setup never
//! matters), and with `s3` and `cognito` the clients and fixtures built on it.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;

/// The region every test uses.
pub const REGION: &str = "us-east-1";

/// The account moto reports (its default).
pub const ACCOUNT_ID: &str = "123456789012";

/// moto's endpoint, from `MOTO_ENDPOINT`.
///
/// # Panics
/// When `MOTO_ENDPOINT` is unset or empty, saying how to set it.
#[must_use]
pub fn endpoint() -> String {
    match std::env::var("MOTO_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => endpoint,
        _ => panic!(
            "MOTO_ENDPOINT is not set: run the tests through `cargo xtask test`, which starts \
             moto server (or start `moto_server -H 127.0.0.1 -p PORT` and set \
             MOTO_ENDPOINT=http://127.0.0.1:PORT)"
        ),
    }
}

/// The fake credentials moto accepts (it checks no signature).
#[must_use]
pub fn credentials() -> Credentials {
    Credentials::new("test", "test", None, None, "test-support")
}

/// An SDK configuration for `endpoint`: region [`REGION`], the latest behaviour version and
/// [`credentials`].
#[must_use]
pub fn sdk_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(credentials()))
        .build()
}

/// An S3 client for `config` with path-style addressing (moto serves buckets under its host).
#[cfg(feature = "s3")]
#[must_use]
pub fn s3(config: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    )
}

/// A DynamoDB client for `config`.
#[cfg(feature = "dynamodb")]
#[must_use]
pub fn dynamodb(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

/// Creates a bucket named `prefix-<ulid>` and returns its name.
///
/// # Panics
/// When moto refuses or cannot be reached.
#[cfg(feature = "s3")]
pub async fn bucket(s3: &aws_sdk_s3::Client, prefix: &str) -> String {
    let bucket = crate::unique(prefix);
    if let Err(e) = s3.create_bucket().bucket(&bucket).send().await {
        panic!("CreateBucket {bucket} on moto failed (is MOTO_ENDPOINT right?): {e:?}");
    }
    bucket
}

#[cfg(feature = "cognito")]
pub use cognito::{SignedIn, sign_in};

#[cfg(feature = "cognito")]
mod cognito {
    use aws_config::SdkConfig;
    use aws_sdk_cognitoidentityprovider::Client;
    use aws_sdk_cognitoidentityprovider::types::{
        AttributeType, AuthFlowType, ExplicitAuthFlowsType,
    };

    /// The password of every [`sign_in`] user (it meets Cognito's default policy).
    pub const PASSWORD: &str = "Correct-Horse-9-Battery";

    /// A moto user pool with one app client and one confirmed user, and that user's tokens.
    #[derive(Debug, Clone)]
    pub struct SignedIn {
        /// moto's endpoint, which also serves the pool's JWKS.
        pub endpoint: String,
        /// The pool id (`us-east-1_…`).
        pub pool_id: String,
        /// The app client (no secret; `USER_PASSWORD_AUTH` and refresh allowed; reads email).
        pub client_id: String,
        /// The user's name.
        pub username: String,
        /// The user's email attribute.
        pub email: String,
        /// The user's password ([`PASSWORD`]).
        pub password: &'static str,
        /// An id token of the sign-in.
        pub id_token: String,
        /// An access token of the sign-in.
        pub access_token: String,
    }

    impl SignedIn {
        /// The `iss` moto writes: the real Cognito host, though moto serves the keys.
        #[must_use]
        pub fn issuer(&self) -> String {
            format!(
                "https://cognito-idp.{}.amazonaws.com/{}",
                super::REGION,
                self.pool_id
            )
        }

        /// Where moto serves the pool's JWKS.
        #[must_use]
        pub fn jwks_url(&self) -> String {
            format!(
                "{}/{}/.well-known/jwks.json",
                self.endpoint.trim_end_matches('/'),
                self.pool_id
            )
        }
    }

    fn fail(step: &str, e: impl std::fmt::Debug) -> ! {
        panic!("{step} on moto failed: {e:?}")
    }

    /// Creates a pool named `prefix-<ulid>`, an app client, a confirmed user with an email,
    /// adds the user to each of `groups` (creating them), and signs in with
    /// `USER_PASSWORD_AUTH`.
    ///
    /// # Panics
    /// When a call to moto fails, naming the call.
    pub async fn sign_in(config: &SdkConfig, prefix: &str, groups: &[&str]) -> SignedIn {
        let endpoint = config
            .endpoint_url()
            .unwrap_or_else(|| fail("reading the endpoint", "the configuration has none"))
            .to_owned();
        let cognito = Client::new(config);
        let pool = cognito
            .create_user_pool()
            .pool_name(crate::unique(prefix))
            .send()
            .await
            .unwrap_or_else(|e| fail("CreateUserPool", e));
        let pool_id = pool
            .user_pool()
            .and_then(|p| p.id())
            .unwrap_or_else(|| fail("CreateUserPool", "no pool id"))
            .to_owned();
        let client = cognito
            .create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("web")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
            .read_attributes("email")
            .send()
            .await
            .unwrap_or_else(|e| fail("CreateUserPoolClient", e));
        let client_id = client
            .user_pool_client()
            .and_then(|c| c.client_id())
            .unwrap_or_else(|| fail("CreateUserPoolClient", "no client id"))
            .to_owned();

        let username = crate::unique("user");
        let email = format!("{username}@example.com");
        let attribute = AttributeType::builder()
            .name("email")
            .value(&email)
            .build()
            .unwrap_or_else(|e| fail("building the email attribute", e));
        cognito
            .sign_up()
            .client_id(&client_id)
            .username(&username)
            .password(PASSWORD)
            .user_attributes(attribute)
            .send()
            .await
            .unwrap_or_else(|e| fail("SignUp", e));
        cognito
            .admin_confirm_sign_up()
            .user_pool_id(&pool_id)
            .username(&username)
            .send()
            .await
            .unwrap_or_else(|e| fail("AdminConfirmSignUp", e));
        for group in groups {
            cognito
                .create_group()
                .user_pool_id(&pool_id)
                .group_name(*group)
                .send()
                .await
                .unwrap_or_else(|e| fail("CreateGroup", e));
            cognito
                .admin_add_user_to_group()
                .user_pool_id(&pool_id)
                .username(&username)
                .group_name(*group)
                .send()
                .await
                .unwrap_or_else(|e| fail("AdminAddUserToGroup", e));
        }
        let auth = cognito
            .initiate_auth()
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .client_id(&client_id)
            .auth_parameters("USERNAME", &username)
            .auth_parameters("PASSWORD", PASSWORD)
            .send()
            .await
            .unwrap_or_else(|e| fail("InitiateAuth", e));
        let tokens = auth
            .authentication_result()
            .unwrap_or_else(|| fail("InitiateAuth", "no authentication result"));
        SignedIn {
            id_token: tokens
                .id_token()
                .unwrap_or_else(|| fail("InitiateAuth", "no id token"))
                .to_owned(),
            access_token: tokens
                .access_token()
                .unwrap_or_else(|| fail("InitiateAuth", "no access token"))
                .to_owned(),
            endpoint,
            pool_id,
            client_id,
            username,
            email,
            password: PASSWORD,
        }
    }
}
