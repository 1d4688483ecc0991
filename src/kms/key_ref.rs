//! Key references as KMS accepts them ([`KeyRef`]: key id, key ARN, alias name, alias ARN) and
//! their ARNs ([`Arn`]), parsed and checked the way KMS checks them.

use std::fmt;
use std::str::FromStr;

/// How a caller names a key, in the four forms KMS accepts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyRef {
    /// A bare key id: a UUID, or `mrk-` and 32 hex digits for multi-Region keys.
    KeyId(String),
    /// `arn:<partition>:kms:<region>:<account>:key/<key id>`.
    KeyArn(Arn),
    /// `alias/<name>`.
    AliasName(String),
    /// `arn:<partition>:kms:<region>:<account>:alias/<name>`.
    AliasArn(Arn),
}

/// The parts of a KMS ARN.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arn {
    /// `aws`, `aws-cn`, `aws-us-gov`, or `envcrypt` for local keys.
    pub partition: String,
    /// The region (`local` for the embedded store).
    pub region: String,
    /// The 12-digit account.
    pub account: String,
    /// `key/<id>` or `alias/<name>`.
    pub resource: String,
}

/// Why a string is not a key reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a key reference ({reason}); use a key id, key ARN, alias/NAME or alias ARN")]
pub struct KeyRefError {
    input: String,
    reason: &'static str,
}

const ALIAS_PREFIX: &str = "alias/";

impl KeyRef {
    /// Parses any of the four forms.
    pub fn parse(input: &str) -> Result<Self, KeyRefError> {
        // KMS takes key references of at most 2048 characters; the error does not echo more.
        const MAX_LEN: usize = 2048;
        if input.len() > MAX_LEN {
            let start: String = input.chars().take(64).collect();
            return Err(KeyRefError { input: format!("{start}…"), reason: "longer than 2048 characters" });
        }
        let fail = |reason| KeyRefError { input: input.to_owned(), reason };
        if input.starts_with("arn:") {
            let arn = Arn::parse(input).map_err(fail)?;
            if let Some(id) = arn.resource.strip_prefix("key/") {
                if !is_key_id(id) {
                    return Err(fail("the ARN's key id is not a UUID"));
                }
                Ok(Self::KeyArn(arn))
            } else if arn.resource.starts_with(ALIAS_PREFIX) {
                validate_alias_name(&arn.resource).map_err(fail)?;
                Ok(Self::AliasArn(arn))
            } else {
                Err(fail("the ARN's resource is neither key/ nor alias/"))
            }
        } else if input.starts_with(ALIAS_PREFIX) {
            validate_alias_name(input).map_err(fail)?;
            Ok(Self::AliasName(input.to_owned()))
        } else if is_key_id(input) {
            Ok(Self::KeyId(input.to_ascii_lowercase()))
        } else {
            Err(fail("not a UUID, ARN or alias"))
        }
    }

    /// The key id, for the forms that carry one.
    pub fn key_id(&self) -> Option<&str> {
        match self {
            Self::KeyId(id) => Some(id),
            Self::KeyArn(arn) => arn.resource.strip_prefix("key/"),
            Self::AliasName(_) | Self::AliasArn(_) => None,
        }
    }

    /// The alias name (`alias/...`), for the alias forms.
    pub fn alias_name(&self) -> Option<&str> {
        match self {
            Self::AliasName(name) => Some(name),
            Self::AliasArn(arn) => Some(&arn.resource),
            Self::KeyId(_) | Self::KeyArn(_) => None,
        }
    }

    /// The ARN, for the ARN forms.
    pub fn arn(&self) -> Option<&Arn> {
        match self {
            Self::KeyArn(arn) | Self::AliasArn(arn) => Some(arn),
            Self::KeyId(_) | Self::AliasName(_) => None,
        }
    }
}

impl Arn {
    fn parse(input: &str) -> Result<Self, &'static str> {
        let mut parts = input.splitn(6, ':');
        let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(resource)) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("an ARN has six colon-separated parts");
        };
        if service != "kms" {
            return Err("the ARN is not for the kms service");
        }
        if partition.is_empty() || region.is_empty() {
            return Err("the ARN has no partition or region");
        }
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err("the ARN's account is not 12 digits");
        }
        Ok(Self {
            partition: partition.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource: resource.to_owned(),
        })
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "arn:{}:kms:{}:{}:{}", self.partition, self.region, self.account, self.resource)
    }
}

impl fmt::Display for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KeyId(s) | Self::AliasName(s) => f.write_str(s),
            Self::KeyArn(arn) | Self::AliasArn(arn) => arn.fmt(f),
        }
    }
}

impl FromStr for KeyRef {
    type Err = KeyRefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Checks an alias name against the KMS rules: `alias/` then 1–250 characters of
/// `[A-Za-z0-9/_-]`.
pub fn validate_alias_name(name: &str) -> Result<(), &'static str> {
    let rest = name.strip_prefix(ALIAS_PREFIX).ok_or("an alias starts with alias/")?;
    if rest.is_empty() || name.len() > 256 {
        return Err("an alias name has 1 to 250 characters after alias/");
    }
    if !rest.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-')) {
        return Err("an alias name may hold only letters, digits, /, _ and -");
    }
    Ok(())
}

fn is_key_id(s: &str) -> bool {
    if let Some(hex) = s.strip_prefix("mrk-") {
        return hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn parses_the_four_forms() {
        assert_eq!(KeyRef::parse(ID).unwrap(), KeyRef::KeyId(ID.into()));
        let arn = format!("arn:aws:kms:us-east-1:111122223333:key/{ID}");
        let k = KeyRef::parse(&arn).unwrap();
        assert!(matches!(k, KeyRef::KeyArn(_)));
        assert_eq!(k.key_id(), Some(ID));
        assert_eq!(k.to_string(), arn);
        assert_eq!(KeyRef::parse("alias/backup/daily").unwrap().alias_name(), Some("alias/backup/daily"));
        let alias_arn = KeyRef::parse("arn:aws:kms:us-east-1:111122223333:alias/x").unwrap();
        assert_eq!(alias_arn.alias_name(), Some("alias/x"));
        assert!(KeyRef::parse("mrk-1234abcd12ab34cd56ef1234567890ab").is_ok());
    }

    #[test]
    fn rejects_everything_else_with_a_reason() {
        for bad in [
            "",
            "key",
            "alias/",
            "alias/has space",
            "1234abcd-12ab-34cd-56ef-1234567890a",
            "arn:aws:s3:us-east-1:111122223333:key/x",
            "arn:aws:kms:us-east-1:1111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east-1:111122223333:key/not-a-uuid",
            "arn:aws:kms:us-east-1:111122223333:secret/x",
        ] {
            let err = KeyRef::parse(bad).unwrap_err();
            assert!(err.to_string().contains("not a key reference"), "{bad}: {err}");
        }
    }
}
