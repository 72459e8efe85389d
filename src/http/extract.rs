//! Extractors whose rejections use our problem+json format and our words:
//! JSON bodies, query strings and path parameters each name the field at
//! fault and what it must be, never a Rust type or a parser's message.

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;

pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as application/json".into(),
            ));
        }
        let body = body_bytes(req, state).await?;
        json_body(&body).map(ApiJson)
    }
}

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(ctype) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ctype
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The body under the configured limit (`DefaultBodyLimit`).
pub async fn body_bytes<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<axum::body::Bytes, ApiError> {
    axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest("the request body could not be read".into())
            }
        })
}

/// Parses a JSON body; an error names the field and says what it must be.
pub fn json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let mut track = serde_path_to_error::Track::new();
    let parsed = T::deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track));
    match parsed.and_then(|v| de.end().map(|()| v)) {
        Ok(v) => Ok(v),
        Err(e) => Err(json_error(&track.path().to_string(), &e)),
    }
}

fn json_error(path: &str, e: &serde_json::Error) -> ApiError {
    if e.is_syntax() || e.is_eof() || e.is_io() {
        let why = if e.is_eof() {
            "ends too early"
        } else {
            "is not valid JSON"
        };
        return ApiError::BadField {
            field: "body".into(),
            message: format!("{why} (line {}, column {})", e.line(), e.column()),
        };
    }
    // serde's own message, without its " at line L column C" suffix.
    let text = e.to_string();
    let text = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(m, _)| m);
    field_error(path, text)
}

/// Turns a serde data error at `path` into our words. Values are never
/// repeated (a PIN sent as a number must not come back in the answer).
pub fn field_error(path: &str, serde_message: &str) -> ApiError {
    let path = if path.is_empty() || path == "." {
        None
    } else {
        Some(path)
    };
    let join = |leaf: &str| match path {
        Some(p) => format!("{p}.{leaf}"),
        None => leaf.to_string(),
    };
    let (field, message) = if let Some(rest) = serde_message.strip_prefix("missing field ") {
        (join(&unquote(rest)), "is required".to_string())
    } else if let Some(rest) = serde_message.strip_prefix("unknown field ") {
        let (name, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let field = path.map_or_else(|| unquote(name), str::to_string);
        (
            field,
            format!("is not a field of this request; {}", accepted(expected)),
        )
    } else if let Some(rest) = serde_message.strip_prefix("unknown variant ") {
        let (_, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        (join_root(path), format!("must be {}", unquote(expected)))
    } else if serde_message.starts_with("invalid type: ")
        || serde_message.starts_with("invalid value: ")
        || serde_message.starts_with("invalid length ")
    {
        let got = serde_message
            .split_once(": ")
            .map_or("", |(_, r)| r)
            .split([',', '`', '"', '\''])
            .next()
            .unwrap_or("")
            .trim();
        let expected = serde_message
            .split_once(", expected ")
            .map_or("something else", |(_, e)| e);
        let got = if got.is_empty() || got.starts_with("length") {
            String::new()
        } else {
            format!(", got {got}")
        };
        (
            join_root(path),
            format!("must be {}{got}", plain_expected(expected)),
        )
    } else if serde_message.contains("digit") || serde_message.contains("number too") {
        (join_root(path), "must be a whole number".to_string())
    } else {
        (join_root(path), "is not valid here".to_string())
    };
    ApiError::BadField { field, message }
}

fn join_root(path: Option<&str>) -> String {
    path.unwrap_or("body").to_string()
}

fn unquote(s: &str) -> String {
    s.replace('`', "")
}

fn accepted(expected: &str) -> String {
    let list = unquote(expected);
    let list = list.strip_prefix("one of ").unwrap_or(&list);
    if list.is_empty() || list == "there are no fields" {
        "it takes no fields".into()
    } else {
        format!("accepted: {list}")
    }
}

/// serde names Rust types in `expected ...`; say them in words.
fn plain_expected(expected: &str) -> String {
    let e = unquote(expected);
    let words = match e.as_str() {
        "a string" | "a borrowed string" => "a string",
        "i64" | "i32" | "u64" | "u32" | "usize" | "u16" | "u8" | "i16" | "isize" => {
            "a whole number"
        }
        "f64" | "f32" => "a number",
        "a boolean" => "true or false",
        "a sequence" => "a list",
        _ if e.starts_with("struct ") || e.starts_with("a map") => "an object",
        _ if e.starts_with("tuple") => "a list",
        _ => return e,
    };
    words.to_string()
}

pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| field_error(&e.path().to_string(), &e.inner().to_string()))
    }
}

/// Path parameters; a value that is not UTF-8 or not of the right shape
/// is refused naming the parameter.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::path::ErrorKind;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => Err(match e.into_kind() {
                ErrorKind::InvalidUtf8InPathParam { key } => ApiError::BadField {
                    field: key,
                    message: "is not valid UTF-8 once percent-decoded".into(),
                },
                ErrorKind::ParseErrorAtKey { key, .. }
                | ErrorKind::DeserializeError { key, .. } => ApiError::BadField {
                    field: key,
                    message: "is not valid here".into(),
                },
                _ => ApiError::BadRequest("the URL path is malformed".into()),
            }),
            Err(_) => Err(ApiError::BadRequest("the URL path is malformed".into())),
        }
    }
}

/// Reads the raw body under the configured limit (webhooks verify the
/// signature over the exact bytes before parsing anything).
pub async fn raw_body(req: Request, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    crate::net::read_body(req, limit)
        .await
        .map_err(ApiError::from)
}

#[cfg(test)]
mod tests;
