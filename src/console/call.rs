//! One call's page: verdict and why, attaching the org, sending the PIN,
//! delivery status, checking the PIN, the grant with its countdown, the
//! call's end. Rendered whole from the database, so a reload loses nothing
//! and the live stream can send the same rendering when anything changes.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::ConsoleError;
use super::live;
use super::page::{self, csrf, time};
use super::session::Viewer;
use super::words;
use crate::app::AppState;
use crate::clock::{Millis, rfc3339};
use crate::domain::org::OrgProfile;
use crate::domain::verification::{CallStatus, ChallengeStatus, Verification, grant_active};
use crate::service::challenges::effective_status;
use crate::store::calls::CallRow;
use crate::store::challenges::ChallengeRow;
use crate::store::grants::GrantRow;
use crate::store::messages::MessageRow;
use crate::store::principals::Role;
use crate::store::{self};

pub const AGENT: &[Role] = &[Role::Agent];

/// Everything the page shows, read in one go.
pub struct CallModel {
    pub call: CallRow,
    pub org: Option<OrgProfile>,
    pub challenges: Vec<ChallengeRow>,
    pub messages: Vec<MessageRow>,
    pub grants: Vec<GrantRow>,
    pub now: Millis,
    pub max_sends: i64,
}

impl CallModel {
    pub async fn load(state: &AppState, call_id: &str) -> Result<CallModel, ConsoleError> {
        if !crate::ids::looks_like("call", call_id) {
            return Err(ConsoleError::NotFound("call"));
        }
        let pool = state.store.reader();
        let call = store::calls::get(pool, call_id)
            .await?
            .ok_or(ConsoleError::NotFound("call"))?;
        let org = match &call.org_id {
            Some(id) => store::orgs::get(pool, id).await?,
            None => None,
        };
        Ok(CallModel {
            challenges: store::challenges::for_call(pool, call_id).await?,
            messages: store::messages::for_call(pool, call_id).await?,
            grants: store::grants::for_call(pool, call_id).await?,
            org,
            call,
            now: state.clock.now_ms(),
            max_sends: i64::from(state.settings.pin.max_sends),
        })
    }

    fn active(&self) -> bool {
        self.call.status == CallStatus::Active
    }

    fn latest_challenge(&self) -> Option<&ChallengeRow> {
        self.challenges.last()
    }

    fn registered(&self) -> bool {
        match (&self.org, &self.call.caller_e164) {
            (Some(org), Some(n)) => org.registered_numbers.iter().any(|r| r.as_str() == n),
            _ => false,
        }
    }
}

/// Where a confirmation or refusal is shown (next to the control it is about).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Org,
    Send,
    Pin,
    Grant,
}

pub struct Feedback {
    pub ok: bool,
    pub field: Field,
    pub text: String,
    /// The refusal is that another agent handles the call: offer Take over.
    pub take_over: bool,
}

impl Feedback {
    fn at(&self, field: Field) -> Option<&Feedback> {
        (self.field == field).then_some(self)
    }
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

/// What a successful action said, by the code it redirected with: fixed
/// words, nothing taken from the request.
fn done_feedback(code: &str, m: &CallModel) -> Option<Feedback> {
    let attempts_left = m
        .latest_challenge()
        .map(|c| (c.max_attempts - c.attempts).max(0))
        .unwrap_or(0);
    let (field, text) = match code {
        "attached" => (Field::Org, "Organisation attached.".to_string()),
        "sent" => (
            Field::Send,
            "PIN sent. Ask the caller to read it back.".into(),
        ),
        "resent" => (Field::Send, "The same PIN was sent again.".into()),
        "cancelled" => (Field::Send, "Verification cancelled.".into()),
        "wrong" => (
            Field::Pin,
            format!(
                "Wrong PIN. {attempts_left} attempt{} left.",
                if attempts_left == 1 { "" } else { "s" }
            ),
        ),
        "locked" => (
            Field::Pin,
            "Wrong PIN, and no attempts are left: this PIN is locked.".into(),
        ),
        "verified" => (Field::Grant, "Verified: access granted.".into()),
        "granted" => (Field::Grant, "Access granted.".into()),
        "revoked" => (Field::Grant, "Access revoked.".into()),
        "taken" => (Field::Org, "You now handle this call.".into()),
        _ => return None,
    };
    let ok = !matches!(code, "wrong" | "locked");
    Some(Feedback {
        ok,
        field,
        text,
        take_over: false,
    })
}

pub async fn page(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Path(call_id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Markup, ConsoleError> {
    viewer.require(&state, AGENT).await?;
    let model = CallModel::load(&state, &call_id).await?;
    let feedback = q.done.as_deref().and_then(|c| done_feedback(c, &model));
    Ok(render_page(&viewer, &model, feedback.as_ref()))
}

pub fn render_page(viewer: &Viewer, m: &CallModel, feedback: Option<&Feedback>) -> Markup {
    let inner = fragment(viewer, m, feedback);
    // The stream starts from what this page shows; feedback is not part of
    // the live state.
    let version = live::version(&fragment(viewer, m, None));
    let url = format!("/console/calls/{}/live?v={version}", m.call.id);
    page::layout(
        viewer,
        "/console/calls",
        &format!("Call from {}", words::caller(&m.call)),
        html! {
            p { a href="/console/calls" { "← All calls" } }
            div id="live" data-live=(url) { (inner) }
        },
    )
}

/// The live part of the page: all of it but the shell.
pub fn fragment(viewer: &Viewer, m: &CallModel, feedback: Option<&Feedback>) -> Markup {
    let fb = |f: Field| feedback.and_then(|x| x.at(f));
    html! {
        (summary(viewer, m))
        div.grid {
            div {
                @if m.org.is_none() && m.active() { (attach_form(viewer, m, fb(Field::Org))) }
                @if let Some(f) = fb(Field::Org) {
                    // The attach form shows its own refusal.
                    @if f.ok || m.org.is_some() || !m.active() { (feedback_line(viewer, m, Some(f), "org-error")) }
                }
                (verification(viewer, m, fb(Field::Send), fb(Field::Pin)))
            }
            div { (grants(viewer, m, fb(Field::Grant))) (history(viewer, m)) }
        }
    }
}

/// Who handles the call, in words for `viewer`.
fn handler(viewer: &Viewer, m: &CallModel) -> String {
    match m.call.handled_by.as_deref() {
        None => "nobody yet".into(),
        Some(h) if h == viewer.principal.name => "you".into(),
        Some(h) => h.to_string(),
    }
}

/// Take over: the refusal's way out, and the same service as the API's.
fn take_over_form(viewer: &Viewer, m: &CallModel) -> Markup {
    html! {
        form.inline method="post" action={ "/console/calls/" (m.call.id) "/take" } {
            (csrf(viewer))
            button.secondary type="submit" { "Take over" }
        }
    }
}

fn summary(viewer: &Viewer, m: &CallModel) -> Markup {
    let c = &m.call;
    let badge = words::verdict(c.verification);
    let org_name = m.org.as_ref().map(|o| o.name.as_str());
    html! {
        h1 { "Call from " (words::caller(c)) " " span class={ "badge " (badge.tone) } { (badge.text) } }
        p id="verdict-reason" { (words::reason(c, org_name, m.registered())) }
        @if let Some(ended) = c.ended_at {
            p.msg.info role="status" id="call-ended" { "The call ended at " (time(ended)) "." }
        }
        dl.facts.panel {
            dt { "Caller" } dd { (words::caller(c)) }
            dt { "Caller kind" } dd { (words::caller_kind(&c.caller_kind)) }
            dt { "Attestation" } dd title=[c.attestation.as_deref()] { (words::attestation(c.attestation.as_deref())) }
            dt { "Organisation" } dd id="call-org" {
                @match &m.org { Some(o) => { (o.name) " (" (o.id.as_str()) ")" }, None => { "not known yet" } }
            }
            dt { "Handled by" } dd id="call-handler" { (handler(viewer, m)) }
            dt { "Line" } dd id="call-line" { (words::line(c.line.as_deref(), c.severity.as_deref(), c.inside_hours)) }
            dt { "Started" } dd { (time(c.created_at)) }
            @if c.ended_at.is_none() {
                dt { "Up for" } dd { span data-since=(rfc3339(c.created_at)) { "…" } }
            }
        }
    }
}

fn attach_form(viewer: &Viewer, m: &CallModel, error: Option<&Feedback>) -> Markup {
    let error = error.filter(|f| !f.ok);
    html! {
        form.panel method="post" action={ "/console/calls/" (m.call.id) "/org" } {
            (csrf(viewer))
            h2 { "Who is calling?" }
            label for="org-ref" { "Account number or organisation" }
            div.row {
                @if let Some(e) = error {
                    input id="org-ref" name="org" type="text" autocomplete="off" required
                        aria-invalid="true" aria-describedby="org-error" data-focus;
                    button type="submit" { "Attach" }
                    p.field-error id="org-error" role="alert" { (e.text) }
                    @if e.take_over { (take_over_form(viewer, m)) }
                } @else {
                    input id="org-ref" name="org" type="text" autocomplete="off" required;
                    button type="submit" { "Attach" }
                }
            }
            p.hint { "The account number the caller reads out, or the organisation's name." }
        }
    }
}

fn feedback_line(viewer: &Viewer, m: &CallModel, f: Option<&Feedback>, id: &str) -> Markup {
    html! {
        @if let Some(f) = f {
            @if f.ok { (page::message(true, &f.text)) }
            @else {
                p.field-error id=(id) role="alert" tabindex="-1" data-focus { (f.text) }
                @if f.take_over && m.active() { (take_over_form(viewer, m)) }
            }
        }
    }
}

/// Sending, resending, checking and cancelling the PIN.
fn verification(
    viewer: &Viewer,
    m: &CallModel,
    send_fb: Option<&Feedback>,
    pin_fb: Option<&Feedback>,
) -> Markup {
    let Some(org) = &m.org else { return html! {} };
    let v = Some(m.call.verification);
    if v == Some(Verification::TrustedNumber) {
        return html! {};
    }
    let pending = m
        .latest_challenge()
        .filter(|c| effective_status(c, m.now) == ChallengeStatus::Pending);
    html! {
        section.panel aria-labelledby="pin-heading" {
            h2 id="pin-heading" { "PIN verification" }
            (feedback_line(viewer, m, send_fb, "send-error"))
            @if let Some(ch) = pending {
                (challenge_panel(viewer, m, org, ch, pin_fb))
            } @else {
                @if let Some(last) = m.latest_challenge() { (last_outcome(m, last)) }
                @if let Some(f) = pin_fb { @if !f.ok { (feedback_line(viewer, m, Some(f), "pin-error")) } }
                @if m.active() && v == Some(Verification::PinRequired) {
                    (send_buttons(viewer, m, org))
                }
            }
        }
    }
}

fn last_outcome(m: &CallModel, ch: &ChallengeRow) -> Markup {
    let status = effective_status(ch, m.now);
    let text = match status {
        ChallengeStatus::Approved => "The caller read back the right PIN.",
        ChallengeStatus::Expired => {
            "The last PIN expired before the caller read it back. Send a new PIN."
        }
        ChallengeStatus::Locked => "The last PIN is locked: too many wrong attempts.",
        ChallengeStatus::Cancelled => "The last verification was cancelled.",
        ChallengeStatus::Superseded => "The last PIN was replaced.",
        ChallengeStatus::Pending => "",
    };
    let badge = words::challenge_status(status);
    html! {
        p id="challenge-status" {
            span class={ "badge " (badge.tone) } { (badge.text) } " " (text)
        }
    }
}

fn send_buttons(viewer: &Viewer, m: &CallModel, org: &OrgProfile) -> Markup {
    html! {
        div.row {
            @for ch in &org.channels {
                @if let Some((_, masked)) = org.destination(*ch).map(|d| (d.address, d.masked)) {
                    form.inline method="post" action={ "/console/calls/" (m.call.id) "/challenges" } {
                        (csrf(viewer))
                        input type="hidden" name="channel" value=(ch.as_str());
                        button type="submit" aria-describedby={ "dest-" (ch.as_str()) } {
                            "Send PIN by " (words::channel(ch.as_str()))
                        }
                        " "
                        span.muted id={ "dest-" (ch.as_str()) } { "to " (masked) }
                    }
                }
            }
        }
        p.hint { "The PIN goes to the organisation's registered contact; you never see it." }
    }
}

fn challenge_panel(
    viewer: &Viewer,
    m: &CallModel,
    org: &OrgProfile,
    ch: &ChallengeRow,
    pin_fb: Option<&Feedback>,
) -> Markup {
    let left = (ch.max_attempts - ch.attempts).max(0);
    let badge = words::challenge_status(ChallengeStatus::Pending);
    html! {
        p id="challenge-status" {
            span class={ "badge " (badge.tone) } { (badge.text) }
            " sent by " (words::channel(ch.channel.as_str())) " to " strong { (ch.destination) }
        }
        dl.facts {
            dt { "Expires" } dd { span.countdown data-countdown-to=(rfc3339(ch.expires_at)) { "…" } " (" (time(ch.expires_at)) ")" }
            dt { "Attempts left" } dd id="attempts-left" { (left) " of " (ch.max_attempts) }
            dt { "Sends" } dd { (ch.sends) " of " (m.max_sends) }
        }
        (delivery(m, ch))
        form method="post" action={ "/console/challenges/" (ch.id) "/check" } {
            (csrf(viewer))
            label for="pin" { "PIN" }
            div.row {
                @let invalid = pin_fb.is_some_and(|f| !f.ok);
                input id="pin" name="pin" type="text" inputmode="numeric" autocomplete="off"
                    required aria-invalid=(invalid) aria-describedby="pin-hint";
                button type="submit" { "Check PIN" }
            }
            p.hint id="pin-hint" { "Type the digits the caller reads back." }
            (feedback_line(viewer, m, pin_fb, "pin-error"))
        }
        div.row {
            form.inline method="post" action={ "/console/challenges/" (ch.id) "/resend" } {
                (csrf(viewer))
                button.secondary type="submit" { "Resend" }
            }
            @for other in org.channels.iter().filter(|c| **c != ch.channel) {
                @if let Some((_, masked)) = org.destination(*other).map(|d| (d.address, d.masked)) {
                    form.inline method="post" action={ "/console/challenges/" (ch.id) "/resend" } {
                        (csrf(viewer))
                        input type="hidden" name="channel" value=(other.as_str());
                        button.secondary type="submit" { "Send by " (words::channel(other.as_str())) " instead" }
                        " " span.muted { "to " (masked) }
                    }
                }
            }
            form.inline method="post" action={ "/console/challenges/" (ch.id) "/cancel" } {
                (csrf(viewer))
                button.secondary type="submit" { "Cancel verification" }
            }
        }
    }
}

fn delivery(m: &CallModel, ch: &ChallengeRow) -> Markup {
    let rows: Vec<&MessageRow> = m
        .messages
        .iter()
        .filter(|x| x.challenge_id.as_deref() == Some(ch.id.as_str()) && x.kind.as_str() == "pin")
        .collect();
    html! {
        h3 { "Delivery" }
        ul id="delivery" aria-live="polite" {
            @for x in rows {
                @let (badge, class) = words::delivery(x);
                li {
                    (words::channel(x.channel.as_str())) " to " (x.destination_masked) ": "
                    span class={ "badge " (badge.tone) } data-delivery=(x.status) { (badge.text) }
                    @if let Some(c) = class { " — " (c) }
                    " " span.muted { "(" (time(x.updated_at)) ")" }
                }
            }
        }
    }
}

/// The grant (with its live countdown and Revoke access), or Grant access
/// on a trusted-number call.
fn grants(viewer: &Viewer, m: &CallModel, fb: Option<&Feedback>) -> Markup {
    let me = &viewer.principal.name;
    // An agent sees only their own grants, as on the API.
    let active: Vec<&GrantRow> = m
        .grants
        .iter()
        .filter(|g| &g.agent == me && grant_active(m.now, g.expires_at, g.revoked_at))
        .collect();
    let trusted = m.call.verification == Verification::TrustedNumber;
    let mine = !active.is_empty();
    html! {
        section.panel aria-labelledby="grant-heading" {
            h2 id="grant-heading" { "Access" }
            (feedback_line(viewer, m, fb, "grant-error"))
            @for g in &active {
                @if g.basis.as_str() == "pin" { p.verified id="verified" { "Verified" } }
                p {
                    "Access to " strong { (m.org.as_ref().map_or(g.org_id.as_str(), |o| o.name.as_str())) }
                    " for " (g.agent) ", ends in "
                    span.countdown id="grant-countdown" data-countdown-to=(rfc3339(g.expires_at)) { "…" }
                    " (" (time(g.expires_at)) ")."
                }
                form method="post" action={ "/console/grants/" (g.id) "/revoke" } {
                    (csrf(viewer))
                    button.danger type="submit" { "Revoke access" }
                }
            }
            @if active.is_empty() {
                p.muted id="no-grant" { "No access granted on this call." }
            }
            @if trusted && !mine && m.active() {
                form method="post" action={ "/console/calls/" (m.call.id) "/grant" } {
                    (csrf(viewer))
                    button type="submit" { "Grant access" }
                    p.hint { "The caller is on a registered number with full attestation: no PIN is needed." }
                }
            }
        }
    }
}

/// Earlier PINs and the viewer's grants on this call.
fn history(viewer: &Viewer, m: &CallModel) -> Markup {
    let me = &viewer.principal.name;
    let grants: Vec<&GrantRow> = m.grants.iter().filter(|g| &g.agent == me).collect();
    html! {
        @if !m.challenges.is_empty() || !grants.is_empty() {
            section.panel aria-labelledby="history-heading" {
                h2 id="history-heading" { "History" }
                ul {
                    @for c in &m.challenges {
                        @let b = words::challenge_status(effective_status(c, m.now));
                        li { "PIN by " (words::channel(c.channel.as_str())) " at " (time(c.created_at)) ": "
                             span class={ "badge " (b.tone) } { (b.text) } }
                    }
                    @for g in &grants {
                        li { "Grant for " (g.agent) " at " (time(g.created_at)) ": "
                            @if g.revoked_at.is_some() { span.badge.warn { "Revoked" } }
                            @else if grant_active(m.now, g.expires_at, g.revoked_at) { span.badge.ok { "Active" } }
                            @else { span.badge.info { "Ended" } }
                        }
                    }
                }
            }
        }
    }
}
