//! Known-answer vectors from `vectors/` (made by `vectors/generate.py`, an independent
//! Python implementation of the formats): each message must decrypt to its plaintext, and
//! sealing the plaintext with the same data key and message id must give the same bytes.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use envcrypt::context::EncryptionContext;
use envcrypt::crypto::Aes256Gcm;
use envcrypt::kms::local::blob::{self, BlobHeader};
use envcrypt::kms::BoundContext;
use envcrypt::message::{AlgorithmSuite, EncryptedDataKey, Header, HeaderBody, MessageId, MessageKeys, ParseLimits};
use envcrypt::stream::{Decryptor, Encryptor};
use serde_json::Value;

fn load(name: &str) -> Vec<Value> {
    let path = format!("{}/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let file: Value = serde_json::from_str(&text).unwrap();
    file["cases"].as_array().unwrap().clone()
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn context(v: &Value) -> EncryptionContext {
    let map: BTreeMap<String, String> = serde_json::from_value(v.clone()).unwrap();
    map.into_iter().collect()
}

fn array<const N: usize>(v: &Value) -> [u8; N] {
    bytes(v).try_into().unwrap()
}

#[test]
fn message_vectors_decrypt_and_reencrypt_byte_for_byte() {
    let cases = load("messages.json");
    assert!(cases.len() >= 4, "the vector file lists the required cases");
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let suite = AlgorithmSuite::from_id(0x0478).unwrap();
        let data_key = bytes(&case["data_key"]);
        let message_id: [u8; 32] = array(&case["message_id"]);
        let expected = bytes(&case["message"]);
        let plaintext = bytes(&case["plaintext"]);

        let keys = MessageKeys::derive(suite, &data_key, &message_id).unwrap();
        assert_eq!(keys.commitment().unwrap().to_vec(), bytes(&case["commitment"]), "{name}: commitment");
        let mut reader = Decryptor::with_data_key(expected.as_slice(), &data_key, &ParseLimits::default()).unwrap();
        let mut opened = Vec::new();
        reader.read_to_end(&mut opened).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(opened, plaintext, "{name}: plaintext");
        let header = reader.header().body().clone();
        assert_eq!(header.context, context(&case["encryption_context"]), "{name}: context");
        assert_eq!(u64::from(header.frame_length), case["frame_length"].as_u64().unwrap());

        let edks = case["encrypted_data_keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| EncryptedDataKey {
                provider_id: e["provider_id"].as_str().unwrap().to_owned(),
                provider_info: e["provider_info"].as_str().unwrap().as_bytes().to_vec(),
                ciphertext: bytes(&e["ciphertext"]),
            })
            .collect();
        let keys = MessageKeys::derive(suite, &data_key, &message_id).unwrap();
        let body = HeaderBody {
            suite,
            message_id: MessageId::V2(message_id),
            context: context(&case["encryption_context"]),
            encrypted_data_keys: edks,
            frame_length: u32::try_from(case["frame_length"].as_u64().unwrap()).unwrap(),
            commitment: keys.commitment().copied(),
        };
        assert_eq!(body, header, "{name}: parsed header body");
        let sealed_header = Header::seal(body, &keys).unwrap();
        let mut writer = Encryptor::with_header(Vec::new(), &sealed_header, keys).unwrap();
        // Odd-sized writes exercise the frame buffering.
        for chunk in plaintext.chunks(7) {
            writer.write_all(chunk).unwrap();
        }
        assert_eq!(hex::encode(writer.finish().unwrap()), hex::encode(&expected), "{name}: sealed bytes");
    }
}

#[test]
fn message_vectors_fail_with_another_data_key() {
    for case in load("messages.json") {
        let message = bytes(&case["message"]);
        let err = Decryptor::with_data_key(message.as_slice(), &[0x42; 32], &ParseLimits::default())
            .err()
            .expect("wrong key refused");
        assert!(err.to_string().contains("commitment"), "{err}");
    }
}

#[test]
fn local_blob_vectors() {
    let cases = load("local-blobs.json");
    assert!(cases.len() >= 3);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let backing = Aes256Gcm::new(&array(&case["backing_key"]));
        let key_id: [u8; 16] =
            hex::decode(case["key_id"].as_str().unwrap().replace('-', "")).unwrap().try_into().unwrap();
        let header = BlobHeader {
            key_id,
            backing_key: u32::try_from(case["backing_key_number"].as_u64().unwrap()).unwrap(),
            iv: array(&case["iv"]),
        };
        let ctx = context(&case["encryption_context"]);
        let bound = BoundContext::new(&ctx).unwrap();
        let plaintext = bytes(&case["plaintext"]);
        let expected = bytes(&case["blob"]);
        assert_eq!(hex::encode(blob::seal(&backing, header, &bound, &plaintext)), hex::encode(&expected), "{name}");
        assert_eq!(BlobHeader::parse(&expected).unwrap().0, header, "{name}");
        assert_eq!(&*blob::open(&backing, &expected, &bound).unwrap(), plaintext.as_slice(), "{name}");
        let mut other = ctx.clone();
        other.insert("extra", "pair").unwrap();
        let other = BoundContext::new(&other).unwrap();
        assert!(blob::open(&backing, &expected, &other).is_err(), "{name}: context is bound");
    }
}

/// Format-1 messages with the unsigned legacy suites, framed and non-framed
/// (`vectors/messages-v1.json`): each opens with its data key to its plaintext, and with one
/// bit of the data key changed, opens to nothing.
#[test]
fn format_1_vectors_open_to_their_plaintext() {
    let cases = load("messages-v1.json");
    assert!(cases.iter().any(|case| case["frame_length"] == 0), "a non-framed case is listed");
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let message = bytes(&case["message"]);
        let mut data_key = bytes(&case["data_key"]);
        let mut reader = Decryptor::with_data_key(message.as_slice(), &data_key, &ParseLimits::default()).unwrap();
        let body = reader.header().body().clone();
        assert_eq!(format!("0x{:04x}", body.suite.id()), case["suite"].as_str().unwrap(), "{name}");
        assert_eq!(body.suite.message_format(), 1, "{name}");
        assert_eq!(body.context, context(&case["encryption_context"]), "{name}: context");
        assert_eq!(u64::from(body.frame_length), case["frame_length"].as_u64().unwrap(), "{name}");
        let mut opened = Vec::new();
        reader.read_to_end(&mut opened).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(opened, bytes(&case["plaintext"]), "{name}: plaintext");

        data_key[0] ^= 1;
        let refused = Decryptor::with_data_key(message.as_slice(), &data_key, &ParseLimits::default());
        assert!(refused.is_err(), "{name}: opened under another data key");
    }
}
