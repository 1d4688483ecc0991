//! What a master key (CMK) version is on a token: an AES-256 secret key object labelled
//! `envcrypt/key/<key id>/<version>`, sensitive, extractable only under the trusted cluster
//! key, and usable for AES-GCM only. Generating, importing and unwrapping (copying between
//! tokens) all give a version exactly these attributes ([`replication`](crate::replication)
//! explains why).

use cryptoki::mechanism::MechanismType;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};

/// The label prefix of CMK version objects.
pub(crate) const KEY_LABEL_PREFIX: &str = "envcrypt/key/";

/// The label (and id) of CMK version `version` of key `key_id`.
pub(crate) fn key_label(key_id: &str, version: u32) -> String {
    format!("{KEY_LABEL_PREFIX}{key_id}/{version}")
}

/// The flags every master key version has, whether generated, imported or unwrapped: the
/// cluster key's unwrap template forces exactly these (and AES-GCM as the only mechanism) on
/// each copy. `CKA_MODIFIABLE` comes last: SoftHSM2 applies an unwrapped key's template in
/// order and refuses every attribute after the object became unmodifiable.
pub(crate) const MASTER_KEY_FLAGS: [(AttributeType, bool); 11] = [
    (AttributeType::Private, true),
    (AttributeType::Sensitive, true),
    (AttributeType::Extractable, true),
    (AttributeType::WrapWithTrusted, true),
    (AttributeType::Wrap, false),
    (AttributeType::Unwrap, false),
    (AttributeType::Derive, false),
    (AttributeType::Sign, false),
    (AttributeType::Verify, false),
    (AttributeType::Copyable, false),
    (AttributeType::Modifiable, false),
];

/// The one mechanism a master key serves.
pub(crate) const MASTER_KEY_MECHANISMS: [MechanismType; 1] = [MechanismType::AES_GCM];

/// A boolean attribute as a cryptoki value.
pub(crate) fn flag(kind: AttributeType, value: bool) -> Attribute {
    match kind {
        AttributeType::Private => Attribute::Private(value),
        AttributeType::Sensitive => Attribute::Sensitive(value),
        AttributeType::Extractable => Attribute::Extractable(value),
        AttributeType::WrapWithTrusted => Attribute::WrapWithTrusted(value),
        AttributeType::Wrap => Attribute::Wrap(value),
        AttributeType::Unwrap => Attribute::Unwrap(value),
        AttributeType::Derive => Attribute::Derive(value),
        AttributeType::Sign => Attribute::Sign(value),
        AttributeType::Verify => Attribute::Verify(value),
        AttributeType::Modifiable => Attribute::Modifiable(value),
        AttributeType::Copyable => Attribute::Copyable(value),
        other => unreachable!("{other} is not one of the master key flags"),
    }
}

/// The template of a CMK version object: its label, AES-GCM as its only use, and (last, as
/// [`MASTER_KEY_FLAGS`] explains) the flags the cluster key's unwrap template forces.
pub(crate) fn key_template(key_id: &str, version: u32) -> Vec<Attribute> {
    let label = key_label(key_id, version);
    let mut template = vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(true),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
        Attribute::AllowedMechanisms(MASTER_KEY_MECHANISMS.to_vec()),
        Attribute::Id(label.as_bytes().to_vec()),
        Attribute::Label(label.into_bytes()),
    ];
    template.extend(MASTER_KEY_FLAGS.iter().map(|&(kind, value)| flag(kind, value)));
    template
}
