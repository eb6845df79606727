/*!
The piece cache the counting engines share: a fixed-size, direct-mapped map
from a piece's bytes to its token count, one per counter (so per thread), so
that a word seen before costs a hash and one cache line instead of a merge.
*/

use crate::tokenize::bpe::hash::{hash_bytes, pack};

/// A direct-mapped piece → token count cache. Each slot is one 64-byte cache
/// line holding the piece inline (pieces over [`Self::MAX_KEY`] bytes bypass
/// the cache: they are rare, rarely repeat, and would need an arena). A new
/// piece simply overwrites whatever its slot held: no allocation, no
/// clearing, memory fixed at `SLOTS × 64` bytes, allocated zeroed so a new
/// counter costs no writes.
///
/// A slot is eight words: the piece's hash, `len | count << 32`, then the
/// piece as six little-endian words. The all-zero slot has length 0, which
/// no cached piece has (empty pieces are never cached).
/// Comparing words instead of bytes avoids a libc `memcmp` call, which was
/// 11% of an early profile.
///
/// The byte-level engine keeps its pieces of 25..=48 bytes here (shorter
/// ones go to its batched `ShortCache`); the SentencePiece and WordPiece
/// engines keep their pieces and words in one too, larger.
pub(crate) struct PieceCache {
    slots: Vec<[u64; 8]>,
}

impl PieceCache {
    pub(crate) const MAX_KEY: usize = 48;
    /// 2^12 slots = 256 KiB per thread. Since [`ShortCache`] took the
    /// pieces of up to 24 bytes, only pieces of 25..=48 bytes come here
    /// (46 k of 11.4 M cacheable pieces in 80 MB of the corpus). Before
    /// that this was the only cache, with 2^15 slots (chosen on 9.4 MB of
    /// docs and code, where it beat 2^16 and 2^17 by staying in L2/L3).
    const SLOTS: usize = 1 << 12;

    pub(crate) fn new() -> Self {
        Self::with_slots(Self::SLOTS)
    }

    /// A cache of `slots` slots (a power of two) of 64 bytes, allocated
    /// zeroed: pages no piece reaches are never touched.
    pub(crate) fn with_slots(slots: usize) -> Self {
        assert!(slots.is_power_of_two(), "{slots} slots");
        PieceCache {
            slots: vec![[0; 8]; slots],
        }
    }

    /// `piece`'s count, if its slot holds it (`hash` is `hash_bytes(piece)`,
    /// `piece` at most [`Self::MAX_KEY`] bytes).
    #[inline]
    fn get(&self, hash: u64, piece: &[u8]) -> Option<u32> {
        let slot = &self.slots[hash as usize & (self.slots.len() - 1)];
        if slot[0] != hash || slot[1] as u32 as usize != piece.len() {
            return None;
        }
        for (k, chunk) in piece.chunks(8).enumerate() {
            if slot[2 + k] != pack(chunk) {
                return None;
            }
        }
        Some((slot[1] >> 32) as u32)
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
        let mask = self.slots.len() - 1;
        let slot = &mut self.slots[hash as usize & mask];
        slot[0] = hash;
        slot[1] = piece.len() as u64 | (count as u64) << 32;
        for (k, chunk) in piece.chunks(8).enumerate() {
            slot[2 + k] = pack(chunk);
        }
    }
}
