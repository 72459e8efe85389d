//! Rebuilds the crate when a migration is added (they are embedded), and
//! tells the test binaries which opt-in environments this build targets,
//! so a variant that cannot run here is compiled as an ignored test with
//! its reason (counted as "ignored" in the summary) instead of passing
//! without doing anything.

fn main() {
    for (var, cfg) in [
        ("PINGATE_TEST_DATABASE_URL", "pingate_test_postgres"),
        ("PINGATE_TEST_CHROMEDRIVER", "pingate_test_browser"),
    ] {
        println!("cargo::rerun-if-env-changed={var}");
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        let set = std::env::var(var).is_ok_and(|v| !v.trim().is_empty());
        if set {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
    // sqlx::migrate! embeds the migration files at compile time; a new
    // file must rebuild the crate.
    println!("cargo::rerun-if-changed=migrations");
    println!("cargo::rerun-if-changed=build.rs");
}
