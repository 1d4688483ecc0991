//! Re-wrapping: change which keys wrap a message's data key, leaving its body untouched.
//!
//! The body's frames are keyed by the data key and the message id, neither of which changes,
//! so only the header is rewritten. New encrypted data keys come from ReEncrypt when the new
//! key lives in the same key service as the one that opened the message (the data key then
//! stays inside that service for the move), else from Encrypt. The header tag is keyed by the
//! data key, so the data key is unwrapped once to re-authenticate the new header; this is
//! inherent to the message format.

use std::io::Read;
use std::sync::Arc;

use super::decrypt::read_header_and_rest;
use super::error::{Error, RewrapError};
use crate::keyring::OpenPolicy;
use crate::kms::{KeyRef, KeyService, ReEncryptRequest};
use crate::message::{CommitmentPolicy, EncryptedDataKey, Header, HeaderBody, MessageKeys, ParseLimits};

/// What to change.
pub struct RewrapRequest<'a> {
    /// How to open the data key (strict to some keys, or discovery).
    pub open: &'a OpenPolicy,
    /// Keys to add.
    pub add: &'a [(Arc<dyn KeyService>, KeyRef)],
    /// Key ARNs whose encrypted data keys are removed.
    pub remove: &'a [String],
    /// Bounds on the header.
    pub limits: ParseLimits,
    /// Which suites may be re-wrapped: those this policy opens.
    pub commitment_policy: CommitmentPolicy,
}

impl<'a> RewrapRequest<'a> {
    /// A request with the default header limits and commitment policy.
    pub fn new(open: &'a OpenPolicy, add: &'a [(Arc<dyn KeyService>, KeyRef)], remove: &'a [String]) -> Self {
        Self { open, add, remove, limits: ParseLimits::default(), commitment_policy: CommitmentPolicy::default() }
    }
}

impl std::fmt::Debug for RewrapRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RewrapRequest").field("remove", &self.remove).finish_non_exhaustive()
    }
}

/// The new header, and where the unchanged body starts in the input.
#[derive(Debug)]
pub struct Rewrapped {
    /// The new header, authenticated.
    pub header: Header,
    /// The old header's length: the body starts at this offset of the input.
    pub body_offset: u64,
    /// Key ARNs added.
    pub added: Vec<String>,
    /// Key ARNs removed.
    pub removed: Vec<String>,
}

/// Reads a message's header from `input` and builds the re-wrapped header.
pub fn rewrap_header(input: &mut impl Read, request: &RewrapRequest<'_>) -> Result<Rewrapped, Error> {
    let (header, _) = read_header_and_rest(input, &request.limits)?;
    let body = header.body();
    request.commitment_policy.check_opening(body.suite)?;
    if body.suite.is_signed() {
        // The footer signature covers the header, so a new header would orphan it, and the
        // signing key is gone: only the sealer could sign again.
        return Err(RewrapError::Signed { suite: body.suite.id() }.into());
    }
    let unwrapped = request.open.unwrap_data_key(&body.encrypted_data_keys, &body.context, body.suite)?;
    let keys = MessageKeys::derive(body.suite, unwrapped.data_key.expose_secret(), body.message_id.as_bytes())?;
    header.verify(&keys)?;

    let source = &body.encrypted_data_keys[unwrapped.index];
    let source_key = KeyRef::parse(&unwrapped.key_arn)
        .map_err(|source| RewrapError::SourceKeyArn { arn: unwrapped.key_arn.clone(), source })?;
    let mut edks: Vec<EncryptedDataKey> = body.encrypted_data_keys.clone();
    let mut added = Vec::new();
    for (service, key) in request.add {
        let (blob, key_arn) = if service.provider_id() == source.provider_id {
            let moved = service
                .re_encrypt(ReEncryptRequest {
                    blob: &source.ciphertext,
                    source_context: &body.context,
                    source_key: Some(&source_key),
                    destination_key: key,
                    destination_context: &body.context,
                })
                .wait()
                .map_err(|source| crate::keyring::KeyringError::Wrap { key: key.to_string(), source })?;
            (moved.blob, moved.key_arn)
        } else {
            let wrapped = service
                .encrypt(key, unwrapped.data_key.expose_secret(), &body.context)
                .wait()
                .map_err(|source| crate::keyring::KeyringError::Wrap { key: key.to_string(), source })?;
            (wrapped.blob, wrapped.key_arn)
        };
        if edks.iter().any(|e| e.provider_info == key_arn.as_bytes()) {
            continue;
        }
        edks.push(EncryptedDataKey {
            provider_id: service.provider_id().to_owned(),
            provider_info: key_arn.clone().into_bytes(),
            ciphertext: blob,
        });
        added.push(key_arn);
    }
    let mut removed = Vec::new();
    for arn in request.remove {
        let before = edks.len();
        edks.retain(|e| e.provider_info != arn.as_bytes());
        if edks.len() == before {
            return Err(RewrapError::NotWrapping { arn: arn.clone() }.into());
        }
        removed.push(arn.clone());
    }
    if edks.is_empty() {
        return Err(RewrapError::NoKeyLeft.into());
    }
    let new_body = HeaderBody { encrypted_data_keys: edks, ..body.clone() };
    Ok(Rewrapped { header: Header::seal(new_body, &keys)?, body_offset: header.len() as u64, added, removed })
}
