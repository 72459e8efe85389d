//! The shared-key (HMAC-SHA256, `KS...`) signatures Twilio sends when a
//! webhook is configured with `X-Twilio-Signature-Settings`.

use super::*;

fn verify_shared(
    url: &str,
    params: &[(String, String)],
    signature: &str,
    settings: &str,
    configured: &[(&str, &[u8])],
) -> Result<(), SignatureError> {
    let body = encode(params);
    let request = SignedRequest {
        url,
        content_type: Some("application/x-www-form-urlencoded; charset=utf-8"),
        body: body.as_bytes(),
        signature: Some(signature),
        signature_settings: Some(settings),
    };
    verify(
        &request,
        &SigningKeys {
            auth_token: TOKEN,
            sha256_keys: configured,
        },
    )
}

#[test]
fn hmac_sha256_with_the_configured_shared_key_is_accepted() {
    let params = shared_params();
    let signature = sign_with(Algorithm::HmacSha256, SHARED_URL, &params, SHARED_SECRET);
    // 32-byte MAC: 44 base64 characters. Cross-checked with python3:
    // base64(hmac.new(key, url + "CallSidCA0123…From+14155550100", sha256)).
    assert_eq!(signature, "r9K1Jnw39fmLx9QOU4KjQIIjX1rOl+SLZPfOrUG5lzM=");
    let configured: &[(&str, &[u8])] = &[("KSother", b"other"), (SHARED_ID, SHARED_SECRET)];
    assert_eq!(
        verify_shared(SHARED_URL, &params, &signature, SETTINGS, configured),
        Ok(())
    );
    // Attribute order, spacing and case in the header do not matter.
    let reordered = format!(" algorithm = hmac_sha256 , key={SHARED_ID}");
    assert_eq!(
        verify_shared(SHARED_URL, &params, &signature, &reordered, configured),
        Ok(())
    );
    // Attributes Twilio may add later are ignored, up to 512 characters.
    let padded = format!("{SETTINGS},future={}", "x".repeat(512 - SETTINGS.len() - 8));
    assert_eq!(
        verify_shared(SHARED_URL, &params, &signature, &padded, configured),
        Ok(())
    );
}

#[test]
fn hmac_sha256_with_an_unknown_key_id_fails() {
    let params = shared_params();
    let signature = sign_with(Algorithm::HmacSha256, SHARED_URL, &params, SHARED_SECRET);
    let configured: &[(&str, &[u8])] = &[(SHARED_ID, SHARED_SECRET)];
    let settings = "key=KSattacker,algorithm=HMAC_SHA256";
    assert_eq!(
        verify_shared(SHARED_URL, &params, &signature, settings, configured),
        Err(SignatureError::UnknownKey)
    );
    // With no shared keys configured at all, the header cannot be honoured.
    assert_eq!(
        verify_shared(SHARED_URL, &params, &signature, SETTINGS, &[]),
        Err(SignatureError::UnknownKey)
    );
}

#[test]
fn hmac_sha256_tampering_fails() {
    let params = shared_params();
    let configured: &[(&str, &[u8])] = &[(SHARED_ID, SHARED_SECRET)];
    let signature = sign_with(Algorithm::HmacSha256, SHARED_URL, &params, SHARED_SECRET);

    let mut tampered = params.clone();
    tampered[1].1 = "+14155550101".to_owned();
    assert_eq!(
        verify_shared(SHARED_URL, &tampered, &signature, SETTINGS, configured),
        Err(SignatureError::Mismatch)
    );
    let other_url = "https://gw.example.com/webhooks/twilio/gather";
    assert_eq!(
        verify_shared(other_url, &params, &signature, SETTINGS, configured),
        Err(SignatureError::Mismatch)
    );
    // A SHA-1 signature with the auth token is not accepted once the header
    // announces a shared key: the header pins the key.
    let sha1 = sign(SHARED_URL, &params, TOKEN);
    assert_eq!(
        verify_shared(SHARED_URL, &params, &sha1, SETTINGS, configured),
        Err(SignatureError::Mismatch)
    );
    // A signature made with a key the attacker chose, named by a configured
    // id, fails: the secret comes from configuration only.
    let forged = sign_with(Algorithm::HmacSha256, SHARED_URL, &params, b"attacker");
    assert_eq!(
        verify_shared(SHARED_URL, &params, &forged, SETTINGS, configured),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn bad_settings_headers_are_malformed() {
    let params = shared_params();
    let configured: &[(&str, &[u8])] = &[(SHARED_ID, SHARED_SECRET)];
    let signature = sign_with(Algorithm::HmacSha256, SHARED_URL, &params, SHARED_SECRET);
    let long = format!("{SETTINGS},future={}", "x".repeat(513 - SETTINGS.len() - 8));
    for settings in [
        "",
        "key=,algorithm=HMAC_SHA256",
        "algorithm=HMAC_SHA256",
        &format!("key={SHARED_ID}"),
        &format!("key={SHARED_ID},algorithm=HMAC_SHA512"),
        &format!("key={SHARED_ID},algorithm=HMAC_SHA1"),
        &format!("key={SHARED_ID},key=KSother,algorithm=HMAC_SHA256"),
        &format!("key={SHARED_ID};algorithm=HMAC_SHA256"),
        &long,
    ] {
        assert_eq!(
            verify_shared(SHARED_URL, &params, &signature, settings, configured),
            Err(SignatureError::Malformed),
            "{settings:?}"
        );
    }
}
