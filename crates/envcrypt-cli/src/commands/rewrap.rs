//! `envcrypt rewrap`: change which keys wrap sealed files' and objects' data keys, in place;
//! the bodies stay byte for byte the same.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::AtomicBool;

use envcrypt::keyring::OpenPolicy;
use envcrypt::kms::KeyRef;
use envcrypt::stream::{self, rewrap_header, RewrapRequest};
use envcrypt_s3::{rewrap_object, ObjectUrl, TransferOptions};
use serde_json::{json, Value};

use crate::backends::{s3_client, Backends};
use crate::batch::{self, Split};
use crate::error::CliError;
use crate::files::Output;
use crate::flags::{key_ref, CommitmentPolicyArg, GlobalArgs};
use crate::location::Location;
use crate::{print, signals};

/// Re-wrap sealed files' data keys under other keys; the bodies stay byte for byte the same.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  envcrypt rewrap --to alias/new *.enc                       # add a key to many files
  envcrypt rewrap --to alias/new --remove alias/old db.enc   # move a file to another key
  envcrypt rewrap --from alias/dr --to arn:aws:kms:us-east-1:111122223333:key/... backup.enc
  envcrypt rewrap --to alias/new s3://backups/db.dump.enc

Each file is replaced atomically. An s3:// object is re-wrapped in place with server-side
copies: its header and about 5 MiB of body are rewritten and S3 copies the rest, whatever
the object's size; an S3 Encryption Client object takes a metadata-only copy (one --to). A
new key in the same key service as the one that opens the file is added with ReEncrypt; the
data key is unwrapped once to re-authenticate the header, which the message format keys
with the data key.")]
pub struct Args {
    /// The sealed files or s3:// objects to re-wrap, in place.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// A key to add; repeatable.
    #[arg(long = "to", value_name = "KEY")]
    pub to: Vec<String>,
    /// A key to remove from the files; repeatable.
    #[arg(long = "remove", value_name = "KEY")]
    pub remove: Vec<String>,
    /// Only these keys may open the data key (strict); default: any key the header names.
    #[arg(long = "from", value_name = "KEY")]
    pub from: Vec<String>,
    #[command(flatten)]
    pub commitment: CommitmentPolicyArg,
}

pub fn exec(args: &Args, global: &GlobalArgs) -> Result<(), CliError> {
    if args.to.is_empty() && args.remove.is_empty() {
        return Err(CliError::usage("nothing to do: give --to KEY and/or --remove KEY"));
    }
    let targets = args.files.iter().map(|f| Location::parse(f)).collect::<Result<Vec<_>, _>>()?;
    let not_stdin = || CliError::usage("rewrap changes files in place: give files or s3:// objects, not -");
    if targets.contains(&Location::Stdio) {
        return Err(not_stdin());
    }
    let backends = Backends::new(global)?;
    let add = args
        .to
        .iter()
        .map(|k| key_ref(k).map(|key| (backends.service_of(&key), key)))
        .collect::<Result<Vec<_>, _>>()?;
    let remove = args.remove.iter().map(|k| key_arn(&backends, k)).collect::<Result<Vec<_>, _>>()?;
    let from = args.from.iter().map(|k| key_ref(k)).collect::<Result<Vec<_>, _>>()?;
    let open =
        if from.is_empty() { OpenPolicy::discovery(backends.all()) } else { OpenPolicy::strict(backends.all(), from) };
    let request = RewrapRequest {
        commitment_policy: args.commitment.commitment_policy,
        ..RewrapRequest::new(&open, &add, &remove)
    };

    // The first signal aborts the objects' multipart copies, so that no parts stay behind.
    let stop = targets.iter().any(|t| matches!(t, Location::S3(_))).then(signals::cooperative_stop);
    let stop_flag = stop.as_ref().map(signals::CooperativeStop::flag);
    let split = Split::new(targets.len(), std::thread::available_parallelism().map_or(1, usize::from));
    let results = batch::run(&targets, split, |target, _| match target {
        Location::S3(url) => rewrap_s3(global, url, &request, stop_flag.as_deref()),
        Location::File(path) => rewrap_file(path, &request),
        Location::Stdio => Err(not_stdin()),
    });
    let (reports, error) = batch::outcome(results, "re-wrapped");
    if global.json {
        print::json(&json!(reports))?;
    } else {
        print::lines(&reports.iter().map(summary).collect::<Vec<_>>())?;
    }
    error.map_or(Ok(()), Err)
}

/// `FILE: added ...; removed ...`.
fn summary(report: &Value) -> String {
    let list = |v: &Value| {
        let keys: Vec<&str> = v.as_array().into_iter().flatten().filter_map(|k| k.as_str()).collect();
        if keys.is_empty() {
            "nothing".to_owned()
        } else {
            keys.join(", ")
        }
    };
    format!(
        "{}: added {}; removed {}",
        report["file"].as_str().unwrap_or_default(),
        list(&report["added"]),
        list(&report["removed"])
    )
}

/// The ARN a `--remove` key names: encrypted data keys record ARNs, so aliases and bare ids
/// are looked up.
fn key_arn(backends: &Backends, key: &str) -> Result<String, CliError> {
    let key_ref = key_ref(key)?;
    if let KeyRef::KeyArn(arn) = &key_ref {
        return Ok(arn.to_string());
    }
    let admin = backends.admin(backends.kind_of(&key_ref))?;
    admin.describe_key(&key_ref).wait().map(|m| m.arn).map_err(|e| CliError::kms(format!("cannot resolve {key}"), &e))
}

fn rewrap_file(path: &Path, request: &RewrapRequest<'_>) -> Result<Value, CliError> {
    let shown = path.display();
    let failed = |e| CliError::stream(format!("cannot re-wrap {shown}"), e);
    let read_error = |e: std::io::Error| CliError::io(format!("cannot read {shown}"), &e);
    let original = File::open(path).map_err(read_error)?;
    let metadata = original.metadata().map_err(read_error)?;
    let rewrapped = rewrap_header(&mut BufReader::new(&original), request).map_err(failed)?;

    let mut output = Output::create(&Location::File(path.to_path_buf()), true)?;
    output.copy_permissions_from(&metadata)?;
    output
        .writer()
        .write_all(&rewrapped.header.to_bytes())
        .map_err(|e| CliError::io(format!("cannot write {shown}"), &e))?;
    let mut body = original;
    body.seek(SeekFrom::Start(rewrapped.body_offset)).map_err(read_error)?;
    std::io::copy(&mut body, output.writer()).map_err(|e| failed(stream::Error::Io(e)))?;
    output.commit(&shown)?;
    Ok(json!({ "file": shown.to_string(), "added": rewrapped.added, "removed": rewrapped.removed }))
}

/// Re-wraps one object in place; `stop` set ends it between copied parts.
fn rewrap_s3(
    global: &GlobalArgs,
    url: &ObjectUrl,
    request: &RewrapRequest<'_>,
    stop: Option<&AtomicBool>,
) -> Result<Value, CliError> {
    let client = s3_client(global, TransferOptions::default())?;
    let done = rewrap_object(&client, url, request, stop).map_err(|e| CliError::s3("cannot re-wrap", e))?;
    Ok(json!({
        "file": url.to_string(),
        "format": done.format,
        "added": done.added,
        "removed": done.removed,
        "bytes_downloaded": done.downloaded,
        "bytes_uploaded": done.uploaded,
    }))
}
