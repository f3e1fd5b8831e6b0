//! Unified diffs for `pin --dry-run`, in the form `git apply` and `patch -p1` take.

use similar::TextDiff;

pub fn unified_diff(name: &str, old: &str, new: &str) -> String {
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}
