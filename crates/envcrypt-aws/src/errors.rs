//! AWS SDK errors mapped onto envcrypt's KMS error names.

use std::sync::Arc;

use aws_sdk_kms::config::http::HttpResponse;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use envcrypt::kms::KmsError;

/// Maps an SDK failure of `operation` on `key`: service errors keep their KMS exception name
/// and message; everything below the service (network, timeouts, credentials) is `Transport`.
pub(crate) fn sdk_error<E>(operation: &'static str, key: &str, error: SdkError<E, HttpResponse>) -> KmsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let on_key = if key.is_empty() { String::new() } else { format!(" {key}") };
    let Some(service) = error.as_service_error() else {
        let context = format!("AWS KMS {operation}{on_key}");
        return KmsError::Transport { context, source: Arc::new(DisplayChain(error_chain(&error))) };
    };
    // An answer without an exception name (an HTML 500 page, say) is named by its status.
    let name = match service.code() {
        Some(code) => code.to_owned(),
        None => format!("UnnamedError(HTTP {})", error.raw_response().map_or(0, |r| r.status().as_u16())),
    };
    let message = format!("{operation}{on_key}: {}", service.message().unwrap_or("no message"));
    match name.as_str() {
        "NotFoundException" => KmsError::NotFound(message),
        // KMS names the key's ARN in the message; the request may have named an alias.
        "DisabledException" => KmsError::Disabled {
            key: message
                .split_whitespace()
                .find(|word| word.starts_with("arn:"))
                .map_or(key, |arn| arn.trim_end_matches(['.', ',', ':']))
                .to_owned(),
        },
        "InvalidCiphertextException" => KmsError::InvalidCiphertext(message),
        "ValidationException" => KmsError::Validation(message),
        "AccessDeniedException" => KmsError::AccessDenied(message),
        "AlreadyExistsException" => KmsError::AlreadyExists(message),
        "InvalidAliasNameException" => KmsError::InvalidAliasName(message),
        "NotAuthorizedException" => KmsError::NotAuthorized(message),
        _ => KmsError::Service { name, message },
    }
}

/// A response lacked a field KMS always sends.
pub(crate) fn missing(operation: &'static str, field: &'static str) -> KmsError {
    KmsError::Service {
        name: "KMSInternalException".into(),
        message: format!("{operation}: the response has no {field}"),
    }
}

/// An error and every error under it, as one line: SDK errors put the useful part (a refused
/// connection, a bad credential) in their sources.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        out.push_str(": ");
        out.push_str(&e.to_string());
        source = e.source();
    }
    out
}

/// An SDK error flattened to text: the SDK's error types are generic over its response type,
/// and envcrypt's error must not expose them.
#[derive(Debug)]
struct DisplayChain(String);

impl std::fmt::Display for DisplayChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DisplayChain {}
