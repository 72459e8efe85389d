use super::line;

#[test]
fn a_line_reads_with_its_severity_and_hours() {
    assert_eq!(line(None, None, None), "—");
    assert_eq!(
        line(Some("technical"), Some("A"), Some(1)),
        "technical, severity A"
    );
    assert_eq!(
        line(Some("technical"), Some("B"), Some(0)),
        "technical, severity B, after hours"
    );
    assert_eq!(line(Some("presales"), None, Some(1)), "presales");
}
