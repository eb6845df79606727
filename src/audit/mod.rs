/*!
The audit: the pipeline from paths to a [`Report`], as a library call.

`Audit::new(config).run()` discovers, loads, extracts, counts and aggregates,
on a rayon pool of the configured size. Discovery streams entries in path
order from its own thread; they are processed in batches: each batch is
counted in parallel, then its rows are handed to the caller's [`RowSink`] in
order and folded into the tally, so memory is bounded by the few batches in
flight, not the corpus, and per-file output is deterministic.
*/

pub mod merge;
mod progress;
mod schedule;

use std::collections::BTreeMap;
use std::io;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Instant;

use rayon::prelude::*;

use crate::count::chat_format::{ChatFormat, Overheads};
use crate::count::{Engine, Outcome, Timing};
use crate::digest::{DigestBuilder, DigestPart, Roots};
use crate::discover::{self, Entry, Filters, Skipped};
use crate::extract::document::Limits;
use crate::extract::fields::FieldSpec;
use crate::extract::Parse;
use crate::pricing::{PriceWatch, Priced, PricingPlan};
use crate::report::partial::{Partial, State, STATE_ENCODING, STATE_VERSION};
use crate::report::rows::{NoRows, RowSink};
use crate::report::{CounterTime, Report, Run};
use crate::shard::{Shard, ShardFilter};
use crate::skip::SkipReason;
use crate::tally::Tally;
use crate::tokenize::{SharedTokenizer, TokenizerInfo};

/// Files per batch. Large enough to keep every thread busy between
/// batch boundaries; small enough that a batch's results are a few MB.
const BATCH: usize = 4096;

/// Files in the first batch; each next batch is twice as large, up to
/// [`BATCH`]. The threads wait for the first batch to be walked: 4,096
/// files took the walk 23-25 ms on the benchmark tree, 4% of a 2-thread
/// audit spent with every counting thread idle.
const FIRST_BATCH: usize = 64;

/// Batches discovery may have queued ahead of the counting: enough that
/// the counting never waits for the walk, few enough to be a few MB.
const BATCHES_AHEAD: usize = 2;

/// Files in one job of the pool: one, so that every file can be stolen by
/// an idle thread. Left to itself, rayon cuts a batch into a few long runs
/// of files, and nothing of a run that has started can be stolen: at the
/// end of a batch one thread counted hundreds of files alone while the
/// other idled (perf sched, benchmark tree, cl100k, -j2: 7.2% of a CPU idle
/// in 6-8 ms stretches; 0.4% with jobs of 8 files). Jobs of 1 and of 8
/// files measured alike (medians of 16 and 10 alternating runs, 1 and 2
/// threads).
const FILES_PER_JOB: usize = 1;

/// Everything an audit needs, decided (globs compiled, tokenizers loaded).
pub struct AuditConfig {
    /// Files and folders to audit; `-` is standard input.
    pub paths: Vec<PathBuf>,
    /// What the walk enters and keeps, and how files are categorised.
    pub filters: Filters,
    /// The tokenizers to count with, in the order the report lists them.
    pub tokenizers: Vec<SharedTokenizer>,
    /// How files are read (`--parse`): as text, as chat, or chosen per file.
    pub parse: Parse,
    /// The text columns and fields of CSV and JSON files (`--column`,
    /// `--role-column`, `--field`).
    pub fields: FieldSpec,
    /// Forces one chat format for every tokenizer (`--chat-format`).
    pub chat_format: Option<ChatFormat>,
    /// Limits and choices for documents under `--parse auto`.
    pub documents: Limits,
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// Recorded in the report's `run` section.
    pub command_line: Vec<String>,
    /// Models to price and a scenario to project, if any.
    pub pricing: Option<PricingPlan>,
    /// Providers whose count APIs the user allowed (`--count-api`).
    pub count_api: Vec<crate::count_api::CountApiConfig>,
    /// Count only this shard of the files (`--shard I/N`, see `shard`);
    /// the report then carries what `merge` adds up (`report::partial`).
    pub shard: Option<Shard>,
    /// The options that decide what is counted, as the user gave them
    /// (flag → value): a shard's report records them and `merge` refuses
    /// shards whose options differ.
    pub options: BTreeMap<String, String>,
    /// Raised (by a Ctrl-C handler) to stop the audit: no more files are
    /// started, and [`Audit::run`] returns [`AuditError::Interrupted`].
    pub stop: Option<Arc<AtomicBool>>,
    /// Break the counts down by each piece's detected language (`--lang`).
    pub languages: bool,
}

impl AuditConfig {
    /// An audit of `paths` with `tokenizers` and the defaults the CLI uses
    /// without flags: every file the walk reaches (no hidden files), the
    /// parser chosen per file, each tokenizer's own chat format, the
    /// extraction limits, one thread per core, no progress bar, nothing
    /// priced and nothing sent anywhere. Set the fields to change them.
    pub fn new(paths: Vec<PathBuf>, tokenizers: Vec<SharedTokenizer>) -> Self {
        AuditConfig {
            paths,
            filters: Filters::default(),
            tokenizers,
            parse: Parse::Auto,
            fields: Default::default(),
            chat_format: None,
            documents: Default::default(),
            threads: 0,
            progress: false,
            command_line: Vec::new(),
            pricing: None,
            count_api: Vec::new(),
            shard: None,
            options: BTreeMap::new(),
            stop: None,
            languages: false,
        }
    }

    /// Whether the stop flag has been raised.
    fn stopped(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
    }

    /// The options a shard's report records: the counting options given,
    /// and what the pricing plan prices.
    fn identity(&self) -> BTreeMap<String, String> {
        let mut options = self.options.clone();
        if let Some(plan) = &self.pricing {
            for (k, v) in plan.identity() {
                options.insert(format!("pricing.{k}"), v);
            }
        }
        options
    }
}

/// One audit: a configuration, run once or more with [`Audit::run`].
pub struct Audit {
    config: AuditConfig,
}

/// Why an audit could not finish. Bad input files are not errors (they are
/// skipped entries); these are.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Writing a row failed, or the thread pool could not start.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The counts could not be priced (a projection's model has no price).
    #[error(transparent)]
    Pricing(#[from] crate::pricing::PricingError),
    /// The options contradict each other (a shard of standard input, a
    /// count API sample of one shard).
    #[error("{0}")]
    Config(String),
    /// The stop flag was raised: how far the audit got.
    #[error("interrupted after {files} files ({bytes} bytes) were counted or skipped; no report was written")]
    Interrupted { files: u64, bytes: u64 },
    /// Shard reports that cannot be merged, and why.
    #[error("{0}")]
    Merge(String),
}

impl Audit {
    /// An audit of `config`; nothing runs until [`Audit::run`].
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
        if self.config.shard.is_some() {
            if !self.config.count_api.is_empty() {
                return Err(AuditError::Config(
                    "--count-api cannot be used with --shard: each shard would send its own sample; \
                     run the count API on the whole corpus"
                        .into(),
                ));
            }
            if self.config.paths.iter().any(|p| p.as_os_str() == "-") {
                return Err(AuditError::Config(
                    "--shard splits files by their paths: standard input (`-`) has none".into(),
                ));
            }
        }
        let start = Instant::now();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.config.threads)
            .build()
            .map_err(|e| AuditError::Io(io::Error::other(e)))?;
        let threads = pool.current_num_threads();
        let started_utc = jiff::Timestamp::now();
        let names = self.tokenizer_names();
        let mut watch = match &self.config.pricing {
            Some(plan) => plan.price_watch(&names),
            None => PriceWatch::default(),
        };
        let (tally, digest, chat_formats, timing) = self.tally(&pool, rows, &mut watch)?;
        if self.config.stopped() {
            return Err(AuditError::Interrupted {
                files: tally.files_seen(),
                bytes: tally.bytes_seen(),
            });
        }
        let measured = match &self.config.pricing {
            Some(plan) => self.count_api(plan, &tally, &names),
            None => Vec::new(),
        };
        let wall = start.elapsed().as_secs_f64();
        let run = Run {
            command_line: self.config.command_line.clone(),
            started_utc: started_utc.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            threads,
            wall_seconds: (wall * 1000.0).round() / 1000.0,
            mb_per_second: if wall > 0.0 {
                ((tally.counted.bytes as f64 / 1e6 / wall) * 10.0).round() / 10.0
            } else {
                0.0
            },
            counters: names
                .iter()
                .zip(&timing.nanos)
                .map(|(n, &ns)| CounterTime {
                    tokenizer: n.clone(),
                    seconds: (ns as f64 / 1e9 * 1e6).round() / 1e6,
                    text_bytes: timing.bytes,
                })
                .collect(),
        };
        let counted = Counted {
            tally,
            watch,
            digest,
            chat_formats,
        };
        // A shard's report prices its part but projects nothing: a
        // scenario's workloads are over the whole corpus (a category may
        // not be in this shard at all); `merge` projects the sum.
        let shard_plan = self
            .config
            .shard
            .and(self.config.pricing.as_ref())
            .map(|p| PricingPlan {
                scenario: None,
                ..p.clone()
            });
        let mut report = counted.report(
            Described {
                tokenizers: self
                    .config
                    .tokenizers
                    .iter()
                    .map(|t| t.info().clone())
                    .collect(),
                roots: self
                    .config
                    .paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect(),
                parse: format!("{:?}", self.config.parse).to_lowercase(),
            },
            shard_plan.as_ref().or(self.config.pricing.as_ref()),
            measured,
            run,
        )?;
        if let Some(shard) = self.config.shard {
            report.partial = Some(Partial {
                shard,
                options: self.config.identity(),
                state: counted.into_state().encode(),
                state_encoding: STATE_ENCODING.to_string(),
            });
        }
        Ok(report)
    }

    /// Sends the tally's sample to each allowed provider, for the priced
    /// models it serves.
    fn count_api(
        &self,
        plan: &PricingPlan,
        tally: &Tally,
        names: &[String],
    ) -> Vec<crate::count_api::CountApiReport> {
        let Some(sample) = &tally.sample else {
            return Vec::new();
        };
        self.config
            .count_api
            .iter()
            .map(|c| {
                let targets: Vec<crate::count_api::Target> = plan
                    .models
                    .iter()
                    .filter(|m| m.estimate && m.provider == c.provider.catalog_provider())
                    .filter_map(|m| {
                        Some(crate::count_api::Target {
                            model: m.id.clone(),
                            column: names.iter().position(|n| *n == m.tokenizer)?,
                        })
                    })
                    .collect();
                let mut report = crate::count_api::measure(c, sample, &targets);
                if targets.is_empty() {
                    report.warnings.push(format!(
                        "--count-api {}: no priced model is counted by it (-m names one)",
                        c.provider.name()
                    ));
                }
                report
            })
            .collect()
    }

    fn tokenizer_names(&self) -> Vec<String> {
        self.config
            .tokenizers
            .iter()
            .map(|t| t.info().name.clone())
            .collect()
    }

    /// The tally, the corpus digest, and each tokenizer's chat-format
    /// figures; every counted document is also fed to `watch`.
    fn tally(
        &self,
        pool: &rayon::ThreadPool,
        rows: &mut dyn RowSink,
        watch: &mut PriceWatch,
    ) -> io::Result<(Tally, DigestPart, Vec<Overheads>, Timing)> {
        let mut digest = DigestBuilder::new(&self.config.paths);
        let progress = self
            .config
            .progress
            .then(|| Arc::new(progress::Progress::new()));
        let mut engine = Engine::new(
            self.config.tokenizers.clone(),
            self.config.parse,
            pool.current_num_threads(),
        )
        .with_chat_format(self.config.chat_format)
        .with_documents(self.config.documents.clone())
        .with_fields(self.config.fields.clone())
        .with_languages(self.config.languages);
        if let Some(p) = &progress {
            let p = Arc::clone(p);
            engine = engine.on_counted(move |bytes| p.bytes(bytes));
        }
        let progress = progress.as_deref();
        let mut tally = Tally::default();
        if let Some(n) = self.config.count_api.iter().map(|c| c.per_stratum).max() {
            tally.sample = Some(crate::tally::DocSample::new(n));
        }
        std::thread::scope(|scope| {
            // Discovery runs on its own thread, a few batches ahead of the
            // counting, so that the walk's syscalls overlap the counting
            // instead of stalling it at every batch boundary. The channel is
            // bounded: memory stays a few batches whatever the corpus size.
            let (found, batches) = mpsc::sync_channel::<Vec<Entry>>(BATCHES_AHEAD);
            scope.spawn(move || {
                let shard = self.config.shard.map(|shard| ShardFilter {
                    shard,
                    roots: Roots::new(&self.config.paths),
                });
                let mut entries = discover::discover(&self.config.paths, &self.config.filters)
                    .filter(|e| shard.as_ref().is_none_or(|s| s.keeps(e.path())));
                let mut size = FIRST_BATCH;
                loop {
                    if self.config.stopped() {
                        return;
                    }
                    let batch: Vec<Entry> = entries.by_ref().take(size).collect();
                    size = (size * 2).min(BATCH);
                    if batch.is_empty() {
                        break;
                    }
                    if let Some(p) = progress {
                        p.found(&batch);
                    }
                    if found.send(batch).is_err() {
                        // The counting stopped (a row could not be written).
                        return;
                    }
                }
                if let Some(p) = progress {
                    p.walked();
                }
            });
            let engine = &engine;
            let count = |batch: Vec<Entry>| -> Vec<Outcome> {
                batch
                    .into_par_iter()
                    .with_max_len(FILES_PER_JOB)
                    .map(|entry| {
                        let outcome = match entry {
                            // Stopped: not counted; the run ends with
                            // Interrupted, and none of this is reported.
                            Entry::Read(source) if self.config.stopped() => {
                                Outcome::Skipped(Skipped {
                                    bytes: source.bytes_for_report(),
                                    path: source.path,
                                    category: source.category,
                                    reason: crate::skip::SkipReason::Unreadable(
                                        "interrupted".into(),
                                    ),
                                })
                            }
                            Entry::Read(source) => count_or_skip(engine, source),
                            Entry::Skip(skipped) => Outcome::Skipped(skipped),
                        };
                        if let Some(p) = progress {
                            p.file_done();
                        }
                        outcome
                    })
                    .collect()
            };
            // Rows, digest, tally and watch are written here, in path order.
            schedule::in_order(pool, batches.into_iter(), count, |outcomes| {
                if self.config.stopped() {
                    // The run ends with Interrupted: what was counted of
                    // these (or skipped unread) goes nowhere.
                    return Ok(());
                }
                for outcome in outcomes {
                    match outcome {
                        Outcome::Counted(f) => {
                            rows.counted(&f)?;
                            digest.counted(&f.path, f.bytes, f.sha256.as_ref());
                            watch.add_document(&f.path, &f.tokens);
                            tally.add_file(&f);
                            let folder = discover::top_folder(digest.relative(&f.path));
                            tally.add_to_folder(&folder, &f);
                        }
                        Outcome::Skipped(s) => {
                            rows.skipped(&s)?;
                            // This run's own reports are not the corpus:
                            // their names and sizes change from run to run.
                            if s.reason != SkipReason::OwnOutput {
                                digest.skipped(&s.path, s.bytes);
                            }
                            tally.add_skipped(s);
                        }
                    }
                }
                Ok(())
            })
        })?;
        if let Some(p) = progress {
            p.finish();
        }
        Ok((tally, digest.part(), engine.chat_formats(), engine.timing()))
    }
}

/// What the counting stage produced, before it is described and priced:
/// the same for one run over a corpus and for its shards merged.
pub(crate) struct Counted {
    pub tally: Tally,
    pub watch: PriceWatch,
    pub digest: DigestPart,
    pub chat_formats: Vec<Overheads>,
}

/// What a report says of how the corpus was counted: the tokenizers, the
/// roots, the parser.
pub(crate) struct Described {
    pub tokenizers: Vec<TokenizerInfo>,
    pub roots: Vec<String>,
    pub parse: String,
}

impl Counted {
    /// The report: the one place counts become a report, for a run and a
    /// merge alike, so the two agree byte for byte.
    fn report(
        &self,
        described: Described,
        plan: Option<&PricingPlan>,
        measured: Vec<crate::count_api::CountApiReport>,
        run: Run,
    ) -> Result<Report, AuditError> {
        let names: Vec<String> = described
            .tokenizers
            .iter()
            .map(|t| t.name.clone())
            .collect();
        let priced = match plan {
            Some(plan) => {
                let mut priced = plan.price_with(&self.tally, &self.watch, &names, &measured)?;
                priced.count_api = measured;
                priced
            }
            None => Priced::default(),
        };
        let mut report = Report::new(
            &self.tally,
            described.tokenizers,
            described.roots,
            described.parse,
            plan.map(PricingPlan::provenance),
            priced,
            run,
        )
        .with_transcripts(&self.tally, &self.chat_formats);
        report.provenance.corpus_digest = Some(self.digest.finish());
        Ok(report)
    }

    fn into_state(self) -> State {
        State {
            version: STATE_VERSION,
            tally: self.tally,
            watch: self.watch,
            digest: self.digest,
            chat_formats: self.chat_formats,
        }
    }

    fn from_state(state: State) -> Counted {
        Counted {
            tally: state.tally,
            watch: state.watch,
            digest: state.digest,
            chat_formats: state.chat_formats,
        }
    }
}

/// Counts one file; a tokenizer that panics on its text makes it a skipped
/// file with the panic's message, so that one bad input neither ends the run
/// nor vanishes from the totals.
fn count_or_skip(engine: &Engine, source: discover::Source) -> Outcome {
    match std::panic::catch_unwind(AssertUnwindSafe(|| engine.count_source(&source))) {
        Ok(outcome) => outcome,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic without a message".to_string());
            Outcome::Skipped(Skipped {
                bytes: source.bytes_for_report(),
                path: source.path,
                category: source.category,
                reason: crate::skip::SkipReason::CountFailed(message),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::skip::SkipReason;
    use crate::tally::FileTally;
    use crate::tokenize::{Counter, Tokenizer, TokenizerInfo};

    /// A tokenizer whose count of a text is `count(text)`: tests give it
    /// the behaviour they need (failing, slow) on chosen texts.
    struct Scripted(TokenizerInfo, fn(&str) -> u64);
    struct ScriptedCounter(fn(&str) -> u64);

    impl Counter for ScriptedCounter {
        fn count(&mut self, text: &str) -> u64 {
            (self.0)(text)
        }
    }

    impl Tokenizer for Scripted {
        fn info(&self) -> &TokenizerInfo {
            &self.0
        }
        fn counter(&self) -> Box<dyn Counter> {
            Box::new(ScriptedCounter(self.1))
        }
        fn encode(&self, _: &str) -> Vec<u32> {
            Vec::new()
        }
    }

    /// A 2-thread audit of `dir` with a tokenizer that counts `count(text)`.
    fn audit_with(dir: &std::path::Path, count: fn(&str) -> u64) -> Audit {
        let info = TokenizerInfo {
            name: "scripted".into(),
            family: "test".into(),
            source: "test".into(),
            sha256: String::new(),
            vocab_size: 0,
        };
        Audit::new(AuditConfig {
            parse: Parse::Text,
            threads: 2,
            ..AuditConfig::new(
                vec![dir.to_path_buf()],
                vec![Arc::new(Scripted(info, count))],
            )
        })
    }

    #[test]
    fn a_tokenizer_that_fails_on_one_file_skips_that_file_and_counts_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [("a.txt", "fine"), ("b.txt", "boom"), ("c.txt", "also fine")] {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let audit = audit_with(dir.path(), |text| {
            assert!(!text.contains("boom"), "cannot count this");
            text.len() as u64
        });
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let (tally, _, _, _) = audit
            .tally(&pool, &mut NoRows, &mut PriceWatch::default())
            .unwrap();
        assert_eq!(tally.counted.files, 2);
        assert_eq!(tally.counted.tokens, vec![13]);
        assert_eq!(tally.skipped.len(), 1);
        let skipped = &tally.skipped[0];
        assert!(skipped.path.ends_with("b.txt"));
        assert_eq!(skipped.bytes, 4);
        assert_eq!(
            skipped.reason,
            SkipReason::CountFailed("cannot count this".into())
        );
    }

    /// Records the paths of the rows it is given, in the order given.
    struct Paths(Vec<PathBuf>);

    impl RowSink for Paths {
        fn counted(&mut self, file: &FileTally) -> io::Result<()> {
            self.0.push(file.path.clone());
            Ok(())
        }
        fn skipped(&mut self, file: &Skipped) -> io::Result<()> {
            self.0.push(file.path.clone());
            Ok(())
        }
    }

    #[test]
    fn rows_stay_in_path_order_when_a_slow_file_holds_back_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("000.txt"), "slow").unwrap();
        // Batches of 64, 128, 256, 512, ...: this is five of them.
        let files = 1 + 1000;
        for i in 1..files {
            std::fs::write(dir.path().join(format!("{i:03}.txt")), "x").unwrap();
        }
        // The first file takes a while, so the batches after its own
        // finish before it: their rows must wait.
        let audit = audit_with(dir.path(), |text| {
            if text.contains("slow") {
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
            text.len() as u64
        });
        let mut rows = Paths(Vec::new());
        let report = audit.run_with_rows(&mut rows).unwrap();
        assert_eq!(rows.0.len(), files);
        let mut sorted = rows.0.clone();
        sorted.sort();
        assert_eq!(rows.0, sorted);
        assert_eq!(report.totals.files_counted, files as u64);
    }

    static TRUNCATE: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);

    /// The first large piece it is given truncates the file named in
    /// `TRUNCATE` to nothing, then reads every byte of the piece: pages past
    /// the new end of a mapped file raise SIGBUS there.
    fn truncating(text: &str) -> u64 {
        if text.len() > 100_000 {
            if let Some(path) = TRUNCATE.lock().unwrap().take() {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .unwrap()
                    .set_len(0)
                    .unwrap();
            }
        }
        text.bytes().map(|b| b as u64).sum::<u64>() % 3 + text.len() as u64
    }

    #[test]
    fn a_file_truncated_while_it_is_counted_is_skipped_as_changed_and_the_run_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.txt");
        // Mapped (over load::MMAP_THRESHOLD) and counted in several pieces.
        std::fs::write(&big, "one two three four five six seven\n".repeat(120_000)).unwrap();
        assert!(std::fs::metadata(&big).unwrap().len() > 4 * crate::load::MMAP_THRESHOLD);
        std::fs::write(dir.path().join("small.txt"), "small").unwrap();
        *TRUNCATE.lock().unwrap() = Some(big.clone());
        let mut audit = audit_with(dir.path(), truncating);
        audit.config.threads = 1;
        let report = audit.run().unwrap();
        assert!(
            TRUNCATE.lock().unwrap().is_none(),
            "the big file was never counted"
        );
        assert_eq!(report.totals.files_counted, 1);
        assert_eq!(report.totals.files_skipped, 1);
        let skipped = &report.skipped[0];
        assert!(skipped.path.ends_with("big.txt"), "{skipped:?}");
        assert_eq!(skipped.reason_key, "changed-during-audit");
    }
}
