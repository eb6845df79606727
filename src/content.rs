/*!
The content class of a stretch of text: what kind of text it is, as far as
a closed model's token count is concerned.

Published measurements of closed tokenizers against public ones (see
`data/calibration.toml`) differ mostly by script and between prose and code:
Claude Opus 4.7's tokenizer inflates English prose by about 1.45× over its
predecessor but leaves Japanese unchanged. So an estimate through a proxy
tokenizer is corrected per class, and the class of every piece of the corpus
is decided while it is counted:

- [`ContentClass::Code`]: a file whose extension names a programming
  language ([`is_code_extension`]), whatever its script;
- [`ContentClass::Structured`]: fewer than 40% of the non-blank characters are
  letters (tables of numbers, CSV, logs of identifiers and timestamps);
- else by the dominant script (`script`): Latin → [`ContentClass::LatinProse`];
  Han, Kana or Hangul together → [`ContentClass::Cjk`]; any other script →
  [`ContentClass::OtherScript`].

Only the first [`SAMPLE_BYTES`] of a piece are looked at: the class is a
property of the piece, not of every character, and reading the whole of a
large piece again would cost a second pass beside the tokenizers'.
*/

use serde::{Deserialize, Serialize};

use crate::script::{ScriptCounts, ScriptGroup};

/// The classes calibrations are given for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContentClass {
    /// Natural language in the Latin script.
    LatinProse,
    /// Source code, by file extension.
    Code,
    /// Chinese, Japanese, Korean.
    Cjk,
    /// Natural language in any other script (Cyrillic, Arabic, Devanagari, ...).
    OtherScript,
    /// Mostly digits, punctuation and symbols.
    Structured,
}

impl ContentClass {
    pub const ALL: [ContentClass; 5] = [
        ContentClass::LatinProse,
        ContentClass::Code,
        ContentClass::Cjk,
        ContentClass::OtherScript,
        ContentClass::Structured,
    ];

    /// The name used in data files and reports.
    pub fn name(self) -> &'static str {
        match self {
            ContentClass::LatinProse => "latin-prose",
            ContentClass::Code => "code",
            ContentClass::Cjk => "cjk",
            ContentClass::OtherScript => "other-script",
            ContentClass::Structured => "structured",
        }
    }
}

impl std::fmt::Display for ContentClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How much of a piece is read to decide its class: [`WINDOWS`] windows of
/// this many bytes each, spread evenly over the piece (the whole piece when
/// it is shorter). Scanning scripts runs at about 200 MB/s on the
/// multilingual fixtures (one thread, release build), no faster than a
/// tokenizer, so reading whole pieces would nearly double the cost of a
/// one-tokenizer audit of small files; 4 KiB decides a class as well.
pub const SAMPLE_BYTES: usize = 1024;
pub const WINDOWS: usize = 4;

/// Below this share of letters among non-blank characters (in percent), text
/// is [`ContentClass::Structured`].
const MIN_LETTER_PERCENT: u64 = 40;

/// The class of `text`; `code` when its file's extension is a code
/// extension.
pub fn classify(text: &str, code: bool) -> ContentClass {
    if code {
        return ContentClass::Code;
    }
    class_of_counts(&sample(text))
}

/// The class of a piece whose sampled script counts are `counts` (see
/// [`sample`]); `code` when its file's extension is a code extension.
pub fn class_of_sample(counts: &ScriptCounts, code: bool) -> ContentClass {
    if code {
        ContentClass::Code
    } else {
        class_of_counts(counts)
    }
}

/// The script counts of [`WINDOWS`] windows of [`SAMPLE_BYTES`] spread over
/// `text` (all of it when it is shorter): what both the piece's class and
/// its dominant script (the `compare` breakdown) are decided from, so the
/// piece is sampled once for both.
pub fn sample(text: &str) -> ScriptCounts {
    if text.len() <= SAMPLE_BYTES * WINDOWS {
        return ScriptCounts::of(text);
    }
    let mut counts = ScriptCounts::default();
    let step = text.len() / WINDOWS;
    for w in 0..WINDOWS {
        let start = floor_boundary(text, w * step);
        let end = floor_boundary(text, w * step + SAMPLE_BYTES).max(start);
        counts.merge(&ScriptCounts::of(&text[start..end]));
    }
    counts
}

/// The largest char boundary at or before `i` (clamped to the text).
fn floor_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The class that script counts describe (code aside).
pub fn class_of_counts(counts: &ScriptCounts) -> ContentClass {
    let letters = counts.total_letters();
    if letters * 100 < (letters + counts.neutral) * MIN_LETTER_PERCENT || letters == 0 {
        return ContentClass::Structured;
    }
    let cjk = counts.letters(ScriptGroup::Han)
        + counts.letters(ScriptGroup::Kana)
        + counts.letters(ScriptGroup::Hangul);
    let latin = counts.letters(ScriptGroup::Latin);
    let other = letters - cjk - latin;
    if latin >= cjk && latin >= other {
        ContentClass::LatinProse
    } else if cjk >= other {
        ContentClass::Cjk
    } else {
        ContentClass::OtherScript
    }
}

/// Extensions (lowercase, without the dot) of programming-language source
/// files. Markup and data formats (md, html, json, yaml, csv) are not code:
/// they are classed by their text.
const CODE_EXTENSIONS: &[&str] = &[
    "c", "cc", "cpp", "cxx", "h", "hh", "hpp", "hxx", "cs", "java", "kt", "kts", "scala", "groovy",
    "go", "rs", "py", "pyi", "rb", "php", "pl", "pm", "lua", "js", "mjs", "cjs", "jsx", "ts",
    "tsx", "swift", "m", "mm", "dart", "r", "jl", "hs", "ml", "mli", "fs", "fsx", "clj", "cljs",
    "ex", "exs", "erl", "elm", "zig", "nim", "v", "sv", "vhd", "vhdl", "sh", "bash", "zsh", "fish",
    "ps1", "bat", "cmd", "sql", "vue", "svelte", "asm", "s", "f90", "f", "cob", "pas", "ada",
    "adb", "lisp", "el", "scm", "rkt", "tf", "proto", "gradle", "cmake", "mk",
];

/// Whether files with extension `ext` (lowercase, without the dot) are
/// source code.
pub fn is_code_extension(ext: &str) -> bool {
    CODE_EXTENSIONS.contains(&ext)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_by_script_share_and_extension() {
        let english = "The parties agree that this contract shall be governed by the law.";
        assert_eq!(classify(english, false), ContentClass::LatinProse);
        assert_eq!(classify(english, true), ContentClass::Code);
        assert_eq!(
            classify("本契約は日本法に準拠するものとします。", false),
            ContentClass::Cjk
        );
        assert_eq!(
            classify("Стороны договорились о следующем.", false),
            ContentClass::OtherScript
        );
        assert_eq!(
            classify("2026-01-01,12.5,3\n2026-01-02,13.25,4\n", false),
            ContentClass::Structured
        );
        assert_eq!(classify("", false), ContentClass::Structured);
    }

    #[test]
    fn a_long_piece_is_sampled_in_windows_without_splitting_chars() {
        // Quarters of 3,000 bytes; a window reads 1 KiB from each: 341 kana
        // from a Japanese quarter, 512 letters from a Latin one.
        let ja = "あ".repeat(1000);
        let latin = "a ".repeat(1500);
        let text = |q: [&str; 4]| q.concat();
        assert_eq!(
            classify(&text([&ja, &latin, &latin, &latin]), false),
            ContentClass::LatinProse
        );
        assert_eq!(
            classify(&text([&latin, &ja, &ja, &ja]), false),
            ContentClass::Cjk
        );
        // Windows that start inside a character back up to its start.
        let odd = format!("x{}", "あ".repeat(5000));
        assert_eq!(classify(&odd, false), ContentClass::Cjk);
    }

    #[test]
    fn code_extensions_exclude_markup_and_data() {
        assert!(is_code_extension("rs") && is_code_extension("py"));
        assert!(!is_code_extension("md") && !is_code_extension("json"));
    }
}
