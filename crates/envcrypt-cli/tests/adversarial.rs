//! Hostile messages through the `envcrypt` binary: each is refused with a specific error, a
//! non-zero exit and no output file, and stdout never carries unauthenticated plaintext.

use std::path::Path;
use std::process::Command;

use envcrypt_testkit::envcrypt_workdir;

const FRAME: usize = 64;
const REGULAR: usize = 4 + 12 + FRAME + 16;

struct Sample {
    name: &'static str,
    plaintext: Vec<u8>,
    sealed: Vec<u8>,
}

impl Sample {
    /// Where the body starts: the header ends with the 32-byte commitment and 16-byte tag.
    fn body_start(&self) -> usize {
        let frames = self.plaintext.len() / FRAME;
        let final_len = self.plaintext.len() % FRAME;
        self.sealed.len() - frames * REGULAR - (4 + 4 + 12 + 4 + final_len + 16)
    }
}

envcrypt_workdir!(Env);

impl Env {
    fn sample(&self, name: &'static str, len: usize, extra_keys: usize) -> Sample {
        let plaintext: Vec<u8> = (0..len).map(|i| (i * 31 % 256) as u8).collect();
        std::fs::write(self.path(name), &plaintext).unwrap();
        let mut args =
            vec!["seal".to_owned(), "--frame-size".into(), FRAME.to_string(), "--context".into(), "k=v".into()];
        args.extend(["--key".into(), "alias/envcrypt/default".into()]);
        for _ in 0..extra_keys {
            let out = self.run(&["--json", "key", "create"]);
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            args.extend(["--key".into(), v["Arn"].as_str().unwrap().to_owned()]);
        }
        args.extend(["-o".into(), format!("{name}.enc"), name.into()]);
        let out = self.command().args(&args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        Sample { name, plaintext, sealed: std::fs::read(self.path(&format!("{name}.enc"))).unwrap() }
    }

    /// Opens `message` into a file; it must fail, name the input, leave no output, and (if
    /// given) say `expected`.
    fn refused(&self, tag: &str, message: &[u8], extra: &[&str], expected: Option<&str>) -> String {
        // Each case in a directory of its own, so parallel cases never see each other's files.
        let case_dir = self.path(tag);
        std::fs::create_dir(&case_dir).unwrap();
        let input = format!("{tag}/{tag}.enc");
        let output = format!("{tag}/out");
        std::fs::write(self.path(&input), message).unwrap();
        let mut args = vec!["open", "-o", &output];
        args.extend_from_slice(extra);
        args.push(&input);
        let out = self.run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(matches!(out.status.code(), Some(3 | 4)), "{tag}: exit {:?}: {stderr}", out.status.code());
        assert!(stderr.starts_with("envcrypt: cannot open ") && stderr.contains(&input), "{tag}: {stderr}");
        if let Some(expected) = expected {
            assert!(stderr.contains(expected), "{tag}: expected {expected:?} in {stderr}");
        }
        no_output(&case_dir, "out");
        stderr
    }
}

fn no_output(dir: &Path, name: &str) {
    assert!(!dir.join(name).exists(), "{name} was written");
    for entry in std::fs::read_dir(dir).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        assert!(!file.starts_with(".envcrypt-"), "temporary file {file} left behind");
    }
}

fn samples(env: &Env) -> Vec<Sample> {
    vec![env.sample("one-frame", 40, 0), env.sample("many-frames", FRAME * 6 + 9, 0), env.sample("two-keys", 100, 1)]
}

/// Runs `check` over `cases` on two threads (the machine has two cores).
fn in_parallel<T: Sync>(cases: &[T], check: impl Fn(usize, &T) + Sync) {
    let half = cases.len().div_ceil(2);
    std::thread::scope(|s| {
        for (part, chunk) in cases.chunks(half.max(1)).enumerate() {
            let check = &check;
            s.spawn(move || chunk.iter().enumerate().for_each(|(i, c)| check(part * half + i, c)));
        }
    });
}

#[test]
fn every_single_byte_flip_is_refused() {
    let env = Env::new();
    for sample in samples(&env) {
        let positions: Vec<usize> = (0..sample.sealed.len()).collect();
        in_parallel(&positions, |_, &i| {
            let mut bad = sample.sealed.clone();
            bad[i] ^= 0x10;
            env.refused(&format!("{}-flip-{i}", sample.name), &bad, &[], None);
        });
    }
}

#[test]
fn every_truncation_and_any_extension_is_refused() {
    let env = Env::new();
    for sample in samples(&env) {
        let lengths: Vec<usize> = (0..sample.sealed.len()).collect();
        in_parallel(&lengths, |_, &len| {
            env.refused(&format!("{}-cut-{len}", sample.name), &sample.sealed[..len], &[], None);
        });
        for extra in [&b"\0"[..], b"more data", &sample.sealed[sample.body_start()..]] {
            let mut longer = sample.sealed.clone();
            longer.extend_from_slice(extra);
            let tag = format!("{}-long-{}", sample.name, extra.len());
            env.refused(&tag, &longer, &[], Some("after the end of the message"));
        }
    }
}

#[test]
fn frames_swapped_duplicated_or_unmarked_are_refused() {
    let env = Env::new();
    let s = env.sample("frames", FRAME * 3 + 5, 0);
    let body = s.body_start();
    let frame = |i: usize| &s.sealed[body + i * REGULAR..body + (i + 1) * REGULAR];
    let tail = &s.sealed[body + 3 * REGULAR..];
    let head = &s.sealed[..body];
    let swapped = [head, frame(1), frame(0), frame(2), tail].concat();
    env.refused("swapped", &swapped, &[], Some("frames were removed or reordered"));
    let duplicated = [head, frame(0), frame(0), frame(1), frame(2), tail].concat();
    env.refused("duplicated", &duplicated, &[], Some("frames were removed or reordered"));
    let dropped = [head, frame(0), frame(2), tail].concat();
    env.refused("dropped", &dropped, &[], Some("frames were removed or reordered"));
    let unmarked = [head, frame(0), frame(1), frame(2), &tail[4..]].concat();
    env.refused("unmarked", &unmarked, &[], Some("truncated"));
    let no_final = [head, frame(0), frame(1), frame(2)].concat();
    env.refused("no-final", &no_final, &[], Some("final frame is missing"));
    let mut long_final = s.sealed.clone();
    let len_at = body + 3 * REGULAR + 4 + 4 + 12;
    long_final[len_at..len_at + 4].copy_from_slice(&(FRAME as u32 + 1).to_be_bytes());
    env.refused("long-final", &long_final, &[], Some("final frame claims"));
}

#[test]
fn header_attacks_are_refused_with_specific_errors() {
    let env = Env::new();
    let two = env.sample("hdr", 100, 1);
    let body = two.body_start();
    let commitment_at = body - 16 - 32;

    let mut wrong_commitment = two.sealed.clone();
    wrong_commitment[commitment_at] ^= 1;
    env.refused("commitment", &wrong_commitment, &[], Some("key commitment check failed"));

    let edk_count_at = 1 + 2 + 32 + 2 + u16::from_be_bytes([two.sealed[35], two.sealed[36]]) as usize;
    let mut zero_keys = two.sealed.clone();
    zero_keys[edk_count_at..edk_count_at + 2].copy_from_slice(&[0, 0]);
    env.refused("zero-keys", &zero_keys, &[], Some("no encrypted data keys"));

    env.refused("over-limit", &two.sealed, &["--max-encrypted-data-keys", "1"], Some("more than the limit of 1"));
    let mut many_keys = two.sealed.clone();
    many_keys[edk_count_at..edk_count_at + 2].copy_from_slice(&u16::MAX.to_be_bytes());
    env.refused("65535-keys", &many_keys, &[], Some("65535 encrypted data keys"));

    let frame_length_at = commitment_at - 4;
    let mut gigantic = two.sealed.clone();
    gigantic[frame_length_at..frame_length_at + 4].copy_from_slice(&0xFFFF_FFF0u32.to_be_bytes());
    env.refused("4gib-frame", &gigantic, &[], Some("exceeds the limit"));

    let context_len_at = 1 + 2 + 32;
    let mut long_context = two.sealed.clone();
    long_context[context_len_at..context_len_at + 2].copy_from_slice(&u16::MAX.to_be_bytes());
    env.refused("context-length", &long_context, &[], None);
}

/// A header that claims a 4 GiB frame, accepted by a raised limit, must still not allocate it:
/// under a 1 GiB address-space limit the open fails cleanly as truncated instead of aborting.
#[test]
fn a_claimed_4_gib_frame_is_not_allocated() {
    let env = Env::new();
    let s = env.sample("alloc", 10, 0);
    std::fs::write(env.path("huge.enc"), huge_frame_message(&env, &s)).unwrap();
    let out = Command::new("prlimit")
        .arg(format!("--as={}", 1u64 << 30))
        .arg(env!("CARGO_BIN_EXE_envcrypt"))
        .args(["open", "--max-frame-size", "4294967295", "-o", "huge.out", "huge.enc"])
        .current_dir(env.dir())
        .env("ENVCRYPT_STORE", env.path("store"))
        .output()
        .expect("prlimit (util-linux) is installed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("truncated"), "{stderr}");
    no_output(env.dir(), "huge.out");
}

/// Re-authenticates `sample`'s header with a frame length of 4 GiB − 16 (the data key comes
/// from the store, as an attacker with access to the key would have it) and follows it with
/// the start of a first frame.
fn huge_frame_message(env: &Env, sample: &Sample) -> Vec<u8> {
    use envcrypt::crypto::{hkdf_sha512, Aes256Gcm};
    use envcrypt::kms::local::{LocalKeyService, StoreOptions};
    use envcrypt::kms::KeyService;
    use envcrypt::message::{Header, ParseLimits};

    let limits = ParseLimits { max_encrypted_data_keys: 8, max_frame_length: u32::MAX };
    let (header, used) = Header::parse(&sample.sealed, &limits).unwrap();
    let body = header.body();
    let store = LocalKeyService::open(StoreOptions::new(env.path("store"))).unwrap();
    let data_key = store.decrypt(&body.encrypted_data_keys[0].ciphertext, &body.context, None).wait().unwrap();
    let mut content_key = [0u8; 32];
    hkdf_sha512(
        data_key.plaintext.expose_secret(),
        body.message_id.as_bytes(),
        &[&[0x04, 0x78], b"DERIVEKEY"],
        &mut content_key,
    );

    let mut header_body = sample.sealed[..used - 16].to_vec();
    let frame_length_at = header_body.len() - 32 - 4;
    header_body[frame_length_at..frame_length_at + 4].copy_from_slice(&0xFFFF_FFF0u32.to_be_bytes());
    let tag = Aes256Gcm::new(&content_key).seal_detached([0; 12], &header_body, &mut []);
    let mut message = [&header_body[..], &tag].concat();
    message.extend_from_slice(&1u32.to_be_bytes());
    message.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    message.extend_from_slice(&[0xAB; 100]);
    message
}

#[test]
fn stdout_carries_only_authenticated_frames() {
    let env = Env::new();
    let s = env.sample("stdout", FRAME * 5 + 3, 0);
    let body = s.body_start();
    let mut bad = s.sealed.clone();
    bad[body + 2 * REGULAR + 20] ^= 1; // inside frame 3's ciphertext
    std::fs::write(env.path("stdout-bad.enc"), &bad).unwrap();
    let out = env.run(&["open", "-o", "-", "stdout-bad.enc"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("frame 3 failed authentication"));
    assert_eq!(out.stdout, s.plaintext[..2 * FRAME], "exactly frames 1 and 2 were released");
}

/// The claim "a header cannot steer the terminal", attacked with a crafted header whose
/// context and encrypted data key carry escape sequences, line breaks that forge a key list,
/// C1 controls and bidirectional overrides: `inspect` shows them escaped, one field per line,
/// its JSON keeps their values exact (written as escapes), and the error of a failed open stays
/// one escaped line.
#[test]
fn hostile_header_strings_are_escaped_in_text_and_exact_in_json() {
    use envcrypt::context::EncryptionContext;
    use envcrypt::message::{AlgorithmSuite, EncryptedDataKey, Header, HeaderBody, MessageId, MessageKeys};

    let env = Env::new();
    let forged_line = "\n  aws-kms  arn:aws:kms:us-east-1:111122223333:key/forged";
    let mut context = EncryptionContext::new();
    context.insert("purpose", format!("backup\u{1b}[2J\u{1b}[H{forged_line}")).unwrap();
    context.insert("owner\u{9b}31m", "\u{202e}gnp.exe").unwrap();
    let provider_info = format!("arn:envcrypt:kms:local:000000000000:key/x\r\u{1b}[2K{forged_line}");
    let suite = AlgorithmSuite::AesGcm256HkdfSha512Committing;
    let message_id = [5u8; 32];
    let keys = MessageKeys::derive(suite, &[7u8; 32], &message_id).unwrap();
    let body = HeaderBody {
        suite,
        message_id: MessageId::V2(message_id),
        context: context.clone(),
        encrypted_data_keys: vec![EncryptedDataKey {
            provider_id: "envcrypt-local\u{7}".into(),
            provider_info: provider_info.clone().into_bytes(),
            ciphertext: vec![0; 60],
        }],
        frame_length: 4096,
        commitment: keys.commitment().copied(),
    };
    let header = Header::seal(body, &keys).unwrap();
    env.write("hostile.enc", &header.to_bytes());

    let out = env.run(&["inspect", "hostile.enc"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.chars().any(|c| (c.is_control() && c != '\n') || c == '\u{202e}'), "{text:?}");
    let keys_at = text.lines().position(|l| l.starts_with("keys (1):")).unwrap();
    let key_lines: Vec<&str> = text.lines().skip(keys_at + 1).collect();
    assert_eq!(key_lines.len(), 1, "one key line, no forged one: {text}");
    assert!(key_lines[0].contains("\\u{1b}[2K\\n  aws-kms"), "{text}");
    assert_eq!(text.lines().filter(|l| l.contains("key/forged")).count(), 2, "each forged line is inside another");

    let out = env.run(&["--json", "inspect", "hostile.enc"]);
    let raw = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(!raw.chars().any(|c| (c.is_control() && c != '\n') || c == '\u{202e}'), "{raw:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["encryption_context"]["purpose"], context.get("purpose").unwrap());
    assert_eq!(json["encrypted_data_keys"][0]["provider_info"], provider_info);

    let out = env.run(&["open", "hostile.enc", "-o", "out"]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(!stderr.trim_end().chars().any(char::is_control), "{stderr:?}");
}

/// The same claim for a key policy, which `key get-policy` prints as a document: a statement id
/// with a bidirectional override and a C1 control shows escaped, and the document still parses
/// to the same policy.
#[test]
fn a_hostile_key_policy_is_shown_escaped() {
    let env = Env::new();
    let me = String::from_utf8(env.run(&["--json", "key", "create"]).stdout).unwrap();
    let arn: serde_json::Value = serde_json::from_str(&me).unwrap();
    let key = arn["Arn"].as_str().unwrap().to_owned();
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{ "Sid": "a\u{202e}b\u{9b}31m\u{e0041}", "Effect": "Allow", "Principal": { "AWS": "*" },
                        "Action": "kms:*", "Resource": "*" }]
    });
    env.write("policy.json", policy.to_string().as_bytes());
    let out = env.run(&["key", "put-policy", &key, "policy.json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let shown = String::from_utf8(env.run(&["key", "get-policy", &key]).stdout).unwrap();
    assert!(
        !shown.chars().any(|c| (c.is_control() && c != '\n')
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{e0000}'..='\u{e007f}').contains(&c)),
        "{shown:?}"
    );
    assert_eq!(serde_json::from_str::<serde_json::Value>(&shown).unwrap(), policy);
}
