//! Where the time of the tokenizer.json engine path goes (1 thread): the
//! pre-tokenizer alone, then the whole count.
//! `cargo run --release --example hf_engine_speed -- FILE MB`
use std::time::Instant;
use tokenaudit::tokenize::pretok::deepseek::{DeepSeekScanner, PATTERNS};
use tokenaudit::tokenize::{self, TokenizerDir};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let data = std::fs::read(&args[1]).unwrap();
    let mb: usize = args.get(2).map_or(10, |s| s.parse().unwrap());
    let mut end = (mb << 20).min(data.len());
    while end < data.len() && data[end] & 0xC0 == 0x80 {
        end += 1;
    }
    let text = std::str::from_utf8(&data[..end]).unwrap();
    let docs: Vec<&str> = tokenize::pretok::chunk::pieces(text, 4096);
    let mbs = |s: f64| text.len() as f64 / 1e6 / s;
    let patterns: Vec<String> = PATTERNS.iter().map(|p| p.to_string()).collect();
    let t = Instant::now();
    let scanner = DeepSeekScanner::for_patterns(&patterns).unwrap();
    println!(
        "deepseek scanner tables: {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let mut pieces = 0u64;
    let (mut long, mut long_bytes) = (0u64, 0usize);
    for d in &docs {
        scanner.for_each_piece(d, &mut |p| {
            pieces += 1;
            if p.len() > 48 {
                long += 1;
                long_bytes += p.len();
            }
        });
    }
    println!("pieces over 48 bytes: {long} ({long_bytes} bytes)");
    println!(
        "deepseek scanner alone: {:.1} MB/s ({pieces} pieces)",
        mbs(t.elapsed().as_secs_f64())
    );
    let dir = TokenizerDir::locate(None);
    let json = std::fs::read(dir.path().join("deepseek-v3.json")).unwrap();
    let added = tokenaudit::tokenize::pretok::hf::AddedTokens::new(
        &tokenaudit::tokenize::hf::byte_level::convert(&json)
            .unwrap()
            .added,
    )
    .unwrap();
    let t = Instant::now();
    let mut segments = 0u64;
    for d in &docs {
        added.for_each_segment(d, |_| segments += 1);
    }
    println!(
        "deepseek-v3 added-token search alone: {:.1} MB/s ({segments} segments)",
        mbs(t.elapsed().as_secs_f64())
    );
    for name in args
        .get(3)
        .map_or("deepseek-v3,qwen3", |s| s.as_str())
        .split(',')
    {
        let t = Instant::now();
        let tok = tokenize::resolve(name, &dir, None).unwrap();
        let load = t.elapsed().as_secs_f64();
        let mut c = tok.counter();
        let t = Instant::now();
        let n: u64 = docs.iter().map(|d| c.count(d)).sum();
        println!(
            "{name} ({}): load {:.0} ms, count {:.1} MB/s, {n} tokens",
            tok.info().family,
            load * 1e3,
            mbs(t.elapsed().as_secs_f64())
        );
    }
}
