use envcrypt::message::ParseLimits;
use envcrypt::stream;
use serde_json::json;

use super::{print_json, print_lines};
use crate::cli::{GlobalArgs, InspectArgs};
use crate::error::CliError;
use crate::files::Input;

pub fn exec(args: &InspectArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let mut input = Input::open(&args.input)?;
    let limits = ParseLimits { max_encrypted_data_keys: u16::MAX, ..ParseLimits::default() };
    let header = stream::read_header(&mut input.reader, &limits)
        .map_err(|e| CliError::stream(format!("cannot inspect {}", input.name), e))?;
    let body = header.body();
    let keys: Vec<_> = body
        .encrypted_data_keys
        .iter()
        .map(|edk| {
            (edk.provider_id.clone(), String::from_utf8_lossy(&edk.provider_info).into_owned(), edk.ciphertext.len())
        })
        .collect();
    if global.json {
        return print_json(&json!({
            "file": input.name,
            "format": "aws-encryption-sdk-v2",
            "suite": format!("0x{:04x}", body.suite.id()),
            "suite_name": body.suite.name(),
            "message_id": hex(&body.message_id),
            "frame_size": body.frame_length,
            "header_bytes": header.len(),
            "encryption_context": body.context,
            "encrypted_data_keys": keys.iter().map(|(id, info, len)| json!({
                "provider_id": id, "provider_info": info, "ciphertext_bytes": len
            })).collect::<Vec<_>>(),
        }));
    }
    let mut lines = vec![
        format!("file:        {}", input.name),
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
    lines.push(format!("keys ({}):", keys.len()));
    lines.extend(keys.iter().map(|(id, info, _)| format!("  {id}  {info}")));
    print_lines(&lines)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
