//! Access keys: the credentials a KMS endpoint serving this store (`envcrypt serve`) checks
//! request signatures against, each belonging to one principal.
//!
//! An access key is an id (`AKIA` and 16 base-32 characters, as AWS's look) and a 40-character
//! secret. The secret is shown once, when the key is created; the store keeps it wrapped
//! under the root key (AES-256-GCM, bound to the key id), since verifying a SigV4 signature
//! needs the secret itself, not a hash of it. A revoked key stays listed, without its secret.
//! Creating and revoking are audited. A server reads the file again whenever it changes, so a
//! key created or revoked while it runs takes effect at its next request.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use zeroize::Zeroizing;

use super::audit::Call;
use super::disk::CREDENTIALS_FILE;
use super::principal::Principal;
use super::signing::SigningSecret;
use super::{LocalKeyService, StoreError};
use crate::crypto;
use crate::kms::KmsError;

const ACCESS_KEY_PREFIX: &str = "AKIA";
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// An access key as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccessKey {
    /// The access key id.
    pub access_key_id: String,
    /// The principal ARN requests signed with it act as.
    pub principal: String,
    /// When it was created (epoch seconds).
    pub created: u64,
    /// When it was revoked, if it was.
    pub revoked: Option<u64>,
}

/// A new access key, with the secret that is shown only now.
#[derive(Debug)]
pub struct NewAccessKey {
    /// The key as listed.
    pub key: AccessKey,
    /// The secret access key.
    pub secret_access_key: Zeroizing<String>,
}

/// `credentials.json`: one record per access key.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    access_key_id: String,
    principal: String,
    created: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revoked: Option<u64>,
    /// The secret, wrapped under the root key; gone once revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    wrapped_secret: Option<String>,
}

impl Record {
    fn listed(&self) -> AccessKey {
        AccessKey {
            access_key_id: self.access_key_id.clone(),
            principal: self.principal.clone(),
            created: self.created,
            revoked: self.revoked,
        }
    }
}

fn random_access_key_id() -> String {
    let bytes: [u8; 16] = crypto::random_array();
    let suffix: String = bytes.iter().map(|b| char::from(BASE32[usize::from(b & 31)])).collect();
    format!("{ACCESS_KEY_PREFIX}{suffix}")
}

fn random_secret() -> Zeroizing<String> {
    let bytes = Zeroizing::new(crypto::random_array::<30>());
    Zeroizing::new(B64.encode(&bytes[..]))
}

impl LocalKeyService {
    fn read_records(&self, txn: &super::disk::ReadTxn<'_>) -> Result<Vec<Record>, KmsError> {
        Ok(txn.read_json(CREDENTIALS_FILE)?.unwrap_or_default())
    }

    /// Creates an access key for `principal` (`user/NAME`, `role/NAME`, `NAME` or an ARN in
    /// the store's partition and account). The secret is in the answer and nowhere else in
    /// the clear.
    pub fn create_access_key(&self, principal: &str) -> Result<NewAccessKey, KmsError> {
        let principal = Principal::parse(principal, &self.prefix.partition, &self.prefix.account)?;
        let call = Call::new("CreateAccessKey", false).param("principal", principal.arn());
        self.audited(call, |call| {
            let txn = self.disk.write()?;
            let mut records = self.read_records(&txn)?;
            let access_key_id = random_access_key_id();
            let secret = random_secret();
            let record = Record {
                access_key_id: access_key_id.clone(),
                principal: principal.arn().to_owned(),
                created: self.now(),
                revoked: None,
                wrapped_secret: Some(self.root.wrap_secret(&access_key_id, secret.as_bytes())),
            };
            let key = record.listed();
            records.push(record);
            txn.write_json(CREDENTIALS_FILE, &records)?;
            call.respond(serde_json::json!({ "accessKeyId": access_key_id }));
            Ok(NewAccessKey { key, secret_access_key: secret })
        })
    }

    /// Every access key, revoked ones included, oldest first.
    pub fn list_access_keys(&self) -> Result<Vec<AccessKey>, KmsError> {
        let txn = self.disk.read()?;
        Ok(self.read_records(&txn)?.iter().map(Record::listed).collect())
    }

    /// Revokes an access key: its secret is destroyed, so no request signed with it verifies
    /// again (`NotFoundException` for an unknown or already revoked key).
    pub fn revoke_access_key(&self, access_key_id: &str) -> Result<AccessKey, KmsError> {
        let call = Call::new("DeleteAccessKey", false).param("accessKeyId", access_key_id);
        self.audited(call, |_| {
            let txn = self.disk.write()?;
            let mut records = self.read_records(&txn)?;
            let record = records
                .iter_mut()
                .find(|r| r.access_key_id == access_key_id && r.revoked.is_none())
                .ok_or_else(|| KmsError::NotFound(format!("no active access key {access_key_id}")))?;
            record.revoked = Some(self.now());
            record.wrapped_secret = None;
            let revoked = record.listed();
            txn.write_json(CREDENTIALS_FILE, &records)?;
            Ok(revoked)
        })
    }

    /// The principal and secret of an active access key, for verifying a request's signature;
    /// `None` for an unknown or revoked key. Reads the file again only when it changed.
    pub fn signing_secret(&self, access_key_id: &str) -> Result<Option<SigningSecret>, KmsError> {
        let path = self.disk.dir().join(CREDENTIALS_FILE);
        self.secrets.lookup(&path, access_key_id, || {
            let txn = self.disk.read()?;
            let mut active = Vec::new();
            for record in self.read_records(&txn)? {
                let (None, Some(wrapped)) = (record.revoked, &record.wrapped_secret) else { continue };
                let secret = self
                    .root
                    .unwrap_secret(&record.access_key_id, wrapped)
                    .map_err(|reason| StoreError::corrupt(&path, reason))?;
                let secret = Zeroizing::new(
                    String::from_utf8(secret.to_vec())
                        .map_err(|_| StoreError::corrupt(&path, "a secret access key is not text"))?,
                );
                active.push((
                    record.access_key_id,
                    SigningSecret { principal: record.principal, secret_access_key: Arc::new(secret) },
                ));
            }
            Ok(active)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_key_ids_look_like_aws_ones() {
        let id = random_access_key_id();
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("AKIA") && id[4..].bytes().all(|b| BASE32.contains(&b)), "{id}");
        assert_ne!(id, random_access_key_id());
        assert_eq!(random_secret().len(), 40);
    }
}
