//! Principals: who calls the local store.
//!
//! KMS learns the caller from the request signature; the local store is told. By default the
//! caller is the OS user; harnesses and tests name another ([`StoreOptions::principal`](super::StoreOptions::principal)). That makes the identity an assertion, not an authentication: key
//! policies in the local store model an access design, they do not defend the store against
//! someone who can read its directory (SECURITY.md).

use std::fmt;

use crate::kms::KmsError;

/// The ARN partition of the local store's keys and principals.
pub const ARN_PARTITION: &str = "envcrypt";

/// A caller of the local store: `arn:<partition>:iam::<account>:user/NAME` or `.../role/NAME`,
/// in the store's partition and account (`arn:envcrypt:iam::000000000000:user/NAME` by default).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    arn: String,
    partition: String,
    account: String,
    kind: PrincipalKind,
    name: String,
}

/// What kind of IAM identity a principal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// `user/NAME`.
    User,
    /// `role/NAME`.
    Role,
    /// `root`: the account itself.
    Root,
}

impl Principal {
    /// Parses a full principal ARN, or `user/NAME`, `role/NAME` or a bare `NAME` (a user) in
    /// `partition` and `account`.
    pub fn parse(input: &str, partition: &str, account: &str) -> Result<Self, KmsError> {
        let invalid = |why: &str| {
            KmsError::Validation(format!(
                "principal {input:?}: {why}; give arn:{partition}:iam::ACCOUNT:user/NAME, role/NAME or NAME"
            ))
        };
        let (partition, account, resource) = match input.strip_prefix("arn:") {
            Some(rest) => {
                let parts: Vec<&str> = rest.splitn(5, ':').collect();
                let [partition, service, region, account, resource] = parts[..] else {
                    return Err(invalid("an ARN has five ':'-separated fields after arn:"));
                };
                if service != "iam" || !region.is_empty() {
                    return Err(invalid("a principal ARN is an IAM ARN with no region"));
                }
                if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid("the account is 12 digits"));
                }
                if partition.is_empty() || !partition.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
                    return Err(invalid("the partition is lowercase letters and -"));
                }
                (partition.to_owned(), account.to_owned(), resource.to_owned())
            }
            None if input.contains('/') => (partition.to_owned(), account.to_owned(), input.to_owned()),
            None => (partition.to_owned(), account.to_owned(), format!("user/{input}")),
        };
        let (kind, name) = match resource.split_once('/') {
            _ if resource == "root" => (PrincipalKind::Root, String::new()),
            Some(("user", name)) => (PrincipalKind::User, name.to_owned()),
            Some(("role", name)) => (PrincipalKind::Role, name.to_owned()),
            _ => return Err(invalid("the resource is user/NAME, role/NAME or root")),
        };
        if kind != PrincipalKind::Root
            && (name.is_empty()
                || name.len() > 64
                || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b)))
        {
            return Err(invalid("a name is 1 to 64 letters, digits and +=,.@_-"));
        }
        let arn = format!("arn:{partition}:iam::{account}:{resource}");
        Ok(Self { arn, partition, account, kind, name })
    }

    /// The OS user running this process, in `partition` and `account`: `$USER`, else `uid-N`.
    pub fn os_user(partition: &str, account: &str) -> Self {
        let name = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .ok()
            .filter(|n| Self::parse(n, partition, account).is_ok())
            .unwrap_or_else(|| {
                use std::os::unix::fs::MetadataExt;
                let uid = std::fs::metadata("/proc/self").map_or(0, |m| m.uid());
                format!("uid-{uid}")
            });
        Self::parse(&name, partition, account).expect("an OS user name that parsed, or uid-N")
    }

    /// The account root principal (`arn:<partition>:iam::<account>:root`).
    pub fn root(partition: &str, account: &str) -> Self {
        Self::parse(&format!("arn:{partition}:iam::{account}:root"), partition, account)
            .expect("a root ARN is well formed")
    }

    /// The ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The partition (`envcrypt`, or `aws` for a store served as AWS KMS).
    pub fn partition(&self) -> &str {
        &self.partition
    }

    /// The 12-digit account.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// User, role or root.
    pub fn kind(&self) -> PrincipalKind {
        self.kind
    }

    /// The user or role name (empty for root).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "000000000000";

    #[test]
    fn short_forms_expand_in_the_store_account() {
        assert_eq!(
            Principal::parse("alice", ARN_PARTITION, ACCOUNT).unwrap().arn(),
            "arn:envcrypt:iam::000000000000:user/alice"
        );
        let role = Principal::parse("role/rewrapper", ARN_PARTITION, ACCOUNT).unwrap();
        assert_eq!(role.arn(), "arn:envcrypt:iam::000000000000:role/rewrapper");
        assert_eq!((role.kind(), role.name()), (PrincipalKind::Role, "rewrapper"));
        let other = Principal::parse("arn:envcrypt:iam::111122223333:user/bob", ARN_PARTITION, ACCOUNT).unwrap();
        assert_eq!(other.account(), "111122223333");
        assert_eq!(Principal::root(ARN_PARTITION, ACCOUNT).kind(), PrincipalKind::Root);
        let served = Principal::parse("user/app", "aws", "111122223333").unwrap();
        assert_eq!((served.arn(), served.partition()), ("arn:aws:iam::111122223333:user/app", "aws"));
    }

    #[test]
    fn malformed_principals_are_refused() {
        for bad in
            ["", "user/", "group/x", "arn:envcrypt:iam::1:user/a", "arn:envcrypt:kms::000000000000:user/a", "a b"]
        {
            assert!(matches!(Principal::parse(bad, ARN_PARTITION, ACCOUNT), Err(KmsError::Validation(_))), "{bad}");
        }
    }

    #[test]
    fn the_os_user_is_a_valid_principal() {
        let me = Principal::os_user(ARN_PARTITION, ACCOUNT);
        assert_eq!(me.kind(), PrincipalKind::User);
        assert!(me.arn().starts_with("arn:envcrypt:iam::000000000000:user/"));
    }
}
