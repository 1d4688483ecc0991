//! Members many operations share: key references (all four forms, or ids and ARNs only),
//! grant tokens, `DryRun`, timestamps.

use envcrypt::kms::KeyRef;
use serde_json::{json, Value};

use crate::decode::Input;
use crate::protocol::Failure;

/// Checks `GrantTokens`, which envcrypt takes and does not act on: grants take effect at once
/// here, so a token adds nothing.
pub(super) fn check_grant_tokens(input: &Input) -> Result<(), Failure> {
    for token in input.string_list("GrantTokens", 10)? {
        if token.is_empty() || token.len() > 8192 {
            return Err(Failure::validation(
                "1 validation error detected: Value at 'grantTokens' failed to satisfy constraint: Member must have length between 1 and 8192",
            ));
        }
    }
    Ok(())
}

/// Whether the request sets `DryRun`.
pub(super) fn is_dry_run(input: &Input) -> Result<bool, Failure> {
    Ok(input.boolean("DryRun")? == Some(true))
}

/// What a dry run that would have succeeded answers, as KMS answers it (HTTP 412).
pub(super) fn dry_run_succeeded() -> Failure {
    Failure {
        status: 412,
        name: "DryRunOperationException".into(),
        message: Some("The request would have succeeded, but the DryRun option is set.".into()),
        from_key_service: true,
    }
}

fn invalid_key_id(value: &str) -> Failure {
    Failure::client("NotFoundException", format!("Invalid keyId '{value}'"))
}

/// A key named by id, ARN, alias name or alias ARN (member `member`, required).
pub(super) fn any_key(input: &Input, member: &'static str) -> Result<KeyRef, Failure> {
    let value = input.required_string(member, 1, 2048)?;
    KeyRef::parse(value).map_err(|_| invalid_key_id(value))
}

/// A key named by id or ARN only, as key management takes it.
pub(super) fn key_id_or_arn(input: &Input, member: &'static str) -> Result<KeyRef, Failure> {
    let value = input.required_string(member, 1, 2048)?;
    match KeyRef::parse(value) {
        Ok(key @ (KeyRef::KeyId(_) | KeyRef::KeyArn(_))) => Ok(key),
        _ => Err(invalid_key_id(value)),
    }
}

/// Epoch seconds as KMS writes timestamps (a JSON number).
pub(super) fn timestamp(secs: u64) -> Value {
    json!(secs)
}
