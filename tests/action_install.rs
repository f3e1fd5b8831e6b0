//! The GitHub Action's installer (`action/install.sh`) against a real HTTP server (Python's
//! `http.server` on 127.0.0.1) that serves a release laid out as GitHub serves one:
//! `OWNER/REPO/releases/download/TAG/ASSET`, with archives that `scripts/release-archive.sh`
//! packs from the local build and a `SHA256SUMS` beside them. The action's repository is also
//! served as a git repository (dumb HTTP), so that a commit-pinned `uses:` finds its tag.

mod ci_support;

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use ci_support::{PROJECT, git, text, write};
use sha2::{Digest, Sha256};

const REPOSITORY: &str = "acme/pinnace";
const LINUX_X64: &str = "x86_64-unknown-linux-musl";

/// The tag of this build's version, as the release workflow names it.
fn tag() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION"))
}

/// A folder served over HTTP on a free port; the server stops when this is dropped.
struct Server {
    child: Child,
    port: u16,
    _root: tempfile::TempDir,
}

impl Server {
    fn start(root: tempfile::TempDir) -> Server {
        let mut child = Command::new("python3")
            .args(["-u", "-m", "http.server", "0", "--bind", "127.0.0.1"])
            .arg("--directory")
            .arg(root.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "Serving HTTP on 127.0.0.1 port 43521 (http://127.0.0.1:43521/) ..."
        let port = line
            .split_whitespace()
            .skip_while(|word| *word != "port")
            .nth(1)
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        Server {
            child,
            port,
            _root: root,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The release folder of `tag` below a served root.
fn release_dir(root: &Path, tag: &str) -> PathBuf {
    root.join(REPOSITORY).join("releases/download").join(tag)
}

/// Packs the local build as the release archive of each target, with SHA256SUMS. The binary
/// is a stripped copy, as a release's is (a debug build's symbols take long to compress).
fn publish(root: &Path, tag: &str, targets: &[&str]) {
    let dir = release_dir(root, tag);
    fs::create_dir_all(&dir).unwrap();
    let binary = root.join("pinnace");
    fs::copy(env!("CARGO_BIN_EXE_pinnace"), &binary).unwrap();
    let _ = Command::new("strip").arg(&binary).status();
    let mut sums = String::new();
    for target in targets {
        let output = Command::new("bash")
            .arg(Path::new(PROJECT).join("scripts/release-archive.sh"))
            .args([tag, target])
            .arg(&binary)
            .arg(&dir)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", text(&output));
        let archive = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        let hash = hex(&Sha256::digest(fs::read(&archive).unwrap()));
        let name = archive.file_name().unwrap().to_string_lossy();
        sums.push_str(&format!("{hash}  {name}\n"));
    }
    fs::write(dir.join("SHA256SUMS"), sums).unwrap();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A runner's view: where the step writes, and what it was given.
struct Runner {
    work: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Runner {
    fn new(server: &Server, action_ref: &str, os: &str, arch: &str) -> Runner {
        let work = tempfile::tempdir().unwrap();
        let env = [
            ("ACTION_PATH", PROJECT.to_string()),
            ("ACTION_REF", action_ref.to_string()),
            ("ACTION_REPOSITORY", REPOSITORY.to_string()),
            ("GITHUB_SERVER_URL", server.url()),
            ("RUNNER_OS", os.to_string()),
            ("RUNNER_ARCH", arch.to_string()),
            (
                "PINNACE_ROOT",
                work.path().join("pinnace").display().to_string(),
            ),
            (
                "GITHUB_OUTPUT",
                work.path().join("output").display().to_string(),
            ),
            // No pinnace and no cargo on PATH: the installer must not find either.
            ("PATH", "/usr/local/bin:/usr/bin:/bin".to_string()),
        ];
        Runner {
            work,
            env: env.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        }
    }

    fn install(&self) -> Output {
        let mut command = Command::new("bash");
        command
            .arg(Path::new(PROJECT).join("action/install.sh"))
            .env_clear()
            .envs(self.env.iter().cloned())
            .env("HOME", self.work.path());
        command.output().unwrap()
    }

    /// The `bin` output the step wrote.
    fn bin(&self) -> Option<PathBuf> {
        let output = fs::read_to_string(self.work.path().join("output")).ok()?;
        output
            .lines()
            .find_map(|line| line.strip_prefix("bin="))
            .map(PathBuf::from)
    }
}

fn skip_if_pinnace_on_system_path() -> bool {
    ["/usr/local/bin/pinnace", "/usr/bin/pinnace", "/bin/pinnace"]
        .iter()
        .any(|path| Path::new(path).exists())
}

#[test]
fn a_released_tag_downloads_verifies_and_runs_the_archive_for_the_platform() {
    if skip_if_pinnace_on_system_path() {
        eprintln!("skipped: a pinnace on the system PATH would be used as it is");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    publish(root.path(), &tag(), &[LINUX_X64, "aarch64-apple-darwin"]);
    let server = Server::start(root);
    let runner = Runner::new(&server, &tag(), "Linux", "X64");
    let output = runner.install();
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains(&format!("from release {} ({LINUX_X64}", tag())),
        "{}",
        text(&output)
    );
    let bin = runner.bin().expect("the step writes bin=");
    assert!(bin.ends_with(format!("pinnace-{}-{LINUX_X64}/pinnace", tag())));

    // The downloaded binary runs the check.
    let repo = tempfile::tempdir().unwrap();
    write(
        repo.path(),
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: nginx:1.25\n",
    );
    write(repo.path(), ".pinnace.yaml", "rules: {}\n");
    let check = Command::new(&bin)
        .args(["check", "--format", "json"])
        .arg(repo.path())
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    assert!(text(&check).contains("digest-pinning"), "{}", text(&check));
}

#[test]
fn each_platform_asks_for_its_own_archive() {
    let root = tempfile::tempdir().unwrap();
    publish(root.path(), &tag(), &[LINUX_X64]);
    let server = Server::start(root);
    for (os, arch, target) in [
        ("Linux", "ARM64", "aarch64-unknown-linux-musl.tar.gz"),
        ("macOS", "ARM64", "aarch64-apple-darwin.tar.gz"),
        ("macOS", "X64", "x86_64-apple-darwin.tar.gz"),
        ("Windows", "X64", "x86_64-pc-windows-msvc.zip"),
    ] {
        let runner = Runner::new(&server, &tag(), os, arch);
        let output = runner.install();
        // Not published: a clear failure that names the asset, nothing installed.
        assert_eq!(
            output.status.code(),
            Some(1),
            "{os}/{arch}: {}",
            text(&output)
        );
        let said = text(&output);
        assert!(
            said.contains(&format!("has no archive pinnace-{}-{target}", tag())),
            "{os}/{arch}: {said}"
        );
        assert!(said.contains("::error title=pinnace::"), "{said}");
        assert_eq!(runner.bin(), None);
    }
}

#[test]
fn a_checksum_mismatch_is_refused_and_nothing_runs() {
    let root = tempfile::tempdir().unwrap();
    publish(root.path(), &tag(), &[LINUX_X64]);
    let archive =
        release_dir(root.path(), &tag()).join(format!("pinnace-{}-{LINUX_X64}.tar.gz", tag()));
    let mut bytes = fs::read(&archive).unwrap();
    bytes.extend_from_slice(b"tampered");
    fs::write(&archive, bytes).unwrap();
    let server = Server::start(root);
    let runner = Runner::new(&server, &tag(), "Linux", "X64");
    let output = runner.install();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("checksum mismatch"),
        "{}",
        text(&output)
    );
    assert_eq!(runner.bin(), None);
    let unpacked = runner
        .work
        .path()
        .join("pinnace")
        .join(tag())
        .join(format!("pinnace-{}-{LINUX_X64}", tag()));
    assert!(!unpacked.exists(), "a tampered archive is never unpacked");
}

#[test]
fn a_release_without_sha256sums_is_refused() {
    let root = tempfile::tempdir().unwrap();
    publish(root.path(), &tag(), &[LINUX_X64]);
    fs::remove_file(release_dir(root.path(), &tag()).join("SHA256SUMS")).unwrap();
    let server = Server::start(root);
    let output = Runner::new(&server, &tag(), "Linux", "X64").install();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("has no SHA256SUMS"),
        "{}",
        text(&output)
    );
}

#[test]
fn a_commit_that_a_release_tag_points_at_downloads_that_release() {
    if skip_if_pinnace_on_system_path() {
        eprintln!("skipped: a pinnace on the system PATH would be used as it is");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    // The action's repository, served over git's dumb HTTP protocol, with the release tag.
    let work = tempfile::tempdir().unwrap();
    git(work.path(), &["init", "-q"]);
    write(work.path(), "README.md", "pinnace\n");
    git(work.path(), &["add", "."]);
    git(work.path(), &["commit", "-q", "-m", "release"]);
    git(work.path(), &["tag", "-a", &tag(), "-m", "release"]);
    let sha = String::from_utf8(git(work.path(), &["rev-parse", "HEAD"]).stdout).unwrap();
    let bare = root.path().join(REPOSITORY);
    fs::create_dir_all(bare.parent().unwrap()).unwrap();
    git(
        root.path(),
        &[
            "clone",
            "-q",
            "--bare",
            &work.path().display().to_string(),
            &bare.display().to_string(),
        ],
    );
    git(&bare, &["update-server-info"]);
    publish(root.path(), &tag(), &[LINUX_X64]);
    let server = Server::start(root);

    let runner = Runner::new(&server, sha.trim(), "Linux", "X64");
    let output = runner.install();
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains(&format!("from release {}", tag())),
        "{}",
        text(&output)
    );
    assert!(runner.bin().is_some());

    // Another commit is not a release: it builds from source, and without cargo says why.
    let other = "0123456789abcdef0123456789abcdef01234567";
    let output = Runner::new(&server, other, "Linux", "X64").install();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("no Rust toolchain"),
        "{}",
        text(&output)
    );
}

#[test]
fn a_branch_builds_from_source_and_says_what_is_missing() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(root);
    let output = Runner::new(&server, "main", "Linux", "X64").install();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("::error title=pinnace::no Rust toolchain"),
        "{}",
        text(&output)
    );
}
