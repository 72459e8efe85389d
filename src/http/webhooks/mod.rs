//! The providers' webhooks at the HTTP edge: each handler reads the raw
//! body, has its provider's module check the signature and parse the
//! request into a neutral event, calls a service, and renders the neutral
//! reply in the provider's markup. Refusals are audited here, once.

pub mod error;
pub mod plivo;
pub mod telnyx;
pub mod twilio;
pub mod vonage;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub use error::WebhookError;

/// The providers' webhooks in the OpenAPI document: each provider's
/// `Api`, under one tag.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    let mut doc = twilio::Api::openapi();
    doc.merge(telnyx::Api::openapi());
    doc.merge(plivo::Api::openapi());
    doc.merge(vonage::Api::openapi());
    doc
}

pub const OPENAPI_TAG: &str =
    "Signed callbacks from the telephony providers (Twilio, Telnyx, Plivo, Vonage).";

use crate::app::AppState;
use crate::audit::event::EventKind;
use crate::delivery::reports::DeliveryReport;
use crate::domain::message::DeliveryOutcome;
use crate::ivr::Step;
use crate::service::delivery_reports;
use crate::shield::client::ClientKey;
use crate::shield::failure_audit::{self, Failure};

/// Refuses a request whose signature (or freshness, or nonce) did not
/// hold: counted, charged to its address's budget of unsigned requests,
/// and audited (folded per address and window). `path` is without query.
pub async fn refuse(
    state: &AppState,
    provider: &'static str,
    client: ClientKey,
    path: &str,
    reason: &str,
) -> WebhookError {
    metrics::counter!("pingate_webhook_rejected_total", "provider" => provider).increment(1);
    if let Err(refused) = state.shield.webhook(client, false) {
        let kind = EventKind::WebhookSignatureInvalid;
        state.shield.folder.refused(kind, client);
        return WebhookError::Flooded(refused);
    }
    let actor = format!("provider:{provider}");
    let failure = Failure {
        kind: EventKind::WebhookSignatureInvalid,
        actor: &actor,
        source: client,
        path,
        reason: Some(reason),
    };
    let now = state.clock.now_ms();
    let events = state.shield.folder.record(&failure, now);
    failure_audit::write(&state.store, now, events).await;
    WebhookError::BadSignature
}

/// A delivery report in the provider's words: `outcome` maps its status to
/// a neutral one; an interim status changes nothing. Answers 204 either way.
pub(super) async fn delivery_report(
    state: &AppState,
    provider: &'static str,
    (message_id, status, error_code): (String, String, Option<String>),
    outcome: fn(&str) -> Option<DeliveryOutcome>,
) -> Result<Response, WebhookError> {
    if let Some(outcome) = outcome(&status) {
        let report = DeliveryReport {
            provider_message_id: message_id,
            outcome,
            provider_status: status,
            error_code,
        };
        delivery_reports::receive(state, provider, report).await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The step a gather answers, from the (signed) URL's `step` parameter;
/// none is the account-number step.
pub(super) fn step_of(req: &Request) -> Result<Step, WebhookError> {
    let query = req.uri().query().unwrap_or_default();
    let step = url_pairs(query).find(|(k, _)| k == "step").map(|(_, v)| v);
    match step {
        None => Ok(Step::Account),
        Some(name) => Step::parse(&name)
            .ok_or_else(|| WebhookError::UnknownStep(name.chars().take(32).collect())),
    }
}

fn url_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap_or_default()
        .into_iter()
}
