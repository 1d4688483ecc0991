//! Copying keys between the tokens of a cluster without their plaintext leaving a token.
//!
//! Every token holds the same cluster wrapping key (`envcrypt/cluster-wrap`, AES-256). A CMK
//! version is copied by wrapping it on a token that holds it and unwrapping it on one that
//! does not, with the token's RFC 5649 key wrap. The cluster key itself reaches a new token
//! through an ECDH (P-256) agreement between the two tokens: each generates a session key pair,
//! each derives the same transport key inside itself from the other's public point, and the
//! cluster key travels wrapped under it. No key value is ever in this process's memory.

use cryptoki::mechanism::elliptic_curve::{EcKdf, Ecdh1DeriveParams};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;

use crate::token::{Token, TokenError};

const CLUSTER_KEY_LABEL: &[u8] = b"envcrypt/cluster-wrap";
/// DER of the P-256 curve's OID, as CKA_EC_PARAMS takes it.
const P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

fn cluster_key_template(token: bool) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(token),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(token),
        Attribute::Wrap(true),
        Attribute::Unwrap(true),
        Attribute::Encrypt(false),
        Attribute::Decrypt(false),
        Attribute::Label(if token { CLUSTER_KEY_LABEL.to_vec() } else { b"envcrypt/transport".to_vec() }),
    ]
}

fn find_cluster_key(session: &Session) -> cryptoki::error::Result<Option<ObjectHandle>> {
    let template = [
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::Token(true),
        Attribute::Label(CLUSTER_KEY_LABEL.to_vec()),
    ];
    Ok(session.find_objects(&template)?.first().copied())
}

/// Whether the token holds the cluster key.
pub(crate) fn has_cluster_key(token: &Token) -> Result<bool, TokenError> {
    token.with_session(|s| find_cluster_key(s).map(|k| k.is_some()))
}

/// Generates the cluster key on the first token of a new cluster.
pub(crate) fn create_cluster_key(token: &Token) -> Result<(), TokenError> {
    token.with_session(|s| {
        let mut template = cluster_key_template(true);
        template.push(Attribute::ValueLen(32.into()));
        s.generate_key(&Mechanism::AesKeyGen, &template).map(drop)
    })
}

/// An ephemeral P-256 key pair in a session, and its public point.
fn ephemeral(session: &Session) -> cryptoki::error::Result<(ObjectHandle, ObjectHandle, Vec<u8>)> {
    let (public, private) = session.generate_key_pair(
        &Mechanism::EccKeyPairGen,
        &[Attribute::EcParams(P256.to_vec()), Attribute::Token(false)],
        &[Attribute::Token(false), Attribute::Private(true), Attribute::Sensitive(true), Attribute::Derive(true)],
    )?;
    let point = session.get_attributes(public, &[AttributeType::EcPoint])?.into_iter().find_map(|a| match a {
        Attribute::EcPoint(point) => Some(point),
        _ => None,
    });
    // CKA_EC_POINT is a DER OCTET STRING around the uncompressed point (0x04 0x41 ...).
    let point = point.and_then(|p| p.get(2..).map(<[u8]>::to_vec)).unwrap_or_default();
    Ok((public, private, point))
}

fn transport_key(session: &Session, private: ObjectHandle, peer: &[u8]) -> cryptoki::error::Result<ObjectHandle> {
    let mut template = cluster_key_template(false);
    template.push(Attribute::ValueLen(32.into()));
    session.derive_key(&Mechanism::Ecdh1Derive(Ecdh1DeriveParams::new(EcKdf::null(), peer)), private, &template)
}

fn cluster_key(token: &Token) -> Result<ObjectHandle, TokenError> {
    token.with_session(find_cluster_key)?.ok_or_else(|| token.missing("the cluster wrapping key"))
}

/// Gives `target` the cluster key held by `source`, through an ECDH transport key.
pub(crate) fn share_cluster_key(source: &Token, target: &Token) -> Result<(), TokenError> {
    let source_key = cluster_key(source)?;
    let (source_public, source_private, source_point) = source.with_session(ephemeral)?;
    let (target_public, target_private, target_point) = target.with_session(ephemeral)?;
    let wrapped = source.with_session(|s| {
        let transport = transport_key(s, source_private, &target_point)?;
        let wrapped = s.wrap_key(&source.mechanisms().wrap(), transport, source_key);
        for handle in [transport, source_public, source_private] {
            let _ = s.destroy_object(handle);
        }
        wrapped
    })?;
    target.with_session(|s| {
        let transport = transport_key(s, target_private, &source_point)?;
        let unwrapped = s.unwrap_key(&target.mechanisms().wrap(), transport, &wrapped, &cluster_key_template(true));
        for handle in [transport, target_public, target_private] {
            let _ = s.destroy_object(handle);
        }
        unwrapped.map(drop)
    })
}

/// Copies a CMK version from `source` to `target`, wrapped under the cluster key.
pub(crate) fn copy_key(source: &Token, target: &Token, key_id: &str, version: u32) -> Result<(), TokenError> {
    let (source_wrap, target_wrap) = (cluster_key(source)?, cluster_key(target)?);
    let key = source.key_handle(key_id, version)?;
    let wrapped = source.with_session(|s| s.wrap_key(&source.mechanisms().wrap(), source_wrap, key))?;
    target.with_session(|s| {
        s.unwrap_key(&target.mechanisms().wrap(), target_wrap, &wrapped, &Token::key_template(key_id, version))
            .map(drop)
    })
}
