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
mod backend;
mod import;
mod key_pairs;
mod keys;
mod local;
mod outcome;
mod report;
mod rotation;
mod scenarios;
mod stand_in;

pub use backend::{Backend, Principals, ScenarioError};
pub use outcome::{Expected, Outcome};
pub use report::{run, Column, Deviations, Report, Row, Verdict, MOTO_DEVIATIONS};
pub use scenarios::{Scenario, SCENARIOS};
pub use stand_in::{Connect, StandInPrincipals, MOTO_ACCOUNT};
