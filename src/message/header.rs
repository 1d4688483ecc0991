//! The message header: suite, message id, encryption context, encrypted data keys, frame
//! length, key commitment and authentication tag; parsed sans-I/O within [`ParseLimits`] and
//! serialized byte for byte as the Encryption SDK does.

use super::{AlgorithmSuite, FormatError, MessageKeys, COMMITMENT_LEN, MESSAGE_ID_LEN};
use crate::context::EncryptionContext;
use crate::crypto::TAG_LEN;

const VERSION: u8 = 0x02;
const CONTENT_TYPE_FRAMED: u8 = 0x02;
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

/// The authenticated fields of a version-2 header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderBody {
    /// The algorithm suite.
    pub suite: AlgorithmSuite,
    /// 32 random bytes, unique per message; the HKDF salt.
    pub message_id: [u8; MESSAGE_ID_LEN],
    /// The encryption context, stored in the clear.
    pub context: EncryptionContext,
    /// At least one encrypted data key.
    pub encrypted_data_keys: Vec<EncryptedDataKey>,
    /// Plaintext bytes per frame.
    pub frame_length: u32,
    /// The key commitment.
    pub commitment: [u8; COMMITMENT_LEN],
}

/// A header: its body, the body's exact bytes, and the authentication tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    body: HeaderBody,
    body_bytes: Vec<u8>,
    auth_tag: [u8; TAG_LEN],
}

impl HeaderBody {
    /// Serializes the body as the format specifies.
    pub fn serialize(&self) -> Result<Vec<u8>, FormatError> {
        let context = self.context.serialize()?;
        let edk_count = u16::try_from(self.encrypted_data_keys.len())
            .map_err(|_| FormatError::FieldTooLong("encrypted data key list"))?;
        if edk_count == 0 {
            return Err(FormatError::NoEncryptedDataKeys);
        }
        validate_frame_length(self.frame_length)?;
        let mut out = Vec::with_capacity(128 + context.len());
        out.push(VERSION);
        out.extend_from_slice(&self.suite.id().to_be_bytes());
        out.extend_from_slice(&self.message_id);
        out.extend_from_slice(
            &u16::try_from(context.len()).map_err(|_| FormatError::FieldTooLong("encryption context"))?.to_be_bytes(),
        );
        out.extend_from_slice(&context);
        out.extend_from_slice(&edk_count.to_be_bytes());
        for edk in &self.encrypted_data_keys {
            edk.serialize_into(&mut out)?;
        }
        out.push(CONTENT_TYPE_FRAMED);
        out.extend_from_slice(&self.frame_length.to_be_bytes());
        out.extend_from_slice(&self.commitment);
        Ok(out)
    }
}

/// The frame length must be non-zero; like the official SDKs, envcrypt also requires a
/// multiple of 16 no larger than 2^31 − 1 when it writes.
pub(super) fn validate_frame_length(frame_length: u32) -> Result<(), FormatError> {
    if frame_length == 0 || !frame_length.is_multiple_of(16) || frame_length > i32::MAX as u32 {
        return Err(FormatError::InvalidFrameLength(frame_length));
    }
    Ok(())
}

impl Header {
    /// Computes the header authentication tag: AES-GCM with the content key, a zero IV,
    /// empty plaintext and the serialized body as AAD.
    pub fn seal(body: HeaderBody, keys: &MessageKeys) -> Result<Self, FormatError> {
        let body_bytes = body.serialize()?;
        let auth_tag = keys.content().seal_detached([0u8; 12], &body_bytes, &mut []);
        Ok(Self { body, body_bytes, auth_tag })
    }

    /// The body.
    pub fn body(&self) -> &HeaderBody {
        &self.body
    }

    /// The whole header as it appears on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        [&self.body_bytes[..], &self.auth_tag].concat()
    }

    /// Length of the header on the wire.
    pub fn len(&self) -> usize {
        self.body_bytes.len() + TAG_LEN
    }

    /// Always false: a header has at least a version byte.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Checks the key commitment, then the header tag. Call before decrypting any frame.
    pub fn verify(&self, keys: &MessageKeys) -> Result<(), FormatError> {
        keys.verify_commitment(&self.body.commitment)?;
        keys.content()
            .open_detached([0u8; 12], &self.body_bytes, &mut [], &self.auth_tag)
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
        if version != VERSION {
            return Err(FormatError::UnsupportedVersion(version));
        }
        let suite_id = r.u16()?;
        // A version-2 header carries only the committing suites; any other id is refused here
        // until the version-1 reader takes the legacy suites.
        let suite = AlgorithmSuite::from_id(suite_id)
            .filter(|suite| suite.message_format() == VERSION)
            .ok_or(FormatError::UnsupportedSuite(suite_id))?;
        let message_id = r.array::<MESSAGE_ID_LEN>()?;
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
        if content_type != CONTENT_TYPE_FRAMED {
            return Err(FormatError::UnsupportedContentType(content_type));
        }
        let frame_length = r.u32()?;
        if frame_length == 0 {
            return Err(FormatError::InvalidFrameLength(0));
        }
        if frame_length > limits.max_frame_length {
            return Err(FormatError::FrameLengthOverLimit { frame_length, limit: limits.max_frame_length });
        }
        let commitment = r.array::<COMMITMENT_LEN>()?;
        let body_len = r.pos;
        let auth_tag = r.array::<TAG_LEN>()?;
        let body = HeaderBody { suite, message_id, context, encrypted_data_keys, frame_length, commitment };
        Ok((Self { body, body_bytes: input[..body_len].to_vec(), auth_tag }, r.pos))
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
    fn a_version_2_header_naming_a_legacy_suite_is_refused() {
        for suite in AlgorithmSuite::ALL.into_iter().filter(|s| s.message_format() == 1) {
            let mut bytes = vec![VERSION];
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
