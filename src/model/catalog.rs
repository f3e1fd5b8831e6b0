//! Where images live in each kind of resource: the built-in kinds, a catalog of popular CRDs,
//! and the extra entries a config adds.

use std::fmt;

/// What a catalog path points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A Kubernetes PodSpec: its `containers`, `initContainers` and `ephemeralContainers`.
    PodSpec(FieldPath),
    /// A single image string (the path ends at the `image` key).
    Image(FieldPath),
}

/// Which resources a path applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locator {
    /// API groups, `""` for the core group.
    pub groups: Vec<String>,
    pub kind: String,
    pub target: Target,
}

/// A path into a resource: `spec.templates[].container.image`, where `[]` means every item
/// of a sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    EachItem,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid path `{path}`: {reason}")]
pub struct FieldPathError {
    pub path: String,
    pub reason: &'static str,
}

impl FieldPath {
    pub fn parse(text: &str) -> Result<FieldPath, FieldPathError> {
        let error = |reason| FieldPathError {
            path: text.to_string(),
            reason,
        };
        let mut segments = Vec::new();
        for part in text.split('.') {
            let (key, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
            if key.is_empty() {
                return Err(error(
                    "every segment needs a key, as in `spec.containers[].image`",
                ));
            }
            segments.push(Segment::Key(key.to_string()));
            while !rest.is_empty() {
                rest = rest
                    .strip_prefix("[]")
                    .ok_or_else(|| error("only `[]` (every item) may follow a key"))?;
                segments.push(Segment::EachItem);
            }
        }
        Ok(FieldPath {
            text: text.to_string(),
            segments,
        })
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// All locators in force for a run.
#[derive(Debug, Clone)]
pub struct Catalog {
    locators: Vec<Locator>,
}

impl Default for Catalog {
    fn default() -> Catalog {
        Catalog::builtin()
    }
}

impl Catalog {
    pub fn builtin() -> Catalog {
        let mut catalog = Catalog {
            locators: Vec::new(),
        };
        for (groups, kinds, target) in BUILTIN {
            for kind in *kinds {
                for path in target.1.iter() {
                    let path = FieldPath::parse(path).expect("built-in paths are valid");
                    let target = if target.0 {
                        Target::PodSpec(path)
                    } else {
                        Target::Image(path)
                    };
                    catalog.add(Locator {
                        groups: groups.iter().map(|g| g.to_string()).collect(),
                        kind: kind.to_string(),
                        target,
                    });
                }
            }
        }
        catalog
    }

    pub fn add(&mut self, locator: Locator) {
        self.locators.push(locator);
    }

    /// The locators for a resource's group and kind.
    pub fn for_kind<'a>(
        &'a self,
        group: &'a str,
        kind: &'a str,
    ) -> impl Iterator<Item = &'a Target> {
        self.locators
            .iter()
            .filter(move |l| l.kind == kind && l.groups.iter().any(|g| g == group))
            .map(|l| &l.target)
    }
}

const POD: bool = true;
const IMAGE: bool = false;

const ARGO_TEMPLATE_IMAGES: &[&str] = &[
    "spec.templates[].container.image",
    "spec.templates[].script.image",
    "spec.templates[].initContainers[].image",
    "spec.templates[].sidecars[].image",
    "spec.templates[].containerSet.containers[].image",
];

/// (API groups, kinds, (is a pod spec, paths)).
type BuiltinEntry = (
    &'static [&'static str],
    &'static [&'static str],
    (bool, &'static [&'static str]),
);

const BUILTIN: &[BuiltinEntry] = &[
    (&[""], &["Pod"], (POD, &["spec"])),
    (
        &[""],
        &["ReplicationController"],
        (POD, &["spec.template.spec"]),
    ),
    (&[""], &["PodTemplate"], (POD, &["template.spec"])),
    (
        &["apps", "extensions"],
        &["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"],
        (POD, &["spec.template.spec"]),
    ),
    (&["batch"], &["Job"], (POD, &["spec.template.spec"])),
    (
        &["batch"],
        &["CronJob"],
        (POD, &["spec.jobTemplate.spec.template.spec"]),
    ),
    (
        &["argoproj.io"],
        &["Rollout"],
        (POD, &["spec.template.spec"]),
    ),
    (
        &["argoproj.io"],
        &["Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate"],
        (IMAGE, ARGO_TEMPLATE_IMAGES),
    ),
    (
        &["argoproj.io"],
        &["CronWorkflow"],
        (
            IMAGE,
            &[
                "spec.workflowSpec.templates[].container.image",
                "spec.workflowSpec.templates[].script.image",
                "spec.workflowSpec.templates[].initContainers[].image",
                "spec.workflowSpec.templates[].sidecars[].image",
                "spec.workflowSpec.templates[].containerSet.containers[].image",
            ],
        ),
    ),
    (
        &["tekton.dev"],
        &["Task", "ClusterTask"],
        (
            IMAGE,
            &[
                "spec.steps[].image",
                "spec.sidecars[].image",
                "spec.stepTemplate.image",
            ],
        ),
    ),
    (
        &["tekton.dev"],
        &["TaskRun"],
        (
            IMAGE,
            &[
                "spec.taskSpec.steps[].image",
                "spec.taskSpec.sidecars[].image",
            ],
        ),
    ),
    (
        &["tekton.dev"],
        &["Pipeline"],
        (
            IMAGE,
            &[
                "spec.tasks[].taskSpec.steps[].image",
                "spec.tasks[].taskSpec.sidecars[].image",
                "spec.finally[].taskSpec.steps[].image",
            ],
        ),
    ),
    (
        &["tekton.dev"],
        &["PipelineRun"],
        (
            IMAGE,
            &[
                "spec.pipelineSpec.tasks[].taskSpec.steps[].image",
                "spec.pipelineSpec.finally[].taskSpec.steps[].image",
            ],
        ),
    ),
    (
        &["serving.knative.dev"],
        &["Service", "Configuration"],
        (POD, &["spec.template.spec"]),
    ),
    (&["serving.knative.dev"], &["Revision"], (POD, &["spec"])),
    (
        &["apps.openshift.io"],
        &["DeploymentConfig"],
        (POD, &["spec.template.spec"]),
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_keys_and_items() {
        let path = FieldPath::parse("spec.templates[].container.image").unwrap();
        assert_eq!(
            path.segments(),
            &[
                Segment::Key("spec".into()),
                Segment::Key("templates".into()),
                Segment::EachItem,
                Segment::Key("container".into()),
                Segment::Key("image".into()),
            ]
        );
        assert!(FieldPath::parse("spec..image").is_err());
        assert!(FieldPath::parse("spec.steps[0].image").is_err());
        assert!(FieldPath::parse("[].image").is_err());
    }

    #[test]
    fn builtin_catalog_knows_workloads_and_crds() {
        let catalog = Catalog::builtin();
        assert_eq!(catalog.for_kind("apps", "Deployment").count(), 1);
        assert_eq!(catalog.for_kind("", "Deployment").count(), 0);
        assert_eq!(catalog.for_kind("tekton.dev", "Task").count(), 3);
        assert_eq!(catalog.for_kind("argoproj.io", "Rollout").count(), 1);
        assert_eq!(
            catalog
                .for_kind("apps.openshift.io", "DeploymentConfig")
                .count(),
            1
        );
    }
}
