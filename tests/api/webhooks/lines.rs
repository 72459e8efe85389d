//! Support lines, severity and hours, tried as a caller would: signed
//! webhooks against the running server configured with the seed desk's
//! profile (`config/support-desk.toml`), at chosen Beijing times (the test
//! clock is moved to them).

use jiff::Timestamp;
use jiff::civil::{Date, Weekday};
use pingate::clock::Clock;
use reqwest::StatusCode;
use serde_json::Value;

use crate::errors::audit_events;
use crate::on_both_engines;
use crate::support::app::{Engine, Options, TestApp, call_sid};

use super::{GATHER, call_view, expect_twiml};

const WORKFLOW: &str = "WW0123456789abcdef0123456789abcdef";
const BEIJING: &str = "Asia/Shanghai";

/// Two orgs: `acme` has the advanced contract and speaks Chinese,
/// `contoso` has neither (its callers pick a language).
const ORGS: &str = r#"
[[org]]
id = "acme"
name = "Acme 科技"
account_number = "50012345"
registered_numbers = ["+8613800138000"]
channels = ["sms"]
language = "zh-CN"
severity_a = true
[org.contacts]
sms = "+8613800138999"

[[org]]
id = "contoso"
name = "Contoso Ltd"
account_number = "40012345"
registered_numbers = ["+14155550100"]
channels = ["email"]
language = "en"
[org.contacts]
email = "it-admin@contoso.example"
"#;

const ACME: &str = "+8613800138000";
const CONTOSO: &str = "+14155550100";
const STRANGER: &str = "+14155550177";

pub(crate) fn desk_support() -> pingate::config::SupportSettings {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/support-desk.toml"
    ))
    .expect("example profile");
    let value: toml::Value = toml::from_str(&text).expect("TOML");
    value["support"].clone().try_into().expect("[support]")
}

/// The next date after today (Beijing, on the server's clock when given)
/// that falls on `weekday`.
fn next_on(app: Option<&TestApp>, weekday: Weekday) -> Date {
    let now = app.map_or_else(|| Timestamp::now().as_millisecond(), |a| a.clock.now_ms());
    let today = Timestamp::from_millisecond(now)
        .unwrap()
        .in_tz(BEIJING)
        .unwrap()
        .date();
    let mut d = today.tomorrow().unwrap();
    while d.weekday() != weekday {
        d = d.tomorrow().unwrap();
    }
    d
}

fn next(app: &TestApp, weekday: Weekday) -> Date {
    next_on(Some(app), weekday)
}

async fn spawn(engine: Engine, test: &str, holidays: Vec<Date>) -> Option<TestApp> {
    let opts = Options {
        tweak: Box::new(move |s| {
            let mut support = desk_support();
            support.holidays = holidays.iter().map(|d| d.to_string()).collect();
            s.support = Some(support);
            s.twilio.workflow_sid = Some(WORKFLOW.into());
            s.voice.greeting = "Thank you for calling support.".into();
        }),
        ..Options::default()
    };
    let app = TestApp::spawn_with(engine, test, opts).await?;
    app.import_toml(ORGS).await;
    Some(app)
}

/// Moves the server's clock to `hour`:`minute` Beijing time on `day`.
fn set_beijing_time(app: &TestApp, day: Date, hour: i8, minute: i8) {
    let target = day
        .at(hour, minute, 0, 0)
        .in_tz(BEIJING)
        .unwrap()
        .timestamp();
    let ahead = target.as_millisecond() - app.clock.now_ms();
    assert!(ahead > 0, "the chosen time is in the future");
    app.clock
        .advance(std::time::Duration::from_millis(ahead as u64));
}

async fn menu(app: &TestApp, sid: &str, step: &str, digits: &str) -> String {
    let path = format!("{GATHER}?step={step}");
    expect_twiml(
        app.webhook(&path, &[("CallSid", sid), ("Digits", digits)])
            .await,
    )
    .await
}

async fn events_of(app: &TestApp, kind: &str, call_id: &str) -> Vec<Value> {
    audit_events(app, kind)
        .await
        .into_iter()
        .filter(|e| e["call_id"] == call_id)
        .collect()
}

/// The JSON task attributes inside `<Task>`, unescaped.
fn task_of(twiml: &str) -> (u32, Value) {
    let start = twiml.find("<Task priority=\"").expect("a task") + 16;
    let (priority, rest) = twiml[start..].split_once("\">").unwrap();
    let json = rest
        .split("</Task>")
        .next()
        .unwrap()
        .replace("&quot;", "\"");
    (
        priority.parse().unwrap(),
        serde_json::from_str(&json).unwrap(),
    )
}

async fn severity_a_at_three_from_an_org_with_the_contract_reaches_technical_first(
    engine: Engine,
    test: &str,
) {
    let Some(app) = spawn(engine, test, vec![]).await else {
        return;
    };
    set_beijing_time(&app, next(&app, Weekday::Wednesday), 3, 0);
    let sid = call_sid();
    let hello = app.call(&sid, ACME, Some("TN-Validation-Passed-A")).await;
    // The org speaks Chinese: greeting and line menu in zh-CN, no language menu.
    assert!(
        hello.contains(r#"<Say language="zh-CN">感谢您致电客户支持。</Say>"#),
        "{hello}"
    );
    assert!(hello.contains("step=line"), "{hello}");
    assert!(
        hello.contains(r#"<Say language="zh-CN">技术支持，请按1。</Say>"#),
        "{hello}"
    );
    let severities = menu(&app, &sid, "line", "1").await;
    assert!(severities.contains("step=severity"), "{severities}");
    assert!(
        severities.contains("严重级别A，紧急，请按1。"),
        "{severities}"
    );
    let routed = menu(&app, &sid, "severity", "1").await;
    assert!(
        routed.contains(&format!(r#"<Enqueue workflowSid="{WORKFLOW}">"#)),
        "{routed}"
    );
    let (priority, attributes) = task_of(&routed);
    assert_eq!(priority, 30, "Severity A has the highest priority");
    assert_eq!(attributes["line"], "technical");
    assert_eq!(attributes["queue"], "technical");
    assert_eq!(attributes["severity"], "A");
    assert_eq!(attributes["org"], "acme");
    assert_eq!(attributes["verification"], "trusted_number");
    assert_eq!(attributes["inside_hours"], "true");

    let call_id = app.call_id_for(&sid).await;
    let call = call_view(&app, &call_id).await;
    assert_eq!(
        (
            &call["line"],
            &call["severity"],
            &call["inside_hours"],
            &call["language"]
        ),
        (
            &Value::from("technical"),
            &Value::from("A"),
            &Value::from(true),
            &Value::from("zh-CN")
        ),
        "{call}"
    );
    let chosen = events_of(&app, "call_line_chosen", &call_id).await;
    assert_eq!(chosen.len(), 1);
    assert_eq!(chosen[0]["detail"]["line"], "technical");
    let routed = events_of(&app, "call_routed", &call_id).await;
    assert_eq!(routed.len(), 1, "{routed:?}");
    let d = &routed[0]["detail"];
    assert_eq!(
        (
            &d["severity"],
            &d["inside_hours"],
            &d["queue"],
            &d["priority"]
        ),
        (
            &Value::from("A"),
            &Value::from(true),
            &Value::from("technical"),
            &Value::from(30)
        )
    );

    // The agent sees the line and severity in the console, in the list
    // and on the call's page.
    let console = crate::console::client::Console::sign_in(&app, &app.agent_token).await;
    let list = console.get("/console/calls").await;
    assert!(list.body.contains("technical, severity A"), "{}", list.body);
    let page = console.get(&format!("/console/calls/{call_id}")).await;
    assert!(
        page.body
            .contains(r#"<dd id="call-line">technical, severity A</dd>"#),
        "{}",
        page.body
    );

    // A replayed key changes nothing and answers the same.
    assert_eq!(
        menu(&app, &sid, "severity", "3").await,
        menu(&app, &sid, "severity", "1").await
    );
    assert_eq!(events_of(&app, "call_routed", &call_id).await.len(), 1);
    app.shutdown().await;
}
on_both_engines!(
    severity_a_at_three_from_an_org_with_the_contract_reaches_technical_first,
    severity_a_at_three_from_an_org_with_the_contract_reaches_technical_first
);

async fn severity_a_without_the_contract_is_told_and_offered_b(engine: Engine, test: &str) {
    let Some(app) = spawn(engine, test, vec![]).await else {
        return;
    };
    set_beijing_time(&app, next(&app, Weekday::Wednesday), 3, 0);
    let sid = call_sid();
    app.call(&sid, CONTOSO, Some("TN-Validation-Passed-A"))
        .await;
    menu(&app, &sid, "line", "1").await;
    let refused = menu(&app, &sid, "severity", "1").await;
    assert!(
        refused.contains(
            r#"<Say language="en-US">Severity A needs the advanced support contract.</Say>"#
        ),
        "{refused}"
    );
    assert!(refused.contains("step=offer"), "{refused}");
    assert!(
        refused.contains("To continue with severity B, press 2."),
        "{refused}"
    );
    assert!(!refused.contains("<Enqueue"), "{refused}");
    let call_id = app.call_id_for(&sid).await;
    let events = events_of(&app, "call_severity_refused", &call_id).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["org_id"], "contoso");
    assert_eq!(events[0]["detail"]["offered"], "B");
    assert_eq!(call_view(&app, &call_id).await["severity"], Value::Null);
    app.shutdown().await;
}
on_both_engines!(
    severity_a_without_the_contract_is_told_and_offered_b,
    severity_a_without_the_contract_is_told_and_offered_b
);

async fn severity_b_at_three_hears_the_hours_and_goes_to_callbacks(engine: Engine, test: &str) {
    let Some(app) = spawn(engine, test, vec![]).await else {
        return;
    };
    set_beijing_time(&app, next(&app, Weekday::Wednesday), 3, 0);
    let sid = call_sid();
    app.call(&sid, CONTOSO, Some("TN-Validation-Passed-A"))
        .await;
    menu(&app, &sid, "line", "1").await;
    let after = menu(&app, &sid, "severity", "2").await;
    assert!(
        after.contains(
            "We are closed now. This line is open every day from 09:00 to midnight, Beijing time."
        ),
        "{after}"
    );
    let (priority, attributes) = task_of(&after);
    assert_eq!(
        (priority, &attributes["queue"]),
        (20, &Value::from("callbacks"))
    );
    assert_eq!(attributes["inside_hours"], "false");
    let call_id = app.call_id_for(&sid).await;
    assert_eq!(call_view(&app, &call_id).await["inside_hours"], false);
    let routed = events_of(&app, "call_routed", &call_id).await;
    assert_eq!(routed[0]["detail"]["inside_hours"], false);
    assert_eq!(routed[0]["detail"]["queue"], "callbacks");

    let (status, metrics) = get_metrics(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("pingate_after_hours_calls_total")
                && l.contains(r#"line="technical""#)),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("pingate_support_calls_total")
                && l.contains(r#"line="technical""#)
                && l.contains(r#"severity="B""#)
                && l.contains(r#"inside_hours="no""#)),
        "{metrics}"
    );
    app.shutdown().await;
}
on_both_engines!(
    severity_b_at_three_hears_the_hours_and_goes_to_callbacks,
    severity_b_at_three_hears_the_hours_and_goes_to_callbacks
);

async fn get_metrics(app: &TestApp) -> (StatusCode, String) {
    let resp = app.client.get(app.url("/metrics")).send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

async fn billing_on_a_saturday_or_a_holiday_hears_business_day_hours(engine: Engine, test: &str) {
    let holiday = next_on(None, Weekday::Tuesday);
    let Some(app) = spawn(engine, test, vec![holiday]).await else {
        return;
    };
    // Whichever comes first is tried first; the clock only moves forward.
    let saturday = next(&app, Weekday::Saturday);
    let mut days = [saturday, holiday];
    days.sort();
    for day in days {
        set_beijing_time(&app, day, 11, 0);
        let sid = call_sid();
        app.call(&sid, CONTOSO, Some("TN-Validation-Passed-A"))
            .await;
        menu(&app, &sid, "line", "2").await;
        let closed = menu(&app, &sid, "severity", "1").await;
        assert!(
            closed
                .contains("This line is open Monday to Friday from 09:00 to 18:00, Beijing time."),
            "{day}: {closed}"
        );
        assert!(
            closed.contains("Goodbye.</Say><Hangup/>"),
            "{day}: {closed}"
        );
        let call_id = app.call_id_for(&sid).await;
        let call = call_view(&app, &call_id).await;
        assert_eq!(
            (&call["line"], &call["severity"]),
            (&Value::from("billing"), &Value::from("B"))
        );
        assert_eq!(call["inside_hours"], false, "{day}: {call}");
    }
    app.shutdown().await;
}
on_both_engines!(
    billing_on_a_saturday_or_a_holiday_hears_business_day_hours,
    billing_on_a_saturday_or_a_holiday_hears_business_day_hours
);

async fn presales_on_a_weekday_afternoon_is_enqueued(engine: Engine, test: &str) {
    let Some(app) = spawn(engine, test, vec![]).await else {
        return;
    };
    set_beijing_time(&app, next(&app, Weekday::Thursday), 15, 30);
    let sid = call_sid();
    app.call(&sid, CONTOSO, Some("TN-Validation-Passed-A"))
        .await;
    let routed = menu(&app, &sid, "line", "3").await;
    assert!(routed.contains("Connecting you to support."), "{routed}");
    let (priority, attributes) = task_of(&routed);
    assert_eq!(
        (priority, &attributes["queue"]),
        (0, &Value::from("presales"))
    );
    assert_eq!(attributes["severity"], "");
    let call_id = app.call_id_for(&sid).await;
    let call = call_view(&app, &call_id).await;
    assert_eq!(
        (&call["line"], &call["severity"], &call["inside_hours"]),
        (&Value::from("presales"), &Value::Null, &Value::from(true))
    );
    app.shutdown().await;
}
on_both_engines!(
    presales_on_a_weekday_afternoon_is_enqueued,
    presales_on_a_weekday_afternoon_is_enqueued
);

async fn an_unknown_caller_picks_chinese_then_keys_wrong_and_no_severity(
    engine: Engine,
    test: &str,
) {
    let Some(app) = spawn(engine, test, vec![]).await else {
        return;
    };
    set_beijing_time(&app, next(&app, Weekday::Monday), 10, 0);
    let sid = call_sid();
    let hello = app.call(&sid, STRANGER, None).await;
    // Unknown org: the account step first; keying nothing goes on to the menus.
    assert!(
        hello.contains(&format!(r#"<Gather action="{}{GATHER}""#, app.base)),
        "{hello}"
    );
    assert!(hello.contains("step=continue</Redirect>"), "{hello}");
    let languages = menu(&app, &sid, "continue", "").await;
    assert!(
        languages.contains(r#"<Say language="zh-CN">中文服务，请按1。</Say><Say language="en-US">For English, press 2.</Say>"#),
        "{languages}"
    );
    let lines = menu(&app, &sid, "language", "1").await;
    assert!(
        lines.contains(r#"<Say language="zh-CN">账单和订阅，请按2。</Say>"#),
        "{lines}"
    );
    let again = menu(&app, &sid, "line", "7").await;
    assert!(
        again.contains(r#"<Say language="zh-CN">抱歉，您的选择无效。</Say>"#),
        "{again}"
    );
    assert!(again.contains("step=line"), "{again}");
    menu(&app, &sid, "line", "1").await;
    let routed = menu(&app, &sid, "severity", "").await;
    assert!(
        routed.contains(r#"<Say language="zh-CN">谢谢，正在为您转接客服。</Say>"#),
        "{routed}"
    );
    let (priority, attributes) = task_of(&routed);
    assert_eq!((priority, &attributes["severity"]), (10, &Value::from("C")));
    assert_eq!(attributes["org"], "");
    let call_id = app.call_id_for(&sid).await;
    assert_eq!(
        events_of(&app, "call_language_chosen", &call_id)
            .await
            .len(),
        1
    );
    let invalid = events_of(&app, "call_menu_invalid", &call_id).await;
    assert_eq!(
        (invalid.len(), &invalid[0]["detail"]["menu"]),
        (1, &Value::from("line"))
    );
    let routed = events_of(&app, "call_routed", &call_id).await;
    assert_eq!(routed[0]["detail"]["severity_defaulted"], true);
    app.shutdown().await;
}
on_both_engines!(
    an_unknown_caller_picks_chinese_then_keys_wrong_and_no_severity,
    an_unknown_caller_picks_chinese_then_keys_wrong_and_no_severity
);

async fn the_advanced_contract_is_an_editable_org_field(engine: Engine, test: &str) {
    let Some(app) = spawn(engine, test, vec![]).await else {
        return;
    };
    let (status, org) = app.get(&app.admin_token, "/v1/orgs/acme").await;
    assert_eq!(status, StatusCode::OK, "{org}");
    assert_eq!(org["severity_a"], true, "{org}");
    let (_, contoso) = app.get(&app.admin_token, "/v1/orgs/contoso").await;
    assert_eq!(contoso.get("severity_a"), None, "{contoso}");
    let mut edited = contoso.clone();
    edited["severity_a"] = Value::from(true);
    let resp = app
        .client
        .put(app.url("/v1/orgs/contoso"))
        .bearer_auth(&app.admin_token)
        .json(&edited)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    let (_, after) = app.get(&app.admin_token, "/v1/orgs/contoso").await;
    assert_eq!(after["severity_a"], true, "{after}");
    edited["severity_a"] = Value::from("yes");
    let resp = app
        .client
        .put(app.url("/v1/orgs/contoso"))
        .bearer_auth(&app.admin_token)
        .json(&edited)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = resp.text().await.unwrap();
    assert!(
        body.contains("severity_a") && body.contains("expected true or false"),
        "{body}"
    );
    app.shutdown().await;
}
on_both_engines!(
    the_advanced_contract_is_an_editable_org_field,
    the_advanced_contract_is_an_editable_org_field
);
