//! Tiny HTTP proxies on 127.0.0.1 in front of a plain-HTTP `Registry`:
//! - `RateLimitProxy`, for tests of rate-limit handling: the first `n` requests get
//!   `429 Too Many Requests` with a `Retry-After` header, every later one is forwarded byte for
//!   byte;
//! - `DigestStrippingProxy`, for tests of clients that must hash manifests themselves: every
//!   request is forwarded, and every response comes back without its `Docker-Content-Digest`
//!   header (the rest of the head and the body byte for byte), as some registries and caches do.
//!
//! Kept deliberately simple: one thread per connection, one request per connection (every
//! response says `Connection: close`, and the request is forwarded with `Connection: close`,
//! so the response ends when the registry closes). The client's `Host` header is passed through
//! unchanged, so the registry builds upload `Location` URLs that point back at the proxy.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::http::find;
use super::registry::Registry;

/// At most this many connections are served at once; more are closed at once (bounded threads).
const MAX_CONNECTIONS: usize = 64;
/// Any single read or write that stalls this long ends its connection.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// Request heads larger than this are refused (registry requests are a few hundred bytes).
const MAX_HEAD: usize = 64 * 1024;

pub struct RateLimitProxy {
    core: ProxyCore,
}

impl RateLimitProxy {
    /// Starts the proxy in front of `upstream`, which must be a plain-HTTP instance
    /// (`Registry::start`): the proxy cannot answer 429 inside someone else's TLS.
    pub fn start(upstream: &Registry, first_n_429: usize, retry_after_secs: u64) -> RateLimitProxy {
        let behaviour = Behaviour::RateLimit(Limit {
            first_n_429,
            retry_after_secs,
        });
        RateLimitProxy {
            core: ProxyCore::start(upstream, "RateLimitProxy", behaviour),
        }
    }

    /// "127.0.0.1:PORT" of the proxy.
    pub fn host(&self) -> String {
        self.core.addr.to_string()
    }

    /// Requests received so far, the 429'd ones included.
    pub fn requests_seen(&self) -> usize {
        self.core.seen.load(Ordering::SeqCst)
    }
}

pub struct DigestStrippingProxy {
    core: ProxyCore,
    stripped: Arc<AtomicUsize>,
}

impl DigestStrippingProxy {
    /// Starts the proxy in front of `upstream`, which must be a plain-HTTP instance
    /// (`Registry::start`): the proxy cannot edit headers inside someone else's TLS.
    pub fn start(upstream: &Registry) -> DigestStrippingProxy {
        let stripped = Arc::new(AtomicUsize::new(0));
        let behaviour = Behaviour::StripDigest(stripped.clone());
        DigestStrippingProxy {
            core: ProxyCore::start(upstream, "DigestStrippingProxy", behaviour),
            stripped,
        }
    }

    /// "127.0.0.1:PORT" of the proxy.
    pub fn host(&self) -> String {
        self.core.addr.to_string()
    }

    /// Requests received so far.
    pub fn requests_seen(&self) -> usize {
        self.core.seen.load(Ordering::SeqCst)
    }

    /// `Docker-Content-Digest` headers removed from responses so far.
    pub fn digest_headers_stripped(&self) -> usize {
        self.stripped.load(Ordering::SeqCst)
    }
}

/// What a proxy does besides forwarding.
#[derive(Clone)]
enum Behaviour {
    RateLimit(Limit),
    /// Counts the headers it removed.
    StripDigest(Arc<AtomicUsize>),
}

/// The accept loop shared by the proxies; stopped on Drop.
struct ProxyCore {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    seen: Arc<AtomicUsize>,
    accept_thread: Option<JoinHandle<()>>,
}

impl ProxyCore {
    fn start(upstream: &Registry, kind: &str, behaviour: Behaviour) -> ProxyCore {
        assert!(
            upstream.ca_pem_path().is_none(),
            "{kind} needs a plain-HTTP upstream (Registry::start)"
        );
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy listener");
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(AtomicUsize::new(0));
        let upstream = upstream.host();
        let accept_thread = {
            let (stop, seen) = (stop.clone(), seen.clone());
            let active = Arc::new(AtomicUsize::new(0));
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                        active.fetch_sub(1, Ordering::SeqCst);
                        continue; // dropping the stream closes it
                    }
                    let (seen, active, upstream) = (seen.clone(), active.clone(), upstream.clone());
                    let behaviour = behaviour.clone();
                    thread::spawn(move || {
                        let _ = serve(stream, &upstream, &seen, &behaviour);
                        active.fetch_sub(1, Ordering::SeqCst);
                    });
                }
            })
        };
        ProxyCore {
            addr,
            stop,
            seen,
            accept_thread: Some(accept_thread),
        }
    }
}

impl Drop for ProxyCore {
    fn drop(&mut self) {
        // Wake the blocking accept() with a connection of our own so the loop sees `stop`.
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
        // Connection threads still running end on their own (EOF or IO_TIMEOUT).
    }
}

#[derive(Clone, Copy)]
struct Limit {
    first_n_429: usize,
    retry_after_secs: u64,
}

fn serve(
    mut client: TcpStream,
    upstream: &str,
    seen: &AtomicUsize,
    behaviour: &Behaviour,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(IO_TIMEOUT))?;
    client.set_write_timeout(Some(IO_TIMEOUT))?;
    // Read up to the end of the request head; whatever body bytes came along are kept.
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            break end;
        }
        if buf.len() > MAX_HEAD {
            return Ok(());
        }
        let mut chunk = [0u8; 4096];
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Ok(()); // closed before a full request (e.g. our own wake-up connect)
        }
        buf.extend_from_slice(&chunk[..n]);
        // Not HTTP (0x16 starts a TLS handshake: clients like skopeo try HTTPS first): close
        // now, so the client falls back at once instead of waiting for its handshake timeout.
        if !buf[0].is_ascii_uppercase() {
            return Ok(());
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let body_start = buf[head_end + 4..].to_vec();

    let number = seen.fetch_add(1, Ordering::SeqCst);
    if let Behaviour::RateLimit(limit) = behaviour
        && number < limit.first_n_429
    {
        let is_head = head.starts_with("HEAD ");
        return answer_429(client, limit.retry_after_secs, is_head);
    }

    let mut upstream_conn = TcpStream::connect(upstream)?;
    upstream_conn.set_read_timeout(Some(IO_TIMEOUT))?;
    upstream_conn.set_write_timeout(Some(IO_TIMEOUT))?;
    upstream_conn.write_all(rewrite_head(&head).as_bytes())?;
    upstream_conn.write_all(&body_start)?;

    // Rest of the request body (any framing, chunked included) flows client -> upstream on a
    // second thread; the response flows back here until the registry closes the connection.
    let mut client_reader = client.try_clone()?;
    let mut upstream_writer = upstream_conn.try_clone()?;
    let uploader = thread::spawn(move || {
        let _ = std::io::copy(&mut client_reader, &mut upstream_writer);
    });
    let result = match behaviour {
        Behaviour::StripDigest(stripped) => {
            copy_without_digest_header(&mut upstream_conn, &mut client, stripped)
        }
        Behaviour::RateLimit(_) => std::io::copy(&mut upstream_conn, &mut client).map(|_| ()),
    };
    // Shutting the client socket down wakes the uploader's blocked read.
    let _ = client.shutdown(Shutdown::Both);
    let _ = upstream_conn.shutdown(Shutdown::Both);
    let _ = uploader.join();
    result
}

/// Copies a response from `upstream` to `client`, dropping `Docker-Content-Digest` from its
/// head; the rest of the head and the whole body go through unchanged.
fn copy_without_digest_header(
    upstream: &mut TcpStream,
    client: &mut TcpStream,
    stripped: &AtomicUsize,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            break end;
        }
        let mut chunk = [0u8; 8192];
        let n = upstream.read(&mut chunk)?;
        if n == 0 || buf.len() > MAX_HEAD {
            // No complete head: pass on whatever came, unchanged.
            client.write_all(&buf)?;
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut out = String::new();
    for line in head.split("\r\n") {
        let name = line.split(':').next().unwrap_or_default().trim();
        if name.eq_ignore_ascii_case("docker-content-digest") {
            stripped.fetch_add(1, Ordering::SeqCst);
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    client.write_all(out.as_bytes())?;
    client.write_all(&buf[head_end + 4..])?;
    std::io::copy(upstream, client)?;
    Ok(())
}

/// The request head with hop-by-hop connection headers replaced by `Connection: close`.
fn rewrite_head(head: &str) -> String {
    let mut out = String::new();
    for (i, line) in head.split("\r\n").enumerate() {
        let name = line.split(':').next().unwrap_or_default().trim();
        let hop_by_hop = ["connection", "keep-alive", "proxy-connection"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h));
        if i > 0 && hop_by_hop {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    out
}

/// Sends the 429, then drains what the client still sends (an unread request body would make
/// close() reset the connection, and the client could lose the response).
fn answer_429(mut client: TcpStream, retry_after_secs: u64, is_head: bool) -> std::io::Result<()> {
    let body = r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"rate limited by the pinnace test proxy","detail":null}]}"#;
    let response = format!(
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: {retry_after_secs}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        if is_head { "" } else { body }
    );
    client.write_all(response.as_bytes())?;
    client.flush()?;
    let _ = client.shutdown(Shutdown::Write);
    client.set_read_timeout(Some(Duration::from_millis(500)))?;
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut sink = [0u8; 8192];
    while Instant::now() < deadline {
        match client.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    Ok(())
}
