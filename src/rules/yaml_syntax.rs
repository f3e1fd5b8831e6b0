use super::RuleMeta;
use crate::finding::Severity;

/// `yaml-syntax`: a file that cannot be read as YAML (or as UTF-8 text). Reported by the
/// loader rather than by a check, since no model exists for such a file. See
/// `rules/yaml-syntax.md`.
pub static YAML_SYNTAX: RuleMeta = RuleMeta {
    id: "yaml-syntax",
    default_severity: Severity::Error,
    summary: "File is not valid YAML (or not UTF-8 text)",
    page: include_str!("../../rules/yaml-syntax.md"),
    fixable: false,
    sensitive: false,
};
