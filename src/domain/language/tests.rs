use super::*;

#[test]
fn tags_pick_a_language_by_primary_subtag_in_any_case() {
    let cases = [
        ("en", Some(Language::En)),
        ("en-GB", Some(Language::En)),
        ("ES-mx", Some(Language::Es)),
        ("de_AT", Some(Language::De)),
        ("fr", Some(Language::Fr)),
        ("zh", Some(Language::ZhCn)),
        ("zh-Hans", Some(Language::ZhCn)),
        ("pt-BR", None),
        ("", None),
        ("english", None),
    ];
    for (tag, expected) in cases {
        assert_eq!(Language::from_tag(tag), expected, "{tag:?}");
    }
}

#[test]
fn each_language_has_its_tag_and_speech_code() {
    let forms: Vec<_> = Language::ALL
        .iter()
        .map(|l| (l.tag(), l.speech_code(), l.to_string()))
        .collect();
    let expected = [
        ("en", "en-US"),
        ("es", "es-ES"),
        ("de", "de-DE"),
        ("fr", "fr-FR"),
        ("zh-CN", "zh-CN"),
    ];
    for ((tag, speech, shown), (want_tag, want_speech)) in forms.iter().zip(expected) {
        assert_eq!((*tag, *speech), (want_tag, want_speech));
        assert_eq!(shown, tag);
    }
    assert_eq!(forms.len(), expected.len());
    // Every tag reads back as its own language.
    for l in Language::ALL {
        assert_eq!(Language::from_tag(l.tag()), Some(l));
    }
}
