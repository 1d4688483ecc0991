//! Grants on the local store: CreateGrant, ListGrants, RetireGrant and RevokeGrant.
//!
//! Grants live in their key's record, so the authorization of a call reads them with the key
//! and a new grant is in force for the next call (KMS grants are eventually consistent and
//! need a grant token meanwhile; here there is no meanwhile). A grant token names the key and
//! the grant: RetireGrant accepts it in place of both.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde_json::json;

use super::audit::Call;
use super::principal::{Principal, PrincipalKind};
use super::{key_param, LocalKeyService};
use crate::crypto;
use crate::kms::{
    CreateGrantRequest, CreatedGrant, GrantEntry, GrantOperation, GrantTarget, KeyId, KeyRef, KeySpec, KeyState,
    KmsError,
};

/// Whether a grant call is carried out or only checked (DryRun).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Effect {
    CarriedOut,
    DryRun,
}

const TOKEN_PREFIX: &str = "envcrypt-grant-v1.";
const GRANT_ID_HEX: usize = 64;
const MAX_GRANT_NAME: usize = 256;

impl LocalKeyService {
    pub(super) fn create_grant_now(
        &self,
        request: &CreateGrantRequest<'_>,
        effect: Effect,
    ) -> Result<CreatedGrant, KmsError> {
        let operations: Vec<&str> = request.operations.iter().map(|op| op.as_str()).collect();
        let mut call = Call::new("CreateGrant", false)
            .param("granteePrincipal", request.grantee_principal)
            .param("operations", operations);
        if let Some(retiring) = request.retiring_principal {
            call = call.param("retiringPrincipal", retiring);
        }
        if let Some(constraints) = request.constraints {
            call = call.param("constraints", serde_json::to_value(constraints).expect("constraints serialize"));
        }
        if let Some(name) = request.name {
            call = call.param("name", name);
        }
        self.update_grants(request.key, call, effect, |service, record, call| {
            let grantee =
                Principal::parse(request.grantee_principal, &service.prefix.partition, &service.prefix.account)?;
            let retiring = request
                .retiring_principal
                .map(|p| Principal::parse(p, &service.prefix.partition, &service.prefix.account))
                .transpose()?;
            let mut operations = request.operations.to_vec();
            operations.sort();
            operations.dedup();
            if operations.is_empty() {
                return Err(KmsError::Validation("a grant needs at least one operation".into()));
            }
            if let Some(op) = operations.iter().find(|op| !op.allows_constraints()) {
                if request.constraints.is_some_and(|c| !c.is_empty()) {
                    return Err(KmsError::Validation(format!(
                        "a grant with encryption context constraints cannot allow {op}, which takes no encryption \
                         context"
                    )));
                }
            }
            if let Some(name) = request.name {
                if name.is_empty()
                    || name.len() > MAX_GRANT_NAME
                    || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b":/_-".contains(&b))
                {
                    return Err(KmsError::Validation(format!(
                        "grant name {name:?}: 1 to {MAX_GRANT_NAME} letters, digits and :/_-"
                    )));
                }
            }
            // Authorized before the key's state is looked at, so that a caller without the
            // right learns nothing of the key from the answer.
            service.authorize(record, "kms:CreateGrant", None)?;
            if !service.policy_allows(record, "kms:CreateGrant")? {
                // Allowed only through a grant: it may pass on no more than it holds.
                let wanted = request.constraints.cloned().filter(|c| !c.is_empty());
                let covered = service.grants_allowing(record, GrantOperation::CreateGrant).any(|parent| {
                    operations.iter().all(|op| parent.operations.contains(op))
                        && (parent.constraints.is_none() || parent.constraints == wanted)
                });
                if !covered {
                    return Err(service.denied(
                        "kms:CreateGrant",
                        &service.arn(&record.key_id),
                        "because a grant can pass on only its own operations and constraints",
                    ));
                }
            }
            if record.key_spec != KeySpec::SymmetricDefault && request.constraints.is_some_and(|c| !c.is_empty()) {
                return Err(KmsError::Validation(format!(
                    "key {} is a {} key: encryption context constraints apply only to grants on symmetric \
                     encryption keys",
                    service.arn(&record.key_id),
                    record.key_spec
                )));
            }
            if let Some(op) = operations.iter().find(|op| !op.applies_to(record.key_spec, record.key_usage)) {
                return Err(KmsError::Validation(format!(
                    "a grant on key {}, a {} key for {}, cannot allow {op}",
                    service.arn(&record.key_id),
                    record.key_spec,
                    record.key_usage
                )));
            }
            // As KMS's key-state table: a disabled key is DisabledException; one pending
            // deletion or import is KMSInvalidStateException.
            if record.state == KeyState::PendingDeletion {
                return Err(KmsError::InvalidState {
                    key: service.arn(&record.key_id),
                    state: record.state.to_string(),
                    operation: "CreateGrant",
                });
            }
            service.check_usable(record, "CreateGrant")?;
            let grant = GrantEntry {
                key_id: service.arn(&record.key_id),
                grant_id: hex::encode(crypto::random_array::<{ GRANT_ID_HEX / 2 }>()),
                name: request.name.map(str::to_owned),
                creation_date: service.now(),
                grantee_principal: grantee.arn().to_owned(),
                retiring_principal: retiring.map(|p| p.arn().to_owned()),
                issuing_account: Principal::root(&service.prefix.partition, &service.prefix.account).arn().to_owned(),
                operations,
                constraints: request.constraints.cloned().filter(|c| !c.is_empty()),
            };
            let same = |g: &&GrantEntry| {
                g.name.is_some()
                    && GrantEntry { grant_id: String::new(), creation_date: 0, ..(*g).clone() }
                        == GrantEntry { grant_id: String::new(), creation_date: 0, ..grant.clone() }
            };
            let grant_id = match record.grants.iter().find(same) {
                Some(existing) => existing.grant_id.clone(),
                None => {
                    let id = grant.grant_id.clone();
                    record.grants.push(grant);
                    id
                }
            };
            call.respond(json!({ "grantId": grant_id }));
            let grant_token = grant_token(&record.key_id, &grant_id);
            Ok(CreatedGrant { grant_id, grant_token })
        })
    }

    pub(super) fn list_grants_now(&self, key: &KeyRef) -> Result<Vec<GrantEntry>, KmsError> {
        let call = Call::new("ListGrants", true).param("keyId", key_param(key));
        self.audited(call, |call| {
            let txn = self.disk.read()?;
            let record = self.load(&txn, &self.resolve(&txn, key)?)?;
            call.resource(&self.arn(&record.key_id));
            self.authorize(&record, "kms:ListGrants", None)?;
            Ok(record.grants)
        })
    }

    pub(super) fn retire_grant_now(&self, target: GrantTarget<'_>, effect: Effect) -> Result<(), KmsError> {
        let (key, grant_id) = match target {
            GrantTarget::Token(token) => match parse_grant_token(token) {
                Ok((key_id, grant_id)) => (KeyRef::KeyId(key_id), grant_id),
                Err(e) => {
                    // Refused before any key is known, and still recorded.
                    let call = Call::new("RetireGrant", false).param("grantToken", "HIDDEN_DUE_TO_SECURITY_REASONS");
                    let call = if effect == Effect::DryRun { call.param("dryRun", true) } else { call };
                    return self.audited(call, |_| Err(e));
                }
            },
            GrantTarget::Id { key, grant_id } => (key.clone(), grant_id.to_owned()),
        };
        let mut call = Call::new("RetireGrant", false).param("grantId", &*grant_id);
        if matches!(target, GrantTarget::Token(_)) {
            call = call.param("grantToken", "HIDDEN_DUE_TO_SECURITY_REASONS");
        }
        self.update_grants(&key, call, effect, |service, record, _| {
            let me = service.principal.arn();
            let account_may = (service.principal.kind() == PrincipalKind::Root
                && service.principal.account() == service.prefix.account)
                || service.policy_allows(record, "kms:RetireGrant")?;
            // Only a caller the account lets retire grants learns whether a grant exists; to
            // anyone else a missing grant is a denial.
            let index = match service.find_grant(record, &grant_id) {
                Ok(index) => index,
                Err(e) if account_may => return Err(e),
                Err(_) => return Err(retire_denied(service, record)),
            };
            let grant = &record.grants[index];
            let may = account_may
                || grant.retiring_principal.as_deref() == Some(me)
                || (grant.grantee_principal == me && grant.operations.contains(&GrantOperation::RetireGrant));
            if !may {
                return Err(retire_denied(service, record));
            }
            record.grants.remove(index);
            Ok(())
        })
    }

    pub(super) fn revoke_grant_now(&self, key: &KeyRef, grant_id: &str, effect: Effect) -> Result<(), KmsError> {
        let call = Call::new("RevokeGrant", false).param("grantId", grant_id);
        self.update_grants(key, call, effect, |service, record, _| {
            service.authorize(record, "kms:RevokeGrant", None)?;
            let index = service.find_grant(record, grant_id)?;
            record.grants.remove(index);
            Ok(())
        })
    }

    /// An audited change to a key's grants; authorization is the change's own, since grant
    /// calls are not simply `kms:<operation>` on the key policy. A DryRun makes every check of
    /// the change and keeps none of it.
    fn update_grants<T>(
        &self,
        key: &KeyRef,
        call: Call,
        effect: Effect,
        change: impl FnOnce(&Self, &mut super::KeyRecord, &mut Call) -> Result<T, KmsError>,
    ) -> Result<T, KmsError> {
        let mut call = call.param("keyId", key_param(key));
        if effect == Effect::DryRun {
            call = call.param("dryRun", true);
        }
        self.audited(call, |call| {
            let txn = self.disk.write()?;
            self.purge_deleted(&txn)?;
            let mut record = self.load_caught_up(&txn, &self.resolve(&txn, key)?)?;
            call.resource(&self.arn(&record.key_id));
            let out = change(self, &mut record, call)?;
            if effect == Effect::DryRun {
                return Err(super::would_succeed());
            }
            txn.write_json(&super::key_file(&record.key_id), &record)?;
            Ok(out)
        })
    }

    fn find_grant(&self, record: &super::KeyRecord, grant_id: &str) -> Result<usize, KmsError> {
        if grant_id.len() != GRANT_ID_HEX || !grant_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(KmsError::InvalidGrantId(format!("{grant_id:?} is not a grant id (64 hex digits)")));
        }
        record.grants.iter().position(|g| g.grant_id == grant_id).ok_or_else(|| {
            KmsError::NotFound(format!("grant {grant_id} does not exist on key {}", self.arn(&record.key_id)))
        })
    }
}

fn grant_token(key_id: &str, grant_id: &str) -> String {
    format!("{TOKEN_PREFIX}{}", B64URL.encode(format!("{key_id}:{grant_id}")))
}

fn retire_denied(service: &LocalKeyService, record: &super::KeyRecord) -> KmsError {
    service.denied(
        "kms:RetireGrant",
        &service.arn(&record.key_id),
        "because it is not the grant's retiring principal, a grantee allowed to retire it, or the account",
    )
}

fn parse_grant_token(token: &str) -> Result<(String, String), KmsError> {
    let invalid = || KmsError::InvalidGrantToken("the grant token is not one this store issued".into());
    let decoded = token.strip_prefix(TOKEN_PREFIX).and_then(|t| B64URL.decode(t).ok()).ok_or_else(invalid)?;
    let text = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (key_id, grant_id) = text.split_once(':').ok_or_else(invalid)?;
    KeyId::parse(key_id).ok_or_else(invalid)?;
    Ok((key_id.to_owned(), grant_id.to_owned()))
}
