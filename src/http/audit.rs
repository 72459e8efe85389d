//! Reviewer API: query, export (streamed, constant memory) and verify the
//! audit trail; signed checkpoints, Merkle proofs and the verifier key.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{ApiError, ApiResult};
use super::extract::ApiQuery;
use crate::app::AppState;
use crate::audit::export;
use crate::clock::parse_rfc3339;
use crate::clock::rfc3339;
use crate::service::ServiceError;
use crate::service::checkpointer::{self, VerifyError};
use crate::service::proofs;
use crate::service::views::Page;
use crate::store::audit::{self, AuditFilter};
use crate::store::checkpoints::{self, StoredCheckpoint};

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/audit", get(list))
        .route("/v1/audit/export", get(export_events))
        .route("/v1/audit/verify", get(verify))
        .route(
            "/v1/audit/checkpoints",
            get(list_checkpoints).post(create_checkpoint),
        )
        .route("/v1/audit/checkpoints/latest", get(latest_checkpoint))
        .route("/v1/audit/proof/inclusion", get(inclusion_proof))
        .route("/v1/audit/proof/consistency", get(consistency_proof))
        .route("/v1/audit/public-key", get(public_key))
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
                .map(|s| {
                    parse_rfc3339(s)
                        .ok_or_else(|| ServiceError::invalid(field, "not an RFC 3339 time").into())
                })
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

async fn list(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<FilterQuery>,
) -> ApiResult<Json<Page<Value, i64>>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ServiceError::invalid("limit", "between 1 and 1000").into());
    }
    let events = audit::list(state.store.reader(), &q.filter()?, limit + 1)
        .await
        .map_err(ServiceError::from)?;
    let (events, next) = super::page::split(events, limit, |e| e.seq);
    // An event's JSON is the audit log's own canonical form (`audit::event`).
    Ok(Json(Page {
        items: events.iter().map(|e| e.to_json()).collect(),
        next,
    }))
}

async fn export_events(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<FilterQuery>,
) -> ApiResult<Response> {
    let format = match q.format.as_deref().unwrap_or("jsonl") {
        "jsonl" => export::Format::Jsonl,
        "csv" => export::Format::Csv,
        _ => return Err(ServiceError::invalid("format", "use jsonl or csv").into()),
    };
    let filter = q.filter()?;
    let header_line =
        futures_util::stream::iter(export::header(format).map(Ok::<_, std::io::Error>));
    let rows = audit::stream(state.store.reader().clone(), filter)
        .map_ok(move |e| export::line(format, &e))
        .map_err(|e| std::io::Error::other(e.to_string()));
    let body = Body::from_stream(header_line.chain(rows));
    let mut resp = body.into_response();
    let (ctype, name) = match format {
        export::Format::Jsonl => ("application/x-ndjson", "audit.jsonl"),
        export::Format::Csv => ("text/csv; charset=utf-8", "audit.csv"),
    };
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// Every event, every stored checkpoint's signature and root. A log that
/// fails is still a 200: the answer to "is it intact?" is "no", named.
#[derive(Serialize)]
#[serde(untagged)]
enum Verified {
    Intact {
        ok: bool,
        events: u64,
        checkpoints: u64,
        first_bad_seq: Option<i64>,
        reason: Option<String>,
        root: String,
    },
    Broken {
        ok: bool,
        events: i64,
        first_bad_seq: i64,
        reason: String,
    },
}

async fn verify(State(state): State<Arc<AppState>>) -> ApiResult<Json<Verified>> {
    let origin = &state.settings.audit.origin;
    let key = state.keys.signing.verifying_key();
    let result =
        checkpointer::verify_database(state.store.reader(), origin, &key, None, |_| {}).await;
    Ok(Json(match result {
        Ok(v) => Verified::Intact {
            ok: true,
            events: v.events,
            checkpoints: v.checkpoints,
            first_bad_seq: None,
            reason: None,
            root: hex::encode(v.root),
        },
        Err(VerifyError::Broken(err)) => Verified::Broken {
            ok: false,
            events: err.seq.saturating_sub(1).max(0),
            first_bad_seq: err.seq,
            reason: err.reason,
        },
        Err(e @ VerifyError::Read(_)) => return Err(ServiceError::from(e).into()),
    }))
}

/// A signed checkpoint: the tree size and root, and the signed note.
#[derive(Serialize)]
struct CheckpointView {
    size: u64,
    root: String,
    created_at: String,
    text: String,
}

fn checkpoint_json(cp: &StoredCheckpoint) -> CheckpointView {
    CheckpointView {
        size: cp.size,
        root: hex::encode(cp.root),
        created_at: rfc3339(cp.created_at),
        text: cp.text.clone(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    after_size: Option<u64>,
    limit: Option<i64>,
}

/// The history, oldest first; `next` is the `after_size` of the next page.
async fn list_checkpoints(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<CheckpointView, u64>>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ServiceError::invalid("limit", "between 1 and 1000").into());
    }
    let page = checkpoints::list(state.store.reader(), q.after_size, limit + 1)
        .await
        .map_err(ServiceError::from)?;
    let (page, next) = super::page::split(page, limit, |c| c.size);
    Ok(Json(Page {
        items: page.iter().map(checkpoint_json).collect(),
        next,
    }))
}

fn text_plain(body: String) -> Response {
    let mut resp = body.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// Exactly the signed note, byte for byte: what a reviewer saves to a file
/// and later hands to `pingate audit verify --checkpoint FILE`.
async fn latest_checkpoint(State(state): State<Arc<AppState>>) -> ApiResult<Response> {
    let latest = checkpoints::latest(state.store.reader())
        .await
        .map_err(ServiceError::from)?
        .ok_or(ServiceError::NotFound("checkpoint"))?;
    Ok(text_plain(latest.text))
}

/// Signs a checkpoint of the log as it is now: 201 when new, 200 with the
/// latest one when the log has not grown since.
async fn create_checkpoint(State(state): State<Arc<AppState>>) -> ApiResult<Response> {
    let signed = checkpointer::checkpoint_now(&state).await?;
    let status = if signed.new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(checkpoint_json(&signed.checkpoint))).into_response())
}

fn hexes(hashes: &[crate::audit::merkle::Hash]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionQuery {
    seq: u64,
    size: u64,
}

/// RFC 9162 inclusion proof of event `seq` (leaf index `seq - 1`) in the
/// tree of the first `size` events.
async fn inclusion_proof(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<InclusionQuery>,
) -> ApiResult<Json<InclusionProof>> {
    let p = proofs::inclusion_proof(&state, q.seq, q.size).await?;
    Ok(Json(InclusionProof {
        seq: q.seq,
        leaf_index: q.seq - 1,
        size: p.size,
        leaf_hash: hex::encode(p.leaf),
        root: hex::encode(p.root),
        proof: hexes(&p.proof),
        event: p.event.to_json(),
    }))
}

#[derive(Serialize)]
struct InclusionProof {
    seq: u64,
    leaf_index: u64,
    size: u64,
    leaf_hash: String,
    root: String,
    proof: Vec<String>,
    event: Value,
}

#[derive(Serialize)]
struct ConsistencyProof {
    from: u64,
    to: u64,
    from_root: String,
    to_root: String,
    proof: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyQuery {
    from: u64,
    to: u64,
}

/// RFC 9162 consistency proof that the tree of `from` events is a prefix of
/// the tree of `to` events.
async fn consistency_proof(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<ConsistencyQuery>,
) -> ApiResult<Json<ConsistencyProof>> {
    let p = proofs::consistency_proof(&state, q.from, q.to).await?;
    Ok(Json(ConsistencyProof {
        from: p.from,
        to: p.to,
        from_root: hex::encode(p.from_root),
        to_root: hex::encode(p.to_root),
        proof: hexes(&p.proof),
    }))
}

/// The C2SP verifier key (`origin+keyid+base64`), as `pingate audit
/// public-key` prints it. Reviewers pin it out of band.
async fn public_key(State(state): State<Arc<AppState>>) -> ApiResult<Response> {
    Ok(text_plain(checkpointer::public_key(&state)?))
}
