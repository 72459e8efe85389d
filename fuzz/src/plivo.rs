//! `plivo`: a Plivo callback as the URL it called, `Header: value` lines,
//! a blank line and the form body. Lines read: `X-Plivo-Signature-V3`,
//! `X-Plivo-Signature-V3-Nonce`, `X-Fuzz-Auth-Token` (the configured auth
//! token; [`AUTH_TOKEN`] when absent) and `X-Fuzz-Method: GET` (the body
//! then holds the callback parameters the SDK merges with the query).

use pingate::providers::form::Form;
use pingate::providers::plivo::signature::{
    MAX_NONCE_LEN, Method, SignatureError, SignedRequest, body_params, sign, signed_url, verify,
};
use pingate::providers::plivo::webhook::{Answer, Hangup, Input, MessageStatus};

use crate::{header_lines, split_line};

/// The token of Plivo's own SDK test vectors (tests/vectors/plivo.json).
pub const AUTH_TOKEN: &str = "Y2Q2ZDgxZmY5YWRiOTI5YmQ1Njg0MTAxZWIyOTc4";

struct Raw<'a> {
    url: &'a str,
    method: Method,
    signature: Option<&'a str>,
    nonce: Option<&'a str>,
    token: &'a str,
    body: &'a [u8],
}

fn split(data: &[u8]) -> Option<Raw<'_>> {
    let (url, rest) = split_line(data);
    let (headers, body) = header_lines(rest)?;
    let mut raw = Raw {
        url: std::str::from_utf8(url).ok()?,
        method: Method::Post,
        signature: None,
        nonce: None,
        token: AUTH_TOKEN,
        body,
    };
    for (name, value) in headers {
        match name.as_str() {
            "x-plivo-signature-v3" => raw.signature = Some(value),
            "x-plivo-signature-v3-nonce" => raw.nonce = Some(value),
            "x-fuzz-auth-token" => raw.token = value,
            "x-fuzz-method" if value.eq_ignore_ascii_case("GET") => raw.method = Method::Get,
            _ => {}
        }
    }
    Some(raw)
}

/// `verify` on the request as written; then the same request signed with
/// the configured token verifies (alone or among decoys) and not under
/// another token or nonce; an undecodable URL is `Malformed`; the parsers
/// never panic, accept only plausible ids and give numbers their `+`.
pub fn plivo(data: &[u8]) {
    let Some(raw) = split(data) else { return };
    let Ok(params) = body_params(raw.body) else {
        return;
    };
    let as_sent = SignedRequest {
        method: raw.method,
        url: raw.url,
        params: &params,
        signature: raw.signature,
        nonce: raw.nonce,
    };
    if verify(raw.token.as_bytes(), &as_sent).is_ok() {
        assert!(!raw.token.is_empty(), "verified against an empty token");
    }

    let nonce = raw
        .nonce
        .filter(|n| {
            !n.is_empty() && n.len() <= MAX_NONCE_LEN && n.bytes().all(|b| b.is_ascii_graphic())
        })
        .unwrap_or("31627761595286130198");
    let Ok(text) = signed_url(raw.method, raw.url, &params) else {
        let any = SignedRequest {
            signature: Some("x"),
            nonce: Some(nonce),
            ..as_sent
        };
        assert_eq!(verify(b"t", &any), Err(SignatureError::Malformed));
        return;
    };
    let token = if raw.token.is_empty() {
        AUTH_TOKEN
    } else {
        raw.token
    };
    let good = sign(token.as_bytes(), &text, nonce);
    let decoys = format!("AAAA,{good},BBBB");
    for header in [good.as_str(), decoys.as_str()] {
        let req = SignedRequest {
            signature: Some(header),
            nonce: Some(nonce),
            ..as_sent
        };
        assert_eq!(
            verify(token.as_bytes(), &req),
            Ok(()),
            "a correct signature failed"
        );
        let other = format!("{token}x");
        assert_eq!(
            verify(other.as_bytes(), &req),
            Err(SignatureError::Mismatch)
        );
        let moved = format!("{nonce}0");
        if moved.len() <= MAX_NONCE_LEN {
            let req = SignedRequest {
                nonce: Some(&moved),
                ..req
            };
            assert_eq!(
                verify(token.as_bytes(), &req),
                Err(SignatureError::Mismatch)
            );
        }
    }

    parse(raw.body);
}

fn parse(body: &[u8]) {
    let Ok(form) = Form::parse(body) else { return };
    let plausible =
        |id: &str| !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic());
    if let Ok(a) = Answer::from_form(&form) {
        assert!(plausible(&a.call_uuid));
        let from = form.get("From").unwrap_or_default().trim();
        if !from.is_empty() && from.len() <= 15 && from.bytes().all(|b| b.is_ascii_digit()) {
            assert_eq!(a.from, format!("+{from}"), "a Plivo number kept no +");
        }
    }
    if let Ok(i) = Input::from_form(&form) {
        assert!(plausible(&i.call_uuid));
    }
    if let Ok(h) = Hangup::from_form(&form) {
        assert!(plausible(&h.call_uuid) && !h.call_status.is_empty());
    }
    if let Ok(m) = MessageStatus::from_form(&form) {
        assert!(plausible(&m.message_uuid) && !m.status.is_empty());
        assert!(
            m.error_code
                .as_ref()
                .is_none_or(|c| c.chars().count() <= 16 && c != "0")
        );
    }
}

/// Whether the request as written verifies: the seed test checks that each
/// seed made from a vector keeps the vector's verdict.
pub fn plivo_verdict(data: &[u8]) -> Option<bool> {
    let raw = split(data)?;
    let params = body_params(raw.body).ok()?;
    let req = SignedRequest {
        method: raw.method,
        url: raw.url,
        params: &params,
        signature: raw.signature,
        nonce: raw.nonce,
    };
    Some(verify(raw.token.as_bytes(), &req).is_ok())
}
