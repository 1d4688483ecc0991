//! `envcrypt kms ...`: the key service operations called directly, with base64 in and out as
//! `aws kms` does.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use envcrypt::kms::{DataKeySpec, DryRun, ReEncryptRequest, RsaEncryptionAlgorithm, RsaEncryptionRequest, Sealing};
use envcrypt_server::PlaintextResponse;
use serde_json::json;
use zeroize::Zeroizing;

use super::signing;
use crate::backends::Backends;
use crate::error::CliError;
use crate::flags::{base64_arg, context, key_ref, ContextArgs, DryRunArg, GlobalArgs};
use crate::print;

/// Call key service operations directly, with base64 in and out as `aws kms` does.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// GenerateDataKey: prints Plaintext and CiphertextBlob in base64.
    #[command(after_help = "Example:\n  envcrypt kms generate-data-key --key alias/backup --key-spec AES_256")]
    GenerateDataKey(GenerateDataKeyArgs),
    /// GenerateDataKeyWithoutPlaintext: prints only CiphertextBlob.
    #[command(after_help = "Example:\n  envcrypt kms generate-data-key-without-plaintext --key alias/backup")]
    GenerateDataKeyWithoutPlaintext(GenerateDataKeyArgs),
    /// Encrypt up to 4096 bytes.
    #[command(
        after_help = "Example:\n  envcrypt kms encrypt --key alias/backup --plaintext \"$(printf secret | base64)\""
    )]
    Encrypt {
        /// The key.
        #[arg(short, long)]
        key: String,
        /// The plaintext, base64-encoded.
        #[arg(long, value_name = "BASE64")]
        plaintext: String,
        #[command(flatten)]
        context: ContextArgs,
        #[command(flatten)]
        algorithm: EncryptionAlgorithmArg,
        #[command(flatten)]
        dry_run: DryRunArg,
    },
    /// Decrypt a ciphertext blob.
    #[command(
        after_help = "Example:\n  envcrypt kms decrypt --ciphertext-blob \"$BLOB\" | jq -r .Plaintext | base64 -d"
    )]
    Decrypt {
        /// The ciphertext blob, base64-encoded.
        #[arg(long, value_name = "BASE64")]
        ciphertext_blob: String,
        /// The key the blob must be under (IncorrectKeyException otherwise); required with an
        /// RSA --encryption-algorithm.
        #[arg(short, long)]
        key: Option<String>,
        #[command(flatten)]
        context: ContextArgs,
        #[command(flatten)]
        algorithm: EncryptionAlgorithmArg,
        #[command(flatten)]
        dry_run: DryRunArg,
    },
    /// ReEncrypt a blob under another key or context; the plaintext is never printed.
    #[command(
        after_help = "Example:\n  envcrypt kms re-encrypt --ciphertext-blob \"$BLOB\" --destination-key alias/new"
    )]
    ReEncrypt {
        /// The ciphertext blob, base64-encoded.
        #[arg(long, value_name = "BASE64")]
        ciphertext_blob: String,
        /// The key to re-encrypt under.
        #[arg(long)]
        destination_key: String,
        /// The key the source blob must be under.
        #[arg(long)]
        source_key: Option<String>,
        /// A pair of the source context; repeatable.
        #[arg(long = "source-context", value_name = "KEY=VALUE")]
        source_context: Vec<String>,
        /// A pair of the destination context; repeatable.
        #[arg(long = "destination-context", value_name = "KEY=VALUE")]
        destination_context: Vec<String>,
        #[command(flatten)]
        dry_run: DryRunArg,
    },
    /// GenerateRandom: 1 to 1024 random bytes from the --backend key service, in base64.
    #[command(
        after_help = "Example:\n  envcrypt kms generate-random --number-of-bytes 32 | jq -r .Plaintext | base64 -d > key.bin"
    )]
    GenerateRandom {
        /// How many bytes (1 to 1024).
        #[arg(long, value_name = "N")]
        number_of_bytes: usize,
    },
    #[command(flatten)]
    KeyPair(signing::Command),
}

/// `--encryption-algorithm`: SYMMETRIC_DEFAULT (a symmetric key), or RSAES-OAEP with an RSA
/// ENCRYPT_DECRYPT key (no encryption context).
#[derive(Debug, clap::Args)]
pub struct EncryptionAlgorithmArg {
    /// SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1 or RSAES_OAEP_SHA_256 (RSA keys).
    #[arg(long, value_name = "ALGORITHM", value_parser = encryption_algorithm)]
    encryption_algorithm: Option<EncryptionAlgorithm>,
}

/// An `EncryptionAlgorithm` value.
#[derive(Debug, Clone, Copy)]
enum EncryptionAlgorithm {
    SymmetricDefault,
    Rsa(RsaEncryptionAlgorithm),
}

impl EncryptionAlgorithmArg {
    /// The RSA algorithm given, if one was.
    fn rsa(&self) -> Option<RsaEncryptionAlgorithm> {
        match self.encryption_algorithm {
            Some(EncryptionAlgorithm::Rsa(algorithm)) => Some(algorithm),
            Some(EncryptionAlgorithm::SymmetricDefault) | None => None,
        }
    }

    /// The RSA algorithm given, refusing a context with it (RSAES-OAEP takes none).
    fn rsa_without(&self, context: &ContextArgs) -> Result<Option<RsaEncryptionAlgorithm>, CliError> {
        let algorithm = self.rsa();
        if let Some(algorithm) = algorithm.filter(|_| !context.context.is_empty()) {
            return Err(CliError::usage(format!("{algorithm} takes no encryption context: drop --context")));
        }
        Ok(algorithm)
    }
}

fn encryption_algorithm(name: &str) -> Result<EncryptionAlgorithm, String> {
    match name {
        "SYMMETRIC_DEFAULT" => Ok(EncryptionAlgorithm::SymmetricDefault),
        _ => RsaEncryptionAlgorithm::from_name(name)
            .map(EncryptionAlgorithm::Rsa)
            .ok_or_else(|| "give SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1 or RSAES_OAEP_SHA_256".into()),
    }
}

#[derive(Debug, clap::Args)]
pub struct GenerateDataKeyArgs {
    /// The key.
    #[arg(short, long)]
    pub key: String,
    /// AES_256 or AES_128.
    #[arg(long, value_name = "SPEC", conflicts_with = "number_of_bytes")]
    pub key_spec: Option<String>,
    /// A data key of 1 to 1024 bytes.
    #[arg(long, value_name = "N")]
    pub number_of_bytes: Option<u16>,
    #[command(flatten)]
    pub context: ContextArgs,
    #[command(flatten)]
    pub dry_run: DryRunArg,
}

pub fn exec(command: &Command, global: &GlobalArgs) -> Result<(), CliError> {
    let backends = Backends::new(global)?;
    // The key named, if any, picks the backend; a bare Decrypt and GenerateRandom use --backend.
    let key_arg = match command {
        Command::GenerateDataKey(args) | Command::GenerateDataKeyWithoutPlaintext(args) => Some(&args.key),
        Command::Encrypt { key, .. } => Some(key),
        Command::Decrypt { key, .. } => key.as_ref(),
        Command::ReEncrypt { destination_key, .. } => Some(destination_key),
        Command::GenerateRandom { .. } | Command::KeyPair(_) => None,
    };
    let kind = match key_arg {
        Some(key) => backends.kind_of(&key_ref(key)?),
        None => backends.default_kind(),
    };
    let service = backends.service(kind);
    if let Some(request) = dry_run_of(command)? {
        return print::dry_run(request.request().operation(), service.dry_run(request.request()).wait());
    }
    let output = match command {
        Command::KeyPair(command) => return signing::exec(command, &backends),
        Command::GenerateDataKey(args) => {
            let (key, spec, context) = data_key_args(args)?;
            let out = service
                .generate_data_key(&key, spec, &context)
                .wait()
                .map_err(|e| CliError::kms(format!("GenerateDataKey with {key}"), &e))?;
            let plaintext = Zeroizing::new(B64.encode(out.plaintext.expose_secret()));
            return print::json(&PlaintextResponse {
                ciphertext_blob: Some(B64.encode(&out.ciphertext_blob)),
                plaintext: &plaintext,
                key_id: Some(&out.key_arn),
                encryption_algorithm: None,
            });
        }
        Command::GenerateDataKeyWithoutPlaintext(args) => {
            let (key, spec, context) = data_key_args(args)?;
            let out = service
                .generate_data_key_without_plaintext(&key, spec, &context)
                .wait()
                .map_err(|e| CliError::kms(format!("GenerateDataKeyWithoutPlaintext with {key}"), &e))?;
            json!({ "CiphertextBlob": B64.encode(&out.blob), "KeyId": out.key_arn })
        }
        Command::Encrypt { key, plaintext, context, algorithm, .. } => {
            let key = key_ref(key)?;
            let plaintext = Zeroizing::new(base64_arg("--plaintext", plaintext)?);
            if let Some(algorithm) = algorithm.rsa_without(context)? {
                let request = RsaEncryptionRequest { key: &key, data: &plaintext, algorithm };
                let out = backends
                    .rsa_encryption(kind)?
                    .encrypt_rsa(request)
                    .wait()
                    .map_err(|e| CliError::kms(format!("Encrypt with {key}"), &e))?;
                return print::json(&json!({
                    "CiphertextBlob": B64.encode(&out.blob),
                    "KeyId": out.key_arn,
                    "EncryptionAlgorithm": algorithm.as_str(),
                }));
            }
            let context = context.parse()?;
            let out = service
                .encrypt(&key, &plaintext, &context)
                .wait()
                .map_err(|e| CliError::kms(format!("Encrypt with {key}"), &e))?;
            json!({ "CiphertextBlob": B64.encode(&out.blob), "KeyId": out.key_arn, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT" })
        }
        Command::Decrypt { ciphertext_blob, key, context, algorithm, .. } => {
            let blob = base64_arg("--ciphertext-blob", ciphertext_blob)?;
            let key = key.as_deref().map(key_ref).transpose()?;
            let rsa = algorithm.rsa_without(context)?;
            let context = context.parse()?;
            let out = match (rsa, &key) {
                (Some(algorithm), Some(key)) => backends
                    .rsa_encryption(kind)?
                    .decrypt_rsa(RsaEncryptionRequest { key, data: &blob, algorithm })
                    .wait(),
                (Some(algorithm), None) => {
                    return Err(CliError::usage(format!("decrypting with {algorithm} needs --key")))
                }
                (None, _) => service.decrypt(&blob, &context, key.as_ref()).wait(),
            }
            .map_err(|e| CliError::kms("Decrypt", &e))?;
            let plaintext = Zeroizing::new(B64.encode(out.plaintext.expose_secret()));
            return print::json(&PlaintextResponse {
                ciphertext_blob: None,
                plaintext: &plaintext,
                key_id: Some(&out.key_arn),
                encryption_algorithm: Some(algorithm.rsa().map_or("SYMMETRIC_DEFAULT", |a| a.as_str())),
            });
        }
        Command::ReEncrypt {
            ciphertext_blob,
            destination_key,
            source_key,
            source_context,
            destination_context,
            ..
        } => {
            let blob = base64_arg("--ciphertext-blob", ciphertext_blob)?;
            let destination_key = key_ref(destination_key)?;
            let source_key = source_key.as_deref().map(key_ref).transpose()?;
            let source_context = context(source_context)?;
            let destination_context = context(destination_context)?;
            let out = service
                .re_encrypt(ReEncryptRequest {
                    blob: &blob,
                    source_context: &source_context,
                    source_key: source_key.as_ref(),
                    destination_key: &destination_key,
                    destination_context: &destination_context,
                })
                .wait()
                .map_err(|e| CliError::kms(format!("ReEncrypt to {destination_key}"), &e))?;
            json!({ "CiphertextBlob": B64.encode(&out.blob), "KeyId": out.key_arn, "SourceKeyId": out.source_key_arn })
        }
        Command::GenerateRandom { number_of_bytes } => {
            let out =
                service.generate_random(*number_of_bytes).wait().map_err(|e| CliError::kms("GenerateRandom", &e))?;
            let plaintext = Zeroizing::new(B64.encode(out.expose_secret()));
            return print::json(&PlaintextResponse {
                ciphertext_blob: None,
                plaintext: &plaintext,
                key_id: None,
                encryption_algorithm: None,
            });
        }
    };
    print::json(&output)
}

fn data_key_args(
    args: &GenerateDataKeyArgs,
) -> Result<(envcrypt::kms::KeyRef, DataKeySpec, envcrypt::kms::EncryptionContext), CliError> {
    let spec = match (args.key_spec.as_deref(), args.number_of_bytes) {
        (Some("AES_256"), None) | (None, None) => DataKeySpec::Aes256,
        (Some("AES_128"), None) => DataKeySpec::Aes128,
        (None, Some(n)) => DataKeySpec::Bytes(n),
        (Some(other), _) => return Err(CliError::usage(format!("--key-spec {other} is not AES_256 or AES_128"))),
    };
    Ok((key_ref(&args.key)?, spec, args.context.parse()?))
}

/// A dry run's arguments, decoded and owned, so that the request can borrow them.
struct DryRunArgs {
    kind: DryRunKind,
    key: Option<envcrypt::kms::KeyRef>,
    /// The ciphertext blob, or an RSA Encrypt's plaintext.
    blob: Zeroizing<Vec<u8>>,
    context: envcrypt::kms::EncryptionContext,
}

enum DryRunKind {
    Seal(Sealing),
    Decrypt,
    ReEncrypt { destination_key: envcrypt::kms::KeyRef, destination_context: envcrypt::kms::EncryptionContext },
    RsaEncrypt(RsaEncryptionAlgorithm),
    RsaDecrypt(RsaEncryptionAlgorithm),
}

impl DryRunArgs {
    fn request(&self) -> DryRun<'_> {
        match &self.kind {
            DryRunKind::Seal(operation) => DryRun::Seal {
                operation: *operation,
                key: self.key.as_ref().expect("a seal is made with its key"),
                context: &self.context,
            },
            DryRunKind::Decrypt => {
                DryRun::Decrypt { blob: &self.blob, context: &self.context, expected_key: self.key.as_ref() }
            }
            DryRunKind::ReEncrypt { destination_key, destination_context } => DryRun::ReEncrypt(ReEncryptRequest {
                blob: &self.blob,
                source_context: &self.context,
                source_key: self.key.as_ref(),
                destination_key,
                destination_context,
            }),
            DryRunKind::RsaEncrypt(algorithm) => DryRun::RsaEncrypt(self.rsa(*algorithm)),
            DryRunKind::RsaDecrypt(algorithm) => DryRun::RsaDecrypt(self.rsa(*algorithm)),
        }
    }

    fn rsa(&self, algorithm: RsaEncryptionAlgorithm) -> RsaEncryptionRequest<'_> {
        let key = self.key.as_ref().expect("an RSA request is made with its key");
        RsaEncryptionRequest { key, data: &self.blob, algorithm }
    }
}

/// The dry run a command asks for with `--dry-run`, if it does.
fn dry_run_of(command: &Command) -> Result<Option<DryRunArgs>, CliError> {
    let seal = |operation, key: &str, context: &ContextArgs| -> Result<DryRunArgs, CliError> {
        Ok(DryRunArgs {
            kind: DryRunKind::Seal(operation),
            key: Some(key_ref(key)?),
            blob: Zeroizing::default(),
            context: context.parse()?,
        })
    };
    Ok(Some(match command {
        Command::Encrypt { key, plaintext, context, algorithm, dry_run }
            if dry_run.dry_run && algorithm.rsa().is_some() =>
        {
            DryRunArgs {
                kind: DryRunKind::RsaEncrypt(algorithm.rsa_without(context)?.expect("an RSA algorithm")),
                key: Some(key_ref(key)?),
                blob: Zeroizing::new(base64_arg("--plaintext", plaintext)?),
                context: Default::default(),
            }
        }
        Command::Decrypt { ciphertext_blob, key, context, algorithm, dry_run }
            if dry_run.dry_run && algorithm.rsa().is_some() =>
        {
            let algorithm = algorithm.rsa_without(context)?.expect("an RSA algorithm");
            let key = key.as_deref().ok_or_else(|| CliError::usage(format!("decrypting with {algorithm} needs --key")));
            DryRunArgs {
                kind: DryRunKind::RsaDecrypt(algorithm),
                key: Some(key_ref(key?)?),
                blob: Zeroizing::new(base64_arg("--ciphertext-blob", ciphertext_blob)?),
                context: Default::default(),
            }
        }
        Command::GenerateDataKey(args) if args.dry_run.dry_run => {
            seal(Sealing::GenerateDataKey, &args.key, &args.context)?
        }
        Command::GenerateDataKeyWithoutPlaintext(args) if args.dry_run.dry_run => {
            seal(Sealing::GenerateDataKeyWithoutPlaintext, &args.key, &args.context)?
        }
        Command::Encrypt { key, context, dry_run, .. } if dry_run.dry_run => seal(Sealing::Encrypt, key, context)?,
        Command::Decrypt { ciphertext_blob, key, context, dry_run, .. } if dry_run.dry_run => DryRunArgs {
            kind: DryRunKind::Decrypt,
            key: key.as_deref().map(key_ref).transpose()?,
            blob: Zeroizing::new(base64_arg("--ciphertext-blob", ciphertext_blob)?),
            context: context.parse()?,
        },
        Command::ReEncrypt {
            ciphertext_blob,
            destination_key,
            source_key,
            source_context,
            destination_context,
            dry_run,
        } if dry_run.dry_run => DryRunArgs {
            kind: DryRunKind::ReEncrypt {
                destination_key: key_ref(destination_key)?,
                destination_context: context(destination_context)?,
            },
            key: source_key.as_deref().map(key_ref).transpose()?,
            blob: Zeroizing::new(base64_arg("--ciphertext-blob", ciphertext_blob)?),
            context: context(source_context)?,
        },
        _ => return Ok(None),
    }))
}
