//! Reviewers' pages: the audit trail with the API's filters and cursor
//! paging, one event's detail, Verify log, and the latest signed
//! checkpoint as a download.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::ConsoleError;
use super::page::{self, time};
use super::session::Viewer;
use crate::app::AppState;
use crate::audit::event::{Event, EventKind};
use crate::clock::parse_rfc3339;
use crate::service::ServiceError;
use crate::service::checkpointer::{self, VerifyError};
use crate::store::audit::{self, AuditFilter};
use crate::store::checkpoints;
use crate::store::principals::Role;

const REVIEWER: &[Role] = &[Role::Reviewer];
const PAGE: i64 = 50;

#[derive(Deserialize, Default, Clone)]
pub struct Filters {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    org_id: String,
    #[serde(default)]
    call_id: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    outcome: String,
    after_seq: Option<i64>,
}

fn opt(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

impl Filters {
    /// The store filter, or the field that is wrong and why.
    fn filter(&self) -> Result<AuditFilter, (&'static str, &'static str)> {
        let when = |field: &'static str, s: &str| match opt(s) {
            None => Ok(None),
            Some(v) => parse_rfc3339(&v)
                .map(Some)
                .ok_or((field, "Use an RFC 3339 time such as 2026-12-01T09:00:00Z.")),
        };
        Ok(AuditFilter {
            from: when("from", &self.from)?,
            to: when("to", &self.to)?,
            org_id: opt(&self.org_id),
            call_id: opt(&self.call_id),
            actor: opt(&self.actor),
            kind: opt(&self.kind),
            outcome: opt(&self.outcome),
            after_seq: self.after_seq,
        })
    }

    fn next_page(&self, after: i64) -> String {
        let mut next = self.clone();
        next.after_seq = Some(after);
        let pairs = [
            ("from", next.from),
            ("to", next.to),
            ("org_id", next.org_id),
            ("call_id", next.call_id),
            ("actor", next.actor),
            ("kind", next.kind),
            ("outcome", next.outcome),
            ("after_seq", after.to_string()),
        ];
        let kept: Vec<_> = pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        format!(
            "/console/audit?{}",
            serde_urlencoded::to_string(kept).unwrap_or_default()
        )
    }
}

pub async fn page(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(f): Query<Filters>,
) -> Result<Markup, ConsoleError> {
    viewer.require(&state, REVIEWER).await?;
    let (events, bad) = match f.filter() {
        Ok(filter) => (
            audit::list(state.store.reader(), &filter, PAGE).await?,
            None,
        ),
        Err(bad) => (Vec::new(), Some(bad)),
    };
    let next = (events.len() as i64 == PAGE)
        .then(|| events.last().map(|e| f.next_page(e.seq)))
        .flatten();
    Ok(page::layout(
        &viewer,
        "/console/audit",
        "Audit",
        html! {
            h1 { "Audit" }
            div.row {
                form.inline method="get" action="/console/audit/verify" { button type="submit" { "Verify log" } }
                a.button.secondary href="/console/audit/checkpoint" download="checkpoint.txt" { "Download latest checkpoint" }
            }
            (filter_form(&f, bad))
            (events_table(&events))
            @if let Some(n) = next { p.pager { a href=(n) { "Next page" } } }
            @else if !events.is_empty() { p.pager.muted { "End of the log for these filters." } }
        },
    ))
}

fn text_field(id: &str, label: &str, value: &str, bad: Option<(&str, &str)>) -> Markup {
    let err = bad.filter(|(f, _)| *f == id).map(|(_, m)| m);
    html! {
        div {
            label for={ "f-" (id) } { (label) }
            @if let Some(m) = err {
                input id={ "f-" (id) } name=(id) type="text" value=(value) aria-invalid="true"
                    aria-describedby={ "f-" (id) "-error" } data-focus;
                p.field-error id={ "f-" (id) "-error" } { (m) }
            } @else {
                input id={ "f-" (id) } name=(id) type="text" value=(value);
            }
        }
    }
}

fn filter_form(f: &Filters, bad: Option<(&str, &str)>) -> Markup {
    html! {
        form.panel method="get" action="/console/audit" {
            div.filters {
                h2 { "Filters" }
                (text_field("from", "From (UTC, RFC 3339)", &f.from, bad))
                (text_field("to", "To (UTC, RFC 3339)", &f.to, bad))
                (text_field("org_id", "Organisation id", &f.org_id, bad))
                (text_field("call_id", "Call id", &f.call_id, bad))
                (text_field("actor", "Actor (e.g. agent:alice)", &f.actor, bad))
                div {
                    label for="f-kind" { "Kind" }
                    select id="f-kind" name="kind" {
                        option value="" { "any" }
                        @for k in EventKind::ALL {
                            option value=(k.as_str()) selected[f.kind == k.as_str()] { (k.as_str()) }
                        }
                    }
                }
                div {
                    label for="f-outcome" { "Outcome" }
                    select id="f-outcome" name="outcome" {
                        option value="" { "any" }
                        option value="success" selected[f.outcome == "success"] { "success" }
                        option value="failure" selected[f.outcome == "failure"] { "failure" }
                    }
                }
            }
            p { button type="submit" { "Apply filters" } " " a href="/console/audit" { "Clear" } }
        }
    }
}

fn events_table(events: &[Event]) -> Markup {
    html! {
        @if events.is_empty() { p role="status" { "No events match." } }
        @else {
            table.cards id="events" {
                caption.skip { "Audit events" }
                thead { tr { th scope="col" { "Seq" } th scope="col" { "At" } th scope="col" { "Kind" }
                    th scope="col" { "Actor" } th scope="col" { "Outcome" } th scope="col" { "Organisation" } th scope="col" { "Call" } } }
                tbody {
                    @for e in events {
                        tr {
                            td data-label="Seq" { a href={ "/console/audit/events/" (e.seq) } { (e.seq) } }
                            td data-label="At" { (time(e.at)) }
                            td data-label="Kind" { (e.kind) }
                            td data-label="Actor" { (e.actor) }
                            td data-label="Outcome" { span class={ "badge " (if e.outcome == "success" { "ok" } else { "bad" }) } { (e.outcome) } }
                            td data-label="Organisation" { (e.org_id.as_deref().unwrap_or("—")) }
                            td data-label="Call" { (e.call_id.as_deref().unwrap_or("—")) }
                        }
                    }
                }
            }
        }
    }
}

pub async fn event(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Path(seq): Path<i64>,
) -> Result<Markup, ConsoleError> {
    viewer.require(&state, REVIEWER).await?;
    let filter = AuditFilter {
        after_seq: Some(seq - 1),
        ..AuditFilter::default()
    };
    let e = audit::list(state.store.reader(), &filter, 1)
        .await?
        .into_iter()
        .find(|e| e.seq == seq)
        .ok_or(ConsoleError::NotFound("event"))?;
    let detail = serde_json::to_string_pretty(&e.detail).unwrap_or_default();
    Ok(page::layout(
        &viewer,
        "/console/audit",
        &format!("Event {seq}"),
        html! {
            p { a href="/console/audit" { "← Audit" } }
            h1 { "Event " (seq) ": " (e.kind) }
            dl.facts.panel {
                dt { "At" } dd { (time(e.at)) }
                dt { "Kind" } dd { (e.kind) }
                dt { "Actor" } dd { (e.actor) }
                dt { "Outcome" } dd { (e.outcome) }
                dt { "Organisation" } dd { (e.org_id.as_deref().unwrap_or("—")) }
                dt { "Call" } dd { (e.call_id.as_deref().unwrap_or("—")) }
                dt { "Challenge" } dd { (e.challenge_id.as_deref().unwrap_or("—")) }
                dt { "Grant" } dd { (e.grant_id.as_deref().unwrap_or("—")) }
                dt { "Hash" } dd { code { (hex::encode(e.hash)) } }
                dt { "Previous hash" } dd { code { (hex::encode(e.prev_hash)) } }
            }
            h2 { "Detail" }
            pre.detail { (detail) }
        },
    ))
}

pub async fn verify(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
) -> Result<Markup, ConsoleError> {
    viewer.require(&state, REVIEWER).await?;
    let key = state.keys.signing.verifying_key();
    let result = checkpointer::verify_database(
        state.store.reader(),
        &state.settings.audit.origin,
        &key,
        None,
        |_| {},
    )
    .await;
    let body = match result {
        Ok(v) => html! {
            p.msg.ok role="status" tabindex="-1" data-focus id="verify-result" {
                "The log is intact: " (v.events) " events and " (v.checkpoints) " signed checkpoints checked."
            }
            p { "Root: " code { (hex::encode(v.root)) } }
        },
        Err(VerifyError::Broken(err)) => html! {
            p.msg.error role="alert" tabindex="-1" data-focus id="verify-result" {
                "The log is NOT intact. First bad event: " (err.seq) ". " (err.reason)
            }
            p { a href={ "/console/audit/events/" (err.seq) } { "Open event " (err.seq) } }
        },
        Err(e @ VerifyError::Read(_)) => return Err(ServiceError::Internal(e.into()).into()),
    };
    Ok(page::layout(
        &viewer,
        "/console/audit",
        "Verify log",
        html! {
            p { a href="/console/audit" { "← Audit" } }
            h1 { "Verify log" }
            (body)
        },
    ))
}

/// Exactly the signed note `pingate audit verify --checkpoint FILE` reads.
pub async fn checkpoint(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
) -> Result<Response, ConsoleError> {
    viewer.require(&state, REVIEWER).await?;
    let latest = checkpoints::latest(state.store.reader())
        .await?
        .ok_or(ConsoleError::NotFound("checkpoint yet"))?;
    let mut resp = latest.text.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"checkpoint.txt\""),
    );
    Ok(resp)
}
