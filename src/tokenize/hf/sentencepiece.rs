/*!
SentencePiece-style BPE `tokenizer.json` files (Gemma 3; Mistral 7B v0.1
and the Llama 2 family) counted by our own merge loop instead of the
`tokenizers` crate.

These files do not reduce to ranks as `hf_bpe` needs: they list every split
of a token as a merge (gemma3: 514,906 merges for 236 k results), so the
*pair*, not the result, decides the order. This module runs the crate's own
rule: in a word, merge the adjacent pair that comes first in the merge list,
leftmost on ties, until none is left. Its speed comes from elsewhere: the
text is cut into short pieces at places no merge can cross, and a per-thread
cache answers the pieces it has seen.

**What the crate does** with such a file, per segment of text between added
tokens (matched in the raw text, as in `hf_bpe`): the `Replace` normalizer
turns each space into `▁`; a `Prepend` normalizer puts a `▁` before a
non-empty segment; the pre-tokenizer, if any, is a `Split` on `" "`, which
finds nothing once spaces are `▁`; so the whole segment is one word. Its
characters are the first symbols; a character that is not a token becomes
the `<0xXX>` tokens of its UTF-8 bytes (byte fallback), which no merge joins.

The newer spelling of the same files has no normalizer and a `Metaspace`
pre-tokenizer instead (Mistral 7B v0.3, recent Llama 2 conversions): it too
turns spaces into `▁`, and puts a `▁` before a segment that does not start
with one: every segment (`prepend_scheme: always`), only the one that starts
the input (`first`), or none (`never`). With `split: true` it also cuts the
segment before each `▁`, so no merge crosses a word start.

**Accepted**: model `BPE` with `byte_fallback`, all 256 `<0xXX>` tokens and
none of them in a merge, no dropout, subword prefix, word suffix or
`ignore_merges`, no token with a raw space, no pair merged twice; either the
normalizer `Replace(" " → "▁")`, alone or after `Prepend("▁")`, with no
pre-tokenizer or `Split(" ", MergedWithPrevious)`, or no normalizer and a
`Metaspace` with `▁`; added tokens as `hf_bpe` takes them, not normalized.

**Cuts.** Between characters `a` and `b` that are not next to each other
inside any token of the vocabulary, no merge can ever join symbols across:
every symbol is a token, and one spanning the cut would contain `ab`. The
pair at the cut never merges, and the crate's order restricted to one side
is that side's own order, so counting the sides apart gives the same total.
In these vocabularies no token has a letter before `▁`, so pieces are about
a word each. A literal `▁` in the text is the same symbol as a space, so the
tables here store `▁` as `' '` and the text needs no rewriting.
*/

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::tokenize::bpe::hash::pair_home;
use crate::tokenize::bpe::PieceCache;
use crate::tokenize::compiled::le_u32s;
use crate::tokenize::hf::json::{self, HfEngine, FAMILY};
use crate::tokenize::pretok::hf::AddedTokens;
use crate::tokenize::{Counter, Tokenizer, TokenizerInfo};

/// An id no token has.
const NONE: u32 = u32::MAX;

/// SentencePiece's word-boundary mark, which the normalizer puts for spaces.
const MARK: char = '\u{2581}';

/// Slots of a counter's piece cache (`bpe::PieceCache`, 64 bytes each):
/// 4 MiB per thread.
const CACHE_SLOTS: usize = 1 << 17;

/// The vocabulary and merges, as the counting loop reads them.
struct Model {
    /// Token id of each ASCII character (`' '` standing for `▁`), or NONE.
    ascii: [u32; 128],
    /// Token id of every other character that is a token.
    chars: FxHashMap<char, u32>,
    /// `(left id, right id)` → `(merge index, result id)`.
    merges: Pairs,
    /// Id of `<0xXX>` for each byte.
    byte_ids: [u32; 256],
    /// Bit `b` of `ascii_pairs[a]`: ASCII `a` then `b` occur inside a token.
    ascii_pairs: [u128; 128],
    /// The same for pairs with a non-ASCII character.
    other_pairs: FxHashSet<(char, char)>,
    /// Which segments start with a `▁` that is not in the text.
    prefix: Prefix,
    /// `Metaspace` with `split`: a cut before every `▁` (or space).
    split_words: bool,
}

/// Which segments (text between added tokens) get a `▁` in front.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Prefix {
    Never,
    /// A `Prepend("▁")` normalizer: every non-empty segment, even one that
    /// starts with a space (it then starts with two `▁`).
    Prepend,
    /// `Metaspace` `always`: every segment that does not start with `▁`.
    Always,
    /// `Metaspace` `first`: the segment at the very start of the input,
    /// unless it starts with `▁`.
    First,
}

/// How the file spells its spaces: the normalizer and pre-tokenizer pair.
struct Spaces {
    prefix: Prefix,
    split_words: bool,
}

/// `▁` and space are one symbol; the tables keep it as `' '`.
#[inline]
fn unify(c: char) -> char {
    if c == MARK {
        ' '
    } else {
        c
    }
}

impl Model {
    /// Whether `segment`, a part of `text` (the whole input when
    /// `at_start`, else a continuation cut from its middle), gets a `▁`.
    fn prefix_for(&self, text: &str, segment: &str, at_start: bool) -> bool {
        // A continuation's first segment, if the text starts with it, was
        // cut from the middle of one.
        let starts_segment = at_start || segment.as_ptr() != text.as_ptr();
        let starts_input = at_start && segment.as_ptr() == text.as_ptr();
        let has_mark = segment.starts_with([' ', MARK]);
        match self.prefix {
            Prefix::Never => false,
            Prefix::Prepend => starts_segment,
            Prefix::Always => starts_segment && !has_mark,
            Prefix::First => starts_input && !has_mark,
        }
    }

    #[inline]
    fn id_of(&self, c: char) -> u32 {
        self.id_unified(unify(c))
    }

    /// [`Self::id_of`] a character already [`unify`]-ed.
    #[inline]
    fn id_unified(&self, c: char) -> u32 {
        if c.is_ascii() {
            self.ascii[c as usize]
        } else {
            self.chars.get(&c).copied().unwrap_or(NONE)
        }
    }

    /// Whether `a` then `b` ([`unify`]-ed) occur inside some token (no cut
    /// between them).
    #[inline]
    fn joins(&self, a: char, b: char) -> bool {
        if a.is_ascii() && b.is_ascii() {
            self.ascii_pairs[a as usize] >> (b as u32) & 1 != 0
        } else {
            self.other_pairs.contains(&(a, b))
        }
    }

    /// Cuts `text` (one segment) into parts: pieces that no merge crosses,
    /// and characters that are not tokens. `prefix`: the segment starts with
    /// a `▁` that is not in `text` (see [`Prefix`]); it belongs to the first
    /// piece.
    fn cut<'t>(&self, text: &'t str, prefix: bool, mut on: impl FnMut(Part<'t>)) {
        let mut start = 0;
        let mut piece_prefix = prefix;
        // The previous character, unified, if it is a token.
        let mut prev = prefix.then_some(' ');
        for (i, c) in text.char_indices() {
            let u = unify(c);
            if self.id_unified(u) == NONE {
                if i > start || piece_prefix {
                    on(Part::Piece(&text[start..i], piece_prefix));
                }
                on(Part::Bytes(c));
                start = i + c.len_utf8();
                piece_prefix = false;
                prev = None;
                continue;
            }
            let word_start = self.split_words && u == ' ';
            if prev.is_some_and(|p| word_start || !self.joins(p, u)) {
                if i > start || piece_prefix {
                    on(Part::Piece(&text[start..i], piece_prefix));
                }
                start = i;
                piece_prefix = false;
            }
            prev = Some(u);
        }
        if start < text.len() || piece_prefix {
            on(Part::Piece(&text[start..], piece_prefix));
        }
    }
}

/// What [`Model::cut`] hands out.
enum Part<'t> {
    /// Text no merge crosses, after a `▁` not in the text if the flag is set.
    Piece(&'t str, bool),
    /// A character that is not a token: one `<0xXX>` token per byte.
    Bytes(char),
}

/// The crate's merge loop over one piece's symbols, with its scratch space.
#[derive(Default)]
struct Merger {
    ids: Vec<u32>,
    /// Linked list over `ids`: the next live symbol, or NONE.
    next: Vec<u32>,
    prev: Vec<u32>,
    /// Candidate merges as `(merge index, left position)`: the smallest
    /// comes first, so equal indices go leftmost first, as in the crate.
    heap: BinaryHeap<Reverse<(u32, u32)>>,
}

impl Merger {
    /// Merges `piece` (after a `▁` if `prefix`) and returns the live
    /// symbols' positions in `self.ids` in order, through `self.next`.
    fn run(&mut self, model: &Model, piece: &str, prefix: bool) {
        self.ids.clear();
        if prefix {
            self.ids.push(model.ascii[b' ' as usize]);
        }
        self.ids.extend(piece.chars().map(|c| model.id_of(c)));
        let n = self.ids.len();
        self.next.clear();
        self.next
            .extend((1..=n as u32).map(|i| if i as usize == n { NONE } else { i }));
        self.prev.clear();
        self.prev
            .extend((0..n as u32).map(|i| i.checked_sub(1).unwrap_or(NONE)));
        self.heap.clear();
        for i in 0..n.saturating_sub(1) {
            if let Some((rank, _)) = model.merges.get(self.ids[i], self.ids[i + 1]) {
                self.heap.push(Reverse((rank, i as u32)));
            }
        }
        while let Some(Reverse((rank, pos))) = self.heap.pop() {
            let pos = pos as usize;
            let right = self.next[pos];
            // A stale entry: the symbol was merged away, or its pair changed
            // (a pair's index is unique, so an equal index is the same pair).
            if self.ids[pos] == NONE || right == NONE {
                continue;
            }
            let right = right as usize;
            let Some((now, result)) = model.merges.get(self.ids[pos], self.ids[right]) else {
                continue;
            };
            if now != rank {
                continue;
            }
            self.ids[pos] = result;
            self.ids[right] = NONE;
            let after = self.next[right];
            self.next[pos] = after;
            if after != NONE {
                self.prev[after as usize] = pos as u32;
                self.push(model, pos, after as usize);
            }
            let before = self.prev[pos];
            if before != NONE {
                self.push(model, before as usize, pos);
            }
        }
    }

    fn push(&mut self, model: &Model, left: usize, right: usize) {
        if let Some((rank, _)) = model.merges.get(self.ids[left], self.ids[right]) {
            self.heap.push(Reverse((rank, left as u32)));
        }
    }

    /// The ids left after [`Merger::run`], in order.
    fn live(&self) -> impl Iterator<Item = u32> + '_ {
        // The first symbol is never merged away (a merge keeps its left).
        let first = (!self.ids.is_empty()).then_some(0);
        std::iter::successors(first, |&i| {
            let next = self.next[i as usize];
            (next != NONE).then_some(next)
        })
        .map(|i| self.ids[i as usize])
    }
}

/// A SentencePiece-style tokenizer.json counted by the engine.
pub struct SpBpeTokenizer {
    info: TokenizerInfo,
    model: Arc<Model>,
    added: Arc<AddedTokens>,
    /// What `added` was built from, for [`SpBpeTokenizer::recipe`].
    added_list: Vec<(String, u32)>,
}

/// What the start-up cache keeps of a [`SpBpeTokenizer`] (`tokenize::compiled`):
/// the model's tables as flat arrays (the merge table as its slots), which
/// rebuild the model without the JSON, the string lookups or the checks.
#[derive(Serialize, Deserialize)]
pub struct Recipe {
    #[serde(with = "le_u32s")]
    ascii: Vec<u32>,
    /// `(char, id)` pairs, flattened.
    #[serde(with = "le_u32s")]
    chars: Vec<u32>,
    /// The merge table's slots as they are ([`Pairs`]), flattened.
    #[serde(with = "le_u32s")]
    merges: Vec<u32>,
    #[serde(with = "le_u32s")]
    byte_ids: Vec<u32>,
    ascii_pairs: Vec<u128>,
    /// `(char, char)` pairs, flattened.
    #[serde(with = "le_u32s")]
    other_pairs: Vec<u32>,
    prefix: Prefix,
    split_words: bool,
    added: Vec<(String, u32)>,
    vocab_size: usize,
}

impl SpBpeTokenizer {
    /// What [`Self::from_recipe`] needs to build this tokenizer again.
    pub fn recipe(&self) -> Recipe {
        let m = &*self.model;
        Recipe {
            ascii: m.ascii.to_vec(),
            chars: m
                .chars
                .iter()
                .flat_map(|(&c, &id)| [c as u32, id])
                .collect(),
            merges: m.merges.slots.clone(),
            byte_ids: m.byte_ids.to_vec(),
            ascii_pairs: m.ascii_pairs.to_vec(),
            other_pairs: m
                .other_pairs
                .iter()
                .flat_map(|&(a, b)| [a as u32, b as u32])
                .collect(),
            prefix: m.prefix,
            split_words: m.split_words,
            added: self.added_list.clone(),
            vocab_size: self.info.vocab_size,
        }
    }

    /// The tokenizer [`Self::recipe`] was taken from. Fails on arrays of
    /// the wrong length or a number that is not a character.
    pub fn from_recipe(mut info: TokenizerInfo, r: Recipe) -> Result<Self, String> {
        let char_of =
            |x: u32| char::from_u32(x).ok_or_else(|| format!("{x:#x} is not a character"));
        let mut chars = FxHashMap::default();
        chars.reserve(r.chars.len() / 2);
        for p in r.chars.chunks_exact(2) {
            chars.insert(char_of(p[0])?, p[1]);
        }
        let merges = Pairs::from_slots(r.merges)?;
        let mut other_pairs = FxHashSet::default();
        other_pairs.reserve(r.other_pairs.len() / 2);
        for p in r.other_pairs.chunks_exact(2) {
            other_pairs.insert((char_of(p[0])?, char_of(p[1])?));
        }
        let length = |what: &str| format!("{what}: wrong length");
        let model = Model {
            ascii: r.ascii[..].try_into().map_err(|_| length("ascii"))?,
            chars,
            merges,
            byte_ids: r.byte_ids[..].try_into().map_err(|_| length("byte ids"))?,
            ascii_pairs: r.ascii_pairs[..]
                .try_into()
                .map_err(|_| length("ascii pairs"))?,
            other_pairs,
            prefix: r.prefix,
            split_words: r.split_words,
        };
        info.vocab_size = r.vocab_size;
        info.family = FAMILY.to_string();
        Ok(SpBpeTokenizer {
            info,
            model: Arc::new(model),
            added: Arc::new(AddedTokens::new(&r.added)?),
            added_list: r.added,
        })
    }
}

impl HfEngine for SpBpeTokenizer {
    fn from_head(mut info: TokenizerInfo, head: &json::Head, data: &[u8]) -> Result<Self, String> {
        let spaces = spaces(&head.normalizer, &head.pre_tokenizer)?;
        head.model.check_plain_bpe()?;
        if !head.model.byte_fallback {
            return Err("no byte fallback".into());
        }
        if head.model.ignore_merges {
            return Err("ignore_merges".into());
        }
        let added = json::added_tokens(&head.added_tokens, true)?;
        let tables = json::read_tables(data)?;
        let model = build(&tables, spaces)?;
        info.vocab_size = tables.vocab.len();
        info.family = FAMILY.to_string();
        Ok(SpBpeTokenizer {
            info,
            model: Arc::new(model),
            added: Arc::new(AddedTokens::new(&added)?),
            added_list: added,
        })
    }
}

impl SpBpeTokenizer {
    /// Calls `f` with the ids of `segment` (text between added tokens).
    fn encode_segment(&self, segment: &str, prefix: bool, merger: &mut Merger, out: &mut Vec<u32>) {
        let model = &*self.model;
        model.cut(segment, prefix, |part| match part {
            Part::Piece(piece, prefix) => {
                merger.run(model, piece, prefix);
                out.extend(merger.live());
            }
            Part::Bytes(c) => {
                let mut buf = [0u8; 4];
                out.extend(
                    c.encode_utf8(&mut buf)
                        .bytes()
                        .map(|b| model.byte_ids[b as usize]),
                );
            }
        });
    }
}

/// The normalizer and pre-tokenizer, if they are one of the accepted pairs.
fn spaces(normalizer: &Value, pre_tokenizer: &Value) -> Result<Spaces, String> {
    if normalizer.is_null() {
        return metaspace(pre_tokenizer);
    }
    let prepend = sp_normalizer(normalizer)?;
    sp_pre_tokenizer(pre_tokenizer)?;
    Ok(Spaces {
        prefix: if prepend {
            Prefix::Prepend
        } else {
            Prefix::Never
        },
        split_words: false,
    })
}

/// A `Metaspace` pre-tokenizer with `▁`, read as the crate reads it:
/// `prepend_scheme` defaults to `always`, an older `add_prefix_space: false`
/// means `never`, and `split` defaults to true.
fn metaspace(p: &Value) -> Result<Spaces, String> {
    if json::kind(p) != Some("Metaspace")
        || p.get("replacement").and_then(Value::as_str) != Some("\u{2581}")
    {
        return Err("neither a SentencePiece normalizer nor a Metaspace with '▁'".into());
    }
    let scheme = p.get("prepend_scheme").and_then(Value::as_str);
    let prefix = match (scheme, p.get("add_prefix_space").and_then(Value::as_bool)) {
        (None | Some("never"), Some(false)) | (Some("never"), _) => Prefix::Never,
        (_, Some(false)) => return Err("add_prefix_space contradicts prepend_scheme".into()),
        (None | Some("always"), _) => Prefix::Always,
        (Some("first"), _) => Prefix::First,
        (Some(other), _) => return Err(format!("prepend_scheme {other:?}")),
    };
    let split_words = p.get("split").and_then(Value::as_bool).unwrap_or(true);
    Ok(Spaces {
        prefix,
        split_words,
    })
}

/// `Ok(true)` for `Sequence[Prepend("▁"), Replace(" " → "▁")]`, `Ok(false)`
/// for the `Replace` alone.
fn sp_normalizer(n: &Value) -> Result<bool, String> {
    let is_replace = |v: &Value| {
        json::kind(v) == Some("Replace")
            && v.pointer("/pattern/String").and_then(Value::as_str) == Some(" ")
            && v.get("content").and_then(Value::as_str) == Some("\u{2581}")
    };
    let is_prepend = |v: &Value| {
        json::kind(v) == Some("Prepend")
            && v.get("prepend").and_then(Value::as_str) == Some("\u{2581}")
    };
    if is_replace(n) {
        return Ok(false);
    }
    match n
        .get("normalizers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        Some([p, r]) if json::kind(n) == Some("Sequence") && is_prepend(p) && is_replace(r) => {
            Ok(true)
        }
        _ => Err("not a SentencePiece normalizer (Replace ' ' with '▁')".into()),
    }
}

/// None, or a `Split` on `" "` (which finds nothing after the normalizer).
fn sp_pre_tokenizer(p: &Value) -> Result<(), String> {
    if p.is_null() {
        return Ok(());
    }
    let split_on_space = json::kind(p) == Some("Split")
        && p.pointer("/pattern/String").and_then(Value::as_str) == Some(" ")
        && p.get("behavior").and_then(Value::as_str) == Some("MergedWithPrevious")
        && p.get("invert").and_then(Value::as_bool) == Some(false);
    if split_on_space {
        Ok(())
    } else {
        Err("a pre-tokenizer other than a split on spaces".into())
    }
}

/// The byte of a byte-fallback token, `<0xXX>` with upper-case digits: the
/// crate looks them up as `format!("<{b:#04X}>")`, so `<0x0a>` is not one.
fn byte_token(s: &str) -> Option<u8> {
    let hex = s.strip_prefix("<0x")?.strip_suffix('>')?;
    let upper = hex
        .bytes()
        .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c));
    (hex.len() == 2 && upper).then(|| u8::from_str_radix(hex, 16).ok())?
}

fn build(tables: &json::Tables, spaces: Spaces) -> Result<Model, String> {
    let mut model = Model {
        ascii: [NONE; 128],
        chars: FxHashMap::default(),
        merges: Pairs::with_capacity(tables.merges.len()),
        byte_ids: [NONE; 256],
        ascii_pairs: [0; 128],
        other_pairs: FxHashSet::default(),
        prefix: spaces.prefix,
        split_words: spaces.split_words,
    };
    let mut chars = Vec::new();
    for (token, &id) in &tables.vocab {
        // A byte token's own characters still count as pairs below: text
        // spelling `<0x41>` may be merged into it like any other token.
        if let Some(b) = byte_token(token) {
            model.byte_ids[b as usize] = id;
        }
        if token.contains(' ') {
            // Unreachable (the normalizer leaves no space), and it would
            // collide with `▁`, which the tables store as a space.
            return Err(format!("token {token:?} has a raw space"));
        }
        chars.clear();
        chars.extend(token.chars().map(unify));
        match chars[..] {
            [c] if c.is_ascii() => model.ascii[c as usize] = id,
            [c] => {
                model.chars.insert(c, id);
            }
            _ => {}
        }
        for pair in chars.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if a.is_ascii() && b.is_ascii() {
                model.ascii_pairs[a as usize] |= 1 << (b as u32);
            } else {
                model.other_pairs.insert((a, b));
            }
        }
    }
    if model.byte_ids.contains(&NONE) {
        return Err("a <0xXX> byte token is missing".into());
    }
    if model.ascii[b' ' as usize] == NONE {
        return Err("'▁' is not a token".into());
    }
    let bytes: FxHashSet<u32> = model.byte_ids.iter().copied().collect();
    let mut joined = String::new();
    for (k, m) in tables.merges.iter().enumerate() {
        let (a, b) = m.parts().ok_or_else(|| format!("merge {k} is not `a b`"))?;
        let id = |s: &str| {
            tables
                .vocab
                .get(s)
                .copied()
                .ok_or_else(|| format!("merge {k}: {s:?} is not a token"))
        };
        let (left, right) = (id(a)?, id(b)?);
        if bytes.contains(&left) || bytes.contains(&right) {
            return Err(format!("merge {k} joins a byte token"));
        }
        joined.clear();
        joined.push_str(a);
        joined.push_str(b);
        let result = id(&joined)?;
        if !model.merges.insert(left, right, (k as u32, result)) {
            return Err(format!("the pair of merge {k} is merged twice"));
        }
    }
    Ok(model)
}

/// `(left id, right id)` → `(merge index, result id)`: the merges in one
/// flat open-addressing table (linear probing, at most half full), which
/// the start-up cache keeps as it is. A cached load then copies one array
/// where a hash map took an insert per merge: for gemma3's 514,906 merges
/// the inserts and the first touches of the map's 17 MiB were about a third
/// of the cached start-up (BENCHMARKS.md, start-up).
struct Pairs {
    /// Slot `i` is `slots[4 i..4 i + 4]`: `[left, right, merge index,
    /// result]`, `left == NONE` when free. A power of two of slots.
    slots: Vec<u32>,
}

impl Pairs {
    /// An empty table with room for `merges` merges.
    fn with_capacity(merges: usize) -> Self {
        let len = (2 * merges).next_power_of_two().max(2);
        Pairs {
            slots: vec![NONE; 4 * len],
        }
    }

    /// A table read back from the start-up cache. Its shape is checked; a
    /// lookup never trusts it to have a free slot.
    fn from_slots(slots: Vec<u32>) -> Result<Self, String> {
        let len = slots.len() / 4;
        if !slots.len().is_multiple_of(4) || len < 2 || !len.is_power_of_two() {
            return Err(format!("merge table of {} words", slots.len()));
        }
        Ok(Pairs { slots })
    }

    /// Where the probe for a pair starts.
    #[inline(always)]
    fn start(&self, left: u32, right: u32) -> usize {
        pair_home(left, right, (self.slots.len() / 4).trailing_zeros())
    }

    /// Adds a merge; false, and the table unchanged, if the pair is there.
    fn insert(&mut self, left: u32, right: u32, (merge, result): (u32, u32)) -> bool {
        assert!(left != NONE, "no token has the id NONE");
        match self.find(left, right) {
            Ok(_) => false,
            Err(Some(i)) => {
                self.slots[4 * i..4 * i + 4].copy_from_slice(&[left, right, merge, result]);
                true
            }
            Err(None) => panic!("merge table full: made for fewer merges"),
        }
    }

    #[inline]
    fn get(&self, left: u32, right: u32) -> Option<(u32, u32)> {
        let i = self.find(left, right).ok()?;
        Some((self.slots[4 * i + 2], self.slots[4 * i + 3]))
    }

    /// The slot that holds the pair (`Ok`), else the free slot it would go
    /// in (`Err(Some)`), or `Err(None)` when the table has none (one read
    /// from the cache is not trusted to have one).
    #[inline(always)]
    fn find(&self, left: u32, right: u32) -> Result<usize, Option<usize>> {
        let mask = self.slots.len() / 4 - 1;
        let mut i = self.start(left, right);
        for _ in 0..=mask {
            let slot = &self.slots[4 * i..4 * i + 4];
            if slot[0] == NONE {
                return Err(Some(i));
            }
            if slot[0] == left && slot[1] == right {
                return Ok(i);
            }
            i = (i + 1) & mask;
        }
        Err(None)
    }
}

/// One thread's counter: the model, a piece → count cache and scratch space.
struct SpBpeCounter {
    model: Arc<Model>,
    added: Arc<AddedTokens>,
    /// Pieces of up to `PieceCache::MAX_KEY` bytes (most pieces are a word
    /// and its space: 28 M pieces in the 120 MB tree, 4.3 bytes on average),
    /// not after a `▁` that is not in the text.
    cache: PieceCache,
    merger: Merger,
}

impl SpBpeCounter {
    fn piece(&mut self, piece: &str, prefix: bool) -> u64 {
        let (model, merger) = (&self.model, &mut self.merger);
        let mut merge = || {
            merger.run(model, piece, prefix);
            merger.live().count() as u32
        };
        // A prefixed piece is not the bytes it is cached by.
        if prefix {
            merge() as u64
        } else {
            self.cache.get_or_insert_with(piece.as_bytes(), merge) as u64
        }
    }

    /// Tokens of `text`; `at_start`: the first segment starts the input (a
    /// `Prepend` applies to it).
    fn count_from(&mut self, text: &str, at_start: bool) -> u64 {
        let model = Arc::clone(&self.model);
        Arc::clone(&self.added).count(text, |t| {
            let mut total = 0;
            model.cut(t, model.prefix_for(text, t, at_start), |part| match part {
                Part::Piece(p, prefix) => total += self.piece(p, prefix),
                Part::Bytes(c) => total += c.len_utf8() as u64,
            });
            total
        })
    }
}

impl Counter for SpBpeCounter {
    fn count(&mut self, text: &str) -> u64 {
        self.count_from(text, true)
    }

    fn count_continuation(&mut self, text: &str) -> u64 {
        self.count_from(text, false)
    }
}

impl Tokenizer for SpBpeTokenizer {
    fn info(&self) -> &TokenizerInfo {
        &self.info
    }

    fn counter(&self) -> Box<dyn Counter> {
        Box::new(SpBpeCounter {
            model: Arc::clone(&self.model),
            added: Arc::clone(&self.added),
            cache: PieceCache::with_slots(CACHE_SLOTS),
            merger: Merger::default(),
        })
    }

    fn encode(&self, text: &str) -> Vec<u32> {
        let mut merger = Merger::default();
        self.added.encode(text, |t, out| {
            let prefix = self.model.prefix_for(text, t, true);
            self.encode_segment(t, prefix, &mut merger, out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenize::toy_info as info;
    use serde_json::json;

    /// The merge table finds every pair it was given with its merge, no
    /// other (ids that collide in the hash included), keeps the first of a
    /// pair given twice, reads back from its slots, refuses slots of the
    /// wrong shape, and stops on a table with no free slot.
    #[test]
    fn merge_table_finds_each_pair_and_no_other() {
        let pairs: Vec<(u32, u32)> = (0..3000u32).map(|k| (k % 97, k / 97 * 131 + 7)).collect();
        let mut table = Pairs::with_capacity(pairs.len());
        for (k, &(l, r)) in pairs.iter().enumerate() {
            assert!(table.insert(l, r, (k as u32, 10_000 + k as u32)));
        }
        assert!(!table.insert(pairs[5].0, pairs[5].1, (1, 2)));
        let again = Pairs::from_slots(table.slots.clone()).unwrap();
        for t in [&table, &again] {
            for (k, &(l, r)) in pairs.iter().enumerate() {
                assert_eq!(t.get(l, r), Some((k as u32, 10_000 + k as u32)), "{l} {r}");
            }
            for (l, r) in [(97, 7), (0, 8), (3, 0), (NONE, NONE), (NONE, 7), (1, NONE)] {
                assert_eq!(t.get(l, r), None, "{l} {r}");
            }
        }
        for words in [vec![], vec![NONE; 4], vec![NONE; 12], vec![NONE; 9]] {
            assert!(Pairs::from_slots(words).is_err());
        }
        let full = Pairs::from_slots(vec![1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        assert_eq!(full.get(5, 6), Some((7, 8)));
        assert_eq!(full.get(9, 9), None);
    }

    /// A SentencePiece-style file: ▁ a b c, ab, ▁ab, abc (two merges make
    /// it; the first listed wins), the 256 byte tokens, and `<s>` added.
    fn toy(prepend: bool, extra_vocab: &[&str]) -> Vec<u8> {
        let mut vocab = serde_json::Map::new();
        let words = [
            "<s>",
            "\u{2581}",
            "a",
            "b",
            "c",
            "ab",
            "bc",
            "\u{2581}ab",
            "abc",
        ];
        for w in words.iter().chain(extra_vocab) {
            let id = vocab.len();
            vocab.insert(w.to_string(), json!(id));
        }
        for b in 0..=255u8 {
            let id = vocab.len();
            vocab.insert(format!("<0x{b:02X}>"), json!(id));
        }
        let replace = json!({"type": "Replace", "pattern": {"String": " "}, "content": "\u{2581}"});
        let normalizer = if prepend {
            json!({"type": "Sequence", "normalizers": [
                {"type": "Prepend", "prepend": "\u{2581}"}, replace]})
        } else {
            replace
        };
        let file = json!({
            "added_tokens": [{"id": 0, "content": "<s>", "single_word": false, "lstrip": false,
                              "rstrip": false, "normalized": false, "special": true}],
            "normalizer": normalizer,
            "pre_tokenizer": null,
            "model": {"type": "BPE", "byte_fallback": true, "fuse_unk": true, "vocab": vocab,
                      "merges": [["a", "b"], ["b", "c"], ["\u{2581}", "ab"], ["ab", "c"], ["a", "bc"]]},
        });
        serde_json::to_vec(&file).unwrap()
    }

    #[test]
    fn counts_follow_the_merge_list_with_byte_fallback_and_prefix() {
        let t = SpBpeTokenizer::from_bytes(info(), &toy(false, &[])).unwrap();
        let mut c = t.counter();
        // "abc": a b c -> ab c -> abc (ab is merge 0, ab+c merge 3).
        assert_eq!(t.encode("abc"), [8]);
        // " ab" is "▁ab"; a literal ▁ is the same symbol as a space.
        assert_eq!(t.encode(" ab"), t.encode("\u{2581}ab"));
        assert_eq!(c.count(" ab"), 1);
        // "é" is no token: its two UTF-8 bytes are; "ca" cannot merge.
        assert_eq!(c.count("cé a"), 1 + 2 + 2);
        assert_eq!(c.count("<s>abc<s>"), 3);
        let p = SpBpeTokenizer::from_bytes(info(), &toy(true, &[])).unwrap();
        let mut c = p.counter();
        // A ▁ before each non-empty segment, including after an added token,
        // but not before a continuation's first segment.
        assert_eq!(p.encode("ab<s>ab"), [7, 0, 7]);
        assert_eq!(c.count("ab<s>ab"), 3);
        assert_eq!(c.count_continuation("ab<s>ab"), 3);
        assert_eq!(c.count_continuation("c<s>ab"), 3);
        assert_eq!(c.count("c<s>ab"), 4);
    }

    #[test]
    fn files_the_loop_does_not_mean_are_turned_down() {
        // A raw space in a token would collide with ▁.
        let spaced = SpBpeTokenizer::from_bytes(info(), &toy(false, &["a b"]));
        assert!(spaced.err().unwrap().contains("raw space"));
        // A different normalizer.
        let text = String::from_utf8(toy(false, &[])).unwrap();
        let nfc = text.replacen(r#""type":"Replace""#, r#""type":"NFC""#, 1);
        assert!(SpBpeTokenizer::from_bytes(info(), nfc.as_bytes()).is_err());
        // No byte fallback.
        let no_fallback = text.replacen(r#""byte_fallback":true"#, r#""byte_fallback":false"#, 1);
        assert!(SpBpeTokenizer::from_bytes(info(), no_fallback.as_bytes()).is_err());
    }

    #[test]
    fn byte_tokens_are_upper_case_hex() {
        assert_eq!(byte_token("<0x0A>"), Some(10));
        assert_eq!(byte_token("<0xFF>"), Some(255));
        assert_eq!(byte_token("<0x0a>"), None);
        assert_eq!(byte_token("<0x0A"), None);
        assert_eq!(byte_token("<0x123>"), None);
    }
}
