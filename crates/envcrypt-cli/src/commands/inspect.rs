//! `envcrypt inspect`: a sealed message's header (suite, keys, context, frame size) from a
//! file, stdin or an S3 object, without any key.

use envcrypt::keyring::raw;
use envcrypt::message::{EncryptedDataKey, Header, ParseLimits};
use envcrypt::stream;
use envcrypt_s3::{inspect_object, Inspected, InspectedKind, S3ecVersion, TransferOptions};
use serde_json::json;

use crate::backends::s3_client;
use crate::error::CliError;
use crate::files::Input;
use crate::flags::GlobalArgs;
use crate::location::Location;
use crate::print;

/// Show a sealed message's header (suite, keys, context, frame size); needs no key.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  envcrypt inspect notes.txt.enc
  envcrypt inspect --json notes.txt.enc
  envcrypt inspect s3://backups/db.dump.enc      # one ranged read; the body is not downloaded")]
pub struct Args {
    /// The sealed file, s3://BUCKET/KEY, or - for stdin.
    #[arg(default_value = "-")]
    pub input: String,
}

pub fn exec(args: &Args, global: &GlobalArgs) -> Result<(), CliError> {
    let input = Location::parse(&args.input)?;
    let name = input.to_string();
    let Location::S3(url) = &input else {
        let mut source = Input::open(&input, false)?;
        let limits = ParseLimits { max_encrypted_data_keys: u16::MAX, ..ParseLimits::default() };
        let header = stream::read_header(&mut source.reader, &limits)
            .map_err(|e| CliError::stream(format!("cannot inspect {}", source.name), e))?;
        return if global.json {
            print::json(&header_json(&source.name, &header))
        } else {
            print::lines(&header_lines(&source.name, &header))
        };
    };
    let client = s3_client(global, TransferOptions::default())?;
    let inspected = inspect_object(&client, url).map_err(|e| CliError::s3("cannot inspect", e))?;
    if global.json {
        print::json(&object_json(&name, &inspected))
    } else {
        print::lines(&object_lines(&name, &inspected))
    }
}

/// The `--json` description of an S3 object: its header or S3 Encryption Client envelope,
/// its size and metadata.
fn object_json(name: &str, inspected: &Inspected) -> serde_json::Value {
    let mut value = match &inspected.kind {
        InspectedKind::Sealed(header) => header_json(name, header),
        InspectedKind::S3ec { version, context, plaintext_length } => json!({
            "file": name,
            "format": version.name(),
            "plaintext_bytes": plaintext_length,
            "encryption_context": context,
        }),
    };
    value["object_bytes"] = json!(inspected.object_size);
    value["metadata"] = json!(inspected.metadata);
    value
}

/// The text description of an S3 object.
fn object_lines(name: &str, inspected: &Inspected) -> Vec<String> {
    let size = format!("object size: {} bytes", inspected.object_size);
    let mut lines = match &inspected.kind {
        InspectedKind::Sealed(header) => {
            let mut lines = header_lines(name, header);
            lines.insert(1, size);
            lines
        }
        InspectedKind::S3ec { version, context, plaintext_length } => {
            let format = match version {
                S3ecVersion::V3 => "Amazon S3 Encryption Client, V3 (AES-256-GCM, HKDF-SHA-512, key commitment)",
                S3ecVersion::V2 => "Amazon S3 Encryption Client, V2 (AES-256-GCM)",
            };
            let mut lines = vec![format!("file:        {name}"), size, format!("format:      {format}")];
            if let Some(length) = plaintext_length {
                lines.push(format!("plaintext:   {length} bytes"));
            }
            lines.extend(context_lines(context));
            lines
        }
    };
    let mut metadata: Vec<(&String, &String)> = inspected.metadata.iter().collect();
    metadata.sort();
    lines.push("metadata:".to_owned());
    lines.extend(metadata.iter().map(|(k, v)| format!("  {k}: {v}")));
    lines
}

fn context_lines(context: &envcrypt::kms::EncryptionContext) -> Vec<String> {
    if context.is_empty() {
        return vec!["context:     (none)".to_owned()];
    }
    std::iter::once("context:".to_owned()).chain(context.iter().map(|(k, v)| format!("  {k}={v}"))).collect()
}

/// The `--json` description of a sealed message's header.
fn header_json(name: &str, header: &Header) -> serde_json::Value {
    let body = header.body();
    json!({
        "file": name,
        "format": format!("aws-encryption-sdk-v{}", body.suite.message_format()),
        "suite": format!("0x{:04x}", body.suite.id()),
        "suite_name": body.suite.name(),
        "message_id": hex(body.message_id.as_bytes()),
        "frame_size": body.frame_length,
        "header_bytes": header.len(),
        "encryption_context": body.context,
        "encrypted_data_keys": body.encrypted_data_keys.iter().map(|edk| json!({
            "provider_id": edk.provider_id,
            "provider_info": String::from_utf8_lossy(&edk.provider_info),
            "key": key_name(edk),
            "ciphertext_bytes": edk.ciphertext.len(),
        })).collect::<Vec<_>>(),
    })
}

/// The text description of a sealed message's header.
fn header_lines(name: &str, header: &Header) -> Vec<String> {
    let body = header.body();
    let mut lines = vec![
        format!("file:        {name}"),
        format!("format:      AWS Encryption SDK message, version {}", body.suite.message_format()),
        format!("suite:       0x{:04x} {}", body.suite.id(), body.suite.name()),
        format!("message id:  {}", hex(body.message_id.as_bytes())),
        if body.is_framed() {
            format!("frame size:  {} bytes", body.frame_length)
        } else {
            "frame size:  non-framed (one block)".to_owned()
        },
    ];
    lines.extend(context_lines(&body.context));
    lines.push(format!("keys ({}):", body.encrypted_data_keys.len()));
    lines.extend(body.encrypted_data_keys.iter().map(|edk| format!("  {}  {}", edk.provider_id, key_name(edk))));
    lines
}

/// The key an encrypted data key names: the ARN of a key service's key, the name of a raw AES
/// key (its provider info also holds the wrapping IV), or the name of a raw RSA key.
fn key_name(edk: &EncryptedDataKey) -> String {
    match raw::aes_key_name(edk) {
        Some(name) => format!("{name} (raw AES)"),
        None => String::from_utf8_lossy(&edk.provider_info).into_owned(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
