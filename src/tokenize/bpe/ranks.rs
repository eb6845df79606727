/*!
A byte-level BPE vocabulary: token bytes ↔ rank.

In tiktoken-style BPE the rank of a token is also its merge priority (lower
merges first) and its id, so this one table is all the merge step needs. It is
built once, shared behind an `Arc` by every counter, and never mutated.

Lookups are the inner loop of every uncached merge, so the table is our own
open-addressing hash rather than a `HashMap<Vec<u8>, u32>`. Measured on
o200k (9 MB of docs and code, 1 thread): lookups were a third of the engine's
time, most of it three dependent cache misses (slot → span → bytes) into a
table that lives in L3. Now:
- 1- and 2-byte tokens (every first round of a merge) are direct array reads;
- tokens of up to 8 bytes are stored inline in their 16-byte slot, so one
  probe compares the whole token;
- longer tokens compare a 64-bit hash in the slot, then the bytes;
- a slice longer than the longest token is rejected without hashing (long
  runs of one character ask for many such pairs);
- a Bloom filter of two bits per token in one 64-bit word (~10 bits per
  token: 256 KiB for o200k) rejects most byte strings that are not tokens
  before the probe into the multi-MiB table; most lookups in a merge are
  such strings. cachegrind, o200k, 5 MB of the real corpus, 1 MiB
  last-level cache simulated: last-level misses -9%, same instructions;
  engine user time on 80 MB -10 to -25% under load.

Constructors accept the formats other tokenizers ship in: an ordered list of
token byte strings (rank = position: Hugging Face vocabularies after byte
decoding, Tekken), `.tiktoken` text (`base64 rank` per line: OpenAI, Llama 3),
and images of the arrays themselves (`layout`): read in place from the binary
for the built-in encodings (build.rs lays them out), copied from the start-up
cache for a vocabulary converted at run time. Ranks may have gaps (ids used
by special tokens, or unused).
*/

use base64::Engine as _;

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::tokenize::bpe::cut::Cuts;
use crate::tokenize::bpe::fixed::Fixed;
use crate::tokenize::bpe::hash::slot_key;
use crate::tokenize::bpe::huge::HugeZeroed;
use crate::tokenize::bpe::layout::{self, filter_bits, Arrays, ImageHeader};

/// Token bytes → rank, and back.
pub struct Ranks {
    /// All token bytes, concatenated.
    bytes: Fixed<u8>,
    /// `[offset, len]` into `bytes` by rank; `len == 0` marks a gap.
    spans: Fixed<[u32; 2]>,
    /// Open addressing, power-of-two sized, load ≤ 3/4 (see
    /// `layout::table_slots`; slots as `layout::Arrays::place` writes them).
    table: Fixed<[u64; 2]>,
    /// Rank of each 1-byte and 2-byte token (`NONE` if absent), by value.
    one: Fixed<u32>,
    two: Fixed<u32>,
    /// A one-word Bloom filter of the tokens of 3 bytes or more, two bits
    /// per token (see [`Ranks::may_hold`]).
    filter: Fixed<u64>,
    mask: usize,
    len: usize,
    max_token_len: usize,
    /// Where long pieces may be cut (`cut`), built on the first long piece
    /// (from `cut_blob` when there is one).
    cuts: OnceLock<Cuts>,
    /// Embedded by build.rs (built-ins) or read from the start-up cache.
    cut_blob: Option<Cow<'static, [u8]>>,
    /// How the merge breaks ties between candidate pairs of equal rank
    /// (different splits of one token): see [`Ties`].
    ties: Ties,
}

/// How [`Ranks::from_image_with`] makes an array of an image's section.
trait Sections<'a> {
    fn fixed<T: bytemuck::Pod + Send + Sync>(&self, bytes: &'a [u8]) -> Result<Fixed<T>, String>;
}

/// Read in place: the image in the binary, laid out and aligned by build.rs.
struct InPlace;

impl Sections<'static> for InPlace {
    fn fixed<T: bytemuck::Pod + Send + Sync>(
        &self,
        bytes: &'static [u8],
    ) -> Result<Fixed<T>, String> {
        bytemuck::try_cast_slice(bytes)
            .map(Fixed::from_static)
            .map_err(|e| format!("rank image: {e:?}"))
    }
}

/// Copied: an image read from a file, at whatever alignment.
struct Copied;

impl<'a> Sections<'a> for Copied {
    fn fixed<T: bytemuck::Pod + Send + Sync>(&self, bytes: &'a [u8]) -> Result<Fixed<T>, String> {
        let size = std::mem::size_of::<T>();
        if !bytes.len().is_multiple_of(size) {
            return Err("rank image: a section of the wrong length".into());
        }
        let mut array = vec![T::zeroed(); bytes.len() / size];
        bytemuck::cast_slice_mut::<T, u8>(&mut array).copy_from_slice(bytes);
        Ok(Fixed::owned(array))
    }
}

/// How the merge orders candidate pairs of the same rank, i.e. pairs that
/// join into the same token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Ties {
    /// tiktoken: the leftmost first.
    #[default]
    Leftmost,
    /// The pair whose parts have the lower `(rank of left, rank of right)`
    /// first, then the leftmost: the order of a Hugging Face merge list
    /// that lists every split of every token, sorted by the parts' ids (a
    /// tokenizer.json converted from tiktoken ranks; `hf::byte_level`).
    ByParts,
}

impl Ranks {
    /// Ranks from token byte strings in rank order (rank = index).
    pub fn from_ordered(tokens: Vec<Vec<u8>>) -> Result<Self, String> {
        let ranked = tokens
            .into_iter()
            .enumerate()
            .map(|(rank, token)| (token, rank as u32));
        Self::from_ranked(ranked)
    }

    /// Ranks from `(token bytes, rank)` pairs in any order. Fails on an empty
    /// token, a token or rank given twice, or ranks so sparse that the
    /// rank → token index would waste memory.
    pub fn from_ranked(pairs: impl IntoIterator<Item = (Vec<u8>, u32)>) -> Result<Self, String> {
        let pairs = pairs.into_iter();
        let mut builder = Builder::with_capacity(pairs.size_hint().0);
        for (token, rank) in pairs {
            builder.push(&token, rank)?;
        }
        builder.finish()
    }

    /// Ranks from `.tiktoken` text: one `base64(token) rank` per line. Blank
    /// lines are ignored; anything else malformed is an error naming the line.
    pub fn from_tiktoken_text(text: &str) -> Result<Self, String> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut builder = Builder::with_capacity(text.len() / 12);
        let mut token = Vec::with_capacity(64);
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let (encoded, rank) = line
                .split_once(' ')
                .ok_or_else(|| format!("line {}: expected `base64 rank`", n + 1))?;
            let rank: u32 = rank
                .trim()
                .parse()
                .map_err(|_| format!("line {}: rank `{rank}` is not a number", n + 1))?;
            token.clear();
            b64.decode_vec(encoded, &mut token)
                .map_err(|e| format!("line {}: bad base64 `{encoded}`: {e}", n + 1))?;
            builder
                .push(&token, rank)
                .map_err(|e| format!("line {}: {e}", n + 1))?;
        }
        builder.finish()
    }

    /// Ranks read in place from an image build.rs laid out (`layout`):
    /// nothing is built or copied, so a built-in encoding is ready in
    /// microseconds and its pages come from the binary as they are touched.
    /// Fails on an image of the wrong shape (a build defect).
    pub(crate) fn from_image(image: &'static [u8]) -> Result<Self, String> {
        Self::from_image_with(image, InPlace)
    }

    /// Ranks from an image [`Self::to_image`] wrote (the start-up cache),
    /// copied into arrays of their own: the table as it was placed, so a
    /// cached load hashes and places nothing (it did, token by token: a
    /// third of qwen3's cached start-up).
    pub(crate) fn from_image_copy(image: &[u8]) -> Result<Self, String> {
        let ranks = Self::from_image_with(image, Copied)?;
        ranks.check_arrays()?;
        Ok(ranks)
    }

    /// What lookups rely on and a file could break, checked once (~0.2 ms
    /// for 150 k tokens): a free slot to end every probe, ranks inside the
    /// rank index, spans inside the token bytes. A file that fails is read
    /// as damaged, never trusted to loop or index out of bounds.
    fn check_arrays(&self) -> Result<(), String> {
        let bad = |what: &str| Err(format!("rank image: {what}"));
        let bound = self.spans.len() as u64;
        let out_of_range = |r: u32| r != NONE && r as u64 >= bound;
        let mut free = false;
        for &[_, meta] in self.table.iter() {
            free |= meta == 0;
            if meta != 0 && out_of_range((meta as u32).wrapping_sub(1)) {
                return bad("a slot's rank out of range");
            }
        }
        if !free {
            return bad("no free slot");
        }
        if self
            .one
            .iter()
            .chain(self.two.iter())
            .any(|&r| out_of_range(r))
        {
            return bad("a short token's rank out of range");
        }
        let end = self.bytes.len() as u64;
        if self
            .spans
            .iter()
            .any(|&[at, len]| at as u64 + len as u64 > end)
        {
            return bad("a token's bytes out of range");
        }
        Ok(())
    }

    fn from_image_with<'a>(image: &'a [u8], arrays: impl Sections<'a>) -> Result<Self, String> {
        let bad = |what: &str| format!("rank image: {what}");
        let head = ImageHeader::read(image).ok_or_else(|| bad("no header"))?;
        let [one, two, filter, table, spans, bytes] =
            head.sections().ok_or_else(|| bad("sizes overflow"))?;
        let section = |(at, size): (usize, usize)| {
            image
                .get(at..at.saturating_add(size))
                .ok_or_else(|| bad("truncated"))
        };
        let slots = head.slots as usize;
        if !slots.is_power_of_two() || head.filter_words as usize != layout::filter_words(slots) {
            return Err(bad("table and filter sizes do not match"));
        }
        Ok(Ranks {
            bytes: arrays.fixed(section(bytes)?)?,
            spans: arrays.fixed(section(spans)?)?,
            table: arrays.fixed(section(table)?)?,
            one: arrays.fixed(section(one)?)?,
            two: arrays.fixed(section(two)?)?,
            filter: arrays.fixed(section(filter)?)?,
            mask: slots - 1,
            len: head.len as usize,
            max_token_len: head.max_token_len as usize,
            cuts: OnceLock::new(),
            cut_blob: None,
            ties: Ties::Leftmost,
        })
    }

    /// These ranks' arrays as an image in `layout`'s format (this
    /// machine's byte order), for the start-up cache of a vocabulary
    /// converted at run time (`tokenize::compiled`): read back by
    /// [`Self::from_image_copy`].
    pub(crate) fn to_image(&self) -> Vec<u8> {
        let head = ImageHeader {
            len: self.len as u64,
            max_token_len: self.max_token_len as u64,
            rank_bound: self.spans.len() as u64,
            slots: self.table.len() as u64,
            filter_words: self.filter.len() as u64,
            bytes: self.bytes.len() as u64,
        };
        let arrays: [&[u8]; 6] = [
            bytemuck::cast_slice(&self.one),
            bytemuck::cast_slice(&self.two),
            bytemuck::cast_slice(&self.filter),
            bytemuck::cast_slice(&self.table),
            bytemuck::cast_slice(&self.spans),
            &self.bytes,
        ];
        head.image(arrays)
    }

    /// Number of tokens (gaps not counted).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Length in bytes of the longest token.
    pub fn max_token_len(&self) -> usize {
        self.max_token_len
    }

    /// One more than the highest rank.
    pub fn rank_bound(&self) -> usize {
        self.spans.len()
    }

    /// The rank of `token`, if it is one.
    #[inline]
    pub fn get(&self, token: &[u8]) -> Option<u32> {
        let rank = match token.len() {
            0 => NONE,
            1 => self.one[token[0] as usize],
            2 => self.two[(token[0] as usize) << 8 | token[1] as usize],
            n if n > self.max_token_len => NONE,
            n => {
                let (word, hash) = slot_key(token);
                if !self.may_hold(hash) {
                    return None;
                }
                let mut i = hash as usize & self.mask;
                loop {
                    let [slot_word, meta] = self.table[i];
                    if meta == 0 {
                        return None;
                    }
                    if slot_word == word && (meta >> 32) as usize == n {
                        let rank = meta as u32 - 1;
                        if n <= 8 || self.token_bytes_unchecked(rank) == token {
                            break rank;
                        }
                    }
                    i = (i + 1) & self.mask;
                }
            }
        };
        (rank != NONE).then_some(rank)
    }

    /// Whether a token of 3 bytes or more with this hash may exist. Most
    /// lookups in a merge ask about byte strings that are not tokens; the
    /// filter (256 KiB for o200k, L2-resident) answers most of those without
    /// a probe into the multi-MiB table. Two bits of one word per token.
    #[inline(always)]
    fn may_hold(&self, hash: u64) -> bool {
        let (word, bits) = filter_bits(hash, self.filter.len());
        self.filter[word] & bits == bits
    }

    /// The rank of the two bytes `a b` as one token, or `u32::MAX`.
    #[inline(always)]
    pub(crate) fn pair_rank(&self, a: u8, b: u8) -> u32 {
        self.two[(a as usize) << 8 | b as usize]
    }

    /// The rank of the single byte `b`, if it is a token.
    #[inline]
    pub fn byte_rank(&self, b: u8) -> Option<u32> {
        let rank = self.one[b as usize];
        (rank != NONE).then_some(rank)
    }

    /// The cut table of this vocabulary, if it is at hand: a built-in's is
    /// made from the table build.rs wrote (`with_cut_blob`; ~1 ms) on first
    /// use; another's only once [`Self::read_cuts`] has read it.
    pub(crate) fn cuts(&self) -> Option<&Cuts> {
        match &self.cut_blob {
            Some(blob) => Some(self.cuts.get_or_init(|| Cuts::from_blob(blob))),
            None => self.cuts.get(),
        }
    }

    /// The cut table, read from the vocabulary if need be: every token's
    /// pairs, and a merge of each token of 3 bytes or more (at run time
    /// 50–175 ms for the named vocabularies of 128–250 k tokens, so the
    /// counter asks for it only after megabytes of long pieces).
    pub(crate) fn read_cuts(&self) -> &Cuts {
        self.cuts.get_or_init(|| match &self.cut_blob {
            Some(blob) => Cuts::from_blob(blob),
            None => Cuts::new(self, super::merges_to_one_tester(self)),
        })
    }

    /// These ranks with the cut table build.rs wrote for them.
    pub(crate) fn with_cut_blob(mut self, blob: &'static [u8]) -> Self {
        self.cut_blob = Some(Cow::Borrowed(blob));
        self
    }

    /// These ranks with a cut table kept by the start-up cache
    /// (`tokenize::compiled`), checked for shape; read on first use, as a
    /// built-in's is.
    pub(crate) fn with_cached_cut_blob(mut self, blob: Vec<u8>) -> Result<Self, String> {
        Cuts::check_blob(&blob)?;
        self.cut_blob = Some(Cow::Owned(blob));
        Ok(self)
    }

    /// The cut table in the blob format, for the start-up cache: read from
    /// the vocabulary now if it was not yet (50–175 ms, once per file).
    pub(crate) fn cut_blob(&self) -> Vec<u8> {
        match &self.cut_blob {
            Some(blob) => blob.to_vec(),
            None => self.read_cuts().to_blob(),
        }
    }

    /// These ranks, merging with this tie-break.
    pub fn with_ties(mut self, ties: Ties) -> Self {
        self.ties = ties;
        self
    }

    /// How the merge breaks ties between pairs of equal rank.
    #[inline(always)]
    pub fn ties(&self) -> Ties {
        self.ties
    }

    /// The bytes of the token with this rank.
    pub fn token_bytes(&self, rank: u32) -> Option<&[u8]> {
        match self.spans.get(rank as usize) {
            Some(&[_, 0]) | None => None,
            Some(_) => Some(self.token_bytes_unchecked(rank)),
        }
    }

    #[inline]
    fn token_bytes_unchecked(&self, rank: u32) -> &[u8] {
        let [offset, len] = self.spans[rank as usize];
        &self.bytes[offset as usize..(offset + len) as usize]
    }
}

impl std::fmt::Debug for Ranks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ranks")
            .field("len", &self.len)
            .field("rank_bound", &self.spans.len())
            .field("max_token_len", &self.max_token_len)
            .finish()
    }
}

/// Collects tokens, then builds the hash table in one pass (its size is only
/// known at the end).
struct Builder {
    bytes: Vec<u8>,
    spans: Vec<(u32, u32)>,
    ranks: Vec<u32>,
}

impl Builder {
    fn with_capacity(n: usize) -> Self {
        Builder {
            bytes: Vec::with_capacity(n * 8),
            spans: Vec::with_capacity(n),
            ranks: Vec::with_capacity(n),
        }
    }

    fn push(&mut self, token: &[u8], rank: u32) -> Result<(), String> {
        if token.is_empty() {
            return Err(format!("rank {rank}: empty token"));
        }
        if token.len() > u16::MAX as usize {
            return Err(format!("rank {rank}: token of {} bytes", token.len()));
        }
        if self.bytes.len() + token.len() > u32::MAX as usize {
            return Err("vocabulary over 4 GiB".to_string());
        }
        self.spans
            .push((self.bytes.len() as u32, token.len() as u32));
        self.ranks.push(rank);
        self.bytes.extend_from_slice(token);
        Ok(())
    }

    fn finish(self) -> Result<Ranks, String> {
        let len = self.ranks.len();
        let bound = self.ranks.iter().max().map_or(0, |&r| r as usize + 1);
        // A rank index sized by the highest rank is fine for real vocabularies
        // (dense, a few gaps); refuse data that would make it absurd.
        if bound > 2 * len + (1 << 16) || bound > u32::MAX as usize - 1 {
            return Err(format!(
                "ranks too sparse: {len} tokens but ranks up to {}",
                bound - 1
            ));
        }
        let mut spans = vec![[0u32; 2]; bound];
        let mut max_token_len = 0;
        for (&rank, &span) in self.ranks.iter().zip(&self.spans) {
            if spans[rank as usize][1] != 0 {
                return Err(format!("rank {rank} given twice"));
            }
            spans[rank as usize] = [span.0, span.1];
            max_token_len = max_token_len.max(span.1 as usize);
        }
        let long = self.spans.iter().filter(|s| s.1 > 2).count();
        let slots = layout::table_slots(long);
        // Zeroed, on huge pages where available (`huge`): building
        // o200k's table on small pages was a thousand page faults.
        let mut table = HugeZeroed::new(slots).map_err(|e| format!("rank table: {e}"))?;
        let mut one = vec![NONE; 256];
        let mut two = vec![NONE; 1 << 16];
        let mut filter = vec![0u64; layout::filter_words(slots)];
        let mut arrays = Arrays {
            one: &mut one,
            two: &mut two,
            table: &mut table,
            filter: &mut filter,
        };
        let token = |i: usize| {
            let (offset, len) = self.spans[i];
            &self.bytes[offset as usize..(offset + len) as usize]
        };
        // Placed in the order of the slots the tokens hash to: the table is
        // then written front to back instead of at random, which made
        // building o200k's several times faster.
        let mut order: Vec<(usize, u32)> = (0..len)
            .map(|i| {
                let t = token(i);
                let home = if t.len() > 2 {
                    layout::home(t, slots)
                } else {
                    0
                };
                (home, i as u32)
            })
            .collect();
        if !order.is_sorted() {
            order.sort_unstable();
        }
        for (_, i) in order {
            arrays.place(token(i as usize), self.ranks[i as usize]);
        }
        let ranks = Ranks {
            bytes: Fixed::owned(self.bytes),
            spans: Fixed::owned(spans),
            table: Fixed::owned(table),
            one: Fixed::owned(one),
            two: Fixed::owned(two),
            filter: Fixed::owned(filter),
            mask: slots - 1,
            len,
            max_token_len,
            cuts: OnceLock::new(),
            cut_blob: None,
            ties: Ties::Leftmost,
        };
        // Byte strings given two ranks: tiktoken refuses them too. Checked
        // after the fact, by looking each token up again.
        for &rank in &self.ranks {
            let token = ranks.token_bytes_unchecked(rank);
            let found = ranks.get(token).expect("just inserted");
            if found != rank {
                return Err(format!("token {token:?} has two ranks, {found} and {rank}"));
            }
        }
        Ok(ranks)
    }
}

const NONE: u32 = layout::NO_RANK;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenize::bpe::hash::hash_bytes;

    #[test]
    fn ordered_ranks_round_trip() {
        let tokens: Vec<Vec<u8>> = (0..=255u8)
            .map(|b| vec![b])
            .chain([b"ab".to_vec()])
            .collect();
        let ranks = Ranks::from_ordered(tokens).unwrap();
        assert_eq!(ranks.len(), 257);
        assert_eq!(ranks.get(b"a"), Some(97));
        assert_eq!(ranks.get(b"ab"), Some(256));
        assert_eq!(ranks.get(b"abc"), None);
        assert_eq!(ranks.get(b""), None);
        assert_eq!(ranks.token_bytes(256), Some(&b"ab"[..]));
        assert_eq!(ranks.max_token_len(), 2);
    }

    #[test]
    fn an_image_reads_back_as_the_same_ranks() {
        let ranks =
            Ranks::from_tiktoken_text("YQ== 0\nYg== 1\nYWI= 3\nYWJj 4\nYWJjZA== 7\n").unwrap();
        let image = ranks.to_image();
        // At an odd address, as inside a cache file.
        let shifted = [&[0u8][..], &image].concat();
        let back = Ranks::from_image_copy(&shifted[1..]).unwrap();
        assert!(Ranks::from_image_copy(&image[..image.len() - 1]).is_err());
        // A table with no free slot, a slot's rank past the index, a token's
        // bytes past the end: refused, not looped on or indexed with.
        let head = ImageHeader::read(&image).unwrap();
        let [.., (table, table_len), (spans, _), _] = head.sections().unwrap();
        let meta = |i: usize| table + 16 * i + 8..table + 16 * i + 16;
        let occupied = (0..table_len / 16)
            .find(|&i| image[meta(i)] != [0u8; 8])
            .unwrap();
        // Every free slot given the occupied one's meta: valid ranks, and no
        // free slot left.
        let mut full = image.clone();
        for i in 0..table_len / 16 {
            if image[meta(i)] == [0u8; 8] {
                full.copy_within(meta(occupied), meta(i).start);
            }
        }
        let mut far_rank = image.clone();
        far_rank[meta(occupied)][..4].copy_from_slice(&1000u32.to_ne_bytes());
        let mut far_bytes = image.clone();
        far_bytes[spans..spans + 4].copy_from_slice(&1000u32.to_ne_bytes());
        for (damaged, what) in [
            (full, "free slot"),
            (far_rank, "slot's rank"),
            (far_bytes, "bytes"),
        ] {
            let err = Ranks::from_image_copy(&damaged).unwrap_err();
            assert!(err.contains(what), "{err}");
        }
        assert_eq!(back.len(), ranks.len());
        assert_eq!(back.rank_bound(), ranks.rank_bound());
        assert_eq!(back.max_token_len(), ranks.max_token_len());
        for rank in 0..ranks.rank_bound() as u32 {
            let token = ranks.token_bytes(rank);
            assert_eq!(back.token_bytes(rank), token);
            if let Some(t) = token {
                assert_eq!(back.get(t), Some(rank));
            }
        }
        assert_eq!(back.get(b"abcde"), None);
    }

    #[test]
    fn built_in_images_are_the_tables_built_at_run_time() {
        // The image build.rs lays out and the table placed at run time from
        // the same vocabulary must be the same arrays, slot for slot: one
        // piece of code (`layout`) places both.
        for name in ["o200k_base", "cl100k_base", "p50k_base", "r50k_base"] {
            let image = crate::tokenize::sources::builtin::ranks(name).unwrap();
            let rebuilt = Ranks::from_ranked(
                (0..image.rank_bound() as u32)
                    .filter_map(|r| image.token_bytes(r).map(|t| (t.to_vec(), r))),
            )
            .unwrap();
            assert_eq!(image.len(), rebuilt.len(), "{name}");
            assert_eq!(image.max_token_len(), rebuilt.max_token_len(), "{name}");
            assert_eq!(image.mask, rebuilt.mask, "{name}");
            assert!(*image.one == *rebuilt.one, "{name}: one");
            assert!(*image.two == *rebuilt.two, "{name}: two");
            assert!(*image.filter == *rebuilt.filter, "{name}: filter");
            assert!(*image.table == *rebuilt.table, "{name}: table");
            for rank in 0..image.rank_bound() as u32 {
                if let Some(token) = image.token_bytes(rank) {
                    assert_eq!(image.get(token), Some(rank), "{name}: {token:?}");
                }
            }
        }
        // Hand-counted facts of the reference, to tie the image to it (ids
        // from tiktoken 0.14.0 with the published rank files: "hello" is 24912 in
        // o200k_base, 15339 in cl100k_base).
        let o200k = crate::tokenize::sources::builtin::ranks("o200k_base").unwrap();
        assert_eq!(o200k.get(b"hello"), Some(24912));
        let cl100k = crate::tokenize::sources::builtin::ranks("cl100k_base").unwrap();
        assert_eq!(cl100k.get(b"hello"), Some(15339));
    }

    #[test]
    fn a_damaged_image_is_refused() {
        let mut head = Vec::new();
        let h = ImageHeader {
            len: 1,
            max_token_len: 1,
            rank_bound: 1,
            slots: 16,
            filter_words: 1,
            bytes: 1,
        };
        h.write(&mut head);
        assert_eq!(ImageHeader::read(&head), Some(h));
        let leak = |v: Vec<u8>| -> &'static [u8] { Vec::leak(v) };
        assert!(Ranks::from_image(leak(head.clone()))
            .unwrap_err()
            .contains("truncated"));
        assert!(Ranks::from_image(leak(b"TKRANKS1".to_vec())).is_err());
        let wrong = ImageHeader {
            filter_words: 3,
            ..h
        };
        let mut bytes = Vec::new();
        wrong.write(&mut bytes);
        bytes.resize(1 << 20, 0);
        assert!(Ranks::from_image(leak(bytes))
            .unwrap_err()
            .contains("do not match"));
    }

    #[test]
    fn tiktoken_text_with_gaps() {
        // "YQ==" = "a", "Yg==" = "b", "YWI=" = "ab"; rank 2 is a gap.
        let ranks = Ranks::from_tiktoken_text("YQ== 0\nYg== 1\nYWI= 3\n\n").unwrap();
        assert_eq!(ranks.len(), 3);
        assert_eq!(ranks.rank_bound(), 4);
        assert_eq!(ranks.get(b"ab"), Some(3));
        assert_eq!(ranks.token_bytes(2), None);
    }

    #[test]
    fn malformed_input_is_an_error_naming_the_line() {
        let err = Ranks::from_tiktoken_text("YQ== 0\nYg==1\n").unwrap_err();
        assert!(err.starts_with("line 2"), "{err}");
        let err = Ranks::from_tiktoken_text("YQ== 0\n!!! 1\n").unwrap_err();
        assert!(err.starts_with("line 2"), "{err}");
        let err = Ranks::from_tiktoken_text("YQ== 0\nYQ== 1\n").unwrap_err();
        assert!(err.contains("two ranks"), "{err}");
        let err = Ranks::from_tiktoken_text("YQ== 0\nYg== 0\n").unwrap_err();
        assert!(err.contains("given twice"), "{err}");
        assert!(Ranks::from_ordered(vec![vec![]]).is_err());
        assert!(Ranks::from_ranked([(b"a".to_vec(), 4_000_000_000)]).is_err());
    }

    #[test]
    fn hash_separates_lengths_and_contents() {
        let mut seen = std::collections::HashSet::new();
        for n in 1..40 {
            for b in [b'a', b'b', 0, 255] {
                assert!(seen.insert(hash_bytes(&vec![b; n])));
            }
        }
    }
}
