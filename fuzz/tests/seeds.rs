//! Replays every seed in `fuzz/seeds/<target>/` (and, when present, the
//! generated corpus in `fuzz/corpus/<target>/` and saved crashes in
//! `fuzz/artifacts/<target>/`) through its target. Runs on stable without
//! cargo-fuzz:
//!
//!     cargo test --manifest-path fuzz/Cargo.toml --no-default-features

use std::path::{Path, PathBuf};

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(name: &str) {
    let target = pingate_fuzz::target(name).expect("known target");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let seeds = inputs(&root.join("seeds").join(name));
    assert!(!seeds.is_empty(), "no seeds for {name}");
    let extra = ["corpus", "artifacts"]
        .iter()
        .flat_map(|d| inputs(&root.join(d).join(name)));
    for path in seeds.iter().cloned().chain(extra) {
        let data = std::fs::read(&path).expect("readable input");
        // Name the input if the target panics on it.
        let outcome = std::panic::catch_unwind(|| target(&data));
        if let Err(panic) = outcome {
            eprintln!("{name}: input {} panicked", path.display());
            std::panic::resume_unwind(panic);
        }
    }
}

#[test]
fn twilio_form_seeds() {
    replay("twilio_form");
}

#[test]
fn telnyx_seeds() {
    replay("telnyx");
}

#[test]
fn twilio_signature_seeds() {
    replay("twilio_signature");
}

#[test]
fn caller_id_seeds() {
    replay("caller_id");
}

#[test]
fn pin_input_seeds() {
    replay("pin_input");
}

#[test]
fn org_import_seeds() {
    replay("org_import");
}

#[test]
fn plivo_seeds() {
    replay("plivo");
}

/// The `twilio_signature` seeds built from tests/fixtures/twilio.json (file
/// name = vector id) give the vector's verdict when read back through
/// `RawRequest`: the request format loses nothing Twilio signed, so the
/// fuzzer starts from requests that really verify.
#[test]
fn signature_seeds_keep_their_fixture_verdicts() {
    use pingate::providers::twilio::signature::{SignedRequest, SigningKeys, verify};

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixtures: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join("../tests/fixtures/twilio.json")).expect("fixture file"),
    )
    .expect("fixture JSON");
    let mut checked = 0;
    let mut verified = 0;
    for vector in fixtures.as_array().expect("an array of vectors") {
        let id = vector["id"].as_str().expect("id");
        let Ok(data) = std::fs::read(root.join("seeds/twilio_signature").join(id)) else {
            continue;
        };
        let raw = pingate_fuzz::RawRequest::split(&data).expect("UTF-8 head");
        let keys = SigningKeys {
            auth_token: raw.auth_token,
            sha256_keys: &pingate_fuzz::SHA256_KEYS,
        };
        let outcome = verify(
            &SignedRequest {
                url: raw.url,
                content_type: raw.content_type,
                body: raw.body,
                signature: raw.signature,
                signature_settings: raw.signature_settings,
            },
            &keys,
        );
        assert_eq!(
            outcome.is_ok(),
            vector["expected_valid"].as_bool().expect("expected_valid"),
            "{id}: {outcome:?}"
        );
        checked += 1;
        verified += usize::from(outcome.is_ok());
    }
    assert!(checked >= 40, "only {checked} fixture seeds found");
    // And the hand-made HMAC-SHA256 seed (key HS1) verifies too.
    let data = std::fs::read(root.join("seeds/twilio_signature/hmac-sha256-settings")).unwrap();
    let raw = pingate_fuzz::RawRequest::split(&data).unwrap();
    let keys = SigningKeys {
        auth_token: raw.auth_token,
        sha256_keys: &pingate_fuzz::SHA256_KEYS,
    };
    let request = SignedRequest {
        url: raw.url,
        content_type: raw.content_type,
        body: raw.body,
        signature: raw.signature,
        signature_settings: raw.signature_settings,
    };
    assert_eq!(verify(&request, &keys), Ok(()));
    eprintln!("{checked} fixture seeds, {verified} verify");
}

/// The `plivo` seeds built from tests/vectors/plivo.json and plivo_sdk.json
/// (file name = vector id) keep the vector's verdict: the request format
/// loses nothing Plivo signed.
#[test]
fn plivo_seeds_keep_their_vector_verdicts() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for file in ["plivo.json", "plivo_sdk.json"] {
        let text = std::fs::read(root.join("../tests/vectors").join(file)).expect("vectors");
        let vectors: serde_json::Value = serde_json::from_slice(&text).expect("vector JSON");
        for v in vectors
            .as_array()
            .expect("an array")
            .iter()
            .filter(|v| v["scheme"] == "V3")
        {
            let id = v["id"].as_str().expect("id");
            let data = std::fs::read(root.join("seeds/plivo").join(id)).expect("a seed per vector");
            let verdict = pingate_fuzz::plivo_verdict(&data).expect("a readable seed");
            assert_eq!(Some(verdict), v["expected_valid"].as_bool(), "{id}");
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} vector seeds");
}
