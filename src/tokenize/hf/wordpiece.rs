/*!
WordPiece `tokenizer.json` files (BERT and the sentence-embedding models
built on it, such as all-MiniLM-L6-v2) counted without the `tokenizers`
crate.

The crate's steps, per segment of text between added tokens (matched in the
raw text, as in `hf_bpe`), each done here the same way and with the same
tables:

1. `BertNormalizer`: drop NUL, U+FFFD and control characters (`Other`
   categories from the `unicode_categories` crate, except tab, newline and
   carriage return), turn whitespace into spaces; put spaces around CJK
   ideographs; strip accents (NFD from `unicode-normalization-alignments`,
   then drop non-spacing marks) when `strip_accents` says so, or by default
   when lowercasing; lowercase with `char::to_lowercase`.
2. `BertPreTokenizer`: split on whitespace (dropped) and isolate each
   punctuation character (ASCII punctuation or a Unicode `P*` category).
3. `WordPiece`: a word longer than `max_input_chars_per_word` characters is
   one `[UNK]`; otherwise the longest vocabulary entry at its start, then the
   longest `##`-prefixed entry at each following position; a word that gets
   stuck anywhere is one `[UNK]`.

Words repeat, so a per-thread cache answers most of them; the normalizer
runs on characters in one pass with an ASCII shortcut. A chunk cut
(`\n` before a letter) is a word boundary here, so continuations need no
special rule.
*/

use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use unicode_categories::UnicodeCategories;
use unicode_normalization_alignments::UnicodeNormalization;

use crate::tokenize::bpe::PieceCache;
use crate::tokenize::hf::json::{self, HfEngine, FAMILY};
use crate::tokenize::pretok::hf::AddedTokens;
use crate::tokenize::{Counter, Tokenizer, TokenizerInfo};

/// Slots of a counter's word cache (`bpe::PieceCache`, 64 bytes each):
/// 4 MiB per thread. Longer words than it takes are counted each time.
const CACHE_SLOTS: usize = 1 << 16;

/// The `BertNormalizer` options, as the crate reads them.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct BertNormalizer {
    #[serde(default = "yes")]
    clean_text: bool,
    #[serde(default = "yes")]
    handle_chinese_chars: bool,
    #[serde(default)]
    strip_accents: Option<bool>,
    #[serde(default = "yes")]
    lowercase: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct File {
    model: WordPieceModel,
}

#[derive(Deserialize)]
struct WordPieceModel {
    #[serde(rename = "type")]
    kind: String,
    unk_token: String,
    continuing_subword_prefix: String,
    max_input_chars_per_word: usize,
    vocab: FxHashMap<String, u32>,
}

/// The vocabulary and options the counting loop reads.
#[derive(Clone, Serialize, Deserialize)]
struct Model {
    normalizer: BertNormalizer,
    vocab: FxHashMap<String, u32>,
    prefix: String,
    unk: u32,
    max_chars: usize,
}

/// A WordPiece tokenizer.json counted by the engine.
pub struct WordPieceTokenizer {
    info: TokenizerInfo,
    model: Arc<Model>,
    added: Arc<AddedTokens>,
    /// What `added` was built from, for [`WordPieceTokenizer::recipe`].
    added_list: Vec<(String, u32)>,
}

/// What the start-up cache keeps of a [`WordPieceTokenizer`]
/// (`tokenize::compiled`).
#[derive(Serialize, Deserialize)]
pub struct Recipe {
    model: Model,
    added: Vec<(String, u32)>,
    vocab_size: usize,
}

impl WordPieceTokenizer {
    /// What [`Self::from_recipe`] needs to build this tokenizer again.
    pub fn recipe(&self) -> Recipe {
        Recipe {
            model: (*self.model).clone(),
            added: self.added_list.clone(),
            vocab_size: self.info.vocab_size,
        }
    }

    /// The tokenizer [`Self::recipe`] was taken from.
    pub fn from_recipe(mut info: TokenizerInfo, r: Recipe) -> Result<Self, String> {
        info.vocab_size = r.vocab_size;
        info.family = FAMILY.to_string();
        Ok(WordPieceTokenizer {
            info,
            model: Arc::new(r.model),
            added: Arc::new(AddedTokens::new(&r.added)?),
            added_list: r.added,
        })
    }
}

impl HfEngine for WordPieceTokenizer {
    fn from_head(mut info: TokenizerInfo, head: &json::Head, data: &[u8]) -> Result<Self, String> {
        if json::kind(&head.normalizer) != Some("BertNormalizer") {
            return Err("not a BertNormalizer".into());
        }
        let normalizer: BertNormalizer = serde_json::from_value(head.normalizer.clone())
            .map_err(|e| format!("BertNormalizer: {e}"))?;
        if json::kind(&head.pre_tokenizer) != Some("BertPreTokenizer") {
            return Err("not a BertPreTokenizer".into());
        }
        let added = json::added_tokens(&head.added_tokens, true)?;
        let file: File = serde_json::from_slice(data).map_err(|e| format!("not parsed: {e}"))?;
        let m = file.model;
        if m.kind != "WordPiece" {
            return Err("the model is not WordPiece".into());
        }
        let unk = *m
            .vocab
            .get(&m.unk_token)
            .ok_or("the unknown token is not in the vocabulary")?;
        info.vocab_size = m.vocab.len();
        info.family = FAMILY.to_string();
        Ok(WordPieceTokenizer {
            info,
            model: Arc::new(Model {
                normalizer,
                vocab: m.vocab,
                prefix: m.continuing_subword_prefix,
                unk,
                max_chars: m.max_input_chars_per_word,
            }),
            added: Arc::new(AddedTokens::new(&added)?),
            added_list: added,
        })
    }
}

/// `BertNormalizer`'s whitespace: tab, newline, carriage return, or
/// `char::is_whitespace`.
fn is_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c.is_whitespace()
}

/// `BertNormalizer`'s control characters: the `Other` categories, but not
/// tab, newline or carriage return. (In ASCII, `Other` is `Cc`: below
/// U+0020 and U+007F; the category table is a binary search, so ASCII is
/// answered first.)
fn is_control(c: char) -> bool {
    if c.is_ascii() {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\x7f'
    } else {
        c.is_other()
    }
}

/// The CJK ideograph blocks the crate pads with spaces.
fn is_chinese_char(c: char) -> bool {
    matches!(
        c as u32,
        0x4E00..=0x9FFF
            | 0x3400..=0x4DBF
            | 0x20000..=0x2A6DF
            | 0x2A700..=0x2B73F
            | 0x2B740..=0x2B81F
            | 0x2B920..=0x2CEAF
            | 0xF900..=0xFAFF
            | 0x2F800..=0x2FA1F
    )
}

/// `BertPreTokenizer`'s punctuation: ASCII punctuation (which includes the
/// ASCII symbols) or a Unicode `P*` category.
fn is_punctuation(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_punctuation()
    } else {
        c.is_punctuation()
    }
}

impl Model {
    /// `segment` through the normalizer, into `out` (cleared first).
    ///
    /// ASCII runs take a shortcut (no ideographs, nothing NFD changes, no
    /// marks, ASCII lowercase), the rest the general steps. Cutting at ASCII
    /// characters changes nothing: they are starters without decomposition,
    /// so NFD's reordering of marks never crosses them.
    fn normalize(&self, segment: &str, out: &mut String) {
        out.clear();
        let bytes = segment.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            let ascii = bytes[at..].iter().take_while(|b| b.is_ascii()).count();
            self.normalize_ascii(&segment[at..at + ascii], out);
            at += ascii;
            let other = bytes[at..].iter().take_while(|b| !b.is_ascii()).count();
            self.normalize_other(&segment[at..at + other], out);
            at += other;
        }
    }

    fn normalize_ascii(&self, run: &str, out: &mut String) {
        let n = self.normalizer;
        for c in run.chars() {
            if n.clean_text && is_control(c) {
                continue;
            }
            let c = if n.clean_text && is_whitespace(c) {
                ' '
            } else {
                c
            };
            out.push(if n.lowercase {
                c.to_ascii_lowercase()
            } else {
                c
            });
        }
    }

    fn normalize_other(&self, run: &str, out: &mut String) {
        let n = self.normalizer;
        let cleaned = run.chars().filter_map(|c| {
            if n.clean_text && (c == '\u{FFFD}' || is_control(c)) {
                None
            } else if n.clean_text && is_whitespace(c) {
                Some(' ')
            } else {
                Some(c)
            }
        });
        let padded = cleaned.flat_map(|c| {
            let pad = n.handle_chinese_chars && is_chinese_char(c);
            [pad.then_some(' '), Some(c), pad.then_some(' ')]
                .into_iter()
                .flatten()
        });
        let lower = |c: char, out: &mut String| {
            if n.lowercase {
                out.extend(c.to_lowercase());
            } else {
                out.push(c);
            }
        };
        if n.strip_accents.unwrap_or(n.lowercase) {
            for (c, _) in padded.nfd() {
                if !c.is_mark_nonspacing() {
                    lower(c, out);
                }
            }
        } else {
            for c in padded {
                lower(c, out);
            }
        }
    }

    /// Calls `f` with each word of normalized text: split on whitespace,
    /// each punctuation character on its own.
    fn words<'t>(text: &'t str, mut f: impl FnMut(&'t str)) {
        for run in text.split(char::is_whitespace) {
            let mut start = 0;
            for (i, c) in run.char_indices() {
                if is_punctuation(c) {
                    if i > start {
                        f(&run[start..i]);
                    }
                    f(&run[i..i + c.len_utf8()]);
                    start = i + c.len_utf8();
                }
            }
            if start < run.len() {
                f(&run[start..]);
            }
        }
    }

    /// The ids of one word, into `out`; `buf` is scratch space.
    fn word_ids(&self, word: &str, buf: &mut String, out: &mut Vec<u32>) {
        if word.chars().count() > self.max_chars {
            out.push(self.unk);
            return;
        }
        let first = out.len();
        let mut start = 0;
        while start < word.len() {
            let mut end = word.len();
            let mut found = None;
            while start < end {
                let sub = &word[start..end];
                let key = if start > 0 {
                    buf.clear();
                    buf.push_str(&self.prefix);
                    buf.push_str(sub);
                    buf.as_str()
                } else {
                    sub
                };
                if let Some(&id) = self.vocab.get(key) {
                    found = Some(id);
                    break;
                }
                end -= sub.chars().next_back().map_or(1, char::len_utf8);
            }
            let Some(id) = found else {
                out.truncate(first);
                out.push(self.unk);
                return;
            };
            out.push(id);
            start = end;
        }
    }
}

/// One thread's counter: the model, a word → count cache and buffers.
struct WordPieceCounter {
    model: Arc<Model>,
    added: Arc<AddedTokens>,
    cache: PieceCache,
    normalized: String,
    buf: String,
    ids: Vec<u32>,
}

impl WordPieceCounter {
    fn segment(&mut self, segment: &str) -> u64 {
        let WordPieceCounter {
            model,
            cache,
            normalized,
            buf,
            ids,
            ..
        } = self;
        model.normalize(segment, normalized);
        let mut total = 0;
        Model::words(normalized, |word| {
            total += cache.get_or_insert_with(word.as_bytes(), || {
                ids.clear();
                model.word_ids(word, buf, ids);
                ids.len() as u32
            }) as u64;
        });
        total
    }
}

impl Counter for WordPieceCounter {
    fn count(&mut self, text: &str) -> u64 {
        Arc::clone(&self.added).count(text, |t| self.segment(t))
    }
}

impl Tokenizer for WordPieceTokenizer {
    fn info(&self) -> &TokenizerInfo {
        &self.info
    }

    fn counter(&self) -> Box<dyn Counter> {
        Box::new(WordPieceCounter {
            model: Arc::clone(&self.model),
            added: Arc::clone(&self.added),
            cache: PieceCache::with_slots(CACHE_SLOTS),
            normalized: String::new(),
            buf: String::new(),
            ids: Vec::new(),
        })
    }

    fn encode(&self, text: &str) -> Vec<u32> {
        let (mut normalized, mut buf) = (String::new(), String::new());
        self.added.encode(text, |t, out| {
            self.model.normalize(t, &mut normalized);
            Model::words(&normalized, |w| self.model.word_ids(w, &mut buf, out));
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenize::toy_info as info;
    use serde_json::json;

    fn toy(normalizer: serde_json::Value) -> Vec<u8> {
        let vocab: serde_json::Map<String, serde_json::Value> = [
            "[UNK]", "[CLS]", "un", "##aff", "##able", "cafe", "!", "中", "a", "##b",
        ]
        .iter()
        .enumerate()
        .map(|(i, w)| (w.to_string(), json!(i)))
        .collect();
        serde_json::to_vec(&json!({
            "added_tokens": [{"id": 1, "content": "[CLS]", "single_word": false, "lstrip": false,
                              "rstrip": false, "normalized": false, "special": true}],
            "normalizer": normalizer,
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                      "max_input_chars_per_word": 5, "vocab": vocab},
        }))
        .unwrap()
    }

    #[test]
    fn words_are_normalized_split_and_matched_longest_first() {
        let bert = json!({"type": "BertNormalizer", "clean_text": true,
                          "handle_chinese_chars": true, "strip_accents": null, "lowercase": true});
        let t = WordPieceTokenizer::from_bytes(info(), &toy(bert)).unwrap();
        // "un" "##aff" "##able" is over 5 characters: one [UNK].
        assert_eq!(t.encode("unaffable"), [0]);
        assert_eq!(t.encode("[CLS]unaff"), [1, 2, 3]);
        // Lowercased, accent stripped, punctuation on its own, an ideograph
        // padded into its own word, a control character dropped.
        assert_eq!(t.encode("CAFÉ!中ab\u{1}"), [5, 6, 7, 8, 9]);
        // Stuck after "a": the whole word is [UNK].
        assert_eq!(t.encode("ax"), [0]);
        assert_eq!(t.counter().count("CAFÉ! ax"), 3);
    }

    #[test]
    fn other_normalizers_are_turned_down() {
        let nfc = json!({"type": "NFC"});
        assert!(WordPieceTokenizer::from_bytes(info(), &toy(nfc)).is_err());
    }
}
