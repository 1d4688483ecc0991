//! The audit trail: one CloudTrail-shaped JSON event per local-store call, allowed or denied,
//! in a hash-chained log.
//!
//! `audit.log` holds one event per line. Each line ends with `"envcryptChainMac"`, an
//! HMAC-SHA-256 (under a key derived from the store root key) of the previous line's MAC and
//! this line's bytes without the MAC. Editing an event breaks its MAC; removing one breaks the
//! next event's MAC and the sequence numbers; adding one needs the root key. `audit.head`
//! records the last sequence number and MAC, so removing events from the end is caught too,
//! unless the head is rolled back with them: record the head that `audit verify` prints
//! somewhere else to catch that (SECURITY.md).
//!
//! Events carry key ids, encryption contexts, specs, principals and error messages, never key
//! material or plaintext. Appends are one `write` each on an `O_APPEND` file under a file
//! lock, without fsync: an event reaches the OS before the call returns, and the disk at the
//! OS's pace.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Map, Value};

use super::principal::Principal;
use super::StoreError;
use crate::crypto;
use crate::kms::KmsError;

pub(super) const LOG_FILE: &str = "audit.log";
pub(super) const HEAD_FILE: &str = "audit.head";

const MAC_FIELD: &str = "envcryptChainMac";
const SEQUENCE_FIELD: &str = "envcryptSequence";
const MAC_HEX_LEN: usize = 64;
/// `,"envcryptChainMac":"<64 hex>"}`: every line ends with exactly this shape.
const SUFFIX_LEN: usize = 2 + MAC_FIELD.len() + 3 + MAC_HEX_LEN + 2;
/// The longest line the tail reader looks back for: a 32 KiB policy and an 8 KiB context,
/// JSON-escaped, fit with room to spare.
const MAX_LINE: u64 = 512 * 1024;
const GENESIS_MAC: [u8; 32] = [0; 32];

/// Where the chain ends, as far as this process knows.
#[derive(Debug, Clone, Copy)]
struct Tail {
    len: u64,
    sequence: u64,
    mac: [u8; 32],
}

/// The audit log of one store.
pub(super) struct AuditLog {
    path: PathBuf,
    log: File,
    head: File,
    key: ring::hmac::Key,
    tail: Mutex<Option<Tail>>,
}

/// What a successful `audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSummary {
    /// How many events the log holds.
    pub events: u64,
    /// The MAC of the last event (hex): record it elsewhere to detect a later rollback.
    pub head_mac: String,
}

/// Why an audit log does not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// An event's MAC does not match: it was edited, or an event before it was removed.
    #[error("audit log {}: event on line {line} does not match its chain MAC: it was edited, or an event before it was removed or reordered", path.display())]
    Tampered {
        /// The log file.
        path: PathBuf,
        /// The 1-based line.
        line: u64,
    },
    /// The sequence numbers skip.
    #[error("audit log {}: line {line} holds event {found} where event {expected} belongs: events were removed", path.display())]
    Gap {
        /// The log file.
        path: PathBuf,
        /// The 1-based line.
        line: u64,
        /// The sequence number that line should hold.
        expected: u64,
        /// The one it holds.
        found: u64,
    },
    /// The log ends before the head says it does.
    #[error("audit log {}: it ends at event {events} but {HEAD_FILE} records event {head}: events were removed from its end", path.display())]
    Truncated {
        /// The log file.
        path: PathBuf,
        /// Events in the log.
        events: u64,
        /// The last event the head records.
        head: u64,
    },
    /// A line is not an event envcrypt wrote.
    #[error("audit log {}: line {line} is not an audit event ({reason})", path.display())]
    Malformed {
        /// The log file.
        path: PathBuf,
        /// The 1-based line.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// The log could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AuditLog {
    /// Opens (creating) the log and head files of the store at `dir`.
    pub(super) fn open(dir: &Path, key: ring::hmac::Key) -> Result<Self, StoreError> {
        let open = |name: &str, append: bool| {
            let path = dir.join(name);
            OpenOptions::new()
                .read(true)
                .append(append)
                .write(!append)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)
                .map_err(StoreError::io("open", path))
        };
        Ok(Self {
            path: dir.join(LOG_FILE),
            log: open(LOG_FILE, true)?,
            head: open(HEAD_FILE, false)?,
            key,
            tail: Mutex::new(None),
        })
    }

    /// Appends one event, chaining it to the last one (whichever process wrote that).
    pub(super) fn append(&self, mut event: Event<'_>) -> Result<(), StoreError> {
        let mut cached = self.tail.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.log.lock().map_err(StoreError::io("lock", &self.path))?;
        let result = (|| {
            let len = self.log.metadata().map_err(StoreError::io("inspect", &self.path))?.len();
            let tail = match *cached {
                Some(tail) if tail.len == len => tail,
                _ => self.read_tail(len)?,
            };
            let sequence = tail.sequence + 1;
            event.sequence = sequence;
            let body = serde_json::to_vec(&event).expect("an event serializes");
            let mac = chain_mac(&self.key, &tail.mac, &body);
            let line = seal_line(body, &mac);
            (&self.log).write_all(&line).map_err(StoreError::io("append to", &self.path))?;
            let head = format!("{sequence:020} {}\n", hex::encode(mac));
            self.head.write_all_at(head.as_bytes(), 0).map_err(StoreError::io("write", self.head_path()))?;
            Ok(Tail { len: len + line.len() as u64, sequence, mac })
        })();
        let _ = self.log.unlock();
        *cached = result.as_ref().ok().copied();
        result.map(drop)
    }

    fn head_path(&self) -> PathBuf {
        self.path.with_file_name(HEAD_FILE)
    }

    /// Reads the last event of a log of `len` bytes.
    fn read_tail(&self, len: u64) -> Result<Tail, StoreError> {
        if len == 0 {
            return Ok(Tail { len, sequence: 0, mac: GENESIS_MAC });
        }
        let start = len.saturating_sub(MAX_LINE);
        let mut window = vec![0u8; usize::try_from(len - start).expect("the window is at most MAX_LINE")];
        self.log.read_exact_at(&mut window, start).map_err(StoreError::io("read", &self.path))?;
        let corrupt = |why: &str| {
            StoreError::corrupt(
                &self.path,
                format!("{why}; `envcrypt audit verify` shows where, and the damaged end can be cut off after review"),
            )
        };
        let Some(body) = window.strip_suffix(b"\n") else {
            return Err(corrupt("the last event is incomplete (a crash while writing it?)"));
        };
        let last = body.rsplit(|&b| b == b'\n').next().expect("rsplit yields at least one piece");
        if start > 0 && last.len() == body.len() {
            return Err(corrupt("the last line is longer than any event"));
        }
        let (event, mac) = open_line(last).map_err(|why| corrupt(&why))?;
        let sequence = event.get(SEQUENCE_FIELD).and_then(Value::as_u64).ok_or_else(|| corrupt("no sequence"))?;
        Ok(Tail { len, sequence, mac })
    }

    /// Checks every event's MAC and sequence number, and the head.
    pub(super) fn verify(&self) -> Result<AuditSummary, AuditError> {
        let reader = BufReader::new(File::open(&self.path).map_err(StoreError::io("open", &self.path))?);
        let mut previous = GENESIS_MAC;
        let mut events = 0u64;
        for (index, line) in reader.split(b'\n').enumerate() {
            let line = line.map_err(StoreError::io("read", &self.path))?;
            let number = index as u64 + 1;
            let malformed = |reason: String| AuditError::Malformed { path: self.path.clone(), line: number, reason };
            let (event, mac) = open_line(&line).map_err(malformed)?;
            let body = &line[..line.len() - SUFFIX_LEN];
            let expected = chain_mac(&self.key, &previous, &[body, b"}"].concat());
            if !crypto::constant_time_eq(&expected, &mac) {
                return Err(AuditError::Tampered { path: self.path.clone(), line: number });
            }
            let found = event.get(SEQUENCE_FIELD).and_then(Value::as_u64).unwrap_or(0);
            if found != number {
                return Err(AuditError::Gap { path: self.path.clone(), line: number, expected: number, found });
            }
            previous = mac;
            events = number;
        }
        let mut head = [0u8; 20];
        let read = self.head.read_at(&mut head, 0).map_err(StoreError::io("read", self.head_path()))?;
        let head_sequence =
            std::str::from_utf8(&head[..read]).ok().and_then(|n| n.trim_start_matches('0').parse().ok()).unwrap_or(0);
        if head_sequence > events {
            return Err(AuditError::Truncated { path: self.path.clone(), events, head: head_sequence });
        }
        Ok(AuditSummary { events, head_mac: hex::encode(previous) })
    }
}

/// Reads every event of the log at `dir`, without checking the chain (for `audit list`).
pub fn read_events(dir: &Path) -> Result<Vec<Value>, AuditError> {
    let path = dir.join(LOG_FILE);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io("open", &path)(e).into()),
    };
    let mut events = Vec::new();
    for (index, line) in BufReader::new(file).split(b'\n').enumerate() {
        let line = line.map_err(StoreError::io("read", &path))?;
        let (event, _) = open_line(&line).map_err(|reason| AuditError::Malformed {
            path: path.clone(),
            line: index as u64 + 1,
            reason,
        })?;
        events.push(Value::Object(event));
    }
    Ok(events)
}

fn chain_mac(key: &ring::hmac::Key, previous: &[u8; 32], body: &[u8]) -> [u8; 32] {
    let mut context = ring::hmac::Context::with_key(key);
    context.update(previous);
    context.update(body);
    context.sign().as_ref().try_into().expect("HMAC-SHA-256 is 32 bytes")
}

/// `{...}` becomes `{...,"envcryptChainMac":"<hex>"}\n`.
fn seal_line(mut body: Vec<u8>, mac: &[u8; 32]) -> Vec<u8> {
    body.pop();
    body.extend_from_slice(format!(",\"{MAC_FIELD}\":\"{}\"}}\n", hex::encode(mac)).as_bytes());
    body
}

/// Splits a line into its event and its MAC.
pub(super) fn open_line(line: &[u8]) -> Result<(Map<String, Value>, [u8; 32]), String> {
    let event: Map<String, Value> = serde_json::from_slice(line).map_err(|e| format!("not a JSON object: {e}"))?;
    let mac_hex = event.get(MAC_FIELD).and_then(Value::as_str).ok_or("no chain MAC")?;
    let suffix = format!(",\"{MAC_FIELD}\":\"{mac_hex}\"}}");
    if mac_hex.len() != MAC_HEX_LEN || !line.ends_with(suffix.as_bytes()) {
        return Err("the chain MAC is not the last field".into());
    }
    let mut mac = [0u8; 32];
    for (i, byte) in mac.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&mac_hex[2 * i..2 * i + 2], 16).map_err(|_| "the chain MAC is not hex")?;
    }
    Ok((event, mac))
}

/// One call being recorded: the request as the caller made it, and what it touched.
pub(super) struct Call {
    name: &'static str,
    read_only: bool,
    request: Map<String, Value>,
    response: Value,
    resources: Vec<String>,
}

impl Call {
    pub(super) fn new(name: &'static str, read_only: bool) -> Self {
        Self { name, read_only, request: Map::new(), response: Value::Null, resources: Vec::new() }
    }

    /// The KMS operation name.
    pub(super) fn name(&self) -> &'static str {
        self.name
    }

    /// Adds a request parameter.
    pub(super) fn param(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.request.insert(name.into(), value.into());
        self
    }

    /// Records a key the call resolved to.
    pub(super) fn resource(&mut self, key_arn: &str) {
        if !self.resources.iter().any(|r| r == key_arn) {
            self.resources.push(key_arn.to_owned());
        }
    }

    /// Records the (non-secret) response.
    pub(super) fn respond(&mut self, response: Value) {
        self.response = response;
    }

    /// The CloudTrail-shaped event.
    pub(super) fn event<'a>(
        &'a self,
        principal: &'a Principal,
        region: &'a str,
        time: u64,
        error: Option<&KmsError>,
    ) -> Event<'a> {
        let [request_id, event_id] = two_uuids();
        Event {
            event_version: "1.08",
            user_identity: Identity {
                kind: principal.kind().identity_type(),
                principal_id: principal.arn(),
                arn: principal.arn(),
                account_id: principal.account(),
                user_name: principal.name(),
            },
            event_time: rfc3339(time),
            event_source: "kms.envcrypt.local",
            event_name: self.name,
            aws_region: region,
            user_agent: concat!("envcrypt/", env!("CARGO_PKG_VERSION")),
            request_parameters: &self.request,
            response_elements: if error.is_some() { &Value::Null } else { &self.response },
            error_code: error.map(|e| e.kms_name().to_owned()),
            error_message: error.map(ToString::to_string),
            request_id,
            event_id,
            read_only: self.read_only,
            resources: self
                .resources
                .iter()
                .map(|arn| Resource {
                    account_id: arn.split(':').nth(4).unwrap_or_default(),
                    kind: "AWS::KMS::Key",
                    arn,
                })
                .collect(),
            event_type: "AwsApiCall",
            management_event: true,
            recipient_account_id: principal.account(),
            event_category: "Management",
            sequence: 0,
        }
    }
}

/// One audit event, in CloudTrail's field names and order, plus envcrypt's sequence number.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Event<'a> {
    event_version: &'static str,
    user_identity: Identity<'a>,
    event_time: String,
    event_source: &'static str,
    event_name: &'static str,
    aws_region: &'a str,
    user_agent: &'static str,
    request_parameters: &'a Map<String, Value>,
    response_elements: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<String>,
    #[serde(rename = "requestID")]
    request_id: String,
    #[serde(rename = "eventID")]
    event_id: String,
    read_only: bool,
    resources: Vec<Resource<'a>>,
    event_type: &'static str,
    management_event: bool,
    recipient_account_id: &'a str,
    event_category: &'static str,
    #[serde(rename = "envcryptSequence")]
    sequence: u64,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Identity<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    principal_id: &'a str,
    arn: &'a str,
    account_id: &'a str,
    user_name: &'a str,
}

#[derive(serde::Serialize)]
struct Resource<'a> {
    #[serde(rename = "accountId")]
    account_id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "ARN")]
    arn: &'a str,
}

/// Two random (version 4) UUIDs from one call to the system RNG.
fn two_uuids() -> [String; 2] {
    let bytes: [u8; 32] = crate::crypto::random_array();
    [0, 16].map(|start| super::uuid_v4(bytes[start..start + 16].try_into().expect("16 of 32 bytes")))
}

fn rfc3339(secs: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs)).to_string()
}
