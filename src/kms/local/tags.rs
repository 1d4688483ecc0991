//! Tags on the local store's keys: TagResource, UntagResource, ListResourceTags. Tags are
//! kept in the key's record; key policies cannot yet condition on them (`aws:ResourceTag/…` is
//! refused as a condition key, not ignored).

use serde_json::json;

use super::audit::Call;
use super::{key_param, LocalKeyService};
use crate::kms::{merge_tags, validate_tag_key, KeyRef, KeyTagging, KmsFuture, Tag};

/// Tags as an audit event records them (tags are not secret).
pub(super) fn tags_param(tags: &[Tag]) -> serde_json::Value {
    tags.iter().map(|t| json!({ "tagKey": t.key, "tagValue": t.value })).collect()
}

impl KeyTagging for LocalKeyService {
    fn tag_resource<'a>(&'a self, key: &'a KeyRef, tags: &'a [Tag]) -> KmsFuture<'a, ()> {
        let call = Call::new("TagResource", false).param("tags", tags_param(tags));
        KmsFuture::ready(self.update_key(key, call, |record, _| {
            self.lifecycle(record).check_metadata_change("TagResource")?;
            merge_tags(&mut record.tags, tags)
        }))
    }

    fn untag_resource<'a>(&'a self, key: &'a KeyRef, tag_keys: &'a [String]) -> KmsFuture<'a, ()> {
        let call = Call::new("UntagResource", false).param("tagKeys", tag_keys);
        KmsFuture::ready(self.update_key(key, call, |record, _| {
            self.lifecycle(record).check_metadata_change("UntagResource")?;
            for tag_key in tag_keys {
                validate_tag_key(tag_key)?;
                record.tags.remove(tag_key);
            }
            Ok(())
        }))
    }

    fn list_resource_tags<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, Vec<Tag>> {
        let call = Call::new("ListResourceTags", true).param("keyId", key_param(key));
        KmsFuture::ready(self.audited(call, |call| {
            let txn = self.disk.read()?;
            let record = self.load(&txn, &self.resolve(&txn, key)?)?;
            call.resource(&self.arn(&record.key_id));
            self.authorize(&record, "kms:ListResourceTags", None)?;
            Ok(record.tags.iter().map(|(k, v)| Tag::new(k, v)).collect())
        }))
    }
}
