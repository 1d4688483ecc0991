//! The metadata envcrypt writes on sealed objects, so that listing tools show what an object
//! is without reading its body: `x-amz-meta-envcrypt-format`, `-keys`, `-key-count` and
//! `-plaintext-length`.

use std::collections::HashMap;

use envcrypt::message::{Header, ParseLimits};

/// `envcrypt-format` of objects whose body is a sealed message.
pub const SEALED_FORMAT: &str = "aws-encryption-sdk-v2";
/// The metadata key naming the format.
pub const FORMAT: &str = "envcrypt-format";
/// The metadata key listing the ARNs of the keys that wrap the data key, comma-separated.
pub const KEYS: &str = "envcrypt-keys";
/// The metadata key counting those keys (the list is cut short to fit S3's 2 KB).
pub const KEY_COUNT: &str = "envcrypt-key-count";
/// The metadata key giving the plaintext's length in bytes.
pub const PLAINTEXT_LENGTH: &str = "envcrypt-plaintext-length";

/// S3 allows 2 KB of user metadata per object; the key list gets what is left of it.
const KEY_LIST_BUDGET: usize = 1536;

/// Limits for reading headers that envcrypt did not necessarily write (inspect, metadata).
pub(crate) const HEADER_LIMITS: ParseLimits =
    ParseLimits { max_encrypted_data_keys: u16::MAX, max_frame_length: u32::MAX };

/// The metadata of a sealed object whose header is `header`.
pub(crate) fn sealed(header: &Header, plaintext_length: Option<u64>) -> HashMap<String, String> {
    let arns: Vec<String> = header
        .body()
        .encrypted_data_keys
        .iter()
        .map(|edk| String::from_utf8_lossy(&edk.provider_info).into_owned())
        .collect();
    let mut list = String::new();
    for arn in &arns {
        if list.len() + arn.len() + 1 > KEY_LIST_BUDGET {
            break;
        }
        if !list.is_empty() {
            list.push(',');
        }
        list.push_str(arn);
    }
    let mut map = HashMap::from([
        (FORMAT.to_owned(), SEALED_FORMAT.to_owned()),
        (KEYS.to_owned(), list),
        (KEY_COUNT.to_owned(), arns.len().to_string()),
    ]);
    if let Some(length) = plaintext_length {
        map.insert(PLAINTEXT_LENGTH.to_owned(), length.to_string());
    }
    map
}
