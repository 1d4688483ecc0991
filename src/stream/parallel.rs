//! Sealing and opening a whole stream on several threads, in order and in bounded memory.
//!
//! Each worker owns one frame buffer and loops: take the input lock and read the next frame
//! (so reads stay sequential and every frame gets the next sequence number), encrypt or
//! decrypt it without any lock, then wait for its turn and write it. Reading and writing are
//! serial, the AES-GCM work is parallel, and at most one frame per worker is in flight. The
//! calling thread is the first worker; the others start once a frame that is not the last has
//! been read, so a message of one frame (a small file) never pays for starting threads.
//!
//! Errors carry the position of the frame they belong to, and the earliest one wins: every
//! frame that was read is still processed, and every frame before the failure is still
//! written, so the output and the error are those of a single thread, whatever the scheduling.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, Once, PoisonError};

use super::decrypt::{self, FrameReader, OpenedHeader, SealedFrame};
use super::encrypt::{self, FrameBuffer, NewMessage, SigningOutput};
use super::error::Error;
use super::options::{OpenOptions, SealOptions};
use crate::context::EncryptionContext;
use crate::keyring::{Keyring, OpenPolicy};
use crate::message::frame::FrameKind;
use crate::message::{Header, MessageKeys};
use crate::secret_buffer::SecretBuffer;

/// What [`seal`] did.
#[derive(Debug)]
pub struct Sealed {
    /// The header written.
    pub header: Header,
    /// Plaintext bytes sealed.
    pub plaintext_bytes: u64,
}

/// What [`open`] did.
#[derive(Debug)]
pub struct Opened {
    /// The verified header.
    pub header: Header,
    /// The ARN of the key that opened the data key.
    pub key_arn: String,
    /// Plaintext bytes written.
    pub plaintext_bytes: u64,
}

/// Seals everything `input` yields into one message on `output`, encrypting frames on
/// `options.threads` threads.
///
/// On error, `output` holds an incomplete message that every reader refuses; callers that
/// must not leave one behind write to a temporary file.
pub fn seal<R: Read + Send, W: Write + Send>(
    input: R,
    output: W,
    keyring: &Keyring,
    context: &EncryptionContext,
    options: &SealOptions,
) -> Result<Sealed, Error> {
    let NewMessage { header, keys, signer } = encrypt::new_header(keyring, context, options)?;
    let mut output = SigningOutput::new(output, signer);
    output.write_all(&header.to_bytes()).map_err(Error::Output)?;
    let body = header.body();
    let frame_length = usize::try_from(body.frame_length).expect("u32 fits in usize");
    let source = SealSource { input, next_sequence: 1, total: 0, declared: options.plaintext_length };
    // A short declared message needs no full frame buffer: one byte past the declared length
    // is room enough to see that the input is longer than declared.
    let buffer_len = options
        .plaintext_length
        .map_or(frame_length, |n| frame_length.min(usize::try_from(n.saturating_add(1)).unwrap_or(usize::MAX)));
    let new_job = || SealJob {
        keys: &keys,
        message_id: body.message_id.as_bytes(),
        frame: FrameBuffer::new(buffer_len),
        frame_length,
        kind: FrameKind::Regular,
        sequence: 0,
        len: 0,
    };
    let (source, _) = run(options.threads, source, &mut output, new_job)?;
    output.finish().map_err(Error::Output)?;
    let plaintext_bytes = source.total;
    Ok(Sealed { header, plaintext_bytes })
}

/// Opens one message from `input` into `output`, decrypting frames on `options.threads`
/// threads. Only authenticated frames are written, in order; the final frame is written only
/// after the signature (if any) verifies and the input has ended.
///
/// On error, `output` may hold the authenticated frames before the failure; callers that must
/// not expose a partial result write to a temporary file and keep it only on success.
pub fn open<R: Read + Send, W: Write + Send>(
    input: R,
    output: W,
    policy: &OpenPolicy,
    options: &OpenOptions,
) -> Result<Opened, Error> {
    let OpenedHeader { header, keys, key_arn, frames } = decrypt::open_header(input, policy, options)?;
    let message_id = header.body().message_id;
    let new_job = || OpenJob { keys: &keys, message_id: message_id.as_bytes(), buf: SecretBuffer::new(), frame: None };
    let (_, plaintext_bytes) = run(options.threads, frames, output, new_job)?;
    Ok(Opened { header, key_arn, plaintext_bytes })
}

/// One worker's frame: read under the input lock, then processed without any lock.
trait FrameJob<S>: Send {
    /// Reads the next frame from `source`; returns its sequence number and whether it is the last.
    fn read(&mut self, source: &mut S) -> Result<(u32, bool), Error>;

    /// Encrypts or decrypts the frame read; returns the bytes to write.
    fn process(&mut self) -> Result<&[u8], Error>;
}

struct SealSource<R> {
    input: R,
    next_sequence: u32,
    total: u64,
    declared: Option<u64>,
}

struct SealJob<'a> {
    keys: &'a MessageKeys,
    message_id: &'a [u8],
    frame: FrameBuffer,
    frame_length: usize,
    kind: FrameKind,
    sequence: u32,
    len: usize,
}

impl<R: Read> FrameJob<SealSource<R>> for SealJob<'_> {
    fn read(&mut self, source: &mut SealSource<R>) -> Result<(u32, bool), Error> {
        let len = self.frame.fill(&mut source.input).map_err(Error::Input)?;
        source.total += len as u64;
        encrypt::check_declared_length(source.declared, source.total)?;
        self.sequence = source.next_sequence;
        self.len = len;
        // A full frame is always a regular frame (see `Encryptor`): the final frame holds
        // what is left, maybe nothing.
        self.kind = if len == self.frame_length { FrameKind::Regular } else { FrameKind::Final };
        if self.kind == FrameKind::Regular {
            source.next_sequence = encrypt::next_regular_sequence(self.sequence)?;
        }
        Ok((self.sequence, self.kind == FrameKind::Final))
    }

    fn process(&mut self) -> Result<&[u8], Error> {
        Ok(self.frame.seal(self.keys, self.message_id, self.kind, self.sequence, self.len))
    }
}

struct OpenJob<'a> {
    keys: &'a MessageKeys,
    message_id: &'a [u8],
    buf: SecretBuffer,
    frame: Option<SealedFrame>,
}

impl<R: Read> FrameJob<FrameReader<R>> for OpenJob<'_> {
    fn read(&mut self, source: &mut FrameReader<R>) -> Result<(u32, bool), Error> {
        self.frame = None;
        let frame = source.read_frame(&mut self.buf)?;
        let read = (frame.prefix.sequence, frame.is_last());
        self.frame = Some(frame);
        Ok(read)
    }

    fn process(&mut self) -> Result<&[u8], Error> {
        let frame = self.frame.as_ref().expect("process follows a successful read");
        frame.open(self.keys, self.message_id, &mut self.buf)?;
        Ok(&self.buf[..frame.len])
    }
}

struct InputSide<S> {
    source: S,
    /// The next sequence number to read, for positioning read errors.
    position: u32,
    done: bool,
}

struct OutputSide<W> {
    output: W,
    next: u32,
    written: u64,
    /// The earliest error by frame position.
    failure: Option<(u32, Error)>,
}

/// No frame has failed.
const NO_FAILURE: u64 = u64::MAX;

struct Pipeline<S, W> {
    input: Mutex<InputSide<S>>,
    output: Mutex<OutputSide<W>>,
    turn: Condvar,
    /// The position of the earliest failure (or [`NO_FAILURE`]): frames before it are still
    /// written, as one thread would have, and nothing after it.
    failed_at: AtomicU64,
}

/// Runs `threads` workers (the calling thread is one of them) until the last frame is written
/// or something fails. Returns the source and the bytes written.
fn run<S: Send, J: FrameJob<S>, W: Write + Send>(
    threads: usize,
    source: S,
    output: W,
    new_job: impl Fn() -> J + Sync,
) -> Result<(S, u64), Error> {
    let pipeline = Pipeline {
        input: Mutex::new(InputSide { source, position: 1, done: false }),
        output: Mutex::new(OutputSide { output, next: 1, written: 0, failure: None }),
        turn: Condvar::new(),
        failed_at: AtomicU64::new(NO_FAILURE),
    };
    // Starting and joining a thread costs more than sealing a small frame.
    std::thread::scope(|scope| {
        let helpers = Once::new();
        let start_helpers = || {
            helpers.call_once(|| {
                for _ in 1..threads {
                    // A thread the system refuses is one worker fewer, not a failure: the
                    // output is the same on any number of threads.
                    let helper = std::thread::Builder::new().spawn_scoped(scope, || pipeline.work(new_job(), &|| ()));
                    if helper.is_err() {
                        break;
                    }
                }
            });
        };
        pipeline.work(new_job(), &start_helpers);
    });
    let Pipeline { input, output, .. } = pipeline;
    let mut output = output.into_inner().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, error)) = output.failure.take() {
        return Err(error);
    }
    output.output.flush().map_err(Error::Output)?;
    let input = input.into_inner().unwrap_or_else(PoisonError::into_inner);
    Ok((input.source, output.written))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<S: Send, W: Write + Send> Pipeline<S, W> {
    fn failed_at(&self) -> u64 {
        self.failed_at.load(Ordering::Acquire)
    }

    /// Reads, processes and writes frames until the input ends or something fails, calling
    /// `more` whenever a frame that is not the last has been read.
    fn work<J: FrameJob<S>>(&self, mut job: J, more: &dyn Fn()) {
        while self.failed_at() == NO_FAILURE {
            let (sequence, last) = {
                let mut input = lock(&self.input);
                if input.done {
                    return;
                }
                let position = input.position;
                match job.read(&mut input.source) {
                    Ok((sequence, last)) => {
                        input.done = last;
                        input.position = sequence.saturating_add(1);
                        (sequence, last)
                    }
                    Err(error) => {
                        input.done = true;
                        drop(input);
                        return self.fail(position, error);
                    }
                }
            };
            if !last {
                more();
            }
            let bytes = match job.process() {
                Ok(bytes) => bytes,
                Err(error) => return self.fail(sequence, error),
            };
            let mut output = lock(&self.output);
            loop {
                if u64::from(sequence) >= self.failed_at() {
                    return;
                }
                if output.next == sequence {
                    break;
                }
                output = self.turn.wait(output).unwrap_or_else(PoisonError::into_inner);
            }
            if let Err(error) = output.output.write_all(bytes) {
                drop(output);
                return self.fail(sequence, Error::Output(error));
            }
            output.next = output.next.wrapping_add(1);
            output.written += bytes.len() as u64;
            self.turn.notify_all();
            if last {
                return;
            }
        }
    }

    /// Records a failure at frame `position`; the earliest one is the one reported.
    fn fail(&self, position: u32, error: Error) {
        // Under the output lock, so that no worker checks the position and then sleeps
        // through the wake-up.
        let mut output = lock(&self.output);
        if output.failure.as_ref().is_none_or(|(earliest, _)| position < *earliest) {
            output.failure = Some((position, error));
            self.failed_at.store(u64::from(position), Ordering::Release);
        }
        self.turn.notify_all();
    }
}
