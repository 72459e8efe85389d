//! The console's style sheet and script, embedded in the binary: no CDN,
//! nothing fetched at build or run time.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const CSS: &[u8] = include_bytes!("assets/console.css");
const JS: &[u8] = include_bytes!("assets/console.js");

pub async fn serve(Path(name): Path<String>) -> Response {
    let (body, ctype) = match name.as_str() {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    // Short: a new binary's assets reach browsers within minutes.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    resp
}
