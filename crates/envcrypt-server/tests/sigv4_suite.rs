//! The verifier against AWS's published Signature Version 4 test suite (`sigv4-suite/`, the
//! signed requests of `aws-sig-v4-test-suite`, Apache-2.0, see its NOTICE): every signed
//! request verifies at the suite's time with the suite's secret, and each alteration an
//! attacker could make after signing (a body byte, a signed header's value, the time, the
//! secret, an unsigned `x-amz-*` header) is refused.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use envcrypt::kms::local::SigningSecret;
use envcrypt_server::auth::{AuthError, Received, Signer, Verifier};
use zeroize::Zeroizing;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// 2015-08-30T12:36:00Z, the suite's X-Amz-Date.
const SUITE_TIME: u64 = 1_440_938_160;

/// Cases that do not verify, and why: a request that cannot be sent over HTTP/1.1 as written
/// (a raw space in the path; the suite encodes the raw path once, where the SDKs, for every
/// service but S3, encode the sent path again), the two session-token cases (this endpoint
/// issues no session tokens, so a request with one is refused), and one case whose signed
/// request disagrees with its own canonical request (the `.creq` signs `content-length`, the
/// `.sreq`'s `SignedHeaders` omits it).
const NOT_APPLICABLE: &[(&str, &str)] = &[
    ("get-space", "raw space in the path"),
    ("post-sts-header-after", "session token"),
    ("post-sts-header-before", "session token"),
    ("post-x-www-form-urlencoded-parameters", "the suite's .sreq and .creq disagree"),
];

struct Case {
    name: String,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn parse(name: &str, text: &str) -> Case {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let request_line = lines.next().expect("a request line");
    let (method, rest) = request_line.split_once(' ').expect("a method");
    let path = rest.rsplit_once(" HTTP/1.1").expect("HTTP/1.1").0;
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            // The suite reads a folded line as another value of the same header (HTTP/1.1 no
            // longer allows folding; a client sends the values as repeated headers).
            let name = headers.last().expect("a header before a continuation").0.clone();
            headers.push((name, line.trim().to_owned()));
        } else {
            let (name, value) = line.split_once(':').expect("name:value");
            headers.push((name.to_owned(), value.trim_start().to_owned()));
        }
    }
    Case {
        name: name.to_owned(),
        method: method.to_owned(),
        path: path.to_owned(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

fn cases() -> Vec<Case> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sigv4-suite");
    let mut cases: Vec<Case> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sreq"))
        .map(|p| parse(p.file_stem().unwrap().to_str().unwrap(), &std::fs::read_to_string(&p).unwrap()))
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(cases.len(), 31, "the whole suite is present");
    cases
}

fn secret(secret: &str) -> SigningSecret {
    SigningSecret {
        principal: "arn:aws:iam::123456789012:user/example".into(),
        secret_access_key: Arc::new(Zeroizing::new(secret.into())),
    }
}

fn verify(case: &Case, at: SystemTime, with: &str) -> Result<Signer, AuthError> {
    let received =
        Received { method: &case.method, path_and_query: &case.path, headers: &case.headers, body: &case.body };
    Verifier::new("us-east-1", "service")
        .verify(&received, at, |id| Ok((id == "AKIDEXAMPLE").then(|| secret(with))))
        .expect("no store failure")
}

fn suite_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(SUITE_TIME)
}

#[test]
fn every_request_of_the_published_suite_verifies() {
    let mut verified = 0;
    for case in cases() {
        let result = verify(&case, suite_time(), SECRET);
        if let Some((_, why)) = NOT_APPLICABLE.iter().find(|(n, _)| *n == case.name) {
            assert!(result.is_err(), "{} ({why}) must not verify", case.name);
            continue;
        }
        let signer = result.unwrap_or_else(|e| panic!("{}: {e:?}", case.name));
        assert_eq!(signer.access_key_id, "AKIDEXAMPLE");
        verified += 1;
    }
    assert_eq!(verified, 27);
}

#[test]
fn a_signature_covers_the_body_the_signed_headers_the_time_and_the_secret() {
    for case in cases().iter().filter(|c| !NOT_APPLICABLE.iter().any(|(n, _)| *n == c.name)) {
        let name = &case.name;
        assert_eq!(verify(case, suite_time(), "not the secret").unwrap_err(), AuthError::Mismatch, "{name}");

        let mut body = case.body.clone();
        body.push(b'!');
        let altered = Case { body, ..clone(case) };
        assert_eq!(verify(&altered, suite_time(), SECRET).unwrap_err(), AuthError::Mismatch, "{name}: body");

        let mut headers = case.headers.clone();
        let host = headers.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case("host")).unwrap();
        host.1.push_str(".evil");
        let altered = Case { headers, ..clone(case) };
        assert_eq!(verify(&altered, suite_time(), SECRET).unwrap_err(), AuthError::Mismatch, "{name}: host");

        let mut headers = case.headers.clone();
        headers.push(("X-Amz-Target".into(), "TrentService.Decrypt".into()));
        let added = Case { headers, ..clone(case) };
        assert_eq!(verify(&added, suite_time(), SECRET).unwrap_err(), AuthError::Mismatch, "{name}: added header");

        let late = suite_time() + Duration::from_secs(6 * 60);
        assert!(matches!(verify(case, late, SECRET), Err(AuthError::Expired { .. })), "{name}: replayed late");
        let early = suite_time() - Duration::from_secs(6 * 60);
        assert!(matches!(verify(case, early, SECRET), Err(AuthError::NotYetCurrent { .. })), "{name}: early");
        assert!(verify(case, suite_time() + Duration::from_secs(4 * 60), SECRET).is_ok(), "{name}: within the skew");
    }
}

fn clone(case: &Case) -> Case {
    Case {
        name: case.name.clone(),
        method: case.method.clone(),
        path: case.path.clone(),
        headers: case.headers.clone(),
        body: case.body.clone(),
    }
}

#[test]
fn the_scope_must_name_the_served_region_and_service() {
    let case = cases().into_iter().find(|c| c.name == "post-vanilla").unwrap();
    let received =
        Received { method: &case.method, path_and_query: &case.path, headers: &case.headers, body: &case.body };
    let lookup = |_: &str| Ok(Some(secret(SECRET)));
    for verifier in [Verifier::new("eu-west-1", "service"), Verifier::new("us-east-1", "kms")] {
        let result = verifier.verify(&received, suite_time(), lookup).unwrap();
        assert!(matches!(result, Err(AuthError::Incomplete(_))), "{result:?}");
    }
    let unknown = Verifier::new("us-east-1", "service").verify(&received, suite_time(), |_| Ok(None)).unwrap();
    assert_eq!(unknown.unwrap_err(), AuthError::UnknownAccessKey);
}
