//! What a server needs to check a request's signature: an active access key's principal and
//! secret ([`SigningSecret`]), cached per version of the credentials file so that the hot path
//! neither reads nor decrypts, and a change (a key created or revoked) is seen at once.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use zeroize::Zeroizing;

use super::StoreError;
use crate::kms::KmsError;

/// An active access key's principal and secret, for a server checking a signature.
#[derive(Clone)]
pub struct SigningSecret {
    /// The principal ARN.
    pub principal: String,
    /// The secret access key.
    pub secret_access_key: Arc<Zeroizing<String>>,
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningSecret").field("principal", &self.principal).finish_non_exhaustive()
    }
}

/// The active keys' secrets, unwrapped, as of one version of the file.
#[derive(Default)]
pub(super) struct SecretCache(Mutex<Option<ActiveKeys>>);

/// The active keys of one version of the file, by access key id.
struct ActiveKeys {
    version: FileVersion,
    secrets: Vec<(String, SigningSecret)>,
}

/// What tells one version of the file from another: every write renames a new file into place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileVersion {
    inode: u64,
    modified: Option<std::time::SystemTime>,
}

impl SecretCache {
    /// The secret of `access_key_id` in the file at `path`, loading the active keys with `load`
    /// when the file changed since they were last loaded.
    pub(super) fn lookup(
        &self,
        path: &Path,
        access_key_id: &str,
        load: impl FnOnce() -> Result<Vec<(String, SigningSecret)>, KmsError>,
    ) -> Result<Option<SigningSecret>, KmsError> {
        let version = match std::fs::metadata(path) {
            Ok(metadata) => {
                use std::os::unix::fs::MetadataExt;
                FileVersion { inode: metadata.ino(), modified: metadata.modified().ok() }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io("inspect", path)(e).into()),
        };
        let mut cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.as_ref().is_none_or(|cached| cached.version != version) {
            *cache = Some(ActiveKeys { version, secrets: load()? });
        }
        let active = cache.as_ref().expect("filled above");
        Ok(active.secrets.iter().find(|(id, _)| id == access_key_id).map(|(_, secret)| secret.clone()))
    }
}
