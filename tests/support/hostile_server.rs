//! A HOSTILE registry on 127.0.0.1: a tiny HTTP(S) server whose every answer the test writes,
//! for the misbehaviour no real registry can be made to show — an HTML page or a JSON error
//! with 200, a redirect from HTTPS to plain HTTP, a token realm on `http://`, a body that never
//! ends. Real registry behaviour is tested against `Registry` (docker-registry); this server is
//! only for what an attacker's registry would do.
//!
//! The test gives a handler from the request (`Seen`) to a `Reply`. Every request is recorded:
//! method, path with query, the `Authorization` scheme and the Basic user (never a password).
//! One thread per connection (at most `MAX_CONNECTIONS`), one request per connection
//! (`Connection: close`); writes of an endless body stop when the client goes away or after
//! `ENDLESS_CAP` bytes; it stops when dropped.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use tempfile::TempDir;

use super::http::find;
use super::tls_auth::make_tls_files;

const MAX_CONNECTIONS: usize = 64;
const MAX_HEAD: usize = 64 * 1024;
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// An "endless" body stops here (8 GiB) even if the client keeps reading.
const ENDLESS_CAP: u64 = 8 << 30;

/// One request the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    /// The request target, query string included.
    pub path: String,
    /// The scheme of the `Authorization` header ("Basic", "Bearer"); None when absent.
    pub auth_scheme: Option<String>,
    /// The user name of a `Basic` header (never the password).
    pub basic_user: Option<String>,
}

/// What the server answers.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A status, headers and a body (Content-Length is added; a HEAD gets no body).
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// A status and headers, then `prefix` and spaces without end (no Content-Length).
    Endless {
        status: u16,
        headers: Vec<(String, String)>,
        prefix: Vec<u8>,
    },
}

impl Reply {
    pub fn new(status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Reply {
        Reply::Full {
            status,
            headers: owned(headers),
            body: body.into(),
        }
    }

    pub fn endless(status: u16, headers: &[(&str, &str)], prefix: &str) -> Reply {
        Reply::Endless {
            status,
            headers: owned(headers),
            prefix: prefix.as_bytes().to_vec(),
        }
    }
}

fn owned(headers: &[(&str, &str)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

pub struct HostileServer {
    addr: String,
    scheme: &'static str,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// The CA a client must trust for the HTTPS server.
    ca_pem: Option<PathBuf>,
    _pki: Option<TempDir>,
    /// Bytes of endless bodies written so far.
    endless_written: Arc<AtomicUsize>,
}

impl HostileServer {
    /// Plain HTTP.
    pub fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> HostileServer {
        Self::launch(Arc::new(handler), None, None)
    }

    /// HTTPS with a certificate for 127.0.0.1 from a CA of its own (`ca_pem`).
    pub fn start_tls(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> HostileServer {
        let pki = TempDir::new().unwrap();
        let files = make_tls_files(pki.path());
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.server_cert)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(&files.server_key).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        let mut server = Self::launch(
            Arc::new(handler),
            Some(Arc::new(config)),
            Some(files.ca_pem),
        );
        server._pki = Some(pki);
        server
    }

    fn launch(
        handler: Arc<Handler>,
        tls: Option<Arc<ServerConfig>>,
        ca_pem: Option<PathBuf>,
    ) -> HostileServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let endless_written = Arc::new(AtomicUsize::new(0));
        let scheme = if tls.is_some() { "https" } else { "http" };
        let (stop_flag, log, written) = (stop.clone(), seen.clone(), endless_written.clone());
        let active = Arc::new(AtomicUsize::new(0));
        thread::spawn(move || {
            while !stop_flag.load(Ordering::SeqCst) {
                let Ok((stream, _)) = listener.accept() else {
                    thread::sleep(Duration::from_millis(5));
                    continue;
                };
                if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                    active.fetch_sub(1, Ordering::SeqCst);
                    continue;
                }
                let (handler, tls, log, written, active, stop) = (
                    handler.clone(),
                    tls.clone(),
                    log.clone(),
                    written.clone(),
                    active.clone(),
                    stop_flag.clone(),
                );
                thread::spawn(move || {
                    let _ = connection(stream, tls, &*handler, &log, &written, &stop);
                    active.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        HostileServer {
            addr,
            scheme,
            stop,
            seen,
            ca_pem,
            _pki: None,
            endless_written,
        }
    }

    /// "127.0.0.1:PORT".
    pub fn host(&self) -> String {
        self.addr.clone()
    }

    /// "http://127.0.0.1:PORT" or "https://…".
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    pub fn ca_pem(&self) -> Option<&PathBuf> {
        self.ca_pem.as_ref()
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Bytes of endless bodies written so far (what the clients read, give or take buffers).
    pub fn endless_bytes_written(&self) -> usize {
        self.endless_written.load(Ordering::SeqCst)
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn connection(
    stream: TcpStream,
    tls: Option<Arc<ServerConfig>>,
    handler: &Handler,
    log: &Mutex<Vec<Seen>>,
    written: &AtomicUsize,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    match tls {
        Some(config) => {
            let session = ServerConnection::new(config).map_err(std::io::Error::other)?;
            let mut stream = StreamOwned::new(session, stream);
            serve(&mut stream, handler, log, written, stop)
        }
        None => {
            let mut stream = stream;
            serve(&mut stream, handler, log, written, stop)
        }
    }
}

fn serve(
    stream: &mut (impl Read + Write),
    handler: &Handler,
    log: &Mutex<Vec<Seen>>,
    written: &AtomicUsize,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let end = loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            break end;
        }
        if buf.len() > MAX_HEAD {
            return Ok(());
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_string();
    let path = request_line.next().unwrap_or_default().to_string();
    let authorization = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("authorization"))
        .map(|(_, value)| value.trim().to_string());
    let seen = Seen {
        method: method.clone(),
        path,
        auth_scheme: authorization
            .as_deref()
            .map(|a| a.split(' ').next().unwrap_or_default().to_string()),
        basic_user: authorization.as_deref().and_then(basic_user),
    };
    log.lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(seen.clone());
    let head_only = method == "HEAD";
    match handler(&seen) {
        Reply::Full {
            status,
            headers,
            body,
        } => {
            let mut out = status_and_headers(status, &headers);
            out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
            stream.write_all(out.as_bytes())?;
            if !head_only {
                stream.write_all(&body)?;
            }
        }
        Reply::Endless {
            status,
            headers,
            prefix,
        } => {
            let mut out = status_and_headers(status, &headers);
            out.push_str("\r\n");
            stream.write_all(out.as_bytes())?;
            if !head_only {
                stream.write_all(&prefix)?;
                let filler = vec![b' '; 64 * 1024];
                let mut total = 0u64;
                while total < ENDLESS_CAP && !stop.load(Ordering::SeqCst) {
                    stream.write_all(&filler)?;
                    total += filler.len() as u64;
                    written.fetch_add(filler.len(), Ordering::SeqCst);
                }
            }
        }
    }
    stream.flush()
}

fn status_and_headers(status: u16, headers: &[(String, String)]) -> String {
    let mut out = format!("HTTP/1.1 {status} Hostile\r\nConnection: close\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out
}

fn basic_user(authorization: &str) -> Option<String> {
    let (scheme, encoded) = authorization.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split_once(':')?.0.to_string())
}
