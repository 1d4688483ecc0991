//! `envcrypt` with AWS KMS keys, against a real moto_server on loopback.

use std::process::Output;

use envcrypt_testkit::{envcrypt_workdir, moto_endpoint, Workdir};

envcrypt_workdir!(Env, Workdir::with_aws);

impl Env {
    /// Runs envcrypt against moto, named with the --endpoint-url flag.
    fn run(&self, args: &[&str]) -> Output {
        self.command().args(["--endpoint-url", moto_endpoint()]).args(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn aws_key(&self) -> String {
        let v: serde_json::Value =
            serde_json::from_str(&self.ok(&["--json", "--backend", "aws", "key", "create"])).unwrap();
        let arn = v["Arn"].as_str().unwrap().to_owned();
        assert!(arn.starts_with("arn:aws:kms:"), "{arn}");
        arn
    }
}

#[test]
fn a_local_key_and_an_aws_key_each_open_the_message() {
    let env = Env::new();
    let aws = env.aws_key();
    std::fs::write(env.path("plan.txt"), b"disaster recovery plan").unwrap();
    env.ok(&["seal", "--key", "alias/envcrypt/default", "--key", &aws, "plan.txt"]);
    let header: serde_json::Value = serde_json::from_str(&env.ok(&["--json", "inspect", "plan.txt.enc"])).unwrap();
    let providers: Vec<&str> =
        header["encrypted_data_keys"].as_array().unwrap().iter().map(|k| k["provider_id"].as_str().unwrap()).collect();
    assert_eq!(providers, ["envcrypt-local", "aws-kms"]);
    assert_eq!(header["encrypted_data_keys"][1]["provider_info"], aws.as_str());

    assert_eq!(env.ok(&["open", "--key", &aws, "-o", "-", "plan.txt.enc"]), "disaster recovery plan");
    assert_eq!(
        env.ok(&["open", "--key", "alias/envcrypt/default", "-o", "-", "plan.txt.enc"]),
        "disaster recovery plan"
    );

    // With the local store gone, discovery still opens it through KMS, and creates no store.
    std::fs::remove_dir_all(env.path("store")).unwrap();
    assert_eq!(env.ok(&["open", "-o", "-", "plan.txt.enc"]), "disaster recovery plan");
    assert!(!env.path("store").exists());
}

#[test]
fn an_aws_alias_with_the_aws_backend() {
    let env = Env::new();
    let key = env.aws_key();
    // Unique per run: moto is shared by every test and keeps aliases between runs.
    let alias = format!("alias/backups-{}", key.rsplit('/').next().unwrap());
    env.ok(&["--backend", "aws", "key", "alias", "create", &alias, &key]);
    std::fs::write(env.path("db.dump"), vec![9u8; 100_000]).unwrap();
    env.ok(&["--backend", "aws", "seal", "--key", &alias, "db.dump"]);
    let header = env.ok(&["inspect", "db.dump.enc"]);
    assert!(header.contains(&format!("aws-kms  {key}")), "the header records the key ARN, not the alias: {header}");
    std::fs::remove_file(env.path("db.dump")).unwrap();
    env.ok(&["open", "db.dump.enc"]);
    assert_eq!(std::fs::read(env.path("db.dump")).unwrap(), vec![9u8; 100_000]);
    let described: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "--backend", "aws", "key", "describe", &alias])).unwrap();
    assert_eq!(described["Arn"], key.as_str());
}

#[test]
fn a_wrong_aws_key_is_named_in_the_error() {
    let env = Env::new();
    let (key, other) = (env.aws_key(), env.aws_key());
    std::fs::write(env.path("f"), b"x").unwrap();
    env.ok(&["seal", "--key", &key, "f"]);
    let out = env.run(&["open", "--key", &other, "-o", "out", "f.enc"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(&key), "{stderr}");
    assert!(!env.path("out").exists());
}

#[test]
fn conformance_command_compares_local_and_moto() {
    let env = Env::new();
    let table = env.ok(&["conformance", "--backend", "local", "--backend", "aws"]);
    assert!(
        table.contains("local: 135 scenarios, 135 as documented, 0 known deviations, 0 differences, 0 not run"),
        "{table}"
    );
    assert!(
        table.contains("aws: 135 scenarios, 62 as documented, 73 known deviations, 0 differences, 0 not run"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("re-encrypt-only-principal") && l.contains("~ ok: re-encrypted; decrypt allowed")),
        "{table}"
    );
    assert!(table.contains("decrypt-with-disabled-key"), "{table}");
    assert!(
        table.lines().any(|l| l.starts_with("decrypt-with-disabled-key") && l.contains("~ ok: round trip")),
        "{table}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "conformance", "--backend", "local", "--backend", "aws"])).unwrap();
    assert_eq!(report["backends"], serde_json::json!(["local", "aws"]));
    assert!(report["rows"].as_array().unwrap().len() >= 40);
    let strict = env.run(&["conformance", "--backend", "aws", "--no-known-deviations"]);
    assert_eq!(strict.status.code(), Some(5), "moto's deviations fail when not excused");
}
