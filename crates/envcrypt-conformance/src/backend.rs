//! A backend under test ([`Backend`]): its key services, the keys a run creates (cleaned up
//! after it), the other principals the access-control scenarios act as, and what a scenario
//! may fail with.

use std::cell::RefCell;

use envcrypt::kms::{
    CreateKeyRequest, EncryptionContext, KeyAdmin, KeyGovernance, KeyRef, KeyRotation, KeyService, KmsError,
};

/// A backend under test: its operations, its key management and, if it governs access to
/// its keys, its key policies and grants.
pub struct Backend<'a> {
    pub(crate) name: String,
    pub(crate) service: &'a dyn KeyService,
    pub(crate) admin: &'a dyn KeyAdmin,
    pub(crate) governance: Option<&'a dyn KeyGovernance>,
    pub(crate) principals: Option<&'a dyn Principals>,
    pub(crate) created: RefCell<Vec<KeyRef>>,
}

/// Other callers of a backend, for the access-control scenarios.
pub trait Principals {
    /// The ARN of the principal `name` (`user/NAME` or `role/NAME`) on this backend.
    fn arn(&self, name: &str) -> String;
    /// The ARN of the caller the harness runs as; the scenarios keep it key administrator.
    fn caller_arn(&self) -> String;
    /// The backend's key service, called as `name`.
    fn service(&self, name: &str) -> Result<Box<dyn KeyService>, KmsError>;
}

impl<'a> Backend<'a> {
    /// A backend; `name` labels its column in reports (`local`, `aws`, ...).
    pub fn new(name: impl Into<String>, service: &'a dyn KeyService, admin: &'a dyn KeyAdmin) -> Self {
        let governance = service.governance();
        Self { name: name.into(), service, admin, governance, principals: None, created: RefCell::new(Vec::new()) }
    }

    /// Lets the access-control scenarios act as other principals.
    pub fn with_principals(mut self, principals: &'a dyn Principals) -> Self {
        self.principals = Some(principals);
        self
    }

    pub(crate) fn principals(&self) -> Result<&'a dyn Principals, ScenarioError> {
        self.principals.ok_or_else(|| {
            ScenarioError::NotRun(format!("the {} backend was given no other principals to act as", self.name))
        })
    }

    /// Key policies and grants; scenarios that need them are not run on a backend without.
    pub(crate) fn governance(&self) -> Result<&'a dyn KeyGovernance, ScenarioError> {
        self.governance
            .ok_or_else(|| ScenarioError::NotRun(format!("the {} backend has no key policies or grants", self.name)))
    }

    /// Scheduled rotation; scenarios that need it are not run on a backend without.
    pub(crate) fn rotation(&self) -> Result<&'a dyn KeyRotation, ScenarioError> {
        self.service
            .rotation()
            .ok_or_else(|| ScenarioError::NotRun(format!("the {} backend has no scheduled rotation", self.name)))
    }

    /// Creates a key with a policy for a scenario, like [`Self::new_key`].
    pub(crate) fn new_key_with_policy(&self, policy: &str) -> Result<KeyRef, ScenarioError> {
        self.governance()?;
        let request = CreateKeyRequest::new("envcrypt conformance scenario").policy(policy, false);
        let meta = self.admin.create_key_with(request).wait().map_err(setup)?;
        self.created_key(&meta.arn)
    }

    /// Records a key the run created, to clean up after it.
    pub(crate) fn created_key(&self, arn: &str) -> Result<KeyRef, ScenarioError> {
        let key = KeyRef::parse(arn).map_err(|e| setup(KmsError::Validation(e.to_string())))?;
        self.created.borrow_mut().push(key.clone());
        Ok(key)
    }

    /// The backend's label.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Creates a key for a scenario; it is scheduled for deletion when the run ends.
    pub(crate) fn new_key(&self) -> Result<KeyRef, ScenarioError> {
        let meta = self.admin.create_key("envcrypt conformance scenario").wait().map_err(setup)?;
        self.created_key(&meta.arn)
    }

    /// Schedules every key the run created for deletion (7 days, the shortest window), so a
    /// run against a real account leaves nothing billable behind.
    pub(crate) fn clean_up(&self) {
        for key in self.created.take() {
            let _ = self.admin.schedule_key_deletion(&id(&key), 7).wait();
        }
    }
}

/// Why a scenario ended without a value.
#[derive(Debug)]
pub enum ScenarioError {
    /// The behaviour under test failed: its KMS exception is the outcome.
    Kms(KmsError),
    /// Preparing the scenario failed (creating a key, disabling it, ...): not the behaviour
    /// under test, so never mistaken for it.
    Setup(KmsError),
    /// The backend cannot run the scenario (why).
    NotRun(String),
}

impl From<KmsError> for ScenarioError {
    fn from(error: KmsError) -> Self {
        Self::Kms(error)
    }
}

/// Marks an error that happened while preparing a scenario.
pub(crate) fn setup(error: KmsError) -> ScenarioError {
    ScenarioError::Setup(error)
}

/// The context most scenarios encrypt under.
pub(crate) fn purpose() -> EncryptionContext {
    [("purpose", "conformance")].into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

/// The key by its bare id. Key management calls in the scenarios use the id, which every
/// endpoint accepts; `disable-key-by-arn` checks the ARN form on its own.
pub(crate) fn id(key: &KeyRef) -> KeyRef {
    key.key_id().map_or_else(|| key.clone(), |id| KeyRef::KeyId(id.to_owned()))
}
