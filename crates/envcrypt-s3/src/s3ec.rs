//! The Amazon S3 Encryption Client's object formats, V2 and the key-committing V3.
//!
//! The body is one AES-256-GCM ciphertext followed by its 16-byte tag; the wrapped data key
//! and everything needed to open it travel in the object's metadata. The data key is wrapped
//! by a key service with the `kms+context` algorithm: the KMS encryption context is the
//! caller's context plus `aws:x-amz-cek-alg`, and it is stored with the object.
//!
//! - V2: metadata `x-amz-key-v2`, `x-amz-iv`, `x-amz-cek-alg` = `AES/GCM/NoPadding`,
//!   `x-amz-wrap-alg` = `kms+context`, `x-amz-matdesc` (the context), `x-amz-tag-len` = `128`.
//!   The content key is the data key, the IV random, no AAD.
//! - V3 (suite 0x0073, the default of the current official clients): metadata `x-amz-c` =
//!   `115`, `x-amz-3`, `x-amz-w` = `12`, `x-amz-t` (the context), `x-amz-i` (a 28-byte message
//!   id) and `x-amz-d` (a 28-byte key commitment). HKDF-SHA-512 with the message id as salt
//!   gives the content key (info `00 73 "DERIVEKEY"`) and the commitment (`00 73 "COMMITKEY"`);
//!   the IV is twelve `01` bytes and the AAD the suite id `00 73`.
//!
//! Both also get `x-amz-unencrypted-content-length` when the length is known. GCM here
//! authenticates the whole object only at its end, which is why [`crate::open_object`] keeps
//! output it cannot discard in memory until the tag verifies.

use std::collections::HashMap;
use std::io::{self, Read, Write};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use envcrypt::kms::EncryptionContext;
use hkdf::Hkdf;
use openssl::symm::{Cipher, Crypter, Mode};
use sha2::Sha512;
use zeroize::Zeroizing;

/// The context key the client reserves for the content algorithm.
pub const CEK_ALG_CONTEXT_KEY: &str = "aws:x-amz-cek-alg";
const V2_CEK_ALG: &str = "AES/GCM/NoPadding";
const V3_SUITE: &str = "115";
const V3_SUITE_ID: [u8; 2] = [0x00, 0x73];
const V3_KMS_CONTEXT_WRAP: &str = "12";
const KMS_CONTEXT_WRAP: &str = "kms+context";
const TAG_LEN: usize = 16;
const MESSAGE_ID_LEN: usize = 28;
const COMMITMENT_LEN: usize = 28;
pub(crate) const UNENCRYPTED_LENGTH: &str = "x-amz-unencrypted-content-length";

/// Which S3 Encryption Client format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3ecVersion {
    /// V2: AES-GCM with the data key itself.
    V2,
    /// V3: AES-GCM with a derived key and a key commitment (suite 115).
    V3,
}

impl S3ecVersion {
    /// The name envcrypt uses for it (`s3ec-v2`, `s3ec-v3`).
    pub fn name(self) -> &'static str {
        match self {
            Self::V2 => "s3ec-v2",
            Self::V3 => "s3ec-v3",
        }
    }

    fn cek_alg(self) -> &'static str {
        match self {
            Self::V2 => V2_CEK_ALG,
            Self::V3 => V3_SUITE,
        }
    }
}

/// Why S3 Encryption Client metadata or content cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum S3ecError {
    /// A V1 object: unauthenticated AES-CBC or a legacy key wrap.
    #[error(
        "it is an S3 Encryption Client V1 object (unauthenticated AES-CBC or a legacy key wrap), which envcrypt \
         does not open"
    )]
    V1Object,
    /// The metadata claims both formats.
    #[error("its metadata holds both V2 and V3 S3 Encryption Client keys")]
    BothVersions,
    /// The wrapped data key is stored in a separate instruction file.
    #[error("its V3 data key is in an instruction file, which envcrypt does not read")]
    InstructionFile,
    /// A metadata field is missing.
    #[error("its metadata lacks {0}")]
    Missing(&'static str),
    /// A metadata field names an algorithm or setting envcrypt does not read.
    #[error("{field} is {found:?}; envcrypt reads only {expected:?}")]
    Unsupported {
        /// The metadata field.
        field: &'static str,
        /// Its value.
        found: String,
        /// The one value envcrypt reads.
        expected: &'static str,
    },
    /// A metadata field does not parse.
    #[error("{field} is malformed: {problem}")]
    Malformed {
        /// The metadata field.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The stored KMS context does not name the content algorithm the metadata claims.
    #[error("the stored context gives {CEK_ALG_CONTEXT_KEY}={}, not {expected}", found.as_deref().unwrap_or("nothing"))]
    ContextAlgorithm {
        /// What the context names, if anything.
        found: Option<String>,
        /// What the format requires.
        expected: &'static str,
    },
    /// The caller's context uses the key the format reserves.
    #[error("the encryption context key {CEK_ALG_CONTEXT_KEY} is reserved by the S3 Encryption Client format")]
    ReservedContextKey,
    /// The data key is not an AES-256 key.
    #[error("the data key is {0} bytes, not 32")]
    DataKeyLength(usize),
    /// A V3 object's key commitment does not match its data key.
    #[error("the key commitment does not match the data key: the object was altered")]
    CommitmentMismatch,
    /// The system random generator failed.
    #[error("the system random generator failed: {0}")]
    Random(String),
    /// The body is shorter than a GCM tag.
    #[error("the body is {0} bytes, shorter than a GCM tag")]
    ShortBody(u64),
    /// The body ended before the length S3 gave for it.
    #[error("the body ended {0} bytes early: it is shorter than its length said")]
    EndedEarly(u64),
    /// The content's GCM tag does not verify.
    #[error("the GCM tag does not verify: the object was altered or the key is wrong")]
    TagMismatch,
    /// The cipher could not be set up or run.
    #[error("AES-GCM failed: {0}")]
    Cipher(String),
}

/// What an object's metadata holds: the wrapped data key and how the content is encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Envelope {
    pub version: S3ecVersion,
    /// The key service's ciphertext blob of the data key.
    pub wrapped_key: Vec<u8>,
    /// The KMS encryption context, reserved key included.
    pub kms_context: EncryptionContext,
    pub nonce: Nonce,
    pub plaintext_length: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Nonce {
    Iv([u8; 12]),
    Committed { message_id: [u8; MESSAGE_ID_LEN], commitment: [u8; COMMITMENT_LEN] },
}

/// The AES-256-GCM key, IV and AAD of an object's content.
pub(crate) struct ContentKey {
    key: Zeroizing<[u8; 32]>,
    iv: [u8; 12],
    aad: &'static [u8],
}

/// The KMS context for `version`: the caller's pairs plus the reserved one.
pub(crate) fn kms_context(version: S3ecVersion, user: &EncryptionContext) -> Result<EncryptionContext, S3ecError> {
    if user.get(CEK_ALG_CONTEXT_KEY).is_some() {
        return Err(S3ecError::ReservedContextKey);
    }
    let mut context = user.clone();
    // The key is reserved, so it is not in the context yet; inserting cannot fail.
    context.insert(CEK_ALG_CONTEXT_KEY, version.cek_alg()).map_err(|_| S3ecError::ReservedContextKey)?;
    Ok(context)
}

/// The caller's part of a stored context.
pub(crate) fn user_context(kms_context: &EncryptionContext) -> EncryptionContext {
    kms_context.iter().filter(|(k, _)| *k != CEK_ALG_CONTEXT_KEY).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

impl Envelope {
    /// A fresh envelope for a data key, with a new random IV or message id, and its content key.
    pub fn new(
        version: S3ecVersion,
        data_key: &[u8],
        wrapped_key: Vec<u8>,
        kms_context: EncryptionContext,
        plaintext_length: Option<u64>,
    ) -> Result<(Self, ContentKey), S3ecError> {
        let nonce = match version {
            S3ecVersion::V2 => {
                let mut iv = [0u8; 12];
                openssl::rand::rand_bytes(&mut iv).map_err(|e| S3ecError::Random(e.to_string()))?;
                Nonce::Iv(iv)
            }
            S3ecVersion::V3 => {
                let mut message_id = [0u8; MESSAGE_ID_LEN];
                openssl::rand::rand_bytes(&mut message_id).map_err(|e| S3ecError::Random(e.to_string()))?;
                let (_, commitment) = derive_v3(data_key, &message_id)?;
                Nonce::Committed { message_id, commitment }
            }
        };
        let envelope = Self { version, wrapped_key, kms_context, nonce, plaintext_length };
        let key = envelope.content_key(data_key)?;
        Ok((envelope, key))
    }

    /// The content key for `data_key`, after checking a V3 key commitment in constant time.
    pub fn content_key(&self, data_key: &[u8]) -> Result<ContentKey, S3ecError> {
        let mut key = Zeroizing::new([0u8; 32]);
        match &self.nonce {
            Nonce::Iv(iv) => {
                let bytes: [u8; 32] = data_key.try_into().map_err(|_| S3ecError::DataKeyLength(data_key.len()))?;
                *key = bytes;
                Ok(ContentKey { key, iv: *iv, aad: &[] })
            }
            Nonce::Committed { message_id, commitment } => {
                let (derived, expected) = derive_v3(data_key, message_id)?;
                if !openssl::memcmp::eq(&expected, commitment) {
                    return Err(S3ecError::CommitmentMismatch);
                }
                Ok(ContentKey { key: derived, iv: [0x01; 12], aad: &V3_SUITE_ID })
            }
        }
    }

    /// The object metadata (keys without `x-amz-meta-`).
    pub fn to_metadata(&self) -> HashMap<String, String> {
        let mut map = HashMap::new();
        let mut put = |k: &str, v: String| {
            map.insert(k.to_owned(), v);
        };
        let context = ascii_json(&self.kms_context);
        match &self.nonce {
            Nonce::Iv(iv) => {
                put("x-amz-key-v2", BASE64.encode(&self.wrapped_key));
                put("x-amz-iv", BASE64.encode(iv));
                put("x-amz-cek-alg", V2_CEK_ALG.into());
                put("x-amz-wrap-alg", KMS_CONTEXT_WRAP.into());
                put("x-amz-matdesc", context);
                put("x-amz-tag-len", "128".into());
            }
            Nonce::Committed { message_id, commitment } => {
                put("x-amz-3", BASE64.encode(&self.wrapped_key));
                put("x-amz-c", V3_SUITE.into());
                put("x-amz-w", V3_KMS_CONTEXT_WRAP.into());
                put("x-amz-t", context);
                put("x-amz-i", BASE64.encode(message_id));
                put("x-amz-d", BASE64.encode(commitment));
            }
        }
        if let Some(length) = self.plaintext_length {
            put(UNENCRYPTED_LENGTH, length.to_string());
        }
        map
    }

    /// Reads an envelope from object metadata; `None` when the object is not an S3 Encryption
    /// Client object at all.
    pub fn from_metadata(map: &HashMap<String, String>) -> Option<Result<Self, S3ecError>> {
        let get = |k: &str| map.get(k).map(String::as_str);
        let v3 = get("x-amz-3").is_some() || get("x-amz-c").is_some();
        let v2 = get("x-amz-key-v2").is_some();
        if get("x-amz-key").is_some() {
            return Some(Err(S3ecError::V1Object));
        }
        if !v2 && !v3 {
            return None;
        }
        if v2 && v3 {
            return Some(Err(S3ecError::BothVersions));
        }
        Some(if v3 { Self::parse_v3(&get) } else { Self::parse_v2(&get) })
    }

    fn parse_v2<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> Result<Self, S3ecError> {
        expect(get, "x-amz-cek-alg", V2_CEK_ALG)?;
        expect(get, "x-amz-wrap-alg", KMS_CONTEXT_WRAP)?;
        if let Some(len) = get("x-amz-tag-len") {
            if len != "128" {
                return Err(S3ecError::Unsupported { field: "x-amz-tag-len", found: len.to_owned(), expected: "128" });
            }
        }
        let iv = decode_fixed::<12>(get, "x-amz-iv")?;
        Ok(Self {
            version: S3ecVersion::V2,
            wrapped_key: decode(get, "x-amz-key-v2")?,
            kms_context: parse_context(get, "x-amz-matdesc")?,
            nonce: Nonce::Iv(iv),
            plaintext_length: parse_length(get)?,
        })
    }

    fn parse_v3<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> Result<Self, S3ecError> {
        expect(get, "x-amz-c", V3_SUITE)?;
        if get("x-amz-3").is_none() {
            return Err(S3ecError::InstructionFile);
        }
        expect(get, "x-amz-w", V3_KMS_CONTEXT_WRAP)?;
        Ok(Self {
            version: S3ecVersion::V3,
            wrapped_key: decode(get, "x-amz-3")?,
            kms_context: parse_context(get, "x-amz-t")?,
            nonce: Nonce::Committed {
                message_id: decode_fixed(get, "x-amz-i")?,
                commitment: decode_fixed(get, "x-amz-d")?,
            },
            plaintext_length: parse_length(get)?,
        })
    }

    /// Checks the stored context names this version's content algorithm, as the official
    /// clients do, so that metadata cannot claim one algorithm and bind the key to another.
    pub fn check_reserved_context(&self) -> Result<(), S3ecError> {
        let expected = self.version.cek_alg();
        match self.kms_context.get(CEK_ALG_CONTEXT_KEY) {
            Some(v) if v == expected => Ok(()),
            found => Err(S3ecError::ContextAlgorithm { found: found.map(str::to_owned), expected }),
        }
    }
}

fn expect<'a>(
    get: &impl Fn(&str) -> Option<&'a str>,
    field: &'static str,
    expected: &'static str,
) -> Result<(), S3ecError> {
    match get(field) {
        Some(v) if v == expected => Ok(()),
        Some(v) => Err(S3ecError::Unsupported { field, found: v.to_owned(), expected }),
        None => Err(S3ecError::Missing(field)),
    }
}

fn malformed(field: &'static str, problem: impl std::fmt::Display) -> S3ecError {
    S3ecError::Malformed { field, problem: problem.to_string() }
}

fn decode<'a>(get: &impl Fn(&str) -> Option<&'a str>, field: &'static str) -> Result<Vec<u8>, S3ecError> {
    let text = get(field).ok_or(S3ecError::Missing(field))?;
    BASE64.decode(text).map_err(|e| malformed(field, format_args!("not base64: {e}")))
}

fn decode_fixed<'a, const N: usize>(
    get: &impl Fn(&str) -> Option<&'a str>,
    field: &'static str,
) -> Result<[u8; N], S3ecError> {
    let bytes = decode(get, field)?;
    bytes.try_into().map_err(|b: Vec<u8>| malformed(field, format_args!("{} bytes, not {N}", b.len())))
}

fn parse_context<'a>(
    get: &impl Fn(&str) -> Option<&'a str>,
    field: &'static str,
) -> Result<EncryptionContext, S3ecError> {
    let text = get(field).ok_or(S3ecError::Missing(field))?;
    let pairs: HashMap<String, String> =
        serde_json::from_str(text).map_err(|e| malformed(field, format_args!("not a JSON object of strings: {e}")))?;
    Ok(pairs.into_iter().collect())
}

fn parse_length<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> Result<Option<u64>, S3ecError> {
    get(UNENCRYPTED_LENGTH)
        .map(|v| v.parse().map_err(|_| malformed(UNENCRYPTED_LENGTH, format_args!("not a number: {v:?}"))))
        .transpose()
}

/// JSON with every non-ASCII character escaped: metadata travels in HTTP headers.
fn ascii_json(context: &EncryptionContext) -> String {
    let map: std::collections::BTreeMap<&str, &str> = context.iter().collect();
    let json = serde_json::to_string(&map).unwrap_or_else(|_| "{}".into());
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

fn derive_v3(data_key: &[u8], message_id: &[u8]) -> Result<(Zeroizing<[u8; 32]>, [u8; COMMITMENT_LEN]), S3ecError> {
    if data_key.len() != 32 {
        return Err(S3ecError::DataKeyLength(data_key.len()));
    }
    let hkdf = Hkdf::<Sha512>::new(Some(message_id), data_key);
    let mut key = Zeroizing::new([0u8; 32]);
    let mut commitment = [0u8; COMMITMENT_LEN];
    let info = |label: &[u8]| [&V3_SUITE_ID[..], label].concat();
    // 32 and 28 bytes are far below HKDF-SHA-512's limit of 255 × 64.
    hkdf.expand(&info(b"DERIVEKEY"), key.as_mut()).expect("32 bytes is a valid HKDF-SHA-512 length");
    hkdf.expand(&info(b"COMMITKEY"), &mut commitment).expect("28 bytes is a valid HKDF-SHA-512 length");
    Ok((key, commitment))
}

fn crypter(key: &ContentKey, mode: Mode) -> io::Result<Crypter> {
    let mut crypter = Crypter::new(Cipher::aes_256_gcm(), mode, key.key.as_ref(), Some(&key.iv))?;
    if !key.aad.is_empty() {
        crypter.aad_update(key.aad)?;
    }
    Ok(crypter)
}

/// Encrypts what is written to it into `inner`; [`ContentWriter::finish`] appends the tag.
pub(crate) struct ContentWriter<W: Write> {
    inner: W,
    crypter: Crypter,
    out: Vec<u8>,
    plaintext_bytes: u64,
}

impl<W: Write> ContentWriter<W> {
    pub fn new(inner: W, key: &ContentKey) -> io::Result<Self> {
        Ok(Self { inner, crypter: crypter(key, Mode::Encrypt)?, out: Vec::new(), plaintext_bytes: 0 })
    }

    /// Writes the tag and gives back the inner writer and the plaintext length.
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        let mut rest = [0u8; 32];
        let n = self.crypter.finalize(&mut rest)?;
        self.inner.write_all(&rest[..n])?;
        let mut tag = [0u8; TAG_LEN];
        self.crypter.get_tag(&mut tag)?;
        self.inner.write_all(&tag)?;
        Ok((self.inner, self.plaintext_bytes))
    }
}

impl<W: Write> Write for ContentWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let data = &data[..data.len().min(1 << 20)];
        self.out.resize(data.len() + 32, 0);
        let n = self.crypter.update(data, &mut self.out)?;
        self.inner.write_all(&self.out[..n])?;
        self.plaintext_bytes += data.len() as u64;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Why content could not be decrypted.
#[derive(Debug)]
pub(crate) enum ContentError {
    Read(io::Error),
    Write(io::Error),
    /// The body is shorter than a tag, or the tag does not verify.
    Corrupt(S3ecError),
}

/// Decrypts a body of `body_length` bytes (ciphertext ‖ tag) from `input` into `output`.
/// Plaintext reaches `output` before the tag is checked at the end: `output` must be
/// discarded on error. Returns the plaintext length.
pub(crate) fn decrypt_content(
    input: &mut impl Read,
    body_length: u64,
    key: &ContentKey,
    output: &mut impl Write,
) -> Result<u64, ContentError> {
    let ciphertext_length =
        body_length.checked_sub(TAG_LEN as u64).ok_or(ContentError::Corrupt(S3ecError::ShortBody(body_length)))?;
    let mut crypter =
        crypter(key, Mode::Decrypt).map_err(|e| ContentError::Corrupt(S3ecError::Cipher(e.to_string())))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut out = Zeroizing::new(vec![0u8; (1 << 20) + 32]);
    let mut left = ciphertext_length;
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        let n = input.read(&mut buf[..want]).map_err(ContentError::Read)?;
        if n == 0 {
            return Err(ContentError::Corrupt(S3ecError::EndedEarly(left)));
        }
        let m =
            crypter.update(&buf[..n], &mut out).map_err(|e| ContentError::Corrupt(S3ecError::Cipher(e.to_string())))?;
        output.write_all(&out[..m]).map_err(ContentError::Write)?;
        left -= n as u64;
    }
    let mut tag = [0u8; TAG_LEN];
    input.read_exact(&mut tag).map_err(ContentError::Read)?;
    crypter.set_tag(&tag).map_err(|e| ContentError::Corrupt(S3ecError::Cipher(e.to_string())))?;
    let m = crypter.finalize(&mut out).map_err(|_| ContentError::Corrupt(S3ecError::TagMismatch))?;
    output.write_all(&out[..m]).map_err(ContentError::Write)?;
    Ok(ciphertext_length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Case {
        name: String,
        version: String,
        data_key: String,
        encryption_context: HashMap<String, String>,
        plaintext: String,
        metadata: HashMap<String, String>,
        body: String,
    }

    fn cases() -> Vec<Case> {
        #[derive(serde::Deserialize)]
        struct File {
            cases: Vec<Case>,
        }
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../vectors/s3ec-objects.json");
        let file: File = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert!(file.cases.len() >= 5);
        file.cases
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn known_answer_objects_open_and_are_written_byte_for_byte() {
        for case in cases() {
            let (data_key, plaintext, body) = (hex(&case.data_key), hex(&case.plaintext), hex(&case.body));
            let envelope = Envelope::from_metadata(&case.metadata).unwrap().unwrap();
            let version = if case.version == "v3" { S3ecVersion::V3 } else { S3ecVersion::V2 };
            assert_eq!(envelope.version, version, "{}", case.name);
            let user: EncryptionContext = case.encryption_context.clone().into_iter().collect();
            assert_eq!(user_context(&envelope.kms_context), user, "{}", case.name);
            assert_eq!(envelope.kms_context, kms_context(version, &user).unwrap(), "{}", case.name);
            envelope.check_reserved_context().unwrap();
            assert_eq!(envelope.plaintext_length, Some(plaintext.len() as u64));
            assert_eq!(envelope.to_metadata(), case.metadata, "{}: envcrypt writes the same metadata", case.name);

            let key = envelope.content_key(&data_key).unwrap();
            let mut opened = Vec::new();
            decrypt_content(&mut &body[..], body.len() as u64, &key, &mut opened).unwrap();
            assert_eq!(opened, plaintext, "{}", case.name);
            let mut writer = ContentWriter::new(Vec::new(), &key).unwrap();
            writer.write_all(&plaintext).unwrap();
            assert_eq!(writer.finish().unwrap().0, body, "{}: envcrypt encrypts to the same body", case.name);

            let mut altered = body.clone();
            altered[body.len() / 2] ^= 0x80;
            let err = decrypt_content(&mut &altered[..], body.len() as u64, &key, &mut Vec::new());
            assert!(matches!(err, Err(ContentError::Corrupt(_))), "{}", case.name);
            let truncated = &body[..body.len() - 1];
            let err = decrypt_content(&mut &truncated[..], body.len() as u64, &key, &mut Vec::new());
            assert!(err.is_err(), "{}", case.name);
        }
    }

    #[test]
    fn a_v3_object_with_another_commitment_or_a_wrong_key_is_refused_before_decrypting() {
        let case = cases().into_iter().find(|c| c.version == "v3").unwrap();
        let mut metadata = case.metadata.clone();
        let mut commitment = BASE64.decode(&metadata["x-amz-d"]).unwrap();
        commitment[0] ^= 1;
        metadata.insert("x-amz-d".into(), BASE64.encode(&commitment));
        let envelope = Envelope::from_metadata(&metadata).unwrap().unwrap();
        let err = envelope.content_key(&hex(&case.data_key)).err().unwrap();
        assert_eq!(err, S3ecError::CommitmentMismatch);
        let envelope = Envelope::from_metadata(&case.metadata).unwrap().unwrap();
        assert!(envelope.content_key(&[7u8; 32]).is_err());
    }

    #[test]
    fn malformed_metadata_is_refused_with_a_reason() {
        let case = cases().into_iter().find(|c| c.version == "v2").unwrap();
        let broken: [(&str, Option<&str>); 6] = [
            ("x-amz-iv", Some("AAAA")),
            ("x-amz-cek-alg", Some("AES/CBC/PKCS5Padding")),
            ("x-amz-wrap-alg", Some("kms")),
            ("x-amz-tag-len", Some("96")),
            ("x-amz-matdesc", Some("[1, 2]")),
            ("x-amz-key-v2", Some("not base64!")),
        ];
        for (key, value) in broken {
            let mut metadata = case.metadata.clone();
            match value {
                Some(v) => metadata.insert(key.to_owned(), v.to_owned()),
                None => metadata.remove(key),
            };
            let result = Envelope::from_metadata(&metadata).unwrap();
            let err = result.expect_err(&format!("{key}={value:?} was accepted"));
            assert!(err.to_string().contains(key), "{key}: {err}");
        }
        let mut v1 = case.metadata.clone();
        v1.insert("x-amz-key".into(), "AAAA".into());
        assert_eq!(Envelope::from_metadata(&v1).unwrap().unwrap_err(), S3ecError::V1Object);
        assert!(Envelope::from_metadata(&HashMap::new()).is_none(), "not an S3 Encryption Client object");
    }
}
