//! Where a request came from, as action logs record it: the first `X-Forwarded-For` address
//! (the load balancer's view), else the peer address; and the `User-Agent`.

use crate::ops::log_entry::Origin;
use axum::extract::{ConnectInfo, Request};
use axum::http::header;

pub fn of(req: &Request) -> Origin {
    let headers = req.headers();
    let forwarded = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    let peer = req.extensions().get::<ConnectInfo<super::conn::Peer>>().map(|c| c.0.0.ip().to_string());
    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string);
    Origin { ip: forwarded.or(peer), user_agent }
}
