//! `pinnace build DIR`: the built-in Kustomize build, printed as YAML.

use std::path::PathBuf;

use clap::Args;
use miette::{NamedSource, SourceSpan};

use super::exit;
use crate::kustomize::{self, KustomizeError};

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// A folder with a kustomization.yaml.
    dir: PathBuf,
    /// Clone remote bases (git URLs) into the cache, pinned to their ref; without it only
    /// bases already in the cache are built.
    #[arg(long)]
    fetch: bool,
}

pub fn run(args: BuildArgs) -> miette::Result<u8> {
    let options = kustomize::BuildOptions {
        helm: kustomize::runner_on_path(),
        fetch: args.fetch,
    };
    let build = kustomize::build(&args.dir, &options).map_err(|error| located(&args.dir, error))?;
    for not_built in &build.not_built {
        let place = build
            .sources
            .lookup(not_built.span)
            .map(|(file, span)| {
                let position = file.position(span.start);
                format!("{}:{}:{}", file.name, position.line, position.column)
            })
            .unwrap_or_default();
        eprintln!("warning: {place}: {} (not built)", not_built.reason);
    }
    super::print_out(&kustomize::emit_yaml(&build.resources))?;
    Ok(exit::CLEAN)
}

/// A build error with the snippet of the file it points into, when it points into one.
fn located(dir: &std::path::Path, error: KustomizeError) -> miette::Report {
    let message = format!("cannot build {}: {}", dir.display(), error.message);
    match (error.span, error.sources) {
        (Some(span), Some(sources)) => match sources.lookup(span) {
            Some((file, local)) => {
                let position = file.position(local.start);
                let labelled = SourceSpan::from((local.start as usize, local.len()));
                miette::miette!(
                    labels = vec![miette::LabeledSpan::at(labelled, "here")],
                    "{message} ({}:{}:{})",
                    file.name,
                    position.line,
                    position.column
                )
                .with_source_code(NamedSource::new(file.name.clone(), file.text.to_string()))
            }
            None => miette::miette!("{message}"),
        },
        _ => miette::miette!("{message}"),
    }
}
