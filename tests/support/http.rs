//! A minimal plain-HTTP/1.1 client over `std::net`, enough for the harness's own requests
//! (readiness probe, manifest DELETE) and for tests that want to see raw status lines and
//! headers (e.g. the proxy's 429 + Retry-After) without going through the code under test.
//!
//! Every request is sent with `Connection: close`, so the response ends at EOF and no
//! chunked/keep-alive parsing is needed.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The User-Agent of every request this module sends. The registry's access log records it,
/// which lets `Registry::requests_excluding_harness` drop the harness's own traffic.
pub const HARNESS_USER_AGENT: &str = "pinnace-test-harness";

/// Whether a User-Agent is the harness's own: its HTTP helper, or skopeo (containers/image).
pub fn is_harness_user_agent(user_agent: &str) -> bool {
    user_agent.starts_with(HARNESS_USER_AGENT)
        || user_agent.contains("containers/image")
        || user_agent.starts_with("skopeo")
}

/// A parsed HTTP response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names lower-cased, values trimmed, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request to `host` ("127.0.0.1:PORT") and reads the whole response.
/// `extra_headers` are added verbatim; Host, User-Agent, Connection and Content-Length are set here.
pub fn http_request(
    host: &str,
    method: &str,
    path: &str,
    extra_headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect(host)?;
    // Generous, but bounded: a wedged server must fail the test, not hang it.
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {HARNESS_USER_AGENT}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in extra_headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw, method == "HEAD")
}

/// Shorthand for a bodiless GET.
pub fn http_get(host: &str, path: &str) -> std::io::Result<HttpResponse> {
    http_request(host, "GET", path, &[], b"")
}

fn parse_response(raw: &[u8], head_only: bool) -> std::io::Result<HttpResponse> {
    let bad = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_string());
    let end = find(raw, b"\r\n\r\n").ok_or_else(|| bad("no end of response head"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad("response head not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(&format!("bad status line {status_line:?}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = if head_only {
        Vec::new()
    } else {
        raw[end + 4..].to_vec()
    };
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body).ok_or_else(|| bad("bad chunked body"))?;
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// Decodes a chunked body (the registry chunks some error bodies even with `Connection: close`).
fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = find(data, b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
