//! A TCP relay on loopback that counts the bytes crossing it, and can hold them back.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A TCP relay on a loopback port that counts every byte passing through it, both ways: an
/// independent measure of what a client sends and receives, whatever the client reports. It
/// can also stall downloads part-way ([`CountingProxy::hold_downloads_after`]), to catch a
/// client in the middle of a transfer.
#[derive(Debug)]
pub struct CountingProxy {
    endpoint: String,
    sent: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
    hold_at: Arc<AtomicU64>,
}

/// A direction of the relay: what it counts, and the count at which it stops passing bytes.
#[derive(Clone)]
struct Direction {
    counter: Arc<AtomicU64>,
    hold_at: Arc<AtomicU64>,
}

impl CountingProxy {
    /// Relays connections to `target` (`http://127.0.0.1:PORT`) until the process ends.
    pub fn start(target: &str) -> Self {
        let address = target.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let port = listener.local_addr().expect("a bound address").port();
        let (sent, received) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let hold_at = Arc::new(AtomicU64::new(u64::MAX));
        let to_target = Direction { counter: sent.clone(), hold_at: Arc::new(AtomicU64::new(u64::MAX)) };
        let from_target = Direction { counter: received.clone(), hold_at: hold_at.clone() };
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&address) else { continue };
                relay(&client, &server, to_target.clone());
                relay(&server, &client, from_target.clone());
            }
        });
        Self { endpoint: format!("http://127.0.0.1:{port}"), sent, received, hold_at }
    }

    /// From now on, bytes from the target stop once `bytes` have passed in all, and the
    /// connection stays open and silent (a stalled download) until the process ends.
    pub fn hold_downloads_after(&self, bytes: u64) {
        self.hold_at.store(bytes, Ordering::SeqCst);
    }

    /// The URL to give clients instead of the target's.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Bytes from clients to the target so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    /// Bytes from the target to clients so far.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::SeqCst)
    }
}

fn relay(from: &TcpStream, to: &TcpStream, direction: Direction) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else { return };
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            let passed = direction.counter.load(Ordering::SeqCst);
            let allowed = direction.hold_at.load(Ordering::SeqCst).saturating_sub(passed);
            let now = n.min(usize::try_from(allowed).unwrap_or(usize::MAX));
            if to.write_all(&buf[..now]).is_err() {
                break;
            }
            direction.counter.fetch_add(now as u64, Ordering::SeqCst);
            if now < n {
                // Held: keep the connection open and silent.
                loop {
                    std::thread::sleep(Duration::from_secs(3600));
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
