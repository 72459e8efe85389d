//! The input format the provider targets share: `Name: value` lines, a
//! blank line (or the end), then the body. Names are case-insensitive; a
//! line that is not UTF-8 or has no `:` makes the input unusable.

pub struct Lines<'a> {
    headers: Vec<(String, &'a str)>,
    pub body: &'a [u8],
}

impl<'a> Lines<'a> {
    /// The last value given for `name` (lower case).
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }
}

pub fn split(data: &[u8]) -> Option<Lines<'_>> {
    let mut headers = Vec::new();
    let mut rest = data;
    loop {
        let (line, after) = crate::split_line(rest);
        rest = after;
        if line.is_empty() {
            break;
        }
        let (name, value) = std::str::from_utf8(line).ok()?.split_once(':')?;
        headers.push((
            name.trim().to_ascii_lowercase(),
            value.trim_start_matches(' '),
        ));
    }
    Some(Lines {
        headers,
        body: rest,
    })
}
