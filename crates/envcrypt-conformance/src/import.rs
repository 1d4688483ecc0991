//! The imported-material scenarios: a key with origin EXTERNAL from creation to import, the
//! material wrapped here as a KMS user wraps it (RSA-OAEP SHA-256, or an AES key wrapped so
//! with the material under AES key wrap with padding), and the errors KMS documents.

use aes_kw::KekAes256;
use envcrypt::kms::{
    CreateKeyRequest, ImportParameters, ImportRequest, KeyImport, KeyRef, KmsError, MaterialExpiry, Origin,
    WrappingAlgorithm, WrappingKeySpec,
};
use rsa::pkcs8::DecodePublicKey;
use rsa::{Oaep, RsaPublicKey};

use crate::backend::{id, purpose, setup, Backend, ScenarioError};

type Result<T> = std::result::Result<T, ScenarioError>;

const MATERIAL: [u8; 32] = [0x6b; 32];
const OTHER_MATERIAL: [u8; 32] = [0x6c; 32];

/// The material wrapped under the parameters' public key.
fn wrap(parameters: &ImportParameters, algorithm: WrappingAlgorithm, material: &[u8]) -> Result<Vec<u8>> {
    let unusable = |e: String| setup(KmsError::Validation(format!("the wrapping key: {e}")));
    let public = RsaPublicKey::from_public_key_der(&parameters.public_key).map_err(|e| unusable(e.to_string()))?;
    let oaep = |bytes: &[u8]| public.encrypt(&mut rsa::rand_core::OsRng, Oaep::new::<sha2::Sha256>(), bytes);
    match algorithm {
        WrappingAlgorithm::RsaAesKeyWrapSha256 => {
            let mut aes_key = [0u8; 32];
            rsa::rand_core::RngCore::fill_bytes(&mut rsa::rand_core::OsRng, &mut aes_key);
            let wrapped_key = oaep(&aes_key).map_err(|e| unusable(e.to_string()))?;
            let wrapped_material =
                KekAes256::from(aes_key).wrap_with_padding_vec(material).map_err(|e| unusable(e.to_string()))?;
            Ok([wrapped_key, wrapped_material].concat())
        }
        _ => oaep(material).map_err(|e| unusable(e.to_string())),
    }
}

fn importer<'a>(b: &Backend<'a>) -> Result<&'a dyn KeyImport> {
    b.service
        .import()
        .ok_or_else(|| ScenarioError::NotRun(format!("the {} backend takes no imported key material", b.name())))
}

/// A new key with origin EXTERNAL.
fn external_key(b: &Backend<'_>) -> Result<KeyRef> {
    importer(b)?;
    let meta = b.admin.create_key_with(CreateKeyRequest::new("envcrypt conformance scenario").origin(Origin::External));
    b.created_key(&meta.wait().map_err(setup)?.arn)
}

/// Imports `material` into `key` with `algorithm`; the import itself is the behaviour.
fn import(b: &Backend<'_>, key: &KeyRef, algorithm: WrappingAlgorithm, material: &[u8]) -> Result<()> {
    let importer = importer(b)?;
    let parameters =
        importer.get_parameters_for_import(&id(key), algorithm, WrappingKeySpec::Rsa2048).wait().map_err(setup)?;
    let wrapped = wrap(&parameters, algorithm, material)?;
    let request = ImportRequest {
        key: &id(key),
        encrypted_key_material: &wrapped,
        import_token: &parameters.import_token,
        expiry: MaterialExpiry::Never,
    };
    Ok(importer.import_key_material(request).wait()?)
}

fn round_trip(b: &Backend<'_>, key: &KeyRef) -> Result<String> {
    let blob = b.service.encrypt(key, b"imported", &purpose()).wait()?.blob;
    let out = b.service.decrypt(&blob, &purpose(), None).wait()?;
    Ok(if out.plaintext.expose_secret() == b"imported" { "round trip".into() } else { "different plaintext".into() })
}

/// A new external key's state.
pub(crate) fn pending(b: &Backend<'_>) -> Result<String> {
    let key = external_key(b)?;
    Ok(b.admin.describe_key(&id(&key)).wait()?.state.to_string())
}

/// Encrypt under an external key before its material is imported.
pub(crate) fn encrypt_before_import(b: &Backend<'_>) -> Result<String> {
    let key = external_key(b)?;
    round_trip(b, &key)
}

/// Imports with `algorithm`, then encrypts and decrypts.
pub(crate) fn imported_with(b: &Backend<'_>, algorithm: WrappingAlgorithm) -> Result<String> {
    let key = external_key(b)?;
    import(b, &key, algorithm, &MATERIAL)?;
    round_trip(b, &key)
}

/// Deletes the material, then decrypts what it encrypted.
pub(crate) fn decrypt_after_delete(b: &Backend<'_>) -> Result<String> {
    let key = external_key(b)?;
    import(b, &key, WrappingAlgorithm::RsaesOaepSha256, &MATERIAL).map_err(as_setup)?;
    let blob = b.service.encrypt(&key, b"imported", &purpose()).wait().map_err(setup)?.blob;
    importer(b)?.delete_imported_key_material(&id(&key)).wait().map_err(setup)?;
    b.service.decrypt(&blob, &purpose(), None).wait()?;
    Ok("decrypted".into())
}

/// Deletes the material, imports other material.
pub(crate) fn other_material(b: &Backend<'_>) -> Result<String> {
    let key = external_key(b)?;
    import(b, &key, WrappingAlgorithm::RsaesOaepSha256, &MATERIAL).map_err(as_setup)?;
    importer(b)?.delete_imported_key_material(&id(&key)).wait().map_err(setup)?;
    import(b, &key, WrappingAlgorithm::RsaesOaepSha256, &OTHER_MATERIAL)?;
    Ok("imported".into())
}

/// Deletes the material, imports the same again, decrypts what it encrypted before.
pub(crate) fn same_material_again(b: &Backend<'_>) -> Result<String> {
    let key = external_key(b)?;
    import(b, &key, WrappingAlgorithm::RsaesOaepSha256, &MATERIAL).map_err(as_setup)?;
    let blob = b.service.encrypt(&key, b"imported", &purpose()).wait().map_err(setup)?.blob;
    importer(b)?.delete_imported_key_material(&id(&key)).wait().map_err(setup)?;
    import(b, &key, WrappingAlgorithm::RsaesOaepSha256, &MATERIAL)?;
    let out = b.service.decrypt(&blob, &purpose(), None).wait()?;
    Ok(if out.plaintext.expose_secret() == b"imported" { "round trip".into() } else { "different plaintext".into() })
}

/// Imports into a key with the import token of another key.
pub(crate) fn token_of_other_key(b: &Backend<'_>) -> Result<String> {
    let importer = importer(b)?;
    let key = external_key(b)?;
    let other = external_key(b)?;
    let algorithm = WrappingAlgorithm::RsaesOaepSha256;
    let parameters =
        importer.get_parameters_for_import(&id(&other), algorithm, WrappingKeySpec::Rsa2048).wait().map_err(setup)?;
    let wrapped = wrap(&parameters, algorithm, &MATERIAL)?;
    let request = ImportRequest {
        key: &id(&key),
        encrypted_key_material: &wrapped,
        import_token: &parameters.import_token,
        expiry: MaterialExpiry::Never,
    };
    importer.import_key_material(request).wait()?;
    Ok("imported".into())
}

/// GetParametersForImport for a key whose material the key service made.
pub(crate) fn params_for_service_key(b: &Backend<'_>) -> Result<String> {
    let importer = importer(b)?;
    let key = b.new_key()?;
    importer
        .get_parameters_for_import(&id(&key), WrappingAlgorithm::RsaesOaepSha256, WrappingKeySpec::Rsa2048)
        .wait()?;
    Ok("parameters".into())
}

/// RotateKeyOnDemand of a key with imported material.
pub(crate) fn rotate_imported(b: &Backend<'_>) -> Result<String> {
    let key = external_key(b)?;
    import(b, &key, WrappingAlgorithm::RsaesOaepSha256, &MATERIAL).map_err(as_setup)?;
    Ok(b.admin.rotate_key(&id(&key)).wait()?.state.to_string())
}

/// An import that failed while preparing another behaviour is a set-up failure.
fn as_setup(error: ScenarioError) -> ScenarioError {
    match error {
        ScenarioError::Kms(e) => ScenarioError::Setup(e),
        other => other,
    }
}
