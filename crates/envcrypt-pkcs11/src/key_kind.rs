//! What a CMK is on a token, for each kind of KMS key: its object class and key type, the
//! flags every copy of it has, the mechanisms it serves, and the trusted cluster key that
//! copies it between tokens.
//!
//! Every CMK object is labelled `envcrypt/key/<key id>/<version>`, sensitive, and extractable
//! only under a trusted key. A symmetric key version is an AES-256 secret key for AES-GCM; an
//! HMAC key a generic secret for its HMAC mechanisms; an RSA or elliptic-curve key a private key
//! that signs (`CKM_RSA_PKCS_PSS`, `CKM_RSA_PKCS` over a DigestInfo, `CKM_ECDSA`) or, for an
//! RSA encryption key, decrypts with `CKM_RSA_PKCS_OAEP` only. Generating, importing and
//! unwrapping (copying between tokens) all give a key exactly its kind's attributes.
//!
//! Each kind has its own cluster key ([`KeyKind::cluster_key_label`]), whose unwrap template
//! forces that kind's attributes on every key it unwraps, so a key leaves a token only wrapped,
//! and comes back only as the locked-down key it was: one cluster key for every kind could not
//! force a class and a key type ([`replication`](crate::replication) explains the rest).

use cryptoki::mechanism::MechanismType;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};
use envcrypt::kms::{KeySpec, KeyUsage};

use crate::template::TemplateEntry;

/// The label prefix of CMK version objects.
pub(crate) const KEY_LABEL_PREFIX: &str = "envcrypt/key/";

/// The label of the cluster key that copies symmetric CMKs; the other kinds' add a suffix.
pub(crate) const CLUSTER_KEY_LABEL: &str = "envcrypt/cluster-wrap";

/// The label (and id) of CMK version `version` of key `key_id`.
pub(crate) fn key_label(key_id: &str, version: u32) -> String {
    format!("{KEY_LABEL_PREFIX}{key_id}/{version}")
}

/// What kind of object a CMK is on a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// A symmetric encryption key version: AES-256 for AES-GCM.
    Symmetric,
    /// An HMAC key: a generic secret for the HMAC mechanisms.
    Hmac,
    /// An RSA signing key.
    RsaSign,
    /// An RSA encryption key: RSAES-OAEP decryption.
    RsaDecrypt,
    /// An elliptic-curve signing key.
    EcSign,
}

/// The flags that open every CMK's attributes: sensitive, and extractable under a trusted key.
const PROTECTED: [(AttributeType, bool); 4] = [
    (AttributeType::Private, true),
    (AttributeType::Sensitive, true),
    (AttributeType::Extractable, true),
    (AttributeType::WrapWithTrusted, true),
];

impl KeyKind {
    /// Every kind, the symmetric one first.
    pub(crate) const ALL: [KeyKind; 5] = [Self::Symmetric, Self::Hmac, Self::RsaSign, Self::RsaDecrypt, Self::EcSign];

    /// The kind of a KMS key of `spec` for `usage`.
    pub(crate) fn of(spec: KeySpec, usage: KeyUsage) -> Self {
        match (spec, usage) {
            (KeySpec::SymmetricDefault, _) => Self::Symmetric,
            (KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096, KeyUsage::EncryptDecrypt) => Self::RsaDecrypt,
            (KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096, _) => Self::RsaSign,
            (spec, _) if spec.is_key_pair() => Self::EcSign,
            _ => Self::Hmac,
        }
    }

    /// The object class.
    pub(crate) fn class(self) -> ObjectClass {
        match self {
            Self::Symmetric | Self::Hmac => ObjectClass::SECRET_KEY,
            Self::RsaSign | Self::RsaDecrypt | Self::EcSign => ObjectClass::PRIVATE_KEY,
        }
    }

    /// The key type.
    pub(crate) fn key_type(self) -> KeyType {
        match self {
            Self::Symmetric => KeyType::AES,
            Self::Hmac => KeyType::GENERIC_SECRET,
            Self::RsaSign | Self::RsaDecrypt => KeyType::RSA,
            Self::EcSign => KeyType::EC,
        }
    }

    /// The flags every copy of a key of this kind has, whether generated, imported or
    /// unwrapped: its cluster key's unwrap template forces exactly these. `CKA_MODIFIABLE` comes
    /// last: SoftHSM2 applies an unwrapped key's template in order and refuses every attribute
    /// after the object became unmodifiable. Each kind lists only attributes of its class.
    pub(crate) fn flags(self) -> Vec<(AttributeType, bool)> {
        use AttributeType::*;
        let uses: &[(AttributeType, bool)] = match self {
            Self::Symmetric => &[(Wrap, false), (Unwrap, false), (Derive, false), (Sign, false), (Verify, false)],
            Self::Hmac => &[
                (Wrap, false),
                (Unwrap, false),
                (Derive, false),
                (Encrypt, false),
                (Decrypt, false),
                (Sign, true),
                (Verify, true),
            ],
            Self::RsaSign | Self::EcSign => {
                &[(Decrypt, false), (Unwrap, false), (Derive, false), (SignRecover, false), (Sign, true)]
            }
            Self::RsaDecrypt => {
                &[(Sign, false), (Unwrap, false), (Derive, false), (SignRecover, false), (Decrypt, true)]
            }
        };
        PROTECTED.iter().chain(uses).chain(&[(Copyable, false), (Modifiable, false)]).copied().collect()
    }

    /// The mechanisms a key of this kind serves, and no others: in ascending order of their
    /// codes, as tokens keep and return them, so that the list a template gives and the list a
    /// key holds are the same bytes (an unwrap template compares them as bytes).
    pub(crate) fn mechanisms(self) -> &'static [MechanismType] {
        match self {
            Self::Symmetric => &[MechanismType::AES_GCM],
            Self::Hmac => &[
                MechanismType::SHA256_HMAC,
                MechanismType::SHA224_HMAC,
                MechanismType::SHA384_HMAC,
                MechanismType::SHA512_HMAC,
            ],
            Self::RsaSign => &[MechanismType::RSA_PKCS, MechanismType::RSA_PKCS_PSS],
            Self::RsaDecrypt => &[MechanismType::RSA_PKCS_OAEP],
            Self::EcSign => &[MechanismType::ECDSA],
        }
    }

    /// The label of the trusted cluster key that copies keys of this kind.
    pub(crate) fn cluster_key_label(self) -> &'static str {
        match self {
            Self::Symmetric => CLUSTER_KEY_LABEL,
            Self::Hmac => "envcrypt/cluster-wrap/hmac",
            Self::RsaSign => "envcrypt/cluster-wrap/rsa-sign",
            Self::RsaDecrypt => "envcrypt/cluster-wrap/rsa-decrypt",
            Self::EcSign => "envcrypt/cluster-wrap/ec-sign",
        }
    }

    /// What this kind's cluster key wraps: only keys of this kind that cannot wrap, so never a
    /// cluster key (a copy of one unwrapped with a template of the attacker's choosing could
    /// decrypt raw blocks, and so unwrap anything offline), nor a key of another kind (an HMAC
    /// key wrapped under the symmetric cluster key would unwrap as an AES-GCM key). The
    /// symmetric cluster key an earlier envcrypt made pins only `CKA_WRAP`; `init_cluster`
    /// replaces it ([`replication::wraps_hmac_keys`](crate::replication::wraps_hmac_keys)).
    pub(crate) fn wrap_template(self) -> Vec<TemplateEntry> {
        match self {
            Self::Symmetric | Self::Hmac => vec![
                TemplateEntry::class(self.class()),
                TemplateEntry::key_type(self.key_type()),
                TemplateEntry::flag(AttributeType::Wrap, false),
            ],
            Self::RsaSign | Self::RsaDecrypt | Self::EcSign => vec![
                TemplateEntry::class(self.class()),
                TemplateEntry::key_type(self.key_type()),
                TemplateEntry::flag(AttributeType::Unwrap, false),
                TemplateEntry::flag(AttributeType::Sign, self != Self::RsaDecrypt),
                TemplateEntry::flag(AttributeType::Decrypt, self == Self::RsaDecrypt),
            ],
        }
    }

    /// What this kind's cluster key forces on every key it unwraps: the class, key type,
    /// mechanisms and flags of the kind.
    pub(crate) fn unwrap_template(self) -> Vec<TemplateEntry> {
        let mut entries = vec![
            TemplateEntry::class(self.class()),
            TemplateEntry::key_type(self.key_type()),
            TemplateEntry::allowed_mechanisms(self.mechanisms()),
        ];
        entries.extend(self.flags().into_iter().map(|(kind, value)| TemplateEntry::flag(kind, value)));
        entries
    }
}

/// A boolean attribute as a cryptoki value.
pub(crate) fn flag(kind: AttributeType, value: bool) -> Attribute {
    match kind {
        AttributeType::Private => Attribute::Private(value),
        AttributeType::Sensitive => Attribute::Sensitive(value),
        AttributeType::Extractable => Attribute::Extractable(value),
        AttributeType::WrapWithTrusted => Attribute::WrapWithTrusted(value),
        AttributeType::Wrap => Attribute::Wrap(value),
        AttributeType::Unwrap => Attribute::Unwrap(value),
        AttributeType::Encrypt => Attribute::Encrypt(value),
        AttributeType::Decrypt => Attribute::Decrypt(value),
        AttributeType::Derive => Attribute::Derive(value),
        AttributeType::Sign => Attribute::Sign(value),
        AttributeType::SignRecover => Attribute::SignRecover(value),
        AttributeType::Verify => Attribute::Verify(value),
        AttributeType::Modifiable => Attribute::Modifiable(value),
        AttributeType::Copyable => Attribute::Copyable(value),
        other => unreachable!("{other} is not one of the CMK flags"),
    }
}

/// The template of a CMK version object: its label, its kind's mechanisms and (last, as
/// [`KeyKind::flags`] explains) its kind's flags.
pub(crate) fn key_template(kind: KeyKind, key_id: &str, version: u32) -> Vec<Attribute> {
    let label = key_label(key_id, version);
    let mut template = vec![
        Attribute::Class(kind.class()),
        Attribute::KeyType(kind.key_type()),
        Attribute::Token(true),
        Attribute::AllowedMechanisms(kind.mechanisms().to_vec()),
        Attribute::Id(label.as_bytes().to_vec()),
        Attribute::Label(label.into_bytes()),
    ];
    if kind == KeyKind::Symmetric {
        template.extend([Attribute::Encrypt(true), Attribute::Decrypt(true)]);
    }
    template.extend(kind.flags().into_iter().map(|(kind, value)| flag(kind, value)));
    template
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mechanisms_are_listed_in_the_order_tokens_return_them() {
        for kind in KeyKind::ALL {
            let codes: Vec<u64> = kind.mechanisms().iter().map(|m| u64::from(*m)).collect();
            assert!(codes.windows(2).all(|w| w[0] < w[1]), "{kind:?}: {codes:x?}");
        }
    }
}
