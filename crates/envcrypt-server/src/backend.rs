//! What a server serves: a key service that acts as each authenticated caller, the access
//! keys that authenticate them, and the audit log that records every request.
//!
//! The local store is all three ([`LocalStore`]): each request runs as its signer's principal,
//! so key policies and grants decide as in KMS, and the store's audit log records it with the
//! access key, address and user agent. An HSM cluster governs access through its own users,
//! not principals ([`SharedService`]): every authenticated caller uses the one service, and a
//! local store keeps the access keys and the audit log.

use std::sync::Arc;

use envcrypt::kms::local::{LocalKeyService, RequestOrigin, SigningSecret};
use envcrypt::kms::{ArnPrefix, KeyService, KmsError};

/// A key service a server can serve.
pub trait Backend: Send + Sync {
    /// The partition, region and account of the served ARNs (the region is also the one
    /// requests must be signed for).
    fn identity(&self) -> &ArnPrefix;

    /// The key service as `principal`, calling from `origin`.
    fn as_caller(&self, principal: &str, origin: RequestOrigin) -> Result<Arc<dyn KeyService>, KmsError>;

    /// The secret of an active access key.
    fn signing_secret(&self, access_key_id: &str) -> Result<Option<SigningSecret>, KmsError>;

    /// Records a request that failed before the key service ran it (authentication, decoding),
    /// or, for a backend that keeps no audit log of its own, any request.
    fn record(&self, request: &Recorded<'_>) -> Result<(), KmsError>;

    /// Whether the key service records each call itself.
    fn audits_calls(&self) -> bool;
}

/// A request to record in the audit log.
#[derive(Debug, Clone)]
pub struct Recorded<'a> {
    /// The operation (`Decrypt`), or `Unknown`.
    pub operation: &'static str,
    /// The signer's principal, once known.
    pub principal: Option<&'a str>,
    /// Where it came from.
    pub origin: &'a RequestOrigin,
    /// The error it ended with, under its KMS exception name.
    pub error: Option<(&'a str, &'a str)>,
}

/// The local store, served as itself.
pub struct LocalStore {
    store: LocalKeyService,
}

impl LocalStore {
    /// Serves `store`.
    pub fn new(store: LocalKeyService) -> Self {
        Self { store }
    }
}

impl Backend for LocalStore {
    fn identity(&self) -> &ArnPrefix {
        self.store.identity()
    }

    fn as_caller(&self, principal: &str, origin: RequestOrigin) -> Result<Arc<dyn KeyService>, KmsError> {
        Ok(Arc::new(self.store.as_caller(principal, Some(origin))?))
    }

    fn signing_secret(&self, access_key_id: &str) -> Result<Option<SigningSecret>, KmsError> {
        self.store.signing_secret(access_key_id)
    }

    fn record(&self, request: &Recorded<'_>) -> Result<(), KmsError> {
        record(&self.store, request)
    }

    fn audits_calls(&self) -> bool {
        true
    }
}

/// One key service for every authenticated caller (an HSM cluster), with a local store for
/// the access keys and the audit log.
pub struct SharedService {
    service: Arc<dyn KeyService>,
    identity: ArnPrefix,
    store: LocalKeyService,
}

impl SharedService {
    /// Serves `service`, whose keys have the ARNs of `identity`; `store` keeps the access keys
    /// and records every request.
    pub fn new(service: Arc<dyn KeyService>, identity: ArnPrefix, store: LocalKeyService) -> Self {
        Self { service, identity, store }
    }
}

impl Backend for SharedService {
    fn identity(&self) -> &ArnPrefix {
        &self.identity
    }

    fn as_caller(&self, _principal: &str, _origin: RequestOrigin) -> Result<Arc<dyn KeyService>, KmsError> {
        Ok(self.service.clone())
    }

    fn signing_secret(&self, access_key_id: &str) -> Result<Option<SigningSecret>, KmsError> {
        self.store.signing_secret(access_key_id)
    }

    fn record(&self, request: &Recorded<'_>) -> Result<(), KmsError> {
        record(&self.store, request)
    }

    fn audits_calls(&self) -> bool {
        false
    }
}

fn record(store: &LocalKeyService, request: &Recorded<'_>) -> Result<(), KmsError> {
    store.record_request(request.operation, request.principal, request.origin, request.error)
}
