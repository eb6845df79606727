//! Throughput of the pre-tokenizer scanners alone (no counting), one thread:
//! each built-in split pattern over a file, pieces handed to a sink that
//! only sums their lengths and a checksum of their ends.
//!
//! ```text
//! cargo run --release --example scan_speed -- FILE [PATTERN...]
//! ```
//! PATTERN is o200k, cl100k, r50k, llama3, qwen2, qwen35, tekken (default
//! o200k and cl100k). Each figure is the best of `TOKENAUDIT_REPS` (default 5)
//! passes, MB/s by wall clock and by CPU time.

use std::time::Instant;

use tokenaudit::tokenize::pretok::SplitPattern;

#[path = "common/cpu.rs"]
mod cpu;
use cpu::cpu_seconds;

fn pattern(name: &str) -> SplitPattern {
    match name {
        "o200k" => SplitPattern::O200k,
        "cl100k" => SplitPattern::Cl100k,
        "r50k" => SplitPattern::R50k,
        "llama3" => SplitPattern::Llama3,
        "qwen2" => SplitPattern::Qwen2,
        "qwen35" => SplitPattern::Qwen35,
        "tekken" => SplitPattern::Tekken,
        other => panic!("unknown pattern {other}"),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: scan_speed FILE [PATTERN...]");
    let mut names: Vec<String> = args.collect();
    if names.is_empty() {
        names = vec!["o200k".into(), "cl100k".into()];
    }
    let reps: usize = std::env::var("TOKENAUDIT_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let text = std::fs::read_to_string(&path).expect("UTF-8 text");
    let base = text.as_ptr() as usize;
    for name in &names {
        let pattern = pattern(name);
        let (mut wall, mut cpu) = (f64::MAX, f64::MAX);
        let mut result = (0u64, 0u64);
        for _ in 0..reps {
            let (t, c) = (Instant::now(), cpu_seconds());
            let mut pieces = 0u64;
            let mut check = 0u64;
            pattern.for_each_piece(&text, |p: &str| {
                pieces += 1;
                check = check
                    .wrapping_mul(31)
                    .wrapping_add((p.as_ptr() as usize - base) as u64);
            });
            wall = wall.min(t.elapsed().as_secs_f64());
            cpu = cpu.min(cpu_seconds() - c);
            result = (pieces, check);
        }
        let mb = text.len() as f64 / 1e6;
        println!(
            "{name}: {:.1} MB/s wall, {:.1} MB/CPU-s, {} pieces, check {:016x}",
            mb / wall,
            mb / cpu,
            result.0,
            result.1
        );
    }
}
