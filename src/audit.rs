/*!
The audit: the pipeline from paths to a [`Report`], as a library call.

`Audit::new(config).run()` discovers, loads, extracts, counts and aggregates,
on a rayon pool of the configured size. Entries are processed in path order,
in batches: each batch is counted in parallel, then its rows are handed to the
caller's [`RowSink`] in order and folded into the tally, so memory is bounded
by the batch, not the corpus, and per-file output is deterministic.
*/

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::count::{Engine, Outcome};
use crate::discover::{self, Filters, Skipped, Source};
use crate::extract::Parse;
use crate::pricing::{Priced, PricingPlan};
use crate::report::{Report, Run};
use crate::tally::{FileTally, Tally};
use crate::tokenize::SharedTokenizer;

/// Files per batch. Large enough to keep every thread busy between
/// batch boundaries; small enough that a batch's results are a few MB.
const BATCH: usize = 4096;

/// Everything an audit needs, decided (globs compiled, tokenizers loaded).
pub struct AuditConfig {
    pub paths: Vec<PathBuf>,
    pub filters: Filters,
    pub tokenizers: Vec<SharedTokenizer>,
    pub parse: Parse,
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// Recorded in the report's `run` section.
    pub command_line: Vec<String>,
    /// Models to price and a scenario to project, if any.
    pub pricing: Option<PricingPlan>,
}

/// Receives one row per file seen, in path order, as batches complete.
pub trait RowSink {
    fn counted(&mut self, file: &FileTally) -> io::Result<()>;
    fn skipped(&mut self, file: &Skipped) -> io::Result<()>;
}

impl<W: io::Write> RowSink for crate::report::csv::CsvRows<W> {
    fn counted(&mut self, file: &FileTally) -> io::Result<()> {
        crate::report::csv::CsvRows::counted(self, file).map_err(io::Error::other)
    }
    fn skipped(&mut self, file: &Skipped) -> io::Result<()> {
        crate::report::csv::CsvRows::skipped(self, file).map_err(io::Error::other)
    }
}

/// A sink that drops rows, for callers that only want the report.
pub struct NoRows;

impl RowSink for NoRows {
    fn counted(&mut self, _: &FileTally) -> io::Result<()> {
        Ok(())
    }
    fn skipped(&mut self, _: &Skipped) -> io::Result<()> {
        Ok(())
    }
}

pub struct Audit {
    config: AuditConfig,
}

/// Why an audit could not finish. Bad input files are not errors (they are
/// skipped entries); these are.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Pricing(#[from] crate::pricing::PricingError),
}

/// A file discovery produced, in the order rows are emitted.
enum Entry {
    Read(Source),
    Skip(Skipped),
}

impl Entry {
    fn path(&self) -> &std::path::Path {
        match self {
            Entry::Read(s) => &s.path,
            Entry::Skip(s) => &s.path,
        }
    }
}

impl Audit {
    pub fn new(config: AuditConfig) -> Self {
        Audit { config }
    }

    /// Runs the audit without per-file rows.
    pub fn run(&self) -> Result<Report, AuditError> {
        self.run_with_rows(&mut NoRows)
    }

    /// Runs the audit, streaming a row per file seen to `rows`. Only an
    /// error writing rows (or starting the thread pool) fails the run: bad
    /// inputs become skipped entries.
    pub fn run_with_rows(&self, rows: &mut dyn RowSink) -> Result<Report, AuditError> {
        let start = Instant::now();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.config.threads)
            .build()
            .map_err(|e| AuditError::Io(io::Error::other(e)))?;
        let threads = pool.current_num_threads();
        let tally = self.tally(&pool, rows)?;
        let names = self.tokenizer_names();
        let priced = match &self.config.pricing {
            Some(plan) => plan.price(&tally, &names)?,
            None => Priced::default(),
        };
        let wall = start.elapsed().as_secs_f64();
        let run = Run {
            command_line: self.config.command_line.clone(),
            threads,
            wall_seconds: (wall * 1000.0).round() / 1000.0,
            mb_per_second: if wall > 0.0 {
                ((tally.counted.bytes as f64 / 1e6 / wall) * 10.0).round() / 10.0
            } else {
                0.0
            },
        };
        Ok(Report::new(
            &tally,
            self.config
                .tokenizers
                .iter()
                .map(|t| t.info().clone())
                .collect(),
            self.config
                .paths
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            format!("{:?}", self.config.parse).to_lowercase(),
            self.config.pricing.as_ref().map(PricingPlan::provenance),
            priced,
            run,
        ))
    }

    fn tokenizer_names(&self) -> Vec<String> {
        self.config
            .tokenizers
            .iter()
            .map(|t| t.info().name.clone())
            .collect()
    }

    fn tally(&self, pool: &rayon::ThreadPool, rows: &mut dyn RowSink) -> io::Result<Tally> {
        let found = discover::discover(&self.config.paths, &self.config.filters);
        let total_bytes: u64 = found.sources.iter().map(|s| s.len).sum();
        let mut entries: Vec<Entry> = found
            .sources
            .into_iter()
            .map(Entry::Read)
            .chain(found.skipped.into_iter().map(Entry::Skip))
            .collect();
        entries.sort_by(|a, b| a.path().cmp(b.path()));

        let files = entries.len();
        let bar = self.progress_bar(total_bytes, files);
        let done = AtomicU64::new(0);
        let engine = Engine::new(
            self.config.tokenizers.clone(),
            self.config.parse,
            pool.current_num_threads(),
        );
        let mut tally = match &self.config.pricing {
            Some(plan) => Tally::watching(
                &self
                    .tokenizer_names()
                    .iter()
                    .map(|n| plan.watch(n))
                    .collect::<Vec<_>>(),
            ),
            None => Tally::default(),
        };
        let mut entries = entries.into_iter().peekable();
        while entries.peek().is_some() {
            let batch: Vec<Entry> = entries.by_ref().take(BATCH).collect();
            // Only the counting runs on the pool: the row sink (stdout, a
            // file) stays on this thread, in order.
            let outcomes: Vec<Outcome> = pool.install(|| {
                batch
                    .into_par_iter()
                    .map(|entry| {
                        let outcome = match entry {
                            Entry::Read(source) => engine.count_source(&source),
                            Entry::Skip(skipped) => Outcome::Skipped(skipped),
                        };
                        if let Some(bar) = &bar {
                            if let Outcome::Counted(f) = &outcome {
                                bar.inc(f.bytes);
                            }
                            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                            bar.set_message(format!("{n}/{files} files"));
                        }
                        outcome
                    })
                    .collect()
            });
            for outcome in outcomes {
                match outcome {
                    Outcome::Counted(f) => {
                        rows.counted(&f)?;
                        tally.add_file(&f);
                    }
                    Outcome::Skipped(s) => {
                        rows.skipped(&s)?;
                        tally.add_skipped(s);
                    }
                }
            }
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        Ok(tally)
    }

    fn progress_bar(&self, total_bytes: u64, files: usize) -> Option<ProgressBar> {
        if !self.config.progress {
            return None;
        }
        let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
            )
            .expect("the template is valid"),
        );
        bar.set_message(format!("0/{files} files"));
        Some(bar)
    }
}
