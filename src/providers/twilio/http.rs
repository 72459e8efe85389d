//! Twilio's webhooks. Each handler reads the raw body, checks the signature
//! against `server.public_base_url` + the request path and query, and only
//! then parses anything. A bad signature answers 403 and is audited; nothing
//! else is stored.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::form::{Form, GatherWebhook, MessageStatusWebhook, StatusWebhook, VoiceWebhook};
use super::signature::{self, SignedRequest, SigningKeys};
use super::twiml::{self, Gather};
use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::config::VoiceRoute;
use crate::http::auth::client_addr;
use crate::http::error::ApiError;
use crate::http::extract::raw_body;
use crate::http::failure_audit::{self, Failure};
use crate::service::ServiceError;
use crate::service::calls::{self, GatherDecision, InboundCall};
use crate::store::{LockSpace, messages};

const PROVIDER: &str = "twilio";

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/webhooks/twilio/voice", post(voice))
        .route("/webhooks/twilio/gather", post(gather))
        .route("/webhooks/twilio/status", post(status))
        .route("/webhooks/twilio/message-status", post(message_status))
}

/// A verified webhook: its form, and Twilio's idempotency token if sent.
struct Signed {
    form: Form,
    idempotency: Option<String>,
}

/// Verifies the request and returns its form. A bad signature answers 403
/// and is audited (folded per address and window); then each request is
/// charged to its address's budget of signed or of unsigned requests, so
/// junk never spends what Twilio's real webhooks need.
async fn signed_form(state: &AppState, req: Request) -> Result<Signed, ApiError> {
    let token = state
        .settings
        .twilio
        .auth_token
        .clone()
        .ok_or_else(|| ApiError::NotConfigured("twilio.auth_token is not configured".into()))?;
    let client = client_addr(state, &req);
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let headers: HeaderMap = req.headers().clone();
    let body = raw_body(req, state.settings.server.max_body_bytes).await?;
    let url = format!(
        "{}{}",
        state.settings.server.public_base_url, path_and_query
    );
    let header_str = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let sha256_keys: Vec<(&str, &[u8])> = state
        .settings
        .twilio
        .webhook_keys
        .iter()
        .map(|(id, secret)| (id.as_str(), secret.expose().as_bytes()))
        .collect();
    let verdict = signature::verify(
        &SignedRequest {
            url: &url,
            content_type: header_str("content-type"),
            body: &body,
            signature: header_str("x-twilio-signature"),
            signature_settings: header_str("x-twilio-webhooks-signature-settings"),
        },
        &SigningKeys {
            auth_token: token.expose().as_bytes(),
            sha256_keys: &sha256_keys,
        },
    );
    if let Err(reason) = verdict {
        metrics::counter!("pingate_webhook_rejected_total", "provider" => PROVIDER).increment(1);
        if let Err(refused) = state.shield.webhook(client, false) {
            let kind = EventKind::WebhookSignatureInvalid;
            state.shield.folder.refused(kind, client);
            return Err(refused.into());
        }
        let path = path_and_query.split('?').next().unwrap_or_default();
        let actor = format!("provider:{PROVIDER}");
        let reason = reason.to_string();
        let failure = Failure {
            kind: EventKind::WebhookSignatureInvalid,
            actor: &actor,
            source: client,
            path,
            reason: Some(&reason),
        };
        let now = state.clock.now_ms();
        let events = state.shield.folder.record(&failure, now);
        failure_audit::write(&state.store, now, events).await;
        return Err(ApiError::BadSignature);
    }
    state.shield.webhook(client, true)?;
    // A signed JSON body (bodySHA256) is authentic but is not a form: its
    // text must not be read as one, whatever it happens to contain.
    let is_form = header_str("content-type").is_some_and(|ct| {
        let media_type = ct.split(';').next().unwrap_or_default().trim();
        media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    if !is_form && !body.is_empty() {
        return Err(ApiError::BadRequest(
            "webhook bodies must be application/x-www-form-urlencoded".into(),
        ));
    }
    let form = Form::parse(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let idempotency = header_str("i-twilio-idempotency-token")
        .filter(|t| !t.is_empty() && t.len() <= 200)
        .map(|t| format!("idem:{t}"));
    Ok(Signed { form, idempotency })
}

fn twiml(body: String) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(twiml::CONTENT_TYPE),
    );
    resp
}

fn connect_to_agent(state: &AppState, r: twiml::Response) -> twiml::Response {
    let v = &state.settings.voice;
    match (v.route, v.dial_number.as_deref()) {
        (VoiceRoute::Dial, Some(n)) => r.dial(n),
        _ => r.enqueue(&v.queue),
    }
}

fn ask_for_account(state: &AppState, r: twiml::Response, prompt: &str) -> twiml::Response {
    let v = &state.settings.voice;
    let action = format!(
        "{}/webhooks/twilio/gather",
        state.settings.server.public_base_url
    );
    let mut g = Gather::new(&action);
    g.num_digits = None;
    g.timeout_secs = 8;
    g.finish_on_key = Some("#");
    g.prompt = Some(twiml::Say {
        text: prompt,
        voice: None,
        language: Some(&v.language),
    });
    // Falls through to the queue when the caller keys nothing.
    connect_to_agent(state, r.gather(g))
}

async fn voice(State(state): State<Arc<AppState>>, req: Request) -> Result<Response, ApiError> {
    let form = signed_form(&state, req).await?.form;
    let hook = VoiceWebhook::from_form(&form).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let decision = calls::receive(
        &state,
        InboundCall {
            provider: PROVIDER,
            provider_call_id: hook.call_sid.as_str(),
            from: &hook.from,
            to: &hook.to,
            attestation: hook.stir_verstat.as_deref(),
        },
    )
    .await?;
    let v = &state.settings.voice;
    let r = twiml::Response::new().say(&v.greeting, None, Some(&v.language));
    let r = if decision.ask_for_account {
        ask_for_account(&state, r, &v.ivr_prompt)
    } else {
        connect_to_agent(&state, r)
    };
    Ok(twiml(r.render()))
}

async fn gather(State(state): State<Arc<AppState>>, req: Request) -> Result<Response, ApiError> {
    let signed = signed_form(&state, req).await?;
    let hook =
        GatherWebhook::from_form(&signed.form).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let v = &state.settings.voice;
    let decision = match calls::gather(
        &state,
        PROVIDER,
        hook.call_sid.as_str(),
        hook.digits.as_deref(),
        signed.idempotency.as_deref(),
    )
    .await
    {
        Err(ServiceError::NotFound(_)) => GatherDecision::GiveUp,
        other => other?,
    };
    let r = twiml::Response::new();
    let r = match decision {
        GatherDecision::Identified => connect_to_agent(
            &state,
            r.say(
                "Thank you. Connecting you to support.",
                None,
                Some(&v.language),
            ),
        ),
        GatherDecision::TryAgain => ask_for_account(
            &state,
            r,
            "That account number was not recognised. Please enter it again, then press the pound key.",
        ),
        GatherDecision::GiveUp => connect_to_agent(
            &state,
            r.say(
                "An agent will help you identify your organisation.",
                None,
                Some(&v.language),
            ),
        ),
    };
    Ok(twiml(r.render()))
}

async fn status(State(state): State<Arc<AppState>>, req: Request) -> Result<Response, ApiError> {
    let signed = signed_form(&state, req).await?;
    let hook =
        StatusWebhook::from_form(&signed.form).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    // Twilio numbers each status callback of a call; the triple names one.
    let receipt = signed.idempotency.clone().or_else(|| {
        hook.sequence_number
            .map(|n| format!("status:{}:{}:{n}", hook.call_sid.as_str(), hook.call_status))
    });
    calls::status(
        &state,
        PROVIDER,
        hook.call_sid.as_str(),
        &hook.call_status,
        receipt.as_deref(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn message_status(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, ApiError> {
    let form = signed_form(&state, req).await?.form;
    let hook =
        MessageStatusWebhook::from_form(&form).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let now = state.clock.now_ms();
    let mut tx = state.store.begin(now).await.map_err(ServiceError::from)?;
    // The worker may be recording this send right now (see delivery::worker).
    tx.serialize_on(LockSpace::ProviderMessage, hook.message_sid.as_str())
        .await
        .map_err(ServiceError::from)?;
    let moved = messages::advance_provider_status(
        tx.conn(),
        hook.message_sid.as_str(),
        &hook.message_status,
        hook.error_code.as_deref(),
        now,
    )
    .await
    .map_err(ServiceError::from)?;
    if moved.is_none() {
        // Twilio can call back before the worker recorded the send.
        messages::keep_early_report(
            tx.conn(),
            hook.message_sid.as_str(),
            &hook.message_status,
            hook.error_code.as_deref(),
            now,
        )
        .await
        .map_err(ServiceError::from)?;
    }
    if let Some(m) = &moved {
        let outcome = if matches!(hook.message_status.as_str(), "undelivered" | "failed") {
            Outcome::Failure
        } else {
            Outcome::Success
        };
        let mut ev = NewEvent::new(
            EventKind::MessageDeliveryReported,
            format!("provider:{PROVIDER}"),
            outcome,
        )
        .org(&m.org_id)
        .detail("message_id", m.id.as_str())
        .detail("provider_status", hook.message_status.as_str());
        if let Some(code) = &hook.error_code {
            ev = ev.detail("error_code", code.as_str());
        }
        if let Some(c) = &m.call_id {
            ev = ev.call(c);
        }
        if let Some(c) = &m.challenge_id {
            ev = ev.challenge(c);
        }
        tx.audit(ev);
    }
    tx.commit().await.map_err(ServiceError::from)?;
    if let Some(m) = moved
        && m.kind == "pin"
        && matches!(m.status.as_str(), "undelivered" | "failed")
        && let Some(challenge) = &m.challenge_id
    {
        crate::service::resend::auto_fallback(&state, challenge, &m.channel).await;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
