//! Fuzz targets: every decoder and parser tokenaudit has, fed mutated
//! inputs for a set time, each input's panic caught and its bytes kept.
//!
//! The machines this project runs on have only the stable Rust toolchain,
//! so cargo-fuzz (nightly sanitizers) is out. This is a mutation fuzzer
//! without coverage feedback: it starts from real seeds (the fixtures, the
//! shipped price and calibration tables, a real shard report) and mutates
//! them structurally (bit flips, JSON/TOML/CSV punctuation, deleted,
//! repeated and spliced ranges, truncation, random bytes), which reaches
//! the error paths of text formats quickly. BENCHMARKS.md records how long
//! each target ran and what it found.
//!
//! `cargo test` runs every target for 1 second (a smoke test in CI);
//! `scripts/fuzz SECONDS [TARGET...]` runs them for longer (release build).
//! A panic or an input that takes over 30 s fails the run and leaves the
//! input in `target/fuzz/crashes/`, to become a regression test.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokenaudit::audit::merge::ShardReport;
use tokenaudit::count::Engine;
use tokenaudit::discover::Source;
use tokenaudit::extract::fields::{FieldPath, FieldSpec};
use tokenaudit::extract::Parse;
use tokenaudit::pricing::{Catalog, Scenario};
use tokenaudit::report::partial::State;

/// What a target does with one input.
type Run = Box<dyn Fn(&[u8]) + Sync>;

/// A target: its name and what it does with one input.
struct Target {
    name: &'static str,
    seeds: Vec<Vec<u8>>,
    run: Run,
}

/// xorshift64*: fast, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: &[&[u8]] = &[
    b"\0",
    b"\xff",
    b"\xfe\xff",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\x80",
    b"\xc3",
    b"\xe4\xbd",
    b"\"",
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\n",
    b"\r\n",
    b"=",
    b"#",
    b"'''",
    b"\"\"\"",
    b"null",
    b"true",
    b"1e999",
    b"-0",
    b"18446744073709551616",
    b"\"content\"",
    b"\"role\"",
    b"\"messages\"",
    b"\"tool_calls\"",
    b"[[",
    b"\t",
    b"\xf0\x9f\x98\x80",
    b"\xd8\x00",
    b"<",
    b">",
    b"<script>",
    b"%PDF",
    b"PK\x03\x04",
];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    if rng.below(16) == 0 {
        let n = rng.below(256);
        return (0..n).map(|_| rng.next() as u8).collect();
    }
    let mut data = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(4) {
        let len = data.len();
        match rng.below(7) {
            0 if len > 0 => {
                let at = rng.below(len);
                data[at] ^= 1 << rng.below(8);
            }
            1 => {
                let at = rng.below(len + 1);
                let what = INTERESTING[rng.below(INTERESTING.len())];
                data.splice(at..at, what.iter().copied());
            }
            2 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below(16.min(len - at));
                data.drain(at..at + n);
            }
            3 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below(64.min(len - at));
                let piece: Vec<u8> = data[at..at + n].to_vec();
                let to = rng.below(len + 1);
                data.splice(to..to, piece);
            }
            4 => {
                let other = &seeds[rng.below(seeds.len())];
                if !other.is_empty() {
                    let at = rng.below(other.len());
                    let n = 1 + rng.below(256.min(other.len() - at));
                    let to = rng.below(len + 1);
                    data.splice(to..to, other[at..at + n].iter().copied());
                }
            }
            5 => data.truncate(rng.below(len + 1)),
            _ => {
                let at = rng.below(len + 1);
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                data.splice(at..at, bytes);
            }
        }
    }
    data
}

fn read_seeds(paths: &[PathBuf]) -> Vec<Vec<u8>> {
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// Files under `dir` whose names end with one of `endings`.
fn files(dir: &str, endings: &[&str]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| endings.iter().any(|x| p.to_string_lossy().ends_with(x)))
        .collect();
    out.sort();
    out
}

/// A target that writes the input to a file named `name` in a scratch
/// folder and counts it as an audit would (load, decode, extract, count).
fn file_target(
    target: &'static str,
    name: &'static str,
    engine: Engine,
    seeds: Vec<Vec<u8>>,
    scratch: &Path,
) -> Target {
    let path = scratch.join(name);
    Target {
        name: target,
        seeds,
        run: Box::new(move |input| {
            std::fs::write(&path, input).unwrap();
            let source = Source {
                path: path.clone(),
                len: None,
                category: ".".into(),
            };
            let _ = engine.count_source(&source);
        }),
    }
}

fn engine(parse: Parse, fields: FieldSpec) -> Engine {
    let o200k = tokenaudit::tokenize::sources::builtin::resolve("o200k_base").expect("built in");
    Engine::new(vec![o200k], parse, 1).with_fields(fields)
}

fn targets(scratch: &Path) -> Vec<Target> {
    let text_seeds = {
        let mut s = read_seeds(&files("fixtures/corpus", &[".txt", ".md", ".py", ".rs"]));
        // UTF-16 with a BOM and a legacy encoding: the decoder's other paths.
        let mut utf16 = vec![0xff, 0xfe];
        utf16.extend("Grüße, 世界\n".encode_utf16().flat_map(|u| u.to_le_bytes()));
        s.push(utf16);
        s.push(b"caf\xe9 cr\xe8me br\xfbl\xe9e, na\xefve fa\xe7ade\n".to_vec());
        s
    };
    let chat_seeds = read_seeds(&files("fixtures/corpus", &[".jsonl", ".json"]));
    let csv_seeds = vec![
        b"id,prompt,response\n1,\"Hello, world\",\"Hi \"\"there\"\"\"\n2,second,\"multi\nline\"\n"
            .to_vec(),
        b"prompt\tresponse\none\ttwo\n".to_vec(),
    ];
    let field_seeds = vec![
        b"{\"data\":[{\"text\":\"one\"},{\"text\":\"two\"}],\"meta\":{\"title\":\"t\"}}\n{\"data\":[]}\n"
            .to_vec(),
    ];
    let html_seeds = {
        let mut s = read_seeds(&files("document-corpus", &[".html"]));
        s.truncate(5);
        s.push(b"<html><head><style>p{}</style><script>x()</script></head><body><p>Hello <b>world</b></p></body></html>".to_vec());
        s
    };
    let docx_seeds = {
        let mut s = read_seeds(&files("document-corpus", &[".docx"]));
        s.sort_by_key(Vec::len);
        s.truncate(3);
        s
    };
    let pdf_seeds = {
        let mut s = read_seeds(&files("document-corpus", &[".pdf"]));
        s.sort_by_key(Vec::len);
        s.truncate(3);
        s
    };
    let scenario_seeds = read_seeds(&[PathBuf::from("fixtures/scenario.toml")]);
    let price_seeds = read_seeds(&files("data", &[".toml"]));
    let (report_seed, state_seed) = shard_report();
    let fields = |columns: &[&str], paths: &[&str]| FieldSpec {
        columns: columns.iter().map(|c| c.to_string()).collect(),
        role_column: None,
        paths: paths.iter().map(|p| FieldPath::parse(p).unwrap()).collect(),
    };
    let mut out = vec![
        file_target(
            "decode",
            "f.txt",
            engine(Parse::Text, FieldSpec::default()),
            text_seeds,
            scratch,
        ),
        file_target(
            "chat",
            "f.jsonl",
            engine(Parse::Chat, FieldSpec::default()),
            chat_seeds,
            scratch,
        ),
        file_target(
            "csv",
            "f.csv",
            engine(Parse::Csv, fields(&["prompt", "response"], &[])),
            csv_seeds,
            scratch,
        ),
        file_target(
            "json-fields",
            "g.jsonl",
            engine(Parse::Json, fields(&[], &["data[].text", "meta.title"])),
            field_seeds,
            scratch,
        ),
        file_target(
            "html",
            "f.html",
            engine(Parse::Auto, FieldSpec::default()),
            html_seeds,
            scratch,
        ),
    ];
    // Real documents are the only useful seeds for these two; without
    // them (scripts/fetch-document-corpus, which scripts/test runs) the
    // targets are named as not run, not passed.
    for (name, file, seeds) in [("docx", "f.docx", docx_seeds), ("pdf", "f.pdf", pdf_seeds)] {
        if seeds.is_empty() {
            let why = "no seeds in document-corpus/ (run scripts/fetch-document-corpus)";
            // scripts/test sets it, and fetches the corpus: there, a
            // target that cannot run is a failure.
            if std::env::var_os("TOKENAUDIT_REQUIRE_TOKENIZERS")
                .is_some_and(|v| !v.is_empty() && v != "0")
            {
                panic!("fuzz {name}: {why} (TOKENAUDIT_REQUIRE_TOKENIZERS is set)");
            }
            eprintln!("fuzz {name:<13} NOT RUN: {why}");
        } else {
            let engine = engine(Parse::Auto, FieldSpec::default());
            out.push(file_target(name, file, engine, seeds, scratch));
        }
    }
    out.extend([
        Target {
            name: "scenario",
            seeds: scenario_seeds,
            run: Box::new(|input| {
                let _ = Scenario::from_toml_str("fuzz.toml", &String::from_utf8_lossy(input));
            }),
        },
        Target {
            name: "prices",
            seeds: price_seeds,
            run: Box::new(|input| {
                let text = String::from_utf8_lossy(input);
                let _ = Catalog::embedded().with_overrides_str("fuzz.toml", &text);
                let _ = Catalog::embedded().with_litellm_str("fuzz.json", &text);
            }),
        },
        Target {
            name: "shard-report",
            seeds: vec![report_seed],
            run: Box::new(|input| {
                let _ = ShardReport::parse(Path::new("fuzz.json"), &String::from_utf8_lossy(input));
            }),
        },
        Target {
            name: "shard-state",
            seeds: vec![state_seed],
            run: Box::new(|input| {
                use base64::Engine as _;
                let _ = State::decode(&base64::engine::general_purpose::STANDARD.encode(input));
            }),
        },
    ]);
    out
}

/// A real shard report of the fixtures, and its state's CBOR bytes.
fn shard_report() -> (Vec<u8>, Vec<u8>) {
    use base64::Engine as _;
    let o200k = tokenaudit::tokenize::sources::builtin::resolve("o200k_base").unwrap();
    let mut config = tokenaudit::AuditConfig::new(vec!["fixtures/corpus".into()], vec![o200k]);
    config.shard = Some(tokenaudit::shard::Shard { index: 1, count: 2 });
    let report = tokenaudit::Audit::new(config).run().unwrap();
    let state = base64::engine::general_purpose::STANDARD
        .decode(&report.partial.as_ref().unwrap().state)
        .unwrap();
    (report.to_json().into_bytes(), state)
}

fn main() {
    let mut seconds = 1.0f64;
    let mut only: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--seconds N")
            }
            // cargo test passes its own flags (--quiet, --nocapture, ...).
            a if a.starts_with('-') => {}
            name => only.push(name.to_string()),
        }
    }
    let crashes = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../fuzz/crashes");
    std::fs::create_dir_all(&crashes).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    // Panics are caught and reported here, once, not printed by the hook.
    panic::set_hook(Box::new(|_| {}));
    let all = targets(scratch.path());
    let known: Vec<&str> = all.iter().map(|t| t.name).collect();
    for name in &only {
        assert!(
            known.contains(&name.as_str()),
            "no target `{name}` (targets: {})",
            known.join(", ")
        );
    }
    let mut failed = Vec::new();
    for t in all
        .iter()
        .filter(|t| only.is_empty() || only.iter().any(|o| o == t.name))
    {
        let (runs, found) = fuzz(t, Duration::from_secs_f64(seconds), &crashes);
        eprintln!(
            "fuzz {:<13} {:>9} inputs in {:>6.1} s from {} seeds: {}",
            t.name,
            runs,
            seconds,
            t.seeds.len(),
            if found.is_empty() {
                "no crash".to_string()
            } else {
                format!("{} crashes", found.len())
            }
        );
        failed.extend(found);
    }
    if !failed.is_empty() {
        let _ = panic::take_hook();
        eprintln!("crashing inputs kept:");
        for f in &failed {
            eprintln!("  {}", f.display());
        }
        std::process::exit(1);
    }
}

/// Runs `t` for `time`; returns the inputs run and the crashing ones kept.
fn fuzz(t: &Target, time: Duration, crashes: &Path) -> (u64, Vec<PathBuf>) {
    assert!(!t.seeds.is_empty(), "{}: no seeds", t.name);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ t.name.len() as u64);
    let done = Arc::new(AtomicU64::new(0));
    let current: Arc<Mutex<Vec<u8>>> = Arc::new(Mutex::new(Vec::new()));
    let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // A watchdog: an input that runs 30 s is a hang; keep it and stop.
    let watchdog = {
        let (done, current, finished) = (done.clone(), current.clone(), finished.clone());
        let path = crashes.join(format!("{}-hang.bin", t.name));
        std::thread::spawn(move || {
            let mut last = (u64::MAX, Instant::now());
            while !finished.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                let n = done.load(Ordering::Relaxed);
                if n != last.0 {
                    last = (n, Instant::now());
                } else if last.1.elapsed() > Duration::from_secs(30) {
                    std::fs::write(&path, &*current.lock().unwrap()).unwrap();
                    eprintln!("fuzz: an input ran over 30 s; kept in {}", path.display());
                    std::process::exit(1);
                }
            }
        })
    };
    let start = Instant::now();
    let mut found = Vec::new();
    while start.elapsed() < time {
        let input = mutate(&mut rng, &t.seeds);
        current.lock().unwrap().clone_from(&input);
        if panic::catch_unwind(AssertUnwindSafe(|| (t.run)(&input))).is_err() {
            let path = crashes.join(format!("{}-{}.bin", t.name, done.load(Ordering::Relaxed)));
            std::fs::write(&path, &input).unwrap();
            found.push(path);
        }
        done.fetch_add(1, Ordering::Relaxed);
    }
    finished.store(true, Ordering::Relaxed);
    watchdog.join().unwrap();
    (done.load(Ordering::Relaxed), found)
}
