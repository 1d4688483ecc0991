//! The audit trail: one CloudTrail-shaped JSON event per local-store call, allowed or denied,
//! in a hash-chained log.
//!
//! `audit.log` holds one event per line. Each line ends with `"envcryptChainMac"`, an
//! HMAC-SHA-256 (under a key derived from the store root key) of the previous line's MAC and
//! this line's bytes without the MAC. Editing an event breaks its MAC; removing one breaks the
//! next event's MAC and the sequence numbers; adding one needs the root key. `audit.head`
//! records the last sequence number and MAC, and every append first checks that the log still
//! ends where the head says: a log cut short (or a head rolled back) makes every call fail,
//! closed, until an operator reviews it and acknowledges the loss ([`AuditLog::acknowledge`]).
//! The acknowledgment is an event of its own, naming the lost sequence numbers and who
//! acknowledged them, so the chain goes on and the loss stays visible to [`AuditLog::verify`].
//! Rolling back the log *and* its head together is caught only by a head recorded elsewhere
//! (SECURITY.md).
//!
//! Events carry key ids, encryption contexts, specs, principals and error messages, never key
//! material or plaintext; a parameter too large to record is replaced by a note of its size.
//! Appends are one `write` each on an `O_APPEND` file under a file lock, without fsync: an event
//! reaches the OS before the call returns, and the disk at the OS's pace.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{json, Map, Value};

use super::error::{AuditDamage, StoreError};
use super::principal::Principal;
use crate::crypto;
use crate::kms::KeyId;

pub(super) const LOG_FILE: &str = "audit.log";
use super::error::AUDIT_HEAD_FILE as HEAD_FILE;

const MAC_FIELD: &str = "envcryptChainMac";
const SEQUENCE_FIELD: &str = "envcryptSequence";
const MAC_HEX_LEN: usize = 64;
/// `,"envcryptChainMac":"<64 hex>"}`: every line ends with exactly this shape.
const SUFFIX_LEN: usize = 2 + MAC_FIELD.len() + 3 + MAC_HEX_LEN + 2;
/// How far the tail reader looks back at a time (most events take about 1 KiB); a line of any
/// length is still read whole.
const TAIL_CHUNK: u64 = 8 * 1024;
/// The most one request parameter may take in an event; a larger one is recorded by its size.
const MAX_RECORDED_PARAMETER: usize = 64 * 1024;
const GENESIS_MAC: [u8; 32] = [0; 32];
/// `{sequence:020} {mac hex}\n`.
const HEAD_LEN: usize = 20 + 1 + MAC_HEX_LEN + 1;
/// The event an acknowledgment of lost events is recorded as.
pub(super) const ACKNOWLEDGMENT: &str = "AuditLogGapAcknowledged";

/// Where the chain ends: the log's length, and its last event's sequence number and MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tail {
    len: u64,
    sequence: u64,
    mac: [u8; 32],
}

/// What `audit.head` records: the last event's sequence number and MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Head {
    sequence: u64,
    mac: [u8; 32],
}

impl Head {
    const GENESIS: Self = Self { sequence: 0, mac: GENESIS_MAC };
}

/// The audit log of one store.
pub(super) struct AuditLog {
    path: PathBuf,
    log: File,
    head: File,
    key: ring::hmac::Key,
    /// The tail this process last wrote, valid while the log and head still match it.
    tail: Mutex<Option<Tail>>,
}

/// What a successful `audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSummary {
    /// How many events the log holds.
    pub events: u64,
    /// The last event's sequence number (more than `events` if lost events were acknowledged).
    pub last_sequence: u64,
    /// The MAC of the last event (hex): record it elsewhere to detect a later rollback.
    pub head_mac: String,
    /// Every loss an operator acknowledged, oldest first.
    pub acknowledged: Vec<Acknowledgment>,
}

/// A loss at the end of the log that an operator reviewed and recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Acknowledgment {
    /// The sequence numbers lost (first and last), if events were lost.
    pub lost: Option<(u64, u64)>,
    /// Bytes of an incomplete last event removed.
    pub incomplete_bytes: u64,
    /// Who acknowledged it (a principal ARN).
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
    /// The acknowledgment's own sequence number.
    pub sequence: u64,
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
        /// The last event in the log.
        events: u64,
        /// The last event the head records.
        head: u64,
        /// The log file.
        path: PathBuf,
    },
    /// The head records an earlier state of the log than the log holds.
    #[error("audit log {}: it ends at event {events} but {HEAD_FILE} records event {head} with another MAC: the head was rolled back or replaced", path.display())]
    HeadMismatch {
        /// The last event in the log.
        events: u64,
        /// The event the head records.
        head: u64,
        /// The log file.
        path: PathBuf,
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
    /// Nothing is lost: the log ends where its head says.
    #[error("audit log {}: nothing to acknowledge, it ends at event {events} as {HEAD_FILE} records", path.display())]
    NothingToAcknowledge {
        /// The log file.
        path: PathBuf,
        /// Its last event.
        events: u64,
    },
    /// The log could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What walking the chain found: where it ends, and the MAC before that.
struct Walk {
    events: u64,
    last: Tail,
    previous_mac: [u8; 32],
    acknowledged: Vec<Acknowledgment>,
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

    /// Checks that the log still ends where its head says, before a call runs: a call that
    /// would change the store must not take effect while its event could not be recorded.
    pub(super) fn check_end(&self) -> Result<(), StoreError> {
        let mut cached = self.tail.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.log.lock_shared().map_err(StoreError::io("lock", &self.path))?;
        let result = (|| {
            let len = self.log.metadata().map_err(StoreError::io("inspect", &self.path))?.len();
            let head = self.read_head()?;
            match *cached {
                Some(tail) if tail.len == len && tail.sequence == head.sequence && tail.mac == head.mac => Ok(tail),
                _ => self.checked_tail(len, head),
            }
        })();
        let _ = self.log.unlock();
        *cached = result.as_ref().ok().copied();
        result.map(drop)
    }

    fn damaged(&self, problem: AuditDamage) -> StoreError {
        StoreError::AuditLogDamaged { path: self.path.clone(), problem }
    }

    /// Appends one event, chaining it to the last one (whichever process wrote that), after
    /// checking that the log still ends where its head says: a loss is never papered over.
    pub(super) fn append(&self, mut event: Event<'_>) -> Result<(), StoreError> {
        let mut cached = self.tail.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.log.lock().map_err(StoreError::io("lock", &self.path))?;
        let result = (|| {
            let len = self.log.metadata().map_err(StoreError::io("inspect", &self.path))?.len();
            let head = self.read_head()?;
            let tail = match *cached {
                Some(tail) if tail.len == len && tail.sequence == head.sequence && tail.mac == head.mac => tail,
                _ => self.checked_tail(len, head)?,
            };
            event.sequence = tail.sequence + 1;
            let body = serde_json::to_vec(&event).expect("an event serializes");
            self.write_event(tail, body)
        })();
        let _ = self.log.unlock();
        *cached = result.as_ref().ok().copied();
        result.map(drop)
    }

    /// Appends an event body after `tail` and records it in the head.
    fn write_event(&self, tail: Tail, body: Vec<u8>) -> Result<Tail, StoreError> {
        let sequence = tail.sequence + 1;
        let mac = chain_mac(&self.key, &tail.mac, &body);
        let line = seal_line(body, &mac);
        (&self.log).write_all(&line).map_err(StoreError::io("append to", &self.path))?;
        let head = format!("{sequence:020} {}\n", hex::encode(mac));
        self.head.write_all_at(head.as_bytes(), 0).map_err(StoreError::io("write", self.head_path()))?;
        Ok(Tail { len: tail.len + line.len() as u64, sequence, mac })
    }

    fn head_path(&self) -> PathBuf {
        self.path.with_file_name(HEAD_FILE)
    }

    fn read_head(&self) -> Result<Head, StoreError> {
        let mut bytes = [0u8; HEAD_LEN];
        let read = self.head.read_at(&mut bytes, 0).map_err(StoreError::io("read", self.head_path()))?;
        if read == 0 {
            return Ok(Head::GENESIS);
        }
        let text = std::str::from_utf8(&bytes[..read]).ok();
        let parsed = text.and_then(|t| {
            let (sequence, mac) = t.trim_end().split_once(' ')?;
            Some(Head { sequence: sequence.parse().ok()?, mac: parse_mac(mac).ok()? })
        });
        parsed.ok_or_else(|| self.damaged(AuditDamage::UnreadableHead))
    }

    /// Reads the log's last event and checks it against the head: the same event, or the one
    /// after it chained to it (a crash between writing an event and its head).
    fn checked_tail(&self, len: u64, head: Head) -> Result<Tail, StoreError> {
        if len == 0 {
            return match head {
                Head::GENESIS => Ok(Tail { len, sequence: 0, mac: GENESIS_MAC }),
                _ => Err(self.damaged(AuditDamage::Diverged { log_events: 0, head_events: head.sequence })),
            };
        }
        let mut last_byte = [0u8; 1];
        self.log.read_exact_at(&mut last_byte, len - 1).map_err(StoreError::io("read", &self.path))?;
        if last_byte != *b"\n" {
            return Err(self.damaged(AuditDamage::IncompleteLastEvent));
        }
        let line = self.line_ending_at(len - 1)?;
        let (event, mac) = open_line(&line).map_err(|why| self.damaged(AuditDamage::UnreadableLastEvent(why)))?;
        let sequence = event
            .get(SEQUENCE_FIELD)
            .and_then(Value::as_u64)
            .ok_or_else(|| self.damaged(AuditDamage::UnreadableLastEvent("no sequence number".into())))?;
        let same = sequence == head.sequence && mac == head.mac;
        let next = sequence == head.sequence + 1
            && crypto::constant_time_eq(&chain_mac(&self.key, &head.mac, &event_body(&line)), &mac);
        if !same && !next {
            return Err(self.damaged(AuditDamage::Diverged { log_events: sequence, head_events: head.sequence }));
        }
        Ok(Tail { len, sequence, mac })
    }

    /// The line whose newline is at offset `newline`, whatever its length: its start is found
    /// reading backwards a chunk at a time, then a line longer than a chunk is read at once.
    fn line_ending_at(&self, newline: u64) -> Result<Vec<u8>, StoreError> {
        let read_at =
            |buf: &mut [u8], at: u64| self.log.read_exact_at(buf, at).map_err(StoreError::io("read", &self.path));
        let mut chunk = vec![0u8; TAIL_CHUNK as usize];
        let mut end = newline;
        loop {
            let from = end.saturating_sub(TAIL_CHUNK);
            let window = &mut chunk[..usize::try_from(end - from).expect("a chunk is at most TAIL_CHUNK")];
            read_at(window, from)?;
            let found = window.iter().rposition(|&b| b == b'\n');
            if found.is_none() && from > 0 {
                end = from;
                continue;
            }
            let start = found.map_or(from, |i| from + i as u64 + 1);
            if end == newline {
                let offset = usize::try_from(start - from).expect("within the chunk");
                return Ok(window[offset..].to_vec());
            }
            let len = usize::try_from(newline - start)
                .map_err(|_| self.damaged(AuditDamage::UnreadableLastEvent("it is longer than memory".into())))?;
            let mut line = vec![0u8; len];
            read_at(&mut line, start)?;
            return Ok(line);
        }
    }

    /// Walks the whole chain: every MAC, every sequence number (an acknowledged loss may skip
    /// the numbers it names, and only those).
    fn walk(&self, log: impl Read) -> Result<Walk, AuditError> {
        let mut walk = Walk {
            events: 0,
            last: Tail { len: 0, sequence: 0, mac: GENESIS_MAC },
            previous_mac: GENESIS_MAC,
            acknowledged: Vec::new(),
        };
        for (index, line) in BufReader::new(log).split(b'\n').enumerate() {
            let line = line.map_err(StoreError::io("read", &self.path))?;
            let number = index as u64 + 1;
            let malformed = |reason: String| AuditError::Malformed { path: self.path.clone(), line: number, reason };
            let (event, mac) = open_line(&line).map_err(malformed)?;
            if !crypto::constant_time_eq(&chain_mac(&self.key, &walk.last.mac, &event_body(&line)), &mac) {
                return Err(AuditError::Tampered { path: self.path.clone(), line: number });
            }
            let expected = walk.last.sequence + 1;
            let found = event.get(SEQUENCE_FIELD).and_then(Value::as_u64).unwrap_or(0);
            let acknowledgment = acknowledgment_of(&event, found);
            let lost_ok = acknowledgment.as_ref().is_some_and(|a| a.lost == Some((expected, found - 1)));
            if found != expected && !lost_ok {
                return Err(AuditError::Gap { path: self.path.clone(), line: number, expected, found });
            }
            walk.acknowledged.extend(acknowledgment);
            walk.previous_mac = walk.last.mac;
            walk.last = Tail { len: walk.last.len + line.len() as u64 + 1, sequence: found, mac };
            walk.events = number;
        }
        Ok(walk)
    }

    /// Checks every event's MAC and sequence number, and the head.
    pub(super) fn verify(&self) -> Result<AuditSummary, AuditError> {
        let walk = self.walk(File::open(&self.path).map_err(StoreError::io("open", &self.path))?)?;
        let head = self.read_head()?;
        let last = walk.last;
        let path = self.path.clone();
        if head.sequence > last.sequence {
            return Err(AuditError::Truncated { path, events: last.sequence, head: head.sequence });
        }
        let head_matches = (head.sequence == last.sequence && head.mac == last.mac)
            || (head.sequence + 1 == last.sequence && head.mac == walk.previous_mac);
        if !head_matches {
            return Err(AuditError::HeadMismatch { path, events: last.sequence, head: head.sequence });
        }
        Ok(AuditSummary {
            events: walk.events,
            last_sequence: last.sequence,
            head_mac: hex::encode(last.mac),
            acknowledged: walk.acknowledged,
        })
    }

    /// Records, as an event of `principal`'s, what is missing at the end of the log: the events
    /// its head counted beyond its last one, and any incomplete event (whose bytes are removed).
    /// The rest of the log must verify: an edit inside it is not a loss to acknowledge. Calls
    /// work again afterwards, and [`verify`](Self::verify) reports the loss.
    pub(super) fn acknowledge(
        &self,
        principal: &Principal,
        region: &str,
        now: u64,
    ) -> Result<Acknowledgment, AuditError> {
        let mut cached = self.tail.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *cached = None;
        self.log.lock().map_err(StoreError::io("lock", &self.path))?;
        let result = (|| {
            let len = self.log.metadata().map_err(StoreError::io("inspect", &self.path))?.len();
            let complete = if len == 0 { 0 } else { self.line_ending_before(len)? };
            let incomplete_bytes = len - complete;
            let file = File::open(&self.path).map_err(StoreError::io("open", &self.path))?;
            let walk = self.walk(file.take(complete))?;
            let head = self.read_head()?;
            let last = walk.last;
            if incomplete_bytes == 0 && head.sequence == last.sequence && head.mac == last.mac {
                return Err(AuditError::NothingToAcknowledge { path: self.path.clone(), events: last.sequence });
            }
            if incomplete_bytes > 0 {
                self.log.set_len(complete).map_err(StoreError::io("cut the incomplete event from", &self.path))?;
            }
            let lost = (head.sequence > last.sequence).then_some((last.sequence + 1, head.sequence));
            let after = Tail { len: complete, sequence: last.sequence.max(head.sequence), mac: last.mac };
            let mut call = Call::new(ACKNOWLEDGMENT, false)
                .param("lostEvents", lost.map_or(Value::Null, |(from, to)| json!({ "from": from, "to": to })))
                .param("logEndedAt", last.sequence)
                .param("headRecorded", head.sequence)
                .param("incompleteBytesRemoved", incomplete_bytes);
            call.resource(&self.path.display().to_string());
            let mut event = call.event(Who::Principal(principal), None, region, now, None);
            event.sequence = after.sequence + 1;
            let body = serde_json::to_vec(&event).expect("an event serializes");
            let written = self.write_event(after, body)?;
            Ok(Acknowledgment {
                lost,
                incomplete_bytes,
                by: principal.arn().to_owned(),
                at: rfc3339(now),
                sequence: written.sequence,
            })
        })();
        let _ = self.log.unlock();
        result
    }

    /// The length of the log's complete lines, up to `len`: where its last newline ends.
    fn line_ending_before(&self, len: u64) -> Result<u64, StoreError> {
        let mut end = len;
        while end > 0 {
            let start = end.saturating_sub(TAIL_CHUNK);
            let mut chunk = vec![0u8; usize::try_from(end - start).expect("a chunk is at most TAIL_CHUNK")];
            self.log.read_exact_at(&mut chunk, start).map_err(StoreError::io("read", &self.path))?;
            if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
                return Ok(start + i as u64 + 1);
            }
            end = start;
        }
        Ok(0)
    }
}

/// An acknowledgment, if `event` is one.
fn acknowledgment_of(event: &Map<String, Value>, sequence: u64) -> Option<Acknowledgment> {
    if event.get("eventName").and_then(Value::as_str) != Some(ACKNOWLEDGMENT) {
        return None;
    }
    let parameters = &event["requestParameters"];
    let lost = parameters["lostEvents"]
        .as_object()
        .and_then(|range| Some((range.get("from")?.as_u64()?, range.get("to")?.as_u64()?)));
    Some(Acknowledgment {
        lost,
        incomplete_bytes: parameters["incompleteBytesRemoved"].as_u64().unwrap_or(0),
        by: event["userIdentity"]["arn"].as_str().unwrap_or_default().to_owned(),
        at: event["eventTime"].as_str().unwrap_or_default().to_owned(),
        sequence,
    })
}

fn parse_mac(hex_text: &str) -> Result<[u8; 32], String> {
    let mut mac = [0u8; 32];
    // Decoded as bytes: a 64-byte string of multi-byte characters is refused, not sliced.
    hex::decode_to_slice(hex_text, &mut mac).map_err(|_| "the chain MAC is not 64 hex digits".to_owned())?;
    Ok(mac)
}

/// The bytes a line's MAC covers: the event without its MAC field.
fn event_body(line: &[u8]) -> Vec<u8> {
    [&line[..line.len().saturating_sub(SUFFIX_LEN)], b"}"].concat()
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
    let mac = parse_mac(mac_hex)?;
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

    /// Adds a request parameter; one too large to record is recorded by its size instead, so
    /// that no request can make an event (or the log's tail) unmanageable.
    pub(super) fn param(mut self, name: &str, value: impl Into<Value>) -> Self {
        let value = value.into();
        let size = serde_json::to_string(&value).map_or(usize::MAX, |text| text.len());
        let recorded = if size > MAX_RECORDED_PARAMETER {
            json!({ "envcryptOmitted": format!("{size} bytes, more than the {MAX_RECORDED_PARAMETER} an event records") })
        } else {
            value
        };
        self.request.insert(name.into(), recorded);
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

    /// The CloudTrail-shaped event; `origin` is where a served request came from, and `error`
    /// the KMS exception name and message it ended with.
    pub(super) fn event<'a>(
        &'a self,
        who: Who<'a>,
        origin: Option<&'a RequestOrigin>,
        region: &'a str,
        time: u64,
        error: Option<(&str, String)>,
    ) -> Event<'a> {
        let [request_id, event_id] = two_uuids();
        let access_key_id = origin.map(|o| o.access_key_id.as_str());
        let user_identity = match who {
            Who::Principal(principal) => Identity {
                kind: principal.kind().identity_type(),
                principal_id: principal.arn(),
                arn: principal.arn(),
                account_id: principal.account(),
                access_key_id,
                user_name: principal.name(),
            },
            // A request whose signature did not verify: CloudTrail's "Unknown" identity.
            Who::Unknown { account } => Identity {
                kind: "Unknown",
                principal_id: access_key_id.unwrap_or_default(),
                arn: "",
                account_id: account,
                access_key_id,
                user_name: "",
            },
            Who::Store { account } => Identity {
                kind: "AWSService",
                principal_id: "",
                arn: "",
                account_id: account,
                access_key_id: None,
                user_name: "",
            },
        };
        let event_type = if matches!(who, Who::Store { .. }) { "AwsServiceEvent" } else { "AwsApiCall" };
        let user_identity_account = user_identity.account_id;
        Event {
            event_version: "1.08",
            user_identity,
            event_time: rfc3339(time),
            event_source: "kms.envcrypt.local",
            event_name: self.name,
            aws_region: region,
            source_ip_address: origin.map(|o| o.source_ip.as_str()),
            user_agent: origin.map_or(concat!("envcrypt/", env!("CARGO_PKG_VERSION")), |o| o.user_agent.as_str()),
            request_parameters: &self.request,
            response_elements: if error.is_some() { &Value::Null } else { &self.response },
            error_code: error.as_ref().map(|(name, _)| (*name).to_owned()),
            error_message: error.map(|(_, message)| bounded_message(&message)),
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
            event_type,
            management_event: true,
            recipient_account_id: user_identity_account,
            event_category: "Management",
            sequence: 0,
        }
    }
}

/// An error message as an event records it: messages may echo a request's parameters, which
/// are bounded the same way.
fn bounded_message(message: &str) -> String {
    const MAX_CHARS: usize = 4096;
    match message.char_indices().nth(MAX_CHARS) {
        None => message.to_owned(),
        Some((cut, _)) => format!("{}… ({} bytes in all)", &message[..cut], message.len()),
    }
}

/// Who made a call.
#[derive(Debug, Clone, Copy)]
pub(super) enum Who<'a> {
    /// A principal, asserted or authenticated.
    Principal(&'a Principal),
    /// Nobody yet known: the request's signature did not verify.
    Unknown {
        /// The store's account.
        account: &'a str,
    },
    /// The store itself (a scheduled rotation), recorded as CloudTrail records KMS's own
    /// events: an `AwsServiceEvent` with no principal.
    Store {
        /// The store's account.
        account: &'a str,
    },
}

/// Where an authenticated request came from, as a server knows it: recorded in each event of
/// the call, as CloudTrail records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestOrigin {
    /// The access key the request was signed with.
    pub access_key_id: String,
    /// The client's address.
    pub source_ip: String,
    /// The client's `User-Agent`.
    pub user_agent: String,
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
    #[serde(rename = "sourceIPAddress", skip_serializing_if = "Option::is_none")]
    source_ip_address: Option<&'a str>,
    user_agent: &'a str,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    access_key_id: Option<&'a str>,
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
    [0, 16].map(|start| KeyId::from_random(bytes[start..start + 16].try_into().expect("16 of 32 bytes")).to_string())
}

/// A time as events record it: RFC 3339 to the second, or, for a time RFC 3339 cannot write
/// (past the year 9999, from a request), the seconds since the Unix epoch.
pub(super) fn rfc3339(secs: u64) -> String {
    const LAST_RFC3339_SECOND: u64 = 253_402_300_799;
    if secs > LAST_RFC3339_SECOND {
        return format!("{secs} seconds since the Unix epoch");
    }
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `governance` fuzz target: a chain MAC of 64 bytes that are not all ASCII
    /// was sliced inside a character and panicked. It is refused as not hex.
    #[test]
    fn a_chain_mac_of_multibyte_characters_is_refused_not_sliced() {
        let multibyte = "é".repeat(32);
        assert_eq!(multibyte.len(), MAC_HEX_LEN);
        assert!(parse_mac(&multibyte).is_err());
        assert!(parse_mac(&"0g".repeat(32)).is_err());
        assert_eq!(parse_mac(&"0a".repeat(32)), Ok([0x0a; 32]));
    }

    /// The tail reader finds a last line whatever its length and wherever the chunks fall.
    #[test]
    fn the_last_line_is_read_whole_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path(), ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &[7; 32])).unwrap();
        let chunk = usize::try_from(TAIL_CHUNK).unwrap();
        let mut written = 0u64;
        for len in [0, 1, 10, chunk - 1, chunk, chunk + 1, 3 * chunk + 17] {
            let line: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            (&log.log).write_all(&line).unwrap();
            (&log.log).write_all(b"\n").unwrap();
            written += len as u64 + 1;
            assert_eq!(log.line_ending_at(written - 1).unwrap(), line, "a line of {len} bytes");
        }
    }
}
