/*!
Token-counting throughput of tokenaudit against the reference implementations.

Reads one file into memory (by default `bench-corpus/all.txt`, made by
`scripts/fetch-bench-corpus`), cuts it into documents of a few KB at line
ends, and counts every document with each implementation: first on one
thread, then on several (rayon over documents, one counter per thread). It
prints MB/s, the total tokens (which must agree between implementations of the
same encoding: a disagreement is printed as MISMATCH and makes the exit code 1)
and the ratio to tiktoken-rs and to bpe-openai.

Start-up (building the encoder and counting a first word) is measured in a
fresh child process for each implementation, because in one process the
encoders share lazily built statics (tokenaudit's built-ins currently sit on
tiktoken-rs's singletons) and whichever ran first would pay for the others.

This is a measuring tool, not a test: it does not decide what is exact (the
tests do), it only reports when totals disagree.

    cargo build --release --example bench_compare
    target/release/examples/bench_compare [FILE] [--max-mb N] [--slow-max-mb N]
        [--doc-kb N] [--repeat N] [--threads LIST] [--encodings LIST] [--only LIST]

The `tokenizers` crate (and tokenaudit's own count of the same tokenizer.json)
runs about ten times slower than the rest, so it counts only the documents in
the first `--slow-max-mb` (default 10) MB.
*/

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use tokenaudit::tokenize::reference::reference;
use tokenaudit::tokenize::sources::registry::{self, Family};
use tokenaudit::tokenize::TokenizerDir;

/// A counter owned by one thread.
type CountFn = Box<dyn FnMut(&str) -> u64 + Send>;

/// One implementation of one encoding, able to make per-thread counters.
struct Contender {
    implementation: &'static str,
    encoding: String,
    /// Measured on the first `--slow-max-mb` of the corpus only.
    slow: bool,
    /// Only worth measuring on more than one thread.
    threaded_only: bool,
    make: Box<dyn Fn() -> Result<CountFn> + Sync>,
}

struct Options {
    file: PathBuf,
    max_mb: f64,
    slow_max_mb: f64,
    doc_kb: usize,
    /// Runs of each measurement; the fastest is reported.
    repeat: usize,
    threads: Vec<usize>,
    encodings: Vec<String>,
    only: Option<Vec<String>>,
    startup_probe: Option<(String, String)>,
}

const USAGE: &str =
    "usage: bench_compare [FILE] [--max-mb N] [--slow-max-mb N] [--doc-kb N] [--repeat N] [--threads 1,2] \
[--encodings cl100k_base,o200k_base; any named tokenizer, e.g. llama3,deepseek-v3] [--only tiktoken-rs,tiktoken-rs-shared,bpe-openai,tokenaudit,tokenizers]";

fn parse_options() -> Result<Options> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut options = Options {
        file: PathBuf::from("bench-corpus/all.txt"),
        max_mb: 100.0,
        slow_max_mb: 10.0,
        doc_kb: 4,
        repeat: 1,
        threads: if cores > 1 { vec![1, cores] } else { vec![1] },
        encodings: vec!["cl100k_base".into(), "o200k_base".into()],
        only: None,
        startup_probe: None,
    };
    let list = |s: String| s.split(',').map(str::to_string).collect::<Vec<_>>();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .with_context(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--max-mb" => options.max_mb = value()?.parse().context("--max-mb: a number")?,
            "--slow-max-mb" => {
                options.slow_max_mb = value()?.parse().context("--slow-max-mb: a number")?
            }
            "--doc-kb" => options.doc_kb = value()?.parse().context("--doc-kb: an integer")?,
            "--repeat" => options.repeat = value()?.parse().context("--repeat: an integer")?,
            "--threads" => {
                options.threads = list(value()?)
                    .iter()
                    .map(|t| t.parse().context("--threads: integers"))
                    .collect::<Result<_>>()?
            }
            "--encodings" => options.encodings = list(value()?),
            "--only" => options.only = Some(list(value()?)),
            // Internal: run by the parent to time one start-up in a fresh process.
            "--startup-probe" => {
                let implementation = value()?;
                options.startup_probe = Some((implementation, value()?));
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            flag if flag.starts_with('-') => bail!("unknown option {flag}\n{USAGE}"),
            file => options.file = PathBuf::from(file),
        }
    }
    if options.doc_kb == 0 || options.repeat == 0 || options.threads.contains(&0) {
        bail!("--doc-kb, --repeat and --threads must be positive");
    }
    Ok(options)
}

/// Whether a tokenizer counts through the `tokenizers` crate, which is an
/// order of magnitude slower and so is measured on the `--slow-max-mb` slice.
fn is_slow(encoding: &str) -> bool {
    registry::named(encoding).is_some_and(|n| n.family == Family::Huggingface)
}

/// The reference implementation of a named tokenizer, under the name of the
/// crate it is: tiktoken-rs `CoreBPE` with the file's ranks and pattern for
/// rank files, the `tokenizers` crate for tokenizer.json files.
fn reference_contender(encoding: &str) -> Option<Contender> {
    let named = registry::named(encoding)?;
    let dir = TokenizerDir::locate(None);
    if named.family != Family::Builtin && !dir.file(named).is_file() {
        return None;
    }
    let name = encoding.to_string();
    Some(Contender {
        implementation: if named.family == Family::Huggingface {
            "tokenizers"
        } else {
            "tiktoken-rs"
        },
        encoding: name.clone(),
        slow: is_slow(encoding),
        threaded_only: false,
        make: Box::new(move || {
            let mut count = reference(&name, &TokenizerDir::locate(None))
                .ok_or_else(|| anyhow::anyhow!("no reference for {name}"))?;
            Ok(Box::new(move |text: &str| count(text)) as CountFn)
        }),
    })
}

fn contenders(options: &Options, notes: &mut Vec<String>) -> Vec<Contender> {
    let mut all = Vec::new();
    for encoding in &options.encodings {
        let name = encoding.clone();
        match encoding.as_str() {
            "cl100k_base" | "o200k_base" => {
                let o200k = encoding == "o200k_base";
                // One CoreBPE per thread, as ARCHITECTURE.md's performance model
                // asks: the reference at its best.
                all.push(Contender {
                    implementation: "tiktoken-rs",
                    encoding: name.clone(),
                    slow: false,
                    threaded_only: false,
                    make: Box::new(move || {
                        let bpe = if o200k {
                            tiktoken_rs::o200k_base()
                        } else {
                            tiktoken_rs::cl100k_base()
                        }?;
                        Ok(
                            Box::new(move |text: &str| bpe.encode_ordinary(text).len() as u64)
                                as CountFn,
                        )
                    }),
                });
                // The process-wide singleton shared by every thread. It keeps
                // a clone of its split regex per thread, yet was measured to
                // scale worse than one instance per thread; kept to show the
                // cost of sharing.
                all.push(Contender {
                    implementation: "tiktoken-rs-shared",
                    encoding: name.clone(),
                    slow: false,
                    threaded_only: true,
                    make: Box::new(move || {
                        let bpe = if o200k {
                            tiktoken_rs::o200k_base_singleton()
                        } else {
                            tiktoken_rs::cl100k_base_singleton()
                        };
                        Ok(
                            Box::new(move |text: &str| bpe.encode_ordinary(text).len() as u64)
                                as CountFn,
                        )
                    }),
                });
                // bpe-openai only offers a static instance (its regex keeps a
                // pool of per-thread caches).
                all.push(Contender {
                    implementation: "bpe-openai",
                    encoding: name.clone(),
                    slow: false,
                    threaded_only: false,
                    make: Box::new(move || {
                        let bpe = if o200k {
                            bpe_openai::o200k_base()
                        } else {
                            bpe_openai::cl100k_base()
                        };
                        Ok(Box::new(move |text: &str| bpe.count(text) as u64) as CountFn)
                    }),
                });
            }
            other => match reference_contender(other) {
                Some(c) => all.push(c),
                None => notes.push(format!(
                    "no reference for {other}: not a named tokenizer, or its file is not in the \
                     tokenizer directory (scripts/fetch-tokenizers {other})"
                )),
            },
        }
        all.push(tokenaudit_contender(name));
    }
    if let Some(only) = &options.only {
        all.retain(|c| only.iter().any(|o| o == c.implementation));
    }
    all
}

fn tokenaudit_contender(encoding: String) -> Contender {
    let name = encoding.clone();
    Contender {
        implementation: "tokenaudit",
        // Compared with the tokenizers crate, so on the same slice.
        slow: is_slow(&encoding),
        threaded_only: false,
        encoding,
        make: Box::new(move || {
            let dir = TokenizerDir::locate(None);
            let mut counter = tokenaudit::tokenize::resolve(&name, &dir, None)?.counter();
            Ok(Box::new(move |text: &str| counter.count(text)) as CountFn)
        }),
    }
}

/// Cuts `text` into documents of at least `size` bytes, ending at a line end
/// (or at the end of the text).
fn documents(text: &str, size: usize) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut docs = Vec::with_capacity(text.len() / size + 1);
    let mut start = 0;
    while start < bytes.len() {
        let from = (start + size).min(bytes.len());
        let end = match bytes[from..].iter().position(|&b| b == b'\n') {
            Some(i) => from + i + 1,
            None => bytes.len(),
        };
        docs.push(&text[start..end]);
        start = end;
    }
    docs
}

/// Reads at most `max_mb` MB of `path`, cut at a line end.
fn read_corpus(path: &PathBuf, max_mb: f64) -> Result<String> {
    let mut bytes = std::fs::read(path).with_context(|| {
        format!(
            "{}: cannot read the corpus (run scripts/fetch-bench-corpus first)",
            path.display()
        )
    })?;
    let limit = (max_mb * 1e6) as usize;
    if bytes.len() > limit {
        let cut = bytes[..limit]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(limit, |i| i + 1);
        bytes.truncate(cut);
    }
    String::from_utf8(bytes).with_context(|| format!("{}: not UTF-8", path.display()))
}

struct Measurement {
    implementation: &'static str,
    encoding: String,
    threads: usize,
    /// Bytes counted (the whole text, or the slow slice).
    bytes: usize,
    seconds: f64,
    /// CPU time of the whole process (user + system) during the count.
    cpu_seconds: Option<f64>,
    tokens: u64,
}

/// User + system CPU time of this process so far, from /proc (Linux only).
/// Ticks are taken as 1/100 s, the USER_HZ of every mainstream Linux build.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split(' ').take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Counts every document once on `threads` threads, one counter per thread
/// (made before the clock starts).
fn measure(
    contender: &Contender,
    docs: &[&str],
    threads: usize,
) -> Result<(f64, Option<f64>, u64)> {
    if threads == 1 {
        let mut count = (contender.make)()?;
        let cpu = process_cpu_seconds();
        let start = Instant::now();
        let tokens: u64 = docs.iter().map(|d| count(d)).sum();
        let seconds = start.elapsed().as_secs_f64();
        let cpu = cpu.zip(process_cpu_seconds()).map(|(a, b)| b - a);
        return Ok((seconds, cpu, tokens));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let counters: Vec<Mutex<CountFn>> = (0..threads)
        .map(|_| (contender.make)().map(Mutex::new))
        .collect::<Result<_>>()?;
    let cpu = process_cpu_seconds();
    let start = Instant::now();
    // Each worker only ever locks its own slot: the mutex is never contended
    // and only makes the per-thread ownership visible to the compiler.
    let tokens: u64 = pool.install(|| {
        docs.par_iter()
            .map(|d| {
                let slot = rayon::current_thread_index().expect("inside the pool");
                (counters[slot].lock().expect("counter poisoned"))(d)
            })
            .sum()
    });
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu.zip(process_cpu_seconds()).map(|(a, b)| b - a);
    Ok((seconds, cpu, tokens))
}

/// Milliseconds from a fresh process's start to the first count, or `None`
/// if the probe failed.
fn startup_ms(contender: &Contender) -> Option<f64> {
    let exe = std::env::current_exe().ok()?;
    let output = Command::new(exe)
        .args([
            "--startup-probe",
            contender.implementation,
            contender.encoding.as_str(),
        ])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8(output.stdout).ok()?.trim().parse().ok()
}

/// The child side of [`startup_ms`]: builds one counter, counts one line,
/// prints the milliseconds that took.
fn run_startup_probe(options: &Options, implementation: &str, encoding: &str) -> Result<()> {
    let start = Instant::now();
    let probe_options = Options {
        encodings: vec![encoding.to_string()],
        only: Some(vec![implementation.to_string()]),
        startup_probe: None,
        file: PathBuf::new(),
        threads: vec![1],
        ..*options
    };
    let contender = contenders(&probe_options, &mut Vec::new())
        .into_iter()
        .find(|c| c.encoding == encoding)
        .context("no such contender")?;
    let mut count = (contender.make)()?;
    count("Hello, world!\n");
    println!("{:.1}", start.elapsed().as_secs_f64() * 1e3);
    Ok(())
}

fn ratio(value: f64, base: Option<f64>) -> String {
    base.map_or("-".into(), |b| format!("{:.2}x", value / b))
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("bench_compare: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool> {
    let options = parse_options()?;
    if let Some((implementation, encoding)) = &options.startup_probe {
        run_startup_probe(&options, implementation, encoding)?;
        return Ok(true);
    }
    let mut notes = Vec::new();
    let contenders = contenders(&options, &mut notes);

    let read_start = Instant::now();
    let text = read_corpus(&options.file, options.max_mb)?;
    let read_seconds = read_start.elapsed().as_secs_f64();
    let docs = documents(&text, options.doc_kb * 1024);
    // The slow implementations count the documents that fit in the first
    // --slow-max-mb.
    let slow_limit = (options.slow_max_mb * 1e6) as usize;
    let mut slow_len = 0;
    let mut slow_bytes = 0;
    while slow_len < docs.len() && slow_bytes + docs[slow_len].len() <= slow_limit {
        slow_bytes += docs[slow_len].len();
        slow_len += 1;
    }
    println!(
        "corpus: {} ({:.1} MB read in {:.2} s), {} documents of about {} KB cut at line ends",
        options.file.display(),
        text.len() as f64 / 1e6,
        read_seconds,
        docs.len(),
        options.doc_kb
    );
    println!(
        "machine: {} cores available; load average before: {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_average()
    );
    for note in &notes {
        println!("note: {note}");
    }

    let startups: Vec<Option<f64>> = contenders.iter().map(startup_ms).collect();

    let mut results: Vec<Measurement> = Vec::new();
    for &threads in &options.threads {
        for c in &contenders {
            if c.threaded_only && threads == 1 {
                continue;
            }
            let (docs, bytes) = if c.slow {
                (&docs[..slow_len], slow_bytes)
            } else {
                (&docs[..], text.len())
            };
            // Best of --repeat runs: on a shared machine the fastest run is
            // the one least disturbed by other processes.
            let mut best: Result<(f64, Option<f64>, u64)> = measure(c, docs, threads);
            for _ in 1..options.repeat {
                if let (Ok(b), Ok(next)) = (&best, measure(c, docs, threads)) {
                    if next.2 != b.2 {
                        bail!(
                            "{} {}: totals differ between runs",
                            c.implementation,
                            c.encoding
                        );
                    }
                    if next.0 < b.0 {
                        best = Ok(next);
                    }
                }
            }
            match best {
                Ok((seconds, cpu_seconds, tokens)) => {
                    eprintln!(
                        "  {:<12} {:<12} {} thread(s): {:7.1} MB/s",
                        c.implementation,
                        c.encoding,
                        threads,
                        bytes as f64 / 1e6 / seconds
                    );
                    results.push(Measurement {
                        implementation: c.implementation,
                        encoding: c.encoding.clone(),
                        threads,
                        bytes,
                        seconds,
                        cpu_seconds,
                        tokens,
                    })
                }
                Err(e) => {
                    let note = format!("{} {} skipped: {e:#}", c.implementation, c.encoding);
                    if !notes.contains(&note) {
                        notes.push(note);
                    }
                }
            }
        }
    }

    let speed = |implementation: &str, encoding: &str, threads: usize| {
        results
            .iter()
            .find(|r| {
                r.implementation == implementation && r.encoding == encoding && r.threads == threads
            })
            .map(|r| r.bytes as f64 / 1e6 / r.seconds)
    };
    println!("load average after: {}", load_average());
    println!();
    println!(
        "| implementation | encoding | threads | MB | MB/s | MB per CPU-s | tokens | vs tiktoken-rs | vs bpe-openai | start-up ms |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &results {
        let mb = r.bytes as f64 / 1e6;
        let mbs = mb / r.seconds;
        let index = contenders
            .iter()
            .position(|c| c.implementation == r.implementation && c.encoding == r.encoding);
        let startup = index
            .and_then(|i| startups[i])
            .map_or("-".into(), |ms| format!("{ms:.0}"));
        let per_cpu = r
            .cpu_seconds
            .filter(|&c| c > 0.0)
            .map_or("-".into(), |c| format!("{:.1}", mb / c));
        println!(
            "| {} | {} | {} | {:.1} | {:.1} | {} | {} | {} | {} | {} |",
            r.implementation,
            r.encoding,
            r.threads,
            mb,
            mbs,
            per_cpu,
            r.tokens,
            ratio(mbs, speed("tiktoken-rs", &r.encoding, r.threads)),
            ratio(mbs, speed("bpe-openai", &r.encoding, r.threads)),
            startup
        );
    }
    println!();

    let mut agree = true;
    let mut encodings: Vec<&str> = results.iter().map(|r| r.encoding.as_str()).collect();
    encodings.sort_unstable();
    encodings.dedup();
    for encoding in encodings {
        let of: Vec<&Measurement> = results.iter().filter(|r| r.encoding == encoding).collect();
        if of.iter().all(|r| r.tokens == of[0].tokens) {
            println!(
                "totals agree for {encoding}: {} tokens in {:.1} MB ({} runs)",
                of[0].tokens,
                of[0].bytes as f64 / 1e6,
                of.len()
            );
        } else {
            agree = false;
            println!("MISMATCH for {encoding}:");
            for r in of {
                println!(
                    "  {} ({} threads): {} tokens",
                    r.implementation, r.threads, r.tokens
                );
            }
        }
    }
    for note in &notes {
        if note.contains("skipped:") {
            println!("note: {note}");
        }
    }
    Ok(agree)
}
