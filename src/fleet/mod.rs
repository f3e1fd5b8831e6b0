//! Bulk migration (`pinnace migrate`): many repositories pinned at once, each on its own
//! branch with one commit, their images resolved together so each distinct image is asked for
//! once across the whole fleet.
//!
//! The command (src/commands/migrate.rs) composes these parts: [`repos`] reads the list and
//! splits it into shards, [`repository`] takes one repository through its steps, [`git`] opens, clones, branches, commits, rolls back and pushes, and
//! [`report`] writes what happened as JSON and Markdown.

pub mod git;
pub mod outcome;
pub mod repos;
pub mod repository;
