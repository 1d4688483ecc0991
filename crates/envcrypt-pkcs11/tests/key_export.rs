//! The claim "no envcrypt key object can be exported by someone who holds only the user PIN",
//! attacked as such a person would: a second PKCS#11 session, logged in with the user PIN on
//! every token of a cluster that envcrypt set up and replicated keys across, tries every wrap
//! mechanism the token offers under keys of its own and under envcrypt's, unwraps what it can
//! with relaxed templates, copies, modifies, derives from and reads every envcrypt object.

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::ekdf::AesCbcDeriveParams;
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use envcrypt::kms::{DataKeySpec, EncryptionContext, KeyAdmin, KeyRef, KeyService};
use envcrypt_pkcs11::{init_cluster, Pkcs11KeyService, Pkcs11Options};
use envcrypt_testkit::{SoftHsm, SO_PIN, USER_PIN};
use zeroize::Zeroizing;

const CLUSTER: [&str; 3] = ["az-a", "az-b", "az-c"];

/// A key object whose value the attacker knows, and the means to wrap with it.
struct AttackerKey {
    handle: ObjectHandle,
    kind: KeyType,
}

fn attacker_session(module: &std::path::Path, label: &str) -> (Pkcs11, Slot, Session) {
    let pkcs11 = Pkcs11::new(module).unwrap();
    match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => panic!("initialize: {e}"),
    }
    let slot = pkcs11
        .get_slots_with_initialized_token()
        .unwrap()
        .into_iter()
        .find(|s| pkcs11.get_token_info(*s).unwrap().label().trim() == label)
        .unwrap();
    let session = pkcs11.open_rw_session(slot).unwrap();
    match session.login(UserType::User, Some(&AuthPin::new(USER_PIN.into()))) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
        Err(e) => panic!("login: {e}"),
    }
    (pkcs11, slot, session)
}

fn label_of(session: &Session, handle: ObjectHandle) -> String {
    session
        .get_attributes(handle, &[AttributeType::Label])
        .unwrap()
        .into_iter()
        .find_map(|a| match a {
            Attribute::Label(l) => Some(String::from_utf8_lossy(&l).into_owned()),
            _ => None,
        })
        .unwrap_or_default()
}

/// Every key object envcrypt left on the token, with its label.
fn envcrypt_keys(session: &Session) -> Vec<(ObjectHandle, String)> {
    let mut keys = Vec::new();
    for class in [ObjectClass::SECRET_KEY, ObjectClass::PRIVATE_KEY] {
        for handle in session.find_objects(&[Attribute::Class(class)]).unwrap() {
            let label = label_of(session, handle);
            if label.starts_with("envcrypt/") {
                keys.push((handle, label));
            }
        }
    }
    keys
}

/// Keys of the attacker's own, one per key type a wrap mechanism may need.
fn attacker_keys(session: &Session) -> Vec<AttackerKey> {
    let secret = |kind: KeyType, value: Vec<u8>| AttackerKey {
        handle: session
            .create_object(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(kind),
                Attribute::Token(false),
                Attribute::Private(true),
                Attribute::Sensitive(false),
                Attribute::Extractable(true),
                Attribute::Wrap(true),
                Attribute::Unwrap(true),
                Attribute::Encrypt(true),
                Attribute::Decrypt(true),
                Attribute::Value(value),
            ])
            .unwrap(),
        kind,
    };
    let mut keys = vec![secret(KeyType::AES, vec![0x41; 32]), secret(KeyType::DES3, vec![0x5b; 24])];
    let (public, _) = session
        .generate_key_pair(
            &Mechanism::RsaPkcsKeyPairGen,
            &[
                Attribute::Token(false),
                Attribute::ModulusBits(2048.into()),
                Attribute::PublicExponent(vec![1, 0, 1]),
                Attribute::Wrap(true),
                Attribute::Encrypt(true),
            ],
            &[
                Attribute::Token(false),
                Attribute::Private(true),
                Attribute::Sensitive(false),
                Attribute::Extractable(true),
                Attribute::Unwrap(true),
                Attribute::Decrypt(true),
            ],
        )
        .unwrap();
    keys.push(AttackerKey { handle: public, kind: KeyType::RSA });
    keys
}

/// The cryptoki form of a wrap mechanism the token lists, and the key type it wraps with.
fn wrap_mechanism<'a>(kind: MechanismType, oaep: &'a PkcsOaepParams<'a>) -> (Mechanism<'a>, KeyType) {
    match kind {
        MechanismType::AES_KEY_WRAP => (Mechanism::AesKeyWrap, KeyType::AES),
        MechanismType::AES_KEY_WRAP_PAD => (Mechanism::AesKeyWrapPad, KeyType::AES),
        MechanismType::AES_CBC => (Mechanism::AesCbc([0; 16]), KeyType::AES),
        MechanismType::AES_CBC_PAD => (Mechanism::AesCbcPad([0; 16]), KeyType::AES),
        MechanismType::AES_ECB => (Mechanism::AesEcb, KeyType::AES),
        MechanismType::DES3_CBC => (Mechanism::Des3Cbc([0; 8]), KeyType::DES3),
        MechanismType::DES3_CBC_PAD => (Mechanism::Des3CbcPad([0; 8]), KeyType::DES3),
        MechanismType::DES3_ECB => (Mechanism::Des3Ecb, KeyType::DES3),
        MechanismType::DES_CBC => (Mechanism::DesCbc([0; 8]), KeyType::DES),
        MechanismType::DES_CBC_PAD => (Mechanism::DesCbcPad([0; 8]), KeyType::DES),
        MechanismType::DES_ECB => (Mechanism::DesEcb, KeyType::DES),
        MechanismType::RSA_PKCS => (Mechanism::RsaPkcs, KeyType::RSA),
        MechanismType::RSA_PKCS_OAEP => (Mechanism::RsaPkcsOaep(*oaep), KeyType::RSA),
        other => panic!("the token offers wrap mechanism {other}, which this attack does not try yet: add it"),
    }
}

/// Whether `handle` gives its value away: readable `CKA_VALUE`.
fn value_readable(session: &Session, handle: ObjectHandle) -> bool {
    session
        .get_attributes(handle, &[AttributeType::Value])
        .is_ok_and(|attrs| attrs.iter().any(|a| matches!(a, Attribute::Value(v) if !v.is_empty())))
}

/// Templates an attacker would unwrap a master key's blob with: each relaxes the locked-down
/// master key in one way that would let its value out.
fn relaxed_unwrap_templates() -> Vec<Vec<Attribute>> {
    let base = || {
        vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Token(false),
            Attribute::Private(true),
        ]
    };
    let with = |extra: Vec<Attribute>| base().into_iter().chain(extra).collect::<Vec<_>>();
    vec![
        base(),
        with(vec![Attribute::Sensitive(false), Attribute::Extractable(true)]),
        with(vec![Attribute::Sensitive(false)]),
        with(vec![
            Attribute::Sensitive(true),
            Attribute::Extractable(true),
            Attribute::WrapWithTrusted(false),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
            Attribute::Modifiable(false),
            Attribute::Copyable(false),
        ]),
        with(vec![
            Attribute::Sensitive(true),
            Attribute::Extractable(true),
            Attribute::WrapWithTrusted(true),
            Attribute::Wrap(true),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
            Attribute::Modifiable(false),
            Attribute::Copyable(false),
        ]),
        with(vec![
            Attribute::Sensitive(true),
            Attribute::Extractable(true),
            Attribute::WrapWithTrusted(true),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
            Attribute::Derive(true),
            Attribute::Modifiable(false),
            Attribute::Copyable(false),
        ]),
        with(vec![
            Attribute::Sensitive(true),
            Attribute::Extractable(true),
            Attribute::WrapWithTrusted(true),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
            Attribute::Modifiable(true),
            Attribute::Copyable(false),
        ]),
    ]
}

/// Changes that would make a key exportable, tried as copies and as modifications.
fn relaxations() -> Vec<Vec<Attribute>> {
    vec![
        vec![],
        vec![Attribute::Sensitive(false)],
        vec![Attribute::Extractable(true), Attribute::WrapWithTrusted(false)],
        vec![Attribute::WrapWithTrusted(false)],
        vec![Attribute::Encrypt(true), Attribute::Decrypt(true)],
        vec![Attribute::Derive(true)],
        vec![Attribute::Wrap(true)],
        vec![Attribute::AllowedMechanisms(vec![MechanismType::AES_ECB, MechanismType::AES_KEY_WRAP_PAD])],
    ]
}

#[test]
fn pin_holder_cannot_export_master_keys() {
    let hsm = SoftHsm::new(&CLUSTER);
    let labels: Vec<String> = CLUSTER.iter().map(|t| t.to_string()).collect();
    let options = Pkcs11Options::new(hsm.module(), labels, Zeroizing::new(USER_PIN.into()));
    init_cluster(&options.cluster, &Zeroizing::new(SO_PIN.into())).unwrap();
    let service = Pkcs11KeyService::connect(options).unwrap();
    let context: EncryptionContext = [("purpose".to_owned(), "export".to_owned())].into_iter().collect();
    for _ in 0..2 {
        let key = KeyRef::parse(&service.create_key("export attack").wait().unwrap().arn).unwrap();
        service.rotate_key(&key).wait().unwrap();
        service.generate_data_key(&key, DataKeySpec::Aes256, &context).wait().unwrap();
    }

    let oaep = PkcsOaepParams::new(MechanismType::SHA1, PkcsMgfType::MGF1_SHA1, PkcsOaepSource::empty());
    let mut exported = Vec::new();
    for token in CLUSTER {
        let (pkcs11, slot, session) = attacker_session(hsm.module(), token);
        let targets = envcrypt_keys(&session);
        let master_keys = targets.iter().filter(|(_, l)| l.starts_with("envcrypt/key/")).count();
        assert_eq!(master_keys, 4, "{token}: two keys of two versions each, replicated here: {targets:?}");
        let cluster_keys: Vec<ObjectHandle> =
            targets.iter().filter(|(_, l)| l == "envcrypt/cluster-wrap").map(|(h, _)| *h).collect();
        assert_eq!(cluster_keys.len(), 1, "{token}: one cluster key");
        let own = attacker_keys(&session);
        let wrap_mechanisms: Vec<MechanismType> = pkcs11
            .get_mechanism_list(slot)
            .unwrap()
            .into_iter()
            .filter(|m| pkcs11.get_mechanism_info(slot, *m).is_ok_and(|info| info.wrap()))
            .collect();
        assert!(wrap_mechanisms.contains(&MechanismType::AES_KEY_WRAP_PAD), "{wrap_mechanisms:?}");
        let mut tried = 0;

        for (target, label) in &targets {
            let mut leak = |how: String| exported.push(format!("{token} {label}: {how}"));
            if value_readable(&session, *target) {
                leak("CKA_VALUE is readable".into());
            }
            // Wrapped under a key whose value the attacker knows.
            for &kind in &wrap_mechanisms {
                let (mechanism, key_type) = wrap_mechanism(kind, &oaep);
                for key in own.iter().filter(|k| k.kind == key_type) {
                    tried += 1;
                    if session.wrap_key(&mechanism, key.handle, *target).is_ok() {
                        leak(format!("wrapped under the attacker's own {key_type} key with {kind}"));
                    }
                }
                // Wrapped under envcrypt's cluster key, then unwrapped into something readable.
                for &cluster_key in &cluster_keys {
                    tried += 1;
                    let Ok(blob) = session.wrap_key(&mechanism, cluster_key, *target) else { continue };
                    for template in relaxed_unwrap_templates() {
                        if let Ok(copy) = session.unwrap_key(&mechanism, cluster_key, &blob, &template) {
                            if value_readable(&session, copy) {
                                leak(format!("unwrapped readable from the cluster key's {kind} wrap"));
                            }
                            for key in own.iter().filter(|k| k.kind == key_type) {
                                if session.wrap_key(&mechanism, key.handle, copy).is_ok() {
                                    leak(format!("a copy unwrapped with {template:?} wraps under the attacker's key"));
                                }
                            }
                        }
                    }
                }
            }
            for template in relaxations() {
                if let Ok(copy) = session.copy_object(*target, &template) {
                    if value_readable(&session, copy)
                        || own.iter().any(|k| session.wrap_key(&Mechanism::AesKeyWrapPad, k.handle, copy).is_ok())
                    {
                        leak(format!("copied as {template:?} and then exported"));
                    }
                    leak(format!("copied with {template:?}"));
                }
                if !template.is_empty() && session.update_attributes(*target, &template).is_ok() {
                    leak(format!("modified with {template:?}"));
                }
            }
            let derived = [
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::Token(false),
                Attribute::Sensitive(false),
                Attribute::Extractable(true),
                Attribute::ValueLen(32.into()),
            ];
            let data = [0u8; 32];
            if session
                .derive_key(&Mechanism::AesCbcEncryptData(AesCbcDeriveParams::new([0; 16], &data)), *target, &derived)
                .is_ok()
            {
                leak("derived from".into());
            }
            // A decryption oracle under the cluster key would unwrap any blob offline.
            for mechanism in [Mechanism::AesEcb, Mechanism::AesCbc([0; 16])] {
                if session.encrypt(&mechanism, *target, &[0u8; 32]).is_ok() && label.contains("cluster") {
                    leak(format!("usable as a raw cipher ({:?})", mechanism.mechanism_type()));
                }
                if session.decrypt(&mechanism, *target, &[0u8; 32]).is_ok() && label.contains("cluster") {
                    leak(format!("usable to decrypt raw blocks ({:?})", mechanism.mechanism_type()));
                }
            }
        }
        assert!(tried > targets.len() * 4, "{token}: the attack ran ({tried} wraps tried)");
        drop(session);
    }
    assert!(exported.is_empty(), "a user-PIN holder exported envcrypt keys:\n{}", exported.join("\n"));

    // The keys still work for their owner after all that.
    let key = KeyRef::parse(&service.list_keys().wait().unwrap()[0].arn).unwrap();
    service.generate_data_key(&key, DataKeySpec::Aes256, &context).wait().unwrap();
}
