//! `Limit` and `Marker` paging of list operations, with `NextMarker` and `Truncated` as KMS
//! answers them. A marker is opaque to clients; one this endpoint did not issue is
//! `InvalidMarkerException`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde_json::{json, Value};

use crate::decode::Input;
use crate::protocol::Failure;

/// One page of `items`: `Limit` (1..`max_limit`, default `default_limit`) items from `Marker`.
pub(super) fn page<T>(
    input: &Input,
    items: Vec<T>,
    default_limit: i64,
    max_limit: i64,
) -> Result<(Vec<T>, Option<String>), Failure> {
    let limit = input.integer("Limit", 1, max_limit)?.unwrap_or(default_limit);
    let limit = usize::try_from(limit).unwrap_or(1);
    let start = match input.optional_string("Marker", 1, 1024)? {
        None => 0,
        Some(marker) => B64URL
            .decode(marker)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| text.strip_prefix("envcrypt-offset:").and_then(|n| n.parse::<usize>().ok()))
            .ok_or_else(|| Failure::client("InvalidMarkerException", "The marker is not one this endpoint issued"))?,
    };
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(start).take(limit).collect();
    let end = start.saturating_add(page.len());
    let next = (end < total).then(|| B64URL.encode(format!("envcrypt-offset:{end}")));
    Ok((page, next))
}

/// Adds `NextMarker` (when truncated) and `Truncated` to a list response.
pub(super) fn paged(mut body: Value, next: Option<String>) -> Value {
    body["Truncated"] = json!(next.is_some());
    if let Some(next) = next {
        body["NextMarker"] = json!(next);
    }
    body
}
