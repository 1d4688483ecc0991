//! The key-metadata scenarios: DescribeKey's full metadata, UpdateKeyDescription, tags,
//! GenerateRandom, CreateGrant in each key state, and DryRun.

use envcrypt::kms::{CreateGrantRequest, DryRun, GrantOperation, KeyRef, KeyTagging, Sealing, Tag};

use crate::backend::{id, setup, Backend, ScenarioError};

type Result<T> = std::result::Result<T, ScenarioError>;

/// DescribeKey of a new key: its usage, spec, manager and encryption algorithms. (Not its
/// origin: AWS_KMS, or AWS_CLOUDHSM in a custom key store, both as documented.)
pub(crate) fn full_metadata(b: &Backend<'_>) -> Result<String> {
    let key = b.new_key()?;
    let meta = b.admin.describe_key(&id(&key)).wait()?;
    Ok(format!(
        "{} {} {} {} enabled={}",
        meta.key_usage,
        meta.key_spec,
        meta.key_manager,
        meta.key_spec.encryption_algorithms().join(","),
        meta.enabled()
    ))
}

/// DescribeKey of a key pending deletion: its waiting period.
pub(crate) fn deletion_window(b: &Backend<'_>) -> Result<String> {
    let key = b.new_key()?;
    b.admin.schedule_key_deletion(&id(&key), 9).wait().map_err(setup)?;
    let meta = b.admin.describe_key(&id(&key)).wait()?;
    Ok(match meta.pending_deletion_window_days {
        Some(days) => format!("{days} days"),
        None => "no window".into(),
    })
}

/// UpdateKeyDescription, then DescribeKey.
pub(crate) fn update_description(b: &Backend<'_>, pending_deletion: bool) -> Result<String> {
    let key = b.new_key()?;
    if pending_deletion {
        b.admin.schedule_key_deletion(&id(&key), 7).wait().map_err(setup)?;
    }
    b.admin.update_key_description(&id(&key), "changed by a scenario").wait()?;
    Ok(b.admin.describe_key(&id(&key)).wait()?.description)
}

fn tagging<'a>(b: &Backend<'a>) -> Result<&'a dyn KeyTagging> {
    b.service.tagging().ok_or_else(|| ScenarioError::NotRun(format!("the {} backend keeps no tags", b.name())))
}

fn listed(tagging: &dyn KeyTagging, key: &KeyRef) -> Result<String> {
    let tags = tagging.list_resource_tags(&id(key)).wait()?;
    Ok(if tags.is_empty() {
        "no tags".into()
    } else {
        tags.iter().map(|t| format!("{}={}", t.key, t.value)).collect::<Vec<_>>().join(",")
    })
}

/// TagResource with `tags`, then ListResourceTags.
pub(crate) fn tagged(b: &Backend<'_>, tags: &[Tag]) -> Result<String> {
    let tagging = tagging(b)?;
    let key = b.new_key()?;
    tagging.tag_resource(&id(&key), tags).wait()?;
    listed(tagging, &key)
}

/// Tags a key twice (the second replaces one value), then removes one tag.
pub(crate) fn retagged_and_untagged(b: &Backend<'_>) -> Result<String> {
    let tagging = tagging(b)?;
    let key = b.new_key()?;
    tagging.tag_resource(&id(&key), &[Tag::new("team", "a"), Tag::new("stage", "dev")]).wait().map_err(setup)?;
    tagging.tag_resource(&id(&key), &[Tag::new("stage", "prod")]).wait()?;
    tagging.untag_resource(&id(&key), &["team".to_owned()]).wait()?;
    listed(tagging, &key)
}

/// 51 tags on one key, in two calls.
pub(crate) fn too_many_tags(b: &Backend<'_>) -> Result<String> {
    let tagging = tagging(b)?;
    let key = b.new_key()?;
    let first: Vec<Tag> = (0..50).map(|i| Tag::new(format!("k{i}"), "v")).collect();
    tagging.tag_resource(&id(&key), &first).wait().map_err(setup)?;
    tagging.tag_resource(&id(&key), &[Tag::new("one-more", "v")]).wait()?;
    Ok(format!("{} tags", tagging.list_resource_tags(&id(&key)).wait()?.len()))
}

/// TagResource on a key pending deletion.
pub(crate) fn tag_pending_deletion(b: &Backend<'_>) -> Result<String> {
    let tagging = tagging(b)?;
    let key = b.new_key()?;
    b.admin.schedule_key_deletion(&id(&key), 7).wait().map_err(setup)?;
    tagging.tag_resource(&id(&key), &[Tag::new("late", "yes")]).wait()?;
    listed(tagging, &key)
}

/// GenerateRandom of `n` bytes.
pub(crate) fn random(b: &Backend<'_>, n: usize) -> Result<String> {
    Ok(format!("{} bytes", b.service.generate_random(n).wait()?.len()))
}

/// CreateGrant on a key put in another state by `change`.
pub(crate) fn grant_on(
    b: &Backend<'_>,
    change: fn(&Backend<'_>, &KeyRef) -> std::result::Result<(), envcrypt::kms::KmsError>,
) -> Result<String> {
    let governance = b.governance()?;
    let grantee = b.principals()?.arn("user/envcrypt-conformance-app");
    let key = b.new_key()?;
    change(b, &id(&key)).map_err(setup)?;
    let request = CreateGrantRequest {
        key: &id(&key),
        grantee_principal: &grantee,
        operations: &[GrantOperation::Decrypt],
        retiring_principal: None,
        constraints: None,
        name: None,
    };
    governance.create_grant(request).wait()?;
    Ok("granted".into())
}

/// DryRun of Encrypt under a new key put in another state by `change` (none: `|_, _| Ok(())`).
pub(crate) fn dry_run_encrypt(
    b: &Backend<'_>,
    change: fn(&Backend<'_>, &KeyRef) -> std::result::Result<(), envcrypt::kms::KmsError>,
) -> Result<String> {
    let key = b.new_key()?;
    change(b, &id(&key)).map_err(setup)?;
    let context = crate::backend::purpose();
    b.service.dry_run(DryRun::Seal { operation: Sealing::Encrypt, key: &key, context: &context }).wait()?;
    Ok("would succeed".into())
}

/// DryRun of Decrypt of a blob the key encrypted.
pub(crate) fn dry_run_decrypt(b: &Backend<'_>) -> Result<String> {
    let key = b.new_key()?;
    let context = crate::backend::purpose();
    let blob = b.service.encrypt(&key, b"dry", &context).wait().map_err(setup)?.blob;
    b.service.dry_run(DryRun::Decrypt { blob: &blob, context: &context, expected_key: None }).wait()?;
    Ok("would succeed".into())
}
