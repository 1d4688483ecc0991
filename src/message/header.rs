//! The message header: suite, message id, encryption context, encrypted data keys, content
//! type and frame length, key commitment (format 2) and authentication tag; parsed sans-I/O
//! within [`ParseLimits`] and serialized byte for byte as the Encryption SDK does.
//!
//! ```text
//! format 1: 01 · 80 · suite (u16) · message id (16) · context · data keys · content type
//!           · reserved 00000000 · IV length 0C · frame length (u32) ‖ IV (12) · tag (16)
//! format 2: 02 · suite (u16) · message id (32) · context · data keys · content type
//!           · frame length (u32) · commitment (32) ‖ tag (16)
//! ```
//! The tag is AES-GCM over the empty plaintext with the body as AAD, under the IV format 1
//! stores and 12 zero bytes in format 2. A non-framed body (content type 01, ESDK 1.x's
//! `frame_length=0`) has frame length 0.

use super::{AlgorithmSuite, FormatError, MessageKeys, COMMITMENT_LEN};
use crate::context::EncryptionContext;
use crate::crypto::{self, NONCE_LEN, TAG_LEN};

const TYPE_CUSTOMER_AUTHENTICATED: u8 = 0x80;
const CONTENT_TYPE_NON_FRAMED: u8 = 0x01;
const CONTENT_TYPE_FRAMED: u8 = 0x02;
/// Bytes of a format-1 message id.
pub const MESSAGE_ID_V1_LEN: usize = 16;
/// Bytes of a format-2 message id.
pub const MESSAGE_ID_V2_LEN: usize = 32;
/// Provider ids starting with this belong to the AWS KMS keyring.
pub const AWS_KMS_PROVIDER_PREFIX: &str = "aws-kms";

/// One encrypted data key: who can unwrap it and the wrapped bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedDataKey {
    /// Which kind of key wrapped it (`aws-kms`, `envcrypt-local`, ...).
    pub provider_id: String,
    /// Which key, for that provider (for KMS keys: the key ARN).
    pub provider_info: Vec<u8>,
    /// The wrapped data key (for KMS keys: the ciphertext blob).
    pub ciphertext: Vec<u8>,
}

impl EncryptedDataKey {
    /// Appends the entry as the header stores it: three fields, each with a u16 length.
    pub fn serialize_into(&self, out: &mut Vec<u8>) -> Result<(), FormatError> {
        for field in [self.provider_id.as_bytes(), &self.provider_info, &self.ciphertext] {
            let len = u16::try_from(field.len()).map_err(|_| FormatError::FieldTooLong("encrypted data key"))?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(field);
        }
        Ok(())
    }
}

/// Limits that keep a hostile header from making the reader allocate or work without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    /// The most encrypted data keys accepted.
    pub max_encrypted_data_keys: u16,
    /// The largest frame length accepted (the reader buffers one frame).
    pub max_frame_length: u32,
}

impl Default for ParseLimits {
    fn default() -> Self {
        Self { max_encrypted_data_keys: 32, max_frame_length: 64 * 1024 * 1024 }
    }
}

/// A message id: random, unique per message; part of every frame's AAD and of the key
/// derivation. Its length is fixed by the message format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageId {
    /// Format 1: 16 bytes.
    V1([u8; MESSAGE_ID_V1_LEN]),
    /// Format 2: 32 bytes, the HKDF salt.
    V2([u8; MESSAGE_ID_V2_LEN]),
}

impl MessageId {
    /// A fresh random id for a message sealed with `suite`.
    pub fn random(suite: AlgorithmSuite) -> Self {
        match suite.message_format() {
            1 => Self::V1(crypto::random_array()),
            _ => Self::V2(crypto::random_array()),
        }
    }

    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::V1(id) => id,
            Self::V2(id) => id,
        }
    }
}

/// The authenticated fields of a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderBody {
    /// The algorithm suite; it fixes the message format.
    pub suite: AlgorithmSuite,
    /// The message id, of the suite's format.
    pub message_id: MessageId,
    /// The encryption context, stored in the clear.
    pub context: EncryptionContext,
    /// At least one encrypted data key.
    pub encrypted_data_keys: Vec<EncryptedDataKey>,
    /// Plaintext bytes per frame; 0 for a non-framed body (read, never written).
    pub frame_length: u32,
    /// The key commitment: present exactly for the committing suites.
    pub commitment: Option<[u8; COMMITMENT_LEN]>,
}

/// A header: its body, the body's exact bytes, and the authentication IV and tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    body: HeaderBody,
    body_bytes: Vec<u8>,
    /// Stored in format 1; always zero (and not stored) in format 2.
    auth_iv: [u8; NONCE_LEN],
    auth_tag: [u8; TAG_LEN],
}

impl HeaderBody {
    /// Serializes the body as the suite's message format specifies. A frame length of 0 is a
    /// non-framed body: it serializes (a re-wrapped header keeps its body), but sealing never
    /// writes one ([`check_frame_length`](super::check_frame_length)).
    pub fn serialize(&self) -> Result<Vec<u8>, FormatError> {
        let context = self.context.serialize()?;
        let edk_count = u16::try_from(self.encrypted_data_keys.len())
            .map_err(|_| FormatError::FieldTooLong("encrypted data key list"))?;
        if edk_count == 0 {
            return Err(FormatError::NoEncryptedDataKeys);
        }
        if self.frame_length > i32::MAX as u32 {
            return Err(FormatError::InvalidFrameLength(self.frame_length));
        }
        let format = self.suite.message_format();
        let id_fits = matches!((format, &self.message_id), (1, MessageId::V1(_)) | (2, MessageId::V2(_)));
        if !id_fits || self.commitment.is_some() != self.suite.is_committing() {
            return Err(FormatError::SuiteMismatch(self.suite.id()));
        }
        let mut out = Vec::with_capacity(128 + context.len());
        out.push(format);
        if format == 1 {
            out.push(TYPE_CUSTOMER_AUTHENTICATED);
        }
        out.extend_from_slice(&self.suite.id().to_be_bytes());
        out.extend_from_slice(self.message_id.as_bytes());
        out.extend_from_slice(
            &u16::try_from(context.len()).map_err(|_| FormatError::FieldTooLong("encryption context"))?.to_be_bytes(),
        );
        out.extend_from_slice(&context);
        out.extend_from_slice(&edk_count.to_be_bytes());
        for edk in &self.encrypted_data_keys {
            edk.serialize_into(&mut out)?;
        }
        out.push(if self.is_framed() { CONTENT_TYPE_FRAMED } else { CONTENT_TYPE_NON_FRAMED });
        if format == 1 {
            out.extend_from_slice(&[0, 0, 0, 0]);
            out.push(NONCE_LEN as u8);
        }
        out.extend_from_slice(&self.frame_length.to_be_bytes());
        if let Some(commitment) = &self.commitment {
            out.extend_from_slice(commitment);
        }
        Ok(out)
    }

    /// Whether the body is framed (content type 02) rather than one block (01).
    pub fn is_framed(&self) -> bool {
        self.frame_length != 0
    }
}

impl Header {
    /// Computes the header authentication tag: AES-GCM with the content key, a zero IV,
    /// empty plaintext and the serialized body as AAD.
    pub fn seal(body: HeaderBody, keys: &MessageKeys) -> Result<Self, FormatError> {
        let body_bytes = body.serialize()?;
        let auth_iv = [0u8; NONCE_LEN];
        let auth_tag = keys.content().seal_detached(auth_iv, &body_bytes, &mut []);
        Ok(Self { body, body_bytes, auth_iv, auth_tag })
    }

    /// The body.
    pub fn body(&self) -> &HeaderBody {
        &self.body
    }

    /// The whole header as it appears on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        [&self.body_bytes[..], self.stored_iv(), &self.auth_tag].concat()
    }

    /// Length of the header on the wire.
    pub fn len(&self) -> usize {
        self.body_bytes.len() + self.stored_iv().len() + TAG_LEN
    }

    fn stored_iv(&self) -> &[u8] {
        match self.body.message_id {
            MessageId::V1(_) => &self.auth_iv,
            MessageId::V2(_) => &[],
        }
    }

    /// Always false: a header has at least a version byte.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Checks the key commitment, then the header tag. Call before decrypting any frame.
    pub fn verify(&self, keys: &MessageKeys) -> Result<(), FormatError> {
        if self.body.suite.is_committing() {
            keys.verify_commitment(self.body.commitment.as_ref().ok_or(FormatError::CommitmentMismatch)?)?;
        }
        keys.content()
            .open_detached(self.auth_iv, &self.body_bytes, &mut [], &self.auth_tag)
            .map_err(|_| FormatError::HeaderAuthentication)
    }

    /// Parses a header from the start of `input`, returning it and the bytes it used.
    ///
    /// Returns [`FormatError::Incomplete`] if `input` ends before the header does, so a
    /// streaming reader can read more and try again. Nothing is verified: that needs the
    /// data key ([`Header::verify`]).
    pub fn parse(input: &[u8], limits: &ParseLimits) -> Result<(Self, usize), FormatError> {
        let mut r = Cursor { input, pos: 0 };
        let version = r.u8()?;
        if version != 1 && version != 2 {
            return Err(FormatError::UnsupportedVersion(version));
        }
        if version == 1 {
            let kind = r.u8()?;
            if kind != TYPE_CUSTOMER_AUTHENTICATED {
                return Err(FormatError::UnsupportedMessageType(kind));
            }
        }
        let suite_id = r.u16()?;
        // The version and the suite must agree: format 2 carries only the committing suites,
        // format 1 only the others.
        let suite = AlgorithmSuite::from_id(suite_id)
            .filter(|suite| suite.message_format() == version)
            .ok_or(FormatError::UnsupportedSuite(suite_id))?;
        let message_id = match version {
            1 => MessageId::V1(r.array()?),
            _ => MessageId::V2(r.array()?),
        };
        let context_len = r.u16()?;
        let context = EncryptionContext::deserialize(r.take(usize::from(context_len))?)?;
        let count = r.u16()?;
        if count == 0 {
            return Err(FormatError::NoEncryptedDataKeys);
        }
        if count > limits.max_encrypted_data_keys {
            return Err(FormatError::TooManyEncryptedDataKeys { count, limit: limits.max_encrypted_data_keys });
        }
        let mut encrypted_data_keys = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let provider_id = String::from_utf8(r.field()?.to_vec()).map_err(|_| FormatError::ProviderIdNotUtf8)?;
            let provider_info = r.field()?.to_vec();
            let ciphertext = r.field()?.to_vec();
            encrypted_data_keys.push(EncryptedDataKey { provider_id, provider_info, ciphertext });
        }
        let content_type = r.u8()?;
        if version == 1 {
            if r.u32()? != 0 {
                return Err(FormatError::ReservedFieldSet);
            }
            let iv_len = r.u8()?;
            if usize::from(iv_len) != NONCE_LEN {
                return Err(FormatError::InvalidIvLength(iv_len));
            }
        }
        let frame_length = r.u32()?;
        match content_type {
            CONTENT_TYPE_NON_FRAMED if frame_length != 0 => return Err(FormatError::InvalidFrameLength(frame_length)),
            CONTENT_TYPE_NON_FRAMED => {}
            CONTENT_TYPE_FRAMED if frame_length == 0 => return Err(FormatError::InvalidFrameLength(0)),
            CONTENT_TYPE_FRAMED if frame_length > limits.max_frame_length => {
                return Err(FormatError::FrameLengthOverLimit { frame_length, limit: limits.max_frame_length })
            }
            CONTENT_TYPE_FRAMED => {}
            other => return Err(FormatError::UnsupportedContentType(other)),
        }
        let commitment = if suite.is_committing() { Some(r.array::<COMMITMENT_LEN>()?) } else { None };
        let body_len = r.pos;
        let auth_iv = if version == 1 { r.array::<NONCE_LEN>()? } else { [0u8; NONCE_LEN] };
        let auth_tag = r.array::<TAG_LEN>()?;
        let body = HeaderBody { suite, message_id, context, encrypted_data_keys, frame_length, commitment };
        Ok((Self { body, body_bytes: input[..body_len].to_vec(), auth_iv, auth_tag }, r.pos))
    }
}

/// A bounds-checked reader over a byte slice.
struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FormatError> {
        let end = self.pos + n;
        let bytes = self.input.get(self.pos..end).ok_or(FormatError::Incomplete { needed: end })?;
        self.pos = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], FormatError> {
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }

    fn u8(&mut self) -> Result<u8, FormatError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, FormatError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, FormatError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn field(&mut self) -> Result<&'a [u8], FormatError> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_whose_version_and_suite_disagree_is_refused() {
        for suite in AlgorithmSuite::ALL {
            let other_version = 3 - suite.message_format();
            let mut bytes = vec![other_version];
            if other_version == 1 {
                bytes.push(TYPE_CUSTOMER_AUTHENTICATED);
            }
            bytes.extend(suite.id().to_be_bytes());
            bytes.extend([0u8; 64]);
            let parsed = Header::parse(&bytes, &ParseLimits::default());
            assert!(
                matches!(parsed, Err(FormatError::UnsupportedSuite(id)) if id == suite.id()),
                "{suite:?}: {parsed:?}"
            );
        }
    }
}
