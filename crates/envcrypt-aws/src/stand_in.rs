//! Principals on a KMS stand-in such as moto, for the access-control conformance scenarios.
//!
//! A stand-in takes any credentials, so each principal is a client with its own static access
//! key. Real AWS KMS would need real credentials per principal, so it gets none here and the
//! harness reports those scenarios as not run.

use envcrypt::conformance::Principals;
use envcrypt::kms::{KeyService, KmsError};

use crate::{AwsKmsService, AwsOptions};

/// moto's account when the credentials name no IAM user it knows.
const STAND_IN_ACCOUNT: &str = "123456789012";

/// The callers of a stand-in endpoint.
#[derive(Debug, Clone)]
pub struct StandInPrincipals {
    options: AwsOptions,
}

impl StandInPrincipals {
    /// Principals on the endpoint of `options`; refuses options without an endpoint URL.
    pub fn new(options: &AwsOptions) -> Result<Self, KmsError> {
        if options.endpoint_url.is_none() {
            return Err(KmsError::Validation(
                "other principals are modeled only on a stand-in endpoint (--endpoint-url)".into(),
            ));
        }
        Ok(Self { options: options.clone() })
    }
}

impl Principals for StandInPrincipals {
    fn arn(&self, name: &str) -> String {
        format!("arn:aws:iam::{STAND_IN_ACCOUNT}:{name}")
    }

    fn caller_arn(&self) -> String {
        self.arn("user/envcrypt-conformance-admin")
    }

    fn service(&self, name: &str) -> Result<Box<dyn KeyService>, KmsError> {
        let access_key = format!("envcrypt-{}", name.replace('/', "-"));
        let options = AwsOptions { static_credentials: Some((access_key, "stand-in".into())), ..self.options.clone() };
        Ok(Box::new(AwsKmsService::connect(&options)?))
    }
}
