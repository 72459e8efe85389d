use super::*;

#[test]
fn a_principal_past_its_cap_is_refused_and_others_still_enter() {
    let gate = HashGate::new(4, 2);
    let a1 = gate.admit("a").expect("a1");
    let _a2 = gate.admit("a").expect("a2");
    assert_eq!(gate.admit("a").err(), Some(Busy::Principal));
    let _b = gate.admit("b").expect("b is not behind a's excess");
    drop(a1);
    let _a3 = gate.admit("a").expect("a place freed");
    assert_eq!(gate.in_flight(), 3);
}

#[test]
fn a_full_queue_refuses_everyone_until_work_ends() {
    let gate = HashGate::new(2, 2);
    let a = gate.admit("a").expect("a");
    let _b = gate.admit("b").expect("b");
    assert_eq!(gate.admit("c").err(), Some(Busy::Queue));
    drop(a);
    assert!(gate.admit("c").is_ok());
}
