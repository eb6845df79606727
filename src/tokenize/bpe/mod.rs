/*!
The count-only byte-level BPE engine: the product's counting path for every
tiktoken-style vocabulary.

A count is: split the text into pieces ([`SplitPattern`]), and for each piece
add the number of tokens BPE leaves. Four things make it fast while staying
token-for-token equal to tiktoken:

1. The splitter is a hand-written scanner (see `pretok`), not a backtracking
   regex, with ASCII fast paths (words eight bytes at a time).
2. Per-thread piece → count caches answer most pieces: natural text repeats
   its words. Pieces of 3..=8 bytes (two thirds of English text's
   cacheable pieces) go to a 4-way set-associative [`WordCache`] of 2^17
   16-byte ways (2 MiB), one cache line per set; 9..=24 bytes (all but
   ~0.4% of the rest) to a 4-way [`ShortCache`] of 2^17 32-byte ways
   (4 MiB), two adjacent cache lines per set; 25..=48 bytes to a 2-way
   [`PieceCache`] of 1 MiB ([`LONG_SLOTS`]). Memory is bounded and nothing
   is allocated per piece. A new counter's first 64 KiB go through a small
   direct-mapped cache alone ([`UNBATCHED_BYTES`]): a prompt is not worth
   zeroing 6 MiB for.
   On the first 80 MB of the real corpus (`bench-corpus/all.txt`: Linux and
   Python docs, a handbook, code, licences, dialogues; 19 M pieces, 11.4 M
   of them cacheable, 338 k distinct) a first pass misses 3.2% of its
   probes (4.9% with one 2-way cache of 4 MiB, 11.5% with the first, a
   2^15-slot direct-mapped one of 2 MiB), and each miss costs a merge,
   i.e. a dozen rank-table probes. Probes
   are batched ([`Sum`]): 32 pieces' sets are prefetched as the scanner
   finds them and probed together, so their L3 loads overlap.
3. A miss is merged exactly as tiktoken does: repeatedly merge the adjacent
   pair whose concatenation has the lowest rank, leftmost on ties (a
   vocabulary may ask to order pairs of one rank by their parts' ranks
   first, [`Ties::ByParts`]: a tokenizer.json that lists every split of
   every token, `hf::byte_level`; each merge call picks its loop once, so
   the tiktoken vocabularies run the loop without that pass). Pieces
   of up to 64 bytes merge on the stack ([`Flat`]: one branch-free `min`
   per round); longer ones over a linked list with candidates bucketed by
   rank ([`RankQueue`]), O(n log n) at worst and close to linear on the
   repetitive pieces that are long in practice, so a megabyte of one
   character counts in 1.5–4.4× the time of a megabyte of prose (it was
   10–16× with a plain binary heap of candidates).
4. The piece cache lives on huge pages where the system offers them
   (`huge`): random probes into 4 MiB then miss the TLB far less. So does
   a rank table built at run time; a built-in's is read in place from the
   binary (`layout`), where it measured as fast.

5. A piece over 24 bytes (in practice a Chinese or Japanese sentence: a run
   of letters, rarely seen twice) is cut where no token of the vocabulary
   can lie across (`cut`), and its parts, mostly words of one to three
   characters, go through the short cache like pieces. Merging such
   sentences whole was most of the time on CJK text.

tiktoken also emits a piece that is itself a token as that token, without
merging; we do the same (the merge would usually, not provably, agree).

How it got here (what was measured, kept, and tried and dropped): BENCHMARKS.md,
"The byte-level engine: how it got here".
*/

mod cache;
mod cut;
pub(crate) mod cut_pairs;
mod fixed;
pub(crate) mod hash;
mod huge;
pub(crate) mod layout;
pub mod ranks;

use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::BinaryHeap;
use std::sync::Arc;

use rustc_hash::FxHashMap;

pub(crate) use crate::tokenize::bpe::cache::PieceCache;
use crate::tokenize::bpe::hash::{fold, pack, pair_home};
use crate::tokenize::bpe::huge::HugeZeroed;
use crate::tokenize::bpe::ranks::{Ranks, Ties};
use crate::tokenize::pretok::{PieceSink, SplitPattern};
use crate::tokenize::{Counter, Tokenizer, TokenizerInfo};

/// A tiktoken-style BPE tokenizer: ranks plus a split pattern.
pub struct BpeTokenizer {
    info: TokenizerInfo,
    ranks: Arc<Ranks>,
    pattern: SplitPattern,
}

impl BpeTokenizer {
    pub fn new(info: TokenizerInfo, ranks: Arc<Ranks>, pattern: SplitPattern) -> Self {
        BpeTokenizer {
            info,
            ranks,
            pattern,
        }
    }

    pub fn ranks(&self) -> &Arc<Ranks> {
        &self.ranks
    }

    pub fn pattern(&self) -> &SplitPattern {
        &self.pattern
    }

    /// A concrete counter (the trait's `counter()` boxes one of these).
    pub fn bpe_counter(&self) -> BpeCounter {
        BpeCounter {
            ranks: Arc::clone(&self.ranks),
            pattern: self.pattern.clone(),
            cache: Caches {
                word: WordCache::new(),
                short: ShortCache::new(),
                first: PieceCache::new(),
                long: PieceCache::with_slots(LONG_SLOTS),
                long_bytes: 0,
            },
            merge: Merge::default(),
            unbatched: UNBATCHED_BYTES,
        }
    }
}

impl Tokenizer for BpeTokenizer {
    fn info(&self) -> &TokenizerInfo {
        &self.info
    }

    fn counter(&self) -> Box<dyn Counter> {
        Box::new(self.bpe_counter())
    }

    fn encode(&self, text: &str) -> Vec<u32> {
        let mut merge = Merge::default();
        let mut ids = Vec::new();
        self.pattern.for_each_piece(text, |piece: &str| {
            let piece = piece.as_bytes();
            match self.ranks.get(piece) {
                Some(rank) => ids.push(rank),
                None => {
                    merge.run(&self.ranks, piece);
                    ids.extend(merge.bounds().windows(2).map(|w| {
                        // Every part is a single byte or a merge the ranks
                        // know; a byte missing from the vocabulary is the
                        // only way to miss, and tiktoken panics there.
                        self.ranks
                            .get(&piece[w[0] as usize..w[1] as usize])
                            .unwrap_or(u32::MAX)
                    }));
                }
            }
        });
        ids
    }
}

/// One thread's counting state: its own splitter (a fancy-regex fallback
/// must not be shared), piece cache and merge scratch space.
pub struct BpeCounter {
    ranks: Arc<Ranks>,
    pattern: SplitPattern,
    cache: Caches,
    merge: Merge,
    /// Bytes this counter still counts without its set caches (see
    /// [`UNBATCHED_BYTES`]).
    unbatched: u64,
}

/// The bytes a new counter counts piece by piece through its small
/// [`PieceCache`] before it first touches its set caches. Those are 6 MiB
/// on huge pages, and the first write into each huge page has the kernel
/// zero all 2 MiB of it: 0.5–1 ms, the largest single cost of counting one
/// prompt (`tokenaudit check` of one line: 13% of its CPU), where the
/// small cache's 4 KiB pages are zeroed only as pieces reach them. Past
/// 64 KiB (some 12 k pieces) the batched caches pay for themselves. A
/// counter's texts add up, so an audit of many small files switches after
/// its first 64 KiB. The piece-by-piece path is the set caches' miss path
/// ([`BpeCounter::count_long`]) for every piece, so it counts the same.
/// Unit tests start counters on the set caches (they test that path);
/// `tests::small_texts_count_the_same_before_and_after_the_set_caches`
/// tests this one.
const UNBATCHED_BYTES: u64 = if cfg!(test) { 0 } else { 64 << 10 };

/// Slots of a counter's long-piece cache (25..=48 bytes; 1 MiB, two ways a
/// set). o200k leaves a Russian word of over 24 bytes uncut (its tokens
/// span nearly every pair of Cyrillic letters), so such words come here
/// whole: the handbook's ru-RU part has 5,918 of them, 2,354 distinct, and
/// the 4,096-slot direct-mapped cache they shared with a counter's first
/// pieces merged 42% of them again on a second pass. Its 4 KiB pages are
/// touched only as long pieces reach them.
const LONG_SLOTS: usize = 1 << 14;

/// The piece caches of one counter: most pieces are short and go to the
/// [`WordCache`] (up to 8 bytes) or the [`ShortCache`] (up to 24); the few
/// of 25..=48 bytes to a 2-way [`PieceCache`]; a counter's first pieces to
/// a small direct-mapped one.
struct Caches {
    word: WordCache,
    short: ShortCache,
    /// Every piece of a counter's first [`UNBATCHED_BYTES`].
    first: PieceCache,
    /// Pieces of 25..=48 bytes once the set caches are in use.
    long: PieceCache<2>,
    /// Bytes of long pieces counted uncut, while the vocabulary has no cut
    /// table at hand (see [`READ_CUTS_AFTER`]).
    long_bytes: u64,
}

impl BpeCounter {
    /// Whether `len` more bytes are counted piece by piece: while the
    /// counter's first [`UNBATCHED_BYTES`] last, taken off them.
    #[inline]
    fn unbatched(left: &mut u64, len: usize) -> bool {
        let small = *left > 0 && len as u64 <= *left;
        *left = if small { *left - len as u64 } else { 0 };
        small
    }

    /// The pieces `cut` hands out, each through [`Self::count_long`] and
    /// the small cache: a counter's first [`UNBATCHED_BYTES`], whatever cuts
    /// them.
    fn count_one_by_one(
        first: &mut PieceCache,
        merge: &mut Merge,
        ranks: &Ranks,
        cut: impl FnOnce(&mut dyn FnMut(&str)),
    ) -> u64 {
        let mut total = 0;
        cut(&mut |piece| total += Self::count_long(first, merge, ranks, piece.as_bytes()));
        total
    }

    /// Pieces over [`ShortCache::MAX_KEY`] bytes (through the long cache),
    /// and every piece of a counter's first [`UNBATCHED_BYTES`] (through the
    /// first): kept out of line (the first are rare, the second few).
    #[inline(never)]
    fn count_long<const WAYS: usize>(
        cache: &mut PieceCache<WAYS>,
        merge: &mut Merge,
        ranks: &Ranks,
        piece: &[u8],
    ) -> u64 {
        cache.get_or_insert_with(piece, || Self::uncached(merge, ranks, piece)) as u64
    }

    /// A piece no cache knows. One that is itself a token is that token, as
    /// in tiktoken (long tokens exist: runs of spaces, `-`, `=`); otherwise
    /// merge.
    #[inline(never)]
    fn uncached(merge: &mut Merge, ranks: &Ranks, piece: &[u8]) -> u32 {
        if ranks.get(piece).is_some() {
            1
        } else {
            merge.count(ranks, piece)
        }
    }
}

impl Counter for BpeCounter {
    fn count(&mut self, text: &str) -> u64 {
        let BpeCounter {
            ranks,
            pattern,
            cache,
            merge,
            unbatched,
        } = self;
        if Self::unbatched(unbatched, text.len()) {
            return Self::count_one_by_one(&mut cache.first, merge, ranks, |f| {
                pattern.for_each_piece(text, f)
            });
        }
        let mut sink = Sum::of_text(cache, merge, ranks, text);
        pattern.for_each_piece(text, &mut sink);
        sink.finish()
    }
}

impl BpeCounter {
    /// Counts pieces the caller cuts itself (a tokenizer.json
    /// pre-tokenizer chain, see `hf_bpe`), each as a whole piece, with the
    /// same caches and batching as [`Counter::count`]. `len` is the length
    /// of the text the pieces are cut from (it decides, before the first
    /// piece, whether they go piece by piece: [`UNBATCHED_BYTES`]).
    pub fn count_pieces(&mut self, len: usize, cut: impl FnOnce(&mut dyn FnMut(&str))) -> u64 {
        if Self::unbatched(&mut self.unbatched, len) {
            return Self::count_one_by_one(
                &mut self.cache.first,
                &mut self.merge,
                &self.ranks,
                |f| non_empty(cut, f),
            );
        }
        let mut sink = Sum::new(&mut self.cache, &mut self.merge, &self.ranks);
        non_empty(cut, |piece| (&mut sink).piece(piece));
        sink.finish()
    }
}

/// Hands `f` the pieces `cut` makes, but the empty ones: both of a
/// counter's paths take pieces of one byte or more (what `for_each_piece`
/// hands out), and a tokenizer.json chain may cut an empty one (no tokens).
/// `f` is generic, so the batched path pays one indirect call per piece,
/// as before the guard.
fn non_empty(cut: impl FnOnce(&mut dyn FnMut(&str)), mut f: impl FnMut(&str)) {
    cut(&mut |piece| {
        if !piece.is_empty() {
            f(piece)
        }
    })
}

/// Pieces of 3..=24 bytes whose cache sets are fetched together (in each
/// of the two caches' batches). 16, 32
/// and 64 measured alike within the noise (o200k, 10 alternating runs on
/// 30 MB: medians 99, 102, 101 MB/s); 8 was slower.
const BATCH: usize = 32;

/// The counting loop's per-piece step (see [`PieceSink`] for why it is not
/// a closure). Cacheable pieces wait in a batch: their cache sets are
/// prefetched as they arrive and probed when the batch is full, so the
/// loads of a batch overlap instead of each waiting on L3 in turn.
struct Sum<'a> {
    caches: &'a mut Caches,
    merge: &'a mut Merge,
    ranks: &'a Ranks,
    total: u64,
    keys: [ShortKey; BATCH],
    waiting: usize,
    words: [WordKey; BATCH],
    words_waiting: usize,
    /// The address of the text whose pieces come in, and how many of its
    /// first bytes have 8 bytes of text from them: a piece of up to 8 bytes
    /// that starts there is read as one word (see [`Sum::word_piece`]).
    /// None (0) when the pieces come from elsewhere.
    text_start: usize,
    readable: usize,
}

impl<'a> Sum<'a> {
    fn new(caches: &'a mut Caches, merge: &'a mut Merge, ranks: &'a Ranks) -> Self {
        Sum {
            caches,
            merge,
            ranks,
            total: 0,
            keys: [const { ShortKey::EMPTY }; BATCH],
            waiting: 0,
            words: [WordKey::EMPTY; BATCH],
            words_waiting: 0,
            text_start: 0,
            readable: 0,
        }
    }

    /// A sum of the pieces of `text`, which may read a few bytes past a
    /// piece as long as they are `text`'s. `text` stays borrowed while the
    /// sum lives, so its address range holds the same bytes all that time.
    fn of_text(
        caches: &'a mut Caches,
        merge: &'a mut Merge,
        ranks: &'a Ranks,
        text: &'a str,
    ) -> Self {
        Sum {
            text_start: text.as_ptr() as usize,
            readable: text.len().saturating_sub(7),
            ..Sum::new(caches, merge, ranks)
        }
    }

    /// Counts the pieces still waiting and returns the total.
    fn finish(mut self) -> u64 {
        self.flush();
        self.flush_words();
        self.total
    }

    fn flush_words(&mut self) {
        self.total += count_batch(
            &self.words[..self.words_waiting],
            &mut self.caches.word,
            self.merge,
            self.ranks,
        );
        self.words_waiting = 0;
    }

    fn flush(&mut self) {
        self.total += count_batch(
            &self.keys[..self.waiting],
            &mut self.caches.short,
            self.merge,
            self.ranks,
        );
        self.waiting = 0;
    }
}

impl PieceSink for &mut Sum<'_> {
    #[inline(always)]
    fn piece(&mut self, piece: &str) {
        let piece = piece.as_bytes();
        if piece.len() > SPLIT_MIN {
            self.split(piece);
        } else {
            self.short_piece(piece);
        }
    }
}

/// Long-piece bytes a counter merges whole before it has a vocabulary
/// without a built-in cut table read (`Ranks::read_cuts`, 50–175 ms): at
/// the uncut speed on CJK text (~25–50 MB/s of long pieces) 2 MiB cost
/// about as much, so a short CJK prompt does not pay for the reading and a
/// CJK corpus does once.
const READ_CUTS_AFTER: u64 = if cfg!(test) { 4 << 10 } else { 2 << 20 };

/// Pieces longer than this are cut where no token can lie across
/// ([`cut`]) and their parts counted on their own.
const SPLIT_MIN: usize = ShortCache::MAX_KEY;

impl Sum<'_> {
    /// A piece over [`SPLIT_MIN`] bytes: its parts between cuts go through
    /// the caches like pieces (most are a word of one to three CJK
    /// characters, cached from the first sentence on), except that a part
    /// is merged, never taken as the token it may be (see [`cut`]).
    #[inline(never)]
    fn split(&mut self, piece: &[u8]) {
        let ranks = self.ranks;
        let cuts = match ranks.cuts() {
            Some(cuts) => cuts,
            None if self.caches.long_bytes < READ_CUTS_AFTER => {
                self.caches.long_bytes += piece.len() as u64;
                self.total += self.long_piece(piece);
                return;
            }
            None => ranks.read_cuts(),
        };
        let mut parts = 0usize;
        cuts.for_each_part(piece, |part| {
            parts += 1;
            if part.len() == piece.len() {
                self.total += self.long_piece(piece);
            } else if cuts.is_unreachable(ranks, part) {
                self.total += self.merge.count(ranks, part) as u64;
            } else if part.len() <= ShortCache::MAX_KEY {
                self.short_piece(part);
            } else {
                self.total += self.long_piece(part);
            }
        });
        debug_assert!(parts > 0);
    }

    /// A piece or part over [`ShortCache::MAX_KEY`] bytes, through the
    /// long-piece cache.
    #[inline]
    fn long_piece(&mut self, piece: &[u8]) -> u64 {
        BpeCounter::count_long(&mut self.caches.long, self.merge, self.ranks, piece)
    }

    /// A piece of 1..=24 bytes, through the cache of its length.
    #[inline(always)]
    fn short_piece(&mut self, piece: &[u8]) {
        if piece.len() <= WordCache::MAX_KEY {
            self.word_piece(piece);
        } else {
            self.batch(piece);
        }
    }

    /// A piece of 1..=8 bytes (most pieces of English text), with as few
    /// branches on its length as can be: lengths follow no pattern a branch
    /// predictor can learn, and each mispredicted branch costs about what
    /// the rest of the piece's step does. The piece is read as one word
    /// (masked to its length) when the text goes on for 8 bytes from it,
    /// packed otherwise; its key is always written to the batch, but kept
    /// only for 3 bytes or more; 1 and 2 bytes are counted at once (two
    /// bytes are one token or two, which the rank table's 256 KiB direct
    /// array answers, cheaper than the cache).
    #[inline(always)]
    fn word_piece(&mut self, piece: &[u8]) {
        let n = piece.len();
        debug_assert!(n > 0, "pieces are never empty");
        let word = self.packed(piece);
        let key = WordKey::from_word(word, n);
        let keep = n >= 3;
        self.caches.word.prefetch(&key);
        self.words[self.words_waiting] = key;
        self.words_waiting += keep as usize;
        let two_tokens = (n == 2) & (self.ranks.pair_rank(word as u8, (word >> 8) as u8) == NONE);
        self.total += (!keep) as u64 * (1 + two_tokens as u64);
        if self.words_waiting == BATCH {
            self.flush_words();
        }
    }

    /// `piece` (1..=8 bytes) as one little-endian word, zero above its
    /// bytes: read whole from the text when the text goes on for 8 bytes
    /// from it (then masked), packed otherwise. Both give the same word (a
    /// test checks it), so a piece finds its cache entry either way.
    #[inline(always)]
    fn packed(&self, piece: &[u8]) -> u64 {
        let n = piece.len();
        debug_assert!((1..=WordCache::MAX_KEY).contains(&n));
        let at = piece.as_ptr();
        // One comparison: an address before the text wraps to a large offset.
        if (at as usize).wrapping_sub(self.text_start) < self.readable {
            // SAFETY: the 8 bytes from `at` are the text's (its offset has
            // 8 bytes of text from it, checked just above), and the text
            // outlives the sum.
            let all = u64::from_le(unsafe { std::ptr::read_unaligned(at as *const u64) });
            all & (u64::MAX >> (64 - 8 * n))
        } else {
            pack(piece)
        }
    }

    /// Queues a piece of 9..=24 bytes for the batched probe of its cache.
    #[inline(always)]
    fn batch(&mut self, piece: &[u8]) {
        debug_assert!(piece.len() > WordCache::MAX_KEY);
        let key = ShortKey::new(piece);
        self.caches.short.prefetch(&key);
        self.keys[self.waiting] = key;
        self.waiting += 1;
        if self.waiting == BATCH {
            self.flush();
        }
    }
}

/// The tokens of a batch of keys whose sets were prefetched: each from its
/// cache, or merged and then cached.
#[inline(always)]
fn count_batch<const W: usize, K: CacheKey<W>>(
    keys: &[K],
    cache: &mut SetCache<W>,
    merge: &mut Merge,
    ranks: &Ranks,
) -> u64 {
    let mut total = 0;
    for key in keys {
        let count = match cache.get(key) {
            Some(count) => count,
            None => {
                let (bytes, n) = key.piece();
                let count = BpeCounter::uncached(merge, ranks, &bytes[..n]);
                cache.put(key, count);
                count
            }
        };
        total += count as u64;
    }
    total
}

/// For [`Ranks::cuts`]: whether merging a token's own bytes leaves one
/// token.
pub(crate) fn merges_to_one_tester(ranks: &Ranks) -> impl FnMut(&[u8]) -> bool + '_ {
    let mut merge = Merge::default();
    move |token| merge.count(ranks, token) == 1
}

/// A [`WordCache`] key: a piece of 3..=8 bytes as one little-endian word
/// (zero-padded), and `len | hash << 8` (the set index takes the hash's
/// high bits).
#[derive(Clone, Copy)]
struct WordKey {
    word: u64,
    meta: u64,
}

impl WordKey {
    const EMPTY: WordKey = WordKey { word: 0, meta: 0 };

    /// The key of a piece of 3..=8 bytes, packed from its own bytes.
    #[cfg(test)]
    fn new(piece: &[u8]) -> Self {
        debug_assert!((3..=WordCache::MAX_KEY).contains(&piece.len()));
        Self::from_word(pack(piece), piece.len())
    }

    /// The key of the `n` bytes packed in `word` (zero above them). Keys
    /// of 1 or 2 bytes are made (see [`Sum::word_piece`]) but never stored.
    #[inline(always)]
    fn from_word(word: u64, n: usize) -> Self {
        debug_assert!((1..=WordCache::MAX_KEY).contains(&n) && word >> (8 * n - 1) >> 1 == 0);
        let hash = fold(
            word ^ 0xa076_1d64_78bd_642f,
            0xe703_7ed1_a0b4_28db ^ n as u64,
        );
        WordKey {
            word,
            meta: n as u64 | hash << 8,
        }
    }

    #[inline(always)]
    fn len(&self) -> usize {
        self.meta as u8 as usize
    }
}

/// A cache key: a piece of 3..=24 bytes as three little-endian words
/// (zero-padded) and its length.
struct ShortKey {
    words: [u64; 3],
    len: u64,
    hash: u64,
}

impl ShortKey {
    const EMPTY: ShortKey = ShortKey {
        words: [0; 3],
        len: 0,
        hash: 0,
    };

    #[inline(always)]
    fn new(piece: &[u8]) -> Self {
        let n = piece.len();
        debug_assert!((3..=ShortCache::MAX_KEY).contains(&n));
        let word = |i: usize| u64::from_le_bytes(piece[i..i + 8].try_into().unwrap());
        let words = if n <= 8 {
            [pack(piece), 0, 0]
        } else if n <= 16 {
            [word(0), pack(&piece[8..]), 0]
        } else {
            [word(0), word(8), pack(&piece[16..])]
        };
        // Multiply-folds of the words (one for the pieces of up to 8 bytes,
        // most of them); the set index takes the high bits.
        let a = fold(
            words[0] ^ 0xa076_1d64_78bd_642f,
            words[1] ^ (n as u64) << 56 ^ 0xe703_7ed1_a0b4_28db,
        );
        let hash = if n <= 8 {
            a
        } else {
            fold(a ^ words[2], 0x8ebc_6af0_9c88_c6e3)
        };
        ShortKey {
            words,
            len: n as u64,
            hash,
        }
    }
}

/// What a [`SetCache`] needs of a key: the hash whose high bits pick the
/// set, whether a way holds this key, and the way that holds it with a
/// count. A way's last word is `len | count << 8` (a zero way has length 0,
/// which no key has); the words before it are the key's.
trait CacheKey<const W: usize> {
    fn hash(&self) -> u64;
    fn same(&self, way: &[u64]) -> bool;
    fn way(&self, count: u32) -> [u64; W];
    /// The piece back (its first `len` bytes), for the merge of a miss.
    fn piece(&self) -> ([u8; 24], usize);
}

impl CacheKey<2> for WordKey {
    #[inline(always)]
    fn hash(&self) -> u64 {
        self.meta
    }
    #[inline(always)]
    fn same(&self, way: &[u64]) -> bool {
        way[0] == self.word && way[1] as u8 as usize == self.len()
    }
    #[inline(always)]
    fn way(&self, count: u32) -> [u64; 2] {
        [self.word, self.len() as u64 | (count as u64) << 8]
    }
    fn piece(&self) -> ([u8; 24], usize) {
        let mut out = [0u8; 24];
        out[..8].copy_from_slice(&self.word.to_le_bytes());
        (out, self.len())
    }
}

impl CacheKey<4> for ShortKey {
    #[inline(always)]
    fn hash(&self) -> u64 {
        self.hash
    }
    #[inline(always)]
    fn same(&self, way: &[u64]) -> bool {
        way[0] == self.words[0]
            && way[1] == self.words[1]
            && way[2] == self.words[2]
            && way[3] as u8 as u64 == self.len
    }
    #[inline(always)]
    fn way(&self, count: u32) -> [u64; 4] {
        let [a, b, c] = self.words;
        [a, b, c, self.len | (count as u64) << 8]
    }
    fn piece(&self) -> ([u8; 24], usize) {
        let mut out = [0u8; 24];
        for (k, w) in self.words.iter().enumerate() {
            out[8 * k..8 * k + 8].copy_from_slice(&w.to_le_bytes());
        }
        (out, self.len as usize)
    }
}

/// A 4-way set-associative piece → token count cache of 2^15 sets whose
/// ways are `W` words: a key's set is picked by its hash's high bits, the
/// way hit moves to the front and the ones before it back, and a miss
/// pushes every way back one and takes the front (LRU). The two caches
/// ([`WordCache`], [`ShortCache`]) differ only in their keys.
struct SetCache<const W: usize> {
    /// `SET_WORDS * SETS` words, zeroed, on huge pages where the system
    /// has them (see `huge`), starting at a 64-byte boundary.
    words: HugeZeroed<u64>,
}

/// The cache of pieces of 3..=8 bytes: 56% of the English part's pieces
/// and 64% with the 8-byte ones, against 18% of 9..=16. A way is 16 bytes
/// (the piece as one word, then `len | count << 8`), a set one 64-byte
/// line.
/// Beside the [`ShortCache`] (2 MiB more per thread): a short piece's key
/// is built, stored in the batch and compared as one word where the
/// [`ShortKey`] is three words and a length. Eight passes of a count
/// (`engine_speed`, cachegrind): English 1.00 G → 0.92 G instructions
/// (o200k; cl100k 0.97 → 0.89); `scripts/bench-engine-ab 9`: warm English
/// 1.05–1.06x, warm non-Latin 1.11–1.13x (the short cache's sets hold only
/// the longer pieces: a second pass over the non-Latin part misses 0.13%
/// of probes, not 0.47%), cold 1.00–1.07x. With the short cache halved to
/// keep 4 MiB in all, warm non-Latin was 0.96–0.98x.
type WordCache = SetCache<2>;

/// The cache of pieces of 9..=24 bytes (it takes 3..=24). A way is 32
/// bytes (the key's three words, then `len | count << 8`), a set is the
/// four ways of two adjacent 64-byte cache lines, both prefetched; most
/// hits are in the front way, in the first line.
///
/// Measured on the first 80 MB of the real corpus (11.4 M pieces of 3..=48
/// bytes, 338 k distinct), with o200k: misses were 11.5% for the previous
/// direct-mapped cache of 2^15 64-byte slots (2 MiB), 8.6% for 2^16 and
/// 6.4% for 2^17 direct-mapped slots, 5.0% for 2^17 ways in 2-way sets.
/// On the same text today (11.7 M probes a pass, the parts of cut pieces
/// included), a first pass missed 4.85% in 2-way sets and 4.18% in 4-way
/// sets of the same 4 MiB; on the benchmark's non-Latin part, whose 62 k
/// distinct keys crowd some 2-way sets, a second pass missed 1.15% and
/// 0.47% (warm o200k count 1.06x, cl100k 1.07x; English unchanged).
/// A miss costs a merge (a dozen rank-table probes into a table of
/// several MiB), a hit one or two cache lines, so the miss rate rules.
type ShortCache = SetCache<4>;

impl<const W: usize> SetCache<W> {
    /// The longest key: the way's words but the last, 8 bytes each.
    const MAX_KEY: usize = 8 * (W - 1);
    const WAYS: usize = 4;
    const SETS: usize = 1 << 15;
    const SET_WORDS: usize = W * Self::WAYS;

    fn new() -> Self {
        SetCache {
            words: HugeZeroed::new(Self::SET_WORDS * Self::SETS)
                .expect("memory for a piece cache (2 or 4 MiB)"),
        }
    }

    /// Where the set of `key` starts in `words`.
    #[inline(always)]
    fn set_start(key: &impl CacheKey<W>) -> usize {
        Self::SET_WORDS * ((key.hash() >> 40) as usize & (Self::SETS - 1))
    }

    /// Starts loading the set `key` belongs to (a hint; reads nothing).
    #[inline(always)]
    fn prefetch(&self, key: &impl CacheKey<W>) {
        prefetch_lines(&self.words, Self::set_start(key), Self::SET_WORDS / 8);
    }

    #[inline(always)]
    fn set(&mut self, key: &impl CacheKey<W>) -> &mut [u64] {
        let at = Self::set_start(key);
        &mut self.words[at..at + Self::SET_WORDS]
    }

    #[inline]
    fn get(&mut self, key: &impl CacheKey<W>) -> Option<u32> {
        let set = self.set(key);
        for w in 0..Self::WAYS {
            let way = &set[W * w..W * w + W];
            if key.same(way) {
                let count = (way[W - 1] >> 8) as u32;
                if w > 0 {
                    set[..W * w + W].rotate_right(W);
                }
                return Some(count);
            }
        }
        None
    }

    #[inline]
    fn put(&mut self, key: &impl CacheKey<W>, count: u32) {
        let set = self.set(key);
        set.copy_within(..Self::SET_WORDS - W, W);
        set[..W].copy_from_slice(&key.way(count));
    }
}

/// Starts loading `lines` cache lines of `words` from word `at` (a hint:
/// it reads nothing and cannot fault).
#[inline(always)]
fn prefetch_lines(words: &[u64], at: usize, lines: usize) {
    debug_assert!(at + 8 * lines <= words.len());
    #[cfg(target_arch = "x86_64")]
    for line in 0..lines {
        // SAFETY: a prefetch is only a hint; the address is inside `words`.
        unsafe {
            std::arch::x86_64::_mm_prefetch(
                words.as_ptr().wrapping_add(at + 8 * line) as *const i8,
                std::arch::x86_64::_MM_HINT_T0,
            );
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (words, at, lines);
}

/// Scratch space for merging one piece; reused across pieces so the hot
/// path does not allocate once warm.
#[derive(Default)]
struct Merge {
    /// Part boundaries (stack merge) or next-part links (linked merge).
    bounds: Vec<u32>,
    /// Rank of the pair starting at each part; `u32::MAX` for none.
    pair: Vec<u32>,
    prev: Vec<u32>,
    /// Rank of each part (linked path).
    part: Vec<u32>,
    queue: RankQueue,
    joins: JoinMemo,
}

const NONE: u32 = u32::MAX;

impl Merge {
    /// Pieces up to this many bytes merge in a flat vector. Not tuned by
    /// measurement: the pieces that miss the cache in real text are almost
    /// all shorter (705 of 1.85 M pieces were over 48 bytes), and at 64 the
    /// flat path's worst case is ~2k rank compares. tiktoken uses 100.
    const FLAT_MAX: usize = 64;

    /// The number of tokens BPE leaves of `piece`.
    fn count(&mut self, ranks: &Ranks, piece: &[u8]) -> u32 {
        if Flat::fits(ranks, piece) {
            Flat::merge_with(ranks, piece).parts
        } else {
            self.linked(ranks, piece)
        }
    }

    /// Merges `piece`, leaving its part boundaries in `bounds()`.
    fn run(&mut self, ranks: &Ranks, piece: &[u8]) {
        self.bounds.clear();
        if Flat::fits(ranks, piece) {
            let flat = Flat::merge_with(ranks, piece);
            let mut i = 0;
            while i < piece.len() {
                self.bounds.push(i as u32);
                i = flat.next[i] as usize;
            }
        } else {
            self.linked(ranks, piece);
            let mut i = 0u32;
            let mut out = Vec::with_capacity(piece.len() / 2);
            while (i as usize) < piece.len() {
                out.push(i);
                i = self.bounds[i as usize];
            }
            self.bounds = out;
        }
        self.bounds.push(piece.len() as u32);
    }

    /// Boundaries after [`Merge::run`]: parts are `bounds[k]..bounds[k+1]`.
    fn bounds(&self) -> &[u32] {
        &self.bounds
    }

    /// Merge over a linked list of parts, each named by its start byte:
    /// `bounds[s]` is the end of the part starting at `s`, `prev[s]` the
    /// start of the part before it, `part[s]` its rank, `pair[s]` the rank
    /// of it joined with the next part (`NONE` if that is not a token).
    ///
    /// Candidates wait in a [`RankQueue`]: one bucket of starts per rank, and
    /// a heap of the ranks. Joining a pair of rank `r` can only create pairs
    /// of *other* ranks (they are longer byte strings), so the bucket of the
    /// lowest rank is complete when it is taken: sorted by start, it is
    /// exactly the leftmost-first order tiktoken would merge in. A candidate
    /// is stale, and skipped, when `pair[start]` no longer equals its rank
    /// (a start's pair only ever grows to longer byte strings, so it never
    /// gets an old rank back). If a join creates a pair of *lower* rank
    /// than `r` (vocabularies do not promise it cannot), the rest of the
    /// bucket goes back and the lower rank is merged first.
    ///
    /// On a megabyte of one character this replaced a binary heap of a
    /// million `(rank, start)` entries; the few ranks such a piece uses make
    /// the heap tiny and the buckets sequential. Returns the number of parts.
    ///
    /// With [`Ties::ByParts`] a bucket is ordered by `(rank of the left
    /// part, rank of the right part, start)` instead of by start. The key of
    /// a live candidate does not change while it waits: if either of its
    /// parts grew, its pair would be a longer byte string, of another rank,
    /// and the candidate stale. Stale ones are dropped before sorting (their
    /// parts may have no next part left to rank).
    fn linked(&mut self, ranks: &Ranks, piece: &[u8]) -> u32 {
        match ranks.ties() {
            Ties::Leftmost => self.linked_with::<false>(ranks, piece),
            Ties::ByParts => self.linked_with::<true>(ranks, piece),
        }
    }

    fn linked_with<const BY_PARTS: bool>(&mut self, ranks: &Ranks, piece: &[u8]) -> u32 {
        let n = piece.len();
        self.bounds.clear();
        self.bounds.extend(1..=n as u32);
        self.prev.clear();
        self.prev.extend((0..n as u32).map(|i| i.wrapping_sub(1)));
        self.part.clear();
        self.part
            .extend(piece.iter().map(|&b| ranks.byte_rank(b).unwrap_or(NONE)));
        self.pair.clear();
        self.pair.extend((0..n).map(|i| {
            if i + 1 < n {
                ranks.get(&piece[i..i + 2]).unwrap_or(NONE)
            } else {
                NONE
            }
        }));
        let queue = &mut self.queue;
        queue.clear();
        for (i, &r) in self.pair.iter().enumerate() {
            if r != NONE {
                queue.add(r, i as u32);
            }
        }
        let (next, prev, part, pair) = (
            &mut self.bounds,
            &mut self.prev,
            &mut self.part,
            &mut self.pair,
        );
        let joins = &mut self.joins;
        let mut parts = n as u32;
        while let Some((rank, bucket, mut starts)) = queue.take_lowest() {
            order_bucket::<BY_PARTS>(&mut starts, rank, next, part, pair);
            let mut stopped_at = None;
            for (k, &left) in starts.iter().enumerate() {
                if pair[left as usize] != rank {
                    continue;
                }
                let right = next[left as usize];
                let end = next[right as usize];
                next[left as usize] = end;
                part[left as usize] = rank;
                pair[right as usize] = NONE;
                parts -= 1;
                let mut lowest = NONE;
                pair[left as usize] = NONE;
                if (end as usize) < n {
                    prev[end as usize] = left;
                    let after = next[end as usize];
                    let r = joins.rank(
                        ranks,
                        rank,
                        part[end as usize],
                        &piece[left as usize..after as usize],
                    );
                    pair[left as usize] = r;
                    if r != NONE {
                        queue.add(r, left);
                        lowest = r;
                    }
                }
                if left > 0 {
                    let before = prev[left as usize];
                    let r = joins.rank(
                        ranks,
                        part[before as usize],
                        rank,
                        &piece[before as usize..end as usize],
                    );
                    pair[before as usize] = r;
                    if r != NONE {
                        queue.add(r, before);
                        lowest = lowest.min(r);
                    }
                }
                if lowest < rank {
                    stopped_at = Some(k);
                    break;
                }
            }
            match stopped_at {
                Some(k) => {
                    starts.drain(..=k);
                    queue.put_back(rank, bucket, starts);
                }
                None => queue.finish(rank, bucket, starts),
            }
        }
        parts
    }
}

/// Puts a bucket of candidates of `rank` in merge order ([`Merge::linked`]):
/// by start, or with `BY_PARTS` the live ones by `(rank of the left part,
/// rank of the right part, start)`.
#[inline]
fn order_bucket<const BY_PARTS: bool>(
    starts: &mut Vec<u32>,
    rank: u32,
    next: &[u32],
    part: &[u32],
    pair: &[u32],
) {
    if BY_PARTS {
        starts.retain(|&s| pair[s as usize] == rank);
        starts.sort_unstable_by_key(|&s| {
            let right = next[s as usize] as usize;
            (part[s as usize], part[right], s)
        });
    } else {
        starts.sort_unstable();
    }
}

/// The merge of a piece of at most [`Merge::FLAT_MAX`] bytes, on the
/// stack. Parts are named by their first byte: `next[s]` is where the part
/// starting at `s` ends, and `key[s]` ranks it joined with the next part as
/// `rank << 6 | s` (`NONE` if that is no token, or if `s` no longer starts a
/// part). The lowest key is then the lowest rank, leftmost on ties, so each
/// round is one branch-free `min` over the starts: O(n²), but n ≤ 64,
/// everything is in a few cache lines, and nothing shifts (an earlier
/// version tracked the index beside the minimum and used `Vec::remove`: a
/// `memmove` call per join; this one runs ~15% fewer instructions).
struct Flat {
    next: [u8; Merge::FLAT_MAX],
    parts: u32,
}

impl Flat {
    /// Ranks must stay below this for `rank << 6 | s` to fit a `u32`
    /// (vocabularies are a few hundred thousand tokens).
    const RANK_BOUND: usize = 1 << 26;

    /// Whether `piece` merges here rather than over the linked list.
    #[inline(always)]
    fn fits(ranks: &Ranks, piece: &[u8]) -> bool {
        piece.len() <= Merge::FLAT_MAX && ranks.rank_bound() <= Self::RANK_BOUND
    }

    /// [`Self::merge`] with the vocabulary's tie-break, chosen once per
    /// piece: the tiktoken vocabularies' loop is the one without the
    /// tie pass.
    #[inline]
    fn merge_with(ranks: &Ranks, piece: &[u8]) -> Flat {
        match ranks.ties() {
            Ties::Leftmost => Self::merge::<false>(ranks, piece),
            Ties::ByParts => Self::merge::<true>(ranks, piece),
        }
    }

    #[inline]
    fn merge<const BY_PARTS: bool>(ranks: &Ranks, piece: &[u8]) -> Flat {
        let n = piece.len();
        debug_assert!((2..=Merge::FLAT_MAX).contains(&n));
        debug_assert!(ranks.rank_bound() <= Self::RANK_BOUND);
        let key = |rank: u32, s: usize| {
            if rank == NONE {
                NONE
            } else {
                rank << 6 | s as u32
            }
        };
        let mut next = [0u8; Merge::FLAT_MAX];
        let mut prev = [0u8; Merge::FLAT_MAX];
        let mut keys = [NONE; Merge::FLAT_MAX];
        for i in 0..n {
            next[i] = i as u8 + 1;
            prev[i] = (i as u8).wrapping_sub(1);
        }
        for i in 0..n - 1 {
            keys[i] = key(ranks.pair_rank(piece[i], piece[i + 1]), i);
        }
        let join = |from: usize, to: usize| key(ranks.get(&piece[from..to]).unwrap_or(NONE), from);
        let mut parts = n as u32;
        loop {
            let mut best = keys[..n - 1].iter().fold(NONE, |a, &b| a.min(b));
            if best == NONE {
                break;
            }
            if BY_PARTS {
                best = Self::by_parts(ranks, piece, &keys[..n - 1], &next, best);
            }
            let left = (best & 63) as usize;
            let right = next[left] as usize;
            let end = next[right] as usize;
            next[left] = end as u8;
            keys[right] = NONE;
            parts -= 1;
            if end < n {
                prev[end] = left as u8;
                keys[left] = join(left, next[end] as usize);
            } else {
                keys[left] = NONE;
            }
            if left > 0 {
                let before = prev[left] as usize;
                keys[before] = join(before, end);
            }
        }
        Flat { next, parts }
    }
}

impl Flat {
    /// Among the keys of `best`'s rank (pairs that join into the same
    /// token), the one whose parts have the lowest `(left rank, right
    /// rank)`, leftmost on ties ([`Ties::ByParts`]). A second pass over the
    /// keys, and the parts ranked only when the rank has two candidates.
    #[inline(never)]
    fn by_parts(ranks: &Ranks, piece: &[u8], keys: &[u32], next: &[u8], best: u32) -> u32 {
        let rank = best >> 6;
        let same = |k: u32| k != NONE && k >> 6 == rank;
        if keys.iter().filter(|&&k| same(k)).count() < 2 {
            return best;
        }
        let part = |from: usize, to: usize| ranks.get(&piece[from..to]).unwrap_or(NONE);
        let mut chosen = (NONE, NONE, best);
        for (s, &k) in keys.iter().enumerate() {
            if same(k) {
                let right = next[s] as usize;
                let parts = (part(s, right), part(right, next[right] as usize), k);
                if parts < chosen {
                    chosen = parts;
                }
            }
        }
        chosen.2
    }
}

/// Candidate pairs of a long piece, bucketed by rank (see [`Merge::linked`]).
struct RankQueue {
    ranks: BinaryHeap<Reverse<u32>>,
    bucket_of: FxHashMap<u32, u32>,
    buckets: Vec<Vec<u32>>,
    free: Vec<u32>,
    /// The last `(rank, bucket)` added to: a long run of one character
    /// adds a million candidates of the same rank in a row, and this skips
    /// the map for all but the first.
    last: (u32, u32),
    /// Candidates added and taken so far: the work of the merges, counted so
    /// that a test can tell linear from quadratic without a clock.
    handled: u64,
}

impl Default for RankQueue {
    fn default() -> Self {
        RankQueue {
            ranks: BinaryHeap::new(),
            bucket_of: FxHashMap::default(),
            buckets: Vec::new(),
            free: Vec::new(),
            last: (NONE, 0),
            handled: 0,
        }
    }
}

impl RankQueue {
    fn clear(&mut self) {
        self.last = (NONE, 0);
        self.ranks.clear();
        for (_, b) in self.bucket_of.drain() {
            self.buckets[b as usize].clear();
            self.free.push(b);
        }
    }

    #[inline]
    fn add(&mut self, rank: u32, start: u32) {
        self.handled += 1;
        if rank == self.last.0 {
            self.buckets[self.last.1 as usize].push(start);
            return;
        }
        match self.bucket_of.entry(rank) {
            Entry::Occupied(e) => {
                self.last = (rank, *e.get());
                self.buckets[*e.get() as usize].push(start);
            }
            Entry::Vacant(e) => {
                let b = self.free.pop().unwrap_or_else(|| {
                    self.buckets.push(Vec::new());
                    self.buckets.len() as u32 - 1
                });
                self.buckets[b as usize].push(start);
                e.insert(b);
                self.last = (rank, b);
                self.ranks.push(Reverse(rank));
            }
        }
    }

    /// The lowest rank with candidates, its bucket number and its starts
    /// (taken out; give them back with `put_back` or `finish`).
    fn take_lowest(&mut self) -> Option<(u32, u32, Vec<u32>)> {
        let Reverse(rank) = self.ranks.pop()?;
        let b = self.bucket_of[&rank];
        let starts = std::mem::take(&mut self.buckets[b as usize]);
        self.handled += starts.len() as u64;
        Some((rank, b, starts))
    }

    /// Returns unprocessed starts of `rank`, to be taken again later.
    fn put_back(&mut self, rank: u32, bucket: u32, mut starts: Vec<u32>) {
        starts.append(&mut self.buckets[bucket as usize]);
        self.buckets[bucket as usize] = starts;
        self.ranks.push(Reverse(rank));
    }

    /// `rank` is done: recycle its bucket (and the vector's allocation).
    fn finish(&mut self, rank: u32, bucket: u32, mut starts: Vec<u32>) {
        debug_assert!(self.buckets[bucket as usize].is_empty());
        self.bucket_of.remove(&rank);
        if self.last.0 == rank {
            self.last = (NONE, 0);
        }
        starts.clear();
        self.buckets[bucket as usize] = starts;
        self.free.push(bucket);
    }
}

/// A small direct-mapped memo of `(left rank, right rank) → rank of the
/// join`. Long pieces are mostly repetitive (a run of one character, a
/// ruler of `=`, an emoji run), so they ask the same few joins over and
/// over; a hit is one compare in an L1-resident table instead of hashing up
/// to twice the longest token. The answer depends only on the vocabulary, so
/// the memo lives as long as the counter.
struct JoinMemo {
    slots: Vec<(u64, u32)>,
}

impl Default for JoinMemo {
    fn default() -> Self {
        JoinMemo {
            slots: vec![(u64::MAX, NONE); Self::SLOTS],
        }
    }
}

impl JoinMemo {
    const SLOTS: usize = 1 << 12;

    #[inline]
    fn rank(&mut self, ranks: &Ranks, left: u32, right: u32, joined: &[u8]) -> u32 {
        if joined.len() > ranks.max_token_len() {
            return NONE;
        }
        if left == NONE || right == NONE {
            return ranks.get(joined).unwrap_or(NONE);
        }
        let key = (left as u64) << 32 | right as u64;
        let slot = &mut self.slots[pair_home(left, right, Self::SLOTS.trailing_zeros())];
        if slot.0 != key {
            *slot = (key, ranks.get(joined).unwrap_or(NONE));
        }
        slot.1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The [`TokenizerInfo`] of [`toy`].
    fn toy_info() -> TokenizerInfo {
        TokenizerInfo {
            name: "toy".into(),
            family: "tiktoken".into(),
            source: "test".into(),
            sha256: String::new(),
            vocab_size: 261,
        }
    }

    /// A toy vocabulary where the merge order is visible: all bytes, then
    /// `ab`, `bc`, `abc`, `aa`, `aaaa` (ranks 256..).
    fn toy() -> Ranks {
        let mut tokens: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        for t in ["ab", "bc", "abc", "aa", "aaaa"] {
            tokens.push(t.as_bytes().to_vec());
        }
        Ranks::from_ordered(tokens).unwrap()
    }

    fn parts(ranks: &Ranks, piece: &str, linked: bool) -> Vec<String> {
        let mut m = Merge::default();
        let piece = piece.as_bytes();
        if linked {
            m.linked(ranks, piece);
            let mut out = Vec::new();
            let mut i = 0;
            while i < piece.len() {
                let e = m.bounds[i] as usize;
                out.push(String::from_utf8(piece[i..e].to_vec()).unwrap());
                i = e;
            }
            out
        } else {
            m.run(ranks, piece);
            m.bounds
                .windows(2)
                .map(|w| String::from_utf8(piece[w[0] as usize..w[1] as usize].to_vec()).unwrap())
                .collect()
        }
    }

    /// Keys of one set (pieces `{prefix}{k}`): each is found with its own
    /// count while the set has room, the least recently used goes first, a
    /// hit counts as a use, and keys equal but for trailing zero bytes
    /// stay apart.
    fn sets_keep_their_four_most_recent_keys<const W: usize, K: CacheKey<W>>(
        mut cache: SetCache<W>,
        key: impl Fn(&[u8]) -> K,
        prefix: &str,
    ) {
        let set_of = |p: &[u8]| SetCache::<W>::set_start(&key(p));
        let target = set_of(format!("{prefix}0").as_bytes());
        let same_set: Vec<Vec<u8>> = (0u32..)
            .map(|k| format!("{prefix}{k}").into_bytes())
            .filter(|p| set_of(p) == target)
            .take(5)
            .collect();
        let count = |i: usize| 100 + i as u32;
        for (i, p) in same_set.iter().take(4).enumerate() {
            assert_eq!(cache.get(&key(p)), None);
            cache.put(&key(p), count(i));
        }
        for (i, p) in same_set.iter().take(4).enumerate() {
            assert_eq!(cache.get(&key(p)), Some(count(i)), "{i}");
        }
        // Use order now 3, 2, 1, 0 (front first): touch 0, so 1 is oldest.
        assert_eq!(cache.get(&key(&same_set[0])), Some(count(0)));
        cache.put(&key(&same_set[4]), count(4));
        assert_eq!(cache.get(&key(&same_set[1])), None);
        for i in [0, 2, 3, 4] {
            assert_eq!(cache.get(&key(&same_set[i])), Some(count(i)), "{i}");
        }
        cache.put(&key(b"abc"), 3);
        assert_eq!(cache.get(&key(b"abc\0")), None);
        assert_eq!(cache.get(&key(b"abc")), Some(3));
    }

    #[test]
    fn short_cache_sets_keep_their_four_most_recent_keys() {
        sets_keep_their_four_most_recent_keys(ShortCache::new(), ShortKey::new, "a longer key ");
    }

    #[test]
    fn word_cache_sets_keep_their_four_most_recent_keys() {
        sets_keep_their_four_most_recent_keys(WordCache::new(), WordKey::new, "kk");
    }

    /// Every piece of 3..=24 bytes goes to the cache its length names, and
    /// a count answers the same from either cache, cold and warm.
    #[test]
    fn pieces_of_every_cached_length_count_the_same_cold_and_warm() {
        let ranks = toy();
        let engine = BpeTokenizer::new(toy_info(), Arc::new(ranks), SplitPattern::Whole);
        for n in 1..=30 {
            let piece = "abcab".repeat(6)[..n].to_string();
            let expected = engine.encode(&piece).len() as u64;
            let mut counter = engine.bpe_counter();
            let cold = counter.count(&piece);
            let warm = counter.count(&piece);
            assert_eq!((cold, warm), (expected, expected), "{n} bytes");
        }
    }

    /// A piece of up to 8 bytes read as a word from inside the text (the
    /// bytes after it masked off), packed at the text's end, or packed
    /// because it is not the text's: the same word, so the same cache entry;
    /// and a sum of such pieces counts what `encode` does.
    #[test]
    fn short_pieces_read_from_the_text_or_packed_are_the_same_word() {
        let ranks = toy();
        let engine = BpeTokenizer::new(toy_info(), Arc::new(ranks), SplitPattern::Whole);
        let text = "abcab".repeat(4) + "\u{1}\u{7f}zzzzzzz";
        let elsewhere = text.clone();
        let (mut caches, mut merge) = (engine.bpe_counter().cache, Merge::default());
        let mut read = 0;
        for n in 1..=WordCache::MAX_KEY {
            for at in 0..=text.len() - n {
                let piece = &text.as_bytes()[at..at + n];
                let sum = Sum::of_text(&mut caches, &mut merge, &engine.ranks, &text);
                read += (at + 8 <= text.len()) as usize;
                assert_eq!(sum.packed(piece), pack(piece), "{n} bytes at {at}");
                let other = &elsewhere.as_bytes()[at..at + n];
                assert_eq!(
                    sum.packed(other),
                    pack(other),
                    "{n} bytes at {at}, not the text's"
                );
                let mut sum = sum;
                (&mut sum).piece(std::str::from_utf8(piece).unwrap());
                let expected = engine.encode(std::str::from_utf8(piece).unwrap()).len() as u64;
                assert_eq!(sum.finish(), expected, "{n} bytes at {at}");
            }
        }
        assert!(read > 100, "only {read} pieces were read from the text");
    }

    /// Pieces cut by a caller (tokenizer.json chains) may be empty: no
    /// tokens, and the pieces around them count as alone.
    /// On both paths: a counter's first bytes, one by one, and the
    /// batched one after.
    #[test]
    fn empty_pieces_from_a_caller_count_nothing() {
        let engine = BpeTokenizer::new(toy_info(), Arc::new(toy()), SplitPattern::Whole);
        let pieces = ["", "ab", "", "c", "abcab", ""];
        let expected: usize = pieces.iter().map(|p| engine.encode(p).len()).sum();
        for unbatched in [0, 1000] {
            let mut counter = engine.bpe_counter();
            counter.unbatched = unbatched;
            let counted = counter.count_pieces(8, |f| pieces.iter().for_each(|p| f(p)));
            assert_eq!(counted, expected as u64, "{unbatched} bytes unbatched");
            assert_eq!(counter.unbatched, unbatched.saturating_sub(8));
        }
    }

    #[test]
    fn lowest_rank_first_leftmost_on_ties() {
        let ranks = toy();
        for linked in [false, true] {
            // `ab` (256) beats `bc` (257), then `abc` from ab+c.
            assert_eq!(parts(&ranks, "abc", linked), ["abc"]);
            // Leftmost `aa` first: aa|aa → aaaa, then a.
            assert_eq!(parts(&ranks, "aaaaa", linked), ["aaaa", "a"]);
            assert_eq!(parts(&ranks, "xaaay", linked), ["x", "aa", "a", "y"]);
            assert_eq!(parts(&ranks, "bcab", linked), ["bc", "ab"]);
        }
    }

    /// A megabyte of one character is a single piece (tiktoken-rs 0.12.1
    /// is quadratic on such pieces). Ten times the piece must be about ten
    /// times the candidates the linked merge handles (a hundred would be
    /// quadratic), and ten times the tokens. Counted, not timed: timing
    /// belongs to the benchmarks.
    #[test]
    fn long_runs_merge_in_linear_work() {
        for name in ["cl100k_base", "o200k_base"] {
            let engine = crate::tokenize::sources::builtin::engine(name).unwrap();
            let ranks = engine.ranks();
            for c in ["a", "🙂", " ", "=", "ab"] {
                let mut merge = Merge::default();
                let mut work = |bytes: usize| {
                    let before = merge.queue.handled;
                    let parts = merge.linked(ranks, c.repeat(bytes / c.len()).as_bytes());
                    (merge.queue.handled - before, parts)
                };
                let (small, small_parts) = work(50_000);
                let (large, large_parts) = work(500_000);
                let ratio = large as f64 / small as f64;
                assert!(
                    (9.0..=11.0).contains(&ratio),
                    "{name} {c:?}: {small} then {large} candidates ({ratio:.2}x)"
                );
                let tokens = large_parts as f64 / small_parts as f64;
                assert!(
                    (9.0..=11.0).contains(&tokens),
                    "{name} {c:?}: {small_parts} then {large_parts} parts"
                );
            }
        }
    }

    /// `ab` 256, `ba` 257, `aba` 258: in `[ab][a][ba]` both pairs join
    /// into `aba`. tiktoken takes the left one; by parts, `a ba` (97, 257)
    /// comes before `ab a` (256, 97).
    fn tie_toy(ties: Ties) -> Ranks {
        let mut tokens: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        for t in ["ab", "ba", "aba"] {
            tokens.push(t.as_bytes().to_vec());
        }
        Ranks::from_ordered(tokens).unwrap().with_ties(ties)
    }

    #[test]
    fn ties_by_parts_take_the_split_with_the_lower_parts() {
        let piece = b"ababa";
        let key = |s: u32| 258 << 6 | s;
        // Parts [ab][a][ba] start at 0, 2, 3; `next[s]` is where each ends.
        let next = [2u8, 0, 3, 5, 0];
        let keys = [key(0), NONE, key(2), NONE];
        for (ties, chosen) in [(Ties::Leftmost, key(0)), (Ties::ByParts, key(2))] {
            let ranks = tie_toy(ties);
            let best = keys.iter().fold(NONE, |a, &b| a.min(b));
            let best = match ties {
                Ties::ByParts => Flat::by_parts(&ranks, piece, &keys, &next, best),
                Ties::Leftmost => best,
            };
            assert_eq!(best, chosen, "{ties:?}");
        }
        // The linked merge's bucket: starts 0 and 2 (and a stale 3).
        let next = [2u32, 0, 3, 5, 0];
        let part = [256u32, NONE, 97, 257, NONE];
        let pair = [258u32, NONE, 258, NONE, NONE];
        let mut starts = vec![3, 2, 0];
        order_bucket::<false>(&mut starts, 258, &next, &part, &pair);
        assert_eq!(starts, [0, 2, 3]);
        let mut starts = vec![3, 2, 0];
        order_bucket::<true>(&mut starts, 258, &next, &part, &pair);
        assert_eq!(starts, [2, 0]);
    }

    /// From single bytes the tie-break never changes a result (the lemma in
    /// `hf::byte_level`): every string of up to 12 bytes over `a`, `b`,
    /// with a vocabulary of overlapping tokens in an order that makes ties
    /// between different splits likely, merges alike both ways, flat and
    /// linked.
    #[test]
    fn from_bytes_both_tie_breaks_agree() {
        let build = |ties: Ties| {
            let mut tokens: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
            for t in [
                "ba", "aba", "ab", "abab", "bab", "aa", "baba", "aab", "abba", "bb", "aaa",
                "babab", "ababa", "bba",
            ] {
                tokens.push(t.as_bytes().to_vec());
            }
            Ranks::from_ordered(tokens).unwrap().with_ties(ties)
        };
        let (left, by_parts) = (build(Ties::Leftmost), build(Ties::ByParts));
        for len in 2..=12 {
            for bits in 0..1u32 << len {
                let s: String = (0..len)
                    .map(|i| if bits >> i & 1 == 1 { 'b' } else { 'a' })
                    .collect();
                let expected = parts(&left, &s, false);
                for linked in [false, true] {
                    assert_eq!(parts(&by_parts, &s, linked), expected, "{s}");
                    assert_eq!(parts(&left, &s, linked), expected, "{s}");
                }
            }
        }
    }

    #[test]
    fn flat_and_linked_agree() {
        let ranks = toy();
        // Every length the stack merge takes (longer ones go the linked way
        // on both sides).
        let text = "abcaabaaaabcbcaaaaaaaaabcab".repeat(3);
        for len in 2..=Merge::FLAT_MAX {
            assert_eq!(
                parts(&ranks, &text[..len], false),
                parts(&ranks, &text[..len], true),
                "{}",
                &text[..len]
            );
        }
    }

    /// A vocabulary without a built-in cut table merges long pieces whole
    /// until [`READ_CUTS_AFTER`] bytes of them, then reads its own table and
    /// cuts: the count is the same all along, and equals the uncut merge.
    #[test]
    fn a_vocabulary_read_at_run_time_cuts_after_a_while_and_stays_exact() {
        for name in ["o200k_base", "cl100k_base"] {
            let builtin = crate::tokenize::sources::builtin::engine(name).unwrap();
            let ranks = builtin.ranks();
            let tokens = (0..ranks.rank_bound() as u32)
                .filter_map(|r| ranks.token_bytes(r).map(|t| (t.to_vec(), r)));
            let fresh = Arc::new(Ranks::from_ranked(tokens).unwrap());
            assert!(fresh.cuts().is_none());
            let engine =
                BpeTokenizer::new(builtin.info().clone(), fresh, builtin.pattern().clone());
            let mut counter = engine.bpe_counter();
            let sentences = [
                "今天下午我们在图书馆讨论了项目的进展情况大家都认为下个月之前可以完成第一阶段的工作",
                "昨日は雨が降っていたので家で本を読みました今日は晴れているので公園へ散歩に行くつもりです",
                "การประชุมวันนี้ใช้เวลานานกว่าที่คาดไว้เพราะทุกคนมีความคิดเห็นที่แตกต่างกัน",
            ];
            let mut read = false;
            for round in 0..40 {
                let text: String = sentences
                    .iter()
                    .map(|s| format!("{}{round}\n", s.repeat(1 + round % 3)))
                    .collect();
                let expected = engine.encode(&text).len() as u64;
                assert_eq!(counter.count(&text), expected, "{name}, round {round}");
                read |= engine.ranks().cuts().is_some();
            }
            assert!(read, "{name}: the cut table was never read");
        }
    }

    /// A new counter counts its first texts piece by piece through the
    /// small cache (`UNBATCHED_BYTES`, 0 in unit tests, set here), then
    /// switches to the set caches for good: the same counts as `encode`
    /// either way, for texts cut by the pattern and for pieces a caller
    /// cuts, and a text larger than what is left switches at once.
    #[test]
    fn small_texts_count_the_same_before_and_after_the_set_caches() {
        for name in ["o200k_base", "cl100k_base"] {
            let engine = crate::tokenize::sources::builtin::engine(name).unwrap();
            let texts = [
                "Hello, world! It's 2026; the caches aren't touched yet.",
                "今天下午我们在图书馆讨论了项目的进展情况大家都认为下个月之前可以完成第一阶段的工作",
                "    fn main() {\n        println!(\"{}\", 42);\n    }\n",
                &"=".repeat(300),
                "Привет, мир! Ναι, καλημέρα. مرحبا بالعالم 🙂🙂 ok",
            ];
            let mut counter = engine.bpe_counter();
            counter.unbatched = 1000;
            let mut switched_at = None;
            for round in 0..12 {
                for (k, text) in texts.iter().enumerate() {
                    let expected = engine.encode(text).len() as u64;
                    let counted = if k % 2 == 0 {
                        counter.count(text)
                    } else {
                        counter.count_pieces(text.len(), |f| {
                            engine.pattern().for_each_piece(text, |p: &str| f(p))
                        })
                    };
                    assert_eq!(counted, expected, "{name}, round {round}, text {k}");
                    if counter.unbatched == 0 && switched_at.is_none() {
                        switched_at = Some((round, k));
                    }
                }
            }
            // 1000 bytes last a round or two of these texts, not longer.
            assert!(
                matches!(switched_at, Some((0..=1, _))),
                "{name}: {switched_at:?}"
            );
            let mut big = engine.bpe_counter();
            big.unbatched = 100;
            let text = texts.concat();
            assert_eq!(big.count(&text), engine.encode(&text).len() as u64);
            assert_eq!(
                big.unbatched, 0,
                "{name}: a text over the limit switches at once"
            );
        }
    }
}
