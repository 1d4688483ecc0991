//! Key policies and grants on the local store: the [`KeyGovernance`] calls, each authorized
//! by the key policy (and, for grants, by the grant rules in `grants`) and audited.

use super::audit::Call;
use super::grants::Effect;
use super::policy::KeyPolicy;
use super::{key_param, LocalKeyService};
use crate::kms::{
    CreateGrantRequest, CreatedGrant, GrantDryRun, GrantEntry, GrantTarget, KeyGovernance, KeyRef, KmsFuture,
};

impl KeyGovernance for LocalKeyService {
    fn get_key_policy<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, String> {
        let call = Call::new("GetKeyPolicy", true).param("keyId", key_param(key)).param("policyName", "default");
        KmsFuture::ready(self.audited(call, |call| {
            let txn = self.disk.read()?;
            let record = self.load(&txn, &self.resolve(&txn, key)?)?;
            call.resource(&self.arn(&record.key_id));
            self.authorize(&record, "kms:GetKeyPolicy", None)?;
            Ok(self.policy_text(&record))
        }))
    }

    fn put_key_policy<'a>(&'a self, key: &'a KeyRef, policy: &'a str, bypass_lockout_check: bool) -> KmsFuture<'a, ()> {
        let call = Call::new("PutKeyPolicy", false)
            .param("policyName", "default")
            .param("policy", policy)
            .param("bypassPolicyLockoutSafetyCheck", bypass_lockout_check);
        KmsFuture::ready(self.update_key(key, call, |record, _| {
            self.check_new_policy(policy, &self.arn(&record.key_id), bypass_lockout_check)?;
            record.policy = Some(KeyPolicy::raw(policy)?);
            Ok(())
        }))
    }

    fn create_grant<'a>(&'a self, request: CreateGrantRequest<'a>) -> KmsFuture<'a, CreatedGrant> {
        KmsFuture::ready(self.create_grant_now(&request, Effect::CarriedOut))
    }

    fn list_grants<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, Vec<GrantEntry>> {
        KmsFuture::ready(self.list_grants_now(key))
    }

    fn retire_grant<'a>(&'a self, target: GrantTarget<'a>) -> KmsFuture<'a, ()> {
        KmsFuture::ready(self.retire_grant_now(target, Effect::CarriedOut))
    }

    fn revoke_grant<'a>(&'a self, key: &'a KeyRef, grant_id: &'a str) -> KmsFuture<'a, ()> {
        KmsFuture::ready(self.revoke_grant_now(key, grant_id, Effect::CarriedOut))
    }

    fn dry_run_grant<'a>(&'a self, request: GrantDryRun<'a>) -> KmsFuture<'a, ()> {
        let result = match request {
            GrantDryRun::Create(request) => self.create_grant_now(&request, Effect::DryRun).map(drop),
            GrantDryRun::Retire(target) => self.retire_grant_now(target, Effect::DryRun),
            GrantDryRun::Revoke { key, grant_id } => self.revoke_grant_now(key, grant_id, Effect::DryRun),
        };
        KmsFuture::ready(super::dry_run_answer(result))
    }
}
