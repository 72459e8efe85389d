//! Files only the service's user may read: directories created 0700 and
//! files 0600. The file transports' outbox holds PINs in clear.

use std::io;
use std::path::Path;

/// Creates `dir` (and missing parents) with mode 0700. An existing
/// directory is left as it is: it may be shared, and not ours to change.
pub fn ensure_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Writes `content` to a new file of mode 0600 (replacing one of that name).
pub async fn write(path: &Path, content: &[u8]) -> io::Result<()> {
    let mut opts = tokio::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut file = opts.open(path).await?;
    tokio::io::AsyncWriteExt::write_all(&mut file, content).await?;
    file.sync_all().await
}

#[cfg(all(test, unix))]
mod tests;
