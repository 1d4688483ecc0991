//! Key policies, grants and the audit trail of the local store, with several principals.

use std::fs;

use envcrypt::kms::local::{read_audit_events, AuditDamage, AuditError, LocalKeyService, StoreError, StoreOptions};
use envcrypt::kms::{
    CreateGrantRequest, CreateKeyRequest, DataKeySpec, EncryptionContext, GrantConstraints, GrantOperation,
    GrantTarget, KeyAdmin, KeyGovernance, KeyRef, KeyService, KeyState, KmsError, ReEncryptRequest,
};
use serde_json::Value;

const ACCOUNT: &str = "000000000000";

struct Team {
    dir: tempfile::TempDir,
    admin: LocalKeyService,
    user: LocalKeyService,
    rewrapper: LocalKeyService,
}

fn arn(name: &str) -> String {
    format!("arn:envcrypt:iam::{ACCOUNT}:{name}")
}

fn store_dir(dir: &tempfile::TempDir) -> std::path::PathBuf {
    dir.path().join("store")
}

/// A store with three principals: `user/admin`, `user/app` and `role/rewrapper`.
fn team() -> Team {
    let dir = tempfile::tempdir().unwrap();
    let admin = LocalKeyService::open(StoreOptions::new(store_dir(&dir)).principal("admin")).unwrap();
    let user = admin.as_principal("app").unwrap();
    let rewrapper = admin.as_principal("role/rewrapper").unwrap();
    Team { dir, admin, user, rewrapper }
}

/// The two-role policy of docs/access-control.md: the admin administers, the app uses, the rewrapper only
/// re-encrypts.
fn separated_policy() -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Administration",
                "Effect": "Allow",
                "Principal": { "AWS": arn("user/admin") },
                "Action": ["kms:Describe*", "kms:Put*", "kms:Get*", "kms:List*", "kms:Enable*", "kms:Disable*",
                           "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
                           "kms:CreateGrant", "kms:RevokeGrant", "kms:CreateAlias", "kms:DeleteAlias"],
                "Resource": "*"
            },
            {
                "Sid": "Use",
                "Effect": "Allow",
                "Principal": { "AWS": arn("user/app") },
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": "*"
            },
            {
                "Sid": "Rewrap",
                "Effect": "Allow",
                "Principal": { "AWS": arn("role/rewrapper") },
                "Action": "kms:ReEncrypt*",
                "Resource": "*"
            }
        ]
    })
    .to_string()
}

fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn key_with(admin: &LocalKeyService, policy: &str) -> KeyRef {
    KeyRef::parse(&admin.create_key_with(CreateKeyRequest::new("governed").policy(policy, false)).wait().unwrap().arn)
        .unwrap()
}

fn denied<T: std::fmt::Debug>(result: Result<T, KmsError>) -> String {
    match result {
        Err(e @ KmsError::AccessDenied(_)) => e.to_string(),
        other => panic!("expected AccessDeniedException, got {other:?}"),
    }
}

#[test]
fn an_admin_without_usage_rights_cannot_decrypt_and_a_user_cannot_administer() {
    let t = team();
    let policy = separated_policy();
    let key = key_with(&t.admin, &policy);
    let context = ctx(&[("purpose", "payroll")]);
    let data_key = t.user.generate_data_key(&key, DataKeySpec::Aes256, &context).wait().unwrap();
    assert_eq!(t.user.decrypt(&data_key.ciphertext_blob, &context, None).wait().unwrap().plaintext, data_key.plaintext);

    let message = denied(t.admin.decrypt(&data_key.ciphertext_blob, &context, None).wait());
    assert!(message.contains(&arn("user/admin")) && message.contains("kms:Decrypt"), "{message}");
    assert!(message.contains(&data_key.key_arn), "{message}");
    assert!(!message.contains("Sid") && !message.contains("Administration"), "no policy text: {message}");
    denied(t.admin.generate_data_key(&key, DataKeySpec::Aes256, &context).wait());

    denied(t.user.disable_key(&key).wait());
    denied(t.user.put_key_policy(&key, &policy, false).wait());
    denied(t.user.get_key_policy(&key).wait());
    t.admin.disable_key(&key).wait().unwrap();
    t.admin.enable_key(&key).wait().unwrap();
    assert_eq!(t.admin.get_key_policy(&key).wait().unwrap(), policy);
}

#[test]
fn a_reencrypt_only_principal_rewraps_what_it_cannot_decrypt() {
    let t = team();
    let policy = separated_policy();
    let (old, new) = (key_with(&t.admin, &policy), key_with(&t.admin, &policy));
    let context = ctx(&[("purpose", "archive")]);
    let data_key = t.user.generate_data_key(&old, DataKeySpec::Aes256, &context).wait().unwrap();

    denied(t.rewrapper.decrypt(&data_key.ciphertext_blob, &context, None).wait());
    let moved = t
        .rewrapper
        .re_encrypt(ReEncryptRequest {
            blob: &data_key.ciphertext_blob,
            source_context: &context,
            source_key: None,
            destination_key: &new,
            destination_context: &context,
        })
        .wait()
        .unwrap();
    denied(t.rewrapper.decrypt(&moved.blob, &context, None).wait());
    assert_eq!(t.user.decrypt(&moved.blob, &context, None).wait().unwrap().plaintext, data_key.plaintext);

    // The user may decrypt but not re-encrypt: ReEncryptFrom is its own permission.
    denied(
        t.user
            .re_encrypt(ReEncryptRequest {
                blob: &moved.blob,
                source_context: &context,
                source_key: None,
                destination_key: &old,
                destination_context: &context,
            })
            .wait(),
    );
}

#[test]
fn an_explicit_deny_and_context_conditions_are_enforced() {
    let t = team();
    let policy = serde_json::json!({
        "Statement": [
            { "Effect": "Allow", "Principal": { "AWS": arn("user/admin") }, "Action": "kms:*", "Resource": "*" },
            { "Effect": "Allow", "Principal": { "AWS": arn("user/app") }, "Action": "kms:*", "Resource": "*",
              "Condition": { "StringEquals": { "kms:EncryptionContext:team": "payroll" } } },
            { "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
              "Condition": { "StringEquals": { "kms:EncryptionContext:classification": "secret" } } }
        ]
    })
    .to_string();
    let key = key_with(&t.admin, &policy);
    let payroll = ctx(&[("team", "payroll")]);
    let blob = t.user.encrypt(&key, b"salary", &payroll).wait().unwrap().blob;
    assert_eq!(t.user.decrypt(&blob, &payroll, None).wait().unwrap().plaintext.expose_secret(), b"salary");
    denied(t.user.encrypt(&key, b"other", &ctx(&[("team", "sales")])).wait());

    let secret = ctx(&[("classification", "secret")]);
    let blob = t.admin.encrypt(&key, b"plans", &secret).wait().unwrap().blob;
    let message = denied(t.admin.decrypt(&blob, &secret, None).wait());
    assert!(message.contains("explicit deny"), "{message}");
}

#[test]
fn grants_allow_at_once_with_constraints_and_stop_when_retired_or_revoked() {
    let t = team();
    let key = key_with(&t.admin, &separated_policy());
    let context = ctx(&[("job", "nightly")]);
    let blob = t.user.encrypt(&key, b"backup key", &context).wait().unwrap().blob;
    let batch = t.admin.as_principal("role/batch").unwrap();
    denied(batch.decrypt(&blob, &context, None).wait());

    let constraints = GrantConstraints {
        encryption_context_subset: Some([("job".to_owned(), "nightly".to_owned())].into()),
        ..GrantConstraints::default()
    };
    let grant = t
        .admin
        .create_grant(CreateGrantRequest {
            key: &key,
            grantee_principal: &arn("role/batch"),
            operations: &[GrantOperation::Decrypt, GrantOperation::RetireGrant],
            retiring_principal: None,
            constraints: Some(&constraints),
            name: Some("nightly-restore"),
        })
        .wait()
        .unwrap();
    assert_eq!(batch.decrypt(&blob, &context, None).wait().unwrap().plaintext.expose_secret(), b"backup key");
    let other = ctx(&[("job", "adhoc")]);
    let other_blob = t.user.encrypt(&key, b"other", &other).wait().unwrap().blob;
    denied(batch.decrypt(&other_blob, &other, None).wait());
    denied(batch.encrypt(&key, b"x", &context).wait());

    let listed = t.admin.list_grants(&key).wait().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].grant_id, grant.grant_id);
    assert_eq!(listed[0].grantee_principal, arn("role/batch"));
    denied(t.user.list_grants(&key).wait());

    // The grantee retires its own grant by token; the next call is refused.
    denied(t.user.retire_grant(GrantTarget::Token(&grant.grant_token)).wait());
    batch.retire_grant(GrantTarget::Token(&grant.grant_token)).wait().unwrap();
    denied(batch.decrypt(&blob, &context, None).wait());

    let again = t
        .admin
        .create_grant(CreateGrantRequest {
            key: &key,
            grantee_principal: "role/batch",
            operations: &[GrantOperation::Decrypt],
            retiring_principal: None,
            constraints: None,
            name: None,
        })
        .wait()
        .unwrap();
    batch.decrypt(&other_blob, &other, None).wait().unwrap();
    denied(t.user.revoke_grant(&key, &again.grant_id).wait());
    t.admin.revoke_grant(&key, &again.grant_id).wait().unwrap();
    denied(batch.decrypt(&other_blob, &other, None).wait());
    assert_eq!(t.admin.revoke_grant(&key, &again.grant_id).wait().unwrap_err().kms_name(), "NotFoundException");
    assert_eq!(t.admin.revoke_grant(&key, "nope").wait().unwrap_err().kms_name(), "InvalidGrantIdException");
    assert_eq!(
        t.admin.retire_grant(GrantTarget::Token("garbage")).wait().unwrap_err().kms_name(),
        "InvalidGrantTokenException"
    );
}

fn refused_context(error: &KmsError) -> bool {
    matches!(error.kms_name(), "ValidationException" | "InvalidCiphertextException")
}

/// The claim "a grant constraint or a policy condition is satisfied only by the context the
/// ciphertext is bound to", attacked with a context too large to serialize: once, such a
/// context fell back to the empty context's encoding as AAD, so a principal limited to
/// `team=payroll` opened blobs sealed with no context at all by naming the pair in a padded one.
#[test]
fn an_oversized_context_satisfies_no_grant_constraint_or_policy_condition() {
    let t = team();
    let policy = serde_json::json!({
        "Statement": [
            { "Effect": "Allow", "Principal": { "AWS": arn("user/admin") }, "Action": "kms:*", "Resource": "*" },
            { "Effect": "Allow", "Principal": { "AWS": arn("user/app") }, "Action": "kms:*", "Resource": "*",
              "Condition": { "StringEquals": { "kms:EncryptionContext:team": "payroll" } } }
        ]
    })
    .to_string();
    let key = key_with(&t.admin, &policy);
    let constraints = GrantConstraints {
        encryption_context_subset: Some([("team".to_owned(), "payroll".to_owned())].into()),
        ..GrantConstraints::default()
    };
    t.admin
        .create_grant(CreateGrantRequest {
            key: &key,
            grantee_principal: &arn("role/batch"),
            operations: &[GrantOperation::Decrypt, GrantOperation::ReEncryptFrom, GrantOperation::ReEncryptTo],
            retiring_principal: None,
            constraints: Some(&constraints),
            name: None,
        })
        .wait()
        .unwrap();
    let batch = t.admin.as_principal("role/batch").unwrap();
    let unbound = t.admin.encrypt(&key, b"sealed with no context", &EncryptionContext::new()).wait().unwrap().blob;
    let other_team = ctx(&[("team", "sales")]);
    let sales = t.admin.encrypt(&key, b"sales", &other_team).wait().unwrap().blob;

    let payroll = ctx(&[("team", "payroll")]);
    for pad in [9_000, 70_000, 200_000] {
        let padded = ctx(&[("team", "payroll"), ("padding", &"x".repeat(pad))]);
        for (who, service) in [("app", &t.user), ("batch", &batch)] {
            // Opening takes any context that serializes (ciphertext of before the limit may need
            // one), but binds exactly it: refused as too large, or as not the bound context.
            for blob in [&unbound, &sales] {
                let err = service.decrypt(blob, &padded, None).wait().unwrap_err();
                assert!(refused_context(&err), "{who}, {pad}-byte pad: {err}");
            }
            let moved = service.re_encrypt(ReEncryptRequest {
                blob: &unbound,
                source_context: &padded,
                source_key: None,
                destination_key: &key,
                destination_context: &payroll,
            });
            assert!(refused_context(&moved.wait().unwrap_err()), "{who}: ReEncrypt source");
        }
        let payroll_blob = t.user.encrypt(&key, b"payroll", &payroll).wait().unwrap().blob;
        let moved = batch.re_encrypt(ReEncryptRequest {
            blob: &payroll_blob,
            source_context: &payroll,
            source_key: None,
            destination_key: &key,
            destination_context: &padded,
        });
        assert_eq!(moved.wait().unwrap_err().kms_name(), "ValidationException", "ReEncrypt destination");
        for result in [
            t.user.generate_data_key(&key, DataKeySpec::Aes256, &padded).wait().map(drop),
            t.user.generate_data_key_without_plaintext(&key, DataKeySpec::Aes256, &padded).wait().map(drop),
            t.user.encrypt(&key, b"x", &padded).wait().map(drop),
        ] {
            assert_eq!(result.unwrap_err().kms_name(), "ValidationException");
        }
    }
    // Within the limits, the bound context is the one authorized.
    denied(t.user.decrypt(&unbound, &EncryptionContext::new(), None).wait());
    denied(batch.decrypt(&sales, &other_team, None).wait());
    let blob = t.user.encrypt(&key, b"ok", &payroll).wait().unwrap().blob;
    assert_eq!(batch.decrypt(&blob, &payroll, None).wait().unwrap().plaintext.expose_secret(), b"ok");
}

/// The claim "a key policy means one thing", attacked with documents whose repeated members
/// read differently to different JSON parsers: a Deny that a last-wins reader takes for an
/// Allow, a principal or action swapped by a second member, at any depth.
#[test]
fn a_policy_naming_a_member_twice_is_refused_at_any_depth() {
    let t = team();
    let key = key_with(&t.admin, &separated_policy());
    let admin = format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"{}"}},"Action":"kms:*","Resource":"*"}}"#,
        arn("user/admin")
    );
    let app = arn("user/app");
    for statement in [
        format!(
            r#"{{"Effect":"Deny","Effect":"Allow","Principal":{{"AWS":"{app}"}},"Action":"kms:*","Resource":"*"}}"#
        ),
        format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"{app}"}},"Action":"kms:Encrypt","Action":"kms:*","Resource":"*"}}"#
        ),
        format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"{app}","AWS":"*"}},"Action":"kms:Decrypt","Resource":"*"}}"#
        ),
        format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"{app}"}},"Action":"kms:Decrypt","Resource":"*",
                "Condition":{{"StringEquals":{{"kms:EncryptionContext:team":"payroll","kms:EncryptionContext:team":"x"}}}}}}"#
        ),
    ] {
        let policy = format!(r#"{{"Version":"2012-10-17","Statement":[{admin},{statement}]}}"#);
        let put = t.admin.put_key_policy(&key, &policy, false).wait().unwrap_err();
        assert_eq!(put.kms_name(), "MalformedPolicyDocumentException", "{statement}");
        assert!(put.to_string().contains("appears twice"), "{put}");
        let created =
            t.admin.create_key_with(CreateKeyRequest::new("twice").policy(&policy, false)).wait().unwrap_err();
        assert_eq!(created.kms_name(), "MalformedPolicyDocumentException", "{statement}");
    }
    let twice_at_top = format!(r#"{{"Statement":[{admin}],"Statement":[{admin}]}}"#);
    assert_eq!(
        t.admin.put_key_policy(&key, &twice_at_top, false).wait().unwrap_err().kms_name(),
        "MalformedPolicyDocumentException"
    );
    assert_eq!(t.admin.get_key_policy(&key).wait().unwrap(), separated_policy(), "the policy is unchanged");
}

#[test]
fn a_grantee_passes_on_only_what_it_holds() {
    let t = team();
    let key = key_with(&t.admin, &separated_policy());
    let grant = |by: &LocalKeyService, to: &str, ops: &[GrantOperation]| {
        by.create_grant(CreateGrantRequest {
            key: &key,
            grantee_principal: to,
            operations: ops,
            retiring_principal: None,
            constraints: None,
            name: None,
        })
        .wait()
    };
    grant(&t.admin, "role/broker", &[GrantOperation::Decrypt, GrantOperation::CreateGrant]).unwrap();
    let broker = t.admin.as_principal("role/broker").unwrap();
    grant(&broker, "role/worker", &[GrantOperation::Decrypt]).unwrap();
    denied(grant(&broker, "role/worker", &[GrantOperation::Encrypt]));
    denied(grant(&t.user, "role/worker", &[GrantOperation::Decrypt]));
}

#[test]
fn a_policy_that_locks_its_setter_out_is_refused_unless_bypassed() {
    let t = team();
    let key = KeyRef::parse(&t.admin.create_key("mine").wait().unwrap().arn).unwrap();
    let user_only = serde_json::json!({
        "Statement": { "Effect": "Allow", "Principal": { "AWS": arn("user/app") }, "Action": "kms:*", "Resource": "*" }
    })
    .to_string();
    let err = t.admin.put_key_policy(&key, &user_only, false).wait().unwrap_err();
    assert_eq!(err.kms_name(), "MalformedPolicyDocumentException");
    assert!(err.to_string().contains("update the key policy in the future"), "{err}");
    assert_eq!(
        t.admin.create_key_with(CreateKeyRequest::new("x").policy(&user_only, false)).wait().unwrap_err().kms_name(),
        "MalformedPolicyDocumentException"
    );
    t.admin.put_key_policy(&key, &user_only, true).wait().unwrap();
    denied(t.admin.describe_key(&key).wait());
    t.user.describe_key(&key).wait().unwrap();
    assert_eq!(
        t.user.put_key_policy(&key, "{not json", false).wait().unwrap_err().kms_name(),
        "MalformedPolicyDocumentException"
    );
}

#[test]
fn keys_default_to_their_creator_and_the_root_can_always_recover() {
    let t = team();
    let key = KeyRef::parse(&t.admin.create_key("default policy").wait().unwrap().arn).unwrap();
    let blob = t.admin.encrypt(&key, b"mine", &ctx(&[])).wait().unwrap().blob;
    denied(t.user.decrypt(&blob, &ctx(&[]), None).wait());
    let root = t.admin.as_principal(&arn("root")).unwrap();
    root.put_key_policy(&key, &separated_policy(), true).wait().unwrap();
    t.user.decrypt(&blob, &ctx(&[]), None).wait().unwrap();
}

#[test]
fn keys_from_before_key_policies_stay_usable_by_the_account() {
    let t = team();
    let key = KeyRef::parse(&t.admin.create_key("old").wait().unwrap().arn).unwrap();
    let record = store_dir(&t.dir).join("keys").join(format!("{}.json", key.key_id().unwrap()));
    let mut json: Value = serde_json::from_slice(&fs::read(&record).unwrap()).unwrap();
    json.as_object_mut().unwrap().remove("policy");
    fs::write(&record, serde_json::to_vec(&json).unwrap()).unwrap();
    let meta_path = store_dir(&t.dir).join("store.json");
    let mut meta: Value = serde_json::from_slice(&fs::read(&meta_path).unwrap()).unwrap();
    meta["format"] = 1.into();
    fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
    let reopened = LocalKeyService::open(StoreOptions::new(store_dir(&t.dir)).principal("app")).unwrap();
    let meta: Value = serde_json::from_slice(&fs::read(&meta_path).unwrap()).unwrap();
    assert_eq!(meta["format"], 3, "a version-1 store is upgraded when opened");
    let blob = reopened.encrypt(&key, b"shared", &ctx(&[])).wait().unwrap().blob;
    t.rewrapper.decrypt(&blob, &ctx(&[]), None).wait().unwrap();
    assert!(t.user.get_key_policy(&key).wait().unwrap().contains("kms:CallerAccount"));
    let stranger = t.admin.as_principal("arn:envcrypt:iam::111122223333:user/eve").unwrap();
    denied(stranger.decrypt(&blob, &ctx(&[]), None).wait());
}

fn events(t: &Team) -> Vec<Value> {
    read_audit_events(&store_dir(&t.dir)).unwrap()
}

#[test]
fn every_call_is_audited_allowed_or_denied_and_never_with_secrets() {
    let t = team();
    let key = key_with(&t.admin, &separated_policy());
    let context = ctx(&[("purpose", "audit-test")]);
    let data_key = t.user.generate_data_key(&key, DataKeySpec::Aes256, &context).wait().unwrap();
    let _ = t.admin.decrypt(&data_key.ciphertext_blob, &context, None).wait();
    let _ = t.user.describe_key(&KeyRef::parse("alias/missing").unwrap()).wait();

    let events = events(&t);
    let names: Vec<&str> = events.iter().map(|e| e["eventName"].as_str().unwrap()).collect();
    assert_eq!(names, ["CreateKey", "GenerateDataKey", "Decrypt", "DescribeKey"]);
    let generate = &events[1];
    assert_eq!(generate["userIdentity"]["arn"], arn("user/app"));
    assert_eq!(generate["userIdentity"]["type"], "IAMUser");
    assert_eq!(generate["requestParameters"]["keyId"], key.to_string());
    assert_eq!(generate["requestParameters"]["keySpec"], "AES_256");
    assert_eq!(generate["requestParameters"]["encryptionContext"]["purpose"], "audit-test");
    assert_eq!(generate["resources"][0]["ARN"], data_key.key_arn);
    assert!(generate.get("errorCode").is_none());
    assert_eq!(generate["requestID"].as_str().unwrap().len(), 36);
    let decrypt = &events[2];
    assert_eq!(decrypt["errorCode"], "AccessDeniedException");
    assert!(decrypt["errorMessage"].as_str().unwrap().contains("kms:Decrypt"));
    assert_eq!(decrypt["userIdentity"]["arn"], arn("user/admin"));
    assert_eq!(decrypt["responseElements"], Value::Null);
    assert_eq!(events[3]["errorCode"], "NotFoundException");

    let log = fs::read(store_dir(&t.dir).join("audit.log")).unwrap();
    let secret = data_key.plaintext.expose_secret();
    assert!(!log.windows(secret.len()).any(|w| w == secret), "the raw data key is in the log");
    for encoded in [hex::encode(secret), base64_std(secret)] {
        assert!(!String::from_utf8_lossy(&log).contains(&encoded), "an encoded data key is in the log");
    }
    assert_eq!(t.admin.verify_audit_log().unwrap().events, 4);
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Applies `edit` to the log's lines and returns what `verify` says.
fn verify_after(edit: impl FnOnce(&mut Vec<String>)) -> AuditError {
    let t = team();
    let key = key_with(&t.admin, &separated_policy());
    for i in 0..5 {
        t.user.encrypt(&key, format!("n{i}").as_bytes(), &ctx(&[])).wait().unwrap();
    }
    assert_eq!(t.admin.verify_audit_log().unwrap().events, 6);
    let path = store_dir(&t.dir).join("audit.log");
    let mut lines: Vec<String> = fs::read_to_string(&path).unwrap().lines().map(str::to_owned).collect();
    edit(&mut lines);
    fs::write(&path, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    t.admin.verify_audit_log().unwrap_err()
}

#[test]
fn audit_verify_catches_edits_deletions_reordering_and_truncation() {
    let edited = verify_after(|lines| {
        lines[2] = lines[2].replace("\"encryptionContext\":{}", "\"encryptionContext\":{\"a\":\"b\"}")
    });
    assert!(matches!(edited, AuditError::Tampered { line: 3, .. }), "{edited}");
    let renamed = verify_after(|lines| lines[1] = lines[1].replace("user/app", "user/eve"));
    assert!(matches!(renamed, AuditError::Tampered { line: 2, .. }), "{renamed}");
    let removed = verify_after(|lines| drop(lines.remove(3)));
    assert!(matches!(removed, AuditError::Tampered { line: 4, .. }), "{removed}");
    let swapped = verify_after(|lines| lines.swap(2, 3));
    assert!(matches!(swapped, AuditError::Tampered { line: 3, .. }), "{swapped}");
    let cut = verify_after(|lines| lines.truncate(4));
    assert!(matches!(cut, AuditError::Truncated { events: 4, head: 6, .. }), "{cut}");
    let garbage = verify_after(|lines| lines.push("{}".into()));
    assert!(matches!(garbage, AuditError::Malformed { line: 7, .. }), "{garbage}");
}

#[test]
fn a_forged_chain_needs_the_root_key() {
    let t = team();
    t.admin.create_key("a").wait().unwrap();
    let other = tempfile::tempdir().unwrap();
    let stranger = LocalKeyService::open(StoreOptions::new(other.path().join("store")).principal("admin")).unwrap();
    stranger.create_key("b").wait().unwrap();
    // A valid log from another store (another root key) does not verify here.
    fs::copy(other.path().join("store/audit.log"), store_dir(&t.dir).join("audit.log")).unwrap();
    assert!(matches!(t.admin.verify_audit_log().unwrap_err(), AuditError::Tampered { line: 1, .. }));
}

#[test]
fn the_chain_continues_across_processes_and_without_the_log_the_store_still_works() {
    let t = team();
    t.admin.create_key("first").wait().unwrap();
    let second = LocalKeyService::open(StoreOptions::new(store_dir(&t.dir)).principal("app")).unwrap();
    second.list_keys().wait().unwrap();
    t.admin.list_aliases().wait().unwrap();
    second.list_keys().wait().unwrap();
    assert_eq!(t.admin.verify_audit_log().unwrap().events, 4);

    let quiet =
        LocalKeyService::open(StoreOptions::new(store_dir(&t.dir)).principal("admin").audit_log(false)).unwrap();
    quiet.list_keys().wait().unwrap();
    assert_eq!(t.admin.verify_audit_log().unwrap().events, 4);
}

fn damage(result: Result<impl std::fmt::Debug, KmsError>) -> AuditDamage {
    match result {
        Err(KmsError::Store(StoreError::AuditLogDamaged { problem, .. })) => problem,
        other => panic!("expected the call to be refused for the audit log, got {other:?}"),
    }
}

fn log_lines(t: &Team) -> Vec<String> {
    fs::read_to_string(store_dir(&t.dir).join("audit.log")).unwrap().lines().map(str::to_owned).collect()
}

fn write_lines(t: &Team, lines: &[String]) {
    fs::write(store_dir(&t.dir).join("audit.log"), lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
}

/// The claim "events cut from the end of the log are caught", attacked the way that once hid
/// them: cut the last events and let the next ordinary call chain on from the new end. Every
/// call now fails closed, nothing it would have returned is released, until an operator
/// acknowledges the loss, which stays in the log for `verify` to show.
#[test]
fn events_cut_from_the_end_stop_every_call_until_acknowledged_and_stay_visible() {
    let t = team();
    let key = key_with(&t.admin, &separated_policy());
    let context = ctx(&[("purpose", "audit")]);
    for _ in 0..5 {
        t.user.generate_data_key(&key, DataKeySpec::Aes256, &context).wait().unwrap();
    }
    let lines = log_lines(&t);
    assert_eq!(lines.len(), 6);
    write_lines(&t, &lines[..4]);

    let refused = damage(t.user.generate_data_key(&key, DataKeySpec::Aes256, &context).wait());
    assert_eq!(refused, AuditDamage::Diverged { log_events: 4, head_events: 6 });
    damage(t.admin.describe_key(&key).wait());
    let fresh = LocalKeyService::open(StoreOptions::new(store_dir(&t.dir)).principal("app")).unwrap();
    damage(fresh.list_keys().wait());
    // Changes are refused before they take effect, not only left unrecorded.
    damage(t.admin.disable_key(&key).wait());
    damage(t.admin.create_key("unrecorded").wait());
    assert_eq!(log_lines(&t).len(), 4, "nothing was appended over the gap");
    assert!(matches!(t.admin.verify_audit_log().unwrap_err(), AuditError::Truncated { events: 4, head: 6, .. }));

    // A forged acknowledgment (without the root key) does not verify.
    let mut forged = log_lines(&t);
    forged.push(forged[3].replace("\"GenerateDataKey\"", "\"AuditLogGapAcknowledged\""));
    write_lines(&t, &forged);
    damage(t.user.describe_key(&key).wait());
    write_lines(&t, &forged[..4]);

    let acknowledged = t.admin.acknowledge_audit_loss().unwrap();
    assert_eq!(acknowledged.lost, Some((5, 6)));
    assert_eq!(acknowledged.by, arn("user/admin"));
    assert_eq!(t.admin.describe_key(&key).wait().unwrap().state, KeyState::Enabled, "the refused disable did nothing");
    assert_eq!(t.admin.list_keys().wait().unwrap().len(), 1, "the refused create made no key");
    t.user.generate_data_key(&key, DataKeySpec::Aes256, &context).wait().unwrap();
    let summary = t.admin.verify_audit_log().unwrap();
    assert_eq!((summary.events, summary.last_sequence), (8, 10));
    assert_eq!(summary.acknowledged.len(), 1);
    assert_eq!(summary.acknowledged[0].lost, Some((5, 6)));
    let names: Vec<Value> = events(&t).iter().map(|e| e["eventName"].clone()).collect();
    assert_eq!(names[4], "AuditLogGapAcknowledged");
    assert!(matches!(t.admin.acknowledge_audit_loss().unwrap_err(), AuditError::NothingToAcknowledge { .. }));

    // An incomplete last event (a crash mid-write) stops calls too, and is acknowledged away.
    let path = store_dir(&t.dir).join("audit.log");
    let torn = b"{\"eventVersion\":\"1.08\",\"userIdent";
    let mut bytes = fs::read(&path).unwrap();
    bytes.extend_from_slice(torn);
    fs::write(&path, &bytes).unwrap();
    assert_eq!(damage(t.user.describe_key(&key).wait()), AuditDamage::IncompleteLastEvent);
    let acknowledged = t.admin.acknowledge_audit_loss().unwrap();
    assert_eq!((acknowledged.lost, acknowledged.incomplete_bytes), (None, torn.len() as u64));
    t.user.describe_key(&key).wait().unwrap();
    assert_eq!(t.admin.verify_audit_log().unwrap().acknowledged.len(), 2);

    // An edit inside the log is not a loss at its end: acknowledging refuses it.
    let mut edited = log_lines(&t);
    edited[1] = edited[1].replace("user/app", "user/eve");
    write_lines(&t, &edited);
    assert!(matches!(t.admin.acknowledge_audit_loss().unwrap_err(), AuditError::Tampered { line: 2, .. }));
}

/// The claim "no request can make the store unusable through its audit log", attacked with
/// requests carrying huge parameters: each is refused and recorded by size, and the log's tail
/// stays readable for the next call.
#[test]
fn requests_with_huge_parameters_leave_the_store_usable_and_its_log_readable() {
    let t = team();
    let key = key_with(&t.admin, &separated_policy());
    let huge: Vec<(String, String)> = (0..4).map(|i| (format!("k{i}"), "\u{1}".repeat(150 * 1024))).collect::<Vec<_>>();
    let context: EncryptionContext = huge.into_iter().collect();
    assert_eq!(t.user.encrypt(&key, b"x", &context).wait().unwrap_err().kms_name(), "ValidationException");
    assert_eq!(t.user.decrypt(&[1; 80], &context, None).wait().unwrap_err().kms_name(), "ValidationException");
    let description = "d".repeat(1 << 20);
    assert_eq!(t.admin.create_key(&description).wait().unwrap_err().kms_name(), "ValidationException");
    let echoed = KeyRef::parse(&format!("arn:envcrypt:kms:{}:000000000000:key/x", "r".repeat(100_000)));
    assert!(echoed.unwrap_err().to_string().len() < 1000, "a refused key reference is not echoed whole");
    let long_alias = format!("alias/{}", "a".repeat(200_000));
    assert_eq!(t.admin.delete_alias(&long_alias).wait().unwrap_err().kms_name(), "InvalidAliasNameException");
    let policy = format!(r#"{{"Id":"{}"}}"#, "p".repeat(2 << 20));
    assert_eq!(
        t.admin.put_key_policy(&key, &policy, false).wait().unwrap_err().kms_name(),
        "MalformedPolicyDocumentException"
    );

    let blob = t.user.encrypt(&key, b"still usable", &ctx(&[("a", "b")])).wait().unwrap().blob;
    assert_eq!(
        t.user.decrypt(&blob, &ctx(&[("a", "b")]), None).wait().unwrap().plaintext.expose_secret(),
        b"still usable"
    );
    t.admin.verify_audit_log().unwrap();
    let lines = log_lines(&t);
    assert!(lines.iter().all(|l| l.len() < 300 * 1024), "{:?}", lines.iter().map(String::len).collect::<Vec<_>>());
    let all = events(&t);
    assert!(
        all.iter().all(|e| e["errorMessage"].as_str().is_none_or(|m| m.len() < 8 * 1024)),
        "error messages are bounded"
    );
    let refused = &all[1];
    assert_eq!(refused["errorCode"], "ValidationException");
    assert!(refused["requestParameters"]["encryptionContext"]["envcryptOmitted"].as_str().unwrap().contains("bytes"));
}
