//! Vonage's webhooks (Voice API calls, SMS API delivery receipts). Each
//! handler reads the raw body, checks the `Authorization: Bearer` JWT
//! (HS256 with `vonage.signature_secret`, `payload_hash` over the body,
//! `iat` within 300 s of the server's clock), refuses a `jti` it has seen
//! before, and only then parses anything. A refusal answers 403 and is
//! audited once; nothing else is stored. The answer webhook and the
//! delivery receipts may come as a GET (Vonage's default for answer_url):
//! the JWT then signs an empty body, so the query is read only after it held.
//! The SMS API signs its delivery receipts its own way (a `sig` parameter
//! over the sorted parameters, and a `timestamp`): a receipt without a JWT
//! must carry that, fresh and not seen before.

use std::sync::Arc;

use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::{WebhookError, delivery_report, refuse, step_of};
use crate::app::AppState;
use crate::http::auth::client_addr;
use crate::http::openapi::params::{self as p, param, path_params, string};
use crate::http::openapi::problem;
use crate::http::openapi::schemas::schemas;
use crate::ivr::Reply;
use crate::net::read_body;
use crate::providers::vonage::ncco::{self, Target};
use crate::providers::vonage::webhook::{
    Answer, CallJson, Event, EventJson, Input, InputJson, Receipt, ReceiptFields, receipt_params,
};
use crate::providers::vonage::{INPUT_PATH, neutral};
use crate::providers::vonage::{signature, sms_signature};
use crate::service::calls::{self, InboundCall};
use crate::service::{ivr, webhook_receipts};
use crate::shield::client::ClientKey;

const PROVIDER: &str = "vonage";

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/webhooks/vonage/answer", get(answer_get).post(answer))
        .route("/webhooks/vonage/input", post(input))
        .route("/webhooks/vonage/event", post(event))
        .route(
            "/webhooks/vonage/message-status",
            get(message_status_get).post(message_status),
        )
}

/// A verified request: its method, query, content type and raw body.
struct Signed {
    method: Method,
    query: String,
    json: bool,
    body: Bytes,
}

impl Signed {
    /// The parameters of a GET (its query) or of a form POST (its body).
    fn params(&self) -> Result<String, WebhookError> {
        if self.method == Method::GET {
            return Ok(self.query.clone());
        }
        String::from_utf8(self.body.to_vec()).map_err(|_| WebhookError::NotForm)
    }
}

fn secret(state: &AppState) -> Result<&[u8], WebhookError> {
    state
        .settings
        .vonage
        .signature_secret
        .as_ref()
        .map(|s| s.expose().as_bytes())
        .filter(|s| !s.is_empty())
        .ok_or(WebhookError::NotConfigured("vonage.signature_secret"))
}

/// Verifies the request's JWT. Unsigned, badly signed, stale and replayed
/// requests are refused (403) and audited.
async fn signed(state: &AppState, req: Request) -> Result<Signed, WebhookError> {
    let secret = secret(state)?;
    let client = client_addr(state, &req);
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let method = req.method().clone();
    let authorization = header(&req, header::AUTHORIZATION.as_str());
    let json = is_json(&req);
    let body = read_body(req, state.settings.server.max_body_bytes).await?;
    let now_secs = state.clock.now_ms().div_euclid(1000);
    let claims = match signature::verify(secret, authorization.as_deref(), &body, now_secs) {
        Ok(claims) => claims,
        Err(reason) => {
            return Err(refuse(state, PROVIDER, client, &path, &reason.to_string()).await);
        }
    };
    // Within its 300 s a token could be sent again: each `jti` once only.
    once(state, client, &path, &format!("jti:{}", claims.jti)).await?;
    Ok(Signed {
        method,
        query,
        json,
        body,
    })
}

/// Refuses a signed request whose key (`jti`, `sig`) was seen before,
/// then charges the address's budget of signed requests.
async fn once(
    state: &AppState,
    client: ClientKey,
    path: &str,
    key: &str,
) -> Result<(), WebhookError> {
    if !webhook_receipts::first_delivery(state, PROVIDER, key).await? {
        let reason = "the signed request was seen before (replay)";
        return Err(refuse(state, PROVIDER, client, path, reason).await);
    }
    state
        .shield
        .webhook(client, true)
        .map_err(WebhookError::Flooded)
}

/// A delivery receipt signed the SMS API's way (`sig`, `timestamp`), read
/// from the query (GET), the form or the JSON object (POST).
async fn sms_signed(state: &AppState, req: Request) -> Result<Receipt, WebhookError> {
    let secret = secret(state)?;
    let client = client_addr(state, &req);
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let get = req.method() == Method::GET;
    let json = is_json(&req);
    let body = read_body(req, state.settings.server.max_body_bytes).await?;
    let text = if get { query.as_bytes() } else { &body[..] };
    let now_secs = state.clock.now_ms().div_euclid(1000);
    // Unreadable parameters carry no signature either: refused like one.
    let checked = receipt_params(text, json && !get)
        .map_err(|e| e.to_string())
        .and_then(
            |params| match sms_signature::verify(secret, &params, now_secs) {
                Ok(sig) => Ok((params, sig)),
                Err(reason) => Err(reason.to_string()),
            },
        );
    let (params, sig) = match checked {
        Ok(ok) => ok,
        Err(reason) => return Err(refuse(state, PROVIDER, client, &path, &reason).await),
    };
    once(state, client, &path, &format!("sig:{sig}")).await?;
    Receipt::from_params(&params).map_err(WebhookError::malformed)
}

fn is_json(req: &Request) -> bool {
    header(req, header::CONTENT_TYPE.as_str())
        .is_some_and(|c| c.to_ascii_lowercase().contains("json"))
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn ncco(state: &AppState, reply: &Reply) -> Response {
    let input_url = format!("{}{INPUT_PATH}", state.settings.server.public_base_url);
    let target = Target {
        input_url: &input_url,
    };
    let mut resp = (StatusCode::OK, ncco::render(reply, &target)).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(ncco::CONTENT_TYPE),
    );
    resp
}

/// Incoming call (Vonage answer_url, GET)
///
/// Records the call idempotently by `uuid`, reads `from` (digits without `+`) as E.164 and matches it against every org's registered numbers, as for every provider. Vonage reports no caller-ID attestation, so a registered number needs a PIN unless `security.caller_id_trust = "any"`. The NCCO greets the caller, asks for the account number when no org matched, and joins the agent queue (or dials). Vonage's default answer method: the parameters are in the query and the token hashes the empty body. The request must carry `Authorization: Bearer <JWT>` (HS256 with `vonage.signature_secret`, `payload_hash` = SHA-256 of the raw body, `iat` within 300 s, `jti` not seen before) and is checked before anything is parsed; an unsigned, badly signed, stale or replayed request answers 403 (`urn:pingate:problem:bad-signature`), is recorded as an `authn_webhook_signature_fail` audit event, and changes nothing else. Without `vonage.signature_secret` it answers 503.
#[utoipa::path(
    get,
    path = "/webhooks/vonage/answer",
    operation_id = "vonageAnswerGet",
    tag = "webhooks",
    params(SignedHeaders, CallJson),
    security(()),
    responses((status = 200, description = "An NCCO for Vonage to execute.", content_type = "application/json", body = Ncco), problem::Webhook)
)]
async fn answer_get(state: State<Arc<AppState>>, req: Request) -> Result<Response, WebhookError> {
    answer(state, req).await
}

/// Incoming call (Vonage answer_url, POST)
///
/// Records the call idempotently by `uuid`, reads `from` (digits without `+`) as E.164 and matches it against every org's registered numbers, as for every provider. Vonage reports no caller-ID attestation, so a registered number needs a PIN unless `security.caller_id_trust = "any"`. The NCCO greets the caller, asks for the account number when no org matched, and joins the agent queue (or dials). The request must carry `Authorization: Bearer <JWT>` (HS256 with `vonage.signature_secret`, `payload_hash` = SHA-256 of the raw body, `iat` within 300 s, `jti` not seen before) and is checked before anything is parsed; an unsigned, badly signed, stale or replayed request answers 403 (`urn:pingate:problem:bad-signature`), is recorded as an `authn_webhook_signature_fail` audit event, and changes nothing else. Without `vonage.signature_secret` it answers 503.
#[utoipa::path(
    post,
    path = "/webhooks/vonage/answer",
    operation_id = "vonageAnswer",
    tag = "webhooks",
    params(SignedHeaders),
    request_body(content = CallJson, content_type = "application/json"),
    security(()),
    responses((status = 200, description = "An NCCO for Vonage to execute.", content_type = "application/json", body = Ncco), problem::Webhook)
)]
async fn answer(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, WebhookError> {
    let req = signed(&state, req).await?;
    let hook = if req.method == Method::POST && req.json {
        Answer::from_json(&req.body)
    } else {
        Answer::from_query(&req.params()?)
    }
    .map_err(WebhookError::malformed)?;
    let reply = ivr::answer(
        &state,
        InboundCall {
            provider: PROVIDER,
            provider_call_id: &hook.call_id,
            from: &hook.from,
            to: &hook.to,
            attestation: None,
            attestation_level: neutral::ATTESTATION,
        },
    )
    .await?;
    Ok(ncco(&state, &reply))
}

/// Digits keyed into an NCCO input
///
/// The account number (or a support-menu choice, by `step`) the caller keyed; the answer is the next NCCO. Vonage reports a timed-out input here too, without digits. An org identified by keypad is never trusted. The request must carry `Authorization: Bearer <JWT>` (HS256 with `vonage.signature_secret`, `payload_hash` = SHA-256 of the raw body, `iat` within 300 s, `jti` not seen before) and is checked before anything is parsed; an unsigned, badly signed, stale or replayed request answers 403 (`urn:pingate:problem:bad-signature`), is recorded as an `authn_webhook_signature_fail` audit event, and changes nothing else. Without `vonage.signature_secret` it answers 503.
#[utoipa::path(
    post,
    path = "/webhooks/vonage/input",
    operation_id = "vonageInput",
    tag = "webhooks",
    params(SignedHeaders, p::GatherStep),
    request_body(content = InputJson, content_type = "application/json"),
    security(()),
    responses((status = 200, description = "An NCCO for Vonage to execute.", content_type = "application/json", body = Ncco), problem::Webhook)
)]
async fn input(State(state): State<Arc<AppState>>, req: Request) -> Result<Response, WebhookError> {
    let step = step_of(&req)?;
    let req = signed(&state, req).await?;
    let hook = Input::from_json(&req.body).map_err(WebhookError::malformed)?;
    let (id, digits) = (hook.call_id.as_str(), hook.digits.as_deref());
    // A replay was refused above: each delivery here is a first.
    let reply = ivr::keys(&state, PROVIDER, id, step, digits, None).await?;
    Ok(ncco(&state, &reply))
}

/// Call event (Vonage event_url)
///
/// A final `status` ends the call and cancels its pending challenges. The request must carry `Authorization: Bearer <JWT>` (HS256 with `vonage.signature_secret`, `payload_hash` = SHA-256 of the raw body, `iat` within 300 s, `jti` not seen before) and is checked before anything is parsed; an unsigned, badly signed, stale or replayed request answers 403 (`urn:pingate:problem:bad-signature`), is recorded as an `authn_webhook_signature_fail` audit event, and changes nothing else. Without `vonage.signature_secret` it answers 503.
#[utoipa::path(
    post,
    path = "/webhooks/vonage/event",
    operation_id = "vonageEvent",
    tag = "webhooks",
    params(SignedHeaders),
    request_body(content = EventJson, content_type = "application/json"),
    security(()),
    responses((status = 204, description = "Recorded (or ignored)."), problem::Webhook)
)]
async fn event(State(state): State<Arc<AppState>>, req: Request) -> Result<Response, WebhookError> {
    let req = signed(&state, req).await?;
    let hook = Event::from_json(&req.body).map_err(WebhookError::malformed)?;
    if let Some(end) = hook.status.as_deref().and_then(neutral::call_end) {
        calls::ended(&state, PROVIDER, &hook.call_id, end, None).await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// SMS delivery receipt (Vonage SMS API, GET)
///
/// Advances the delivery status of an SMS that pingate sent through Vonage's SMS API (`delivered`; `expired` or `rejected` → undelivered; `failed` → failed), visible on the call under `challenges[].delivery`. Unknown message ids are accepted and ignored. The receipt's fields are in the query; the token hashes the empty body. The receipt must carry the SMS API's `sig` and `timestamp` (see the Authorization parameter) or a bearer JWT as the voice webhooks do, checked before the receipt is read; an unsigned, badly signed, stale or replayed request answers 403 (`urn:pingate:problem:bad-signature`), is recorded as an `authn_webhook_signature_fail` audit event, and changes nothing else. Without `vonage.signature_secret` it answers 503.
#[utoipa::path(
    get,
    path = "/webhooks/vonage/message-status",
    operation_id = "vonageReceiptGet",
    tag = "webhooks",
    params(ReceiptSigned, ReceiptFields),
    security(()),
    responses((status = 204, description = "Recorded (or ignored)."), problem::Webhook)
)]
async fn message_status_get(
    state: State<Arc<AppState>>,
    req: Request,
) -> Result<Response, WebhookError> {
    message_status(state, req).await
}

/// SMS delivery receipt (Vonage SMS API)
///
/// Advances the delivery status of an SMS that pingate sent through Vonage's SMS API (`delivered`; `expired` or `rejected` → undelivered; `failed` → failed), visible on the call under `challenges[].delivery`. Unknown message ids are accepted and ignored. The receipt must carry the SMS API's `sig` and `timestamp` (see the Authorization parameter) or a bearer JWT as the voice webhooks do, checked before the receipt is read; an unsigned, badly signed, stale or replayed request answers 403 (`urn:pingate:problem:bad-signature`), is recorded as an `authn_webhook_signature_fail` audit event, and changes nothing else. Without `vonage.signature_secret` it answers 503.
#[utoipa::path(
    post,
    path = "/webhooks/vonage/message-status",
    operation_id = "vonageReceipt",
    tag = "webhooks",
    params(ReceiptSigned),
    request_body(
        content(
            (ReceiptFields = "application/json"),
            (ReceiptFields = "application/x-www-form-urlencoded"),
        ),
    ),
    security(()),
    responses((status = 204, description = "Recorded (or ignored)."), problem::Webhook)
)]
async fn message_status(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Response, WebhookError> {
    // The SMS API signs receipts with `sig`; a JWT is checked when sent.
    let receipt = if req.headers().contains_key(header::AUTHORIZATION) {
        let req = signed(&state, req).await?;
        let text = if req.method == Method::GET {
            req.query.as_bytes()
        } else {
            &req.body[..]
        };
        let params = receipt_params(text, req.json && req.method != Method::GET)
            .map_err(WebhookError::malformed)?;
        Receipt::from_params(&params).map_err(WebhookError::malformed)?
    } else {
        sms_signed(&state, req).await?
    };
    let words = (receipt.message_id, receipt.status, receipt.error_code);
    delivery_report(&state, PROVIDER, words, neutral::delivery_outcome).await
}

/// This provider's part of the OpenAPI document (merged in
/// `webhooks::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(answer_get, answer, input, event, message_status_get, message_status))]
pub struct Api;

path_params! {
    /// The voice webhooks' token.
    SignedHeaders => vec![param(
        "Authorization",
        ParameterIn::Header,
        true,
        Some("`Bearer <JWT>`: HS256 with `vonage.signature_secret`; its `payload_hash` claim is the hex SHA-256 of the raw body (of an empty body for a GET), its `iat` within 300 s of the server's clock, its `jti` never seen before."),
        string(None, None),
    )];
    /// A delivery receipt's token, or none (it then carries `sig`).
    ReceiptSigned => receipt_signed();
}

fn receipt_signed() -> Vec<Parameter> {
    vec![param(
        "Authorization",
        ParameterIn::Header,
        false,
        Some(
            "Optional: a bearer JWT checked as for the voice webhooks. Without it the receipt must carry the SMS API's own signature: `sig`, the hex HMAC-SHA256 with `vonage.signature_secret` of every other parameter sorted by name as `&name=value` (`&` and `=` in values as `_`), and a `timestamp` (Unix seconds) within 300 s; each `sig` once.",
        ),
        string(None, None),
    )]
}

/// An NCCO, as `providers::vonage::ncco` writes it.
pub struct Ncco;

schemas! {
    Ncco => NCCO => ArrayBuilder::new()
        .description(Some("A Vonage Call Control Object: `talk`, `input` (DTMF) posting to `/webhooks/vonage/input`, `conversation` (the queue) or `connect` (a dial); the call ends where the NCCO does."))
        .items(
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property(
                    "action",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(["talk", "input", "conversation", "connect"])),
                )
                .required("action"),
        )
        .examples([serde_json::json!([
            {"action": "talk", "text": "Thank you for calling support.", "language": "en-US"},
            {"action": "conversation", "name": "support"}
        ])])
        .into();
}
