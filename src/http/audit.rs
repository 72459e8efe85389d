//! Reviewer API: query, export (streamed, constant memory) and verify the
//! audit trail; signed checkpoints, Merkle proofs and the verifier key.

use super::openapi::problem;
use super::openapi::schemas::{self, CheckpointText, ExportFormat, VerifierKey};
use crate::audit::event::Outcome;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

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

#[derive(Deserialize, Default, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct FilterQuery {
    /// Events at or after this time (RFC 3339).
    #[param(format = DateTime)]
    from: Option<String>,
    /// Events before this time (RFC 3339).
    #[param(format = DateTime)]
    to: Option<String>,
    org_id: Option<String>,
    call_id: Option<String>,
    /// e.g. `agent:alice`, `provider:<name>`, `system`.
    actor: Option<String>,
    /// An event kind from the catalogue.
    kind: Option<String>,
    #[param(value_type = Option<Outcome>)]
    outcome: Option<String>,
    /// Cursor: only events with a greater `seq` (the `next` of the previous page).
    #[param(minimum = 0)]
    after_seq: Option<i64>,
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<i64>,
    #[param(default = "jsonl", value_type = Option<ExportFormat>)]
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

/// Query the audit trail
///
/// Events in `seq` order, filtered. Phone numbers and addresses in `detail` are pseudonymised (keyed hash and last digits) or masked; no PIN, token or secret ever appears. Unknown query parameters answer 400.
#[utoipa::path(
    get,
    path = "/v1/audit",
    operation_id = "listAudit",
    tag = "audit",
    params(FilterQuery),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["reviewer"]))),
    responses(
        (status = 200, description = "A page of events.", body = AuditEventList),
        (status = 400, response = problem::BadRequest),
        (status = 422, response = problem::Validation),
        problem::Guarded,
    )
)]
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

/// Export the audit trail
///
/// Streams every matching event in constant memory, as JSON lines (one `AuditEvent` per line, the input of `pingate audit verify --export`) or CSV with a header row. Same filters as `GET /v1/audit`, without `limit`.
#[utoipa::path(
    get,
    path = "/v1/audit/export",
    operation_id = "exportAudit",
    tag = "audit",
    params(FilterQuery),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["reviewer"]))),
    responses(
        (status = 200, description = "The events, streamed as an attachment.", content(
            (String = "application/x-ndjson"),
            (String = "text/csv; charset=utf-8"),
        ), headers(
            ("Content-Disposition" = String, description = "`attachment; filename=\"audit.jsonl\"` or `audit.csv`."),
        )),
        (status = 400, response = problem::BadRequest),
        (status = 422, response = problem::Validation),
        problem::Guarded,
    )
)]
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
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = AuditVerification)]
enum Verified {
    Intact {
        ok: bool,
        /// Events verified.
        events: u64,
        /// Stored checkpoints verified.
        checkpoints: u64,
        first_bad_seq: Option<i64>,
        reason: Option<String>,
        /// Merkle root over all events.
        #[schema(pattern = "^[0-9a-f]{64}$")]
        root: String,
    },
    Broken {
        ok: bool,
        /// Events verified before the first bad one.
        #[schema(minimum = 0)]
        events: i64,
        #[schema(minimum = 1)]
        first_bad_seq: i64,
        reason: String,
    },
}

/// Verify the audit log
///
/// Recomputes, streaming from the first event, every event's hash, the chain links and the gapless `seq`, and checks every stored checkpoint's root and signature against the events. Reports the first event that does not verify. When the log is intact, `root` is the RFC 6962 Merkle root over all events and `checkpoints` the number of stored checkpoints it matches. The same check as `pingate audit verify`.
#[utoipa::path(
    get,
    path = "/v1/audit/verify",
    operation_id = "verifyAudit",
    tag = "audit",
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["reviewer"]))),
    responses(
        (status = 200, description = "The verdict (a broken log is a 200 with `ok: false`).", body = Verified),
        problem::Guarded,
    )
)]
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

#[derive(Serialize, ToSchema)]
#[schema(as = Checkpoint)]
struct CheckpointView {
    /// Tree size: events 1..=size.
    #[schema(minimum = 0)]
    size: u64,
    /// RFC 6962 Merkle root of the first `size` events, lowercase hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    root: String,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(value_type = CheckpointText)]
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

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PageQuery {
    /// Cursor: only checkpoints of a larger tree (the `next` of the previous page).
    #[param(minimum = 0)]
    after_size: Option<u64>,
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<i64>,
}

// The history, oldest first; `next` is the `after_size` of the next page.
/// Checkpoint history
///
/// Every signed checkpoint, oldest first (smallest tree size first). Each carries its `text`, the C2SP signed note a reviewer stores and later passes to `pingate audit verify --checkpoint FILE`. Checkpoints are signed every `audit.checkpoint_every_events` events or `audit.checkpoint_interval`, and on demand.
#[utoipa::path(
    get,
    path = "/v1/audit/checkpoints",
    operation_id = "listCheckpoints",
    tag = "audit",
    params(PageQuery),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["reviewer"]))),
    responses(
        (status = 200, description = "A page of checkpoints.", body = CheckpointList),
        (status = 400, response = problem::BadRequest),
        (status = 422, response = problem::Validation),
        problem::Guarded,
    )
)]
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

// Exactly the signed note, byte for byte: what a reviewer saves to a file
// and later hands to `pingate audit verify --checkpoint FILE`.
/// The latest checkpoint, as a file
///
/// Exactly the text, byte for byte, that `pingate audit verify --checkpoint FILE` accepts: a C2SP tlog-checkpoint body (origin, tree size, base64 root, `timestamp` line), a blank line, and one Ed25519 signature line. Keep it: a later verification proves that nothing it covers was altered, removed or reordered, and catches truncation. 404 when no checkpoint exists yet.
#[utoipa::path(
    get,
    path = "/v1/audit/checkpoints/latest",
    operation_id = "latestCheckpoint",
    tag = "audit",
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["reviewer"]))),
    responses(
        (status = 200, description = "The signed checkpoint.", content_type = "text/plain; charset=utf-8", body = CheckpointText),
        (status = 404, response = problem::NotFound),
        problem::Guarded,
    )
)]
async fn latest_checkpoint(State(state): State<Arc<AppState>>) -> ApiResult<Response> {
    let latest = checkpoints::latest(state.store.reader())
        .await
        .map_err(ServiceError::from)?
        .ok_or(ServiceError::NotFound("checkpoint"))?;
    Ok(text_plain(latest.text))
}

// Signs a checkpoint of the log as it is now: 201 when new, 200 with the
// latest one when the log has not grown since.
/// Sign a checkpoint now
///
/// Verifies the whole log, then signs and stores a checkpoint of it as it is now: 201 with the new checkpoint, or 200 with the latest one when the log has not grown since. A log whose chain is broken, or that no longer extends the latest checkpoint, is never signed: 409 (`urn:pingate:problem:audit-log-broken`). The signing key never leaves the server.
#[utoipa::path(
    post,
    path = "/v1/audit/checkpoints",
    operation_id = "createCheckpoint",
    tag = "audit",
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["reviewer"]))),
    responses(
        (status = 200, description = "The log has not grown since the latest checkpoint, which is returned.", body = CheckpointView),
        (status = 201, description = "A checkpoint was signed.", body = CheckpointView),
        (status = 409, response = problem::Conflict),
        problem::Guarded,
    )
)]
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

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct InclusionQuery {
    #[param(minimum = 1)]
    seq: u64,
    /// Tree size, usually that of a checkpoint the reviewer holds.
    #[param(minimum = 1)]
    size: u64,
}

// RFC 9162 inclusion proof of event `seq` (leaf index `seq - 1`) in the
// tree of the first `size` events.
/// Inclusion proof
///
/// RFC 9162 §2.1.3 proof that event `seq` is leaf `seq - 1` of the Merkle tree of the first `size` events (leaf = SHA-256(0x00 ‖ canonical event), node = SHA-256(0x01 ‖ left ‖ right)). The event itself is included. 422: `seq` is 0 or exceeds `size`, or `size` exceeds the log. 409 (`audit-log-broken`): the events up to `size` do not verify.
#[utoipa::path(
    get,
    path = "/v1/audit/proof/inclusion",
    operation_id = "inclusionProof",
    tag = "audit",
    params(InclusionQuery),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["reviewer"]))),
    responses(
        (status = 200, description = "The proof.", body = InclusionProof),
        (status = 400, response = problem::BadRequest),
        (status = 409, response = problem::Conflict),
        (status = 422, response = problem::Validation),
        problem::Guarded,
    )
)]
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

#[derive(Serialize, ToSchema)]
struct InclusionProof {
    #[schema(minimum = 1)]
    seq: u64,
    /// `seq - 1`.
    #[schema(minimum = 0)]
    leaf_index: u64,
    #[schema(minimum = 1)]
    size: u64,
    /// SHA-256, lowercase hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    leaf_hash: String,
    /// SHA-256, lowercase hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    root: String,
    /// Audit path, leaf to root.
    proof: Vec<String>,
    #[schema(value_type = schemas::AuditEvent)]
    event: Value,
}

#[derive(Serialize, ToSchema)]
struct ConsistencyProof {
    #[schema(minimum = 0)]
    from: u64,
    #[schema(minimum = 0)]
    to: u64,
    /// SHA-256, lowercase hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    from_root: String,
    /// SHA-256, lowercase hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    to_root: String,
    proof: Vec<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ConsistencyQuery {
    #[param(minimum = 0)]
    from: u64,
    #[param(minimum = 0)]
    to: u64,
}

// RFC 9162 consistency proof that the tree of `from` events is a prefix of
// the tree of `to` events.
/// Consistency proof
///
/// RFC 9162 §2.1.4 proof that the tree of the first `from` events is a prefix of the tree of the first `to` events: nothing in it was altered, removed or reordered. From 0 the proof is empty. 422: `from` exceeds `to`, or `to` exceeds the log. 409 (`audit-log-broken`): the events up to `to` do not verify.
#[utoipa::path(
    get,
    path = "/v1/audit/proof/consistency",
    operation_id = "consistencyProof",
    tag = "audit",
    params(ConsistencyQuery),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["reviewer"]))),
    responses(
        (status = 200, description = "The proof.", body = ConsistencyProof),
        (status = 400, response = problem::BadRequest),
        (status = 409, response = problem::Conflict),
        (status = 422, response = problem::Validation),
        problem::Guarded,
    )
)]
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

// The C2SP verifier key (`origin+keyid+base64`), as `pingate audit
// public-key` prints it. Reviewers pin it out of band.
/// Checkpoint verifier key
///
/// The C2SP Ed25519 verifier key, `<origin>+<key id hex>+<base64(0x01 ‖ public key)>`, that checkpoints are signed with; the same text `pingate audit public-key` prints. Pin it out of band.
#[utoipa::path(
    get,
    path = "/v1/audit/public-key",
    operation_id = "auditPublicKey",
    tag = "audit",
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["reviewer"]))),
    responses(
        (status = 200, description = "The verifier key.", content_type = "text/plain; charset=utf-8", body = VerifierKey),
        problem::Guarded,
    )
)]
async fn public_key(State(state): State<Arc<AppState>>) -> ApiResult<Response> {
    Ok(text_plain(checkpointer::public_key(&state)?))
}

/// Listings, named for the document.
type AuditEventList = Page<schemas::AuditEvent, i64>;
type CheckpointList = Page<CheckpointView, u64>;
