//! A global allocator for tests that looks inside every block as it is freed.
//!
//! Plaintext must never outlive its use in a block the allocator takes back: a buffer that
//! grows by reallocation leaves the old block's bytes behind, readable by whatever is
//! allocated there next (or by a core dump). A test binary installs [`FreedMemoryScanner`] as
//! its global allocator, fills its plaintext with [`MARKER`], [`arm`]s the scanner around the
//! code under test, and [`disarm`] tells how many freed blocks still held the marker.
//! Reallocation goes through the trait's default (allocate, copy, free), so a grown block is
//! scanned as it is let go, like any other.
#![allow(unsafe_code, reason = "a global allocator cannot be written without it; test support only")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The bytes test plaintext is made of; no ciphertext or other data is likely to hold them.
pub const MARKER: [u8; 16] = *b"\xdePLAINTEXT\x00LEFT\xad";

static ARMED: AtomicBool = AtomicBool::new(false);
static FOUND: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, checking freed blocks for [`MARKER`] while armed.
#[derive(Debug)]
pub struct FreedMemoryScanner;

/// Starts counting freed blocks that hold the marker.
pub fn arm() {
    FOUND.store(0, Ordering::SeqCst);
    ARMED.store(true, Ordering::SeqCst);
}

/// Stops counting; returns how many freed blocks held the marker since [`arm`].
pub fn disarm() -> usize {
    ARMED.store(false, Ordering::SeqCst);
    FOUND.load(Ordering::SeqCst)
}

fn holds_marker(block: &[u8]) -> bool {
    let mut at = 0;
    while let Some(offset) = block[at..].iter().position(|&b| b == MARKER[0]) {
        let start = at + offset;
        if block[start..].starts_with(&MARKER) {
            return true;
        }
        at = start + 1;
    }
    false
}

// SAFETY: every call is forwarded to the system allocator unchanged; `dealloc` only reads the
// block it is handed, which is valid for `layout.size()` bytes until it is freed just after.
unsafe impl GlobalAlloc for FreedMemoryScanner {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::Relaxed) && layout.size() >= MARKER.len() {
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            if holds_marker(block) {
                FOUND.fetch_add(1, Ordering::Relaxed);
            }
        }
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// A sink that checks what it receives is the marker plaintext, keeping none of it.
#[derive(Debug, Default)]
pub struct MarkerSink {
    /// How many bytes of marker plaintext have been written.
    pub received: usize,
}

impl std::io::Write for MarkerSink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        for (i, byte) in data.iter().enumerate() {
            assert_eq!(*byte, MARKER[(self.received + i) % MARKER.len()], "plaintext byte {}", self.received + i);
        }
        self.received += data.len();
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
