//! What `s3` and `aws` share through the official SDK: one HTTP client
//! (rustls with ring, as every other client here), and credentials and a
//! region found where the AWS CLI finds them. Nothing here runs until a
//! script's first S3 or Cost Explorer call.
//!
//! The credential sources, in the AWS CLI's order: the target's own pair,
//! the `AWS_*` variables, the profile (`~/.aws/config` and
//! `~/.aws/credentials`: keys, `role_arn` with `source_profile`, SSO,
//! `credential_process`), a web identity token (EKS), the ECS container
//! endpoint, and only when the target says `instance_metadata = true` the
//! EC2 instance-metadata service, so a script off EC2 never waits on it.

use std::error::Error;
use std::sync::OnceLock;

use aws_config::provider_config::ProviderConfig;
use aws_config::Region;
use aws_credential_types::provider::{self, error::CredentialsError, future, ProvideCredentials};
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Where a target's credentials and region come from: its config table.
pub struct Source {
    /// The table, for messages: "[s3.backups]", "[aws]".
    pub section: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    /// A profile of ~/.aws/config; default $AWS_PROFILE, then "default".
    pub profile: Option<String>,
    pub region: Option<String>,
    pub instance_metadata: bool,
}

/// The SDK's HTTP client, made once: hyper with rustls on ring. The SDK's
/// own default would build aws-lc for the same job.
pub fn http_client() -> SharedHttpClient {
    static CLIENT: OnceLock<SharedHttpClient> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
            aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
        })
        .clone()
}

impl Source {
    fn provider_config(&self, region: &Region) -> ProviderConfig {
        ProviderConfig::without_region().with_http_client(http_client()).with_region(Some(region.clone()))
    }

    fn profile_name(&self) -> Option<String> {
        self.profile.clone().or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()))
    }

    /// The region and where it came from: the table's `region`, then
    /// `AWS_REGION` (or `AWS_DEFAULT_REGION`), then the profile's, then the
    /// instance's (when allowed), else us-east-1.
    pub async fn region(&self) -> (Region, String) {
        use aws_config::meta::region::ProvideRegion;
        if let Some(r) = &self.region {
            return (Region::new(r.clone()), format!("{} region", self.section));
        }
        let env = aws_config::environment::region::EnvironmentVariableRegionProvider::new();
        if let Some(r) = env.region().await {
            return (r, "AWS_REGION".into());
        }
        let base = ProviderConfig::without_region().with_http_client(http_client());
        let mut profile = aws_config::profile::region::ProfileFileRegionProvider::builder().configure(&base);
        if let Some(p) = self.profile_name() {
            profile = profile.profile_name(p);
        }
        if let Some(r) = profile.build().region().await {
            return (r, "the profile's region".into());
        }
        if self.instance_metadata {
            let imds = aws_config::imds::region::ImdsRegionProvider::builder().configure(&base).build();
            if let Some(r) = imds.region().await {
                return (r, "the instance's region".into());
            }
        }
        (Region::from_static("us-east-1"), "the default".into())
    }

    /// The credentials chain, resolved when the SDK first signs.
    pub fn credentials(&self, region: &Region) -> Chain {
        let pc = self.provider_config(region);
        let mut sources: Vec<(String, Box<dyn ProvideCredentials>)> = vec![];
        if let (Some(a), Some(s)) = (&self.access_key_id, &self.secret_access_key) {
            let c = Credentials::new(a, s, self.session_token.clone(), None, "runbook.toml");
            sources.push((format!("{} access_key_id", self.section), Box::new(c)));
        }
        // A profile the table names is what the operator chose for this
        // target: keys exported for another account must not win over it
        // (the AWS CLI skips them for an explicit --profile too).
        if self.profile.is_none() {
            sources.push((
                "AWS_ACCESS_KEY_ID".into(),
                Box::new(aws_config::environment::credentials::EnvironmentVariableCredentialsProvider::new()),
            ));
        }
        let mut profile = aws_config::profile::ProfileFileCredentialsProvider::builder().configure(&pc);
        if !self.instance_metadata {
            // `credential_source = Ec2InstanceMetadata` in a profile would
            // reach the instance-metadata service behind the table's back.
            profile = profile.with_custom_provider(
                "Ec2InstanceMetadata",
                Refused(format!(
                    "the profile asks for the instance's role (credential_source = Ec2InstanceMetadata): \
                     `instance_metadata = true` in {} allows it",
                    self.section
                )),
            );
        }
        let name = self.profile_name();
        if let Some(p) = &name {
            profile = profile.profile_name(p);
        }
        sources.push((format!("profile `{}`", name.as_deref().unwrap_or("default")), Box::new(profile.build())));
        sources.push((
            "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)".into(),
            Box::new(
                aws_config::web_identity_token::WebIdentityTokenCredentialsProvider::builder().configure(&pc).build(),
            ),
        ));
        sources.push((
            "ECS container credentials".into(),
            Box::new(aws_config::ecs::EcsCredentialsProvider::builder().configure(&pc).build()),
        ));
        if self.instance_metadata {
            sources.push((
                "instance metadata".into(),
                Box::new(aws_config::imds::credentials::ImdsCredentialsProvider::builder().configure(&pc).build()),
            ));
        }
        Chain { section: self.section.clone(), sources, instance_metadata: self.instance_metadata }
    }
}

/// The sources tried in order; the first that has credentials wins, and a
/// source that is configured but fails stops the search (as the AWS CLI
/// does: a broken role must not fall through to other keys). Whatever is
/// found is registered with the redactor before the SDK signs with it.
pub struct Chain {
    section: String,
    sources: Vec<(String, Box<dyn ProvideCredentials>)>,
    instance_metadata: bool,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain").field("section", &self.section).finish()
    }
}

impl Chain {
    async fn resolve(&self) -> provider::Result {
        let mut tried = vec![];
        for (name, source) in &self.sources {
            match source.provide_credentials().await {
                Ok(c) => {
                    crate::redact::add(c.secret_access_key());
                    if let Some(t) = c.session_token() {
                        crate::redact::add(t);
                    }
                    return Ok(c);
                }
                Err(CredentialsError::CredentialsNotLoaded(_)) => tried.push(name.as_str()),
                Err(e) => {
                    let why = crate::redact::apply(&crate::host::error_chain(&e)).into_owned();
                    return Err(CredentialsError::provider_error(Words(format!(
                        "credentials for {} from {name} failed: {why}",
                        self.section
                    ))));
                }
            }
        }
        let imds = if self.instance_metadata {
            ""
        } else {
            "; on EC2, `instance_metadata = true` in the table uses the instance's role"
        };
        Err(CredentialsError::not_loaded(Words(format!(
            "no credentials for {}: tried {}. Set access_key_id and secret_access_key there, or AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY, or a profile (`aws configure`, `aws sso login`; `profile = \"NAME\"` in the \
             table or AWS_PROFILE){imds}",
            self.section,
            tried.join(", ")
        ))))
    }
}

impl ProvideCredentials for Chain {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.resolve())
    }
}

/// A source the table does not allow, and why.
#[derive(Debug)]
struct Refused(String);

impl ProvideCredentials for Refused {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(Err(CredentialsError::invalid_configuration(Words(self.0.clone()))))
    }
}

/// A message already in words: found again in an SDK error's causes and
/// shown alone.
#[derive(Debug)]
struct Words(String);

impl std::fmt::Display for Words {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for Words {}

/// A failed SDK call.
pub enum Failure {
    /// The service answered with an error.
    Service { status: u16, code: String, message: String },
    /// Anything else, in words: no connection, no credentials, no answer.
    Other(String),
}

impl Failure {
    pub fn is_code(&self, code: &str) -> bool {
        matches!(self, Failure::Service { code: c, .. } if c == code)
    }
}

type Sdk<E> = aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>;

/// An SDK error as a `Failure`; `endpoint` names the service in words
/// ("http://127.0.0.1:9000", "Cost Explorer (https://…)").
pub fn failure<E>(endpoint: &str, e: Sdk<E>) -> Failure
where
    E: ProvideErrorMetadata + Error + Send + Sync + 'static,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    // Our own words (no credentials, an answer too large) win wherever
    // they sit among the causes.
    let mut cause: Option<&(dyn Error + 'static)> = Some(&e);
    while let Some(c) = cause {
        if let Some(w) = c.downcast_ref::<Words>() {
            return Failure::Other(w.0.clone());
        }
        cause = c.source();
    }
    let text = |e: &dyn Error| crate::redact::apply(&crate::host::error_chain(e)).into_owned();
    match &e {
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            let err = s.err();
            Failure::Service {
                status,
                code: err.code().unwrap_or("").to_string(),
                message: err.message().unwrap_or("").to_string(),
            }
        }
        SdkError::TimeoutError(_) => Failure::Other(format!("{endpoint}: no answer in time")),
        SdkError::DispatchFailure(d) => {
            let chain = text(&e);
            let what = if d.is_timeout() {
                format!("no answer in time ({chain})")
            } else if chain.contains("dns error") || chain.contains("failed to lookup address") {
                format!("cannot resolve the host name ({chain})")
            } else if d.is_io() || chain.contains("Connection refused") || chain.contains("connect") {
                format!("cannot be reached: {chain}")
            } else {
                chain
            };
            Failure::Other(format!("{endpoint}: {what}"))
        }
        SdkError::ResponseError(r) => Failure::Other(format!(
            "{endpoint} answered HTTP {} that could not be read: {}",
            r.raw().status().as_u16(),
            text(&e)
        )),
        _ => Failure::Other(format!("{endpoint}: {}", text(&e))),
    }
}

/// Caps the answers the SDK buffers (a page of a listing, an error) at
/// `[limits] max_body`: a broken or hostile server must not make runbook
/// buffer without end. A download (GetObject) streams to its file and is
/// not capped.
#[derive(Debug)]
pub struct Limit;

impl aws_smithy_runtime_api::client::interceptors::Intercept for Limit {
    fn name(&self) -> &'static str {
        "runbook max_body"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut<
            '_,
        >,
        _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        use aws_smithy_runtime_api::client::orchestrator::Metadata;
        // A download's body streams to its file; its error answer is
        // buffered like any other, so it is capped too.
        if cfg.load::<Metadata>().is_some_and(|m| m.name() == "GetObject")
            && context.response_mut().status().is_success()
        {
            return Ok(());
        }
        let max = crate::engine::context::ctx().config.limits.max_body;
        let body = context.response_mut().take_body();
        *context.response_mut().body_mut() =
            aws_smithy_types::body::SdkBody::from_body_1_x(Capped { inner: body, left: max, max });
        Ok(())
    }
}

/// A body that fails once more than `max` bytes came.
struct Capped {
    inner: aws_smithy_types::body::SdkBody,
    left: usize,
    max: usize,
}

impl http_body::Body for Capped {
    type Data = bytes::Bytes;
    type Error = aws_smithy_runtime_api::box_error::BoxError;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        let this = self.get_mut();
        match std::pin::Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let len = frame.data_ref().map_or(0, |d| d.len());
                if len > this.left {
                    let text = crate::host::too_large(
                        "the server's answer",
                        "max_body",
                        this.max,
                        "ask for less (a narrower prefix)",
                    );
                    return Poll::Ready(Some(Err(Box::new(Words(text)))));
                }
                this.left -= len;
                Poll::Ready(Some(Ok(frame)))
            }
            other => other,
        }
    }
}
