//! The call page's buttons: each posts a form (CSRF-checked by `Posted`),
//! calls one service function and redirects back to the page with a code
//! for its confirmation, or shows the page again with the refusal next to
//! the control it is about.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::call::{AGENT, CallModel, Feedback, Field, render_page};
use super::error::ConsoleError;
use super::session::{Posted, Viewer};
use super::words;
use crate::app::AppState;
use crate::domain::org::Channel;
use crate::service::{ServiceError, calls, cancel, challenges, grants, orgs, resend};
use crate::store;

type Answer = Result<Response, ConsoleError>;

/// Redirects on success; on a refusal shows the page with it in words.
async fn answer(
    state: &AppState,
    viewer: &Viewer,
    call_id: &str,
    field: Field,
    result: Result<&'static str, ServiceError>,
) -> Answer {
    let e = match result {
        Ok(code) => {
            return Ok(
                Redirect::to(&format!("/console/calls/{call_id}?done={code}")).into_response(),
            );
        }
        Err(e @ (ServiceError::Store(_) | ServiceError::Internal(_))) => return Err(e.into()),
        Err(e) => e,
    };
    let (status, text) = words::service_error(&e);
    let model = CallModel::load(state, call_id).await?;
    let fb = Feedback {
        ok: false,
        field,
        text,
        take_over: matches!(e, ServiceError::HandledByOther { .. }),
    };
    let mut resp = (status, render_page(viewer, &model, Some(&fb))).into_response();
    if let ServiceError::TooMany {
        retry_after_secs, ..
    } = e
        && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Ok(resp)
}

fn channel(s: &str) -> Result<Channel, ServiceError> {
    s.parse()
        .map_err(|_| ServiceError::invalid("channel", "use email or sms"))
}

async fn call_of_challenge(state: &AppState, id: &str) -> Result<String, ConsoleError> {
    if !crate::ids::looks_like("chl", id) {
        return Err(ConsoleError::NotFound("verification"));
    }
    Ok(store::challenges::get(state.store.reader(), id)
        .await?
        .ok_or(ConsoleError::NotFound("verification"))?
        .call_id)
}

#[derive(Deserialize)]
pub struct AttachForm {
    org: String,
}

pub async fn attach(
    State(state): State<Arc<AppState>>,
    Path(call_id): Path<String>,
    p: Posted<AttachForm>,
) -> Answer {
    p.viewer.require(&state, AGENT).await?;
    CallModel::load(&state, &call_id).await?;
    let result = async {
        let org_id = orgs::find(&state, &p.form.org).await?;
        calls::attach_org(&state, &p.viewer.principal, &call_id, &org_id).await?;
        Ok("attached")
    }
    .await;
    answer(&state, &p.viewer, &call_id, Field::Org, result).await
}

#[derive(Deserialize)]
pub struct ChannelForm {
    channel: Option<String>,
}

pub async fn send_pin(
    State(state): State<Arc<AppState>>,
    Path(call_id): Path<String>,
    p: Posted<ChannelForm>,
) -> Answer {
    p.viewer.require(&state, AGENT).await?;
    CallModel::load(&state, &call_id).await?;
    let result = async {
        let ch = channel(p.form.channel.as_deref().unwrap_or_default())?;
        challenges::create(&state, &p.viewer.principal, &call_id, ch).await?;
        Ok("sent")
    }
    .await;
    answer(&state, &p.viewer, &call_id, Field::Send, result).await
}

pub async fn resend(
    State(state): State<Arc<AppState>>,
    Path(challenge_id): Path<String>,
    p: Posted<ChannelForm>,
) -> Answer {
    p.viewer.require(&state, AGENT).await?;
    let call_id = call_of_challenge(&state, &challenge_id).await?;
    let result = async {
        let ch = p.form.channel.as_deref().map(channel).transpose()?;
        let actor = p.viewer.principal.actor();
        let who = resend::Requester {
            actor: &actor,
            agent: Some(&p.viewer.principal),
            once_per_channel: false,
        };
        resend::resend(&state, who, &challenge_id, ch).await?;
        Ok("resent")
    }
    .await;
    answer(&state, &p.viewer, &call_id, Field::Send, result).await
}

#[derive(Deserialize)]
pub struct PinForm {
    pin: SecretString,
}

pub async fn check(
    State(state): State<Arc<AppState>>,
    Path(challenge_id): Path<String>,
    p: Posted<PinForm>,
) -> Answer {
    p.viewer.require(&state, AGENT).await?;
    let call_id = call_of_challenge(&state, &challenge_id).await?;
    // As on the API: once reserved, a check runs to its end even if the
    // browser goes away.
    let task = tokio::spawn({
        let state = Arc::clone(&state);
        let agent = p.viewer.principal.clone();
        let pin = p.form.pin;
        async move { challenges::check(&state, &agent, &challenge_id, pin.expose_secret()).await }
    });
    let result = match task.await {
        Ok(r) => r.map(|outcome| match outcome {
            challenges::CheckResult::Approved(_) => "verified",
            challenges::CheckResult::Wrong { .. } => "wrong",
            challenges::CheckResult::Locked => "locked",
        }),
        Err(e) => Err(ServiceError::Internal(e.into())),
    };
    answer(&state, &p.viewer, &call_id, Field::Pin, result).await
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn cancel(
    State(state): State<Arc<AppState>>,
    Path(challenge_id): Path<String>,
    p: Posted<Empty>,
) -> Answer {
    p.viewer.require(&state, AGENT).await?;
    let call_id = call_of_challenge(&state, &challenge_id).await?;
    let result = cancel::cancel(&state, &p.viewer.principal, &challenge_id)
        .await
        .map(|_| "cancelled");
    answer(&state, &p.viewer, &call_id, Field::Send, result).await
}

pub async fn grant(
    State(state): State<Arc<AppState>>,
    Path(call_id): Path<String>,
    p: Posted<Empty>,
) -> Answer {
    p.viewer.require(&state, AGENT).await?;
    CallModel::load(&state, &call_id).await?;
    let result = grants::issue_for_trusted_call(&state, &p.viewer.principal, &call_id)
        .await
        .map(|_| "granted");
    answer(&state, &p.viewer, &call_id, Field::Grant, result).await
}

pub async fn revoke(
    State(state): State<Arc<AppState>>,
    Path(grant_id): Path<String>,
    p: Posted<Empty>,
) -> Answer {
    p.viewer.require(&state, AGENT).await?;
    let grant = match grants::get(&state, &grant_id).await {
        Ok(g) => g,
        Err(ServiceError::NotFound(_)) => return Err(ConsoleError::NotFound("grant")),
        Err(e) => return Err(e.into()),
    };
    let result = grants::revoke(&state, &p.viewer.principal, &grant_id)
        .await
        .map(|_| "revoked");
    answer(&state, &p.viewer, &grant.call_id, Field::Grant, result).await
}

/// Take over: the call is handled by the viewer from now on (audited), by
/// the same service as `POST /v1/calls/{id}/take`.
pub async fn take(
    State(state): State<Arc<AppState>>,
    Path(call_id): Path<String>,
    p: Posted<Empty>,
) -> Answer {
    p.viewer.require(&state, AGENT).await?;
    CallModel::load(&state, &call_id).await?;
    let result = calls::take(&state, &p.viewer.principal, &call_id)
        .await
        .map(|_| "taken");
    answer(&state, &p.viewer, &call_id, Field::Org, result).await
}
