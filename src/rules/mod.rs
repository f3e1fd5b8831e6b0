//! The rule catalog. Each rule lives in a file of its own beside this one, and its page (the
//! single source of its documentation) in `rules/<id>.md` at the project root.

mod dangling_pull_secret;
mod digest_pinning;
mod invalid_image_reference;
mod latest_tag;
mod missing_default_deny;
mod missing_network_policy;
mod missing_pull_secret;
mod plaintext_registry_credentials;
mod recheck;
mod single_arch_pin;
mod stale_digest;
mod unknown_digest;
mod unsigned_image;
mod untrusted_registry;
mod yaml_syntax;

pub use dangling_pull_secret::DanglingPullSecret;
pub use digest_pinning::DigestPinning;
pub use invalid_image_reference::InvalidImageReference;
pub use latest_tag::LatestTag;
pub use missing_default_deny::MissingDefaultDeny;
pub use missing_network_policy::MissingNetworkPolicy;
pub use missing_pull_secret::MissingPullSecret;
pub use plaintext_registry_credentials::PlaintextRegistryCredentials;
pub use recheck::{Recheck, recheck_reports, still_stands};
pub use single_arch_pin::SingleArchPin;
pub use stale_digest::StaleDigest;
pub use unknown_digest::UnknownDigest;
pub use unsigned_image::UnsignedImage;
pub use untrusted_registry::UntrustedRegistry;
pub use yaml_syntax::YAML_SYNTAX;

use crate::config::Settings;
use crate::finding::{Finding, Severity};
use crate::model::{Model, Scope};
use crate::registry::OnlineFacts;

/// What pinnace knows about a rule without running it.
#[derive(Debug)]
pub struct RuleMeta {
    /// Stable id, used in config, suppressions and output.
    pub id: &'static str,
    pub default_severity: Severity,
    /// One line for `pinnace rules` and SARIF's short description.
    pub summary: &'static str,
    /// The rule's page, `rules/<id>.md`.
    pub page: &'static str,
    /// Whether `pinnace pin` can fix what the rule reports.
    pub fixable: bool,
    /// The flagged text is itself secret (credentials): reports never quote the source
    /// around such a finding, only its location.
    pub sensitive: bool,
}

/// What a rule can read while it checks a file.
pub struct Context<'a> {
    pub model: &'a Model<'a>,
    pub settings: &'a Settings,
    /// Registry facts, with `--online`; online rules report nothing without them.
    pub online: Option<&'a OnlineFacts>,
    /// The resources beyond this file or build, for the rules that reason across resources.
    pub scope: Scope<'a>,
}

pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, context: &Context<'_>, findings: &mut Vec<Finding>);
}

/// Every rule that inspects the model, in catalog order.
pub static RULES: &[&dyn Rule] = &[
    &DigestPinning,
    &LatestTag,
    &InvalidImageReference,
    &UntrustedRegistry,
    &MissingPullSecret,
    &DanglingPullSecret,
    &PlaintextRegistryCredentials,
    &MissingNetworkPolicy,
    &MissingDefaultDeny,
    &StaleDigest,
    &UnknownDigest,
    &SingleArchPin,
    &UnsignedImage,
];

/// The rules that read the resources beyond the file or build they check
/// ([`Context::scope`]): a run indexes those resources first only when one of these may run.
pub static SCOPE_RULES: &[&dyn Rule] = &[
    &MissingPullSecret,
    &DanglingPullSecret,
    &MissingNetworkPolicy,
    &MissingDefaultDeny,
];

/// Every rule, including those the pipeline itself reports (such as `yaml-syntax`).
pub fn catalog() -> impl Iterator<Item = &'static RuleMeta> {
    RULES
        .iter()
        .map(|rule| rule.meta())
        .chain(std::iter::once(&YAML_SYNTAX))
}

pub fn find(id: &str) -> Option<&'static RuleMeta> {
    catalog().find(|meta| meta.id == id)
}
