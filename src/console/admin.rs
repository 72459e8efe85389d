//! Administrators' organisation pages: profiles listed, viewed and edited
//! with the import's validation, each error next to its field. The
//! org's contacts are shown masked only; an edit replaces a contact only
//! when a new one is typed.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::error::ConsoleError;
use super::page::{self, csrf};
use super::session::{Posted, Viewer};
use super::words;
use crate::app::AppState;
use crate::domain::org::{ImportError, OrgProfile, parse_org_json};
use crate::service::{ServiceError, orgs};
use crate::store;
use crate::store::principals::Role;

pub const ADMIN: &[Role] = &[Role::Admin];

pub async fn orgs(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
) -> Result<Markup, ConsoleError> {
    viewer.require(&state, ADMIN).await?;
    let rows = store::orgs::list(state.store.reader(), None, 500).await?;
    Ok(page::layout(
        &viewer,
        "/console/orgs",
        "Organisations",
        html! {
            h1 { "Organisations" }
            @if rows.is_empty() { p { "No organisations yet: import profiles with " code { "pingate org import FILE" } "." } }
            @else {
                table.cards id="orgs" {
                    caption.skip { "Organisations" }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Id" } th scope="col" { "Account number" }
                        th scope="col" { "Registered numbers" } th scope="col" { "Channels" } } }
                    tbody { @for o in &rows { tr {
                        td data-label="Name" { a href={ "/console/orgs/" (o.id.as_str()) } { (o.name) } }
                        td data-label="Id" { (o.id.as_str()) }
                        td data-label="Account number" { (o.account_number) }
                        td data-label="Registered numbers" { (o.registered_numbers.len()) }
                        td data-label="Channels" { (o.channels.iter().map(|c| words::channel(c.as_str())).collect::<Vec<_>>().join(", ")) }
                    } } }
                }
            }
        },
    ))
}

#[derive(Deserialize, Default)]
pub struct Saved {
    saved: Option<String>,
}

/// What the form shows: the stored profile, or what was typed.
struct Draft {
    name: String,
    account_number: String,
    numbers: String,
    channels: Vec<String>,
    language: String,
}

impl Draft {
    fn of(o: &OrgProfile) -> Draft {
        Draft {
            name: o.name.clone(),
            account_number: o.account_number.clone(),
            numbers: o
                .registered_numbers
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            channels: o.channels.iter().map(|c| c.as_str().to_string()).collect(),
            language: o.language.clone().unwrap_or_default(),
        }
    }
}

pub async fn org(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<Saved>,
) -> Result<Markup, ConsoleError> {
    viewer.require(&state, ADMIN).await?;
    let o = load(&state, &id).await?;
    Ok(org_page(
        &viewer,
        &o,
        &Draft::of(&o),
        &[],
        q.saved.is_some(),
    ))
}

async fn load(state: &AppState, id: &str) -> Result<OrgProfile, ConsoleError> {
    match orgs::get(state, id).await {
        Ok(o) => Ok(o),
        Err(ServiceError::NotFound(_)) => Err(ConsoleError::NotFound("organisation")),
        Err(e) => Err(e.into()),
    }
}

/// The form field an import error belongs to.
fn form_field(e: &ImportError) -> &str {
    match e.field.as_str() {
        f if f.starts_with("contacts.email") => "contact_email",
        f if f.starts_with("contacts.sms") => "contact_sms",
        f if f.starts_with("registered_numbers") => "registered_numbers",
        f if f.starts_with("account_number") => "account_number",
        f if f.starts_with("channels") => "channels",
        f if f.starts_with("name") => "name",
        f if f.starts_with("language") => "language",
        _ => "form",
    }
}

fn field_errors<'a>(errors: &'a [ImportError], field: &str) -> Vec<&'a str> {
    errors
        .iter()
        .filter(|e| form_field(e) == field)
        .map(|e| e.message.as_str())
        .collect()
}

fn input(id: &str, label: &str, value: &str, errors: &[ImportError], hint: Option<&str>) -> Markup {
    let errs = field_errors(errors, id);
    let first_bad = errors.first().is_some_and(|e| form_field(e) == id);
    html! {
        div {
            label for=(id) { (label) }
            input id=(id) name=(id) type="text" value=(value) autocomplete="off"
                aria-invalid=[(!errs.is_empty()).then_some("true")]
                aria-describedby={ (id) "-hint " (id) "-error" } data-focus[first_bad];
            @if let Some(h) = hint { p.hint id={ (id) "-hint" } { (h) } }
            @for e in &errs { p.field-error id={ (id) "-error" } { (e) } }
        }
    }
}

fn org_page(
    viewer: &Viewer,
    o: &OrgProfile,
    d: &Draft,
    errors: &[ImportError],
    saved: bool,
) -> Markup {
    let id = o.id.as_str();
    let email = o
        .contacts
        .email
        .as_ref()
        .map(|e| format!("now {}; leave empty to keep it", e.mask()));
    let sms = o
        .contacts
        .sms
        .as_ref()
        .map(|n| format!("now {}; leave empty to keep it", n.mask()));
    let number_errs = field_errors(errors, "registered_numbers");
    let channel_errs = field_errors(errors, "channels");
    let general = field_errors(errors, "form");
    html! {
        p { a href="/console/orgs" { "← Organisations" } }
        h1 { (o.name) " (" (id) ")" }
        @if saved { (page::message(true, "Saved.")) }
        @if !errors.is_empty() { (page::message(false, "Nothing was saved: correct the fields marked below.")) }
        @for e in general { p.field-error { (e) } }
        form.panel method="post" action={ "/console/orgs/" (id) } {
            (csrf(viewer))
            (input("name", "Name", &d.name, errors, None))
            (input("account_number", "Account number", &d.account_number, errors, Some("What the caller keys into the phone menu: 4 to 20 digits.")))
            div {
                label for="registered_numbers" { "Registered numbers" }
                textarea id="registered_numbers" name="registered_numbers" aria-describedby="numbers-hint registered_numbers-error"
                    aria-invalid=[(!number_errs.is_empty()).then_some("true")] { (d.numbers) }
                p.hint id="numbers-hint" { "One E.164 number per line, e.g. +14155550100." }
                @for e in &number_errs { p.field-error id="registered_numbers-error" { (e) } }
            }
            fieldset.checks aria-describedby="channels-error" {
                legend { "Channels" }
                @for c in ["email", "sms"] {
                    input type="checkbox" id={ "channel-" (c) } name="channels" value=(c) checked[d.channels.iter().any(|x| x == c)];
                    label for={ "channel-" (c) } { (words::channel(c)) }
                }
                @for e in &channel_errs { p.field-error id="channels-error" { (e) } }
            }
            (input("contact_email", "New email contact", "", errors, email.as_deref().or(Some("none set"))))
            (input("contact_sms", "New SMS contact", "", errors, sms.as_deref().or(Some("none set"))))
            (input("language", "Language", &d.language, errors, Some("Optional, e.g. en or zh-CN.")))
            p { button type="submit" { "Save" } }
        }
    }
}

fn value_of<'a>(form: &'a [(String, String)], key: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.trim())
}

/// The profile as the import reads it: typed values, and the stored
/// contacts where no new one was typed.
fn as_import(o: &OrgProfile, form: &[(String, String)]) -> (Value, Draft) {
    let d = Draft {
        name: value_of(form, "name").to_string(),
        account_number: value_of(form, "account_number").to_string(),
        numbers: value_of(form, "registered_numbers").to_string(),
        channels: form
            .iter()
            .filter(|(k, _)| k == "channels")
            .map(|(_, v)| v.clone())
            .collect(),
        language: value_of(form, "language").to_string(),
    };
    let mut contacts = Map::new();
    let typed = |k: &str| {
        Some(value_of(form, k))
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    if let Some(e) =
        typed("contact_email").or_else(|| o.contacts.email.as_ref().map(|e| e.as_str().to_string()))
    {
        contacts.insert("email".into(), Value::String(e));
    }
    if let Some(n) =
        typed("contact_sms").or_else(|| o.contacts.sms.as_ref().map(|n| n.as_str().to_string()))
    {
        contacts.insert("sms".into(), Value::String(n));
    }
    let numbers: Vec<&str> = d
        .numbers
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut v = json!({
        "id": o.id.as_str(), "name": d.name, "account_number": d.account_number,
        "registered_numbers": numbers, "channels": d.channels, "contacts": contacts,
    });
    if !d.language.is_empty() {
        v["language"] = Value::String(d.language.clone());
    }
    (v, d)
}

pub async fn save_org(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    p: Posted<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    p.viewer.require(&state, ADMIN).await?;
    let o = load(&state, &id).await?;
    let (value, draft) = as_import(&o, &p.form);
    let errors = match parse_org_json(&value) {
        Ok(profile) => match orgs::save_all(
            &state,
            &p.viewer.principal.actor(),
            std::slice::from_ref(&profile),
        )
        .await
        {
            Ok(_) => {
                return Ok(Redirect::to(&format!("/console/orgs/{id}?saved=1")).into_response());
            }
            Err(ServiceError::InvalidMany(errors)) => errors,
            Err(ServiceError::Invalid { field, message }) => vec![ImportError {
                org: id.clone(),
                field,
                message,
            }],
            Err(e) => return Err(e.into()),
        },
        Err(e) => e.errors,
    };
    let page = page::layout(
        &p.viewer,
        "/console/orgs",
        &o.name,
        org_page(&p.viewer, &o, &draft, &errors, false),
    );
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}
