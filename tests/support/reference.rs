//! A test-only reference decryptor for the message format, written from the specification
//! on RustCrypto's `aes-gcm`, `hkdf` and `sha2`: it shares no parsing or crypto code with
//! envcrypt, so agreement checks envcrypt's ring-based data path against another AES-GCM.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use sha2::Sha512;

/// An encrypted data key: provider id, provider info, ciphertext.
pub type Edk = (String, Vec<u8>, Vec<u8>);

/// What the reference read from a message.
pub struct Opened {
    pub context: Vec<(String, String)>,
    pub edks: Vec<Edk>,
    pub plaintext: Vec<u8>,
}

struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err(format!("need {n} bytes, have {}", self.0.len()));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn u16(&mut self) -> Result<usize, String> {
        Ok(u16::from_be_bytes(self.take(2)?.try_into().unwrap()) as usize)
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn field(&mut self) -> Result<&'a [u8], String> {
        let n = self.u16()?;
        self.take(n)
    }
}

/// Parses the header (to find the encrypted data keys) without decrypting anything.
pub fn encrypted_data_keys(message: &[u8]) -> Result<Vec<Edk>, String> {
    let mut r = Bytes(message);
    r.take(1 + 2 + 32)?;
    let ctx_len = r.u16()?;
    r.take(ctx_len)?;
    let count = r.u16()?;
    (0..count)
        .map(|_| {
            Ok((
                String::from_utf8(r.field()?.to_vec()).map_err(|e| e.to_string())?,
                r.field()?.to_vec(),
                r.field()?.to_vec(),
            ))
        })
        .collect()
}

/// Decrypts a v2, suite 0x0478, framed message with its plaintext data key.
pub fn decrypt(message: &[u8], data_key: &[u8]) -> Result<Opened, String> {
    let mut r = Bytes(message);
    if r.take(1)? != [2] {
        return Err("version".into());
    }
    let suite = r.take(2)?;
    if suite != [0x04, 0x78] {
        return Err("suite".into());
    }
    let message_id = r.take(32)?;
    let ctx_len = r.u16()?;
    let mut ctx_bytes = Bytes(r.take(ctx_len)?);
    let mut context = Vec::new();
    if ctx_len > 0 {
        for _ in 0..ctx_bytes.u16()? {
            let k = String::from_utf8(ctx_bytes.field()?.to_vec()).map_err(|e| e.to_string())?;
            let v = String::from_utf8(ctx_bytes.field()?.to_vec()).map_err(|e| e.to_string())?;
            context.push((k, v));
        }
    }
    let mut edks = Vec::new();
    for _ in 0..r.u16()? {
        let id = String::from_utf8(r.field()?.to_vec()).map_err(|e| e.to_string())?;
        edks.push((id, r.field()?.to_vec(), r.field()?.to_vec()));
    }
    if r.take(1)? != [2] {
        return Err("content type".into());
    }
    let frame_length = r.u32()? as usize;
    let commitment = r.take(32)?;
    let header_body = &message[..message.len() - r.0.len()];
    let header_tag = r.take(16)?;

    let hk = Hkdf::<Sha512>::new(Some(message_id), data_key);
    let mut content_key = [0u8; 32];
    hk.expand(&[suite, b"DERIVEKEY"].concat(), &mut content_key).map_err(|e| e.to_string())?;
    let mut expected_commitment = [0u8; 32];
    hk.expand(b"COMMITKEY", &mut expected_commitment).map_err(|e| e.to_string())?;
    if expected_commitment != commitment {
        return Err("commitment".into());
    }
    let cipher = Aes256Gcm::new_from_slice(&content_key).unwrap();
    cipher
        .decrypt(Nonce::from_slice(&[0u8; 12]), Payload { msg: header_tag, aad: header_body })
        .map_err(|_| "header tag".to_string())?;

    let mut plaintext = Vec::new();
    let mut sequence = 1u32;
    loop {
        let first = r.u32()?;
        let is_final = first == 0xFFFF_FFFF;
        let seq = if is_final { r.u32()? } else { first };
        if seq != sequence {
            return Err(format!("sequence {seq}, expected {sequence}"));
        }
        let iv = r.take(12)?;
        let len = if is_final { r.u32()? as usize } else { frame_length };
        let sealed = r.take(len + 16)?;
        let label: &[u8] =
            if is_final { b"AWSKMSEncryptionClient Final Frame" } else { b"AWSKMSEncryptionClient Frame" };
        let aad = [message_id, label, &seq.to_be_bytes(), &(len as u64).to_be_bytes()].concat();
        let frame = cipher
            .decrypt(Nonce::from_slice(iv), Payload { msg: sealed, aad: &aad })
            .map_err(|_| format!("frame {seq} tag"))?;
        plaintext.extend_from_slice(&frame);
        if is_final {
            break;
        }
        sequence += 1;
    }
    if !r.0.is_empty() {
        return Err("trailing bytes".into());
    }
    Ok(Opened { context, edks, plaintext })
}
