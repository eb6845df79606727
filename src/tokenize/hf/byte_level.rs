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
without `ignore_merges`. DeepSeek V3/V4, Qwen 3 and claude-legacy pass; Llama 3's file
(converted from tiktoken ranks, with every split of a token as a merge)
fails (1) and takes the second route.

**Every split as a merge** (`split_ranks`; a tokenizer.json converted from
tiktoken ranks, as transformers' converter writes them: `llama3-hf`). The
file lists, for each token `T` in id order, every split `l r` of `T` into
two tokens, sorted by `(id l, id r)`. We set rank = token id, derive that
list from the vocabulary (each prefix and suffix of each token looked up in
the rank table: ~1 M lookups for Llama 3's 128 k tokens, once per file
before the start-up cache keeps the result) and accept the file only if:

1. its merges are exactly that list, in that order, and every byte is a
   token;
2. `ignore_merges` is on (the crate then takes a piece that is a token as
   that token, as the engine does; without it the crate would merge it);

and count it with [`Ties::ByParts`]: among candidate pairs of the lowest
rank, the lower `(rank of the left part, rank of the right part)` first,
then the leftmost. Then the engine *is* the crate's algorithm:

- Same candidates. The crate's candidates are the adjacent pairs listed as
  merges; every split of every token is listed, so they are exactly the
  adjacent pairs whose concatenation is a token, the engine's candidates.
  Both start from single bytes (every byte is a token).
- Same order. The crate pops the least `(merge index, position)` from its
  heap (`Merge`'s `Ord` in the crate's `word.rs`). The merge index of
  `l r` orders as `(id(l+r), id l, id r)`: the list is sorted that way and
  no pair appears twice (`l r` determines `T = l+r`, and one `T` lists
  each split once). With rank = id that is the engine's
  `(rank T, rank l, rank r)`, then position in both.
- Same stale entries. A queued entry whose position's parts changed is
  skipped by both: parts only grow, so the pair there is now a longer byte
  string, another token or none, and the crate's check (the pair's result
  is still the entry's) fails as the engine's (the pair's rank is still
  the entry's) does.

So each step both merge the same pair; the whole-piece shortcut agrees by
(2), and the engine's cut of long pieces (`bpe::cut`) holds for any order
that depends on the pairs and on positions only through their order.

**The tie-break never changes a result from single bytes** (a lemma; the
tie-break is kept anyway, so that exactness rests on the argument above
alone). Take the first step where leftmost-first and by-parts would
differ: the lowest rank `ρ`, of token `T`, has candidates `l1 r1` at `p1`
and `l2 r2` at `p2 > p1`, different splits of `T`. Up to that step both
made the same merges. Look at the bytes of `T` at `p1`: its two parts tile
them, so no part ever crossed their edges (parts only grow), and every
merge inside them so far was the lowest candidate of all, hence the
lowest inside them. So the merges inside are, in order, the first merges
of `T`'s bytes merged alone, and `l1 r1` is the state with two parts of
that one deterministic sequence; so is `l2 r2`, for the same reason. One
sequence has one two-part state: `l1 = l2`, `r1 = r2`, against the
assumption. (Overlapping candidates `[x][y][z]`, `xy = yz = T`, are the
case `l1 r1 = x y`, `l2 r2 = y z`.) Checked by brute force too: no
difference on every string of up to 12 bytes over `a`, `b` with a
vocabulary of overlapping tokens (`bpe` tests), on the 474,851 distinct
pieces of `bench-corpus/all.txt` and on 100,000 random concatenations of
Llama 3 tokens (a script, not kept). The tests therefore cannot show
llama3-hf failing with the tie-break off; they show the tie-break's choice
on a built state, and llama3-hf's ids equal the crate's and the rank
file's on every input where two splits of a token could meet.

**Normalizer**: none, NFC or NFKC (claude-legacy), applied to each text
segment between added tokens as the crate does, with the crate's own
normalization tables (`unicode-normalization-alignments`, Unicode 9: a newer
table reorders marks assigned since). Neither needs care at chunk cuts:
`chunk::next_cut` cuts between `\n` and an ASCII or CJK letter; both are
starters, `\n` decomposes to nothing else and composes with nothing, so the
normal form of the parts is the parts of the normal form.

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
engine's Qwen 2 scanner directly) 42–54 MB/s.

**Load** (the whole process on one small file, mean of 10 runs, two rounds:
`tokenaudit audit FILE -q -t NAME`): deepseek-v3 318–324 ms → 136–139 ms,
deepseek-v4 312–313 → 130, qwen3 342–367 → 163–183, after the vocabulary
and merges were borrowed from the file instead of allocated, the checks
indexed by token id instead of hashed, and DeepSeek's class table built
from ranges (~90 ms before). In a `perf record` of qwen3's load after
that, JSON parsing had 28% of the samples and `merge_ranks` (decoding the
vocabulary, the merges loop, the self-encoding check) 53%.
*/

use std::borrow::Cow;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use unicode_normalization_alignments::{
    is_nfc_quick, is_nfkc_quick, IsNormalized, UnicodeNormalization,
};

use crate::tokenize::bpe::ranks::{Ranks, Ties};
use crate::tokenize::bpe::{BpeCounter, BpeTokenizer};
use crate::tokenize::compiled;
use crate::tokenize::hf::json::{
    added_tokens, kind, read_head, read_tables, Head, HfEngine, MergeSpec, FAMILY,
};
use crate::tokenize::pretok::deepseek::DeepSeekScanner;
use crate::tokenize::pretok::hf::{AddedTokens, SplitChain};
use crate::tokenize::pretok::SplitPattern;
use crate::tokenize::{Counter, Tokenizer, TokenizerInfo};

/// The split HF's `ByteLevel` pre-tokenizer applies when `use_regex` is on.
pub const BYTE_LEVEL_REGEX: &str = crate::tokenize::pretok::patterns::GPT2_BYTE_LEVEL;

/// What [`convert`] builds from an eligible file; also what the start-up
/// cache keeps of it (`tokenize::compiled`).
#[derive(Serialize, Deserialize)]
pub struct Converted {
    #[serde(with = "compiled::ranks")]
    pub ranks: Arc<Ranks>,
    /// Rank → token id of the file.
    #[serde(with = "compiled::le_u32s")]
    pub ids: Vec<u32>,
    /// The split steps' regexes, in order.
    pub splits: Vec<String>,
    pub normal: Normal,
    /// `(content, id)` of every added token.
    pub added: Vec<(String, u32)>,
    /// Size of the model's vocabulary (without added tokens).
    pub vocab_size: usize,
}

/// Builds the engine's inputs from a tokenizer.json, or says why the file is
/// not eligible (the caller then counts with the crate).
pub fn convert(data: &[u8]) -> Result<Converted, String> {
    convert_head(&read_head(data)?, data)
}

/// [`convert`], with the head of the file already read.
fn convert_head(file: &Head, data: &[u8]) -> Result<Converted, String> {
    let normal = normalizer(&file.normalizer)?;
    let splits = pre_tokenizer(&file.pre_tokenizer)?;
    let added = added_tokens(&file.added_tokens, normal != Normal::None)?;
    let model = &file.model;
    model.check_plain_bpe()?;
    if model.byte_fallback {
        return Err("byte_fallback".into());
    }
    let added_ids: rustc_hash::FxHashSet<u32> = added.iter().map(|&(_, id)| id).collect();
    let tables = read_tables(data)?;
    let (ranks, ids) = match merge_ranks(&tables.vocab, &tables.merges, &added_ids) {
        Ok(both) => both,
        Err(one_merge) => split_ranks(
            &tables.vocab,
            &tables.merges,
            &added_ids,
            model.ignore_merges,
        )
        .map_err(|every_split| format!("{one_merge}; {every_split}"))?,
    };
    Ok(Converted {
        ranks: Arc::new(ranks),
        ids,
        splits,
        normal,
        added,
        vocab_size: tables.vocab.len(),
    })
}

/// The normalizers the engine applies itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Normal {
    None,
    Nfc,
    Nfkc,
}

impl Normal {
    /// `segment` in this normal form: itself when it already is (the quick
    /// check, no copy), else written into `buf`.
    fn apply<'a>(self, segment: &'a str, buf: &'a mut String) -> &'a str {
        let quick = match self {
            Normal::None => return segment,
            _ if segment.is_ascii() => return segment,
            Normal::Nfc => is_nfc_quick(segment.chars()),
            Normal::Nfkc => is_nfkc_quick(segment.chars()),
        };
        if quick == IsNormalized::Yes {
            return segment;
        }
        buf.clear();
        match self {
            Normal::Nfkc => buf.extend(segment.nfkc().map(|(c, _)| c)),
            _ => buf.extend(segment.nfc().map(|(c, _)| c)),
        }
        buf
    }
}

/// The file's normalizer, if the engine applies it.
fn normalizer(n: &Value) -> Result<Normal, String> {
    match kind(n) {
        None if n.is_null() => Ok(Normal::None),
        Some("NFC") => Ok(Normal::Nfc),
        Some("NFKC") => Ok(Normal::Nfkc),
        Some("Sequence") => {
            let list = n
                .get("normalizers")
                .and_then(Value::as_array)
                .ok_or("a normalizer Sequence without a list")?;
            match list.as_slice() {
                [] => Ok(Normal::None),
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

/// An id no token has.
const NONE: u32 = u32::MAX;

/// Ranks from the merge list, after checking the conditions in the module
/// docs. Returns the ranks and the rank → id table.
///
/// This is most of the load time of a tokenizer.json (DeepSeek V3: 128 k
/// tokens and merges), and a pre-flight check of one prompt is all load
/// time, so the tables are indexed by token id rather than hashed, and the
/// merges loop allocates nothing per merge.
fn merge_ranks(
    vocab: &FxHashMap<Cow<str>, u32>,
    merges: &[MergeSpec],
    added: &rustc_hash::FxHashSet<u32>,
) -> Result<(Ranks, Vec<u32>), String> {
    let tokens = TokenBytes::new(vocab, added)?;
    let mut ids = vec![NONE; 256 + merges.len()];
    let mut byte_id = [NONE; 256];
    for id in 0..tokens.len() {
        if let Some(&[one]) = tokens.get(id) {
            byte_id[one as usize] = id;
            ids[one as usize] = id;
        }
    }
    if byte_id.contains(&NONE) {
        return Err("a byte is not in the vocabulary".into());
    }
    // (left id, right id) → (merge index, result id).
    let mut pairs: FxHashMap<(u32, u32), (u32, u32)> = FxHashMap::default();
    pairs.reserve(merges.len());
    // Token id → the merge that makes it.
    let mut made_by = vec![NONE; tokens.len() as usize];
    let mut joined = String::new();
    let mut previous = NONE;
    for (k, m) in merges.iter().enumerate() {
        let (a, b) = m.parts().ok_or_else(|| format!("merge {k} is not `a b`"))?;
        let id = |s: &str| {
            vocab
                .get(s)
                .copied()
                .filter(|&id| tokens.get(id).is_some())
                .ok_or_else(|| format!("merge {k}: {s:?} is not a token"))
        };
        let (left, right) = (id(a)?, id(b)?);
        // Files number a merge's result one past the previous merge's as a
        // rule. Decoding is one-to-one, so a token whose bytes are the two
        // parts' bytes is the one the joined string names: checking that
        // guess on the bytes saves a third of the string lookups.
        let guess = previous.wrapping_add(1);
        let result = if tokens.is_join(guess, left, right) {
            guess
        } else {
            joined.clear();
            joined.push_str(a);
            joined.push_str(b);
            id(&joined)?
        };
        previous = result;
        let maker = &mut made_by[result as usize];
        if *maker != NONE {
            return Err(format!("token {a}{b} is the result of more than one merge"));
        }
        *maker = k as u32;
        pairs.entry((left, right)).or_insert((k as u32, result));
        ids[256 + k] = result;
    }
    if let Some(id) = (0..tokens.len())
        .find(|&id| tokens.get(id).is_some_and(|b| b.len() > 1) && made_by[id as usize] == NONE)
    {
        return Err(format!("token {id} is not the result of a merge"));
    }
    // Condition 2: every token encodes to itself under the merge list.
    let mut symbols = Vec::new();
    for id in 0..tokens.len() {
        let Some(b) = tokens.get(id).filter(|b| b.len() > 1) else {
            continue;
        };
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
    let ranked = ids.iter().enumerate().map(|(rank, &id)| {
        let bytes = tokens.get(id).expect("every rank's token has bytes");
        (bytes.to_vec(), rank as u32)
    });
    let ranks = Ranks::from_ranked(ranked)?;
    Ok((ranks, ids))
}

/// Ranks for a file whose merges are every split of every token (the second
/// route in the module docs): rank = token id, ties broken by the parts'
/// ranks. Returns the ranks and the rank → id table (the identity).
///
/// The expected merge list is derived from the vocabulary (each token's
/// splits into two tokens, found by looking each prefix and suffix up in
/// the rank table just built) and compared with the file's, merge by
/// merge, as strings: no lookup per merge of the file.
fn split_ranks(
    vocab: &FxHashMap<Cow<str>, u32>,
    merges: &[MergeSpec],
    added: &rustc_hash::FxHashSet<u32>,
    ignore_merges: bool,
) -> Result<(Ranks, Vec<u32>), String> {
    if !ignore_merges {
        return Err("not every split: ignore_merges is off".into());
    }
    let tokens = TokenBytes::new(vocab, added)?;
    let ranked = (0..tokens.len()).filter_map(|id| tokens.get(id).map(|b| (b.to_vec(), id)));
    let ranks = Ranks::from_ranked(ranked)?.with_ties(Ties::ByParts);
    if (0..=255u8).any(|b| ranks.byte_rank(b).is_none()) {
        return Err("a byte is not in the vocabulary".into());
    }
    // Token id → its string in the file.
    let mut names: Vec<&str> = vec![""; tokens.len() as usize];
    for (s, &id) in vocab {
        if tokens.get(id).is_some() {
            if !names[id as usize].is_empty() {
                return Err(format!("token id {id} has two strings"));
            }
            names[id as usize] = s;
        }
    }
    let mut k = 0usize;
    let mut splits: Vec<(u32, u32)> = Vec::new();
    for id in 0..tokens.len() {
        let Some(t) = tokens.get(id) else { continue };
        splits.clear();
        splits
            .extend((1..t.len()).filter_map(|i| Some((ranks.get(&t[..i])?, ranks.get(&t[i..])?))));
        splits.sort_unstable();
        for &(left, right) in &splits {
            let Some(m) = merges.get(k) else {
                return Err(format!(
                    "not every split: the merges end before token {id}'s"
                ));
            };
            if m.parts() != Some((names[left as usize], names[right as usize])) {
                return Err(format!(
                    "not every split: merge {k} is not `{} {}`",
                    names[left as usize], names[right as usize]
                ));
            }
            k += 1;
        }
    }
    if k != merges.len() {
        return Err(format!(
            "not every split: merge {k} is not a split of a token"
        ));
    }
    let ids = (0..ranks.rank_bound() as u32).collect();
    Ok((ranks, ids))
}

/// The bytes of the model's own tokens (not added ones), by token id, in
/// one buffer.
struct TokenBytes {
    bytes: Vec<u8>,
    /// `ends[id]..ends[id + 1]` is token `id`'s range in `bytes`; empty for
    /// an id that is not a model token.
    ends: Vec<u32>,
}

impl TokenBytes {
    fn new(
        vocab: &FxHashMap<Cow<str>, u32>,
        added: &rustc_hash::FxHashSet<u32>,
    ) -> Result<Self, String> {
        let byte_of = byte_of_char();
        // GPT-2's table maps bytes to U+0021..=U+0143; a direct array is
        // several times faster than the map over a vocabulary's characters.
        let mut table = [u16::MAX; 0x144];
        for (&c, &b) in &byte_of {
            table[c as usize] = b as u16;
        }
        let count = vocab.values().max().map_or(0, |&max| max as usize + 1);
        // Ids index tables here; a file with sparse ids is not one we know.
        if count > 2 * vocab.len() + 1024 {
            return Err("token ids are not dense".into());
        }
        let mut spans: Vec<(u32, u32)> = vec![(0, 0); count];
        let mut bytes = Vec::with_capacity(vocab.len() * 8);
        for (s, &id) in vocab {
            if added.contains(&id) {
                continue;
            }
            let start = bytes.len() as u32;
            for c in s.chars() {
                match table.get(c as usize) {
                    Some(&b) if b != u16::MAX => bytes.push(b as u8),
                    _ => return Err(format!("vocabulary entry {s:?} is not byte-level")),
                }
            }
            spans[id as usize] = (start, bytes.len() as u32);
        }
        // Laid out again in id order, so a range is two neighbouring ends.
        let mut ordered = Vec::with_capacity(bytes.len());
        let mut ends = Vec::with_capacity(count + 1);
        ends.push(0);
        for &(start, end) in &spans {
            ordered.extend_from_slice(&bytes[start as usize..end as usize]);
            ends.push(ordered.len() as u32);
        }
        Ok(TokenBytes {
            bytes: ordered,
            ends,
        })
    }

    /// Number of ids the table covers (one past the largest).
    fn len(&self) -> u32 {
        (self.ends.len() - 1) as u32
    }

    /// Whether token `id` is tokens `left` and `right` joined.
    fn is_join(&self, id: u32, left: u32, right: u32) -> bool {
        match (self.get(id), self.get(left), self.get(right)) {
            (Some(t), Some(l), Some(r)) => {
                t.len() == l.len() + r.len() && t.starts_with(l) && t.ends_with(r)
            }
            _ => false,
        }
    }

    /// Token `id`'s bytes, or `None` if it is not a model token.
    fn get(&self, id: u32) -> Option<&[u8]> {
        let id = id as usize;
        let (&start, &end) = (self.ends.get(id)?, self.ends.get(id + 1)?);
        (end > start).then(|| &self.bytes[start as usize..end as usize])
    }
}

/// A byte-level BPE tokenizer.json counted by the engine.
pub struct HfBpeTokenizer {
    engine: BpeTokenizer,
    /// Pieces are cut here when the engine has no scanner for the chain.
    chain: Option<Chain>,
    normal: Normal,
    added: Arc<AddedTokens>,
    ids: Arc<Vec<u32>>,
    /// What the chain and added tokens were built from, for [`Self::recipe`].
    splits: Vec<String>,
    added_list: Vec<(String, u32)>,
}

impl HfEngine for HfBpeTokenizer {
    fn from_head(info: TokenizerInfo, head: &Head, data: &[u8]) -> Result<Self, String> {
        Self::from_converted(info, convert_head(head, data)?)
    }
}

impl HfBpeTokenizer {
    /// From the converted file (or what the start-up cache kept of it).
    pub fn from_converted(mut info: TokenizerInfo, c: Converted) -> Result<Self, String> {
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
            engine: BpeTokenizer::new(info, c.ranks, pattern),
            chain,
            normal: c.normal,
            added: Arc::new(AddedTokens::new(&c.added)?),
            ids: Arc::new(c.ids),
            splits: c.splits,
            added_list: c.added,
        })
    }

    /// What [`Self::from_converted`] needs to build this tokenizer again.
    pub fn recipe(&self) -> Converted {
        Converted {
            ranks: Arc::clone(self.engine.ranks()),
            ids: self.ids.to_vec(),
            splits: self.splits.clone(),
            normal: self.normal,
            added: self.added_list.clone(),
            vocab_size: self.engine.info().vocab_size,
        }
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
            normal: self.normal,
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
    normal: Normal,
    added: Arc<AddedTokens>,
    /// Reused for normalized text.
    normalized: String,
}

impl HfBpeCounter {
    /// Calls `f` with each text segment, normalized, and counts added tokens.
    fn text(&mut self, segment: &str) -> u64 {
        let HfBpeCounter {
            engine,
            chain,
            normal,
            normalized,
            ..
        } = self;
        let text = normal.apply(segment, normalized);
        match chain {
            None => engine.count(text),
            Some(chain) => engine.count_pieces(text.len(), |mut piece| {
                chain.for_each_piece(text, &mut piece)
            }),
        }
    }
}

impl Counter for HfBpeCounter {
    fn count(&mut self, text: &str) -> u64 {
        Arc::clone(&self.added).count(text, |t| self.text(t))
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
        let map = |ranks: Vec<u32>, out: &mut Vec<u32>| {
            out.extend(ranks.into_iter().map(|r| self.ids[r as usize]));
        };
        let mut buf = String::new();
        self.added.encode(text, |t, out| {
            let t = self.normal.apply(t, &mut buf);
            match &self.chain {
                None => map(self.engine.encode(t), out),
                Some(chain) => chain.for_each_piece(t, &mut |p| map(self.engine.encode(p), out)),
            }
        })
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
        toy_with(merges, extra_vocab, false)
    }

    fn toy_with(merges: &str, extra_vocab: &str, ignore_merges: bool) -> String {
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
            "model": {{"type": "BPE", "vocab": {{{}}}, "merges": [{merges}],
                "ignore_merges": {ignore_merges}}}}}"#,
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

    /// Every split of `ab`, `ba`, `aba` (ids 256..): by token id, then by
    /// the parts' ids (`a ba` is 97 257, `ab a` 256 97).
    const EVERY_SPLIT: &str = r#""a b", "b a", "a ba", "ab a""#;

    #[test]
    fn every_split_in_converter_order_is_accepted_with_ties_by_parts() {
        let c = convert(toy_with(EVERY_SPLIT, "ab,ba,aba", true).as_bytes()).unwrap();
        assert_eq!(c.ranks.ties(), Ties::ByParts);
        assert_eq!(c.ranks.get(b"aba"), Some(258));
        assert_eq!(c.ids[258], 258);
        // The one-merge-per-token route keeps tiktoken's tie-break.
        let c = convert(toy(r#""a b", "ab c""#, "ab,abc").as_bytes()).unwrap();
        assert_eq!(c.ranks.ties(), Ties::Leftmost);
    }

    #[test]
    fn a_list_that_is_not_every_split_in_order_is_refused() {
        let refused = |merges: &str, ignore_merges: bool| {
            convert(toy_with(merges, "ab,ba,aba", ignore_merges).as_bytes())
                .err()
                .unwrap_or_else(|| panic!("{merges} was accepted"))
        };
        // The crate without `ignore_merges` merges a piece that is a token.
        assert!(refused(EVERY_SPLIT, false).contains("ignore_merges"));
        // Two splits of one token swapped, one left out, one added twice,
        // a token's splits before an earlier token's.
        for merges in [
            r#""a b", "b a", "ab a", "a ba""#,
            r#""a b", "b a", "a ba""#,
            r#""a b", "b a", "a ba", "ab a", "ab a""#,
            r#""b a", "a b", "a ba", "ab a""#,
        ] {
            let e = refused(merges, true);
            assert!(e.contains("not every split"), "{merges}: {e}");
        }
    }
}
