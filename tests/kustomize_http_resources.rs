//! HTTP file resources (`resources: [http://host/app.yaml]`), served by a plain HTTP/1.1
//! server on 127.0.0.1: never fetched by default (reported as not fetched, at the entry),
//! fetched with `pinnace build --fetch` / `check --fetch-remote` into the cache, read from
//! the cache by later offline runs, and bounded in size.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n      - name: api\n        image: ghcr.io/acme/api:1.0.0\n";

/// Serves `/app.yaml`, `/moved` (a redirect to it) and `/huge.yaml` (announced larger than
/// any tree file may be), one request per connection, recording each path asked for.
struct FileServer {
    addr: String,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl FileServer {
    fn start() -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (stopping, log) = (stop.clone(), seen.clone());
        std::thread::spawn(move || {
            while !stopping.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        stream
                            .set_read_timeout(Some(Duration::from_secs(5)))
                            .unwrap();
                        answer(stream, &log);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        FileServer { addr, stop, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}/{path}", self.addr)
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn answer(stream: std::net::TcpStream, log: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream);
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    // The headers, up to the blank line.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line.trim() != "" {
        line.clear();
    }
    let path = request.split(' ').nth(1).unwrap_or("").to_string();
    log.lock().unwrap().push(path.clone());
    let response = match path.as_str() {
        "/app.yaml" => format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{DEPLOYMENT}",
            DEPLOYMENT.len()
        ),
        "/moved" => "HTTP/1.1 302 Found\r\nLocation: /app.yaml\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string(),
        "/huge.yaml" => "HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\nConnection: close\r\n\r\nkind: x\n".to_string(),
        _ => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string(),
    };
    let mut stream = reader.into_inner();
    let _ = stream.write_all(response.as_bytes());
}

fn pinnace(dir: &Path, cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pinnace"))
        .args(["--color", "never"])
        .args(args)
        .current_dir(dir)
        .env("PINNACE_CACHE_DIR", cache)
        .env("HOME", cache)
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .output()
        .unwrap()
}

fn tree(resource: &str) -> tempfile::TempDir {
    let tree = tempfile::tempdir().unwrap();
    std::fs::write(
        tree.path().join("kustomization.yaml"),
        format!("namePrefix: prod-\nresources:\n- {resource}\n"),
    )
    .unwrap();
    tree
}

/// The documents of a stream, as JSON values (key order aside).
fn documents(stream: &str) -> Vec<serde_json::Value> {
    pinnace::yaml::load_stream(stream, pinnace::yaml::Limits::default())
        .documents
        .iter()
        .map(pinnace::config::to_json)
        .collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn an_http_file_is_fetched_only_when_asked_then_read_from_the_cache() {
    let server = FileServer::start();
    let tree = tree(&server.url("moved"));
    let cache = tempfile::tempdir().unwrap();

    let offline = pinnace(tree.path(), cache.path(), &["build", "."]);
    assert!(offline.status.success(), "{}", text(&offline.stderr));
    let stderr = text(&offline.stderr);
    assert!(
        stderr.contains("kustomization.yaml:3:3: remote file") && stderr.contains("is not fetched"),
        "{stderr}"
    );
    assert!(!text(&offline.stdout).contains("Deployment"));
    assert!(
        server.requests().is_empty(),
        "an offline run asked the server"
    );

    let fetched = pinnace(tree.path(), cache.path(), &["build", "--fetch", "."]);
    assert!(fetched.status.success(), "{}", text(&fetched.stderr));
    let stdout = text(&fetched.stdout);
    assert!(stdout.contains("name: prod-api"), "{stdout}");
    assert_eq!(
        server.requests(),
        ["/moved", "/app.yaml"],
        "one fetch, redirected"
    );
    // kustomize itself, where it is on PATH, builds the same from the same server.
    if let Ok(kubectl) = Command::new("kubectl")
        .args(["kustomize", "."])
        .current_dir(tree.path())
        .output()
    {
        assert!(kubectl.status.success(), "{}", text(&kubectl.stderr));
        assert_eq!(
            documents(&text(&kubectl.stdout)),
            documents(&stdout),
            "as kubectl kustomize builds it"
        );
    }

    drop(server);
    let later = pinnace(tree.path(), cache.path(), &["build", "."]);
    assert!(later.status.success(), "{}", text(&later.stderr));
    assert_eq!(text(&later.stdout), stdout, "read from the cache");
}

#[test]
fn check_fetch_remote_checks_what_the_file_holds() {
    let server = FileServer::start();
    let url = server.url("app.yaml");
    let tree = tree(&url);
    let cache = tempfile::tempdir().unwrap();
    let args = [
        "check",
        "--format",
        "concise",
        "--select",
        "digest-pinning",
        ".",
    ];
    let offline = pinnace(tree.path(), cache.path(), &args);
    assert!(!text(&offline.stdout).contains("ghcr.io/acme/api"));
    assert!(server.requests().is_empty());

    let mut fetching = args.to_vec();
    fetching.insert(1, "--fetch-remote");
    let checked = pinnace(tree.path(), cache.path(), &fetching);
    let stdout = text(&checked.stdout);
    assert!(
        stdout.contains(&format!(
            "{url}:10:16: digest-pinning image `ghcr.io/acme/api:1.0.0`"
        )),
        "{stdout}{}",
        text(&checked.stderr)
    );
}

#[test]
fn an_http_file_past_the_size_limit_is_refused_and_not_cached() {
    let server = FileServer::start();
    let tree = tree(&server.url("huge.yaml"));
    let cache = tempfile::tempdir().unwrap();
    let fetched = pinnace(tree.path(), cache.path(), &["build", "--fetch", "."]);
    assert!(!fetched.status.success());
    assert!(
        text(&fetched.stderr).contains("is larger than"),
        "{}",
        text(&fetched.stderr)
    );
    let cached = cache.path().join("kustomize-remote");
    let files = std::fs::read_dir(&cached).map_or(0, |dir| dir.count());
    assert_eq!(files, 0, "nothing cached");
}
