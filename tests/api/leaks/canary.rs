//! The canary run: real flows with known secrets, then every log line, API
//! answer, audit export and database column is searched for them.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use pingate::config::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_engines;
use crate::support::app::{
    ACCOUNT_SID, AUTH_TOKEN, Engine, Options, PEPPER, TestApp, call_sid, extract_pin,
};
use crate::support::logs;
use crate::support::smtp::SmtpServer;
use crate::support::twilio_signer;

use super::dump::{challenge_sealed, dump_database, sealed_left};
use super::{Answer, Canaries, Client, PIN_LEN, WAIT, contains, find, wrong_guess};

async fn no_secret_appears_in_logs_answers_audit_or_database(engine: Engine, test: &str) {
    // SMTP with credentials, so the SMTP URL and password are secrets too.
    let smtp_password = format!("smtp-pw-{}", uuid::Uuid::new_v4().simple());
    let smtp = SmtpServer::start_with_auth("mailer", &smtp_password).await;
    let smtp_url = format!("smtp://mailer:{smtp_password}@127.0.0.1:{}", smtp.port());
    let tweak_url = smtp_url.clone();
    let opts = Options {
        tweak: Box::new(move |s| {
            s.email.smtp_url = Some(Secret::from(tweak_url.as_str()));
            s.pin.length = PIN_LEN;
        }),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn_with(engine, test, opts).await else {
        return;
    };
    assert!(
        logs::is_capturing(),
        "the log capture is not the global subscriber: nothing would be searched"
    );
    app.import_contoso().await;
    let pool = app.state().store.reader().clone();

    let mut canaries = Canaries::default();
    canaries.add("AUTH_TOKEN", AUTH_TOKEN);
    canaries.add("PEPPER", PEPPER);
    canaries.add(
        "Messages API basic auth",
        BASE64.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}")),
    );
    canaries.add("SMTP password", &smtp_password);
    canaries.add("SMTP URL", &smtp_url);
    canaries.add(
        "SMTP AUTH PLAIN",
        BASE64.encode(format!("\0mailer\0{smtp_password}")),
    );
    canaries.add("agent token", &app.agent_token);
    canaries.add("reviewer token", &app.reviewer_token);
    canaries.add("admin token", &app.admin_token);
    let agent = app.agent_token.clone();
    let reviewer = app.reviewer_token.clone();
    let admin = app.admin_token.clone();
    let mut c = Client::new(&app);

    // A forged webhook: signed with the wrong auth token.
    let forged_sid = call_sid();
    let forged_params = [
        ("CallSid", forged_sid.as_str()),
        ("AccountSid", ACCOUNT_SID),
        ("From", "+14155550123"),
        ("To", "+18005550100"),
    ];
    let url = app.url("/webhooks/twilio/voice");
    let resp = app
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "x-twilio-signature",
            twilio_signer::sign_form(&url, &forged_params, "not-the-auth-token-0123456789"),
        )
        .body(twilio_signer::form_body(&forged_params))
        .send()
        .await
        .expect("forged webhook");
    let (status, _) = c.record("forged webhook".into(), resp).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Failed authentication: an unknown token, and a token of the wrong role.
    let unknown_token = format!("pga_{}", uuid::Uuid::new_v4().simple());
    canaries.add("unknown bearer token", &unknown_token);
    let (status, _) = c.get(&unknown_token, "/v1/calls").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = c.get(&agent, "/v1/audit").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = c
        .post(
            &reviewer,
            "/v1/grants/introspect",
            json!({"token": unknown_token}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // --- PIN by email: an unregistered caller identified through the IVR.
    let email_sid = call_sid();
    c.call(&email_sid, "+14155550123", "TN-Validation-Passed-A")
        .await;
    let (status, _) = c
        .webhook(
            "/webhooks/twilio/gather",
            &[("CallSid", &email_sid), ("Digits", "40012345")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let email_call = c.call_id_for(&email_sid).await;

    // The relay refuses twice, so the PIN waits in the outbox for a while.
    smtp.fail_next(2, 451, "4.3.0 try again later");
    let (status, ch) = c
        .post(
            &agent,
            &format!("/v1/calls/{email_call}/challenges"),
            json!({"channel": "email"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ch}");
    assert_eq!(ch["destination"], "i***@contoso.example");
    let email_challenge = ch["challenge_id"]
        .as_str()
        .expect("challenge id")
        .to_string();
    let queued: Vec<(String, Option<Vec<u8>>)> = sqlx::query_as(
        "SELECT status, body_sealed FROM messages WHERE challenge_id = $1 AND kind = 'pin'",
    )
    .bind(&email_challenge)
    .fetch_all(&pool)
    .await
    .expect("queued PIN message");
    assert_eq!(queued.len(), 1, "one PIN message queued");
    let (queued_status, queued_body) = &queued[0];
    let mut sealed_while_pending = vec![(
        "messages.body_sealed".to_string(),
        queued_body
            .clone()
            .unwrap_or_else(|| panic!("a {queued_status} PIN message has no sealed body")),
    )];
    // Any sealed copy the pending challenge itself keeps (for resends).
    for (column, value) in challenge_sealed(&pool, engine, &email_challenge).await {
        if let Some(value) = value {
            sealed_while_pending.push((column, value));
        }
    }

    // The caller has not got it yet: the agent asks for a resend.
    let (status, r) = c
        .post(
            &agent,
            &format!("/v1/challenges/{email_challenge}/resend"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "resend: {r}");

    let mails = smtp.wait_for(2, WAIT).await;
    let email_pin = extract_pin(&mails[0].body_text(), PIN_LEN);
    assert_eq!(
        extract_pin(&mails[1].body_text(), PIN_LEN),
        email_pin,
        "a resend sends the same PIN"
    );
    assert_eq!(mails[0].authenticated_as.as_deref(), Some("mailer"));
    canaries.add("email PIN", &email_pin);
    for (column, sealed) in &sealed_while_pending {
        assert!(
            find(sealed, email_pin.as_bytes()).is_none(),
            "{column} holds the PIN in clear"
        );
        assert!(
            !hex::encode(sealed).contains(&hex::encode(&email_pin)),
            "{column} holds the PIN"
        );
        assert!(
            !String::from_utf8_lossy(sealed).contains(&email_pin),
            "{column} holds the PIN"
        );
    }

    let (pin_hash,): (String,) = sqlx::query_as("SELECT pin_hash FROM challenges WHERE id = $1")
        .bind(&email_challenge)
        .fetch_one(&pool)
        .await
        .expect("challenge row");
    assert!(
        pin_hash.starts_with("$argon2id$v=19$"),
        "not an argon2id PHC string: {pin_hash}"
    );
    assert!(!pin_hash.contains(&email_pin));

    let check = format!("/v1/challenges/{email_challenge}/check");
    let wrong = wrong_guess(&email_pin);
    canaries.add("wrong email guess", &wrong);
    let (status, r) = c.post(&agent, &check, json!({"pin": wrong})).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "pending");
    // Mistakes an agent makes typing the right PIN must not echo it back.
    let (status, r) = c
        .post(&agent, &check, json!({"pin": format!("{email_pin}7")}))
        .await;
    assert!(status.is_client_error(), "{status} {r}");
    let (status, r) = c
        .post(&agent, &check, json!({"pin": format!("{email_pin}x")}))
        .await;
    assert!(status.is_client_error(), "{status} {r}");
    // (A PIN sent as a JSON number: see `a_pin_sent_as_a_json_number_is_not_echoed`.)
    let (status, r) = c
        .post_raw(&agent, &check, format!("{{\"pin\": [\"{email_pin}\"]}}"))
        .await;
    assert!(status.is_client_error(), "{status} {r}");
    let (status, r) = c
        .post(&agent, &check, json!({"pin": email_pin, "code": email_pin}))
        .await;
    assert!(status.is_client_error(), "{status} {r}");

    let (status, r) = c.post(&agent, &check, json!({"pin": email_pin})).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "approved");
    let email_grant_token = r["grant"]["token"]
        .as_str()
        .expect("grant token")
        .to_string();
    let email_grant = r["grant"]["grant_id"]
        .as_str()
        .expect("grant id")
        .to_string();
    c.last_hands_over(&email_grant_token);
    canaries.add("email grant token", &email_grant_token);
    let (status, _) = c.post(&agent, &check, json!({"pin": email_pin})).await;
    assert_eq!(status, StatusCode::CONFLICT);

    let bodies: Vec<(Option<Vec<u8>>,)> =
        sqlx::query_as("SELECT body_sealed FROM messages WHERE challenge_id = $1 AND kind = 'pin'")
            .bind(&email_challenge)
            .fetch_all(&pool)
            .await
            .expect("PIN messages");
    assert_eq!(bodies.len(), 2, "the PIN and its resent copy");
    assert!(
        bodies.iter().all(|(b,)| b.is_none()),
        "sealed PIN bodies outlive the approved challenge"
    );
    for (column, value) in challenge_sealed(&pool, engine, &email_challenge).await {
        assert!(value.is_none(), "{column} outlives the approved challenge");
    }

    // --- PIN by SMS: a registered number without full attestation.
    let sms_sid = call_sid();
    c.call(&sms_sid, "+14155550100", "TN-Validation-Passed-B")
        .await;
    let sms_call = c.call_id_for(&sms_sid).await;
    let (status, ch) = c
        .post(
            &agent,
            &format!("/v1/calls/{sms_call}/challenges"),
            json!({"channel": "sms"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ch}");
    assert_eq!(ch["destination"], "+1 ***-***-0199");
    let sms_challenge = ch["challenge_id"]
        .as_str()
        .expect("challenge id")
        .to_string();
    let pin_sms = |all: &[crate::support::messages_api::SentSms]| -> Vec<String> {
        all.iter()
            .filter(|m| m.body.contains("support code"))
            .map(|m| extract_pin(&m.body, PIN_LEN))
            .collect()
    };
    // The email approval's notice is one SMS; the PIN is the other.
    let sent = app.sms.wait_for(2, WAIT).await;
    let sms_pins = pin_sms(&sent);
    assert_eq!(sms_pins.len(), 1, "{sent:#?}");
    let sms_pin = sms_pins[0].clone();
    canaries.add("SMS PIN", &sms_pin);

    let check = format!("/v1/challenges/{sms_challenge}/check");
    let wrong = wrong_guess(&sms_pin);
    canaries.add("wrong SMS guess", &wrong);
    let (status, _) = c.post(&agent, &check, json!({"pin": wrong})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, r) = c.post(&agent, &check, json!({"pin": sms_pin})).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let sms_grant_token = r["grant"]["token"]
        .as_str()
        .expect("grant token")
        .to_string();
    c.last_hands_over(&sms_grant_token);
    canaries.add("SMS grant token", &sms_grant_token);

    // --- A trusted number: a grant without a PIN.
    let trusted_sid = call_sid();
    c.call(&trusted_sid, "+8613800138000", "TN-Validation-Passed-A")
        .await;
    let trusted_call = c.call_id_for(&trusted_sid).await;
    let (status, r) = c
        .post(
            &agent,
            &format!("/v1/calls/{trusted_call}/grant"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let trusted_token = r["grant"]["token"]
        .as_str()
        .expect("grant token")
        .to_string();
    let trusted_grant = r["grant"]["grant_id"]
        .as_str()
        .expect("grant id")
        .to_string();
    c.last_hands_over(&trusted_token);
    canaries.add("trusted grant token", &trusted_token);

    // --- Introspection, reading, revocation.
    for token in [&email_grant_token, &sms_grant_token, &trusted_token] {
        let (status, r) = c
            .post(&agent, "/v1/grants/introspect", json!({"token": token}))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(r["active"], true, "{r}");
    }
    let (status, _) = c
        .post(
            &admin,
            "/v1/grants/introspect",
            json!({"token": email_grant_token}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = c
        .post(
            &agent,
            "/v1/grants/introspect",
            json!({"token": unknown_token}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = c.get(&agent, &format!("/v1/grants/{email_grant}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = c
        .post(
            &agent,
            &format!("/v1/grants/{trusted_grant}/revoke"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, r) = c
        .post(
            &agent,
            "/v1/grants/introspect",
            json!({"token": trusted_token}),
        )
        .await;
    assert_eq!(r["active"], false);
    // A grant token is not a bearer token.
    let (status, _) = c.get(&email_grant_token, "/v1/calls").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    for call in [&email_call, &sms_call, &trusted_call] {
        let (status, _) = c.get(&agent, &format!("/v1/calls/{call}")).await;
        assert_eq!(status, StatusCode::OK);
    }
    for challenge in [&email_challenge, &sms_challenge] {
        let (status, _) = c.get(&agent, &format!("/v1/challenges/{challenge}")).await;
        assert_eq!(status, StatusCode::OK);
    }
    for sid in [&email_sid, &sms_sid, &trusted_sid] {
        c.end_call(sid).await;
    }
    let (status, _) = c.get(&admin, "/v1/orgs/contoso").await;
    assert_eq!(status, StatusCode::OK);

    // Every message has gone out: three grant notices by each channel, two
    // PIN mails and one PIN SMS.
    smtp.wait_for(5, WAIT).await;
    app.sms.wait_for(4, WAIT).await;

    // --- The audit trail, as a reviewer sees it.
    let (status, listed) = c.get(&reviewer, "/v1/audit?limit=1000").await;
    assert_eq!(status, StatusCode::OK);
    let (status, jsonl) = c.get_text(&reviewer, "/v1/audit/export?format=jsonl").await;
    assert_eq!(status, StatusCode::OK);
    let (status, csv) = c.get_text(&reviewer, "/v1/audit/export?format=csv").await;
    assert_eq!(status, StatusCode::OK);
    let (status, verified) = c.get(&reviewer, "/v1/audit/verify").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(verified["ok"], true, "{verified}");

    // Let the outbox worker record the last sends before the dump.
    let settled = async {
        loop {
            let (open,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM messages WHERE status IN ('queued', 'sending')",
            )
            .fetch_one(&pool)
            .await
            .expect("count open messages");
            if open == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(WAIT, settled)
        .await
        .expect("the outbox settles");
    let dump = dump_database(&pool, engine).await;
    let log = logs::captured();

    // --- The search.
    let mut leaks = Vec::new();
    for a in &c.answers {
        leaks.extend(canaries.find_in(
            &format!("the answer to {}", a.what),
            a.text.as_bytes(),
            a.may_contain.as_deref().map(str::as_bytes),
        ));
    }
    // The answers that hand a grant token over hand over exactly that one.
    let handed: Vec<&Answer> = c
        .answers
        .iter()
        .filter(|a| a.may_contain.is_some())
        .collect();
    assert_eq!(handed.len(), 3);
    for a in handed {
        assert!(
            a.text
                .contains(a.may_contain.as_deref().unwrap_or_default())
        );
    }
    let audit_list = listed.to_string();
    for (place, text) in [
        ("the audit list", audit_list.as_str()),
        ("the JSONL audit export", jsonl.as_str()),
        ("the CSV audit export", csv.as_str()),
    ] {
        leaks.extend(canaries.find_in(place, text.as_bytes(), None));
    }
    leaks.extend(canaries.find_in("a log line", &log, None));
    leaks.extend(canaries.find_in("the database", dump.text.as_bytes(), None));
    leaks.extend(canaries.find_in("a database blob", &dump.raw, None));
    // A blob holding a secret as hex would show as its hex.
    for canary in &canaries.0 {
        if dump.text.contains(&hex::encode(&canary.value)) {
            leaks.push(format!("{} found hex-encoded in the database", canary.name));
        }
    }
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n\n"));

    // Callers' numbers and the org's contacts never appear in clear in the
    // audit trail: callers are pseudonymised, destinations masked.
    for text in [&jsonl, &csv, &audit_list] {
        for clear in [
            "4155550123",
            "4155550100",
            "8613800138000",
            "4155550199",
            "it-admin@contoso.example",
            "it-admin",
        ] {
            assert!(
                !text.contains(clear),
                "{clear} in clear in the audit trail:\n{text}"
            );
        }
    }
    let events: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSONL line"))
        .collect();
    let received: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "call_received")
        .collect();
    assert_eq!(received.len(), 3);
    for e in &received {
        let caller = e["detail"]["caller"].as_str().expect("caller");
        assert!(caller.starts_with("h:"), "caller not pseudonymised: {e}");
    }
    assert!(received.iter().any(|e| {
        e["detail"]["caller"]
            .as_str()
            .is_some_and(|s| s.ends_with("…0123"))
    }));
    let destinations: Vec<&str> = events
        .iter()
        .filter(|e| e["kind"] == "challenge_created")
        .filter_map(|e| e["detail"]["destination"].as_str())
        .collect();
    assert_eq!(
        destinations,
        vec!["i***@contoso.example", "+1 ***-***-0199"]
    );
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "authn_webhook_signature_fail")
    );
    assert!(events.iter().any(|e| e["kind"] == "authn_token_fail"));
    assert!(events.iter().any(|e| e["kind"] == "authz_fail"));

    // Every message was sent and every challenge ended: nothing sealed is
    // left at rest, in any table.
    let left = sealed_left(&pool, engine).await;
    assert!(
        left.is_empty(),
        "sealed values left after delivery and approval: {left:?}"
    );

    // The search looked where it says it did: this server's events, its
    // requests' spans and every table's columns (blobs included) were seen.
    assert!(
        contains(&log, &app.base.replace("http://", "")),
        "the server's own events were not captured"
    );
    assert!(
        // Spans carry the route template, never the raw path (issue 13.6).
        contains(&log, "/v1/challenges/{challenge_id}/check"),
        "request spans were not captured"
    );
    assert!(dump.text.contains(&email_challenge) && dump.text.contains("it-admin@contoso.example"));
    assert!(
        dump.text
            .contains(&hex::encode(pingate::ids::token_hash(&agent))),
        "blobs were not dumped"
    );
    assert!(dump.text.contains(&pin_hash));

    app.shutdown().await;
    smtp.shutdown().await;
}
on_both_engines!(
    no_secret_appears_in_logs_answers_audit_or_database,
    no_secret_appears_in_logs_answers_audit_or_database
);
