//! The key services a command may use, connected only when first needed.
//!
//! A key's backend follows from its reference (an `arn:aws:` ARN is AWS KMS, an
//! `arn:envcrypt:` ARN the local store) or from `--backend`; opening tries every backend whose
//! provider id appears in the message. Neither the local store nor the AWS client is touched
//! until a key of theirs is used, so `open` of an AWS-only message creates no local store and
//! a local-only run makes no AWS configuration look-ups.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use clap::ValueEnum;
use envcrypt::keyring::Keyring;
use envcrypt::kms::local::{LocalKeyService, PassphraseFn, StoreError, StoreOptions};
use envcrypt::kms::{Arn, EncryptionContext, KeyAdmin, KeyGovernance, KeyRef, KeyService, KmsError, LazyService};
use envcrypt_aws::{AwsKmsService, AwsOptions};
use envcrypt_pkcs11::{ClusterConfig, ConfigError, ConfigSources, Pkcs11KeyService, Pkcs11Options};
use envcrypt_s3::{S3Client, TransferOptions};
use zeroize::Zeroizing;

use crate::cli::{GlobalArgs, TransferArgs};
use crate::error::CliError;

const PASSPHRASE_VAR: &str = "ENVCRYPT_PASSPHRASE";
const PIN_VAR: &str = "ENVCRYPT_PKCS11_PIN";

/// A key service backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// The embedded local CMK store.
    Local,
    /// AWS KMS (or a KMS-compatible endpoint given with --endpoint-url).
    Aws,
    /// A PKCS#11 HSM cluster (--pkcs11-module, --pkcs11-token; the CloudHSM model).
    Pkcs11,
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

    /// The HSM cluster, connected now.
    pub fn pkcs11(&self) -> Result<&Arc<Pkcs11KeyService>, CliError> {
        self.pkcs11.get().map_err(|e| CliError::kms("cannot connect to the PKCS#11 cluster", &e))
    }

    /// The local store, which must exist already.
    pub fn existing_local(&self) -> Result<&Arc<LocalKeyService>, CliError> {
        self.local_existing.get().map_err(|e| CliError::kms("cannot open the local key store", &e))
    }

    /// The backend a key belongs to: the one whose ARNs it has, else `--backend`.
    pub fn kind_of(&self, key: &KeyRef) -> BackendKind {
        match key.arn() {
            Some(arn) => [BackendKind::Aws, BackendKind::Pkcs11, BackendKind::Local]
                .into_iter()
                .find(|kind| kind.owns(arn))
                .unwrap_or(BackendKind::Local),
            None => self.default_kind(),
        }
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

    /// A keyring of `keys`, each with its own backend.
    pub fn keyring(&self, keys: &[KeyRef]) -> Keyring {
        keys.iter().fold(Keyring::new(), |ring, key| ring.with_key(self.service(self.kind_of(key)), key.clone()))
    }

    /// Every backend, for opening messages whatever wraps them.
    pub fn all(&self) -> Vec<Arc<dyn KeyService>> {
        vec![self.local_existing.clone(), self.service(BackendKind::Aws), self.service(BackendKind::Pkcs11)]
    }

    /// A backend's key management.
    pub fn admin(&self, kind: BackendKind) -> Result<&dyn KeyAdmin, CliError> {
        let admin = match kind {
            BackendKind::Local => self.local.get().map(|s| s.as_ref() as &dyn KeyAdmin),
            BackendKind::Aws => self.aws.get().map(|s| s.as_ref() as &dyn KeyAdmin),
            BackendKind::Pkcs11 => self.pkcs11.get().map(|s| s.as_ref() as &dyn KeyAdmin),
        };
        admin.map_err(|e| CliError::kms(format!("cannot reach the {} backend", kind.name()), &e))
    }

    /// A backend's key policies and grants.
    pub fn governance(&self, kind: BackendKind) -> Result<&dyn KeyGovernance, CliError> {
        let governance = match kind {
            BackendKind::Local => self.local.get().map(|s| s.as_ref() as &dyn KeyGovernance),
            BackendKind::Aws => self.aws.get().map(|s| s.as_ref() as &dyn KeyGovernance),
            BackendKind::Pkcs11 => {
                return Err(CliError::usage(
                    "the pkcs11 backend has no key policies or grants: who may use an HSM's keys is decided by \
                     its users (the user PIN), as in CloudHSM",
                ))
            }
        };
        governance.map_err(|e| CliError::kms(format!("cannot reach the {} backend", kind.name()), &e))
    }
}

impl BackendKind {
    /// Whether `arn` names a key of this kind of backend.
    fn owns(self, arn: &Arn) -> bool {
        match self {
            Self::Local => LocalKeyService::is_local_arn(arn),
            Self::Aws => AwsKmsService::is_aws_arn(arn),
            Self::Pkcs11 => Pkcs11KeyService::arn_prefix().contains(arn),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Aws => "aws",
            Self::Pkcs11 => "pkcs11",
        }
    }
}

fn local_store(global: &GlobalArgs, create: bool) -> LazyService<LocalKeyService> {
    let dir = global.store.clone();
    let principal = global.principal.clone();
    let owns = |arn: &Arn| BackendKind::Local.owns(arn);
    LazyService::new(envcrypt::kms::local::PROVIDER_ID, owns, move || {
        let dir = store_dir(dir.clone())?;
        let mut options = StoreOptions::new(&dir)
            .passphrase(passphrase_provider(dir.clone()))
            .protect_new_store_with_passphrase(std::env::var_os(PASSPHRASE_VAR).is_some())
            .create_if_missing(create);
        if let Some(principal) = &principal {
            options = options.principal(principal);
        }
        LocalKeyService::open(options)
    })
}

/// `--store`, else the default location.
pub fn store_dir(chosen: Option<PathBuf>) -> Result<PathBuf, KmsError> {
    chosen
        .or_else(StoreOptions::default_dir)
        .ok_or_else(|| KmsError::Validation("no data directory is known for this user; pass --store DIR".into()))
}

fn aws_options(global: &GlobalArgs) -> AwsOptions {
    AwsOptions { endpoint_url: global.endpoint_url.clone(), region: global.region.clone(), ..AwsOptions::default() }
}

fn aws_kms(global: &GlobalArgs) -> LazyService<AwsKmsService> {
    let options = aws_options(global);
    LazyService::new(envcrypt_aws::PROVIDER_ID, AwsKmsService::is_aws_arn, move || AwsKmsService::connect(&options))
}

/// An S3 client configured as AWS KMS is (region, credentials, --endpoint-url).
pub fn s3_client(global: &GlobalArgs, transfer: Option<&TransferArgs>) -> Result<S3Client, CliError> {
    let transfer = transfer.map_or_else(TransferOptions::default, |t| TransferOptions {
        part_size: t.part_size,
        parts_in_flight: usize::from(t.parts_in_flight),
    });
    S3Client::connect(&aws_options(global), transfer).map_err(|e| CliError::s3("cannot set up S3", e))
}

/// The HSM cluster's settings: `--pkcs11-config`, then the flags and their variables over it.
pub fn pkcs11_config(global: &GlobalArgs) -> Result<ClusterConfig, KmsError> {
    let sources = ConfigSources {
        file: global.pkcs11_config.as_deref(),
        module: global.pkcs11_module.clone(),
        tokens: global.pkcs11_tokens.clone(),
        mechanisms: global.pkcs11_mechanisms.clone(),
    };
    ClusterConfig::resolve(&sources).map_err(|e| {
        let hint = match e {
            ConfigError::NoModule => ": give --pkcs11-module, ENVCRYPT_PKCS11_MODULE or --pkcs11-config",
            ConfigError::NoTokens => ": give --pkcs11-token LABEL (repeatable) or ENVCRYPT_PKCS11_TOKENS",
            _ => "",
        };
        KmsError::Validation(format!("{e}{hint}"))
    })
}

fn pkcs11_cluster(global: &GlobalArgs) -> LazyService<Pkcs11KeyService> {
    let config = pkcs11_config(global);
    let owns = |arn: &Arn| BackendKind::Pkcs11.owns(arn);
    LazyService::new(envcrypt_pkcs11::PROVIDER_ID, owns, move || {
        let cluster = config.clone()?;
        let pin = secret_from_env_or_prompt(
            PIN_VAR,
            &format!("User PIN for the PKCS#11 tokens {}: ", cluster.tokens.join(", ")),
            "the HSM user PIN",
        )?;
        Pkcs11KeyService::connect(Pkcs11Options { cluster, pin })
    })
}

/// A secret from `variable`, else a prompt on the terminal; never a command-line argument.
pub fn secret_from_env_or_prompt(variable: &str, prompt: &str, what: &str) -> Result<Zeroizing<String>, KmsError> {
    if let Ok(secret) = std::env::var(variable) {
        return Ok(Zeroizing::new(secret));
    }
    let missing = || KmsError::Validation(format!("{what} is needed: set {variable} or run on a terminal"));
    if !std::io::stdin().is_terminal() {
        return Err(missing());
    }
    rpassword::prompt_password(prompt).map(Zeroizing::new).map_err(|_| missing())
}

/// `ENVCRYPT_PASSPHRASE`, else a prompt on the terminal; never a command-line argument.
fn passphrase_provider(dir: PathBuf) -> Arc<PassphraseFn> {
    Arc::new(move || {
        if let Ok(passphrase) = std::env::var(PASSPHRASE_VAR) {
            return Ok(Zeroizing::new(passphrase));
        }
        if !std::io::stdin().is_terminal() {
            return Err(StoreError::PassphraseRequired { dir: dir.clone() });
        }
        rpassword::prompt_password(format!("Passphrase for the key store {}: ", dir.display()))
            .map(Zeroizing::new)
            .map_err(|_| StoreError::PassphraseRequired { dir: dir.clone() })
    })
}

/// Parses a key reference given on the command line.
pub fn parse_key(input: &str) -> Result<KeyRef, CliError> {
    KeyRef::parse(input).map_err(|e| CliError::usage(e.to_string()))
}

/// Parses `KEY=VALUE` pairs.
pub fn parse_context(pairs: &[String]) -> Result<EncryptionContext, CliError> {
    let mut context = EncryptionContext::new();
    for pair in pairs {
        context.insert_pair(pair).map_err(|e| CliError::usage(e.to_string()))?;
    }
    Ok(context)
}
