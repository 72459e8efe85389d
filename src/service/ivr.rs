//! What a call hears: the answer to an inbound call, to the account-number
//! step and to the support menus, as provider-neutral replies. Without
//! `[support]` the replies are the greeting and the agent queue as always;
//! with it, the menus of `crate::ivr` decide and each choice is stored and
//! audited with the call.

use jiff::Timestamp;

use crate::app::AppState;
use crate::audit::event::{EventKind, NewEvent, Outcome};
use crate::config::VoiceRoute;
use crate::domain::language::Language;
use crate::domain::support::{OrgTerms, Severity};
use crate::ivr::prompts::phrases;
use crate::ivr::{Caller, Enqueue, Gather, Input, MenuEvent, Menus, Progress, Reply, Step, Verb};
use crate::store::calls::{self as call_store, CallRow, MenuProgress};
use crate::store::{orgs, quotas};

use super::ServiceResult;
use super::calls::{self, GatherDecision, InboundCall, lock_call};

/// Answers an inbound call: records it, greets, and asks what it needs.
pub async fn answer(state: &AppState, inbound: InboundCall<'_>) -> ServiceResult<Reply> {
    let decision = calls::receive(state, inbound).await?;
    let v = &state.settings.voice;
    let Some(menus) = menus(state) else {
        let r = Reply::new().say(&v.greeting, &v.language);
        return Ok(if decision.ask_for_account {
            r.append(ask_for_account(state, &v.ivr_prompt, None))
        } else {
            r.append(connect_to_agent(state))
        });
    };
    let org = org_of(state, &decision.call).await?;
    let caller = caller(&decision.call, &org);
    let progress = progress(&decision.call);
    let lang = menus.language(&caller, &progress);
    let greeting = if lang == menus.default_language {
        v.greeting.as_str()
    } else {
        phrases(lang).greeting
    };
    let r = Reply::new().say(greeting, menus.speech(lang));
    if decision.ask_for_account {
        let prompt = account_text(&menus, lang, &v.ivr_prompt, phrases(lang).account_prompt);
        let ask = ask_for_account(state, &prompt, Some(menus.speech(lang)));
        return Ok(r.append(ask));
    }
    let at = instant(state);
    Ok(r.append(menus.advance(&caller, &progress, Input::Continue, at).reply))
}

/// The keys a caller pressed at `step` (the account number, or a support
/// menu's choice): what every provider's keypad webhook asks. `receipt`
/// keys a retried delivery, for providers that retry without a nonce.
pub async fn keys(
    state: &AppState,
    provider: &'static str,
    provider_call_id: &str,
    step: Step,
    digits: Option<&str>,
    receipt: Option<&str>,
) -> ServiceResult<Reply> {
    match step {
        Step::Account => account_keys(state, provider, provider_call_id, digits, receipt).await,
        menu => menu_keys(state, provider, provider_call_id, menu, digits, receipt).await,
    }
}

/// The caller keyed (or did not key) an account number.
pub async fn account_keys(
    state: &AppState,
    provider: &'static str,
    provider_call_id: &str,
    digits: Option<&str>,
    receipt: Option<&str>,
) -> ServiceResult<Reply> {
    let decision = match calls::gather(state, provider, provider_call_id, digits, receipt).await {
        Err(super::ServiceError::NotFound(_)) => GatherDecision::GiveUp,
        other => other?,
    };
    let Some(menus) = menus(state) else {
        return Ok(legacy_account_reply(state, decision));
    };
    let Some(call) = call_store::by_provider_id_in(
        &mut *state
            .store
            .reader()
            .acquire()
            .await
            .map_err(crate::store::StoreError::from)?,
        provider,
        provider_call_id,
    )
    .await?
    else {
        return Ok(legacy_account_reply(state, GatherDecision::GiveUp));
    };
    let org = org_of(state, &call).await?;
    let caller = caller(&call, &org);
    let progress = progress(&call);
    let lang = menus.language(&caller, &progress);
    let p = phrases(lang);
    let speech = menus.speech(lang);
    let r = match decision {
        GatherDecision::TryAgain => {
            let retry = account_text(&menus, lang, ACCOUNT_RETRY, p.account_retry);
            return Ok(ask_for_account(state, &retry, Some(speech)));
        }
        GatherDecision::Identified => Reply::new().say(p.account_thanks, speech),
        GatherDecision::GiveUp => Reply::new().say(p.account_give_up, speech),
    };
    let at = instant(state);
    Ok(r.append(menus.advance(&caller, &progress, Input::Continue, at).reply))
}

/// Keys for a support menu (or none: `Step::Continue`). The choice and
/// its audit events are written with the call in one transaction.
pub async fn menu_keys(
    state: &AppState,
    provider: &'static str,
    provider_call_id: &str,
    step: Step,
    digits: Option<&str>,
    receipt: Option<&str>,
) -> ServiceResult<Reply> {
    let Some(menus) = menus(state) else {
        return Ok(connect_to_agent(state));
    };
    let mut reader = state
        .store
        .reader()
        .acquire()
        .await
        .map_err(crate::store::StoreError::from)?;
    let Some(found) =
        call_store::by_provider_id_in(&mut reader, provider, provider_call_id).await?
    else {
        return Ok(connect_to_agent(state));
    };
    drop(reader);
    let org = org_of(state, &found).await?;
    let now = state.clock.now_ms();
    let mut tx = state.store.begin(now).await?;
    let call = lock_call(&mut tx, &found.id).await?;
    let caller = caller(&call, &org);
    let before = progress(&call);
    let replayed = match receipt {
        Some(key) => !quotas::first_receipt(tx.conn(), provider, key, now).await?,
        None => false,
    };
    let input = match (replayed, digits) {
        (false, Some(d)) if step != Step::Continue => Input::Keys { step, digits: d },
        (false, None) if step != Step::Continue => Input::Keys { step, digits: "" },
        _ => Input::Continue,
    };
    let outcome = menus.advance(
        &caller,
        &before,
        input,
        Timestamp::from_millisecond(now).unwrap_or(Timestamp::UNIX_EPOCH),
    );
    record(&mut tx, provider, &call, &before, &outcome).await?;
    tx.commit().await?;
    for event in &outcome.events {
        count(event);
    }
    Ok(outcome.reply)
}

/// Writes what the menus changed on the call, with one audit event per step.
async fn record(
    tx: &mut crate::store::WriteTx,
    provider: &str,
    call: &CallRow,
    before: &Progress,
    outcome: &crate::ivr::Outcome,
) -> ServiceResult<()> {
    let now = tx.now();
    if outcome.progress != *before {
        let p = &outcome.progress;
        let stored = MenuProgress {
            language: p.language.map(Language::tag),
            line: p.line.as_deref(),
            severity: p.severity.map(Severity::as_str),
            inside_hours: p.inside_hours,
            menu_attempts: i64::from(p.menu_attempts),
        };
        call_store::set_menu_progress(tx.conn(), &call.id, &stored, now).await?;
    }
    for event in &outcome.events {
        tx.audit(audit_event(provider, call, event));
    }
    Ok(())
}

const ACCOUNT_RETRY: &str =
    "That account number was not recognised. Please enter it again, then press the pound key.";

fn legacy_account_reply(state: &AppState, decision: GatherDecision) -> Reply {
    let v = &state.settings.voice;
    match decision {
        GatherDecision::Identified => Reply::new()
            .say("Thank you. Connecting you to support.", &v.language)
            .append(connect_to_agent(state)),
        GatherDecision::TryAgain => ask_for_account(state, ACCOUNT_RETRY, None),
        GatherDecision::GiveUp => Reply::new()
            .say(
                "An agent will help you identify your organisation.",
                &v.language,
            )
            .append(connect_to_agent(state)),
    }
}

/// The configured text in the default language, the catalogue's otherwise.
fn account_text(menus: &Menus<'_>, lang: Language, configured: &str, catalogue: &str) -> String {
    if lang == menus.default_language {
        configured.to_string()
    } else {
        catalogue.to_string()
    }
}

/// Without support lines: the agent queue (or a direct dial).
fn connect_to_agent(state: &AppState) -> Reply {
    let v = &state.settings.voice;
    match (v.route, v.dial_number.as_deref()) {
        (VoiceRoute::Dial, Some(n)) => Reply::new().then(Verb::Dial(n.to_string())),
        _ => Reply::new().then(Verb::Enqueue(Enqueue {
            queue: v.queue.clone(),
            task: None,
        })),
    }
}

/// The account-number gather. With support lines a caller who keys
/// nothing goes on to the menus; without, to the agent queue.
fn ask_for_account(state: &AppState, prompt: &str, speech: Option<String>) -> Reply {
    let v = &state.settings.voice;
    let gather = Verb::Gather(Gather {
        step: Step::Account,
        num_digits: None,
        timeout_secs: 8,
        finish_on_key: Some('#'),
        prompts: vec![crate::ivr::Say {
            text: prompt.to_string(),
            language: speech.clone().unwrap_or_else(|| v.language.clone()),
        }],
        report_empty: false,
    });
    let r = Reply::new().then(gather);
    match speech {
        Some(_) => r.then(Verb::Continue(Step::Continue)),
        None => r.append(connect_to_agent(state)),
    }
}

fn menus(state: &AppState) -> Option<Menus<'_>> {
    let desk = state.support.as_deref()?;
    let support = state.settings.support.as_ref()?;
    let v = &state.settings.voice;
    Some(Menus {
        desk,
        support,
        default_language: Language::from_tag(&v.language).unwrap_or(Language::En),
        default_speech: &v.language,
        fallback_queue: &v.queue,
    })
}

fn instant(state: &AppState) -> Timestamp {
    Timestamp::from_millisecond(state.clock.now_ms()).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// What the menus need of the org: its contract and its language.
struct OrgFacts {
    terms: OrgTerms,
    language: Option<Language>,
}

/// Read with one statement whether or not the call has an org (an empty
/// id names none): a known account number must not answer slower than an
/// unknown one (tests/api/timing.rs counts the statements).
async fn org_of(state: &AppState, call: &CallRow) -> ServiceResult<OrgFacts> {
    let id = call.org_id.as_deref().unwrap_or("");
    let terms = orgs::menu_terms(state.store.reader(), id).await?;
    let (severity_a, language) = terms.unwrap_or((false, None));
    Ok(OrgFacts {
        terms: OrgTerms { severity_a },
        language: language.as_deref().and_then(Language::from_tag),
    })
}

fn caller<'a>(call: &'a CallRow, org: &OrgFacts) -> Caller<'a> {
    Caller {
        call_id: &call.id,
        org_id: call.org_id.as_deref(),
        terms: org.terms,
        org_language: org.language,
        verification: call.verification.as_str(),
    }
}

fn progress(call: &CallRow) -> Progress {
    Progress {
        language: call.language.as_deref().and_then(Language::from_tag),
        line: call.line.clone(),
        severity: call
            .severity
            .as_deref()
            .and_then(|s| Severity::parse(s).ok()),
        inside_hours: call.inside_hours.map(|v| v == 1),
        menu_attempts: u32::try_from(call.menu_attempts).unwrap_or(u32::MAX),
    }
}

fn audit_event(provider: &str, call: &CallRow, event: &MenuEvent) -> NewEvent {
    let new = |kind, outcome| {
        NewEvent::new(kind, format!("provider:{provider}"), outcome)
            .org_opt(call.org_id.clone())
            .call(&call.id)
    };
    match event {
        MenuEvent::LanguageChosen {
            language,
            defaulted,
        } => new(EventKind::CallLanguageChosen, Outcome::Success)
            .detail("language", language.tag())
            .detail("defaulted", *defaulted),
        MenuEvent::InvalidKey { step, attempt } => {
            new(EventKind::CallMenuInvalid, Outcome::Failure)
                .detail("menu", step.as_str())
                .detail("attempt", *attempt)
        }
        MenuEvent::LineChosen { line } => {
            new(EventKind::CallLineChosen, Outcome::Success).detail("line", line.as_str())
        }
        MenuEvent::SeverityRefused { offered } => {
            new(EventKind::CallSeverityRefused, Outcome::Failure)
                .detail("severity", "A")
                .detail("reason", "no advanced support contract")
                .detail("offered", offered.map(|s| s.as_str()).unwrap_or(""))
        }
        MenuEvent::Routed {
            line,
            severity,
            defaulted,
            inside_hours,
            queue,
            priority,
        } => new(EventKind::CallRouted, Outcome::Success)
            .detail("line", line.as_str())
            .detail("severity", severity.map(|s| s.as_str()).unwrap_or(""))
            .detail("severity_defaulted", *defaulted)
            .detail("inside_hours", *inside_hours)
            .detail("queue", queue.as_deref().unwrap_or(""))
            .detail("priority", *priority),
        MenuEvent::GaveUp { step, queue } => new(EventKind::CallMenuGaveUp, Outcome::Failure)
            .detail("menu", step.as_str())
            .detail("queue", queue.as_str()),
    }
}

fn count(event: &MenuEvent) {
    if let MenuEvent::Routed {
        line,
        severity,
        inside_hours,
        ..
    } = event
    {
        let severity = severity.map(|s| s.as_str()).unwrap_or("none");
        metrics::counter!(
            "pingate_support_calls_total",
            "line" => line.as_str().to_string(),
            "severity" => severity,
            "inside_hours" => if *inside_hours { "yes" } else { "no" },
        )
        .increment(1);
        if !inside_hours {
            metrics::counter!("pingate_after_hours_calls_total", "line" => line.as_str().to_string())
                .increment(1);
        }
    }
}
