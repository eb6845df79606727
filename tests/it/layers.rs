//! The pipeline's stages depend one way (ARCHITECTURE.md, "Modules and what
//! each may use"): a module may use the modules ranked below it, never one
//! ranked above or beside it. This reads every `crate::` path in the
//! library's sources and fails on an import that runs backwards, or on a new
//! top-level module that has no rank yet.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Rank of each top-level module of the library; see ARCHITECTURE.md.
const RANKS: &[(&str, u32)] = &[
    ("format", 0),
    ("alloc", 0),
    ("skip", 0),
    ("tokenize", 1),
    ("discover", 1),
    ("digest", 1),
    ("script", 1),
    ("language", 1),
    ("load", 2),
    ("content", 2),
    ("shard", 2),
    ("extract", 3),
    ("count", 4),
    ("tally", 5),
    ("count_api", 6),
    ("pricing", 7),
    ("report", 8),
    ("calibrate", 8),
    ("audit", 9),
];

/// Binary-only modules (not part of the library; they may use anything).
const BINARY: &[&str] = &["main", "cli"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a source file belongs to (`src/a/b.rs` → `a`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The top-level modules named by `crate::x` paths in code (comments are
/// left out: a doc link is not a dependency), with their line numbers.
/// `use crate::{a, b}` groups are read too.
fn crate_paths(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut in_group = false;
    for (i, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                in_group = true;
                rest = group;
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.push((name, i + 1));
        }
        if in_group {
            // `use crate::{a::b, c};`, possibly over several lines: the first
            // segment of each item at the group's top level.
            for item in code.split([',', '{']) {
                let item = item.trim().trim_start_matches("crate::");
                let name: String = item
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && item[name.len()..].starts_with("::") {
                    out.push((name, i + 1));
                }
            }
            if code.contains("};") {
                in_group = false;
            }
        }
    }
    out
}

#[test]
fn no_lower_stage_imports_a_higher_one() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let ranks: BTreeMap<&str, u32> = RANKS.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        if module == "lib" || BINARY.contains(&module.as_str()) {
            continue;
        }
        let Some(&rank) = ranks.get(module.as_str()) else {
            problems.push(format!(
                "{}: module `{module}` has no rank: add it to RANKS in tests/it/layers.rs and to ARCHITECTURE.md",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for (used, line) in crate_paths(&text) {
            if used == module {
                continue;
            }
            match ranks.get(used.as_str()) {
                Some(&r) if r < rank => {}
                Some(&r) => problems.push(format!(
                    "{}:{line}: `{module}` (rank {rank}) uses `{used}` (rank {r}): a stage may only use lower ones",
                    file.display()
                )),
                None => problems.push(format!(
                    "{}:{line}: `{module}` uses `{used}`, which has no rank",
                    file.display()
                )),
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn the_reader_sees_grouped_and_nested_paths_and_ignores_comments() {
    let text = "use crate::tally::Tally;\n\
                use crate::{\n    format::thousands,\n    pricing::Catalog,\n};\n\
                // see crate::report for the formats\n\
                let x = crate::count::PIECE_TARGET;\n";
    let names: Vec<String> = crate_paths(text).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["tally", "format", "pricing", "count"]);
}
