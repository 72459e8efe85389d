use super::*;

fn settings(dir: &Path) -> Settings {
    let mut s = Settings::default();
    s.server.data_dir = dir.to_path_buf();
    s
}

#[test]
fn keys_are_generated_once_with_private_mode_and_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path());
    let a = Keys::load_or_create(&s).unwrap();
    let b = Keys::load_or_create(&s).unwrap();
    assert_eq!(a.pepper(), b.pepper());
    assert_eq!(a.signing.to_bytes(), b.signing.to_bytes());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for p in [s.pepper_path(), s.signing_key_path()] {
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", p.display());
        }
    }
}

#[test]
fn derived_keys_differ_by_label() {
    let dir = tempfile::tempdir().unwrap();
    let k = Keys::load_or_create(&settings(dir.path())).unwrap();
    assert_ne!(k.derive("a").expose_secret(), k.derive("b").expose_secret());
}

#[test]
fn a_corrupt_key_file_is_reported_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path());
    std::fs::write(s.signing_key_path(), "garbage").unwrap();
    let err = Keys::load_or_create(&s).unwrap_err().to_string();
    assert!(err.contains("not a valid key file"), "{err}");
}
