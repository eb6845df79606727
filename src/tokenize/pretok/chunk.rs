/*!
Where a long document may be cut so that counting the pieces separately gives
the same total as counting it whole.

A cut is exact-safe when no pre-token of any supported split pattern can span
it and the pre-tokens next to it come out the same whether or not the text
continues. We cut only between a `\n` and a letter, when the character before
the `\n` is not whitespace:

- no alternative of the OpenAI-style patterns (cl100k, o200k, p50k/r50k, and
  the Llama, Qwen and Tekken variants) lets a pre-token contain `\n` followed
  by a letter: the optional prefix of a word is `[^\r\n\p{L}\p{N}]`, and the
  whitespace alternatives stop before non-whitespace;
- with non-whitespace before it, the `\n` is a whitespace run of length one,
  so `\s+$`, `\s*[\r\n]` and `\s+(?!\S)` all produce the same one-character
  piece at the end of a chunk as in the middle of the text.

Whether this also holds for a given tokenizer.json model is not argued here
but tested, for every named tokenizer (`tests/it/chunking.rs`).
*/

/// The smallest exact-safe cut position in `text` at or after `from`, or
/// `None` when the rest of the text has none (one long line, say).
pub fn next_cut(text: &str, from: usize) -> Option<usize> {
    next_cut_before(text, from, text.len())
}

/// [`next_cut`], looking only at newlines before `limit`.
fn next_cut_before(text: &str, from: usize, limit: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let limit = limit.min(bytes.len());
    let mut i = from.max(1);
    while i < limit {
        let nl = i + memchr_newline(&bytes[i..limit])?;
        // Candidate cut is just after the newline.
        let cut = nl + 1;
        if cut < bytes.len() && nl > 0 && starts_with_letter(&text[cut..]) {
            let before = text[..nl].chars().next_back();
            if before.is_some_and(|c| !c.is_whitespace()) {
                return Some(cut);
            }
        }
        i = cut;
    }
    None
}

/// Grid piece `k` of `text`: the text is divided into regions of `target`
/// bytes, and a piece starts at the first exact-safe cut its region has
/// (piece 0 at the start) and runs to the start of the next piece. A region
/// without a cut (inside a line longer than `target`) gives an empty piece,
/// as do pieces past the last; empty pieces are placed at the end of the
/// text.
///
/// Unlike [`pieces`], one piece is found without cutting the ones before
/// it, so a huge document can be cut as it is counted, touching only the
/// text around each piece's own bounds. Each region is searched only up to
/// its end: searching on to the next cut made a document that is one long
/// line cost a scan of the rest of it for every piece (quadratic: 5.5 s for
/// 64 MB on one line, 0.6 s for 64 MB of prose).
pub fn grid_piece(text: &str, k: usize, target: usize) -> std::ops::Range<usize> {
    match grid_start(text, k, target) {
        Some(from) => {
            // Some region ahead has a start: past the last, the end.
            let to = (k + 1..)
                .find_map(|j| grid_start(text, j, target))
                .expect("regions past the end start at the end");
            from..to
        }
        // Not at the region's start: that may be inside a character.
        None => text.len()..text.len(),
    }
}

/// Where grid piece `k` starts: `None` when its region has no cut.
fn grid_start(text: &str, k: usize, target: usize) -> Option<usize> {
    if k == 0 {
        return Some(0);
    }
    match k.checked_mul(target) {
        Some(at) if at < text.len() => next_cut_before(text, at, at.saturating_add(target)),
        _ => Some(text.len()),
    }
}

/// Splits `text` into consecutive pieces of at least about `target` bytes,
/// each ending at an exact-safe cut (the last one at the end of the text).
pub fn pieces(text: &str, target: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < text.len() {
        match next_cut(text, start + target) {
            Some(cut) if cut < text.len() => {
                out.push(&text[start..cut]);
                start = cut;
            }
            _ => {
                out.push(&text[start..]);
                break;
            }
        }
    }
    out
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

fn starts_with_letter(text: &str) -> bool {
    text.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || is_cjk_letter(c))
}

/// Ideographs, kana and Hangul syllables: all `\p{Lo}`, so they behave like
/// ASCII letters at a cut, and they are what long CJK documents start lines with.
fn is_cjk_letter(c: char) -> bool {
    matches!(c,
        '\u{4E00}'..='\u{9FFF}' | '\u{3041}'..='\u{3096}' | '\u{30A1}'..='\u{30FA}' | '\u{AC00}'..='\u{D7A3}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_only_after_newline_before_letter() {
        let text = "one\ntwo \nthree\n\nfour\n5\nsix";
        let cuts: Vec<usize> =
            std::iter::successors(next_cut(text, 0), |&c| next_cut(text, c)).collect();
        // "two" follows "one\n": allowed. "three" follows " \n": not allowed.
        // "four" follows "\n\n": not allowed. "5": not a letter. "six": allowed.
        assert_eq!(cuts, vec![4, text.find("six").unwrap()]);
    }

    #[test]
    fn grid_pieces_tile_the_text_at_exact_safe_cuts() {
        // Multi-byte characters in the long line: region starts fall inside
        // them, and every piece must still be a slice of the text.
        let text = "A line.\nAnother, longer line of text.\n   indented\nX\n".repeat(50)
            + &"no cut in this long line, ünïcödé 你好 🙂 ".repeat(20)
            + "\nEnd.";
        for target in [1, 7, 64, 300, text.len(), text.len() + 1] {
            let n = text.len().div_ceil(target);
            let pieces: Vec<_> = (0..n).map(|k| grid_piece(&text, k, target)).collect();
            for r in &pieces {
                assert!(text.get(r.clone()).is_some(), "target {target}: {r:?}");
            }
            let tiles: Vec<_> = pieces.iter().filter(|r| !r.is_empty()).collect();
            assert_eq!(tiles[0].start, 0, "target {target}");
            assert_eq!(tiles.last().unwrap().end, text.len(), "target {target}");
            for pair in tiles.windows(2) {
                assert_eq!(pair[0].end, pair[1].start, "target {target}");
                // Every inner bound is a cut `next_cut` makes.
                let b = pair[1].start;
                assert_eq!(next_cut(&text, b - 1), Some(b), "target {target}");
            }
            // The same pieces as cutting at the first cut after each
            // multiple of `target`, wherever it is.
            let first_cut_after = |k: usize| match k * target {
                0 => 0,
                at if at < text.len() => next_cut(&text, at).unwrap_or(text.len()),
                _ => text.len(),
            };
            let expected: Vec<_> = (0..n)
                .map(|k| first_cut_after(k)..first_cut_after(k + 1))
                .filter(|r| !r.is_empty())
                .collect();
            assert_eq!(
                tiles,
                expected.iter().collect::<Vec<_>>(),
                "target {target}"
            );
            assert!(grid_piece(&text, n + 5, target).is_empty());
        }
    }

    #[test]
    fn pieces_reassemble_the_text() {
        let text = "alpha\nbeta\ngamma\ndelta\n".repeat(100);
        let parts = pieces(&text, 50);
        assert!(parts.len() > 10);
        assert_eq!(parts.concat(), text);
    }
}
