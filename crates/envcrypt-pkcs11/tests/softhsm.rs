//! The PKCS#11 backend against real SoftHSM2 tokens: the conformance scenarios, sealing and
//! opening, a cluster of three with a token lost and regained, and configuration errors.

use std::time::Duration;

use envcrypt::keyring::{Keyring, OpenPolicy};
use envcrypt::kms::{DataKeySpec, EncryptionContext, KeyAdmin, KeyRef, KeyService};
use envcrypt::stream::{self, OpenOptions, SealOptions};
use envcrypt_conformance::{self as conformance, Backend, Column, Report, Verdict};
use envcrypt_pkcs11::{init_cluster, Mechanisms, Pkcs11KeyService, Pkcs11Options};
use envcrypt_testkit::{SoftHsm, SO_PIN, USER_PIN};
use zeroize::Zeroizing;

const CLUSTER: [&str; 3] = ["az-a", "az-b", "az-c"];

fn options(hsm: &SoftHsm, tokens: &[&str]) -> Pkcs11Options {
    let mut options = Pkcs11Options::new(
        hsm.module(),
        tokens.iter().map(|t| t.to_string()).collect(),
        Zeroizing::new(USER_PIN.into()),
    );
    options.cluster.retry_after = Duration::from_secs(3600);
    options
}

/// The three-token cluster, set up by its security officer and connected as the user.
fn cluster(hsm: &SoftHsm) -> Pkcs11KeyService {
    init_cluster(&options(hsm, &CLUSTER).cluster, &Zeroizing::new(SO_PIN.into())).unwrap();
    Pkcs11KeyService::connect(options(hsm, &CLUSTER)).unwrap()
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
    let not_run: Vec<&str> =
        report.rows.iter().filter(|r| r.results[0].1 == Verdict::NotRun).map(|r| r.scenario).collect();
    // Not run: the scenarios that need key policies or grants (13), rotation schedules (16) or
    // imported material (10), none of which an HSM cluster has, as a KMS custom key store has
    // none. The 19 of asymmetric and HMAC keys run.
    assert_eq!(not_run.len(), 39, "{not_run:#?}");
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
    let service = cluster(&hsm);
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
    let service = cluster(&hsm);
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
    assert_eq!(err.kms_name(), envcrypt_pkcs11::LOGIN_REFUSED, "{err}");
    assert!(err.to_string().contains("refused the user PIN"), "{err}");

    let mut missing_module = options(&hsm, &["single"]);
    missing_module.cluster.module = "/nonexistent/libpkcs11.so".into();
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

#[test]
fn a_cluster_without_a_trusted_cluster_key_is_refused_until_its_security_officer_sets_it_up() {
    let hsm = SoftHsm::new(&CLUSTER);
    let err = Pkcs11KeyService::connect(options(&hsm, &CLUSTER)).unwrap_err();
    assert_eq!(err.kms_name(), envcrypt_pkcs11::NOT_INITIALIZED, "{err}");
    assert!(err.to_string().contains("security officer must initialize the cluster"), "{err}");

    let wrong = init_cluster(&options(&hsm, &CLUSTER).cluster, &Zeroizing::new("0000".into())).unwrap_err();
    assert!(wrong.to_string().contains("refused the security officer PIN"), "{wrong}");
    let report = init_cluster(&options(&hsm, &CLUSTER).cluster, &Zeroizing::new(SO_PIN.into())).unwrap();
    let done: Vec<&str> = report.iter().map(|r| r.cluster_key).collect();
    assert_eq!(done, ["created", "copied", "copied"]);
    let again = init_cluster(&options(&hsm, &CLUSTER).cluster, &Zeroizing::new(SO_PIN.into())).unwrap();
    assert!(again.iter().all(|r| r.cluster_key == "present"), "{again:?}");
    Pkcs11KeyService::connect(options(&hsm, &CLUSTER)).unwrap();
}

/// The claim "no two blobs of one key share an IV", attacked with the configuration that broke
/// it: the `cloudhsm` variant (HSM-generated IV) against a token that writes no IV back.
#[test]
fn a_token_that_writes_no_iv_back_is_refused_and_ivs_never_repeat() {
    let hsm = SoftHsm::new(&["single"]);
    let mut cloudhsm = options(&hsm, &["single"]);
    cloudhsm.cluster.mechanisms = Mechanisms::cloudhsm();
    let service = Pkcs11KeyService::connect(cloudhsm).unwrap();
    let key = new_key(&service);
    for attempt in [
        service.generate_data_key(&key, DataKeySpec::Aes256, &context()).wait().map(drop),
        service.encrypt(&key, b"x", &context()).wait().map(drop),
    ] {
        let err = attempt.unwrap_err();
        assert_eq!(err.kms_name(), "UnsupportedOperationException", "{err}");
        let message = err.to_string();
        assert!(message.contains("`cloudhsm` mechanism variant") && message.contains("IV"), "{message}");
    }
    assert!(service.status()[0].healthy, "a configuration mismatch is not a token failure");
    drop(service);

    let service = Pkcs11KeyService::connect(options(&hsm, &["single"])).unwrap();
    let mut ivs = std::collections::HashSet::new();
    for _ in 0..2000 {
        let blob = service.generate_data_key(&key, DataKeySpec::Aes256, &context()).wait().unwrap().ciphertext_blob;
        assert!(ivs.insert(blob[24..36].to_vec()), "an IV repeated under one key");
    }
}
