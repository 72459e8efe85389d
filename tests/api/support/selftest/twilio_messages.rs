//! reqwest against the imitation of Twilio's Messages API.

use serde_json::Value;
use tokio::net::TcpStream;

use crate::support::messages_api::MessagesApi;

use super::WAIT;

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "test-auth-token";

async fn post_message(
    api: &MessagesApi,
    account: &str,
    token: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!(
            "{}/2010-04-01/Accounts/{account}/Messages.json",
            api.base_url()
        ))
        .basic_auth(ACCOUNT, Some(token))
        .form(form)
        .send()
        .await
        .expect("the Messages API answers")
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.expect("a JSON body")
}

#[tokio::test]
async fn accepted_message_gets_201_and_a_twilio_message_resource() {
    let api = MessagesApi::start(ACCOUNT, TOKEN).await;
    let form = [
        ("To", "+14155550100"),
        ("From", "+14155550199"),
        ("Body", "Your PIN is 482913"),
        (
            "StatusCallback",
            "https://pingate.test/webhooks/twilio/status",
        ),
    ];
    let response = post_message(&api, ACCOUNT, TOKEN, &form).await;
    assert_eq!(response.status(), 201);
    let resource = json_of(response).await;

    let sid = resource["sid"].as_str().expect("sid");
    assert!(sid.len() == 34 && sid.starts_with("SM"), "{sid}");
    assert!(
        sid[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    assert_eq!(resource["account_sid"], ACCOUNT);
    assert_eq!(resource["to"], "+14155550100");
    assert_eq!(resource["from"], "+14155550199");
    assert_eq!(resource["body"], "Your PIN is 482913");
    assert_eq!(resource["status"], "queued");
    assert_eq!(resource["num_segments"], "1");
    assert_eq!(resource["direction"], "outbound-api");
    assert_eq!(resource["api_version"], "2010-04-01");
    assert_eq!(
        resource["uri"],
        format!("/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}.json")
    );
    for null in ["error_code", "error_message", "price"] {
        assert!(resource[null].is_null(), "{null} is null");
    }
    let created = resource["date_created"].as_str().expect("date_created");
    time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc2822)
        .unwrap_or_else(|e| panic!("{created} is RFC 2822: {e}"));

    let sent = api.wait_for(1, WAIT).await;
    assert_eq!(sent[0].sid, sid);
    assert_eq!(sent[0].to, "+14155550100");
    assert_eq!(sent[0].from, "+14155550199");
    assert_eq!(sent[0].body, "Your PIN is 482913");
    assert_eq!(
        sent[0].status_callback.as_deref(),
        Some("https://pingate.test/webhooks/twilio/status")
    );
    assert_eq!(api.requests_seen(), 1);
    api.shutdown().await;
}

#[tokio::test]
async fn wrong_credentials_or_account_get_twilio_401() {
    let api = MessagesApi::start(ACCOUNT, TOKEN).await;
    let form = [
        ("To", "+14155550100"),
        ("From", "+14155550199"),
        ("Body", "x"),
    ];
    let other = "AC00000000000000000000000000000000";
    for (account, token) in [(ACCOUNT, "wrong-token"), (other, TOKEN)] {
        let response = post_message(&api, account, token, &form).await;
        assert_eq!(response.status(), 401);
        assert!(response.headers().contains_key("www-authenticate"));
        assert_eq!(
            json_of(response).await,
            serde_json::json!({
                "code": 20003,
                "message": "Authenticate",
                "more_info": "https://www.twilio.com/docs/errors/20003",
                "status": 401
            })
        );
    }
    let unauthenticated = reqwest::Client::new()
        .post(format!(
            "{}/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
            api.base_url()
        ))
        .form(&form)
        .send()
        .await
        .expect("answer");
    assert_eq!(unauthenticated.status(), 401);
    assert!(api.messages().is_empty());
    assert_eq!(api.requests_seen(), 3);
}

#[tokio::test]
async fn invalid_parameters_get_twilio_400_codes() {
    let api = MessagesApi::start(ACCOUNT, TOKEN).await;
    let cases: [(&[(&str, &str)], u32); 6] = [
        (&[("From", "+14155550199"), ("Body", "x")], 21604),
        (
            &[
                ("To", "4155550100"),
                ("From", "+14155550199"),
                ("Body", "x"),
            ],
            21211,
        ),
        (
            &[("To", "+0155"), ("From", "+14155550199"), ("Body", "x")],
            21211,
        ),
        (&[("To", "+14155550100"), ("Body", "x")], 21603),
        (
            &[
                ("To", "+14155550100"),
                ("From", "+14155550199"),
                ("Body", ""),
            ],
            21602,
        ),
        (&[("To", "+14155550100"), ("From", "+14155550199")], 21602),
    ];
    for (form, code) in cases {
        let response = post_message(&api, ACCOUNT, TOKEN, form).await;
        assert_eq!(response.status(), 400, "{form:?}");
        let error = json_of(response).await;
        assert_eq!(error["code"], code, "{form:?}: {error}");
        assert_eq!(error["status"], 400);
        assert_eq!(
            error["more_info"],
            format!("https://www.twilio.com/docs/errors/{code}")
        );
    }
    let invalid_to = post_message(&api, ACCOUNT, TOKEN, cases[1].0).await;
    assert_eq!(
        json_of(invalid_to).await["message"],
        "The 'To' number 4155550100 is not a valid phone number."
    );
    assert!(api.messages().is_empty());
}

#[tokio::test]
async fn messaging_service_and_segment_counts_follow_twilio() {
    let api = MessagesApi::start(ACCOUNT, TOKEN).await;
    let service = "MG0123456789abcdef0123456789abcdef";
    let gsm_161 = "a".repeat(161);
    // "€" is in the GSM-7 extension table: two septets each.
    let extended_81 = "€".repeat(81);
    let ucs2_71 = "ü€確".repeat(23) + "ab";
    let cases = [
        ("x", "1"),
        (gsm_161.as_str(), "2"),
        (extended_81.as_str(), "2"),
        (ucs2_71.as_str(), "2"),
    ];
    for (body, segments) in cases {
        let form = [
            ("To", "+14155550100"),
            ("MessagingServiceSid", service),
            ("Body", body),
        ];
        let resource = json_of(post_message(&api, ACCOUNT, TOKEN, &form).await).await;
        assert_eq!(resource["num_segments"], segments, "{body}");
        assert_eq!(resource["status"], "accepted");
        assert!(resource["from"].is_null());
        assert_eq!(resource["messaging_service_sid"], service);
    }
    let sent = api.wait_for(4, WAIT).await;
    assert_eq!(sent[0].from, "");
    assert_eq!(sent[0].messaging_service_sid.as_deref(), Some(service));
}

#[tokio::test]
async fn scripted_failures_come_first_then_messages_are_accepted() {
    let api = MessagesApi::start(ACCOUNT, TOKEN).await;
    api.fail_next(1, 429, 20429);
    api.fail_next(1, 500, 20500);
    api.fail_next(1, 400, 21610);
    api.set_retry_after(7);
    let form = [
        ("To", "+14155550100"),
        ("From", "+14155550199"),
        ("Body", "PIN"),
    ];

    let limited = post_message(&api, ACCOUNT, TOKEN, &form).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "7");
    assert_eq!(json_of(limited).await["code"], 20429);
    let broken = post_message(&api, ACCOUNT, TOKEN, &form).await;
    assert_eq!(broken.status(), 500);
    assert_eq!(json_of(broken).await["code"], 20500);
    let unsubscribed = json_of(post_message(&api, ACCOUNT, TOKEN, &form).await).await;
    assert_eq!(unsubscribed["code"], 21610);
    assert_eq!(unsubscribed["status"], 400);
    assert!(api.messages().is_empty());

    let accepted = post_message(&api, ACCOUNT, TOKEN, &form).await;
    assert_eq!(accepted.status(), 201);
    assert_eq!(api.wait_for(1, WAIT).await.len(), 1);
    assert_eq!(api.requests_seen(), 4);
}

#[tokio::test]
async fn messages_api_stops_answering_after_shutdown() {
    let api = MessagesApi::start(ACCOUNT, TOKEN).await;
    let port = api.port();
    let other = reqwest::Client::new()
        .get(format!(
            "{}/2010-04-01/Accounts/{ACCOUNT}/Calls.json",
            api.base_url()
        ))
        .send()
        .await
        .expect("answer");
    assert_eq!(other.status(), 404);
    assert_eq!(json_of(other).await["code"], 20404);
    api.shutdown().await;
    assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
}
