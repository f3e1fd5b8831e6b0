//! Helm: rendered streams (what `helm template` prints), values files, and charts rendered by
//! the `helm` program.
//!
//! A rendered stream is checked like any manifest stream; [`Sources`] maps each of its
//! documents back to the template that rendered it (the `# Source:` comment Helm writes), so a
//! finding can name the chart file a person edits.

mod stream;

pub use stream::{Sources, name_templates};
