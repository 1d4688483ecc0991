//! The PKCS#11 module (the vendor's library) and the tokens it offers, by label.

use std::sync::Arc;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::slot::Slot;
use envcrypt::kms::KmsError;

use crate::ClusterConfig;

/// A loaded, initialized module and its initialized tokens.
pub(crate) struct Module {
    pkcs11: Pkcs11,
    /// Whether this value initialized the module (and so finalizes it when dropped).
    initialized: bool,
    path: String,
    tokens: Vec<(String, Slot)>,
}

fn transport(context: String, error: impl std::error::Error + Send + Sync + 'static) -> KmsError {
    KmsError::Transport { context, source: Arc::new(error) }
}

impl Module {
    /// Loads and initializes the module of `config` and lists its tokens.
    pub(crate) fn load(config: &ClusterConfig) -> Result<Self, KmsError> {
        if config.tokens.is_empty() {
            return Err(KmsError::Validation("a PKCS#11 cluster needs at least one token label".into()));
        }
        let path = config.module.display().to_string();
        let pkcs11 = Pkcs11::new(&config.module).map_err(|e| {
            transport(format!("cannot load the PKCS#11 module {path} (is the HSM client installed?)"), e)
        })?;
        let initialized = match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) => true,
            // Another part of this process initialized the module: share it.
            Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => false,
            Err(e) => return Err(transport(format!("cannot initialize the PKCS#11 module {path}"), e)),
        };
        let mut module = Self { pkcs11, initialized, path, tokens: Vec::new() };
        let slots = module
            .pkcs11
            .get_slots_with_initialized_token()
            .map_err(|e| transport(format!("cannot list the tokens of {}", module.path), e))?;
        for slot in slots {
            let info = module
                .pkcs11
                .get_token_info(slot)
                .map_err(|e| transport(format!("cannot read a token of {}", module.path), e))?;
            module.tokens.push((info.label().trim().to_owned(), slot));
        }
        Ok(module)
    }

    /// The library.
    pub(crate) fn pkcs11(&self) -> &Pkcs11 {
        &self.pkcs11
    }

    /// The slot of the token labelled `label`.
    pub(crate) fn slot(&self, label: &str) -> Result<Slot, KmsError> {
        if let Some((_, slot)) = self.tokens.iter().find(|(l, _)| l == label) {
            return Ok(*slot);
        }
        let known: Vec<&str> = self.tokens.iter().map(|(l, _)| l.as_str()).collect();
        Err(KmsError::NotFound(format!(
            "no initialized token labelled {label:?} in {} (its tokens: {})",
            self.path,
            if known.is_empty() { "none".to_owned() } else { known.join(", ") }
        )))
    }
}

impl Drop for Module {
    /// Finalizes the module, so that it forgets failed tokens (sessions must be closed first).
    fn drop(&mut self) {
        if self.initialized {
            let _ = self.pkcs11.clone().finalize();
        }
    }
}
