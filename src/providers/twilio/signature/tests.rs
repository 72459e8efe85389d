use super::*;
use proptest::prelude::*;
use serde_json::Value;

const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/twilio.json"
));
const FORM: &str = "application/x-www-form-urlencoded";
const TOKEN: &[u8] = b"12345";

/// A vector's parameters as pairs; arrays become repeated keys, in the
/// vector's order (which is deliberately not sorted).
fn vector_params(vector: &Value) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    if let Some(Value::Object(params)) = vector.get("params") {
        for (key, value) in params {
            match value {
                Value::String(s) => pairs.push((key.clone(), s.clone())),
                Value::Array(items) => {
                    for item in items {
                        pairs.push((key.clone(), item.as_str().unwrap_or_default().to_owned()));
                    }
                }
                other => panic!("unexpected param value {other}"),
            }
        }
    }
    pairs
}

fn str_field<'a>(vector: &'a Value, field: &str) -> Option<&'a str> {
    vector.get(field).and_then(Value::as_str)
}

fn encode(pairs: &[(String, String)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_else(|e| panic!("encode: {e}"))
}

fn keys(auth_token: &[u8]) -> SigningKeys<'_> {
    SigningKeys {
        auth_token,
        sha256_keys: &[],
    }
}

/// Builds the request a vector describes: a JSON vector keeps its raw body
/// and content type; a form vector with parameters is sent form-encoded; a
/// vector with neither (GET, or a POST without parameters) has no body.
fn check_vector(vector: &Value) -> Result<(), SignatureError> {
    let params = vector_params(vector);
    let (content_type, body) = match (str_field(vector, "content_type"), str_field(vector, "body"))
    {
        (Some(ct), Some(body)) => (Some(ct), body.to_owned()),
        (None, None) if params.is_empty() => (None, String::new()),
        (None, None) => (Some(FORM), encode(&params)),
        other => panic!("unexpected vector shape {other:?}"),
    };
    let secret = str_field(vector, "secret").unwrap_or_default();
    let request = SignedRequest {
        url: str_field(vector, "url").unwrap_or_default(),
        content_type,
        body: body.as_bytes(),
        signature: vector
            .get("headers")
            .and_then(|h| h.get("X-Twilio-Signature"))
            .and_then(Value::as_str),
        signature_settings: None,
    };
    verify(&request, &keys(secret.as_bytes()))
}

fn vectors() -> Vec<Value> {
    match serde_json::from_str(VECTORS) {
        Ok(Value::Array(vectors)) => vectors,
        other => panic!("twilio.json is not an array of vectors: {other:?}"),
    }
}

#[test]
fn every_known_answer_vector_gives_its_expected_verdict() {
    let vectors = vectors();
    assert_eq!(vectors.len(), 42, "the vector file changed; review it");
    let mut failures = Vec::new();
    for vector in &vectors {
        let id = str_field(vector, "id").unwrap_or("?");
        let expected = vector.get("expected_valid").and_then(Value::as_bool);
        let outcome = check_vector(vector);
        if Some(outcome.is_ok()) != expected {
            failures.push(format!(
                "{id}: expected valid={expected:?}, got {outcome:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn invalid_vectors_fail_for_the_stated_reason() {
    let vectors = vectors();
    let reason = |id: &str| {
        let vector = vectors
            .iter()
            .find(|v| str_field(v, "id") == Some(id))
            .unwrap_or_else(|| panic!("vector {id} missing"));
        check_vector(vector)
    };
    // 31 characters: not even valid base64.
    assert_eq!(reason("tw-wrong-sig"), Err(SignatureError::Malformed));
    assert_eq!(
        reason("tw-json-body-without-bodySHA256"),
        Err(SignatureError::BodyHashMissing)
    );
    assert_eq!(
        reason("tw-json-body-hash-mismatch"),
        Err(SignatureError::BodyHashMismatch)
    );
    assert_eq!(
        reason("tw-cs-mixed-case-host-wrong"),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        reason("tw-node-url-mismatch"),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn vectors_with_a_string_to_sign_agree_with_sign() {
    // `sign` over the documented signed URL must reproduce the header, which
    // pins the canonical string independently of the port candidates.
    for vector in vectors() {
        let (Some(signed_url), true, None) = (
            str_field(&vector, "signed_url"),
            vector.get("expected_valid") == Some(&Value::Bool(true)),
            str_field(&vector, "body"),
        ) else {
            continue;
        };
        let secret = str_field(&vector, "secret").unwrap_or_default();
        let expected = str_field(&vector, "expected_signature");
        let params = vector_params(&vector);
        assert_eq!(
            Some(sign(signed_url, &params, secret.as_bytes()).as_str()),
            expected,
            "{:?}",
            str_field(&vector, "id")
        );
    }
}

#[test]
fn sort_is_by_key_then_value_not_by_concatenation() {
    let params = [
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "1234"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    assert_eq!(sign(url, &params, TOKEN), "CgUWP726jjuqn1zmicHVG/3A2ak=");
    // twilio-go's historical (wrong) ordering must not be accepted.
    let body = encode(&params);
    let request = form_request(url, &body, "81IMJcSaIEuSZm05xahnKNbuHgw=");
    let mismatch = Err(SignatureError::Mismatch);
    assert_eq!(verify(&request, &keys(TOKEN)), mismatch);
}

const SHARED_URL: &str = "https://gw.example.com/webhooks/twilio/voice";
const SHARED_ID: &str = "KS0123456789abcdef0123456789abcdef";
const SHARED_SECRET: &[u8] = b"shared-secret-from-config";
const SETTINGS: &str = "key=KS0123456789abcdef0123456789abcdef,algorithm=HMAC_SHA256";

fn shared_params() -> Vec<(String, String)> {
    [
        ("CallSid", "CA0123456789abcdef0123456789abcdef"),
        ("From", "+14155550100"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .to_vec()
}

#[test]
fn missing_and_malformed_signatures() {
    let params = shared_params();
    let body = encode(&params);
    let mut request = form_request(SHARED_URL, &body, "");
    request.signature = None;
    assert_eq!(verify(&request, &keys(TOKEN)), Err(SignatureError::Missing));
    request.signature = Some("");
    assert_eq!(verify(&request, &keys(TOKEN)), Err(SignatureError::Missing));
    let too_long = "A".repeat(200);
    for bad in ["not base64!", "QQ", "QQ=", "QR==", &too_long] {
        request.signature = Some(bad);
        assert_eq!(
            verify(&request, &keys(TOKEN)),
            Err(SignatureError::Malformed),
            "{bad}"
        );
    }
    // Well-formed base64 of a wrong length, up to 128 characters: a mismatch.
    let longest = "A".repeat(128);
    for wrong in ["AAAA", &longest] {
        request.signature = Some(wrong);
        assert_eq!(
            verify(&request, &keys(TOKEN)),
            Err(SignatureError::Mismatch)
        );
    }
}

#[test]
fn an_empty_auth_token_never_verifies() {
    let url = "https://example.com/x";
    let signature = sign(url, &[], b"");
    let request = form_request(url, "", &signature);
    let unknown = Err(SignatureError::UnknownKey);
    assert_eq!(verify(&request, &keys(b"")), unknown);
}

#[test]
fn form_bodies_with_invalid_utf8_are_malformed() {
    let url = "https://example.com/x";
    let signature = sign(url, &[], TOKEN);
    let request = form_request(url, "From=%FF", &signature);
    let malformed = Err(SignatureError::Malformed);
    assert_eq!(verify(&request, &keys(TOKEN)), malformed);
}

fn json_request<'a>(url: &'a str, body: &'a [u8], signature: &'a str) -> SignedRequest<'a> {
    SignedRequest {
        url,
        content_type: Some("application/json"),
        body,
        signature: Some(signature),
        signature_settings: None,
    }
}

#[test]
fn json_bodies_hash_the_raw_body_and_sign_the_url_alone() {
    let body = br#"{"CallSid":"CA1"}"#;
    let url = format!(
        "https://example.com/hook?bodySHA256={}",
        body_sha256_hex(body)
    );
    let signature = sign(&url, &[], TOKEN);
    let mut request = json_request(&url, body, &signature);
    assert_eq!(verify(&request, &keys(TOKEN)), Ok(()));
    // An unlabelled non-empty body is treated like JSON, never as a form.
    request.content_type = None;
    assert_eq!(verify(&request, &keys(TOKEN)), Ok(()));
    request.body = br#"{"CallSid":"CA2"}"#;
    let mismatch = Err(SignatureError::BodyHashMismatch);
    assert_eq!(verify(&request, &keys(TOKEN)), mismatch);

    // Uppercase hex is not what Twilio sends, and is refused.
    let hash = body_sha256_hex(body).to_uppercase();
    let upper = format!("https://example.com/hook?bodySHA256={hash}");
    let signature = sign(&upper, &[], TOKEN);
    assert_eq!(
        verify(&json_request(&upper, body, &signature), &keys(TOKEN)),
        mismatch
    );

    // Two body hashes leave it unclear which one counts.
    let twice = format!("{url}&bodySHA256=00");
    let signature = sign(&twice, &[], TOKEN);
    let malformed = Err(SignatureError::Malformed);
    assert_eq!(
        verify(&json_request(&twice, body, &signature), &keys(TOKEN)),
        malformed
    );
}

#[test]
fn url_candidates_cover_port_variants_only() {
    let cases: &[(&str, &[&str])] = &[
        (
            "https://h.com/p?q=1",
            &["https://h.com/p?q=1", "https://h.com:443/p?q=1"],
        ),
        ("http://h.com", &["http://h.com", "http://h.com:80"]),
        (
            "HTTP://u:p@H.com/p",
            &["HTTP://u:p@H.com/p", "HTTP://u:p@H.com:80/p"],
        ),
        (
            "https://h.com:1234/p",
            &["https://h.com:1234/p", "https://h.com/p"],
        ),
        (
            "https://u:p:x@h.com:443?a",
            &["https://u:p:x@h.com:443?a", "https://u:p:x@h.com?a"],
        ),
        (
            "https://[::1]/p",
            &["https://[::1]/p", "https://[::1]:443/p"],
        ),
        (
            "https://[::1]:8443/p",
            &["https://[::1]:8443/p", "https://[::1]/p"],
        ),
        ("wss://h.com/p", &["wss://h.com/p"]),
        ("https://h.com:/p", &["https://h.com:/p"]),
        ("https://h.com:x1/p", &["https://h.com:x1/p"]),
        ("https://:443/p", &["https://:443/p"]),
        ("https://u@:443/p", &["https://u@:443/p"]),
        ("https:///p", &["https:///p"]),
        ("h t://h.com:443/p", &["h t://h.com:443/p"]),
        ("://h.com:443/p", &["://h.com:443/p"]),
        ("/relative?x=1", &["/relative?x=1"]),
        ("", &[""]),
    ];
    for (url, expected) in cases {
        assert_eq!(url_candidates(url), *expected, "{url}");
    }
}

#[test]
fn debug_output_hides_secrets_and_bodies() {
    let keys = SigningKeys {
        auth_token: b"super-secret-token",
        sha256_keys: &[("KSid", b"super-secret-shared")],
    };
    let text = format!("{keys:?}");
    assert!(text.contains("KSid"));
    assert!(!text.contains("super-secret"), "{text}");
    let request = form_request("https://h/x", "From=%2B14155550100", "sig");
    let text = format!("{request:?}");
    assert!(text.contains("body_len: 19"), "{text}");
    assert!(!text.contains("4155550100"), "{text}");
}

#[test]
fn error_messages_are_plain_and_distinct() {
    let all = [
        SignatureError::Missing,
        SignatureError::Malformed,
        SignatureError::Mismatch,
        SignatureError::BodyHashMissing,
        SignatureError::BodyHashMismatch,
        SignatureError::UnknownKey,
    ];
    let messages: BTreeSet<String> = all.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), all.len());
}

fn url_strategy() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("https"), Just("http"), Just("HTTPS")],
        "[a-zA-Z0-9.-]{1,20}",
        proptest::option::of(1u16..),
        "(/[a-zA-Z0-9._~%-]{0,10}){0,3}",
        proptest::option::of("[a-zA-Z0-9=&%+._-]{0,30}"),
    )
        .prop_map(|(scheme, host, port, path, query)| {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let query = query.map(|q| format!("?{q}")).unwrap_or_default();
            format!("{scheme}://{host}{port}{path}{query}")
        })
}

fn params_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec(("[A-Za-z]{1,6}", any::<String>()), 0..6)
}

fn odd_url() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,80}",
        "(https?|HTTP|x)?(://)?([a-zé@:.\\[\\]]|:[0-9]{0,3}){0,12}[/?#]?.{0,10}",
    ]
}

fn form_request<'a>(url: &'a str, body: &'a str, signature: &'a str) -> SignedRequest<'a> {
    SignedRequest {
        url,
        content_type: Some(FORM),
        body: body.as_bytes(),
        signature: Some(signature),
        signature_settings: None,
    }
}

proptest! {
    #[test]
    fn sign_then_verify_round_trips(url in url_strategy(), params in params_strategy()) {
        let signature = sign(&url, &params, TOKEN);
        let body = encode(&params);
        prop_assert_eq!(verify(&form_request(&url, &body, &signature), &keys(TOKEN)), Ok(()));
    }

    #[test]
    fn changing_a_value_fails(
        url in url_strategy(),
        params in params_strategy(),
        index in any::<prop::sample::Index>(),
        suffix in "[a-z0-9 ]{1,4}",
    ) {
        prop_assume!(!params.is_empty());
        let signature = sign(&url, &params, TOKEN);
        let mut changed = params.clone();
        let at = index.index(changed.len());
        changed[at].1.push_str(&suffix);
        // Only a real change counts: with repeated keys, the new value might
        // equal another value of the same key and leave the set unchanged.
        let set = |p: &[(String, String)]| p.iter().cloned().collect::<BTreeSet<_>>();
        prop_assume!(set(&changed) != set(&params));
        let body = encode(&changed);
        prop_assert_eq!(
            verify(&form_request(&url, &body, &signature), &keys(TOKEN)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn adding_a_param_fails(
        url in url_strategy(),
        params in params_strategy(),
        extra in ("[A-Za-z]{1,6}", ".{0,8}"),
    ) {
        prop_assume!(!params.contains(&extra));
        let signature = sign(&url, &params, TOKEN);
        let mut changed = params.clone();
        changed.push(extra);
        let body = encode(&changed);
        prop_assert_eq!(
            verify(&form_request(&url, &body, &signature), &keys(TOKEN)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn changing_the_url_fails(
        url in url_strategy(),
        params in params_strategy(),
        suffix in "[a-z0-9/]{1,4}",
    ) {
        let signature = sign(&url, &params, TOKEN);
        let changed = format!("{url}{suffix}");
        let body = encode(&params);
        prop_assert_eq!(
            verify(&form_request(&changed, &body, &signature), &keys(TOKEN)),
            Err(SignatureError::Mismatch)
        );
    }

    // URL surgery runs only after a signature decodes, so it gets its own
    // hostile inputs too.
    #[test]
    fn url_handling_never_panics(url in odd_url()) {
        let candidates = url_candidates(&url);
        prop_assert!(candidates.len() <= 2);
        prop_assert_eq!(candidates.first(), Some(&url));
        let _ = body_hash_param(&url);
    }

    #[test]
    fn verify_never_panics(
        url in odd_url(),
        content_type in proptest::option::of(prop_oneof![
            Just(FORM.to_owned()), Just("application/json".to_owned()), ".{0,40}"
        ]),
        body in proptest::collection::vec(any::<u8>(), 0..256),
        signature in proptest::option::of(prop_oneof![
            "[A-Za-z0-9+/=]{0,60}", ".{0,200}"
        ]),
        settings in proptest::option::of(prop_oneof![
            Just(SETTINGS.to_owned()), "(key|algorithm|=|,|HMAC_SHA256|KS| ){0,8}", ".{0,80}"
        ]),
    ) {
        let request = SignedRequest {
            url: &url,
            content_type: content_type.as_deref(),
            body: &body,
            signature: signature.as_deref(),
            signature_settings: settings.as_deref(),
        };
        let configured: &[(&str, &[u8])] = &[(SHARED_ID, SHARED_SECRET)];
        let result = verify(&request, &SigningKeys { auth_token: TOKEN, sha256_keys: configured });
        // Random input is never accepted.
        prop_assert!(result.is_err());
    }
}

mod shared_key;
