//! Where a request came from, as action logs record it, and its `User-Agent`. The client address
//! is the peer's, unless the peer is a trusted proxy (`TRUSTED_PROXIES`): then `X-Forwarded-For`
//! is read from the right, skipping trusted proxies, and the first address that is not one is
//! the client (what the nearest untrusted hop connected from). A client cannot put an address of
//! its choosing into the logs by sending the header itself.

use crate::ops::log_entry::Origin;
use axum::extract::{ConnectInfo, Request};
use axum::http::header;
use std::net::IpAddr;

pub fn of(req: &Request, trusted: &[ipnet::IpNet]) -> Origin {
    let headers = req.headers();
    let peer = req.extensions().get::<ConnectInfo<super::conn::Peer>>().map(|c| c.0.0.ip());
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string);
    Origin { ip: client(peer, &forwarded, trusted).map(|ip| ip.to_string()), user_agent }
}

/// The client of a request from `peer` carrying `forwarded` (left to right, as sent).
fn client(peer: Option<IpAddr>, forwarded: &[&str], trusted: &[ipnet::IpNet]) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    let mut current = peer?;
    for hop in forwarded.iter().rev() {
        if !is_trusted(&current) {
            break;
        }
        match hop.parse::<IpAddr>() {
            Ok(ip) => current = ip,
            // Not an address: what the trusted proxy received from is unknown; keep the proxy.
            Err(_) => break,
        }
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::client;

    #[test]
    fn only_trusted_proxies_are_believed() {
        let trusted: Vec<ipnet::IpNet> =
            ["127.0.0.0/8", "10.0.0.0/8"].iter().map(|s| s.parse().expect("net")).collect();
        let ip = |s: &str| s.parse().ok();
        // Straight from a client: its header is ignored.
        assert_eq!(client(ip("203.0.113.9"), &["1.2.3.4"], &trusted), ip("203.0.113.9"));
        // Through one trusted proxy: the address it saw, not what the client claimed before it.
        assert_eq!(client(ip("127.0.0.1"), &["6.6.6.6", "203.0.113.9"], &trusted), ip("203.0.113.9"));
        // Through two trusted proxies.
        assert_eq!(client(ip("127.0.0.1"), &["203.0.113.9", "10.1.2.3"], &trusted), ip("203.0.113.9"));
        // A proxy without the header, or with garbage: the proxy itself.
        assert_eq!(client(ip("127.0.0.1"), &[], &trusted), ip("127.0.0.1"));
        assert_eq!(client(ip("127.0.0.1"), &["unknown"], &trusted), ip("127.0.0.1"));
        assert_eq!(client(None, &["1.2.3.4"], &trusted), None);
    }
}
