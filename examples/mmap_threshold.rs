//! Measures where memory-mapping a file starts to beat reading it, for the
//! way `load` uses the bytes (validate UTF-8, then scan them once).
//! Files are warm in the page cache, as in a repeated audit.
//!
//! usage: mmap_threshold [DIR]   (scratch files are written there)

use std::fs::File;
use std::io::Read;
use std::time::Instant;

fn consume(bytes: &[u8]) -> usize {
    std::str::from_utf8(bytes).map_or(0, |s| s.bytes().filter(|&b| b == b'\n').count())
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| std::env::temp_dir().display().to_string());
    let dir = std::path::Path::new(&dir).join("tokenaudit-mmap-threshold");
    std::fs::create_dir_all(&dir).unwrap();
    println!(
        "{:>10} {:>12} {:>12} {:>8}",
        "size", "read MB/s", "mmap MB/s", "mmap/read"
    );
    for kib in [4usize, 16, 64, 128, 256, 512, 1024, 4096, 16384] {
        let size = kib * 1024;
        let total = (256usize << 20).max(size * 8);
        let n = total / size;
        let line = "The quick brown fox jumps over the lazy dog.\n";
        let content: String = line.repeat(size / line.len() + 1)[..size].to_string();
        let paths: Vec<_> = (0..n.min(512))
            .map(|i| {
                let p = dir.join(format!("{kib}-{i}.txt"));
                std::fs::write(&p, &content).unwrap();
                p
            })
            .collect();
        let rounds = n.div_ceil(paths.len());
        let mut sink = 0;
        let t = Instant::now();
        for _ in 0..rounds {
            for p in &paths {
                let mut f = File::open(p).unwrap();
                let mut buf = Vec::with_capacity(size + 1);
                f.read_to_end(&mut buf).unwrap();
                sink += consume(&buf);
            }
        }
        let read = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for _ in 0..rounds {
            for p in &paths {
                let f = File::open(p).unwrap();
                let map = unsafe { memmap2::Mmap::map(&f) }.unwrap();
                sink += consume(&map);
            }
        }
        let mmap = t.elapsed().as_secs_f64();
        let mb = (rounds * paths.len() * size) as f64 / 1e6;
        println!(
            "{:>8}K {:>12.0} {:>12.0} {:>8.2}   ({sink})",
            kib,
            mb / read,
            mb / mmap,
            read / mmap
        );
        for p in paths {
            let _ = std::fs::remove_file(p);
        }
    }
    let _ = std::fs::remove_dir(&dir);
}
