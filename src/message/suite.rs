//! The eleven algorithm suites of the AWS Encryption SDK, what each implies (data key length,
//! key derivation, commitment, signature, message format version), and the commitment policy
//! that decides which of them may be written and read.

use super::FormatError;
use crate::crypto::SignatureCurve;

/// An algorithm suite of the AWS Encryption SDK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AlgorithmSuite {
    /// `0x0014`: AES-128-GCM, the data key used as it is. Message format 1.
    AesGcm128,
    /// `0x0046`: AES-192-GCM, the data key used as it is. Message format 1.
    AesGcm192,
    /// `0x0078`: AES-256-GCM, the data key used as it is. Message format 1.
    AesGcm256,
    /// `0x0114`: AES-128-GCM, HKDF-SHA-256. Message format 1.
    AesGcm128HkdfSha256,
    /// `0x0146`: AES-192-GCM, HKDF-SHA-256. Message format 1.
    AesGcm192HkdfSha256,
    /// `0x0178`: AES-256-GCM, HKDF-SHA-256. Message format 1.
    AesGcm256HkdfSha256,
    /// `0x0214`: AES-128-GCM, HKDF-SHA-256, ECDSA P-256 signature. Message format 1.
    AesGcm128HkdfSha256EcdsaP256,
    /// `0x0346`: AES-192-GCM, HKDF-SHA-384, ECDSA P-384 signature. Message format 1.
    AesGcm192HkdfSha384EcdsaP384,
    /// `0x0378`: AES-256-GCM, HKDF-SHA-384, ECDSA P-384 signature. Message format 1; the
    /// default of ESDK 1.x.
    AesGcm256HkdfSha384EcdsaP384,
    /// `0x0478`: AES-256-GCM, HKDF-SHA-512 with key commitment, no signature. Message format 2;
    /// envcrypt's default.
    AesGcm256HkdfSha512Committing,
    /// `0x0578`: as 0x0478, plus an ECDSA P-384 signature in the footer.
    AesGcm256HkdfSha512CommittingEcdsaP384,
}

/// How a suite turns the data key into the content key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDerivation {
    /// The data key is the content key.
    Identity,
    /// HKDF-SHA-256 with info = suite id ‖ message id.
    HkdfSha256,
    /// HKDF-SHA-384 with info = suite id ‖ message id.
    HkdfSha384,
    /// HKDF-SHA-512 with the message id as salt, and a commitment key beside the content key.
    HkdfSha512Committing,
}

impl AlgorithmSuite {
    /// Every suite, in the order of their ids.
    pub const ALL: [Self; 11] = [
        Self::AesGcm128,
        Self::AesGcm192,
        Self::AesGcm256,
        Self::AesGcm128HkdfSha256,
        Self::AesGcm192HkdfSha256,
        Self::AesGcm256HkdfSha256,
        Self::AesGcm128HkdfSha256EcdsaP256,
        Self::AesGcm192HkdfSha384EcdsaP384,
        Self::AesGcm256HkdfSha384EcdsaP384,
        Self::AesGcm256HkdfSha512Committing,
        Self::AesGcm256HkdfSha512CommittingEcdsaP384,
    ];

    /// The suite's two-byte id.
    pub fn id(self) -> u16 {
        match self {
            Self::AesGcm128 => 0x0014,
            Self::AesGcm192 => 0x0046,
            Self::AesGcm256 => 0x0078,
            Self::AesGcm128HkdfSha256 => 0x0114,
            Self::AesGcm192HkdfSha256 => 0x0146,
            Self::AesGcm256HkdfSha256 => 0x0178,
            Self::AesGcm128HkdfSha256EcdsaP256 => 0x0214,
            Self::AesGcm192HkdfSha384EcdsaP384 => 0x0346,
            Self::AesGcm256HkdfSha384EcdsaP384 => 0x0378,
            Self::AesGcm256HkdfSha512Committing => 0x0478,
            Self::AesGcm256HkdfSha512CommittingEcdsaP384 => 0x0578,
        }
    }

    /// The suite with this id, if there is one.
    pub fn from_id(id: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|suite| suite.id() == id)
    }

    /// The specification's name for the suite.
    pub fn name(self) -> &'static str {
        match self {
            Self::AesGcm128 => "AES_128_GCM_IV12_TAG16_NO_KDF",
            Self::AesGcm192 => "AES_192_GCM_IV12_TAG16_NO_KDF",
            Self::AesGcm256 => "AES_256_GCM_IV12_TAG16_NO_KDF",
            Self::AesGcm128HkdfSha256 => "AES_128_GCM_IV12_TAG16_HKDF_SHA256",
            Self::AesGcm192HkdfSha256 => "AES_192_GCM_IV12_TAG16_HKDF_SHA256",
            Self::AesGcm256HkdfSha256 => "AES_256_GCM_IV12_TAG16_HKDF_SHA256",
            Self::AesGcm128HkdfSha256EcdsaP256 => "AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256",
            Self::AesGcm192HkdfSha384EcdsaP384 => "AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384",
            Self::AesGcm256HkdfSha384EcdsaP384 => "AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384",
            Self::AesGcm256HkdfSha512Committing => "AES_256_GCM_HKDF_SHA512_COMMIT_KEY",
            Self::AesGcm256HkdfSha512CommittingEcdsaP384 => "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384",
        }
    }

    /// The data key length in bytes, which is also the AES key length.
    pub fn data_key_len(self) -> usize {
        match self {
            Self::AesGcm128 | Self::AesGcm128HkdfSha256 | Self::AesGcm128HkdfSha256EcdsaP256 => 16,
            Self::AesGcm192 | Self::AesGcm192HkdfSha256 | Self::AesGcm192HkdfSha384EcdsaP384 => 24,
            _ => 32,
        }
    }

    /// How the content key is derived from the data key.
    pub fn key_derivation(self) -> KeyDerivation {
        match self {
            Self::AesGcm128 | Self::AesGcm192 | Self::AesGcm256 => KeyDerivation::Identity,
            Self::AesGcm128HkdfSha256
            | Self::AesGcm192HkdfSha256
            | Self::AesGcm256HkdfSha256
            | Self::AesGcm128HkdfSha256EcdsaP256 => KeyDerivation::HkdfSha256,
            Self::AesGcm192HkdfSha384EcdsaP384 | Self::AesGcm256HkdfSha384EcdsaP384 => KeyDerivation::HkdfSha384,
            Self::AesGcm256HkdfSha512Committing | Self::AesGcm256HkdfSha512CommittingEcdsaP384 => {
                KeyDerivation::HkdfSha512Committing
            }
        }
    }

    /// The curve of the footer signature, for signed suites.
    pub fn signature(self) -> Option<SignatureCurve> {
        match self {
            Self::AesGcm128HkdfSha256EcdsaP256 => Some(SignatureCurve::P256),
            Self::AesGcm192HkdfSha384EcdsaP384
            | Self::AesGcm256HkdfSha384EcdsaP384
            | Self::AesGcm256HkdfSha512CommittingEcdsaP384 => Some(SignatureCurve::P384),
            _ => None,
        }
    }

    /// Whether messages under this suite carry a signature footer.
    pub fn is_signed(self) -> bool {
        self.signature().is_some()
    }

    /// Whether the suite commits the message to its data key (0x0478, 0x0578).
    pub fn is_committing(self) -> bool {
        self.key_derivation() == KeyDerivation::HkdfSha512Committing
    }

    /// The message format version the suite is written in: 2 for committing suites, else 1.
    pub fn message_format(self) -> u8 {
        if self.is_committing() {
            2
        } else {
            1
        }
    }
}

/// Which suites may be written and read, as the Encryption SDKs' commitment policy says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CommitmentPolicy {
    /// Write and read only committing suites (the SDKs' default, and envcrypt's).
    #[default]
    RequireEncryptRequireDecrypt,
    /// Write only committing suites; read every suite (to open what ESDK 1.x wrote).
    RequireEncryptAllowDecrypt,
    /// Write only non-committing suites, for readers older than ESDK 1.7; read every suite.
    ForbidEncryptAllowDecrypt,
}

impl CommitmentPolicy {
    /// Every policy, strictest first.
    pub const ALL: [Self; 3] =
        [Self::RequireEncryptRequireDecrypt, Self::RequireEncryptAllowDecrypt, Self::ForbidEncryptAllowDecrypt];

    /// The policy's name as the SDKs' CLIs spell it (`require-encrypt-require-decrypt`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::RequireEncryptRequireDecrypt => "require-encrypt-require-decrypt",
            Self::RequireEncryptAllowDecrypt => "require-encrypt-allow-decrypt",
            Self::ForbidEncryptAllowDecrypt => "forbid-encrypt-allow-decrypt",
        }
    }

    /// Why this policy refuses `suite`, and which policy would not.
    fn refusal(self, suite: AlgorithmSuite, sealing: bool) -> String {
        let id = suite.id();
        match (sealing, suite.is_committing()) {
            (false, _) => format!(
                "the message uses suite 0x{id:04x}, which has no key commitment (written by Encryption SDK 1.x or a \
                 legacy setting); the commitment policy {self} opens only committing suites: open it with \
                 --commitment-policy {}",
                Self::RequireEncryptAllowDecrypt
            ),
            (true, false) => format!(
                "suite 0x{id:04x} has no key commitment and the commitment policy {self} writes only committing \
                 suites: seal it with --commitment-policy {}",
                Self::ForbidEncryptAllowDecrypt
            ),
            (true, true) => {
                format!("suite 0x{id:04x} commits to its key and the commitment policy {self} writes only the legacy suites")
            }
        }
    }

    /// Checks that a message may be sealed with `suite`.
    pub fn check_sealing(self, suite: AlgorithmSuite) -> Result<(), FormatError> {
        if self.allows_sealing(suite) {
            return Ok(());
        }
        Err(FormatError::CommitmentPolicy { suite: suite.id(), sealing: true, reason: self.refusal(suite, true) })
    }

    /// Checks that a message sealed with `suite` may be opened.
    pub fn check_opening(self, suite: AlgorithmSuite) -> Result<(), FormatError> {
        if self.allows_opening(suite) {
            return Ok(());
        }
        Err(FormatError::CommitmentPolicy { suite: suite.id(), sealing: false, reason: self.refusal(suite, false) })
    }

    /// Whether a message may be sealed with `suite`.
    pub fn allows_sealing(self, suite: AlgorithmSuite) -> bool {
        match self {
            Self::RequireEncryptRequireDecrypt | Self::RequireEncryptAllowDecrypt => suite.is_committing(),
            Self::ForbidEncryptAllowDecrypt => !suite.is_committing(),
        }
    }

    /// Whether a message sealed with `suite` may be opened.
    pub fn allows_opening(self, suite: AlgorithmSuite) -> bool {
        self != Self::RequireEncryptRequireDecrypt || suite.is_committing()
    }

    /// The suite sealing uses when none is asked for: 0x0478 under the committing policies,
    /// 0x0378 (the ESDK 1.x default) when commitment is forbidden.
    pub fn default_suite(self) -> AlgorithmSuite {
        match self {
            Self::ForbidEncryptAllowDecrypt => AlgorithmSuite::AesGcm256HkdfSha384EcdsaP384,
            _ => AlgorithmSuite::AesGcm256HkdfSha512Committing,
        }
    }
}

impl std::fmt::Display for CommitmentPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for CommitmentPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|p| p.name() == s).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|p| p.name()).collect();
            format!("unknown commitment policy {s:?}; one of {}", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleven_suites_have_the_specifications_properties() {
        let table: Vec<(u16, usize, bool, bool, u8)> = AlgorithmSuite::ALL
            .iter()
            .map(|s| (s.id(), s.data_key_len(), s.is_signed(), s.is_committing(), s.message_format()))
            .collect();
        assert_eq!(
            table,
            [
                (0x0014, 16, false, false, 1),
                (0x0046, 24, false, false, 1),
                (0x0078, 32, false, false, 1),
                (0x0114, 16, false, false, 1),
                (0x0146, 24, false, false, 1),
                (0x0178, 32, false, false, 1),
                (0x0214, 16, true, false, 1),
                (0x0346, 24, true, false, 1),
                (0x0378, 32, true, false, 1),
                (0x0478, 32, false, true, 2),
                (0x0578, 32, true, true, 2),
            ]
        );
        for suite in AlgorithmSuite::ALL {
            assert_eq!(AlgorithmSuite::from_id(suite.id()), Some(suite));
        }
        assert_eq!(AlgorithmSuite::from_id(0x0000), None);
        assert_eq!(AlgorithmSuite::AesGcm192HkdfSha384EcdsaP384.key_derivation(), KeyDerivation::HkdfSha384);
        assert_eq!(AlgorithmSuite::AesGcm128HkdfSha256EcdsaP256.signature(), Some(SignatureCurve::P256));
    }

    #[test]
    fn commitment_policies_allow_what_the_sdks_allow() {
        use AlgorithmSuite::*;
        let legacy = AesGcm256HkdfSha384EcdsaP384;
        let committing = AesGcm256HkdfSha512Committing;
        let strict = CommitmentPolicy::default();
        assert_eq!(strict, CommitmentPolicy::RequireEncryptRequireDecrypt);
        assert!(strict.allows_sealing(committing) && strict.allows_opening(committing));
        assert!(!strict.allows_sealing(legacy) && !strict.allows_opening(legacy));
        let reading = CommitmentPolicy::RequireEncryptAllowDecrypt;
        assert!(
            reading.allows_opening(legacy) && !reading.allows_sealing(legacy) && reading.allows_sealing(committing)
        );
        let old_readers = CommitmentPolicy::ForbidEncryptAllowDecrypt;
        assert!(old_readers.allows_sealing(legacy) && !old_readers.allows_sealing(committing));
        assert!(old_readers.allows_opening(committing));
        assert_eq!(old_readers.default_suite(), legacy);
        assert_eq!(strict.default_suite(), committing);
    }
}
