//! Authorization of local-store calls, in the order KMS documents: an explicit deny in the key
//! policy refuses; an allow in it permits; otherwise a grant may permit; otherwise refused.

use std::sync::Arc;

use super::disk::KEYS_DIR;
use super::policy::{Decision, KeyPolicy, Request};
use super::record::KeyRecord;
use super::{LocalKeyService, StoreError};
use crate::kms::{EncryptionContext, GrantOperation, KmsError};

impl LocalKeyService {
    /// The key's policy text (the legacy one for keys created before key policies).
    pub(super) fn policy_text(&self, record: &KeyRecord) -> String {
        record.policy.as_ref().map_or_else(|| KeyPolicy::legacy_text(&self.prefix.account), |p| p.get().to_owned())
    }

    fn policy(&self, record: &KeyRecord) -> Result<Arc<KeyPolicy>, KmsError> {
        let parsed = match &record.policy {
            Some(text) => self.policies.get(&record.key_id, text.get()),
            None => self.policies.get(&record.key_id, &KeyPolicy::legacy_text(&self.prefix.account)),
        };
        parsed.map_err(|e| {
            StoreError::corrupt(self.dir().join(KEYS_DIR).join(format!("{}.json", record.key_id)), e).into()
        })
    }

    fn decide(&self, policy: &KeyPolicy, key_arn: &str, action: &str, context: Option<&EncryptionContext>) -> Decision {
        policy.evaluate(&Request {
            principal: &self.principal,
            action,
            key_arn,
            context,
            via_service: self.via_service.as_deref(),
        })
    }

    /// Refuses the call unless the key policy or a grant lets the caller perform `action`.
    pub(super) fn authorize(
        &self,
        record: &KeyRecord,
        action: &str,
        context: Option<&EncryptionContext>,
    ) -> Result<(), KmsError> {
        let key_arn = self.arn(&record.key_id);
        match self.decide(&*self.policy(record)?, &key_arn, action, context) {
            Decision::Allow => Ok(()),
            Decision::ExplicitDeny(_) => Err(self.denied(action, &key_arn, "with an explicit deny in the key policy")),
            Decision::ImplicitDeny if self.grant_allows(record, action, context) => Ok(()),
            Decision::ImplicitDeny => {
                Err(self.denied(action, &key_arn, "because neither the key policy nor a grant allows it"))
            }
        }
    }

    /// Whether the key policy alone allows `action` (grants cannot allow policy management).
    pub(super) fn policy_allows(&self, record: &KeyRecord, action: &str) -> Result<bool, KmsError> {
        Ok(self.decide(&*self.policy(record)?, &self.arn(&record.key_id), action, None) == Decision::Allow)
    }

    fn grant_allows(&self, record: &KeyRecord, action: &str, context: Option<&EncryptionContext>) -> bool {
        let Some(operation) = GrantOperation::for_action(action) else { return false };
        let empty = EncryptionContext::new();
        record.grants.iter().any(|grant| {
            grant.grantee_principal == self.principal.arn()
                && grant.operations.contains(&operation)
                && (!operation.takes_context()
                    || grant.constraints.as_ref().is_none_or(|c| c.allow(context.unwrap_or(&empty))))
        })
    }

    /// The grants through which the caller may perform `operation` (for CreateGrant by a grantee).
    pub(super) fn grants_allowing<'r>(
        &self,
        record: &'r KeyRecord,
        operation: GrantOperation,
    ) -> impl Iterator<Item = &'r crate::kms::GrantEntry> {
        let me = self.principal.arn().to_owned();
        record.grants.iter().filter(move |g| g.grantee_principal == me && g.operations.contains(&operation))
    }

    /// `AccessDeniedException`, naming the principal, the action and the key, never the policy.
    pub(super) fn denied(&self, action: &str, key_arn: &str, why: &str) -> KmsError {
        KmsError::AccessDenied(format!(
            "{} is not authorized to perform {action} on key {key_arn} {why}",
            self.principal.arn()
        ))
    }

    /// Parses a policy the caller is setting and checks that it does not lock them out.
    pub(super) fn check_new_policy(
        &self,
        text: &str,
        key_arn: &str,
        bypass_lockout_check: bool,
    ) -> Result<(), KmsError> {
        let policy = KeyPolicy::parse(text)?;
        if !bypass_lockout_check && self.decide(&policy, key_arn, "kms:PutKeyPolicy", None) != Decision::Allow {
            return Err(KmsError::MalformedPolicyDocument(format!(
                "the new key policy will not allow {} to update the key policy in the future \
                 (pass the bypass-lockout option to set it anyway)",
                self.principal.arn()
            )));
        }
        Ok(())
    }
}
