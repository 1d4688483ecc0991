//! Which key service a key belongs to.
//!
//! A key given as an ARN belongs to the service that [owns](super::KeyService::owns) that
//! ARN (an `arn:aws:` ARN is AWS KMS's, `arn:envcrypt:kms:local:` the local store's); a key
//! id or alias belongs to the default service, the one the caller chose.

use std::sync::Arc;

use super::{KeyRef, KeyService, KmsError};

/// Key services, and the one that keys without an ARN belong to.
#[derive(Clone)]
pub struct KeyRouter {
    services: Vec<Arc<dyn KeyService>>,
    default: usize,
}

impl std::fmt::Debug for KeyRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRouter").field("services", &self.services).field("default", &self.default).finish()
    }
}

impl KeyRouter {
    /// Routes among `services`; `default` (an index into them) takes key ids and aliases.
    ///
    /// # Panics
    /// If `default` is not an index of `services`.
    pub fn new(services: Vec<Arc<dyn KeyService>>, default: usize) -> Self {
        assert!(default < services.len(), "the default service is one of the services");
        Self { services, default }
    }

    /// The service `key` belongs to; `NotFoundException` for an ARN no service owns.
    pub fn route(&self, key: &KeyRef) -> Result<&Arc<dyn KeyService>, KmsError> {
        match key.arn() {
            None => Ok(&self.services[self.default]),
            Some(arn) => self
                .services
                .iter()
                .find(|s| s.owns(arn))
                .ok_or_else(|| KmsError::NotFound(format!("{key} is not a key of any configured key service"))),
        }
    }

    /// The default service.
    pub fn default_service(&self) -> &Arc<dyn KeyService> {
        &self.services[self.default]
    }

    /// Every service, for opening messages whatever wraps them.
    pub fn services(&self) -> &[Arc<dyn KeyService>] {
        &self.services
    }
}
