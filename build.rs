/*!
Build-time data, generated so that run time parses as little text as it can:
the tokenizer engine's tables, and the price tables in a form quicker to read.

1. Rank tables of the four built-in OpenAI encodings. Each is rebuilt from the
   reference (tiktoken-rs) by decoding every id on its own, so the embedded
   table is by construction the reference's vocabulary. They are written as
   images of the engine's finished arrays (`ranks_<name>.image`, format in
   `src/tokenize/bpe/layout.rs`) that `Ranks::from_image` reads in place, with
   nothing to parse or build at start-up, where parsing the base64
   `.tiktoken` text takes tiktoken-rs about 100 ms. Beside each image we
   write the sha256 of the canonical `.tiktoken` text (`base64(token) rank\n`
   per line, by rank), which is what the report records as the tokenizer's
   data hash and which matches the official files' published digests.

2. Unicode class tables for the hand-written pre-tokenizers. They are taken
   from the same `regex-syntax` crate the reference's regex (fancy-regex →
   regex) compiles `\p{L}`, `\s` … with, so the scanner and the reference
   agree on every code point, including ones a newer Unicode version assigns.

3. On x86-64 Linux (glibc) the executables link at a fixed address
   (`-no-pie`; `link_without_pie`).

4. The price catalog and the calibration table (`data/catalog.toml`,
   `data/calibration.toml`) as JSON (`embedded_data`): a pre-flight `check`
   of one prompt spent a fifth of its CPU parsing their TOML, which
   serde_json reads several times faster. The TOML stays the source (and is
   embedded too, for the lines errors name), and unit tests check that both
   readings give the same tables.
*/

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use base64::Engine as _;
use sha2::{Digest, Sha256};

#[path = "src/tokenize/pretok/unicode_class.rs"]
mod unicode_class;

#[path = "src/tokenize/bpe/hash.rs"]
#[allow(dead_code)]
mod hash;

#[path = "src/tokenize/bpe/layout.rs"]
#[allow(dead_code)]
mod layout;

#[path = "src/tokenize/bpe/cut_pairs.rs"]
#[allow(dead_code)]
mod cut_pairs;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/tokenize/bpe/hash.rs");
    println!("cargo:rerun-if-changed=src/tokenize/bpe/layout.rs");
    println!("cargo:rerun-if-changed=src/tokenize/bpe/cut_pairs.rs");
    link_without_pie();
    commit();
    engine_sources();
    let out = env::var("OUT_DIR").expect("OUT_DIR");
    let out = Path::new(&out);
    embedded_data(out);
    // The commit lookup reruns this script at every commit; the tables only
    // change with this file, hash.rs and layout.rs, so they are rebuilt only
    // then.
    let stamp = out.join("tables.stamp");
    let inputs = [
        fs::read("build.rs").unwrap_or_default(),
        fs::read("src/tokenize/bpe/hash.rs").unwrap_or_default(),
        fs::read("src/tokenize/bpe/layout.rs").unwrap_or_default(),
        fs::read("src/tokenize/bpe/cut_pairs.rs").unwrap_or_default(),
    ]
    .concat();
    let inputs = format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&inputs));
    if fs::read_to_string(&stamp).ok().as_deref() == Some(inputs.as_str()) {
        return;
    }
    tables(out);
    fs::write(&stamp, inputs).expect("write stamp");
}

/// `data/NAME.toml` → `OUT_DIR/NAME.json` for the tables the binary embeds
/// (see item 4 above). A file that is not valid TOML fails the build.
fn embedded_data(out: &Path) {
    for name in ["catalog", "calibration"] {
        let path = format!("data/{name}.toml");
        println!("cargo:rerun-if-changed={path}");
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let value: serde_json::Value =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{path} is not valid TOML: {e}"));
        fs::write(out.join(format!("{name}.json")), value.to_string())
            .unwrap_or_else(|e| panic!("write {name}.json: {e}"));
    }
}

/// `TOKENAUDIT_COMMIT`: the git commit being built, for the report's
/// provenance. From the environment when set (a build from a source
/// tarball can say), else from `git` when there is one, else `unknown`.
/// Reruns when HEAD or the branch it points at moves.
fn commit() {
    println!("cargo:rerun-if-env-changed=TOKENAUDIT_COMMIT");
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let commit = env::var("TOKENAUDIT_COMMIT")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| git(&["rev-parse", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=TOKENAUDIT_COMMIT={commit}");
    let mut watched = vec![git(&["rev-parse", "--git-path", "HEAD"])];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(git(&["rev-parse", "--git-path", &branch]));
        watched.push(git(&["rev-parse", "--git-path", "packed-refs"]));
    }
    // Only files that exist: cargo reruns at every build for a missing one.
    for path in watched.into_iter().flatten() {
        if Path::new(&path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}

/// `TOKENAUDIT_ENGINE_SOURCES`: a digest of every file under
/// `src/tokenize`, which the start-up cache (`tokenize::compiled`) puts in
/// the build it accepts entries from. The commit alone names the build in
/// CI, but not a working tree with uncommitted changes to the engines:
/// there, a cache entry converted by the old code would still match.
fn engine_sources() {
    println!("cargo:rerun-if-changed=src/tokenize");
    fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, files);
            } else {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(Path::new("src/tokenize"), &mut files);
    files.sort();
    let mut hasher = Sha256::new();
    for path in &files {
        hasher.update(path.to_string_lossy().as_bytes());
        hasher.update([0]);
        let bytes = fs::read(path).unwrap_or_default();
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    let digest: String = hasher.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    println!("cargo:rustc-env=TOKENAUDIT_ENGINE_SOURCES={digest}");
}

fn tables(out: &Path) {
    type Constructor = fn() -> tiktoken_rs::CoreBPE;
    let encodings: [(&str, Constructor); 4] = [
        ("o200k_base", || {
            tiktoken_rs::o200k_base().expect("o200k_base")
        }),
        ("cl100k_base", || {
            tiktoken_rs::cl100k_base().expect("cl100k_base")
        }),
        ("p50k_base", || tiktoken_rs::p50k_base().expect("p50k_base")),
        ("r50k_base", || tiktoken_rs::r50k_base().expect("r50k_base")),
    ];
    for (name, make) in encodings {
        let bpe = make();
        let entries = ordinary_tokens(&bpe);
        fs::write(out.join(format!("ranks_{name}.image")), image(&entries)).expect("write image");
        fs::write(out.join(format!("cuts_{name}.bin")), cut_table(&entries)).expect("write cuts");
        fs::write(
            out.join(format!("ranks_{name}.sha256")),
            canonical_sha256(&entries),
        )
        .expect("write sha256");
    }

    fs::write(out.join("unicode_classes.rs"), class_tables()).expect("write class tables");
    check_contraction_folding();
}

/// The cut table of a vocabulary (`src/tokenize/bpe/cut.rs` reads it):
/// the sorted keys of every pair of units side by side in a token, and the
/// ranks of the tokens of 3 bytes or more that merging their own bytes does
/// not reach (with tiktoken's merge rule).
fn cut_table(entries: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let rank_of: std::collections::HashMap<&[u8], u32> =
        entries.iter().map(|(r, t)| (t.as_slice(), *r)).collect();
    let mut pairs = std::collections::BTreeSet::new();
    let mut unreachable = Vec::new();
    for (rank, token) in entries {
        cut_pairs::token_pairs(token, |k| {
            pairs.insert(k);
        });
        if token.len() >= 3 && cut_pairs::merge_count(token, |b| rank_of.get(b).copied()) != 1 {
            unreachable.push(*rank);
        }
    }
    let mut out = Vec::with_capacity(8 + 8 * pairs.len() + 4 * unreachable.len());
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for k in pairs {
        out.extend_from_slice(&k.to_le_bytes());
    }
    out.extend_from_slice(&(unreachable.len() as u32).to_le_bytes());
    for r in unreachable {
        out.extend_from_slice(&r.to_le_bytes());
    }
    out
}

/// The scanners match the case-insensitive contractions (`(?i:'s|'t|…)`) by
/// hand: ASCII letters in either case, plus U+017F LATIN SMALL LETTER LONG S,
/// which Unicode case folding makes equal to `s`. Fail the build if the regex
/// crate's folding ever says otherwise.
fn check_contraction_folding() {
    for (letter, extra) in [
        ('s', Some('\u{17F}')),
        ('d', None),
        ('m', None),
        ('t', None),
        ('l', None),
        ('v', None),
        ('r', None),
        ('e', None),
    ] {
        let hir = regex_syntax::parse(&format!("(?i){letter}")).expect("fold pattern");
        let regex_syntax::hir::HirKind::Class(regex_syntax::hir::Class::Unicode(class)) =
            hir.kind()
        else {
            panic!("(?i){letter} is not a class");
        };
        let mut chars: Vec<char> = class
            .ranges()
            .iter()
            .flat_map(|r| r.start()..=r.end())
            .collect();
        chars.sort();
        let mut expected = vec![letter.to_ascii_uppercase(), letter];
        expected.extend(extra);
        expected.sort();
        assert_eq!(chars, expected, "case folding of `{letter}` changed");
    }
}

/// Every ordinary (non-special) token as `(rank, bytes)`, by rank. Special
/// tokens are excluded by id: `decode_bytes` would return their text too.
fn ordinary_tokens(bpe: &tiktoken_rs::CoreBPE) -> Vec<(u32, Vec<u8>)> {
    let special: Vec<u32> = bpe
        .special_tokens()
        .into_iter()
        .flat_map(|s| bpe.encode_with_special_tokens(s))
        .collect();
    let mut entries = Vec::new();
    let mut misses = 0;
    // Ids are dense up to the vocabulary size, with a few gaps near the top
    // (cl100k: 100256, 100261..100275). Stop after a long run of misses.
    let mut id = 0u32;
    while misses < 4096 {
        match bpe.decode_bytes(&[id]) {
            Ok(bytes) if !special.contains(&id) => {
                entries.push((id, bytes));
                misses = 0;
            }
            _ => misses += 1,
        }
        id += 1;
    }
    entries
}

/// The rank image of a vocabulary given by rank (`src/tokenize/bpe/layout.rs`
/// has the format): the arrays `Ranks` reads, placed by the same code that
/// places a vocabulary read at run time, in the target's byte order.
fn image(entries: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let long = entries.iter().filter(|(_, t)| t.len() > 2).count();
    let slots = layout::table_slots(long);
    let mut one = vec![layout::NO_RANK; 256];
    let mut two = vec![layout::NO_RANK; 1 << 16];
    let mut table = vec![[0u64; 2]; slots];
    let mut filter = vec![0u64; layout::filter_words(slots)];
    let mut arrays = layout::Arrays {
        one: &mut one,
        two: &mut two,
        table: &mut table,
        filter: &mut filter,
    };
    // In the order of the slots the tokens hash to (ties by rank), as
    // `Ranks` places a vocabulary read at run time.
    let mut order: Vec<(usize, u32, &[u8])> = entries
        .iter()
        .map(|(rank, token)| {
            let home = if token.len() > 2 {
                layout::home(token, slots)
            } else {
                0
            };
            (home, *rank, token.as_slice())
        })
        .collect();
    order.sort_unstable();
    for (_, rank, token) in order {
        arrays.place(token, rank);
    }
    let bound = entries.iter().map(|e| e.0 as usize + 1).max().unwrap_or(0);
    let mut spans = vec![[0u32; 2]; bound];
    let mut bytes = Vec::new();
    for (rank, token) in entries {
        spans[*rank as usize] = [bytes.len() as u32, token.len() as u32];
        bytes.extend_from_slice(token);
    }
    let head = layout::ImageHeader {
        len: entries.len() as u64,
        max_token_len: entries.iter().map(|e| e.1.len()).max().unwrap_or(0) as u64,
        rank_bound: bound as u64,
        slots: slots as u64,
        filter_words: filter.len() as u64,
        bytes: bytes.len() as u64,
    };
    let big = env::var("CARGO_CFG_TARGET_ENDIAN").as_deref() == Ok("big");
    // Each word in the target's byte order (the image is read in place).
    fn words<const N: usize, W: Copy>(
        v: &[W],
        big: bool,
        le: fn(W) -> [u8; N],
        be: fn(W) -> [u8; N],
    ) -> Vec<u8> {
        v.iter()
            .flat_map(|&w| if big { be(w) } else { le(w) })
            .collect()
    }
    let words32 = |v: &[u32]| words(v, big, u32::to_le_bytes, u32::to_be_bytes);
    let words64 = |v: &[u64]| words(v, big, u64::to_le_bytes, u64::to_be_bytes);
    let sections = [
        words32(&one),
        words32(&two),
        words64(&filter),
        words64(table.as_flattened()),
        words32(spans.as_flattened()),
        bytes,
    ];
    head.image(sections.each_ref().map(Vec::as_slice))
}

fn canonical_sha256(entries: &[(u32, Vec<u8>)]) -> String {
    let mut hasher = Sha256::new();
    let b64 = base64::engine::general_purpose::STANDARD;
    for (rank, bytes) in entries {
        hasher.update(format!("{} {}\n", b64.encode(bytes), rank).as_bytes());
    }
    hasher.finalize().iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Class bits per code point, as a two-level table: `CLASS_INDEX[cp >> 8]`
/// picks a 256-entry block of `CLASS_BLOCKS`; and the Basic Multilingual
/// Plane flat (`CLASS_BMP[cp]`, 64 KiB): the scanners' per-character lookup
/// for the 2- and 3-byte characters of non-Latin text, one load where the
/// two levels are two dependent ones. Bits (see `pretok.rs`):
/// 1 `\p{L}`, 2 `\p{N}`, 4 `\s`, 8 `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`,
/// 16 `[\p{Ll}\p{Lm}\p{Lo}\p{M}]`, 32 `\p{M}`.
fn class_tables() -> String {
    let classes = [
        (1u8, r"\p{L}"),
        (2, r"\p{N}"),
        (4, r"\s"),
        (8, r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]"),
        (16, r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]"),
        (32, r"\p{M}"),
    ];
    let bits = unicode_class::class_bits(&classes);
    let mut blocks: Vec<&[u8]> = Vec::new();
    let mut index = Vec::new();
    for block in bits.chunks(256) {
        let at = blocks.iter().position(|b| *b == block).unwrap_or_else(|| {
            blocks.push(block);
            blocks.len() - 1
        });
        index.push(at);
    }
    assert!(blocks.len() <= 256, "class blocks must fit a u8 index");
    let mut s = String::new();
    let _ = writeln!(
        s,
        "// Generated by build.rs from regex-syntax; do not edit."
    );
    let _ = writeln!(
        s,
        "pub(crate) static CLASS_INDEX: [u8; {}] = {:?};",
        index.len(),
        index
    );
    let _ = writeln!(
        s,
        "pub(crate) static CLASS_BLOCKS: [[u8; 256]; {}] = [",
        blocks.len()
    );
    for block in &blocks {
        let _ = writeln!(s, "    {block:?},");
    }
    let _ = writeln!(s, "];");
    let _ = writeln!(
        s,
        "pub(crate) static CLASS_BMP: [u8; 65536] = {:?};",
        &bits[..65536]
    );
    s
}

/// A position-independent executable is relocated by the dynamic loader at
/// every start: for tokenaudit 62 k relative relocations over 1.27 MiB of
/// `.data.rel.ro` (the static tables of the document readers'
/// dependencies, mostly), 310 pages copied on write. That was more than
/// half of `tokenaudit --version` (2.3 of 4.1 ms of CPU, 470 page faults
/// against 155) and about 1 ms of every audit, and a pre-flight check of
/// one prompt is mostly start-up (BENCHMARKS.md, issue 17). Linked at a
/// fixed address, 125 relocations are left. What is given up is the
/// randomised address of the executable's own code and data; the shared
/// libraries, heap, stacks and mappings are still randomised.
/// `TOKENAUDIT_PIE=1` at build time keeps the default (a packager's
/// policy may require PIE). Only the package's binaries are affected, not
/// the library, tests or examples.
fn link_without_pie() {
    println!("cargo:rerun-if-env-changed=TOKENAUDIT_PIE");
    let target = |key: &str| env::var(key).unwrap_or_default();
    if target("CARGO_CFG_TARGET_OS") == "linux"
        && target("CARGO_CFG_TARGET_ARCH") == "x86_64"
        && target("CARGO_CFG_TARGET_ENV") == "gnu"
        && env::var_os("TOKENAUDIT_PIE").is_none_or(|v| v.is_empty() || v == "0")
    {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
