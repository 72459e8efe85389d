//! Wrong PINs: the caller's lockout, the org's ceiling, and their reset.

use super::*;

/// The caller's budget locks the caller out for `limits.lockout` when it
/// is reached; failures of callers with a number also count for the org,
/// whose ceiling locks new challenges for a window. One lockout at a time.
#[tokio::test]
async fn wrong_pins_lock_the_caller_out_and_then_the_org() {
    let fx = fixture(|s| {
        s.limits.failures_per_caller = 3;
        s.limits.failures_per_org = 4;
        s.limits.lockout = HumanDuration(Duration::from_secs(600));
    })
    .await;
    for at in [1_000, 2_000] {
        let f = fx.fail(at, A).await;
        assert!(f.lockout.is_none() && f.ceiling.is_none(), "{f:?}");
    }
    let f = fx.fail(3_000, A).await;
    let lockout = f.lockout.expect("the third wrong PIN locks out");
    assert_eq!(lockout.org_id, ORG);
    assert_eq!(lockout.caller_key, A);
    assert_eq!(lockout.locked_at, T0 + 3_000);
    assert_eq!(lockout.until, T0 + 3_000 + 600_000);
    assert!(f.ceiling.is_none(), "three failures in the org, of four");

    let f = fx.fail(4_000, A).await;
    assert!(f.lockout.is_none(), "already locked out");
    let (ceiling, failures) = f.ceiling.expect("the org's fourth locks it");
    assert_eq!(failures, 4);
    assert_eq!(ceiling.caller_key, ORG_CEILING);
    assert_eq!(ceiling.until, T0 + 4_000 + WINDOW_MS);
    let f = fx.fail(5_000, B).await;
    assert!(f.lockout.is_none() && f.ceiling.is_none(), "{f:?}");

    for at in [6_000, 7_000] {
        let f = fx.fail(at, WITHHELD).await;
        assert!(f.lockout.is_none() && f.ceiling.is_none(), "{f:?}");
    }
    let f = fx.fail(8_000, WITHHELD).await;
    assert_eq!(
        f.lockout.expect("withheld callers together").caller_key,
        WITHHELD
    );
    assert!(
        f.ceiling.is_none(),
        "withheld callers never reach the ceiling"
    );

    assert_eq!(fx.uses(Quota::PinFailures, &org_caller_key(A)).await, 4);
    assert_eq!(fx.uses(Quota::OrgPinFailures, ORG).await, 5);
    assert_eq!(fx.lockouts().await, [ORG_CEILING, A, WITHHELD]);
}

/// Each reset ends the named lockouts, forgets the failures behind them
/// (those alone) and audits each with the caller pseudonymous.
#[tokio::test]
async fn a_reset_ends_lockouts_and_forgets_their_failures() {
    let fx = fixture(|s| {
        s.limits.failures_per_caller = 2;
        s.limits.failures_per_org = 3;
    })
    .await;
    let admin = "admin:adam";
    let missing = reset(&fx.state, admin, ORG, None).await;
    assert!(matches!(
        missing,
        Err(ServiceError::NotFound("organisation"))
    ));
    fx.add_org(ORG).await;
    let bad = reset(&fx.state, admin, ORG, Some("12")).await;
    assert!(matches!(bad, Err(ServiceError::Invalid { .. })), "{bad:?}");
    for (at, caller) in [
        (0, A),
        (1_000, A),
        (2_000, B),
        (3_000, WITHHELD),
        (4_000, WITHHELD),
    ] {
        fx.fail(at, caller).await;
    }
    assert_eq!(fx.lockouts().await, [ORG_CEILING, A, WITHHELD]);

    let ended = reset(&fx.state, admin, ORG, Some("+1 (415) 555-0101")).await;
    let ended = ended.expect("reset A, in another form");
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].caller_key, A);
    assert_eq!(ended[0].reset_by.as_deref(), Some(admin));
    assert_eq!(fx.lockouts().await, [ORG_CEILING, WITHHELD]);
    assert_eq!(fx.uses(Quota::PinFailures, &org_caller_key(A)).await, 0);
    assert_eq!(fx.uses(Quota::PinFailures, &org_caller_key(B)).await, 1);
    assert_eq!(fx.uses(Quota::OrgPinFailures, ORG).await, 3);
    let events = fx.events(EventKind::LockoutReset).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor, admin);
    assert_eq!(events[0].org_id.as_deref(), Some(ORG));
    assert_eq!(events[0].detail["lockout_id"], ended[0].id.as_str());
    assert_eq!(events[0].detail["caller"], fx.state.pseudonyms.number(A));

    let ended = reset(&fx.state, admin, ORG, Some(ORG_CEILING))
        .await
        .unwrap();
    assert_eq!(ended.len(), 1);
    assert_eq!(fx.uses(Quota::OrgPinFailures, ORG).await, 0);
    assert_eq!(fx.uses(Quota::PinFailures, &org_caller_key(B)).await, 1);
    let events = fx.events(EventKind::LockoutReset).await;
    assert_eq!(events[1].detail["caller"], ORG_CEILING);

    // No lockout for B: only the failures behind it are forgotten.
    let ended = reset(&fx.state, admin, ORG, Some(B)).await.unwrap();
    assert!(ended.is_empty());
    assert_eq!(fx.uses(Quota::PinFailures, &org_caller_key(B)).await, 0);
    let withheld = org_caller_key(WITHHELD);
    assert_eq!(fx.uses(Quota::PinFailures, &withheld).await, 2);

    let ended = reset(&fx.state, admin, ORG, Some(WITHHELD)).await.unwrap();
    assert_eq!(ended.len(), 1);
    assert_eq!(fx.uses(Quota::PinFailures, &withheld).await, 0);
    assert!(fx.lockouts().await.is_empty());
    assert_eq!(fx.events(EventKind::LockoutReset).await.len(), 3);
}

/// Without a caller every lockout of the org ends, and their failures
/// are forgotten.
#[tokio::test]
async fn a_reset_of_the_whole_org_ends_every_lockout() {
    let fx = fixture(|s| s.limits.failures_per_caller = 1).await;
    fx.add_org(ORG).await;
    fx.fail(0, B).await;
    fx.fail(1_000, WITHHELD).await;
    assert_eq!(fx.lockouts().await, [B, WITHHELD]);
    let ended = reset(&fx.state, "admin:adam", ORG, None).await.unwrap();
    assert_eq!(ended.len(), 2);
    assert!(fx.lockouts().await.is_empty());
    assert_eq!(fx.uses(Quota::PinFailures, &org_caller_key(B)).await, 0);
    assert_eq!(
        fx.uses(Quota::PinFailures, &org_caller_key(WITHHELD)).await,
        0
    );

    fx.fail(2_000, A).await;
    let ended = reset(&fx.state, "admin:adam", ORG, Some(WITHHELD))
        .await
        .unwrap();
    assert!(ended.is_empty());
    let ended = reset(&fx.state, "admin:adam", ORG, None).await.unwrap();
    assert_eq!(ended.len(), 1, "A's lockout");
}
