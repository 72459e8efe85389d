//! The file transports as `serve` builds them: the outbox they make and
//! every message in it are the service user's alone.

use std::os::unix::fs::PermissionsExt;

use crate::delivery::{email::EmailSender, sms::SmsSender};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn the_file_transports_write_a_private_outbox() {
    let root = tempfile::tempdir().unwrap();
    let mut s = crate::config::Settings::default();
    s.server.data_dir = root.path().join("data");
    let email = EmailSender::from_settings(&s.email, &s.email_file_dir()).unwrap();
    let sms = SmsSender::file(&s);
    assert!(
        !s.email_file_dir().exists(),
        "building a sender writes nothing"
    );
    email
        .send("m1", "it@contoso.example", "Your code", "123456")
        .await
        .unwrap();
    sms.send("m2", "+14155550100", "123456").await.unwrap();
    let outbox = s.sms_file_dir();
    assert_eq!(mode(&outbox), 0o700);
    let files: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    for f in files {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
}
