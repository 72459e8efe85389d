//! Console sessions: exchanging an access token for a session (rate
//! limited per client address, audited), finding the live session behind a
//! cookie, and signing out. The browser holds the session token; only its
//! hash is stored.

use secrecy::{ExposeSecret, SecretString};

use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::ids;
use crate::store::principals::Principal;
use crate::store::{console_sessions, quotas};

use super::{ServiceError, ServiceResult};

/// The quota scope that counts sign-in attempts per client address.
const SIGN_IN_SCOPE: &str = "console_sign_in";

/// A new session: the token goes into the cookie, once.
pub struct NewSession {
    pub token: SecretString,
    pub principal: Principal,
}

/// Exchanges `access_token` for a session. `Ok(None)`: the token is not a
/// live principal's. Too many attempts from `source` answer `TooMany`
/// whatever the token, so the limit is no oracle.
pub async fn sign_in(
    state: &AppState,
    access_token: &SecretString,
    source: &str,
) -> ServiceResult<Option<NewSession>> {
    let principal = super::principals::authenticate(state, access_token).await?;
    let c = &state.settings.console;
    let window_ms = c.sign_in_window.0.as_millis() as i64;
    let now = state.clock.now_ms();
    let mut tx = state.store.begin(now).await?;
    let used = quotas::bump(tx.conn(), SIGN_IN_SCOPE, source, window_ms, now).await?;
    if used > i64::from(c.sign_in_attempts) {
        let retry_after_secs = ((quotas::window_end(now, window_ms) - now) / 1000).max(1) as u64;
        // One event per address and window, however long the flood.
        if used == i64::from(c.sign_in_attempts) + 1 {
            tx.audit(
                NewEvent::new(EventKind::RateLimitExceeded, "anonymous", Outcome::Failure)
                    .detail("quota", SIGN_IN_SCOPE)
                    .detail("source", source)
                    .detail("retry_after_secs", retry_after_secs),
            );
        }
        tx.commit().await?;
        return Err(ServiceError::TooMany {
            detail: "too many sign-in attempts from this address".into(),
            retry_after_secs,
        });
    }
    let Some(principal) = principal else {
        tx.audit(
            NewEvent::new(EventKind::AuthnTokenFail, "anonymous", Outcome::Failure)
                .detail("path", "/console/login")
                .detail("source", source),
        );
        tx.commit().await?;
        return Ok(None);
    };
    let token = ids::new_token("pgs_").map_err(|e| ServiceError::Internal(e.into()))?;
    console_sessions::insert(tx.conn(), &token.hash, &principal.id, now).await?;
    tx.audit(
        NewEvent::new(
            EventKind::ConsoleSignedIn,
            principal.actor(),
            Outcome::Success,
        )
        .detail("source", source),
    );
    tx.commit().await?;
    Ok(Some(NewSession {
        token: token.secret,
        principal,
    }))
}

/// The principal of a live session: not ended, not idle past
/// `console.idle_timeout`, younger than `console.absolute_timeout`, its
/// principal not disabled. `touch` records this use for the idle timeout
/// (a live page's event stream looks without touching).
pub async fn session(
    state: &AppState,
    session_token: &SecretString,
    touch: bool,
) -> ServiceResult<Option<Principal>> {
    let c = &state.settings.console;
    let now = state.clock.now_ms();
    let hash = ids::token_hash(session_token.expose_secret());
    let idle_since = now - c.idle_timeout.0.as_millis() as i64;
    let born_after = now - c.absolute_timeout.0.as_millis() as i64;
    let live = console_sessions::live(state.store.reader(), &hash, idle_since, born_after).await?;
    let Some((principal, last_seen)) = live else {
        return Ok(None);
    };
    // A second's precision is plenty for a timeout of minutes, and spares
    // the single writer one write per request.
    if touch && now - last_seen >= 1000 {
        let mut tx = state.store.begin(now).await?;
        console_sessions::touch(tx.conn(), &hash, now).await?;
        tx.commit().await?;
    }
    Ok(Some(principal))
}

/// Ends the session on every instance (they all read it from the database).
pub async fn sign_out(state: &AppState, session_token: &SecretString) -> ServiceResult<()> {
    // Read before the write: a transaction never waits for a second
    // connection from the pool.
    let principal = session(state, session_token, false).await?;
    let now = state.clock.now_ms();
    let hash = ids::token_hash(session_token.expose_secret());
    let mut tx = state.store.begin(now).await?;
    if console_sessions::end(tx.conn(), &hash, now)
        .await?
        .is_some()
        && let Some(p) = principal
    {
        tx.audit(NewEvent::new(
            EventKind::ConsoleSignedOut,
            p.actor(),
            Outcome::Success,
        ));
    }
    tx.commit().await?;
    Ok(())
}
