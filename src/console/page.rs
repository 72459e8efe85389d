//! The page shell every console page shares (header, navigation by role,
//! sign-out), and small pieces: times, the CSRF field, messages.

use maud::{DOCTYPE, Markup, html};

use super::session::Viewer;
use crate::clock::{Millis, rfc3339};
use crate::store::principals::Role;

/// Where each role lands after sign-in.
pub fn start_page(role: Role) -> &'static str {
    match role {
        Role::Agent => "/console/calls",
        Role::Reviewer => "/console/audit",
        Role::Admin => "/console/orgs",
    }
}

fn nav_items(role: Role) -> &'static [(&'static str, &'static str)] {
    match role {
        Role::Agent => &[("/console/calls", "Calls")],
        Role::Reviewer => &[("/console/audit", "Audit")],
        Role::Admin => &[
            ("/console/orgs", "Organisations"),
            ("/console/principals", "Principals"),
        ],
    }
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · pingate" }
            link rel="stylesheet" href="/console/assets/console.css";
            script src="/console/assets/console.js" defer {}
        }
    }
}

/// A page for a signed-in viewer; `current` is the nav entry it belongs to.
pub fn layout(viewer: &Viewer, current: &str, title: &str, body: Markup) -> Markup {
    let p = &viewer.principal;
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "pingate console" }
                    nav aria-label="Console" {
                        @for (href, label) in nav_items(p.role) {
                            @if *href == current {
                                a href=(href) aria-current="page" { (label) }
                            } @else {
                                a href=(href) { (label) }
                            }
                        }
                    }
                    span.muted { "Signed in as " strong { (p.name) } " (" (p.role.as_str()) ")" }
                    form method="post" action="/console/logout" {
                        (csrf(viewer))
                        button.secondary type="submit" { "Sign out" }
                    }
                }
                main id="main" { (body) }
            }
        }
    }
}

/// A page without a session (sign-in, errors).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.top { span.brand { "pingate console" } }
                main id="main" { (body) }
            }
        }
    }
}

pub fn csrf(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name="csrf" value=(viewer.csrf); }
}

/// A time: UTC in the markup and on hover, the browser's local time shown.
pub fn time(ms: Millis) -> Markup {
    let utc = rfc3339(ms);
    html! { time datetime=(utc) title={ (utc) " UTC" } { (utc) } }
}

/// A confirmation or refusal, announced and focused so a screen reader
/// and a keyboard user both land on it.
pub fn message(ok: bool, text: &str) -> Markup {
    html! {
        @if ok {
            p.msg.ok role="status" tabindex="-1" data-focus { (text) }
        } @else {
            p.msg.error role="alert" tabindex="-1" data-focus { (text) }
        }
    }
}
