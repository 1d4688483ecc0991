//! The KMS JSON 1.1 protocol as the AWS SDKs speak it: `POST /` with `X-Amz-Target:
//! TrentService.<Operation>` and a JSON body; answers in JSON, errors as
//! `{"__type": "<ExceptionName>", "message": "..."}`.
//!
//! Real KMS answers every client error with HTTP 400 (the 404/409 in its model are documentation
//! only), and server faults with 500 (`KMSInternalException`, `KeyUnavailableException`) or
//! 503 (`DependencyTimeoutException`); the SDKs pick the error type from `__type`, and retry 5xx.

use envcrypt::kms::KmsError;
use serde_json::{json, Value};
use zeroize::Zeroizing;

/// The content type of requests and responses.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// The largest request body accepted. KMS's largest members (a 128 KiB policy, a 6 KiB
/// ciphertext) fit many times over.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// A failure, as the response that reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The HTTP status.
    pub status: u16,
    /// The exception name (`__type`).
    pub name: String,
    /// The message; some KMS errors carry none.
    pub message: Option<String>,
    /// Whether the key service produced it (and so recorded it, if it keeps an audit log).
    pub from_key_service: bool,
}

impl Failure {
    /// A client error (HTTP 400).
    pub fn client(name: &str, message: impl Into<String>) -> Self {
        Self { status: 400, name: name.to_owned(), message: Some(message.into()), from_key_service: false }
    }

    /// A body that could not be read whole: too large (413), cut off (400), or too slow (408).
    pub fn unreadable_body(status: u16, message: String) -> Self {
        Self { status, name: "SerializationException".into(), message: Some(message), from_key_service: false }
    }

    /// A `ValidationException`.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::client("ValidationException", message)
    }

    /// A `SerializationException`: the body is not what the operation's input shape allows.
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::client("SerializationException", message)
    }

    /// `UnknownOperationException`, which carries no message.
    pub fn unknown_operation() -> Self {
        Self { status: 400, name: "UnknownOperationException".into(), message: None, from_key_service: false }
    }

    /// A key service error, under its KMS name.
    pub fn from_kms(error: &KmsError) -> Self {
        let (status, name) = match error {
            KmsError::Store(_) => (500, "KMSInternalException".to_owned()),
            // The backend could not be reached (an HSM cluster with no token answering): the
            // key is unavailable for now, and a retry may succeed.
            KmsError::Transport { .. } => (500, "KeyUnavailableException".to_owned()),
            other => match other.kms_name() {
                name @ ("KMSInternalException" | "KeyUnavailableException") => (500, name.to_owned()),
                name @ "DependencyTimeoutException" => (503, name.to_owned()),
                name => (400, name.to_owned()),
            },
        };
        let text = error.to_string();
        let message = text.strip_prefix(&format!("{}: ", error.kms_name())).unwrap_or(&text).to_owned();
        Self { status, name, message: Some(message), from_key_service: true }
    }

    /// The response body.
    pub fn body(&self) -> Vec<u8> {
        let value = match &self.message {
            Some(message) => json!({ "__type": self.name, "message": message }),
            None => json!({ "__type": self.name }),
        };
        serde_json::to_vec(&value).expect("an error body serializes")
    }
}

impl From<KmsError> for Failure {
    fn from(error: KmsError) -> Self {
        Self::from_kms(&error)
    }
}

/// A successful answer's body.
#[derive(Debug)]
pub enum Reply {
    /// A JSON value with nothing secret in it.
    Json(Value),
    /// A body that carries a plaintext (a data key, decrypted data, random bytes): serialized
    /// straight into a buffer that is wiped once sent.
    Secret(Zeroizing<Vec<u8>>),
}

impl Reply {
    /// A body with a plaintext, from a structure that borrows it.
    pub fn secret(body: &impl serde::Serialize) -> Self {
        let mut bytes = Zeroizing::new(Vec::with_capacity(256));
        serde_json::to_writer(&mut *bytes, body).expect("a response serializes");
        Self::Secret(bytes)
    }
}

/// The body of a response without output members.
pub fn empty() -> Reply {
    Reply::Json(Value::Object(serde_json::Map::new()))
}

/// A KMS response that carries a base64 plaintext (GenerateDataKey, Decrypt, GenerateRandom),
/// borrowing it from a buffer wiped on drop rather than copying it into a JSON value.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PlaintextResponse<'a> {
    /// The ciphertext blob, base64 (GenerateDataKey).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ciphertext_blob: Option<String>,
    /// The plaintext, base64.
    pub plaintext: &'a str,
    /// The key's ARN (none for GenerateRandom).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<&'a str>,
    /// The encryption algorithm (Decrypt).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_algorithm: Option<&'static str>,
}

/// GenerateDataKeyPair's answer, as KMS sends it; the private key's plaintext is base64 in a
/// buffer the caller wipes.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataKeyPairResponse<'a> {
    /// The symmetric key's ARN.
    pub key_id: &'a str,
    /// The key pair's spec.
    pub key_pair_spec: &'static str,
    /// The public key (DER SubjectPublicKeyInfo), base64.
    pub public_key: String,
    /// The encrypted private key, base64.
    pub private_key_ciphertext_blob: String,
    /// The private key (PKCS#8 DER), base64 (GenerateDataKeyPair only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_key_plaintext: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_the_kms_name_and_the_status_aws_uses() {
        let not_found = Failure::from_kms(&KmsError::NotFound("key k does not exist".into()));
        assert_eq!((not_found.status, not_found.name.as_str()), (400, "NotFoundException"));
        assert_eq!(not_found.message.as_deref(), Some("key k does not exist"));
        let body: Value = serde_json::from_slice(&not_found.body()).unwrap();
        assert_eq!(body, json!({ "__type": "NotFoundException", "message": "key k does not exist" }));
        let unavailable = Failure::from_kms(&KmsError::Transport {
            context: "HSM".into(),
            source: std::sync::Arc::new(std::io::Error::other("down")),
        });
        assert_eq!((unavailable.status, unavailable.name.as_str()), (500, "KeyUnavailableException"));
    }
}
