//! Telephony providers: one module per provider with its signature check,
//! request parsing, reply markup and webhook routes. The domain does not
//! know which provider a call came through.

pub mod error;
pub mod twilio;

pub use error::WebhookError;

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every `.rs` file under `dir`, recursively.
    fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn providers_do_not_import_the_http_api() {
        // `http` mounts the providers' routers, so an import the other way
        // would be a cycle (issue 9): shared request pieces live in `net`.
        let needle = ["crate", "::http"].concat();
        let mut files = Vec::new();
        sources(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/providers"),
            &mut files,
        );
        assert!(!files.is_empty());
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for (n, line) in text.lines().enumerate() {
                assert!(!line.contains(&needle), "{}:{}: {line}", f.display(), n + 1);
            }
        }
    }
}
