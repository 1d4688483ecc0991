//! Copying master keys between the tokens of a cluster, so that no user-PIN holder can export
//! them.
//!
//! A master key (CMK) version is generated inside one token: sensitive, and extractable only
//! under a *trusted* wrapping key (`CKA_WRAP_WITH_TRUSTED`), with no use but its kind's
//! mechanisms ([`KeyKind`]). The only trusted keys are the cluster keys, one per kind of key
//! (`envcrypt/cluster-wrap` for symmetric keys, `envcrypt/cluster-wrap/<kind>` for HMAC, RSA
//! and elliptic-curve keys), and only the security officer can make them, since only the SO
//! may set `CKA_TRUSTED` ([`init_cluster`]). A cluster key cannot be copied or modified, serves
//! only the key wrap mechanism, wraps only keys of its kind that cannot wrap (so never
//! itself), and carries an unwrap template ([`crate::template`]) that forces every key it
//! unwraps to be a key of its kind as locked down as the original. So a CMK leaves a token
//! only wrapped under its kind's cluster key, and comes back into a token only as another
//! locked-down CMK of that kind: whoever holds the user PIN can use the keys, never read them.
//!
//! The cluster key reaches each token in the SO's sessions: generated in the first token, and
//! carried to every other one wrapped under a trusted transport key that the two tokens derive
//! by an ECDH (P-256) agreement inside themselves. No key value is ever in this process's
//! memory. Objects the SO makes are public (PKCS#11 gives the SO no private objects); being
//! sensitive, their values are still never readable.

use cryptoki::mechanism::elliptic_curve::{EcKdf, Ecdh1DeriveParams};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use envcrypt::kms::KmsError;
use zeroize::Zeroizing;

use crate::key_kind::{key_template, KeyKind, KEY_LABEL_PREFIX};
use crate::mechanisms::Mechanisms;
use crate::module::Module;
use crate::template::{with_templates, Template};
use crate::token::{find_cluster_key, login_refused, Token, TokenError};
use crate::ClusterConfig;

/// DER of the P-256 curve's OID, as CKA_EC_PARAMS takes it.
const P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// What `init_cluster` reports for a token whose symmetric cluster key was replaced: after
/// the check found it would wrap HMAC keys, or because the token could not run the check.
const REPLACED: &str = "replaced";
const REPLACED_UNCHECKED: &str = "replaced: the token could not check it";

/// Calls `work` with the wrap and unwrap templates of `kind`'s cluster key.
fn with_cluster_key_templates<T>(kind: KeyKind, work: impl FnOnce(Vec<Attribute>) -> T) -> T {
    let (wrap, unwrap) = (kind.wrap_template(), kind.unwrap_template());
    with_templates(&[(Template::Wrap, &wrap), (Template::Unwrap, &unwrap)], work)
}

/// The attributes of `kind`'s cluster key, with `extra` (its value length or templates, as
/// generating or unwrapping needs) before the closing `CKA_MODIFIABLE` (see [`KeyKind::flags`]).
fn cluster_key_template(
    mechanisms: &Mechanisms,
    kind: KeyKind,
    extra: impl IntoIterator<Item = Attribute>,
) -> Vec<Attribute> {
    let mut template = vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Label(kind.cluster_key_label().as_bytes().to_vec()),
        Attribute::Trusted(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(true),
        Attribute::WrapWithTrusted(true),
        Attribute::Wrap(true),
        Attribute::Unwrap(true),
        Attribute::Encrypt(false),
        Attribute::Decrypt(false),
        Attribute::Sign(false),
        Attribute::Verify(false),
        Attribute::Derive(false),
        Attribute::Copyable(false),
        Attribute::AllowedMechanisms(vec![mechanisms.wrap_type()]),
    ];
    template.extend(extra);
    template.push(Attribute::Modifiable(false));
    template
}

/// Copies a CMK version of `kind` from `source` to `target`, wrapped under the kind's cluster
/// key.
pub(crate) fn copy_key(
    source: &Token,
    target: &Token,
    kind: KeyKind,
    key_id: &str,
    version: u32,
) -> Result<(), TokenError> {
    let source_wrap = source.cluster_key(kind)?;
    let target_wrap = target.cluster_key(kind)?;
    let key = source.key_handle(kind, key_id, version)?;
    let wrapped = Zeroizing::new(source.with_session(|s| s.wrap_key(&source.mechanisms().wrap(), source_wrap, key))?);
    target.with_session(|s| {
        s.unwrap_key(&target.mechanisms().wrap(), target_wrap, &wrapped, &key_template(kind, key_id, version)).map(drop)
    })
}

/// Makes objects of an earlier envcrypt as safe as they can still be made: a master key that
/// any key could wrap becomes wrap-with-trusted (a one-way change), and an untrusted key under
/// a cluster key's label, which a PIN holder could wrap under a key of their own, is destroyed.
pub(crate) fn harden_legacy_objects(token: &Token) -> Result<(), TokenError> {
    token.with_session(|s| {
        let loose = s.find_objects(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::Token(true),
            Attribute::WrapWithTrusted(false),
        ])?;
        for handle in loose {
            let label = s.get_attributes(handle, &[AttributeType::Label])?.into_iter().find_map(|a| match a {
                Attribute::Label(label) => Some(label),
                _ => None,
            });
            match label.as_deref() {
                Some(l) if KeyKind::ALL.iter().any(|k| l == k.cluster_key_label().as_bytes()) => {
                    s.destroy_object(handle)?
                }
                Some(l) if l.starts_with(KEY_LABEL_PREFIX.as_bytes()) => {
                    s.update_attributes(handle, &[Attribute::WrapWithTrusted(true)])?
                }
                _ => {}
            }
        }
        Ok(())
    })
}

/// What [`init_cluster`] did on each token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClusterKeyStatus {
    /// The token label.
    pub label: String,
    /// `created`, `copied`, `present`, `replaced` (an earlier envcrypt's symmetric cluster key,
    /// which would also copy HMAC keys as AES keys) or `replaced: the token could not check
    /// it` (the security officer cannot make the session key that checks it, so every run
    /// replaces it; nothing is lost, since nothing is kept wrapped under it).
    pub cluster_key: &'static str,
}

/// Gives every token of `cluster` the trusted cluster key, logged in as the security officer
/// with `so_pin`: generated in the first token if none holds it, then carried to each token
/// that lacks it. Safe to run again, for instance after adding a token: tokens that hold the
/// key keep it. Every token must be reachable.
pub fn init_cluster(cluster: &ClusterConfig, so_pin: &Zeroizing<String>) -> Result<Vec<ClusterKeyStatus>, KmsError> {
    let module = Module::load(cluster)?;
    let pin = AuthPin::new(so_pin.as_str().into());
    let mut sessions = Vec::new();
    for label in &cluster.tokens {
        let slot = module.slot(label)?;
        let session =
            module.pkcs11().open_rw_session(slot).map_err(|e| so_error(label, "cannot open a session on", e))?;
        match session.login(UserType::So, Some(&pin)) {
            Ok(()) => {}
            Err(e @ cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::PinIncorrect, _)) => {
                return Err(login_refused(format!(
                    "token {label:?} refused the security officer PIN ({})",
                    crate::token::describe(&e)
                )))
            }
            Err(e) => return Err(so_error(label, "cannot log in as the security officer to", e)),
        }
        sessions.push((label.as_str(), session));
    }
    // Per token, what happened to the kind that changed most.
    let rank =
        |what: &str| ["present", "copied", "created", REPLACED, REPLACED_UNCHECKED].iter().position(|w| *w == what);
    let mut report: Vec<ClusterKeyStatus> = sessions
        .iter()
        .map(|(label, _)| ClusterKeyStatus { label: label.to_string(), cluster_key: "present" })
        .collect();
    for kind in KeyKind::ALL {
        for (status, done) in report.iter_mut().zip(give_cluster_key(&sessions, kind, &cluster.mechanisms)?) {
            if rank(done) > rank(status.cluster_key) {
                status.cluster_key = done;
            }
        }
    }
    for (_, session) in &sessions {
        let _ = session.logout();
    }
    Ok(report)
}

/// Gives every token in `sessions` (SO sessions) `kind`'s cluster key: generated in the first
/// if none holds it, carried from a holder to the others. Says per token what it did.
fn give_cluster_key(
    sessions: &[(&str, Session)],
    kind: KeyKind,
    mechanisms: &Mechanisms,
) -> Result<Vec<&'static str>, KmsError> {
    let mut holders = Vec::new();
    let mut replaced = Vec::new();
    for (label, session) in sessions {
        let Some(key) = find_cluster_key(session, kind).map_err(|e| so_error(label, "cannot search", e))? else {
            continue;
        };
        // An earlier envcrypt's symmetric cluster key also wraps HMAC keys: replaced, on every
        // token (nothing is kept wrapped under a cluster key, so nothing is lost). One the
        // token gives no way to check is replaced too, and the report says so.
        if kind == KeyKind::Symmetric {
            let checked = wraps_hmac_keys(session, key, mechanisms);
            if !matches!(checked, Ok(false)) {
                session.destroy_object(key).map_err(|e| so_error(label, "cannot replace the cluster key on", e))?;
                replaced.push((*label, if checked.is_ok() { REPLACED } else { REPLACED_UNCHECKED }));
                continue;
            }
        }
        holders.push(*label);
    }
    let mut created = None;
    let source = match holders.first() {
        Some(label) => *label,
        None => {
            let (label, session) = sessions.first().ok_or_else(|| KmsError::Validation("no token to set up".into()))?;
            generate_cluster_key(session, mechanisms, kind)
                .map_err(|e| so_error(label, &format!("cannot generate {} on", kind.cluster_key_label()), e))?;
            created = Some(*label);
            label
        }
    };
    let source_session = &sessions.iter().find(|(l, _)| *l == source).expect("the source is a token").1;
    let cluster_key = find_cluster_key(source_session, kind)
        .map_err(|e| so_error(source, "cannot search", e))?
        .ok_or_else(|| KmsError::NotFound(format!("token {source:?} lost its cluster key during set-up")))?;
    let mut done = Vec::new();
    for (label, session) in sessions {
        let what = if created == Some(*label) {
            "created"
        } else if *label == source || holders.contains(label) {
            "present"
        } else {
            carry_cluster_key(source_session, cluster_key, session, mechanisms, kind)
                .map_err(|e| so_error(label, &format!("cannot give {} to", kind.cluster_key_label()), e))?;
            "copied"
        };
        done.push(replaced.iter().find(|(l, _)| l == label).map_or(what, |(_, how)| *how));
    }
    Ok(done)
}

/// Whether `cluster_key` (the symmetric kind's, in `session`) wraps an HMAC key: the one an
/// earlier envcrypt made does, since its wrap template pins only `CKA_WRAP`, and an HMAC key
/// it wraps unwraps under it as an AES-GCM key. Tried on a throwaway session key.
pub(crate) fn wraps_hmac_keys(
    session: &Session,
    cluster_key: ObjectHandle,
    mechanisms: &Mechanisms,
) -> cryptoki::error::Result<bool> {
    let template = [
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::GENERIC_SECRET),
        Attribute::Token(false),
        Attribute::Private(false),
        Attribute::Extractable(true),
        Attribute::Wrap(false),
        Attribute::ValueLen(32.into()),
    ];
    let probe = session.generate_key(&Mechanism::GenericSecretKeyGen, &template)?;
    let wrapped = session.wrap_key(&mechanisms.wrap(), cluster_key, probe);
    session.destroy_object(probe)?;
    Ok(wrapped.is_ok())
}

fn so_error(label: &str, what: &str, error: cryptoki::error::Error) -> KmsError {
    KmsError::Transport {
        context: format!("{what} token {label:?} as the security officer"),
        source: std::sync::Arc::new(error),
    }
}

fn generate_cluster_key(session: &Session, mechanisms: &Mechanisms, kind: KeyKind) -> cryptoki::error::Result<()> {
    with_cluster_key_templates(kind, |templates| {
        let extra = std::iter::once(Attribute::ValueLen(32.into())).chain(templates);
        session.generate_key(&Mechanism::AesKeyGen, &cluster_key_template(mechanisms, kind, extra)).map(drop)
    })
}

/// An ephemeral P-256 key pair in an SO session, and its uncompressed public point.
fn ephemeral(session: &Session) -> cryptoki::error::Result<(ObjectHandle, ObjectHandle, Vec<u8>)> {
    let (public, private) = session.generate_key_pair(
        &Mechanism::EccKeyPairGen,
        &[Attribute::EcParams(P256.to_vec()), Attribute::Token(false), Attribute::Private(false)],
        &[Attribute::Token(false), Attribute::Private(false), Attribute::Sensitive(true), Attribute::Derive(true)],
    )?;
    let point = session.get_attributes(public, &[AttributeType::EcPoint])?.into_iter().find_map(|a| match a {
        Attribute::EcPoint(point) => Some(point),
        _ => None,
    });
    // CKA_EC_POINT is a DER OCTET STRING around the uncompressed point (0x04 0x41 ...).
    let point = point.and_then(|p| p.get(2..).map(<[u8]>::to_vec)).unwrap_or_default();
    Ok((public, private, point))
}

/// A trusted, non-extractable transport key derived by ECDH, in an SO session.
fn transport_key(session: &Session, private: ObjectHandle, peer: &[u8]) -> cryptoki::error::Result<ObjectHandle> {
    let template = [
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(false),
        Attribute::Private(false),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Trusted(true),
        Attribute::Wrap(true),
        Attribute::Unwrap(true),
        Attribute::ValueLen(32.into()),
    ];
    session.derive_key(&Mechanism::Ecdh1Derive(Ecdh1DeriveParams::new(EcKdf::null(), peer)), private, &template)
}

/// Carries `kind`'s cluster key from the SO session `source` to the SO session `target`.
fn carry_cluster_key(
    source: &Session,
    cluster_key: ObjectHandle,
    target: &Session,
    mechanisms: &Mechanisms,
    kind: KeyKind,
) -> cryptoki::error::Result<()> {
    let (source_public, source_private, source_point) = ephemeral(source)?;
    let (target_public, target_private, target_point) = ephemeral(target)?;
    let wrapped = (|| {
        let transport = transport_key(source, source_private, &target_point)?;
        let wrapped = source.wrap_key(&mechanisms.wrap(), transport, cluster_key);
        let _ = source.destroy_object(transport);
        wrapped
    })();
    let result = wrapped.and_then(|wrapped| {
        let transport = transport_key(target, target_private, &source_point)?;
        let unwrapped = with_cluster_key_templates(kind, |templates| {
            target.unwrap_key(
                &mechanisms.wrap(),
                transport,
                &wrapped,
                &cluster_key_template(mechanisms, kind, templates),
            )
        });
        let _ = target.destroy_object(transport);
        unwrapped.map(drop)
    });
    for (session, handles) in [(source, [source_public, source_private]), (target, [target_public, target_private])] {
        for handle in handles {
            let _ = session.destroy_object(handle);
        }
    }
    result
}
