//! Admin overrides: an administrator lets an org whose PIN budgets are
//! spent (its failure ceiling, its challenge and check quotas) be served
//! again for a short while, with a reason, audited.

use std::time::Duration;

use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::clock::rfc3339;
use crate::ids;
use crate::store::orgs;
use crate::store::overrides::{self, OverrideRow};

use super::{ServiceError, ServiceResult};

/// The longest reason kept.
const MAX_REASON: usize = 500;

/// What an administrator asks for.
pub struct Request<'a> {
    pub actor: &'a str,
    pub org_id: &'a str,
    pub reason: &'a str,
    pub lasts: Duration,
}

/// Grants the override, audited as `org_override_granted`.
pub async fn grant(state: &AppState, req: Request<'_>) -> ServiceResult<OverrideRow> {
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(ServiceError::invalid(
            "reason",
            format!("say why, in 1 to {MAX_REASON} characters"),
        ));
    }
    let max = state.settings.limits.override_max.0;
    if req.lasts < Duration::from_secs(60) || req.lasts > max {
        return Err(ServiceError::invalid(
            "minutes",
            format!(
                "from 1 to {} minutes (limits.override_max)",
                max.as_secs() / 60
            ),
        ));
    }
    let now = state.clock.now_ms();
    let mut tx = state.store.begin(now).await?;
    if orgs::get_on(tx.conn(), req.org_id).await?.is_none() {
        return Err(ServiceError::NotFound("organisation"));
    }
    let row = OverrideRow {
        id: ids::new_id("ovr"),
        org_id: req.org_id.to_string(),
        reason: reason.to_string(),
        created_by: req.actor.to_string(),
        created_at: now,
        expires_at: now + req.lasts.as_millis() as i64,
    };
    overrides::insert(tx.conn(), &row).await?;
    tx.audit(
        NewEvent::new(EventKind::OrgOverrideGranted, req.actor, Outcome::Success)
            .org(&row.org_id)
            .detail("override_id", row.id.as_str())
            .detail("reason", row.reason.as_str())
            .detail("expires_at", rfc3339(row.expires_at)),
    );
    tx.commit().await?;
    Ok(row)
}
