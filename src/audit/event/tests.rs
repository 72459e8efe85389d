use super::*;

fn sample() -> Event {
    let e = NewEvent::new(EventKind::ChallengeCreated, "agent:alice", Outcome::Success)
        .org("contoso")
        .call("call_1")
        .detail("z", 1)
        .detail("a", serde_json::json!({"y": true, "b": "x"}));
    Event::from_new(7, 1_700_000_000_123, GENESIS, e)
}

#[test]
fn canonical_encoding_is_fixed() {
    let got = String::from_utf8(sample().canonical_bytes()).unwrap();
    assert_eq!(
        got,
        concat!(
            r#"{"actor":"agent:alice","at":"2023-11-14T22:13:20.123Z","call_id":"call_1","#,
            r#""challenge_id":null,"detail":{"a":{"b":"x","y":true},"z":1},"grant_id":null,"#,
            r#""kind":"challenge_created","org_id":"contoso","outcome":"success","#,
            r#""prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","seq":7}"#
        )
    );
}

#[test]
fn json_round_trip_keeps_the_hash() {
    let e = sample();
    let back = Event::from_json(&e.to_json()).unwrap();
    assert_eq!(back, e);
    assert_eq!(back.compute_hash(), e.hash);
}

#[test]
fn any_field_change_changes_the_hash() {
    let e = sample();
    let mut edits: Vec<Event> = Vec::new();
    let mut x = e.clone();
    x.seq += 1;
    edits.push(x);
    let mut x = e.clone();
    x.at += 1;
    edits.push(x);
    let mut x = e.clone();
    x.actor.push('!');
    edits.push(x);
    let mut x = e.clone();
    x.org_id = None;
    edits.push(x);
    let mut x = e.clone();
    x.detail = serde_json::json!({});
    edits.push(x);
    let mut x = e.clone();
    x.prev_hash[0] ^= 1;
    edits.push(x);
    for edited in edits {
        assert_ne!(edited.compute_hash(), e.hash, "{edited:?}");
    }
}

#[test]
fn kinds_have_unique_round_tripping_names() {
    let mut seen = std::collections::HashSet::new();
    for k in EventKind::ALL {
        assert!(seen.insert(k.as_str()));
        assert_eq!(EventKind::parse(k.as_str()), Some(*k));
    }
}

/// The quoting shortcut writes exactly what serde_json writes, for every
/// ASCII character and for text beyond ASCII, alone and inside text.
#[test]
fn strings_are_quoted_as_serde_json_quotes_them() {
    let mut samples: Vec<String> = (0u8..=0x7f).map(|b| char::from(b).to_string()).collect();
    samples.extend(
        [
            "",
            "agent:alice",
            "a\"b",
            "back\\slash",
            "tab\there",
            "é 名前 🙂",
            "\u{7f}\u{2028}",
        ]
        .map(str::to_string),
    );
    for s in samples {
        let mut ours = String::new();
        push_json_str(&mut ours, &s);
        assert_eq!(ours, serde_json::to_string(&s).unwrap(), "{s:?}");
        let mut nested = String::new();
        push_canonical(&mut nested, &serde_json::json!({ s.clone(): [s.clone()] }));
        assert_eq!(
            nested,
            serde_json::json!({ s.clone(): [s.clone()] }).to_string()
        );
    }
}

/// The detail a new event is stored with is the one its hash covers.
#[test]
fn the_encoded_detail_is_the_hashed_one() {
    let e = NewEvent::new(EventKind::CallReceived, "provider:acme", Outcome::Success)
        .call("call_1")
        .detail("caller", "ph_\"quoted\"")
        .detail("b", serde_json::json!({"y": [1, "x\n"], "a": null}));
    let (event, detail) = Event::from_new_encoded(3, 1_700_000_000_000, GENESIS, e);
    let mut expected = String::new();
    push_canonical(&mut expected, &event.detail);
    assert_eq!(detail, expected);
    assert_eq!(event.hash, event.compute_hash());
}

/// Arrays keep their order, with a comma between items (and the keys of
/// objects inside them sorted), as the documented encoding says.
#[test]
fn arrays_in_detail_are_encoded_in_order() {
    let mut out = String::new();
    push_canonical(
        &mut out,
        &serde_json::json!({"l": [3, {"b": 1, "a": 2}, [true, null]]}),
    );
    assert_eq!(out, r#"{"l":[3,{"a":2,"b":1},[true,null]]}"#);
}
