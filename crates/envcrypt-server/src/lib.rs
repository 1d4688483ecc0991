//! `envcrypt serve`: a key service as an AWS KMS endpoint, for the clients people already
//! have (the AWS CLI, boto3, the AWS SDKs, the Encryption SDKs, the S3 Encryption Client).
//!
//! It speaks KMS's JSON 1.1 protocol ([`protocol`](crate::protocol)), authenticates every
//! request with Signature Version 4 against access keys kept in the local store ([`auth`]),
//! and runs each operation as the signer's principal, so that the store's key policies,
//! grants and audit log apply as in KMS ([`Backend`]). Stores and HSM clusters are served the
//! same way; see ARCHITECTURE.md for where it sits.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use envcrypt::kms::local::{LocalKeyService, StoreOptions};
//! use envcrypt_server::{LocalStore, Server, ServerOptions};
//!
//! let store = LocalKeyService::open(StoreOptions::new("/var/lib/kms"))?;
//! let key = store.create_access_key("user/app")?;
//! println!("{} {}", key.key.access_key_id, key.secret_access_key.as_str());
//! let server = Server::bind(Arc::new(LocalStore::new(store)), ServerOptions::new("127.0.0.1:0".parse()?)).await?;
//! println!("listening on {}", server.url());
//! server.run(std::future::pending()).await;
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod auth;
mod backend;
mod decode;
#[cfg(fuzzing)]
pub mod fuzzing;
mod operations;
mod protocol;
mod server;
mod tls;

pub use backend::{Backend, LocalStore, Recorded, SharedService};
pub use protocol::{DataKeyPairResponse, PlaintextResponse, CONTENT_TYPE, MAX_BODY_BYTES};
pub use server::{ServeError, Server, ServerOptions};
pub use tls::{default_names, Tls, TlsError, TlsSource};
