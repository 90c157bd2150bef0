//! Connections: how the router is served over TCP (plain HTTP or HTTPS), with bounds on what one
//! client can hold, so slow, stalled or half-open clients cannot exhaust file descriptors:
//!
//! - at most `HTTP_MAX_CONNECTIONS` connections are served at once; the listener stops accepting
//!   at the limit (further clients wait in the kernel's backlog) instead of accepting and dropping;
//! - a client has `HTTP_HEADER_READ_TIMEOUT_S` to send a request's headers (hyper's
//!   `header_read_timeout`; its clock also runs while a keep-alive connection sits idle; a client
//!   that sends nothing at all gets the same time for its first byte), and TLS
//!   handshakes time out after 10 s (axum-server's default); HTTP/2 peers that stop answering
//!   pings are dropped after the same time;
//! - request bodies have their own idle timeout ([`super::body`]);
//! - when the server closes a connection it lingers: the write side is shut down and what the
//!   client is still sending is read and discarded for a bounded time, so the client reads the
//!   response instead of a reset (closing with unread data makes the kernel send RST, which
//!   discards the response the client has not read yet).

use crate::config::Config;
use axum::Router;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use axum_server::{AddrListener, Address, Handle};
use hyper_util::rt::TokioTimer;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The longest a closing connection lingers, and the most it reads while doing so.
const LINGER_TIME: Duration = Duration::from_secs(5);
const LINGER_BYTES: u64 = 16 << 20;

/// In-flight requests get this long after a shutdown signal.
const GRACE: Duration = Duration::from_secs(30);

/// What bounds each connection (from the config's `HTTP_*` keys).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
}

impl Limits {
    pub fn from_config(config: &Config) -> Self {
        Limits {
            header_read_timeout: config.http_header_read_timeout(),
            max_connections: usize::try_from(config.http_max_connections)
                .unwrap_or(usize::MAX)
                .clamp(1, Semaphore::MAX_PERMITS),
        }
    }
}

/// Serves `app` on `listener` (already bound; HTTPS when `tls` is given) until `shutdown`
/// completes, then gives in-flight requests [`GRACE`] to finish.
pub async fn serve(
    listener: std::net::TcpListener,
    app: Router,
    tls: Option<RustlsConfig>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = Bounded {
        inner: TcpListener::from_std(listener)?,
        slots: Arc::new(Semaphore::new(limits.max_connections)),
        first_byte_within: limits.header_read_timeout,
    };
    let handle = Handle::<Peer>::new();
    let on_signal = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutdown requested: finishing in-flight requests");
        on_signal.graceful_shutdown(Some(GRACE));
    });
    let service = app.into_make_service_with_connect_info::<Peer>();
    match tls {
        Some(tls) => {
            let mut server = axum_server::Server::from_listener(listener)
                .acceptor(RustlsAcceptor::new(tls))
                .handle(handle);
            configure(&mut server, &limits);
            server.serve(service).await
        }
        None => {
            let mut server = axum_server::Server::from_listener(listener).handle(handle);
            configure(&mut server, &limits);
            server.serve(service).await
        }
    }
}

fn configure<A>(server: &mut axum_server::Server<Peer, A>, limits: &Limits) {
    let builder = server.http_builder();
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.header_read_timeout)
        .keep_alive_timeout(limits.header_read_timeout);
}

/// The peer address of a [`Bounded`] connection (also what `ConnectInfo` hands handlers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

impl axum::extract::connect_info::Connected<Peer> for Peer {
    fn connect_info(target: Peer) -> Self {
        target
    }
}

impl Address for Peer {
    type Stream = Conn;
    type Listener = Bounded;
}

/// A TCP listener that accepts only while a connection slot is free.
pub struct Bounded {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    first_byte_within: Duration,
}

impl AddrListener<Conn, Peer> for Bounded {
    /// Unused: [`serve`] takes a socket already bound (port 0 works, the address is logged).
    async fn bind_to(addr: Peer) -> io::Result<Self> {
        Err(io::Error::new(io::ErrorKind::Unsupported, format!("bind {} first, then serve it", addr.0)))
    }

    async fn accept_stream(&self) -> io::Result<(Conn, Peer)> {
        let slot = self.slots.clone().acquire_owned().await.map_err(io::Error::other)?;
        let (io, addr) = self.inner.accept().await?;
        let first_byte = Some(Box::pin(tokio::time::sleep(self.first_byte_within)));
        Ok((Conn { io, _slot: slot, first_byte, linger: None }, Peer(addr)))
    }

    fn get_local_addr(&self) -> io::Result<Peer> {
        self.inner.local_addr().map(Peer)
    }
}

/// An accepted connection: holds its slot until dropped, and lingers on shutdown.
pub struct Conn {
    io: TcpStream,
    _slot: OwnedSemaphorePermit,
    /// Until the client sends its first byte. hyper's header timeout starts only once the
    /// protocol is known, and finding it out (HTTP/1 or HTTP/2) waits for the first bytes, so a
    /// client that connects and sends nothing needs this deadline of its own.
    first_byte: Option<Pin<Box<tokio::time::Sleep>>>,
    linger: Option<Linger>,
}

struct Linger {
    until: Pin<Box<tokio::time::Sleep>>,
    read: u64,
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Some(deadline) = this.first_byte.as_mut() {
            match polled {
                Poll::Pending if deadline.as_mut().poll(cx).is_ready() => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "client sent nothing within the header timeout",
                    )));
                }
                Poll::Pending => {}
                Poll::Ready(_) => this.first_byte = None,
            }
        }
        polled
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    /// Sends FIN after the last response, then reads and discards until the client closes too,
    /// [`LINGER_BYTES`] were read or [`LINGER_TIME`] passed.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.linger.is_none() {
            ready!(Pin::new(&mut this.io).poll_shutdown(cx))?;
            this.linger = Some(Linger { until: Box::pin(tokio::time::sleep(LINGER_TIME)), read: 0 });
        }
        let Some(linger) = this.linger.as_mut() else { return Poll::Ready(Ok(())) };
        let mut scratch = [0u8; 8192];
        loop {
            if linger.read >= LINGER_BYTES || linger.until.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(()));
            }
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut this.io).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => linger.read += buf.filled().len() as u64,
                Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
