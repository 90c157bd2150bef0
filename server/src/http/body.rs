//! Request bodies, for every route in one place: while a handler waits for the next piece of a
//! body, the client has `HTTP_BODY_READ_TIMEOUT_S` to send it; then the request is answered 408
//! and the connection closed, so a stalled upload does not hold its connection and its handler
//! forever.

use crate::config::Config;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

/// The middleware's settings (from the config).
#[derive(Debug, Clone, Copy)]
pub struct Guard {
    pub idle_timeout: Duration,
}

impl Guard {
    pub fn from_config(config: &Config) -> Self {
        Guard { idle_timeout: config.http_body_read_timeout() }
    }
}

/// The body as the handler sees it: reads go through to the real body kept in [`Shared`].
struct Shared {
    state: Mutex<Inner>,
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
    let (parts, body) = req.into_parts();
    let shared = Arc::new(Shared {
        state: Mutex::new(Inner { body: Some(body), waiting: None }),
        timed_out: AtomicBool::new(false),
        idle_timeout: guard.idle_timeout,
    });
    let resp = next.run(Request::from_parts(parts, Body::new(Proxy(shared.clone())))).await;
    if shared.timed_out.load(Ordering::Relaxed) {
        return close((StatusCode::REQUEST_TIMEOUT, "request body timed out\n").into_response());
    }
    resp
}

fn close(mut resp: Response) -> Response {
    resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}
