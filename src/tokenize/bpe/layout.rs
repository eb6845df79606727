/*!
How a vocabulary is laid out in the arrays `Ranks` reads, and the *image*
format that holds those arrays ready to use.

It lives in its own file because `build.rs` includes it too (as it does
`hash.rs`): the four built-in encodings are laid out at build time and
embedded as images, so that start-up reads them in place instead of
building a hash table of up to 200 k tokens. Building o200k's table at run
time was most of a one-file audit's start-up: ~3 ms of CPU placing tokens
and ~2,000 page faults (~5 ms of system time) filling fresh memory, against
a binary's own pages that the kernel maps from the page cache. One function
places the tokens for both, so the image and a table built at run time are
the same arrays, slot for slot.

Image format (little-endian): `b"TKIMAGE1"`, then six `u64`: token count,
longest token in bytes, rank bound (spans), table slots, filter words, token
bytes. Then the sections, each starting at a multiple of 64 bytes: `one`
(256 `u32`), `two` (65,536 `u32`), `filter` (`u64`), `table` (`[u64; 2]`),
`spans` (`[u32; 2]`, offset and length by rank), token bytes.
*/

use super::hash::slot_key;

/// No rank (an absent 1- or 2-byte token).
pub(crate) const NO_RANK: u32 = u32::MAX;

/// First bytes of an image.
pub(crate) const IMAGE_MAGIC: &[u8; 8] = b"TKIMAGE1";

/// Sections start at multiples of this (a cache line; also every
/// section's element alignment).
pub(crate) const IMAGE_ALIGN: usize = 64;

/// The image header: everything but the arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ImageHeader {
    pub len: u64,
    pub max_token_len: u64,
    pub rank_bound: u64,
    pub slots: u64,
    pub filter_words: u64,
    pub bytes: u64,
}

impl ImageHeader {
    /// Bytes of the header itself.
    pub(crate) const SIZE: usize = 8 + 6 * 8;

    /// The image of this header around `sections` (one, two, filter,
    /// table, spans, token bytes, each already in the byte order it will
    /// be read in): the header, then each section at its offset. build.rs
    /// writes the built-in images with it, `Ranks::to_image` the start-up
    /// cache's.
    pub(crate) fn image(&self, sections: [&[u8]; 6]) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        let places = self.sections().expect("image sizes");
        for ((at, size), data) in places.into_iter().zip(sections) {
            assert_eq!(size, data.len(), "image section size");
            out.resize(at, 0);
            out.extend_from_slice(data);
        }
        out
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(IMAGE_MAGIC);
        for v in [
            self.len,
            self.max_token_len,
            self.rank_bound,
            self.slots,
            self.filter_words,
            self.bytes,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }

    pub(crate) fn read(image: &[u8]) -> Option<ImageHeader> {
        let rest = image.strip_prefix(IMAGE_MAGIC)?;
        let field = |i: usize| {
            let b = rest.get(8 * i..8 * i + 8)?;
            Some(u64::from_le_bytes(b.try_into().ok()?))
        };
        Some(ImageHeader {
            len: field(0)?,
            max_token_len: field(1)?,
            rank_bound: field(2)?,
            slots: field(3)?,
            filter_words: field(4)?,
            bytes: field(5)?,
        })
    }

    /// `(offset, byte length)` of the six sections, in image order: one,
    /// two, filter, table, spans, token bytes. `None` on sizes that
    /// overflow.
    pub(crate) fn sections(&self) -> Option<[(usize, usize); 6]> {
        let sizes = [
            256usize.checked_mul(4)?,
            65_536usize.checked_mul(4)?,
            usize::try_from(self.filter_words).ok()?.checked_mul(8)?,
            usize::try_from(self.slots).ok()?.checked_mul(16)?,
            usize::try_from(self.rank_bound).ok()?.checked_mul(8)?,
            usize::try_from(self.bytes).ok()?,
        ];
        let mut at = Self::SIZE;
        let mut out = [(0, 0); 6];
        for (slot, size) in out.iter_mut().zip(sizes) {
            at = at.checked_next_multiple_of(IMAGE_ALIGN)?;
            *slot = (at, size);
            at = at.checked_add(size)?;
        }
        Some(out)
    }
}

/// Slots in the rank table for `long` tokens (those of 3 bytes or more):
/// a power of two with the load at most 3/4. Measured on o200k (190 k such
/// tokens): 2^18 slots (4 MiB) ran as fast as 2^19 and fits caches better;
/// most failed lookups never probe (see `Ranks::may_hold`).
pub(crate) fn table_slots(long: usize) -> usize {
    (long + long / 3 + 1).next_power_of_two().max(16)
}

/// Words of the Bloom filter beside a table of `slots` slots: about 11
/// bits per long token (2^21 bits, 256 KiB, for o200k's 190 k).
pub(crate) fn filter_words(slots: usize) -> usize {
    (slots / 64 * 8).max(1)
}

/// The slot a token of 3 bytes or more starts its probe at, in a table
/// of `slots` slots. Placing tokens in this order writes the table front to
/// back instead of at random (several times faster for o200k).
pub(crate) fn home(token: &[u8], slots: usize) -> usize {
    slot_key(token).1 as usize & (slots - 1)
}

/// The arrays a vocabulary is placed into, zeroed (`one` and `two` filled
/// with [`NO_RANK`]).
pub(crate) struct Arrays<'a> {
    pub one: &'a mut [u32],
    pub two: &'a mut [u32],
    pub table: &'a mut [[u64; 2]],
    pub filter: &'a mut [u64],
}

impl Arrays<'_> {
    /// Places one token: 1- and 2-byte tokens by value, longer ones into
    /// the table (linear probing from their home) and the filter. Any order
    /// gives a table that answers the same; the order only decides how far
    /// some probes run, and the layout written.
    ///
    /// A slot is `[word, meta]`: `word` is the token itself (zero-padded)
    /// if it has at most 8 bytes, else its hash; `meta` is
    /// `len << 32 | (rank + 1)`, and 0 marks an empty slot.
    #[inline(always)]
    pub(crate) fn place(&mut self, token: &[u8], rank: u32) {
        match *token {
            [a] => self.one[a as usize] = rank,
            [a, b] => self.two[(a as usize) << 8 | b as usize] = rank,
            _ => {
                let (word, hash) = slot_key(token);
                let meta = (token.len() as u64) << 32 | (rank as u64 + 1);
                let (at, bits) = filter_bits(hash, self.filter.len());
                self.filter[at] |= bits;
                let mask = self.table.len() - 1;
                let mut i = hash as usize & mask;
                while self.table[i][1] != 0 {
                    i = (i + 1) & mask;
                }
                self.table[i] = [word, meta];
            }
        }
    }
}

/// The filter word and the two bits of a hash. The table's slot comes from
/// the low bits, so these come from the high ones.
#[inline(always)]
pub(crate) fn filter_bits(hash: u64, words: usize) -> (usize, u64) {
    let word = (hash >> 32) as usize & (words - 1);
    let bits = 1u64 << (hash >> 52 & 63) | 1u64 << (hash >> 58);
    (word, bits)
}
