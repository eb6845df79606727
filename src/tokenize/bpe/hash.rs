/*!
The byte-string hash behind the rank table and the piece cache.

It lives in its own file because `build.rs` includes it too: the built-in
rank tables are laid out at build time (`layout.rs`), and a token's slot
must be computed with exactly this function.
*/

/// What a token stores in its slot, and where its probe starts.
#[inline(always)]
pub(crate) fn slot_key(token: &[u8]) -> (u64, u64) {
    let n = token.len();
    if n <= 8 {
        let word = pack(token);
        (
            word,
            fold(
                word ^ 0xe703_7ed1_a0b4_28db,
                n as u64 ^ 0x8ebc_6af0_9c88_c6e3,
            ),
        )
    } else {
        let hash = hash_bytes(token);
        (hash, hash)
    }
}

/// Up to 8 bytes as a little-endian word, zero-padded, without a loop.
#[inline(always)]
pub(crate) fn pack(b: &[u8]) -> u64 {
    let n = b.len();
    if n >= 4 {
        // Two overlapping 4-byte reads; the overlap ORs equal bytes.
        read4(b, 0) | read4(b, n - 4) << (8 * (n - 4))
    } else if n > 0 {
        b[0] as u64 | (b[n / 2] as u64) << (8 * (n / 2)) | (b[n - 1] as u64) << (8 * (n - 1))
    } else {
        0
    }
}

/// A fast hash of a short byte string (tokens, pre-tokens): a few
/// multiply-folds over 8-byte words, in the style of wyhash. Quality matters
/// only as far as open addressing needs well-spread low bits and distinct
/// high bits for tags.
#[inline]
pub(crate) fn hash_bytes(b: &[u8]) -> u64 {
    const P0: u64 = 0xa076_1d64_78bd_642f;
    const P1: u64 = 0xe703_7ed1_a0b4_28db;
    const P2: u64 = 0x8ebc_6af0_9c88_c6e3;
    let n = b.len();
    let (a, c) = if n <= 16 {
        if n >= 8 {
            (read8(b, 0), read8(b, n - 8))
        } else if n >= 4 {
            (read4(b, 0), read4(b, n - 4))
        } else if n > 0 {
            (
                (b[0] as u64) << 16 | (b[n / 2] as u64) << 8 | b[n - 1] as u64,
                0,
            )
        } else {
            (0, 0)
        }
    } else {
        let mut seed = P0;
        let mut i = 0;
        while i + 16 < n {
            seed = fold(read8(b, i) ^ P1, read8(b, i + 8) ^ seed);
            i += 16;
        }
        (read8(b, n - 16) ^ seed, read8(b, n - 8))
    };
    fold(a ^ P1, c ^ P2 ^ (n as u64).wrapping_mul(P0))
}

/// Where a pair of ids `(left, right)` lands in a table of `2^bits`
/// places (Fibonacci hashing of both ids as one word: the product's top
/// bits). `bits` is 1..=64.
#[inline(always)]
pub(crate) fn pair_home(left: u32, right: u32, bits: u32) -> usize {
    let key = (left as u64) << 32 | right as u64;
    (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - bits)) as usize
}

/// A multiply-fold: the 128-bit product's halves xored (the piece caches'
/// keys hash with it too).
#[inline(always)]
pub(crate) fn fold(a: u64, b: u64) -> u64 {
    let r = (a as u128).wrapping_mul(b as u128);
    (r as u64) ^ ((r >> 64) as u64)
}

#[inline(always)]
fn read8(b: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(b[i..i + 8].try_into().unwrap())
}

#[inline(always)]
fn read4(b: &[u8], i: usize) -> u64 {
    u32::from_le_bytes(b[i..i + 4].try_into().unwrap()) as u64
}
