//! Text for a terminal: characters that could steer one are shown escaped.
//!
//! Much of what envcrypt prints comes from others: a message header's context and key list,
//! a key's description, an audit event's fields, a service's error message. Printed raw, an
//! escape sequence in any of them could clear the screen, move the cursor, rewrite a line,
//! or (with Unicode's bidirectional controls) reorder one, and so forge what `inspect` shows.
//! Every line of text output and every error goes through [`escape`]; JSON output does not
//! need it (the JSON encoder escapes control characters) and stays exact.

use std::borrow::Cow;

/// Whether `c` could steer a terminal or reorder what it shows: C0 and C1 controls, DEL, and
/// Unicode's invisible format and bidirectional controls.
fn is_steering(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
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
        let escaped = escape("\u{200b}\u{2066}\u{feff}");
        assert!(!escaped.chars().any(is_steering), "{escaped}");
    }
}
