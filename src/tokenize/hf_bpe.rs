/*!
Byte-level BPE `tokenizer.json` files counted by our engine (`bpe`) instead
of the `tokenizers` crate, when the file provably means the same thing.

[`convert`] reads the JSON itself (not the crate's internals) and either
builds the engine's inputs or says why not; `hf` then keeps the crate path.

**Merges versus ranks.** The crate merges, in a word, the adjacent pair that
comes first in the *merge list*; the engine merges the adjacent pair whose
*concatenation* has the lowest rank (tiktoken). We set rank(a+b) = index of
the merge `a b` (single bytes below every merge), and accept the file only if:

1. each merge's parts and result are in the vocabulary, every byte is a
   token, and every multi-byte token is the result of exactly one merge;
2. every token, encoded alone by the merge list, comes back as itself.

Then the two algorithms agree on every input. Sketch: take the first step
where they would differ. Up to it they made the same merges, so the engine's
choice is a pair `x y` with `x+y = T` a token (merges are unique per result,
so if `x y` were T's merge the crate would choose it too: same priority,
leftmost first). Restrict the run to the bytes of T: a merge inside them
never depended on the bytes outside (it was the lowest pair overall, hence
the lowest inside), so encoding T alone reaches the same `x y`, where the
crate can do nothing more (only that pair is left, and it is not a merge)
and T does not come back as itself, against (2). Condition (2) also makes
the engine's shortcut "a piece that is a token is one token" right, with or
without `ignore_merges`. DeepSeek V3/V4 and Qwen 3 pass; Llama 3's file
(converted from tiktoken ranks, with every split of a token as a merge)
fails (1) and stays on the crate.

**Normalizer**: none or NFC, applied to each text segment between added
tokens as the crate does, with the crate's own normalization tables
(`unicode-normalization-alignments`, Unicode 9: a newer table reorders marks
assigned since). NFC needs no care at chunk cuts: `chunk::next_cut` cuts
between `\n` and an ASCII or CJK letter; both are starters and `\n`
composes with nothing, so NFC of the parts is the parts of NFC.

**Pre-tokenizer**: `Split` (regex or string, `Isolated`, not inverted) and
`ByteLevel` (last, no prefix space; with `use_regex` it adds the GPT-2 split).
One step with a known pattern uses the engine's hand-written scanner; longer
chains run `pretok_hf::SplitChain`.

**Added tokens** with all flags off are matched in the raw text first (see
`pretok_hf`); they may not contain `\n` followed by more text, which a chunk
cut could separate.

**Measured** (release, 1 thread, first 10 MB of the multilingual bench
corpus, a shared 2-core machine at load average ~8, so ratios within a run
matter more than absolutes): `scripts/bench-compare
bench-corpus/all.txt --encodings deepseek-v3,qwen3 --threads 1
--max-mb 10 --slow-max-mb 10` gave the crate 1.4–1.8 MB/s (deepseek-v3) and
1.3–1.4 MB/s (qwen3), with equal totals. `examples/hf_engine_speed.rs`: the
DeepSeek scanner alone 130–200 MB/s; counting deepseek-v3 12.6–17.7 MB/s
while the engine re-split each piece with a whole-text fancy-regex (~120 ns
a call for 2.5 M pieces), 47 MB/s with `SplitPattern::Whole`; qwen3 (the
engine's Qwen 2 scanner directly) 42–54 MB/s. Load: 0.4–1 s (JSON parse,
the self-encoding check, and 90–130 ms for DeepSeek's class table).
*/

use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::Deserialize;
use serde_json::Value;
use unicode_normalization_alignments::{is_nfc_quick, IsNormalized, UnicodeNormalization};

use super::bpe::{BpeCounter, BpeTokenizer};
use super::pretok::SplitPattern;
use super::pretok_deepseek::DeepSeekScanner;
use super::pretok_hf::{AddedTokens, Segment, SplitChain};
use super::ranks::Ranks;
use super::{Counter, Tokenizer, TokenizerInfo};

/// `TokenizerInfo.family` of a tokenizer.json counted by the engine.
pub const FAMILY: &str = "huggingface (engine)";

/// The split HF's `ByteLevel` pre-tokenizer applies when `use_regex` is on.
pub const BYTE_LEVEL_REGEX: &str =
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

/// What [`convert`] builds from an eligible file.
pub struct Converted {
    pub ranks: Ranks,
    /// Rank → token id of the file.
    pub ids: Vec<u32>,
    /// The split steps' regexes, in order.
    pub splits: Vec<String>,
    pub nfc: bool,
    /// `(content, id)` of every added token.
    pub added: Vec<(String, u32)>,
    /// Size of the model's vocabulary (without added tokens).
    pub vocab_size: usize,
}

/// Everything but the vocabulary and merges: read first, so that a file
/// that is not eligible (gemma3's is 33 MB) is turned down without building
/// its vocabulary.
#[derive(Deserialize)]
struct Head {
    #[serde(default)]
    added_tokens: Vec<AddedToken>,
    #[serde(default)]
    normalizer: Value,
    #[serde(default)]
    pre_tokenizer: Value,
    model: Model,
}

#[derive(Deserialize)]
struct Body {
    model: Tables,
}

#[derive(Deserialize)]
struct Tables {
    #[serde(default)]
    vocab: FxHashMap<String, u32>,
    #[serde(default)]
    merges: Vec<Value>,
}

#[derive(Deserialize)]
struct AddedToken {
    id: u32,
    content: String,
    #[serde(default)]
    single_word: bool,
    #[serde(default)]
    lstrip: bool,
    #[serde(default)]
    rstrip: bool,
    #[serde(default)]
    normalized: bool,
}

#[derive(Deserialize)]
struct Model {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    dropout: Option<f64>,
    #[serde(default)]
    continuing_subword_prefix: Option<String>,
    #[serde(default)]
    end_of_word_suffix: Option<String>,
    #[serde(default)]
    byte_fallback: bool,
}

/// Builds the engine's inputs from a tokenizer.json, or says why the file is
/// not eligible (the caller then counts with the crate).
pub fn convert(data: &[u8]) -> Result<Converted, String> {
    let file: Head = serde_json::from_slice(data).map_err(|e| format!("not parsed: {e}"))?;
    let nfc = normalizer(&file.normalizer)?;
    let splits = pre_tokenizer(&file.pre_tokenizer)?;
    let added = added_tokens(&file.added_tokens, nfc)?;
    let model = file.model;
    if model.kind.as_deref() != Some("BPE") {
        return Err("the model is not BPE".into());
    }
    if model.dropout.is_some_and(|d| d > 0.0) {
        return Err("BPE dropout".into());
    }
    if model
        .continuing_subword_prefix
        .is_some_and(|s| !s.is_empty())
        || model.end_of_word_suffix.is_some_and(|s| !s.is_empty())
    {
        return Err("a subword prefix or word suffix".into());
    }
    if model.byte_fallback {
        return Err("byte_fallback".into());
    }
    let added_ids: rustc_hash::FxHashSet<u32> = added.iter().map(|&(_, id)| id).collect();
    let Body { model: tables } =
        serde_json::from_slice(data).map_err(|e| format!("not parsed: {e}"))?;
    let (ranks, ids) = merge_ranks(&tables.vocab, &tables.merges, &added_ids)?;
    Ok(Converted {
        ranks,
        ids,
        splits,
        nfc,
        added,
        vocab_size: tables.vocab.len(),
    })
}

fn kind(v: &Value) -> Option<&str> {
    v.get("type").and_then(Value::as_str)
}

/// `Ok(true)` for NFC, `Ok(false)` for no normalization.
fn normalizer(n: &Value) -> Result<bool, String> {
    match kind(n) {
        None if n.is_null() => Ok(false),
        Some("NFC") => Ok(true),
        Some("Sequence") => {
            let list = n
                .get("normalizers")
                .and_then(Value::as_array)
                .ok_or("a normalizer Sequence without a list")?;
            match list.as_slice() {
                [] => Ok(false),
                [one] => normalizer(one),
                _ => Err("a normalizer Sequence of several".into()),
            }
        }
        other => Err(format!("normalizer {other:?}")),
    }
}

/// The split regexes of the pre-tokenizer chain, which must end in
/// `ByteLevel`.
fn pre_tokenizer(p: &Value) -> Result<Vec<String>, String> {
    let steps: Vec<&Value> = match kind(p) {
        Some("Sequence") => p
            .get("pretokenizers")
            .and_then(Value::as_array)
            .ok_or("a pre-tokenizer Sequence without a list")?
            .iter()
            .collect(),
        Some(_) => vec![p],
        None => return Err("no pre-tokenizer (not byte-level)".into()),
    };
    let Some((last, splits)) = steps.split_last() else {
        return Err("an empty pre-tokenizer Sequence".into());
    };
    if kind(last) != Some("ByteLevel") {
        return Err("the pre-tokenizer does not end in ByteLevel".into());
    }
    if last.get("add_prefix_space").and_then(Value::as_bool) == Some(true) {
        return Err("ByteLevel adds a prefix space".into());
    }
    let mut out = Vec::new();
    for s in splits {
        if kind(s) != Some("Split") {
            return Err(format!("pre-tokenizer step {:?}", kind(s)));
        }
        if s.get("behavior").and_then(Value::as_str) != Some("Isolated") {
            return Err("a Split that is not Isolated".into());
        }
        if s.get("invert").and_then(Value::as_bool) != Some(false) {
            return Err("an inverted Split".into());
        }
        let pattern = s.get("pattern").ok_or("a Split without a pattern")?;
        if let Some(re) = pattern.get("Regex").and_then(Value::as_str) {
            out.push(re.to_string());
        } else if let Some(lit) = pattern.get("String").and_then(Value::as_str) {
            out.push(fancy_regex::escape(lit).into_owned());
        } else {
            return Err("a Split pattern that is neither Regex nor String".into());
        }
    }
    if last.get("use_regex").and_then(Value::as_bool) != Some(false) {
        out.push(BYTE_LEVEL_REGEX.to_string());
    }
    Ok(out)
}

fn added_tokens(tokens: &[AddedToken], nfc: bool) -> Result<Vec<(String, u32)>, String> {
    let mut out = Vec::with_capacity(tokens.len());
    for t in tokens {
        if t.single_word || t.lstrip || t.rstrip {
            return Err(format!(
                "added token {:?} has single_word, lstrip or rstrip",
                t.content
            ));
        }
        // With a normalizer, `normalized` tokens are matched in normalized
        // text, a second pass we do not implement.
        if t.normalized && nfc {
            return Err(format!(
                "added token {:?} is matched after normalization",
                t.content
            ));
        }
        if t.content.trim_end_matches('\n').contains('\n') {
            return Err(format!(
                "added token {:?} spans a line break (a chunk cut could split it)",
                t.content
            ));
        }
        out.push((t.content.clone(), t.id));
    }
    Ok(out)
}

/// GPT-2's byte ↔ character table: printable Latin-1 bytes stand for
/// themselves, the other 68 bytes for U+0100 onwards, in byte order.
fn byte_of_char() -> FxHashMap<char, u8> {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut map = FxHashMap::default();
    let mut next = 0x100u32;
    for b in 0..=255u8 {
        let c = if printable(b) {
            b as char
        } else {
            let c = char::from_u32(next).expect("U+0100..U+0143");
            next += 1;
            c
        };
        map.insert(c, b);
    }
    map
}

/// Ranks from the merge list, after checking the conditions in the module
/// docs. Returns the ranks and the rank → id table.
fn merge_ranks(
    vocab: &FxHashMap<String, u32>,
    merges: &[Value],
    added: &rustc_hash::FxHashSet<u32>,
) -> Result<(Ranks, Vec<u32>), String> {
    let table = byte_of_char();
    let decode =
        |s: &str| -> Option<Vec<u8>> { s.chars().map(|c| table.get(&c).copied()).collect() };
    // Token id → bytes, for the model's own tokens.
    let mut bytes_of: FxHashMap<u32, Vec<u8>> = FxHashMap::default();
    for (s, &id) in vocab {
        if added.contains(&id) {
            continue;
        }
        let b = decode(s).ok_or_else(|| format!("vocabulary entry {s:?} is not byte-level"))?;
        bytes_of.insert(id, b);
    }
    let mut ids = vec![u32::MAX; 256 + merges.len()];
    let mut byte_id = [u32::MAX; 256];
    for (&id, b) in &bytes_of {
        if let [one] = b[..] {
            byte_id[one as usize] = id;
            ids[one as usize] = id;
        }
    }
    if byte_id.contains(&u32::MAX) {
        return Err("a byte is not in the vocabulary".into());
    }
    // (left id, right id) → (merge index, result id).
    let mut pairs: FxHashMap<(u32, u32), (u32, u32)> = FxHashMap::default();
    let mut merged: FxHashMap<u32, u32> = FxHashMap::default();
    for (k, m) in merges.iter().enumerate() {
        let (a, b) = match m {
            Value::String(s) => s
                .split_once(' ')
                .ok_or_else(|| format!("merge {k} is not `a b`"))?,
            Value::Array(v) if v.len() == 2 => (
                v[0].as_str().ok_or("a merge part is not a string")?,
                v[1].as_str().ok_or("a merge part is not a string")?,
            ),
            _ => return Err(format!("merge {k} is not a pair")),
        };
        let id = |s: &str| {
            vocab
                .get(s)
                .copied()
                .filter(|id| bytes_of.contains_key(id))
                .ok_or_else(|| format!("merge {k}: {s:?} is not a token"))
        };
        let (left, right) = (id(a)?, id(b)?);
        let result = id(&format!("{a}{b}"))?;
        if merged.insert(result, k as u32).is_some() {
            return Err(format!("token {a}{b} is the result of more than one merge"));
        }
        pairs.entry((left, right)).or_insert((k as u32, result));
        ids[256 + k] = result;
    }
    if let Some((id, _)) = bytes_of
        .iter()
        .find(|(id, b)| b.len() > 1 && !merged.contains_key(id))
    {
        return Err(format!("token {id} is not the result of a merge"));
    }
    // Condition 2: every token encodes to itself under the merge list.
    let mut symbols = Vec::new();
    for (&id, b) in &bytes_of {
        if b.len() < 2 {
            continue;
        }
        symbols.clear();
        symbols.extend(b.iter().map(|&x| byte_id[x as usize]));
        while symbols.len() > 1 {
            let best = symbols
                .windows(2)
                .enumerate()
                .filter_map(|(i, w)| pairs.get(&(w[0], w[1])).map(|&(k, r)| (k, i, r)))
                .min();
            let Some((_, i, r)) = best else { break };
            symbols[i] = r;
            symbols.remove(i + 1);
        }
        if symbols[..] != [id] {
            return Err(format!(
                "token {id} does not encode to itself under the merge list"
            ));
        }
    }
    let ranked = ids
        .iter()
        .enumerate()
        .map(|(rank, id)| (bytes_of[id].clone(), rank as u32));
    let ranks = Ranks::from_ranked(ranked)?;
    Ok((ranks, ids))
}

/// A byte-level BPE tokenizer.json counted by the engine.
pub struct HfBpeTokenizer {
    engine: BpeTokenizer,
    /// Pieces are cut here when the engine has no scanner for the chain.
    chain: Option<Chain>,
    nfc: bool,
    added: Arc<AddedTokens>,
    ids: Arc<Vec<u32>>,
}

impl HfBpeTokenizer {
    /// From a tokenizer.json's bytes; `Err` says why it is not eligible.
    /// `info.vocab_size` and `info.family` are set here.
    pub fn from_bytes(mut info: TokenizerInfo, data: &[u8]) -> Result<Self, String> {
        let c = convert(data)?;
        info.vocab_size = c.vocab_size;
        info.family = FAMILY.to_string();
        let (pattern, chain) = match &c.splits[..] {
            [one] if SplitPattern::from_regex(one)?.is_scanner() => {
                (SplitPattern::from_regex(one)?, None)
            }
            splits => {
                let chain = match DeepSeekScanner::for_patterns(splits) {
                    Some(scanner) => Chain::DeepSeek(scanner),
                    None => Chain::Regex(SplitChain::new(splits)?),
                };
                (SplitPattern::Whole, Some(chain))
            }
        };
        Ok(HfBpeTokenizer {
            engine: BpeTokenizer::new(info, Arc::new(c.ranks), pattern),
            chain,
            nfc: c.nfc,
            added: Arc::new(AddedTokens::new(&c.added)?),
            ids: Arc::new(c.ids),
        })
    }

    /// Whether pieces come from a hand-written scanner (the engine's, or
    /// DeepSeek's), not from fancy-regex.
    pub fn uses_scanner(&self) -> bool {
        !matches!(self.chain, Some(Chain::Regex(_)))
    }

    fn hf_counter(&self) -> HfBpeCounter {
        HfBpeCounter {
            engine: self.engine.bpe_counter(),
            chain: self.chain.clone(),
            nfc: self.nfc,
            added: Arc::clone(&self.added),
            normalized: String::new(),
        }
    }
}

/// A pre-tokenizer chain the engine's own patterns do not cover; the
/// engine then takes each piece whole ([`SplitPattern::Whole`]).
#[derive(Clone, Debug)]
enum Chain {
    DeepSeek(DeepSeekScanner),
    Regex(SplitChain),
}

impl Chain {
    #[inline]
    fn for_each_piece(&self, text: &str, f: &mut impl FnMut(&str)) {
        match self {
            Chain::DeepSeek(s) => s.for_each_piece(text, f),
            Chain::Regex(c) => c.for_each_piece(text, f),
        }
    }
}

/// One thread's counter: the engine's counter plus this file's steps.
pub struct HfBpeCounter {
    engine: BpeCounter,
    chain: Option<Chain>,
    nfc: bool,
    added: Arc<AddedTokens>,
    /// Reused for NFC output.
    normalized: String,
}

impl HfBpeCounter {
    /// Calls `f` with each text segment, normalized, and counts added tokens.
    fn text(&mut self, segment: &str) -> u64 {
        let HfBpeCounter {
            engine,
            chain,
            nfc,
            normalized,
            ..
        } = self;
        let text = if *nfc && !is_nfc(segment) {
            normalized.clear();
            normalized.extend(segment.nfc().map(|(c, _)| c));
            normalized.as_str()
        } else {
            segment
        };
        match chain {
            None => engine.count(text),
            Some(chain) => engine.count_pieces(|mut piece| chain.for_each_piece(text, &mut piece)),
        }
    }
}

/// NFC already: ASCII, or the quick check says yes.
fn is_nfc(s: &str) -> bool {
    s.is_ascii() || is_nfc_quick(s.chars()) == IsNormalized::Yes
}

impl Counter for HfBpeCounter {
    fn count(&mut self, text: &str) -> u64 {
        let added = Arc::clone(&self.added);
        let mut total = 0;
        added.for_each_segment(text, |s| match s {
            Segment::Added(_) => total += 1,
            Segment::Text(t) => total += self.text(t),
        });
        total
    }
}

impl Tokenizer for HfBpeTokenizer {
    fn info(&self) -> &TokenizerInfo {
        self.engine.info()
    }

    fn counter(&self) -> Box<dyn Counter> {
        Box::new(self.hf_counter())
    }

    /// Token ids of the file (the engine's ranks mapped back).
    fn encode(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        let map = |ranks: Vec<u32>, out: &mut Vec<u32>| {
            out.extend(ranks.into_iter().map(|r| self.ids[r as usize]));
        };
        self.added.for_each_segment(text, |s| match s {
            Segment::Added(id) => out.push(id),
            Segment::Text(t) => {
                let owned;
                let t = if self.nfc && !is_nfc(t) {
                    owned = t.nfc().map(|(c, _)| c).collect::<String>();
                    owned.as_str()
                } else {
                    t
                };
                match &self.chain {
                    None => map(self.engine.encode(t), &mut out),
                    Some(chain) => {
                        chain.for_each_piece(t, &mut |p| map(self.engine.encode(p), &mut out))
                    }
                }
            }
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpt2_byte_table() {
        let t = byte_of_char();
        assert_eq!(t.len(), 256);
        assert_eq!(t[&'Ġ'], b' ');
        assert_eq!(t[&'Ċ'], b'\n');
        assert_eq!(t[&'a'], b'a');
        assert_eq!(t[&'\u{100}'], 0);
        assert_eq!(t[&'\u{143}'], 0xAD);
    }

    fn toy(merges: &str, extra_vocab: &str) -> String {
        let mut vocab: Vec<String> = (0..=255u8)
            .map(|b| {
                let c = byte_of_char().into_iter().find(|&(_, v)| v == b).unwrap().0;
                serde_json::to_string(&c.to_string()).unwrap()
            })
            .collect();
        vocab.extend(
            extra_vocab
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| format!("\"{s}\"")),
        );
        let vocab: Vec<String> = vocab
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{s}: {i}"))
            .collect();
        format!(
            r#"{{"added_tokens": [], "normalizer": null,
            "pre_tokenizer": {{"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}},
            "model": {{"type": "BPE", "vocab": {{{}}}, "merges": [{merges}]}}}}"#,
            vocab.join(", ")
        )
    }

    #[test]
    fn consistent_merges_are_accepted() {
        let c = convert(toy(r#""a b", "ab c""#, "ab,abc").as_bytes()).unwrap();
        assert_eq!(c.ranks.get(b"ab"), Some(256));
        assert_eq!(c.ranks.get(b"abc"), Some(257));
        assert_eq!(c.ids[257], 257);
        assert_eq!(c.splits, [BYTE_LEVEL_REGEX]);
    }

    #[test]
    fn a_token_the_merges_cannot_rebuild_is_rejected() {
        // "bc" merges first, so "abc" (from "ab c") never forms from "abc".
        let e = convert(toy(r#""b c", "a b", "ab c""#, "bc,ab,abc").as_bytes())
            .err()
            .unwrap();
        assert!(e.contains("does not encode to itself"), "{e}");
        let e = convert(toy(r#""a b", "ab c", "a bc", "b c""#, "ab,abc,bc").as_bytes())
            .err()
            .unwrap();
        assert!(e.contains("more than one merge"), "{e}");
    }
}
