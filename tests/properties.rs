//! Property and differential tests: random round trips, an independent reference
//! decryptor, and Wycheproof vectors through envcrypt's own AEAD wrapper.

mod support {
    pub mod reference;
}

use std::io::{Read, Write};
use std::sync::{Arc, OnceLock};

use envcrypt::crypto::Aes256Gcm;
use envcrypt::keyring::{Keyring, OpenPolicy};
use envcrypt::kms::local::{LocalKeyService, StoreOptions};
use envcrypt::kms::{EncryptionContext, KeyAdmin, KeyRef, KeyService};
use envcrypt::stream::{Decryptor, Encryptor, SealOptions};
use proptest::prelude::*;
use support::reference;

struct Shared {
    _dir: tempfile::TempDir,
    store: Arc<LocalKeyService>,
    keys: Vec<KeyRef>,
}

/// One store with three keys, shared by every case (key creation is not what is tested here).
fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(LocalKeyService::open(StoreOptions::new(dir.path().join("store"))).unwrap());
        let keys =
            (0..3).map(|i| KeyRef::parse(&store.create_key(&format!("k{i}")).wait().unwrap().arn).unwrap()).collect();
        Shared { _dir: dir, store, keys }
    })
}

fn context_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::btree_map("[a-z][a-zA-Z0-9_.:-]{0,12}", "\\PC{0,20}", 0..5)
        .prop_map(|m| m.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn seal_open_round_trips_and_matches_the_reference(
        plaintext in proptest::collection::vec(any::<u8>(), 0..3000),
        frame_units in 1u32..40,
        pairs in context_strategy(),
        key_mask in 1usize..8,
        write_size in 1usize..700,
    ) {
        let s = shared();
        let frame_length = frame_units * 16;
        let context: EncryptionContext = pairs.iter().cloned().collect();
        let keys: Vec<&KeyRef> = s.keys.iter().enumerate().filter(|(i, _)| key_mask & (1 << i) != 0).map(|(_, k)| k).collect();
        let keyring = keys.iter().fold(Keyring::new(), |r, k| r.with_key(s.store.clone(), (*k).clone()));
        let options = SealOptions { frame_length, ..SealOptions::default() };
        let mut writer = Encryptor::new(Vec::new(), &keyring, &context, &options).unwrap();
        for chunk in plaintext.chunks(write_size) {
            writer.write_all(chunk).unwrap();
        }
        let sealed = writer.finish().unwrap();

        // Every key opens it alone.
        for key in &keys {
            let services: Vec<Arc<dyn KeyService>> = vec![s.store.clone()];
            let mut reader = Decryptor::new(sealed.as_slice(), &OpenPolicy::strict(services, vec![(*key).clone()])).unwrap();
            let mut opened = Vec::new();
            reader.read_to_end(&mut opened).unwrap();
            prop_assert_eq!(&opened, &plaintext);
        }

        // The independent reference agrees on the bytes.
        let edks = reference::encrypted_data_keys(&sealed).unwrap();
        prop_assert_eq!(edks.len(), keys.len());
        let data_key = s.store.decrypt(&edks[0].2, &context, None).wait().unwrap();
        let opened = reference::decrypt(&sealed, data_key.plaintext.expose_secret()).unwrap();
        prop_assert_eq!(opened.plaintext, plaintext);
        prop_assert_eq!(opened.context, context.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect::<Vec<_>>());
        prop_assert_eq!(opened.edks.len(), keys.len());
    }
}

#[test]
fn a_large_multi_frame_message_matches_the_reference() {
    let s = shared();
    let keyring = Keyring::new().with_key(s.store.clone(), s.keys[0].clone());
    let plaintext: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut writer = Encryptor::new(Vec::new(), &keyring, &EncryptionContext::new(), &SealOptions::default()).unwrap();
    writer.write_all(&plaintext).unwrap();
    let sealed = writer.finish().unwrap();
    let edks = reference::encrypted_data_keys(&sealed).unwrap();
    let data_key = s.store.decrypt(&edks[0].2, &EncryptionContext::new(), None).wait().unwrap();
    assert!(reference::decrypt(&sealed, data_key.plaintext.expose_secret()).unwrap().plaintext == plaintext);
    let mut tampered = sealed.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 1;
    assert!(
        reference::decrypt(&tampered, data_key.plaintext.expose_secret()).is_err(),
        "the reference checks tags too"
    );
}

#[test]
fn wycheproof_aes_gcm_through_envcrypts_wrapper() {
    use wycheproof::aead::{TestName, TestSet};
    use wycheproof::TestResult;
    let set = TestSet::load(TestName::AesGcm).unwrap();
    let mut checked = 0;
    for group in set.test_groups.iter().filter(|g| g.key_size == 256 && g.nonce_size == 96 && g.tag_size == 128) {
        for test in &group.tests {
            let key = Aes256Gcm::new(test.key.as_ref().try_into().unwrap());
            let nonce: [u8; 12] = test.nonce.as_ref().try_into().unwrap();
            let tag: [u8; 16] = test.tag.as_ref().try_into().unwrap();
            let mut data = test.ct.to_vec();
            let opened = key.open_detached(nonce, &test.aad, &mut data, &tag);
            match test.result {
                TestResult::Valid | TestResult::Acceptable => {
                    assert!(opened.is_ok(), "tc {} ({}) should open", test.tc_id, test.comment);
                    assert_eq!(data, test.pt.as_ref(), "tc {}", test.tc_id);
                    let mut again = test.pt.to_vec();
                    assert_eq!(key.seal_detached(nonce, &test.aad, &mut again), tag, "tc {}", test.tc_id);
                    assert_eq!(again, test.ct.as_ref(), "tc {}", test.tc_id);
                }
                TestResult::Invalid => assert!(opened.is_err(), "tc {} ({}) must be refused", test.tc_id, test.comment),
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} Wycheproof AES-256-GCM cases ran");
}
