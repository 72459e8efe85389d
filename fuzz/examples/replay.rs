//! Runs one fuzz target over files or folders of inputs, on stable, without
//! libFuzzer: to reproduce a crash file or re-check a corpus.
//!
//!     cargo run --manifest-path fuzz/Cargo.toml --no-default-features \
//!         --example replay -- <target> <file-or-dir>...

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let names: Vec<&str> = pingate_fuzz::TARGETS.iter().map(|(n, _)| *n).collect();
    let Some((name, paths)) = args.split_first() else {
        eprintln!(
            "usage: replay <target> <file-or-dir>...   targets: {}",
            names.join(", ")
        );
        return ExitCode::from(2);
    };
    let Some(target) = pingate_fuzz::target(name) else {
        eprintln!("unknown target {name}; targets: {}", names.join(", "));
        return ExitCode::from(2);
    };
    let mut count = 0usize;
    for path in paths {
        let path = Path::new(path);
        let mut files = if path.is_dir() {
            std::fs::read_dir(path)
                .expect("readable folder")
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        } else {
            vec![path.to_path_buf()]
        };
        files.sort();
        for file in files {
            let data = std::fs::read(&file).expect("readable input");
            eprintln!("{name}: {}", file.display());
            target(&data);
            count += 1;
        }
    }
    println!("{name}: {count} inputs replayed, no panic");
    ExitCode::SUCCESS
}
