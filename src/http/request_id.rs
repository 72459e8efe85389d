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
mod tests;
