/*!
Where a long piece can be cut without changing its count.

A Chinese or Japanese sentence is one piece to the split patterns (a run of
letters), often 50–300 bytes, and almost never seen twice: merging it whole
costs a linked-list merge per piece. But BPE only ever joins two parts into a
*token*, so if no token of the vocabulary can lie across a place in the
piece, no merge crosses it, and the piece's count is the sum of the counts of
the two sides, each merged on its own. (The order argument: the merge takes
the lowest rank anywhere, leftmost on ties; a pair on the left is taken when
it is the lowest of all, so also the lowest of the left, and the left side
goes through exactly the merges it would alone. Likewise the right. This
holds for any order that ranks a pair by its parts and compares positions
only left to right, so also for [`Ties::ByParts`], which orders pairs of
one rank by their parts' ranks before their positions: a candidate on the
left that is first of all is first on the left.)

[`Ties::ByParts`]: crate::tokenize::bpe::ranks::Ties

A token lies across the place between characters `a` and `b` only if, inside
the token, the bytes before some character boundary end `a` and the bytes
after it start `b`. So every token is read once, at every place inside it
where a UTF-8 character starts, and the pair of units on either side is
recorded: a whole character, or, at the token's edge, a fragment of one
(known by its last byte on the left, its first byte on the right). A place in
a piece is a cut when none of the four pairs it could match (whole or
fragment on each side) was recorded. This is the argument of the
SentencePiece engine's cut (`hf::sentencepiece`), on bytes.

One more care: tiktoken counts a piece that is itself a token as one token
without merging, and the merge does not always reach that token. A part cut
from a piece is merged, never looked up, so a part that is such a token must
be merged, not taken from a cache that holds the whole-piece answer. The
vocabulary's unreachable tokens are found once, here, with the
vocabulary's own tie-break; o200k_base and cl100k_base have none.
*/

use rustc_hash::FxHashSet;

use crate::tokenize::bpe::cut_pairs::{char_len, key, pack, token_pairs, FRAGMENT};
use crate::tokenize::bpe::ranks::Ranks;

/// The cut table of one vocabulary (see [`Ranks::cuts`]).
pub(crate) struct Cuts {
    /// `key(left, right)` of every pair of units side by side in a token
    /// (`cut_pairs`), sorted: what the table is, for its blob and tests.
    pairs: Vec<u64>,
    /// The same keys as a filter, which is what a count asks: a place is a
    /// cut only where the filter says no key can be there. A false yes (a
    /// place left uncut) only makes a part longer, and counts the same: the
    /// cut is an optimisation, never needed for exactness.
    filter: PairFilter,
    /// Whether some token has a left fragment ending in this byte, or a
    /// right fragment starting with it: most bytes have none, and then the
    /// fragment probes are skipped.
    left_fragment: [bool; 256],
    right_fragment: [bool; 256],
    /// Ranks of tokens (3 bytes or more) that merging their own bytes does
    /// not reach: such a part counts by its merge, not as one token.
    unreachable: FxHashSet<u32>,
}

/// A set of pair keys that answers "maybe" or "no": one 64-bit word per
/// key (rounded up to a power of two), two bits set per key in the word its
/// hash picks. Asked at every character boundary of a long CJK piece, it
/// is one multiply and one load from a table that stays in L2 (256 KiB for
/// o200k's ~25 k keys), where the hash set it replaced probed a control
/// group and a bucket (`Sum::split`, which asks, went from 14% to 10% of
/// the samples of a warm o200k count of the non-Latin benchmark text, and
/// the count's instructions down 2.2%, cachegrind). With ~1 key per word a stranger finds both its bits set about
/// once in a thousand asks (`(2/64)^2`), and that place is merely not cut.
struct PairFilter {
    words: Box<[u64]>,
    /// `64 - log2(words.len())`: the hash's top bits pick the word.
    shift: u32,
}

impl PairFilter {
    fn new(keys: &[u64]) -> Self {
        let n = keys.len().next_power_of_two().max(64);
        let mut filter = PairFilter {
            words: vec![0u64; n].into_boxed_slice(),
            shift: 64 - n.trailing_zeros(),
        };
        for &k in keys {
            let (word, bits) = filter.place(k);
            filter.words[word] |= bits;
        }
        filter
    }

    /// The word and the two bits of `key`.
    #[inline(always)]
    fn place(&self, key: u64) -> (usize, u64) {
        let r = (key ^ 0xa076_1d64_78bd_642f) as u128 * 0xe703_7ed1_a0b4_28db_u128;
        let h = (r as u64) ^ ((r >> 64) as u64);
        let bits = 1u64 << (h & 63) | 1u64 << ((h >> 6) & 63);
        ((h >> self.shift) as usize, bits)
    }

    /// Whether `key` may be in the set (false: it is not).
    #[inline(always)]
    fn may_hold(&self, key: u64) -> bool {
        let (word, bits) = self.place(key);
        // SAFETY: `place` returns the hash's top `log2(len)` bits.
        unsafe { self.words.get_unchecked(word) & bits == bits }
    }
}

impl Cuts {
    /// Reads every token of `ranks`; `merges_to_one(token)` says whether
    /// merging the token's bytes leaves one token.
    pub(crate) fn new(ranks: &Ranks, mut merges_to_one: impl FnMut(&[u8]) -> bool) -> Self {
        let mut pairs = Vec::new();
        let mut unreachable = FxHashSet::default();
        for rank in 0..ranks.rank_bound() as u32 {
            let Some(token) = ranks.token_bytes(rank) else {
                continue;
            };
            token_pairs(token, |k| pairs.push(k));
            if token.len() >= 3 && !merges_to_one(token) {
                unreachable.insert(rank);
            }
        }
        Self::from_parts(pairs, unreachable)
    }

    /// The table `build.rs` wrote for a built-in vocabulary: the number of
    /// pair keys (u32 LE), the keys (u64 LE), the number of unreachable
    /// ranks (u32 LE), the ranks (u32 LE).
    pub(crate) fn from_blob(blob: &[u8]) -> Self {
        let u32_at = |i: usize| u32::from_le_bytes(blob[i..i + 4].try_into().unwrap());
        let n = u32_at(0) as usize;
        let pairs = (0..n)
            .map(|k| u64::from_le_bytes(blob[4 + 8 * k..12 + 8 * k].try_into().unwrap()))
            .collect();
        let at = 4 + 8 * n;
        let m = u32_at(at) as usize;
        let unreachable = (0..m).map(|k| u32_at(at + 4 + 4 * k)).collect();
        Self::from_parts(pairs, unreachable)
    }

    /// Whether `blob` has the shape [`Self::from_blob`] reads (it indexes
    /// without checking: a built-in's blob is build.rs's own).
    pub(crate) fn check_blob(blob: &[u8]) -> Result<(), String> {
        let bad = || "a cut table of the wrong length".to_string();
        let u32_at = |i: usize| -> Result<usize, String> {
            let word = blob.get(i..i + 4).ok_or_else(bad)?;
            Ok(u32::from_le_bytes(word.try_into().expect("4 bytes")) as usize)
        };
        let at = 4 + 8 * u32_at(0)?;
        if blob.len() == at + 4 + 4 * u32_at(at)? {
            Ok(())
        } else {
            Err(bad())
        }
    }

    /// The blob [`Self::from_blob`] reads.
    pub(crate) fn to_blob(&self) -> Vec<u8> {
        let mut blob = Vec::with_capacity(8 + 8 * self.pairs.len() + 4 * self.unreachable.len());
        blob.extend_from_slice(&(self.pairs.len() as u32).to_le_bytes());
        for &k in &self.pairs {
            blob.extend_from_slice(&k.to_le_bytes());
        }
        blob.extend_from_slice(&(self.unreachable.len() as u32).to_le_bytes());
        for &r in &self.unreachable {
            blob.extend_from_slice(&r.to_le_bytes());
        }
        blob
    }

    fn from_parts(mut pairs: Vec<u64>, unreachable: FxHashSet<u32>) -> Self {
        pairs.sort_unstable();
        pairs.dedup();
        let mut cuts = Cuts {
            filter: PairFilter::new(&pairs),
            pairs,
            left_fragment: [false; 256],
            right_fragment: [false; 256],
            unreachable,
        };
        for &k in &cuts.pairs {
            let (left, right) = ((k >> 32) as u32, k as u32);
            if left & !0xFF == FRAGMENT {
                cuts.left_fragment[(left & 0xFF) as usize] = true;
            }
            if right & !0xFF == FRAGMENT {
                cuts.right_fragment[(right & 0xFF) as usize] = true;
            }
        }
        cuts
    }

    /// Whether the place between two characters may be cut: then no token
    /// lies across it. (The converse may fail, see [`Self::filter`].) Each
    /// character is given packed (`pack`) and by its edge byte: `last`,
    /// the left one's last byte, `lead`, the right one's first.
    #[inline]
    fn is_cut(&self, whole_a: u32, last: u8, whole_b: u32, lead: u8) -> bool {
        let pairs = &self.filter;
        if pairs.may_hold(key(whole_a, whole_b)) {
            return false;
        }
        let left_fragment = self.left_fragment[last as usize];
        let right_fragment = self.right_fragment[lead as usize];
        !(left_fragment && pairs.may_hold(key(FRAGMENT | last as u32, whole_b))
            || right_fragment && pairs.may_hold(key(whole_a, FRAGMENT | lead as u32))
            || left_fragment
                && right_fragment
                && pairs.may_hold(key(FRAGMENT | last as u32, FRAGMENT | lead as u32)))
    }

    /// Calls `part` with each part of `piece` between cuts, in order (the
    /// whole piece when it has no cut). `piece` is UTF-8, as pieces are.
    /// Each character is read and packed once, as the right side of one
    /// place and then the left side of the next.
    #[inline]
    pub(crate) fn for_each_part(&self, piece: &[u8], mut part: impl FnMut(&[u8])) {
        let n = piece.len();
        // The character at `at`: its end, packed, and its last byte.
        let char_at = |at: usize| {
            let end = (at + char_len(piece[at])).min(n);
            let packed = match piece.get(at..at + 4) {
                // Whole characters of valid UTF-8: four bytes read at once,
                // the ones past the character masked off.
                Some(four) => {
                    let word = u32::from_le_bytes(four.try_into().unwrap());
                    word & (u32::MAX >> (8 * (4 - (end - at))))
                }
                None => pack(&piece[at..end]),
            };
            (end, packed, piece[end - 1])
        };
        let mut start = 0;
        let (mut a_end, mut whole_a, mut last) = char_at(0);
        while a_end < n {
            let b_start = a_end;
            let lead = piece[b_start];
            let (b_end, whole_b, b_last) = char_at(b_start);
            if self.is_cut(whole_a, last, whole_b, lead) {
                part(&piece[start..b_start]);
                start = b_start;
            }
            (a_end, whole_a, last) = (b_end, whole_b, b_last);
        }
        part(&piece[start..]);
    }

    /// Whether a part cut from a piece must be merged rather than counted
    /// as the token it is (see the module's note).
    #[inline]
    pub(crate) fn is_unreachable(&self, ranks: &Ranks, part: &[u8]) -> bool {
        !self.unreachable.is_empty()
            && part.len() >= 3
            && ranks
                .get(part)
                .is_some_and(|rank| self.unreachable.contains(&rank))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(cuts: &Cuts, piece: &str) -> Vec<String> {
        let mut out = Vec::new();
        cuts.for_each_part(piece.as_bytes(), |p| {
            out.push(String::from_utf8(p.to_vec()).unwrap())
        });
        out
    }

    /// All bytes, then `ab`, `一二`, and two fragment tokens: the last byte
    /// of `三` followed by `x`, and `y` followed by the first byte of `四`.
    fn toy() -> Ranks {
        let mut tokens: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        tokens.push(b"ab".to_vec());
        tokens.push("一二".as_bytes().to_vec());
        tokens.push(vec!["三".as_bytes()[2], b'x']);
        tokens.push(vec![b'y', "四".as_bytes()[0]]);
        Ranks::from_ordered(tokens).unwrap()
    }

    #[test]
    fn a_blob_reads_back_as_the_same_table() {
        let ranks = toy();
        let cuts = Cuts::new(&ranks, |t| t != "一二".as_bytes());
        assert!(!cuts.unreachable.is_empty());
        let blob = cuts.to_blob();
        assert!(Cuts::check_blob(&blob).is_ok());
        let back = Cuts::from_blob(&blob);
        assert_eq!(back.pairs, cuts.pairs);
        assert_eq!(back.unreachable, cuts.unreachable);
        assert_eq!(back.left_fragment, cuts.left_fragment);
        for cut in [0, 3, blob.len() - 1] {
            assert!(Cuts::check_blob(&blob[..cut]).is_err(), "{cut}");
        }
        let mut longer = blob.clone();
        longer.push(0);
        assert!(Cuts::check_blob(&longer).is_err());
    }

    #[test]
    fn cuts_only_where_no_token_lies_across() {
        let ranks = toy();
        let cuts = Cuts::new(&ranks, |_| true);
        assert_eq!(parts(&cuts, "abc"), ["ab", "c"]);
        assert_eq!(parts(&cuts, "一二三"), ["一二", "三"]);
        // The fragment token `…三 x` forbids the cut after any character
        // ending in 三's last byte, before `x`.
        assert_eq!(parts(&cuts, "三x"), ["三x"]);
        assert_eq!(parts(&cuts, "yy四"), ["y", "y四"]);
        assert_eq!(parts(&cuts, "x"), ["x"]);
    }

    /// The filter never says no to a key of the set (a no is a cut, and a
    /// cut where a token lies across would change counts), and says yes to
    /// few strangers (each is a place left uncut).
    #[test]
    fn the_pair_filter_holds_every_pair_and_few_strangers() {
        for name in ["o200k_base", "cl100k_base"] {
            let ranks = crate::tokenize::sources::builtin::ranks(name).unwrap();
            let cuts = ranks.cuts().unwrap();
            assert!(cuts.pairs.len() > 1000, "{name}");
            for &k in &cuts.pairs {
                assert!(cuts.filter.may_hold(k), "{name}: {k:#x}");
            }
            // Strangers: pairs of CJK ideographs, keyed as the table keys
            // them, that are not in the set.
            let (mut asked, mut yes) = (0u32, 0u32);
            for a in 0x4E00u32..0x4E00 + 300 {
                for b in 0x5E00u32..0x5E00 + 300 {
                    let unit = |c: u32| {
                        let mut buf = [0u8; 4];
                        pack(char::from_u32(c).unwrap().encode_utf8(&mut buf).as_bytes())
                    };
                    let k = key(unit(a), unit(b));
                    if cuts.pairs.binary_search(&k).is_err() {
                        asked += 1;
                        yes += cuts.filter.may_hold(k) as u32;
                    }
                }
            }
            assert!(asked > 80_000, "{name}");
            assert!(
                yes * 200 < asked,
                "{name}: {yes} of {asked} strangers let through"
            );
        }
    }

    /// The tables build.rs writes (with its own quadratic merge) equal a
    /// reading of the vocabulary at run time (with the engine's merge).
    #[test]
    fn builtin_tables_equal_a_fresh_reading() {
        for name in ["o200k_base", "cl100k_base", "p50k_base", "r50k_base"] {
            let ranks = crate::tokenize::sources::builtin::ranks(name).unwrap();
            let fresh = Cuts::new(&ranks, crate::tokenize::bpe::merges_to_one_tester(&ranks));
            let built = ranks.cuts().unwrap();
            assert_eq!(built.pairs, fresh.pairs, "{name}");
            assert_eq!(built.unreachable, fresh.unreachable, "{name}");
            assert_eq!(built.left_fragment, fresh.left_fragment, "{name}");
            assert!(!built.pairs.is_empty());
        }
    }
}
