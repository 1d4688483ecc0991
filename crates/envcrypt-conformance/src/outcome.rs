//! What a scenario observed ([`Outcome`]) and what AWS KMS documents ([`Expected`]).

use std::fmt;

use crate::backend::ScenarioError;

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
    pub(crate) fn from_result(result: Result<String, ScenarioError>) -> Self {
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
    /// Preparing the scenario fails with this error: only a stand-in's deviation (an
    /// operation it does not implement), never a documented outcome.
    SetupFails(&'static str),
}

impl Expected {
    /// As an [`Outcome`].
    pub fn outcome(self) -> Outcome {
        match self {
            Self::Ok(shape) => Outcome::Ok(shape.to_owned()),
            Self::Error(name) => Outcome::Error(name.to_owned()),
            Self::SetupFails(name) => Outcome::SetupFailed(name.to_owned()),
        }
    }
}
