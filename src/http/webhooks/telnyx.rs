//! Telnyx's webhooks (TeXML calls, Messaging API v2 events). Each handler
//! reads the raw body, checks `telnyx-signature-ed25519` over
//! `telnyx-timestamp|body` with `telnyx.public_key` at the server's clock,
//! refuses a signature it has seen before, and only then parses anything.
//! A refusal answers 403 and is audited once; nothing else is stored.

use crate::http::openapi::params::{self as p, param, path_params, string};
use crate::http::openapi::problem;
use crate::http::openapi::schemas::{schemas, text};
use crate::providers::telnyx::webhook::Envelope;
use std::sync::Arc;
use utoipa::openapi::path::{Parameter, ParameterIn};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::{WebhookError, delivery_report, refuse, step_of};
use crate::app::AppState;
use crate::config::telnyx_public_key;
use crate::http::auth::client_addr;
use crate::ivr::Reply;
use crate::net::read_body;
use crate::providers::form::Form;
use crate::providers::telnyx::signature::{self, SignedRequest};
use crate::providers::telnyx::texml::{self, Target};
use crate::providers::telnyx::webhook::{Gather, MessageEvent, Status, Voice};
use crate::providers::telnyx::{GATHER_PATH, neutral};
use crate::service::calls::{self, InboundCall};
use crate::service::{ivr, webhook_receipts};

const PROVIDER: &str = "telnyx";

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/webhooks/telnyx/voice", post(voice))
        .route("/webhooks/telnyx/gather", post(gather))
        .route("/webhooks/telnyx/status", post(status))
        .route("/webhooks/telnyx/message-status", post(message_status))
}

/// Verifies the request and returns its raw body. Unsigned, badly signed,
/// stale and replayed requests are refused (403) and audited.
async fn signed_body(state: &AppState, req: Request) -> Result<Bytes, WebhookError> {
    let key = state
        .settings
        .telnyx
        .public_key
        .as_deref()
        .and_then(|k| telnyx_public_key(k).ok())
        .ok_or(WebhookError::NotConfigured("telnyx.public_key"))?;
    let client = client_addr(state, &req);
    let path = req.uri().path().to_string();
    let sig = header(&req, signature::SIGNATURE_HEADER);
    let timestamp = header(&req, signature::TIMESTAMP_HEADER);
    let body = read_body(req, state.settings.server.max_body_bytes).await?;
    let signed = SignedRequest {
        signature: sig.as_deref(),
        timestamp: timestamp.as_deref(),
        body: &body,
    };
    let now_secs = state.clock.now_ms().div_euclid(1000);
    if let Err(reason) = signature::verify(&key, &signed, now_secs) {
        return Err(refuse(state, PROVIDER, client, &path, &reason.to_string()).await);
    }
    // Within its 300 s a signature could be sent again: once only.
    let receipt = format!("sig:{}", sig.as_deref().unwrap_or_default().trim());
    if !webhook_receipts::first_delivery(state, PROVIDER, &receipt).await? {
        let reason = "the signature was seen before (replay)";
        return Err(refuse(state, PROVIDER, client, &path, reason).await);
    }
    state
        .shield
        .webhook(client, true)
        .map_err(WebhookError::Flooded)?;
    Ok(body)
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn signed_form(state: &AppState, req: Request) -> Result<Form, WebhookError> {
    let body = signed_body(state, req).await?;
    Form::parse(&body).map_err(WebhookError::malformed)
}

fn texml(state: &AppState, reply: &Reply) -> Response {
    let gather_url = format!("{}{GATHER_PATH}", state.settings.server.public_base_url);
    let target = Target {
        gather_url: &gather_url,
    };
    let mut resp = (StatusCode::OK, texml::render(reply, &target)).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(texml::CONTENT_TYPE),
    );
    resp
}

/// Incoming call (Telnyx TeXML)
///
/// Records the call idempotently by `CallSid`, classifies `From` and matches it against every org's registered numbers, as for every provider. A registered number is trusted when `ShakenStirAttestation` is `A` with `ShakenStirValidated` `true` (or `security.caller_id_trust = "any"`). The TeXML greets the caller, asks for the account number when no org matched, and enqueues (or dials) the agent. The request must carry `telnyx-signature-ed25519` and `telnyx-timestamp` (`telnyx.public_key` checks them over `timestamp|raw body`) before anything is parsed; an unsigned, badly signed, stale (more than 300 s) or replayed request answers 403 (`urn:pingate:problem:bad-signature`), is recorded as an `authn_webhook_signature_fail` audit event, and changes nothing else. Without `telnyx.public_key` it answers 503.
#[utoipa::path(
    post,
    path = "/webhooks/telnyx/voice",
    operation_id = "telnyxVoice",
    tag = "webhooks",
    params(SignedHeaders),
    request_body(content = Voice, content_type = "application/x-www-form-urlencoded"),
    security(()),
    responses(
        (status = 200, description = "TeXML for Telnyx to execute.", content_type = "text/xml; charset=utf-8", body = TeXML),
        problem::Webhook,
    )
)]
async fn voice(State(state): State<Arc<AppState>>, req: Request) -> Result<Response, WebhookError> {
    let form = signed_form(&state, req).await?;
    let hook = Voice::from_form(&form).map_err(WebhookError::malformed)?;
    let words = hook.attestation_words();
    let reply = ivr::answer(
        &state,
        InboundCall {
            provider: PROVIDER,
            provider_call_id: &hook.call_sid,
            from: &hook.from,
            to: &hook.to,
            attestation: words.as_deref(),
            attestation_level: neutral::attestation(
                hook.attestation.as_deref(),
                hook.validated.as_deref(),
            ),
        },
    )
    .await?;
    Ok(texml(&state, &reply))
}

/// Digits keyed into a TeXML gather
///
/// The account number (or a support-menu choice, by `step`) the caller keyed; the answer is the next TeXML. An org identified by keypad is never trusted. The request must carry `telnyx-signature-ed25519` and `telnyx-timestamp` (`telnyx.public_key` checks them over `timestamp|raw body`) before anything is parsed; an unsigned, badly signed, stale (more than 300 s) or replayed request answers 403 (`urn:pingate:problem:bad-signature`), is recorded as an `authn_webhook_signature_fail` audit event, and changes nothing else. Without `telnyx.public_key` it answers 503.
#[utoipa::path(
    post,
    path = "/webhooks/telnyx/gather",
    operation_id = "telnyxGather",
    tag = "webhooks",
    params(SignedHeaders, p::GatherStep),
    request_body(content = Gather, content_type = "application/x-www-form-urlencoded"),
    security(()),
    responses(
        (status = 200, description = "TeXML for Telnyx to execute.", content_type = "text/xml; charset=utf-8", body = TeXML),
        problem::Webhook,
    )
)]
async fn gather(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, WebhookError> {
    let step = step_of(&req)?;
    let form = signed_form(&state, req).await?;
    let hook = Gather::from_form(&form).map_err(WebhookError::malformed)?;
    let (sid, digits) = (hook.call_sid.as_str(), hook.digits.as_deref());
    // A replay was refused above: each delivery here is a first.
    let reply = ivr::keys(&state, PROVIDER, sid, step, digits, None).await?;
    Ok(texml(&state, &reply))
}

/// Call status callback (Telnyx TeXML)
///
/// A final `CallStatus` ends the call and cancels its pending challenges. The request must carry `telnyx-signature-ed25519` and `telnyx-timestamp` (`telnyx.public_key` checks them over `timestamp|raw body`) before anything is parsed; an unsigned, badly signed, stale (more than 300 s) or replayed request answers 403 (`urn:pingate:problem:bad-signature`), is recorded as an `authn_webhook_signature_fail` audit event, and changes nothing else. Without `telnyx.public_key` it answers 503.
#[utoipa::path(
    post,
    path = "/webhooks/telnyx/status",
    operation_id = "telnyxStatus",
    tag = "webhooks",
    params(SignedHeaders),
    request_body(content = Status, content_type = "application/x-www-form-urlencoded"),
    security(()),
    responses(
        (status = 204, description = "Recorded (or ignored)."),
        problem::Webhook,
    )
)]
async fn status(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, WebhookError> {
    let form = signed_form(&state, req).await?;
    let hook = Status::from_form(&form).map_err(WebhookError::malformed)?;
    if let Some(end) = neutral::call_end(&hook.call_status) {
        calls::ended(&state, PROVIDER, &hook.call_sid, end, None).await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// SMS delivery event (Telnyx Messaging API v2)
///
/// Advances the delivery status of an SMS that pingate sent through Telnyx (`delivered`, or `delivery_failed` → undelivered, `sending_failed` → failed), visible on the call under `challenges[].delivery`. Unknown message ids are accepted and ignored. The request must carry `telnyx-signature-ed25519` and `telnyx-timestamp` (`telnyx.public_key` checks them over `timestamp|raw body`) before anything is parsed; an unsigned, badly signed, stale (more than 300 s) or replayed request answers 403 (`urn:pingate:problem:bad-signature`), is recorded as an `authn_webhook_signature_fail` audit event, and changes nothing else. Without `telnyx.public_key` it answers 503.
#[utoipa::path(
    post,
    path = "/webhooks/telnyx/message-status",
    operation_id = "telnyxMessageStatus",
    tag = "webhooks",
    params(SignedHeaders),
    request_body(content = Envelope),
    security(()),
    responses(
        (status = 204, description = "Recorded (or ignored)."),
        problem::Webhook,
    )
)]
async fn message_status(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, WebhookError> {
    let body = signed_body(&state, req).await?;
    let event = MessageEvent::parse(&body).map_err(WebhookError::malformed)?;
    let words = (event.message_id, event.status, event.error_code);
    delivery_report(&state, PROVIDER, words, neutral::delivery_outcome).await
}

/// This provider's part of the OpenAPI document (merged in
/// `webhooks::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(voice, gather, status, message_status))]
pub struct Api;

path_params! {
    /// The headers (and query) this provider signs a request with.
    SignedHeaders => signed();
}

fn signed() -> Vec<Parameter> {
    vec![
        param(
            "telnyx-signature-ed25519",
            ParameterIn::Header,
            true,
            Some(
                "Base64 Ed25519 signature, by the account's key (`telnyx.public_key` checks it), of `telnyx-timestamp` + `|` + the raw body.",
            ),
            string(None, None),
        ),
        param(
            "telnyx-timestamp",
            ParameterIn::Header,
            true,
            Some(
                "Unix time in seconds when Telnyx signed the request; more than 300 s from pingate's clock (either way) is refused.",
            ),
            string(Some("^[0-9]{1,12}$"), None),
        ),
    ]
}

/// A TeXML document (`text/xml`), as `providers::telnyx::texml` writes it.
pub struct TeXML;

schemas! {
    TeXML => TeXML => text(Some("A TeXML `<Response>` (Telnyx's TwiML-compatible markup): `<Say>`, `<Gather>` posting to `/webhooks/telnyx/gather`, `<Redirect>`, `<Enqueue>` or `<Dial>`, `<Hangup>`.".into()), None, &["<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say language=\"en-US\">Thank you for calling support.</Say><Enqueue>support</Enqueue></Response>"]);
}
