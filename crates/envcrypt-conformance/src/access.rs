//! The access-control scenarios: key policies and grants, acted out by several principals.
//!
//! Each key gets a policy that keeps the harness's caller key administrator (so it can clean
//! up) and says what the scenario's other principals may do.

use envcrypt::kms::{
    CreateGrantRequest, EncryptionContext, GrantOperation, KeyRef, KeyService, KmsError, ReEncryptRequest,
};
use serde_json::{json, Value};

use crate::backend::{id, purpose, setup, Backend, ScenarioError};

type Result<T> = std::result::Result<T, ScenarioError>;

const USER: &str = "user/envcrypt-conformance-app";
const REWRAPPER: &str = "role/envcrypt-conformance-rewrapper";

fn statement(effect: &str, principal: &str, actions: &[&str], condition: Option<Value>) -> Value {
    let mut statement = json!({
        "Effect": effect,
        "Principal": { "AWS": principal },
        "Action": actions,
        "Resource": "*",
    });
    if let Some(condition) = condition {
        statement["Condition"] = condition;
    }
    statement
}

/// A key whose policy makes the caller administrator, plus `statements`.
fn governed_key(b: &Backend<'_>, statements: Vec<Value>) -> Result<KeyRef> {
    let principals = b.principals()?;
    let mut all = vec![statement("Allow", &principals.caller_arn(), &["kms:*"], None)];
    all.extend(statements);
    let policy = json!({ "Version": "2012-10-17", "Statement": all });
    b.new_key_with_policy(&policy.to_string())
}

fn as_principal(b: &Backend<'_>, name: &str) -> Result<Box<dyn KeyService>> {
    b.principals()?.service(name).map_err(setup)
}

fn user_arn(b: &Backend<'_>, name: &str) -> Result<String> {
    Ok(b.principals()?.arn(name))
}

/// "allowed", or the error name of a refusal.
fn attempt<T>(result: std::result::Result<T, KmsError>) -> String {
    match result {
        Ok(_) => "allowed".into(),
        Err(KmsError::AccessDenied(_)) => "denied".into(),
        Err(e) => e.kms_name().to_owned(),
    }
}

fn decrypt_as(service: &dyn KeyService, blob: &[u8], context: &EncryptionContext) -> Result<String> {
    service.decrypt(blob, context, None).wait().map_err(ScenarioError::Kms).map(|_| "round trip".into())
}

/// A key user allowed Encrypt and Decrypt by the policy uses the key.
pub(super) fn allowed_by_policy(b: &Backend<'_>) -> Result<String> {
    let user = user_arn(b, USER)?;
    let key = governed_key(b, vec![statement("Allow", &user, &["kms:Encrypt", "kms:Decrypt"], None)])?;
    let app = as_principal(b, USER)?;
    let blob = app.encrypt(&key, b"allowed", &purpose()).wait()?.blob;
    decrypt_as(app.as_ref(), &blob, &purpose())
}

/// A principal the policy does not name is refused.
pub(super) fn denied_by_default(b: &Backend<'_>) -> Result<String> {
    let key = governed_key(b, Vec::new())?;
    let blob = b.service.encrypt(&key, b"default", &purpose()).wait().map_err(setup)?.blob;
    decrypt_as(as_principal(b, USER)?.as_ref(), &blob, &purpose())
}

/// An explicit deny beats an allow of everything.
pub(super) fn denied_explicitly(b: &Backend<'_>) -> Result<String> {
    let user = user_arn(b, USER)?;
    let key = governed_key(
        b,
        vec![statement("Allow", &user, &["kms:*"], None), statement("Deny", &user, &["kms:Decrypt"], None)],
    )?;
    let app = as_principal(b, USER)?;
    let blob = app.encrypt(&key, b"explicit", &purpose()).wait().map_err(setup)?.blob;
    decrypt_as(app.as_ref(), &blob, &purpose())
}

/// A `kms:EncryptionContext:` condition admits only the matching context.
pub(super) fn context_condition(b: &Backend<'_>) -> Result<String> {
    let user = user_arn(b, USER)?;
    let condition = json!({ "StringEquals": { "kms:EncryptionContext:purpose": "conformance" } });
    let key = governed_key(b, vec![statement("Allow", &user, &["kms:Encrypt"], Some(condition))])?;
    let app = as_principal(b, USER)?;
    app.encrypt(&key, b"matching", &purpose()).wait()?;
    let other: EncryptionContext = [("purpose".to_owned(), "other".to_owned())].into_iter().collect();
    Ok(match attempt(app.encrypt(&key, b"other", &other).wait()).as_str() {
        "denied" => "matching context only".into(),
        "allowed" => "any context".into(),
        error => format!("other context: {error}"),
    })
}

/// A grant allows at once, and stops allowing when revoked.
pub(super) fn grant_then_revoke(b: &Backend<'_>) -> Result<String> {
    let key = governed_key(b, Vec::new())?;
    let blob = b.service.encrypt(&key, b"granted", &purpose()).wait().map_err(setup)?.blob;
    let app = as_principal(b, USER)?;
    let before = attempt(app.decrypt(&blob, &purpose(), None).wait());
    let governance = b.governance()?;
    let grant = governance
        .create_grant(CreateGrantRequest {
            key: &id(&key),
            grantee_principal: &user_arn(b, USER)?,
            operations: &[GrantOperation::Decrypt],
            retiring_principal: None,
            constraints: None,
            name: None,
        })
        .wait()?;
    let with = attempt(app.decrypt(&blob, &purpose(), None).wait());
    governance.revoke_grant(&id(&key), &grant.grant_id).wait()?;
    let after = attempt(app.decrypt(&blob, &purpose(), None).wait());
    Ok(format!("{before}, {with}, {after}"))
}

/// A principal allowed only `kms:ReEncrypt*` moves a ciphertext it cannot decrypt.
pub(super) fn re_encrypt_only(b: &Backend<'_>) -> Result<String> {
    let rewrapper = user_arn(b, REWRAPPER)?;
    let rewrap = || vec![statement("Allow", &rewrapper, &["kms:ReEncrypt*"], None)];
    let (source, destination) = (governed_key(b, rewrap())?, governed_key(b, rewrap())?);
    let blob = b.service.encrypt(&source, b"rewrap", &purpose()).wait().map_err(setup)?.blob;
    let role = as_principal(b, REWRAPPER)?;
    let moved = role
        .re_encrypt(ReEncryptRequest {
            blob: &blob,
            source_context: &purpose(),
            source_key: None,
            destination_key: &destination,
            destination_context: &purpose(),
        })
        .wait()?;
    let decrypt = attempt(role.decrypt(&moved.blob, &purpose(), None).wait());
    Ok(format!("re-encrypted; decrypt {decrypt}"))
}
