//! The `envcrypt` binary, run as a process: files, exit codes, messages, no output on failure.

use std::path::Path;
use std::process::{Command, Stdio};

use envcrypt_testkit::envcrypt_workdir;

envcrypt_workdir!(Env);

impl Env {
    fn ok(&self, args: &[&str]) -> String {
        String::from_utf8(self.0.ok(args)).unwrap()
    }

    /// Runs a command that must fail with `code`, returning its one-line error.
    fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.starts_with("envcrypt: ") || code == 2, "{args:?}: {stderr}");
        stderr
    }

    fn new_key(&self) -> String {
        let out = self.ok(&["--json", "key", "create"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["Arn"].as_str().unwrap().to_owned()
    }
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 253) as u8).collect()
}

fn no_plaintext_left(dir: &Path, name: &str) {
    assert!(!dir.join(name).exists(), "{name} was written");
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".envcrypt-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn seal_and_open_a_file_with_the_default_key() {
    let env = Env::new();
    let data = pattern(300_000);
    env.write("notes.txt", &data);
    env.ok(&["seal", "notes.txt"]);
    std::fs::remove_file(env.path("notes.txt")).unwrap();
    env.ok(&["open", "notes.txt.enc"]);
    assert_eq!(std::fs::read(env.path("notes.txt")).unwrap(), data);
    let inspect = env.ok(&["inspect", "notes.txt.enc"]);
    assert!(inspect.contains("0x0478") && inspect.contains("envcrypt-local"), "{inspect}");
    let described = env.ok(&["key", "describe", "alias/envcrypt/default"]);
    assert!(described.contains("Enabled"), "{described}");
}

#[test]
fn round_trips_at_sizes_around_the_frame() {
    let env = Env::new();
    for len in [0usize, 1, 63, 64, 65, 1000] {
        let name = format!("f{len}");
        env.write(&name, &pattern(len));
        env.ok(&["seal", "--frame-size", "64", "--context", "size=x", &name]);
        env.ok(&["open", "--context", "size=x", "-o", &format!("{name}.out"), &format!("{name}.enc")]);
        assert_eq!(std::fs::read(env.path(&format!("{name}.out"))).unwrap(), pattern(len), "{len} bytes");
    }
}

#[test]
fn any_thread_count_reads_what_any_other_wrote() {
    let env = Env::new();
    let data = pattern(5 * 4096 + 17);
    env.write("big", &data);
    for sealer in ["1", "2", "5"] {
        let sealed = format!("big.{sealer}.enc");
        env.ok(&["seal", "--threads", sealer, "--frame-size", "4096", "-o", &sealed, "big"]);
        for opener in ["1", "3"] {
            let opened = format!("big.{sealer}.{opener}");
            env.ok(&["open", "--threads", opener, "-o", &opened, &sealed]);
            assert_eq!(std::fs::read(env.path(&opened)).unwrap(), data, "sealed by {sealer}, opened by {opener}");
        }
    }
    let err = env.fails(&["seal", "--threads", "0", "big"], 2);
    assert!(err.contains("--threads"), "{err}");
}

#[test]
fn stdin_to_stdout() {
    let env = Env::new();
    let mut seal =
        env.command().args(["seal", "-", "-o", "-"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    seal.stdin.take().unwrap().write_all(b"from a pipe").unwrap();
    let sealed = seal.wait_with_output().unwrap();
    assert!(sealed.status.success());
    env.write("piped.enc", &sealed.stdout);
    assert_eq!(env.ok(&["open", "-o", "-", "piped.enc"]), "from a pipe");
}

#[test]
fn outputs_are_not_overwritten_without_force() {
    let env = Env::new();
    env.write("a", b"one");
    env.ok(&["seal", "a"]);
    let err = env.fails(&["seal", "a"], 1);
    assert!(err.contains("a.enc already exists") && err.contains("--force"), "{err}");
    let err = env.fails(&["open", "a.enc"], 1);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read(env.path("a")).unwrap(), b"one", "the existing file is untouched");
    env.write("a", b"two");
    env.ok(&["seal", "--force", "a"]);
    env.ok(&["open", "--force", "a.enc"]);
    assert_eq!(std::fs::read(env.path("a")).unwrap(), b"two");
}

/// Seals 150 bytes in 64-byte frames: three frames (64, 64, final 22).
fn three_frame_message(env: &Env) -> Vec<u8> {
    env.write("msg", &pattern(150));
    env.ok(&["seal", "--frame-size", "64", "--context", "purpose=test", "-o", "msg.enc", "msg"]);
    std::fs::read(env.path("msg.enc")).unwrap()
}

#[test]
fn every_single_byte_flip_fails_with_no_output_file() {
    let env = Env::new();
    let sealed = three_frame_message(&env);
    for i in 0..sealed.len() {
        let mut bad = sealed.clone();
        bad[i] ^= 0x40;
        env.write("bad.enc", &bad);
        let out = env.run(&["open", "-o", "bad.out", "bad.enc"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "flip at byte {i} was accepted");
        assert!(matches!(out.status.code(), Some(3 | 4)), "flip at byte {i}: {:?} {stderr}", out.status);
        assert!(stderr.contains("bad.enc"), "flip at byte {i}: the error names the file: {stderr}");
        no_plaintext_left(env.dir(), "bad.out");
    }
}

#[test]
fn truncation_at_frame_boundaries_and_appended_bytes_fail() {
    let env = Env::new();
    let sealed = three_frame_message(&env);
    let final_frame = 4 + 4 + 12 + 4 + 22 + 16;
    let frame = 4 + 12 + 64 + 16;
    let body = sealed.len() - final_frame - 2 * frame;
    for cut in [body, body + frame, body + 2 * frame, sealed.len() - 1] {
        env.write("cut.enc", &sealed[..cut]);
        let err = env.fails(&["open", "-o", "cut.out", "cut.enc"], 4);
        assert!(err.contains("truncated"), "cut at {cut}: {err}");
        no_plaintext_left(env.dir(), "cut.out");
    }
    let mut longer = sealed.clone();
    longer.extend_from_slice(b"extra");
    env.write("long.enc", &longer);
    let err = env.fails(&["open", "-o", "long.out", "long.enc"], 4);
    assert!(err.contains("after the end"), "{err}");
    no_plaintext_left(env.dir(), "long.out");
}

#[test]
fn a_wrong_context_fails_and_names_the_pair() {
    let env = Env::new();
    three_frame_message(&env);
    let err = env.fails(&["open", "--context", "purpose=prod", "-o", "out", "msg.enc"], 4);
    assert!(err.contains("purpose=prod"), "{err}");
    no_plaintext_left(env.dir(), "out");
}

#[test]
fn wrong_disabled_and_deleted_keys_fail() {
    let env = Env::new();
    let key = env.new_key();
    let other = env.new_key();
    env.write("data", b"secret");
    env.ok(&["seal", "--key", &key, "data"]);

    let err = env.fails(&["open", "--key", &other, "-o", "out", "data.enc"], 3);
    assert!(err.contains(&key), "the error names the message's key: {err}");
    no_plaintext_left(env.dir(), "out");

    env.ok(&["key", "disable", &key]);
    let err = env.fails(&["open", "-o", "out", "data.enc"], 3);
    assert!(err.contains("DisabledException") && err.contains(&key), "{err}");
    no_plaintext_left(env.dir(), "out");
    env.ok(&["key", "enable", &key]);

    env.ok(&["key", "schedule-deletion", "--days", "7", &key]);
    let err = env.fails(&["open", "-o", "out", "data.enc"], 3);
    assert!(err.contains("PendingDeletion"), "{err}");
    no_plaintext_left(env.dir(), "out");
    let err = env.fails(&["key", "schedule-deletion", "--days", "3", &other], 2);
    assert!(err.contains("between 7 and 30"), "{err}");

    let missing = "arn:envcrypt:kms:local:000000000000:key/11111111-2222-4333-8444-555555555555";
    let err = env.fails(&["seal", "--key", missing, "-o", "x.enc", "data"], 3);
    assert!(err.contains("NotFoundException") && err.contains(missing), "{err}");
    no_plaintext_left(env.dir(), "x.enc");
}

#[test]
fn data_sealed_before_a_rotation_still_opens() {
    let env = Env::new();
    env.ok(&["key", "create", "--alias", "alias/rotating"]);
    env.write("old", b"before rotation");
    env.ok(&["seal", "--key", "alias/rotating", "old"]);
    let rotated = env.ok(&["key", "rotate", "alias/rotating"]);
    assert!(rotated.contains("backing keys: 2"), "{rotated}");
    env.write("new", b"after rotation");
    env.ok(&["seal", "--key", "alias/rotating", "new"]);
    assert_eq!(env.ok(&["open", "-o", "-", "old.enc"]), "before rotation");
    assert_eq!(env.ok(&["open", "-o", "-", "new.enc"]), "after rotation");
}

#[test]
fn a_rotation_schedule_is_set_shown_and_turned_off() {
    let env = Env::new();
    env.ok(&["key", "create", "--alias", "alias/scheduled"]);
    let enabled = env.ok(&["key", "rotation", "enable", "--period-days", "90", "alias/scheduled"]);
    assert!(enabled.contains("every 90 days") && enabled.contains("next rotation:"), "{enabled}");
    let status: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "key", "rotation", "status", "alias/scheduled"])).unwrap();
    assert_eq!((&status["KeyRotationEnabled"], &status["RotationPeriodInDays"]), (&true.into(), &90.into()));
    let err = env.fails(&["key", "rotation", "enable", "--period-days", "30", "alias/scheduled"], 2);
    assert!(err.contains("between 90 and 2560") && err.contains("alias/scheduled"), "{err}");
    assert!(env.ok(&["key", "rotation", "disable", "alias/scheduled"]).contains("rotation:       off"));

    env.ok(&["key", "rotate", "alias/scheduled"]);
    let listed: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "key", "rotation", "list", "alias/scheduled"])).unwrap();
    assert_eq!(listed["Rotations"][0]["RotationType"], "ON_DEMAND", "{listed}");

    env.write("data", b"sealed under the default key");
    env.ok(&["seal", "data"]);
    let err = env.fails(&["key", "rotation", "disable", "alias/envcrypt/default"], 3);
    assert!(err.contains("UnsupportedOperationException") && err.contains("managed default key"), "{err}");
}

#[test]
fn key_material_brought_from_outside_is_imported_used_and_deleted() {
    let env = Env::new();
    env.ok(&["key", "create", "--origin", "external", "--alias", "alias/byok"]);
    let described = env.ok(&["key", "describe", "alias/byok"]);
    assert!(described.contains("PendingImport") && described.contains("origin EXTERNAL"), "{described}");
    let params_args = [
        "key",
        "import-params",
        "alias/byok",
        "--wrapping-spec",
        "rsa_2048",
        "--wrapping-algorithm",
        "RSA_AES_KEY_WRAP_SHA_1",
    ];
    let params = env.ok(&params_args);
    assert!(params.contains("valid until:") && params.contains("envcrypt key import alias/byok"), "{params}");

    env.write("material", &[0x42; 32]);
    let wrap = envcrypt_testkit::workspace_root().join("tests/material/wrap_material.py");
    let out = Command::new(envcrypt_testkit::venv_bin("python"))
        .current_dir(env.dir())
        .arg(wrap)
        .args(["RSA_AES_KEY_WRAP_SHA_1", "wrapping-key.der", "material", "material.enc"])
        .output()
        .unwrap();
    envcrypt_testkit::succeeded(out, "wrap_material.py");
    let imported = env.ok(&[
        "key",
        "import",
        "alias/byok",
        "--material",
        "material.enc",
        "--token",
        "import-token.bin",
        "--valid-to",
        "30d",
    ]);
    assert!(imported.contains("Enabled") && imported.contains("imported, expires"), "{imported}");

    env.write("secret", b"sealed under imported material");
    env.ok(&["seal", "--key", "alias/byok", "secret"]);
    assert!(env.ok(&["key", "delete-material", "alias/byok"]).contains("PendingImport"));
    let err = env.fails(&["open", "-o", "-", "secret.enc"], 3);
    assert!(err.contains("KMSInvalidStateException"), "{err}");

    let err = env.fails(&params_args, 1);
    assert!(err.contains("wrapping-key.der already exists; use --force"), "{err}");
    std::fs::remove_file(env.path("wrapping-key.der")).unwrap();
    let err = env.fails(&params_args, 1);
    assert!(err.contains("import-token.bin already exists; use --force"), "{err}");
    assert!(!env.path("wrapping-key.der").exists(), "no wrapping key is written without its token");
    let err = env.fails(&["key", "import-params", "alias/byok", "--wrapping-spec", "RSA_1024"], 2);
    assert!(err.contains("RSA_2048, RSA_3072, RSA_4096"), "{err}");
}

#[test]
fn a_dry_run_checks_rights_and_key_state_and_makes_nothing() {
    let env = Env::new();
    env.ok(&["key", "create", "--alias", "alias/dry"]);
    let plaintext = ["--plaintext", "c2VjcmV0"];
    let dry = env.ok(&[&["kms", "encrypt", "--key", "alias/dry", "--dry-run"][..], &plaintext].concat());
    assert!(dry.contains("Encrypt would have succeeded") && !dry.contains("CiphertextBlob"), "{dry}");
    let sealed: serde_json::Value =
        serde_json::from_str(&env.ok(&[&["kms", "encrypt", "--key", "alias/dry"][..], &plaintext].concat())).unwrap();
    let blob = sealed["CiphertextBlob"].as_str().unwrap();
    let dry = env.ok(&["kms", "decrypt", "--ciphertext-blob", blob, "--dry-run"]);
    assert!(dry.contains("Decrypt would have succeeded") && !dry.contains("Plaintext"), "{dry}");
    env.ok(&["key", "disable", "alias/dry"]);
    let err = env.fails(&["kms", "generate-data-key", "--key", "alias/dry", "--dry-run"], 3);
    assert!(err.contains("GenerateDataKey (dry run)") && err.contains("DisabledException"), "{err}");
}

#[test]
fn a_dry_run_of_signing_macs_and_rsa_checks_the_key_and_makes_nothing() {
    let env = Env::new();
    env.ok(&["key", "create", "--alias", "alias/signer", "--key-spec", "ECC_NIST_P256", "--key-usage", "SIGN_VERIFY"]);
    env.ok(&["key", "create", "--alias", "alias/mac", "--key-spec", "HMAC_256", "--key-usage", "GENERATE_VERIFY_MAC"]);
    env.ok(&["key", "create", "--alias", "alias/rsa", "--key-spec", "RSA_2048", "--key-usage", "ENCRYPT_DECRYPT"]);
    let sign = ["kms", "sign", "--key", "alias/signer", "--message", "bWVzc2FnZQ==", "--signing-algorithm"];
    let dry = env.ok(&[&sign[..], &["ECDSA_SHA_256", "--dry-run"]].concat());
    assert!(dry.contains("Sign would have succeeded") && !dry.contains("\"Signature\""), "{dry}");
    let err = env.fails(&[&sign[..], &["ECDSA_SHA_384", "--dry-run"]].concat(), 3);
    assert!(err.contains("Sign (dry run)") && err.contains("InvalidKeyUsageException"), "{err}");
    let mac = ["kms", "generate-mac", "--key", "alias/mac", "--message", "bWVzc2FnZQ==", "--dry-run"];
    let err = env.fails(&[&mac[..], &["--mac-algorithm", "HMAC_SHA_512"]].concat(), 3);
    assert!(err.contains("GenerateMac (dry run)") && err.contains("InvalidKeyUsageException"), "{err}");
    let encrypt = ["kms", "encrypt", "--key", "alias/rsa", "--plaintext", "c2VjcmV0", "--dry-run"];
    let dry = env.ok(&[&encrypt[..], &["--encryption-algorithm", "RSAES_OAEP_SHA_256"]].concat());
    assert!(dry.contains("Encrypt would have succeeded") && !dry.contains("CiphertextBlob"), "{dry}");
    env.ok(&["key", "create", "--alias", "alias/sym"]);
    let pair = ["kms", "generate-data-key-pair", "--key", "alias/sym", "--key-pair-spec", "ECC_NIST_P256", "--dry-run"];
    let dry = env.ok(&pair);
    assert!(dry.contains("GenerateDataKeyPair would have succeeded") && !dry.contains("PublicKey"), "{dry}");
    env.ok(&["key", "disable", "alias/sym"]);
    let err = env.fails(&pair, 3);
    assert!(err.contains("GenerateDataKeyPair (dry run)") && err.contains("DisabledException"), "{err}");
}

#[test]
fn several_keys_make_one_message_any_opens() {
    let env = Env::new();
    let (a, b) = (env.new_key(), env.new_key());
    env.write("both", b"either key");
    env.ok(&["seal", "--key", &a, "--key", &b, "both"]);
    let inspect = env.ok(&["--json", "inspect", "both.enc"]);
    let v: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    assert_eq!(v["encrypted_data_keys"].as_array().unwrap().len(), 2);
    env.ok(&["key", "disable", &a]);
    assert_eq!(env.ok(&["open", "--key", &b, "-o", "-", "both.enc"]), "either key");
}

#[test]
fn eight_processes_creating_keys_at_once_lose_none() {
    let env = Env::new();
    env.ok(&["key", "list"]);
    let children: Vec<_> = (0..8)
        .map(|i| {
            let script =
                format!("for j in 1 2 3 4 5; do \"$0\" key create --alias alias/p{i}-$j >/dev/null || exit 1; done");
            env.command().args(["-c", &script, env!("CARGO_BIN_EXE_envcrypt")]).spawn_shell()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let listed: serde_json::Value = serde_json::from_str(&env.ok(&["--json", "key", "list"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 40);
    let aliases: serde_json::Value = serde_json::from_str(&env.ok(&["--json", "key", "alias", "list"])).unwrap();
    assert_eq!(aliases.as_array().unwrap().len(), 40);
    // One key's aliases, named by another of its aliases.
    env.ok(&["key", "alias", "create", "alias/second-name", listed[0]["KeyId"].as_str().unwrap()]);
    let first = listed[0]["Aliases"][0].as_str().unwrap();
    let own: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "key", "alias", "list", "--key", first])).unwrap();
    let mut names: Vec<&str> = own.as_array().unwrap().iter().map(|a| a["alias_name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, [first, "alias/second-name"]);
}

/// Threads the system refuses (a process or memory limit) leave fewer workers, never a
/// hung or crashed `seal`: with 1 GiB thread stacks under a 2.5 GB address-space limit, the
/// signal thread and at most one more start, of all the inputs' and frames' workers asked for.
#[test]
fn a_thread_the_system_refuses_is_one_worker_fewer() {
    let env = Env::new();
    env.ok(&["key", "list"]);
    let inputs = [("one", 3_000_000), ("two", 2_000_000), ("three", 1_000), ("four", 0)];
    for (name, len) in inputs {
        env.write(name, &pattern(len));
    }
    for names in ["one", "one two three four"] {
        let script = format!(
            "ulimit -v 2500000 && RUST_MIN_STACK=1073741824 exec timeout 60 \"$0\" seal --force --threads 16 \
             --frame-size 4096 {names}"
        );
        let child = env.command().args(["-c", &script, env!("CARGO_BIN_EXE_envcrypt")]).spawn_shell();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{names}: {:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    for (name, len) in inputs {
        env.ok(&["open", "--force", "-o", "back", &format!("{name}.enc")]);
        assert_eq!(std::fs::read(env.path("back")).unwrap(), pattern(len), "{name}");
    }
}

trait SpawnShell {
    fn spawn_shell(&mut self) -> std::process::Child;
}

impl SpawnShell for Command {
    /// Re-targets a prepared `envcrypt` command at `sh`, keeping its environment.
    fn spawn_shell(&mut self) -> std::process::Child {
        let mut sh = Command::new("sh");
        for (k, v) in self.get_envs() {
            match v {
                Some(v) => sh.env(k, v),
                None => sh.env_remove(k),
            };
        }
        sh.args(self.get_args())
            .current_dir(self.get_current_dir().unwrap())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        sh.spawn().unwrap()
    }
}

#[test]
fn kms_commands_speak_base64_like_the_aws_cli() {
    let env = Env::new();
    env.ok(&["key", "create", "--alias", "alias/k"]);
    let generated: serde_json::Value =
        serde_json::from_str(&env.ok(&["kms", "generate-data-key", "--key", "alias/k", "--context", "a=b"])).unwrap();
    let blob = generated["CiphertextBlob"].as_str().unwrap();
    let decrypted: serde_json::Value =
        serde_json::from_str(&env.ok(&["kms", "decrypt", "--ciphertext-blob", blob, "--context", "a=b"])).unwrap();
    assert_eq!(decrypted["Plaintext"], generated["Plaintext"]);
    let err = env.fails(&["kms", "decrypt", "--ciphertext-blob", blob], 4);
    assert!(err.contains("InvalidCiphertextException"), "{err}");

    let other = env.new_key();
    let moved: serde_json::Value = serde_json::from_str(&env.ok(&[
        "kms",
        "re-encrypt",
        "--ciphertext-blob",
        blob,
        "--source-context",
        "a=b",
        "--destination-key",
        &other,
    ]))
    .unwrap();
    assert_eq!(moved["KeyId"], other.as_str());
    assert!(moved.get("Plaintext").is_none());
    let again: serde_json::Value = serde_json::from_str(&env.ok(&[
        "kms",
        "decrypt",
        "--ciphertext-blob",
        moved["CiphertextBlob"].as_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(again["Plaintext"], generated["Plaintext"]);

    let big = base64_of(&[1u8; 4097]);
    let err = env.fails(&["kms", "encrypt", "--key", "alias/k", "--plaintext", &big], 2);
    assert!(err.contains("ValidationException"), "{err}");
    let sixteen: serde_json::Value =
        serde_json::from_str(&env.ok(&["kms", "generate-data-key", "--key", "alias/k", "--key-spec", "AES_128"]))
            .unwrap();
    assert_eq!(sixteen["Plaintext"].as_str().unwrap().len(), 24);
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn usage_errors_exit_2_with_a_clear_message() {
    let env = Env::new();
    env.write("f", b"x");
    let err = env.fails(&["seal", "--key", "not-a-key", "f"], 2);
    assert!(err.contains("not-a-key") && err.contains("alias/NAME"), "{err}");
    let err = env.fails(&["seal", "--context", "novalue", "f"], 2);
    assert!(err.contains("key=value"), "{err}");
    let err = env.fails(&["seal", "--frame-size", "100", "f"], 2);
    assert!(err.contains("multiple of 16"), "{err}");
    let err = env.fails(&["seal", "--context", "aws-crypto-x=1", "-o", "g.enc", "f"], 4);
    assert!(err.contains("reserved"), "{err}");
    let err = env.fails(&["open", "f"], 2);
    assert!(err.contains("-o OUT"), "{err}");
    let err = env.fails(&["key", "alias", "create", "alias/aws/x", &env.new_key()], 3);
    assert!(err.contains("NotAuthorizedException"), "{err}");
    env.fails(&["frobnicate"], 2);
}

#[test]
fn missing_input_and_unreadable_store_are_io_errors() {
    let env = Env::new();
    let err = env.fails(&["seal", "nope.txt"], 1);
    assert!(err.contains("nope.txt"), "{err}");
    env.ok(&["key", "list"]);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(env.path("store"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = env.fails(&["key", "list"], 1);
    assert!(err.contains("chmod 700"), "{err}");
}

#[test]
fn every_command_has_help_with_an_example() {
    let env = Env::new();
    for args in [
        vec!["--help"],
        vec!["seal", "--help"],
        vec!["open", "--help"],
        vec!["inspect", "--help"],
        vec!["key", "create", "--help"],
        vec!["key", "rotate", "--help"],
        vec!["key", "rotation", "enable", "--help"],
        vec!["key", "import-params", "--help"],
        vec!["key", "import", "--help"],
        vec!["key", "schedule-deletion", "--help"],
        vec!["key", "alias", "create", "--help"],
        vec!["kms", "generate-data-key", "--help"],
        vec!["kms", "re-encrypt", "--help"],
    ] {
        let help = env.ok(&args);
        assert!(help.contains("Example"), "{args:?} has no example:\n{help}");
    }
    assert!(env.ok(&["--help"]).contains("Exit codes"));
}

#[test]
fn passphrase_store_via_environment() {
    let env = Env::new();
    env.write("p", b"guarded");
    let out = env.command().env("ENVCRYPT_PASSPHRASE", "hunter2 but longer").args(["seal", "p"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!env.path("store/root.key").exists());
    let out = env.command().env("ENVCRYPT_PASSPHRASE", "wrong").args(["open", "-o", "-", "p.enc"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong passphrase"));
    let err = env.fails(&["open", "-o", "-", "p.enc"], 1);
    assert!(err.contains("ENVCRYPT_PASSPHRASE"), "{err}");
    let out = env
        .command()
        .env("ENVCRYPT_PASSPHRASE", "hunter2 but longer")
        .args(["open", "-o", "-", "p.enc"])
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"guarded");
}

/// The header length of a sealed file, from `inspect --json`.
fn header_len(env: &Env, file: &str) -> usize {
    let v: serde_json::Value = serde_json::from_str(&env.ok(&["--json", "inspect", file])).unwrap();
    v["header_bytes"].as_u64().unwrap() as usize
}

#[test]
fn rewrap_adds_and_removes_keys_and_leaves_bodies_alone() {
    let env = Env::new();
    let (old, new) = (env.new_key(), env.new_key());
    let files = ["r1", "r2", "r3"];
    for (i, name) in files.iter().enumerate() {
        env.write(name, &pattern(1000 * i + 7));
        env.ok(&["seal", "--frame-size", "256", "--key", &old, name]);
    }
    let before: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(env.path(&format!("{f}.enc"))).unwrap()).collect();
    let sealed: Vec<String> = files.iter().map(|f| format!("{f}.enc")).collect();
    let mut args = vec!["rewrap", "--to", &new, "--remove", &old];
    args.extend(sealed.iter().map(String::as_str));
    let out = env.ok(&args);
    assert_eq!(out.lines().count(), 3, "{out}");
    for (i, file) in sealed.iter().enumerate() {
        let after = std::fs::read(env.path(file)).unwrap();
        let (old_len, new_len) = (header_len_of(&before[i]), header_len(&env, file));
        assert_eq!(before[i][old_len..], after[new_len..], "{file}: the body is byte for byte the same");
        assert_eq!(env.run(&["open", "--key", &new, "-o", "-", file]).stdout, pattern(1000 * i + 7));
        let err = env.fails(&["open", "--key", &old, "-o", "-", file], 3);
        assert!(err.contains(&new), "{err}");
    }
    no_plaintext_left(env.dir(), "none");
    let err = env.fails(&["rewrap", "--remove", &new, "r1.enc"], 2);
    assert!(err.contains("impossible to open"), "{err}");
    let err = env.fails(&["rewrap", "--remove", &old, "r1.enc"], 2);
    assert!(err.contains("does not wrap"), "{err}");
}

/// Parses the header length of a sealed message directly.
fn header_len_of(message: &[u8]) -> usize {
    let limits = envcrypt::message::ParseLimits::default();
    envcrypt::message::Header::parse(message, &limits).unwrap().1
}

/// How many audited calls of `operation` the local store has seen.
fn audited_calls(env: &Env, operation: &str) -> usize {
    let events: serde_json::Value = serde_json::from_str(&env.ok(&["--json", "audit", "list"])).unwrap();
    events.as_array().unwrap().iter().filter(|e| e["eventName"] == operation).count()
}

#[test]
fn many_inputs_take_one_key_service_call_per_run_and_each_gets_its_own_output() {
    let env = Env::new();
    let key = env.new_key();
    let names: Vec<String> = (0..24).map(|i| format!("log{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        env.write(name, &pattern(i * 5000 + 1));
    }
    let mut seal = vec!["--json", "seal", "--key", &key, "--frame-size", "1024"];
    seal.extend(names.iter().map(String::as_str));
    let generated_before = audited_calls(&env, "GenerateDataKey");
    let reports: serde_json::Value = serde_json::from_str(&env.ok(&seal)).unwrap();
    assert_eq!(reports.as_array().unwrap().len(), names.len(), "one report per input");
    assert_eq!(audited_calls(&env, "GenerateDataKey") - generated_before, 1, "one data key for the run");

    let ids: std::collections::HashSet<String> = names
        .iter()
        .map(|n| {
            let v: serde_json::Value =
                serde_json::from_str(&env.ok(&["--json", "inspect", &format!("{n}.enc")])).unwrap();
            v["message_id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), names.len(), "every message has its own message id");

    for name in &names {
        std::fs::rename(env.path(name), env.path(&format!("{name}.orig"))).unwrap();
    }
    let decrypted_before = audited_calls(&env, "Decrypt");
    let mut open = vec!["open"];
    let sealed: Vec<String> = names.iter().map(|n| format!("{n}.enc")).collect();
    open.extend(sealed.iter().map(String::as_str));
    env.ok(&open);
    assert_eq!(audited_calls(&env, "Decrypt") - decrypted_before, 1, "one Decrypt for messages sharing a data key");
    for name in &names {
        assert_eq!(std::fs::read(env.path(name)).unwrap(), std::fs::read(env.path(&format!("{name}.orig"))).unwrap());
    }
}

#[test]
fn a_failing_input_is_named_the_others_complete_and_the_status_says_so() {
    let env = Env::new();
    env.write("a", b"first");
    env.write("c", b"third");
    env.write("tampered.enc", b"\x02\x05not a message at all");
    let out = env.run(&["seal", "a", "missing", "c"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot read missing"), "{stderr}");
    assert!(stderr.lines().last().unwrap().contains("1 of 3 inputs could not be sealed"), "{stderr}");
    assert!(env.path("a.enc").exists() && env.path("c.enc").exists());
    no_plaintext_left(env.dir(), "missing.enc");

    std::fs::remove_file(env.path("a")).unwrap();
    let out = env.run(&["open", "a.enc", "tampered.enc"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "the data failed its checks: {stderr}");
    assert!(stderr.contains("tampered.enc") && stderr.contains("1 of 2 inputs could not be opened"), "{stderr}");
    assert_eq!(std::fs::read(env.path("a")).unwrap(), b"first");
    no_plaintext_left(env.dir(), "tampered");

    let err = env.fails(&["seal", "-o", "both.enc", "a", "c"], 2);
    assert!(err.contains("-o names one output"), "{err}");
    let err = env.fails(&["seal", "-", "-"], 2);
    assert!(err.contains("stdin"), "{err}");
}

#[test]
fn completions_and_the_man_page_come_from_the_command_line_definition() {
    let env = Env::new();
    for (shell, marker) in [("bash", "complete -F"), ("zsh", "#compdef envcrypt"), ("fish", "complete -c envcrypt")] {
        let script = env.ok(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: {script}");
        for command in ["seal", "open", "rewrap", "conformance"] {
            assert!(script.contains(command), "{shell} completes {command}");
        }
    }
    let page = env.ok(&["man"]);
    assert!(page.contains(".TH envcrypt") && page.contains("seal"), "{page}");
    env.ok(&["man", "--dir", "pages"]);
    for page in ["envcrypt.1", "envcrypt-seal.1", "envcrypt-key-create.1"] {
        assert!(env.path("pages").join(page).is_file(), "{page}");
    }
}

#[test]
fn asymmetric_keys_sign_encrypt_and_make_data_key_pairs_from_the_command_line() {
    let env = Env::new();
    let json = |text: String| -> serde_json::Value { serde_json::from_str(&text).unwrap() };

    env.ok(&["key", "create", "--key-spec", "RSA_2048", "--alias", "alias/rsa"]);
    let oaep = ["--encryption-algorithm", "RSAES_OAEP_SHA_256"];
    let sealed =
        json(env.ok(&[&["kms", "encrypt", "--key", "alias/rsa", "--plaintext", "c2VjcmV0"][..], &oaep].concat()));
    let blob = sealed["CiphertextBlob"].as_str().unwrap();
    let opened =
        json(env.ok(&[&["kms", "decrypt", "--key", "alias/rsa", "--ciphertext-blob", blob][..], &oaep].concat()));
    assert_eq!(
        (opened["Plaintext"].as_str(), opened["EncryptionAlgorithm"].as_str()),
        (Some("c2VjcmV0"), Some(oaep[1]))
    );
    let with_context = ["kms", "encrypt", "--key", "alias/rsa", "--plaintext", "c2VjcmV0", "--context", "a=b"];
    let err = env.fails(&[&with_context[..], &oaep].concat(), 2);
    assert!(err.contains("takes no encryption context"), "{err}");

    env.ok(&["key", "create", "--key-spec", "ECC_NIST_P384", "--key-usage", "SIGN_VERIFY", "--alias", "alias/sig"]);
    env.write("notes.txt", b"release notes");
    let signed = ["--key", "alias/sig", "--message-file", "notes.txt", "--signing-algorithm", "ECDSA_SHA_384"];
    let signature = json(env.ok(&[&["kms", "sign"][..], &signed].concat()));
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD.decode(signature["Signature"].as_str().unwrap()).unwrap();
    env.write("notes.sig", &der);
    env.ok(&["kms", "get-public-key", "--key", "alias/sig", "--pem-out", "public.pem"]);
    let out = Command::new("openssl")
        .current_dir(env.dir())
        .args(["dgst", "-sha384", "-verify", "public.pem", "-signature", "notes.sig", "notes.txt"])
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl: {}", String::from_utf8_lossy(&out.stderr));
    env.ok(&[&["kms", "verify"][..], &signed, &["--signature-file", "notes.sig"]].concat());
    env.write("notes.txt", b"release notes, edited");
    let err = env.fails(&[&["kms", "verify"][..], &signed, &["--signature-file", "notes.sig"]].concat(), 3);
    assert!(err.contains("KMSInvalidSignatureException"), "{err}");

    env.ok(&["key", "create", "--alias", "alias/sym"]);
    let pair = json(env.ok(&[
        "kms",
        "generate-data-key-pair",
        "--key",
        "alias/sym",
        "--key-pair-spec",
        "ECC_NIST_P256",
        "--context",
        "app=signer",
    ]));
    let private = pair["PrivateKeyCiphertextBlob"].as_str().unwrap();
    let opened = json(env.ok(&["kms", "decrypt", "--ciphertext-blob", private, "--context", "app=signer"]));
    assert_eq!(opened["Plaintext"], pair["PrivateKeyPlaintext"]);
}
