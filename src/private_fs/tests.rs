use std::os::unix::fs::PermissionsExt;

use super::*;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn new_directories_are_0700_and_files_0600() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("a/outbox");
    ensure_dir(&dir).unwrap();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&root.path().join("a")), 0o700);
    let file = dir.join("m.sms.json");
    write(&file, b"{}").await.unwrap();
    assert_eq!(mode(&file), 0o600);
    ensure_dir(&dir).unwrap();
}
