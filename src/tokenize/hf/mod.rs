/*!
Hugging Face `tokenizer.json` files, counted through the `tokenizers` crate
(the reference implementation) with no network access, unless [`build`]
finds the file eligible for one of our engines: `hf_bpe` (byte-level BPE
that reduces to ranks and a split: DeepSeek V3/V4, Qwen 3, claude-legacy,
and Llama 3's, which lists every split of a token as a merge)
or `sp_bpe` (SentencePiece-style BPE with byte fallback: Gemma 3,
Mistral 7B v0.1, and files that spell spaces with a `Metaspace`
pre-tokenizer instead) or `wordpiece` (BERT's normalizer, pre-tokenizer and
WordPiece model). What stays here: every other file (no named one
today).

Counting rule: `encode(text, add_special_tokens = false)`, with the file's
padding and truncation switched off (some files pad and truncate every input
to 128 tokens, which would make every long document count 128). Note that
`encode` still matches the text of added tokens (`<|begin_of_text|>`, `<s>`)
as single tokens, where rank files count such text as ordinary text; that is
the reference behaviour the expected counts were taken with. Counting it as
text instead would be `set_encode_special_tokens(true)` in `load`.

Two things make a long text different from a short one here:

- Memory. The crate keeps several words of bookkeeping per input byte (about
  7 GB for a 129 MB string), so a counter feeds it exact-safe pieces from
  [`chunk::pieces`]: each ends at the first cut after [`PIECE_BYTES`]. A text
  with no cut (one long line) is still counted whole.
- The start of the input. SentencePiece-style files prepend `▁` to the input
  (a `Prepend` normalizer, or a `Metaspace` pre-tokenizer that prepends on the
  first or every piece). A piece cut from the middle of a document must not get
  that prefix. Removing the rule from a copy of the tokenizer is not enough:
  `Prepend` also applies after every added token inside the piece, as it does
  in the whole document (measured on `mistral-v1`: one token off). So a
  continuation is counted as [`CONTINUATION_PREFIX`] + piece, minus the
  prefix's own tokens: the piece then sits after an exact-safe cut, exactly as
  it did in the document ([`Counter::count_continuation`]).
*/

pub mod byte_level;
pub(crate) mod json;

/// `TokenizerInfo.family` of a tokenizer.json counted by one of our engines.
pub use json::FAMILY as ENGINE_FAMILY;
pub mod sentencepiece;
pub mod wordpiece;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::tokenize::hf::byte_level::HfBpeTokenizer;
use crate::tokenize::hf::json::HfEngine;
use crate::tokenize::hf::sentencepiece::SpBpeTokenizer;
use crate::tokenize::hf::wordpiece::WordPieceTokenizer;
use crate::tokenize::{chunk, Counter, SharedTokenizer, Tokenizer, TokenizerInfo};

/// Size after which a counter cuts a text at the next exact-safe cut before
/// handing it to the `tokenizers` crate, so the crate's working memory stays
/// in the tens of megabytes per thread on natural text.
pub const PIECE_BYTES: usize = 256 * 1024;

/// Put before a continuation piece of a tokenizer with a start rule: a
/// non-space character and a newline, so that the piece follows a cut that
/// `chunk::next_cut` could have made.
pub const CONTINUATION_PREFIX: &str = "a\n";

/// A `tokenizer.json` ready to count.
pub struct HfTokenizer {
    info: TokenizerInfo,
    tokenizer: tokenizers::Tokenizer,
    /// Tokens of [`CONTINUATION_PREFIX`], when the file has a start-of-input
    /// rule; `None` when pieces can be counted on their own.
    prefix_tokens: Option<u64>,
}

impl HfTokenizer {
    /// Loads `tokenizer.json` bytes read from `path` (named in errors).
    /// `info.vocab_size` is set from the model (without added tokens).
    pub fn from_bytes(mut info: TokenizerInfo, data: &[u8], path: &str) -> Result<Self, String> {
        let tokenizer = load(data, path)?;
        let prefix_tokens =
            has_start_rule(data, path)?.then(|| count_with(&tokenizer, CONTINUATION_PREFIX));
        info.vocab_size = tokenizer.get_vocab_size(false);
        Ok(HfTokenizer {
            info,
            tokenizer,
            prefix_tokens,
        })
    }

    /// Whether continuation pieces are counted behind [`CONTINUATION_PREFIX`].
    pub fn has_start_rule(&self) -> bool {
        self.prefix_tokens.is_some()
    }

    pub fn shared(self) -> SharedTokenizer {
        Arc::new(self)
    }
}

/// A tokenizer.json ready to count: through our engines when `hf_bpe`,
/// `sp_bpe` or `wordpiece` finds the file eligible (family `huggingface (engine)`),
/// otherwise through the `tokenizers` crate (family `huggingface`).
pub fn build(info: TokenizerInfo, data: &[u8], path: &str) -> Result<SharedTokenizer, String> {
    build_with_recipe(info, data, path, false).map(|(t, _)| t)
}

/// What the start-up cache (`tokenize::compiled`) keeps of a tokenizer.json
/// one of our engines counts: enough to build the engine again without the
/// file. Files the `tokenizers` crate counts have none.
#[derive(Serialize, Deserialize)]
pub enum Recipe {
    ByteLevel(byte_level::Converted),
    SentencePiece(sentencepiece::Recipe),
    WordPiece(wordpiece::Recipe),
}

impl Recipe {
    /// The tokenizer this recipe was taken from; `info`'s name, source and
    /// sha256 are kept, its family and vocabulary size set.
    pub fn build(self, info: TokenizerInfo) -> Result<SharedTokenizer, String> {
        Ok(match self {
            Recipe::ByteLevel(c) => Arc::new(HfBpeTokenizer::from_converted(info, c)?),
            Recipe::SentencePiece(r) => Arc::new(SpBpeTokenizer::from_recipe(info, r)?),
            Recipe::WordPiece(r) => Arc::new(WordPieceTokenizer::from_recipe(info, r)?),
        })
    }
}

/// [`build`], and with `want_recipe` the engine's [`Recipe`] when one of our
/// engines takes the file.
pub fn build_with_recipe(
    info: TokenizerInfo,
    data: &[u8],
    path: &str,
    want_recipe: bool,
) -> Result<(SharedTokenizer, Option<Recipe>), String> {
    // The head (all but the vocabulary and merges) is read once for the
    // three engines: gemma3's file is 33 MB. A file it does not parse goes
    // to the crate, whose error names the file.
    if let Ok(head) = json::read_head(data) {
        if let Ok(engine) = HfBpeTokenizer::from_head(info.clone(), &head, data) {
            let recipe = want_recipe.then(|| Recipe::ByteLevel(engine.recipe()));
            return Ok((Arc::new(engine), recipe));
        }
        if let Ok(engine) = SpBpeTokenizer::from_head(info.clone(), &head, data) {
            let recipe = want_recipe.then(|| Recipe::SentencePiece(engine.recipe()));
            return Ok((Arc::new(engine), recipe));
        }
        if let Ok(engine) = WordPieceTokenizer::from_head(info.clone(), &head, data) {
            let recipe = want_recipe.then(|| Recipe::WordPiece(engine.recipe()));
            return Ok((Arc::new(engine), recipe));
        }
    }
    HfTokenizer::from_bytes(info, data, path).map(|t| (t.shared(), None))
}

fn load(data: &[u8], path: &str) -> Result<tokenizers::Tokenizer, String> {
    let mut tokenizer = tokenizers::Tokenizer::from_bytes(data)
        .map_err(|e| format!("{path}: expected a Hugging Face tokenizer.json: {e}"))?;
    tokenizer.with_padding(None);
    tokenizer
        .with_truncation(None)
        .map_err(|e| format!("{path}: cannot switch truncation off: {e}"))?;
    Ok(tokenizer)
}

/// The parts of a tokenizer.json that can hold a start-of-input rule. Parsing
/// only these (serde skips the rest without building it) keeps the check
/// cheap on a 33 MB file.
#[derive(Deserialize)]
struct StartRules {
    #[serde(default)]
    normalizer: Value,
    #[serde(default)]
    pre_tokenizer: Value,
}

/// Whether the file's normalizer or pre-tokenizer treats the start of its
/// input specially. Saying yes when it does not costs a few bytes per piece,
/// never exactness.
fn has_start_rule(data: &[u8], path: &str) -> Result<bool, String> {
    let StartRules {
        mut normalizer,
        mut pre_tokenizer,
    } = serde_json::from_slice(data)
        .map_err(|e| format!("{path}: expected a Hugging Face tokenizer.json: {e}"))?;
    Ok(strip_prepend(&mut normalizer) | strip_metaspace_prefix(&mut pre_tokenizer))
}

fn kind(v: &Value) -> Option<&str> {
    v.get("type").and_then(Value::as_str)
}

/// Removes `Prepend` normalizers (alone or inside a `Sequence`).
fn strip_prepend(normalizer: &mut Value) -> bool {
    match kind(normalizer) {
        Some("Prepend") => {
            *normalizer = Value::Null;
            true
        }
        Some("Sequence") => {
            let Some(list) = normalizer
                .get_mut("normalizers")
                .and_then(Value::as_array_mut)
            else {
                return false;
            };
            let before = list.len();
            list.retain(|n| kind(n) != Some("Prepend"));
            let mut changed = list.len() != before;
            for n in list.iter_mut() {
                changed |= strip_prepend(n);
            }
            changed
        }
        _ => false,
    }
}

/// Makes `Metaspace` pre-tokenizers (alone or in a `Sequence`) never prepend,
/// and `ByteLevel` ones never add a prefix space.
fn strip_metaspace_prefix(pre: &mut Value) -> bool {
    match kind(pre) {
        Some("ByteLevel") => match pre.get_mut("add_prefix_space") {
            Some(add) if add.as_bool() == Some(true) => {
                *add = Value::from(false);
                true
            }
            _ => false,
        },
        Some("Metaspace") => {
            let mut changed = false;
            if let Some(scheme) = pre.get_mut("prepend_scheme") {
                if scheme.as_str() != Some("never") {
                    *scheme = Value::from("never");
                    changed = true;
                }
            }
            if let Some(add) = pre.get_mut("add_prefix_space") {
                if add.as_bool() == Some(true) {
                    *add = Value::from(false);
                    changed = true;
                }
            }
            changed
        }
        Some("Sequence") => pre
            .get_mut("pretokenizers")
            .and_then(Value::as_array_mut)
            .map(|list| {
                list.iter_mut()
                    .fold(false, |c, p| strip_metaspace_prefix(p) | c)
            })
            .unwrap_or(false),
        _ => false,
    }
}

/// One thread's counter: its own clone of the tokenizer (the BPE cache is
/// per instance, and a clone starts with a fresh one).
struct HfCounter {
    tokenizer: tokenizers::Tokenizer,
    prefix_tokens: Option<u64>,
    /// Reused for prefix + piece.
    buffer: String,
}

impl HfCounter {
    fn count_pieces(&mut self, text: &str, is_start: bool) -> u64 {
        let mut total = 0;
        for (i, piece) in chunk::pieces(text, PIECE_BYTES).into_iter().enumerate() {
            total += match self.prefix_tokens {
                Some(prefix) if i > 0 || !is_start => {
                    self.buffer.clear();
                    self.buffer.push_str(CONTINUATION_PREFIX);
                    self.buffer.push_str(piece);
                    count_with(&self.tokenizer, &self.buffer) - prefix
                }
                _ => count_with(&self.tokenizer, piece),
            };
        }
        total
    }
}

fn count_with(tokenizer: &tokenizers::Tokenizer, text: &str) -> u64 {
    // `encode_fast` is `encode` without offset tracking: the same tokens.
    // The models we load cannot fail on valid UTF-8; if one does, a count
    // would be a guess, so stop loudly rather than report it.
    match tokenizer.encode_fast(text, false) {
        Ok(encoding) => encoding.len() as u64,
        Err(e) => panic!(
            "the tokenizers crate failed to encode {} bytes: {e}",
            text.len()
        ),
    }
}

impl Counter for HfCounter {
    fn count(&mut self, text: &str) -> u64 {
        self.count_pieces(text, true)
    }
    fn count_continuation(&mut self, text: &str) -> u64 {
        self.count_pieces(text, false)
    }
}

impl Tokenizer for HfTokenizer {
    fn info(&self) -> &TokenizerInfo {
        &self.info
    }
    fn counter(&self) -> Box<dyn Counter> {
        Box::new(HfCounter {
            tokenizer: self.tokenizer.clone(),
            prefix_tokens: self.prefix_tokens,
            buffer: String::new(),
        })
    }
    /// The reference encoding of the whole text, unchunked.
    fn encode(&self, text: &str) -> Vec<u32> {
        self.tokenizer
            .encode(text, false)
            .map(|e| e.get_ids().to_vec())
            .unwrap_or_else(|e| panic!("the tokenizers crate failed to encode: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenize::toy_info as info;

    /// A SentencePiece-style toy: `Prepend("▁")` + spaces to `▁`, no
    /// pre-tokenizer, BPE that knows `▁a`, `▁b` and `\n`; padding on.
    const SENTENCEPIECE_TOY: &str = r#"{
      "version": "1.0", "truncation": {"max_length": 2, "strategy": "LongestFirst", "stride": 0},
      "padding": {"strategy": {"Fixed": 16}, "direction": "Right", "pad_to_multiple_of": null,
                  "pad_id": 0, "pad_type_id": 0, "pad_token": "<unk>"},
      "added_tokens": [],
      "normalizer": {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "▁"},
        {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
      "pre_tokenizer": null, "post_processor": null, "decoder": null,
      "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>",
        "continuing_subword_prefix": null, "end_of_word_suffix": null,
        "fuse_unk": true, "byte_fallback": false,
        "vocab": {"<unk>": 0, "▁": 1, "a": 2, "b": 3, "\n": 4, "▁a": 5, "▁b": 6},
        "merges": ["▁ a", "▁ b"]}
    }"#;

    #[test]
    fn padding_and_truncation_are_off_and_prefix_only_at_the_start() {
        let t = HfTokenizer::from_bytes(info(), SENTENCEPIECE_TOY.as_bytes(), "toy.json").unwrap();
        assert!(t.has_start_rule());
        assert_eq!(t.info().vocab_size, 7);
        let mut c = t.counter();
        // "▁a" "▁b" "▁a" "\n" "b": padding (16) and truncation (2) ignored.
        assert_eq!(c.count("a b a\nb"), 5);
        // A continuation piece has no "▁" in front: "b" alone.
        assert_eq!(c.count_continuation("b"), 1);
        assert_eq!(c.count("b"), 1);
        assert_eq!(c.count("a b a\n") + c.count_continuation("b"), 5);
    }

    #[test]
    fn start_rules_are_found_and_removed() {
        let mut meta = serde_json::json!({"type": "Sequence", "pretokenizers": [
            {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}]});
        assert!(strip_metaspace_prefix(&mut meta));
        assert_eq!(meta["pretokenizers"][0]["prepend_scheme"], "never");
        let mut never = serde_json::json!({"type": "Metaspace", "prepend_scheme": "never"});
        assert!(!strip_metaspace_prefix(&mut never));
        let mut single = serde_json::json!({"type": "Prepend", "prepend": "▁"});
        assert!(strip_prepend(&mut single));
        assert!(single.is_null());
    }

    #[test]
    fn errors_name_the_file() {
        let e = HfTokenizer::from_bytes(info(), b"{}", "x/tokenizer.json")
            .err()
            .unwrap();
        assert!(
            e.starts_with("x/tokenizer.json: expected a Hugging Face tokenizer.json"),
            "{e}"
        );
    }
}
