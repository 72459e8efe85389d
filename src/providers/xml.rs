//! Escaping for the XML the providers answer calls with (each XML
//! provider's markup): every piece of text and every attribute goes through here,
//! so a caller name or an org name can never inject markup.

use std::fmt::Write as _;

pub fn push_element(out: &mut String, name: &str, text: &str) {
    let _ = write!(out, "<{name}>");
    push_escaped(out, text, false);
    let _ = write!(out, "</{name}>");
}

pub fn push_attr(out: &mut String, name: &str, value: &str) {
    let _ = write!(out, r#" {name}=""#);
    push_escaped(out, value, true);
    out.push('"');
}

/// Escapes the five XML specials. Characters XML 1.0 cannot carry at all
/// (most C0 controls, U+FFFE, U+FFFF) become U+FFFD so the document stays
/// well-formed. Carriage returns (and, in attributes, tabs and newlines)
/// are written as references because parsers would otherwise normalise them.
pub fn push_escaped(out: &mut String, text: &str, in_attribute: bool) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\t' if in_attribute => out.push_str("&#9;"),
            '\n' if in_attribute => out.push_str("&#10;"),
            '\t' | '\n' => out.push(c),
            c if is_xml_char(c) => out.push(c),
            _ => out.push(char::REPLACEMENT_CHARACTER),
        }
    }
}

/// XML 1.0 `Char`, minus the whitespace handled by the caller.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..=char::MAX)
}
