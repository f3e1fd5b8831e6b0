//! The repository list: one local path or git URL a line, `#` comments and blank lines
//! allowed; and the shard of it one machine takes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// One repository of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoLine {
    /// Line number in the list, from 1.
    pub line: usize,
    /// The line as written, trimmed.
    pub text: String,
    /// How output names the repository: `text` with a password or token in the URL masked.
    pub display: String,
    pub source: RepoSource,
}

impl RepoLine {
    /// `text` with the URL's secret (if any) masked, for messages that may quote the URL.
    pub fn redact(&self, text: &str) -> String {
        let mut secrets = secrets_of(&self.text);
        // The longest first, so that one secret inside another is masked whole.
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        secrets
            .iter()
            .fold(text.to_string(), |text, secret| text.replace(secret, "***"))
    }
}

/// The password of `scheme://user:password@host/…`, or the token of `http(s)://token@host/…`
/// (an ssh user name such as `git@` is no secret), and every value of the query string
/// (`?private_token=…`): a URL's query is where some servers take a token.
fn secrets_of(text: &str) -> Vec<&str> {
    let mut secrets: Vec<&str> = userinfo_secret(text).into_iter().collect();
    if let Some((_, query)) = text.split_once('?') {
        let query = query.split('#').next().unwrap_or(query);
        secrets.extend(
            query
                .split('&')
                .filter_map(|pair| pair.split_once('=').map(|(_, value)| value))
                .filter(|value| !value.is_empty()),
        );
    }
    secrets
}

fn userinfo_secret(text: &str) -> Option<&str> {
    let (user, password) = userinfo(text)?;
    match password {
        Some(password) if !password.is_empty() => Some(password),
        Some(_) => None,
        None if text.starts_with("http") && !user.is_empty() => Some(user),
        None => None,
    }
}

/// The user and password written in a URL's authority (`scheme://user:password@host/…`).
fn userinfo(text: &str) -> Option<(&str, Option<&str>)> {
    let (_, rest) = text.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    Some(match userinfo.split_once(':') {
        Some((user, password)) => (user, Some(password)),
        None => (userinfo, None),
    })
}

/// The user and password an http(s) URL carries, which pinnace hands to git through a
/// credential callback instead of the URL, so that they are not written into the clone's
/// `.git/config` or its reflogs.
#[derive(Clone, PartialEq, Eq)]
pub struct UrlCredentials {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for UrlCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UrlCredentials({}, ***)", self.user)
    }
}

/// An http(s) URL without its user and password, and them; other URLs as they are (an ssh
/// user name is no secret, and ssh takes no password from a URL).
pub fn split_credentials(url: &str) -> (String, Option<UrlCredentials>) {
    let Some((user, password)) = userinfo(url).filter(|_| url.starts_with("http")) else {
        return (url.to_string(), None);
    };
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let at = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = rest[..at]
        .rsplit_once('@')
        .map_or(&rest[..at], |(_, host)| host);
    let clean = format!("{scheme}://{host}{}", &rest[at..]);
    let credentials = UrlCredentials {
        user: percent_decode(user),
        password: percent_decode(password.unwrap_or("")),
    };
    (clean, Some(credentials))
}

/// `%XX` escapes decoded, as a URL's user information may hold them.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoSource {
    /// Cloned into the work folder.
    Url(String),
    /// An existing clone, edited in place.
    Path(PathBuf),
}

/// Parses a list; a `#` starts a comment only at the start of a line or after a space, so a
/// URL fragment is kept.
pub fn parse_repo_list(text: &str) -> Vec<RepoLine> {
    text.lines()
        .enumerate()
        .filter_map(|(index, raw)| {
            let text = strip_comment(raw).trim();
            (!text.is_empty()).then(|| {
                let mut repo = RepoLine {
                    line: index + 1,
                    text: text.to_string(),
                    display: String::new(),
                    source: source_of(text),
                };
                repo.display = repo.redact(text);
                repo
            })
        })
        .collect()
}

fn strip_comment(line: &str) -> &str {
    if line.trim_start().starts_with('#') {
        return "";
    }
    match line.find(" #").or_else(|| line.find("\t#")) {
        Some(at) => &line[..at],
        None => line,
    }
}

/// `scheme://…` and scp-like `user@host:path` are URLs; anything else is a local path.
fn source_of(text: &str) -> RepoSource {
    let scp_like = text
        .split_once(':')
        .is_some_and(|(head, _)| head.contains('@') && !head.contains('/'));
    if text.contains("://") || scp_like {
        RepoSource::Url(text.to_string())
    } else {
        RepoSource::Path(PathBuf::from(text))
    }
}

/// Repositories listed more than once (the same URL, or paths to the same folder): each later
/// line with the line that listed it first. Two workers on one repository would collide.
pub fn duplicates(repos: &[RepoLine]) -> HashMap<usize, usize> {
    let mut first: HashMap<String, usize> = HashMap::new();
    let mut later = HashMap::new();
    for repo in repos {
        let key = match &repo.source {
            RepoSource::Url(url) => url.trim_end_matches('/').to_string(),
            RepoSource::Path(path) => std::fs::canonicalize(path)
                .unwrap_or_else(|_| path.clone())
                .display()
                .to_string(),
        };
        match first.get(&key) {
            Some(line) => {
                later.insert(repo.line, *line);
            }
            None => {
                first.insert(key, repo.line);
            }
        }
    }
    later
}

/// The folder name a URL is cloned into: its last path segment without `.git`.
pub fn clone_name(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    let last = trimmed
        .rsplit(['/', ':'])
        .next()
        .unwrap_or(trimmed)
        .trim_end_matches(".git");
    let name: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with('.') {
        format!("repo{name}")
    } else {
        name
    }
}

/// `--shard I/N`: machine I of N (from 1) takes the repositories whose line hashes to it.
///
/// The split is by a stable hash of the line's text (SHA-256, first 8 bytes, modulo N), not by
/// its position, so adding or removing a repository never moves the others to another machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub fn takes(&self, repo: &RepoLine) -> bool {
        let hash = Sha256::digest(repo.text.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&hash[..8]);
        u64::from_be_bytes(first) % self.count == self.index - 1
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let usage = || format!("`{text}` is not a shard like 1/4 (machine 1 of 4)");
        let (index, count) = text.split_once('/').ok_or_else(usage)?;
        let index: u64 = index.trim().parse().map_err(|_| usage())?;
        let count: u64 = count.trim().parse().map_err(|_| usage())?;
        if count == 0 || index == 0 || index > count {
            return Err(format!("shard `{text}`: I must be between 1 and N"));
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_comments_and_sources() {
        let list = "# fleet\n\n/srv/a  # local\nhttps://git.example/team/b.git\ngit@host:team/c.git\nfile:///tmp/d#x\n";
        let repos = parse_repo_list(list);
        assert_eq!(repos.len(), 4);
        assert_eq!(repos[0].line, 3);
        assert_eq!(repos[0].source, RepoSource::Path("/srv/a".into()));
        assert!(matches!(repos[1].source, RepoSource::Url(_)));
        assert!(matches!(repos[2].source, RepoSource::Url(_)));
        assert_eq!(repos[3].text, "file:///tmp/d#x");
    }

    #[test]
    fn secrets_in_urls_are_masked() {
        let repos = parse_repo_list(
            "https://bot:s3cret@git.example/a.git\nhttps://ghp_tok@git.example/b\nssh://git@host/c\ngit@host:d.git\n",
        );
        let shown: Vec<&str> = repos.iter().map(|r| r.display.as_str()).collect();
        assert_eq!(
            shown,
            [
                "https://bot:***@git.example/a.git",
                "https://***@git.example/b",
                "ssh://git@host/c",
                "git@host:d.git"
            ]
        );
        assert_eq!(
            repos[0].redact("cannot clone https://bot:s3cret@git.example/a.git"),
            "cannot clone https://bot:***@git.example/a.git"
        );
    }

    #[test]
    fn query_string_tokens_are_masked() {
        let repos = parse_repo_list("https://git.example/a.git?private_token=glpat-XYZ&x=1\n");
        assert_eq!(
            repos[0].display,
            "https://git.example/a.git?private_token=***&x=***"
        );
    }

    #[test]
    fn credentials_are_taken_out_of_http_urls() {
        let (clean, credentials) = split_credentials("https://bot:s%40cret@git.example:8443/a.git");
        assert_eq!(clean, "https://git.example:8443/a.git");
        let credentials = credentials.unwrap();
        assert_eq!(
            (credentials.user.as_str(), credentials.password.as_str()),
            ("bot", "s@cret")
        );
        let (clean, credentials) = split_credentials("https://ghp_tok@git.example/b");
        assert_eq!(clean, "https://git.example/b");
        assert_eq!(credentials.unwrap().user, "ghp_tok");
        for kept in ["ssh://git@host/c", "https://git.example/d", "file:///tmp/e"] {
            assert_eq!(split_credentials(kept), (kept.to_string(), None));
        }
    }

    #[test]
    fn a_repository_listed_twice_is_found() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("x/y")).unwrap();
        let root = dir.path().display();
        let repos = parse_repo_list(&format!(
            "https://h/a.git\n{root}/x/y\nhttps://h/a.git/\n{root}/x/../x/y\n{root}/x\n"
        ));
        let found = duplicates(&repos);
        assert_eq!(found, HashMap::from([(3, 1), (4, 2)]));
    }

    #[test]
    fn clone_names() {
        assert_eq!(clone_name("https://h/team/app.git"), "app");
        assert_eq!(clone_name("git@h:team/app.git/"), "app");
        assert_eq!(clone_name("file:///tmp/x y"), "x_y");
    }

    #[test]
    fn shards_split_every_line_exactly_once() {
        let list: String = (0..50).map(|n| format!("/repos/{n}\n")).collect();
        let repos = parse_repo_list(&list);
        let shards: Vec<Shard> = (1..=3).map(|i| format!("{i}/3").parse().unwrap()).collect();
        for repo in &repos {
            assert_eq!(shards.iter().filter(|s| s.takes(repo)).count(), 1);
        }
        assert!(shards.iter().all(|s| repos.iter().any(|r| s.takes(r))));
        assert!("0/3".parse::<Shard>().is_err() && "4/3".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
    }
}
