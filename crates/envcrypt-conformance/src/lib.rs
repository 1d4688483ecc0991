//! The conformance harness: the same KMS scenarios run against any key service, each outcome
//! compared with the behaviour AWS KMS documents.
//!
//! A scenario is a named function that creates the keys it needs on a [`Backend`], performs
//! one KMS behaviour, and reports an [`Outcome`]: a short description of the value's shape on
//! success, the KMS exception name, a failed set-up, or that the backend could not run it.
//! [`run`] runs every scenario on one backend; [`Report`] sets the backends side by side
//! against the documented outcome and marks known deviations of stand-ins (such as moto) as
//! theirs rather than as failures.
//!
//! The access-control scenarios act as other principals too; a backend offers them through
//! [`Principals`] (the local store's are whoever it is told; a stand-in endpoint's are clients
//! with their own credentials, [`StandInPrincipals`]). Without them those scenarios are
//! reported as not run, never as passed.
//!
//! The harness depends only on the key service contract; it is a crate of its own so that
//! neither the core library nor a backend carries a test harness (ARCHITECTURE.md).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod access;
mod local;
mod scenarios;
mod stand_in;

use std::cell::RefCell;
use std::fmt;

use envcrypt::kms::{KeyAdmin, KeyGovernance, KeyRef, KeyService, KmsError};

pub use scenarios::SCENARIOS;
pub use stand_in::{Connect, StandInPrincipals, MOTO_ACCOUNT};

/// A backend under test: its operations, its key management and, if it governs access to
/// its keys, its key policies and grants.
pub struct Backend<'a> {
    name: String,
    service: &'a dyn KeyService,
    admin: &'a dyn KeyAdmin,
    governance: Option<&'a dyn KeyGovernance>,
    principals: Option<&'a dyn Principals>,
    created: RefCell<Vec<KeyRef>>,
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

    fn principals(&self) -> Result<&'a dyn Principals, ScenarioError> {
        self.principals.ok_or_else(|| {
            ScenarioError::NotRun(format!("the {} backend was given no other principals to act as", self.name))
        })
    }

    /// Key policies and grants; scenarios that need them are not run on a backend without.
    fn governance(&self) -> Result<&'a dyn KeyGovernance, ScenarioError> {
        self.governance
            .ok_or_else(|| ScenarioError::NotRun(format!("the {} backend has no key policies or grants", self.name)))
    }

    /// Creates a key with a policy for a scenario, like [`Self::new_key`].
    fn new_key_with_policy(&self, policy: &str) -> Result<KeyRef, ScenarioError> {
        let meta = self
            .governance()?
            .create_key_with_policy("envcrypt conformance scenario", policy, false)
            .wait()
            .map_err(setup)?;
        self.created_key(&meta.arn)
    }

    /// Records a key the run created, to clean up after it.
    fn created_key(&self, arn: &str) -> Result<KeyRef, ScenarioError> {
        let key = KeyRef::parse(arn).map_err(|e| setup(KmsError::Validation(e.to_string())))?;
        self.created.borrow_mut().push(key.clone());
        Ok(key)
    }

    /// The backend's label.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Creates a key for a scenario; it is scheduled for deletion when the run ends.
    fn new_key(&self) -> Result<KeyRef, ScenarioError> {
        let meta = self.admin.create_key("envcrypt conformance scenario").wait().map_err(setup)?;
        self.created_key(&meta.arn)
    }

    /// Schedules every key the run created for deletion (7 days, the shortest window), so a
    /// run against a real account leaves nothing billable behind.
    fn clean_up(&self) {
        for key in self.created.take() {
            let _ = self.admin.schedule_key_deletion(&scenarios::id(&key), 7).wait();
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
fn setup(error: KmsError) -> ScenarioError {
    ScenarioError::Setup(error)
}

/// What a scenario observed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Outcome {
    /// Success, with a short description of the result's shape (`32 bytes`, `Disabled`).
    Ok(String),
    /// Failure, with the KMS exception name.
    Error(String),
    /// Preparing the scenario failed, with the KMS exception name.
    SetupFailed(String),
    /// The backend could not run the scenario (why).
    NotRun(String),
}

impl Outcome {
    fn from_result(result: Result<String, ScenarioError>) -> Self {
        match result {
            Ok(shape) => Self::Ok(shape),
            Err(ScenarioError::Kms(e)) => Self::Error(e.kms_name().to_owned()),
            Err(ScenarioError::Setup(e)) => Self::SetupFailed(e.kms_name().to_owned()),
            Err(ScenarioError::NotRun(why)) => Self::NotRun(why),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ok(shape) => write!(f, "ok: {shape}"),
            Self::Error(name) => f.write_str(name),
            Self::SetupFailed(name) => write!(f, "set-up failed: {name}"),
            Self::NotRun(_) => f.write_str("not run"),
        }
    }
}

/// A documented outcome, as a constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// Success with this shape.
    Ok(&'static str),
    /// This KMS exception.
    Error(&'static str),
}

impl Expected {
    /// As an [`Outcome`].
    pub fn outcome(self) -> Outcome {
        match self {
            Self::Ok(shape) => Outcome::Ok(shape.to_owned()),
            Self::Error(name) => Outcome::Error(name.to_owned()),
        }
    }
}

/// One behaviour of KMS, checkable on any backend.
pub struct Scenario {
    /// A stable name (`decrypt-with-disabled-key`).
    pub name: &'static str,
    /// What AWS KMS documents.
    pub documented: Expected,
    /// Runs the scenario.
    pub run: fn(&Backend<'_>) -> Result<String, ScenarioError>,
}

/// A stand-in's known departures from documented KMS behaviour: scenario name and the
/// outcome the stand-in gives instead.
pub type Deviations = &'static [(&'static str, Expected)];

/// moto 5.2's known departures from documented AWS KMS behaviour, found by this harness.
pub const MOTO_DEVIATIONS: Deviations = &[
    // Key states are recorded but not enforced on cryptographic operations.
    ("generate-data-key-with-disabled-key", Expected::Ok("32 bytes")),
    ("encrypt-with-disabled-key", Expected::Ok("encrypted")),
    ("decrypt-with-disabled-key", Expected::Ok("round trip")),
    ("re-encrypt-to-disabled-key", Expected::Ok("re-encrypted")),
    ("rotate-disabled-key", Expected::Ok("Disabled")),
    ("generate-data-key-with-key-pending-deletion", Expected::Ok("32 bytes")),
    ("decrypt-with-key-pending-deletion", Expected::Ok("round trip")),
    ("enable-key-pending-deletion", Expected::Ok("enabled")),
    ("schedule-deletion-twice", Expected::Ok("PendingDeletion")),
    // Deletion windows outside 7–30 days are answered with success, and nothing changes.
    ("schedule-deletion-3-days", Expected::Ok("Enabled")),
    ("schedule-deletion-6-days", Expected::Ok("Enabled")),
    ("schedule-deletion-31-days", Expected::Ok("Enabled")),
    // The expected key is not checked the way KMS checks it.
    ("decrypt-expected-key-is-another-key", Expected::Error("AccessDeniedException")),
    ("re-encrypt-with-wrong-source-key", Expected::Ok("re-encrypted")),
    // A blob that names no key is refused as an access problem, not as bad ciphertext.
    ("decrypt-garbage", Expected::Error("AccessDeniedException")),
    // DisableKey given a key ARN fails with an HTTP 500 page (the key id works).
    ("disable-key-by-arn", Expected::Error("UnnamedError(HTTP 500)")),
    // Key policies are stored but not evaluated (moto checks only DescribeKey against a
    // Deny statement), and grants are recorded but never needed.
    ("policy-denies-by-default", Expected::Ok("round trip")),
    ("policy-explicit-deny-wins", Expected::Ok("round trip")),
    ("policy-context-condition", Expected::Ok("any context")),
    ("grant-allows-until-revoked", Expected::Ok("allowed, allowed, allowed")),
    ("re-encrypt-only-principal", Expected::Ok("re-encrypted; decrypt allowed")),
];

/// Runs every scenario on `backend`, in order, then cleans up the keys it created.
pub fn run(backend: &Backend<'_>) -> Vec<(&'static str, Outcome)> {
    let results = SCENARIOS.iter().map(|s| (s.name, Outcome::from_result((s.run)(backend)))).collect();
    backend.clean_up();
    results
}

/// How one backend's outcome compares with the documented one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// As documented.
    AsDocumented,
    /// A known deviation of this backend (a stand-in's, listed in its deviations).
    KnownDeviation,
    /// Unexplained: a failure.
    Difference,
    /// The backend could not run the scenario.
    NotRun,
}

/// One backend's results with their deviations list.
pub struct Column {
    /// The backend's label.
    pub backend: String,
    /// Its known deviations (empty for envcrypt's own backends, which must match).
    pub deviations: Deviations,
    /// Its outcomes, in scenario order.
    pub outcomes: Vec<(&'static str, Outcome)>,
}

/// Backends side by side against the documented behaviour.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// The backends, in column order.
    pub backends: Vec<String>,
    /// One row per scenario.
    pub rows: Vec<Row>,
}

/// One scenario across backends.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    /// The scenario name.
    pub scenario: &'static str,
    /// What AWS KMS documents.
    pub documented: Outcome,
    /// Each backend's outcome and verdict, in column order.
    pub results: Vec<(Outcome, Verdict)>,
}

impl Report {
    /// Compares the columns with the documented outcomes.
    pub fn new(columns: &[Column]) -> Self {
        let rows = SCENARIOS
            .iter()
            .enumerate()
            .map(|(i, scenario)| {
                let documented = scenario.documented.outcome();
                let results = columns
                    .iter()
                    .map(|column| {
                        let outcome = column.outcomes[i].1.clone();
                        let verdict = if matches!(outcome, Outcome::NotRun(_)) {
                            Verdict::NotRun
                        } else if outcome == documented {
                            Verdict::AsDocumented
                        } else if column.deviations.iter().any(|(n, e)| *n == scenario.name && e.outcome() == outcome) {
                            Verdict::KnownDeviation
                        } else {
                            Verdict::Difference
                        };
                        (outcome, verdict)
                    })
                    .collect();
                Row { scenario: scenario.name, documented, results }
            })
            .collect();
        Self { backends: columns.iter().map(|c| c.backend.clone()).collect(), rows }
    }

    /// Rows with an unexplained difference.
    pub fn differences(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.results.iter().any(|(_, v)| *v == Verdict::Difference))
    }
}
