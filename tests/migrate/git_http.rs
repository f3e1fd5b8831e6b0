//! A git smart-HTTP server on 127.0.0.1 for the push and clone tests: every request must carry
//! Basic credentials; an accepted one is handed to the real `git http-backend` (CGI), which
//! serves the bare repositories under a folder, fetch and push alike. Plain HTTP, or HTTPS
//! (rustls) with a certificate the harness makes (`support::tls_auth`).
//!
//! One thread per connection, one request per connection (`Connection: close`), bounded by
//! time; it stops when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

pub struct GitHttpServer {
    addr: String,
    scheme: &'static str,
    stop: Arc<AtomicBool>,
    /// (method, path, user name or "" when refused) of each request.
    seen: Arc<Mutex<Vec<(String, String, String)>>>,
}

/// Whether `git http-backend` can run here.
pub fn git_http_backend_missing() -> bool {
    let found = Command::new("git")
        .args(["--exec-path"])
        .output()
        .ok()
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        .is_some_and(|dir| dir.join("git-http-backend").exists());
    if !found {
        eprintln!("skipped: `git http-backend` not found (install Debian's git)");
    }
    !found
}

impl GitHttpServer {
    pub fn start(root: &Path, user: &str, password: &str) -> GitHttpServer {
        GitHttpServer::start_with(root, user, password, None)
    }

    /// The same over TLS, with this certificate chain and key (PEM).
    pub fn start_tls(
        root: &Path,
        user: &str,
        password: &str,
        cert: &Path,
        key: &Path,
    ) -> GitHttpServer {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(key).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        GitHttpServer::start_with(root, user, password, Some(Arc::new(config)))
    }

    fn start_with(
        root: &Path,
        user: &str,
        password: &str,
        tls: Option<Arc<ServerConfig>>,
    ) -> GitHttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        let (root, user) = (root.to_path_buf(), user.to_string());
        let (stop_flag, log) = (stop.clone(), seen.clone());
        let tls_on = tls.is_some();
        thread::spawn(move || {
            while !stop_flag.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (root, user, expected, log) =
                            (root.clone(), user.clone(), expected.clone(), log.clone());
                        let tls = tls.clone();
                        thread::spawn(move || {
                            let _ = connection(stream, tls, &root, &user, &expected, &log);
                        });
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        let scheme = if tls_on { "https" } else { "http" };
        GitHttpServer {
            addr,
            scheme,
            stop,
            seen,
        }
    }

    pub fn url(&self, repo: &str) -> String {
        format!("{}://{}/{repo}", self.scheme, self.addr)
    }

    pub fn requests(&self) -> Vec<(String, String, String)> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Status line text, headers and body of an answer.
type Response = (String, Vec<(String, String)>, Vec<u8>);

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// One connection, in the clear or through TLS.
fn connection(
    stream: TcpStream,
    tls: Option<Arc<ServerConfig>>,
    root: &Path,
    user: &str,
    expected: &str,
    log: &Mutex<Vec<(String, String, String)>>,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let Some(config) = tls else {
        return serve(stream, root, user, expected, log);
    };
    let session = ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut stream = StreamOwned::new(session, stream);
    serve(&mut stream, root, user, expected, log)?;
    stream.conn.send_close_notify();
    stream.flush()
}

fn serve(
    mut stream: impl Read + Write,
    root: &Path,
    user: &str,
    expected: &str,
    log: &Mutex<Vec<(String, String, String)>>,
) -> std::io::Result<()> {
    // One request per connection: nothing the reader buffers beyond it is lost.
    let request = read_request(&mut BufReader::new(&mut stream))?;
    let authorized = request.header("Authorization") == Some(expected);
    log.lock().unwrap().push((
        request.method.clone(),
        request.target.clone(),
        if authorized {
            user.to_string()
        } else {
            String::new()
        },
    ));
    if !authorized {
        let body = b"credentials required\n";
        write!(
            stream,
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )?;
        return stream.write_all(body);
    }
    let (status, headers, body) = http_backend(&request, root, user)?;
    write!(stream, "HTTP/1.1 {status}\r\n")?;
    for (key, value) in headers {
        write!(stream, "{key}: {value}\r\n")?;
    }
    write!(
        stream,
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body)
}

fn read_request(reader: &mut impl BufRead) -> std::io::Result<Request> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
            break;
        }
        if let Some((key, value)) = line.trim_end().split_once(':') {
            headers.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    let mut request = Request {
        method,
        target,
        headers,
        body: Vec::new(),
    };
    if let Some(length) = request.header("Content-Length") {
        let mut body = vec![0; length.parse().unwrap_or(0)];
        reader.read_exact(&mut body)?;
        request.body = body;
    } else if request
        .header("Transfer-Encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        request.body = read_chunked(reader)?;
    }
    Ok(request)
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size)?;
        let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk)?;
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}

/// Runs `git http-backend` as a CGI program for one request.
fn http_backend(request: &Request, root: &Path, user: &str) -> std::io::Result<Response> {
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((&request.target, ""));
    let mut command = Command::new("git");
    command
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", root)
        .env("REQUEST_METHOD", &request.method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("REMOTE_USER", user)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("CONTENT_LENGTH", request.body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(kind) = request.header("Content-Type") {
        command.env("CONTENT_TYPE", kind);
    }
    if let Some(encoding) = request.header("Content-Encoding") {
        command.env("HTTP_CONTENT_ENCODING", encoding);
    }
    if let Some(protocol) = request.header("Git-Protocol") {
        command.env("GIT_PROTOCOL", protocol);
    }
    let mut child = command.spawn()?;
    let mut stdin = child.stdin.take().unwrap();
    let body = request.body.clone();
    let writer = thread::spawn(move || stdin.write_all(&body));
    let output = child.wait_with_output()?;
    let _ = writer.join();
    let split = output
        .stdout
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| (at, 4))
        .or_else(|| {
            output
                .stdout
                .windows(2)
                .position(|w| w == b"\n\n")
                .map(|at| (at, 2))
        })
        .unwrap_or((output.stdout.len(), 0));
    let head = String::from_utf8_lossy(&output.stdout[..split.0]).into_owned();
    let body = output.stdout[(split.0 + split.1).min(output.stdout.len())..].to_vec();
    let mut status = "200 OK".to_string();
    let mut headers = Vec::new();
    for line in head.lines() {
        if let Some((key, value)) = line.split_once(':') {
            if key.eq_ignore_ascii_case("Status") {
                status = value.trim().to_string();
            } else {
                headers.push((key.trim().to_string(), value.trim().to_string()));
            }
        }
    }
    Ok((status, headers, body))
}
