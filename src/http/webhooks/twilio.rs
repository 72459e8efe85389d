//! Twilio's webhooks. Each handler reads the raw body, checks the signature
//! against `server.public_base_url` + the request path and query, and only
//! then parses anything into neutral events. A bad signature answers 403
//! and is audited; nothing else is stored.

use crate::http::openapi::params::{self as p, param, path_params, string};
use crate::http::openapi::problem;
use crate::http::openapi::schemas::{schemas, text};
use std::sync::Arc;
use utoipa::openapi::path::{Parameter, ParameterIn};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::{WebhookError, delivery_report, refuse, step_of};
use crate::app::AppState;
use crate::http::auth::client_addr;
use crate::ivr::Reply;
use crate::net::read_body_of;
use crate::providers::twilio::form::{
    Form, GatherWebhook, MessageStatusWebhook, StatusWebhook, VoiceWebhook,
};
use crate::providers::twilio::render::{self, Target};
use crate::providers::twilio::signature::{self, SignedRequest, SigningKeys};
use crate::providers::twilio::{neutral, twiml};
use crate::service::calls::{self, InboundCall};
use crate::service::ivr;

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
async fn signed_form(state: &AppState, req: Request) -> Result<Signed, WebhookError> {
    let token = state
        .settings
        .twilio
        .auth_token
        .as_ref()
        .ok_or(WebhookError::NotConfigured("twilio.auth_token"))?;
    let client = client_addr(state, &req);
    // The headers and URI are kept, not copied, while the body is read.
    let (parts, body) = req.into_parts();
    let body = read_body_of(body, state.settings.server.max_body_bytes).await?;
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |p| p.as_str());
    let url = format!(
        "{}{}",
        state.settings.server.public_base_url, path_and_query
    );
    let headers = &parts.headers;
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
        let path = path_and_query.split('?').next().unwrap_or_default();
        return Err(refuse(state, PROVIDER, client, path, &reason.to_string()).await);
    }
    state
        .shield
        .webhook(client, true)
        .map_err(WebhookError::Flooded)?;
    // A signed JSON body (bodySHA256) is authentic but is not a form: its
    // text must not be read as one, whatever it happens to contain.
    let is_form = header_str("content-type").is_some_and(|ct| {
        let media_type = ct.split(';').next().unwrap_or_default().trim();
        media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    if !is_form && !body.is_empty() {
        return Err(WebhookError::NotForm);
    }
    let form = Form::parse(&body).map_err(WebhookError::malformed)?;
    let idempotency = header_str("i-twilio-idempotency-token")
        .filter(|t| !t.is_empty() && t.len() <= 200)
        .map(|t| format!("idem:{t}"));
    Ok(Signed { form, idempotency })
}

fn twiml(state: &AppState, reply: &Reply) -> Response {
    let gather_url = format!(
        "{}/webhooks/twilio/gather",
        state.settings.server.public_base_url
    );
    let target = Target {
        gather_url: &gather_url,
        workflow_sid: state.settings.twilio.workflow_sid.as_deref(),
    };
    let mut resp = (StatusCode::OK, render::render(reply, &target)).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(twiml::CONTENT_TYPE),
    );
    resp
}

/// Incoming call (Twilio voice webhook)
///
/// Records the call idempotently by `CallSid` (a retried webhook is not a second call), classifies `From` (`e164`, `withheld`, `client`, `sip`, `other`) and matches it against the registered numbers of every org. A registered number whose STIR/SHAKEN attestation (`StirVerstat`) satisfies `security.caller_id_trust` makes the call `trusted_number`; anything else is `pin_required`. The TwiML greets the caller and enqueues (or dials) the agent; when no org matched it first asks for the account number with a `<Gather>` that posts to `/webhooks/twilio/gather`. The request must carry a valid `X-Twilio-Signature` computed over `server.public_base_url` plus the request path and query (never the `Host` or `X-Forwarded-*` headers) and the POST parameters. The signature is checked over the raw body before anything is parsed; an unsigned or badly signed request answers 403 (`urn:pingate:problem:bad-signature`), is recorded as an `authn_webhook_signature_fail` audit event, and changes nothing else.
#[utoipa::path(
    post,
    path = "/webhooks/twilio/voice",
    operation_id = "twilioVoice",
    tag = "webhooks",
    params(SignedHeaders),
    request_body(content = VoiceWebhook, content_type = "application/x-www-form-urlencoded"),
    security(()),
    responses(
        (status = 200, description = "TwiML for Twilio to execute.", content_type = "text/xml; charset=utf-8", body = TwiML),
        problem::Webhook,
    )
)]
async fn voice(State(state): State<Arc<AppState>>, req: Request) -> Result<Response, WebhookError> {
    let form = signed_form(&state, req).await?.form;
    let hook = VoiceWebhook::from_form(&form).map_err(WebhookError::malformed)?;
    let reply = ivr::answer(
        &state,
        InboundCall {
            provider: PROVIDER,
            provider_call_id: hook.call_sid.as_str(),
            from: &hook.from,
            to: &hook.to,
            attestation: hook.stir_verstat.as_deref(),
            attestation_level: neutral::attestation(hook.stir_verstat.as_deref()),
        },
    )
    .await?;
    Ok(twiml(&state, &reply))
}

/// Account number or support-menu keys (Twilio gather webhook)
///
/// Looks up the org whose `account_number` equals `Digits` and attaches it to the call (`org_source` `ivr`); the call stays `pin_required` whatever the number. An unrecognised number is asked for again a limited number of times, then the call goes to the agent queue for the agent to identify the org (or, with `[support]`, on to the menus). With `step` (set by pingate in the gather's own action URL, so it is signed) the digits answer a support menu: `language`, `line`, `severity`, `offer`, or `continue` (no digits: the call's next menu); the reply is the next menu or the route (queue with a task, after-hours hours in words, or hang-up), and each choice is stored on the call and audited. The request must carry a valid `X-Twilio-Signature` computed over `server.public_base_url` plus the request path and query (never the `Host` or `X-Forwarded-*` headers) and the POST parameters. The signature is checked over the raw body before anything is parsed; an unsigned or badly signed request answers 403 (`urn:pingate:problem:bad-signature`), is recorded as an `authn_webhook_signature_fail` audit event, and changes nothing else.
#[utoipa::path(
    post,
    path = "/webhooks/twilio/gather",
    operation_id = "twilioGather",
    tag = "webhooks",
    params(SignedHeaders, p::GatherStep),
    request_body(content = GatherWebhook, content_type = "application/x-www-form-urlencoded"),
    security(()),
    responses(
        (status = 200, description = "TwiML for Twilio to execute.", content_type = "text/xml; charset=utf-8", body = TwiML),
        problem::Webhook,
    )
)]
async fn gather(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, WebhookError> {
    let step = step_of(&req)?;
    let signed = signed_form(&state, req).await?;
    let hook = GatherWebhook::from_form(&signed.form).map_err(WebhookError::malformed)?;
    let call_sid = hook.call_sid.as_str();
    let digits = hook.digits.as_deref();
    let receipt = signed.idempotency.as_deref();
    let reply = ivr::keys(&state, PROVIDER, call_sid, step, digits, receipt).await?;
    Ok(twiml(&state, &reply))
}

/// Call status callback
///
/// Records the call's progress. When the call ends (`completed`, `busy`, `failed`, `no-answer`, `canceled`) its pending challenges are cancelled and their queued PINs wiped. Grants already issued run until they expire or are revoked. The request must carry a valid `X-Twilio-Signature` computed over `server.public_base_url` plus the request path and query (never the `Host` or `X-Forwarded-*` headers) and the POST parameters. The signature is checked over the raw body before anything is parsed; an unsigned or badly signed request answers 403 (`urn:pingate:problem:bad-signature`), is recorded as an `authn_webhook_signature_fail` audit event, and changes nothing else.
#[utoipa::path(
    post,
    path = "/webhooks/twilio/status",
    operation_id = "twilioStatus",
    tag = "webhooks",
    params(SignedHeaders),
    request_body(content = StatusWebhook, content_type = "application/x-www-form-urlencoded"),
    security(()),
    responses(
        (status = 204, description = "Recorded (or already known: replays change nothing)."),
        problem::Webhook,
    )
)]
async fn status(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, WebhookError> {
    let signed = signed_form(&state, req).await?;
    let hook = StatusWebhook::from_form(&signed.form).map_err(WebhookError::malformed)?;
    let Some(end) = neutral::call_end(&hook.call_status) else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    // Twilio numbers each status callback of a call; the triple names one.
    let receipt = signed.idempotency.clone().or_else(|| {
        hook.sequence_number
            .map(|n| format!("status:{}:{}:{n}", hook.call_sid.as_str(), hook.call_status))
    });
    calls::ended(
        &state,
        PROVIDER,
        hook.call_sid.as_str(),
        end,
        receipt.as_deref(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// SMS delivery status callback
///
/// Advances the delivery status of an SMS that pingate sent (`delivered`, `undelivered`, `failed`, ...), visible on the call under `challenges[].delivery` and `notices`, and records a `message_sent` audit event. Unknown `MessageSid`s are accepted and ignored. The request must carry a valid `X-Twilio-Signature` computed over `server.public_base_url` plus the request path and query (never the `Host` or `X-Forwarded-*` headers) and the POST parameters. The signature is checked over the raw body before anything is parsed; an unsigned or badly signed request answers 403 (`urn:pingate:problem:bad-signature`), is recorded as an `authn_webhook_signature_fail` audit event, and changes nothing else.
#[utoipa::path(
    post,
    path = "/webhooks/twilio/message-status",
    operation_id = "twilioMessageStatus",
    tag = "webhooks",
    params(SignedHeaders),
    request_body(content = MessageStatusWebhook, content_type = "application/x-www-form-urlencoded"),
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
    let form = signed_form(&state, req).await?.form;
    let hook = MessageStatusWebhook::from_form(&form).map_err(WebhookError::malformed)?;
    let id = hook.message_sid.as_str().to_string();
    let words = (id, hook.message_status, hook.error_code);
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
            "X-Twilio-Signature",
            ParameterIn::Header,
            true,
            Some(
                "Base64 HMAC-SHA1 keyed with the account's auth token over the URL and the sorted POST parameters (or HMAC-SHA256 with the key named by `X-Twilio-Webhooks-Signature-Settings`).",
            ),
            string(None, None),
        ),
        param(
            "X-Twilio-Webhooks-Signature-Settings",
            ParameterIn::Header,
            false,
            Some(
                "`key=<id>,algorithm=HMAC_SHA256`: sign with the configured webhook key `<id>` instead.",
            ),
            string(None, None),
        ),
        param(
            "I-Twilio-Idempotency-Token",
            ParameterIn::Header,
            false,
            Some(
                "Twilio's delivery id: a retried delivery carrying a token already seen changes nothing (status callbacks without it are de-duplicated by `CallSid`, `CallStatus` and `SequenceNumber`; voice calls by `CallSid`).",
            ),
            string(None, Some(200)),
        ),
        param(
            "bodySHA256",
            ParameterIn::Query,
            false,
            Some(
                "For JSON bodies only: hex SHA-256 of the raw body; the signature then covers the URL alone.",
            ),
            string(Some("^[0-9a-fA-F]{64}$"), None),
        ),
    ]
}

/// A TwiML document (`text/xml`), as `providers::twilio::render` writes it.
pub struct TwiML;

schemas! {
    TwiML => TwiML => text(Some("A TwiML `<Response>`: `<Say>` greeting, optional `<Gather>` for the account number, then `<Enqueue>` to the agent queue (or `<Dial>`), as configured.".into()), None, &["<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say language=\"en-US\">Thank you for calling support.</Say><Enqueue>support</Enqueue></Response>"]);
}
