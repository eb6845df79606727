/*!
What each subcommand does with its decided configuration: run the pipeline
and write the outputs the user asked for.
*/

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::CommandFactory;

use crate::cli::outputs::{self, Output, Outputs};
use crate::cli::{
    self, AuditArgs, CheckArgs, Cli, Command, CompareArgs, MergeArgs, ModelsArgs, ReportOutputs,
};
use tokenaudit::audit::merge::{self, ShardReport};
use tokenaudit::audit::{Audit, AuditConfig};
use tokenaudit::pricing::{self, evaluate_gate, GateInput};
use tokenaudit::report::junit::junit_xml;
use tokenaudit::report::rows::{NoRows, RowSink};
use tokenaudit::report::{compare, csv::CsvRows, focus, markdown, table, write, Report};
use tokenaudit::skip::SkipReason;
use tokenaudit::tokenize;

/// The process exit status of a completed command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 0: done (an audit with skipped files is still done).
    Success,
    /// 1: a gate (budget, context window) failed.
    GateFailed,
}

pub fn run(cli: Cli, command_line: Vec<String>) -> Result<Status> {
    match cli.command {
        Command::Audit(args) => audit(*args, command_line),
        Command::Check(args) => check(*args, command_line),
        Command::Merge(args) => merge(*args, command_line),
        Command::Compare(args) => compare(*args, command_line),
        Command::Models(args) => models(args),
        Command::Tokenizers(args) => {
            let dir = tokenize::TokenizerDir::locate(args.tokenizer_dir.as_deref());
            let listings = tokenize::list(&dir);
            let mut out = std::io::stdout().lock();
            if args.json {
                serde_json::to_writer_pretty(&mut out, &listings)?;
                writeln!(out)?;
            } else {
                out.write_all(tokenize::render_table(&listings).as_bytes())?;
            }
            out.flush()?;
            Ok(Status::Success)
        }
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "tokenaudit", &mut std::io::stdout().lock());
            Ok(Status::Success)
        }
        Command::Calibrate(args) => calibrate(args),
        Command::Man => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            out.flush()?;
            Ok(Status::Success)
        }
    }
}

/// `tokenaudit calibrate`: the file on stdout or `--output`, a summary of
/// the fit and every row left out on stderr.
fn calibrate(args: cli::CalibrateArgs) -> Result<Status> {
    let output = Outputs::default().open("--output", args.output.as_deref())?;
    let catalog = cli::catalog(args.prices.as_deref(), None)?;
    let model = catalog.model(args.model.trim())?;
    let table = pricing::Calibration::embedded();
    let dir = tokenize::TokenizerDir::locate(args.tokenizer_dir.as_deref());
    let tokenizer = tokenize::resolve(&model.tokenizer, &dir, None)?;
    let engine = tokenaudit::count::Engine::new(
        vec![tokenizer],
        tokenaudit::extract::Parse::Text,
        rayon::current_num_threads(),
    );
    let done = tokenaudit::calibrate::calibrate(
        &args.csv,
        model,
        table.family_of(&model.id),
        &engine,
        args.framing,
    )?;
    let mut err = std::io::stderr().lock();
    writeln!(
        err,
        "calibrate: {} rows used, {} left out; {} over {}:",
        done.rows,
        done.skipped.len(),
        model.id,
        model.tokenizer
    )?;
    for f in &done.fitted {
        writeln!(
            err,
            "  {}: {} ({}–{}) from {} files, {} proxy tokens, {} reported",
            f.class, f.multiplier, f.low, f.high, f.documents, f.proxy_tokens, f.api_tokens
        )?;
    }
    for s in &done.skipped {
        writeln!(err, "  left out: {s}")?;
    }
    match output {
        Some(output) => output.write(done.toml.as_bytes())?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(done.toml.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(Status::Success)
}

/// The report files `audit` and `merge` write, opened before anything is
/// counted (see `outputs`).
struct ReportFiles {
    json: Option<Output>,
    markdown: Option<Output>,
    focus: Option<Output>,
    html: Option<Output>,
}

impl ReportFiles {
    fn open(outputs: &mut Outputs, json: Option<&Path>, asked: &ReportOutputs) -> Result<Self> {
        Ok(ReportFiles {
            json: outputs.open("--json", json)?,
            markdown: outputs.open("--markdown", asked.markdown.as_deref())?,
            focus: outputs.open("--focus", asked.focus.as_deref())?,
            html: outputs.open("--html", asked.html.as_deref())?,
        })
    }

    /// Writes each report asked for, whole or not at all, then the
    /// terminal table when nothing else goes to standard output.
    fn write(self, report: &Report, table_to_stdout: bool) -> Result<()> {
        outputs::write_if(self.json, || Ok(report.to_json()))?;
        outputs::write_if(self.markdown, || Ok(markdown::render(report)))?;
        outputs::write_if(self.focus, || {
            focus::render(report).context("cannot render the FOCUS CSV")
        })?;
        outputs::write_if(self.html, || {
            tokenaudit::report::html::render(report).context("cannot render the HTML")
        })?;
        if table_to_stdout {
            let mut out = std::io::stdout().lock();
            out.write_all(table::render(report).as_bytes())?;
            out.flush()?;
        }
        Ok(())
    }
}

fn audit(args: AuditArgs, command_line: Vec<String>) -> Result<Status> {
    let plan = args.pricing.plan()?;
    if args.outputs.focus.is_some() && plan.is_none() {
        bail!("--focus writes costs: give a model to price (-m NAME) or a --scenario");
    }
    let mut outputs = Outputs::default();
    let files = ReportFiles::open(&mut outputs, args.json.as_deref(), &args.outputs)?;
    // The CSV streams as files are counted, under a temporary name until
    // the audit is done (see `report::write`).
    let csv = outputs.open("--csv", args.csv.as_deref())?;
    let count_api = args.pricing.count_api()?;
    let mut config = args.corpus.into_config(plan, command_line)?;
    config.count_api = count_api;
    config.shard = args.shard;
    config.filters.own_outputs = std::mem::take(&mut outputs.own);
    if let Some(shard) = args.shard {
        if !config.count_api.is_empty() {
            bail!("--count-api cannot be used with --shard: each shard would send its own sample; run the count API on the whole corpus");
        }
        if args.json.is_none() {
            eprintln!(
                "tokenaudit: warning: --shard {shard} without --json: `tokenaudit merge` needs each shard's JSON report"
            );
        }
    }
    stop_on_interrupt(&mut config)?;
    let names: Vec<String> = config
        .tokenizers
        .iter()
        .map(|t| t.info().name.clone())
        .collect();
    let audit = Audit::new(config);

    let mut csv_rows = match csv {
        Some(csv) => Some(CsvRows::new(csv.into_staged(), &names)?),
        None => None,
    };
    let report = match csv_rows.as_mut() {
        Some(rows) => audit.run_with_rows(rows as &mut dyn RowSink),
        None => audit.run_with_rows(&mut NoRows),
    }?;
    warn_count_api(&report);
    if let Some(rows) = csv_rows {
        rows.finish()
            .and_then(write::Staged::commit)
            .context("cannot write the CSV")?;
    }
    files.write(&report, !outputs.any_to_stdout())?;
    // This run's own reports, met by its walk, are no fault of the corpus.
    let own = SkipReason::OwnOutput.key();
    let skipped = report
        .skipped
        .iter()
        .filter(|s| s.reason_key != own)
        .count();
    if args.strict && skipped > 0 {
        bail!("{skipped} files were skipped (--strict); the report lists them");
    }
    let malformed = report.transcripts.as_ref().map_or(0, |t| t.malformed.count);
    if args.strict && malformed > 0 {
        bail!("{malformed} chat records were malformed (--strict); the report lists them");
    }
    let malformed = report.fields.as_ref().map_or(0, |f| f.malformed.count);
    if args.strict && malformed > 0 {
        bail!(
            "{malformed} CSV rows or JSON records were malformed (--strict); the report lists them"
        );
    }
    Ok(Status::Success)
}

/// Ctrl-C (SIGINT) and SIGTERM stop the audit: no more files are started,
/// the run returns `Interrupted`, and every output, written under a
/// temporary name until complete, is removed rather than left half-written.
/// A second Ctrl-C ends the process at once.
fn stop_on_interrupt(config: &mut AuditConfig) -> Result<()> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&stop);
    ctrlc::set_handler(move || {
        if flag.swap(true, std::sync::atomic::Ordering::Relaxed) {
            eprintln!("tokenaudit: interrupted again; stopping now");
            std::process::exit(130);
        }
        eprintln!(
            "tokenaudit: interrupted; finishing the files in progress (Ctrl-C again to stop now)"
        );
    })
    .context("cannot install the Ctrl-C handler")?;
    config.stop = Some(stop);
    Ok(())
}

/// `tokenaudit merge`: the shards' reports into one, written as asked.
fn merge(args: MergeArgs, command_line: Vec<String>) -> Result<Status> {
    let plan = args.pricing.plan()?;
    if args.outputs.focus.is_some() && plan.is_none() {
        bail!("--focus writes costs: give the models the shards were priced for (-m NAME) or their --scenario");
    }
    let mut outputs = Outputs::default();
    let files = ReportFiles::open(&mut outputs, args.json.as_deref(), &args.outputs)?;
    let shards = args
        .reports
        .iter()
        .map(|p| ShardReport::read(p))
        .collect::<Result<Vec<_>, _>>()?;
    let report = merge::merge(shards, plan.as_ref(), command_line)?;
    files.write(&report, !outputs.any_to_stdout())?;
    Ok(Status::Success)
}

fn compare(mut args: CompareArgs, command_line: Vec<String>) -> Result<Status> {
    if args.bench == Some(0) {
        bail!("--bench N needs at least one run");
    }
    let mut outputs = Outputs::default();
    let json = outputs.open("--json", args.json.as_deref())?;
    let csv = outputs.open("--csv", args.csv.as_deref())?;
    let markdown = outputs.open("--markdown", args.markdown.as_deref())?;
    let html = outputs.open("--html", args.html.as_deref())?;
    // The baseline is counted whether or not -t names it.
    let baseline = args
        .baseline
        .clone()
        .unwrap_or_else(|| compare::DEFAULT_BASELINE.to_string());
    let dir = tokenize::TokenizerDir::locate(args.corpus.tokenizer_dir.as_deref());
    let mut asked = cli::expand_all(&args.corpus.tokenizers, &dir);
    if asked.is_empty() && args.pricing.price.models.is_empty() {
        bail!("compare needs tokenizers to compare: -t NAME,NAME... or -t all");
    }
    if !asked.contains(&baseline) {
        asked.push(baseline.clone());
    }
    args.corpus.tokenizers = asked;
    let plan = args.pricing.plan()?;
    let runs = args.bench.unwrap_or(1);
    let mut config = args.corpus.into_config(plan, command_line)?;
    config.filters.own_outputs = std::mem::take(&mut outputs.own);
    let audit = Audit::new(config);
    let mut reports = Vec::with_capacity(runs);
    for _ in 0..runs {
        reports.push(audit.run()?);
    }
    let report = reports.last().expect("at least one run");
    let mut comparison = compare::Comparison::new(report, Some(&baseline));
    if args.bench.is_some() {
        comparison.bench = Some(bench(&reports));
    }
    outputs::write_if(json, || Ok(comparison.to_json()))?;
    outputs::write_if(csv, || {
        comparison.render_csv().context("cannot render the CSV")
    })?;
    outputs::write_if(markdown, || Ok(comparison.render_markdown()))?;
    // The audit's page, its comparison relative to the baseline.
    outputs::write_if(html, || {
        tokenaudit::report::html::render_compared(report, &baseline)
            .context("cannot render the HTML")
    })?;
    if !outputs.any_to_stdout() {
        let mut out = std::io::stdout().lock();
        out.write_all(comparison.render_table().as_bytes())?;
        out.flush()?;
    }
    Ok(Status::Success)
}

/// The benchmark figures of repeated runs of one comparison.
fn bench(reports: &[Report]) -> compare::Bench {
    let last = reports.last().expect("at least one run");
    let walls: Vec<f64> = reports.iter().map(|r| r.run.wall_seconds).collect();
    let tokenizers = last
        .run
        .counters
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let samples: Vec<f64> = reports
                .iter()
                .filter_map(|r| r.run.counters.get(i).and_then(|c| c.mb_per_second()))
                .collect();
            compare::BenchRow {
                tokenizer: c.tokenizer.clone(),
                mb_per_second: compare::Spread::of(&samples).unwrap_or(compare::Spread {
                    median: 0.0,
                    min: 0.0,
                    max: 0.0,
                    samples: Vec::new(),
                }),
            }
        })
        .collect();
    compare::Bench {
        runs: reports.len(),
        threads: last.run.threads,
        machine: compare::Machine {
            cpu: cpu_model(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
        },
        tool_version: env!("CARGO_PKG_VERSION"),
        commit: last.provenance.commit,
        corpus_digest: last
            .provenance
            .corpus_digest
            .as_ref()
            .map(|d| d.sha256.clone()),
        peak_rss_bytes: peak_rss_bytes(),
        wall_seconds: compare::Spread::of(&walls).expect("at least one run"),
        tokenizers,
    }
}

/// The CPU's `model name` in /proc/cpuinfo (Linux), if there is one.
fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

/// This process's peak resident set size so far (`getrusage`; Linux
/// reports `ru_maxrss` in KiB).
#[cfg(target_os = "linux")]
fn peak_rss_bytes() -> Option<u64> {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    (rc == 0).then(|| usage.ru_maxrss as u64 * 1024)
}

#[cfg(not(target_os = "linux"))]
fn peak_rss_bytes() -> Option<u64> {
    None
}

fn check(args: CheckArgs, command_line: Vec<String>) -> Result<Status> {
    if args.pricing.price.models.is_empty() && args.pricing.price.scenario.is_none() {
        bail!("check needs a model to price (-m NAME) or a --scenario");
    }
    if args.budget.is_none() && !args.max_context {
        bail!("nothing to check: give --budget USD and/or --max-context");
    }
    let plan = args.pricing.plan()?;
    let count_api = args.pricing.count_api()?;
    let mut outputs = Outputs::default();
    let junit = outputs.open("--junit", args.junit.as_deref())?;
    let json = outputs.open("--json", args.json.as_deref())?;
    let markdown = outputs.open("--markdown", args.markdown.as_deref())?;
    let mut config = args.corpus.into_config(plan, command_line)?;
    config.progress = false;
    config.count_api = count_api;
    config.filters.own_outputs = std::mem::take(&mut outputs.own);
    let report = Audit::new(config).run()?;
    warn_count_api(&report);
    let outcome = evaluate_gate(&GateInput {
        budget_usd: args.budget,
        costs: &report.costs,
        projection: report.projection.as_ref(),
        check_context: args.max_context,
        estimate: args.estimate.into(),
    });
    outputs::write_if(junit, || Ok(junit_xml(&outcome)))?;
    outputs::write_if(json, || Ok(report.to_json()))?;
    outputs::write_if(markdown, || {
        Ok(format!(
            "{}\n\n{}",
            outcome.summary(),
            markdown::render(&report)
        ))
    })?;
    // The summary goes to stderr when stdout carries a report.
    let line = outcome.summary();
    if outputs.any_to_stdout() {
        eprintln!("{line}");
    } else {
        println!("{line}");
        if report.totals.files_skipped > 0 {
            println!(
                "note: {} files skipped (binary, unreadable, ...); --json lists them",
                report.totals.files_skipped
            );
        }
    }
    Ok(if outcome.passed {
        Status::Success
    } else {
        Status::GateFailed
    })
}

/// What went wrong with `--count-api`, on stderr as well as in the report:
/// an estimate that fell back to the table must not pass unnoticed.
fn warn_count_api(report: &Report) {
    for r in &report.count_api {
        for w in &r.warnings {
            eprintln!("tokenaudit: warning: {w}");
        }
    }
}

fn models(args: ModelsArgs) -> Result<Status> {
    let catalog = cli::catalog(args.prices.as_deref(), args.prices_litellm.as_deref())?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &catalog)?;
        writeln!(out)?;
    } else {
        out.write_all(pricing::render_models_table(&catalog).as_bytes())?;
    }
    out.flush()?;
    Ok(Status::Success)
}
