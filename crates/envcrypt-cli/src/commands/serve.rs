//! `envcrypt serve`: the local store (or the HSM cluster) as an AWS KMS endpoint, for the AWS
//! CLI, the SDKs and the Encryption SDKs, with SigV4 authentication against the store's access
//! keys (`envcrypt credentials`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use envcrypt::kms::local::LocalKeyService;
use envcrypt::kms::{ArnPrefix, KeyService};
use envcrypt_pkcs11::Pkcs11KeyService;
use envcrypt_server::{default_names, Backend, LocalStore, Server, ServerOptions, SharedService, Tls, TlsSource};
use serde_json::json;

use crate::backends::{store_options, Backends};
use crate::error::{CliError, Exit};
use crate::flags::{BackendKind, GlobalArgs};
use crate::{print, signals};

/// The identity of a store created to be served, unless flags say otherwise: the ARNs the
/// AWS documentation uses, which policies and clients written for KMS expect.
const SERVED_PARTITION: &str = "aws";
const SERVED_REGION: &str = "us-east-1";
const SERVED_ACCOUNT: &str = "111122223333";

/// Serve the local store (or the HSM cluster) as an AWS KMS endpoint.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  envcrypt --store ./kms serve                       # http://127.0.0.1:4599
  envcrypt --store ./kms credentials create --principal user/app
  aws --endpoint-url http://127.0.0.1:4599 kms create-key
  envcrypt --store ./kms serve --listen 0.0.0.0:8443 --tls-self-signed --json
  envcrypt --backend pkcs11 --store ./kms serve --listen 127.0.0.1:0

It speaks the KMS JSON 1.1 protocol and checks every request's Signature Version 4 against
the store's access keys (`envcrypt credentials`); each request runs as the key's principal, so
key policies and grants apply, and the audit log records the access key, address and user
agent. The first line on stdout says where it listens (with --json, a JSON object with the URL
and, for a self-signed certificate, its SHA-256 fingerprint and PEM file).

A store created now gets the ARNs arn:aws:kms:us-east-1:111122223333 (--partition, --region,
--account change them); an existing store keeps its own. Plain HTTP is served only on
loopback: give --tls-cert and --tls-key, or --tls-self-signed, for any other address (or
--insecure-http to accept the risk). Ctrl-C or SIGTERM stops accepting and lets requests in
flight finish; the server then exits 0 (a second signal ends it at once).")]
pub struct Args {
    /// Where to listen; port 0 picks a free one.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:4599")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// The TLS certificate chain (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_key", conflicts_with = "tls_self_signed")]
    pub tls_cert: Option<PathBuf>,
    /// The TLS private key (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve TLS with a certificate made now (its PEM is written next to the store).
    #[arg(long)]
    pub tls_self_signed: bool,
    /// Allow plain HTTP on an address other than loopback.
    #[arg(long)]
    pub insecure_http: bool,
}

/// The ARNs of a store created to be served.
#[derive(Debug, clap::Args)]
pub struct IdentityArgs {
    /// The account of a store created now [default: 111122223333].
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// The partition of a store created now [default: aws].
    #[arg(long, value_name = "PARTITION")]
    pub partition: Option<String>,
}

impl IdentityArgs {
    /// Opens (or creates) the store to serve: a new store gets these ARNs; an existing one must
    /// have them if any was given.
    pub fn open_store(&self, global: &GlobalArgs) -> Result<LocalKeyService, CliError> {
        let mut options =
            store_options(global.store.clone()).map_err(|e| CliError::kms("cannot open the key store", &e))?;
        let identity = ArnPrefix::new(
            self.partition.as_deref().unwrap_or(SERVED_PARTITION),
            global.region.as_deref().unwrap_or(SERVED_REGION),
            self.account.as_deref().unwrap_or(SERVED_ACCOUNT),
        );
        let asked = self.partition.is_some() || self.account.is_some() || global.region.is_some();
        options = if asked { options.identity(identity) } else { options.new_store_identity(identity) };
        LocalKeyService::open(options).map_err(|e| CliError::kms("cannot open the key store", &e))
    }
}

pub fn exec(args: &Args, global: &GlobalArgs) -> Result<(), CliError> {
    let store = args.identity.open_store(global)?;
    let tls = tls(args, &store)?;
    let backend: Arc<dyn Backend> = match Backends::new(global)?.default_kind() {
        BackendKind::Local => Arc::new(LocalStore::new(store)),
        BackendKind::Pkcs11 => {
            let cluster: Arc<dyn KeyService> = Backends::new(global)?.pkcs11()?.clone();
            Arc::new(SharedService::new(cluster, Pkcs11KeyService::arn_prefix(), store))
        }
        BackendKind::Aws => {
            return Err(CliError::usage("envcrypt serve serves the local store or the HSM cluster, not AWS KMS itself"))
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("envcrypt-serve")
        .build()
        .map_err(|e| CliError::io("cannot start the server runtime", &e))?;
    let options = ServerOptions { tls, insecure_http: args.insecure_http, ..ServerOptions::new(args.listen) };
    let server = runtime.block_on(Server::bind(backend, options)).map_err(|e| {
        let hint = match e {
            envcrypt_server::ServeError::PlainHttpOffLoopback(_) => {
                " (give --tls-cert and --tls-key, or --tls-self-signed; or --insecure-http)"
            }
            _ => "",
        };
        CliError::new(Exit::Io, format!("cannot serve: {e}{hint}"))
    })?;
    announce(&server, global.json)?;
    // The first SIGINT or SIGTERM stops accepting and lets requests in flight finish; a second
    // ends the process at once.
    let stop = signals::cooperative_stop();
    let flag = stop.flag();
    runtime.block_on(server.run(async move {
        while !flag.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }));
    stop.completed();
    Ok(())
}

fn tls(args: &Args, store: &LocalKeyService) -> Result<Option<Tls>, CliError> {
    let source = match (&args.tls_cert, &args.tls_key, args.tls_self_signed) {
        (Some(cert), Some(key), false) => TlsSource::Files { cert: cert.clone(), key: key.clone() },
        (None, None, true) => TlsSource::SelfSigned {
            names: default_names(args.listen.ip()),
            write_to: store.dir().join("serve-certificate.pem"),
        },
        _ => return Ok(None),
    };
    Tls::new(&source).map(Some).map_err(|e| CliError::new(Exit::Io, format!("cannot set up TLS: {e}")))
}

/// The first line on stdout: where the server listens.
fn announce(server: &Server, json: bool) -> Result<(), CliError> {
    if json {
        let mut value = json!({ "url": server.url() });
        if let Some(tls) = server.tls() {
            value["fingerprint_sha256"] = json!(tls.fingerprint);
            if let Some(pem) = &tls.certificate_pem {
                value["certificate"] = json!(pem);
            }
        }
        return print::line(&value.to_string());
    }
    let mut line = format!("listening on {}", server.url());
    if let Some(tls) = server.tls() {
        line.push_str(&format!(" (certificate SHA-256 {})", tls.fingerprint));
    }
    print::line(&line)
}
