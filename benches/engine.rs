//! The counting engine, stage by stage, against the references.
//!
//! Text: the file named by `TOKENAUDIT_BENCH_CORPUS` (first 4 MB), or ~2 MB
//! generated here (pseudo-random words of English-like syllables, numbers,
//! punctuation, code-ish lines and some non-Latin text), so the piece cache
//! sees both repeats and first sightings.
//!
//! `cargo bench --bench engine` (add `-- pretok` etc. to pick a group).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tokenaudit::tokenize::sources::builtin::{self, Reference};
use tokenaudit::tokenize::Tokenizer;

fn corpus() -> String {
    if let Ok(path) = std::env::var("TOKENAUDIT_BENCH_CORPUS") {
        let bytes = std::fs::read(&path).expect("TOKENAUDIT_BENCH_CORPUS is readable");
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(4 << 20)]).into_owned();
        return text;
    }
    generated(2 << 20)
}

/// Deterministic text with a Zipf-ish word distribution.
fn generated(len: usize) -> String {
    const SYLLABLES: &[&str] = &[
        "the", "an", "ing", "tion", "er", "re", "con", "pro", "st", "al", "ment", "ly", "ous",
        "ver", "com", "de", "in", "ex", "ble", "ar", "or", "ic", "ist", "un", "dis", "est",
    ];
    const EXTRA: &[&str] = &[
        "Straße",
        "für",
        "été",
        "не",
        "город",
        "中文",
        "日本語",
        "한국어",
        "العربية",
        "🙂",
        "{\"id\": 12, \"ok\": true}",
        "fn main() {",
        "    let x = 42;",
        "}",
        "// comment",
        "it's",
        "we'll",
        "DON'T",
        "1999",
        "3.14159",
        "https://example.com/a/b?c=d",
    ];
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut text = String::with_capacity(len + 64);
    let mut line = 0;
    while text.len() < len {
        let r = next();
        if r % 11 == 0 {
            text.push_str(EXTRA[(r >> 8) as usize % EXTRA.len()]);
        } else {
            // Zipf-ish: short words (common) far more often than long ones.
            let syllables = 1 + (r >> 16).trailing_zeros().min(4) as usize;
            for k in 0..syllables {
                let pick = (next() >> 20) as usize;
                let s = SYLLABLES[(pick % SYLLABLES.len()).min(pick % 7 + k * 3)];
                if k == 0 && r % 9 == 0 {
                    text.push_str(&s[..1].to_uppercase());
                    text.push_str(&s[1..]);
                } else {
                    text.push_str(s);
                }
            }
        }
        line += 1;
        text.push_str(match r % 23 {
            0 => ".\n",
            1 => ", ",
            2 if line % 3 == 0 => "\n\n",
            _ => " ",
        });
    }
    text
}

fn bench(c: &mut Criterion) {
    let text = corpus();
    let names = ["cl100k_base", "o200k_base"];

    let mut g = c.benchmark_group("pretok");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(10);
    for name in names {
        let engine = builtin::engine(name).unwrap();
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                let mut n = 0usize;
                engine
                    .pattern()
                    .for_each_piece(&text, |p: &str| n += p.len());
                black_box(n)
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("count");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(10);
    for name in names {
        let engine = builtin::engine(name).unwrap();
        let mut warm = engine.counter();
        warm.count(&text);
        g.bench_function(BenchmarkId::new("engine_warm_cache", name), |b| {
            b.iter(|| black_box(warm.count(&text)))
        });
        g.bench_function(BenchmarkId::new("engine_cold_counter", name), |b| {
            b.iter(|| black_box(engine.counter().count(&text)))
        });
        let reference = Reference::new(name).unwrap();
        g.bench_function(BenchmarkId::new("tiktoken_rs", name), |b| {
            b.iter(|| black_box(reference.encode(&text).len()))
        });
        let bpe = if name == "cl100k_base" {
            bpe_openai::cl100k_base()
        } else {
            bpe_openai::o200k_base()
        };
        g.bench_function(BenchmarkId::new("bpe_openai", name), |b| {
            b.iter(|| black_box(bpe.count(text.as_str())))
        });
    }
    g.finish();

    // Long pieces bypass the cache: this is the merge itself.
    let mut g = c.benchmark_group("merge_uncached");
    g.sample_size(10);
    for (label, run) in [
        ("a_x100k", "a".repeat(100_000)),
        ("equals_x100k", "=".repeat(100_000)),
        ("emoji_x25k", "🙂".repeat(25_000)),
    ] {
        g.throughput(Throughput::Bytes(run.len() as u64));
        for name in names {
            let engine = builtin::engine(name).unwrap();
            let mut counter = engine.counter();
            g.bench_function(BenchmarkId::new(label, name), |b| {
                b.iter(|| black_box(counter.count(&run)))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
