/*!
The piece cache the counting engines share: a fixed-size, direct-mapped map
from a piece's bytes to its token count, one per counter (so per thread), so
that a word seen before costs a hash and one cache line instead of a merge.
*/

use crate::tokenize::bpe::hash::{hash_bytes, pack};

/// A piece → token count cache of `WAYS` ways a set (1: direct-mapped, 2:
/// two adjacent slots). Each slot is one 64-byte cache line holding the
/// piece inline (pieces over [`Self::MAX_KEY`] bytes bypass the cache: they
/// are rare, rarely repeat, and would need an arena). A new piece takes the
/// first way of its set, the others moving back one and the last dropped:
/// no allocation, no clearing, memory fixed at `SLOTS × 64` bytes,
/// allocated zeroed so a new counter costs no writes.
///
/// A slot is eight words: the piece's hash, `len | count << 32`, then the
/// piece as six little-endian words. The all-zero slot has length 0, which
/// no cached piece has (empty pieces are never cached).
/// Comparing words instead of bytes avoids a libc `memcmp` call, which was
/// 11% of an early profile.
///
/// The byte-level engine keeps a counter's first pieces here (see
/// `UNBATCHED_BYTES`) and, in a 2-way one, its pieces of 25..=48 bytes
/// (shorter ones go to its batched `ShortCache`); the SentencePiece and
/// WordPiece engines keep their pieces and words in a direct-mapped one,
/// larger.
pub(crate) struct PieceCache<const WAYS: usize = 1> {
    slots: Vec<[u64; 8]>,
}

impl<const WAYS: usize> PieceCache<WAYS> {
    pub(crate) const MAX_KEY: usize = 48;
    /// 2^12 slots = 256 KiB per thread: what a byte-level counter's first
    /// 64 KiB of text go through. Before the set caches took the pieces of
    /// up to 24 bytes this was the only cache, with 2^15 slots (chosen on
    /// 9.4 MB of docs and code, where it beat 2^16 and 2^17 by staying in
    /// L2/L3).
    const SLOTS: usize = 1 << 12;

    pub(crate) fn new() -> Self {
        Self::with_slots(Self::SLOTS)
    }

    /// A cache of `slots` slots (a power of two, at least `WAYS`) of 64
    /// bytes, allocated zeroed: pages no piece reaches are never touched.
    pub(crate) fn with_slots(slots: usize) -> Self {
        assert!(
            slots.is_power_of_two() && slots >= WAYS && WAYS.is_power_of_two(),
            "{slots} slots of {WAYS} ways"
        );
        PieceCache {
            slots: vec![[0; 8]; slots],
        }
    }

    /// The first slot of `hash`'s set.
    #[inline]
    fn set(&self, hash: u64) -> usize {
        hash as usize & (self.slots.len() - WAYS)
    }

    /// `piece`'s count, if its set holds it (`hash` is `hash_bytes(piece)`,
    /// `piece` at most [`Self::MAX_KEY`] bytes). A hit in a later way moves
    /// to the first, so that the way a new piece drops is the one used least
    /// recently.
    #[inline]
    fn get(&mut self, hash: u64, piece: &[u8]) -> Option<u32> {
        let set = self.set(hash);
        for way in 0..WAYS {
            let slot = &self.slots[set + way];
            let hit = slot[0] == hash
                && slot[1] as u32 as usize == piece.len()
                && piece
                    .chunks(8)
                    .enumerate()
                    .all(|(k, chunk)| slot[2 + k] == pack(chunk));
            if hit {
                if way > 0 {
                    self.slots[set..=set + way].rotate_right(1);
                }
                return Some((self.slots[set][1] >> 32) as u32);
            }
        }
        None
    }

    /// `piece`'s count: from its slot, or `count()` stored there. Pieces
    /// over [`Self::MAX_KEY`] bytes are counted and not stored.
    #[inline]
    pub(crate) fn get_or_insert_with(&mut self, piece: &[u8], count: impl FnOnce() -> u32) -> u32 {
        if piece.len() > Self::MAX_KEY {
            return count();
        }
        let hash = hash_bytes(piece);
        if let Some(n) = self.get(hash, piece) {
            return n;
        }
        let n = count();
        self.put(hash, piece, n);
        n
    }

    #[inline]
    fn put(&mut self, hash: u64, piece: &[u8], count: u32) {
        let set = self.set(hash);
        if WAYS > 1 {
            self.slots[set..set + WAYS].rotate_right(1);
        }
        let slot = &mut self.slots[set];
        slot[0] = hash;
        slot[1] = piece.len() as u64 | (count as u64) << 32;
        for (k, chunk) in piece.chunks(8).enumerate() {
            slot[2 + k] = pack(chunk);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` pieces of 30 bytes whose hashes fall in one set of `cache`.
    fn one_set<const WAYS: usize>(cache: &PieceCache<WAYS>, n: usize) -> Vec<Vec<u8>> {
        let piece = |i: usize| format!("a long piece, number {i:09}").into_bytes();
        let set = cache.set(hash_bytes(&piece(0)));
        (0..)
            .map(piece)
            .filter(|p| cache.set(hash_bytes(p)) == set)
            .take(n)
            .collect()
    }

    /// The count of `piece` and whether it had to be computed (a miss).
    fn ask<const WAYS: usize>(
        cache: &mut PieceCache<WAYS>,
        piece: &[u8],
        count: u32,
    ) -> (u32, bool) {
        let mut missed = false;
        let n = cache.get_or_insert_with(piece, || {
            missed = true;
            count
        });
        (n, missed)
    }

    #[test]
    fn a_two_way_set_keeps_its_two_most_recently_used_pieces() {
        let mut cache = PieceCache::<2>::with_slots(8);
        let p = one_set(&cache, 3);
        assert!(p.iter().all(|p| p.len() == 30));
        assert_eq!(ask(&mut cache, &p[0], 7), (7, true));
        assert_eq!(ask(&mut cache, &p[1], 8), (8, true));
        // Both held; asking for the older one makes it the most recent.
        assert_eq!(ask(&mut cache, &p[0], 99), (7, false));
        assert_eq!(ask(&mut cache, &p[1], 99), (8, false));
        assert_eq!(ask(&mut cache, &p[0], 99), (7, false));
        // A third piece drops the one used least recently (p[1]), not p[0].
        assert_eq!(ask(&mut cache, &p[2], 9), (9, true));
        assert_eq!(ask(&mut cache, &p[0], 99), (7, false));
        assert_eq!(ask(&mut cache, &p[2], 99), (9, false));
        assert_eq!(ask(&mut cache, &p[1], 10), (10, true));
    }

    #[test]
    fn a_direct_mapped_cache_keeps_one_piece_a_slot_and_none_over_the_longest_key() {
        let mut cache = PieceCache::<1>::with_slots(8);
        let p = one_set(&cache, 2);
        assert_eq!(ask(&mut cache, &p[0], 7), (7, true));
        assert_eq!(ask(&mut cache, &p[0], 99), (7, false));
        assert_eq!(ask(&mut cache, &p[1], 8), (8, true));
        assert_eq!(ask(&mut cache, &p[0], 11), (11, true));
        let long = vec![b'x'; PieceCache::<1>::MAX_KEY + 1];
        assert_eq!(ask(&mut cache, &long, 5), (5, true));
        assert_eq!(ask(&mut cache, &long, 6), (6, true));
        // A piece of the longest key's length is kept, and a piece that
        // differs from it only in its last byte is another piece.
        let longest = vec![b'x'; PieceCache::<1>::MAX_KEY];
        let mut other = longest.clone();
        *other.last_mut().unwrap() = b'y';
        assert_eq!(ask(&mut cache, &longest, 3), (3, true));
        assert_eq!(ask(&mut cache, &longest, 99), (3, false));
        assert_eq!(ask(&mut cache, &other, 4), (4, true));
    }
}
