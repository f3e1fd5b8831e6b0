//! pinnace keeps the container images of GitOps repositories trustworthy.
//!
//! The crate follows the pipeline: [`discover`] finds inputs, [`yaml`] loads them with exact
//! spans, [`model`] extracts resources and images, [`rules`] check them, [`report`] prints the
//! findings. [`commands`] composes these for each subcommand.

pub mod baseline;
pub mod build_roots;
pub mod builds;
pub mod changed;
pub mod commands;
pub mod config;
pub mod discover;
pub mod files;
pub mod finding;
pub mod fix;
pub mod fleet;
pub mod helm;
pub mod image_ref;
pub mod inputs;
pub mod kustomize;
pub mod model;
pub mod pin_plan;
pub mod pipeline;
pub mod registry;
pub mod report;
pub mod rules;
pub mod signatures;
pub mod source;
pub mod suppress;
pub mod yaml;
