//! Connections as `quay serve` serves them, on both backends: slow or half-open clients are cut
//! off by the header and body timeouts (`HTTP_HEADER_READ_TIMEOUT_S`, `HTTP_BODY_READ_TIMEOUT_S`),
//! at most `HTTP_MAX_CONNECTIONS` are served at once, and a large request refused before its body
//! was read still lets the client read the answer instead of a reset connection.

use super::common;

use common::{Backend, OCI_MANIFEST, Registry};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Reads until the server closes `s` (EOF or reset), at most until `within` has passed.
/// `Some(bytes received)` if it closed, `None` if it was still open at the deadline.
async fn read_to_close(s: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let deadline = tokio::time::Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads one response head (through the blank line), at most until `within` has passed.
async fn read_head(s: &mut TcpStream, within: Duration) -> Option<String> {
    let deadline = tokio::time::Instant::now() + within;
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        match tokio::time::timeout_at(deadline, s.read(&mut byte)).await {
            Ok(Ok(1)) => got.push(byte[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&got).into_owned())
}

/// A partial request header, or nothing at all, is closed once the header timeout (1 s here)
/// has passed; complete requests are still served.
async fn header_timeout(backend: Backend, tag: &str) {
    let r = Registry::start(backend, tag, "HTTP_HEADER_READ_TIMEOUT_S: 1\n").await;
    let mut partial = TcpStream::connect(&r.host).await.expect("connect");
    partial.write_all(b"GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.expect("write");
    let mut silent = TcpStream::connect(&r.host).await.expect("connect");
    let start = Instant::now();
    for (name, s) in [("partial header", &mut partial), ("no header", &mut silent)] {
        let answer = read_to_close(s, Duration::from_secs(10)).await;
        assert!(answer.is_some(), "{name}: still open after 10 s");
    }
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(5), "closed after {took:?}");

    assert_eq!(r.req(reqwest::Method::GET, "/v2/", None).send().await.expect("GET").status(), 401);
    let mut s = TcpStream::connect(&r.host).await.expect("connect");
    for _ in 0..3 {
        s.write_all(b"GET /health/instance HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
        let head = read_head(&mut s, Duration::from_secs(10)).await.expect("answered");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let len: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
            })
            .and_then(|v| v.parse().ok())
            .expect("content-length");
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).await.expect("body");
    }
}

#[tokio::test]
async fn header_timeout_sqlite() {
    header_timeout(Backend::Sqlite, "").await;
}

#[tokio::test]
async fn header_timeout_postgres() {
    header_timeout(Backend::Postgres, "hdrtimeout").await;
}

/// A body that stops arriving is answered 408 and closed after the body timeout (1 s here).
async fn body_timeout(backend: Backend, tag: &str) {
    let r = Registry::start(backend, tag, "HTTP_BODY_READ_TIMEOUT_S: 1\n").await;
    r.user("alice").await;
    let t = r.token(Some("alice"), &["repository:alice/app:push,pull"]).await;
    let resp =
        r.req(reqwest::Method::POST, "/v2/alice/app/blobs/uploads/", Some(&t)).send().await.expect("POST");
    assert_eq!(resp.status(), 202);
    let location = resp.headers()["location"].to_str().expect("location").to_string();
    let path = location.strip_prefix(&r.url).unwrap_or(&location);
    let mut s = TcpStream::connect(&r.host).await.expect("connect");
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {t}\r\nContent-Length: 1000\r\n\r\n",
        r.host
    );
    s.write_all(head.as_bytes()).await.expect("write");
    s.write_all(&[7u8; 10]).await.expect("write");
    let start = Instant::now();
    let answer = read_to_close(&mut s, Duration::from_secs(10)).await.expect("closed within 10 s");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
    assert_eq!(r.req(reqwest::Method::GET, "/v2/", Some(&t)).send().await.expect("GET").status(), 200);
}

#[tokio::test]
async fn body_timeout_sqlite() {
    body_timeout(Backend::Sqlite, "").await;
}

#[tokio::test]
async fn body_timeout_postgres() {
    body_timeout(Backend::Postgres, "bodytimeout").await;
}

/// With every slot held, a further client is not served until one is freed.
async fn connection_limit(backend: Backend, tag: &str) {
    let r = Registry::start(backend, tag, "HTTP_MAX_CONNECTIONS: 2\n").await;
    let first = TcpStream::connect(&r.host).await.expect("connect");
    let _second = TcpStream::connect(&r.host).await.expect("connect");
    let mut third = TcpStream::connect(&r.host).await.expect("connect (kernel backlog)");
    third.write_all(b"GET /health/instance HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
    assert_eq!(read_head(&mut third, Duration::from_millis(500)).await, None, "served beyond the limit");
    drop(first);
    let head = read_head(&mut third, Duration::from_secs(10)).await.expect("served once a slot is free");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}

#[tokio::test]
async fn connection_limit_sqlite() {
    connection_limit(Backend::Sqlite, "").await;
}

#[tokio::test]
async fn connection_limit_postgres() {
    connection_limit(Backend::Postgres, "connlimit").await;
}

/// A 4 MB manifest PUT without credentials is refused 401 before its body is read; the client,
/// still writing, must read that 401 every time (not a reset or broken pipe): a raw client that
/// writes everything before reading, and reqwest.
async fn refused_large_put(backend: Backend, tag: &str) {
    let r = Registry::start(backend, tag, "").await;
    r.user("alice").await;
    let body = vec![b' '; 4_000_000];
    let head = format!(
        "PUT /v2/alice/app/manifests/latest HTTP/1.1\r\nHost: {}\r\nContent-Type: {OCI_MANIFEST}\r\n\
         Content-Length: {}\r\n\r\n",
        r.host,
        body.len()
    );
    for i in 0..50 {
        let mut s = TcpStream::connect(&r.host).await.expect("connect");
        s.write_all(head.as_bytes()).await.expect("write head");
        if let Err(e) = s.write_all(&body).await {
            panic!("attempt {i}: writing the body failed: {e}");
        }
        let answer = read_head(&mut s, Duration::from_secs(30)).await;
        let answer = answer.unwrap_or_else(|| panic!("attempt {i}: no response"));
        assert!(answer.starts_with("HTTP/1.1 401"), "attempt {i}: {answer}");
    }
    for i in 0..50 {
        let resp = r
            .req(reqwest::Method::PUT, "/v2/alice/app/manifests/latest", None)
            .header("content-type", OCI_MANIFEST)
            .body(body.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("attempt {i}: {e:?}"));
        assert_eq!(resp.status(), 401, "attempt {i}");
    }
    // A client that waits for 100 Continue is answered at once and never asked for the body.
    let mut s = TcpStream::connect(&r.host).await.expect("connect");
    let expect = head.replace("\r\n\r\n", "\r\nExpect: 100-continue\r\n\r\n");
    s.write_all(expect.as_bytes()).await.expect("write head");
    let answer = read_head(&mut s, Duration::from_secs(10)).await.expect("answered without the body");
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert_eq!(common::scalar(&r, "SELECT count(*) FROM manifest").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_large_put_sqlite() {
    refused_large_put(Backend::Sqlite, "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_large_put_postgres() {
    refused_large_put(Backend::Postgres, "largeput").await;
}
