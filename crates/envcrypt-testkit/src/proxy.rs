use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A TCP relay on a loopback port that counts every byte passing through it, both ways: an
/// independent measure of what a client sends and receives, whatever the client reports.
#[derive(Debug)]
pub struct CountingProxy {
    endpoint: String,
    sent: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
}

impl CountingProxy {
    /// Relays connections to `target` (`http://127.0.0.1:PORT`) until the process ends.
    pub fn start(target: &str) -> Self {
        let address = target.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let port = listener.local_addr().expect("a bound address").port();
        let (sent, received) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (to_target, from_target) = (sent.clone(), received.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&address) else { continue };
                relay(&client, &server, to_target.clone());
                relay(&server, &client, from_target.clone());
            }
        });
        Self { endpoint: format!("http://127.0.0.1:{port}"), sent, received }
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

fn relay(from: &TcpStream, to: &TcpStream, counter: Arc<AtomicU64>) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else { return };
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
            counter.fetch_add(n as u64, Ordering::SeqCst);
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
