//! The configuration file as an operator meets it: `--config` anywhere on
//! the command line, missing files, `config check`, environment overrides.

use std::path::Path;

use super::{Workspace, free_port};

#[test]
fn config_option_works_before_and_after_the_subcommand() {
    let ws = Workspace::new();
    ws.write(
        "a.toml",
        "[database]\nurl = \"sqlite://a/pingate.db\"\n[server]\ndata_dir = \"a\"\n",
    );
    ws.write(
        "b.toml",
        "[database]\nurl = \"sqlite://b/pingate.db\"\n[server]\ndata_dir = \"b\"\n",
    );
    ws.run(&["--config", "a.toml", "migrate"]).ok();
    assert!(
        ws.path("a/pingate.db").exists(),
        "--config before the subcommand was ignored"
    );
    ws.run(&["migrate", "--config", "b.toml"]).ok();
    assert!(
        ws.path("b/pingate.db").exists(),
        "--config after the subcommand was ignored"
    );
    ws.run(&[
        "agent", "add", "adam", "--role", "admin", "--config", "b.toml",
    ])
    .ok();
    assert!(ws.path("b/pepper").exists());
    assert!(
        !ws.path("data/pingate.db").exists() && !ws.path("data/pepper").exists(),
        "the default location was used despite --config"
    );
}

#[test]
fn a_missing_explicit_config_file_is_a_plain_error() {
    let ws = Workspace::new();
    for args in [
        &["--config", "nope.toml", "migrate"][..],
        &["migrate", "--config", "nope.toml"][..],
        &["config", "check", "--config", "nope.toml"][..],
        &[
            "--config",
            "nope.toml",
            "agent",
            "add",
            "alice",
            "--role",
            "agent",
        ][..],
    ] {
        let run = ws.run(args).refused();
        assert!(
            run.stderr.contains("nope.toml"),
            "the error names the file: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{}", run.stdout);
    }
    assert!(
        !ws.path("data").exists(),
        "nothing is created without a configuration"
    );
}

#[test]
fn config_check_accepts_a_valid_file() {
    let ws = Workspace::new();
    ws.config("pingate.toml", free_port());
    let run = ws
        .run(&["config", "check", "--config", "pingate.toml"])
        .ok();
    assert!(
        run.stdout.contains("configuration is valid"),
        "{}",
        run.stdout
    );
    // The shipped example is valid too.
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/pingate.toml");
    let run = ws
        .run(&[
            "--config",
            shipped.to_str().expect("UTF-8 path"),
            "config",
            "check",
        ])
        .ok();
    assert!(
        run.stdout.contains("configuration is valid"),
        "{}",
        run.stdout
    );
}

#[test]
fn config_check_names_every_problem_in_a_bad_file() {
    let ws = Workspace::new();
    ws.write(
        "bad.toml",
        "[server]\nlisten = \"nowhere\"\n\n[pin]\nlength = 4\ncolour = \"blue\"\n",
    );
    let run = ws
        .run(&["config", "check", "--config", "bad.toml"])
        .refused();
    let said = format!("{}{}", run.stdout, run.stderr);
    for needle in ["pin.length", "server.listen", "colour"] {
        assert!(said.contains(needle), "{needle} is not named in:\n{said}");
    }
    assert!(!said.contains("configuration is valid"), "{said}");
}

#[test]
fn config_check_names_every_invalid_value() {
    let ws = Workspace::new();
    ws.write(
        "bad.toml",
        "[server]\nlisten = \"nowhere\"\n\n[pin]\nlength = 4\n",
    );
    let run = ws
        .run(&["config", "check", "--config", "bad.toml"])
        .refused();
    for needle in ["pin.length", "server.listen", "nowhere"] {
        assert!(
            run.stderr.contains(needle),
            "{needle} is not named in:\n{}",
            run.stderr
        );
    }
}

#[test]
fn environment_overrides_the_configuration_file() {
    let ws = Workspace::new();
    ws.config("pingate.toml", free_port());
    let run = ws
        .run_env(
            &["config", "check", "--config", "pingate.toml"],
            &[("PINGATE__PIN__LENGTH", "12")],
        )
        .refused();
    assert!(run.stderr.contains("pin.length"), "{}", run.stderr);
    assert!(run.stderr.contains("12"), "{}", run.stderr);
    // Without a file at all, the environment still applies.
    let run = ws
        .run_env(&["config", "check"], &[("PINGATE__PIN__LENGTH", "12")])
        .refused();
    assert!(run.stderr.contains("pin.length"), "{}", run.stderr);
    ws.run_env(&["config", "check"], &[("PINGATE__PIN__LENGTH", "8")])
        .ok();
}

/// Words that mean the message was written for a Rust programmer.
const NOT_OPERATOR_WORDS: &[&str] = &[
    "expected struct",
    "expected usize",
    "expected a string",
    "invalid type",
    "serde",
    ".rs:",
    "found unsigned int",
    "Value",
    "default.",
];

#[track_caller]
fn assert_in_words(text: &str) {
    for word in NOT_OPERATOR_WORDS {
        assert!(!text.contains(word), "{word:?} in:\n{text}");
    }
}

#[tokio::test]
async fn a_config_directory_is_an_error_wherever_the_option_stands() {
    let ws = Workspace::new();
    // The directory holds a pingate.toml that is itself invalid: it must
    // not be read, nor the directory taken for "no file, defaults".
    ws.write("conf/pingate.toml", "[pin]\nlength = 3\n");
    for args in [
        &["--config", "conf", "config", "check"][..],
        &["config", "check", "--config", "conf"][..],
        &["--config", "conf", "serve"][..],
        &["serve", "--config", "conf"][..],
        &["--config", "conf", "migrate"][..],
    ] {
        let run = ws
            .run_env(args, &[("PINGATE__SERVER__LISTEN", "127.0.0.1:1")])
            .refused();
        assert!(
            run.stderr.contains("conf") && run.stderr.contains("directory"),
            "`{}` should say conf is a directory:\n{}",
            run.what,
            run.stderr
        );
        assert!(
            !run.stdout.contains("configuration is valid"),
            "{}",
            run.stdout
        );
    }
    assert!(
        !ws.path("data").exists(),
        "defaults were used despite --config"
    );
}

#[tokio::test]
async fn config_check_and_the_start_up_log_say_which_file_was_loaded() {
    let ws = Workspace::new();
    let run = ws.run(&["config", "check"]).ok();
    assert!(
        run.stdout.contains("no configuration file") && run.stdout.contains("defaults apply"),
        "{}",
        run.stdout
    );
    let port = free_port();
    ws.config("site.toml", port);
    let run = ws
        .run_env(
            &["config", "check", "--config", "site.toml"],
            &[("PINGATE__PIN__LENGTH", "8")],
        )
        .ok();
    assert!(
        run.stdout.contains("configuration file site.toml"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("PINGATE__PIN__LENGTH"),
        "{}",
        run.stdout
    );
    let server = ws
        .serve(&["serve", "--config", "site.toml"], &[], port)
        .await;
    let log = server.stderr();
    server.terminate().await;
    assert!(log.contains("configuration file site.toml"), "{log}");
}

#[test]
fn environment_overrides_keep_text_for_text_keys_and_parse_numbers() {
    let ws = Workspace::new();
    ws.config("pingate.toml", free_port());
    let run = ws
        .run_env(
            &["config", "check", "--config", "pingate.toml"],
            &[
                ("PINGATE__TWILIO__SMS_FROM", "+15005550006"),
                ("PINGATE__EMAIL__FROM", "true"),
                ("PINGATE__VOICE__QUEUE", "12345"),
                ("PINGATE__PIN__LENGTH", "8"),
                ("PINGATE__PIN__TTL", "5m"),
                ("PINGATE__DELIVERY__AUTO_FALLBACK", "true"),
            ],
        )
        .ok();
    assert!(
        run.stdout.contains("configuration is valid"),
        "{}",
        run.stdout
    );
    // A number where a number is wanted still has to be one.
    let run = ws
        .run_env(
            &["config", "check", "--config", "pingate.toml"],
            &[("PINGATE__PIN__LENGTH", "eight")],
        )
        .refused();
    assert!(
        run.stderr.contains(
            "PINGATE__PIN__LENGTH: pin.length: must be a whole number from 6 to 10, got \"eight\""
        ),
        "{}",
        run.stderr
    );
    assert_in_words(&run.stderr);
}

#[test]
fn config_check_reports_every_type_error_in_words_with_its_line() {
    let ws = Workspace::new();
    ws.write(
        "three.toml",
        "[server]\nlisten = 8080\n\n[email]\ntransport = \"smpt\"\n\n[pin]\nlength = \"six\"\n",
    );
    let run = ws
        .run(&["config", "check", "--config", "three.toml"])
        .refused();
    for needle in [
        "server.listen: must be text (in quotes), got 8080 (three.toml, line 2)",
        "email.transport: must be \"smtp\" or \"file\", got \"smpt\" (three.toml, line 5)",
        "pin.length: must be a whole number from 6 to 10, got \"six\" (three.toml, line 8)",
    ] {
        assert!(
            run.stderr.contains(needle),
            "{needle:?} not in:\n{}",
            run.stderr
        );
    }
    assert_in_words(&run.stderr);
}

#[test]
fn an_unknown_key_names_its_variable_and_the_key_meant() {
    let ws = Workspace::new();
    let run = ws
        .run_env(&["config", "check"], &[("PINGATE__PIN__LENGHT", "8")])
        .refused();
    assert!(
        run.stderr
            .contains("PINGATE__PIN__LENGHT: unknown key pin.lenght; did you mean pin.length?"),
        "{}",
        run.stderr
    );
    ws.write("typo.toml", "[pin]\nmax_attempt = 3\n");
    let run = ws
        .run(&["config", "check", "--config", "typo.toml"])
        .refused();
    assert!(
        run.stderr.contains(
            "pin.max_attempt: unknown key; did you mean pin.max_attempts? (typo.toml, line 2)"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn config_check_refuses_a_log_filter_that_does_not_parse() {
    let ws = Workspace::new();
    let run = ws
        .run_env(&["config", "check"], &[("PINGATE_LOG", "pingate=[")])
        .refused();
    assert!(run.stderr.contains("PINGATE_LOG"), "{}", run.stderr);
    assert!(run.stderr.contains("pingate=["), "{}", run.stderr);
    ws.run_env(
        &["config", "check"],
        &[("PINGATE_LOG", "pingate=debug,info")],
    )
    .ok();
}

#[test]
fn config_check_accepts_the_support_desk_profile_and_explains_support_mistakes() {
    let ws = Workspace::new();
    let desk = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/support-desk.toml"
    ))
    .expect("example profile");
    ws.write("desk.toml", &desk);
    let run = ws.run(&["config", "check", "--config", "desk.toml"]);
    assert!(
        run.stdout.contains("configuration is valid"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    ws.write(
        "bad.toml",
        r#"
[support]
time_zone = "Asia/Beijing"
[[support.line]]
id = "technical"
digit = "1"
prompt = "For technical support, press 1."
severities = ["A", "B"]
queue = "technical"
[support.line.hours]
A = "24x7"
[[support.line]]
id = "billing"
digit = "1"
prompt = "For billing, press 2."
hours = "mon-fri 09:00-13:00, 12:00-18:00"
queue = "billing"
"#,
    );
    let run = ws
        .run(&["config", "check", "--config", "bad.toml"])
        .refused();
    for needle in [
        "support.time_zone: \"Asia/Beijing\" is not an IANA time zone",
        "support.line[technical].hours.B: severity B has no hours",
        "09:00-13:00 and 12:00-18:00 overlap on mon",
        "lines technical and billing both use digit 1",
    ] {
        assert!(
            run.stderr.contains(needle),
            "{needle} is not named in:\n{}",
            run.stderr
        );
    }
}
