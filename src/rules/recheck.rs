//! Findings judged before the whole run was indexed. A Kustomize build is checked as it is
//! built, before the other builds have said which NetworkPolicies and ServiceAccounts they
//! add, so the rules that read the run's index attach what their verdict depended on; once
//! every build and file is indexed, each such finding is judged again, and dropped when the
//! rest of the run covers it. (More policies and ServiceAccounts only ever remove findings,
//! so nothing is missed by judging early; a namespace found to have no policy at all drops its
//! `missing-network-policy` findings, which `missing-default-deny` stands for.) Builds are
//! therefore made once.

use super::{missing_default_deny, missing_network_policy, missing_pull_secret};
use crate::config::Settings;
use crate::finding::{FileReport, Finding};
use crate::model::{Labels, ScopeIndex};

/// What a finding's verdict depended on beyond the build that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recheck {
    /// `missing-network-policy`: no policy of the namespace selects these labels.
    NetworkPolicy { namespace: String, labels: Labels },
    /// `missing-default-deny`: the namespace has no default deny.
    DefaultDeny { namespace: String },
    /// `missing-pull-secret`: the ServiceAccount, which the build does not define.
    PullSecret {
        namespace: String,
        account: String,
        image: String,
        registry: String,
    },
}

/// Judges a finding again against the whole run's index: `false` when the run covers it.
/// A finding that still stands gets the message the whole run gives it.
pub fn still_stands(finding: &mut Finding, run: &ScopeIndex, settings: &Settings) -> bool {
    let Some(recheck) = finding.recheck.take() else {
        return true;
    };
    let egress = settings.config.network_policies.egress;
    match &*recheck {
        Recheck::NetworkPolicy { namespace, labels } => {
            // A namespace without any policy is `missing-default-deny`'s, once.
            if run.policies(namespace).is_empty() {
                return false;
            }
            let policies = run.policies(namespace).iter();
            missing_network_policy::judge(policies, labels, egress)
                .map(|open| missing_network_policy::restate(finding, namespace, labels, open))
                .is_some()
        }
        Recheck::DefaultDeny { namespace } => {
            missing_default_deny::judge(run.policies(namespace).iter(), egress)
                .map(|missing| missing_default_deny::restate(finding, namespace, missing))
                .is_some()
        }
        Recheck::PullSecret {
            namespace,
            account,
            image,
            registry,
        } => {
            let lists = run.service_account_lists_secrets(namespace, account);
            missing_pull_secret::why(account, lists)
                .map(|why| finding.message = missing_pull_secret::message(image, registry, &why))
                .is_some()
        }
    }
}

/// Judges again every finding of these reports that was judged before the whole run was
/// indexed; drops those the rest of the run covers.
pub fn recheck_reports<'r>(
    reports: impl IntoIterator<Item = &'r mut FileReport>,
    run: &ScopeIndex,
    settings: &Settings,
) {
    for report in reports {
        report
            .findings
            .retain_mut(|finding| still_stands(finding, run, settings));
    }
}
