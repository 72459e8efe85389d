use super::*;

#[test]
fn ids_are_prefixed_and_recognised() {
    let id = call_id();
    assert!(looks_like("call", &id));
    assert!(!looks_like("chl", &id));
    assert!(!looks_like("call", "call_../../etc"));
    assert_ne!(call_id(), call_id());
}

#[test]
fn tokens_are_random_and_hashed() {
    let a = new_token("pga_").unwrap();
    let b = new_token("pga_").unwrap();
    assert_ne!(a.secret.expose_secret(), b.secret.expose_secret());
    assert!(a.secret.expose_secret().starts_with("pga_"));
    assert_eq!(a.secret.expose_secret().len(), 4 + 43);
    assert_eq!(token_hash(a.secret.expose_secret()), a.hash);
}

#[test]
fn ids_made_later_sort_after_earlier_ones() {
    // Index locality rests on this: ids made one after another sort in
    // the order they were made (UUIDv7 keeps a counter within a
    // millisecond), across a few milliseconds too.
    let mut made = Vec::new();
    for _ in 0..2000 {
        made.push(call_id());
    }
    let mut sorted = made.clone();
    sorted.sort();
    assert_eq!(sorted, made);
    let distinct: std::collections::HashSet<_> = made.iter().collect();
    assert_eq!(distinct.len(), made.len());
}
