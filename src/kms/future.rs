//! [`KmsFuture`]: the named future every key service operation returns, ready at once for
//! backends that answer synchronously and boxed for async ones, with a blocking `wait`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

use super::KmsError;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, KmsError>> + Send + 'a>>;

/// The future every [`KeyService`](super::KeyService) operation returns.
///
/// A named type instead of `async fn` in the trait keeps the trait object-safe
/// (`Arc<dyn KeyService>`), and lets synchronous backends such as the local store answer
/// with [`KmsFuture::ready`] without allocating. [`KmsFuture::wait`] is the blocking facade.
#[must_use = "a KMS operation does nothing until awaited or waited on"]
pub struct KmsFuture<'a, T>(Inner<'a, T>);

enum Inner<'a, T> {
    Ready(Option<Result<T, KmsError>>),
    Pending(BoxFuture<'a, T>),
}

impl<'a, T> KmsFuture<'a, T> {
    /// A future that is already complete.
    pub fn ready(result: Result<T, KmsError>) -> Self {
        Self(Inner::Ready(Some(result)))
    }

    /// Wraps an asynchronous operation.
    ///
    /// Backends whose SDK needs a particular runtime must drive the work on that runtime
    /// themselves (for example by awaiting a spawned task's handle), so that [`wait`](Self::wait)
    /// works from any thread.
    pub fn new(future: impl Future<Output = Result<T, KmsError>> + Send + 'a) -> Self {
        Self(Inner::Pending(Box::pin(future)))
    }

    /// Blocks the current thread until the operation completes.
    ///
    /// Do not call this from inside an async task; await the future instead.
    pub fn wait(self) -> Result<T, KmsError> {
        match self.0 {
            Inner::Ready(result) => result.expect("a ready KmsFuture is consumed only once"),
            Inner::Pending(mut future) => {
                let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
                let mut cx = Context::from_waker(&waker);
                loop {
                    if let Poll::Ready(result) = future.as_mut().poll(&mut cx) {
                        return result;
                    }
                    std::thread::park();
                }
            }
        }
    }
}

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

// The result is moved out, never pinned in place, so the future is movable whatever `T` is.
impl<T> Unpin for KmsFuture<'_, T> {}

impl<T> Future for KmsFuture<'_, T> {
    type Output = Result<T, KmsError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().0 {
            Inner::Ready(result) => Poll::Ready(result.take().expect("KmsFuture polled after completion")),
            Inner::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_returns_ready_and_pending_results() {
        assert_eq!(KmsFuture::ready(Ok(7)).wait().unwrap(), 7);
        let (tx, rx) = std::sync::mpsc::channel::<u32>();
        let pending = KmsFuture::new(async move {
            std::thread::spawn(move || tx.send(9).unwrap()).join().unwrap();
            Ok(rx.recv().unwrap())
        });
        assert_eq!(pending.wait().unwrap(), 9);
    }
}
