//! The active calls list: every call still up, newest first, and the few
//! that just ended; the live stream re-renders it when anything changes.

use std::sync::Arc;

use axum::extract::State;
use maud::{Markup, html};

use super::call::AGENT;
use super::error::ConsoleError;
use super::live;
use super::page::{self, time};
use super::session::Viewer;
use super::words;
use crate::app::AppState;
use crate::clock::rfc3339;
use crate::store::calls::{self, CallFilter, CallRow};
use crate::store::orgs;

const ACTIVE_SHOWN: i64 = 200;
const ENDED_SHOWN: i64 = 10;

pub struct CallsModel {
    active: Vec<(CallRow, Option<String>)>,
    ended: Vec<(CallRow, Option<String>)>,
}

async fn with_org_names(
    state: &AppState,
    rows: Vec<CallRow>,
) -> Result<Vec<(CallRow, Option<String>)>, ConsoleError> {
    let mut out = Vec::with_capacity(rows.len());
    for c in rows {
        let name = match &c.org_id {
            Some(id) => orgs::get(state.store.reader(), id).await?.map(|o| o.name),
            None => None,
        };
        out.push((c, name));
    }
    Ok(out)
}

impl CallsModel {
    pub async fn load(state: &AppState) -> Result<CallsModel, ConsoleError> {
        let pool = state.store.reader();
        let filter = |status: &str| CallFilter {
            status: Some(status.into()),
            ..CallFilter::default()
        };
        let active = calls::list(pool, &filter("active"), ACTIVE_SHOWN).await?;
        let ended = calls::list(pool, &filter("ended"), ENDED_SHOWN).await?;
        Ok(CallsModel {
            active: with_org_names(state, active).await?,
            ended: with_org_names(state, ended).await?,
        })
    }
}

pub async fn page(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
) -> Result<Markup, ConsoleError> {
    viewer.require(&state, AGENT).await?;
    let model = CallsModel::load(&state).await?;
    let inner = fragment(&model);
    let url = format!("/console/calls/live?v={}", live::version(&inner));
    Ok(page::layout(
        &viewer,
        "/console/calls",
        "Active calls",
        html! {
            h1 { "Active calls" }
            p.hint { "New calls and changes appear here by themselves." }
            div id="live" data-live=(url) { (inner) }
        },
    ))
}

pub fn fragment(m: &CallsModel) -> Markup {
    html! {
        @if m.active.is_empty() {
            p id="no-calls" role="status" { "No active calls." }
        } @else {
            (table(&m.active, "calls", "Active calls"))
        }
        @if !m.ended.is_empty() {
            h2 { "Recently ended" }
            (table(&m.ended, "ended-calls", "Recently ended calls"))
        }
    }
}

fn table(rows: &[(CallRow, Option<String>)], id: &str, caption: &str) -> Markup {
    html! {
        table.cards id=(id) {
            caption.skip { (caption) }
            thead { tr {
                th scope="col" { "Caller" } th scope="col" { "Kind" } th scope="col" { "Attestation" }
                th scope="col" { "Verdict" } th scope="col" { "Organisation" } th scope="col" { "Line" }
                th scope="col" { "Started" }
                th scope="col" { "Up for" }
            } }
            tbody {
                @for (c, org) in rows {
                    @let badge = words::verdict(c.verification);
                    tr data-call-id=(c.id) {
                        td data-label="Caller" { a href={ "/console/calls/" (c.id) } { (words::caller(c)) } }
                        td data-label="Kind" { (words::caller_kind(&c.caller_kind)) }
                        td data-label="Attestation" title=[c.attestation.as_deref()] { (words::attestation(c.attestation.as_deref())) }
                        td data-label="Verdict" { span class={ "badge " (badge.tone) } { (badge.text) } }
                        td data-label="Organisation" { (org.as_deref().unwrap_or("—")) }
                        td data-label="Line" { (words::line(c.line.as_deref(), c.severity.as_deref(), c.inside_hours)) }
                        td data-label="Started" { (time(c.created_at)) }
                        td data-label="Up for" {
                            @match c.ended_at {
                                Some(end) => { "ended " (time(end)) }
                                None => { span data-since=(rfc3339(c.created_at)) { "…" } }
                            }
                        }
                    }
                }
            }
        }
    }
}
