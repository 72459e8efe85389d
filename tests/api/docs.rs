//! The README and the guides under docs/ name files of the repository in
//! backticks (`src/…`, `tests/…`, …); every one of them must exist, so a
//! move or a rename cannot leave a reader looking for a file that is gone.

use std::path::Path;

/// Top-level folders whose files the guides name.
const ROOTS: &[&str] = &[
    "src/",
    "tests/",
    "config/",
    "bench/",
    "examples/",
    "migrations/",
    "docs/",
    "fuzz/",
    ".ci/",
];

/// Made by tools and ignored by git: named as places, not as files.
const GENERATED: &[&str] = &["fuzz/target", "fuzz/corpus/", "fuzz/artifacts/"];

/// Every backticked span of `text` that names a path below one of `ROOTS`
/// (globs and placeholders such as `src/**/tests.rs` or `x/NAME` excluded).
fn named_paths(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(|s| s.trim_end_matches(['.', ',']))
        .filter(|s| ROOTS.iter().any(|r| s.starts_with(r)))
        .filter(|s| {
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c))
        })
        .filter(|s| !GENERATED.contains(s))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_path_the_readme_and_the_guides_name_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut guides = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).expect("docs/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            guides.push(path);
        }
    }
    let mut missing = Vec::new();
    for guide in &guides {
        let text = std::fs::read_to_string(guide).expect("guide");
        for named in named_paths(&text) {
            if !root.join(&named).exists() {
                missing.push(format!("{}: {named}", guide.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "named but missing:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_path_finder_sees_paths_and_skips_globs() {
    let found =
        named_paths("see `src/lib.rs`, `src/**/tests.rs`, `cargo test` and `tests/cli/main.rs`.");
    assert_eq!(found, ["src/lib.rs", "tests/cli/main.rs"]);
}
