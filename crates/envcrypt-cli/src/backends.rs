//! The key services a command may use, each connected only when first needed.
//!
//! A key given as an ARN belongs to the service that [owns](KeyService::owns) it (an
//! `arn:aws:` ARN is AWS KMS's, `arn:envcrypt:kms:pkcs11:` the HSM cluster's); a key id or
//! alias belongs to `--backend`, else the local store. Opening tries every service whose
//! provider id appears in the message. Nothing is touched until a key of its own is used, so
//! `open` of an AWS-only message creates no local store and a local-only run makes no AWS
//! configuration look-ups.

use std::path::PathBuf;
use std::sync::Arc;

use envcrypt::keyring::Keyring;
use envcrypt::kms::local::{LocalKeyService, StoreOptions};
use envcrypt::kms::{
    Arn, DataKeyPairs, KeyAdmin, KeyGovernance, KeyImport, KeyMacs, KeyRef, KeyRotation, KeyService, KeySigning,
    KeyTagging, KmsError, LazyService, RsaEncryption,
};
use envcrypt_aws::{AwsKmsService, AwsOptions};
use envcrypt_pkcs11::{ClusterConfig, ConfigSources, Pkcs11KeyService, Pkcs11Options};
use envcrypt_s3::{S3Client, TransferOptions};

use crate::error::CliError;
use crate::flags::{BackendKind, GlobalArgs};
use crate::prompts;

/// Which key services exist, and which ARNs each owns.
impl BackendKind {
    const ALL: [Self; 3] = [Self::Local, Self::Aws, Self::Pkcs11];

    /// Whether `arn` names a key of this kind of backend, without connecting to it.
    fn owns(self, arn: &Arn) -> bool {
        match self {
            Self::Local => LocalKeyService::is_local_arn(arn),
            Self::Aws => AwsKmsService::is_aws_arn(arn),
            Self::Pkcs11 => Pkcs11KeyService::arn_prefix().contains(arn),
        }
    }
}

/// The backends of one command.
pub struct Backends {
    chosen: Option<BackendKind>,
    local: Arc<LazyService<LocalKeyService>>,
    /// The local store for opening messages: never created, since a store made now holds no
    /// key that could open anything.
    local_existing: Arc<LazyService<LocalKeyService>>,
    aws: Arc<LazyService<AwsKmsService>>,
    pkcs11: Arc<LazyService<Pkcs11KeyService>>,
}

impl Backends {
    pub fn new(global: &GlobalArgs) -> Result<Self, CliError> {
        let chosen = match global.backend.as_slice() {
            [] => None,
            [one] => Some(*one),
            _ => return Err(CliError::usage("give --backend once (several are for `envcrypt conformance`)")),
        };
        Ok(Self {
            chosen,
            local: Arc::new(local_store(global, true)),
            local_existing: Arc::new(local_store(global, false)),
            aws: Arc::new(aws_kms(global)),
            pkcs11: Arc::new(pkcs11_cluster(global)),
        })
    }

    /// The local store, opened (and created) now.
    pub fn local(&self) -> Result<&Arc<LocalKeyService>, CliError> {
        self.local.get().map_err(|e| CliError::kms("cannot open the local key store", &e))
    }

    /// The local store, which must exist already.
    pub fn existing_local(&self) -> Result<&Arc<LocalKeyService>, CliError> {
        self.local_existing.get().map_err(|e| CliError::kms("cannot open the local key store", &e))
    }

    /// The HSM cluster, connected now.
    pub fn pkcs11(&self) -> Result<&Arc<Pkcs11KeyService>, CliError> {
        self.pkcs11.get().map_err(|e| CliError::kms("cannot connect to the PKCS#11 cluster", &e))
    }

    /// The backend a key belongs to: the one that owns its ARN, else `--backend`.
    pub fn kind_of(&self, key: &KeyRef) -> BackendKind {
        key.arn()
            .and_then(|arn| BackendKind::ALL.into_iter().find(|kind| self.service(*kind).owns(arn)))
            .unwrap_or_else(|| self.default_kind())
    }

    /// `--backend`, else the local store.
    pub fn default_kind(&self) -> BackendKind {
        self.chosen.unwrap_or(BackendKind::Local)
    }

    /// A backend's key service, connected on first use.
    pub fn service(&self, kind: BackendKind) -> Arc<dyn KeyService> {
        match kind {
            BackendKind::Local => self.local.clone(),
            BackendKind::Aws => self.aws.clone(),
            BackendKind::Pkcs11 => self.pkcs11.clone(),
        }
    }

    /// The key service `key` belongs to.
    pub fn service_of(&self, key: &KeyRef) -> Arc<dyn KeyService> {
        self.service(self.kind_of(key))
    }

    /// A keyring of `keys`, each with its own backend.
    pub fn keyring(&self, keys: &[KeyRef]) -> Keyring {
        keys.iter().fold(Keyring::new(), |ring, key| ring.with_key(self.service_of(key), key.clone()))
    }

    /// Every backend, for opening messages whatever wraps them.
    pub fn all(&self) -> Vec<Arc<dyn KeyService>> {
        vec![self.local_existing.clone(), self.aws.clone(), self.pkcs11.clone()]
    }

    /// A backend's key service, connected now (so that a failure to connect is reported as
    /// such, not as a missing capability).
    fn connected(&self, kind: BackendKind) -> Result<&dyn KeyService, CliError> {
        let connected = match kind {
            BackendKind::Local => self.local.get().map(|s| s.as_ref() as &dyn KeyService),
            BackendKind::Aws => self.aws.get().map(|s| s.as_ref() as &dyn KeyService),
            BackendKind::Pkcs11 => self.pkcs11.get().map(|s| s.as_ref() as &dyn KeyService),
        };
        connected.map_err(|e| CliError::kms(format!("cannot reach the {} backend", kind.name()), &e))
    }

    /// A backend's key management.
    pub fn admin(&self, kind: BackendKind) -> Result<&dyn KeyAdmin, CliError> {
        self.connected(kind)?
            .admin()
            .ok_or_else(|| CliError::usage(format!("the {} backend has no key management", kind.name())))
    }

    /// A backend's key policies and grants.
    pub fn governance(&self, kind: BackendKind) -> Result<&dyn KeyGovernance, CliError> {
        self.connected(kind)?.governance().ok_or_else(|| {
            CliError::usage(format!(
                "the {} backend has no key policies or grants: who may use an HSM's keys is decided by its users \
                 (the user PIN), as in CloudHSM",
                kind.name()
            ))
        })
    }

    /// A backend's imported key material.
    pub fn import(&self, kind: BackendKind) -> Result<&dyn KeyImport, CliError> {
        self.connected(kind)?.import().ok_or_else(|| {
            CliError::usage(format!(
                "the {} backend takes no imported key material, as keys in a KMS custom key store take none",
                kind.name()
            ))
        })
    }

    /// A backend's tags.
    pub fn tagging(&self, kind: BackendKind) -> Result<&dyn KeyTagging, CliError> {
        self.connected(kind)?
            .tagging()
            .ok_or_else(|| CliError::usage(format!("the {} backend keeps no tags on its keys", kind.name())))
    }

    /// A backend's signing keys.
    pub fn signing(&self, kind: BackendKind) -> Result<&dyn KeySigning, CliError> {
        self.connected(kind)?
            .signing()
            .ok_or_else(|| CliError::usage(format!("the {} backend has no asymmetric signing keys yet", kind.name())))
    }

    /// A backend's RSA encryption keys.
    pub fn rsa_encryption(&self, kind: BackendKind) -> Result<&dyn RsaEncryption, CliError> {
        self.connected(kind)?
            .rsa_encryption()
            .ok_or_else(|| CliError::usage(format!("the {} backend has no RSA encryption keys yet", kind.name())))
    }

    /// A backend's data key pairs.
    pub fn data_key_pairs(&self, kind: BackendKind) -> Result<&dyn DataKeyPairs, CliError> {
        self.connected(kind)?
            .data_key_pairs()
            .ok_or_else(|| CliError::usage(format!("the {} backend makes no data key pairs yet", kind.name())))
    }

    /// A backend's HMAC keys.
    pub fn macs(&self, kind: BackendKind) -> Result<&dyn KeyMacs, CliError> {
        self.connected(kind)?
            .macs()
            .ok_or_else(|| CliError::usage(format!("the {} backend has no HMAC keys yet", kind.name())))
    }

    /// A backend's rotation schedules.
    pub fn rotation(&self, kind: BackendKind) -> Result<&dyn KeyRotation, CliError> {
        self.connected(kind)?.rotation().ok_or_else(|| {
            CliError::usage(format!(
                "the {} backend has no scheduled rotation, as keys in a KMS custom key store have none: \
                 rotate on demand with `envcrypt key rotate`",
                kind.name()
            ))
        })
    }
}

fn local_store(global: &GlobalArgs, create: bool) -> LazyService<LocalKeyService> {
    let dir = global.store.clone();
    let principal = global.principal.clone();
    let owns = |arn: &Arn| BackendKind::Local.owns(arn);
    LazyService::new(envcrypt::kms::local::PROVIDER_ID, owns, move || {
        let mut options = store_options(dir.clone())?.create_if_missing(create);
        if let Some(principal) = &principal {
            options = options.principal(principal);
        }
        LocalKeyService::open(options)
    })
}

/// How to open the store at `--store` (else the default location): its passphrase from the
/// environment or a prompt, and a new store protected by one if one is given.
pub fn store_options(chosen: Option<PathBuf>) -> Result<StoreOptions, KmsError> {
    let dir = store_dir(chosen)?;
    Ok(StoreOptions::new(&dir)
        .passphrase(prompts::passphrase_provider(dir))
        .protect_new_store_with_passphrase(prompts::passphrase_given()))
}

/// `--store`, else the default location.
pub fn store_dir(chosen: Option<PathBuf>) -> Result<PathBuf, KmsError> {
    chosen
        .or_else(StoreOptions::default_dir)
        .ok_or_else(|| KmsError::Validation("no data directory is known for this user; pass --store DIR".into()))
}

/// How to reach AWS KMS and S3: `--endpoint-url` and `--region` over the standard chain.
pub fn aws_options(global: &GlobalArgs) -> AwsOptions {
    AwsOptions { endpoint_url: global.endpoint_url.clone(), region: global.region.clone(), ..AwsOptions::default() }
}

fn aws_kms(global: &GlobalArgs) -> LazyService<AwsKmsService> {
    let options = aws_options(global);
    LazyService::new(envcrypt_aws::PROVIDER_ID, AwsKmsService::is_aws_arn, move || AwsKmsService::connect(&options))
}

/// An S3 client configured as AWS KMS is (region, credentials, --endpoint-url).
pub fn s3_client(global: &GlobalArgs, transfer: TransferOptions) -> Result<S3Client, CliError> {
    S3Client::connect(&aws_options(global), transfer).map_err(|e| CliError::s3("cannot set up S3", e))
}

/// The HSM cluster's settings: `--pkcs11-config`, then the flags and their variables over it.
pub fn pkcs11_config(global: &GlobalArgs) -> Result<ClusterConfig, CliError> {
    let sources = ConfigSources {
        file: global.pkcs11_config.as_deref(),
        module: global.pkcs11_module.clone(),
        tokens: global.pkcs11_tokens.clone(),
        mechanisms: global.pkcs11_mechanisms.clone(),
    };
    ClusterConfig::resolve(&sources).map_err(CliError::pkcs11_config)
}

fn pkcs11_cluster(global: &GlobalArgs) -> LazyService<Pkcs11KeyService> {
    let config = pkcs11_config(global).map_err(|e| KmsError::Validation(e.message));
    let owns = |arn: &Arn| BackendKind::Pkcs11.owns(arn);
    LazyService::new(envcrypt_pkcs11::PROVIDER_ID, owns, move || {
        let cluster = config.clone()?;
        let pin = prompts::user_pin(&cluster.tokens)?;
        Pkcs11KeyService::connect(Pkcs11Options { cluster, pin })
    })
}
