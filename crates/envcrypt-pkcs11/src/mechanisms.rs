//! Every vendor-dependent mechanism choice, in one place.
//!
//! PKCS#11 leaves three things to the token that matter here. AES-GCM's IV: SoftHSM2 (and the
//! standard) take the IV from the caller; CloudHSM generates it inside the HSM and writes it
//! back into the parameters, refusing a caller's IV. And key wrapping: SoftHSM2 offers the
//! standard `CKM_AES_KEY_WRAP_PAD` (RFC 5649); vendors may name theirs with a vendor code. And
//! RSAES-OAEP's hashes: SoftHSM2 takes SHA-1 only. [`Mechanisms::softhsm`] is what the tests
//! run; [`Mechanisms::cloudhsm`] is the modeled CloudHSM variant (documented, not run here: there is no CloudHSM on this machine).

use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
use cryptoki::mechanism::vendor_defined::VendorDefinedMechanism;
use cryptoki::mechanism::{Mechanism, MechanismType};
use envcrypt::kms::RsaEncryptionAlgorithm;

/// The GCM IV length envcrypt uses with every token.
pub const IV_LEN: usize = 12;
/// The GCM tag length, in bits.
const TAG_BITS: u64 = 128;

/// Who picks the AES-GCM IV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IvSource {
    /// envcrypt draws it from the token's RNG and passes it in (SoftHSM2, the standard).
    Caller,
    /// The token generates it and writes it back (CloudHSM).
    Token,
}

/// How keys are wrapped between the tokens of a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrapMechanism {
    /// `CKM_AES_KEY_WRAP_PAD` (RFC 5649).
    AesKeyWrapPad,
    /// A vendor mechanism code with RFC 5649 semantics.
    Vendor(u64),
}

/// The mechanism choices for one kind of HSM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mechanisms {
    /// Who picks the GCM IV.
    pub gcm_iv: IvSource,
    /// The key wrap between tokens.
    pub wrap: WrapMechanism,
    /// Whether the token's RSAES-OAEP takes SHA-256 (SoftHSM2's takes SHA-1 only, and
    /// refuses `RSAES_OAEP_SHA_256`; CloudHSM takes both).
    pub oaep_sha256: bool,
}

impl Mechanisms {
    /// SoftHSM2 and tokens that follow the standard: caller IV, `CKM_AES_KEY_WRAP_PAD`.
    pub const fn softhsm() -> Self {
        Self { gcm_iv: IvSource::Caller, wrap: WrapMechanism::AesKeyWrapPad, oaep_sha256: false }
    }

    /// The CloudHSM client library: HSM-generated IV. The wrap stays `CKM_AES_KEY_WRAP_PAD`;
    /// set [`WrapMechanism::Vendor`] to the code your client's header gives its RFC 5649 wrap
    /// if it does not offer the standard one (envcrypt ships no vendor header to copy it from).
    pub const fn cloudhsm() -> Self {
        Self { gcm_iv: IvSource::Token, wrap: WrapMechanism::AesKeyWrapPad, oaep_sha256: true }
    }

    /// The variant with this name (`softhsm`, `cloudhsm`).
    pub fn named(name: &str) -> Option<Self> {
        match name {
            "softhsm" | "standard" => Some(Self::softhsm()),
            "cloudhsm" => Some(Self::cloudhsm()),
            _ => None,
        }
    }

    /// The variant's name, as [`Mechanisms::named`] takes it.
    pub fn name(&self) -> &'static str {
        match self.gcm_iv {
            IvSource::Caller => "softhsm",
            IvSource::Token => "cloudhsm",
        }
    }

    /// AES-GCM parameters over `iv` (zeroed for a token-generated IV) and `aad`.
    pub(crate) fn gcm<'a>(&self, iv: &'a mut [u8; IV_LEN], aad: &'a [u8]) -> Mechanism<'a> {
        let params = GcmParams::new(iv, aad, TAG_BITS.into()).expect("a 12-byte IV and a short AAD fit a CK_ULONG");
        Mechanism::AesGcm(params)
    }

    /// RSAES-OAEP with `algorithm`'s hash and MGF1 with the same hash, if the token offers it.
    pub(crate) fn oaep(&self, algorithm: RsaEncryptionAlgorithm) -> Option<Mechanism<'static>> {
        let (hash, mgf) = match algorithm {
            RsaEncryptionAlgorithm::RsaesOaepSha1 => (MechanismType::SHA1, PkcsMgfType::MGF1_SHA1),
            // RSAES_OAEP_SHA_256, the other one.
            _ if self.oaep_sha256 => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
            _ => return None,
        };
        Some(Mechanism::RsaPkcsOaep(PkcsOaepParams::new(hash, mgf, PkcsOaepSource::empty())))
    }

    /// The wrap mechanism's type, for `CKA_ALLOWED_MECHANISMS`.
    pub(crate) fn wrap_type(&self) -> MechanismType {
        self.wrap().mechanism_type()
    }

    /// The wrap mechanism.
    pub(crate) fn wrap(&self) -> Mechanism<'static> {
        match self.wrap {
            WrapMechanism::AesKeyWrapPad => Mechanism::AesKeyWrapPad,
            WrapMechanism::Vendor(code) => Mechanism::VendorDefined(VendorDefinedMechanism::new::<()>(
                MechanismType::new_vendor_defined(code).expect("a vendor code"),
                None,
            )),
        }
    }
}
