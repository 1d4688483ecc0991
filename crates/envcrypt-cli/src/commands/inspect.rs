use envcrypt::message::{Header, ParseLimits};
use envcrypt::stream;
use serde_json::json;

use super::{print_json, print_lines};
use crate::cli::{GlobalArgs, InspectArgs};
use crate::error::CliError;
use crate::files::Input;

pub fn exec(args: &InspectArgs, global: &GlobalArgs) -> Result<(), CliError> {
    if envcrypt_s3::ObjectUrl::is_s3(&args.input) {
        return super::s3::inspect(global, &super::s3::object_url(&args.input)?);
    }
    let mut input = Input::open(&args.input)?;
    let limits = ParseLimits { max_encrypted_data_keys: u16::MAX, ..ParseLimits::default() };
    let header = stream::read_header(&mut input.reader, &limits)
        .map_err(|e| CliError::stream(format!("cannot inspect {}", input.name), e))?;
    if global.json {
        return print_json(&header_json(&input.name, &header));
    }
    print_lines(&header_lines(&input.name, &header))
}

/// The `--json` description of a sealed message's header.
pub fn header_json(name: &str, header: &Header) -> serde_json::Value {
    let body = header.body();
    json!({
        "file": name,
        "format": "aws-encryption-sdk-v2",
        "suite": format!("0x{:04x}", body.suite.id()),
        "suite_name": body.suite.name(),
        "message_id": hex(&body.message_id),
        "frame_size": body.frame_length,
        "header_bytes": header.len(),
        "encryption_context": body.context,
        "encrypted_data_keys": body.encrypted_data_keys.iter().map(|edk| json!({
            "provider_id": edk.provider_id,
            "provider_info": String::from_utf8_lossy(&edk.provider_info),
            "ciphertext_bytes": edk.ciphertext.len(),
        })).collect::<Vec<_>>(),
    })
}

/// The text description of a sealed message's header.
pub fn header_lines(name: &str, header: &Header) -> Vec<String> {
    let body = header.body();
    let mut lines = vec![
        format!("file:        {name}"),
        "format:      AWS Encryption SDK message, version 2".to_owned(),
        format!("suite:       0x{:04x} {}", body.suite.id(), body.suite.name()),
        format!("message id:  {}", hex(&body.message_id)),
        format!("frame size:  {} bytes", body.frame_length),
    ];
    if body.context.is_empty() {
        lines.push("context:     (none)".to_owned());
    } else {
        lines.push("context:".to_owned());
        lines.extend(body.context.iter().map(|(k, v)| format!("  {k}={v}")));
    }
    lines.push(format!("keys ({}):", body.encrypted_data_keys.len()));
    lines.extend(
        body.encrypted_data_keys
            .iter()
            .map(|edk| format!("  {}  {}", edk.provider_id, String::from_utf8_lossy(&edk.provider_info))),
    );
    lines
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
