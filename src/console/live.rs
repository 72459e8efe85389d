//! Live pages through server-sent events. Each stream polls the database
//! every `console.live_poll` and sends the page's live region again when
//! its rendering changed: polling, not LISTEN/NOTIFY, because it works the
//! same on SQLite and PostgreSQL and sees every instance's writes, and a
//! rendering compare catches every change the page shows (docs/console.md
//! has the measurement). The stream re-checks the session each time, so a
//! sign-out anywhere ends it.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use futures_util::future::BoxFuture;
use maud::Markup;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::call::{self, AGENT, CallModel};
use super::calls::{self, CallsModel};
use super::error::ConsoleError;
use super::session::Viewer;
use crate::app::AppState;
use crate::service::console;

/// A short fingerprint of a rendering: the page tells its stream what it
/// shows, so the stream sends only what is newer.
pub fn version(m: &Markup) -> String {
    hex::encode(&Sha256::digest(m.0.as_bytes())[..12])
}

#[derive(Deserialize, Default)]
pub struct Shown {
    v: Option<String>,
}

type Render =
    Arc<dyn Fn(Arc<AppState>) -> BoxFuture<'static, Result<Markup, ConsoleError>> + Send + Sync>;

pub async fn calls(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(q): Query<Shown>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ConsoleError> {
    viewer.require(&state, AGENT).await?;
    let render: Render = Arc::new(|state| {
        Box::pin(async move { Ok(calls::fragment(&CallsModel::load(&state).await?)) })
    });
    Ok(stream(state, viewer, q.v.unwrap_or_default(), render))
}

pub async fn call(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Path(call_id): Path<String>,
    Query(q): Query<Shown>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ConsoleError> {
    viewer.require(&state, AGENT).await?;
    CallModel::load(&state, &call_id).await?;
    let who = viewer.clone();
    let render: Render = Arc::new(move |state| {
        let who = who.clone();
        let call_id = call_id.clone();
        Box::pin(async move {
            let m = CallModel::load(&state, &call_id).await?;
            Ok(call::fragment(&who, &m, None))
        })
    });
    Ok(stream(state, viewer, q.v.unwrap_or_default(), render))
}

struct Poll {
    state: Arc<AppState>,
    viewer: Viewer,
    shown: String,
    render: Render,
    stop: tokio::sync::watch::Receiver<bool>,
    ended: bool,
}

impl Poll {
    /// Waits for the next change worth sending; None ends the stream.
    async fn next(&mut self) -> Option<Event> {
        let every: Duration = self.state.settings.console.live_poll.0;
        while !self.ended {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = self.stop.wait_for(|s| *s) => return None,
            }
            match console::session(&self.state, &self.viewer.session, false).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    self.ended = true;
                    return Some(Event::default().event("signed-out").data("signed out"));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "live page: session check failed");
                    continue;
                }
            }
            match (self.render)(Arc::clone(&self.state)).await {
                Ok(html) => {
                    let v = version(&html);
                    if v != self.shown {
                        self.shown = v;
                        return Some(Event::default().event("update").data(html.0));
                    }
                }
                Err(e) => tracing::warn!(error = %e, "live page: render failed"),
            }
        }
        None
    }
}

fn stream(
    state: Arc<AppState>,
    viewer: Viewer,
    shown: String,
    render: Render,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stop = state.stopping.subscribe();
    let poll = Poll {
        state,
        viewer,
        shown,
        render,
        stop,
        ended: false,
    };
    let events =
        futures_util::stream::unfold(
            poll,
            |mut p| async move { p.next().await.map(|e| (Ok(e), p)) },
        );
    // A comment line every few seconds: a stream whose browser went away
    // fails to write it and ends, instead of polling for nobody.
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(5)))
}
