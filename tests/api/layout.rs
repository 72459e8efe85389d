//! The layout guard: every `use crate::…` in src/ follows the dependency
//! direction drawn in docs/architecture.md, and neither that drawing nor
//! the use cases inside src/service/ have an import cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Module → (may import, tolerated edges), from the ```deps block.
struct Allowed {
    edges: BTreeMap<String, BTreeSet<String>>,
    tolerated: BTreeSet<(String, String)>,
}

fn allowed() -> Allowed {
    let doc =
        std::fs::read_to_string(root().join("docs/architecture.md")).expect("docs/architecture.md");
    let block = doc
        .split("```deps\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/architecture.md has a ```deps block");
    let mut edges = BTreeMap::new();
    let mut tolerated = BTreeSet::new();
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        let (from, to) = line.split_once("->").expect("a deps line is `a -> b, c`");
        let from = from.trim().to_string();
        let mut targets = BTreeSet::new();
        for t in to.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let name = t.trim_end_matches('*').to_string();
            if t.ends_with('*') {
                tolerated.insert((from.clone(), name.clone()));
            }
            targets.insert(name);
        }
        edges.insert(from, targets);
    }
    Allowed { edges, tolerated }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The identifiers that follow `prefix` in the code (comments skipped).
fn paths_after<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    let mut found = Vec::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
        for (i, _) in line.match_indices(prefix) {
            let before = line[..i].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let rest = &line[i + prefix.len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if end > 0 {
                found.push(&rest[..end]);
            }
        }
    }
    found
}

/// The top-level module a file of src/ belongs to.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("a path").as_os_str();
    let name = first.to_string_lossy();
    // A module's unit tests (`clock/tests.rs`) belong to it.
    let name = name.trim_end_matches(".rs");
    name.trim_end_matches("_tests").to_string()
}

fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn every_crate_import_follows_the_drawn_direction() {
    let allowed = allowed();
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        if module == "main" {
            continue; // the binary reaches the library as `pingate::`
        }
        let may = allowed
            .edges
            .get(&module)
            .unwrap_or_else(|| panic!("docs/architecture.md does not draw module `{module}`"));
        let text = std::fs::read_to_string(file).expect("read source");
        for target in paths_after(&text, "crate::") {
            // `crate::start` and the like are items of lib.rs itself.
            let target = if allowed.edges.contains_key(target) {
                target
            } else {
                "lib"
            };
            if target != module && !may.contains(target) {
                wrong.push(format!("{}: {module} -> {target}", file.display()));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "imports docs/architecture.md does not allow:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_drawn_direction_has_no_cycle() {
    let allowed = allowed();
    let graph: BTreeMap<String, BTreeSet<String>> = allowed
        .edges
        .iter()
        .map(|(from, to)| {
            let kept = to
                .iter()
                .filter(|t| !allowed.tolerated.contains(&(from.clone(), (*t).clone())))
                .cloned()
                .collect();
            (from.clone(), kept)
        })
        .collect();
    assert_eq!(find_cycle(&graph), None, "a cycle in docs/architecture.md");
}

#[test]
fn the_use_cases_in_service_import_each_other_without_a_cycle() {
    let dir = root().join("src/service");
    let mut files = Vec::new();
    rust_files(&dir, &mut files);
    let names: BTreeSet<String> = files.iter().map(|f| module_of(&dir, f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = module_of(&dir, file);
        let text = std::fs::read_to_string(file).expect("read source");
        let mut targets: Vec<&str> = paths_after(&text, "super::");
        targets.extend(paths_after(&text, "crate::service::"));
        // In a nested file (checkpointer/verify.rs) `super::` is its parent.
        let nested = file.parent() != Some(dir.as_path());
        for t in targets {
            if !nested && t != module && names.contains(t) && t != "mod" {
                graph
                    .entry(module.clone())
                    .or_default()
                    .insert(t.to_string());
            }
        }
    }
    assert!(
        graph
            .get("challenges")
            .is_some_and(|t| t.contains("grants")),
        "the scan sees service imports: {graph:?}"
    );
    assert_eq!(find_cycle(&graph), None, "a cycle between service modules");
}

/// One test layout: a module `x.rs` (or `x/mod.rs`) keeps its unit tests in
/// `x/tests.rs`, declared `mod tests;`: no `*_tests.rs` beside it, no
/// `#[path]`, no inline test module.
#[test]
fn unit_tests_live_in_the_one_layout() {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src").display();
        let stem = file.file_stem().unwrap_or_default().to_string_lossy();
        if stem.ends_with("_tests") || stem.ends_with("_test") {
            wrong.push(format!("{rel}: a test file beside its module"));
        }
        let text = std::fs::read_to_string(file).expect("read source");
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("#[path") {
                wrong.push(format!("{rel}:{}: #[path]", n + 1));
            }
            let declares = code.strip_prefix("mod ").map(str::trim_end);
            if declares.is_some_and(|d| d.ends_with('{') && d.contains("test")) {
                wrong.push(format!("{rel}:{}: an inline test module", n + 1));
            }
            if declares.is_some_and(|d| d.ends_with(';') && d.contains("test") && d != "tests;") {
                wrong.push(format!("{rel}:{}: a test module not named tests", n + 1));
            }
        }
    }
    assert!(wrong.is_empty(), "outside the test layout: {wrong:#?}");
}

/// A provider's name (each folder of src/providers/) appears only in its
/// folder, its webhook routes (src/http/webhooks/<name>.rs), the mod.rs
/// files that mount them, and the configuration; the rest of the code
/// speaks of "the provider". openapi.json documents every route.
#[test]
fn provider_names_stay_in_the_provider_folders() {
    let src = root().join("src");
    let mut providers = Vec::new();
    for entry in std::fs::read_dir(src.join("providers")).expect("src/providers") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            providers.push(path.file_name().unwrap().to_string_lossy().to_string());
        }
    }
    assert!(providers.iter().any(|p| p == "twilio"), "{providers:?}");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mounting = ["providers/mod.rs", "http/mod.rs", "http/webhooks/mod.rs"];
    let mut found = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src");
        let rel_text = rel.to_string_lossy().replace('\\', "/");
        if rel_text.starts_with("config/") || mounting.contains(&rel_text.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(file)
            .expect("read source")
            .to_lowercase();
        for name in &providers {
            let own = rel_text.starts_with(&format!("providers/{name}/"))
                || rel_text == format!("providers/{name}.rs")
                || rel_text == format!("http/webhooks/{name}.rs");
            if !own && text.contains(name.as_str()) {
                found.push(format!("{rel_text}: {name}"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "provider names outside their place: {found:#?}"
    );
}
