//! Plivo's webhooks (Plivo XML calls, Message API callbacks). Each handler
//! reads the raw body, checks `X-Plivo-Signature-V3` over
//! `server.public_base_url` + the path and query, the sorted POST
//! parameters and `X-Plivo-Signature-V3-Nonce` with `plivo.auth_token`,
//! refuses a nonce it has seen before, and only then parses anything.
//! A refusal answers 403 and is audited once; nothing else is stored.

use crate::http::openapi::params::{self as p, param, path_params, string};
use crate::http::openapi::problem;
use crate::http::openapi::schemas::{schemas, text};
use std::sync::Arc;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::{WebhookError, delivery_report, refuse, step_of};
use crate::app::AppState;
use crate::http::auth::client_addr;
use crate::ivr::Reply;
use crate::net::read_body;
use crate::providers::form::Form;
use crate::providers::plivo::plivo_xml::{self, Target};
use crate::providers::plivo::signature::{self, Method, SignedRequest};
use crate::providers::plivo::webhook::{Answer, Hangup, Input, MessageStatus};
use crate::providers::plivo::{INPUT_PATH, neutral};
use crate::service::calls::{self, InboundCall};
use crate::service::{ivr, webhook_receipts};

const PROVIDER: &str = "plivo";

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/webhooks/plivo/answer", post(answer))
        .route("/webhooks/plivo/input", post(input))
        .route("/webhooks/plivo/hangup", post(hangup))
        .route("/webhooks/plivo/message-status", post(message_status))
}

/// Verifies the request and returns its form. Unsigned, badly signed and
/// replayed requests are refused (403) and audited.
async fn signed_form(state: &AppState, req: Request) -> Result<Form, WebhookError> {
    let token = state
        .settings
        .plivo
        .auth_token
        .clone()
        .ok_or(WebhookError::NotConfigured("plivo.auth_token"))?;
    let client = client_addr(state, &req);
    let path = req.uri().path().to_string();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map_or_else(|| path.clone(), |p| p.as_str().to_string());
    let url = format!("{}{path_and_query}", state.settings.server.public_base_url);
    let sig = header(&req, signature::SIGNATURE_HEADER);
    let nonce = header(&req, signature::NONCE_HEADER);
    let body = read_body(req, state.settings.server.max_body_bytes).await?;
    let verdict = signature::body_params(&body).and_then(|params| {
        let signed = SignedRequest {
            method: Method::Post,
            url: &url,
            params: &params,
            signature: sig.as_deref(),
            nonce: nonce.as_deref(),
        };
        signature::verify(token.expose().as_bytes(), &signed)
    });
    if let Err(reason) = verdict {
        return Err(refuse(state, PROVIDER, client, &path, &reason.to_string()).await);
    }
    // The signature has no time in it: a nonce is good once, ever (for as
    // long as `retention.webhook_receipts` keeps it).
    let receipt = format!("nonce:{}", nonce.as_deref().unwrap_or_default());
    if !webhook_receipts::first_delivery(state, PROVIDER, &receipt).await? {
        let reason = "the nonce was seen before (replay)";
        return Err(refuse(state, PROVIDER, client, &path, reason).await);
    }
    state
        .shield
        .webhook(client, true)
        .map_err(WebhookError::Flooded)?;
    Form::parse(&body).map_err(WebhookError::malformed)
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn plivo_xml(state: &AppState, reply: &Reply) -> Response {
    let input_url = format!("{}{INPUT_PATH}", state.settings.server.public_base_url);
    let target = Target {
        input_url: &input_url,
    };
    let mut resp = (StatusCode::OK, plivo_xml::render(reply, &target)).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(plivo_xml::CONTENT_TYPE),
    );
    resp
}

/// Incoming call (Plivo answer URL)
///
/// Records the call idempotently by `CallUUID`, turns `From` (digits without `+`) into E.164, classifies it and matches it against every org's registered numbers, as for every provider. Plivo reports no caller-ID attestation, so a registered number needs a PIN unless `security.caller_id_trust = "any"`. The Plivo XML greets the caller, asks for the account number when no org matched, and puts the caller in the queue's `<Conference>` (or dials the agent). The request must carry `X-Plivo-Signature-V3` and `X-Plivo-Signature-V3-Nonce` (`plivo.auth_token` checks them over the URL, the sorted parameters and the nonce) before anything is parsed; an unsigned or badly signed request, or one whose nonce was seen before, answers 403 (`urn:pingate:problem:bad-signature`), is recorded as an `authn_webhook_signature_fail` audit event, and changes nothing else. Without `plivo.auth_token` it answers 503.
#[utoipa::path(
    post,
    path = "/webhooks/plivo/answer",
    operation_id = "plivoAnswer",
    tag = "webhooks",
    params(SignedHeaders),
    request_body(content = Answer, content_type = "application/x-www-form-urlencoded"),
    security(()),
    responses(
        (status = 200, description = "Plivo XML for Plivo to execute.", content_type = "application/xml; charset=utf-8", body = PlivoXml),
        problem::Webhook,
    )
)]
async fn answer(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, WebhookError> {
    let form = signed_form(&state, req).await?;
    let hook = Answer::from_form(&form).map_err(WebhookError::malformed)?;
    let reply = ivr::answer(
        &state,
        InboundCall {
            provider: PROVIDER,
            provider_call_id: &hook.call_uuid,
            from: &hook.from,
            to: &hook.to,
            attestation: None,
            attestation_level: neutral::ATTESTATION,
        },
    )
    .await?;
    Ok(plivo_xml(&state, &reply))
}

/// Digits keyed into a Plivo GetDigits
///
/// The account number (or a support-menu choice, by `step`) the caller keyed; the answer is the next Plivo XML. An org identified by keypad is never trusted. The request must carry `X-Plivo-Signature-V3` and `X-Plivo-Signature-V3-Nonce` (`plivo.auth_token` checks them over the URL, the sorted parameters and the nonce) before anything is parsed; an unsigned or badly signed request, or one whose nonce was seen before, answers 403 (`urn:pingate:problem:bad-signature`), is recorded as an `authn_webhook_signature_fail` audit event, and changes nothing else. Without `plivo.auth_token` it answers 503.
#[utoipa::path(
    post,
    path = "/webhooks/plivo/input",
    operation_id = "plivoInput",
    tag = "webhooks",
    params(SignedHeaders, p::GatherStep),
    request_body(content = Input, content_type = "application/x-www-form-urlencoded"),
    security(()),
    responses(
        (status = 200, description = "Plivo XML for Plivo to execute.", content_type = "application/xml; charset=utf-8", body = PlivoXml),
        problem::Webhook,
    )
)]
async fn input(State(state): State<Arc<AppState>>, req: Request) -> Result<Response, WebhookError> {
    let step = step_of(&req)?;
    let form = signed_form(&state, req).await?;
    let hook = Input::from_form(&form).map_err(WebhookError::malformed)?;
    let (id, digits) = (hook.call_uuid.as_str(), hook.digits.as_deref());
    // A replay was refused above: each delivery here is a first.
    let reply = ivr::keys(&state, PROVIDER, id, step, digits, None).await?;
    Ok(plivo_xml(&state, &reply))
}

/// Call ended (Plivo hangup URL)
///
/// A final `CallStatus` ends the call and cancels its pending challenges. The request must carry `X-Plivo-Signature-V3` and `X-Plivo-Signature-V3-Nonce` (`plivo.auth_token` checks them over the URL, the sorted parameters and the nonce) before anything is parsed; an unsigned or badly signed request, or one whose nonce was seen before, answers 403 (`urn:pingate:problem:bad-signature`), is recorded as an `authn_webhook_signature_fail` audit event, and changes nothing else. Without `plivo.auth_token` it answers 503.
#[utoipa::path(
    post,
    path = "/webhooks/plivo/hangup",
    operation_id = "plivoHangup",
    tag = "webhooks",
    params(SignedHeaders),
    request_body(content = Hangup, content_type = "application/x-www-form-urlencoded"),
    security(()),
    responses(
        (status = 204, description = "Recorded (or ignored)."),
        problem::Webhook,
    )
)]
async fn hangup(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, WebhookError> {
    let form = signed_form(&state, req).await?;
    let hook = Hangup::from_form(&form).map_err(WebhookError::malformed)?;
    if let Some(end) = neutral::call_end(&hook.call_status) {
        calls::ended(&state, PROVIDER, &hook.call_uuid, end, None).await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// SMS status callback (Plivo Message API)
///
/// Advances the delivery status of an SMS that pingate sent through Plivo (`delivered`, `undelivered`, or `failed` / `rejected` → failed), visible on the call under `challenges[].delivery`; `queued` and `sent` change nothing. Unknown message ids are accepted and ignored. The request must carry `X-Plivo-Signature-V3` and `X-Plivo-Signature-V3-Nonce` (`plivo.auth_token` checks them over the URL, the sorted parameters and the nonce) before anything is parsed; an unsigned or badly signed request, or one whose nonce was seen before, answers 403 (`urn:pingate:problem:bad-signature`), is recorded as an `authn_webhook_signature_fail` audit event, and changes nothing else. Without `plivo.auth_token` it answers 503.
#[utoipa::path(
    post,
    path = "/webhooks/plivo/message-status",
    operation_id = "plivoMessageStatus",
    tag = "webhooks",
    params(SignedHeaders),
    request_body(content = MessageStatus, content_type = "application/x-www-form-urlencoded"),
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
    let form = signed_form(&state, req).await?;
    let hook = MessageStatus::from_form(&form).map_err(WebhookError::malformed)?;
    let words = (hook.message_uuid, hook.status, hook.error_code);
    delivery_report(&state, PROVIDER, words, neutral::delivery_outcome).await
}

/// This provider's part of the OpenAPI document (merged in
/// `webhooks::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(answer, input, hangup, message_status))]
pub struct Api;

path_params! {
    /// The headers (and query) this provider signs a request with.
    SignedHeaders => signed();
}

fn signed() -> Vec<Parameter> {
    vec![
        param(
            "X-Plivo-Signature-V3",
            ParameterIn::Header,
            true,
            Some(
                "Base64 HMAC-SHA256, keyed by `plivo.auth_token`, of the URL Plivo called (`server.public_base_url` + path, its query sorted) + the sorted POST parameters (name + value, no separators) + `.` + `X-Plivo-Signature-V3-Nonce`, as `plivo.utils.signature_v3` computes it. Several comma-separated values may be sent; one must match.",
            ),
            string(None, None),
        ),
        param(
            "X-Plivo-Signature-V3-Nonce",
            ParameterIn::Header,
            true,
            Some(
                "Plivo's one-time nonce, part of the signed text. A nonce seen before is a replay and is refused.",
            ),
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(128))
                .into(),
        ),
    ]
}

/// A Plivo XML document, as `providers::plivo::plivo_xml` writes it.
pub struct PlivoXml;

schemas! {
    PlivoXml => PlivoXML => text(Some("A Plivo XML `<Response>`: `<Speak>`, `<GetDigits>` posting to `/webhooks/plivo/input`, `<Redirect>`, `<Conference>` (the queue) or `<Dial>`, `<Hangup>`.".into()), None, &["<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Speak language=\"en-US\">Thank you for calling support.</Speak><Conference>support</Conference></Response>"]);
}
