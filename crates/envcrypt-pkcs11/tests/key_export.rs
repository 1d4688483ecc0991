//! The claim "no envcrypt key object can be exported by someone who holds only the user PIN",
//! attacked as such a person would: a second PKCS#11 session, logged in with the user PIN on
//! every token of a cluster that envcrypt set up and replicated keys across, tries every wrap
//! mechanism the token offers under keys of its own and under envcrypt's, unwraps what it can
//! with relaxed templates, copies, modifies, derives from and reads every envcrypt object.

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Function, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::ekdf::AesCbcDeriveParams;
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use envcrypt::kms::{
    CreateKeyRequest, DataKeySpec, EncryptionContext, KeyAdmin, KeyRef, KeyService, KeySpec, KeyUsage,
};
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

/// Whether `handle` gives its value away: a readable `CKA_VALUE` (a secret or EC private key)
/// or `CKA_PRIVATE_EXPONENT` (an RSA private key).
fn value_readable(session: &Session, handle: ObjectHandle) -> bool {
    session.get_attributes(handle, &[AttributeType::Value, AttributeType::PrivateExponent]).is_ok_and(|attrs| {
        attrs.iter().any(|a| match a {
            Attribute::Value(v) | Attribute::PrivateExponent(v) => !v.is_empty(),
            _ => false,
        })
    })
}

/// The attributes a cluster key forces on every key of `target`'s kind it unwraps, read off
/// `target` itself as an attacker would (its class, key type, flags and mechanisms), but for
/// `CKA_MODIFIABLE`, which goes last in every template (SoftHSM2 applies a template in order,
/// and nothing after it).
fn forced(session: &Session, target: ObjectHandle) -> Vec<Attribute> {
    let read = |types: &[AttributeType]| session.get_attributes(target, types).unwrap();
    let kind = read(&[AttributeType::Class, AttributeType::KeyType]);
    let class = kind.iter().find_map(|a| match a {
        Attribute::Class(class) => Some(*class),
        _ => None,
    });
    use AttributeType::*;
    let flags: &[AttributeType] = if class == Some(ObjectClass::PRIVATE_KEY) {
        &[Private, Sensitive, Extractable, WrapWithTrusted, Decrypt, Sign, SignRecover, Unwrap, Derive, Copyable]
    } else {
        &[
            Private,
            Sensitive,
            Extractable,
            WrapWithTrusted,
            Encrypt,
            Decrypt,
            Wrap,
            Unwrap,
            Derive,
            Sign,
            Verify,
            Copyable,
        ]
    };
    let mut forced = kind;
    forced.push(Attribute::Token(false));
    forced.extend(read(flags));
    forced.extend(read(&[AllowedMechanisms]));
    forced
}

/// A template's class and key type.
fn kind_of(template: &[Attribute]) -> Vec<Attribute> {
    template.iter().filter(|a| matches!(a, Attribute::Class(_) | Attribute::KeyType(_))).cloned().collect()
}

/// The mechanism that would make a key of `key_type` an oracle: a raw block cipher, raw RSA.
fn raw_mechanism(key_type: KeyType) -> Option<MechanismType> {
    match key_type {
        KeyType::AES => Some(MechanismType::AES_ECB),
        KeyType::RSA => Some(MechanismType::RSA_X_509),
        _ => None,
    }
}

/// Templates an attacker would unwrap a blob of a key like `forced` describes with: each
/// relaxes the forced attributes in one way that would let a key's value out, or add a use
/// (a raw cipher) that would.
fn relaxed_unwrap_templates(forced: &[Attribute]) -> Vec<Vec<Attribute>> {
    let key_type = forced.iter().find_map(|a| match a {
        Attribute::KeyType(kind) => Some(*kind),
        _ => None,
    });
    let minimal = || -> Vec<Attribute> {
        forced
            .iter()
            .filter(|a| matches!(a.attribute_type(), AttributeType::Class | AttributeType::KeyType))
            .cloned()
            .chain([Attribute::Token(false), Attribute::Private(true)])
            .collect()
    };
    let relaxed = |kind: AttributeType, replacement: Option<Attribute>| {
        let mut template: Vec<Attribute> = forced.iter().filter(|a| a.attribute_type() != kind).cloned().collect();
        template.extend(replacement);
        template
    };
    let mut templates = vec![
        minimal(),
        minimal().into_iter().chain([Attribute::Sensitive(false), Attribute::Extractable(true)]).collect(),
        // The forced attributes, plus raw-cipher uses and without the mechanism list.
        relaxed(AttributeType::AllowedMechanisms, Some(Attribute::Decrypt(true))),
    ];
    if let Some(raw) = key_type.and_then(raw_mechanism) {
        templates.push(relaxed(AttributeType::AllowedMechanisms, Some(Attribute::AllowedMechanisms(vec![raw]))));
    }
    for attribute in forced {
        let flipped = match attribute {
            Attribute::Sensitive(v) => Attribute::Sensitive(!v),
            Attribute::WrapWithTrusted(v) => Attribute::WrapWithTrusted(!v),
            Attribute::Wrap(v) => Attribute::Wrap(!v),
            Attribute::Unwrap(v) => Attribute::Unwrap(!v),
            Attribute::Derive(v) => Attribute::Derive(!v),
            Attribute::Sign(v) => Attribute::Sign(!v),
            Attribute::SignRecover(v) => Attribute::SignRecover(!v),
            Attribute::Decrypt(v) => Attribute::Decrypt(!v),
            Attribute::Copyable(v) => Attribute::Copyable(!v),
            _ => continue,
        };
        templates.push(relaxed(attribute.attribute_type(), Some(flipped)));
        templates.push(relaxed(attribute.attribute_type(), None));
    }
    for template in &mut templates {
        template.push(Attribute::Modifiable(false));
    }
    templates.push(forced.iter().cloned().chain([Attribute::Modifiable(true)]).collect());
    templates
}

/// Every way `copy` (a key the attacker obtained) gives its value away.
fn exports(session: &Session, copy: ObjectHandle, own: &[AttackerKey]) -> Vec<String> {
    let mut found = Vec::new();
    if value_readable(session, copy) {
        found.push("its value is readable".to_owned());
    }
    for key in own.iter().filter(|k| k.kind == KeyType::AES) {
        if session.wrap_key(&Mechanism::AesKeyWrapPad, key.handle, copy).is_ok() {
            found.push("it wraps under the attacker's own key".to_owned());
        }
    }
    for mechanism in [Mechanism::AesEcb, Mechanism::AesCbc([0; 16])] {
        if session.decrypt(&mechanism, copy, &[0u8; 32]).is_ok()
            || session.encrypt(&mechanism, copy, &[0u8; 32]).is_ok()
        {
            found.push(format!(
                "it is a raw block cipher ({:?}), an oracle that undoes any key wrap",
                mechanism.mechanism_type()
            ));
        }
    }
    // An RSA private key that signs raw (X.509) decrypts anything; one that decrypts PKCS#1
    // v1.5 is a padding oracle. A mechanism the key refuses fails at the Init call.
    let mut block = vec![0u8; 256];
    block[255] = 1;
    if session.sign(&Mechanism::RsaX509, copy, &block).is_ok() {
        found.push("it signs raw RSA, an oracle that decrypts anything".to_owned());
    }
    for mechanism in [Mechanism::RsaX509, Mechanism::RsaPkcs] {
        match session.decrypt(&mechanism, copy, &block) {
            Err(CkError::Pkcs11(_, Function::DecryptInit)) => {}
            _ => found.push(format!("it decrypts {:?}, a padding or decryption oracle", mechanism.mechanism_type())),
        }
    }
    found
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
        vec![Attribute::AllowedMechanisms(vec![MechanismType::RSA_X_509, MechanismType::RSA_PKCS])],
        vec![Attribute::Sign(true), Attribute::Decrypt(true)],
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
    // One key of each other kind: RSA signing and encryption, elliptic-curve signing, HMAC.
    for (spec, usage) in [
        (KeySpec::Rsa2048, KeyUsage::SignVerify),
        (KeySpec::Rsa2048, KeyUsage::EncryptDecrypt),
        (KeySpec::EccNistP256, KeyUsage::SignVerify),
        (KeySpec::Hmac256, KeyUsage::GenerateVerifyMac),
    ] {
        service.create_key_with(CreateKeyRequest::new("export attack").kind(spec, Some(usage))).wait().unwrap();
    }

    let oaep = PkcsOaepParams::new(MechanismType::SHA1, PkcsMgfType::MGF1_SHA1, PkcsOaepSource::empty());
    let mut exported = Vec::new();
    for token in CLUSTER {
        let (pkcs11, slot, session) = attacker_session(hsm.module(), token);
        let targets = envcrypt_keys(&session);
        let master_keys = targets.iter().filter(|(_, l)| l.starts_with("envcrypt/key/")).count();
        assert_eq!(master_keys, 8, "{token}: two keys of two versions each and four others, replicated: {targets:?}");
        let cluster_keys: Vec<ObjectHandle> =
            targets.iter().filter(|(_, l)| l.starts_with("envcrypt/cluster-wrap")).map(|(h, _)| *h).collect();
        assert_eq!(cluster_keys.len(), 5, "{token}: one cluster key per kind of key");
        let own = attacker_keys(&session);
        // What every kind of envcrypt key forces, to unwrap each blob as every other kind too.
        let every_kind: Vec<Vec<Attribute>> = targets.iter().map(|(target, _)| forced(&session, *target)).collect();
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
                // Wrapped under envcrypt's cluster key, then unwrapped into something that exports.
                for &cluster_key in &cluster_keys {
                    tried += 1;
                    let Ok(blob) = session.wrap_key(&mechanism, cluster_key, *target) else { continue };
                    if label.contains("cluster") {
                        leak(format!("the cluster key wraps itself ({kind})"));
                    }
                    let own_kind = kind_of(&forced(&session, *target));
                    for template in relaxed_unwrap_templates(&forced(&session, *target)) {
                        if let Ok(copy) = session.unwrap_key(&mechanism, cluster_key, &blob, &template) {
                            for how in exports(&session, copy, &own) {
                                leak(format!("unwrapped with {template:?} from the cluster key's {kind} wrap: {how}"));
                            }
                        }
                    }
                    for other in every_kind.iter().filter(|t| kind_of(t) != own_kind) {
                        let template: Vec<Attribute> =
                            other.iter().cloned().chain([Attribute::Modifiable(false)]).collect();
                        if session.unwrap_key(&mechanism, cluster_key, &blob, &template).is_ok() {
                            leak(format!("unwrapped from the cluster key's {kind} wrap as another kind: {template:?}"));
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
            // A raw cipher under any envcrypt key is an oracle that undoes its key wraps.
            for how in exports(&session, *target, &own).into_iter().filter(|how| how.contains("oracle")) {
                leak(how);
            }
        }
        assert!(tried > targets.len() * 4, "{token}: the attack ran ({tried} wraps tried)");
        drop(session);
    }
    assert!(exported.is_empty(), "a user-PIN holder exported envcrypt keys:\n{}", exported.join("\n"));

    // The keys still work for their owner after all that.
    let symmetric = service.list_keys().wait().unwrap().into_iter().find(|k| k.key_spec == KeySpec::SymmetricDefault);
    let key = KeyRef::parse(&symmetric.unwrap().arn).unwrap();
    service.generate_data_key(&key, DataKeySpec::Aes256, &context).wait().unwrap();
}
