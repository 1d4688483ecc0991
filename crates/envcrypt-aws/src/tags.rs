//! Tags on AWS KMS keys: the [`KeyTagging`] calls, passed through.

use aws_sdk_kms::types::Tag as AwsTag;
use envcrypt::kms::{KeyRef, KeyTagging, KmsError, KmsFuture, Tag};

use crate::errors::sdk_error;
use crate::AwsKmsService;

/// Tags as the SDK takes them.
pub(crate) fn aws_tags(tags: &[Tag]) -> Result<Vec<AwsTag>, KmsError> {
    tags.iter()
        .map(|t| {
            AwsTag::builder()
                .tag_key(&t.key)
                .tag_value(&t.value)
                .build()
                .map_err(|e| KmsError::Validation(format!("tag {:?}: {e}", t.key)))
        })
        .collect()
}

impl KeyTagging for AwsKmsService {
    fn tag_resource<'a>(&'a self, key: &'a KeyRef, tags: &'a [Tag]) -> KmsFuture<'a, ()> {
        let tags = aws_tags(tags);
        self.key_call(key, |client, key| async move {
            client
                .tag_resource()
                .key_id(&key)
                .set_tags(Some(tags?))
                .send()
                .await
                .map_err(|e| sdk_error("TagResource", &key, e))?;
            Ok(())
        })
    }

    fn untag_resource<'a>(&'a self, key: &'a KeyRef, tag_keys: &'a [String]) -> KmsFuture<'a, ()> {
        let tag_keys = tag_keys.to_vec();
        self.key_call(key, |client, key| async move {
            client
                .untag_resource()
                .key_id(&key)
                .set_tag_keys(Some(tag_keys))
                .send()
                .await
                .map_err(|e| sdk_error("UntagResource", &key, e))?;
            Ok(())
        })
    }

    fn list_resource_tags<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, Vec<Tag>> {
        self.key_call(key, |client, key| async move {
            let mut tags = Vec::new();
            let mut marker = None;
            loop {
                let out = client
                    .list_resource_tags()
                    .key_id(&key)
                    .set_marker(marker)
                    .send()
                    .await
                    .map_err(|e| sdk_error("ListResourceTags", &key, e))?;
                tags.extend(out.tags().iter().map(|t| Tag::new(t.tag_key(), t.tag_value())));
                marker = out.next_marker().map(str::to_owned).filter(|_| out.truncated());
                if marker.is_none() {
                    break;
                }
            }
            tags.sort();
            Ok(tags)
        })
    }
}
