//! The command line, as clap definitions. Each subcommand's `exec` lives in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "envcrypt",
    version,
    about = "Envelope encryption with KMS-style keys: seal and open files, manage keys",
    after_help = "\
Examples:
  envcrypt seal report.pdf                 # writes report.pdf.enc with the default key
  envcrypt open report.pdf.enc             # writes report.pdf
  tar c dir | envcrypt seal -o dir.tar.enc
  envcrypt key create --alias alias/backup
  envcrypt seal --key alias/backup --context team=ops db.dump
  envcrypt --principal admin key create --policy policy.json --alias alias/payroll
  envcrypt audit list --principal role/rewrapper --since 1h

Exit codes:
  0  success
  1  input/output or environment error (file not found, output exists, store unreadable)
  2  usage error (bad arguments, bad key reference or context pair)
  3  the key service refused (key not found, disabled, pending deletion, wrong key, access denied)
  4  the data failed its checks (altered, truncated, wrong encryption context)
  5  `conformance` found a difference from documented AWS KMS behaviour"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The local key store directory [default: envcrypt under the user's data directory].
    #[arg(long, global = true, env = "ENVCRYPT_STORE", value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// The key service for keys given without an ARN, and for `key` and `kms` commands
    /// [default: local]. Key ARNs pick their own (arn:aws:kms:... is AWS,
    /// arn:envcrypt:kms:pkcs11:... the HSM cluster).
    #[arg(long, global = true, value_enum, value_name = "BACKEND")]
    pub backend: Vec<crate::backends::BackendKind>,
    /// Send AWS KMS and S3 calls to this endpoint (also AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_KMS,
    /// AWS_ENDPOINT_URL_S3); S3 is then addressed path-style.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// The AWS region [default: AWS_REGION or the profile's].
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// The PKCS#11 module of the HSM backend (also ENVCRYPT_PKCS11_MODULE or the config file).
    #[arg(long, global = true, env = "ENVCRYPT_PKCS11_MODULE", value_name = "PATH")]
    pub pkcs11_module: Option<PathBuf>,
    /// A token of the HSM cluster, by label; repeatable (ENVCRYPT_PKCS11_TOKENS: comma-separated).
    #[arg(
        long = "pkcs11-token",
        global = true,
        env = "ENVCRYPT_PKCS11_TOKENS",
        value_delimiter = ',',
        value_name = "LABEL"
    )]
    pub pkcs11_tokens: Vec<String>,
    /// The HSM's mechanism variant: softhsm (standard; tested) or cloudhsm (HSM-generated GCM IV;
    /// modeled) [default: softhsm].
    #[arg(long, global = true, env = "ENVCRYPT_PKCS11_MECHANISMS", value_name = "VARIANT")]
    pub pkcs11_mechanisms: Option<String>,
    /// A JSON file with the HSM settings: {"module": PATH, "tokens": [LABEL, ...], "mechanisms":
    /// "softhsm"|"cloudhsm", "wrap_mechanism": CODE, "retry_after_seconds": N}; flags win. The
    /// user PIN is never in it: ENVCRYPT_PKCS11_PIN, else a prompt.
    #[arg(long, global = true, env = "ENVCRYPT_PKCS11_CONFIG", value_name = "FILE")]
    pub pkcs11_config: Option<PathBuf>,
    /// Who calls the local store, for its key policies and audit log: NAME (a user),
    /// user/NAME, role/NAME, root, or a principal ARN [default: the OS user]. An assertion,
    /// not a login: AWS KMS takes the caller from the credentials instead. Give it before
    /// the subcommand: `envcrypt --principal admin key create`.
    #[arg(long, env = "ENVCRYPT_PRINCIPAL", value_name = "PRINCIPAL")]
    pub principal: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Seal a file or stdin into an encrypted message.
    #[command(after_help = "\
Examples:
  envcrypt seal notes.txt                        # writes notes.txt.enc
  envcrypt seal --key alias/backup -o out.enc in.bin
  envcrypt seal --context purpose=backup --context host=db1 db.dump
  pg_dump db | envcrypt seal - > db.sql.enc
  envcrypt seal db.dump -o s3://backups/db.dump.enc --key alias/backup
  pg_dump db | envcrypt seal - -o s3://backups/db.sql.enc --part-size 64MiB
  envcrypt seal report.pdf -o s3://docs/report.pdf --format s3ec --key arn:aws:kms:...

Without --key, the local store's default key (alias/envcrypt/default) is used, and created
if needed. Each --key adds a key that can open the message on its own.

An s3:// output is a multipart upload sealed as it streams (memory: about part size × (parts
in flight + 1)). Nothing is stored unless the whole input is: on a failure or Ctrl-C the
upload is aborted. The object's metadata records the format, the key ARNs and the plaintext
length. --format s3ec writes the Amazon S3 Encryption Client's format instead (V3, what the
current official clients read by default; s3ec-v2 for older readers), with one key.")]
    Seal(SealArgs),
    /// Open a sealed message, verifying it before any file output is kept.
    #[command(after_help = "\
Examples:
  envcrypt open notes.txt.enc                    # writes notes.txt
  envcrypt open --context purpose=backup -o - db.dump.enc | pg_restore
  envcrypt open --key alias/backup archive.enc -o archive
  envcrypt open s3://backups/db.dump.enc -o db.dump
  envcrypt open s3://backups/db.sql.enc -o - | psql

Output files are written to a temporary file and renamed into place only after the whole
message has authenticated. On stdout, each frame is released only after it authenticates,
and a failure exits non-zero.

An s3:// input may be a sealed object or an S3 Encryption Client object (V2 or V3); the
metadata tells which. The latter authenticate only at their end, so on stdout they are held
in memory until they verify (up to 64 MiB; open larger ones to a file).")]
    Open(OpenArgs),
    /// Show a sealed message's header (suite, keys, context, frame size); needs no key.
    #[command(after_help = "\
Examples:
  envcrypt inspect notes.txt.enc
  envcrypt inspect --json notes.txt.enc
  envcrypt inspect s3://backups/db.dump.enc      # one ranged read; the body is not downloaded")]
    Inspect(InspectArgs),
    /// Manage master keys: create, aliases, states, rotation, deletion, key policies and grants.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Call key service operations directly, with base64 in and out as `aws kms` does.
    #[command(subcommand)]
    Kms(KmsCommand),
    /// Re-wrap sealed files' data keys under other keys; the bodies stay byte for byte the same.
    #[command(after_help = "\
Examples:
  envcrypt rewrap --to alias/new *.enc                       # add a key to many files
  envcrypt rewrap --to alias/new --remove alias/old db.enc   # move a file to another key
  envcrypt rewrap --from alias/dr --to arn:aws:kms:us-east-1:111122223333:key/... backup.enc
  envcrypt rewrap --to alias/new s3://backups/db.dump.enc

Each file is replaced atomically. An s3:// object is re-wrapped in place with server-side
copies: its header and about 5 MiB of body are rewritten and S3 copies the rest, whatever
the object's size; an S3 Encryption Client object takes a metadata-only copy (one --to). A new key in the same key service as the one that opens
the file is added with ReEncrypt; the data key is unwrapped once to re-authenticate the
header, which the message format keys with the data key.")]
    Rewrap(RewrapArgs),
    /// Show the HSM cluster: each token's health and key count.
    #[command(subcommand)]
    Hsm(HsmCommand),
    /// Check and query the local store's audit log (one CloudTrail-shaped event per call).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Run the KMS conformance scenarios on one or more backends and report every difference.
    #[command(after_help = "\
Examples:
  envcrypt conformance                                   # the local store
  envcrypt conformance --backend local --backend aws --endpoint-url http://127.0.0.1:5000
  envcrypt conformance --backend aws --json              # real AWS KMS (creates keys, then
                                                         # schedules their deletion)

Each scenario's outcome is compared with documented AWS KMS behaviour. With --endpoint-url
(a stand-in such as moto), that endpoint's known deviations are marked `~` instead of failing.
The local store runs in a throwaway directory unless --store is given.")]
    Conformance(ConformanceArgs),
}

#[derive(Debug, Args)]
pub struct RewrapArgs {
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
}

#[derive(Debug, Args)]
pub struct ConformanceArgs {
    /// Treat every difference of a stand-in endpoint as a failure, known or not.
    #[arg(long)]
    pub no_known_deviations: bool,
}

/// Where a command reads and writes.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// The input: a file, s3://BUCKET/KEY (open), or - for stdin.
    #[arg(default_value = "-")]
    pub input: String,
    /// Where to write: a file, s3://BUCKET/KEY (seal), or - for stdout [default: seal writes
    /// INPUT.enc, open writes INPUT without .enc; stdout when the input is stdin].
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<String>,
    /// Replace the output file if it exists.
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct SealArgs {
    #[command(flatten)]
    pub files: FileArgs,
    /// A key to wrap the data key (key id, key ARN, alias/NAME or alias ARN); repeatable.
    #[arg(short, long = "key", value_name = "KEY")]
    pub keys: Vec<String>,
    /// An encryption context pair, bound to the message and stored in its header; repeatable.
    #[arg(short, long = "context", value_name = "KEY=VALUE")]
    pub context: Vec<String>,
    /// Plaintext bytes per frame: a multiple of 16.
    #[arg(long, value_name = "BYTES", default_value_t = envcrypt::stream::DEFAULT_FRAME_LENGTH)]
    pub frame_size: u32,
    /// Threads that encrypt or decrypt frames [default: one per core].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,
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
#[derive(Debug, Args)]
pub struct TransferArgs {
    /// Bytes per multipart part, at least 5MiB (suffixes KiB, MiB, GiB).
    #[arg(long, value_name = "SIZE", default_value = "8MiB", value_parser = parse_size)]
    pub part_size: usize,
    /// Parts uploading at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parts_in_flight: u16,
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

#[derive(Debug, Args)]
pub struct OpenArgs {
    #[command(flatten)]
    pub files: FileArgs,
    /// Only try these keys (strict); without --key, try every key the header names.
    #[arg(short, long = "key", value_name = "KEY")]
    pub keys: Vec<String>,
    /// A context pair the message must contain; repeatable.
    #[arg(short, long = "context", value_name = "KEY=VALUE")]
    pub context: Vec<String>,
    /// Refuse signed messages (suite 0x0578) right after reading the header.
    #[arg(long)]
    pub unsigned_only: bool,
    /// Refuse messages with more encrypted data keys than this.
    #[arg(long, value_name = "N", default_value_t = envcrypt::message::ParseLimits::default().max_encrypted_data_keys)]
    pub max_encrypted_data_keys: u16,
    /// Refuse messages whose frames are larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = envcrypt::message::ParseLimits::default().max_frame_length)]
    pub max_frame_size: u32,
    /// Threads that encrypt or decrypt frames [default: one per core].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The sealed file, s3://BUCKET/KEY, or - for stdin.
    #[arg(default_value = "-")]
    pub input: String,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a master key (an AES-256 CMK) in the local store.
    #[command(after_help = "\
Examples:
  envcrypt key create --description \"nightly backups\" --alias alias/backup
  envcrypt --principal admin key create --policy payroll-policy.json --alias alias/payroll

Without --policy the key gets the default key policy: the account root may do anything, and
the creator (--principal, else the OS user) is both key administrator and key user.")]
    Create {
        /// A description kept with the key.
        #[arg(short, long, default_value = "")]
        description: String,
        /// Also create this alias for the key.
        #[arg(short, long, value_name = "alias/NAME")]
        alias: Option<String>,
        /// The key policy: a JSON file, or - for stdin.
        #[arg(long, value_name = "FILE")]
        policy: Option<String>,
        #[command(flatten)]
        lockout: LockoutArg,
    },
    /// Print a key's policy.
    #[command(after_help = "Example:\n  envcrypt key get-policy alias/payroll > policy.json")]
    GetPolicy {
        /// The key.
        key: String,
    },
    /// Replace a key's policy.
    #[command(after_help = "\
Example:
  envcrypt key put-policy alias/payroll policy.json

The policy must still let you change it later, unless --bypass-policy-lockout-safety-check.")]
    PutPolicy {
        /// The key.
        key: String,
        /// The key policy: a JSON file, or - for stdin.
        #[arg(value_name = "FILE")]
        policy: String,
        #[command(flatten)]
        lockout: LockoutArg,
    },
    /// Create, list, retire or revoke grants.
    #[command(subcommand)]
    Grant(GrantCommand),
    /// List the keys, with their state and aliases.
    #[command(after_help = "Example:\n  envcrypt key list --json")]
    List,
    /// Show one key.
    #[command(after_help = "Example:\n  envcrypt key describe alias/backup")]
    Describe {
        /// Key id, key ARN, alias/NAME or alias ARN.
        key: String,
    },
    /// Create, repoint, delete or list aliases.
    #[command(subcommand)]
    Alias(AliasCommand),
    /// Add a new backing key; data sealed before still opens.
    #[command(after_help = "Example:\n  envcrypt key rotate alias/backup")]
    Rotate {
        /// The key.
        key: String,
    },
    /// Enable a disabled key.
    #[command(after_help = "Example:\n  envcrypt key enable alias/backup")]
    Enable {
        /// The key.
        key: String,
    },
    /// Disable a key: it refuses every cryptographic operation until enabled.
    #[command(after_help = "Example:\n  envcrypt key disable alias/backup")]
    Disable {
        /// The key.
        key: String,
    },
    /// Schedule a key's deletion after a waiting period of 7 to 30 days.
    #[command(
        after_help = "Example:\n  envcrypt key schedule-deletion --days 7 alias/old\n\nData sealed only under a deleted key can never be opened again."
    )]
    ScheduleDeletion {
        /// The key.
        key: String,
        /// The waiting period in days (7 to 30).
        #[arg(long, default_value_t = 30)]
        days: u32,
    },
    /// Cancel a scheduled deletion; the key returns disabled.
    #[command(after_help = "Example:\n  envcrypt key cancel-deletion alias/old && envcrypt key enable alias/old")]
    CancelDeletion {
        /// The key.
        key: String,
    },
}

#[derive(Debug, Args)]
pub struct LockoutArg {
    /// Set a policy that does not let the caller change it later (KMS's
    /// BypassPolicyLockoutSafetyCheck).
    #[arg(long)]
    pub bypass_policy_lockout_safety_check: bool,
}

#[derive(Debug, Subcommand)]
pub enum GrantCommand {
    /// Let a principal use a key for some operations; prints the grant id and token.
    #[command(after_help = "\
Examples:
  envcrypt key grant create alias/payroll --grantee role/batch --operation Decrypt
  envcrypt key grant create alias/payroll --grantee role/batch --operation Decrypt \\
      --operation RetireGrant --context-subset job=nightly --name nightly-restore

Operations: Decrypt, Encrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext, ReEncryptFrom,
ReEncryptTo, CreateGrant, RetireGrant, DescribeKey. The grant is in force at once.")]
    Create {
        /// The key.
        key: String,
        /// Who may use the grant: NAME, user/NAME, role/NAME or an ARN.
        #[arg(long, value_name = "PRINCIPAL")]
        grantee: String,
        /// An operation the grant allows; repeatable.
        #[arg(long = "operation", value_name = "OPERATION", required = true)]
        operations: Vec<String>,
        /// Who else may retire the grant.
        #[arg(long, value_name = "PRINCIPAL")]
        retiring_principal: Option<String>,
        /// Allow only requests whose context includes this pair; repeatable.
        #[arg(long = "context-subset", value_name = "KEY=VALUE")]
        context_subset: Vec<String>,
        /// Allow only requests whose context is exactly these pairs; repeatable.
        #[arg(long = "context-equals", value_name = "KEY=VALUE", conflicts_with = "context_subset")]
        context_equals: Vec<String>,
        /// A name: creating the same named grant again returns the first one.
        #[arg(long)]
        name: Option<String>,
    },
    /// List a key's grants.
    #[command(after_help = "Example:\n  envcrypt key grant list alias/payroll --json")]
    List {
        /// The key.
        key: String,
    },
    /// Retire a grant: by its retiring principal, its grantee (if it allows RetireGrant) or the root.
    #[command(after_help = "\
Examples:
  envcrypt --principal role/batch key grant retire --token \"$TOKEN\"
  envcrypt key grant retire alias/payroll 0c4f...e1")]
    Retire {
        /// The key (with GRANT_ID).
        #[arg(required_unless_present = "token", requires = "grant_id")]
        key: Option<String>,
        /// The grant id.
        grant_id: Option<String>,
        /// The grant token `grant create` printed, in place of KEY and GRANT_ID.
        #[arg(long, conflicts_with = "key")]
        token: Option<String>,
    },
    /// Revoke a grant (needs kms:RevokeGrant in the key policy).
    #[command(after_help = "Example:\n  envcrypt key grant revoke alias/payroll 0c4f...e1")]
    Revoke {
        /// The key.
        key: String,
        /// The grant id.
        grant_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum HsmCommand {
    /// Each token's health, key count and, for a token that is down, why.
    #[command(after_help = "\
Example:
  ENVCRYPT_PKCS11_PIN=1234 envcrypt --pkcs11-module /usr/lib/softhsm/libsofthsm2.so \\
      --pkcs11-token az-a --pkcs11-token az-b --pkcs11-token az-c hsm status

Connecting copies any missing key to every token that answers. Exits 1 if a token is down.")]
    Status,
    /// Set up the cluster's trusted wrapping key, as its security officer (once per cluster,
    /// and again after adding a token).
    #[command(after_help = "\
Example:
  ENVCRYPT_PKCS11_SO_PIN=5678 envcrypt --pkcs11-module /usr/lib/softhsm/libsofthsm2.so \\
      --pkcs11-token az-a --pkcs11-token az-b --pkcs11-token az-c hsm init-cluster

Keys are copied between the tokens only wrapped under this key, and only the security officer
can make it (PKCS#11 lets only the SO mark a key trusted): so a holder of the user PIN can use
every key but export none. The SO PIN comes from ENVCRYPT_PKCS11_SO_PIN or a prompt, never
from the command line. Tokens that hold the key keep it; every token must be reachable.")]
    InitCluster,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the log's hash chain: catches edited, removed, reordered or appended events.
    #[command(after_help = "\
Example:
  envcrypt audit verify

Prints the number of events and the MAC of the last one. The chain is keyed by the store's
root key, so verifying needs the store (and its passphrase, if it has one). Keep the printed
head somewhere else to catch a later rollback of the log together with its head file.
Exits 4 if the log does not verify.")]
    Verify,
    /// Record events lost from the end of the log (cut off, or a crash mid-write), so that calls
    /// work again; the loss stays in the log for `audit verify` to show.
    #[command(after_help = "\
Example:
  envcrypt audit verify                        # shows what is missing
  envcrypt --principal admin audit acknowledge # records it, as admin, and calls work again

While the log ends before its head file says it should, or ends in an incomplete event, every
call of the store is refused: no key is used without a record. Acknowledging appends an event
naming the lost sequence numbers and who acknowledged them (and removes the bytes of an
incomplete event). It refuses a log that was edited anywhere else: that is not a loss at its
end. Exits 4 if the log does not verify up to its end.")]
    Acknowledge,
    /// List events, oldest first.
    #[command(after_help = "\
Examples:
  envcrypt audit list --key alias/payroll --since 1h
  envcrypt audit list --principal role/rewrapper --json | jq '.[].eventName'
  envcrypt audit list --since 2026-11-23T09:00:00Z --errors")]
    List {
        /// Only events on this key: its id, its ARN, or the alias as the caller gave it.
        #[arg(long)]
        key: Option<String>,
        /// Only events by this principal: NAME, user/NAME, role/NAME or an ARN.
        #[arg(long)]
        principal: Option<String>,
        /// Only events at or after this time: RFC 3339, or a duration ago (`90m`, `2h`, `7d`).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Only failed calls (denied, not found, ...).
        #[arg(long)]
        errors: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AliasCommand {
    /// Create an alias for a key.
    #[command(after_help = "Example:\n  envcrypt key alias create alias/backup 1234abcd-12ab-34cd-56ef-1234567890ab")]
    Create {
        /// alias/NAME (alias/aws/ is reserved).
        alias: String,
        /// Key id or key ARN.
        key: String,
    },
    /// Point an existing alias at another key.
    #[command(after_help = "Example:\n  envcrypt key alias update alias/backup 1234abcd-12ab-34cd-56ef-1234567890ab")]
    Update {
        /// alias/NAME.
        alias: String,
        /// Key id or key ARN.
        key: String,
    },
    /// Delete an alias (the key stays).
    #[command(after_help = "Example:\n  envcrypt key alias delete alias/backup")]
    Delete {
        /// alias/NAME.
        alias: String,
    },
    /// List aliases.
    #[command(after_help = "Example:\n  envcrypt key alias list")]
    List,
}

#[derive(Debug, Args)]
pub struct ContextArg {
    /// An encryption context pair; repeatable.
    #[arg(short, long = "context", value_name = "KEY=VALUE")]
    pub context: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum KmsCommand {
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
        context: ContextArg,
    },
    /// Decrypt a ciphertext blob.
    #[command(
        after_help = "Example:\n  envcrypt kms decrypt --ciphertext-blob \"$BLOB\" | jq -r .Plaintext | base64 -d"
    )]
    Decrypt {
        /// The ciphertext blob, base64-encoded.
        #[arg(long, value_name = "BASE64")]
        ciphertext_blob: String,
        /// The key the blob must be under (IncorrectKeyException otherwise).
        #[arg(short, long)]
        key: Option<String>,
        #[command(flatten)]
        context: ContextArg,
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
    },
}

#[derive(Debug, Args)]
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
    pub context: ContextArg,
}
