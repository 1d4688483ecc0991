//! The AWS KMS backend against a real moto_server on loopback: the conformance scenarios,
//! and sealing/opening messages with KMS-wrapped data keys.

use std::io::{Read, Write};
use std::sync::Arc;

use envcrypt::keyring::cache::{CacheLimits, DataKeyCache};
use envcrypt::keyring::{Keyring, OpenPolicy};
use envcrypt::kms::{EncryptionContext, KeyAdmin, KeyRef, KeyService};
use envcrypt::stream::{self, Decryptor, Encryptor, OpenOptions, SealOptions};
use envcrypt_aws::{AwsKmsService, AwsOptions};
use envcrypt_conformance::{
    self as conformance, Backend, Column, Report, StandInPrincipals, Verdict, MOTO_ACCOUNT, MOTO_DEVIATIONS,
};
use envcrypt_testkit::CountingKeyService;

fn options() -> AwsOptions {
    AwsOptions {
        endpoint_url: Some(envcrypt_testkit::moto_endpoint().to_owned()),
        region: Some("us-east-1".into()),
        static_credentials: Some(("testing".into(), "testing".into())),
        ..AwsOptions::default()
    }
}

fn service() -> AwsKmsService {
    AwsKmsService::connect(&options()).unwrap()
}

#[test]
fn conformance_against_moto_differs_only_by_known_deviations() {
    let kms = service();
    let principals = StandInPrincipals::new(MOTO_ACCOUNT, "user/envcrypt-conformance-admin", |name| {
        let access_key = format!("envcrypt-{}", name.replace('/', "-"));
        let options = AwsOptions { static_credentials: Some((access_key, "stand-in".into())), ..options() };
        Ok(Box::new(AwsKmsService::connect(&options)?) as Box<dyn KeyService>)
    });
    let outcomes = conformance::run(&Backend::new("moto", &kms, &kms).with_principals(&principals));
    let report = Report::new(&[Column { backend: "moto".into(), deviations: MOTO_DEVIATIONS, outcomes }]);
    let rows: Vec<String> = report
        .rows
        .iter()
        .map(|r| {
            format!(
                "{:<50} documented {:<28} moto {:<28} {:?}",
                r.scenario,
                r.documented.to_string(),
                r.results[0].0.to_string(),
                r.results[0].1
            )
        })
        .collect();
    eprintln!("{}", rows.join("\n"));
    let unexplained: Vec<&str> = report.differences().map(|r| r.scenario).collect();
    let not_run: Vec<&str> =
        report.rows.iter().filter(|r| r.results[0].1 == Verdict::NotRun).map(|r| r.scenario).collect();
    assert!(not_run.is_empty(), "scenarios not run: {not_run:?}");
    assert!(unexplained.is_empty(), "unexplained differences from documented KMS: {unexplained:?}");
    for (name, _) in MOTO_DEVIATIONS {
        let row = report.rows.iter().find(|r| r.scenario == *name).expect("deviations name real scenarios");
        assert_eq!(row.results[0].1, Verdict::KnownDeviation, "{name} is listed as a deviation but moto now matches");
    }
}

#[test]
fn seal_and_open_under_a_kms_key_records_the_key_arn() {
    let kms = Arc::new(service());
    let key = KeyRef::parse(&kms.create_key("seal test").wait().unwrap().arn).unwrap();
    let mut context = EncryptionContext::new();
    context.insert("purpose", "moto").unwrap();
    let keyring = Keyring::new().with_key(kms.clone(), key.clone());
    let mut writer =
        Encryptor::new(Vec::new(), &keyring, &context, &SealOptions { frame_length: 4096, ..Default::default() })
            .unwrap();
    writer.write_all(&vec![5u8; 10_000]).unwrap();
    let sealed = writer.finish().unwrap();

    let services: Vec<Arc<dyn KeyService>> = vec![kms.clone()];
    let mut reader = Decryptor::new(sealed.as_slice(), &OpenPolicy::discovery(services)).unwrap();
    let edk = &reader.header().body().encrypted_data_keys[0];
    assert_eq!(edk.provider_id, "aws-kms");
    assert_eq!(edk.provider_info, key.to_string().as_bytes(), "provider info is the key ARN");
    let mut opened = Vec::new();
    reader.read_to_end(&mut opened).unwrap();
    assert_eq!(opened, vec![5u8; 10_000]);
}

/// A backup of 10,000 small files through KMS: with the cache, one GenerateDataKey and one
/// Decrypt reach moto; without it, one call per message.
#[test]
fn the_cache_turns_ten_thousand_kms_calls_into_one() {
    let kms = Arc::new(service());
    let key = KeyRef::parse(&kms.create_key("cache test").wait().unwrap().arn).unwrap();
    let counting = Arc::new(CountingKeyService::new(kms));
    let context: EncryptionContext = [("job".to_owned(), "nightly".to_owned())].into_iter().collect();
    let seal = |keyring: &Keyring, plaintext: &[u8]| {
        let options = SealOptions { plaintext_length: Some(plaintext.len() as u64), threads: 1, ..Default::default() };
        let mut sealed = Vec::new();
        stream::seal(plaintext, &mut sealed, keyring, &context, &options).unwrap();
        sealed
    };

    let uncached = Keyring::new().with_key(counting.clone(), key.clone());
    for i in 0..50u32 {
        seal(&uncached, &i.to_be_bytes());
    }
    assert_eq!(counting.counts().generate_data_key, 50);

    let cache = Arc::new(DataKeyCache::new(16));
    let limits = CacheLimits::new(std::time::Duration::from_secs(600));
    let cached = uncached.with_cache(cache.clone(), limits).unwrap();
    let sealed: Vec<Vec<u8>> = (0..10_000u32).map(|i| seal(&cached, &i.to_be_bytes())).collect();
    assert_eq!(counting.counts().generate_data_key, 51, "one GenerateDataKey for 10,000 messages");

    let policy = OpenPolicy::discovery(vec![counting.clone()]).with_cache(cache, limits).unwrap();
    let options = OpenOptions { threads: 1, ..OpenOptions::default() };
    for (i, message) in sealed.iter().enumerate() {
        let mut out = Vec::new();
        stream::open(&message[..], &mut out, &policy, &options).unwrap();
        assert_eq!(out, (i as u32).to_be_bytes());
    }
    assert_eq!(counting.counts().decrypt, 1, "one Decrypt for 10,000 messages");
}
