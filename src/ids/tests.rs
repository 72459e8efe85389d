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
