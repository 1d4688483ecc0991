//! TagResource, UntagResource, ListResourceTags, and the `Tags` member of CreateKey.

use envcrypt::kms::Tag;
use serde_json::{json, Value};

use super::context::{kms, Context};
use super::members::key_id_or_arn;
use super::paging::{page, paged};
use crate::decode::Input;
use crate::protocol::{self, Failure, Reply};

/// The `Tags` member: a list of `{TagKey, TagValue}`. KMS's own rules (the `aws:` prefix, 50
/// per key) are the key service's to apply, with `TagException`.
pub(super) fn tags(input: &Input) -> Result<Vec<Tag>, Failure> {
    input
        .structure_list("Tags", 200)?
        .iter()
        .map(|tag| {
            let key = tag.required_string("TagKey", 1, 128)?;
            let value = tag.string("TagValue")?.ok_or_else(|| {
                Failure::validation(
                    "1 validation error detected: Value null at 'tags.member.tagValue' failed to satisfy constraint: \
                     Member must not be null",
                )
            })?;
            Ok(Tag::new(key, value))
        })
        .collect()
}

pub(super) async fn tag_resource(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = key_id_or_arn(input, "KeyId")?;
    let tags = tags(input)?;
    if tags.is_empty() {
        return Err(Failure::validation(
            "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null",
        ));
    }
    cx.tagging("TagResource")?.tag_resource(&key, &tags).await.map_err(kms)?;
    Ok(protocol::empty())
}

pub(super) async fn untag_resource(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = key_id_or_arn(input, "KeyId")?;
    let tag_keys = input.string_list("TagKeys", 200)?;
    if tag_keys.is_empty() {
        return Err(Failure::validation(
            "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null",
        ));
    }
    cx.tagging("UntagResource")?.untag_resource(&key, &tag_keys).await.map_err(kms)?;
    Ok(protocol::empty())
}

pub(super) async fn list_resource_tags(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = key_id_or_arn(input, "KeyId")?;
    let tags = cx.tagging("ListResourceTags")?.list_resource_tags(&key).await.map_err(kms)?;
    let (tags, next) = page(input, tags, 50, 50)?;
    let entries: Vec<Value> = tags.iter().map(|t| json!({ "TagKey": t.key, "TagValue": t.value })).collect();
    Ok(Reply::Json(paged(json!({ "Tags": entries }), next)))
}
