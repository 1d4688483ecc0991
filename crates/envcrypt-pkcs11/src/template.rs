//! `CKA_WRAP_TEMPLATE` and `CKA_UNWRAP_TEMPLATE`: what a wrapping key may wrap, and what it
//! forces on every key it unwraps.
//!
//! PKCS#11 defines both as arrays of `CK_ATTRIBUTE`s, and a token that honours them (SoftHSM2
//! does) refuses a `C_WrapKey` of a key lacking any of the wrap template's attribute values, and
//! any `C_UnwrapKey` whose template does not hold each of the unwrap template's. That is what
//! keeps a user-PIN holder who wraps a master key under the cluster key from unwrapping it again
//! as an extractable, non-sensitive or raw-cipher key, and from wrapping the cluster key itself.
//!
//! cryptoki 0.12 has no variant for array attributes, so this module lays the array out as
//! PKCS#11 does (type, value address, value length, in the platform's `CK_ULONG` and pointer
//! sizes) and passes it as a raw attribute. The values live in [`with_templates`]'s frame for
//! the whole call that reads them, which is the only lifetime the token needs.

use cryptoki::mechanism::MechanismType;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};
use cryptoki_sys::{CKA_UNWRAP_TEMPLATE, CKA_WRAP_TEMPLATE, CK_ATTRIBUTE, CK_ULONG};

// The layout written below has no padding only where CK_ULONG and pointers fill
// CK_ATTRIBUTE exactly (every 64-bit and 32-bit Unix); elsewhere this refuses to build.
const _: () =
    assert!(std::mem::size_of::<CK_ATTRIBUTE>() == 2 * std::mem::size_of::<CK_ULONG>() + std::mem::size_of::<usize>());

/// One attribute of an unwrap template: its PKCS#11 type and its value's bytes as the token
/// stores them.
pub(crate) struct TemplateEntry {
    kind: CK_ULONG,
    value: Box<[u8]>,
}

impl TemplateEntry {
    /// A `CK_BBOOL` attribute.
    pub(crate) fn flag(kind: AttributeType, value: bool) -> Self {
        Self { kind: kind.into(), value: Box::new([u8::from(value)]) }
    }

    /// `CKA_CLASS`.
    pub(crate) fn class(class: ObjectClass) -> Self {
        Self { kind: AttributeType::Class.into(), value: Box::new(CK_ULONG::from(class).to_ne_bytes()) }
    }

    /// `CKA_KEY_TYPE`.
    pub(crate) fn key_type(key_type: KeyType) -> Self {
        Self { kind: AttributeType::KeyType.into(), value: Box::new(CK_ULONG::from(key_type).to_ne_bytes()) }
    }

    /// `CKA_ALLOWED_MECHANISMS`, as the array of mechanism types the token stores.
    pub(crate) fn allowed_mechanisms(mechanisms: &[MechanismType]) -> Self {
        let value: Vec<u8> = mechanisms.iter().flat_map(|m| CK_ULONG::from(*m).to_ne_bytes()).collect();
        Self { kind: AttributeType::AllowedMechanisms.into(), value: value.into_boxed_slice() }
    }
}

/// Which template attribute a list of entries becomes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Template {
    /// `CKA_WRAP_TEMPLATE`: a key may be wrapped only if it has these values.
    Wrap,
    /// `CKA_UNWRAP_TEMPLATE`: a key may be unwrapped only with these values.
    Unwrap,
}

/// Calls `work` with one attribute per `(template, entries)`. The attributes point into the
/// entries, so they must not outlive the call, which is why they are only lent.
pub(crate) fn with_templates<T>(
    templates: &[(Template, &[TemplateEntry])],
    work: impl FnOnce(Vec<Attribute>) -> T,
) -> T {
    let attributes = templates
        .iter()
        .map(|(template, entries)| {
            let mut array = Vec::with_capacity(entries.len() * std::mem::size_of::<CK_ATTRIBUTE>());
            for entry in *entries {
                let len = CK_ULONG::try_from(entry.value.len()).expect("a template value is a few bytes");
                array.extend_from_slice(&entry.kind.to_ne_bytes());
                array.extend_from_slice(&(entry.value.as_ptr() as usize).to_ne_bytes());
                array.extend_from_slice(&len.to_ne_bytes());
            }
            let kind = match template {
                Template::Wrap => CKA_WRAP_TEMPLATE,
                Template::Unwrap => CKA_UNWRAP_TEMPLATE,
            };
            Attribute::VendorDefined((AttributeType::VendorDefined(kind), array))
        })
        .collect();
    work(attributes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_laid_out_as_ck_attribute_arrays() {
        let entries =
            [TemplateEntry::flag(AttributeType::Sensitive, true), TemplateEntry::class(ObjectClass::SECRET_KEY)];
        with_templates(&[(Template::Unwrap, &entries)], |attributes| {
            let [Attribute::VendorDefined((kind, bytes))] = &attributes[..] else { panic!("one raw attribute") };
            assert_eq!(CK_ULONG::from(*kind), CKA_UNWRAP_TEMPLATE);
            let word = std::mem::size_of::<CK_ULONG>();
            assert_eq!(bytes.len(), 2 * std::mem::size_of::<CK_ATTRIBUTE>());
            let first_type = CK_ULONG::from_ne_bytes(bytes[..word].try_into().unwrap());
            assert_eq!(first_type, CK_ULONG::from(AttributeType::Sensitive));
            let address = usize::from_ne_bytes(bytes[word..word + std::mem::size_of::<usize>()].try_into().unwrap());
            assert_eq!(address, entries[0].value.as_ptr() as usize);
        });
    }
}
