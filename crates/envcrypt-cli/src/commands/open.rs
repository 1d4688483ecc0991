//! `envcrypt open`: sealed files, stdin or S3 objects back into plaintext, verified before any
//! file output is kept. Several inputs share unwrapped data keys through the data-key cache.

use std::sync::Arc;
use std::time::Duration;

use envcrypt::keyring::cache::{CacheLimits, DataKeyCache};
use envcrypt::keyring::{DiscoveryFilter, OpenPolicy};
use envcrypt::message::ParseLimits;
use envcrypt::stream::{self, OpenOptions};
use envcrypt_s3::{open_object, OpenObjectOptions, S3Error, TransferOptions};
use serde_json::{json, Value};

use crate::backends::{s3_client, Backends};
use crate::batch;
use crate::error::CliError;
use crate::files::{is_broken_pipe, Input, Output};
use crate::flags::{CommitmentPolicyArg, ContextArgs, GlobalArgs, KeyArgs, OutputArgs, RawKeyArgs, ThreadsArg};
use crate::location::{inputs_and_outputs, Location};

/// How long a run may reuse a data key it unwrapped (the cache's age limit).
const DATA_KEY_REUSE: Duration = Duration::from_secs(3600);
/// Distinct data keys a run keeps unwrapped at once.
const CACHED_DATA_KEYS: usize = 64;

/// Open sealed messages, verifying each before any file output is kept.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  envcrypt open notes.txt.enc                    # writes notes.txt
  envcrypt open *.enc                            # each to its name without .enc
  envcrypt open --context purpose=backup -o - db.dump.enc | pg_restore
  envcrypt open --key alias/backup archive.enc -o archive
  envcrypt open s3://backups/db.dump.enc -o db.dump
  envcrypt open s3://backups/db.sql.enc -o - | psql
  envcrypt open --commitment-policy require-encrypt-allow-decrypt esdk1-archive.enc
  envcrypt open --raw-aes-key namespace=vault,name=backup-2026,file=backup.key db.dump.enc
  envcrypt open --discovery-account 111122223333 archive.enc

Without --key, every key a message names may open it (discovery), through the backend its ARN
belongs to; --discovery-account limits that to keys of the given accounts (and
--discovery-partition). Raw keys are tried first on the data keys they wrapped.

Output files are written to a temporary file and renamed into place only after the whole
message has authenticated. On stdout, each frame is released only after it authenticates,
and a failure exits non-zero.

Several inputs are opened at once, on every core; messages that share a data key (sealed in
one run) need one key service call between them. A failure names its input, the others
still complete, and the exit status is that of the first failure.

An s3:// input may be a sealed object or an S3 Encryption Client object (V2 or V3); the
metadata tells which. The latter authenticate only at their end, so on stdout they are held
in memory until they verify (up to 64 MiB; open larger ones to a file).")]
pub struct Args {
    /// The sealed inputs: files, s3://BUCKET/KEY, or - for stdin.
    #[arg(value_name = "INPUT", default_value = "-")]
    pub inputs: Vec<String>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub raw_keys: RawKeyArgs,
    /// In discovery (no --key), try only keys of this account; repeatable.
    #[arg(long, value_name = "ACCOUNT_ID", value_parser = parse_account)]
    pub discovery_account: Vec<String>,
    /// The partition of the --discovery-account keys.
    #[arg(long, value_name = "PARTITION", default_value = "aws", requires = "discovery_account")]
    pub discovery_partition: String,
    #[command(flatten)]
    pub context: ContextArgs,
    #[command(flatten)]
    pub commitment: CommitmentPolicyArg,
    /// Refuse signed messages (suites 0x0214, 0x0346, 0x0378, 0x0578) right after reading the
    /// header: their last frame can only be released once the whole message is read.
    #[arg(long)]
    pub unsigned_only: bool,
    /// Refuse messages with more encrypted data keys than this.
    #[arg(long, value_name = "N", default_value_t = ParseLimits::default().max_encrypted_data_keys)]
    pub max_encrypted_data_keys: u16,
    /// Refuse messages whose frames (or non-framed body, held whole until it verifies) are
    /// larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = ParseLimits::default().max_frame_length)]
    pub max_frame_size: u32,
    #[command(flatten)]
    pub threads: ThreadsArg,
}

/// What every input of one run is opened with.
struct Opening<'a> {
    args: &'a Args,
    global: &'a GlobalArgs,
    policy: OpenPolicy,
    options: OpenOptions,
}

pub fn exec(args: &Args, global: &GlobalArgs) -> Result<(), CliError> {
    let options = OpenOptions {
        limits: ParseLimits {
            max_encrypted_data_keys: args.max_encrypted_data_keys,
            max_frame_length: args.max_frame_size,
        },
        commitment_policy: args.commitment.commitment_policy,
        required_context: args.context.parse()?,
        unsigned_only: args.unsigned_only,
        threads: 1,
    };
    let keys = args.keys.parse()?;
    let raw_keys = args.raw_keys.parse()?;
    if !keys.is_empty() && !args.discovery_account.is_empty() {
        return Err(CliError::usage(
            "--discovery-account limits discovery, and --key turns discovery off: give one or the other",
        ));
    }
    let jobs = jobs(args)?;
    let services = Backends::new(global)?.all();
    let mut policy = if keys.is_empty() { OpenPolicy::discovery(services) } else { OpenPolicy::strict(services, keys) };
    policy = policy.with_raw_keys(raw_keys);
    if !args.discovery_account.is_empty() {
        policy = policy.with_discovery_filter(DiscoveryFilter {
            partition: args.discovery_partition.clone(),
            accounts: args.discovery_account.clone(),
        });
    }
    if jobs.len() > 1 {
        policy = policy
            .with_cache(Arc::new(DataKeyCache::new(CACHED_DATA_KEYS)), CacheLimits::new(DATA_KEY_REUSE))
            .expect("the cache limits are within the SDK bounds");
    }
    let opening = Opening { args, global, policy, options };
    batch::run_and_report(&jobs, args.threads.count(), "opened", global.json, |(input, output), threads| {
        opening.open(input, output, threads)
    })
}

fn parse_account(text: &str) -> Result<String, String> {
    if text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(text.to_owned())
    } else {
        Err(format!("{text:?} is not an account id (12 digits)"))
    }
}

/// Each input with its output: `-o` for one input, else the input's name without `.enc`.
fn jobs(args: &Args) -> Result<Vec<(Location, Location)>, CliError> {
    let output = args.output.output.as_deref();
    let jobs = inputs_and_outputs(&args.inputs, output, Location::opened_name, "write each input without .enc")?;
    if let Some((_, Location::S3(url))) = jobs.iter().find(|(_, output)| matches!(output, Location::S3(_))) {
        return Err(CliError::usage(format!("{url}: open writes to a file or stdout, not to S3")));
    }
    Ok(jobs)
}

impl Opening<'_> {
    /// Opens one input; `None` when stdout was closed early (`envcrypt open x | head`).
    fn open(&self, input: &Location, output: &Location, threads: usize) -> Result<Option<Value>, CliError> {
        let mut sink = Output::create(output, self.args.output.force)?;
        let options = OpenOptions { threads, ..self.options.clone() };
        let stdout_closed = |e: &std::io::Error| *output == Location::Stdio && is_broken_pipe(e);
        let write_error = |e: &std::io::Error| CliError::io(format!("cannot write {output}"), e);
        let (report, plaintext_bytes) = match input {
            Location::S3(url) => {
                let client = s3_client(self.global, TransferOptions::default())?;
                let object_options = OpenObjectOptions {
                    open: options,
                    staged_output: *output != Location::Stdio,
                    ..OpenObjectOptions::default()
                };
                let opened = match open_object(&client, url, sink.writer(), &self.policy, &object_options) {
                    Ok(opened) => opened,
                    Err(S3Error::Output(e)) if stdout_closed(&e) => return Ok(None),
                    Err(S3Error::Output(e)) => return Err(write_error(&e)),
                    Err(e) => return Err(CliError::s3("cannot open", e)),
                };
                let report = json!({
                    "input": url.to_string(),
                    "format": opened.format,
                    "key": opened.key_arn,
                    "encryption_context": opened.context,
                });
                (report, opened.plaintext_bytes)
            }
            local => {
                let source = Input::open(local, self.args.inputs.len() == 1)?;
                let name = source.name;
                let opened = match stream::open(source.reader, sink.writer(), &self.policy, &options) {
                    Ok(opened) => opened,
                    Err(stream::Error::Output(e)) if stdout_closed(&e) => return Ok(None),
                    Err(stream::Error::Output(e)) => return Err(write_error(&e)),
                    Err(stream::Error::Input(e)) => return Err(CliError::io(format!("cannot read {name}"), &e)),
                    Err(e) => return Err(CliError::stream(format!("cannot open {name}"), e)),
                };
                let report = json!({
                    "input": name,
                    "key": opened.key_arn,
                    "encryption_context": opened.header.body().context,
                });
                (report, opened.plaintext_bytes)
            }
        };
        sink.commit(output)?;
        let mut report = report;
        report["output"] = json!(if *output == Location::Stdio { "stdout".to_owned() } else { output.to_string() });
        report["plaintext_bytes"] = json!(plaintext_bytes);
        Ok(Some(report))
    }
}
