//! envcrypt: envelope encryption with KMS-style key services.
//!
//! Layers, bottom to top (ARCHITECTURE.md):
//! - [`kms`]: the [`KeyService`](kms::KeyService) contract and its backends ([`kms::local`]);
//! - [`message`]: the AWS Encryption SDK message format (versions 1 and 2, every suite), bytes
//!   only, no I/O;
//! - [`keyring`]: which keys (a key service's, or raw AES and RSA keys) wrap and unwrap a
//!   message's data key;
//! - [`stream`]: `Write`/`Read` adapters that seal and open messages in bounded memory.
//!
//! ARCHITECTURE.md maps the layers and the crates around this one.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::sync::Arc;
//! use envcrypt::kms::{local::{LocalKeyService, StoreOptions}, EncryptionContext};
//! use envcrypt::keyring::{Keyring, OpenPolicy};
//! use envcrypt::stream::{Decryptor, Encryptor, SealOptions};
//!
//! # let dir = tempfile::tempdir().unwrap();
//! let store = Arc::new(LocalKeyService::open(StoreOptions::new(dir.path().join("store")))?);
//! let key = store.default_key()?;
//! let keyring = Keyring::new().with_key(store.clone(), key);
//!
//! let mut context = EncryptionContext::new();
//! context.insert("purpose", "example")?;
//! let mut sealed = Vec::new();
//! let mut writer = Encryptor::new(&mut sealed, &keyring, &context, &SealOptions::default())?;
//! writer.write_all(b"hello, envelope")?;
//! writer.finish()?;
//!
//! let mut reader = Decryptor::new(sealed.as_slice(), &OpenPolicy::discovery(vec![store]))?;
//! let mut opened = Vec::new();
//! reader.read_to_end(&mut opened)?;
//! assert_eq!(opened, b"hello, envelope");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod clock;
pub mod context;
pub mod crypto;
pub mod keyring;
pub mod kms;
pub mod message;
pub mod secret_buffer;
pub mod stream;
pub mod strict_json;

/// The README's Rust examples, compiled by `cargo test --doc`.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
