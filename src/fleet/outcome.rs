//! What a migration did, per repository: as JSON for machines, as Markdown for people (a CI
//! job summary, a tracking issue), and as the commit message of each branch.

use std::fmt::Write as _;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// A branch with one commit holds the pins.
    Pinned,
    /// `--dry-run`: this would be pinned; nothing was written.
    WouldPin,
    /// Nothing to pin: no branch, no commit.
    Unchanged,
    /// Nothing was left changed: the repository is as it was.
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pinned => "pinned",
            Status::WouldPin => "would-pin",
            Status::Unchanged => "unchanged",
            Status::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PinnedItem {
    pub image: String,
    pub digest: String,
    /// `--update` replaced an older digest.
    pub updated: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileChange {
    /// Relative to the repository's root, with `/`.
    pub file: String,
    pub pinned: Vec<PinnedItem>,
}

/// Something not pinned, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RepoReport {
    /// The line of the list.
    pub repository: String,
    /// Where its work tree is.
    pub path: Option<String>,
    pub status: Status,
    pub branch: Option<String>,
    /// The commit the branch starts from.
    pub base: Option<String>,
    pub commit: Option<String>,
    pub pushed: bool,
    pub files: Vec<FileChange>,
    /// Images already written with a digest.
    pub already_pinned: usize,
    /// With `--require-signature`: images left as they were because no signature of their
    /// digest verified (each is also in `failed`, with the reason).
    pub unsigned: usize,
    pub skipped: Vec<Item>,
    pub failed: Vec<Item>,
}

impl RepoReport {
    pub fn new(repository: &str) -> RepoReport {
        RepoReport {
            repository: repository.to_string(),
            path: None,
            status: Status::Unchanged,
            branch: None,
            base: None,
            commit: None,
            pushed: false,
            files: Vec::new(),
            already_pinned: 0,
            unsigned: 0,
            skipped: Vec::new(),
            failed: Vec::new(),
        }
    }

    /// A repository that failed before anything was changed.
    pub fn failed(repository: &str, reason: String) -> RepoReport {
        let mut report = RepoReport::new(repository);
        report.status = Status::Failed;
        report.failed.push(Item {
            file: None,
            image: None,
            reason,
        });
        report
    }

    pub fn images_pinned(&self) -> usize {
        self.files.iter().map(|f| f.pinned.len()).sum()
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub repositories: usize,
    pub pinned: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub images_pinned: usize,
    /// With `--require-signature`: images left because no signature verified.
    pub images_unsigned: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct MigrationReport {
    pub branch: String,
    pub dry_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    pub totals: Totals,
    /// Distinct `registry/repository:tag` looked up over all repositories.
    pub distinct_images: usize,
    pub registry_requests: usize,
    pub repositories: Vec<RepoReport>,
}

impl MigrationReport {
    pub fn new(branch: &str, dry_run: bool, shard: Option<String>) -> MigrationReport {
        MigrationReport {
            branch: branch.to_string(),
            dry_run,
            shard,
            totals: Totals::default(),
            distinct_images: 0,
            registry_requests: 0,
            repositories: Vec::new(),
        }
    }

    pub fn add(&mut self, mut repo: RepoReport) {
        // Nothing pinned while images failed to resolve: every image it had to pin failed.
        if matches!(repo.status, Status::Unchanged) && !repo.failed.is_empty() {
            repo.status = Status::Failed;
        }
        let totals = &mut self.totals;
        totals.repositories += 1;
        totals.images_pinned += repo.images_pinned();
        totals.images_unsigned += repo.unsigned;
        match repo.status {
            Status::Pinned | Status::WouldPin => totals.pinned += 1,
            Status::Unchanged => totals.unchanged += 1,
            Status::Failed => totals.failed += 1,
        }
        self.repositories.push(repo);
    }

    /// With `--require-signature`, when some images were left for it: how many.
    pub fn unsigned_line(&self) -> Option<String> {
        let count = self.totals.images_unsigned;
        (count > 0).then(|| {
            format!(
                "{count} image{} left as {} (--require-signature): no signature of the digest verifies; each is listed with the reason.",
                plural(count),
                if count == 1 { "it was" } else { "they were" }
            )
        })
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    pub fn to_markdown(&self) -> String {
        let mut out = String::from("# pinnace migrate\n\n");
        let t = &self.totals;
        let pinned = if self.dry_run { "would pin" } else { "pinned" };
        let _ = writeln!(
            out,
            "Branch `{}`{}: {} repositories, {} {pinned}, {} unchanged, {} failed; {} images {pinned} ({} distinct images, {} registry requests).\n",
            self.branch,
            self.shard
                .as_ref()
                .map(|s| format!(", shard {s}"))
                .unwrap_or_default(),
            t.repositories,
            t.pinned,
            t.unchanged,
            t.failed,
            t.images_pinned,
            self.distinct_images,
            self.registry_requests,
        );
        if let Some(line) = self.unsigned_line() {
            let _ = writeln!(out, "{line}\n");
        }
        out.push_str("| Repository | Status | Commit | Pinned | Skipped | Failed |\n");
        out.push_str("| --- | --- | --- | ---: | ---: | ---: |\n");
        for repo in &self.repositories {
            let commit = repo
                .commit
                .as_deref()
                .map(|c| format!("`{}`", &c[..c.len().min(12)]))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {} | {commit} | {} | {} | {} |",
                cell(&repo.repository),
                repo.status.as_str(),
                repo.images_pinned(),
                repo.skipped.len(),
                repo.failed.len()
            );
        }
        for repo in &self.repositories {
            repo_section(&mut out, repo);
        }
        out
    }
}

fn repo_section(out: &mut String, repo: &RepoReport) {
    if repo.files.is_empty() && repo.skipped.is_empty() && repo.failed.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n## {}\n", repo.repository);
    if let (Some(branch), Some(commit)) = (&repo.branch, &repo.commit) {
        let pushed = if repo.pushed { ", pushed" } else { "" };
        let _ = writeln!(out, "Branch `{branch}` at `{commit}`{pushed}.\n");
    }
    for file in &repo.files {
        for pin in &file.pinned {
            let _ = writeln!(
                out,
                "- pinned `{}`: `{}` → `{}`",
                file.file, pin.image, pin.digest
            );
        }
    }
    for (label, items) in [("skipped", &repo.skipped), ("failed", &repo.failed)] {
        for item in items {
            let _ = writeln!(out, "- {label} {}", describe(item));
        }
    }
}

fn describe(item: &Item) -> String {
    let mut parts = Vec::new();
    if let Some(file) = &item.file {
        parts.push(format!("`{file}`"));
    }
    if let Some(image) = &item.image {
        parts.push(format!("`{image}`"));
    }
    parts.push(item.reason.clone());
    parts.join(": ")
}

/// Table cells cannot hold `|` or line breaks.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The commit message: a subject, then each file with the images pinned in it.
pub fn commit_message(files: &[FileChange]) -> String {
    let images: usize = files.iter().map(|f| f.pinned.len()).sum();
    let mut message = format!(
        "Pin container images to digests\n\npinnace pinned {images} image{} in {} file{}:\n",
        plural(images),
        files.len(),
        plural(files.len())
    );
    for file in files {
        let _ = writeln!(message, "\n{}", file.file);
        for pin in &file.pinned {
            let verb = if pin.updated { "updated" } else { "pinned" };
            let _ = writeln!(message, "- {} {verb} to {}", pin.image, pin.digest);
        }
    }
    message
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_message_lists_each_file_and_image() {
        let files = vec![FileChange {
            file: "deploy/app.yaml".into(),
            pinned: vec![PinnedItem {
                image: "r/app:1".into(),
                digest: "sha256:ab".into(),
                updated: false,
            }],
        }];
        assert_eq!(
            commit_message(&files),
            "Pin container images to digests\n\npinnace pinned 1 image in 1 file:\n\ndeploy/app.yaml\n- r/app:1 pinned to sha256:ab\n"
        );
    }

    #[test]
    fn a_repository_whose_every_image_failed_is_failed() {
        let mut report = MigrationReport::new("b", false, None);
        let mut repo = RepoReport::new("r");
        repo.failed.push(Item {
            file: Some("a.yaml".into()),
            image: Some("r/app:1".into()),
            reason: "not found".into(),
        });
        report.add(repo);
        assert!(matches!(report.repositories[0].status, Status::Failed));
        assert_eq!((report.totals.failed, report.totals.unchanged), (1, 0));
    }

    #[test]
    fn markdown_escapes_table_cells() {
        let mut report = MigrationReport::new("b", false, None);
        report.add(RepoReport::failed("a|b", "boom".into()));
        let md = report.to_markdown();
        assert!(md.contains("| a\\|b | failed |"), "{md}");
        assert!(md.contains("- failed boom"), "{md}");
    }
}
