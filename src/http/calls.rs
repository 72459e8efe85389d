//! Agent API: calls, challenges, PIN checks, trusted-number grants.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};

use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::app::AppState;
use crate::domain::org::Channel;
use crate::domain::verification::{CallStatus, ChallengeStatus};
use crate::service::views::{CallSummary, CallView, ChallengeView, GrantWithToken, Page};
use crate::service::{ServiceError, calls, cancel, challenges, grants, resend, views};
use crate::store;
use crate::store::calls::CallFilter;
use crate::store::principals::Principal;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/calls", get(list_calls))
        .route("/v1/calls/{call_id}", get(get_call))
        .route("/v1/calls/{call_id}/org", post(attach_org))
        .route("/v1/calls/{call_id}/challenges", post(create_challenge))
        .route("/v1/calls/{call_id}/grant", post(trusted_grant))
        .route("/v1/calls/{call_id}/take", post(take))
        .route("/v1/challenges/{challenge_id}", get(get_challenge))
        .route("/v1/challenges/{challenge_id}/resend", post(resend))
        .route("/v1/challenges/{challenge_id}/check", post(check))
        .route(
            "/v1/challenges/{challenge_id}/cancel",
            post(cancel_challenge),
        )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    provider_call_id: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

async fn list_calls(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<CallSummary>>> {
    if let Some(s) = &q.status
        && CallStatus::parse(s).is_none()
    {
        return Err(ServiceError::invalid("status", "use active or ended").into());
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ServiceError::invalid("limit", "between 1 and 200").into());
    }
    let before = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(
            c.split_once('.')
                .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id.to_string())))
                .ok_or_else(|| ServiceError::invalid("cursor", "not a cursor from this API"))?,
        ),
    };
    let filter = CallFilter {
        status: q.status,
        provider_call_id: q.provider_call_id,
        before,
    };
    let rows = store::calls::list(state.store.reader(), &filter, limit + 1)
        .await
        .map_err(ServiceError::from)?;
    let (rows, next) = super::page::split(rows, limit, |c| format!("{}.{}", c.created_at, c.id));
    Ok(Json(Page {
        items: rows.iter().map(views::call_summary).collect(),
        next,
    }))
}

/// A call as `viewer` sees it: with only the grants they may see (and
/// only those grants' notices).
pub(crate) async fn call_view(
    state: &AppState,
    viewer: &Principal,
    call_id: &str,
) -> Result<CallView, ServiceError> {
    let pool = state.store.reader();
    let call = store::calls::get(pool, call_id)
        .await?
        .ok_or(ServiceError::NotFound("call"))?;
    let chs = store::challenges::for_call(pool, call_id).await?;
    let grs = grants::visible(viewer, store::grants::for_call(pool, call_id).await?);
    let msgs: Vec<_> = store::messages::for_call(pool, call_id)
        .await?
        .into_iter()
        .filter(|m| {
            m.grant_id
                .as_ref()
                .is_none_or(|id| grs.iter().any(|g| &g.id == id))
        })
        .collect();
    Ok(views::call(&call, &chs, &msgs, &grs, state.clock.now_ms()))
}

async fn get_call(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Principal>,
    ApiPath(call_id): ApiPath<String>,
) -> ApiResult<Json<CallView>> {
    Ok(Json(call_view(&state, &viewer, &call_id).await?))
}

/// Takes the call over from the agent handling it (audited); the caller's
/// open challenge keeps its spent attempts.
async fn take(
    State(state): State<Arc<AppState>>,
    Extension(agent): Extension<Principal>,
    ApiPath(call_id): ApiPath<String>,
) -> ApiResult<Json<CallView>> {
    calls::take(&state, &agent, &call_id).await?;
    Ok(Json(call_view(&state, &agent, &call_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachOrg {
    org_id: String,
}

async fn attach_org(
    State(state): State<Arc<AppState>>,
    Extension(agent): Extension<Principal>,
    ApiPath(call_id): ApiPath<String>,
    ApiJson(body): ApiJson<AttachOrg>,
) -> ApiResult<Json<CallView>> {
    calls::attach_org(&state, &agent, &call_id, &body.org_id).await?;
    Ok(Json(call_view(&state, &agent, &call_id).await?))
}

/// No destination field, by design: PINs go to the org's registered
/// contact only. `deny_unknown_fields` refuses a request that names one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateChallenge {
    channel: String,
}

async fn create_challenge(
    State(state): State<Arc<AppState>>,
    Extension(agent): Extension<Principal>,
    ApiPath(call_id): ApiPath<String>,
    ApiJson(body): ApiJson<CreateChallenge>,
) -> ApiResult<(StatusCode, Json<ChallengeView>)> {
    let channel: Channel = body
        .channel
        .parse()
        .map_err(|_| ServiceError::invalid("channel", "use email or sms"))?;
    let row = challenges::create(&state, &agent, &call_id, channel).await?;
    Ok((
        StatusCode::CREATED,
        Json(challenge_view(&state, &row.id).await?),
    ))
}

async fn challenge_view(state: &AppState, id: &str) -> Result<ChallengeView, ServiceError> {
    let pool = state.store.reader();
    let row = store::challenges::get(pool, id)
        .await?
        .ok_or(ServiceError::NotFound("challenge"))?;
    let msgs = store::messages::for_call(pool, &row.call_id).await?;
    let mine: Vec<_> = msgs
        .iter()
        .filter(|m| {
            m.challenge_id.as_deref() == Some(id)
                && m.kind == crate::domain::message::MessageKind::Pin
        })
        .collect();
    Ok(views::challenge(&row, &mine, state.clock.now_ms()))
}

async fn get_challenge(
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ChallengeView>> {
    if !crate::ids::looks_like("chl", &id) {
        return Err(ServiceError::NotFound("challenge").into());
    }
    Ok(Json(challenge_view(&state, &id).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Resend {
    /// Another channel of the org's profile (a fallback); absent: the same.
    channel: Option<String>,
}

/// The body is optional: no body resends on the challenge's channel.
async fn resend(
    State(state): State<Arc<AppState>>,
    Extension(agent): Extension<Principal>,
    ApiPath(id): ApiPath<String>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Json<ChallengeView>> {
    // The plain `Bytes` rejection is text/plain; answer problem+json.
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            super::error::ApiError::PayloadTooLarge
        } else {
            super::error::ApiError::BadRequest("the request body could not be read".into())
        }
    })?;
    let req: Resend = if body.iter().all(u8::is_ascii_whitespace) {
        Resend::default()
    } else {
        super::extract::json_body(&body)?
    };
    let channel = req
        .channel
        .map(|c| {
            c.parse::<Channel>()
                .map_err(|_| ServiceError::invalid("channel", "use email or sms"))
        })
        .transpose()?;
    let actor = agent.actor();
    let who = resend::Requester {
        actor: &actor,
        agent: Some(&agent),
        once_per_channel: false,
    };
    let row = resend::resend(&state, who, &id, channel).await?;
    Ok(Json(challenge_view(&state, &row.id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Check {
    pin: secrecy::SecretString,
}

async fn check(
    State(state): State<Arc<AppState>>,
    Extension(agent): Extension<Principal>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Check>,
) -> ApiResult<Json<CheckAnswer>> {
    use secrecy::ExposeSecret;
    // Once its attempt is reserved a check must end recorded (audited, and
    // counted against the caller) even if the client goes away or the
    // request times out: it runs in a task the request only waits for.
    // Such tasks are bounded: each holds its principal's hashing ticket
    // (`pin.hash_per_principal`) until it ends.
    let task = tokio::spawn({
        let state = Arc::clone(&state);
        async move { challenges::check(&state, &agent, &id, body.pin.expose_secret()).await }
    });
    let result = task.await.map_err(ServiceError::from)??;
    let now = state.clock.now_ms();
    Ok(Json(match result {
        challenges::CheckResult::Approved(g) => {
            CheckAnswer::Approved(Box::new(Approved::of(&g, now)))
        }
        challenges::CheckResult::Wrong { attempts_left } => CheckAnswer::Refused {
            status: ChallengeStatus::Pending,
            attempts_left,
        },
        challenges::CheckResult::Locked => CheckAnswer::Refused {
            status: ChallengeStatus::Locked,
            attempts_left: 0,
        },
    }))
}

/// A PIN accepted or a trusted call granted: the grant, token included.
#[derive(Serialize)]
pub(crate) struct Approved {
    status: ChallengeStatus,
    grant: GrantWithToken,
}

impl Approved {
    fn of(g: &grants::IssuedGrant, now: i64) -> Approved {
        Approved {
            status: ChallengeStatus::Approved,
            grant: views::grant_with_token(g, now),
        }
    }
}

/// What a PIN check answers: approved with the grant, or the status and
/// the attempts left.
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum CheckAnswer {
    Approved(Box<Approved>),
    Refused {
        status: ChallengeStatus,
        attempts_left: i64,
    },
}

async fn trusted_grant(
    State(state): State<Arc<AppState>>,
    Extension(agent): Extension<Principal>,
    ApiPath(call_id): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<Approved>)> {
    let g = grants::issue_for_trusted_call(&state, &agent, &call_id).await?;
    Ok((
        StatusCode::CREATED,
        Json(Approved::of(&g, state.clock.now_ms())),
    ))
}

/// No fields: a body that names any (a `pin`, say) is refused before
/// anything is cancelled.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Cancel {}

/// Ends a pending challenge (the same service as the console's Cancel
/// verification). The body is optional; if given it must be `{}`.
async fn cancel_challenge(
    State(state): State<Arc<AppState>>,
    Extension(agent): Extension<Principal>,
    ApiPath(id): ApiPath<String>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Json<ChallengeView>> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            super::error::ApiError::PayloadTooLarge
        } else {
            super::error::ApiError::BadRequest(e.body_text())
        }
    })?;
    if !body.iter().all(u8::is_ascii_whitespace) {
        serde_json::from_slice::<Cancel>(&body)
            .map_err(|e| super::error::ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
    }
    let row = cancel::cancel(&state, &agent, &id).await?;
    Ok(Json(challenge_view(&state, &row.id).await?))
}
