//! The `x-request-id` a client sends is kept only when it is short and
//! plain (it is echoed back and written to every log line of the request);
//! anything else is dropped, and a fresh id is generated in its place.

use axum::extract::Request;

/// Longest client-chosen request id kept (a UUID is 36).
pub const MAX_LEN: usize = 128;

fn acceptable(v: &[u8]) -> bool {
    !v.is_empty()
        && v.len() <= MAX_LEN
        && v.iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(b))
}

pub async fn sanitize(mut req: Request) -> Request {
    let keep = req
        .headers()
        .get_all("x-request-id")
        .iter()
        .map(|v| acceptable(v.as_bytes()))
        .collect::<Vec<_>>();
    if keep.len() > 1 || keep.iter().any(|ok| !ok) {
        req.headers_mut().remove("x-request-id");
    }
    req
}

#[cfg(test)]
mod tests {
    use super::acceptable;

    #[test]
    fn short_plain_ids_are_kept_and_long_or_odd_ones_are_not() {
        assert!(acceptable(b"9f1c2a4e-1b2c-4d5e-8f90-0123456789ab"));
        assert!(!acceptable(&[b'a'; 5000]));
        assert!(!acceptable(b"id with spaces"));
        assert!(!acceptable(b"line\nbreak"));
        assert!(!acceptable(b""));
    }
}
