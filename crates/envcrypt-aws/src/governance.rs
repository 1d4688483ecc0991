//! Key policies and grants on AWS KMS: the [`KeyGovernance`] calls.

use aws_sdk_kms::types::{GrantConstraints, GrantOperation};
use envcrypt::kms::{CreateGrantRequest, CreatedGrant, GrantEntry, GrantTarget, KeyGovernance, KeyRef, KmsFuture};

use crate::errors::{missing, sdk_error};
use crate::AwsKmsService;

impl KeyGovernance for AwsKmsService {
    fn get_key_policy<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, String> {
        self.key_call(key, |client, key| async move {
            let out = client
                .get_key_policy()
                .key_id(&key)
                .policy_name("default")
                .send()
                .await
                .map_err(|e| sdk_error("GetKeyPolicy", &key, e))?;
            out.policy().map(str::to_owned).ok_or_else(|| missing("GetKeyPolicy", "Policy"))
        })
    }

    fn put_key_policy<'a>(&'a self, key: &'a KeyRef, policy: &'a str, bypass_lockout_check: bool) -> KmsFuture<'a, ()> {
        let policy = policy.to_owned();
        self.key_call(key, move |client, key| async move {
            client
                .put_key_policy()
                .key_id(&key)
                .policy_name("default")
                .policy(policy)
                .bypass_policy_lockout_safety_check(bypass_lockout_check)
                .send()
                .await
                .map_err(|e| sdk_error("PutKeyPolicy", &key, e))?;
            Ok(())
        })
    }

    fn create_grant<'a>(&'a self, request: CreateGrantRequest<'a>) -> KmsFuture<'a, CreatedGrant> {
        let grantee = request.grantee_principal.to_owned();
        let retiring = request.retiring_principal.map(str::to_owned);
        let name = request.name.map(str::to_owned);
        let operations: Vec<GrantOperation> =
            request.operations.iter().map(|op| GrantOperation::from(op.as_str())).collect();
        let constraints = request.constraints.map(|c| {
            GrantConstraints::builder()
                .set_encryption_context_equals(c.encryption_context_equals.clone().map(|m| m.into_iter().collect()))
                .set_encryption_context_subset(c.encryption_context_subset.clone().map(|m| m.into_iter().collect()))
                .build()
        });
        self.key_call(request.key, move |client, key| async move {
            let out = client
                .create_grant()
                .key_id(&key)
                .grantee_principal(grantee)
                .set_retiring_principal(retiring)
                .set_operations(Some(operations))
                .set_constraints(constraints)
                .set_name(name)
                .send()
                .await
                .map_err(|e| sdk_error("CreateGrant", &key, e))?;
            Ok(CreatedGrant {
                grant_id: out.grant_id().ok_or_else(|| missing("CreateGrant", "GrantId"))?.to_owned(),
                grant_token: out.grant_token().ok_or_else(|| missing("CreateGrant", "GrantToken"))?.to_owned(),
            })
        })
    }

    fn list_grants<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, Vec<GrantEntry>> {
        self.key_call(key, |client, key| async move {
            let grants: Vec<_> = client
                .list_grants()
                .key_id(&key)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<_, _>>()
                .await
                .map_err(|e| sdk_error("ListGrants", &key, e))?;
            Ok(grants.iter().map(grant_entry).collect())
        })
    }

    fn retire_grant<'a>(&'a self, target: GrantTarget<'a>) -> KmsFuture<'a, ()> {
        let client = self.client.clone();
        let (token, key, grant_id) = match target {
            GrantTarget::Token(token) => (Some(token.to_owned()), None, None),
            GrantTarget::Id { key, grant_id } => (None, Some(key.to_string()), Some(grant_id.to_owned())),
        };
        self.spawn(async move {
            let label = key.clone().unwrap_or_default();
            client
                .retire_grant()
                .set_grant_token(token)
                .set_key_id(key)
                .set_grant_id(grant_id)
                .send()
                .await
                .map_err(|e| sdk_error("RetireGrant", &label, e))?;
            Ok(())
        })
    }

    fn revoke_grant<'a>(&'a self, key: &'a KeyRef, grant_id: &'a str) -> KmsFuture<'a, ()> {
        let grant_id = grant_id.to_owned();
        self.key_call(key, move |client, key| async move {
            client
                .revoke_grant()
                .key_id(&key)
                .grant_id(grant_id)
                .send()
                .await
                .map_err(|e| sdk_error("RevokeGrant", &key, e))?;
            Ok(())
        })
    }
}

/// A grant as ListGrants returns it.
fn grant_entry(grant: &aws_sdk_kms::types::GrantListEntry) -> GrantEntry {
    let constraints = grant.constraints().map(|c| envcrypt::kms::GrantConstraints {
        encryption_context_equals: c.encryption_context_equals().map(|m| m.clone().into_iter().collect()),
        encryption_context_subset: c.encryption_context_subset().map(|m| m.clone().into_iter().collect()),
    });
    GrantEntry {
        key_id: grant.key_id().unwrap_or_default().to_owned(),
        grant_id: grant.grant_id().unwrap_or_default().to_owned(),
        name: grant.name().filter(|n| !n.is_empty()).map(str::to_owned),
        creation_date: grant.creation_date().map_or(0, |d| u64::try_from(d.secs()).unwrap_or(0)),
        grantee_principal: grant.grantee_principal().unwrap_or_default().to_owned(),
        retiring_principal: grant.retiring_principal().map(str::to_owned),
        issuing_account: grant.issuing_account().unwrap_or_default().to_owned(),
        operations: grant
            .operations()
            .iter()
            .filter_map(|op| envcrypt::kms::GrantOperation::from_name(op.as_str()))
            .collect(),
        constraints,
    }
}
