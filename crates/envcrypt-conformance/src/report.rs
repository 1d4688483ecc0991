//! Running the scenarios on a backend ([`run`]) and setting backends side by side against the
//! documented behaviour ([`Report`]), with the known deviations of stand-ins.

use crate::backend::Backend;
use crate::outcome::{Expected, Outcome};
use crate::scenarios::SCENARIOS;

/// A stand-in's known departures from documented KMS behaviour: scenario name and the
/// outcome the stand-in gives instead.
pub type Deviations = &'static [(&'static str, Expected)];

/// moto 5.2's known departures from documented AWS KMS behaviour, found by this harness.
pub const MOTO_DEVIATIONS: Deviations = &[
    // Key states are recorded but not enforced on cryptographic operations.
    ("generate-data-key-with-disabled-key", Expected::Ok("32 bytes")),
    ("encrypt-with-disabled-key", Expected::Ok("encrypted")),
    ("decrypt-with-disabled-key", Expected::Ok("round trip")),
    ("re-encrypt-to-disabled-key", Expected::Ok("re-encrypted")),
    ("rotate-disabled-key", Expected::Ok("Disabled")),
    ("generate-data-key-with-key-pending-deletion", Expected::Ok("32 bytes")),
    ("decrypt-with-key-pending-deletion", Expected::Ok("round trip")),
    ("enable-key-pending-deletion", Expected::Ok("enabled")),
    ("schedule-deletion-twice", Expected::Ok("PendingDeletion")),
    // Deletion windows outside 7–30 days are answered with success, and nothing changes.
    ("schedule-deletion-3-days", Expected::Ok("Enabled")),
    ("schedule-deletion-6-days", Expected::Ok("Enabled")),
    ("schedule-deletion-31-days", Expected::Ok("Enabled")),
    // The expected key is not checked the way KMS checks it.
    ("decrypt-expected-key-is-another-key", Expected::Error("AccessDeniedException")),
    ("re-encrypt-with-wrong-source-key", Expected::Ok("re-encrypted")),
    // A blob that names no key is refused as an access problem, not as bad ciphertext.
    ("decrypt-garbage", Expected::Error("AccessDeniedException")),
    // DisableKey given a key ARN fails with an HTTP 500 page (the key id works).
    ("disable-key-by-arn", Expected::Error("UnnamedError(HTTP 500)")),
    // Key policies are stored but not evaluated (moto checks only DescribeKey against a
    // Deny statement), and grants are recorded but never needed.
    ("policy-denies-by-default", Expected::Ok("round trip")),
    ("policy-explicit-deny-wins", Expected::Ok("round trip")),
    ("policy-context-condition", Expected::Ok("any context")),
    ("grant-allows-until-revoked", Expected::Ok("allowed, allowed, allowed")),
    ("re-encrypt-only-principal", Expected::Ok("re-encrypted; decrypt allowed")),
    // Rotation is a flag: GetKeyRotationStatus answers neither the period nor the next date,
    // any period is taken, key states are not checked, and on-demand rotation has no limit.
    ("rotation-enable-default-period", Expected::Ok("rotation on, period None, next date None")),
    ("rotation-enable-90-days", Expected::Ok("rotation on, period None, next date None")),
    ("rotation-enable-2560-days", Expected::Ok("rotation on, period None, next date None")),
    ("rotation-enable-89-days", Expected::Ok("rotation on, period None, next date None")),
    ("rotation-enable-2561-days", Expected::Ok("rotation on, period None, next date None")),
    ("rotation-period-changed", Expected::Ok("rotation on, period None, next date None")),
    ("rotation-enable-on-disabled-key", Expected::Ok("rotation on, period None, next date None")),
    ("rotation-enable-on-key-pending-deletion", Expected::Ok("rotation on, period None, next date None")),
    ("rotation-kept-while-key-disabled", Expected::Ok("rotation on, period None, next date None")),
    ("rotation-off-while-pending-deletion", Expected::Ok("rotation on, period None, next date None")),
    ("rotation-back-after-cancelled-deletion", Expected::Ok("rotation on, period None, next date None")),
    ("rotate-on-demand-keeps-schedule", Expected::Ok("rotation on, period None, next date None")),
    ("rotate-on-demand-11-times", Expected::Ok("11 on-demand rotations")),
    // Imported key material is not implemented: CreateKey ignores Origin EXTERNAL (the key is
    // enabled with material of moto's own), and GetParametersForImport fails with HTTP 500.
    ("import-new-external-key", Expected::Ok("Enabled")),
    ("import-encrypt-before-import", Expected::Ok("round trip")),
    ("import-rsaes-oaep-sha-256", Expected::SetupFails("UnnamedError(HTTP 500)")),
    ("import-rsa-aes-key-wrap-sha-256", Expected::SetupFails("UnnamedError(HTTP 500)")),
    ("import-decrypt-after-material-deleted", Expected::SetupFails("UnnamedError(HTTP 500)")),
    ("import-other-material", Expected::SetupFails("UnnamedError(HTTP 500)")),
    ("import-same-material-again", Expected::SetupFails("UnnamedError(HTTP 500)")),
    ("import-token-of-other-key", Expected::SetupFails("UnnamedError(HTTP 500)")),
    ("import-params-for-service-made-key", Expected::Error("UnnamedError(HTTP 500)")),
    ("import-rotate-on-demand", Expected::SetupFails("UnnamedError(HTTP 500)")),
    // DescribeKey omits PendingDeletionWindowInDays; tags are stored without KMS's rules (the
    // aws: prefix, the lengths, 50 per key) and, like descriptions and grants, whatever the
    // key's state.
    ("describe-key-deletion-window", Expected::Ok("no window")),
    ("update-key-description-pending-deletion", Expected::Ok("changed by a scenario")),
    ("tag-aws-prefix", Expected::Ok("aws:owner=me")),
    ("tag-key-129-characters", Expected::Ok("tagged")),
    ("tag-51-tags", Expected::Ok("51 tags")),
    ("tag-key-pending-deletion", Expected::Ok("late=yes")),
    ("create-grant-on-disabled-key", Expected::Ok("granted")),
    ("create-grant-on-key-pending-deletion", Expected::Ok("granted")),
    // DryRun is ignored: the request is carried out (which the AWS backend reports as a fault).
    ("dry-run-encrypt", Expected::Error("KMSInternalException")),
    ("dry-run-encrypt-disabled-key", Expected::Error("KMSInternalException")),
    ("dry-run-decrypt", Expected::Error("KMSInternalException")),
    ("dry-run-create-grant", Expected::Error("KMSInternalException")),
    ("dry-run-create-grant-disabled-key", Expected::Error("KMSInternalException")),
    ("dry-run-retire-grant", Expected::Error("KMSInternalException")),
    ("dry-run-revoke-grant", Expected::Error("KMSInternalException")),
    ("dry-run-sign", Expected::Error("KMSInternalException")),
    ("dry-run-sign-disabled-key", Expected::Error("KMSInternalException")),
    ("dry-run-generate-mac-with-another-algorithm", Expected::Error("KMSInternalException")),
    // Asymmetric and HMAC keys: CreateKey takes any spec with any usage; Sign takes a digest
    // of any length, a key of another usage or spec (with ValidationException where KMS has
    // InvalidKeyUsageException), and disabled keys; Verify answers an invalid signature with
    // SignatureValid false (which the AWS backend reports as KMSInternalException) instead
    // of KMSInvalidSignatureException; GetPublicKey answers without KeySpec (only the older
    // CustomerMasterKeySpec, which the AWS backend does not read), and of a symmetric key fails
    // with HTTP 500; signing keys rotate; GenerateMac takes any algorithm.
    ("create-key-ecc-for-encryption", Expected::Ok("ECC_NIST_P256 ENCRYPT_DECRYPT ")),
    ("create-key-hmac-for-signing", Expected::Ok("HMAC_256 SIGN_VERIFY ")),
    ("verify-tampered-message", Expected::Error("KMSInternalException")),
    ("sign-digest-of-wrong-length", Expected::Ok("signed")),
    ("sign-with-algorithm-of-another-spec", Expected::Error("ValidationException")),
    ("sign-with-encryption-key", Expected::Error("ValidationException")),
    ("sign-with-disabled-key", Expected::Ok("signed")),
    ("get-public-key-of-signing-key", Expected::Error("KMSInternalException")),
    ("get-public-key-of-symmetric-key", Expected::Error("KMSInternalException")),
    ("rotate-signing-key", Expected::Ok("rotated")),
    ("generate-mac-with-another-algorithm", Expected::Ok("verified")),
];

/// Runs every scenario on `backend`, in order, then cleans up the keys it created.
pub fn run(backend: &Backend<'_>) -> Vec<(&'static str, Outcome)> {
    let results = SCENARIOS.iter().map(|s| (s.name, Outcome::from_result((s.run)(backend)))).collect();
    backend.clean_up();
    results
}

/// How one backend's outcome compares with the documented one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// As documented.
    AsDocumented,
    /// A known deviation of this backend (a stand-in's, listed in its deviations).
    KnownDeviation,
    /// Unexplained: a failure.
    Difference,
    /// The backend could not run the scenario.
    NotRun,
}

/// One backend's results with their deviations list.
pub struct Column {
    /// The backend's label.
    pub backend: String,
    /// Its known deviations (empty for envcrypt's own backends, which must match).
    pub deviations: Deviations,
    /// Its outcomes, in scenario order.
    pub outcomes: Vec<(&'static str, Outcome)>,
}

/// Backends side by side against the documented behaviour.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// The backends, in column order.
    pub backends: Vec<String>,
    /// One row per scenario.
    pub rows: Vec<Row>,
}

/// One scenario across backends.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    /// The scenario name.
    pub scenario: &'static str,
    /// What AWS KMS documents.
    pub documented: Outcome,
    /// Each backend's outcome and verdict, in column order.
    pub results: Vec<(Outcome, Verdict)>,
}

impl Report {
    /// Compares the columns with the documented outcomes.
    pub fn new(columns: &[Column]) -> Self {
        let rows = SCENARIOS
            .iter()
            .enumerate()
            .map(|(i, scenario)| {
                let documented = scenario.documented.outcome();
                let results = columns
                    .iter()
                    .map(|column| {
                        let outcome = column.outcomes[i].1.clone();
                        let verdict = if matches!(outcome, Outcome::NotRun(_)) {
                            Verdict::NotRun
                        } else if outcome == documented {
                            Verdict::AsDocumented
                        } else if column.deviations.iter().any(|(n, e)| *n == scenario.name && e.outcome() == outcome) {
                            Verdict::KnownDeviation
                        } else {
                            Verdict::Difference
                        };
                        (outcome, verdict)
                    })
                    .collect();
                Row { scenario: scenario.name, documented, results }
            })
            .collect();
        Self { backends: columns.iter().map(|c| c.backend.clone()).collect(), rows }
    }

    /// Rows with an unexplained difference.
    pub fn differences(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.results.iter().any(|(_, v)| *v == Verdict::Difference))
    }
}
