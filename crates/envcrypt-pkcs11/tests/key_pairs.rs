//! Asymmetric and HMAC keys in a cluster of SoftHSM2 tokens: made in one token, copied to the
//! other under their kind's cluster key, and used from both. Signatures made in the tokens verify
//! with `openssl dgst -verify` and the public key GetPublicKey gives; MACs made by either token
//! agree; RSAES-OAEP decrypts in the tokens what openssl encrypts; and what SoftHSM2 cannot do
//! (RSAES-OAEP with SHA-256) is refused, not done some other way.

use std::process::Command;
use std::time::Duration;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use envcrypt::crypto::key_pair;
use envcrypt::kms::{
    CreateKeyRequest, EncryptionContext, KeyAdmin, KeyRef, KeyService, KeySpec, KeyUsage, MacAlgorithm, MacRequest,
    MessageType, RsaEncryptionAlgorithm, RsaEncryptionRequest, SignRequest, VerifyRequest,
};
use envcrypt_pkcs11::{init_cluster, Mechanisms, Pkcs11KeyService, Pkcs11Options};
use envcrypt_testkit::{SoftHsm, SO_PIN, USER_PIN};
use zeroize::Zeroizing;

const CLUSTER: [&str; 2] = ["az-a", "az-b"];

fn options(hsm: &SoftHsm) -> Pkcs11Options {
    let labels = CLUSTER.iter().map(|t| t.to_string()).collect();
    let mut options = Pkcs11Options::new(hsm.module(), labels, Zeroizing::new(USER_PIN.into()));
    options.cluster.retry_after = Duration::from_secs(3600);
    options
}

fn cluster(hsm: &SoftHsm) -> Pkcs11KeyService {
    init_cluster(&options(hsm).cluster, &Zeroizing::new(SO_PIN.into())).unwrap();
    Pkcs11KeyService::connect(options(hsm)).unwrap()
}

fn new_key(service: &Pkcs11KeyService, spec: KeySpec, usage: KeyUsage) -> KeyRef {
    let meta = service.create_key_with(CreateKeyRequest::new("hsm key pair").kind(spec, Some(usage))).wait().unwrap();
    assert_eq!((meta.key_spec, meta.key_usage), (spec, usage));
    KeyRef::parse(&meta.arn).unwrap()
}

fn pem(der: &[u8]) -> String {
    use base64::Engine;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", lines.join("\n"))
}

fn openssl(args: &[&str]) -> std::process::Output {
    Command::new("openssl").args(args).output().unwrap()
}

#[test]
fn signatures_made_in_either_token_verify_with_openssl_and_tampering_is_refused() {
    let hsm = SoftHsm::new(&CLUSTER);
    let service = cluster(&hsm);
    let signing = service.signing().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let message = b"release 1.4.2: checksums of every artifact".as_slice();
    let message_path = dir.path().join("message");
    std::fs::write(&message_path, message).unwrap();
    let mut checked = 0;
    for spec in
        [KeySpec::Rsa2048, KeySpec::EccNistP256, KeySpec::EccNistP384, KeySpec::EccNistP521, KeySpec::EccSecgP256k1]
    {
        let key = new_key(&service, spec, KeyUsage::SignVerify);
        let public = signing.get_public_key(&key).wait().unwrap();
        assert_eq!(public.signing_algorithms(), spec.signing_algorithms());
        let pem_path = dir.path().join(format!("{spec}.pem"));
        std::fs::write(&pem_path, pem(&public.der)).unwrap();
        for &algorithm in spec.signing_algorithms() {
            // Two signatures: the cluster sends consecutive calls to its two tokens in turn.
            for _ in 0..2 {
                let request = SignRequest { key: &key, message, message_type: MessageType::Raw, algorithm };
                let signature = signing.sign(request).wait().unwrap().signature;
                signing.verify(VerifyRequest { signed: request, signature: &signature }).wait().unwrap();
                let digest = key_pair::digest(algorithm, message);
                let by_digest = SignRequest { message: &digest, message_type: MessageType::Digest, ..request };
                let again = signing.sign(by_digest).wait().unwrap().signature;
                signing.verify(VerifyRequest { signed: request, signature: &again }).wait().unwrap();

                let mut tampered = signature.clone();
                let last = tampered.len() - 2;
                tampered[last] ^= 1;
                let refused = signing.verify(VerifyRequest { signed: request, signature: &tampered }).wait();
                assert_eq!(refused.unwrap_err().kms_name(), "KMSInvalidSignatureException", "{spec} {algorithm}");

                let sig_path = dir.path().join("signature");
                std::fs::write(&sig_path, &signature).unwrap();
                let digest_flag = format!("-sha{}", algorithm.digest_len() * 8);
                let mut args = vec!["dgst", digest_flag.as_str()];
                if algorithm.as_str().starts_with("RSASSA_PSS") {
                    args.extend(["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"]);
                }
                let (pem_arg, sig_arg, msg_arg) =
                    (pem_path.to_str().unwrap(), sig_path.to_str().unwrap(), message_path.to_str().unwrap());
                args.extend(["-verify", pem_arg, "-signature", sig_arg, msg_arg]);
                let out = openssl(&args);
                assert!(out.status.success(), "openssl {spec} {algorithm}: {}", String::from_utf8_lossy(&out.stderr));
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 2 * 10, "every spec and algorithm, from both tokens");
}

#[test]
fn macs_made_in_either_token_agree_and_a_wrong_mac_is_refused() {
    let hsm = SoftHsm::new(&CLUSTER);
    let service = cluster(&hsm);
    let macs = service.macs().unwrap();
    let message = b"session token 8f1c".as_slice();
    for (spec, algorithm) in [
        (KeySpec::Hmac224, MacAlgorithm::HmacSha224),
        (KeySpec::Hmac256, MacAlgorithm::HmacSha256),
        (KeySpec::Hmac384, MacAlgorithm::HmacSha384),
        (KeySpec::Hmac512, MacAlgorithm::HmacSha512),
    ] {
        let key = new_key(&service, spec, KeyUsage::GenerateVerifyMac);
        let request = MacRequest { key: &key, message, algorithm };
        let first = macs.generate_mac(request).wait().unwrap().mac;
        let second = macs.generate_mac(request).wait().unwrap().mac;
        // The same MAC whichever token answers (key_export checks every token holds the key).
        assert_eq!(first, second, "{spec}");
        assert_eq!(first.len(), key_pair::hmac_key_len(spec), "{spec}");
        macs.verify_mac(request, &first).wait().unwrap();
        macs.verify_mac(request, &first).wait().unwrap();
        let mut wrong = first.clone();
        wrong[0] ^= 1;
        for bad in [&wrong[..], &first[..first.len() - 1]] {
            let refused = macs.verify_mac(request, bad).wait().unwrap_err();
            assert_eq!(refused.kms_name(), "KMSInvalidMacException", "{spec}");
        }
        let other = MacRequest { message: b"session token 8f1d", ..request };
        assert_eq!(macs.verify_mac(other, &first).wait().unwrap_err().kms_name(), "KMSInvalidMacException");
    }
}

#[test]
fn rsa_oaep_sha1_decrypts_in_the_tokens_and_sha256_is_refused_as_softhsm2_lacks_it() {
    let hsm = SoftHsm::new(&CLUSTER);
    let service = cluster(&hsm);
    let rsa = service.rsa_encryption().unwrap();
    let key = new_key(&service, KeySpec::Rsa2048, KeyUsage::EncryptDecrypt);
    let plaintext = b"a wrapped session key".as_slice();
    let sha1 = |data| RsaEncryptionRequest { key: &key, data, algorithm: RsaEncryptionAlgorithm::RsaesOaepSha1 };
    let encrypted = rsa.encrypt_rsa(sha1(plaintext)).wait().unwrap().blob;
    for _ in 0..2 {
        assert_eq!(rsa.decrypt_rsa(sha1(&encrypted)).wait().unwrap().plaintext.expose_secret(), plaintext);
    }

    // What openssl encrypts with the exported public key decrypts in the tokens.
    let dir = tempfile::tempdir().unwrap();
    let public = service.signing().unwrap().get_public_key(&key).wait().unwrap();
    assert_eq!(public.encryption_algorithms(), ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]);
    std::fs::write(dir.path().join("public.pem"), pem(&public.der)).unwrap();
    std::fs::write(dir.path().join("plaintext"), plaintext).unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let out = openssl(&[
        "pkeyutl",
        "-encrypt",
        "-pubin",
        "-inkey",
        &path("public.pem"),
        "-pkeyopt",
        "rsa_padding_mode:oaep",
        "-in",
        &path("plaintext"),
        "-out",
        &path("encrypted"),
    ]);
    assert!(out.status.success(), "openssl: {}", String::from_utf8_lossy(&out.stderr));
    let by_openssl = std::fs::read(path("encrypted")).unwrap();
    assert_eq!(rsa.decrypt_rsa(sha1(&by_openssl)).wait().unwrap().plaintext.expose_secret(), plaintext);

    let mut altered = encrypted.clone();
    altered[10] ^= 1;
    assert_eq!(rsa.decrypt_rsa(sha1(&altered)).wait().unwrap_err().kms_name(), "InvalidCiphertextException");
    let too_long = vec![7u8; 256 - 2 * 20 - 1];
    assert_eq!(rsa.encrypt_rsa(sha1(&too_long)).wait().unwrap_err().kms_name(), "ValidationException");

    let sha256 =
        RsaEncryptionRequest { key: &key, data: plaintext, algorithm: RsaEncryptionAlgorithm::RsaesOaepSha256 };
    for refused in [rsa.encrypt_rsa(sha256).wait().unwrap_err(), rsa.decrypt_rsa(sha256).wait().unwrap_err()] {
        assert_eq!(refused.kms_name(), "UnsupportedOperationException", "{refused}");
        assert!(refused.to_string().contains("SoftHSM2's RSAES-OAEP takes SHA-1 only"), "{refused}");
    }
    // The refusal is SoftHSM2's own: told that the tokens take SHA-256, envcrypt asks, and the
    // token refuses the mechanism's parameters.
    drop(service);
    let mut told = options(&hsm);
    told.cluster.mechanisms = Mechanisms { oaep_sha256: true, ..Mechanisms::softhsm() };
    let service = Pkcs11KeyService::connect(told).unwrap();
    let rsa = service.rsa_encryption().unwrap();
    let refused = rsa.decrypt_rsa(RsaEncryptionRequest { data: &encrypted, ..sha256 }).wait().unwrap_err();
    assert_eq!(refused.kms_name(), "UnsupportedOperationException", "{refused}");
    assert!(refused.to_string().contains("refused the request: DecryptInit"), "{refused}");
}

#[test]
fn data_key_pairs_are_sealed_under_a_symmetric_key_in_the_tokens() {
    let hsm = SoftHsm::new(&CLUSTER);
    let service = cluster(&hsm);
    let key = KeyRef::parse(&service.create_key("data key pairs").wait().unwrap().arn).unwrap();
    let context: EncryptionContext = [("tenant".to_owned(), "t-7".to_owned())].into_iter().collect();
    let pairs = service.data_key_pairs().unwrap();
    for spec in [KeySpec::EccNistP256, KeySpec::Rsa2048] {
        let pair = pairs.generate_data_key_pair(&key, spec, &context).wait().unwrap();
        let private_key = pair.private_key_plaintext.as_ref().unwrap().expose_secret().to_vec();
        assert_eq!(key_pair::public_key(spec, &private_key).unwrap(), pair.public_key);
        let opened = service.decrypt(&pair.private_key_ciphertext_blob, &context, None).wait().unwrap();
        assert_eq!(opened.plaintext.expose_secret(), &private_key[..]);
        let wrong: EncryptionContext = [("tenant".to_owned(), "t-8".to_owned())].into_iter().collect();
        let refused = service.decrypt(&pair.private_key_ciphertext_blob, &wrong, None).wait().unwrap_err();
        assert_eq!(refused.kms_name(), "InvalidCiphertextException");
    }
    let signing_key = new_key(&service, KeySpec::EccNistP256, KeyUsage::SignVerify);
    let refused = pairs.generate_data_key_pair(&signing_key, KeySpec::EccNistP256, &context).wait().unwrap_err();
    assert_eq!(refused.kms_name(), "InvalidKeyUsageException", "{refused}");
}

/// A session of the module on every token, logged in as `user` with `pin` (the user may be
/// logged in already: PKCS#11 logins are per process).
fn sessions(hsm: &SoftHsm, user: UserType, pin: &str) -> (Pkcs11, Vec<Session>) {
    let pkcs11 = Pkcs11::new(hsm.module()).unwrap();
    match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => panic!("initialize: {e}"),
    }
    let mut sessions = Vec::new();
    for slot in pkcs11.get_slots_with_initialized_token().unwrap() {
        let session = pkcs11.open_rw_session(slot).unwrap();
        match session.login(user, Some(&AuthPin::new(pin.into()))) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => panic!("login: {e}"),
        }
        sessions.push(session);
    }
    (pkcs11, sessions)
}

/// Removes `label`'s cluster key from every token, as a cluster initialized by an envcrypt that
/// made only the symmetric one would be.
fn remove_cluster_key(hsm: &SoftHsm, label: &str) {
    let (_pkcs11, sessions) = sessions(hsm, UserType::So, SO_PIN);
    for session in sessions {
        let template = [Attribute::Class(ObjectClass::SECRET_KEY), Attribute::Label(label.as_bytes().to_vec())];
        for handle in session.find_objects(&template).unwrap() {
            session.destroy_object(handle).unwrap();
        }
        session.logout().unwrap();
    }
}

/// Gives every token a symmetric cluster key as an earlier envcrypt made it, which wraps any key
/// that cannot wrap (HMAC keys too), in place of the one `init_cluster` made.
fn plant_legacy_symmetric_cluster_key(hsm: &SoftHsm) {
    remove_cluster_key(hsm, "envcrypt/cluster-wrap");
    let (_pkcs11, sessions) = sessions(hsm, UserType::So, SO_PIN);
    for session in sessions {
        let template = [
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Label(b"envcrypt/cluster-wrap".to_vec()),
            Attribute::Trusted(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(true),
            Attribute::WrapWithTrusted(true),
            Attribute::Wrap(true),
            Attribute::Unwrap(true),
            Attribute::ValueLen(32.into()),
        ];
        session.generate_key(&Mechanism::AesKeyGen, &template).unwrap();
        session.logout().unwrap();
    }
}

/// Rewrites key `key_id`'s metadata object on every token, as any user-PIN holder can.
fn edit_metadata(hsm: &SoftHsm, key_id: &str, edit: impl Fn(&mut serde_json::Value)) {
    let (_pkcs11, sessions) = sessions(hsm, UserType::User, USER_PIN);
    let label = format!("envcrypt/meta/{key_id}").into_bytes();
    for session in sessions {
        for handle in session.find_objects(&[Attribute::Label(label.clone())]).unwrap() {
            let value = session.get_attributes(handle, &[AttributeType::Value]).unwrap();
            let Some(Attribute::Value(value)) = value.into_iter().next() else { panic!("a metadata value") };
            let mut meta: serde_json::Value = serde_json::from_slice(&value).unwrap();
            edit(&mut meta);
            // As envcrypt itself rewrites it: a new object in place of the old.
            session
                .create_object(&[
                    Attribute::Class(ObjectClass::DATA),
                    Attribute::Token(true),
                    Attribute::Private(true),
                    Attribute::Application(b"envcrypt".to_vec()),
                    Attribute::Label(label.clone()),
                    Attribute::Value(serde_json::to_vec(&meta).unwrap()),
                ])
                .unwrap();
            session.destroy_object(handle).unwrap();
        }
    }
}

fn key_id(key: &KeyRef) -> String {
    key.to_string().rsplit('/').next().unwrap().to_owned()
}

/// The claim "metadata a PIN holder edits is caught, never trusted": a public key swapped for
/// another key's, an HMAC key relabelled symmetric, metadata naming another key, and an
/// impossible version count are each refused, and the cluster stays up for every other key.
#[test]
fn metadata_a_pin_holder_edits_is_refused_not_trusted() {
    let hsm = SoftHsm::new(&["single"]);
    let mut options = Pkcs11Options::new(hsm.module(), vec!["single".into()], Zeroizing::new(USER_PIN.into()));
    options.cluster.retry_after = Duration::from_secs(3600);
    let service = Pkcs11KeyService::connect(options).unwrap();
    let signing = service.signing().unwrap();
    let (key, theirs) = (
        new_key(&service, KeySpec::EccNistP256, KeyUsage::SignVerify),
        new_key(&service, KeySpec::EccNistP256, KeyUsage::SignVerify),
    );
    let rsa = new_key(&service, KeySpec::Rsa2048, KeyUsage::EncryptDecrypt);
    let rsa_signing = new_key(&service, KeySpec::Rsa2048, KeyUsage::SignVerify);
    let hmac = new_key(&service, KeySpec::Hmac256, KeyUsage::GenerateVerifyMac);
    let aes = KeyRef::parse(&service.create_key("symmetric").wait().unwrap().arn).unwrap();
    let message = b"pay mallory 1000000".as_slice();
    let request = SignRequest {
        key: &theirs,
        message,
        message_type: MessageType::Raw,
        algorithm: envcrypt::kms::SigningAlgorithm::EcdsaSha256,
    };
    let forged = signing.sign(request).wait().unwrap().signature;
    signing
        .verify(VerifyRequest { signed: SignRequest { key: &key, ..request }, signature: &forged })
        .wait()
        .unwrap_err();

    // Their public key in place of the key's: Verify and GetPublicKey refuse; so for RSA.
    let public_of = |k: &KeyRef| hex::encode(signing.get_public_key(k).wait().unwrap().der);
    let their_public = public_of(&theirs);
    edit_metadata(&hsm, &key_id(&key), |meta| meta["public_key"] = their_public.clone().into());
    let refused = signing.verify(VerifyRequest { signed: SignRequest { key: &key, ..request }, signature: &forged });
    let refused = refused.wait().unwrap_err();
    assert_eq!(refused.kms_name(), "KMSInternalException", "{refused}");
    assert!(refused.to_string().contains("is not the key pair's in the tokens"), "{refused}");
    assert_eq!(signing.get_public_key(&key).wait().unwrap_err().kms_name(), "KMSInternalException");
    edit_metadata(&hsm, &key_id(&rsa), |meta| meta["public_key"] = their_public.clone().into());
    let encrypt = RsaEncryptionRequest { key: &rsa, data: b"secret", algorithm: RsaEncryptionAlgorithm::RsaesOaepSha1 };
    assert_eq!(
        service.rsa_encryption().unwrap().encrypt_rsa(encrypt).wait().unwrap_err().kms_name(),
        "KMSInternalException"
    );

    // A key relabelled as another spec after this process checked its public key: checked again.
    edit_metadata(&hsm, &key_id(&theirs), |meta| meta["key_spec"] = "ECC_SECG_P256K1".into());
    let refused = signing.get_public_key(&theirs).wait().unwrap_err();
    assert_eq!(refused.kms_name(), "KMSInternalException", "{refused}");
    assert_eq!(
        signing.sign(SignRequest { key: &theirs, ..request }).wait().unwrap_err().kms_name(),
        "KMSInternalException"
    );
    edit_metadata(&hsm, &key_id(&theirs), |meta| meta["key_spec"] = "ECC_NIST_P256".into());

    // An RSA signing key relabelled for encryption finds no encryption key.
    edit_metadata(&hsm, &key_id(&rsa_signing), |meta| meta["key_usage"] = "ENCRYPT_DECRYPT".into());
    let relabelled = RsaEncryptionRequest { key: &rsa_signing, ..encrypt };
    let refused = service.rsa_encryption().unwrap().encrypt_rsa(relabelled).wait().unwrap_err();
    assert_eq!(refused.kms_name(), "NotFoundException", "{refused}");

    // An HMAC key relabelled symmetric finds no AES key, and no token is blamed for it.
    edit_metadata(&hsm, &key_id(&hmac), |meta| {
        meta.as_object_mut().unwrap().remove("key_spec");
        meta["key_usage"] = "ENCRYPT_DECRYPT".into();
    });
    let refused = service.encrypt(&hmac, b"data", &EncryptionContext::new()).wait().unwrap_err();
    assert_eq!(refused.kms_name(), "NotFoundException", "{refused}");
    assert!(service.status().iter().all(|t| t.healthy), "{:?}", service.status());
    service.encrypt(&aes, b"data", &EncryptionContext::new()).wait().unwrap();

    // Metadata naming another key, or more versions than rotation makes.
    edit_metadata(&hsm, &key_id(&theirs), |meta| meta["key_id"] = key_id(&aes).into());
    assert_eq!(service.describe_key(&theirs).wait().unwrap_err().kms_name(), "KMSInternalException");
    edit_metadata(&hsm, &key_id(&aes), |meta| meta["versions"] = u32::MAX.into());
    let refused = service.encrypt(&aes, b"data", &EncryptionContext::new()).wait().unwrap_err();
    assert!(refused.to_string().contains("versions"), "{refused}");
    // ListKeys leaves the damaged keys out, and lists the others.
    let listed: Vec<String> = service.list_keys().wait().unwrap().into_iter().map(|k| k.arn).collect();
    assert!(!listed.contains(&aes.to_string()) && listed.contains(&rsa.to_string()), "{listed:?}");
}

#[test]
fn a_single_token_with_an_earlier_symmetric_cluster_key_makes_no_hmac_key() {
    let hsm = SoftHsm::new(&["single"]);
    plant_legacy_symmetric_cluster_key(&hsm);
    let options = Pkcs11Options::new(hsm.module(), vec!["single".into()], Zeroizing::new(USER_PIN.into()));
    let service = Pkcs11KeyService::connect(options).unwrap();
    let request = CreateKeyRequest::new("tokens").kind(KeySpec::Hmac256, Some(KeyUsage::GenerateVerifyMac));
    let refused = service.create_key_with(request).wait().unwrap_err();
    assert!(refused.to_string().contains("made by an earlier envcrypt"), "{refused}");
    new_key(&service, KeySpec::EccNistP256, KeyUsage::SignVerify);
}

#[test]
fn an_earlier_symmetric_cluster_key_that_would_copy_hmac_keys_is_replaced_first() {
    let hsm = SoftHsm::new(&CLUSTER);
    init_cluster(&options(&hsm).cluster, &Zeroizing::new(SO_PIN.into())).unwrap();
    plant_legacy_symmetric_cluster_key(&hsm);
    let service = Pkcs11KeyService::connect(options(&hsm)).unwrap();
    let request = CreateKeyRequest::new("tokens").kind(KeySpec::Hmac256, Some(KeyUsage::GenerateVerifyMac));
    let refused = service.create_key_with(request).wait().unwrap_err();
    assert_eq!(refused.kms_name(), envcrypt_pkcs11::NOT_INITIALIZED, "{refused}");
    assert!(refused.to_string().contains("made by an earlier envcrypt"), "{refused}");

    drop(service);
    let report = init_cluster(&options(&hsm).cluster, &Zeroizing::new(SO_PIN.into())).unwrap();
    let done: Vec<&str> = report.iter().map(|r| r.cluster_key).collect();
    assert_eq!(done, ["replaced", "replaced"], "the earlier key replaced on both tokens");
    let service = Pkcs11KeyService::connect(options(&hsm)).unwrap();
    new_key(&service, KeySpec::Hmac256, KeyUsage::GenerateVerifyMac);
}

#[test]
fn a_cluster_initialized_before_key_pairs_existed_is_told_to_run_the_init_again() {
    let hsm = SoftHsm::new(&CLUSTER);
    init_cluster(&options(&hsm).cluster, &Zeroizing::new(SO_PIN.into())).unwrap();
    remove_cluster_key(&hsm, "envcrypt/cluster-wrap/ec-sign");
    let service = Pkcs11KeyService::connect(options(&hsm)).unwrap();
    let request = CreateKeyRequest::new("signing").kind(KeySpec::EccNistP256, Some(KeyUsage::SignVerify));
    let refused = service.create_key_with(request).wait().unwrap_err();
    assert_eq!(refused.kms_name(), envcrypt_pkcs11::NOT_INITIALIZED, "{refused}");
    assert!(refused.to_string().contains("envcrypt/cluster-wrap/ec-sign"), "{refused}");
    assert!(refused.to_string().contains("envcrypt hsm init-cluster"), "{refused}");
    assert!(service.status().iter().all(|t| t.healthy), "no token is blamed: {:?}", service.status());
    for token in service.status() {
        assert_eq!(token.missing_cluster_keys, ["envcrypt/cluster-wrap/ec-sign"], "`hsm status` says what is missing");
    }
    assert_eq!(service.list_keys().wait().unwrap().len(), 0, "nothing is left of the refused key");

    // The security officer logs in where the user is logged out (PKCS#11 logins are per process).
    drop(service);
    let report = init_cluster(&options(&hsm).cluster, &Zeroizing::new(SO_PIN.into())).unwrap();
    let done: Vec<&str> = report.iter().map(|r| r.cluster_key).collect();
    assert_eq!(done, ["created", "copied"]);
    let service = Pkcs11KeyService::connect(options(&hsm)).unwrap();
    assert!(service.status().iter().all(|t| t.missing_cluster_keys.is_empty()), "{:?}", service.status());
    new_key(&service, KeySpec::EccNistP256, KeyUsage::SignVerify);
}
