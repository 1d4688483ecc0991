//! Grants: delegated, revocable permissions on one key, as KMS defines them.
//!
//! A grant lets a grantee principal perform some [`GrantOperation`]s on a key, optionally only
//! with a given encryption context ([`GrantConstraints`]). Grants add to what the key policy
//! allows; an explicit deny in the policy still wins.

use std::collections::BTreeMap;

use crate::context::EncryptionContext;
use crate::kms::{KeySpec, KeyUsage};

/// An operation a grant can allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum GrantOperation {
    /// Decrypt.
    Decrypt,
    /// Encrypt.
    Encrypt,
    /// GenerateDataKey.
    GenerateDataKey,
    /// GenerateDataKeyWithoutPlaintext.
    GenerateDataKeyWithoutPlaintext,
    /// ReEncrypt with this key as the source.
    ReEncryptFrom,
    /// ReEncrypt with this key as the destination.
    ReEncryptTo,
    /// CreateGrant: passing on a subset of this grant's operations.
    CreateGrant,
    /// RetireGrant by the grantee.
    RetireGrant,
    /// DescribeKey.
    DescribeKey,
    /// Sign.
    Sign,
    /// Verify.
    Verify,
    /// GetPublicKey.
    GetPublicKey,
    /// GenerateMac.
    GenerateMac,
    /// VerifyMac.
    VerifyMac,
    /// GenerateDataKeyPair.
    GenerateDataKeyPair,
    /// GenerateDataKeyPairWithoutPlaintext.
    GenerateDataKeyPairWithoutPlaintext,
}

impl GrantOperation {
    /// Every operation a grant may name.
    pub const ALL: [GrantOperation; 16] = [
        Self::Decrypt,
        Self::Encrypt,
        Self::GenerateDataKey,
        Self::GenerateDataKeyWithoutPlaintext,
        Self::ReEncryptFrom,
        Self::ReEncryptTo,
        Self::CreateGrant,
        Self::RetireGrant,
        Self::DescribeKey,
        Self::Sign,
        Self::Verify,
        Self::GetPublicKey,
        Self::GenerateMac,
        Self::VerifyMac,
        Self::GenerateDataKeyPair,
        Self::GenerateDataKeyPairWithoutPlaintext,
    ];

    /// The KMS name (`GenerateDataKey`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Decrypt => "Decrypt",
            Self::Encrypt => "Encrypt",
            Self::GenerateDataKey => "GenerateDataKey",
            Self::GenerateDataKeyWithoutPlaintext => "GenerateDataKeyWithoutPlaintext",
            Self::ReEncryptFrom => "ReEncryptFrom",
            Self::ReEncryptTo => "ReEncryptTo",
            Self::CreateGrant => "CreateGrant",
            Self::RetireGrant => "RetireGrant",
            Self::DescribeKey => "DescribeKey",
            Self::Sign => "Sign",
            Self::Verify => "Verify",
            Self::GetPublicKey => "GetPublicKey",
            Self::GenerateMac => "GenerateMac",
            Self::VerifyMac => "VerifyMac",
            Self::GenerateDataKeyPair => "GenerateDataKeyPair",
            Self::GenerateDataKeyPairWithoutPlaintext => "GenerateDataKeyPairWithoutPlaintext",
        }
    }

    /// The operation with this KMS name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str() == name)
    }

    /// The operation that allows the policy action `kms:NAME`, if a grant can allow it.
    pub fn for_action(action: &str) -> Option<Self> {
        action.strip_prefix("kms:").and_then(Self::from_name)
    }

    /// Whether the operation takes an encryption context, so that constraints apply to it.
    pub fn takes_context(self) -> bool {
        matches!(
            self,
            Self::Decrypt
                | Self::Encrypt
                | Self::GenerateDataKey
                | Self::GenerateDataKeyWithoutPlaintext
                | Self::GenerateDataKeyPair
                | Self::GenerateDataKeyPairWithoutPlaintext
                | Self::ReEncryptFrom
                | Self::ReEncryptTo
        )
    }

    /// Whether the operation is one a key of `spec` and `usage` can do (a grant on it may
    /// name only those; KMS refuses others with `ValidationException`).
    pub fn applies_to(self, spec: KeySpec, usage: KeyUsage) -> bool {
        match self {
            Self::CreateGrant | Self::RetireGrant | Self::DescribeKey => true,
            Self::Encrypt | Self::Decrypt | Self::ReEncryptFrom | Self::ReEncryptTo => {
                usage == KeyUsage::EncryptDecrypt
            }
            Self::GenerateDataKey
            | Self::GenerateDataKeyWithoutPlaintext
            | Self::GenerateDataKeyPair
            | Self::GenerateDataKeyPairWithoutPlaintext => spec == KeySpec::SymmetricDefault,
            Self::Sign | Self::Verify => usage == KeyUsage::SignVerify,
            Self::GetPublicKey => spec.is_key_pair(),
            Self::GenerateMac | Self::VerifyMac => usage == KeyUsage::GenerateVerifyMac,
        }
    }

    /// Whether a grant with encryption context constraints may name the operation: not the
    /// operations of asymmetric and HMAC keys, which take no context (KMS refuses such a grant).
    pub fn allows_constraints(self) -> bool {
        !matches!(self, Self::Sign | Self::Verify | Self::GetPublicKey | Self::GenerateMac | Self::VerifyMac)
    }
}

impl std::fmt::Display for GrantOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// The encryption context a grant requires. Keys compare case-insensitively and values
/// case-sensitively, as in KMS.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GrantConstraints {
    /// The request's context must be exactly these pairs.
    #[serde(rename = "EncryptionContextEquals", default, skip_serializing_if = "Option::is_none")]
    pub encryption_context_equals: Option<BTreeMap<String, String>>,
    /// The request's context must include these pairs.
    #[serde(rename = "EncryptionContextSubset", default, skip_serializing_if = "Option::is_none")]
    pub encryption_context_subset: Option<BTreeMap<String, String>>,
}

impl GrantConstraints {
    /// Whether a request with `context` satisfies the constraints.
    pub fn allow(&self, context: &EncryptionContext) -> bool {
        let has = |k: &str, v: &str| context.iter().any(|(ck, cv)| ck.eq_ignore_ascii_case(k) && cv == v);
        let equals = self
            .encryption_context_equals
            .as_ref()
            .is_none_or(|pairs| pairs.len() == context.len() && pairs.iter().all(|(k, v)| has(k, v)));
        let subset = self.encryption_context_subset.as_ref().is_none_or(|pairs| pairs.iter().all(|(k, v)| has(k, v)));
        equals && subset
    }

    /// Whether there are no constraints.
    pub fn is_empty(&self) -> bool {
        self.encryption_context_equals.is_none() && self.encryption_context_subset.is_none()
    }
}

/// The arguments of CreateGrant.
#[derive(Debug, Clone)]
pub struct CreateGrantRequest<'a> {
    /// The key the grant is for.
    pub key: &'a crate::kms::KeyRef,
    /// Who the grant is for (a principal ARN).
    pub grantee_principal: &'a str,
    /// The operations it allows (at least one).
    pub operations: &'a [GrantOperation],
    /// Who else may retire it.
    pub retiring_principal: Option<&'a str>,
    /// Encryption context constraints.
    pub constraints: Option<&'a GrantConstraints>,
    /// A name; a second CreateGrant with the same name, grantee, operations and constraints
    /// returns the first grant rather than a new one.
    pub name: Option<&'a str>,
}

/// What CreateGrant returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedGrant {
    /// The grant id.
    pub grant_id: String,
    /// A token that names the grant (RetireGrant accepts it in place of key and grant id).
    pub grant_token: String,
}

/// One grant, as ListGrants shows it (and as the local store keeps it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct GrantEntry {
    /// The key's ARN.
    pub key_id: String,
    /// The grant id.
    pub grant_id: String,
    /// Its name, if it has one.
    pub name: Option<String>,
    /// Creation time, seconds since the Unix epoch.
    pub creation_date: u64,
    /// The grantee.
    pub grantee_principal: String,
    /// Who else may retire it.
    pub retiring_principal: Option<String>,
    /// The account root that issued it.
    pub issuing_account: String,
    /// What it allows.
    pub operations: Vec<GrantOperation>,
    /// Its encryption context constraints.
    pub constraints: Option<GrantConstraints>,
}

/// A grant operation to check but not carry out (KMS's `DryRun` on CreateGrant, RetireGrant
/// and RevokeGrant).
#[derive(Debug, Clone)]
pub enum GrantDryRun<'a> {
    /// CreateGrant.
    Create(CreateGrantRequest<'a>),
    /// RetireGrant.
    Retire(GrantTarget<'a>),
    /// RevokeGrant of `grant_id` on `key`.
    Revoke {
        /// The key.
        key: &'a crate::kms::KeyRef,
        /// The grant id.
        grant_id: &'a str,
    },
}

impl GrantDryRun<'_> {
    /// The KMS operation name.
    pub fn operation(&self) -> &'static str {
        match self {
            Self::Create(_) => "CreateGrant",
            Self::Retire(_) => "RetireGrant",
            Self::Revoke { .. } => "RevokeGrant",
        }
    }
}

/// Which grant RetireGrant retires.
#[derive(Debug, Clone, Copy)]
pub enum GrantTarget<'a> {
    /// By the token CreateGrant returned.
    Token(&'a str),
    /// By key and grant id.
    Id {
        /// The key.
        key: &'a crate::kms::KeyRef,
        /// The grant id.
        grant_id: &'a str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> BTreeMap<String, String> {
        p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn context(p: &[(&str, &str)]) -> EncryptionContext {
        p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn constraints_compare_keys_without_case_and_values_with_it() {
        let subset =
            GrantConstraints { encryption_context_subset: Some(pairs(&[("Dept", "ops")])), ..Default::default() };
        assert!(subset.allow(&context(&[("dept", "ops"), ("extra", "x")])));
        assert!(!subset.allow(&context(&[("dept", "OPS")])));
        assert!(!subset.allow(&context(&[])));
        let equals =
            GrantConstraints { encryption_context_equals: Some(pairs(&[("dept", "ops")])), ..Default::default() };
        assert!(equals.allow(&context(&[("DEPT", "ops")])));
        assert!(!equals.allow(&context(&[("dept", "ops"), ("extra", "x")])));
        assert!(GrantConstraints::default().allow(&context(&[("any", "thing")])));
    }

    #[test]
    fn actions_map_to_grant_operations() {
        assert_eq!(GrantOperation::for_action("kms:ReEncryptFrom"), Some(GrantOperation::ReEncryptFrom));
        assert_eq!(GrantOperation::for_action("kms:PutKeyPolicy"), None);
        assert!(GrantOperation::ALL.iter().all(|op| GrantOperation::from_name(op.as_str()) == Some(*op)));
    }
}
