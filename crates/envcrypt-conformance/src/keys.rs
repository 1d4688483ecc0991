//! The key-metadata scenarios: DescribeKey's full metadata, UpdateKeyDescription, tags,
//! GenerateRandom, CreateGrant in each key state, and DryRun (of the cryptographic and the grant
//! operations).

use envcrypt::kms::{
    CreateGrantRequest, DryRun, GrantDryRun, GrantOperation, GrantTarget, KeyGovernance, KeyRef, KeyTagging, Sealing,
    Tag,
};

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
        meta.encryption_algorithms().join(","),
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

/// A grant of Decrypt on `key` to the conformance app principal.
fn decrypt_grant<'a>(key: &'a KeyRef, grantee: &'a str) -> CreateGrantRequest<'a> {
    CreateGrantRequest {
        key,
        grantee_principal: grantee,
        operations: &[GrantOperation::Decrypt],
        retiring_principal: None,
        constraints: None,
        name: None,
    }
}

/// How many grants a key has after a dry run that would have succeeded.
fn grants_left(governance: &dyn KeyGovernance, key: &KeyRef) -> Result<String> {
    Ok(format!("would succeed; {} grants", governance.list_grants(key).wait()?.len()))
}

/// CreateGrant, or its DryRun if `dry_run`, on a new key put in another state by `change`.
pub(crate) fn grant_on(
    b: &Backend<'_>,
    change: fn(&Backend<'_>, &KeyRef) -> std::result::Result<(), envcrypt::kms::KmsError>,
    dry_run: bool,
) -> Result<String> {
    let governance = b.governance()?;
    let grantee = b.principals()?.arn("user/envcrypt-conformance-app");
    let key = id(&b.new_key()?);
    change(b, &key).map_err(setup)?;
    let request = decrypt_grant(&key, &grantee);
    if dry_run {
        governance.dry_run_grant(GrantDryRun::Create(request)).wait()?;
        return grants_left(governance, &key);
    }
    governance.create_grant(request).wait()?;
    Ok("granted".into())
}

/// Which grant a dry run of RetireGrant or RevokeGrant names.
#[derive(Clone, Copy)]
pub(crate) enum GrantRemoval {
    Retire,
    Revoke,
    RevokeUnknown,
}

/// DryRun of RetireGrant or RevokeGrant on a key with one grant, which the caller may retire.
pub(crate) fn dry_run_remove_grant(b: &Backend<'_>, removal: GrantRemoval) -> Result<String> {
    let governance = b.governance()?;
    let principals = b.principals()?;
    let (grantee, caller) = (principals.arn("user/envcrypt-conformance-app"), principals.caller_arn());
    let key = id(&b.new_key()?);
    let request = CreateGrantRequest { retiring_principal: Some(&caller), ..decrypt_grant(&key, &grantee) };
    let grant = governance.create_grant(request).wait().map_err(setup)?;
    let unknown = "0".repeat(64);
    let request = match removal {
        GrantRemoval::Retire => GrantDryRun::Retire(GrantTarget::Id { key: &key, grant_id: &grant.grant_id }),
        GrantRemoval::Revoke => GrantDryRun::Revoke { key: &key, grant_id: &grant.grant_id },
        GrantRemoval::RevokeUnknown => GrantDryRun::Revoke { key: &key, grant_id: &unknown },
    };
    governance.dry_run_grant(request).wait()?;
    grants_left(governance, &key)
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
