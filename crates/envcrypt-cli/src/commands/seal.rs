//! `envcrypt seal`: files or stdin into sealed messages, written to files, stdout or S3
//! objects. Several inputs share one data key per run through the data-key cache.

use std::sync::Arc;
use std::time::Duration;

use envcrypt::keyring::cache::{CacheLimits, DataKeyCache};
use envcrypt::keyring::Keyring;
use envcrypt::kms::local::DEFAULT_KEY_ALIAS;
use envcrypt::kms::{EncryptionContext, KeyRef};
use envcrypt::message::AlgorithmSuite;
use envcrypt::stream::{self, SealOptions};
use envcrypt_s3::{seal_object, S3ecVersion, SealObjectOptions, TransferOptions, Wrapping};
use serde_json::{json, Value};

use crate::backends::{s3_client, Backends};
use crate::batch;
use crate::error::CliError;
use crate::files::{Input, Output};
use crate::flags::{
    BackendKind, CommitmentPolicyArg, ContextArgs, GlobalArgs, KeyArgs, OutputArgs, RawKeyArgs, ThreadsArg,
};
use crate::location::{inputs_and_outputs, Location};
use crate::signals;

/// How long a run may seal with one data key (the cache's age limit).
const DATA_KEY_REUSE: Duration = Duration::from_secs(3600);

/// Seal files or stdin into encrypted messages.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  envcrypt seal notes.txt                        # writes notes.txt.enc
  envcrypt seal *.log                            # each to its own .enc, on every core
  envcrypt seal --key alias/backup -o out.enc in.bin
  envcrypt seal --context purpose=backup --context host=db1 db.dump
  pg_dump db | envcrypt seal - > db.sql.enc
  envcrypt seal db.dump -o s3://backups/db.dump.enc --key alias/backup
  pg_dump db | envcrypt seal - -o s3://backups/db.sql.enc --part-size 64MiB
  envcrypt seal report.pdf -o s3://docs/report.pdf --format s3ec --key arn:aws:kms:...
  envcrypt seal --suite 0x0578 release.tar            # signed: ECDSA P-384 footer
  envcrypt seal --raw-aes-key namespace=vault,name=backup-2026,file=backup.key db.dump
  envcrypt seal --key alias/backup --raw-rsa-key namespace=escrow,name=offline,file=escrow.pub.pem,padding=oaep-sha256 db.dump
  envcrypt seal --commitment-policy forbid-encrypt-allow-decrypt --suite 0x0378 old-reader.dat

Without --key or a raw key, the local store's default key (alias/envcrypt/default) is used,
and created if needed. Each --key, --raw-aes-key and --raw-rsa-key adds a key that can open
the message on its own; the first --key (else the first raw key) generates the data key.

Several inputs are sealed at once, on every core, each to INPUT.enc; a failure names its
input, the others still complete, and the exit status is that of the first failure. They
share data keys (one key service call per key for the run, not one per file); each message
still gets its own message id and so its own content key. An input must not change while
it is sealed.

An s3:// output is a multipart upload sealed as it streams (memory: about part size × (parts
in flight + 1)). Nothing is stored unless the whole input is: on a failure or Ctrl-C the
upload is aborted. The object's metadata records the format, the key ARNs and the plaintext
length. --format s3ec writes the Amazon S3 Encryption Client's format instead (V3, what the
current official clients read by default; s3ec-v2 for older readers), with one key.")]
pub struct Args {
    /// The inputs: files, or - for stdin.
    #[arg(value_name = "INPUT", default_value = "-")]
    pub inputs: Vec<String>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub raw_keys: RawKeyArgs,
    #[command(flatten)]
    pub context: ContextArgs,
    /// Plaintext bytes per frame: a multiple of 16.
    #[arg(long, value_name = "BYTES", default_value_t = stream::DEFAULT_FRAME_LENGTH)]
    pub frame_size: u32,
    /// The algorithm suite, by id (0x0478) or name (AES_256_GCM_HKDF_SHA512_COMMIT_KEY);
    /// it must be one the commitment policy writes [default: 0x0478; 0x0378 under
    /// forbid-encrypt-allow-decrypt].
    #[arg(long, value_name = "SUITE", value_parser = parse_suite)]
    pub suite: Option<AlgorithmSuite>,
    #[command(flatten)]
    pub commitment: CommitmentPolicyArg,
    #[command(flatten)]
    pub threads: ThreadsArg,
    /// The format of an s3:// object: sealed (an Encryption SDK message, any number of keys),
    /// s3ec (the S3 Encryption Client's V3, one key) or s3ec-v2.
    #[arg(long, value_enum, default_value_t = ObjectFormat::Sealed)]
    pub format: ObjectFormat,
    #[command(flatten)]
    pub transfer: TransferArgs,
}

/// The format of a new S3 object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ObjectFormat {
    /// The object is a sealed message, as files are.
    Sealed,
    /// The Amazon S3 Encryption Client's V3 format (key-committing).
    S3ec,
    /// The Amazon S3 Encryption Client's V2 format.
    #[value(name = "s3ec-v2")]
    S3ecV2,
}

/// How S3 objects move.
#[derive(Debug, clap::Args)]
pub struct TransferArgs {
    /// Bytes per multipart part, at least 5MiB (suffixes KiB, MiB, GiB).
    #[arg(long, value_name = "SIZE", default_value = "8MiB", value_parser = parse_size)]
    pub part_size: usize,
    /// Parts uploading at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parts_in_flight: u16,
}

fn parse_suite(text: &str) -> Result<AlgorithmSuite, String> {
    let hex = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).unwrap_or(text);
    let by_id = u16::from_str_radix(hex, 16).ok().and_then(AlgorithmSuite::from_id);
    // By the specification's name, or the official CLI's (which drops _NO_KDF).
    let named = |s: &AlgorithmSuite| {
        s.name().eq_ignore_ascii_case(text) || s.name().trim_end_matches("_NO_KDF").eq_ignore_ascii_case(text)
    };
    by_id.or_else(|| AlgorithmSuite::ALL.into_iter().find(named)).ok_or_else(|| {
        let ids: Vec<String> = AlgorithmSuite::ALL.iter().map(|s| format!("0x{:04x}", s.id())).collect();
        format!("{text:?} is not an algorithm suite; one of {}", ids.join(", "))
    })
}

fn parse_size(text: &str) -> Result<usize, String> {
    let units = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)];
    let (number, unit) =
        units.iter().find_map(|(suffix, unit)| text.strip_suffix(suffix).map(|n| (n, *unit))).unwrap_or((text, 1));
    number
        .trim()
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(|| format!("{text:?} is not a size such as 8MiB or 16777216"))
}

/// What every input of one run is sealed with.
struct Sealing<'a> {
    args: &'a Args,
    global: &'a GlobalArgs,
    backends: Backends,
    keys: Vec<KeyRef>,
    /// Every key, for reports.
    key_names: Vec<String>,
    keyring: Keyring,
    context: EncryptionContext,
    suite: AlgorithmSuite,
    /// Whether inputs declare their length (so that the cache may reuse data keys for them).
    declare_length: bool,
}

pub fn exec(args: &Args, global: &GlobalArgs) -> Result<(), CliError> {
    let context = args.context.parse()?;
    let mut keys = args.keys.parse()?;
    let raw_keys = args.raw_keys.parse()?;
    envcrypt::message::check_frame_length(args.frame_size).map_err(|_| {
        CliError::usage(format!("--frame-size {} is not a positive multiple of 16 below 2^31", args.frame_size))
    })?;
    let policy = args.commitment.commitment_policy;
    let suite = args.suite.unwrap_or_else(|| policy.default_suite());
    policy.check_sealing(suite).map_err(|e| CliError::usage(format!("--suite 0x{:04x}: {e}", suite.id())))?;
    let jobs = jobs(args)?;
    let to_s3 = jobs.iter().any(|(_, output)| matches!(output, Location::S3(_)));
    if !to_s3 && args.format != ObjectFormat::Sealed {
        return Err(CliError::usage(
            "--format s3ec is a format of S3 objects: give -o s3://BUCKET/KEY, or leave --format out",
        ));
    }
    let raw_flags = !args.raw_keys.aes.is_empty() || !args.raw_keys.rsa.is_empty();
    if args.format != ObjectFormat::Sealed && (args.suite.is_some() || raw_flags) {
        return Err(CliError::usage(
            "--format s3ec objects have their own algorithm and one --key: leave out --suite, --raw-aes-key and \
             --raw-rsa-key",
        ));
    }
    let backends = Backends::new(global)?;
    // The managed default key is created on first use, whether named or implied.
    let names_default = keys.iter().any(|k| k.alias_name() == Some(DEFAULT_KEY_ALIAS));
    if (keys.is_empty() && raw_keys.is_empty()) || (names_default && backends.default_kind() == BackendKind::Local) {
        let default =
            backends.local()?.default_key().map_err(|e| CliError::kms("cannot create the default key", &e))?;
        if keys.is_empty() {
            keys.push(default);
        }
    }
    let mut keyring = backends.keyring(&keys);
    let mut key_names: Vec<String> = keys.iter().map(ToString::to_string).collect();
    for key in raw_keys {
        key_names.push(key.to_string());
        keyring.push_raw(key);
    }
    let declare_length = jobs.len() > 1;
    if declare_length {
        keyring = keyring
            .with_cache(Arc::new(DataKeyCache::new(1)), CacheLimits::new(DATA_KEY_REUSE))
            .expect("the cache limits are within the SDK bounds");
    }
    let sealing = Sealing { args, global, backends, keys, key_names, keyring, context, suite, declare_length };
    batch::run_and_report(&jobs, args.threads.count(), "sealed", global.json, |(input, output), threads| {
        sealing.seal(input, output, threads).map(Some)
    })
}

/// Each input with its output: `-o` for one input, else `INPUT.enc`.
fn jobs(args: &Args) -> Result<Vec<(Location, Location)>, CliError> {
    let output = args.output.output.as_deref();
    let jobs = inputs_and_outputs(&args.inputs, output, Location::sealed_name, "write each INPUT.enc")?;
    if let Some((Location::S3(url), _)) = jobs.iter().find(|(input, _)| matches!(input, Location::S3(_))) {
        return Err(CliError::usage(format!(
            "{url}: S3 objects are sealed from a local input: give a file or - as the input and -o s3://BUCKET/KEY"
        )));
    }
    Ok(jobs)
}

impl Sealing<'_> {
    fn seal(&self, input: &Location, output: &Location, threads: usize) -> Result<Value, CliError> {
        let mut source = Input::open(input, self.args.inputs.len() == 1)?;
        let options = SealOptions {
            frame_length: self.args.frame_size,
            suite: self.suite,
            commitment_policy: self.args.commitment.commitment_policy,
            threads,
            plaintext_length: if self.declare_length { source.len } else { None },
        };
        let keys = &self.key_names;
        let Location::S3(url) = output else {
            let mut sink = Output::create(output, self.args.output.force)?;
            if sink.is_terminal() {
                return Err(CliError::usage(
                    "refusing to write a sealed message to a terminal; use -o FILE or redirect stdout",
                ));
            }
            let sealed = stream::seal(&mut source.reader, sink.writer(), &self.keyring, &self.context, &options)
                .map_err(|e| match e {
                    stream::Error::Input(e) => CliError::io(format!("cannot read {}", source.name), &e),
                    stream::Error::Output(e) => CliError::io(format!("cannot write {output}"), &e),
                    e => CliError::stream(format!("cannot seal {}", source.name), e),
                })?;
            sink.commit(output)?;
            return Ok(json!({
                "input": source.name,
                "output": if *output == Location::Stdio { "stdout".to_owned() } else { output.to_string() },
                "plaintext_bytes": sealed.plaintext_bytes,
                "keys": keys,
                "encryption_context": self.context,
                "frame_size": self.args.frame_size,
                "suite": format!("0x{:04x}", self.suite.id()),
            }));
        };
        let transfer = TransferOptions {
            part_size: self.args.transfer.part_size,
            parts_in_flight: usize::from(self.args.transfer.parts_in_flight),
        };
        let client = s3_client(self.global, transfer)?;
        // The first signal aborts the upload, so that no parts stay behind; a second ends at once.
        let stop = signals::cooperative_stop();
        let object_options =
            SealObjectOptions { context: self.context.clone(), plaintext_length: source.len, stop: Some(stop.flag()) };
        let wrapping = match self.args.format {
            ObjectFormat::Sealed => Wrapping::Sealed { keyring: &self.keyring, options: &options },
            ObjectFormat::S3ec | ObjectFormat::S3ecV2 => {
                let [key] = &self.keys[..] else {
                    return Err(CliError::usage(
                        "an S3 Encryption Client object is wrapped by exactly one key: give one --key",
                    ));
                };
                let version = if self.args.format == ObjectFormat::S3ec { S3ecVersion::V3 } else { S3ecVersion::V2 };
                Wrapping::S3ec { version, service: self.backends.service_of(key), key }
            }
        };
        let sealed = seal_object(&client, &mut source.reader, url, wrapping, &object_options)
            .map_err(|e| CliError::s3(format!("cannot seal {}", source.name), e))?;
        Ok(json!({
            "input": source.name,
            "output": url.to_string(),
            "format": sealed.format,
            "plaintext_bytes": sealed.plaintext_bytes,
            "object_bytes": sealed.uploaded.bytes,
            "parts": sealed.uploaded.parts,
            "metadata": sealed.metadata,
        }))
    }
}
