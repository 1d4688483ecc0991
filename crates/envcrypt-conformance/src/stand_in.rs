//! Principals on a KMS endpoint, for the access-control scenarios: each is a client of the
//! endpoint with credentials of its own.
//!
//! On a stand-in such as moto any credentials are accepted, so a principal is a client with
//! an access key of its own name; an endpoint that verifies signatures (`envcrypt serve`)
//! needs real credentials for each, as an operator would create them. Real AWS KMS would need real
//! credentials per principal, so it gets none and those scenarios are reported as not run.

use envcrypt::kms::{KeyService, KmsError};

use crate::backend::Principals;

/// moto's account when the credentials name no IAM user it knows.
pub const MOTO_ACCOUNT: &str = "123456789012";

/// Connects to the endpoint as a principal (`user/NAME` or `role/NAME`).
pub type Connect = dyn Fn(&str) -> Result<Box<dyn KeyService>, KmsError>;

/// The callers of a KMS endpoint.
pub struct StandInPrincipals {
    partition: String,
    account: String,
    caller: String,
    connect: Box<Connect>,
}

impl std::fmt::Debug for StandInPrincipals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandInPrincipals")
            .field("partition", &self.partition)
            .field("account", &self.account)
            .field("caller", &self.caller)
            .finish()
    }
}

impl StandInPrincipals {
    /// Principals of `account` in the `aws` partition, the harness itself calling as `caller`
    /// (`user/NAME`), each other one reached through `connect`.
    pub fn new(
        account: impl Into<String>,
        caller: impl Into<String>,
        connect: impl Fn(&str) -> Result<Box<dyn KeyService>, KmsError> + 'static,
    ) -> Self {
        Self { partition: "aws".into(), account: account.into(), caller: caller.into(), connect: Box::new(connect) }
    }

    /// The same principals in another ARN partition (`aws-cn`, `aws-us-gov`, …).
    pub fn in_partition(mut self, partition: impl Into<String>) -> Self {
        self.partition = partition.into();
        self
    }
}

impl Principals for StandInPrincipals {
    fn arn(&self, name: &str) -> String {
        format!("arn:{}:iam::{}:{name}", self.partition, self.account)
    }

    fn caller_arn(&self) -> String {
        self.arn(&self.caller)
    }

    fn service(&self, name: &str) -> Result<Box<dyn KeyService>, KmsError> {
        (self.connect)(name)
    }
}
