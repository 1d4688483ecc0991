//! Scenarios of asymmetric and HMAC keys: Sign and Verify, GetPublicKey, GenerateMac and
//! VerifyMac, and the errors KMS documents for a key of the wrong usage or spec, a digest of the
//! wrong length, a disabled key, a tampered message or MAC.

use envcrypt::kms::{
    CreateKeyRequest, DryRun, KeyMacs, KeyRef, KeySigning, KeySpec, KeyUsage, MacAlgorithm, MacRequest, MessageType,
    SignRequest, SigningAlgorithm, VerifyRequest,
};

use crate::backend::{id, setup, Backend, ScenarioError};

type Result<T> = std::result::Result<T, ScenarioError>;

const MESSAGE: &[u8] = b"envcrypt conformance: a message to sign";

/// Lets every principal do anything with a key, so that what a scenario sees is the key's
/// answer, not the key policy's.
const OPEN_POLICY: &str = r#"{"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}]}"#;

fn signing<'a>(b: &Backend<'a>) -> Result<&'a dyn KeySigning> {
    b.service.signing().ok_or_else(|| ScenarioError::NotRun(format!("the {} backend has no signing keys", b.name())))
}

fn macs<'a>(b: &Backend<'a>) -> Result<&'a dyn KeyMacs> {
    b.service.macs().ok_or_else(|| ScenarioError::NotRun(format!("the {} backend has no HMAC keys", b.name())))
}

/// A new key of `spec` for `usage` (a failure is the scenario's set-up failing).
fn new_key(b: &Backend<'_>, spec: KeySpec, usage: KeyUsage) -> Result<KeyRef> {
    let request = CreateKeyRequest::new("envcrypt conformance scenario").kind(spec, Some(usage));
    let meta = b.admin.create_key_with(request).wait().map_err(setup)?;
    b.created_key(&meta.arn)
}

/// CreateKey of `spec` for `usage`; the key's spec, usage and algorithms as DescribeKey has them.
pub(crate) fn created(b: &Backend<'_>, spec: KeySpec, usage: KeyUsage) -> Result<String> {
    signing(b)?;
    let request = CreateKeyRequest::new("envcrypt conformance scenario").kind(spec, Some(usage));
    let meta = b.admin.create_key_with(request).wait()?;
    b.created_key(&meta.arn)?;
    let algorithms: Vec<&str> = meta.signing_algorithms().iter().map(|a| a.as_str()).collect();
    Ok(format!("{} {} {}", meta.key_spec, meta.key_usage, algorithms.join(",")))
}

/// Signs with a new key of `spec` and verifies the signature.
pub(crate) fn sign_and_verify(b: &Backend<'_>, spec: KeySpec, algorithm: SigningAlgorithm) -> Result<String> {
    let signing = signing(b)?;
    let key = new_key(b, spec, KeyUsage::SignVerify)?;
    let request = SignRequest { key: &id(&key), message: MESSAGE, message_type: MessageType::Raw, algorithm };
    let signature = signing.sign(request).wait()?.signature;
    signing.verify(VerifyRequest { signed: request, signature: &signature }).wait()?;
    Ok("verified".into())
}

/// Verify of a signature over another message.
pub(crate) fn verify_tampered(b: &Backend<'_>) -> Result<String> {
    let signing = signing(b)?;
    let key = new_key(b, KeySpec::EccNistP256, KeyUsage::SignVerify)?;
    let algorithm = SigningAlgorithm::EcdsaSha256;
    let request = SignRequest { key: &id(&key), message: MESSAGE, message_type: MessageType::Raw, algorithm };
    let signature = signing.sign(request).wait().map_err(setup)?.signature;
    let tampered = SignRequest { message: b"envcrypt conformance: a message to sigN", ..request };
    signing.verify(VerifyRequest { signed: tampered, signature: &signature }).wait()?;
    Ok("verified".into())
}

/// Sign of `message` as `message_type` with `algorithm`, under a new key of `spec` and `usage`
/// put in another state by `change`.
pub(crate) fn sign_with(
    b: &Backend<'_>,
    (spec, usage): (KeySpec, KeyUsage),
    message: &[u8],
    message_type: MessageType,
    algorithm: SigningAlgorithm,
    change: fn(&Backend<'_>, &KeyRef) -> std::result::Result<(), envcrypt::kms::KmsError>,
) -> Result<String> {
    let signing = signing(b)?;
    let key = match spec {
        // A backend without key policies has nothing between the caller and the key.
        KeySpec::SymmetricDefault if b.governance.is_none() => b.new_key()?,
        KeySpec::SymmetricDefault => b.new_key_with_policy(OPEN_POLICY)?,
        _ => new_key(b, spec, usage)?,
    };
    change(b, &id(&key)).map_err(setup)?;
    signing.sign(SignRequest { key: &id(&key), message, message_type, algorithm }).wait()?;
    Ok("signed".into())
}

/// GetPublicKey of a new key of `spec` and `usage` (a symmetric one from `new_key`).
pub(crate) fn public_key(b: &Backend<'_>, spec: KeySpec, usage: KeyUsage) -> Result<String> {
    let signing = signing(b)?;
    let key = if spec == KeySpec::SymmetricDefault { b.new_key()? } else { new_key(b, spec, usage)? };
    let public = signing.get_public_key(&id(&key)).wait()?;
    let algorithms: Vec<&str> = public.signing_algorithms().iter().map(|a| a.as_str()).collect();
    Ok(format!("{} {} {}", public.key_spec, public.key_usage, algorithms.join(",")))
}

/// GenerateMac with `algorithm` under a new HMAC_256 key, then VerifyMac of the MAC, changed
/// if `tamper`.
pub(crate) fn mac_with(b: &Backend<'_>, algorithm: MacAlgorithm, tamper: bool) -> Result<String> {
    let macs = macs(b)?;
    let key = new_key(b, KeySpec::Hmac256, KeyUsage::GenerateVerifyMac)?;
    let request = MacRequest { key: &id(&key), message: MESSAGE, algorithm };
    let mut mac = macs.generate_mac(request).wait()?.mac;
    if tamper {
        mac[0] ^= 1;
    }
    macs.verify_mac(request, &mac).wait()?;
    Ok("verified".into())
}

/// RotateKeyOnDemand of a new signing key.
pub(crate) fn rotate_signing_key(b: &Backend<'_>) -> Result<String> {
    signing(b)?;
    let key = new_key(b, KeySpec::EccNistP256, KeyUsage::SignVerify)?;
    b.admin.rotate_key(&id(&key)).wait()?;
    Ok("rotated".into())
}

/// DryRun of Sign under a new P-256 key put in another state by `change`.
pub(crate) fn dry_run_sign(
    b: &Backend<'_>,
    change: fn(&Backend<'_>, &KeyRef) -> std::result::Result<(), envcrypt::kms::KmsError>,
) -> Result<String> {
    signing(b)?;
    let key = new_key(b, KeySpec::EccNistP256, KeyUsage::SignVerify)?;
    change(b, &id(&key)).map_err(setup)?;
    let algorithm = SigningAlgorithm::EcdsaSha256;
    b.service
        .dry_run(DryRun::Sign(SignRequest {
            key: &id(&key),
            message: MESSAGE,
            message_type: MessageType::Raw,
            algorithm,
        }))
        .wait()?;
    Ok("would succeed".into())
}

/// DryRun of GenerateMac with `algorithm` under a new HMAC_256 key.
pub(crate) fn dry_run_mac(b: &Backend<'_>, algorithm: MacAlgorithm) -> Result<String> {
    macs(b)?;
    let key = new_key(b, KeySpec::Hmac256, KeyUsage::GenerateVerifyMac)?;
    b.service.dry_run(DryRun::GenerateMac(MacRequest { key: &id(&key), message: MESSAGE, algorithm })).wait()?;
    Ok("would succeed".into())
}
