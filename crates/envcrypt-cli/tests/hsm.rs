//! `envcrypt` with the PKCS#11 backend against SoftHSM2 tokens: seal, open, `hsm status`
//! with a token lost, conformance, and the configuration errors.

use std::process::Output;

use envcrypt_testkit::{envcrypt_workdir, SoftHsm, SO_PIN, USER_PIN};

envcrypt_workdir!(Env);

const CLUSTER: [&str; 3] = ["az-a", "az-b", "az-c"];

impl Env {
    fn hsm(&self, hsm: &SoftHsm, pin: &str, args: &[&str]) -> Output {
        self.command()
            .env("SOFTHSM2_CONF", hsm.config())
            .env("ENVCRYPT_PKCS11_MODULE", hsm.module())
            .env("ENVCRYPT_PKCS11_TOKENS", CLUSTER.join(","))
            .env("ENVCRYPT_PKCS11_PIN", pin)
            .args(args)
            .output()
            .expect("envcrypt runs")
    }

    fn hsm_ok(&self, hsm: &SoftHsm, args: &[&str]) -> String {
        let out = self.hsm(hsm, USER_PIN, args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// `hsm init-cluster`, as the security officer.
    fn init_cluster(&self, hsm: &SoftHsm) -> String {
        let out = self
            .command()
            .env("SOFTHSM2_CONF", hsm.config())
            .env("ENVCRYPT_PKCS11_MODULE", hsm.module())
            .env("ENVCRYPT_PKCS11_TOKENS", CLUSTER.join(","))
            .env("ENVCRYPT_PKCS11_SO_PIN", SO_PIN)
            .args(["hsm", "init-cluster"])
            .output()
            .expect("envcrypt runs");
        assert!(out.status.success(), "init-cluster: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn hsm_fails(&self, hsm: &SoftHsm, pin: &str, args: &[&str], code: i32) -> String {
        let out = self.hsm(hsm, pin, args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        stderr
    }
}

#[test]
fn seal_and_open_with_a_cluster_that_loses_a_token() {
    let hsm = SoftHsm::new(&CLUSTER);
    let env = Env::new();
    let before = env.hsm_fails(&hsm, USER_PIN, &["--backend", "pkcs11", "key", "create"], 3);
    assert!(before.contains("envcrypt hsm init-cluster"), "{before}");
    let set_up = env.init_cluster(&hsm);
    assert!(set_up.contains("az-a") && set_up.contains("created") && set_up.contains("copied"), "{set_up}");
    env.hsm_ok(&hsm, &["--backend", "pkcs11", "key", "create", "--alias", "alias/hsm"]);
    env.0.write("data.bin", &[7u8; 100_000]);
    env.hsm_ok(&hsm, &["seal", "--backend", "pkcs11", "--key", "alias/hsm", "data.bin"]);
    let inspected = String::from_utf8(env.0.ok(&["inspect", "data.bin.enc"])).unwrap();
    assert!(inspected.contains("envcrypt-pkcs11  arn:envcrypt:kms:pkcs11:"), "{inspected}");
    let status = env.hsm_ok(&hsm, &["hsm", "status"]);
    for token in CLUSTER {
        assert!(status.lines().any(|l| l.starts_with(token) && l.contains(" up ") && l.contains(" 1 ")), "{status}");
    }

    let _lost = hsm.take_offline("az-b");
    env.hsm_ok(&hsm, &["open", "data.bin.enc", "-o", "out.bin"]);
    assert_eq!(std::fs::read(env.0.path("out.bin")).unwrap(), vec![7u8; 100_000]);
    let down = env.hsm_fails(&hsm, USER_PIN, &["hsm", "status"], 1);
    assert!(down.contains("token(s) down: az-b"), "{down}");
}

#[test]
fn conformance_on_the_hsm_backend() {
    let hsm = SoftHsm::new(&CLUSTER);
    let env = Env::new();
    env.init_cluster(&hsm);
    let table = env.hsm_ok(&hsm, &["conformance", "--backend", "pkcs11"]);
    assert!(
        table.contains("pkcs11: 135 scenarios, 96 as documented, 0 known deviations, 0 differences, 39 not run"),
        "{table}"
    );
}

#[test]
fn wrong_pin_missing_module_missing_token_and_no_pin_are_one_clear_line() {
    let hsm = SoftHsm::new(&CLUSTER);
    let env = Env::new();
    let wrong = env.hsm_fails(&hsm, "0000", &["hsm", "status"], 3);
    assert!(wrong.contains("refused the user PIN") && !wrong.contains("key policy"), "{wrong}");

    let out = env
        .command()
        .env("SOFTHSM2_CONF", hsm.config())
        .env("ENVCRYPT_PKCS11_PIN", USER_PIN)
        .args(["--pkcs11-module", "/nonexistent/libhsm.so", "--pkcs11-token", "az-a", "hsm", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot load the PKCS#11 module /nonexistent/libhsm.so"));

    let out = env
        .command()
        .env("SOFTHSM2_CONF", hsm.config())
        .env("ENVCRYPT_PKCS11_PIN", USER_PIN)
        .args(["--pkcs11-module", hsm.module().to_str().unwrap(), "--pkcs11-token", "az-x", "hsm", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no initialized token labelled \"az-x\""));

    let out = env
        .command()
        .env("SOFTHSM2_CONF", hsm.config())
        .env_remove("ENVCRYPT_PKCS11_PIN")
        .args(["--pkcs11-module", hsm.module().to_str().unwrap(), "--pkcs11-token", "az-a", "hsm", "status"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("set ENVCRYPT_PKCS11_PIN"));
}
