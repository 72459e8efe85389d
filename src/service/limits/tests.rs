//! The quota and lockout rules over a real SQLite database and the real
//! state: each write acts at a time the test chooses (`T0` plus an
//! offset), so every Retry-After is exact.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::audit::event::Event;
use crate::clock::OffsetClock;
use crate::config::{HumanDuration, Secret, Settings};
use crate::store::audit::{self as audit_log, AuditFilter};
use crate::store::overrides::OverrideRow;

mod pins;

/// Where time starts: the state's clock reads it when the fixture is
/// built, and the writes below act at it plus an offset in milliseconds.
const T0: i64 = 1_800_000_000_000;
const WINDOW_MS: i64 = 60_000;
const ORG: &str = "org-a";
const A: &str = "+14155550101";
const B: &str = "+14155550102";

struct Fixture {
    state: Arc<AppState>,
    _dir: tempfile::TempDir,
}

async fn fixture(tweak: impl FnOnce(&mut Settings)) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = Settings::default();
    s.server.data_dir = dir.path().join("data");
    let url = format!("sqlite://{}", dir.path().join("pingate.db").display());
    s.database.url = Secret::from(url.as_str());
    s.security.pepper = Some(Secret::from("limits-tests-pepper-of-32-characters"));
    s.limits.window = HumanDuration(Duration::from_millis(WINDOW_MS as u64));
    tweak(&mut s);
    let clock = Arc::new(OffsetClock::starting_at(T0));
    let state = AppState::build(s, clock, None).await.expect("state");
    Fixture { state, _dir: dir }
}

impl Fixture {
    async fn begin(&self, at: i64) -> WriteTx {
        self.state.store.begin(T0 + at).await.expect("begin")
    }

    /// Runs `admission` in a write at `T0 + at`, committed when admitted.
    async fn admit(
        &self,
        at: i64,
        admission: Admission<'_>,
        ctx: Context<'_>,
    ) -> ServiceResult<()> {
        let tx = admit(&self.state, self.begin(at).await, admission, ctx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn charge(&self, at: i64, quota: Quota, key: &str) -> ServiceResult<()> {
        let admission = Admission {
            charges: vec![Charge::new(quota, key)],
            ..Admission::default()
        };
        self.admit(at, admission, Context::of("agent:alice")).await
    }

    async fn fail(&self, at: i64, caller_key: &str) -> Failure {
        let mut tx = self.begin(at).await;
        let f = count_failure(&self.state, &mut tx, ORG, caller_key)
            .await
            .expect("count a failure");
        tx.commit().await.expect("commit");
        f
    }

    async fn try_account(&self, at: i64, caller: Option<&str>, number: &str) -> Option<Quota> {
        let mut tx = self.begin(at).await;
        let q = account_try(&self.state, &mut tx, caller, number)
            .await
            .expect("an account try");
        tx.commit().await.expect("commit");
        q
    }

    async fn lock(&self, caller_key: &str, until: i64) {
        let mut tx = self.begin(0).await;
        let row = LockoutRow {
            id: ids::new_id("lck"),
            org_id: ORG.into(),
            caller_key: caller_key.into(),
            locked_at: T0,
            until: T0 + until,
            reset_at: None,
            reset_by: None,
        };
        quotas::insert_lockout(tx.conn(), &row).await.unwrap();
        tx.commit().await.unwrap();
    }

    /// An admin override for `ORG` in force from T0 for `lasts` ms.
    async fn override_org(&self, lasts: i64) {
        let mut tx = self.begin(0).await;
        let row = OverrideRow {
            id: ids::new_id("ovr"),
            org_id: ORG.into(),
            reason: "test".into(),
            created_by: "admin:adam".into(),
            created_at: T0,
            expires_at: T0 + lasts,
        };
        overrides::insert(tx.conn(), &row).await.unwrap();
        tx.commit().await.unwrap();
    }

    async fn add_org(&self, id: &str) {
        sqlx::query(
            "INSERT INTO orgs (id, name, account_number, channels, created_at, updated_at) \
             VALUES ($1, 'Test', '12345678', 'email', 0, 0)",
        )
        .bind(id)
        .execute(self.state.store.reader())
        .await
        .expect("an org");
    }

    /// The uses of (quota, key) the database keeps.
    async fn uses(&self, quota: Quota, key: &str) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM quota_events WHERE scope = $1 AND key = $2")
            .bind(quota.as_str())
            .bind(key)
            .fetch_one(self.state.store.reader())
            .await
            .expect("count uses")
    }

    async fn events(&self, kind: EventKind) -> Vec<Event> {
        let filter = AuditFilter {
            kind: Some(kind.as_str().into()),
            ..AuditFilter::default()
        };
        audit_log::list(self.state.store.reader(), &filter, 100)
            .await
            .expect("audit events")
    }

    /// The lockouts in force (not reset) at T0, by caller key.
    async fn lockouts(&self) -> Vec<String> {
        let mut keys: Vec<String> = quotas::active_lockouts(self.state.store.reader(), T0)
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.caller_key)
            .collect();
        keys.sort();
        keys
    }
}

/// The refused quota and Retry-After of a 429.
fn refused_by(r: ServiceResult<()>) -> (Quota, u64) {
    match r {
        Err(ServiceError::TooMany {
            detail,
            retry_after_secs,
        }) => {
            let name = detail
                .strip_prefix("quota ")
                .and_then(|d| d.strip_suffix(" exceeded; try again later"))
                .unwrap_or_else(|| panic!("a refusal names its quota: {detail:?}"));
            (Quota::parse(name).expect("a quota"), retry_after_secs)
        }
        other => panic!("expected a 429, got {other:?}"),
    }
}

fn org_caller_key(caller: &str) -> String {
    org_caller(ORG, caller)
}

#[test]
fn every_quota_reads_its_own_limit() {
    let l = LimitsSettings {
        challenges_per_caller: 1,
        challenges_per_org: 2,
        challenges_per_agent: 3,
        sends_per_destination: 4,
        sms_global: 5,
        orgs_per_agent: 6,
        checks_per_caller: 7,
        checks_per_org: 8,
        checks_per_agent: 9,
        failures_per_caller: 10,
        failures_per_org: 11,
        account_tries_per_caller: 12,
        account_tries_withheld: 13,
        account_tries_per_number: 14,
        ..LimitsSettings::default()
    };
    let expected = [
        (Quota::ChallengesPerCaller, 1),
        (Quota::ChallengesPerOrg, 2),
        (Quota::ChallengesPerAgent, 3),
        (Quota::SendsPerDestination, 4),
        (Quota::SmsGlobal, 5),
        (Quota::OrgsPerAgent, 6),
        (Quota::ChecksPerCaller, 7),
        (Quota::ChecksPerOrg, 8),
        (Quota::ChecksPerAgent, 9),
        (Quota::PinLockout, 0),
        (Quota::PinFailures, 10),
        (Quota::OrgPinFailures, 11),
        (Quota::OrgFailureCeiling, 0),
        (Quota::AccountTriesPerCaller, 12),
        (Quota::AccountTriesWithheld, 13),
        (Quota::AccountTriesPerNumber, 14),
        (Quota::HashPerPrincipal, 0),
        (Quota::HashQueue, 0),
    ];
    assert_eq!(expected.len(), Quota::ALL.len(), "every quota is listed");
    for (quota, limit) in expected {
        assert_eq!(quota.limit(&l), limit, "{quota}");
    }
}

#[test]
fn retry_after_rounds_up_to_whole_seconds_and_is_never_zero() {
    assert_eq!(retry_after(0, 1_000), 1);
    assert_eq!(retry_after(0, 1_001), 2);
    assert_eq!(retry_after(0, 2_000), 2);
    assert_eq!(retry_after(10_000, 67_500), 58);
    assert_eq!(retry_after(0, 1), 1, "less than a second left");
    assert_eq!(retry_after(5_000, 1_000), 1, "already past");
}

#[test]
fn keys_follow_the_caller_within_the_org_and_withheld_callers_count_apart() {
    assert_eq!(caller_key(Some(A)), A);
    assert_eq!(caller_key(None), WITHHELD);
    assert_eq!(org_caller(ORG, A), "org-a|+14155550101");
    assert_eq!(org_key(ORG, A), ORG);
    assert_eq!(org_key(ORG, WITHHELD), "org-a|withheld");
    assert_eq!(
        failures_behind(ORG, ORG_CEILING),
        (Quota::OrgPinFailures, ORG.to_string())
    );
    assert_eq!(
        failures_behind(ORG, A),
        (Quota::PinFailures, "org-a|+14155550101".to_string())
    );
}

#[tokio::test]
async fn numbers_are_pseudonymous_in_the_audit_trail_and_other_keys_are_not() {
    let fx = fixture(|_| {}).await;
    assert_eq!(window_ms(&fx.state), WINDOW_MS);
    let shown = pseudonymous_key(&fx.state, A);
    assert_eq!(shown, fx.state.pseudonyms.number(A));
    assert!(!shown.contains(A) && shown.ends_with("0101"), "{shown}");
    assert_eq!(pseudonymous_key(&fx.state, WITHHELD), WITHHELD);
    assert_eq!(pseudonymous_key(&fx.state, ORG_CEILING), ORG_CEILING);
}

/// Every 32nd charge of a key deletes its uses that have left the window
/// (the counts ignore them; pruning keeps a busy key's rows few).
#[tokio::test]
async fn every_32nd_charge_of_a_key_prunes_its_uses_that_left_the_window() {
    let fx = fixture(|s| s.limits.challenges_per_agent = 100).await;
    let (q, key) = (Quota::ChallengesPerAgent, "agent:alice");
    for at in 0..31 {
        fx.charge(at, q, key).await.expect("a use");
    }
    assert_eq!(fx.uses(q, key).await, 31);
    fx.charge(WINDOW_MS + 100, q, key)
        .await
        .expect("the 32nd use");
    assert_eq!(
        fx.uses(q, key).await,
        1,
        "the 31 that left the window are gone"
    );
    fx.charge(WINDOW_MS + 200, q, key)
        .await
        .expect("the 33rd use");
    assert_eq!(fx.uses(q, key).await, 2, "no prune until the 64th");
}

/// Up to the limit is admitted; the next use is refused, rolled back and
/// audited, with a Retry-After that ends when the oldest use leaves the
/// rolling window.
#[tokio::test]
async fn a_quota_admits_its_limit_then_refuses_until_its_oldest_use_leaves() {
    let fx = fixture(|s| s.limits.challenges_per_caller = 2).await;
    let key = org_caller_key(A);
    let q = Quota::ChallengesPerCaller;
    fx.charge(0, q, &key).await.expect("first use");
    fx.charge(1_000, q, &key).await.expect("the limit itself");
    let ctx = Context {
        challenge_id: Some("chl-1"),
        ..Context::on_call("agent:alice", ORG, "call-1")
    };
    let admission = Admission {
        charges: vec![Charge::new(q, &key)],
        ..Admission::default()
    };
    let refusal = fx.admit(2_500, admission, ctx).await;
    assert_eq!(refused_by(refusal), (q, 58), "the use at T0 leaves at 60 s");
    assert_eq!(fx.uses(q, &key).await, 2, "the refused use is not kept");

    let events = fx.events(EventKind::RateLimitExceeded).await;
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.actor, "agent:alice");
    assert_eq!(e.outcome, Outcome::Failure.as_str());
    assert_eq!(e.org_id.as_deref(), Some(ORG));
    assert_eq!(e.call_id.as_deref(), Some("call-1"));
    assert_eq!(e.challenge_id.as_deref(), Some("chl-1"));
    assert_eq!(e.detail["quota"], "challenges_per_caller");
    assert_eq!(e.detail["retry_after_secs"], 58);

    // The use at T0 has left; the one at 1 s is the oldest now.
    fx.charge(WINDOW_MS, q, &key).await.expect("a use left");
    let refusal = fx.charge(WINDOW_MS + 1, q, &key).await;
    assert_eq!(refused_by(refusal), (q, 1), "999 ms left is a second");
    let events = fx.events(EventKind::RateLimitExceeded).await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].org_id, None, "acting on nothing named yet");
    assert_eq!(events[1].call_id, None);
    assert_eq!(events[1].challenge_id, None);
}

/// The charges are tried in order; the first one over its limit refuses,
/// and every charge of the refused action is rolled back.
#[tokio::test]
async fn the_first_quota_over_its_limit_refuses_and_no_charge_is_kept() {
    let fx = fixture(|s| {
        s.limits.challenges_per_agent = 5;
        s.limits.sms_global = 1;
    })
    .await;
    let both = || Admission {
        charges: vec![
            Charge::new(Quota::ChallengesPerAgent, "agent:alice"),
            Charge::new(Quota::SmsGlobal, "*"),
        ],
        ..Admission::default()
    };
    fx.admit(0, both(), Context::of("agent:alice"))
        .await
        .unwrap();
    let refusal = fx.admit(1_000, both(), Context::of("agent:alice")).await;
    assert_eq!(refused_by(refusal), (Quota::SmsGlobal, 59));
    assert_eq!(fx.uses(Quota::ChallengesPerAgent, "agent:alice").await, 1);
    assert_eq!(fx.uses(Quota::SmsGlobal, "*").await, 1);
}

/// Distinct members count once each, however often they are used.
#[tokio::test]
async fn a_distinct_quota_counts_members_not_uses() {
    let fx = fixture(|s| s.limits.orgs_per_agent = 2).await;
    let touch = |member| Admission {
        distinct: Some(Distinct::new(Quota::OrgsPerAgent, "agent:alice", member)),
        ..Admission::default()
    };
    let ctx = || Context::of("agent:alice");
    for (at, org) in [
        (0, "org-a"),
        (1_000, "org-b"),
        (2_000, "org-a"),
        (3_000, "org-b"),
    ] {
        fx.admit(at, touch(org), ctx()).await.expect("two orgs");
    }
    let refusal = fx.admit(4_000, touch("org-c"), ctx()).await;
    assert_eq!(refused_by(refusal), (Quota::OrgsPerAgent, 56));
}

/// An override in force for the org lifts its org-wide quotas, never the
/// ones per caller; another org's quotas still refuse.
#[tokio::test]
async fn an_override_lifts_only_the_org_wide_quotas_of_its_org() {
    let fx = fixture(|s| {
        s.limits.challenges_per_org = 1;
        s.limits.checks_per_org = 1;
        s.limits.checks_per_caller = 1;
    })
    .await;
    fx.override_org(30_000).await;
    let in_org = |org, quota, key| Admission {
        lockout: Some((org, A)),
        charges: vec![Charge::new(quota, key)],
        ..Admission::default()
    };
    let ctx = || Context::of("agent:alice");
    for at in [0, 1_000, 2_000] {
        for quota in [Quota::ChallengesPerOrg, Quota::ChecksPerOrg] {
            let admitted = fx.admit(at, in_org(ORG, quota, ORG), ctx()).await;
            admitted.expect("lifted by the override");
        }
    }
    let per_caller = org_caller_key(A);
    let q = Quota::ChecksPerCaller;
    fx.admit(0, in_org(ORG, q, &per_caller), ctx())
        .await
        .unwrap();
    let refusal = fx.admit(1_000, in_org(ORG, q, &per_caller), ctx()).await;
    assert_eq!(refused_by(refusal), (q, 59), "not org-wide");

    let q = Quota::ChallengesPerOrg;
    fx.admit(0, in_org("org-b", q, "org-b"), ctx())
        .await
        .unwrap();
    let refusal = fx.admit(1_000, in_org("org-b", q, "org-b"), ctx()).await;
    assert_eq!(refused_by(refusal), (q, 59), "another org's override");

    let refusal = fx.admit(30_000, in_org(ORG, q, ORG), ctx()).await;
    assert_eq!(refused_by(refusal), (q, 30), "the override has ended");
}

/// A lockout in force refuses the caller before anything is charged; the
/// org's ceiling refuses only the actions that ask for it, unless an
/// override is in force.
#[tokio::test]
async fn lockouts_refuse_before_any_charge() {
    let fx = fixture(|s| s.limits.challenges_per_caller = 100).await;
    fx.lock(A, 90_500).await;
    let key = org_caller_key(A);
    let admission = |caller, ceiling| Admission {
        lockout: Some((ORG, caller)),
        ceiling,
        charges: vec![Charge::new(Quota::ChallengesPerCaller, key.as_str())],
        ..Admission::default()
    };
    let ctx = || Context::of("agent:alice");
    let refusal = fx.admit(0, admission(A, false), ctx()).await;
    assert_eq!(refused_by(refusal), (Quota::PinLockout, 91));
    assert_eq!(fx.uses(Quota::ChallengesPerCaller, &key).await, 0);
    fx.admit(0, admission(B, true), ctx())
        .await
        .expect("no ceiling yet");
    fx.admit(90_500, admission(A, false), ctx())
        .await
        .expect("it ended");

    fx.lock(ORG_CEILING, 30_000).await;
    let refusal = fx.admit(1_000, admission(B, true), ctx()).await;
    assert_eq!(refused_by(refusal), (Quota::OrgFailureCeiling, 29));
    let refusal = fx.admit(1_000, admission(A, true), ctx()).await;
    assert_eq!(
        refused_by(refusal),
        (Quota::PinLockout, 90),
        "the caller's first"
    );
    fx.admit(1_000, admission(B, false), ctx())
        .await
        .expect("not asked");
    fx.admit(30_000, admission(B, true), ctx())
        .await
        .expect("it ended");

    fx.lock(ORG_CEILING, 60_000).await;
    fx.override_org(60_000).await;
    fx.admit(31_000, admission(B, true), ctx())
        .await
        .expect("overridden");
    let refusal = fx.admit(31_000, admission(A, true), ctx()).await;
    assert_eq!(refused_by(refusal).0, Quota::PinLockout, "never overridden");
}

/// Every attempt is kept, refused or not; the caller's quota is named
/// first when both refuse.
#[tokio::test]
async fn account_tries_count_per_caller_withheld_together_and_per_number() {
    let fx = fixture(|s| {
        s.limits.account_tries_per_caller = 2;
        s.limits.account_tries_withheld = 1;
        s.limits.account_tries_per_number = 3;
    })
    .await;
    let per_caller = Some(Quota::AccountTriesPerCaller);
    assert_eq!(fx.try_account(0, Some(A), "1111").await, None);
    assert_eq!(fx.try_account(1_000, Some(A), "1111").await, None);
    assert_eq!(fx.try_account(2_000, Some(A), "1111").await, per_caller);
    let per_number = Some(Quota::AccountTriesPerNumber);
    assert_eq!(fx.try_account(3_000, Some(B), "1111").await, per_number);
    assert_eq!(fx.try_account(4_000, Some(A), "2222").await, per_caller);
    assert_eq!(fx.try_account(5_000, Some(A), "1111").await, per_caller);
    assert_eq!(fx.try_account(6_000, None, "3333").await, None);
    let withheld = Some(Quota::AccountTriesWithheld);
    assert_eq!(fx.try_account(7_000, None, "4444").await, withheld);

    assert_eq!(fx.uses(Quota::AccountTriesPerCaller, A).await, 5);
    assert_eq!(fx.uses(Quota::AccountTriesPerNumber, "1111").await, 5);
    assert_eq!(fx.uses(Quota::AccountTriesWithheld, WITHHELD).await, 2);
}

/// Past its cap a principal gets a 429, past the queue anyone a 503, each
/// with Retry-After and audited; a ticket's place frees when it drops.
#[tokio::test]
async fn hashing_is_capped_per_principal_and_in_all() {
    let fx = fixture(|s| {
        s.pin.hash_queue = 2;
        s.pin.hash_per_principal = 1;
    })
    .await;
    let ticket = |who: &'static str| hash_ticket(&fx.state, who, Context::of(who));
    let alice = ticket("agent:alice").await.expect("first");
    match ticket("agent:alice").await {
        Err(ServiceError::TooMany {
            detail,
            retry_after_secs,
        }) => {
            assert!(
                detail.starts_with("quota hash_per_principal exceeded"),
                "{detail}"
            );
            assert_eq!(retry_after_secs, 1);
        }
        other => panic!("expected a 429, got {:?}", other.err()),
    }
    let _bob = ticket("agent:bob").await.expect("the queue's second place");
    let carol = hash_ticket(
        &fx.state,
        "agent:carol",
        Context::on_call("agent:carol", ORG, "c-9"),
    );
    match carol.await {
        Err(ServiceError::Unavailable {
            retry_after_secs, ..
        }) => assert_eq!(retry_after_secs, 1),
        other => panic!("expected a 503, got {:?}", other.err()),
    }
    let events = fx.events(EventKind::RateLimitExceeded).await;
    let seen: Vec<_> = events
        .iter()
        .map(|e| {
            (
                e.actor.as_str(),
                e.detail["quota"].as_str(),
                e.call_id.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("agent:alice", Some("hash_per_principal"), None),
            ("agent:carol", Some("hash_queue"), Some("c-9")),
        ]
    );
    assert!(events.iter().all(|e| e.detail["retry_after_secs"] == 1));
    drop(alice);
    ticket("agent:alice")
        .await
        .expect("its place is free again");
}
