//! The `helm:` section of `.pinnace.yaml`: which files are values files, and how `pinnace
//! check` renders charts with the `helm` program.

use schemars::JsonSchema;
use serde::Deserialize;

/// How long one `helm template` may run, when config does not say.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 60;

/// The longest `helm.timeout_seconds` accepted: a day (and far from overflowing a clock).
pub const MAX_TIMEOUT_SECONDS: u64 = 86_400;

#[derive(Debug, Default, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HelmConfig {
    /// Globs, relative to the config file's folder, of more values files (a `values.yaml`
    /// beside a `Chart.yaml`, and `values-*.yaml` there, are values files anyway).
    #[serde(default)]
    pub values: Vec<String>,
    /// The `helm` program `pinnace check` runs to render charts (default: `helm` on PATH).
    pub binary: Option<String>,
    /// Seconds one `helm template` may take before it is stopped (default 60, at most 86400).
    pub timeout_seconds: Option<u64>,
    /// Whether `pinnace check` renders charts with `helm` when it can (default true).
    pub render: Option<bool>,
    /// Release settings per chart; a chart not listed renders with its own `values.yaml` as
    /// release `release-name`.
    #[serde(default)]
    pub charts: Vec<HelmChart>,
}

/// How one chart is rendered: `helm template RELEASE PATH --namespace NS -f VALUES…`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HelmChart {
    /// The chart's folder (the one holding `Chart.yaml`), relative to the config file.
    pub path: String,
    /// The release name (default `release-name`, as `helm template` names it).
    pub release: Option<String>,
    pub namespace: Option<String>,
    /// Values files passed with `-f`, in order, relative to the config file; they are checked
    /// as values files too.
    #[serde(default)]
    pub values: Vec<String>,
}

/// Helm's rule for release names (`chartutil.ValidateReleaseName`): a DNS-1123 subdomain of
/// at most 53 characters.
pub fn check_release_name(name: &str) -> Result<(), String> {
    const MAX: usize = 53;
    if name.len() > MAX {
        return Err(format!("longer than {MAX} characters"));
    }
    let valid = !name.is_empty() && name.split('.').all(is_dns_label);
    if valid {
        Ok(())
    } else {
        Err("not a DNS-1123 subdomain".to_string())
    }
}

/// Kubernetes' rule for namespaces: a DNS-1123 label of at most 63 characters.
pub fn check_namespace(name: &str) -> Result<(), String> {
    const MAX: usize = 63;
    if name.len() > MAX {
        return Err(format!("longer than {MAX} characters"));
    }
    if is_dns_label(name) {
        Ok(())
    } else {
        Err("not a DNS-1123 label".to_string())
    }
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
fn is_dns_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            alnum(first) && alnum(last) && bytes.iter().all(|b| alnum(b) || *b == b'-')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_are_checked_as_helm_checks_them() {
        for good in ["release-name", "web", "a.b-c", "r1", &"a".repeat(53)] {
            assert!(check_release_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "--output-dir=/x",
            "-r",
            "R",
            "a_b",
            "a..b",
            "a.",
            &"a".repeat(54),
        ] {
            assert!(check_release_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn namespaces_are_dns_labels() {
        assert!(check_namespace("shop-1").is_ok());
        for bad in ["", "--set-file=x=/etc/passwd", "a.b", "-a", &"a".repeat(64)] {
            assert!(check_namespace(bad).is_err(), "{bad}");
        }
    }
}
