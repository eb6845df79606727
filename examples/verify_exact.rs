//! Verifies, file by file, that tokenaudit's counts equal the reference
//! implementations on a real corpus: with 1 thread and with all threads,
//! whole and cut into small pieces. Run by `scripts/verify-exact`.
//!
//! usage: verify_exact [-t NAME[,NAME...]] PATH...

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use rayon::prelude::*;
use tokenaudit::audit::{Audit, AuditConfig};
use tokenaudit::discover::{Skipped, Source};
use tokenaudit::extract::Parse;
use tokenaudit::report::rows::RowSink;
use tokenaudit::tally::FileTally;
use tokenaudit::tokenize::reference::reference;
use tokenaudit::tokenize::{self, chunk, TokenizerDir};

#[derive(Default)]
struct Rows(HashMap<PathBuf, (String, Vec<u64>)>);

impl RowSink for Rows {
    fn counted(&mut self, f: &FileTally) -> std::io::Result<()> {
        self.0
            .insert(f.path.clone(), (f.category.clone(), f.tokens.clone()));
        Ok(())
    }
    fn skipped(&mut self, _: &Skipped) -> std::io::Result<()> {
        Ok(())
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut names: Vec<String> = tokenize::sources::builtin::NAMES
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut paths = Vec::new();
    while let Some(a) = args.next() {
        if a == "-t" {
            names = args
                .next()
                .expect("-t NAMES")
                .split(',')
                .map(String::from)
                .collect();
        } else {
            paths.push(PathBuf::from(a));
        }
    }
    let dir = TokenizerDir::locate(None);
    let tokenizers: Vec<_> = names
        .iter()
        .map(|n| tokenize::resolve(n, &dir, None).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let all_threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut runs = Vec::new();
    for threads in [1, all_threads] {
        let audit = Audit::new(AuditConfig {
            parse: Parse::Text,
            threads,
            ..AuditConfig::new(paths.clone(), tokenizers.clone())
        });
        let mut rows = Rows::default();
        let report = audit.run_with_rows(&mut rows).expect("audit runs");
        eprintln!(
            "audit with {threads} thread(s): {} files counted, {} skipped, {:.1} MB/s",
            report.totals.files_counted, report.totals.files_skipped, report.run.mb_per_second
        );
        runs.push(rows.0);
    }

    let files: Vec<(&PathBuf, &(String, Vec<u64>))> = runs[0].iter().collect();
    let mismatches: Vec<String> = files
        .par_iter()
        .map_init(
            // One reference and one counter per tokenizer and thread: making
            // a counter per file cloned the whole model of a tokenizer.json
            // one each time (gemma3's is 33 MB).
            || {
                let references = names
                    .iter()
                    .map(|n| reference(n, &dir).unwrap_or_else(|| panic!("no reference for {n}")))
                    .collect::<Vec<_>>();
                let counters = tokenizers.iter().map(|t| t.counter()).collect::<Vec<_>>();
                (references, counters)
            },
            |(references, counters), (path, (category, tokens))| {
            let mut problems = Vec::new();
            let source = Source {
                path: path.to_path_buf(),
                len: None,
                category: category.clone(),
            };
            let doc = tokenaudit::load::load(&source).expect("loaded before, loads again");
            let text = doc.text();
            for (i, counter) in counters.iter_mut().enumerate() {
                let name = &names[i];
                let want = references[i](text);
                let pieces: u64 = chunk::pieces(text, 4096)
                    .iter()
                    .enumerate()
                    .map(|(k, p)| if k == 0 { counter.count(p) } else { counter.count_continuation(p) })
                    .sum();
                let n_threads = runs[1].get(*path).map(|r| r.1[i]);
                if tokens[i] != want || n_threads != Some(want) || pieces != want {
                    problems.push(format!(
                        "{}: {name}: reference {want}, 1 thread {}, all threads {:?}, pieces {pieces}",
                        path.display(),
                        tokens[i],
                        n_threads
                    ));
                }
            }
            problems
        })
        .flatten()
        .collect();
    let bytes: u64 = files
        .iter()
        .map(|(p, _)| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    for m in mismatches.iter().take(50) {
        println!("MISMATCH {m}");
    }
    println!(
        "{} files, {:.1} MB, tokenizers {}: {} mismatches",
        files.len(),
        bytes as f64 / 1e6,
        names.join(","),
        mismatches.len()
    );
    if mismatches.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
