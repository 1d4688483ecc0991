//! Key policies, grants and the audit log through the CLI: the two-role walkthrough of docs/access-control.md.

use envcrypt_testkit::{envcrypt_workdir, workspace_root};
use serde_json::Value;

envcrypt_workdir!(Env);

impl Env {
    /// Runs `envcrypt --principal WHO ARGS...`, which must succeed.
    fn as_ok(&self, who: &str, args: &[&str]) -> String {
        let out = self.run(&[&["--principal", who], args].concat());
        assert!(out.status.success(), "{who} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs `envcrypt --principal WHO ARGS...`, which must be refused with an access denial.
    fn as_denied(&self, who: &str, args: &[&str]) -> String {
        let out = self.run(&[&["--principal", who], args].concat());
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(3), "{who} {args:?}: {stderr}");
        assert!(stderr.contains("AccessDeniedException"), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        stderr
    }

    fn two_keys(&self) {
        let policy = workspace_root().join("examples/policies/two-roles.json");
        let policy = policy.to_str().unwrap();
        self.as_ok("admin", &["key", "create", "--policy", policy, "--alias", "alias/payroll"]);
        self.as_ok("admin", &["key", "create", "--policy", policy, "--alias", "alias/payroll-2027"]);
    }

    /// A store with the two keys and `name` sealed by the app under `alias/payroll`.
    fn with_sealed(name: &str, contents: &[u8], context: &[&str]) -> Self {
        let env = Self::new();
        env.two_keys();
        env.0.write(name, contents);
        let mut args = vec!["seal", "--key", "alias/payroll", "--context", "team=payroll"];
        for pair in context {
            args.extend(["--context", pair]);
        }
        args.push(name);
        env.as_ok("app", &args);
        env
    }

    fn json(&self, who: &str, args: &[&str]) -> Value {
        serde_json::from_str(&self.as_ok(who, &[&["--json"], args].concat())).unwrap()
    }
}

#[test]
fn an_admin_who_cannot_decrypt_a_user_who_can_and_a_rewrapper_who_only_reencrypts() {
    let env = Env::with_sealed("salaries.csv", b"alice,100\nbob,200\n", &[]);

    let denied = env.as_denied("admin", &["open", "salaries.csv.enc", "-o", "-"]);
    assert!(denied.contains("user/admin") && denied.contains("kms:Decrypt"), "{denied}");
    assert!(!denied.contains("KeyAdministration"), "no policy text: {denied}");
    assert_eq!(env.as_ok("app", &["open", "salaries.csv.enc", "-o", "-"]), "alice,100\nbob,200\n");
    env.as_denied("app", &["key", "disable", "alias/payroll"]);
    env.as_denied("app", &["seal", "--key", "alias/payroll", "--context", "team=sales", "salaries.csv", "-o", "x"]);
    assert!(!env.0.path("x").exists());

    let blob = env.json(
        "app",
        &["kms", "generate-data-key-without-plaintext", "--key", "alias/payroll", "--context", "team=payroll"],
    );
    let blob = blob["CiphertextBlob"].as_str().unwrap();
    env.as_denied("role/rewrapper", &["kms", "decrypt", "--ciphertext-blob", blob, "--context", "team=payroll"]);
    let moved = env.json(
        "role/rewrapper",
        &[
            "kms",
            "re-encrypt",
            "--ciphertext-blob",
            blob,
            "--source-context",
            "team=payroll",
            "--destination-key",
            "alias/payroll-2027",
            "--destination-context",
            "team=payroll",
        ],
    );
    let moved = moved["CiphertextBlob"].as_str().unwrap();
    env.as_denied("role/rewrapper", &["kms", "decrypt", "--ciphertext-blob", moved, "--context", "team=payroll"]);
    let opened = env.json("app", &["kms", "decrypt", "--ciphertext-blob", moved, "--context", "team=payroll"]);
    let new_key = env.json("admin", &["key", "describe", "alias/payroll-2027"]);
    assert_eq!(opened["KeyId"], new_key["Arn"]);

    let policy = env.as_ok("admin", &["key", "get-policy", "alias/payroll"]);
    assert!(policy.contains("RewrapOnly"));
    env.as_denied("app", &["key", "get-policy", "alias/payroll"]);
}

#[test]
fn a_grant_lets_a_batch_role_open_until_revoked() {
    let env = Env::with_sealed("run.log", b"nightly\n", &["job=nightly"]);
    env.as_denied("role/batch", &["open", "run.log.enc", "-o", "-"]);
    let grant = env.json(
        "admin",
        &[
            "key",
            "grant",
            "create",
            "alias/payroll",
            "--grantee",
            "role/batch",
            "--operation",
            "Decrypt",
            "--context-subset",
            "job=nightly",
        ],
    );
    assert_eq!(env.as_ok("role/batch", &["open", "run.log.enc", "-o", "-"]), "nightly\n");
    let listed = env.json("admin", &["key", "grant", "list", "alias/payroll"]);
    assert_eq!(listed["Grants"][0]["GranteePrincipal"], "arn:envcrypt:iam::000000000000:role/batch");
    assert_eq!(listed["Grants"][0]["Constraints"]["EncryptionContextSubset"]["job"], "nightly");
    let id = grant["GrantId"].as_str().unwrap();
    // A dry run checks the caller's rights and changes nothing.
    env.as_denied("app", &["key", "grant", "revoke", "alias/payroll", id, "--dry-run"]);
    let dry = env.as_ok("admin", &["key", "grant", "revoke", "alias/payroll", id, "--dry-run"]);
    assert!(dry.contains("RevokeGrant would have succeeded"), "{dry}");
    let create = ["key", "grant", "create", "alias/payroll", "--grantee", "role/other", "--operation", "Decrypt"];
    let dry = env.as_ok("admin", &[&create[..], &["--dry-run"]].concat());
    assert!(dry.contains("CreateGrant would have succeeded") && !dry.contains("GrantToken"), "{dry}");
    assert_eq!(env.json("admin", &["key", "grant", "list", "alias/payroll"])["Grants"].as_array().unwrap().len(), 1);
    assert_eq!(env.as_ok("role/batch", &["open", "run.log.enc", "-o", "-"]), "nightly\n");
    // Without the right, a dry run answers only that: not the key's state, not whether a grant exists.
    env.as_ok("admin", &["key", "disable", "alias/payroll"]);
    env.as_denied("app", &[&create[..], &["--dry-run"]].concat());
    env.as_denied("app", &["key", "grant", "retire", "alias/payroll", &"f".repeat(64), "--dry-run"]);
    env.as_ok("admin", &["key", "enable", "alias/payroll"]);
    // A token the store never issued is refused, and the refusal is recorded.
    let out = env.run(&["--principal", "app", "key", "grant", "retire", "--token", "forged", "--dry-run"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("InvalidGrantTokenException"));
    let errors = env.json("admin", &["audit", "list", "--errors", "--principal", "app"]);
    assert!(errors.as_array().unwrap().iter().any(|e| e["errorCode"] == "InvalidGrantTokenException"), "{errors}");
    env.as_denied("app", &["key", "grant", "revoke", "alias/payroll", id]);
    env.as_ok("admin", &["key", "grant", "revoke", "alias/payroll", id]);
    env.as_denied("role/batch", &["open", "run.log.enc", "-o", "-"]);
    let out = env.run(&["key", "grant", "create", "alias/payroll", "--grantee", "x", "--operation", "Unwrap"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown grant operation \"Unwrap\""));
}

#[test]
fn audit_list_filters_and_verify_catches_an_edited_log() {
    let env = Env::with_sealed("f", b"data", &[]);
    env.as_denied("role/rewrapper", &["open", "f.enc", "-o", "-"]);

    let verified = env.as_ok("admin", &["audit", "verify"]);
    assert!(verified.contains("events, chain intact"), "{verified}");
    let all = env.json("admin", &["audit", "list"]);
    let count = all.as_array().unwrap().len();
    assert!(verified.contains(&format!(": {count} events")), "{verified}");
    let rewrapper = env.json("admin", &["audit", "list", "--principal", "role/rewrapper"]);
    let names: Vec<&str> = rewrapper.as_array().unwrap().iter().map(|e| e["eventName"].as_str().unwrap()).collect();
    assert_eq!(names, ["Decrypt"]);
    assert_eq!(rewrapper[0]["errorCode"], "AccessDeniedException");
    let errors = env.json("admin", &["audit", "list", "--errors"]);
    assert_eq!(errors.as_array().unwrap().len(), 1);
    let on_key = env.json("admin", &["audit", "list", "--key", "alias/payroll-2027"]);
    assert!(on_key.as_array().unwrap().iter().all(|e| e["eventName"] != "GenerateDataKey"));
    assert!(!on_key.as_array().unwrap().is_empty());
    let future = env.json("admin", &["audit", "list", "--since", "2999-01-01T00:00:00Z"]);
    assert!(future.as_array().unwrap().is_empty());
    let text = env.as_ok("admin", &["audit", "list", "--since", "1h"]);
    assert!(text.contains("AccessDeniedException") && text.contains("role/rewrapper"), "{text}");

    let log = env.0.path("store/audit.log");
    let original = std::fs::read_to_string(&log).unwrap();
    // Someone hides who was refused: the rewrapper's denied Decrypt becomes an auditor's.
    let mut lines: Vec<String> = original.lines().map(str::to_owned).collect();
    let denied_at = lines.iter().position(|l| l.contains("\"userName\":\"rewrapper\"")).unwrap();
    lines[denied_at] = lines[denied_at].replace("rewrapper", "auditor");
    std::fs::write(&log, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    let out = env.run(&["audit", "verify"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains(&format!("line {} ", denied_at + 1)) && stderr.contains("edited"), "{stderr}");

    let mut lines: Vec<&str> = original.lines().collect();
    lines.pop();
    std::fs::write(&log, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    let out = env.run(&["audit", "verify"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("removed from its end"), "{stderr}");

    // The cut is not papered over by the next call: every call fails until acknowledged.
    let out = env.run(&["--principal", "app", "key", "list"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("envcrypt audit acknowledge") && stderr.contains("events were removed"), "{stderr}");
    let recorded = env.as_ok("admin", &["audit", "acknowledge"]);
    assert!(
        recorded.contains(&format!("event {} lost", lines.len() + 1)) && recorded.contains("user/admin"),
        "{recorded}"
    );
    env.as_ok("app", &["key", "list"]);
    let verified = String::from_utf8(env.0.ok(&["audit", "verify"])).unwrap();
    assert!(verified.contains("chain intact") && verified.contains("acknowledged: event"), "{verified}");
}
