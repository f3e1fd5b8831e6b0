//! Running `helm template` for one chart: a plain process (no shell, so nothing in a release
//! name or path is ever interpreted), standard input closed, output read while it runs, and
//! stopped when it takes longer than the time limit.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::chart_files::check_chart_files;

/// Rendered output larger than this is cut off and reported (a chart that renders 256 MiB of
/// YAML is broken).
const MAX_OUTPUT_BYTES: u64 = 256 * 1024 * 1024;

/// The `helm template` flag (helm 3.16 and later) that leaves `values.schema.json` unread.
const SKIP_SCHEMA_VALIDATION: &str = "--skip-schema-validation";

/// What to render.
#[derive(Debug, Clone)]
pub struct Render {
    pub binary: PathBuf,
    pub release: String,
    pub chart: PathBuf,
    /// The folder every file of the chart must stay in, links resolved: the git repository
    /// holding it (else the chart folder), or for a kustomization's `helmCharts` the
    /// kustomization's root (see [`check_chart_files`]).
    pub confine: PathBuf,
    pub namespace: Option<String>,
    pub values: Vec<PathBuf>,
    pub timeout: Duration,
    /// Further `helm template` flags (`--include-crds` …), after the values files.
    pub extra_args: Vec<std::ffi::OsString>,
}

impl Render {
    /// `template --skip-schema-validation [--namespace NS] [-f VALUES]… -- RELEASE CHART`:
    /// the options first, each value its own argument, and the names after `--`, so that none
    /// is read as an option. Schema validation is skipped because a chart's
    /// `values.schema.json` is the tree's text and helm follows its `$ref`s: `file:///…`
    /// reads any file of the runner (and quotes it in errors), `http://…` reaches any host.
    pub fn args(&self) -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> =
            vec!["template".into(), SKIP_SCHEMA_VALIDATION.into()];
        if let Some(namespace) = &self.namespace {
            args.extend(["--namespace".into(), namespace.into()]);
        }
        for values in &self.values {
            args.extend(["-f".into(), values.clone().into()]);
        }
        args.extend(self.extra_args.iter().cloned());
        args.extend([
            "--".into(),
            self.release.clone().into(),
            self.chart.clone().into(),
        ]);
        args
    }

    /// The rendered stream, or why there is none (one line, with what helm said).
    pub fn run(&self) -> Result<String, String> {
        check_chart_files(&self.chart, &self.confine)
            .map_err(|why| format!("not rendered: {why}"))?;
        let mut child = Command::new(&self.binary)
            .args(self.args())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| format!("cannot run {}: {error}", self.binary.display()))?;
        let stdout = reader(child.stdout.take());
        let stderr = reader(child.stderr.take());
        let finished = wait(&mut child, self.timeout);
        let (stdout, stderr) = (join(stdout), join(stderr));
        let status = finished.map_err(|()| {
            format!(
                "`helm template` did not finish within {}s and was stopped (raise helm.timeout_seconds)",
                self.timeout.as_secs()
            )
        })?;
        if !status.success() {
            if String::from_utf8_lossy(&stderr)
                .contains(&format!("unknown flag: {SKIP_SCHEMA_VALIDATION}"))
            {
                return Err(format!(
                    "this helm is older than 3.16 and has no {SKIP_SCHEMA_VALIDATION}; without it a chart's values.schema.json could make helm read files and URLs, so charts are not rendered (upgrade helm)"
                ));
            }
            return Err(format!(
                "`helm template` failed ({status}): {}",
                last_lines(&stderr)
            ));
        }
        if stdout.len() as u64 >= MAX_OUTPUT_BYTES {
            return Err(format!(
                "`helm template` printed over {} MiB; not checked",
                MAX_OUTPUT_BYTES >> 20
            ));
        }
        String::from_utf8(stdout)
            .map_err(|_| "`helm template` printed text that is not UTF-8".into())
    }
}

fn reader(pipe: Option<impl Read + Send + 'static>) -> Option<JoinHandle<Vec<u8>>> {
    let pipe = pipe?;
    Some(std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.take(MAX_OUTPUT_BYTES).read_to_end(&mut bytes);
        bytes
    }))
}

fn join(handle: Option<JoinHandle<Vec<u8>>>) -> Vec<u8> {
    handle
        .and_then(|handle| handle.join().ok())
        .unwrap_or_default()
}

/// Waits for the child until `timeout`, then kills it. `Err` when it had to be killed.
fn wait(child: &mut Child, timeout: Duration) -> Result<std::process::ExitStatus, ()> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(());
            }
        }
    }
}

/// Helm's complaint, on one line: its last few non-empty lines.
fn last_lines(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tail = &lines[lines.len().saturating_sub(3)..];
    if tail.is_empty() {
        "it printed nothing on stderr".to_string()
    } else {
        tail.join(" / ")
    }
}

/// The `helm` program to run: config's `helm.binary` (a path, or a name looked up on PATH),
/// else `helm` on PATH.
pub fn find_binary(configured: Option<&str>, root: &Path) -> Option<PathBuf> {
    let name = configured.unwrap_or("helm");
    if name.contains('/') {
        let path = root.join(name);
        return is_executable(&path).then_some(path);
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|path| is_executable(path))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_passed_as_they_are() {
        let render = Render {
            binary: "helm".into(),
            release: "my release $(x)".into(),
            chart: "charts/web".into(),
            confine: ".".into(),
            namespace: Some("shop".into()),
            values: vec!["a.yaml".into(), "b.yaml".into()],
            timeout: Duration::from_secs(1),
            extra_args: Vec::new(),
        };
        let args: Vec<String> = render
            .args()
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(
            args,
            [
                "template",
                "--skip-schema-validation",
                "--namespace",
                "shop",
                "-f",
                "a.yaml",
                "-f",
                "b.yaml",
                "--",
                "my release $(x)",
                "charts/web",
            ]
        );
    }

    #[test]
    fn stderr_is_summed_up_on_one_line() {
        assert_eq!(last_lines(b"\nError: a\n  b\n"), "Error: a / b");
        assert_eq!(last_lines(b""), "it printed nothing on stderr");
    }
}
