//! The HTTP side: a listener (plain on loopback, TLS elsewhere), keep-alive connections on a
//! tokio runtime, and one path per request: read the body (bounded), verify the signature,
//! decode the operation, run it as the signer, answer.
//!
//! Every request ends in a KMS response, never a panic or a dropped connection; requests that
//! fail before the key service runs them (a bad signature, a malformed body) are audited here,
//! since the store never saw them. On shutdown the listener closes and requests in flight
//! finish (up to a grace period).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use envcrypt::clock::Clock;
use envcrypt::kms::local::RequestOrigin;
use envcrypt::kms::KeyId;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::auth::{claimed_access_key_id, Received, Verifier};
use crate::backend::{Backend, Recorded};
use crate::decode::Input;
use crate::operations::{self, Context};
use crate::protocol::{Failure, Reply, CONTENT_TYPE, MAX_BODY_BYTES};
use crate::tls::Tls;

/// How long requests in flight may take to finish after a shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a client may take to send a request's body once its headers are in, unless the
/// options say otherwise: a client that stops half-way holds a connection only this long.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// How to listen.
#[derive(Clone)]
pub struct ServerOptions {
    /// The address to listen on (port 0: a free port).
    pub listen: SocketAddr,
    /// TLS; without it the address must be loopback, unless `insecure_http`.
    pub tls: Option<Tls>,
    /// Allows plain HTTP on an address other than loopback.
    pub insecure_http: bool,
    /// The clock signatures are checked against.
    pub clock: Clock,
    /// How long a request's body may take to arrive (30 s by default).
    pub body_timeout: Duration,
}

impl ServerOptions {
    /// Plain HTTP on `listen` with the system clock.
    pub fn new(listen: SocketAddr) -> Self {
        Self { listen, tls: None, insecure_http: false, clock: Clock::system(), body_timeout: BODY_TIMEOUT }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Plain HTTP was asked for on an address other than loopback.
    #[error("{0} is not a loopback address, and requests to it would cross the network unencrypted")]
    PlainHttpOffLoopback(SocketAddr),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A bound server, ready to run.
pub struct Server {
    listener: TcpListener,
    tls: Option<Tls>,
    handler: Arc<Handler>,
    url: String,
}

struct Handler {
    backend: Arc<dyn Backend>,
    verifier: Verifier,
    clock: Clock,
    body_timeout: Duration,
}

impl Server {
    /// Binds `options.listen` to serve `backend`.
    pub async fn bind(backend: Arc<dyn Backend>, options: ServerOptions) -> Result<Self, ServeError> {
        if options.tls.is_none() && !options.listen.ip().is_loopback() && !options.insecure_http {
            return Err(ServeError::PlainHttpOffLoopback(options.listen));
        }
        let listener = TcpListener::bind(options.listen)
            .await
            .map_err(|source| ServeError::Bind { addr: options.listen, source })?;
        let local = listener.local_addr().map_err(|source| ServeError::Bind { addr: options.listen, source })?;
        let scheme = if options.tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{local}");
        let verifier = Verifier::new(backend.identity().region.clone(), "kms");
        let handler = Arc::new(Handler { backend, verifier, clock: options.clock, body_timeout: options.body_timeout });
        Ok(Self { listener, tls: options.tls, handler, url })
    }

    /// Where it listens: `http://127.0.0.1:PORT` or `https://...`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The TLS configuration, if it has one.
    pub fn tls(&self) -> Option<&Tls> {
        self.tls.as_ref()
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let graceful = GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    // Out of descriptors, or a connection reset before accept: keep serving.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let handler = self.handler.clone();
            let watcher = graceful.watcher();
            let tls = self.tls.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let handler = handler.clone();
                    async move { Ok::<_, Infallible>(handler.handle(request, peer).await) }
                });
                let mut builder = http1::Builder::new();
                builder.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT).keep_alive(true);
                match tls {
                    Some(tls) => {
                        let Ok(stream) = tls.acceptor.accept(stream).await else { return };
                        let _ = watcher.watch(builder.serve_connection(TokioIo::new(stream), service)).await;
                    }
                    None => {
                        let _ = watcher.watch(builder.serve_connection(TokioIo::new(stream), service)).await;
                    }
                }
            });
        }
        drop(self.listener);
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
    }
}

impl Handler {
    async fn handle(&self, request: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
        let request_id = KeyId::random().to_string();
        let reply = self.answer(request, peer).await;
        let (status, content) = match reply {
            Ok(Reply::Json(value)) => (200, Bytes::from(serde_json::to_vec(&value).expect("a response serializes"))),
            Ok(Reply::Secret(bytes)) => (200, Bytes::from_owner(bytes)),
            Err(failure) => (failure.status, Bytes::from(failure.body())),
        };
        let mut response = Response::new(Full::new(content));
        *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        if let Ok(id) = HeaderValue::from_str(&request_id) {
            headers.insert("x-amzn-requestid", id);
        }
        response
    }

    async fn answer(&self, request: Request<Incoming>, peer: SocketAddr) -> Result<Reply, Failure> {
        let (parts, body) = request.into_parts();
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        let user_agent = header("user-agent").unwrap_or_default().to_owned();
        let target = header("x-amz-target");
        // For the audit log: the operation, once known.
        let operation = operations::from_target(target).unwrap_or("Unknown");
        let mut origin = RequestOrigin { access_key_id: String::new(), source_ip: peer.ip().to_string(), user_agent };
        let body = match tokio::time::timeout(self.body_timeout, Limited::new(body, MAX_BODY_BYTES).collect()).await {
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(error)) => {
                let failure = if error.downcast_ref::<LengthLimitError>().is_some() {
                    Failure::unreadable_body(413, format!("the request body is larger than {MAX_BODY_BYTES} bytes"))
                } else {
                    Failure::unreadable_body(400, format!("the request body could not be read: {error}"))
                };
                return Err(self.refused(operation, None, &origin, failure));
            }
            Err(_) => {
                let failure = Failure::unreadable_body(
                    408,
                    format!("the request body did not arrive within {:?}", self.body_timeout),
                );
                return Err(self.refused(operation, None, &origin, failure));
            }
        };
        let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let received = Received { method: parts.method.as_str(), path_and_query, headers: &headers, body: &body };
        let now = self.clock.now();
        let signer = match self.verifier.verify(&received, now, |id| self.backend.signing_secret(id)) {
            Ok(Ok(signer)) => signer,
            Ok(Err(auth)) => {
                if let Some(id) = header("authorization").and_then(claimed_access_key_id) {
                    id.clone_into(&mut origin.access_key_id);
                }
                return Err(self.refused(operation, None, &origin, auth.failure()));
            }
            Err(kms) => return Err(self.refused(operation, None, &origin, Failure::from_kms(&kms))),
        };
        origin.access_key_id.clone_from(&signer.access_key_id);
        let principal = Some(signer.principal.as_str());
        if parts.method != http::Method::POST || parts.uri.path() != "/" {
            return Err(self.refused(operation, principal, &origin, Failure::unknown_operation()));
        }
        let operation = match operations::from_target(target) {
            Ok(operation) => operation,
            Err(failure) => return Err(self.refused("Unknown", principal, &origin, failure)),
        };
        let input = Input::parse(&body).map_err(|failure| self.refused(operation, principal, &origin, failure))?;
        let service = self
            .backend
            .as_caller(&signer.principal, origin.clone())
            .map_err(|e| self.refused(operation, principal, &origin, Failure::from_kms(&e)))?;
        let cx = Context { service: service.as_ref(), identity: self.backend.identity() };
        let result = operations::run(operation, &input, &cx).await;
        let recorded_by_service = self.backend.audits_calls()
            && match &result {
                Ok(_) => true,
                Err(failure) => failure.from_key_service,
            };
        if !recorded_by_service {
            let error = result.as_ref().err();
            let record = Recorded {
                operation,
                principal,
                origin: &origin,
                error: error.map(|f| (f.name.as_str(), f.message.as_deref().unwrap_or(""))),
            };
            if let Err(e) = self.backend.record(&record) {
                // No request without a record: the answer is the audit failure.
                return Err(Failure::from_kms(&e));
            }
        }
        result
    }

    /// Audits a request refused before the key service ran it, and returns its failure.
    fn refused(
        &self,
        operation: &'static str,
        principal: Option<&str>,
        origin: &RequestOrigin,
        failure: Failure,
    ) -> Failure {
        let record = Recorded {
            operation,
            principal,
            origin,
            error: Some((failure.name.as_str(), failure.message.as_deref().unwrap_or(""))),
        };
        match self.backend.record(&record) {
            Ok(()) => failure,
            Err(e) => Failure::from_kms(&e),
        }
    }
}
