//! Interop with the official AWS Encryption SDK for Python and `aws-encryption-cli`, both
//! against the same moto KMS on loopback: each side opens what the other seals.

use std::path::Path;
use std::process::{Command, Output};

use envcrypt_testkit::{envcrypt_workdir, moto_endpoint, succeeded, venv_bin, Workdir};

envcrypt_workdir!(Env, Workdir::with_aws);

impl Env {
    /// Runs `cmd` against moto: the Python tools only take the endpoint from the environment.
    fn with_aws(&self, mut cmd: Command) -> Output {
        cmd.env("AWS_DEFAULT_REGION", "us-east-1").env("AWS_ENDPOINT_URL", moto_endpoint()).output().unwrap()
    }

    fn envcrypt(&self, args: &[&str]) -> Output {
        let mut cmd = self.command();
        cmd.args(args);
        self.with_aws(cmd)
    }

    fn official_cli(&self, args: &[&str]) -> Output {
        self.official_cli_under("require-encrypt-require-decrypt", args)
    }

    fn official_cli_under(&self, commitment_policy: &str, args: &[&str]) -> Output {
        let mut cmd = self.command_for(venv_bin("aws-encryption-cli"));
        cmd.args(args).args(["--commitment-policy", commitment_policy, "-S"]);
        self.with_aws(cmd)
    }

    fn python_sdk_decrypt(&self, key: &str, input: &str, output: &str, context: &serde_json::Value) -> Output {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/sdk_decrypt.py");
        let mut cmd = self.command_for(venv_bin("python"));
        cmd.arg(script).args([key, input, output, &context.to_string()]);
        self.with_aws(cmd)
    }

    fn key(&self) -> String {
        let out = succeeded(self.envcrypt(&["--json", "--backend", "aws", "key", "create"]), "key create");
        serde_json::from_slice::<serde_json::Value>(&out).unwrap()["Arn"].as_str().unwrap().to_owned()
    }
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 13 % 256) as u8).collect()
}

/// Plaintext length, frame size, context pairs.
type Case = (usize, u32, &'static [(&'static str, &'static str)]);

#[test]
fn the_official_cli_and_python_sdk_open_what_envcrypt_seals() {
    let env = Env::new();
    let key = env.key();
    let cases: [Case; 7] = [
        (0, 4096, &[]),
        (1, 4096, &[("purpose", "interop")]),
        (4096, 4096, &[("purpose", "interop"), ("tenant", "acme")]),
        (4097, 4096, &[]),
        (100_000, 1024, &[("a", "1"), ("b", "two"), ("ünï", "cödé")]),
        (300_000, 262_144, &[("purpose", "default-frame")]),
        (1_024, 128, &[("purpose", "exact-multiple")]),
    ];
    for (i, (len, frame, pairs)) in cases.iter().enumerate() {
        let plain = format!("p{i}");
        std::fs::write(env.path(&plain), data(*len)).unwrap();
        let mut args = vec!["seal".to_owned(), "--key".into(), key.clone(), "--frame-size".into(), frame.to_string()];
        for (k, v) in *pairs {
            args.extend(["--context".into(), format!("{k}={v}")]);
        }
        args.extend(["-o".into(), format!("{plain}.enc"), plain.clone()]);
        succeeded(env.envcrypt(&args.iter().map(String::as_str).collect::<Vec<_>>()), "envcrypt seal");

        let out = format!("{plain}.cli");
        let wrapping = format!("key={key}");
        let mut cli_args = vec!["--decrypt", "-i", &format!("{plain}.enc"), "-o", &out, "--wrapping-keys", &wrapping]
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        if !pairs.is_empty() {
            cli_args.push("--encryption-context".into());
            cli_args.extend(pairs.iter().map(|(k, v)| format!("{k}={v}")));
        }
        succeeded(
            env.official_cli(&cli_args.iter().map(String::as_str).collect::<Vec<_>>()),
            "aws-encryption-cli --decrypt",
        );
        assert_eq!(std::fs::read(env.path(&out)).unwrap(), data(*len), "case {i}: aws-encryption-cli");

        let context: serde_json::Value = pairs.iter().map(|(k, v)| (k.to_string(), serde_json::json!(v))).collect();
        let sdk_out = format!("{plain}.sdk");
        succeeded(env.python_sdk_decrypt(&key, &format!("{plain}.enc"), &sdk_out, &context), "Python SDK decrypt");
        assert_eq!(std::fs::read(env.path(&sdk_out)).unwrap(), data(*len), "case {i}: Python SDK");
    }
}

/// Every suite, both ways through `aws-encryption-cli` and a KMS key: the legacy suites under
/// the policies that allow them, non-framed bodies (frame length 0) from the official side.
#[test]
fn every_suite_crosses_between_envcrypt_and_the_official_cli() {
    let env = Env::new();
    let key = env.key();
    let wrapping = format!("key={key}");
    let plaintext = data(20_000);
    std::fs::write(env.path("plain"), &plaintext).unwrap();
    for suite in envcrypt::message::AlgorithmSuite::ALL {
        // The official CLI names the identity suites without the specification's _NO_KDF.
        let (id, name) = (format!("0x{:04x}", suite.id()), suite.name().trim_end_matches("_NO_KDF"));
        let sealing_policy =
            if suite.is_committing() { "require-encrypt-require-decrypt" } else { "forbid-encrypt-allow-decrypt" };
        for frame_length in ["0", "4096"] {
            let sealed = format!("official-{id}-{frame_length}.enc");
            let args = [
                "--encrypt",
                "-i",
                "plain",
                "-o",
                &sealed,
                "--wrapping-keys",
                &wrapping,
                "--algorithm",
                name,
                "--frame-length",
                frame_length,
                "-c",
                "origin=python",
            ];
            succeeded(env.official_cli_under(sealing_policy, &args), &format!("aws-encryption-cli --encrypt {id}"));
            let inspect = String::from_utf8(succeeded(env.envcrypt(&["inspect", &sealed]), "inspect")).unwrap();
            assert!(inspect.contains(&id), "{id}: {inspect}");
            assert_eq!(inspect.contains("non-framed"), frame_length == "0", "{id}: {inspect}");
            let open = ["open", "--commitment-policy", "require-encrypt-allow-decrypt", "-o", "-", &sealed];
            assert_eq!(succeeded(env.envcrypt(&open), &format!("envcrypt open {id}")), plaintext, "{id}");
            if !suite.is_committing() {
                let refused = env.envcrypt(&["open", "-o", "-", &sealed]);
                assert_eq!(refused.status.code(), Some(4), "{id}: the default policy refuses legacy suites");
                assert!(refused.stdout.is_empty());
                let message = String::from_utf8_lossy(&refused.stderr);
                assert!(message.contains("--commitment-policy require-encrypt-allow-decrypt"), "{id}: {message}");
            }
        }

        let sealed = format!("envcrypt-{id}.enc");
        let seal = [
            "seal",
            "--key",
            &key,
            "--suite",
            &id,
            "--commitment-policy",
            sealing_policy,
            "--frame-size",
            "4096",
            "--context",
            "origin=envcrypt",
            "-o",
            &sealed,
            "plain",
        ];
        succeeded(env.envcrypt(&seal), &format!("envcrypt seal {id}"));
        let out = format!("envcrypt-{id}.out");
        let args = ["--decrypt", "-i", &sealed, "-o", &out, "--wrapping-keys", &wrapping];
        succeeded(
            env.official_cli_under("require-encrypt-allow-decrypt", &args),
            &format!("aws-encryption-cli --decrypt {id}"),
        );
        assert_eq!(std::fs::read(env.path(&out)).unwrap(), plaintext, "{id}: aws-encryption-cli");
    }
}

#[test]
fn envcrypt_opens_what_the_official_cli_seals() {
    let env = Env::new();
    let key = env.key();
    let wrapping = format!("key={key}");
    // The official default suite is 0x0578 (signed); 0x0478 on request.
    let cases: [(&[&str], &str, usize); 4] = [
        (&[], "0x0578", 50_000),
        (&["--frame-length", "1024"], "0x0578", 5_000),
        (&["--algorithm", "AES_256_GCM_HKDF_SHA512_COMMIT_KEY"], "0x0478", 50_000),
        (&["--algorithm", "AES_256_GCM_HKDF_SHA512_COMMIT_KEY", "--frame-length", "128"], "0x0478", 1_000),
    ];
    for (i, (extra, suite, len)) in cases.iter().enumerate() {
        let plain = format!("q{i}");
        std::fs::write(env.path(&plain), data(*len)).unwrap();
        let sealed = format!("{plain}.enc");
        let mut args =
            vec!["--encrypt", "-i", &plain, "-o", &sealed, "--wrapping-keys", &wrapping, "-c", "origin=python"];
        args.extend_from_slice(extra);
        succeeded(env.official_cli(&args), "aws-encryption-cli --encrypt");
        let inspect = String::from_utf8(succeeded(env.envcrypt(&["inspect", &sealed]), "inspect")).unwrap();
        assert!(inspect.contains(suite), "case {i}: {inspect}");
        let opened =
            succeeded(env.envcrypt(&["open", "--context", "origin=python", "-o", "-", &sealed]), "envcrypt open");
        assert_eq!(opened, data(*len), "case {i}");
        let unsigned_only = env.envcrypt(&["open", "--unsigned-only", "-o", "-", &sealed]);
        if *suite == "0x0578" {
            assert_eq!(unsigned_only.status.code(), Some(4), "case {i}: a signed message is refused");
            assert!(unsigned_only.stdout.is_empty(), "case {i}: nothing released before refusing");
            // The signature covers the header: a re-wrap would break it, so it is refused and
            // the file is left as it was.
            let before = std::fs::read(env.path(&sealed)).unwrap();
            let rewrap = env.envcrypt(&["rewrap", "--to", &key, &sealed]);
            assert_eq!(rewrap.status.code(), Some(2), "case {i}: {}", String::from_utf8_lossy(&rewrap.stderr));
            assert!(String::from_utf8_lossy(&rewrap.stderr).contains("signed messages"), "case {i}");
            assert_eq!(std::fs::read(env.path(&sealed)).unwrap(), before, "case {i}");
        } else {
            assert_eq!(unsigned_only.stdout, data(*len), "case {i}");
        }

        // A signed message altered anywhere is refused, and nothing is written.
        let mut bad = std::fs::read(env.path(&sealed)).unwrap();
        let at = bad.len() - 3;
        bad[at] ^= 1;
        std::fs::write(env.path("bad.enc"), &bad).unwrap();
        let out = env.envcrypt(&["open", "-o", "bad.out", "bad.enc"]);
        assert_eq!(out.status.code(), Some(4), "case {i}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(!env.path("bad.out").exists());
    }
}

#[test]
fn a_rewrapped_file_still_opens_with_the_official_sdk() {
    let env = Env::new();
    let (old, new) = (env.key(), env.key());
    std::fs::write(env.path("r"), data(20_000)).unwrap();
    succeeded(env.envcrypt(&["seal", "--key", &old, "--frame-size", "4096", "--context", "stage=before", "r"]), "seal");
    let before = std::fs::read(env.path("r.enc")).unwrap();
    succeeded(env.envcrypt(&["rewrap", "--to", &new, "--remove", &old, "r.enc"]), "rewrap");
    let after = std::fs::read(env.path("r.enc")).unwrap();
    assert_ne!(before, after);
    // The body (everything after the header) is unchanged.
    let limits = envcrypt::message::ParseLimits::default();
    let (_, old_header) = envcrypt::message::Header::parse(&before, &limits).unwrap();
    let (header, new_header) = envcrypt::message::Header::parse(&after, &limits).unwrap();
    assert_eq!(before[old_header..], after[new_header..]);
    let keys: Vec<&[u8]> = header.body().encrypted_data_keys.iter().map(|k| k.provider_info.as_slice()).collect();
    assert_eq!(keys, [new.as_bytes()]);

    let wrapping = format!("key={new}");
    succeeded(
        env.official_cli(&["--decrypt", "-i", "r.enc", "-o", "r.cli", "--wrapping-keys", &wrapping]),
        "official decrypt",
    );
    assert_eq!(std::fs::read(env.path("r.cli")).unwrap(), data(20_000));
    let context = serde_json::json!({ "stage": "before" });
    succeeded(env.python_sdk_decrypt(&new, "r.enc", "r.sdk", &context), "Python SDK decrypt");
    assert_eq!(std::fs::read(env.path("r.sdk")).unwrap(), data(20_000));
    let refused =
        env.official_cli(&["--decrypt", "-i", "r.enc", "-o", "r.old", "--wrapping-keys", &format!("key={old}")]);
    assert!(!refused.status.success(), "the removed key no longer opens it");
}

/// A signed message from the official CLI, altered at every byte and cut at every length: each
/// is refused with a non-zero exit and leaves no output file.
#[test]
fn every_flip_and_truncation_of_a_signed_message_is_refused() {
    let env = Env::new();
    let key = env.key();
    std::fs::write(env.path("s"), data(300)).unwrap();
    let wrapping = format!("key={key}");
    succeeded(
        env.official_cli(&[
            "--encrypt",
            "-i",
            "s",
            "-o",
            "s.enc",
            "--wrapping-keys",
            &wrapping,
            "--frame-length",
            "128",
        ]),
        "encrypt",
    );
    let sealed = std::fs::read(env.path("s.enc")).unwrap();
    let mut cases: Vec<(String, Vec<u8>)> = (0..sealed.len())
        .map(|i| {
            let mut bad = sealed.clone();
            bad[i] ^= 0x04;
            (format!("flip-{i}"), bad)
        })
        .collect();
    cases.extend((0..sealed.len()).map(|len| (format!("cut-{len}"), sealed[..len].to_vec())));
    cases.push(("extended".into(), [&sealed[..], b"\0"].concat()));
    let half = cases.len().div_ceil(2);
    std::thread::scope(|s| {
        for chunk in cases.chunks(half) {
            let env = &env;
            s.spawn(move || {
                for (name, message) in chunk {
                    let dir = env.path(name);
                    std::fs::create_dir(&dir).unwrap();
                    std::fs::write(dir.join("in.enc"), message).unwrap();
                    let out = env.envcrypt(&["open", "-o", &format!("{name}/out"), &format!("{name}/in.enc")]);
                    assert!(
                        matches!(out.status.code(), Some(3 | 4)),
                        "{name}: {:?} {}",
                        out.status,
                        String::from_utf8_lossy(&out.stderr)
                    );
                    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "{name}: output left behind");
                }
            });
        }
    });
}
