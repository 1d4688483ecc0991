use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom, Write};

use envcrypt::keyring::OpenPolicy;
use envcrypt::kms::KeyRef;
use envcrypt::message::ParseLimits;
use envcrypt::stream::{self, rewrap_header, RewrapRequest};
use serde_json::json;

use super::{print_json, print_lines};
use crate::backends::{parse_key, Backends};
use crate::cli::{GlobalArgs, RewrapArgs};
use crate::error::CliError;
use crate::files::Output;

pub fn exec(args: &RewrapArgs, global: &GlobalArgs) -> Result<(), CliError> {
    if args.to.is_empty() && args.remove.is_empty() {
        return Err(CliError::usage("nothing to do: give --to KEY and/or --remove KEY"));
    }
    let backends = Backends::new(global)?;
    let add = args
        .to
        .iter()
        .map(|k| parse_key(k).map(|key| (backends.service(backends.kind_of(&key)), key)))
        .collect::<Result<Vec<_>, _>>()?;
    let remove = args.remove.iter().map(|k| key_arn(&backends, k)).collect::<Result<Vec<_>, _>>()?;
    let from = args.from.iter().map(|k| parse_key(k)).collect::<Result<Vec<_>, _>>()?;
    let open =
        if from.is_empty() { OpenPolicy::discovery(backends.all()) } else { OpenPolicy::strict(backends.all(), from) };
    let request = RewrapRequest { open: &open, add: &add, remove: &remove, limits: ParseLimits::default() };

    let mut reports = Vec::new();
    let mut first_error = None;
    for file in &args.files {
        let result = if envcrypt_s3::ObjectUrl::is_s3(file) {
            super::s3::rewrap(global, file, &request)
        } else {
            rewrap_file(file, &request)
        };
        match result {
            Ok(report) => reports.push(report),
            Err(error) => {
                if args.files.len() > 1 {
                    eprintln!("envcrypt: {}", crate::terminal::escape(&error.message));
                }
                first_error.get_or_insert(error);
            }
        }
    }
    if global.json {
        print_json(&json!(reports))?;
    } else {
        let list = |v: &serde_json::Value| {
            let keys: Vec<&str> = v.as_array().into_iter().flatten().filter_map(|k| k.as_str()).collect();
            if keys.is_empty() {
                "nothing".to_owned()
            } else {
                keys.join(", ")
            }
        };
        print_lines(
            &reports
                .iter()
                .map(|r| {
                    format!(
                        "{}: added {}; removed {}",
                        r["file"].as_str().unwrap_or_default(),
                        list(&r["added"]),
                        list(&r["removed"])
                    )
                })
                .collect::<Vec<_>>(),
        )?;
    }
    match first_error {
        Some(error) if args.files.len() > 1 => Err(CliError::new(
            error.exit,
            format!("{} of {} files could not be re-wrapped", args.files.len() - reports.len(), args.files.len()),
        )),
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// The ARN a `--remove` key names: encrypted data keys record ARNs, so aliases and bare ids
/// are looked up.
fn key_arn(backends: &Backends, key: &str) -> Result<String, CliError> {
    let key_ref = parse_key(key)?;
    if let KeyRef::KeyArn(arn) = &key_ref {
        return Ok(arn.to_string());
    }
    let admin = backends.admin(backends.kind_of(&key_ref))?;
    admin.describe_key(&key_ref).wait().map(|m| m.arn).map_err(|e| CliError::kms(format!("cannot resolve {key}"), &e))
}

fn rewrap_file(path: &str, request: &RewrapRequest<'_>) -> Result<serde_json::Value, CliError> {
    let failed = |e| CliError::stream(format!("cannot re-wrap {path}"), e);
    let original = File::open(path).map_err(|e| CliError::io(format!("cannot read {path}"), &e))?;
    let metadata = original.metadata().map_err(|e| CliError::io(format!("cannot read {path}"), &e))?;
    let rewrapped = rewrap_header(&mut BufReader::new(&original), request).map_err(failed)?;

    let mut output = Output::create(path, true)?;
    output.copy_permissions_from(&metadata)?;
    let write_error = |e: std::io::Error| CliError::io(format!("cannot write {path}"), &e);
    output.writer().write_all(&rewrapped.header.to_bytes()).map_err(write_error)?;
    let mut body = original;
    body.seek(SeekFrom::Start(rewrapped.body_offset)).map_err(|e| CliError::io(format!("cannot read {path}"), &e))?;
    std::io::copy(&mut body, output.writer()).map_err(|e| failed(stream::Error::Io(e)))?;
    output.commit(path)?;
    Ok(json!({ "file": path, "added": rewrapped.added, "removed": rewrapped.removed }))
}
