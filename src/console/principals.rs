//! Administrators' principals page: every principal with its role and
//! status, and **Disable** (a confirmation page, then a CSRF-checked post
//! to the same service `pingate agent disable` and the API use). Tokens
//! are never shown; adding and rotating stay on the command line and API.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::admin::ADMIN;
use super::error::ConsoleError;
use super::page::{self, csrf, time};
use super::session::{Posted, Viewer};
use super::words;
use crate::app::AppState;
use crate::service::{ServiceError, principals as service};
use crate::store;
use crate::store::principals::PrincipalRow;

#[derive(Deserialize, Default)]
pub struct Done {
    disabled: Option<String>,
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(q): Query<Done>,
) -> Result<Markup, ConsoleError> {
    viewer.require(&state, ADMIN).await?;
    let rows = all_principals(&state).await?;
    // Only a name that is in the table and disabled is confirmed, so the
    // query string cannot put words of its own on the page.
    let done = q
        .disabled
        .as_deref()
        .and_then(|n| rows.iter().find(|r| r.name == n && r.disabled_at.is_some()))
        .map(|r| {
            format!(
                "{} is disabled: its token and console sessions stopped working.",
                r.name
            )
        });
    Ok(list_page(
        &viewer,
        &rows,
        done.as_deref().map(|t| (true, t)),
    ))
}

fn list_page(viewer: &Viewer, rows: &[PrincipalRow], message: Option<(bool, &str)>) -> Markup {
    page::layout(
        viewer,
        "/console/principals",
        "Principals",
        html! {
            h1 { "Principals" }
            @if let Some((ok, text)) = message { (page::message(ok, text)) }
            p.hint { "Add or rotate with " code { "pingate agent ..." } " or the API; tokens are never shown again." }
            table.cards id="principals" {
                caption.skip { "Principals" }
                thead { tr { th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Created" }
                    th scope="col" { "Status" } th scope="col" { "Action" } } }
                tbody { @for r in rows { tr data-principal=(r.name) {
                    td data-label="Name" { (r.name) }
                    td data-label="Role" { (r.role.as_str()) }
                    td data-label="Created" { (time(r.created_at)) }
                    td data-label="Status" {
                        @match r.disabled_at { Some(at) => { span.badge.warn { "Disabled" } " " (time(at)) }, None => { span.badge.ok { "Active" } } }
                    }
                    td data-label="Action" {
                        @if r.disabled_at.is_none() {
                            // A GET: the button only opens the confirmation.
                            form method="get" action={ "/console/principals/" (r.name) "/disable" } {
                                button.secondary type="submit" aria-label={ "Disable " (r.name) } { "Disable" }
                            }
                        }
                    }
                } } }
            }
        },
    )
}

/// The confirmation: what disabling does, and the button that does it.
pub async fn confirm(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Result<Markup, ConsoleError> {
    viewer.require(&state, ADMIN).await?;
    let rows = all_principals(&state).await?;
    let row = rows
        .iter()
        .find(|r| r.name == name)
        .ok_or(ConsoleError::NotFound("principal"))?;
    let yourself = row.id == viewer.principal.id;
    Ok(page::layout(
        &viewer,
        "/console/principals",
        "Disable a principal",
        html! {
            p { a href="/console/principals" { "← Principals" } }
            h1 { "Disable " (row.name) "?" }
            @if row.disabled_at.is_some() {
                (page::message(false, "This principal is already disabled."))
            } @else {
                p { "The " (row.role.as_str()) " " strong { (row.name) } " is signed out of the console on every instance, and its access token stops working at once. The console cannot enable it again." }
                @if yourself { p.msg.error role="alert" { "This is you: you will be signed out." } }
                form.panel method="post" action={ "/console/principals/" (row.name) "/disable" } {
                    (csrf(&viewer))
                    p {
                        button.danger type="submit" data-focus { "Yes, disable " (row.name) }
                        " "
                        a.button.secondary href="/console/principals" { "Keep active" }
                    }
                }
            }
        },
    ))
}

pub async fn disable(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    p: Posted<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    p.viewer.require(&state, ADMIN).await?;
    match service::disable(&state, &p.viewer.principal.actor(), &name).await {
        Ok(row) => {
            Ok(Redirect::to(&format!("/console/principals?disabled={}", row.name)).into_response())
        }
        Err(e @ ServiceError::Conflict { .. }) => {
            let (status, text) = words::service_error(&e);
            let rows = all_principals(&state).await?;
            Ok((status, list_page(&p.viewer, &rows, Some((false, &text)))).into_response())
        }
        Err(ServiceError::NotFound(_)) => Err(ConsoleError::NotFound("principal")),
        Err(e) => Err(e.into()),
    }
}

/// Every principal, by name, a page of the store's listing at a time.
async fn all_principals(state: &AppState) -> Result<Vec<PrincipalRow>, ConsoleError> {
    const BATCH: i64 = 500;
    let mut rows: Vec<PrincipalRow> = Vec::new();
    loop {
        let after = rows.last().map(|r| r.name.clone());
        let page = store::principals::list(state.store.reader(), after.as_deref(), BATCH).await?;
        let done = (page.len() as i64) < BATCH;
        rows.extend(page);
        if done {
            return Ok(rows);
        }
    }
}
