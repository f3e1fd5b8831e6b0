//! `pinnace rules` and `pinnace explain RULE`: the catalog and each rule's page.

use clap::Args;
use serde_json::json;

use super::exit;
use super::images::ListFormat;
use crate::rules::{catalog, find};

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[arg(long, value_enum, default_value_t = ListFormat::Plain)]
    format: ListFormat,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A rule id, as `pinnace rules` lists them.
    rule: String,
}

pub fn list(args: RulesArgs) -> miette::Result<u8> {
    match args.format {
        ListFormat::Plain => {
            let width = catalog().map(|rule| rule.id.len()).max().unwrap_or(0);
            let mut text = String::new();
            for rule in catalog() {
                let fix = if rule.fixable { "fix: pin" } else { "" };
                text.push_str(&format!(
                    "{:<width$} {:<8} {:<9} {}\n",
                    rule.id,
                    rule.default_severity.as_str(),
                    fix,
                    rule.summary
                ));
            }
            super::print_out(&text)?;
        }
        ListFormat::Json => {
            let rules: Vec<_> = catalog()
                .map(|rule| {
                    json!({
                        "id": rule.id,
                        "severity": rule.default_severity.as_str(),
                        "fixable": rule.fixable,
                        "summary": rule.summary,
                    })
                })
                .collect();
            super::print_out(&(serde_json::to_string_pretty(&rules).unwrap_or_default() + "\n"))?;
        }
    }
    Ok(exit::CLEAN)
}

pub fn explain(args: ExplainArgs) -> miette::Result<u8> {
    validate_ids([&args.rule])?;
    if let Some(rule) = find(&args.rule) {
        super::print_out(rule.page)?;
    }
    Ok(exit::CLEAN)
}

/// A usage error for any id that names no rule.
pub fn validate_ids<'a>(ids: impl IntoIterator<Item = &'a String>) -> miette::Result<()> {
    for id in ids {
        if find(id).is_none() {
            let known: Vec<&str> = catalog().map(|rule| rule.id).collect();
            return Err(miette::miette!(
                help = format!("known rules: {}", known.join(", ")),
                "unknown rule `{id}`"
            ));
        }
    }
    Ok(())
}
