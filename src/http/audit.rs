//! Reviewer API: query, export (streamed, constant memory) and verify the
//! audit trail.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::{StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::extract::ApiQuery;
use crate::app::AppState;
use crate::audit::chain::ChainVerifier;
use crate::audit::export;
use crate::clock::parse_rfc3339;
use crate::service::ServiceError;
use crate::store::audit::{self, AuditFilter};

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/audit", get(list))
        .route("/v1/audit/export", get(export_events))
        .route("/v1/audit/verify", get(verify))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FilterQuery {
    from: Option<String>,
    to: Option<String>,
    org_id: Option<String>,
    call_id: Option<String>,
    actor: Option<String>,
    kind: Option<String>,
    outcome: Option<String>,
    after_seq: Option<i64>,
    limit: Option<i64>,
    format: Option<String>,
}

impl FilterQuery {
    fn filter(&self) -> Result<AuditFilter, ApiError> {
        let time = |field: &str, v: &Option<String>| -> Result<Option<i64>, ApiError> {
            v.as_deref()
                .map(|s| parse_rfc3339(s).ok_or_else(|| ServiceError::invalid(field, "not an RFC 3339 time").into()))
                .transpose()
        };
        Ok(AuditFilter {
            from: time("from", &self.from)?,
            to: time("to", &self.to)?,
            org_id: self.org_id.clone(),
            call_id: self.call_id.clone(),
            actor: self.actor.clone(),
            kind: self.kind.clone(),
            outcome: self.outcome.clone(),
            after_seq: self.after_seq,
        })
    }
}

async fn list(State(state): State<Arc<AppState>>, ApiQuery(q): ApiQuery<FilterQuery>) -> ApiResult<Json<Value>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ServiceError::invalid("limit", "between 1 and 1000").into());
    }
    let events = audit::list(state.store.reader(), &q.filter()?, limit)
        .await
        .map_err(ServiceError::from)?;
    let next = (events.len() as i64 == limit).then(|| events.last().map(|e| e.seq)).flatten();
    Ok(Json(json!({
        "items": events.iter().map(|e| e.to_json()).collect::<Vec<_>>(),
        "next": next,
    })))
}

async fn export_events(State(state): State<Arc<AppState>>, ApiQuery(q): ApiQuery<FilterQuery>) -> ApiResult<Response> {
    let format = match q.format.as_deref().unwrap_or("jsonl") {
        "jsonl" => export::Format::Jsonl,
        "csv" => export::Format::Csv,
        _ => return Err(ServiceError::invalid("format", "use jsonl or csv").into()),
    };
    let filter = q.filter()?;
    let header_line = futures_util::stream::iter(export::header(format).map(Ok::<_, std::io::Error>));
    let rows = audit::stream(state.store.reader().clone(), filter)
        .map_ok(move |e| export::line(format, &e))
        .map_err(|e| std::io::Error::other(e.to_string()));
    let body = Body::from_stream(header_line.chain(rows));
    let mut resp = body.into_response();
    let (ctype, name) = match format {
        export::Format::Jsonl => ("application/x-ndjson", "audit.jsonl"),
        export::Format::Csv => ("text/csv; charset=utf-8", "audit.csv"),
    };
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

async fn verify(State(state): State<Arc<AppState>>) -> ApiResult<Json<Value>> {
    let mut v = ChainVerifier::new();
    let mut stream = audit::stream(state.store.reader().clone(), AuditFilter::default());
    let mut failure = None;
    while let Some(e) = stream.next().await {
        let e = e.map_err(ServiceError::from)?;
        if let Err(err) = v.push(&e) {
            failure = Some(err);
            break;
        }
    }
    Ok(Json(match failure {
        None => json!({ "ok": true, "events": v.size(), "first_bad_seq": null, "reason": null,
                        "root": hex::encode(v.root()) }),
        Some(err) => json!({ "ok": false, "events": v.size(), "first_bad_seq": err.seq, "reason": err.reason }),
    }))
}
