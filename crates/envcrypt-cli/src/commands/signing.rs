//! `envcrypt kms sign|verify|get-public-key|generate-mac|verify-mac|generate-data-key-pair`:
//! the operations of asymmetric and HMAC keys, and data key pairs, with messages and signatures
//! from files or base64 and JSON out as `aws kms` prints it.

use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use envcrypt::kms::{
    DryRun, KeySpec, MacAlgorithm, MacRequest, MessageType, SignRequest, SigningAlgorithm, VerifyRequest,
};
use envcrypt_server::DataKeyPairResponse;
use serde_json::json;
use zeroize::Zeroizing;

use crate::backends::Backends;
use crate::error::CliError;
use crate::flags::{base64_arg, key_ref, BackendKind, ContextArgs, DryRunArg};
use crate::print;

/// The operations of asymmetric and HMAC keys.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Sign: a SIGN_VERIFY key signs a message (up to 4096 bytes) or its digest.
    #[command(after_help = "\
Examples:
  envcrypt kms sign --key alias/release-signing --message-file notes.txt \\
      --signing-algorithm ECDSA_SHA_256 | jq -r .Signature | base64 -d > notes.sig
  envcrypt kms sign --key alias/release-signing --message \"$(sha256sum -b big.iso | cut -c1-64 | xxd -r -p | base64)\" \\
      --message-type DIGEST --signing-algorithm ECDSA_SHA_256

The signature is DER for ECDSA; `openssl dgst -sha256 -verify public.pem -signature notes.sig notes.txt`
checks it with the key `kms get-public-key` exports.")]
    Sign {
        #[command(flatten)]
        signed: SignedArgs,
    },
    /// Verify: whether a signature is the key's signature of a message (exit 3 if it is not).
    #[command(after_help = "\
Example:
  envcrypt kms verify --key alias/release-signing --message-file notes.txt \\
      --signing-algorithm ECDSA_SHA_256 --signature-file notes.sig")]
    Verify {
        #[command(flatten)]
        signed: SignedArgs,
        /// The signature, base64-encoded.
        #[arg(long, value_name = "BASE64", required_unless_present = "signature_file")]
        signature: Option<String>,
        /// The signature, raw, from a file.
        #[arg(long, value_name = "FILE", conflicts_with = "signature")]
        signature_file: Option<PathBuf>,
    },
    /// GetPublicKey: the public half of an RSA or elliptic-curve key (DER SubjectPublicKeyInfo).
    #[command(after_help = "\
Examples:
  envcrypt kms get-public-key --key alias/release-signing
  envcrypt kms get-public-key --key alias/release-signing --pem-out public.pem")]
    GetPublicKey {
        /// The key.
        #[arg(short, long)]
        key: String,
        /// Also write the public key to this file as PEM (for openssl).
        #[arg(long, value_name = "FILE")]
        pem_out: Option<PathBuf>,
    },
    /// GenerateMac: an HMAC key's MAC of a message (1 to 4096 bytes).
    #[command(after_help = "\
Example:
  envcrypt kms generate-mac --key alias/tokens --mac-algorithm HMAC_SHA_256 --message \"$(printf user=42 | base64)\"")]
    GenerateMac {
        #[command(flatten)]
        maced: MacArgs,
    },
    /// VerifyMac: whether a MAC is the key's MAC of a message (exit 3 if it is not).
    #[command(after_help = "\
Example:
  envcrypt kms verify-mac --key alias/tokens --mac-algorithm HMAC_SHA_256 --message \"$MSG\" --mac \"$MAC\"")]
    VerifyMac {
        #[command(flatten)]
        maced: MacArgs,
        /// The MAC, base64-encoded.
        #[arg(long, value_name = "BASE64")]
        mac: String,
    },
    /// GenerateDataKeyPair: a fresh key pair, its private key (PKCS#8 DER) in plaintext and
    /// encrypted under a symmetric --key with the context; `kms decrypt` takes the latter back.
    #[command(after_help = "\
Examples:
  envcrypt kms generate-data-key-pair --key alias/backup --key-pair-spec ECC_NIST_P256 --context app=signer
  envcrypt kms generate-data-key-pair --key alias/backup --key-pair-spec RSA_3072 --without-plaintext")]
    GenerateDataKeyPair {
        /// The symmetric key that encrypts the private key.
        #[arg(short, long)]
        key: String,
        /// RSA_2048, RSA_3072, RSA_4096, ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521 or ECC_SECG_P256K1.
        #[arg(long, value_name = "SPEC", value_parser = key_pair_spec)]
        key_pair_spec: KeySpec,
        #[command(flatten)]
        context: ContextArgs,
        /// Only the encrypted private key (GenerateDataKeyPairWithoutPlaintext).
        #[arg(long)]
        without_plaintext: bool,
        #[command(flatten)]
        dry_run: DryRunArg,
    },
}

/// A message given in base64 or as a file.
#[derive(Debug, clap::Args)]
pub struct MessageArgs {
    /// The message, base64-encoded.
    #[arg(long, value_name = "BASE64", required_unless_present = "message_file")]
    message: Option<String>,
    /// The message, raw, from a file.
    #[arg(long, value_name = "FILE", conflicts_with = "message")]
    message_file: Option<PathBuf>,
}

/// What Sign and Verify are given.
#[derive(Debug, clap::Args)]
pub struct SignedArgs {
    /// The key.
    #[arg(short, long)]
    key: String,
    #[command(flatten)]
    message: MessageArgs,
    /// RAW (the message itself, hashed by the key service) or DIGEST (its hash).
    #[arg(long, value_name = "TYPE", default_value = "RAW", value_parser = message_type)]
    message_type: MessageType,
    /// RSASSA_PSS_SHA_256|384|512, RSASSA_PKCS1_V1_5_SHA_256|384|512 or ECDSA_SHA_256|384|512.
    #[arg(long, value_name = "ALGORITHM", value_parser = signing_algorithm)]
    signing_algorithm: SigningAlgorithm,
    #[command(flatten)]
    dry_run: DryRunArg,
}

/// What GenerateMac and VerifyMac are given.
#[derive(Debug, clap::Args)]
pub struct MacArgs {
    /// The key.
    #[arg(short, long)]
    key: String,
    #[command(flatten)]
    message: MessageArgs,
    /// HMAC_SHA_224, HMAC_SHA_256, HMAC_SHA_384 or HMAC_SHA_512: the key's own.
    #[arg(long, value_name = "ALGORITHM", value_parser = mac_algorithm)]
    mac_algorithm: MacAlgorithm,
    #[command(flatten)]
    dry_run: DryRunArg,
}

/// The key a command names, which picks the backend.
pub fn key_of(command: &Command) -> &str {
    match command {
        Command::Sign { signed } | Command::Verify { signed, .. } => &signed.key,
        Command::GetPublicKey { key, .. } => key,
        Command::GenerateMac { maced } | Command::VerifyMac { maced, .. } => &maced.key,
        Command::GenerateDataKeyPair { key, .. } => key,
    }
}

pub fn exec(command: &Command, backends: &Backends) -> Result<(), CliError> {
    let key = key_ref(key_of(command))?;
    let kind = backends.kind_of(&key);
    match command {
        Command::Sign { signed } => {
            let message = signed.message.read()?;
            let request = sign_request(signed, &key, &message);
            if signed.dry_run.dry_run {
                return dry_run(backends, kind, DryRun::Sign(request));
            }
            let out = backends
                .signing(kind)?
                .sign(request)
                .wait()
                .map_err(|e| CliError::kms(format!("Sign with {}", signed.key), &e))?;
            print::json(&json!({
                "KeyId": out.key_arn,
                "Signature": B64.encode(&out.signature),
                "SigningAlgorithm": out.algorithm.as_str(),
            }))
        }
        Command::Verify { signed, signature, signature_file } => {
            let message = signed.message.read()?;
            let signature = match (signature, signature_file) {
                (Some(text), _) => base64_arg("--signature", text)?,
                (None, Some(path)) => read("--signature-file", path)?,
                (None, None) => return Err(CliError::usage("give --signature or --signature-file")),
            };
            let request = VerifyRequest { signed: sign_request(signed, &key, &message), signature: &signature };
            if signed.dry_run.dry_run {
                return dry_run(backends, kind, DryRun::Verify(request));
            }
            let key_arn = backends
                .signing(kind)?
                .verify(request)
                .wait()
                .map_err(|e| CliError::kms(format!("Verify with {}", signed.key), &e))?;
            print::json(&json!({
                "KeyId": key_arn,
                "SignatureValid": true,
                "SigningAlgorithm": signed.signing_algorithm.as_str(),
            }))
        }
        Command::GetPublicKey { key: name, pem_out } => {
            let out = backends
                .signing(kind)?
                .get_public_key(&key)
                .wait()
                .map_err(|e| CliError::kms(format!("GetPublicKey of {name}"), &e))?;
            if let Some(path) = pem_out {
                let pem = pem_lines(&B64.encode(&out.der));
                std::fs::write(path, format!("-----BEGIN PUBLIC KEY-----\n{pem}-----END PUBLIC KEY-----\n"))
                    .map_err(|e| CliError::io(format!("cannot write {}", path.display()), &e))?;
            }
            print::json(&json!({
                "KeyId": out.key_arn,
                "PublicKey": B64.encode(&out.der),
                "KeySpec": out.key_spec.as_str(),
                "KeyUsage": out.key_usage.as_str(),
                "SigningAlgorithms": out.signing_algorithms(),
                "EncryptionAlgorithms": out.encryption_algorithms(),
            }))
        }
        Command::GenerateMac { maced } => {
            let message = maced.message.read()?;
            let request = MacRequest { key: &key, message: &message, algorithm: maced.mac_algorithm };
            if maced.dry_run.dry_run {
                return dry_run(backends, kind, DryRun::GenerateMac(request));
            }
            let out = backends
                .macs(kind)?
                .generate_mac(request)
                .wait()
                .map_err(|e| CliError::kms(format!("GenerateMac with {}", maced.key), &e))?;
            print::json(&json!({
                "KeyId": out.key_arn,
                "Mac": B64.encode(&out.mac),
                "MacAlgorithm": out.algorithm.as_str(),
            }))
        }
        Command::VerifyMac { maced, mac } => {
            let message = maced.message.read()?;
            let mac = base64_arg("--mac", mac)?;
            let request = MacRequest { key: &key, message: &message, algorithm: maced.mac_algorithm };
            if maced.dry_run.dry_run {
                return dry_run(backends, kind, DryRun::VerifyMac(request, &mac));
            }
            let key_arn = backends
                .macs(kind)?
                .verify_mac(request, &mac)
                .wait()
                .map_err(|e| CliError::kms(format!("VerifyMac with {}", maced.key), &e))?;
            print::json(&json!({
                "KeyId": key_arn,
                "MacValid": true,
                "MacAlgorithm": maced.mac_algorithm.as_str(),
            }))
        }
        Command::GenerateDataKeyPair { key: name, key_pair_spec, context, without_plaintext, dry_run: dry } => {
            let context = context.parse()?;
            if dry.dry_run {
                let (plaintext, spec) = (!*without_plaintext, *key_pair_spec);
                return dry_run(backends, kind, DryRun::DataKeyPair { plaintext, key: &key, spec, context: &context });
            }
            let pairs = backends.data_key_pairs(kind)?;
            let pair = if *without_plaintext {
                pairs.generate_data_key_pair_without_plaintext(&key, *key_pair_spec, &context).wait()
            } else {
                pairs.generate_data_key_pair(&key, *key_pair_spec, &context).wait()
            }
            .map_err(|e| CliError::kms(format!("GenerateDataKeyPair with {name}"), &e))?;
            let plaintext = pair.private_key_plaintext.as_ref().map(|p| Zeroizing::new(B64.encode(p.expose_secret())));
            print::json(&DataKeyPairResponse {
                key_id: &pair.key_arn,
                key_pair_spec: pair.key_pair_spec.as_str(),
                public_key: B64.encode(&pair.public_key),
                private_key_ciphertext_blob: B64.encode(&pair.private_key_ciphertext_blob),
                private_key_plaintext: plaintext.as_deref().map(String::as_str),
            })
        }
    }
}

/// Checks `request` with the key service without carrying it out, and says so.
fn dry_run(backends: &Backends, kind: BackendKind, request: DryRun<'_>) -> Result<(), CliError> {
    print::dry_run(request.operation(), backends.service(kind).dry_run(request).wait())
}

fn sign_request<'a>(args: &SignedArgs, key: &'a envcrypt::kms::KeyRef, message: &'a [u8]) -> SignRequest<'a> {
    SignRequest { key, message, message_type: args.message_type, algorithm: args.signing_algorithm }
}

impl MessageArgs {
    fn read(&self) -> Result<Vec<u8>, CliError> {
        match (&self.message, &self.message_file) {
            (Some(text), _) => base64_arg("--message", text),
            (None, Some(path)) => read("--message-file", path),
            (None, None) => Err(CliError::usage("give --message or --message-file")),
        }
    }
}

fn read(flag: &str, path: &std::path::Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::io(format!("{flag}: cannot read {}", path.display()), &e))
}

/// Base64 in lines of 64 characters, as PEM has it.
fn pem_lines(base64: &str) -> String {
    base64.as_bytes().chunks(64).map(|line| format!("{}\n", String::from_utf8_lossy(line))).collect()
}

fn message_type(name: &str) -> Result<MessageType, String> {
    MessageType::from_name(name).ok_or_else(|| "give RAW or DIGEST".into())
}

fn signing_algorithm(name: &str) -> Result<SigningAlgorithm, String> {
    SigningAlgorithm::from_name(name).ok_or_else(|| {
        "give RSASSA_PSS_SHA_256, RSASSA_PSS_SHA_384, RSASSA_PSS_SHA_512, RSASSA_PKCS1_V1_5_SHA_256, \
         RSASSA_PKCS1_V1_5_SHA_384, RSASSA_PKCS1_V1_5_SHA_512, ECDSA_SHA_256, ECDSA_SHA_384 or ECDSA_SHA_512"
            .into()
    })
}

fn key_pair_spec(name: &str) -> Result<KeySpec, String> {
    KeySpec::from_name(name).filter(|spec| spec.is_key_pair()).ok_or_else(|| {
        "give RSA_2048, RSA_3072, RSA_4096, ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521 or ECC_SECG_P256K1".into()
    })
}

fn mac_algorithm(name: &str) -> Result<MacAlgorithm, String> {
    MacAlgorithm::from_name(name).ok_or_else(|| "give HMAC_SHA_224, HMAC_SHA_256, HMAC_SHA_384 or HMAC_SHA_512".into())
}
