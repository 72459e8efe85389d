//! Reading an accepted message: header fields and quoted-printable bodies.

/// Splits a message at the empty line between header and body.
pub(super) fn split_message(data: &str) -> (&str, &str) {
    if let Some(at) = data.find("\r\n\r\n") {
        (&data[..at], &data[at + 4..])
    } else if let Some(at) = data.find("\n\n") {
        (&data[..at], &data[at + 2..])
    } else {
        (data, "")
    }
}

/// The unfolded value of the first header field called `name`.
pub(super) fn raw_header(headers: &str, name: &str) -> Option<String> {
    let mut value: Option<String> = None;
    for line in headers.lines() {
        if line.starts_with([' ', '\t']) {
            // A continuation line: unfolding removes only the line break.
            if let Some(value) = value.as_mut() {
                value.push_str(line);
            }
            continue;
        }
        if value.is_some() {
            break;
        }
        if let Some((field, rest)) = line.split_once(':')
            && field.trim().eq_ignore_ascii_case(name)
        {
            value = Some(rest.to_owned());
        }
    }
    value
}

/// Decodes quoted-printable text (RFC 2045 section 6.7): `=XX` octets, soft
/// line breaks (`=` at the end of a line) and transport padding (trailing
/// whitespace, which the encoder never produces as data).
pub(super) fn decode_quoted_printable(encoded: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded.len());
    let mut lines = encoded.split('\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let line = line.trim_end_matches([' ', '\t']);
        let (line, soft_break) = match line.strip_suffix('=') {
            Some(line) => (line, true),
            None => (line, false),
        };
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'='
                && let Some(octet) = bytes.get(i + 1..i + 3).and_then(hex_octet)
            {
                out.push(octet);
                i += 3;
                continue;
            }
            // A malformed "=" is kept literally, as RFC 2045 suggests.
            out.push(bytes[i]);
            i += 1;
        }
        if !soft_break && lines.peek().is_some() {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

fn hex_octet(pair: &[u8]) -> Option<u8> {
    let digit = |b: u8| (b as char).to_digit(16);
    Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8)
}
