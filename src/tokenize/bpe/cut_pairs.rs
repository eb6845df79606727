/*!
The pairs of units that lie side by side inside a token, which decide where a
long piece may be cut (see `cut`). On its own, with no crate dependency,
because `build.rs` includes it too: it writes the pairs of the built-in
vocabularies at build time, so that counting does not read 200 k tokens
when it meets its first long piece.

A unit is a whole UTF-8 character, packed little-endian into a `u32` (ASCII
below 0x80, a multi-byte character at least 0x8000), or, at a token's edge,
a fragment of one: [`FRAGMENT`] | its last byte (on the left of a place) or
its first byte (on the right).
*/

/// The unit of a fragment: above every packed character.
pub(crate) const FRAGMENT: u32 = 0x100;

/// The key of the pair `left`, `right`.
#[inline(always)]
pub(crate) fn key(left: u32, right: u32) -> u64 {
    (left as u64) << 32 | right as u64
}

/// Bytes of the UTF-8 character this byte starts (1 for anything else).
#[inline(always)]
pub(crate) fn char_len(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

#[inline(always)]
pub(crate) fn is_continuation(b: u8) -> bool {
    (0x80..0xC0).contains(&b)
}

/// Up to four bytes as a little-endian `u32`.
#[inline(always)]
pub(crate) fn pack(bytes: &[u8]) -> u32 {
    let mut word = 0u32;
    for (i, &b) in bytes.iter().enumerate() {
        word |= (b as u32) << (8 * i);
    }
    word
}

/// Calls `pair` with the key of the units on either side of every place
/// inside `token` where a character starts (a byte that is not a UTF-8
/// continuation byte). A token may hold any bytes: a left side that is not
/// one whole character is a fragment, and so is a right side cut short.
pub(crate) fn token_pairs(token: &[u8], mut pair: impl FnMut(u64)) {
    let n = token.len();
    for q in 1..n {
        if is_continuation(token[q]) {
            continue;
        }
        let mut j = q - 1;
        while j > 0 && is_continuation(token[j]) {
            j -= 1;
        }
        let left = if !is_continuation(token[j]) && char_len(token[j]) == q - j {
            pack(&token[j..q])
        } else {
            FRAGMENT | token[q - 1] as u32
        };
        let len = char_len(token[q]);
        let whole = q + len <= n && token[q + 1..q + len].iter().all(|&b| is_continuation(b));
        let right = if whole {
            pack(&token[q..q + len])
        } else {
            FRAGMENT | token[q] as u32
        };
        pair(key(left, right));
    }
}

/// The number of tokens tiktoken's merge leaves of `token`'s bytes, with
/// `rank` giving the rank of a byte string: the adjacent pair of lowest
/// rank joins first, leftmost on ties. Quadratic: for build-time checks and
/// a vocabulary's one-time reading, not for counting.
#[allow(dead_code)] // build.rs uses it; the crate merges with its own engine
pub(crate) fn merge_count(token: &[u8], rank: impl Fn(&[u8]) -> Option<u32>) -> usize {
    let mut bounds: Vec<usize> = (0..=token.len()).collect();
    loop {
        let mut best: Option<(u32, usize)> = None;
        for i in 0..bounds.len().saturating_sub(2) {
            if let Some(r) = rank(&token[bounds[i]..bounds[i + 2]]) {
                if best.is_none_or(|(b, _)| r < b) {
                    best = Some((r, i));
                }
            }
        }
        match best {
            Some((_, i)) => {
                bounds.remove(i + 1);
            }
            None => return bounds.len() - 1,
        }
    }
}
