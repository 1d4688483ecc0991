//! Every algorithm suite through every way of sealing and opening, and the checks that guard
//! the legacy formats: the commitment policy, the signature and its key, the non-framed limit.

use std::io::{Read, Write};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use envcrypt::keyring::raw::RawKey;
use envcrypt::keyring::{Keyring, OpenPolicy};
use envcrypt::kms::{EncryptionContext, KeyService};
use envcrypt::message::signature::PUBLIC_KEY_CONTEXT_KEY;
use envcrypt::message::{AlgorithmSuite, CommitmentPolicy, FormatError, ParseLimits};
use envcrypt::stream::{self, Decryptor, Encryptor, Error, OpenOptions, SealOptions};
use envcrypt_testkit::{CountingKeyService, TempStore};

fn raw_key() -> Arc<RawKey> {
    Arc::new(RawKey::aes("suites", "key", &[9u8; 32]).unwrap())
}

fn context() -> EncryptionContext {
    [("purpose".to_owned(), "suites".to_owned())].into_iter().collect()
}

fn seal_options(suite: AlgorithmSuite, frame_length: u32) -> SealOptions {
    let commitment_policy = CommitmentPolicy::ALL.into_iter().find(|p| p.allows_sealing(suite)).unwrap();
    SealOptions { suite, commitment_policy, frame_length, threads: 2, ..SealOptions::default() }
}

fn open_options() -> OpenOptions {
    OpenOptions { commitment_policy: CommitmentPolicy::RequireEncryptAllowDecrypt, ..OpenOptions::default() }
}

fn policy() -> OpenPolicy {
    OpenPolicy::discovery(Vec::new()).with_raw_keys(vec![raw_key()])
}

fn seal(suite: AlgorithmSuite, plaintext: &[u8]) -> Vec<u8> {
    let mut sealed = Vec::new();
    let keyring = Keyring::new().with_raw_key(raw_key());
    stream::seal(plaintext, &mut sealed, &keyring, &context(), &seal_options(suite, 128)).unwrap();
    sealed
}

fn open(message: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    stream::open(message, &mut out, &policy(), &open_options())?;
    Ok(out)
}

/// A local store whose calls are counted: the store, the counter, and the service to use.
fn counted_store() -> (TempStore, Arc<CountingKeyService>, Arc<dyn KeyService>) {
    let store = TempStore::new();
    let counting = Arc::new(CountingKeyService::new(store.service.clone()));
    let service: Arc<dyn KeyService> = counting.clone();
    (store, counting, service)
}

/// `plaintext` sealed with `suite` under the default key of the service `counted_store` made.
fn seal_with(service: &Arc<dyn KeyService>, suite: AlgorithmSuite, plaintext: &[u8]) -> Vec<u8> {
    let key = envcrypt::kms::KeyRef::parse("alias/envcrypt/default").unwrap();
    let keyring = Keyring::new().with_key(service.clone(), key);
    let mut sealed = Vec::new();
    stream::seal(plaintext, &mut sealed, &keyring, &context(), &seal_options(suite, 4096)).unwrap();
    sealed
}

#[test]
fn every_suite_round_trips_through_every_way_of_sealing_and_opening() {
    let keyring = Keyring::new().with_raw_key(raw_key());
    for suite in AlgorithmSuite::ALL {
        for len in [0usize, 1, 127, 128, 129, 1000] {
            let plaintext: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let options = seal_options(suite, 128);
            let mut parallel = Vec::new();
            stream::seal(&plaintext[..], &mut parallel, &keyring, &context(), &options).unwrap();
            let mut writer = Encryptor::new(Vec::new(), &keyring, &context(), &options).unwrap();
            writer.write_all(&plaintext).unwrap();
            let streamed = writer.finish().unwrap();
            for message in [parallel, streamed] {
                let header = stream::read_header(&mut &message[..], &ParseLimits::default()).unwrap();
                assert_eq!(header.body().suite, suite);
                assert_eq!(header.body().message_id.as_bytes().len(), if suite.is_committing() { 32 } else { 16 });
                assert_eq!(open(&message).unwrap(), plaintext, "{suite:?}, {len} bytes");
                let mut reader = Decryptor::with_options(&message[..], &policy(), &open_options()).unwrap();
                let mut out = Vec::new();
                reader.read_to_end(&mut out).unwrap();
                assert_eq!(out, plaintext, "{suite:?}, {len} bytes, streaming");
            }
        }
    }
}

/// The default policy refuses a non-committing message from its header, before any key service
/// is asked for the data key, and names the policy that opens it.
#[test]
fn the_default_policy_refuses_a_legacy_message_before_any_key_service_call() {
    let (_store, counting, service) = counted_store();
    let sealed = seal_with(&service, AlgorithmSuite::AesGcm256HkdfSha384EcdsaP384, b"written by ESDK 1.x");

    let before = counting.counts().decrypt;
    let mut out = Vec::new();
    let refused =
        stream::open(&sealed[..], &mut out, &OpenPolicy::discovery(vec![service.clone()]), &OpenOptions::default());
    let Err(Error::Format(error @ FormatError::CommitmentPolicy { suite: 0x0378, .. })) = refused else {
        panic!("{refused:?}");
    };
    assert!(error.to_string().contains("--commitment-policy require-encrypt-allow-decrypt"), "{error}");
    assert_eq!(counting.counts().decrypt, before, "no key service call for a refused suite");
    assert!(out.is_empty());

    stream::open(&sealed[..], &mut out, &OpenPolicy::discovery(vec![service]), &open_options()).unwrap();
    assert_eq!(out, b"written by ESDK 1.x");
    assert_eq!(counting.counts().decrypt, before + 1);
}

/// Sealing refuses a suite the policy does not write, rather than silently writing another.
#[test]
fn sealing_refuses_a_suite_the_policy_forbids() {
    let keyring = Keyring::new().with_raw_key(raw_key());
    for suite in AlgorithmSuite::ALL {
        for policy in CommitmentPolicy::ALL.into_iter().filter(|p| !p.allows_sealing(suite)) {
            let options = SealOptions { suite, commitment_policy: policy, ..SealOptions::default() };
            let refused = stream::seal(&b"x"[..], Vec::new(), &keyring, &context(), &options);
            assert!(
                matches!(refused, Err(Error::Format(FormatError::CommitmentPolicy { sealing: true, .. }))),
                "{suite:?} under {policy}: {refused:?}"
            );
        }
    }
}

/// Each signed message gets its own key pair; a footer moved from another message, a public
/// key swapped in the context, and a signed suite relabelled unsigned are all refused.
#[test]
fn a_signature_is_bound_to_its_message_and_its_key_to_the_context() {
    for suite in AlgorithmSuite::ALL.into_iter().filter(|s| s.is_signed()) {
        let plaintext = vec![5u8; 300];
        let a = seal(suite, &plaintext);
        let b = seal(suite, &plaintext);
        let key = |m: &[u8]| {
            let header = stream::read_header(&mut &m[..], &ParseLimits::default()).unwrap();
            header.body().context.get(PUBLIC_KEY_CONTEXT_KEY).unwrap().to_owned()
        };
        let (key_a, key_b) = (key(&a), key(&b));
        assert_ne!(key_a, key_b, "{suite:?}: a fresh key pair per message");
        let point_len = if suite.id() == 0x0214 { 33 } else { 49 };
        assert_eq!(B64.decode(&key_a).unwrap().len(), point_len, "{suite:?}: a compressed point");
        assert_eq!(open(&a).unwrap(), plaintext);

        // Footer of b on a. A footer is `length (u16) · DER SEQUENCE (0x30 ...)` and ends the message.
        let body_len = |m: &[u8]| {
            (0..m.len() - 3)
                .rev()
                .find(|&at| {
                    usize::from(u16::from_be_bytes([m[at], m[at + 1]])) == m.len() - at - 2 && m[at + 2] == 0x30
                })
                .unwrap()
        };
        let mut swapped = a[..body_len(&a)].to_vec();
        swapped.extend_from_slice(&b[body_len(&b)..]);
        assert!(open(&swapped).is_err(), "{suite:?}: a footer from another message");

        // b's public key in a's header: the header tag (and the raw AES wrapping) no longer verify.
        let mut relabelled = a.clone();
        let at = a.windows(key_a.len()).position(|w| w == key_a.as_bytes()).unwrap();
        relabelled[at..at + key_b.len()].copy_from_slice(key_b.as_bytes());
        assert!(open(&relabelled).is_err(), "{suite:?}: another public key");

        // Unsigned-only refuses it before anything is released.
        let options = OpenOptions { unsigned_only: true, ..open_options() };
        let mut out = Vec::new();
        let refused = stream::open(&a[..], &mut out, &policy(), &options);
        assert!(matches!(refused, Err(Error::Format(FormatError::SignedMessageRefused(_)))), "{refused:?}");
        assert!(out.is_empty());
    }
}

/// A non-framed body is held whole until its tag verifies, so its claimed length is checked
/// against the limit before anything is read into memory.
#[test]
fn a_non_framed_body_over_the_limit_is_refused_before_it_is_read() {
    let vectors: serde_json::Value = serde_json::from_str(include_str!("../vectors/messages-v1.json")).unwrap();
    let case =
        vectors["cases"].as_array().unwrap().iter().find(|c| c["frame_length"] == 0 && c["plaintext"] != "").unwrap();
    let message = hex::decode(case["message"].as_str().unwrap()).unwrap();
    let data_key = hex::decode(case["data_key"].as_str().unwrap()).unwrap();
    let plaintext_len = case["plaintext"].as_str().unwrap().len() / 2;
    // The body's u64 length sits 12 bytes into the body, which starts after the header.
    let header_len = stream::read_header(&mut &message[..], &ParseLimits::default()).unwrap().len();
    let length_at = header_len + 12;
    assert_eq!(&message[length_at..length_at + 8], &(plaintext_len as u64).to_be_bytes());

    for (claimed, limit) in [(1u64 << 36, u32::MAX), (u64::MAX, u32::MAX), (plaintext_len as u64, 100)] {
        let mut crafted = message.clone();
        crafted[length_at..length_at + 8].copy_from_slice(&claimed.to_be_bytes());
        let limits = ParseLimits { max_frame_length: limit, ..ParseLimits::default() };
        let mut reader = Decryptor::with_data_key(&crafted[..], &data_key, &limits).unwrap();
        let error = reader.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(error.to_string().contains("non-framed body claims"), "{claimed} under {limit}: {error}");
    }
}

/// An attacker who can have messages opened with a raw RSA key learns nothing from the answer
/// about the RSA decryption of a data key they crafted: a ciphertext that does not decrypt, one
/// that decrypts to a key of the wrong length, and one that decrypts to a wrong key of the right
/// length all fail the same way (the Bleichenbacher padding oracle needs them to differ).
#[test]
fn a_raw_rsa_key_gives_no_padding_oracle() {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    use rsa::{Pkcs1v15Encrypt, RsaPrivateKey};
    let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let pem = private.to_pkcs8_pem(LineEnding::LF).unwrap();
    let key = Arc::new(RawKey::rsa_pem("escrow", "offline", &pem, envcrypt::keyring::raw::RsaPadding::Pkcs1).unwrap());
    let public = private.to_public_key();
    let mut rng = rsa::rand_core::OsRng;
    let crafted = [
        vec![0x5a; 256],
        public.encrypt(&mut rng, Pkcs1v15Encrypt, &[1u8; 5]).unwrap(),
        public.encrypt(&mut rng, Pkcs1v15Encrypt, &[2u8; 32]).unwrap(),
        public.encrypt(&mut rng, Pkcs1v15Encrypt, &[3u8; 16]).unwrap(),
    ];
    for suite in [AlgorithmSuite::AesGcm256HkdfSha512Committing, AlgorithmSuite::AesGcm256HkdfSha256] {
        let mut sealed = Vec::new();
        let keyring = Keyring::new().with_raw_key(key.clone());
        stream::seal(&b"escrowed"[..], &mut sealed, &keyring, &context(), &seal_options(suite, 4096)).unwrap();
        let policy = OpenPolicy::discovery(Vec::new()).with_raw_keys(vec![key.clone()]);
        let mut out = Vec::new();
        stream::open(&sealed[..], &mut out, &policy, &open_options()).unwrap();
        assert_eq!(out, b"escrowed");

        // The RSA ciphertext is the last field of the only encrypted data key: 256 bytes after
        // its u16 length, right after the provider info "offline".
        let at = sealed.windows(7).position(|w| w == b"offline").unwrap() + 7 + 2;
        let errors: Vec<String> = crafted
            .iter()
            .map(|ciphertext| {
                let mut forged = sealed.clone();
                forged[at..at + 256].copy_from_slice(ciphertext);
                stream::open(&forged[..], Vec::new(), &policy, &open_options()).unwrap_err().to_string()
            })
            .collect();
        assert!(errors.iter().all(|e| *e == errors[0]), "{suite:?}: the answers differ: {errors:#?}");
    }
    let weak = RsaPrivateKey::new(&mut rng, 1024).unwrap().to_pkcs8_pem(LineEnding::LF).unwrap();
    let refused = RawKey::rsa_pem("escrow", "weak", &weak, envcrypt::keyring::raw::RsaPadding::OaepSha256);
    assert!(refused.unwrap_err().to_string().contains("2048 bits or more"));
}

/// Discovery asks a key service only about key ARNs (an alias named in a header could be
/// re-pointed at another key) and, with a discovery filter, only about keys of the allowed
/// partition and accounts: anything else is skipped without a call.
#[test]
fn discovery_tries_only_key_arns_of_the_allowed_accounts() {
    use envcrypt::keyring::DiscoveryFilter;
    use envcrypt::message::Header;
    let (_store, counting, service) = counted_store();
    let sealed = seal_with(&service, AlgorithmSuite::AesGcm256HkdfSha512Committing, b"discovered");
    let (header, header_len) = Header::parse(&sealed, &ParseLimits::default()).unwrap();
    let key_arn = String::from_utf8(header.body().encrypted_data_keys[0].provider_info.clone()).unwrap();
    let open = |message: &[u8], policy: OpenPolicy| {
        let mut out = Vec::new();
        stream::open(message, &mut out, &policy, &OpenOptions::default()).map(|_| out).map_err(|e| e.to_string())
    };

    // The header names an alias ARN instead of the key ARN: skipped, no call.
    let mut body = header.body().clone();
    let alias_arn = key_arn.split(":key/").next().unwrap().to_owned() + ":alias/envcrypt/default";
    body.encrypted_data_keys[0].provider_info = alias_arn.into_bytes();
    let mut aliased = body.serialize().unwrap();
    aliased.extend_from_slice(&[0u8; 16]);
    aliased.extend_from_slice(&sealed[header_len..]);
    let error = open(&aliased, OpenPolicy::discovery(vec![service.clone()])).unwrap_err();
    assert!(error.contains("not a key ARN"), "{error}");
    assert_eq!(counting.counts().decrypt, 0);

    // Outside the discovery accounts, or the partition: skipped, no call.
    for (partition, account) in [("envcrypt", "111122223333"), ("aws", "000000000000")] {
        let filter = DiscoveryFilter { partition: partition.to_owned(), accounts: vec![account.to_owned()] };
        let error =
            open(&sealed, OpenPolicy::discovery(vec![service.clone()]).with_discovery_filter(filter)).unwrap_err();
        assert!(error.contains("discovery"), "{error}");
        assert_eq!(counting.counts().decrypt, 0);
    }
    let filter = DiscoveryFilter { partition: "envcrypt".to_owned(), accounts: vec!["000000000000".to_owned()] };
    assert_eq!(
        open(&sealed, OpenPolicy::discovery(vec![service]).with_discovery_filter(filter)).unwrap(),
        b"discovered"
    );
    assert_eq!(counting.counts().decrypt, 1);
}

/// Re-wrapping re-authenticates a header, so it applies the commitment policy as opening does:
/// a legacy message is refused by default, before any key service call.
#[test]
fn rewrap_refuses_a_legacy_message_under_the_default_policy() {
    let (store, counting, service) = counted_store();
    let sealed = seal_with(&service, AlgorithmSuite::AesGcm256HkdfSha256, b"legacy");
    let open = OpenPolicy::discovery(vec![service.clone()]);
    let add = [(service, store.key.clone())];
    let mut request = stream::RewrapRequest::new(&open, &add, &[]);
    let refused = stream::rewrap_header(&mut &sealed[..], &request);
    assert!(matches!(refused, Err(Error::Format(FormatError::CommitmentPolicy { sealing: false, .. }))), "{refused:?}");
    assert_eq!(counting.counts().decrypt, 0);
    request.commitment_policy = CommitmentPolicy::RequireEncryptAllowDecrypt;
    stream::rewrap_header(&mut &sealed[..], &request).unwrap();
}

/// Three messages of known length sealed with `suite` through a keyring with a data-key cache.
fn sealed_through_a_cache(suite: AlgorithmSuite) -> Vec<envcrypt::message::HeaderBody> {
    use envcrypt::keyring::cache::{CacheLimits, DataKeyCache};
    let keyring = Keyring::new()
        .with_raw_key(raw_key())
        .with_cache(Arc::new(DataKeyCache::new(4)), CacheLimits::new(std::time::Duration::from_secs(60)))
        .unwrap();
    (0..3)
        .map(|_| {
            let options = SealOptions { plaintext_length: Some(5), ..seal_options(suite, 4096) };
            let mut sealed = Vec::new();
            stream::seal(&b"small"[..], &mut sealed, &keyring, &context(), &options).unwrap();
            assert_eq!(open(&sealed).unwrap(), b"small");
            stream::read_header(&mut &sealed[..], &ParseLimits::default()).unwrap().body().clone()
        })
        .collect()
}

/// The data-key cache works over raw keys as over key services: messages of known length share
/// one data key (and so the same encrypted data keys), each with its own message id.
#[test]
fn the_data_key_cache_works_over_raw_keys() {
    let headers = sealed_through_a_cache(AlgorithmSuite::AesGcm256HkdfSha512Committing);
    assert!(headers.iter().all(|h| h.encrypted_data_keys == headers[0].encrypted_data_keys), "one data key");
    assert!(headers[0].message_id != headers[1].message_id && headers[1].message_id != headers[2].message_id);
}

/// A suite without key derivation encrypts every message's frames under the data key itself
/// with the same IVs, so a cached data key would reuse (key, IV) pairs across messages, which
/// breaks AES-GCM. The cache never serves those suites: each message gets its own data key.
#[test]
fn a_cached_data_key_is_never_shared_by_a_suite_without_key_derivation() {
    for suite in [AlgorithmSuite::AesGcm128, AlgorithmSuite::AesGcm192, AlgorithmSuite::AesGcm256] {
        let headers = sealed_through_a_cache(suite);
        for (i, a) in headers.iter().enumerate() {
            for b in &headers[i + 1..] {
                assert_ne!(a.encrypted_data_keys, b.encrypted_data_keys, "{suite:?}: a data key was shared");
            }
        }
    }
}
