//! Agent API: calls, challenges, PIN checks, trusted-number grants.

use super::openapi::{params as p, problem};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};

use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::app::AppState;
use crate::domain::org::{Channel, OrgId};
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

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    #[param(value_type = Option<CallStatus>)]
    status: Option<String>,
    /// The provider's call id (its `CallSid` or `CallUUID`).
    provider_call_id: Option<String>,
    #[param(minimum = 1, maximum = 200, default = 50)]
    limit: Option<i64>,
    /// The `next` value of the previous page.
    cursor: Option<String>,
}

/// List calls
///
/// Newest first. `status=active` lists the calls in progress (the agent's queue view); `provider_call_id=CA...` finds the call of a provider's call id. Items are call summaries, without challenges, grants and notices; `GET /v1/calls/{call_id}` has them. Unknown query parameters answer 400.
#[utoipa::path(
    get,
    path = "/v1/calls",
    operation_id = "listCalls",
    tag = "calls",
    params(ListQuery),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["agent"]))),
    responses(
        (status = 200, description = "A page of calls.", body = CallList),
        (status = 400, response = problem::BadRequest),
        (status = 422, response = problem::Validation),
        problem::Guarded,
    )
)]
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

/// Get a call
///
/// The call with its challenges (each with its delivery attempts), its grants (without tokens) and the notices sent to the org's contacts.
#[utoipa::path(
    get,
    path = "/v1/calls/{call_id}",
    operation_id = "getCall",
    tag = "calls",
    params(p::CallIdPath),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["agent"]))),
    responses(
        (status = 200, description = "The call.", body = CallView),
        (status = 404, response = problem::NotFound),
        problem::Guarded,
    )
)]
async fn get_call(
    State(state): State<Arc<AppState>>,
    Extension(viewer): Extension<Principal>,
    ApiPath(call_id): ApiPath<String>,
) -> ApiResult<Json<CallView>> {
    Ok(Json(call_view(&state, &viewer, &call_id).await?))
}

// Takes the call over from the agent handling it (audited); the caller's
// open challenge keeps its spent attempts.
/// Take a call over from the agent handling it
///
/// A call is handled by the agent who first acts on it (attaches its org, sends a PIN, grants access); only that agent checks, resends, cancels and grants on it. This makes the requesting agent the handler, audited as `call_taken` with the previous agent. The call's open challenge stays as it is, with its spent attempts. Taking a call one already handles changes nothing. An ended call answers 409 (`call-ended`).
#[utoipa::path(
    post,
    path = "/v1/calls/{call_id}/take",
    operation_id = "takeCall",
    tag = "calls",
    params(p::CallIdPath),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["agent"]))),
    responses(
        (status = 200, description = "The call, now handled by the requesting agent.", body = CallView),
        (status = 404, response = problem::NotFound),
        (status = 409, response = problem::Conflict),
        problem::Guarded,
    )
)]
async fn take(
    State(state): State<Arc<AppState>>,
    Extension(agent): Extension<Principal>,
    ApiPath(call_id): ApiPath<String>,
) -> ApiResult<Json<CallView>> {
    calls::take(&state, &agent, &call_id).await?;
    Ok(Json(call_view(&state, &agent, &call_id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AttachOrgRequest)]
struct AttachOrg {
    #[schema(value_type = OrgId)]
    org_id: String,
}

/// Attach the caller's organisation
///
/// For a call whose org is unknown (withheld or unregistered number, nothing keyed into the IVR), the agent attaches the org the caller names (`org_source` `agent`). Naming an org never makes a caller trusted by itself: the call becomes `trusted_number` only when its number is registered to that org with acceptable caller-ID attestation, otherwise `pin_required`. Attaching the org it already has changes nothing. 409 when the call has ended (`call-ended`) or has another org (`org-already-set`); 422 when the org does not exist. The first agent to act on a call becomes its handler; another agent gets 409 `handled-by-another-agent` naming the handler in `handled_by`, and may take the call over with `POST /v1/calls/{call_id}/take`.
#[utoipa::path(
    post,
    path = "/v1/calls/{call_id}/org",
    operation_id = "attachOrg",
    tag = "calls",
    params(p::CallIdPath),
    request_body(content = AttachOrg),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["agent"]))),
    responses(
        (status = 200, description = "The call, updated.", body = CallView),
        (status = 404, response = problem::NotFound),
        (status = 409, response = problem::Conflict),
        (status = 422, response = problem::Validation),
        problem::Guarded,
        problem::JsonBody,
    )
)]
async fn attach_org(
    State(state): State<Arc<AppState>>,
    Extension(agent): Extension<Principal>,
    ApiPath(call_id): ApiPath<String>,
    ApiJson(body): ApiJson<AttachOrg>,
) -> ApiResult<Json<CallView>> {
    calls::attach_org(&state, &agent, &call_id, &body.org_id).await?;
    Ok(Json(call_view(&state, &agent, &call_id).await?))
}

/// Only the channel. There is deliberately no destination field: the PIN goes to the contact registered in the org profile, never to an address or number named on the call. A request with any other field answers 400.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreateChallengeRequest)]
struct CreateChallenge {
    #[schema(value_type = Channel)]
    channel: String,
}

/// Send a PIN to the organisation's registered contact
///
/// Generates a PIN (OS CSPRNG, `pin.length` digits), keeps only its argon2id hash, and queues it for delivery to the contact **registered in the org profile** for `channel`. The request has no destination field and refuses one (unknown fields answer 400): the destination is never taken from the call. The answer shows the masked destination, never the PIN. A new challenge supersedes the call's pending one and inherits its spent attempts. 409: the call has ended (`call-ended`), its org is unknown (`org-unknown`), or its attempt budget is spent (`verification-failed`). 422: the org does not accept this channel, has no contact for it, or (SMS) the contact's region is not in `limits.sms_countries`. 429: a quota is spent or the caller is locked out. The first agent to act on a call becomes its handler; another agent gets 409 `handled-by-another-agent` naming the handler in `handled_by`, and may take the call over with `POST /v1/calls/{call_id}/take`. The quotas are charged before the PIN is hashed. For callers with a number, an org that reached its failure ceiling (`limits.failures_per_org` wrong PINs in the rolling window) is refused with 429 naming `org_failure_ceiling` until the window passes, an admin override is in force (`POST /v1/orgs/{org_id}/override`) or the ceiling's lockout is reset; callers without a number share their own budgets (`withheld`).
#[utoipa::path(
    post,
    path = "/v1/calls/{call_id}/challenges",
    operation_id = "createChallenge",
    tag = "challenges",
    params(p::CallIdPath),
    request_body(content = CreateChallenge),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["agent"]))),
    responses(
        (status = 201, description = "The challenge, pending; the PIN is on its way.", body = ChallengeView),
        (status = 404, response = problem::NotFound),
        (status = 409, response = problem::Conflict),
        (status = 422, response = problem::Validation),
        (status = 503, response = problem::HashQueueFull),
        problem::Guarded,
        problem::JsonBody,
    )
)]
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

/// Get a challenge
///
/// Status, attempts left, sends and delivery progress. The PIN is never returned.
#[utoipa::path(
    get,
    path = "/v1/challenges/{challenge_id}",
    operation_id = "getChallenge",
    tag = "challenges",
    params(p::ChallengeIdPath),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["agent"]))),
    responses(
        (status = 200, description = "The challenge.", body = ChallengeView),
        (status = 404, response = problem::NotFound),
        problem::Guarded,
    )
)]
async fn get_challenge(
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ChallengeView>> {
    if !crate::ids::looks_like("chl", &id) {
        return Err(ServiceError::NotFound("challenge").into());
    }
    Ok(Json(challenge_view(&state, &id).await?))
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ResendRequest)]
struct Resend {
    /// Another channel of the org's profile (a fallback); absent: the same.
    #[schema(nullable = false, value_type = Option<Channel>)]
    channel: Option<String>,
}

// The body is optional: no body resends on the challenge's channel.
/// Send the same PIN again
///
/// While the challenge is pending, delivers the **same** PIN again, up to `pin.max_sends` sends in all. With no body it goes to the same registered contact (a late first message must not confuse the caller). With `{"channel": "sms"|"email"}` it is a fallback: the same PIN goes to the org's *other* registered contact (the org must accept that channel); there is still no destination field. With `delivery.auto_fallback` pingate does this itself when a PIN message fails for good or is reported undelivered. Beyond `pin.max_sends`: 429 with `Retry-After`. A challenge that is no longer pending answers 409 (`challenge-not-pending`) with its status in `state`. Resends count against the per-destination and SMS quotas too. Only the agent handling the call may do this (the first agent to act on a call handles it); another agent gets 409 `handled-by-another-agent` naming the handler in `handled_by`, and may take the call over with `POST /v1/calls/{call_id}/take`.
#[utoipa::path(
    post,
    path = "/v1/challenges/{challenge_id}/resend",
    operation_id = "resendChallenge",
    tag = "challenges",
    params(p::ChallengeIdPath),
    request_body(content = Option<Resend>, description = "Optional: the channel to send on (a fallback)."),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["agent"]))),
    responses(
        (status = 200, description = "The challenge, with one more send.", body = ChallengeView),
        (status = 404, response = problem::NotFound),
        (status = 409, response = problem::Conflict),
        (status = 400, response = problem::BadRequest),
        (status = 422, response = problem::Validation),
        problem::Guarded,
    )
)]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CheckRequest)]
struct Check {
    /// The digits the caller read; spaces and dashes are ignored.
    #[schema(value_type = String, examples("123456"), write_only)]
    pin: secrecy::SecretString,
}

/// Check the PIN the caller read
///
/// Compares in constant time against the stored hash. Each check spends one attempt, reserved atomically in the database before the comparison, so concurrent guesses never exceed `pin.max_attempts`. A match within the TTL approves the challenge, marks the call `verified`, issues a grant to the calling agent and notifies the org's contacts: the answer carries the grant's token, shown only here. A wrong PIN answers 200 `pending` with `attempts_left`, or `locked` when the challenge's budget is spent or the caller's failure budget across challenges (`limits.failures_per_caller`) is: that starts a lockout of the caller for the org, notified to the org's contacts, which an admin ends with `POST /v1/lockouts/reset`. A challenge that is expired, locked, cancelled, superseded or already approved answers 409 (`challenge-not-pending`) with its status in `state`. 422: the PIN is not `pin.length` digits (spaces and dashes are ignored). 429: the caller is locked out, or the agent's check quota is spent. Only the agent handling the call may do this (the first agent to act on a call handles it); another agent gets 409 `handled-by-another-agent` naming the handler in `handled_by`, and may take the call over with `POST /v1/calls/{call_id}/take`. An id that names no challenge is charged to the agent's `checks_per_agent` like any check and answers 404. Each check holds one of the agent's `pin.hash_per_principal` places until it ends (429 past it); a full hashing queue answers 503 with Retry-After.
#[utoipa::path(
    post,
    path = "/v1/challenges/{challenge_id}/check",
    operation_id = "checkChallenge",
    tag = "challenges",
    params(p::ChallengeIdPath),
    request_body(content = Check),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["agent"]))),
    responses(
        (status = 200, description = "The outcome of this attempt.", body = CheckAnswer),
        (status = 404, response = problem::NotFound),
        (status = 409, response = problem::Conflict),
        (status = 422, response = problem::Validation),
        (status = 503, response = problem::HashQueueFull),
        problem::Guarded,
        problem::JsonBody,
    )
)]
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

#[derive(Serialize, ToSchema)]
#[schema(as = GrantIssued)]
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
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = CheckResult)]
pub(crate) enum CheckAnswer {
    Approved(Box<Approved>),
    Refused {
        status: ChallengeStatus,
        #[schema(minimum = 0)]
        attempts_left: i64,
    },
}

/// Grant access to a call from a trusted number
///
/// Only for calls whose `verification` is `trusted_number` (registered number, attested caller ID): issues a grant without a PIN and notifies the org's contacts. Any other call answers 409 (`not-trusted`, with its verification in `state`); an ended call 409 (`call-ended`). One active grant per (call, agent): a second request while the agent's grant is active answers 409 (`grant-exists`, with its `grant_id`). The call must be handled by this agent, or by nobody (this grant then makes the agent its handler); otherwise 409 (`handled-by-another-agent`, naming the agent in `handled_by`). Spends `challenges_per_agent` and `orgs_per_agent`, and each notice `sends_per_destination` (and `sms_global` for an SMS): 429 when one is spent. The grant's token is in this answer only.
#[utoipa::path(
    post,
    path = "/v1/calls/{call_id}/grant",
    operation_id = "grantTrustedCall",
    tag = "grants",
    params(p::CallIdPath),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["agent"]))),
    responses(
        (status = 201, description = "The grant, with its token (shown once).", body = Approved),
        (status = 404, response = problem::NotFound),
        (status = 409, response = problem::Conflict),
        problem::Guarded,
    )
)]
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
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CancelRequest)]
struct Cancel {}

// Ends a pending challenge (the same service as the console's Cancel
// verification). The body is optional; if given it must be `{}`.
/// Cancel a verification
///
/// Ends a pending challenge: its PIN can no longer be checked and a queued copy is wiped; audited as `challenge_cancelled` with `reason: agent`. The call keeps its verdict, and a new PIN can be sent. A challenge that is no longer pending answers 409 (`challenge-not-pending`) with its status in `state`. The console's **Cancel verification** does the same. Only the agent handling the call may do this (the first agent to act on a call handles it); another agent gets 409 `handled-by-another-agent` naming the handler in `handled_by`, and may take the call over with `POST /v1/calls/{call_id}/take`.
#[utoipa::path(
    post,
    path = "/v1/challenges/{challenge_id}/cancel",
    operation_id = "cancelChallenge",
    tag = "challenges",
    params(p::ChallengeIdPath),
    request_body(content = Option<Cancel>, description = "Optional: an empty object. Any field is refused (400)."),
    security(("bearerAuth" = [])),
    extensions(("x-pingate-roles" = json!(["agent"]))),
    responses(
        (status = 200, description = "The challenge, now cancelled.", body = ChallengeView),
        (status = 400, response = problem::BadRequest),
        (status = 404, response = problem::NotFound),
        (status = 409, response = problem::Conflict),
        problem::Guarded,
    )
)]
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

type CallList = Page<CallSummary>;
