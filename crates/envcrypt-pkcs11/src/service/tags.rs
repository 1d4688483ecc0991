//! Tags on the cluster's keys, kept with the key's metadata on every token, as KMS tags the
//! keys of a custom key store; the rules are KMS's ([`merge_tags`]).

use envcrypt::kms::{merge_tags, validate_tag_key, KeyRef, KeyTagging, KmsFuture, Tag};

use super::Pkcs11KeyService;

impl KeyTagging for Pkcs11KeyService {
    fn tag_resource<'a>(&'a self, key: &'a KeyRef, tags: &'a [Tag]) -> KmsFuture<'a, ()> {
        KmsFuture::ready(
            self.update(key, |meta| {
                self.lifecycle(meta).check_metadata_change("TagResource")?;
                merge_tags(&mut meta.tags, tags)
            })
            .map(drop),
        )
    }

    fn untag_resource<'a>(&'a self, key: &'a KeyRef, tag_keys: &'a [String]) -> KmsFuture<'a, ()> {
        KmsFuture::ready(
            self.update(key, |meta| {
                self.lifecycle(meta).check_metadata_change("UntagResource")?;
                for tag_key in tag_keys {
                    validate_tag_key(tag_key)?;
                    meta.tags.remove(tag_key);
                }
                Ok(())
            })
            .map(drop),
        )
    }

    fn list_resource_tags<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, Vec<Tag>> {
        KmsFuture::ready(
            self.resolve(key)
                .and_then(|key_id| self.meta(&key_id))
                .map(|meta| meta.tags.iter().map(|(k, v)| Tag::new(k, v)).collect()),
        )
    }
}
