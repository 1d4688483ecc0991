//! Key policies: the subset of the IAM policy language that KMS key policies use, parsed and
//! evaluated as KMS evaluates them.
//!
//! A policy is a list of statements, each with an `Effect`, a `Principal`, `Action` patterns,
//! `Resource` patterns and optional `Condition`s. A request is allowed when some statement
//! allows it and none denies it; anything not allowed is denied ([`Decision`]). Elements the
//! local store does not evaluate (`NotAction`, `NotPrincipal`, other condition operators and
//! keys) are refused with `MalformedPolicyDocumentException` rather than silently ignored, so
//! a policy never means less here than it says.
//!
//! One modeled difference: KMS reads the account principal (`...:root` or a bare account id)
//! as "this account's IAM policies decide". The local store has no IAM, so the account
//! principal matches only the account root itself (the principal `root`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::principal::{Principal, PrincipalKind};
use crate::kms::{EncryptionContext, KeySpec, KeyUsage, KmsError};

/// The largest key policy KMS accepts, in bytes.
pub const MAX_POLICY_BYTES: usize = 32 * 1024;

/// The actions an administrator needs and a user does not: the default policy's split.
const ADMIN_ACTIONS: &[&str] = &[
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ImportKeyMaterial",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
];

/// The actions that use a key.
const USER_ACTIONS: &[&str] =
    &["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"];
/// The key user's actions on an RSA encryption key, as in KMS's default key policy.
const RSA_ENCRYPTION_USER_ACTIONS: &[&str] =
    &["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:DescribeKey", "kms:GetPublicKey"];
/// The key user's actions on a signing key.
const SIGNING_USER_ACTIONS: &[&str] = &["kms:DescribeKey", "kms:GetPublicKey", "kms:Sign", "kms:Verify"];
/// The key user's actions on an HMAC key.
const MAC_USER_ACTIONS: &[&str] = &["kms:DescribeKey", "kms:GenerateMac", "kms:VerifyMac"];

/// A parsed key policy.
#[derive(Debug, Clone)]
pub struct KeyPolicy {
    statements: Vec<Statement>,
}

#[derive(Debug, Clone)]
struct Statement {
    sid: Option<String>,
    effect: Effect,
    principal: PrincipalSet,
    actions: Vec<String>,
    resources: Vec<String>,
    conditions: Vec<Condition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone)]
enum PrincipalSet {
    Anyone,
    /// Principal ARNs, and bare account ids (each that account's root, in any partition).
    Arns(Vec<String>),
}

#[derive(Debug, Clone)]
struct Condition {
    operator: Operator,
    negated: bool,
    qualifier: SetQualifier,
    if_exists: bool,
    key: ConditionKey,
    values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Equals { ignore_case: bool },
    Like,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetQualifier {
    None,
    ForAnyValue,
    ForAllValues,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ConditionKey {
    EncryptionContext(String),
    EncryptionContextKeys,
    CallerAccount,
    ViaService,
}

/// What a policy says about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A statement allows it and none denies it.
    Allow,
    /// A statement denies it (its `Sid`, if it has one).
    ExplicitDeny(Option<String>),
    /// No statement applies: denied unless a grant allows it.
    ImplicitDeny,
}

/// The facts of one request that a policy can test.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The caller.
    pub principal: &'a Principal,
    /// `kms:Decrypt`, `kms:ReEncryptFrom`, ...
    pub action: &'a str,
    /// The key's ARN.
    pub key_arn: &'a str,
    /// The encryption context, for cryptographic operations.
    pub context: Option<&'a EncryptionContext>,
    /// The AWS service that made the call on the caller's behalf (`kms:ViaService`), if any.
    pub via_service: Option<&'a str>,
}

fn malformed(why: impl std::fmt::Display) -> KmsError {
    KmsError::MalformedPolicyDocument(why.to_string())
}

impl KeyPolicy {
    /// Parses policy text, refusing what KMS refuses and what the local store cannot evaluate.
    pub fn parse(text: &str) -> Result<Self, KmsError> {
        if text.len() > MAX_POLICY_BYTES {
            return Err(malformed(format!("the policy is {} bytes; the limit is {MAX_POLICY_BYTES}", text.len())));
        }
        let root = match crate::strict_json::from_str(text) {
            Ok(Value::Object(root)) => root,
            Ok(_) => return Err(malformed("the policy is not a JSON object")),
            Err(e) => return Err(malformed(format!("the policy is not valid JSON: {e}"))),
        };
        let mut statements = Vec::new();
        for (element, value) in &root {
            match element.as_str() {
                "Version" => match value.as_str() {
                    Some("2012-10-17" | "2008-10-17") => {}
                    _ => return Err(malformed("Version is \"2012-10-17\" or \"2008-10-17\"")),
                },
                "Id" => {
                    value.as_str().ok_or_else(|| malformed("Id is a string"))?;
                }
                "Statement" => {
                    for (i, statement) in one_or_many(value).into_iter().enumerate() {
                        statements.push(Statement::parse(statement).map_err(|e| match e {
                            KmsError::MalformedPolicyDocument(why) => malformed(format!("statement {}: {why}", i + 1)),
                            other => other,
                        })?);
                    }
                }
                other => return Err(malformed(format!("unknown policy element {other:?}"))),
            }
        }
        if statements.is_empty() {
            return Err(malformed("the policy has no Statement"));
        }
        Ok(Self { statements })
    }

    /// Policy text as stored in a key record: raw JSON, validated.
    pub fn raw(text: &str) -> Result<Box<serde_json::value::RawValue>, KmsError> {
        serde_json::value::RawValue::from_string(text.to_owned()).map_err(|e| malformed(format!("not JSON: {e}")))
    }

    /// The policy a key gets when its creator gives none: the account root may do anything,
    /// and the creator is both key administrator and key user.
    pub fn default_text(creator: &Principal, spec: KeySpec, usage: KeyUsage) -> String {
        let user_actions = match (spec, usage) {
            (_, KeyUsage::SignVerify) => SIGNING_USER_ACTIONS,
            (_, KeyUsage::GenerateVerifyMac) => MAC_USER_ACTIONS,
            (KeySpec::SymmetricDefault, _) => USER_ACTIONS,
            _ => RSA_ENCRYPTION_USER_ACTIONS,
        };
        let statement = |sid: &str, principal: &str, actions: &[&str]| {
            serde_json::json!({
                "Sid": sid,
                "Effect": "Allow",
                "Principal": { "AWS": principal },
                "Action": actions,
                "Resource": "*",
            })
        };
        let root = Principal::root(creator.partition(), creator.account());
        let policy = serde_json::json!({
            "Version": "2012-10-17",
            "Id": "envcrypt-default-key-policy",
            "Statement": [
                statement("Enable root access", root.arn(), &["kms:*"]),
                statement("Allow access for key administrators", creator.arn(), ADMIN_ACTIONS),
                statement("Allow use of the key", creator.arn(), user_actions),
            ],
        });
        serde_json::to_string_pretty(&policy).expect("a JSON value serializes")
    }

    /// The policy of a key created before the store had policies: every principal of the
    /// account may do anything, which is what the store allowed then.
    pub fn legacy_text(account: &str) -> String {
        let policy = serde_json::json!({
            "Version": "2012-10-17",
            "Id": "envcrypt-legacy-key-policy",
            "Statement": [{
                "Sid": "Every principal of the account (keys created before key policies)",
                "Effect": "Allow",
                "Principal": { "AWS": "*" },
                "Action": "kms:*",
                "Resource": "*",
                "Condition": { "StringEquals": { "kms:CallerAccount": account } },
            }],
        });
        serde_json::to_string_pretty(&policy).expect("a JSON value serializes")
    }

    /// Evaluates a request: an explicit deny wins, then an allow, else an implicit deny.
    pub fn evaluate(&self, request: &Request<'_>) -> Decision {
        let mut allowed = false;
        for statement in self.statements.iter().filter(|s| s.applies(request)) {
            match statement.effect {
                Effect::Deny => return Decision::ExplicitDeny(statement.sid.clone()),
                Effect::Allow => allowed = true,
            }
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        }
    }
}

fn one_or_many(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        one => vec![one],
    }
}

fn strings(value: &Value, element: &str) -> Result<Vec<String>, KmsError> {
    let items = one_or_many(value);
    if items.is_empty() {
        return Err(malformed(format!("{element} is empty")));
    }
    items
        .into_iter()
        .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| malformed(format!("{element} holds strings"))))
        .collect()
}

impl Statement {
    fn parse(value: &Value) -> Result<Self, KmsError> {
        let fields = value.as_object().ok_or_else(|| malformed("a statement is an object"))?;
        let mut sid = None;
        let mut effect = None;
        let mut principal = None;
        let mut actions = None;
        let mut resources = None;
        let mut conditions = Vec::new();
        for (element, value) in fields {
            match element.as_str() {
                "Sid" => sid = Some(value.as_str().ok_or_else(|| malformed("Sid is a string"))?.to_owned()),
                "Effect" => {
                    effect = Some(match value.as_str() {
                        Some("Allow") => Effect::Allow,
                        Some("Deny") => Effect::Deny,
                        _ => return Err(malformed("Effect is \"Allow\" or \"Deny\"")),
                    })
                }
                "Principal" => principal = Some(PrincipalSet::parse(value)?),
                "Action" => {
                    let list = strings(value, "Action")?;
                    if let Some(bad) = list.iter().find(|a| *a != "*" && !a.to_ascii_lowercase().starts_with("kms:")) {
                        return Err(malformed(format!("action {bad:?} is not a kms: action")));
                    }
                    actions = Some(list);
                }
                "Resource" => resources = Some(strings(value, "Resource")?),
                "Condition" => conditions = Condition::parse_block(value)?,
                "NotAction" | "NotPrincipal" | "NotResource" => {
                    return Err(malformed(format!(
                        "{element} is not evaluated by the local store; use {}",
                        &element[3..]
                    )))
                }
                other => return Err(malformed(format!("unknown statement element {other:?}"))),
            }
        }
        Ok(Self {
            sid,
            effect: effect.ok_or_else(|| malformed("Effect is missing"))?,
            principal: principal.ok_or_else(|| malformed("Principal is missing (key policies name one)"))?,
            actions: actions.ok_or_else(|| malformed("Action is missing"))?,
            resources: resources.ok_or_else(|| malformed("Resource is missing"))?,
            conditions,
        })
    }

    fn applies(&self, request: &Request<'_>) -> bool {
        self.principal.matches(request.principal)
            && self.actions.iter().any(|pattern| wildcard_match(pattern, request.action, true))
            && self.resources.iter().any(|pattern| wildcard_match(pattern, request.key_arn, false))
            && self.conditions.iter().all(|c| c.holds(request))
    }
}

impl PrincipalSet {
    fn parse(value: &Value) -> Result<Self, KmsError> {
        if value.as_str() == Some("*") {
            return Ok(Self::Anyone);
        }
        let map = value.as_object().ok_or_else(|| malformed("Principal is \"*\" or {\"AWS\": ...}"))?;
        let mut arns = Vec::new();
        for (kind, value) in map {
            if kind != "AWS" {
                return Err(malformed(format!("principal type {kind:?}: the local store knows only \"AWS\"")));
            }
            for entry in strings(value, "Principal")? {
                if entry == "*" {
                    return Ok(Self::Anyone);
                }
                arns.push(normalize_principal(&entry)?);
            }
        }
        Ok(Self::Arns(arns))
    }

    fn matches(&self, principal: &Principal) -> bool {
        match self {
            Self::Anyone => true,
            Self::Arns(arns) => arns.iter().any(|entry| {
                entry == principal.arn() || (principal.kind() == PrincipalKind::Root && entry == principal.account())
            }),
        }
    }
}

/// A principal entry as an ARN, or a bare account id (that account's root).
fn normalize_principal(entry: &str) -> Result<String, KmsError> {
    if entry.len() == 12 && entry.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(entry.to_owned());
    }
    if !entry.starts_with("arn:") {
        return Err(malformed(format!("principal {entry:?} is not an ARN or account id")));
    }
    // A full ARN names its own partition and account.
    Principal::parse(entry, "", "")
        .map(|p| p.arn().to_owned())
        .map_err(|_| malformed(format!("principal {entry:?} is not an IAM user, role or root ARN")))
}

impl Condition {
    fn parse_block(value: &Value) -> Result<Vec<Self>, KmsError> {
        let block = value.as_object().ok_or_else(|| malformed("Condition is an object"))?;
        let mut conditions = Vec::new();
        for (operator_name, tests) in block {
            let (qualifier, rest) = if let Some(rest) = operator_name.strip_prefix("ForAnyValue:") {
                (SetQualifier::ForAnyValue, rest)
            } else if let Some(rest) = operator_name.strip_prefix("ForAllValues:") {
                (SetQualifier::ForAllValues, rest)
            } else {
                (SetQualifier::None, operator_name.as_str())
            };
            let (base, if_exists) = rest.strip_suffix("IfExists").map_or((rest, false), |b| (b, true));
            let (operator, negated) = match base {
                "StringEquals" => (Operator::Equals { ignore_case: false }, false),
                "StringNotEquals" => (Operator::Equals { ignore_case: false }, true),
                "StringEqualsIgnoreCase" => (Operator::Equals { ignore_case: true }, false),
                "StringNotEqualsIgnoreCase" => (Operator::Equals { ignore_case: true }, true),
                "StringLike" => (Operator::Like, false),
                "StringNotLike" => (Operator::Like, true),
                _ => {
                    return Err(malformed(format!(
                        "condition operator {operator_name:?}: the local store evaluates the String operators \
                         (StringEquals, StringNotEquals, StringEqualsIgnoreCase, StringNotEqualsIgnoreCase, \
                         StringLike, StringNotLike, with ForAnyValue:/ForAllValues: and IfExists)"
                    )))
                }
            };
            let tests = tests.as_object().ok_or_else(|| malformed(format!("{operator_name} holds an object")))?;
            for (key, values) in tests {
                conditions.push(Self {
                    operator,
                    negated,
                    qualifier,
                    if_exists,
                    key: ConditionKey::parse(key)?,
                    values: strings(values, key)?,
                });
            }
        }
        Ok(conditions)
    }

    /// Whether one request value matches one of the condition's values.
    fn value_matches(&self, value: &str) -> bool {
        self.values.iter().any(|pattern| match self.operator {
            Operator::Equals { ignore_case: false } => pattern == value,
            Operator::Equals { ignore_case: true } => pattern.eq_ignore_ascii_case(value),
            Operator::Like => wildcard_match(pattern, value, false),
        })
    }

    fn holds(&self, request: &Request<'_>) -> bool {
        let Some(values) = self.key.values(request) else {
            // An absent key, as IAM reads it: IfExists passes, "for all values" of nothing
            // holds, "for any value" does not, and a plain operator holds only when negated.
            return self.if_exists
                || match self.qualifier {
                    SetQualifier::ForAllValues => true,
                    SetQualifier::ForAnyValue => false,
                    SetQualifier::None => self.negated,
                };
        };
        let matches = |v: &String| self.value_matches(v) != self.negated;
        match self.qualifier {
            SetQualifier::ForAllValues => values.iter().all(matches),
            SetQualifier::ForAnyValue => values.iter().any(matches),
            SetQualifier::None if self.negated => values.iter().all(matches),
            SetQualifier::None => values.iter().any(matches),
        }
    }
}

impl ConditionKey {
    fn parse(name: &str) -> Result<Self, KmsError> {
        let lower = name.to_ascii_lowercase();
        if let Some(context_key) = lower.strip_prefix("kms:encryptioncontext:") {
            if context_key.is_empty() {
                return Err(malformed("kms:EncryptionContext: needs a context key after the colon"));
            }
            return Ok(Self::EncryptionContext(name["kms:encryptioncontext:".len()..].to_owned()));
        }
        match lower.as_str() {
            "kms:encryptioncontextkeys" => Ok(Self::EncryptionContextKeys),
            "kms:calleraccount" => Ok(Self::CallerAccount),
            "kms:viaservice" => Ok(Self::ViaService),
            _ => Err(malformed(format!(
                "condition key {name:?}: the local store evaluates kms:EncryptionContext:KEY, \
                 kms:EncryptionContextKeys, kms:CallerAccount and kms:ViaService"
            ))),
        }
    }

    /// The request's values for this key, or `None` if the request does not have it.
    fn values(&self, request: &Request<'_>) -> Option<Vec<String>> {
        let present = |v: Vec<String>| if v.is_empty() { None } else { Some(v) };
        match self {
            // Condition key names are case-insensitive, so the context key in one is too.
            Self::EncryptionContext(key) => present(
                request
                    .context?
                    .iter()
                    .filter(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v.to_owned())
                    .collect(),
            ),
            Self::EncryptionContextKeys => present(request.context?.iter().map(|(k, _)| k.to_owned()).collect()),
            Self::CallerAccount => Some(vec![request.principal.account().to_owned()]),
            Self::ViaService => request.via_service.map(|s| vec![s.to_owned()]),
        }
    }
}

/// IAM wildcard matching: `*` is any run of characters, `?` any one.
fn wildcard_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let same = |a: &str, b: &str| if ignore_case { a.eq_ignore_ascii_case(b) } else { a == b };
    // Most patterns are `*`, a literal or `prefix*`: answer those without the general search.
    match pattern.find(['*', '?']) {
        None => return same(pattern, text),
        Some(star) if star + 1 == pattern.len() && pattern.ends_with('*') => {
            return text.get(..star).is_some_and(|prefix| same(prefix, &pattern[..star]));
        }
        Some(_) => {}
    }
    let eq = |a: char, b: char| if ignore_case { a.eq_ignore_ascii_case(&b) } else { a == b };
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || (pattern[p] != '*' && eq(pattern[p], text[t]))) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            backtrack = Some((p, t));
            p += 1;
        } else if let Some((star, matched)) = backtrack {
            p = star + 1;
            t = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

impl PrincipalKind {
    /// The CloudTrail `userIdentity.type`.
    pub fn identity_type(self) -> &'static str {
        match self {
            Self::User => "IAMUser",
            Self::Role => "AssumedRole",
            Self::Root => "Root",
        }
    }
}

/// Parsed policies by key id, with the text they were parsed from: the hot path parses a key's
/// policy once per process and after each change, and compares rather than copies its text.
#[derive(Default)]
pub(super) struct PolicyCache(Mutex<HashMap<String, (String, Arc<KeyPolicy>)>>);

const POLICY_CACHE_ENTRIES: usize = 1024;

impl PolicyCache {
    pub(super) fn get(&self, key_id: &str, text: &str) -> Result<Arc<KeyPolicy>, KmsError> {
        let mut cache = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((cached, policy)) = cache.get(key_id) {
            if cached == text {
                return Ok(policy.clone());
            }
        }
        let policy = Arc::new(KeyPolicy::parse(text)?);
        if cache.len() >= POLICY_CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key_id.to_owned(), (text.to_owned(), policy.clone()));
        Ok(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kms::local::ARN_PARTITION;

    const KEY: &str = "arn:envcrypt:kms:local:000000000000:key/k";

    fn alice() -> Principal {
        Principal::parse("alice", ARN_PARTITION, "000000000000").unwrap()
    }

    fn decide(policy: &str, principal: &Principal, action: &str, context: &[(&str, &str)]) -> Decision {
        let context: EncryptionContext = context.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        KeyPolicy::parse(policy).unwrap().evaluate(&Request {
            principal,
            action,
            key_arn: KEY,
            context: Some(&context),
            via_service: None,
        })
    }

    fn allow_alice(actions: &str, condition: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow",
                "Principal":{{"AWS":"arn:envcrypt:iam::000000000000:user/alice"}},
                "Action":{actions},"Resource":"*"{condition}}}]}}"#
        )
    }

    #[test]
    fn actions_match_with_wildcards_and_without_case() {
        let policy = allow_alice(r#"["kms:ReEncrypt*","kms:generatedatakey*"]"#, "");
        for action in
            ["kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext"]
        {
            assert_eq!(decide(&policy, &alice(), action, &[]), Decision::Allow, "{action}");
        }
        assert_eq!(decide(&policy, &alice(), "kms:Decrypt", &[]), Decision::ImplicitDeny);
        let bob = Principal::parse("bob", ARN_PARTITION, "000000000000").unwrap();
        assert_eq!(decide(&policy, &bob, "kms:ReEncryptFrom", &[]), Decision::ImplicitDeny);
    }

    #[test]
    fn an_explicit_deny_beats_any_allow() {
        let policy = r#"{"Statement":[
            {"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"},
            {"Sid":"NoDecrypt","Effect":"Deny","Principal":{"AWS":["arn:envcrypt:iam::000000000000:user/alice"]},
             "Action":"kms:Decrypt","Resource":"*"}]}"#;
        assert_eq!(decide(policy, &alice(), "kms:Decrypt", &[]), Decision::ExplicitDeny(Some("NoDecrypt".into())));
        assert_eq!(decide(policy, &alice(), "kms:Encrypt", &[]), Decision::Allow);
    }

    #[test]
    fn context_conditions_follow_iam() {
        let equals =
            allow_alice(r#""kms:Decrypt""#, r#","Condition":{"StringEquals":{"kms:EncryptionContext:Dept":"ops"}}"#);
        assert_eq!(decide(&equals, &alice(), "kms:Decrypt", &[("dept", "ops")]), Decision::Allow, "key is caseless");
        assert_eq!(decide(&equals, &alice(), "kms:Decrypt", &[("dept", "OPS")]), Decision::ImplicitDeny);
        assert_eq!(decide(&equals, &alice(), "kms:Decrypt", &[]), Decision::ImplicitDeny);

        let like = allow_alice(
            r#""kms:Decrypt""#,
            r#","Condition":{"StringLike":{"kms:EncryptionContext:path":"backups/*"}}"#,
        );
        assert_eq!(decide(&like, &alice(), "kms:Decrypt", &[("path", "backups/db/1")]), Decision::Allow);
        assert_eq!(decide(&like, &alice(), "kms:Decrypt", &[("path", "home/x")]), Decision::ImplicitDeny);

        let not_equals =
            allow_alice(r#""kms:Decrypt""#, r#","Condition":{"StringNotEquals":{"kms:EncryptionContext:env":"prod"}}"#);
        assert_eq!(decide(&not_equals, &alice(), "kms:Decrypt", &[]), Decision::Allow, "absent key, negated");
        assert_eq!(decide(&not_equals, &alice(), "kms:Decrypt", &[("env", "prod")]), Decision::ImplicitDeny);

        let all_keys = allow_alice(
            r#""kms:Decrypt""#,
            r#","Condition":{"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["a","b"]}}"#,
        );
        assert_eq!(decide(&all_keys, &alice(), "kms:Decrypt", &[("a", "1")]), Decision::Allow);
        assert_eq!(decide(&all_keys, &alice(), "kms:Decrypt", &[("a", "1"), ("c", "3")]), Decision::ImplicitDeny);
        let any_key = allow_alice(
            r#""kms:Decrypt""#,
            r#","Condition":{"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":"c"}}"#,
        );
        assert_eq!(decide(&any_key, &alice(), "kms:Decrypt", &[("a", "1"), ("c", "3")]), Decision::Allow);
        assert_eq!(decide(&any_key, &alice(), "kms:Decrypt", &[]), Decision::ImplicitDeny);

        let account =
            allow_alice(r#""kms:Decrypt""#, r#","Condition":{"StringEquals":{"kms:CallerAccount":"000000000000"}}"#);
        assert_eq!(decide(&account, &alice(), "kms:Decrypt", &[]), Decision::Allow);
        let via = allow_alice(r#""kms:Decrypt""#, r#","Condition":{"StringEquals":{"kms:ViaService":"s3.local"}}"#);
        assert_eq!(decide(&via, &alice(), "kms:Decrypt", &[]), Decision::ImplicitDeny, "a direct call");
        let via_if_exists =
            allow_alice(r#""kms:Decrypt""#, r#","Condition":{"StringEqualsIfExists":{"kms:ViaService":"s3.local"}}"#);
        assert_eq!(decide(&via_if_exists, &alice(), "kms:Decrypt", &[]), Decision::Allow);
    }

    #[test]
    fn the_account_principal_is_the_root_only() {
        let policy =
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"000000000000"},"Action":"kms:*","Resource":"*"}}"#;
        assert_eq!(
            decide(policy, &Principal::root(ARN_PARTITION, "000000000000"), "kms:Decrypt", &[]),
            Decision::Allow
        );
        assert_eq!(decide(policy, &alice(), "kms:Decrypt", &[]), Decision::ImplicitDeny);
    }

    #[test]
    fn the_default_policy_gives_the_creator_both_roles_and_the_legacy_one_admits_the_account() {
        let default = KeyPolicy::default_text(&alice(), KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt);
        for action in ["kms:Decrypt", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:CreateGrant"] {
            assert_eq!(decide(&default, &alice(), action, &[]), Decision::Allow, "{action}");
        }
        let bob = Principal::parse("bob", ARN_PARTITION, "000000000000").unwrap();
        assert_eq!(decide(&default, &bob, "kms:Decrypt", &[]), Decision::ImplicitDeny);
        let legacy = KeyPolicy::legacy_text("000000000000");
        assert_eq!(decide(&legacy, &bob, "kms:Decrypt", &[]), Decision::Allow);
        let stranger =
            Principal::parse("arn:envcrypt:iam::111122223333:user/eve", ARN_PARTITION, "000000000000").unwrap();
        assert_eq!(decide(&legacy, &stranger, "kms:Decrypt", &[]), Decision::ImplicitDeny);
    }

    #[test]
    fn what_cannot_be_evaluated_is_refused() {
        for (policy, why) in [
            ("[]", "not a JSON object"),
            ("{", "not valid JSON"),
            (
                r#"{"Statement":{"Effect":"Deny","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}"#,
                "\"Effect\" appears twice",
            ),
            (r#"{"Statement":[]}"#, "no Statement"),
            (r#"{"Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}"#, "Principal is missing"),
            (r#"{"Statement":{"Effect":"Permit","Principal":"*","Action":"kms:*","Resource":"*"}}"#, "Effect"),
            (
                r#"{"Statement":{"Effect":"Allow","Principal":"*","NotAction":"kms:Decrypt","Resource":"*"}}"#,
                "NotAction",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}}"#,
                "kms: action",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*",
                   "Condition":{"Bool":{"aws:SecureTransport":"true"}}}}"#,
                "condition operator",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*",
                   "Condition":{"StringEquals":{"aws:PrincipalTag/team":"x"}}}}"#,
                "condition key",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Principal":{"Service":"s3"},"Action":"kms:*","Resource":"*"}}"#,
                "\"AWS\"",
            ),
        ] {
            let err = KeyPolicy::parse(policy).unwrap_err();
            assert_eq!(err.kms_name(), "MalformedPolicyDocumentException");
            assert!(err.to_string().contains(why), "{policy}: {err}");
        }
        let huge = format!(r#"{{"Id":"{}"}}"#, "x".repeat(MAX_POLICY_BYTES));
        assert!(KeyPolicy::parse(&huge).unwrap_err().to_string().contains("limit"));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("a*c", "abbbc", false));
        assert!(wildcard_match("a?c", "abc", false));
        assert!(!wildcard_match("a?c", "abbc", false));
        assert!(wildcard_match("*", "", false));
        assert!(wildcard_match("kms:*Key*", "kms:GenerateDataKeyWithoutPlaintext", false));
        assert!(!wildcard_match("KMS:DECRYPT", "kms:Decrypt", false));
        assert!(wildcard_match("KMS:DECRYPT", "kms:Decrypt", true));
        assert!(wildcard_match("kms:reencrypt*", "kms:ReEncryptFrom", true));
        assert!(!wildcard_match("kms:ReEncrypt*", "kms:ReEnc", false));
        assert!(wildcard_match("é*", "éa", false) && !wildcard_match("a*", "é", false));
    }
}
