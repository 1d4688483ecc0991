//! A throwaway local key store with its default key, for tests that need a real key service.

use std::sync::Arc;

use envcrypt::kms::local::{LocalKeyService, StoreOptions};
use envcrypt::kms::{KeyRef, KeyService};

/// A local key store in a temporary directory, with its default key created; the directory
/// is removed on drop.
pub struct TempStore {
    _dir: tempfile::TempDir,
    /// The store.
    pub service: Arc<LocalKeyService>,
    /// Its default key (`alias/envcrypt/default`).
    pub key: KeyRef,
}

impl TempStore {
    /// A fresh store.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let service =
            Arc::new(LocalKeyService::open(StoreOptions::new(dir.path().join("store"))).expect("a new local store"));
        let key = service.default_key().expect("the default key");
        Self { _dir: dir, service, key }
    }

    /// The store as a list of services, for an `OpenPolicy`.
    pub fn services(&self) -> Vec<Arc<dyn KeyService>> {
        vec![self.service.clone()]
    }
}

impl Default for TempStore {
    fn default() -> Self {
        Self::new()
    }
}
