//! `pinnace completions SHELL` and `pinnace man`: shell completions and man pages, generated
//! from the command line's own definition so they never drift from it. The release archives
//! ship both.

use std::path::PathBuf;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, exit};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command (`pinnace.1`, `pinnace-check.1`, …) into this folder instead
    /// of printing `pinnace.1`.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

pub fn completions(args: CompletionsArgs) -> miette::Result<u8> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "pinnace", &mut script);
    super::print_out(&String::from_utf8_lossy(&script))?;
    Ok(exit::CLEAN)
}

pub fn man(args: ManArgs) -> miette::Result<u8> {
    let command = Cli::command();
    match args.out_dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .map_err(|e| miette::miette!("cannot create {}: {e}", dir.display()))?;
            clap_mangen::generate_to(command, &dir)
                .map_err(|e| miette::miette!("cannot write man pages to {}: {e}", dir.display()))?;
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .map_err(|e| miette::miette!("cannot render the man page: {e}"))?;
            super::print_out(&String::from_utf8_lossy(&page))?;
        }
    }
    Ok(exit::CLEAN)
}
