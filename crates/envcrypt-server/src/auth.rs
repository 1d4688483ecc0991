//! Signature Version 4: who sent a request, proven by its signature.
//!
//! The `Authorization` header names an access key, the credential scope (date, region,
//! service), the signed headers and the signature. The verifier looks the key up, checks the
//! scope against the served region and service and the request time against its clock (±5
//! minutes, as KMS), then recomputes the signature over the request as received with the AWS
//! SDK's own signer (`aws-sigv4`: the canonical request, the string to sign, the derived key)
//! and compares the two in constant time. Every header named `x-amz-*` must be signed, so that
//! none (an operation in `X-Amz-Target`, a session token) can be added after signing.
//!
//! Failures carry the exception KMS answers with: `MissingAuthenticationTokenException`,
//! `IncompleteSignatureException`, `UnrecognizedClientException`, `InvalidSignatureException`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use envcrypt::kms::local::SigningSecret;
use envcrypt::kms::KmsError;
use subtle::ConstantTimeEq;

use crate::protocol::Failure;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far a request's time may be from the server's.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// A request as received, for verification.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// `POST`.
    pub method: &'a str,
    /// The path and query, as sent (still percent-encoded).
    pub path_and_query: &'a str,
    /// Every header, names in any case, in the order received.
    pub headers: &'a [(String, String)],
    /// The body.
    pub body: &'a [u8],
}

impl Received<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No `Authorization` header.
    #[error("Request is missing Authentication Token")]
    Missing,
    /// The `Authorization` header is malformed or incomplete.
    #[error("{0}")]
    Incomplete(String),
    /// The access key is unknown or revoked, or the request carries a session token (this
    /// endpoint issues none).
    #[error("The security token included in the request is invalid.")]
    UnknownAccessKey,
    /// The request's time is more than five minutes before the server's.
    #[error("Signature expired: {request} is now earlier than {earliest} ({now} - 5 min.)")]
    Expired {
        /// The request's `X-Amz-Date`.
        request: String,
        /// The earliest time accepted.
        earliest: String,
        /// The server's time.
        now: String,
    },
    /// The request's time is more than five minutes after the server's.
    #[error("Signature not yet current: {request} is still later than {latest} ({now} + 5 min.)")]
    NotYetCurrent {
        /// The request's `X-Amz-Date`.
        request: String,
        /// The latest time accepted.
        latest: String,
        /// The server's time.
        now: String,
    },
    /// The signature does not match the request.
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret \
         Access Key and signing method. Consult the service documentation for details."
    )]
    Mismatch,
}

impl AuthError {
    /// The exception name KMS answers with.
    pub fn exception(&self) -> &'static str {
        match self {
            Self::Missing => "MissingAuthenticationTokenException",
            Self::Incomplete(_) => "IncompleteSignatureException",
            Self::UnknownAccessKey => "UnrecognizedClientException",
            Self::Expired { .. } | Self::NotYetCurrent { .. } | Self::Mismatch => "InvalidSignatureException",
        }
    }

    /// The response reporting it.
    pub fn failure(&self) -> Failure {
        Failure::client(self.exception(), self.to_string())
    }
}

/// Who signed a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    /// The access key id.
    pub access_key_id: String,
    /// The principal ARN the key belongs to.
    pub principal: String,
}

/// The parts of an `Authorization` header.
#[derive(Debug)]
struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

/// The access key id an `Authorization` header claims (unverified), read as the verifier reads
/// it, for the audit log of a refused request.
pub(crate) fn claimed_access_key_id(header: &str) -> Option<&str> {
    let id = parse_authorization(header).ok()?.access_key_id;
    (!id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(id)
}

fn parse_authorization(header: &str) -> Result<Authorization<'_>, AuthError> {
    let incomplete = |why: String| AuthError::Incomplete(why);
    let rest = header.strip_prefix(ALGORITHM).filter(|r| r.starts_with(' ')).ok_or_else(|| {
        incomplete(format!("Authorization header requires the algorithm {ALGORITHM}. Authorization={header}"))
    })?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once('=').ok_or_else(|| {
            incomplete(format!(
                "'{part}' not a valid key=value pair (missing equal-sign) in Authorization header: '{header}'."
            ))
        })?;
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        // A parameter named twice could be read one way here and another way elsewhere.
        if slot.replace(value).is_some() {
            return Err(incomplete(format!("'{key}' is given more than once in Authorization header: '{header}'.")));
        }
    }
    let mut missing = String::new();
    for (present, name) in [
        (credential.is_some(), "Credential"),
        (signature.is_some(), "Signature"),
        (signed_headers.is_some(), "SignedHeaders"),
    ] {
        if !present {
            missing.push_str(&format!("Authorization header requires '{name}' parameter. "));
        }
    }
    if !missing.is_empty() {
        return Err(incomplete(format!("{missing}Authorization={header}")));
    }
    let (credential, signed_headers, signature) =
        (credential.unwrap_or_default(), signed_headers.unwrap_or_default(), signature.unwrap_or_default());
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, "aws4_request"] = scope[..] else {
        return Err(incomplete(format!(
            "Credential should be scoped to a valid region, service and aws4_request terminator: '{credential}'."
        )));
    };
    if access_key_id.is_empty() || date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(incomplete(format!(
            "Credential should be scoped with a valid access key and date: '{credential}'."
        )));
    }
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(incomplete(format!("Signature should be 64 hexadecimal digits: '{signature}'.")));
    }
    Ok(Authorization {
        access_key_id,
        date,
        region,
        service,
        signed_headers: signed_headers.split(';').collect(),
        signature,
    })
}

/// `YYYYMMDD'T'HHMMSS'Z'` as a time.
fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let shaped = text.len() == 16
        && text.is_char_boundary(8)
        && &text[8..9] == "T"
        && text.ends_with('Z')
        && text[..8].bytes().chain(text[9..15].bytes()).all(|b| b.is_ascii_digit());
    if !shaped {
        return None;
    }
    let rfc3339 = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &text[0..4],
        &text[4..6],
        &text[6..8],
        &text[9..11],
        &text[11..13],
        &text[13..15]
    );
    humantime::parse_rfc3339(&rfc3339).ok()
}

/// `YYYYMMDD'T'HHMMSS'Z'` for epoch seconds.
fn format_amz_date(secs: u64) -> String {
    let rfc3339 = humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string();
    rfc3339.chars().filter(|c| *c != '-' && *c != ':').collect()
}

/// Checks SigV4 signatures for one region and service.
#[derive(Debug, Clone)]
pub struct Verifier {
    region: String,
    service: String,
}

impl Verifier {
    /// A verifier for requests to `service` (`kms`) in `region`.
    pub fn new(region: impl Into<String>, service: impl Into<String>) -> Self {
        Self { region: region.into(), service: service.into() }
    }

    /// Verifies `request` at time `now`, looking keys up with `secret_of`. On success, who
    /// signed it.
    pub fn verify(
        &self,
        request: &Received<'_>,
        now: SystemTime,
        secret_of: impl FnOnce(&str) -> Result<Option<SigningSecret>, KmsError>,
    ) -> Result<Result<Signer, AuthError>, KmsError> {
        let Some(header) = request.header("authorization") else { return Ok(Err(AuthError::Missing)) };
        let authorization = match parse_authorization(header) {
            Ok(a) => a,
            Err(e) => return Ok(Err(e)),
        };
        if request.header("x-amz-security-token").is_some() {
            return Ok(Err(AuthError::UnknownAccessKey));
        }
        let Some(secret) = secret_of(authorization.access_key_id)? else { return Ok(Err(AuthError::UnknownAccessKey)) };
        Ok(self.check(request, &authorization, &secret, now).map(|()| Signer {
            access_key_id: authorization.access_key_id.to_owned(),
            principal: secret.principal.clone(),
        }))
    }

    fn check(
        &self,
        request: &Received<'_>,
        authorization: &Authorization<'_>,
        secret: &SigningSecret,
        now: SystemTime,
    ) -> Result<(), AuthError> {
        let incomplete = |why: String| AuthError::Incomplete(why);
        let date_header = request.header("x-amz-date").ok_or_else(|| {
            incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.".into())
        })?;
        let time = parse_amz_date(date_header)
            .ok_or_else(|| incomplete(format!("X-Amz-Date '{date_header}' is not of the form YYYYMMDDTHHMMSSZ.")))?;
        if !date_header.starts_with(authorization.date) {
            return Err(incomplete(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}'.",
                authorization.date,
                &date_header[..8]
            )));
        }
        if authorization.region != self.region {
            return Err(incomplete(format!(
                "Credential should be scoped to a valid region, not '{}'. Expected '{}'.",
                authorization.region, self.region
            )));
        }
        if authorization.service != self.service {
            return Err(incomplete(format!("Credential should be scoped to correct service: '{}'.", self.service)));
        }
        if time + MAX_CLOCK_SKEW < now {
            return Err(AuthError::Expired {
                request: date_header.to_owned(),
                earliest: format_amz_date(secs(now - MAX_CLOCK_SKEW)),
                now: format_amz_date(secs(now)),
            });
        }
        if time > now + MAX_CLOCK_SKEW {
            return Err(AuthError::NotYetCurrent {
                request: date_header.to_owned(),
                latest: format_amz_date(secs(now + MAX_CLOCK_SKEW)),
                now: format_amz_date(secs(now)),
            });
        }
        let signed = &authorization.signed_headers;
        for required in ["host", "x-amz-date"] {
            if !signed.contains(&required) {
                return Err(incomplete(format!(
                    "'{required}' must be a signed header. SignedHeaders={}",
                    signed.join(";")
                )));
            }
        }
        // The signer needs the authority it signs; a request without one cannot be checked.
        if request.header("host").is_none_or(str::is_empty) {
            return Err(incomplete("Authorization header requires existence of a 'Host' header.".into()));
        }
        for (name, _) in request.headers {
            let lower = name.to_ascii_lowercase();
            if lower.starts_with("x-amz-") && !signed.contains(&lower.as_str()) {
                return Err(AuthError::Mismatch);
            }
        }
        let expected = self.signature(request, authorization, secret, time).ok_or(AuthError::Mismatch)?;
        if bool::from(expected.as_bytes().ct_eq(authorization.signature.to_ascii_lowercase().as_bytes())) {
            Ok(())
        } else {
            Err(AuthError::Mismatch)
        }
    }

    /// The signature the signed headers of `request` should carry, by the AWS SDK's signer.
    fn signature(
        &self,
        request: &Received<'_>,
        authorization: &Authorization<'_>,
        secret: &SigningSecret,
        time: SystemTime,
    ) -> Option<String> {
        // The signer adds X-Amz-Date itself (from `time`) and signs every header it is given:
        // give it exactly the others the client signed, with their values as received.
        let headers = request.headers.iter().filter(|(name, _)| {
            let lower = name.to_ascii_lowercase();
            lower != "x-amz-date" && authorization.signed_headers.contains(&lower.as_str())
        });
        let signable = SignableRequest::new(
            request.method,
            request.path_and_query,
            headers.map(|(n, v)| (n.as_str(), v.as_str())),
            SignableBody::Bytes(request.body),
        )
        .ok()?;
        let identity =
            Credentials::new(authorization.access_key_id, secret.secret_access_key.as_str(), None, None, "envcrypt")
                .into();
        let mut settings = SigningSettings::default();
        settings.excluded_headers = None;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(time)
            .settings(settings)
            .build()
            .ok()?
            .into();
        sign(signable, &params).ok().map(|output| output.signature().to_owned())
    }
}

fn secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_dates_parse_and_print() {
        let t = parse_amz_date("20150830T123600Z").unwrap();
        assert_eq!(secs(t), 1_440_938_160);
        assert_eq!(format_amz_date(secs(t)), "20150830T123600Z");
        assert_eq!(format_amz_date(951_782_400), "20000229T000000Z");
        for bad in ["2015083T123600Z", "20151330T123600Z", "20150830 123600Z", "20150830T123600", "20150830T246000Z"] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn malformed_authorization_headers_are_incomplete_signatures() {
        let good = "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b";
        let parsed = parse_authorization(good).unwrap();
        assert_eq!((parsed.access_key_id, parsed.region, parsed.service), ("AKID", "us-east-1", "kms"));
        for bad in [
            "AWS4-HMAC-SHA1 Credential=AKID/20150830/us-east-1/kms/aws4_request",
            "AWS4-HMAC-SHA256 Credential",
            "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00",
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/kms, SignedHeaders=host, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=xyz",
        ] {
            assert!(matches!(parse_authorization(bad), Err(AuthError::Incomplete(_))), "{bad}");
        }
    }
}
