//! Container image references: `[host[:port]/]path[:tag][@algo:hex]`.
//!
//! This follows the `distribution/reference` grammar that Docker, containerd and
//! Kubernetes use, so that pinnace agrees with the runtime about what an image
//! string means. It is a hand-written byte scanner rather than a regex: it runs on
//! every image of large repositories and must never panic on arbitrary input.
//! Every error carries the byte range of the offending text so callers can
//! underline exactly those characters in a diagnostic.

use std::fmt;
use std::ops::Range;

/// Longest allowed normalized name (`registry/repository`). Docker checks the
/// length after normalization, so we do too: that keeps `Display` re-parseable.
const NAME_TOTAL_LENGTH_MAX: usize = 255;
/// Longest allowed tag (`[\w][\w.-]{0,127}`).
const TAG_MAX: usize = 128;
/// Registry assumed when a reference names none.
const DOCKER_HUB: &str = "docker.io";
/// Legacy Docker Hub host names that mean the same registry as `docker.io`.
const DOCKER_HUB_ALIASES: [&str; 2] = ["index.docker.io", "registry-1.docker.io"];

/// A parsed container image reference: `[host[:port]/]path[:tag][@algo:hex]`.
///
/// The original text is kept as written (so ranges stay meaningful); only the
/// accessors and `Display` normalize. Equality therefore compares the parse of
/// one exact text: compare `to_string()` to compare normalized references.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    text: String,
    registry: String,
    repository: String,
    tag: Option<Range<usize>>,
    digest: Option<Digest>,
    name_end: usize,
}

impl ImageRef {
    /// Parses `text` strictly: no trimming, no lowercasing, no guessing.
    pub fn parse(text: &str) -> Result<ImageRef, ImageRefError> {
        use ImageRefErrorKind::*;
        if text.is_empty() {
            return fail(Empty, 0..0);
        }
        // Never trim: the runtime won't either. Underline the whole run of spaces.
        let (lead, kept) = (text.len() - text.trim_start().len(), text.trim_end().len());
        if lead > 0 || kept < text.len() {
            let range = if lead > 0 { 0..lead } else { kept..text.len() };
            return fail(Whitespace, range);
        }
        // Split first, validate afterwards left to right, so the error reported
        // is the leftmost one. The digest starts at the first '@'; the tag is
        // after the last ':' that follows the last '/' (a ':' before a '/' is a
        // registry port).
        let digest_at = text.find('@');
        let head_end = digest_at.unwrap_or(text.len());
        let head = &text[..head_end];
        let last_segment = head.rfind('/').map_or(0, |slash| slash + 1);
        let colon = head[last_segment..].rfind(':').map(|c| last_segment + c);
        let name_end = colon.unwrap_or(head_end);

        if name_end == 0 {
            // Starts with ':' or '@': point at that character.
            return fail(MissingRepository, 0..1);
        }
        let name = &text[..name_end];
        let (domain, path_start) = match name.find('/') {
            Some(slash) if looks_like_domain(&name[..slash]) => (Some(&name[..slash]), slash + 1),
            _ => (None, 0),
        };
        if let Some(domain) = domain.filter(|d| !valid_domain(d.as_bytes())) {
            return fail(InvalidRegistry, 0..domain.len());
        }
        check_path(text, path_start..name_end)?;

        let tag = colon.map(|colon| colon + 1..head_end);
        let bad_tag = tag
            .clone()
            .filter(|r| !valid_tag(&text.as_bytes()[r.clone()]));
        if let Some(range) = bad_tag {
            // An empty tag has nothing to underline, so point at the ':' instead.
            let shown = range.start - usize::from(range.is_empty())..range.end;
            return fail(InvalidTag, shown);
        }

        let digest = match digest_at {
            Some(at) if at + 1 == text.len() => return fail(InvalidDigest, at..at + 1),
            Some(at) => Some(Digest::parse(&text[at + 1..]).map_err(|e| e.shifted(at + 1))?),
            None => None,
        };

        let mut registry = domain.unwrap_or(DOCKER_HUB);
        if DOCKER_HUB_ALIASES.contains(&registry) {
            registry = DOCKER_HUB;
        }
        let path = &text[path_start..name_end];
        // Docker Hub's official images live under `library/`.
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_owned()
        };
        if registry.len() + 1 + repository.len() > NAME_TOTAL_LENGTH_MAX {
            return fail(NameTooLong, 0..name_end);
        }
        Ok(ImageRef {
            text: text.to_owned(),
            registry: registry.to_owned(),
            repository,
            tag,
            digest,
            name_end,
        })
    }

    /// Normalized registry host, e.g. "docker.io", "ghcr.io", "localhost:5000".
    /// `index.docker.io` and `registry-1.docker.io` normalize to "docker.io".
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// Normalized repository path without registry, e.g. "library/nginx".
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// "registry/repository", e.g. "docker.io/library/nginx". Trust globs match this.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.clone().and_then(|range| self.text.get(range))
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// Byte range of the tag inside the original text (without the ':'), if any.
    pub fn tag_range(&self) -> Option<Range<usize>> {
        self.tag.clone()
    }

    /// Byte offset in the original text where the name part ends (where ":tag"
    /// or "@digest" would start); an autofix inserts a digest here.
    pub fn name_end(&self) -> usize {
        self.name_end
    }
}

/// The fully normalized form: `docker.io/library/nginx:1.25@sha256:<hex>`.
impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = self.tag().map(|t| format!(":{t}")).unwrap_or_default();
        let digest = self
            .digest
            .as_ref()
            .map(|d| format!("@{d}"))
            .unwrap_or_default();
        write!(f, "{}/{}{tag}{digest}", self.registry, self.repository)
    }
}

/// A content digest. Only `sha256` (64 hex) and `sha512` (128 hex), lowercase,
/// are accepted: a truncated or odd digest is not a pin a runtime can verify.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Digest {
    algorithm: String,
    hex: String,
}

impl Digest {
    /// Parses `sha256:<64 lowercase hex>` or `sha512:<128 lowercase hex>`.
    /// Any error's range covers the whole text.
    pub fn parse(text: &str) -> Result<Digest, ImageRefError> {
        let (algorithm, hex) = text.split_once(':').unwrap_or((text, ""));
        let want = [("sha256", 64), ("sha512", 128)]
            .into_iter()
            .find(|(a, _)| *a == algorithm);
        let lower_hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
        if want.map(|(_, n)| n) != Some(hex.len()) || !hex.as_bytes().iter().all(lower_hex) {
            return fail(ImageRefErrorKind::InvalidDigest, 0..text.len());
        }
        let (algorithm, hex) = (algorithm.to_owned(), hex.to_owned());
        Ok(Digest { algorithm, hex })
    }

    pub fn algorithm(&self) -> &str {
        &self.algorithm
    }

    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

/// Why a reference does not parse. `range` is the byte range inside the text that
/// is wrong (always on char boundaries, non-empty unless the text is empty), so a
/// caller can underline exactly those characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRefError {
    pub kind: ImageRefErrorKind,
    pub range: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRefErrorKind {
    Empty,
    /// Leading or trailing whitespace; we never trim, as the runtime won't either.
    Whitespace,
    /// Nothing before the ':' or '@' (e.g. `:tag`).
    MissingRepository,
    InvalidRegistry,
    InvalidRepository,
    UppercaseRepository,
    InvalidTag,
    InvalidDigest,
    NameTooLong,
}

impl ImageRefError {
    /// Moves the range by `offset`, for errors found in a sub-slice.
    fn shifted(mut self, offset: usize) -> Self {
        self.range = self.range.start + offset..self.range.end + offset;
        self
    }

    pub fn message(&self) -> String {
        use ImageRefErrorKind::*;
        match self.kind {
            Empty => "image reference is empty",
            Whitespace => "image reference has leading or trailing whitespace",
            MissingRepository => "image reference has no repository name",
            InvalidRegistry => "invalid registry host",
            InvalidRepository => "invalid repository path",
            UppercaseRepository => "repository path contains uppercase letters",
            InvalidTag => "invalid tag",
            InvalidDigest => "invalid digest",
            NameTooLong => "image name is longer than 255 characters",
        }
        .to_owned()
    }

    pub fn help(&self) -> &'static str {
        use ImageRefErrorKind::*;
        match self.kind {
            Empty => "set the image, e.g. `nginx:1.25`",
            Whitespace => "remove the surrounding spaces; the runtime does not trim them",
            MissingRepository => "put the repository before the tag or digest, e.g. `nginx:1.25`",
            InvalidRegistry => "a registry is a DNS name, `localhost` or `[ipv6]`, and `:port`",
            InvalidRepository => "use lowercase letters and digits joined by `.`, `_`, `__` or `-`",
            UppercaseRepository => "repository paths must be lowercase",
            InvalidTag => "a tag is 1-128 of `A-Za-z0-9_.-`, not starting with `.` or `-`",
            InvalidDigest => "use `sha256:` and 64 lowercase hex digits (or `sha512:` and 128)",
            NameTooLong => "registry plus repository must be at most 255 characters",
        }
    }
}

impl fmt::Display for ImageRefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for ImageRefError {}

/// True when the value still holds a template placeholder (`{{ … }}`, `${VAR}`,
/// `$(VAR)`) and so is not an image reference yet: linting it would only report
/// noise about the template syntax.
pub fn is_templated(text: &str) -> bool {
    // If the first opener has no closer after it, no later opener can either,
    // so one search per pair keeps this linear.
    let pair = |open: &str, close: &str| {
        text.find(open)
            .and_then(|at| text.get(at + open.len()..))
            .is_some_and(|rest| rest.contains(close))
    };
    pair("{{", "}}") || pair("${", "}") || pair("$(", ")")
}

/// Shorthand for the error paths of the scanners below.
fn fail<T>(kind: ImageRefErrorKind, range: Range<usize>) -> Result<T, ImageRefError> {
    Err(ImageRefError { kind, range })
}

/// Docker's rule for whether the first component is a registry rather than the
/// start of a Docker Hub path.
fn looks_like_domain(first: &str) -> bool {
    first.contains(['.', ':'])
        || first == "localhost"
        || first.bytes().any(|b| b.is_ascii_uppercase())
}

/// `host[:port]`, where host is a DNS name or a bracketed IPv6 address.
fn valid_domain(d: &[u8]) -> bool {
    // A '[' without ']' falls through to the DNS branch, which rejects it.
    let port = if let (Some(b'['), Some(close)) = (d.first(), d.iter().position(|&b| b == b']')) {
        let inner = &d[1..close];
        if inner.is_empty() || !inner.iter().all(|&b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        &d[close + 1..]
    } else {
        let colon = d.iter().position(|&b| b == b':').unwrap_or(d.len());
        if !d[..colon].split(|&b| b == b'.').all(valid_label) {
            return false;
        }
        &d[colon..]
    };
    match port.split_first() {
        None => true,
        Some((b':', digits)) => !digits.is_empty() && digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    }
}

/// DNS label: `[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`.
fn valid_label(label: &[u8]) -> bool {
    let edge = |b: Option<&u8>| b.is_some_and(u8::is_ascii_alphanumeric);
    let inner = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-';
    edge(label.first()) && edge(label.last()) && label.iter().all(inner)
}

/// Validates each `/`-separated component of `text[path]`.
fn check_path(text: &str, path: Range<usize>) -> Result<(), ImageRefError> {
    let mut start = path.start;
    for component in text[path.clone()].split('/') {
        let end = start + component.len();
        if component.is_empty() {
            // Underline the slashes around the missing component (`a//b`, `a/`, `/a`):
            // a component is always preceded by '/' unless it starts the text.
            let range = start.saturating_sub(1)..(end + 1).min(path.end);
            return fail(ImageRefErrorKind::InvalidRepository, range);
        }
        let c = component.as_bytes();
        if let Some(first) = c.iter().position(u8::is_ascii_uppercase) {
            let last = c.iter().rposition(u8::is_ascii_uppercase).unwrap_or(first);
            let range = start + first..start + last + 1;
            return fail(ImageRefErrorKind::UppercaseRepository, range);
        }
        if !valid_component(c) {
            return fail(ImageRefErrorKind::InvalidRepository, start..end);
        }
        start = end + 1;
    }
    Ok(())
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`: alphanumeric at both ends, and
/// every run of other bytes in between is one allowed separator.
fn valid_component(c: &[u8]) -> bool {
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let separator = |s: &[u8]| matches!(s, b"." | b"_" | b"__") || s.iter().all(|&b| b == b'-');
    c.first().is_some_and(alnum)
        && c.last().is_some_and(alnum)
        && c.split(alnum).filter(|s| !s.is_empty()).all(separator)
}

/// `[\w][\w.-]{0,127}` with ASCII word characters.
fn valid_tag(tag: &[u8]) -> bool {
    let word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    let tail = |b: &u8| word(b) || *b == b'.' || *b == b'-';
    tag.len() <= TAG_MAX && tag.first().is_some_and(word) && tag.iter().all(tail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const H64: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// Expands the `{d}` (sha256) and `{D}` (sha512) placeholders of the tables.
    fn fill(text: &str) -> String {
        text.replace("{d}", &format!("sha256:{H64}"))
            .replace("{D}", &format!("sha512:{H64}{H64}"))
    }

    #[test]
    #[rustfmt::skip]
    fn valid_references() {
        let cases = [
            ("nginx", "docker.io", "library/nginx", None, None),
            ("nginx:1.25", "docker.io", "library/nginx", Some("1.25"), None),
            ("library/nginx", "docker.io", "library/nginx", None, None),
            ("docker.io/library/nginx:latest", "docker.io", "library/nginx", Some("latest"), None),
            ("docker.io/nginx", "docker.io", "library/nginx", None, None),
            ("index.docker.io/nginx", "docker.io", "library/nginx", None, None),
            ("registry-1.docker.io/bitnami/redis:7", "docker.io", "bitnami/redis", Some("7"), None),
            ("ghcr.io/acme/api:v1", "ghcr.io", "acme/api", Some("v1"), None),
            ("ghcr.io/api", "ghcr.io", "api", None, None),
            ("localhost:5000/a/b:t", "localhost:5000", "a/b", Some("t"), None),
            ("localhost/a", "localhost", "a", None, None),
            ("[::1]:5000/x", "[::1]:5000", "x", None, None),
            ("[fe80::1]/x:y", "[fe80::1]", "x", Some("y"), None),
            ("Registry/x", "Registry", "x", None, None),
            ("registry.example.com:443/team/api@{d}", "registry.example.com:443", "team/api", None, Some("{d}")),
            ("nginx:1.25@{d}", "docker.io", "library/nginx", Some("1.25"), Some("{d}")),
            ("nginx@{D}", "docker.io", "library/nginx", None, Some("{D}")),
            ("quay.io/prometheus/node-exporter", "quay.io", "prometheus/node-exporter", None, None),
            ("a/b__c/d.e/f---g_h:V_1.0-x", "docker.io", "a/b__c/d.e/f---g_h", Some("V_1.0-x"), None),
            ("my-registry.local:5000/a", "my-registry.local:5000", "a", None, None),
            ("localhost:5000", "docker.io", "library/localhost", Some("5000"), None), // docker's reading
        ];
        for (text, registry, repository, tag, digest) in cases {
            let r = ImageRef::parse(&fill(text)).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!((r.registry(), r.repository(), r.tag()), (registry, repository, tag), "{text}");
            assert_eq!(r.digest().map(ToString::to_string), digest.map(fill), "{text}");
            assert_eq!(r.name(), format!("{registry}/{repository}"));
        }
    }

    #[test]
    fn ranges_and_display() {
        let r = ImageRef::parse("localhost:5000/a/b:t1").unwrap();
        assert_eq!((r.tag_range(), r.name_end()), (Some(19..21), 18));
        let r = ImageRef::parse(&fill("nginx@{d}")).unwrap();
        assert_eq!((r.tag_range(), r.name_end()), (None, 5));
        assert_eq!(r.to_string(), fill("docker.io/library/nginx@{d}"));
        assert_eq!(
            ImageRef::parse("nginx:1").unwrap().to_string(),
            "docker.io/library/nginx:1"
        );
        let d = r.digest().unwrap();
        assert_eq!((d.algorithm(), d.hex()), ("sha256", H64));
        assert_eq!(ImageRef::parse("a").unwrap().name_end(), 1);
        let long_tag = ImageRef::parse(&format!("x:{}", "t".repeat(128))).unwrap();
        assert_eq!(long_tag.tag().map(str::len), Some(128));
        // docker.io/library/ + 237 = 255 bytes: the longest allowed name.
        assert!(ImageRef::parse(&"a".repeat(237)).is_ok());
    }

    #[test]
    #[rustfmt::skip]
    fn invalid_references() {
        use ImageRefErrorKind::*;
        let upper = fill("{d}").to_uppercase();
        let cases = [
            ("app@sha256:abc123".into(), InvalidDigest, 4..17),
            ("nginx@sha256:abc".into(), InvalidDigest, 6..16),
            (format!("nginx@{}", upper.to_lowercase().replacen("sha256", "SHA256", 1)), InvalidDigest, 6..77),
            (format!("nginx@sha256:{}", &upper[7..]), InvalidDigest, 6..77),
            (format!("nginx@md5:{H64}"), InvalidDigest, 6..74),
            (format!("nginx@sha512:{H64}"), InvalidDigest, 6..77),
            ("nginx@".into(), InvalidDigest, 5..6),
            ("nginx@sha256".into(), InvalidDigest, 6..12),
            ("nginx:".into(), InvalidTag, 5..6),
            ("nginx:-bad".into(), InvalidTag, 6..10),
            ("nginx:a+b".into(), InvalidTag, 6..9),
            (format!("x:{}", "t".repeat(129)), InvalidTag, 2..131),
            ("Nginx".into(), UppercaseRepository, 0..1),
            ("ngInX:1".into(), UppercaseRepository, 2..5),
            ("ghcr.io/Acme/api".into(), UppercaseRepository, 8..9),
            ("".into(), Empty, 0..0),
            ("a//b".into(), InvalidRepository, 1..3),
            ("a/".into(), InvalidRepository, 1..2),
            ("/a".into(), InvalidRepository, 0..1),
            ("ghcr.io/".into(), InvalidRepository, 7..8),
            ("a/-b".into(), InvalidRepository, 2..4),
            ("a/b._c".into(), InvalidRepository, 2..6),
            ("a/b___c".into(), InvalidRepository, 2..7),
            ("a/b.".into(), InvalidRepository, 2..4),
            ("ng inx".into(), InvalidRepository, 0..6),
            ("ngïnx".into(), InvalidRepository, 0..6),
            (":tag".into(), MissingRepository, 0..1),
            (fill("@{d}"), MissingRepository, 0..1),
            (" nginx".into(), Whitespace, 0..1),
            ("nginx:1 \t".into(), Whitespace, 7..9),
            ("-bad.io/x".into(), InvalidRegistry, 0..7),
            ("host:port/x".into(), InvalidRegistry, 0..9),
            ("host:/x".into(), InvalidRegistry, 0..5),
            ("[::1/x".into(), InvalidRegistry, 0..4),
            ("[]:80/x".into(), InvalidRegistry, 0..5),
            ("a..b/x".into(), InvalidRegistry, 0..4),
            ("a".repeat(238), NameTooLong, 0..238),
            (format!("ghcr.io/{}ab", "a/".repeat(124)), NameTooLong, 0..258),
        ];
        for (text, kind, range) in cases {
            let err = ImageRef::parse(&text).expect_err(&text);
            assert_eq!((&err.kind, &err.range), (&kind, &range), "{text:?}");
            assert!(text.get(err.range.clone()).is_some(), "range on char boundaries");
            assert!(!err.message().is_empty() && !err.help().is_empty());
            assert_eq!(err.to_string(), err.message());
        }
        let e = Digest::parse("sha256:").unwrap_err();
        assert_eq!((e.kind, e.range), (InvalidDigest, 0..7));
        assert!(Digest::parse("").is_err());
    }

    #[test]
    #[rustfmt::skip]
    fn templated() {
        for yes in ["{{ .Values.image }}", "nginx:{{.Values.tag}}", "${REGISTRY}/app", "repo/$(IMAGE):1"] {
            assert!(is_templated(yes), "{yes}");
        }
        for no in ["nginx:1.25", "", "{{", "a}}{{", "$REGISTRY/app", "${unterminated", "$(x", "a{b}"] {
            assert!(!is_templated(no), "{no}");
        }
    }

    #[rustfmt::skip]
    /// A registry that the domain rule recognises: dotted DNS name, `localhost`,
    /// any host with a port, or bracketed IPv6; or none at all.
    fn domain() -> impl Strategy<Value = Option<String>> {
        let label = "[a-zA-Z0-9]([a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?";
        let port = proptest::option::of(0u32..70000)
            .prop_map(|p| p.map(|p| format!(":{p}")).unwrap_or_default());
        prop_oneof![
            Just(None),
            (proptest::collection::vec(label, 2..4), port.clone())
                .prop_map(|(l, p)| Some(format!("{}{p}", l.join(".")))),
            port.clone().prop_map(|p| Some(format!("localhost{p}"))),
            (label, 0u32..70000).prop_map(|(l, p)| Some(format!("{l}:{p}"))),
            ("[0-9a-f]{0,4}:[0-9a-f:]{0,10}", port).prop_map(|(ip, p)| Some(format!("[{ip}]{p}"))),
        ]
    }

    /// Valid references built from the grammar pieces: (text, path, tag, digest).
    #[rustfmt::skip]
    fn reference() -> impl Strategy<Value = (String, String, Option<String>, Option<String>)> {
        let component = "[a-z0-9]{1,6}(([._]|__|-{1,3})[a-z0-9]{1,6}){0,2}";
        let tag = proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}");
        let digest = proptest::option::of(prop_oneof!["sha256:[0-9a-f]{64}", "sha512:[0-9a-f]{128}"]);
        (domain(), proptest::collection::vec(component, 1..4), tag, digest).prop_map(|(domain, mut path, tag, digest)| {
            if domain.is_none() && path.len() > 1 {
                path[0] = path[0].replace('.', "-"); // a dotted first component is a registry
            }
            let path = path.join("/");
            let mut text = domain.map(|d| format!("{d}/")).unwrap_or_default() + &path;
            text += &tag.as_ref().map(|t| format!(":{t}")).unwrap_or_default();
            text += &digest.as_ref().map(|d| format!("@{d}")).unwrap_or_default();
            (text, path, tag, digest)
        })
    }

    proptest! {
        #[test]
        fn generated_references_round_trip((text, path, tag, digest) in reference()) {
            let r = ImageRef::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e:?}")))?;
            prop_assert_eq!(r.tag(), tag.as_deref());
            prop_assert_eq!(r.digest().map(ToString::to_string), digest);
            prop_assert!(r.name().ends_with(&path) && text[..r.name_end()].ends_with(&path));
            let shown = r.to_string();
            let again = ImageRef::parse(&shown).map_err(|e| TestCaseError::fail(format!("{shown}: {e:?}")))?;
            prop_assert_eq!((again.registry(), again.repository()), (r.registry(), r.repository()));
            prop_assert_eq!((again.tag(), again.digest()), (r.tag(), r.digest()));
            prop_assert_eq!(again.to_string(), shown);
        }

        #[test]
        fn arbitrary_strings_never_panic(
            text in prop_oneof![any::<String>(), "[a-zA-Z0-9:/@._\\-\\[\\] ]{0,40}"]
        ) {
            let _ = (is_templated(&text), Digest::parse(&text));
            match ImageRef::parse(&text) {
                Ok(r) => prop_assert_eq!(ImageRef::parse(&r.to_string()).map(|a| a.to_string()), Ok(r.to_string())),
                Err(e) => prop_assert!((!e.range.is_empty() || text.is_empty()) && text.get(e.range).is_some()),
            }
        }
    }
}
