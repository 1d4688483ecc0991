//! The flags of the command line that are not one command's own: the global flags and those
//! several commands share (`--key`, `--raw-aes-key`/`--raw-rsa-key`, `--context`,
//! `-o`/`--force`, `--threads`, `--commitment-policy`, `--dry-run`), each defined once and flattened where
//! it is used.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use envcrypt::keyring::raw::{RawKey, RsaPadding};
use envcrypt::kms::{EncryptionContext, KeyRef};
use envcrypt::message::CommitmentPolicy;

use crate::error::CliError;

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The local key store directory [default: envcrypt under the user's data directory].
    #[arg(long, global = true, env = "ENVCRYPT_STORE", value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// The key service for keys given without an ARN, and for `key` and `kms` commands
    /// [default: local]. Key ARNs pick their own (arn:aws:kms:... is AWS,
    /// arn:envcrypt:kms:pkcs11:... the HSM cluster).
    #[arg(long, global = true, value_enum, value_name = "BACKEND")]
    pub backend: Vec<BackendKind>,
    /// Send AWS KMS and S3 calls to this endpoint (also AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_KMS,
    /// AWS_ENDPOINT_URL_S3); S3 is then addressed path-style.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// The AWS region [default: AWS_REGION or the profile's].
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// The PKCS#11 module of the HSM backend (also ENVCRYPT_PKCS11_MODULE or the config file).
    #[arg(long, global = true, env = "ENVCRYPT_PKCS11_MODULE", value_name = "PATH")]
    pub pkcs11_module: Option<PathBuf>,
    /// A token of the HSM cluster, by label; repeatable (ENVCRYPT_PKCS11_TOKENS: comma-separated).
    #[arg(
        long = "pkcs11-token",
        global = true,
        env = "ENVCRYPT_PKCS11_TOKENS",
        value_delimiter = ',',
        value_name = "LABEL"
    )]
    pub pkcs11_tokens: Vec<String>,
    /// The HSM's mechanism variant: softhsm (standard; tested) or cloudhsm (HSM-generated GCM IV;
    /// modeled) [default: softhsm].
    #[arg(long, global = true, env = "ENVCRYPT_PKCS11_MECHANISMS", value_name = "VARIANT")]
    pub pkcs11_mechanisms: Option<String>,
    /// A JSON file with the HSM settings: {"module": PATH, "tokens": [LABEL, ...], "mechanisms":
    /// "softhsm"|"cloudhsm", "wrap_mechanism": CODE, "retry_after_seconds": N}; flags win. The
    /// user PIN is never in it: ENVCRYPT_PKCS11_PIN, else a prompt.
    #[arg(long, global = true, env = "ENVCRYPT_PKCS11_CONFIG", value_name = "FILE")]
    pub pkcs11_config: Option<PathBuf>,
    /// Who calls the local store, for its key policies and audit log: NAME (a user),
    /// user/NAME, role/NAME, root, or a principal ARN [default: the OS user]. An assertion,
    /// not a login: AWS KMS takes the caller from the credentials instead. Give it before
    /// the subcommand: `envcrypt --principal admin key create`.
    #[arg(long, env = "ENVCRYPT_PRINCIPAL", value_name = "PRINCIPAL")]
    pub principal: Option<String>,
}

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

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Aws => "aws",
            Self::Pkcs11 => "pkcs11",
        }
    }
}

/// `--key`, repeatable: the keys that wrap a new message's data key, or the only keys that may
/// open a message.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// A key: key id, key ARN, alias/NAME or alias ARN; repeatable. Sealing wraps the data key
    /// under each; opening tries only these (strict) instead of every key the header names.
    #[arg(short, long = "key", value_name = "KEY")]
    pub keys: Vec<String>,
}

impl KeyArgs {
    pub fn parse(&self) -> Result<Vec<KeyRef>, CliError> {
        self.keys.iter().map(|k| key_ref(k)).collect()
    }
}

/// `--raw-aes-key` and `--raw-rsa-key`, repeatable: wrapping keys the caller holds, as the
/// Encryption SDKs' raw keyrings use them.
#[derive(Debug, Args)]
pub struct RawKeyArgs {
    /// A raw AES wrapping key: namespace=NS,name=NAME,file=PATH, where PATH holds exactly 16, 24
    /// or 32 raw bytes; repeatable. NS and NAME are what the official SDKs call the key
    /// namespace and key name, and must match theirs to interoperate.
    #[arg(long = "raw-aes-key", value_name = "namespace=NS,name=NAME,file=PATH")]
    pub aes: Vec<String>,
    /// A raw RSA wrapping key: namespace=NS,name=NAME,file=PEM,padding=PADDING with PADDING one
    /// of pkcs1, oaep-sha1, oaep-sha256, oaep-sha384, oaep-sha512; repeatable. A public key
    /// PEM seals; opening needs the private key PEM (PKCS#8 or PKCS#1).
    #[arg(long = "raw-rsa-key", value_name = "namespace=NS,name=NAME,file=PEM,padding=PADDING")]
    pub rsa: Vec<String>,
}

impl RawKeyArgs {
    /// The raw keys: AES keys first, then RSA keys, each in the order given.
    pub fn parse(&self) -> Result<Vec<Arc<RawKey>>, CliError> {
        let aes = self.aes.iter().map(|spec| {
            let fields = RawKeyFields::parse("--raw-aes-key", spec, &["namespace", "name", "file"])?;
            let key = zeroize::Zeroizing::new(fields.read_file()?);
            RawKey::aes(fields.get("namespace"), fields.get("name"), &key)
                .map_err(|e| CliError::usage(format!("--raw-aes-key {}: {e}", fields.get("file"))))
        });
        let rsa = self.rsa.iter().map(|spec| {
            let fields = RawKeyFields::parse("--raw-rsa-key", spec, &["namespace", "name", "file", "padding"])?;
            let padding = RsaPadding::ALL.iter().find(|(name, _)| *name == fields.get("padding")).map(|(_, p)| *p);
            let padding = padding.ok_or_else(|| {
                let names: Vec<&str> = RsaPadding::ALL.iter().map(|(name, _)| *name).collect();
                CliError::usage(format!("--raw-rsa-key: padding must be one of {}", names.join(", ")))
            })?;
            let pem = zeroize::Zeroizing::new(fields.read_file()?);
            let pem = std::str::from_utf8(&pem)
                .map_err(|_| CliError::usage(format!("--raw-rsa-key {}: not a PEM file", fields.get("file"))))?;
            RawKey::rsa_pem(fields.get("namespace"), fields.get("name"), pem, padding)
                .map_err(|e| CliError::usage(format!("--raw-rsa-key {}: {e}", fields.get("file"))))
        });
        aes.chain(rsa).map(|key| key.map(Arc::new)).collect()
    }
}

/// The `name=value,...` fields of one raw key flag.
struct RawKeyFields {
    flag: &'static str,
    fields: Vec<(String, String)>,
}

impl RawKeyFields {
    fn parse(flag: &'static str, spec: &str, names: &[&str]) -> Result<Self, CliError> {
        let mut fields = Vec::new();
        for part in spec.split(',') {
            let Some((name, value)) = part.split_once('=') else {
                return Err(CliError::usage(format!("{flag} {spec:?}: {part:?} is not name=value")));
            };
            if !names.contains(&name) || fields.iter().any(|(n, _)| n == name) {
                return Err(CliError::usage(format!(
                    "{flag} {spec:?}: unknown or repeated field {name:?}; give each of {} once",
                    names.join(", ")
                )));
            }
            fields.push((name.to_owned(), value.to_owned()));
        }
        if let Some(missing) = names.iter().find(|name| !fields.iter().any(|(n, _)| n == *name)) {
            return Err(CliError::usage(format!("{flag} {spec:?}: the {missing} field is missing")));
        }
        Ok(Self { flag, fields })
    }

    fn get(&self, name: &str) -> &str {
        self.fields.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v)
    }

    fn read_file(&self) -> Result<Vec<u8>, CliError> {
        let path = self.get("file");
        std::fs::read(path).map_err(|e| CliError::io(format!("{}: cannot read the key file {path}", self.flag), &e))
    }
}

/// `--context`, repeatable.
#[derive(Debug, Args)]
pub struct ContextArgs {
    /// An encryption context pair; repeatable. Encrypting binds the pairs to the ciphertext
    /// (a sealed message stores them in its header); decrypting requires each of them.
    #[arg(short, long = "context", value_name = "KEY=VALUE")]
    pub context: Vec<String>,
}

impl ContextArgs {
    pub fn parse(&self) -> Result<EncryptionContext, CliError> {
        context(&self.context)
    }
}

/// `-o` and `--force`: where output goes.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Where to write: a file, s3://BUCKET/KEY (seal), or - for stdout; only with one input
    /// [default: seal writes INPUT.enc, open writes INPUT without .enc; stdout when the input
    /// is stdin].
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<String>,
    /// Replace output files that exist.
    #[arg(short, long)]
    pub force: bool,
}

/// `--commitment-policy`: which algorithm suites may be written and read.
#[derive(Debug, Args)]
pub struct CommitmentPolicyArg {
    /// Which suites may be written and read, as the Encryption SDKs say it:
    /// require-encrypt-require-decrypt (only key-committing suites), require-encrypt-allow-decrypt
    /// (also open what ESDK 1.x wrote) or forbid-encrypt-allow-decrypt (seal legacy suites for
    /// readers older than ESDK 1.7).
    #[arg(long, value_name = "POLICY", default_value_t = CommitmentPolicy::default())]
    pub commitment_policy: CommitmentPolicy,
}

/// `--threads`.
#[derive(Debug, Args)]
pub struct ThreadsArg {
    /// Threads that encrypt or decrypt, shared by all inputs [default: one per core].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,
}

impl ThreadsArg {
    pub fn count(&self) -> usize {
        self.threads.map_or_else(|| envcrypt::stream::SealOptions::default().threads, usize::from)
    }
}

/// `--dry-run`, on the operations KMS takes `DryRun` for.
#[derive(Debug, Args)]
pub struct DryRunArg {
    /// Check that the call would succeed (your rights, the key's state) without making it.
    #[arg(long)]
    pub dry_run: bool,
}

/// Parses a key reference given on the command line.
pub fn key_ref(input: &str) -> Result<KeyRef, CliError> {
    KeyRef::parse(input).map_err(|e| CliError::usage(e.to_string()))
}

/// Parses `KEY=VALUE` pairs.
pub fn context(pairs: &[String]) -> Result<EncryptionContext, CliError> {
    let mut context = EncryptionContext::new();
    for pair in pairs {
        context.insert_pair(pair).map_err(|e| CliError::usage(e.to_string()))?;
    }
    Ok(context)
}

/// A flag's base64 value, decoded.
pub fn base64_arg(flag: &str, value: &str) -> Result<Vec<u8>, CliError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|e| CliError::usage(format!("{flag} is not valid base64: {e}")))
}
