//! Text for a terminal: characters that could steer one are shown escaped.
//!
//! Much of what envcrypt prints comes from others: a message header's context and key list,
//! a key's description, an audit event's fields, a service's error message. Printed raw, an
//! escape sequence in any of them could clear the screen, move the cursor, rewrite a line,
//! or (with Unicode's bidirectional controls) reorder one, and so forge what `inspect` shows.
//! Every line of text output and every error goes through [`escape`]. JSON output keeps every
//! string exact but writes those characters as `\uXXXX` escapes ([`SteeringEscaped`]), since a
//! JSON encoder escapes only C0 controls; a JSON document shown as text (a key policy) is
//! escaped the same way inside its strings ([`escape_json_document`]).

use std::borrow::Cow;
use std::io;

use serde_json::ser::Formatter;

/// Whether `c` could steer a terminal or hide or reorder what it shows: C0 and C1 controls,
/// DEL, Unicode's bidirectional and format controls, and characters that render as nothing
/// (tags, variation selectors, fillers).
fn is_steering(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
            | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF9}'..='\u{FFFB}'
            | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E007F}' | '\u{E0100}'..='\u{E01EF}')
}

/// `text` with every steering character written as an escape (`\u{1b}`, `\n`, ...).
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_steering) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_steering(c) {
            out.extend(c.escape_debug());
            if c.escape_debug().len() == 1 {
                // Not every format character has an escape of its own.
                out.pop();
                out.extend(c.escape_unicode());
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Writes `c` as JSON `\\uXXXX` escapes (a surrogate pair beyond the first plane).
fn write_json_escape(out: &mut (impl io::Write + ?Sized), c: char) -> io::Result<()> {
    let mut units = [0u16; 2];
    for unit in c.encode_utf16(&mut units) {
        write!(out, "\\u{unit:04x}")?;
    }
    Ok(())
}

/// A JSON formatter (around `F`) that writes terminal-steering characters as escapes: the
/// strings keep their exact values, and nothing reaches a terminal raw.
pub struct SteeringEscaped<F>(pub F);

impl<F: Formatter> Formatter for SteeringEscaped<F> {
    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        let mut plain = 0;
        for (at, c) in fragment.char_indices() {
            if is_steering(c) {
                writer.write_all(&fragment.as_bytes()[plain..at])?;
                write_json_escape(writer, c)?;
                plain = at + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[plain..])
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_array(writer)
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array(writer)
    }

    fn begin_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(writer, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array_value(writer)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object(writer)
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object(writer)
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(writer, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object_value(writer)
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_value(writer)
    }
}

/// A JSON document (such as a key policy) for a terminal: steering characters inside its
/// strings become `\\uXXXX` escapes (the same document to a JSON reader); outside strings,
/// valid JSON has only whitespace, of which a carriage return not ending a line is dropped.
/// Text that is not JSON is escaped as any other text.
pub fn escape_json_document(text: &str) -> Cow<'_, str> {
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
        return escape(text);
    }
    if !text.chars().any(|c| is_steering(c) && !matches!(c, '\n' | '\t' | '\r')) && !text.contains('\r') {
        return Cow::Borrowed(text);
    }
    let mut out = Vec::with_capacity(text.len() + 16);
    let (mut in_string, mut escaped) = (false, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            } else if is_steering(c) {
                write_json_escape(&mut out, c).expect("writing to memory");
                continue;
            }
        } else if c == '"' {
            in_string = true;
        } else if c == '\r' && chars.peek() != Some(&'\n') {
            continue;
        }
        let mut bytes = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut bytes).as_bytes());
    }
    Cow::Owned(String::from_utf8(out).expect("escapes and whole characters are UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steering_characters_are_escaped_and_the_rest_is_untouched() {
        assert!(matches!(escape("purpose=backup, café, 日本"), Cow::Borrowed(_)));
        assert_eq!(escape("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(escape("line\nforged"), "line\\nforged");
        assert_eq!(escape("x\u{202e}gnp.exe"), "x\\u{202e}gnp.exe");
        assert_eq!(escape("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(escape("\u{7f}\r\t"), "\\u{7f}\\r\\t");
        let escaped = escape("\u{200b}\u{2066}\u{feff}\u{e0041}\u{3164}");
        assert!(!escaped.chars().any(is_steering), "{escaped}");
    }

    #[test]
    fn json_keeps_its_values_and_shows_no_steering_character() {
        let value = serde_json::json!({ "a\u{9b}": ["x\u{202e}y", "\u{1b}[2J\u{7f}", "\u{e0041}"] });
        let mut out = Vec::new();
        let formatter = SteeringEscaped(serde_json::ser::PrettyFormatter::new());
        serde::Serialize::serialize(&value, &mut serde_json::Serializer::with_formatter(&mut out, formatter)).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.chars().any(|c| is_steering(c) && c != '\n'), "{text}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), value);

        let policy = "{\r\n  \"Sid\": \"a\u{202e}b\u{9b}\",\r\"k\":\"v\"\n}";
        let shown = escape_json_document(policy);
        assert!(!shown.chars().any(|c| is_steering(c) && !matches!(c, '\n' | '\r')), "{shown}");
        let reread: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(reread, serde_json::from_str::<serde_json::Value>(policy).unwrap());
        assert!(matches!(escape_json_document("{\n  \"a\": 1\n}"), Cow::Borrowed(_)));
        assert_eq!(escape_json_document("not json \u{1b}"), "not json \\u{1b}");
    }
}
