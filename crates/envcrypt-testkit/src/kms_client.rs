//! A KMS client that signs with SigV4 (the AWS SDK's signer) and speaks HTTP/1.1 over one
//! keep-alive connection: for tests that need to sign with a chosen time, secret or headers,
//! send a request the SDKs never would, and for the load generator.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;

/// An answer: the HTTP status and the body as JSON (`Null` if it is not JSON).
#[derive(Debug, Clone)]
pub struct KmsReply {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: serde_json::Value,
}

impl KmsReply {
    /// The exception name of an error answer.
    pub fn error_type(&self) -> Option<&str> {
        self.body.get("__type").and_then(|t| t.as_str())
    }
}

/// A request about to be signed and sent; tests change it between the two.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The headers, in order (`Authorization` once signed).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// A signing client for one endpoint (`http://HOST:PORT`), region and access key.
#[derive(Debug)]
pub struct KmsClient {
    host: String,
    region: String,
    access_key_id: String,
    secret: String,
    connection: Option<BufReader<TcpStream>>,
    connects: usize,
}

impl KmsClient {
    /// A client of `endpoint` (plain HTTP on loopback) signing for `region` with the key.
    pub fn new(endpoint: &str, region: &str, access_key_id: &str, secret: &str) -> Self {
        let host = endpoint.trim_start_matches("http://").trim_end_matches('/').to_owned();
        Self {
            host,
            region: region.to_owned(),
            access_key_id: access_key_id.to_owned(),
            secret: secret.to_owned(),
            connection: None,
            connects: 0,
        }
    }

    /// How many TCP connections the client has opened (1 while keep-alive holds).
    pub fn connections(&self) -> usize {
        self.connects
    }

    /// The request for `operation` with `body`, unsigned.
    pub fn prepare(&self, operation: &str, body: &serde_json::Value) -> Prepared {
        Prepared {
            headers: vec![
                ("host".into(), self.host.clone()),
                ("content-type".into(), "application/x-amz-json-1.1".into()),
                ("x-amz-target".into(), format!("TrentService.{operation}")),
            ],
            body: serde_json::to_vec(body).expect("a JSON body"),
        }
    }

    /// Signs `request` as of `time` with `secret` (adds `X-Amz-Date` and `Authorization`).
    pub fn sign_with(&self, request: &mut Prepared, time: SystemTime, secret: &str) {
        let identity = Credentials::new(&self.access_key_id, secret, None, None, "envcrypt-testkit").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("kms")
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .expect("signing parameters")
            .into();
        let signable = SignableRequest::new(
            "POST",
            "/",
            request.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            SignableBody::Bytes(&request.body),
        )
        .expect("a signable request");
        let (instructions, _) = sign(signable, &params).expect("signing").into_parts();
        let (headers, _) = instructions.into_parts();
        for header in headers {
            request.headers.push((header.name().to_owned(), header.value().to_owned()));
        }
    }

    /// Signs `request` now with the client's secret.
    pub fn sign(&self, request: &mut Prepared) {
        self.sign_with(request, SystemTime::now(), &self.secret.clone());
    }

    /// Sends a prepared (signed or not) request and reads the answer. A kept-alive connection
    /// the server has closed meanwhile is replaced once, as HTTP clients do.
    pub fn send(&mut self, request: &Prepared) -> std::io::Result<KmsReply> {
        let reused = self.connection.is_some();
        let mut result = self.exchange(request);
        if result.is_err() {
            self.connection = None;
            if reused {
                result = self.exchange(request);
                if result.is_err() {
                    self.connection = None;
                }
            }
        }
        result
    }

    /// Signs and sends `operation` with `body`.
    pub fn call(&mut self, operation: &str, body: &serde_json::Value) -> std::io::Result<KmsReply> {
        let mut request = self.prepare(operation, body);
        self.sign(&mut request);
        self.send(&request)
    }

    fn exchange(&mut self, request: &Prepared) -> std::io::Result<KmsReply> {
        if self.connection.is_none() {
            let stream = TcpStream::connect(&self.host)?;
            self.connects += 1;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(Duration::from_secs(30)))?;
            self.connection = Some(BufReader::new(stream));
        }
        let connection = self.connection.as_mut().expect("connected above");
        let mut head = String::from("POST / HTTP/1.1\r\n");
        for (name, value) in &request.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("content-length: {}\r\n\r\n", request.body.len()));
        let stream = connection.get_mut();
        stream.write_all(head.as_bytes())?;
        stream.write_all(&request.body)?;
        let mut status_line = String::new();
        if connection.read_line(&mut status_line)? == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the server closed the connection"));
        }
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("not an HTTP status line: {status_line:?}")))?;
        let (mut length, mut close) = (0usize, false);
        loop {
            let mut line = String::new();
            connection.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
                close |= name.eq_ignore_ascii_case("connection") && value.trim().eq_ignore_ascii_case("close");
            }
        }
        let mut body = vec![0u8; length];
        connection.read_exact(&mut body)?;
        // A server that closes after each answer (moto) gets a new connection per request.
        if close {
            self.connection = None;
        }
        Ok(KmsReply { status, body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null) })
    }
}
