//! Key policies and grants on AWS KMS: the [`KeyGovernance`] calls.

use aws_sdk_kms::types::{GrantConstraints, GrantOperation};
use aws_sdk_kms::Client;
use envcrypt::kms::{
    CreateGrantRequest, CreatedGrant, GrantDryRun, GrantEntry, GrantTarget, KeyGovernance, KeyRef, KmsError, KmsFuture,
};

use crate::dry_run::would_succeed;
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
        let call = GrantCall::create(&request).send(self.client.clone(), false);
        self.spawn(async move { call.await?.ok_or_else(|| missing("CreateGrant", "GrantId")) })
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
        self.spawn(async_unit(GrantCall::retire(target).send(self.client.clone(), false)))
    }

    fn revoke_grant<'a>(&'a self, key: &'a KeyRef, grant_id: &'a str) -> KmsFuture<'a, ()> {
        self.spawn(async_unit(GrantCall::revoke(key, grant_id).send(self.client.clone(), false)))
    }

    fn dry_run_grant<'a>(&'a self, request: GrantDryRun<'a>) -> KmsFuture<'a, ()> {
        let call = GrantCall::from(request);
        let client = self.client.clone();
        self.spawn(async move { would_succeed(call.send(client, true).await.map(drop)) })
    }
}

/// A future's result without its value.
async fn async_unit<T>(call: impl std::future::Future<Output = Result<T, KmsError>>) -> Result<(), KmsError> {
    call.await.map(drop)
}

/// A grant call with its parts owned, to send from the client's runtime.
enum GrantCall {
    Create {
        key: String,
        grantee: String,
        retiring: Option<String>,
        name: Option<String>,
        operations: Vec<GrantOperation>,
        constraints: Option<GrantConstraints>,
    },
    Retire {
        token: Option<String>,
        key: Option<String>,
        grant_id: Option<String>,
    },
    Revoke {
        key: String,
        grant_id: String,
    },
}

impl From<GrantDryRun<'_>> for GrantCall {
    fn from(request: GrantDryRun<'_>) -> Self {
        match request {
            GrantDryRun::Create(request) => Self::create(&request),
            GrantDryRun::Retire(target) => Self::retire(target),
            GrantDryRun::Revoke { key, grant_id } => Self::revoke(key, grant_id),
        }
    }
}

impl GrantCall {
    fn create(request: &CreateGrantRequest<'_>) -> Self {
        Self::Create {
            key: request.key.to_string(),
            grantee: request.grantee_principal.to_owned(),
            retiring: request.retiring_principal.map(str::to_owned),
            name: request.name.map(str::to_owned),
            operations: request.operations.iter().map(|op| GrantOperation::from(op.as_str())).collect(),
            constraints: request.constraints.map(|c| {
                GrantConstraints::builder()
                    .set_encryption_context_equals(c.encryption_context_equals.clone().map(|m| m.into_iter().collect()))
                    .set_encryption_context_subset(c.encryption_context_subset.clone().map(|m| m.into_iter().collect()))
                    .build()
            }),
        }
    }

    fn retire(target: GrantTarget<'_>) -> Self {
        match target {
            GrantTarget::Token(token) => Self::Retire { token: Some(token.to_owned()), key: None, grant_id: None },
            GrantTarget::Id { key, grant_id } => {
                Self::Retire { token: None, key: Some(key.to_string()), grant_id: Some(grant_id.to_owned()) }
            }
        }
    }

    fn revoke(key: &KeyRef, grant_id: &str) -> Self {
        Self::Revoke { key: key.to_string(), grant_id: grant_id.to_owned() }
    }

    /// Sends the call (with `DryRun` if `dry_run`); CreateGrant's answer is the new grant.
    async fn send(self, client: Client, dry_run: bool) -> Result<Option<CreatedGrant>, KmsError> {
        let dry_run = dry_run.then_some(true);
        match self {
            Self::Create { key, grantee, retiring, name, operations, constraints } => {
                let out = client
                    .create_grant()
                    .key_id(&key)
                    .grantee_principal(grantee)
                    .set_retiring_principal(retiring)
                    .set_operations(Some(operations))
                    .set_constraints(constraints)
                    .set_name(name)
                    .set_dry_run(dry_run)
                    .send()
                    .await
                    .map_err(|e| sdk_error("CreateGrant", &key, e))?;
                Ok(Some(CreatedGrant {
                    grant_id: out.grant_id().ok_or_else(|| missing("CreateGrant", "GrantId"))?.to_owned(),
                    grant_token: out.grant_token().ok_or_else(|| missing("CreateGrant", "GrantToken"))?.to_owned(),
                }))
            }
            Self::Retire { token, key, grant_id } => {
                let label = key.clone().unwrap_or_default();
                client
                    .retire_grant()
                    .set_grant_token(token)
                    .set_key_id(key)
                    .set_grant_id(grant_id)
                    .set_dry_run(dry_run)
                    .send()
                    .await
                    .map_err(|e| sdk_error("RetireGrant", &label, e))?;
                Ok(None)
            }
            Self::Revoke { key, grant_id } => {
                client
                    .revoke_grant()
                    .key_id(&key)
                    .grant_id(grant_id)
                    .set_dry_run(dry_run)
                    .send()
                    .await
                    .map_err(|e| sdk_error("RevokeGrant", &key, e))?;
                Ok(None)
            }
        }
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
