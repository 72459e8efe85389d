//! The fuzz targets' bodies, shared by the libFuzzer binaries
//! (`fuzz_targets/*.rs`), the seed replay test (`tests/seeds.rs`) and
//! `examples/replay.rs`.
//!
//! Each target feeds untrusted bytes to one of pingate's parsers. A panic is
//! a finding; so is a failed `assert!`: besides "never panics", each target
//! checks properties that must hold for every input (round trips, agreement
//! between two entry points, no secret echoed back).

use pingate::domain::org::{ImportFormat, OrgId, OrgProfile, parse_import};
use pingate::domain::phone::{CallerId, E164, classify};
use pingate::domain::pin::{Pin, PinError};
use pingate::providers::twilio::form::{
    Form, GatherWebhook, MessageStatusWebhook, StatusWebhook, VoiceWebhook, decode_pairs,
};
use pingate::providers::twilio::signature::{
    Algorithm, SignatureError, SignedRequest, SigningKeys, body_sha256_hex, sign, sign_with, verify,
};

mod telnyx;
pub use telnyx::telnyx;

mod plivo;
pub use plivo::{plivo, plivo_verdict};

/// A target: the name used by `cargo fuzz`, the seed folder and `replay`.
pub type Target = fn(&[u8]);

/// Every target, by name.
pub const TARGETS: [(&str, Target); 7] = [
    ("twilio_form", twilio_form),
    ("telnyx", telnyx),
    ("twilio_signature", twilio_signature),
    ("caller_id", caller_id),
    ("pin_input", pin_input),
    ("org_import", org_import),
    ("plivo", plivo),
];

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

// ---------------------------------------------------------------------------
// twilio_form

/// A webhook body: `Form::parse` and the four typed payloads.
pub fn twilio_form(data: &[u8]) {
    let parsed = Form::parse(data);
    // The signature check decodes with `decode_pairs`; the handlers read the
    // `Form`. They must see exactly the same pairs.
    assert_eq!(
        decode_pairs(data).ok().as_deref(),
        parsed.as_ref().ok().map(Form::pairs),
        "decode_pairs and Form::parse disagree"
    );
    let Ok(form) = parsed else { return };

    // Whatever decodes re-encodes to a body that decodes to the same pairs.
    let encoded = serde_urlencoded::to_string(form.pairs()).expect("pairs of strings encode");
    let again = Form::parse(encoded.as_bytes()).expect("an encoded form decodes");
    assert_eq!(
        again.pairs(),
        form.pairs(),
        "re-encoded form decodes differently"
    );

    if let Ok(voice) = VoiceWebhook::from_form(&form) {
        assert_sid(voice.call_sid.as_str(), &["CA"]);
        assert_eq!(form.get("CallSid"), Some(voice.call_sid.as_str()));
        assert!(!voice.account_sid.is_empty());
        assert_eq!(form.get("From"), Some(voice.from.as_str()));
        assert_eq!(form.get("To"), Some(voice.to.as_str()));
        for optional in [&voice.call_status, &voice.stir_verstat, &voice.caller_name] {
            assert!(optional.as_ref().is_none_or(|v| !v.is_empty()));
        }
        // Every value the payload took is the one value of its key:
        // differing repeats must have been refused.
        assert_single(&form, "From");
        assert_single(&form, "CallSid");
        // Classifying the caller is the next step of the voice webhook.
        let _ = classify(&voice.from);
    }
    if let Ok(gather) = GatherWebhook::from_form(&form) {
        assert_sid(gather.call_sid.as_str(), &["CA"]);
        assert!(gather.digits.as_ref().is_none_or(|d| !d.is_empty()));
        assert_single(&form, "Digits");
    }
    if let Ok(status) = StatusWebhook::from_form(&form) {
        assert_sid(status.call_sid.as_str(), &["CA"]);
        assert!(!status.call_status.is_empty());
        if let Some(n) = status.sequence_number {
            assert_eq!(
                form.get("SequenceNumber").map(str::parse::<u64>),
                Some(Ok(n))
            );
        }
    }
    if let Ok(message) = MessageStatusWebhook::from_form(&form) {
        assert_sid(message.message_sid.as_str(), &["SM", "MM"]);
        assert!(!message.message_status.is_empty());
    }
}

fn assert_sid(sid: &str, prefixes: &[&str]) {
    assert!(
        prefixes.iter().any(|p| sid.starts_with(p))
            && sid.len() == 34
            && sid[2..].bytes().all(|b| b.is_ascii_hexdigit()),
        "accepted a malformed SID {sid:?}"
    );
}

fn assert_single(form: &Form, key: &str) {
    let mut values = form.get_all(key);
    if let Some(first) = values.next() {
        assert!(
            values.all(|v| v == first),
            "accepted differing repeats of {key}"
        );
    }
}

// ---------------------------------------------------------------------------
// twilio_signature

/// The account auth token requests are checked against unless the input
/// names another (`X-Fuzz-Auth-Token`): the one most of Twilio's published
/// test vectors (tests/fixtures/twilio.json) use.
pub const AUTH_TOKEN: &[u8] = b"12345";
/// Shared HMAC-SHA256 keys: `key=HS1` names a real one, `key=empty` names a
/// misconfigured empty secret (must never verify).
pub const SHA256_KEYS: [(&str, &[u8]); 2] = [("HS1", b"fuzz-shared-key-1"), ("empty", b"")];
const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// A webhook request written as text:
///
/// ```text
/// <url>\n
/// <Header-Name>: <value>\n      (zero or more; Content-Type,
///                                X-Twilio-Signature,
///                                X-Twilio-Webhooks-Signature-Settings,
///                                X-Fuzz-Auth-Token)
/// \n
/// <body bytes, to the end>
/// ```
///
/// `X-Fuzz-Auth-Token` is not part of the request: it is the configured
/// auth token (default [`AUTH_TOKEN`]), so vectors signed with other tokens
/// can be seeds and the fuzzer can try odd (e.g. empty) configured tokens.
/// Unknown header names are ignored; a header line without `:` ends the
/// headers (and belongs to nothing). URL and header lines must be UTF-8.
pub struct RawRequest<'a> {
    pub url: &'a str,
    pub auth_token: &'a [u8],
    pub content_type: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub signature_settings: Option<&'a str>,
    pub body: &'a [u8],
}

impl<'a> RawRequest<'a> {
    pub fn split(data: &'a [u8]) -> Option<RawRequest<'a>> {
        let (url, mut rest) = split_line(data);
        let mut req = RawRequest {
            url: std::str::from_utf8(url).ok()?,
            auth_token: AUTH_TOKEN,
            content_type: None,
            signature: None,
            signature_settings: None,
            body: &[],
        };
        loop {
            let (line, after) = split_line(rest);
            rest = after;
            if line.is_empty() {
                break;
            }
            let line = std::str::from_utf8(line).ok()?;
            let Some((name, value)) = line.split_once(':') else {
                break;
            };
            let value = value.trim_start_matches(' ');
            let slot = match name.trim() {
                n if n.eq_ignore_ascii_case("content-type") => &mut req.content_type,
                n if n.eq_ignore_ascii_case("x-twilio-signature") => &mut req.signature,
                n if n.eq_ignore_ascii_case("x-twilio-webhooks-signature-settings") => {
                    &mut req.signature_settings
                }
                n if n.eq_ignore_ascii_case("x-fuzz-auth-token") => {
                    req.auth_token = value.as_bytes();
                    continue;
                }
                _ => continue,
            };
            *slot = Some(value);
        }
        req.body = rest;
        Some(req)
    }

    fn signed(
        &self,
        url: &'a str,
        signature: &'a str,
        settings: Option<&'a str>,
    ) -> SignedRequest<'a> {
        SignedRequest {
            url,
            content_type: self.content_type,
            body: self.body,
            signature: Some(signature),
            signature_settings: settings,
        }
    }
}

pub(crate) fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[]),
    }
}

/// `Name: value` lines up to a blank line (names trimmed and lower-cased,
/// one leading space of a value dropped), and the rest: the body. None
/// when a line is not UTF-8 or has no `:`.
pub(crate) fn header_lines(data: &[u8]) -> Option<(Vec<(String, &str)>, &[u8])> {
    let mut headers = Vec::new();
    let mut rest = data;
    loop {
        let (line, after) = split_line(rest);
        rest = after;
        if line.is_empty() {
            return Some((headers, rest));
        }
        let (name, value) = std::str::from_utf8(line).ok()?.split_once(':')?;
        headers.push((
            name.trim().to_ascii_lowercase(),
            value.trim_start_matches(' '),
        ));
    }
}

/// `signature::verify` on the request as written, then on the same request
/// re-signed correctly (must verify) and signed with a wrong key (must not).
pub fn twilio_signature(data: &[u8]) {
    let Some(raw) = RawRequest::split(data) else {
        return;
    };
    let keys = SigningKeys {
        auth_token: raw.auth_token,
        sha256_keys: &SHA256_KEYS,
    };
    let as_sent = SignedRequest {
        url: raw.url,
        content_type: raw.content_type,
        body: raw.body,
        signature: raw.signature,
        signature_settings: raw.signature_settings,
    };
    let verdict = verify(&as_sent, &keys);
    if verdict.is_ok() && raw.signature_settings.is_none() {
        assert!(
            !raw.auth_token.is_empty(),
            "a request verified against an empty auth token"
        );
    }

    // What Twilio would have signed for this URL and body, if anything.
    let is_form = raw.content_type.is_some_and(|ct| {
        let media_type = ct.split(';').next().unwrap_or_default().trim();
        media_type.eq_ignore_ascii_case(FORM_CONTENT_TYPE)
    });
    let hashed_url: String;
    let (url, params) = if is_form {
        match decode_pairs(raw.body) {
            Ok(pairs) => (raw.url, pairs),
            Err(_) => {
                assert_eq!(
                    verdict_after_signature(&raw, &keys),
                    Err(SignatureError::Malformed)
                );
                return;
            }
        }
    } else if raw.content_type.is_none() && raw.body.is_empty() {
        (raw.url, Vec::new())
    } else {
        // A JSON (or other) body: Twilio signs the URL with the body's
        // SHA-256 appended as `bodySHA256`. Only when the URL has no
        // fragment and no such parameter yet is the appended one the one
        // `verify` reads.
        if raw.url.contains('#') || raw.url.contains("bodySHA256") {
            return;
        }
        let separator = if raw.url.contains('?') { '&' } else { '?' };
        hashed_url = format!(
            "{}{separator}bodySHA256={}",
            raw.url,
            body_sha256_hex(raw.body)
        );
        (hashed_url.as_str(), Vec::new())
    };

    let sha1 = sign(url, &params, raw.auth_token);
    if raw.auth_token.is_empty() {
        // An empty configured token is a mistake: with it anyone could sign.
        assert_eq!(
            verify(&raw.signed(url, &sha1, None), &keys),
            Err(SignatureError::UnknownKey),
            "a request verified against an empty auth token"
        );
    } else {
        assert_eq!(
            verify(&raw.signed(url, &sha1, None), &keys),
            Ok(()),
            "a correctly signed request (HMAC-SHA1) was refused"
        );
        let mut wrong_token = raw.auth_token.to_vec();
        wrong_token.push(b'x');
        let forged = sign(url, &params, &wrong_token);
        assert_eq!(
            verify(&raw.signed(url, &forged, None), &keys),
            Err(SignatureError::Mismatch)
        );
    }
    let sha256 = sign_with(Algorithm::HmacSha256, url, &params, SHA256_KEYS[0].1);
    let settings = "key=HS1,algorithm=HMAC_SHA256";
    assert_eq!(
        verify(&raw.signed(url, &sha256, Some(settings)), &keys),
        Ok(()),
        "a correctly signed request (HMAC-SHA256) was refused"
    );
    // An HMAC-SHA1 MAC presented as HMAC-SHA256 fails.
    assert_eq!(
        verify(&raw.signed(url, &sha1, Some(settings)), &keys),
        Err(SignatureError::Mismatch)
    );
    // A key named in the settings but configured empty is refused.
    assert_eq!(
        verify(
            &raw.signed(url, &sha256, Some("key=empty,algorithm=HMAC_SHA256")),
            &keys
        ),
        Err(SignatureError::UnknownKey)
    );
}

/// `verify` with a well-formed signature, so that the verdict is about the
/// body and not about the signature header.
fn verdict_after_signature(
    raw: &RawRequest<'_>,
    keys: &SigningKeys<'_>,
) -> Result<(), SignatureError> {
    let signature = sign(raw.url, &[], b"any-token");
    verify(
        &raw.signed(raw.url, &signature, Some("key=HS1,algorithm=HMAC_SHA256")),
        keys,
    )
}

// ---------------------------------------------------------------------------
// caller_id

/// A provider's `From`: `classify`, and `E164::parse` with `mask`.
pub fn caller_id(data: &[u8]) {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let caller = classify(input);
    let trimmed = input.trim();
    match &caller {
        CallerId::E164(number) => check_e164(number),
        CallerId::Withheld => {}
        CallerId::Client(identity) => assert!(!identity.is_empty()),
        CallerId::Sip(uri) => assert_eq!(uri, trimmed),
        CallerId::Other(raw) => assert_eq!(raw, trimmed),
    }
    if ["anonymous", "unknown", "restricted", "private", ""]
        .iter()
        .any(|w| trimmed.eq_ignore_ascii_case(w))
    {
        assert_eq!(caller, CallerId::Withheld);
    }

    match E164::parse(input) {
        Ok(number) => {
            check_e164(&number);
            // Whatever parses as a number is classified as that number: no
            // other reading of `From` can shadow a valid E.164 caller.
            assert_eq!(caller, CallerId::E164(number));
        }
        Err(_) => assert!(
            !matches!(caller, CallerId::E164(_)),
            "classify found a number E164::parse refuses"
        ),
    }
}

fn check_e164(number: &E164) {
    let canonical = number.as_str();
    assert!(canonical.starts_with('+'));
    let digits = &canonical[1..];
    assert!(!digits.is_empty() && digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit()));
    assert!(digits.starts_with(&number.country_code().to_string()));
    assert_eq!(
        E164::parse(canonical).as_ref(),
        Ok(number),
        "canonical form does not re-parse to itself"
    );
    assert!(canonical.ends_with(number.last_digits(4)));
    let _ = number.region();

    // The mask shows the country code and at most the last four national
    // digits (at most half of a short number), in their places.
    let mask = number.mask();
    let symbols: Vec<char> = mask
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '*')
        .collect();
    assert_eq!(
        symbols.len(),
        digits.len(),
        "mask {mask:?} lost or added digits"
    );
    let cc_digits = number.country_code().to_string().len();
    let national = digits.len() - cc_digits;
    let reveal = if national >= 8 { 4 } else { national / 2 };
    for (i, (shown, real)) in symbols.iter().zip(digits.chars()).enumerate() {
        let visible = i < cc_digits || i >= digits.len() - reveal;
        if visible {
            assert_eq!(*shown, real, "mask {mask:?} altered a digit");
        } else {
            assert_eq!(*shown, '*', "mask {mask:?} reveals a hidden digit");
        }
    }
}

// ---------------------------------------------------------------------------
// pin_input

/// What an agent types: `Pin::parse_input` for every supported length.
pub fn pin_input(data: &[u8]) {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let kept: String = input
        .chars()
        .filter(|c| !(c.is_whitespace() || *c == '-'))
        .collect();
    for len in 6..=10 {
        match Pin::parse_input(input, len) {
            Ok(pin) => {
                assert_eq!(pin.len(), len);
                assert!(pin.expose().bytes().all(|b| b.is_ascii_digit()));
                assert_eq!(pin.expose(), kept, "digits other than the typed ones");
                assert!(
                    !format!("{pin:?}").contains(pin.expose()),
                    "Debug shows the PIN"
                );
            }
            Err(error) => {
                assert!(matches!(
                    error,
                    PinError::WrongLength { .. } | PinError::NotDigits
                ));
                // Errors are shown to agents and logged: never the typed
                // digits (a message may name the expected length, so only
                // runs of three or more digits count).
                let typed: String = input.chars().filter(char::is_ascii_digit).collect();
                if typed.len() >= 3 {
                    assert!(
                        !error.to_string().contains(&typed),
                        "error echoes the digits"
                    );
                }
                if kept.len() == len
                    && kept.bytes().all(|b| b.is_ascii_digit())
                    && input.len() <= 64
                {
                    panic!("refused {len} typed digits: {error:?}");
                }
            }
        }
    }
    for len in [0, 5, 11, usize::MAX] {
        assert_eq!(
            Pin::parse_input(input, len).err(),
            Some(PinError::UnsupportedLength(len))
        );
    }
}

// ---------------------------------------------------------------------------
// org_import

/// An org import file, read as TOML and as JSON.
pub fn org_import(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for format in [ImportFormat::Toml, ImportFormat::Json] {
        match parse_import(text, format) {
            Ok(profiles) => check_profiles(&profiles),
            Err(errors) => {
                assert!(!errors.is_empty(), "an import refused with no error");
                let _ = errors.to_string();
            }
        }
    }
}

fn check_profiles(profiles: &[OrgProfile]) {
    assert!(!profiles.is_empty());
    let mut ids: Vec<&OrgId> = profiles.iter().map(|p| &p.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), profiles.len(), "duplicate org ids accepted");
    for profile in profiles {
        assert_eq!(OrgId::parse(profile.id.as_str()).as_ref(), Ok(&profile.id));
        let account = &profile.account_number;
        assert!((4..=20).contains(&account.len()) && account.bytes().all(|b| b.is_ascii_digit()));
        assert!(!profile.channels.is_empty());
        for (i, channel) in profile.channels.iter().enumerate() {
            assert!(
                !profile.channels[..i].contains(channel),
                "duplicate channel accepted"
            );
        }
    }
    // A profile serializes to the import shape: an export imports again,
    // unchanged.
    let export = serde_json::json!({ "org": profiles }).to_string();
    match parse_import(&export, ImportFormat::Json) {
        Ok(again) => assert_eq!(again, profiles, "export re-imports differently"),
        Err(errors) => panic!("an accepted import does not re-import: {errors}"),
    }
}
