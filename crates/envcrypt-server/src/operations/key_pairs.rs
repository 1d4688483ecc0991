//! Sign, Verify, GetPublicKey, GenerateMac, VerifyMac: the operations of asymmetric and HMAC
//! keys; and GenerateDataKeyPair[WithoutPlaintext].

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use envcrypt::kms::{
    DryRun, KeyRef, KeySpec, MacAlgorithm, MacRequest, MessageType, SignRequest, SigningAlgorithm, VerifyRequest,
    MAX_MAC, MAX_SIGNATURE, MAX_SIGN_MESSAGE,
};
use serde_json::json;
use zeroize::Zeroizing;

use super::context::{kms, slow, Context};
use super::crypto::dry_run;
use super::members::{any_key, check_grant_tokens, is_dry_run};
use crate::decode::Input;
use crate::protocol::{DataKeyPairResponse, Failure, Reply};

const SIGNING_ALGORITHMS: &[&str] = &[
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
    "ECDSA_SHA_256",
    "ECDSA_SHA_384",
    "ECDSA_SHA_512",
];
const MAC_ALGORITHMS: &[&str] = &["HMAC_SHA_224", "HMAC_SHA_256", "HMAC_SHA_384", "HMAC_SHA_512"];

/// Sign's and Verify's members: the key, the message (or digest) and the algorithm.
struct Signed {
    key: KeyRef,
    message: zeroize::Zeroizing<Vec<u8>>,
    message_type: MessageType,
    algorithm: SigningAlgorithm,
}

impl Signed {
    fn read(input: &Input) -> Result<Self, Failure> {
        let key = any_key(input, "KeyId")?;
        let message = input.required_blob("Message", 1, MAX_SIGN_MESSAGE)?;
        let message_type = match input.enumerated("MessageType", &["RAW", "DIGEST", "EXTERNAL_MU"])? {
            None | Some("RAW") => MessageType::Raw,
            Some("DIGEST") => MessageType::Digest,
            Some(other) => {
                return Err(Failure::client(
                    "UnsupportedOperationException",
                    format!("MessageType {other} is not supported by envcrypt serve"),
                ))
            }
        };
        let algorithm = input.required_enumerated("SigningAlgorithm", SIGNING_ALGORITHMS)?;
        let algorithm = SigningAlgorithm::from_name(algorithm).expect("an enumerated signing algorithm");
        Ok(Self { key, message, message_type, algorithm })
    }

    fn request(&self) -> SignRequest<'_> {
        SignRequest {
            key: &self.key,
            message: &self.message,
            message_type: self.message_type,
            algorithm: self.algorithm,
        }
    }
}

pub(super) async fn sign(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let signed = Signed::read(input)?;
    check_grant_tokens(input)?;
    if is_dry_run(input)? {
        return dry_run(cx, DryRun::Sign(signed.request())).await;
    }
    let out = cx.signing("Sign")?.sign(signed.request()).await.map_err(kms)?;
    Ok(Reply::Json(json!({
        "KeyId": out.key_arn,
        "Signature": B64.encode(&out.signature),
        "SigningAlgorithm": out.algorithm.as_str(),
    })))
}

pub(super) async fn verify(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let signed = Signed::read(input)?;
    let signature = input.required_blob("Signature", 1, MAX_SIGNATURE)?;
    check_grant_tokens(input)?;
    let request = VerifyRequest { signed: signed.request(), signature: &signature };
    if is_dry_run(input)? {
        return dry_run(cx, DryRun::Verify(request)).await;
    }
    let key_arn = cx.signing("Verify")?.verify(request).await.map_err(kms)?;
    Ok(Reply::Json(json!({
        "KeyId": key_arn,
        "SignatureValid": true,
        "SigningAlgorithm": signed.algorithm.as_str(),
    })))
}

pub(super) async fn get_public_key(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = any_key(input, "KeyId")?;
    check_grant_tokens(input)?;
    let out = cx.signing("GetPublicKey")?.get_public_key(&key).await.map_err(kms)?;
    let mut value = json!({
        "KeyId": out.key_arn,
        "PublicKey": B64.encode(&out.der),
        "CustomerMasterKeySpec": out.key_spec.as_str(),
        "KeySpec": out.key_spec.as_str(),
        "KeyUsage": out.key_usage.as_str(),
    });
    if !out.signing_algorithms().is_empty() {
        value["SigningAlgorithms"] = json!(out.signing_algorithms());
    }
    if !out.encryption_algorithms().is_empty() {
        value["EncryptionAlgorithms"] = json!(out.encryption_algorithms());
    }
    Ok(Reply::Json(value))
}

/// GenerateMac's and VerifyMac's members.
fn mac_request(input: &Input) -> Result<(KeyRef, zeroize::Zeroizing<Vec<u8>>, MacAlgorithm), Failure> {
    let key = any_key(input, "KeyId")?;
    let message = input.required_blob("Message", 1, MAX_SIGN_MESSAGE)?;
    let algorithm = input.required_enumerated("MacAlgorithm", MAC_ALGORITHMS)?;
    Ok((key, message, MacAlgorithm::from_name(algorithm).expect("an enumerated MAC algorithm")))
}

pub(super) async fn generate_mac(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let (key, message, algorithm) = mac_request(input)?;
    check_grant_tokens(input)?;
    let request = MacRequest { key: &key, message: &message, algorithm };
    if is_dry_run(input)? {
        return dry_run(cx, DryRun::GenerateMac(request)).await;
    }
    let out = cx.macs("GenerateMac")?.generate_mac(request).await;
    let out = out.map_err(kms)?;
    Ok(Reply::Json(json!({
        "KeyId": out.key_arn,
        "Mac": B64.encode(&out.mac),
        "MacAlgorithm": out.algorithm.as_str(),
    })))
}

pub(super) async fn verify_mac(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let (key, message, algorithm) = mac_request(input)?;
    let mac = input.required_blob("Mac", 1, MAX_MAC)?;
    check_grant_tokens(input)?;
    let request = MacRequest { key: &key, message: &message, algorithm };
    if is_dry_run(input)? {
        return dry_run(cx, DryRun::VerifyMac(request, &mac)).await;
    }
    let key_arn = cx.macs("VerifyMac")?.verify_mac(request, &mac).await.map_err(kms)?;
    Ok(Reply::Json(json!({
        "KeyId": key_arn,
        "MacValid": true,
        "MacAlgorithm": algorithm.as_str(),
    })))
}

const KEY_PAIR_SPECS: &[&str] = &[
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "SM2",
    "ECC_NIST_EDWARDS25519",
];

pub(super) async fn generate_data_key_pair(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    data_key_pair(input, cx, "GenerateDataKeyPair").await
}

pub(super) async fn generate_data_key_pair_without_plaintext(
    input: &Input,
    cx: &Context<'_>,
) -> Result<Reply, Failure> {
    data_key_pair(input, cx, "GenerateDataKeyPairWithoutPlaintext").await
}

async fn data_key_pair(input: &Input, cx: &Context<'_>, operation: &'static str) -> Result<Reply, Failure> {
    let key = any_key(input, "KeyId")?;
    let spec = input.required_enumerated("KeyPairSpec", KEY_PAIR_SPECS)?;
    let context = input.context("EncryptionContext")?;
    if input.structure("Recipient")?.is_some() {
        return Err(Failure::client(
            "UnsupportedOperationException",
            format!("{operation} with a Recipient (a Nitro enclave attestation) is not supported by envcrypt serve"),
        ));
    }
    check_grant_tokens(input)?;
    let spec = KeySpec::from_name(spec).ok_or_else(|| {
        Failure::client(
            "UnsupportedOperationException",
            format!("KeyPairSpec {spec} is not supported by envcrypt serve"),
        )
    })?;
    if is_dry_run(input)? {
        let plaintext = operation == "GenerateDataKeyPair";
        return dry_run(cx, DryRun::DataKeyPair { plaintext, key: &key, spec, context: &context }).await;
    }
    let pairs = cx.data_key_pairs(operation)?;
    let pending = slow(|| {
        if operation == "GenerateDataKeyPair" {
            pairs.generate_data_key_pair(&key, spec, &context)
        } else {
            pairs.generate_data_key_pair_without_plaintext(&key, spec, &context)
        }
    });
    let pair = pending.await.map_err(kms)?;
    let plaintext = pair.private_key_plaintext.as_ref().map(|p| Zeroizing::new(B64.encode(p.expose_secret())));
    Ok(Reply::secret(&DataKeyPairResponse {
        key_id: &pair.key_arn,
        key_pair_spec: pair.key_pair_spec.as_str(),
        public_key: B64.encode(&pair.public_key),
        private_key_ciphertext_blob: B64.encode(&pair.private_key_ciphertext_blob),
        private_key_plaintext: plaintext.as_deref().map(String::as_str),
    }))
}
