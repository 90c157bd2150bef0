//! Request bodies, for every route in one place:
//!
//! - **idle timeout**: while a handler waits for the next piece of the body, the client has
//!   `HTTP_BODY_READ_TIMEOUT_S` to send it; then the request is answered 408 and the connection
//!   closed, so a stalled upload does not hold its connection and its handler forever;
//! - **drain**: a handler that answers before reading the body (every `/v2` route authorizes
//!   first) leaves the client still writing. Closing then would reset the connection under the
//!   client, which may lose the response (a 401 for an unauthenticated push). So the rest of the
//!   body is read and discarded before the response goes out, up to [`Guard::drain_limit`] bytes
//!   and one idle timeout; a larger body gets `Connection: close` (and the lingering close of
//!   [`super::conn`]). A client that sent `Expect: 100-continue` and was never asked for the body
//!   is answered at once: it has not sent the body and will not.

use crate::config::Config;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

/// Drain at least this much of an unread body (more when `MAXIMUM_MANIFEST_SIZE` is larger).
const MIN_DRAIN: u64 = 8 << 20;

/// The middleware's settings (from the config).
#[derive(Debug, Clone, Copy)]
pub struct Guard {
    pub idle_timeout: Duration,
    pub drain_limit: u64,
}

impl Guard {
    pub fn from_config(config: &Config) -> Self {
        Guard {
            idle_timeout: config.http_body_read_timeout(),
            drain_limit: config.maximum_manifest_bytes().max(MIN_DRAIN),
        }
    }
}

/// The body as the handler sees it: reads go through to the real body kept in [`Shared`], so
/// that what the handler leaves unread can still be drained after it returns.
struct Shared {
    state: Mutex<Inner>,
    polled: AtomicBool,
    timed_out: AtomicBool,
    idle_timeout: Duration,
}

struct Inner {
    body: Option<Body>,
    /// Running while the handler waits for the client; reset by each frame.
    waiting: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// The client stopped sending the body for longer than `HTTP_BODY_READ_TIMEOUT_S`.
#[derive(Debug)]
struct IdleTimeout;

impl std::fmt::Display for IdleTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("request body timed out")
    }
}

impl std::error::Error for IdleTimeout {}

struct Proxy(Arc<Shared>);

impl HttpBody for Proxy {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let shared = &self.0;
        shared.polled.store(true, Ordering::Relaxed);
        let mut inner = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
        let Inner { body, waiting } = &mut *inner;
        let Some(body) = body.as_mut() else { return Poll::Ready(None) };
        match Pin::new(body).poll_frame(cx) {
            Poll::Ready(frame) => {
                *waiting = None;
                Poll::Ready(frame)
            }
            Poll::Pending => {
                // The clock starts when the handler starts waiting, not at the last frame: a
                // handler busy writing a chunk to storage is not the client's delay.
                let sleep = waiting.get_or_insert_with(|| Box::pin(tokio::time::sleep(shared.idle_timeout)));
                if sleep.as_mut().poll(cx).is_ready() {
                    shared.timed_out.store(true, Ordering::Relaxed);
                    return Poll::Ready(Some(Err(axum::Error::new(IdleTimeout))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        let inner = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        inner.body.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        let inner = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        inner.body.as_ref().map_or_else(|| SizeHint::with_exact(0), HttpBody::size_hint)
    }
}

/// The middleware (see the module doc).
pub async fn guard(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    let expects_continue =
        req.headers().get(header::EXPECT).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let (parts, body) = req.into_parts();
    let shared = Arc::new(Shared {
        state: Mutex::new(Inner { body: Some(body), waiting: None }),
        polled: AtomicBool::new(false),
        timed_out: AtomicBool::new(false),
        idle_timeout: guard.idle_timeout,
    });
    let mut resp = next.run(Request::from_parts(parts, Body::new(Proxy(shared.clone())))).await;
    if shared.timed_out.load(Ordering::Relaxed) {
        return close((StatusCode::REQUEST_TIMEOUT, "request body timed out\n").into_response());
    }
    // Still held (a response streaming from the request): nothing to drain from here.
    if Arc::strong_count(&shared) > 1 {
        return resp;
    }
    let body = shared.state.lock().unwrap_or_else(PoisonError::into_inner).body.take();
    let Some(body) = body.filter(|b| !b.is_end_stream()) else { return resp };
    if expects_continue && !shared.polled.load(Ordering::Relaxed) {
        return resp;
    }
    // Announced as larger than we would read: do not read any of it.
    if body.size_hint().lower() > guard.drain_limit
        || !drain(body, guard.drain_limit, guard.idle_timeout).await
    {
        resp = close(resp);
    }
    resp
}

/// Reads `body` to its end, if it ends within `limit` bytes and `within`. `false`: it did not,
/// and the connection cannot be reused.
async fn drain(body: Body, limit: u64, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    let mut stream = body.into_data_stream();
    let mut read = 0u64;
    loop {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(None) => return true,
            Ok(Some(Ok(chunk))) => {
                read += chunk.len() as u64;
                if read > limit {
                    return false;
                }
            }
            Ok(Some(Err(_))) | Err(_) => return false,
        }
    }
}

fn close(mut resp: Response) -> Response {
    resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}
