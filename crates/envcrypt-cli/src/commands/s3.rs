//! `s3://` objects in `seal`, `open`, `inspect` and `rewrap`.

use envcrypt::keyring::OpenPolicy;
use envcrypt::kms::{EncryptionContext, KeyRef};
use envcrypt::stream::{OpenOptions, RewrapRequest, SealOptions};
use envcrypt_s3::{
    inspect_object, open_object, rewrap_object, seal_object, InspectedKind, ObjectUrl, OpenObjectOptions, S3Error,
    S3ecVersion, SealObjectOptions, Wrapping,
};
use serde_json::json;

use super::inspect::{header_json, header_lines};
use super::{print_json, print_lines};
use crate::backends::{s3_client, Backends};
use crate::cli::{GlobalArgs, ObjectFormat, OpenArgs, SealArgs};
use crate::error::CliError;
use crate::files::{is_broken_pipe, Input, Output};
use crate::signals;

/// `url` parsed, or a usage error.
pub fn object_url(spec: &str) -> Result<ObjectUrl, CliError> {
    ObjectUrl::parse(spec).map_err(|e| CliError::usage(e.to_string()))
}

pub fn seal(
    args: &SealArgs,
    global: &GlobalArgs,
    url: &ObjectUrl,
    backends: &Backends,
    keys: &[KeyRef],
    context: EncryptionContext,
    seal_options: &SealOptions,
) -> Result<(), CliError> {
    let client = s3_client(global, Some(&args.transfer))?;
    let mut input = Input::open(&args.files.input)?;
    let plaintext_length =
        if args.files.input == "-" { None } else { std::fs::metadata(&args.files.input).ok().map(|m| m.len()) };
    // The first signal aborts the upload, so that no parts stay behind; a second ends at once.
    let stop = signals::cooperative_stop();
    let options = SealObjectOptions { context, plaintext_length, stop: Some(stop.flag()) };
    let keyring;
    let wrapping = match args.format {
        ObjectFormat::Sealed => {
            keyring = backends.keyring(keys);
            Wrapping::Sealed { keyring: &keyring, options: seal_options }
        }
        ObjectFormat::S3ec | ObjectFormat::S3ecV2 => {
            let [key] = keys else {
                return Err(CliError::usage(
                    "an S3 Encryption Client object is wrapped by exactly one key: give one --key",
                ));
            };
            let version = if args.format == ObjectFormat::S3ec { S3ecVersion::V3 } else { S3ecVersion::V2 };
            Wrapping::S3ec { version, service: backends.service(backends.kind_of(key)), key }
        }
    };
    let sealed = seal_object(&client, &mut input.reader, url, wrapping, &options)
        .map_err(|e| CliError::s3(format!("cannot seal {}", input.name), e))?;
    if global.json {
        print_json(&json!({
            "input": input.name,
            "output": url.to_string(),
            "format": sealed.format,
            "plaintext_bytes": sealed.plaintext_bytes,
            "object_bytes": sealed.uploaded.bytes,
            "parts": sealed.uploaded.parts,
            "metadata": sealed.metadata,
        }))?;
    }
    Ok(())
}

pub fn open(
    args: &OpenArgs,
    global: &GlobalArgs,
    url: &ObjectUrl,
    policy: &OpenPolicy,
    open_options: OpenOptions,
) -> Result<(), CliError> {
    let output_spec = match &args.files.output {
        Some(out) => out.clone(),
        None => {
            let name = url.key.rsplit('/').next().unwrap_or_default();
            name.strip_suffix(".enc").filter(|s| !s.is_empty()).map(str::to_owned).ok_or_else(|| {
                CliError::usage(format!("{url} does not end in .enc, so the output needs a name: use -o OUT or -o -"))
            })?
        }
    };
    let client = s3_client(global, None)?;
    let mut output = Output::create(&output_spec, args.files.force)?;
    let options =
        OpenObjectOptions { open: open_options, staged_output: output_spec != "-", ..OpenObjectOptions::default() };
    let opened = match open_object(&client, url, output.writer(), policy, &options) {
        Ok(opened) => opened,
        Err(S3Error::Output(e)) if output_spec == "-" && is_broken_pipe(&e) => return Ok(()),
        Err(S3Error::Output(e)) => return Err(CliError::io(format!("cannot write {output_spec}"), &e)),
        Err(e) => return Err(CliError::s3("cannot open", e)),
    };
    output.commit(&output_spec)?;
    if global.json {
        print_json(&json!({
            "input": url.to_string(),
            "output": if output_spec == "-" { "stdout" } else { &output_spec },
            "format": opened.format,
            "plaintext_bytes": opened.plaintext_bytes,
            "key": opened.key_arn,
            "encryption_context": opened.context,
        }))?;
    }
    Ok(())
}

pub fn inspect(global: &GlobalArgs, url: &ObjectUrl) -> Result<(), CliError> {
    let client = s3_client(global, None)?;
    let inspected = inspect_object(&client, url).map_err(|e| CliError::s3("cannot inspect", e))?;
    let mut metadata: Vec<(&String, &String)> = inspected.metadata.iter().collect();
    metadata.sort();
    match &inspected.kind {
        InspectedKind::Sealed(header) => {
            if global.json {
                let mut value = header_json(&url.to_string(), header);
                value["object_bytes"] = json!(inspected.object_size);
                value["metadata"] = json!(inspected.metadata);
                return print_json(&value);
            }
            let mut lines = header_lines(&url.to_string(), header);
            lines.insert(1, format!("object size: {} bytes", inspected.object_size));
            lines.push("metadata:".to_owned());
            lines.extend(metadata.iter().map(|(k, v)| format!("  {k}: {v}")));
            print_lines(&lines)
        }
        InspectedKind::S3ec { version, context, plaintext_length } => {
            let name = match version {
                S3ecVersion::V3 => "Amazon S3 Encryption Client, V3 (AES-256-GCM, HKDF-SHA-512, key commitment)",
                S3ecVersion::V2 => "Amazon S3 Encryption Client, V2 (AES-256-GCM)",
            };
            if global.json {
                return print_json(&json!({
                    "file": url.to_string(),
                    "format": version.name(),
                    "object_bytes": inspected.object_size,
                    "plaintext_bytes": plaintext_length,
                    "encryption_context": context,
                    "metadata": inspected.metadata,
                }));
            }
            let mut lines = vec![
                format!("file:        {url}"),
                format!("object size: {} bytes", inspected.object_size),
                format!("format:      {name}"),
            ];
            if let Some(length) = plaintext_length {
                lines.push(format!("plaintext:   {length} bytes"));
            }
            if context.is_empty() {
                lines.push("context:     (none)".to_owned());
            } else {
                lines.push("context:".to_owned());
                lines.extend(context.iter().map(|(k, v)| format!("  {k}={v}")));
            }
            lines.push("metadata:".to_owned());
            lines.extend(metadata.iter().map(|(k, v)| format!("  {k}: {v}")));
            print_lines(&lines)
        }
    }
}

/// Re-wraps one object in place.
pub fn rewrap(global: &GlobalArgs, spec: &str, request: &RewrapRequest<'_>) -> Result<serde_json::Value, CliError> {
    let url = object_url(spec)?;
    let client = s3_client(global, None)?;
    // The first signal aborts the multipart copy, so that no parts stay behind.
    let stop = signals::cooperative_stop();
    let done =
        rewrap_object(&client, &url, request, Some(&stop.flag())).map_err(|e| CliError::s3("cannot re-wrap", e))?;
    Ok(json!({
        "file": spec,
        "format": done.format,
        "added": done.added,
        "removed": done.removed,
        "bytes_downloaded": done.downloaded,
        "bytes_uploaded": done.uploaded,
    }))
}
