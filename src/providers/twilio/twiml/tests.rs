use super::*;
use proptest::prelude::*;

const DECL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

#[test]
fn empty_response() {
    assert_eq!(Response::new().render(), format!("{DECL}<Response/>"));
}

#[test]
fn greeting_then_queue() {
    let xml = Response::new()
        .say(
            "Welcome to Contoso support.",
            Some("Polly.Joanna"),
            Some("en-US"),
        )
        .enqueue("support")
        .render();
    assert_eq!(
        xml,
        format!(
            "{DECL}<Response><Say voice=\"Polly.Joanna\" language=\"en-US\">Welcome to Contoso \
             support.</Say><Enqueue>support</Enqueue></Response>"
        )
    );
}

#[test]
fn gather_with_prompt() {
    let xml = Response::new()
        .gather(Gather {
            action_url: "https://gw.example.com/webhooks/twilio/gather?step=1&lang=en",
            num_digits: Some(8),
            timeout_secs: 7,
            finish_on_key: Some("#"),
            prompt: Some(Say {
                text: "Please key in your account number.",
                voice: None,
                language: Some("en-GB"),
            }),
        })
        .say("We did not get that.", None, None)
        .hangup()
        .render();
    assert_eq!(
        xml,
        format!(
            "{DECL}<Response><Gather action=\"https://gw.example.com/webhooks/twilio/gather?\
             step=1&amp;lang=en\" method=\"POST\" numDigits=\"8\" timeout=\"7\" \
             finishOnKey=\"#\"><Say language=\"en-GB\">Please key in your account number.\
             </Say></Gather><Say>We did not get that.</Say><Hangup/></Response>"
        )
    );
}

#[test]
fn gather_defaults_without_prompt() {
    let xml = Response::new().gather(Gather::new("/g")).render();
    assert_eq!(
        xml,
        format!(r#"{DECL}<Response><Gather action="/g" method="POST" timeout="5"/></Response>"#)
    );
}

#[test]
fn dial_and_redirect() {
    let xml = Response::new()
        .dial("+14155550100")
        .redirect("https://gw.example.com/x?a=1&b=2")
        .render();
    assert_eq!(
        xml,
        format!(
            "{DECL}<Response><Dial>+14155550100</Dial><Redirect method=\"POST\">\
             https://gw.example.com/x?a=1&amp;b=2</Redirect></Response>"
        )
    );
}

#[test]
fn hostile_text_and_attributes_are_escaped() {
    let xml = Response::new()
        .say(
            r#"</Say><Dial>+19005550100</Dial><Say a="b">'&"#,
            Some(r#"x" onload="y"#),
            Some("<en>"),
        )
        .enqueue("q</Enqueue><Hangup/>")
        .render();
    assert_eq!(
        xml,
        format!(
            "{DECL}<Response><Say voice=\"x&quot; onload=&quot;y\" language=\"&lt;en&gt;\">\
             &lt;/Say&gt;&lt;Dial&gt;+19005550100&lt;/Dial&gt;&lt;Say a=&quot;b&quot;&gt;\
             &apos;&amp;</Say><Enqueue>q&lt;/Enqueue&gt;&lt;Hangup/&gt;</Enqueue></Response>"
        )
    );
}

#[test]
fn characters_xml_cannot_carry_are_replaced() {
    let xml = Response::new()
        .say("a\u{0}b\u{1b}c\u{FFFE}d\te\nf\rg", None, None)
        .render();
    assert!(
        xml.contains("<Say>a\u{FFFD}b\u{FFFD}c\u{FFFD}d\te\nf&#13;g</Say>"),
        "{xml}"
    );
    let xml = Response::new()
        .redirect("a\tb\nc")
        .gather(Gather::new("x\ny"))
        .render();
    assert!(xml.contains(r#"action="x&#10;y""#), "{xml}");
    // Element text keeps tabs and newlines as they are.
    assert!(
        xml.contains("<Redirect method=\"POST\">a\tb\nc</Redirect>"),
        "{xml}"
    );
}

/// Undoes the escaping, as an XML parser would for character data.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#13;", "\r")
        .replace("&amp;", "&")
}

fn sanitised(text: &str) -> String {
    text.chars()
        .map(|c| {
            if matches!(c, '\t' | '\n' | '\r') || is_xml_char(c) {
                c
            } else {
                char::REPLACEMENT_CHARACTER
            }
        })
        .collect()
}

proptest! {
    #[test]
    fn any_say_text_round_trips_without_raw_markup(
        text in prop_oneof![any::<String>(), "[<>&'\"a ;#]{0,40}"],
    ) {
        let xml = Response::new().say(&text, None, None).render();
        let prefix = format!("{DECL}<Response><Say>");
        let suffix = "</Say></Response>";
        prop_assert!(xml.starts_with(&prefix));
        prop_assert!(xml.ends_with(suffix));
        let inner = &xml[prefix.len()..xml.len() - suffix.len()];
        prop_assert!(!inner.contains('<'));
        prop_assert!(!inner.contains('>'));
        prop_assert_eq!(unescape(inner), sanitised(&text));
    }

    #[test]
    fn attribute_values_never_close_their_quotes(value in any::<String>()) {
        let xml = Response::new().say("x", Some(&value), None).render();
        let start = format!("{DECL}<Response><Say voice=\"");
        prop_assert!(xml.starts_with(&start));
        let rest = &xml[start.len()..];
        let end = rest.find('"').unwrap_or(rest.len());
        prop_assert_eq!(&rest[end..], "\">x</Say></Response>");
        prop_assert!(!rest[..end].contains('<'));
    }
}
