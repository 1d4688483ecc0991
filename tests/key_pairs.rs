//! Asymmetric and HMAC keys on the local store, checked against independent implementations:
//! signatures verify with `openssl dgst -verify` and Python's `cryptography` given the key
//! GetPublicKey exports (the HMAC primitive is checked against RFC 4231 in its unit tests);
//! the Wycheproof ECDSA and RSA-PSS verification vectors run through the check Verify makes;
//! and the errors KMS documents.

use std::process::Command;

use envcrypt::crypto::key_pair;
use envcrypt::kms::local::{LocalKeyService, StoreOptions};
use envcrypt::kms::{
    CreateKeyRequest, KeyAdmin, KeyRef, KeyService, KeySpec, KeyUsage, MacAlgorithm, MacRequest, MessageType,
    SignRequest, SigningAlgorithm, VerifyRequest,
};
use envcrypt_testkit::venv_bin;

fn store(dir: &tempfile::TempDir) -> LocalKeyService {
    LocalKeyService::open(StoreOptions::new(dir.path().join("store"))).unwrap()
}

/// Lets every principal do anything, so that the errors seen are the key's, not the policy's.
const OPEN_POLICY: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}]}"#;

fn new_key(store: &LocalKeyService, spec: KeySpec, usage: KeyUsage) -> KeyRef {
    let request = CreateKeyRequest::new("key pair test").kind(spec, Some(usage)).policy(OPEN_POLICY, false);
    let meta = store.create_key_with(request).wait().unwrap();
    assert_eq!((meta.key_spec, meta.key_usage), (spec, usage));
    KeyRef::parse(&meta.arn).unwrap()
}

fn pem(der: &[u8]) -> String {
    use base64::Engine;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", lines.join("\n"))
}

/// The openssl options that verify `algorithm`.
fn openssl_options(algorithm: SigningAlgorithm) -> Vec<&'static str> {
    use SigningAlgorithm::*;
    let digest = match algorithm.digest_len() {
        32 => "-sha256",
        48 => "-sha384",
        _ => "-sha512",
    };
    match algorithm {
        RsassaPssSha256 | RsassaPssSha384 | RsassaPssSha512 => {
            vec![digest, "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"]
        }
        _ => vec![digest],
    }
}

#[test]
fn signatures_verify_with_openssl_and_python_cryptography_and_tampering_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let message = b"release 1.4.2: checksums of every artifact".as_slice();
    let signing = store.signing().unwrap();
    let mut script = String::from(
        "import sys\nfrom cryptography.hazmat.primitives import hashes, serialization\n\
         from cryptography.hazmat.primitives.asymmetric import ec, padding\ncases = []\n",
    );
    for spec in
        [KeySpec::Rsa2048, KeySpec::EccNistP256, KeySpec::EccNistP384, KeySpec::EccNistP521, KeySpec::EccSecgP256k1]
    {
        let key = new_key(&store, spec, KeyUsage::SignVerify);
        let public = signing.get_public_key(&key).wait().unwrap();
        assert_eq!(public.signing_algorithms(), spec.signing_algorithms());
        let pem_path = dir.path().join(format!("{spec}.pem"));
        std::fs::write(&pem_path, pem(&public.der)).unwrap();
        std::fs::write(dir.path().join("message"), message).unwrap();
        for &algorithm in spec.signing_algorithms() {
            let request = SignRequest { key: &key, message, message_type: MessageType::Raw, algorithm };
            let signature = signing.sign(request).wait().unwrap().signature;
            signing.verify(VerifyRequest { signed: request, signature: &signature }).wait().unwrap();

            // The same signature over the digest, given as DIGEST.
            let digest = key_pair::digest(algorithm, message);
            let by_digest = SignRequest { message: &digest, message_type: MessageType::Digest, ..request };
            signing.verify(VerifyRequest { signed: by_digest, signature: &signature }).wait().unwrap();

            let mut tampered = signature.clone();
            let last = tampered.len() - 2;
            tampered[last] ^= 1;
            let refused = signing.verify(VerifyRequest { signed: request, signature: &tampered }).wait().unwrap_err();
            assert_eq!(refused.kms_name(), "KMSInvalidSignatureException", "{spec} {algorithm}");
            let other = SignRequest { message: b"release 1.4.3", ..request };
            let refused = signing.verify(VerifyRequest { signed: other, signature: &signature }).wait().unwrap_err();
            assert_eq!(refused.kms_name(), "KMSInvalidSignatureException", "{spec} {algorithm}");

            // secp256k1 is not in every openssl build's default provider; cryptography checks it.
            if spec != KeySpec::EccSecgP256k1 {
                let sig_path = dir.path().join(format!("{spec}-{algorithm}.sig"));
                std::fs::write(&sig_path, &signature).unwrap();
                let out = Command::new("openssl")
                    .arg("dgst")
                    .args(openssl_options(algorithm))
                    .arg("-verify")
                    .arg(&pem_path)
                    .arg("-signature")
                    .arg(&sig_path)
                    .arg(dir.path().join("message"))
                    .output()
                    .unwrap();
                assert!(out.status.success(), "openssl {spec} {algorithm}: {}", String::from_utf8_lossy(&out.stderr));
            }
            script.push_str(&format!(
                "cases.append(({:?}, bytes.fromhex({:?}), {:?}))\n",
                public.der.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                hex::encode(&signature),
                algorithm.as_str()
            ));
        }
    }
    script.push_str(&format!(
        "message = bytes.fromhex({:?})\n\
         hashes_by = {{32: hashes.SHA256, 48: hashes.SHA384, 64: hashes.SHA512}}\n\
         for der, signature, algorithm in cases:\n\
         \x20   key = serialization.load_der_public_key(bytes.fromhex(der))\n\
         \x20   h = {{'256': hashes.SHA256, '384': hashes.SHA384, '512': hashes.SHA512}}[algorithm[-3:]]()\n\
         \x20   if algorithm.startswith('ECDSA'):\n\
         \x20       key.verify(signature, message, ec.ECDSA(h))\n\
         \x20   elif algorithm.startswith('RSASSA_PSS'):\n\
         \x20       key.verify(signature, message, padding.PSS(padding.MGF1(h), h.digest_size), h)\n\
         \x20   else:\n\
         \x20       key.verify(signature, message, padding.PKCS1v15(), h)\n\
         print(len(cases))\n",
        hex::encode(message)
    ));
    let out = Command::new(venv_bin("python")).arg("-c").arg(&script).output().unwrap();
    assert!(out.status.success(), "cryptography: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "10", "every case checked");
}

#[test]
fn macs_verify_and_a_wrong_or_short_mac_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let macs = store.macs().unwrap();
    let message = b"user=42;role=reader".as_slice();
    for (spec, algorithm) in [
        (KeySpec::Hmac224, MacAlgorithm::HmacSha224),
        (KeySpec::Hmac256, MacAlgorithm::HmacSha256),
        (KeySpec::Hmac384, MacAlgorithm::HmacSha384),
        (KeySpec::Hmac512, MacAlgorithm::HmacSha512),
    ] {
        let key = new_key(&store, spec, KeyUsage::GenerateVerifyMac);
        let request = MacRequest { key: &key, message, algorithm };
        let mac = macs.generate_mac(request).wait().unwrap().mac;
        assert_eq!(mac, macs.generate_mac(request).wait().unwrap().mac, "deterministic");
        macs.verify_mac(request, &mac).wait().unwrap();
        let mut wrong = mac.clone();
        wrong[0] ^= 0x80;
        assert_eq!(macs.verify_mac(request, &wrong).wait().unwrap_err().kms_name(), "KMSInvalidMacException");
        assert_eq!(macs.verify_mac(request, &mac[1..]).wait().unwrap_err().kms_name(), "KMSInvalidMacException");
        let other = MacRequest { message: b"user=42;role=admin", ..request };
        assert_eq!(macs.verify_mac(other, &mac).wait().unwrap_err().kms_name(), "KMSInvalidMacException");
        let wrong_algorithm = MacRequest { algorithm: MacAlgorithm::HmacSha256, ..request };
        if algorithm != MacAlgorithm::HmacSha256 {
            let err = macs.generate_mac(wrong_algorithm).wait().unwrap_err();
            assert_eq!(err.kms_name(), "InvalidKeyUsageException");
        }
    }
}

#[test]
fn kms_errors_for_wrong_usage_lengths_states_and_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let signing = store.signing().unwrap();
    let signer = new_key(&store, KeySpec::EccNistP256, KeyUsage::SignVerify);
    let symmetric = new_key(&store, KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt);
    let mac_key = new_key(&store, KeySpec::Hmac256, KeyUsage::GenerateVerifyMac);
    let sign = |key, message: &[u8], message_type, algorithm| {
        signing
            .sign(SignRequest { key, message, message_type, algorithm })
            .wait()
            .map(drop)
            .map_err(|e| e.kms_name().to_owned())
    };
    let raw = MessageType::Raw;
    assert_eq!(sign(&signer, &[0; 4097], raw, SigningAlgorithm::EcdsaSha256), Err("ValidationException".into()));
    assert_eq!(sign(&signer, &[], raw, SigningAlgorithm::EcdsaSha256), Err("ValidationException".into()));
    let digest = MessageType::Digest;
    assert_eq!(sign(&signer, &[0; 31], digest, SigningAlgorithm::EcdsaSha256), Err("ValidationException".into()));
    assert_eq!(sign(&signer, &[0; 32], digest, SigningAlgorithm::EcdsaSha256), Ok(()));
    assert_eq!(sign(&signer, b"m", raw, SigningAlgorithm::EcdsaSha384), Err("InvalidKeyUsageException".into()));
    assert_eq!(sign(&signer, b"m", raw, SigningAlgorithm::RsassaPssSha256), Err("InvalidKeyUsageException".into()));
    assert_eq!(sign(&symmetric, b"m", raw, SigningAlgorithm::EcdsaSha256), Err("InvalidKeyUsageException".into()));
    assert_eq!(sign(&mac_key, b"m", raw, SigningAlgorithm::EcdsaSha256), Err("InvalidKeyUsageException".into()));

    // A signing or HMAC key is not an encryption key, and has no public key or rotation where
    // KMS has none.
    let context = Default::default();
    assert_eq!(store.encrypt(&signer, b"x", &context).wait().unwrap_err().kms_name(), "InvalidKeyUsageException");
    assert_eq!(
        store.generate_data_key(&mac_key, envcrypt::kms::DataKeySpec::Aes256, &context).wait().unwrap_err().kms_name(),
        "InvalidKeyUsageException"
    );
    let err = signing.get_public_key(&mac_key).wait().unwrap_err();
    assert_eq!(err.kms_name(), "UnsupportedOperationException");
    assert_eq!(store.rotate_key(&signer).wait().unwrap_err().kms_name(), "UnsupportedOperationException");
    let rsa_encryption = new_key(&store, KeySpec::Rsa2048, KeyUsage::EncryptDecrypt);
    let public = signing.get_public_key(&rsa_encryption).wait().unwrap();
    assert!(public.signing_algorithms().is_empty());
    assert_eq!(public.encryption_algorithms(), ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]);
    let refused = store
        .create_key_with(CreateKeyRequest::new("").kind(KeySpec::EccNistP256, Some(KeyUsage::EncryptDecrypt)))
        .wait()
        .unwrap_err();
    assert_eq!(refused.kms_name(), "ValidationException");

    // A grant may name only what its key can do.
    let grant = |key, operations: &[envcrypt::kms::GrantOperation]| {
        let request = envcrypt::kms::CreateGrantRequest {
            key,
            grantee_principal: "app",
            operations,
            retiring_principal: None,
            constraints: None,
            name: None,
        };
        store.governance().unwrap().create_grant(request).wait().map(drop).map_err(|e| e.kms_name().to_owned())
    };
    use envcrypt::kms::GrantOperation::{Decrypt, GenerateMac, Sign, Verify};
    assert_eq!(grant(&symmetric, &[Sign]), Err("ValidationException".into()));
    assert_eq!(grant(&signer, &[Decrypt]), Err("ValidationException".into()));
    assert_eq!(grant(&mac_key, &[Sign]), Err("ValidationException".into()));
    assert_eq!(grant(&signer, &[Sign, Verify]), Ok(()));
    assert_eq!(grant(&mac_key, &[GenerateMac]), Ok(()));

    store.disable_key(&signer).wait().unwrap();
    assert_eq!(sign(&signer, b"m", raw, SigningAlgorithm::EcdsaSha256), Err("DisabledException".into()));
}

/// The Wycheproof cases whose outcome is fixed (valid or invalid; "acceptable" ones may go
/// either way) through `key_pair::verify_digest`, the check Verify makes.
fn run_wycheproof(
    spec: KeySpec,
    algorithm: SigningAlgorithm,
    groups: impl Iterator<Item = (Vec<u8>, Vec<(Vec<u8>, Vec<u8>, wycheproof::TestResult, usize)>)>,
) -> usize {
    let mut checked = 0;
    for (public_key, tests) in groups {
        for (message, signature, result, tc_id) in tests {
            let digest = key_pair::digest(algorithm, &message);
            let verified = key_pair::verify_digest(spec, &public_key, algorithm, &digest, &signature);
            match result {
                wycheproof::TestResult::Valid => assert_eq!(verified, Ok(true), "{spec} tc {tc_id} must verify"),
                wycheproof::TestResult::Invalid => assert_ne!(verified, Ok(true), "{spec} tc {tc_id} must not verify"),
                wycheproof::TestResult::Acceptable => {}
            }
            checked += 1;
        }
    }
    checked
}

#[test]
fn wycheproof_ecdsa_verification() {
    use wycheproof::ecdsa::{TestName, TestSet};
    for (name, spec, algorithm) in [
        (TestName::EcdsaSecp256r1Sha256, KeySpec::EccNistP256, SigningAlgorithm::EcdsaSha256),
        (TestName::EcdsaSecp384r1Sha384, KeySpec::EccNistP384, SigningAlgorithm::EcdsaSha384),
        (TestName::EcdsaSecp521r1Sha512, KeySpec::EccNistP521, SigningAlgorithm::EcdsaSha512),
        (TestName::EcdsaSecp256k1Sha256, KeySpec::EccSecgP256k1, SigningAlgorithm::EcdsaSha256),
    ] {
        let set = TestSet::load(name).unwrap();
        let groups = set.test_groups.into_iter().map(|group| {
            let tests = group.tests.into_iter().map(|t| (t.msg.to_vec(), t.sig.to_vec(), t.result, t.tc_id)).collect();
            (group.der.to_vec(), tests)
        });
        let checked = run_wycheproof(spec, algorithm, groups);
        assert!(checked > 300, "only {checked} Wycheproof {spec} cases ran");
    }
}

#[test]
fn wycheproof_rsa_pss_verification() {
    use wycheproof::rsa_pss_verify::{TestName, TestSet};
    for (name, spec, algorithm) in [
        (TestName::RsaPss2048Sha256Mgf1SaltLen32, KeySpec::Rsa2048, SigningAlgorithm::RsassaPssSha256),
        (TestName::RsaPss2048Sha384Mgf1SaltLen48, KeySpec::Rsa2048, SigningAlgorithm::RsassaPssSha384),
        (TestName::RsaPss3072Sha256Mgf1SaltLen32, KeySpec::Rsa3072, SigningAlgorithm::RsassaPssSha256),
        (TestName::RsaPss4096Sha512Mgf1SaltLen64, KeySpec::Rsa4096, SigningAlgorithm::RsassaPssSha512),
    ] {
        let set = TestSet::load(name).unwrap();
        let groups = set.test_groups.into_iter().map(|group| {
            let tests = group.tests.into_iter().map(|t| (t.msg.to_vec(), t.sig.to_vec(), t.result, t.tc_id)).collect();
            (group.der.to_vec(), tests)
        });
        let checked = run_wycheproof(spec, algorithm, groups);
        assert!(checked > 20, "only {checked} Wycheproof {spec} {algorithm} cases ran");
    }
}

#[test]
fn data_key_pairs_decrypt_to_their_private_key_under_the_context() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let pairs = store.data_key_pairs().unwrap();
    let key = new_key(&store, KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt);
    let context: envcrypt::kms::EncryptionContext = [("app".to_owned(), "signer".to_owned())].into_iter().collect();
    for spec in [KeySpec::EccNistP256, KeySpec::EccSecgP256k1, KeySpec::Rsa2048] {
        let pair = pairs.generate_data_key_pair(&key, spec, &context).wait().unwrap();
        assert_eq!(pair.key_pair_spec, spec);
        let private_key = pair.private_key_plaintext.as_ref().unwrap().expose_secret().to_vec();
        assert_eq!(
            key_pair::public_key(spec, &private_key).unwrap(),
            pair.public_key,
            "{spec}: the pair's halves match"
        );
        let opened = store.decrypt(&pair.private_key_ciphertext_blob, &context, Some(&key)).wait().unwrap();
        assert_eq!(opened.plaintext.expose_secret(), &private_key[..], "{spec}");
        let other = envcrypt::kms::EncryptionContext::new();
        let refused = store.decrypt(&pair.private_key_ciphertext_blob, &other, None).wait().unwrap_err();
        assert_eq!(refused.kms_name(), "InvalidCiphertextException");
    }
    let sealed_only =
        pairs.generate_data_key_pair_without_plaintext(&key, KeySpec::EccNistP384, &context).wait().unwrap();
    assert!(sealed_only.private_key_plaintext.is_none());
    let opened = store.decrypt(&sealed_only.private_key_ciphertext_blob, &context, None).wait().unwrap();
    let public = key_pair::public_key(KeySpec::EccNistP384, opened.plaintext.expose_secret()).unwrap();
    assert_eq!(public, sealed_only.public_key);

    let refused = pairs.generate_data_key_pair(&key, KeySpec::Hmac256, &context).wait().unwrap_err();
    assert_eq!(refused.kms_name(), "ValidationException");
    let signer = new_key(&store, KeySpec::EccNistP256, KeyUsage::SignVerify);
    let refused = pairs.generate_data_key_pair(&signer, KeySpec::EccNistP256, &context).wait().unwrap_err();
    assert_eq!(refused.kms_name(), "InvalidKeyUsageException");
}

#[test]
fn rsa_oaep_decrypts_what_python_cryptography_encrypts_with_the_exported_key() {
    use envcrypt::kms::{RsaEncryptionAlgorithm, RsaEncryptionRequest};
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let rsa = store.rsa_encryption().unwrap();
    let key = new_key(&store, KeySpec::Rsa2048, KeyUsage::EncryptDecrypt);
    let public = store.signing().unwrap().get_public_key(&key).wait().unwrap();
    let secret = b"database password: correct horse battery staple";
    for (algorithm, hash) in
        [(RsaEncryptionAlgorithm::RsaesOaepSha256, "SHA256"), (RsaEncryptionAlgorithm::RsaesOaepSha1, "SHA1")]
    {
        let script = format!(
            "from cryptography.hazmat.primitives import hashes, serialization\n\
             from cryptography.hazmat.primitives.asymmetric import padding\n\
             key = serialization.load_der_public_key(bytes.fromhex({:?}))\n\
             h = hashes.{hash}()\n\
             print(key.encrypt(bytes.fromhex({:?}), padding.OAEP(padding.MGF1(h), h, None)).hex())\n",
            hex::encode(&public.der),
            hex::encode(secret)
        );
        let out = Command::new(venv_bin("python")).arg("-c").arg(&script).output().unwrap();
        assert!(out.status.success(), "cryptography: {}", String::from_utf8_lossy(&out.stderr));
        let blob = hex::decode(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
        let opened = rsa.decrypt_rsa(RsaEncryptionRequest { key: &key, data: &blob, algorithm }).wait().unwrap();
        assert_eq!(opened.plaintext.expose_secret(), secret, "{algorithm}");

        let sealed = rsa.encrypt_rsa(RsaEncryptionRequest { key: &key, data: secret, algorithm }).wait().unwrap();
        let opened = rsa.decrypt_rsa(RsaEncryptionRequest { key: &key, data: &sealed.blob, algorithm }).wait().unwrap();
        assert_eq!(opened.plaintext.expose_secret(), secret);
        let mut tampered = sealed.blob.clone();
        tampered[10] ^= 1;
        let refused = rsa.decrypt_rsa(RsaEncryptionRequest { key: &key, data: &tampered, algorithm }).wait();
        assert_eq!(refused.unwrap_err().kms_name(), "InvalidCiphertextException");
    }
    // RSA_2048 with SHA-256 takes at most 256 - 2 * 32 - 2 = 190 bytes.
    let algorithm = RsaEncryptionAlgorithm::RsaesOaepSha256;
    rsa.encrypt_rsa(RsaEncryptionRequest { key: &key, data: &[1; 190], algorithm }).wait().unwrap();
    let refused = rsa.encrypt_rsa(RsaEncryptionRequest { key: &key, data: &[1; 191], algorithm }).wait();
    assert_eq!(refused.unwrap_err().kms_name(), "ValidationException");
}

/// The claim: an asymmetric or HMAC key's material is bound to the key's id, spec and usage, so
/// an edited key record cannot put it to another use.
#[test]
fn key_material_cannot_be_relabelled_by_editing_the_key_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let signer = new_key(&store, KeySpec::EccNistP256, KeyUsage::SignVerify);
    let path = dir.path().join("store/keys").join(format!("{}.json", signer.key_id().unwrap()));
    let original = std::fs::read_to_string(&path).unwrap();
    let mut record: serde_json::Value = serde_json::from_str(&original).unwrap();
    record["key_spec"] = "HMAC_256".into();
    record["key_usage"] = "GENERATE_VERIFY_MAC".into();
    std::fs::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();
    let request = MacRequest { key: &signer, message: b"m", algorithm: MacAlgorithm::HmacSha256 };
    let refused = store.macs().unwrap().generate_mac(request).wait().unwrap_err();
    assert_eq!(refused.kms_name(), "KMSInternalException", "{refused}");

    let mut record: serde_json::Value = serde_json::from_str(&original).unwrap();
    record["key_spec"] = "ECC_NIST_P384".into();
    std::fs::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();
    let request = SignRequest {
        key: &signer,
        message: b"m",
        message_type: MessageType::Raw,
        algorithm: SigningAlgorithm::EcdsaSha384,
    };
    let refused = store.signing().unwrap().sign(request).wait().unwrap_err();
    assert_eq!(refused.kms_name(), "KMSInternalException", "{refused}");

    std::fs::write(&path, &original).unwrap();
    let request = SignRequest {
        key: &signer,
        message: b"m",
        message_type: MessageType::Raw,
        algorithm: SigningAlgorithm::EcdsaSha256,
    };
    store.signing().unwrap().sign(request).wait().unwrap();
}

/// The claim: Sign, GetPublicKey and GenerateMac are authorized before anything of the key is
/// looked at, so a caller without rights learns nothing of a key's kind or state.
#[test]
fn a_caller_without_rights_learns_nothing_of_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let create = |spec, usage| {
        let request = CreateKeyRequest::new("default policy").kind(spec, Some(usage));
        KeyRef::parse(&store.create_key_with(request).wait().unwrap().arn).unwrap()
    };
    let signer = create(KeySpec::EccNistP256, KeyUsage::SignVerify);
    let mac_key = create(KeySpec::Hmac256, KeyUsage::GenerateVerifyMac);
    store.disable_key(&signer).wait().unwrap();
    let eve = store.as_principal("eve").unwrap();
    let denied = |result: Result<(), envcrypt::kms::KmsError>| result.unwrap_err().kms_name().to_owned();
    for key in [&signer, &mac_key] {
        assert_eq!(denied(eve.signing().unwrap().get_public_key(key).wait().map(drop)), "AccessDeniedException");
        let request = SignRequest {
            key,
            message: b"m",
            message_type: MessageType::Raw,
            algorithm: SigningAlgorithm::EcdsaSha256,
        };
        assert_eq!(denied(eve.signing().unwrap().sign(request).wait().map(drop)), "AccessDeniedException");
        let request = MacRequest { key, message: b"m", algorithm: MacAlgorithm::HmacSha256 };
        assert_eq!(denied(eve.macs().unwrap().generate_mac(request).wait().map(drop)), "AccessDeniedException");
    }
    // The creator, who may, sees the key's answers.
    assert_eq!(
        denied(store.signing().unwrap().get_public_key(&mac_key).wait().map(drop)),
        "UnsupportedOperationException"
    );
    let request = SignRequest {
        key: &signer,
        message: b"m",
        message_type: MessageType::Raw,
        algorithm: SigningAlgorithm::EcdsaSha256,
    };
    assert_eq!(denied(store.signing().unwrap().sign(request).wait().map(drop)), "DisabledException");
}
