//! Key ids and the ARNs built from them, as the local store and the PKCS#11 backend name keys.
//!
//! A key id is a version 4 UUID (16 bytes, written `8-4-4-4-12` in lowercase hex), as KMS's
//! are; ciphertext blobs carry its bytes. An [`ArnPrefix`] is where a service's keys live
//! (partition, region, account): it builds their ARNs and tells its own ARNs from others'.

use std::fmt;
use std::str::FromStr;

use super::Arn;
use crate::crypto;

/// A key id: the bytes of a version 4 UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; 16]);

impl KeyId {
    /// A fresh key id from the system RNG.
    pub fn random() -> Self {
        Self::from_random(crypto::random_array())
    }

    /// A key id from 16 random bytes (a token's RNG, say), marked as a version 4 UUID.
    pub fn from_random(mut bytes: [u8; 16]) -> Self {
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Self(bytes)
    }

    /// The key id with these bytes, as a blob records them.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Parses `8-4-4-4-12` hex digits (either case).
    pub fn parse(text: &str) -> Option<Self> {
        let groups: Vec<&str> = text.split('-').collect();
        let shaped = groups.len() == 5 && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n);
        if !shaped {
            return None;
        }
        let digits: String = groups.concat();
        let mut bytes = [0u8; 16];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(digits.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(bytes))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl FromStr for KeyId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| format!("{s:?} is not a key id (a UUID)"))
    }
}

/// Where a key service's keys live: the partition, region and account of their ARNs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArnPrefix {
    /// `aws`, or `envcrypt` for envcrypt's own backends.
    pub partition: String,
    /// The region (`local` for the local store, `pkcs11` for the HSM cluster).
    pub region: String,
    /// The 12-digit account.
    pub account: String,
}

impl ArnPrefix {
    /// The prefix of `partition`, `region` and `account`.
    pub fn new(partition: impl Into<String>, region: impl Into<String>, account: impl Into<String>) -> Self {
        Self { partition: partition.into(), region: region.into(), account: account.into() }
    }

    /// The ARN of key `key_id`.
    pub fn key_arn(&self, key_id: impl fmt::Display) -> String {
        format!("arn:{}:kms:{}:{}:key/{key_id}", self.partition, self.region, self.account)
    }

    /// Whether `arn` is in this partition, region and account.
    pub fn contains(&self, arn: &Arn) -> bool {
        arn.partition == self.partition && arn.region == self.region && arn.account == self.account
    }
}

impl fmt::Display for ArnPrefix {
    /// `arn:<partition>:kms:<region>:<account>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "arn:{}:kms:{}:{}", self.partition, self.region, self.account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kms::KeyRef;

    #[test]
    fn key_ids_are_uuid_v4_and_round_trip() {
        let id = KeyId::random();
        let text = id.to_string();
        assert_eq!(&text[14..15], "4");
        assert!(KeyRef::parse(&text).is_ok(), "{text}");
        assert_eq!(KeyId::parse(&text), Some(id));
        assert_eq!(KeyId::parse(&text.to_uppercase()), Some(id));
        for bad in [
            "xyz",
            "1234abcd-12ab-34cd-56ef-1234567890a",
            "1234abcd12ab-34cd-56ef-1234567890abc",
            "g234abcd-12ab-34cd-56ef-1234567890ab",
        ] {
            assert_eq!(KeyId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_prefix_builds_and_recognizes_its_arns() {
        let prefix = ArnPrefix::new("envcrypt", "local", "000000000000");
        let id = KeyId::from_bytes([0xab; 16]);
        let arn = prefix.key_arn(id);
        assert_eq!(arn, "arn:envcrypt:kms:local:000000000000:key/abababab-abab-abab-abab-abababababab");
        let KeyRef::KeyArn(parsed) = KeyRef::parse(&arn).unwrap() else { panic!("a key ARN") };
        assert!(prefix.contains(&parsed));
        assert!(!ArnPrefix::new("envcrypt", "pkcs11", "000000000000").contains(&parsed));
    }
}
