//! The algorithm suites envcrypt reads and writes, and what each implies (key derivation,
//! commitment, signature).

/// An algorithm suite of the AWS Encryption SDK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AlgorithmSuite {
    /// `0x0478`: AES-256-GCM, HKDF-SHA-512 with key commitment, no signature. envcrypt's default.
    AesGcm256HkdfSha512Committing,
    /// `0x0578`: as 0x0478, plus an ECDSA P-384 signature in the footer.
    AesGcm256HkdfSha512CommittingEcdsaP384,
}

impl AlgorithmSuite {
    /// The suite's two-byte id.
    pub fn id(self) -> u16 {
        match self {
            Self::AesGcm256HkdfSha512Committing => 0x0478,
            Self::AesGcm256HkdfSha512CommittingEcdsaP384 => 0x0578,
        }
    }

    /// The suite with this id, if the v2 format knows it.
    pub fn from_id(id: u16) -> Option<Self> {
        match id {
            0x0478 => Some(Self::AesGcm256HkdfSha512Committing),
            0x0578 => Some(Self::AesGcm256HkdfSha512CommittingEcdsaP384),
            _ => None,
        }
    }

    /// Whether messages under this suite carry a signature footer.
    pub fn is_signed(self) -> bool {
        self == Self::AesGcm256HkdfSha512CommittingEcdsaP384
    }

    /// The specification's name for the suite.
    pub fn name(self) -> &'static str {
        match self {
            Self::AesGcm256HkdfSha512Committing => "AES_256_GCM_HKDF_SHA512_COMMIT_KEY",
            Self::AesGcm256HkdfSha512CommittingEcdsaP384 => "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384",
        }
    }

    /// The data key length in bytes.
    pub fn data_key_len(self) -> usize {
        32
    }
}
