//! Every rule page in `rules/` is a test: each `yaml bad` / `yaml good` example must yield
//! exactly the findings of the page's rule that its following `text findings` block states
//! (none when there is no such block), under the page's `yaml config` block if it has one.

use std::path::{Path, PathBuf};

use pinnace::config::{RuleSelection, Settings, parse_config};
use pinnace::model::ScopeIndex;
use pinnace::pipeline::{Input, check};
use pinnace::rules::catalog;

struct Example {
    kind: String,
    code: String,
    /// 1-based line of the page where the example starts, for messages.
    line: usize,
    expected: Vec<String>,
    /// Findings that need a registry (`text findings online`); tests/pin_registry.rs covers them.
    online: Vec<String>,
}

struct Page {
    config: Option<String>,
    examples: Vec<Example>,
}

fn read_page(text: &str) -> Page {
    let mut page = Page {
        config: None,
        examples: Vec::new(),
    };
    let mut lines = text.lines().enumerate();
    while let Some((number, line)) = lines.next() {
        let Some(info) = line.strip_prefix("```") else {
            continue;
        };
        let mut code = String::new();
        for (_, line) in lines.by_ref() {
            if line.starts_with("```") {
                break;
            }
            code.push_str(line);
            code.push('\n');
        }
        match info.trim() {
            "yaml config" => page.config = Some(code),
            "yaml bad" | "yaml good" => page.examples.push(Example {
                kind: info.trim().to_string(),
                code,
                line: number + 1,
                expected: Vec::new(),
                online: Vec::new(),
            }),
            "text findings online" => {
                let example = page
                    .examples
                    .last_mut()
                    .expect("findings follow an example");
                example.online = code.lines().map(str::to_string).collect();
            }
            "text findings" => {
                let example = page
                    .examples
                    .last_mut()
                    .expect("findings follow an example");
                example.expected = code.lines().map(str::to_string).collect();
            }
            _ => {}
        }
    }
    page
}

fn findings_of(code: &str, settings: &Settings) -> Vec<String> {
    let input = Input {
        name: "example.yaml".to_string(),
        path: Path::new("example.yaml"),
        bytes: code.as_bytes().to_vec(),
    };
    // The example is the whole run: its own policies, Secrets and accounts are all there is.
    let run = ScopeIndex::default();
    let report = check(input, settings, None, Some(&run)).expect("an example is never skipped");
    let mut found: Vec<String> = report
        .findings
        .iter()
        .map(|finding| {
            let start = report.source.position(finding.span.start);
            format!("{}:{} {}", start.line, start.column, finding.rule.id)
        })
        .collect();
    found.sort();
    found
}

fn pages_folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

#[test]
fn every_rule_has_a_page_with_a_bad_and_a_good_example() {
    for rule in catalog() {
        let path = pages_folder().join(format!("{}.md", rule.id));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            text.starts_with(&format!("# {}\n", rule.id)),
            "{} must start with its id",
            path.display()
        );
        let page = read_page(&text);
        assert!(
            page.examples
                .iter()
                .any(|e| e.kind == "yaml bad" && !(e.expected.is_empty() && e.online.is_empty())),
            "{}: no bad example with findings",
            rule.id
        );
        assert!(
            page.examples.iter().any(|e| e.kind == "yaml good"),
            "{}: no good example",
            rule.id
        );
        for heading in ["## What it does", "## Why is this bad?", "## Fix"] {
            assert!(text.contains(heading), "{}: missing `{heading}`", rule.id);
        }
    }
}

#[test]
fn examples_yield_exactly_the_findings_their_pages_state() {
    let mut failures = Vec::new();
    let mut pages = 0;
    for entry in std::fs::read_dir(pages_folder()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "md") {
            continue;
        }
        pages += 1;
        let page = read_page(&std::fs::read_to_string(&path).unwrap());
        let config = match &page.config {
            Some(text) => parse_config("example config", text)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
            None => Default::default(),
        };
        // Each page shows its own rule, and the others its findings name: every other rule
        // (a pod without a NetworkPolicy, an unpinned image) would flag most examples too.
        let mut ids = vec![path.file_stem().unwrap().to_string_lossy().to_string()];
        for example in &page.examples {
            for line in example.expected.iter().chain(&example.online) {
                ids.extend(line.split_whitespace().nth(1).map(str::to_string));
            }
        }
        let selection = RuleSelection {
            select: Some(ids),
            ignore: Vec::new(),
        };
        let settings = Settings::new(config, PathBuf::from("/"), selection);
        for example in &page.examples {
            let mut expected = example.expected.clone();
            expected.sort();
            let found = findings_of(&example.code, &settings);
            if found != expected {
                failures.push(format!(
                    "{}:{} ({}): expected {expected:?}, found {found:?}",
                    path.display(),
                    example.line,
                    example.kind
                ));
            }
        }
    }
    assert!(pages >= 5, "rule pages missing");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
