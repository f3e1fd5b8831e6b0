//! Helm: rendered streams (what `helm template` prints), values files, and charts rendered by
//! the `helm` program. Values images are found by [`crate::model::values_images`]; this
//! module decides which files are values files.
//!
//! A rendered stream is checked like any manifest stream; [`Sources`] maps each of its
//! documents back to the template that rendered it (the `# Source:` comment Helm writes), so a
//! finding can name the chart file a person edits.

mod chart_files;
mod charts;
mod embedded;
mod gitops;
mod locate;
mod render;
mod stream;
mod values_files;

pub use charts::{ChartResults, check_charts, template_path};
pub use gitops::gitops_images;
pub use locate::locate as locate_in_template;
pub use render::{Render, find_binary};
pub use stream::{Sources, name_templates};
pub use values_files::{explain_map_fixes, is_values_file, values_of};
