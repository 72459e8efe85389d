use std::path::Path;

use super::super::Settings;

fn refusal(toml: &str) -> String {
    Settings::from_toml_str(toml, Path::new("test.toml"))
        .unwrap_err()
        .to_string()
}

#[test]
fn plivo_as_the_sms_transport_names_each_missing_key() {
    let err = refusal("[sms]\ntransport = \"plivo\"\n");
    for key in ["plivo.auth_id", "plivo.auth_token", "plivo.sms_from"] {
        assert!(
            err.contains(key) && err.contains("required when sms.transport = \"plivo\""),
            "{key}: {err}"
        );
    }
}

#[test]
fn plivo_values_are_checked_for_shape() {
    let err = refusal("[plivo]\nauth_id = \"MA/../x\"\n");
    assert!(err.contains("plivo.auth_id"), "{err}");
    let err = refusal("[plivo]\nauth_token = \"\"\n");
    assert!(
        err.contains("plivo.auth_token") && err.contains("empty"),
        "{err}"
    );
    let err = refusal("[plivo]\napi_base_url = \"ftp://api.plivo.com\"\n");
    assert!(err.contains("plivo.api_base_url"), "{err}");
    // Telnyx's checks share the same helpers.
    let err = refusal("[telnyx]\napi_base_url = \"api.telnyx.com\"\n");
    assert!(err.contains("telnyx.api_base_url"), "{err}");
}

#[test]
fn a_half_configured_plivo_warns_that_its_webhooks_answer_503() {
    let s = Settings::from_toml_str(
        "[plivo]\nauth_id = \"MAZDQ1ZJIYMDZKMMZKYM\"\n",
        Path::new("test.toml"),
    )
    .unwrap();
    assert!(s.plivo_in_use());
    assert!(
        s.warnings()
            .iter()
            .any(|w| w.contains("plivo.auth_token is not set")),
        "{:?}",
        s.warnings()
    );
    let quiet = Settings::from_toml_str("", Path::new("test.toml")).unwrap();
    assert!(!quiet.plivo_in_use());
    assert!(!quiet.warnings().iter().any(|w| w.contains("plivo")));
}
