//! The conformance scenarios against the local store: every one must match documented AWS KMS.

use envcrypt::kms::local::{LocalKeyService, StoreOptions};
use envcrypt_conformance::{self as conformance, Backend, Column, Report, Verdict, SCENARIOS};

#[test]
fn the_local_store_behaves_as_aws_kms_documents() {
    assert!(SCENARIOS.len() >= 40, "only {} scenarios", SCENARIOS.len());
    let dir = tempfile::tempdir().unwrap();
    let store = LocalKeyService::open(StoreOptions::new(dir.path().join("store"))).unwrap();
    let backend = Backend::new("local", &store, &store).with_principals(&store);
    let outcomes = conformance::run(&backend);
    let report = Report::new(&[Column { backend: "local".into(), deviations: &[], outcomes }]);
    let failures: Vec<String> = report
        .differences()
        .map(|row| format!("{}: documented {}, local {}", row.scenario, row.documented, row.results[0].0))
        .collect();
    assert!(failures.is_empty(), "differences from documented KMS:\n{}", failures.join("\n"));
    assert!(report.rows.iter().all(|r| r.results[0].1 == Verdict::AsDocumented));
}

#[test]
fn scenario_names_are_unique() {
    let mut names: Vec<_> = SCENARIOS.iter().map(|s| s.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), SCENARIOS.len());
}

#[test]
fn without_other_principals_the_access_scenarios_are_not_run_rather_than_passed() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalKeyService::open(StoreOptions::new(dir.path().join("store"))).unwrap();
    let outcomes = conformance::run(&Backend::new("local", &store, &store));
    let report = Report::new(&[Column { backend: "local".into(), deviations: &[], outcomes }]);
    let not_run: Vec<&str> =
        report.rows.iter().filter(|r| r.results[0].1 == Verdict::NotRun).map(|r| r.scenario).collect();
    assert_eq!(
        not_run,
        [
            "policy-allows-key-user",
            "policy-denies-by-default",
            "policy-explicit-deny-wins",
            "policy-context-condition",
            "grant-allows-until-revoked",
            "re-encrypt-only-principal",
            "create-grant-on-disabled-key",
            "create-grant-on-key-pending-deletion",
            "dry-run-create-grant",
            "dry-run-create-grant-disabled-key",
            "dry-run-retire-grant",
            "dry-run-revoke-grant",
            "dry-run-revoke-unknown-grant",
        ]
    );
    assert_eq!(report.differences().count(), 0);
}
