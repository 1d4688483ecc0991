//! `s3://bucket/key` object addresses.

use std::fmt;

/// An S3 object: a bucket and a key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectUrl {
    /// The bucket name.
    pub bucket: String,
    /// The object key.
    pub key: String,
}

/// Why a string is not an `s3://bucket/key` address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not an S3 object address: {reason} (expected s3://BUCKET/KEY)")]
pub struct InvalidObjectUrl {
    input: String,
    reason: &'static str,
}

impl ObjectUrl {
    /// Whether `spec` is meant as an S3 address (starts with `s3://`), so that callers can tell
    /// a malformed address from a local file name.
    pub fn is_s3(spec: &str) -> bool {
        spec.starts_with("s3://")
    }

    /// Parses `s3://bucket/key`. The key is everything after the first `/`, kept byte for byte.
    pub fn parse(input: &str) -> Result<Self, InvalidObjectUrl> {
        let invalid = |reason| InvalidObjectUrl { input: input.to_owned(), reason };
        let rest = input.strip_prefix("s3://").ok_or_else(|| invalid("it does not start with s3://"))?;
        let (bucket, key) = rest.split_once('/').ok_or_else(|| invalid("it names no object key"))?;
        if bucket.len() < 3 || bucket.len() > 63 {
            return Err(invalid("bucket names are 3 to 63 characters long"));
        }
        if !bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-') {
            return Err(invalid("bucket names use only lowercase letters, digits, '.' and '-'"));
        }
        if key.is_empty() {
            return Err(invalid("the object key is empty"));
        }
        if key.len() > 1024 {
            return Err(invalid("object keys are at most 1024 bytes long"));
        }
        Ok(Self { bucket: bucket.to_owned(), key: key.to_owned() })
    }
}

impl fmt::Display for ObjectUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bucket_and_key() {
        let url = ObjectUrl::parse("s3://my-bucket/dir/file.enc").unwrap();
        assert_eq!((url.bucket.as_str(), url.key.as_str()), ("my-bucket", "dir/file.enc"));
        assert_eq!(url.to_string(), "s3://my-bucket/dir/file.enc");
    }

    #[test]
    fn refuses_what_s3_would_refuse() {
        for bad in ["s3://", "s3://bucket", "s3://bucket/", "s3://Bucket/k", "s3://ab/k", "http://b/k", "s3:/b/k"] {
            assert!(ObjectUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
