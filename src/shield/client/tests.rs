use super::*;
use axum::http::HeaderValue;

fn xff(values: &[&str]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for v in values {
        h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
    }
    h
}

fn nets(list: &[&str]) -> Vec<IpNet> {
    list.iter().map(|n| n.parse().unwrap()).collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() {
    let h = xff(&["203.0.113.9"]);
    assert_eq!(resolve(ip("198.51.100.7"), &h, &[]), ip("198.51.100.7"));
    let trusted = nets(&["10.0.0.0/8"]);
    assert_eq!(
        resolve(ip("198.51.100.7"), &h, &trusted),
        ip("198.51.100.7")
    );
}

#[test]
fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
    let trusted = nets(&["10.0.0.0/8"]);
    // The client forged a left-most hop; the proxies appended the truth.
    let h = xff(&["1.2.3.4, 203.0.113.9", "10.0.0.5"]);
    assert_eq!(resolve(ip("10.0.0.1"), &h, &trusted), ip("203.0.113.9"));
    // Every hop trusted: the left-most is as far as anyone can tell.
    let h = xff(&["10.1.1.1, 10.0.0.5"]);
    assert_eq!(resolve(ip("10.0.0.1"), &h, &trusted), ip("10.1.1.1"));
    // No header: the proxy itself.
    assert_eq!(
        resolve(ip("10.0.0.1"), &HeaderMap::new(), &trusted),
        ip("10.0.0.1")
    );
}

#[test]
fn hops_with_ports_brackets_and_garbage() {
    let trusted = nets(&["10.0.0.0/8", "fd00::/8"]);
    let h = xff(&["[2001:db8::1]:4711"]);
    assert_eq!(resolve(ip("fd00::1"), &h, &trusted), ip("2001:db8::1"));
    let h = xff(&["198.51.100.1:80"]);
    assert_eq!(resolve(ip("10.0.0.1"), &h, &trusted), ip("198.51.100.1"));
    let h = xff(&["203.0.113.9, not-an-ip"]);
    assert_eq!(resolve(ip("10.0.0.1"), &h, &trusted), ip("10.0.0.1"));
    let h = xff(&["::ffff:203.0.113.9"]);
    assert_eq!(resolve(ip("10.0.0.1"), &h, &trusted), ip("203.0.113.9"));
}

#[test]
fn ipv6_clients_are_counted_by_their_64() {
    let a = ClientKey::of(ip("2001:db8:1:2:aaaa::1"));
    let b = ClientKey::of(ip("2001:db8:1:2:ffff:1:2:3"));
    let c = ClientKey::of(ip("2001:db8:1:3::1"));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(a.to_string(), "2001:db8:1:2::/64");
    assert_eq!(
        ClientKey::of(ip("::ffff:192.0.2.1")).to_string(),
        "192.0.2.1"
    );
}
