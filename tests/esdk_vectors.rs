//! The official AWS Encryption SDK test vectors, both ways, in process.
//!
//! - `vectors/esdk/python-raw.tar.gz` is a decrypt manifest the official Python SDK's
//!   test-vector handlers wrote from the framework's canonical generation manifest, every test
//!   with raw keys (`vectors/esdk/generate.sh`): envcrypt must open every positive vector to its
//!   plaintext and refuse every negative one.
//! - envcrypt writes a decrypt manifest of its own (every suite, raw AES and RSA keys, several
//!   frame sizes) and the official Python SDK opens all of it (`tests/esdk/decrypt_manifest.py`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use envcrypt::keyring::cache::{CacheLimits, DataKeyCache};
use envcrypt::keyring::raw::{RawKey, RsaPadding};
use envcrypt::keyring::{Keyring, OpenPolicy};
use envcrypt::kms::EncryptionContext;
use envcrypt::message::{AlgorithmSuite, CommitmentPolicy};
use envcrypt::stream::{self, Decryptor, OpenOptions, SealOptions};
use envcrypt_testkit::{succeeded, venv_bin};
use serde_json::{json, Value};

/// The official vectors, unpacked once per test process.
fn official_vectors() -> PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let archive = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/esdk/python-raw.tar.gz");
        let out = Command::new("tar").arg("-xzf").arg(&archive).arg("-C").arg(dir.path()).output().unwrap();
        succeeded(out, "unpacking the official vectors");
        dir
    })
    .path()
    .join("python-raw")
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// A `file://` URI of a manifest, relative to the manifest's directory.
fn resolve(dir: &Path, uri: &Value) -> PathBuf {
    dir.join(uri.as_str().unwrap().strip_prefix("file://").expect("a file:// URI"))
}

/// The raw keys of a keys manifest (version 3), built as a master-key spec asks for them.
struct Keys {
    manifest: Value,
    built: HashMap<String, Arc<RawKey>>,
}

impl Keys {
    fn load(path: &Path) -> Self {
        let manifest = read_json(path);
        assert_eq!(manifest["manifest"]["version"], 3, "keys manifest version");
        Self { manifest, built: HashMap::new() }
    }

    /// The key a master-key spec names; `None` for a spec that is not raw.
    fn raw_key(&mut self, spec: &Value) -> Option<Arc<RawKey>> {
        if spec["type"] != "raw" {
            return None;
        }
        let id = format!("{spec}");
        if let Some(key) = self.built.get(&id) {
            return Some(key.clone());
        }
        let entry = &self.manifest["keys"][spec["key"].as_str().unwrap()];
        let namespace = spec["provider-id"].as_str().unwrap();
        let name = entry["key-id"].as_str().unwrap();
        let material = entry["material"].as_str().unwrap();
        let key = match spec["encryption-algorithm"].as_str().unwrap() {
            "aes" => RawKey::aes(namespace, name, &B64.decode(material).unwrap()),
            "rsa" => RawKey::rsa_pem(namespace, name, material, padding(spec)),
            other => panic!("unknown raw key algorithm {other}"),
        };
        let key = Arc::new(key.unwrap());
        self.built.insert(id, key.clone());
        Some(key)
    }
}

fn padding(spec: &Value) -> RsaPadding {
    match (spec["padding-algorithm"].as_str().unwrap(), spec["padding-hash"].as_str()) {
        ("pkcs1", _) => RsaPadding::Pkcs1,
        ("oaep-mgf1", Some("sha1")) => RsaPadding::OaepSha1,
        ("oaep-mgf1", Some("sha256")) => RsaPadding::OaepSha256,
        ("oaep-mgf1", Some("sha384")) => RsaPadding::OaepSha384,
        ("oaep-mgf1", Some("sha512")) => RsaPadding::OaepSha512,
        other => panic!("unknown RSA padding {other:?}"),
    }
}

fn padding_spec(padding: RsaPadding) -> Value {
    match padding {
        RsaPadding::Pkcs1 => json!({"padding-algorithm": "pkcs1"}),
        RsaPadding::OaepSha1 => json!({"padding-algorithm": "oaep-mgf1", "padding-hash": "sha1"}),
        RsaPadding::OaepSha256 => json!({"padding-algorithm": "oaep-mgf1", "padding-hash": "sha256"}),
        RsaPadding::OaepSha384 => json!({"padding-algorithm": "oaep-mgf1", "padding-hash": "sha384"}),
        RsaPadding::OaepSha512 => json!({"padding-algorithm": "oaep-mgf1", "padding-hash": "sha512"}),
    }
}

/// Opens `ciphertext` with `keys` twice, as the Python handlers do: on several threads
/// (`stream::open`) and streaming on one (`Decryptor`). Both must agree. The second reuses the
/// data key the first unwrapped (an RSA-4096 decryption is most of a vector's cost).
fn open(ciphertext: &[u8], keys: Vec<Arc<RawKey>>, unsigned_only: bool) -> Result<Vec<u8>, String> {
    let policy = OpenPolicy::discovery(Vec::new())
        .with_raw_keys(keys)
        .with_cache(Arc::new(DataKeyCache::new(1)), CacheLimits::new(Duration::from_secs(60)))
        .unwrap();
    let options = OpenOptions {
        commitment_policy: CommitmentPolicy::ForbidEncryptAllowDecrypt,
        unsigned_only,
        threads: 2,
        ..OpenOptions::default()
    };
    let mut parallel = Vec::new();
    let parallel_result = stream::open(ciphertext, &mut parallel, &policy, &options).map(|_| parallel);
    let streamed = Decryptor::with_options(ciphertext, &policy, &options).and_then(|mut reader| {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut reader, &mut out).map_err(stream::Error::Input)?;
        Ok(out)
    });
    match (parallel_result, streamed) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "the two ways of opening disagree");
            Ok(a)
        }
        (Err(a), Err(_)) => Err(a.to_string()),
        (a, b) => panic!("one way of opening failed and the other did not: {:?} / {:?}", a.err(), b.err()),
    }
}

/// What one official vector did.
enum Outcome {
    Opened(u16),
    Refused,
}

/// Runs one official vector: a positive one must open to its plaintext, a negative one must fail.
fn run_official(dir: &Path, keys: &Mutex<Keys>, name: &str, test: &Value) -> Outcome {
    let master_keys = test["master-keys"].as_array().unwrap();
    let raw_keys: Vec<Arc<RawKey>> = {
        let mut keys = keys.lock().unwrap();
        master_keys.iter().filter_map(|spec| keys.raw_key(spec)).collect()
    };
    assert_eq!(raw_keys.len(), master_keys.len(), "{name}: every key of the set is raw");
    let ciphertext = std::fs::read(resolve(dir, &test["ciphertext"])).unwrap();
    let unsigned_only = test["decryption-method"] == "streaming-unsigned-only";
    let result = open(&ciphertext, raw_keys, unsigned_only);
    match test["result"]["output"]["plaintext"].as_str() {
        Some(expected) => {
            let expected = std::fs::read(resolve(dir, &json!(expected))).unwrap();
            let plaintext = result.unwrap_or_else(|e| panic!("{name} ({}): {e}", test["description"]));
            assert!(plaintext == expected, "{name}: wrong plaintext");
            Outcome::Opened(stream::read_header(&mut &ciphertext[..], &Default::default()).unwrap().body().suite.id())
        }
        None => {
            let description = &test["result"]["error"]["error-description"];
            assert!(result.is_err(), "{name}: a negative vector ({description}) opened");
            Outcome::Refused
        }
    }
}

#[test]
fn every_official_raw_key_vector_opens_and_every_negative_one_is_refused() {
    let dir = &official_vectors();
    let manifest = read_json(&dir.join("manifest.json"));
    assert_eq!(manifest["manifest"]["type"], "awses-decrypt");
    let keys = Mutex::new(Keys::load(&resolve(dir, &manifest["keys"])));
    let tests: Vec<(&String, &Value)> = manifest["tests"].as_object().unwrap().iter().collect();
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
        let workers: Vec<_> = tests
            .chunks(tests.len().div_ceil(threads))
            .map(|chunk| {
                let keys = &keys;
                scope.spawn(move || {
                    chunk.iter().map(|(name, test)| run_official(dir, keys, name, test)).collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|worker| worker.join().unwrap()).collect()
    });
    let suites: std::collections::BTreeSet<u16> =
        outcomes.iter().filter_map(|o| if let Outcome::Opened(suite) = o { Some(*suite) } else { None }).collect();
    let opened = outcomes.iter().filter(|o| matches!(o, Outcome::Opened(_))).count();
    let refused = outcomes.len() - opened;
    println!("official vectors: {opened} opened, {refused} refused, of {}", tests.len());
    assert_eq!(outcomes.len(), tests.len());
    assert_eq!(suites.len(), AlgorithmSuite::ALL.len(), "every suite has a positive vector: {suites:x?}");
    assert!(opened >= 2800 && refused >= 4000, "the whole raw-key set: {opened} positive, {refused} negative");
}

/// The master-key specs of each key set envcrypt seals the reverse manifest with: each AES
/// size, each RSA padding, and a set whose data key a public RSA key generates and an AES key
/// also wraps.
fn reverse_key_sets() -> Vec<Vec<Value>> {
    let namespace = "aws-raw-vectors-persistant";
    let aes = |key: &str| json!({"type": "raw", "key": key, "provider-id": namespace, "encryption-algorithm": "aes"});
    let rsa = |key: &str, padding: RsaPadding| {
        let mut spec = json!({"type": "raw", "key": key, "provider-id": namespace, "encryption-algorithm": "rsa"});
        spec.as_object_mut().unwrap().extend(padding_spec(padding).as_object().unwrap().clone());
        spec
    };
    let mut sets: Vec<Vec<Value>> = ["aes-128", "aes-192", "aes-256"].iter().map(|k| vec![aes(k)]).collect();
    sets.extend(RsaPadding::ALL.iter().map(|(_, padding)| vec![rsa("rsa-4096-private", *padding)]));
    sets.push(vec![rsa("rsa-4096-public", RsaPadding::OaepSha256), aes("aes-256")]);
    sets
}

#[test]
fn the_official_python_sdk_opens_what_envcrypt_seals_with_every_suite_and_raw_key() {
    let official = &official_vectors();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("esdk-envcrypt-manifest");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("ciphertexts")).unwrap();
    std::fs::create_dir_all(dir.join("plaintexts")).unwrap();
    std::fs::copy(official.join("keys.json"), dir.join("keys.json")).unwrap();
    let mut keys = Keys::load(&dir.join("keys.json"));
    let plaintext: Vec<u8> = (0..10240u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    std::fs::write(dir.join("plaintexts/small"), &plaintext).unwrap();
    let context: EncryptionContext =
        [("key1", "val1"), ("key2", "val2")].into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();

    let mut tests = serde_json::Map::new();
    for suite in AlgorithmSuite::ALL {
        let commitment_policy = CommitmentPolicy::ALL.into_iter().find(|p| p.allows_sealing(suite)).unwrap();
        for frame_length in [512, 4096, 65536] {
            for specs in reverse_key_sets() {
                let keyring =
                    specs.iter().fold(Keyring::new(), |ring, spec| ring.with_raw_key(keys.raw_key(spec).unwrap()));
                let options =
                    SealOptions { suite, commitment_policy, frame_length, threads: 2, ..SealOptions::default() };
                let mut sealed = Vec::new();
                stream::seal(&plaintext[..], &mut sealed, &keyring, &context, &options).unwrap();
                let name = format!("envcrypt-{:04x}-frame{frame_length}-{}", suite.id(), tests.len());
                std::fs::write(dir.join("ciphertexts").join(&name), &sealed).unwrap();
                tests.insert(
                    name.clone(),
                    json!({
                        "ciphertext": format!("file://ciphertexts/{name}"),
                        "master-keys": specs,
                        "result": {"output": {"plaintext": "file://plaintexts/small"}},
                    }),
                );
            }
        }
    }
    let count = tests.len();
    let manifest = json!({
        "manifest": {"type": "awses-decrypt", "version": 2},
        "client": {"name": "envcrypt", "version": env!("CARGO_PKG_VERSION")},
        "keys": "file://keys.json",
        "tests": tests,
    });
    std::fs::write(dir.join("manifest.json"), serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/esdk/decrypt_manifest.py");
    let out = Command::new(venv_bin("python")).arg(script).arg(dir.join("manifest.json")).output().unwrap();
    let report = String::from_utf8(succeeded(out, "the Python SDK opening envcrypt's manifest")).unwrap();
    assert_eq!(report.trim(), format!("{count} decrypted"));
    println!("envcrypt's manifest ({}): {report}", dir.display());
}
