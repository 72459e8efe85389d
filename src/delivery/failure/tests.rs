use super::*;

#[test]
fn addresses_and_numbers_are_masked_codes_are_kept() {
    assert_eq!(
        redact("550 5.1.1 <bob.smith@contoso.example>: Recipient address rejected"),
        "550 5.1.1 <[address]>: Recipient address rejected"
    );
    assert_eq!(
        redact("The 'To' number +14155550199 is not valid (code 21211)"),
        "The 'To' number [number] is not valid (code 21211)"
    );
    assert_eq!(redact("call +86 138 0013 8000 now"), "call [number] now");
    assert_eq!(
        redact("mail it-admin@x.io, please"),
        "mail [address], please"
    );
    assert_eq!(redact("Acme 400 code 21614"), "Acme 400 code 21614");
}

#[test]
fn reasons_are_redacted_however_they_are_built() {
    assert_eq!(
        FailureReason::new("cannot build message for a@b.c").as_str(),
        "cannot build message for [address]"
    );
    assert_eq!(
        provider("Acme", 400, Some("21211")).as_str(),
        "Acme 400 code 21211"
    );
    assert_eq!(provider("Acme", 503, None).as_str(), "Acme 503 code ?");
}
