//! The PKCS#11 backend against real SoftHSM2 tokens: the conformance scenarios, sealing and
//! opening, a cluster of three with a token lost and regained, and configuration errors.

use std::time::Duration;

use envcrypt::conformance::{self, Backend, Column, Report, Verdict};
use envcrypt::keyring::{Keyring, OpenPolicy};
use envcrypt::kms::{DataKeySpec, EncryptionContext, KeyAdmin, KeyRef, KeyService, KmsError};
use envcrypt::stream::{self, OpenOptions, SealOptions};
use envcrypt_pkcs11::{Pkcs11KeyService, Pkcs11Options};
use envcrypt_testkit::{SoftHsm, USER_PIN};
use zeroize::Zeroizing;

const CLUSTER: [&str; 3] = ["az-a", "az-b", "az-c"];

fn options(hsm: &SoftHsm, tokens: &[&str]) -> Pkcs11Options {
    let mut options = Pkcs11Options::new(
        hsm.module(),
        tokens.iter().map(|t| t.to_string()).collect(),
        Zeroizing::new(USER_PIN.into()),
    );
    options.retry_after = Duration::from_secs(3600);
    options
}

fn context() -> EncryptionContext {
    [("purpose".to_owned(), "hsm-test".to_owned())].into_iter().collect()
}

fn new_key(service: &Pkcs11KeyService) -> KeyRef {
    KeyRef::parse(&service.create_key("hsm test").wait().unwrap().arn).unwrap()
}

#[test]
fn conformance_on_one_token() {
    let hsm = SoftHsm::new(&["single"]);
    let service = Pkcs11KeyService::connect(options(&hsm, &["single"])).unwrap();
    let outcomes = conformance::run(&Backend::new("pkcs11", &service, &service));
    let report = Report::new(&[Column { backend: "pkcs11".into(), deviations: &[], outcomes }]);
    let differences: Vec<String> = report
        .differences()
        .map(|r| format!("{}: documented {}, pkcs11 {}", r.scenario, r.documented, r.results[0].0))
        .collect();
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    let not_run = report.rows.iter().filter(|r| r.results[0].1 == Verdict::NotRun).count();
    assert_eq!(not_run, 6, "only the access-control scenarios, which need key policies, are not run");
}

#[test]
fn seal_and_open_through_the_hsm() {
    let hsm = SoftHsm::new(&["single"]);
    let service = std::sync::Arc::new(Pkcs11KeyService::connect(options(&hsm, &["single"])).unwrap());
    let key = new_key(&service);
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let mut sealed = Vec::new();
    let keyring = Keyring::new().with_key(service.clone(), key);
    stream::seal(&data[..], &mut sealed, &keyring, &context(), &SealOptions::default()).unwrap();
    let mut opened = Vec::new();
    let policy = OpenPolicy::discovery(vec![service.clone()]);
    let result = stream::open(&sealed[..], &mut opened, &policy, &OpenOptions::default()).unwrap();
    assert_eq!(opened, data);
    assert!(result.key_arn.starts_with("arn:envcrypt:kms:pkcs11:"), "{}", result.key_arn);
}

#[test]
fn keys_created_on_one_token_are_usable_on_every_token() {
    let hsm = SoftHsm::new(&CLUSTER);
    let service = Pkcs11KeyService::connect(options(&hsm, &CLUSTER)).unwrap();
    let key = new_key(&service);
    let data_key = service.generate_data_key(&key, DataKeySpec::Aes256, &context()).wait().unwrap();
    for only in CLUSTER {
        let others: Vec<_> = CLUSTER.iter().filter(|t| **t != only).map(|t| hsm.take_offline(t)).collect();
        for _ in 0..3 {
            let opened = service.decrypt(&data_key.ciphertext_blob, &context(), None).wait().unwrap();
            assert_eq!(opened.plaintext, data_key.plaintext, "decrypted on {only} alone");
        }
        let status = service.status();
        assert!(status.iter().all(|t| t.healthy == (t.label == only)), "{status:?}");
        drop(others);
        service.retry_now();
        assert!(service.status().iter().all(|t| t.healthy), "{:?}", service.status());
    }
}

#[test]
fn a_token_lost_mid_run_costs_no_operation_and_is_resynced_when_it_returns() {
    let hsm = SoftHsm::new(&CLUSTER);
    let service = Pkcs11KeyService::connect(options(&hsm, &CLUSTER)).unwrap();
    let key = new_key(&service);
    let mut offline = None;
    for i in 0..1000 {
        if i == 300 {
            offline = Some(hsm.take_offline("az-b"));
        }
        let data_key = service.generate_data_key(&key, DataKeySpec::Aes256, &context()).wait().unwrap();
        let opened = service.decrypt(&data_key.ciphertext_blob, &context(), None).wait().unwrap();
        assert_eq!(opened.plaintext, data_key.plaintext, "operation {i}");
    }
    let status = service.status();
    let lost = status.iter().find(|t| t.label == "az-b").unwrap();
    assert!(!lost.healthy && lost.error.is_some(), "{status:?}");
    assert!(status.iter().filter(|t| t.label != "az-b").all(|t| t.healthy), "{status:?}");

    // A key created while az-b is away reaches it once it is back.
    let created_meanwhile = new_key(&service);
    let blob = service.encrypt(&created_meanwhile, b"made while az-b was down", &context()).wait().unwrap().blob;
    offline.take().unwrap().restore();
    service.retry_now();
    assert!(service.status().iter().all(|t| t.healthy), "{:?}", service.status());
    assert_eq!(service.status().iter().map(|t| t.keys).collect::<Vec<_>>(), vec![Some(2); 3]);
    let _away = [hsm.take_offline("az-a"), hsm.take_offline("az-c")];
    let opened = service.decrypt(&blob, &context(), None).wait().unwrap();
    assert_eq!(opened.plaintext.expose_secret(), b"made while az-b was down");
}

#[test]
fn wrong_pin_missing_module_and_missing_token_are_named() {
    let hsm = SoftHsm::new(&["single"]);
    let mut wrong = options(&hsm, &["single"]);
    wrong.pin = Zeroizing::new("0000".into());
    let err = Pkcs11KeyService::connect(wrong).unwrap_err();
    assert!(matches!(err, KmsError::AccessDenied(_)) && err.to_string().contains("refused the user PIN"), "{err}");

    let mut missing_module = options(&hsm, &["single"]);
    missing_module.module = "/nonexistent/libpkcs11.so".into();
    let err = Pkcs11KeyService::connect(missing_module).unwrap_err();
    assert!(err.to_string().contains("cannot load the PKCS#11 module /nonexistent/libpkcs11.so"), "{err}");

    let err = Pkcs11KeyService::connect(options(&hsm, &["az-z"])).unwrap_err();
    assert_eq!(err.kms_name(), "NotFoundException");
    let message = err.to_string();
    assert!(message.contains("no initialized token labelled \"az-z\"") && message.contains("single"), "{message}");

    // A cluster works while one token holds the keys; the missing one is reported, not fatal.
    let service = Pkcs11KeyService::connect(options(&hsm, &["single", "az-z"])).unwrap();
    let key = new_key(&service);
    service.encrypt(&key, b"still working", &context()).wait().unwrap();
    let status = service.status();
    assert!(status[0].healthy && !status[1].healthy, "{status:?}");
    assert!(status[1].error.as_deref().unwrap_or_default().contains("no initialized token labelled"), "{status:?}");
}
