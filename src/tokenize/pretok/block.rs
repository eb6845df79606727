/*!
The ASCII block path of the o200k and cl100k scanners: the pieces of 64
bytes at a time, found with bit masks instead of a walk per piece.

From a known piece start `i`, the 64 bytes at `i` are classified into one
u64 mask per class (letters by case, digits, spaces, newlines, other
white space, `'`, `/`, non-ASCII; SSE2 on x86-64, a byte loop elsewhere),
and the piece starts of the window are derived with shifted-mask algebra
(below, rule by rule). The regexes have no look-behind, so the pieces from
`i` on depend only on the bytes from `i` on: bit 0 is a start and the
window reads as if the text began there.

Which starts are trusted: the algebra holds for ASCII, and reads at most
three bytes past a start (contractions) or to the end of a white-space run.
So the window stops at its first non-ASCII byte, at the first place the
rules below do not cover (a *hazard*: a chain of contractions, a `/` after
newlines that o200k's `[\r\n/]*` takes, a run of ten digits or more), and
at byte 61; and the pieces are handed out up to the last *safe point*
before that: a place where a letter is followed by a non-letter other than
`'`. A word always ends there (no contraction can follow), and every piece
before it is decided by bytes up to it. If the window has no safe point
(non-ASCII text, long runs of spaces or symbols), the scalar scanner takes
the next pieces. The rules, for ASCII, with `P` = not a letter, digit, `\r`
or `\n`:

- a letter starts a piece where the letter run starts, unless the character
  before it is taken as the prefix `P`; o200k also starts one at an upper-
  case letter after a lower-case one (`U*W+`, `U+W*`);
- a prefix is taken by a space or tab before a letter always (it is the last
  character of its white-space run, which `\s+(?!\S)` leaves), and by a
  symbol before a letter when the symbol is a run of one, not after a space
  (` ?[^\s\p{L}\p{N}]+` takes it then) and not the `'` of a contraction;
- digits start a piece at the start of their run and every `DIGITS` after;
- a symbol run starts a piece at its start, or at the space before it; the
  newlines right after it belong to it (`[\r\n]*`, o200k `[\r\n/]*`);
- white space (what the symbol run left of it) starts a piece where it
  starts, after its last newline, and at its last character if that is not
  a newline (`\s*[\r\n]`, `\s+(?!\S)`);
- contractions: o200k's `C?` follows a word, so a `'` after a letter that
  begins `s t m d re ve ll` (any case) continues the piece and a piece starts
  after it; in cl100k the contraction is a piece of its own where a piece
  starts at the `'`.

The property tests at the end compare this path with the scalar scanners
(and with fancy-regex) on text built to put every class and hazard at
every offset of a window.
*/

use super::PieceSink;

/// Bytes classified per window.
pub(super) const WINDOW: usize = 64;

/// Starts are trusted below this bit: the rules read up to three bytes past
/// a start (`'ll`), all inside the window.
const TRUST: u32 = 61;

/// One u64 per class; bit `k` is byte `k` of the window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Classes {
    /// `a..=z`
    pub lower: u64,
    /// `A..=Z`
    pub upper: u64,
    /// `0..=9`
    pub digit: u64,
    /// ` `
    pub space: u64,
    /// `\r`, `\n`
    pub newline: u64,
    /// ASCII `\s`: `\t \n \v \f \r` and space
    pub white: u64,
    /// `'`
    pub apostrophe: u64,
    /// `/`
    pub slash: u64,
    /// bytes >= 0x80
    pub non_ascii: u64,
}

/// Classifies 64 bytes, portably (a loop over the bytes).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
pub(super) fn classify_portable(block: &[u8; WINDOW]) -> Classes {
    let mut c = Classes::default();
    for (k, &x) in block.iter().enumerate() {
        let bit = 1u64 << k;
        let set = |m: &mut u64, yes: bool| *m |= if yes { bit } else { 0 };
        set(&mut c.lower, x.is_ascii_lowercase());
        set(&mut c.upper, x.is_ascii_uppercase());
        set(&mut c.digit, x.is_ascii_digit());
        set(&mut c.space, x == b' ');
        set(&mut c.newline, x == b'\r' || x == b'\n');
        set(&mut c.white, x == b' ' || (9..=13).contains(&x));
        set(&mut c.apostrophe, x == b'\'');
        set(&mut c.slash, x == b'/');
        set(&mut c.non_ascii, x >= 0x80);
    }
    c
}

/// Classifies 64 bytes with SSE2 (part of x86-64): four 16-byte lanes,
/// range tests by signed comparison (bytes >= 0x80 are negative and fall
/// outside every ASCII range).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) fn classify(block: &[u8; WINDOW]) -> Classes {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86-64 baseline; the loads read the 64
    // bytes of `block` (unaligned loads).
    unsafe {
        let splat = |x: u8| _mm_set1_epi8(x as i8);
        let mask = |v: __m128i| _mm_movemask_epi8(v) as u16 as u64;
        let range = |v: __m128i, lo: u8, hi: u8| {
            _mm_and_si128(
                _mm_cmpgt_epi8(v, splat(lo - 1)),
                _mm_cmplt_epi8(v, splat(hi + 1)),
            )
        };
        let mut c = Classes::default();
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k) as *const __m128i);
            let shift = 16 * k;
            let space = _mm_cmpeq_epi8(v, splat(b' '));
            c.lower |= mask(range(v, b'a', b'z')) << shift;
            c.upper |= mask(range(v, b'A', b'Z')) << shift;
            c.digit |= mask(range(v, b'0', b'9')) << shift;
            c.space |= mask(space) << shift;
            c.newline |= mask(_mm_or_si128(
                _mm_cmpeq_epi8(v, splat(b'\n')),
                _mm_cmpeq_epi8(v, splat(b'\r')),
            )) << shift;
            c.white |= mask(_mm_or_si128(space, range(v, 9, 13))) << shift;
            c.apostrophe |= mask(_mm_cmpeq_epi8(v, splat(b'\''))) << shift;
            c.slash |= mask(_mm_cmpeq_epi8(v, splat(b'/'))) << shift;
            c.non_ascii |= mask(v) << shift;
        }
        c
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub(super) fn classify(block: &[u8; WINDOW]) -> Classes {
    classify_portable(block)
}

/// Whether any of the 64 bytes at `i` is non-ASCII, and where the last one
/// is (one past it), cheaply: the check made before classifying.
#[inline(always)]
fn last_non_ascii(block: &[u8; WINDOW]) -> (u32, u32) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 baseline; reads the 64 bytes of `block`.
        let m = unsafe {
            let load = |k: usize| _mm_loadu_si128(block.as_ptr().add(16 * k) as *const __m128i);
            let m = |k: usize| _mm_movemask_epi8(load(k)) as u16 as u64;
            m(0) | m(1) << 16 | m(2) << 32 | m(3) << 48
        };
        (m.trailing_zeros(), 64 - m.leading_zeros())
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let m = classify_portable(block).non_ascii;
        (m.trailing_zeros(), 64 - m.leading_zeros())
    }
}

/// The piece starts of one window and how far they are trusted.
pub(super) struct Window {
    /// Bit `k`: a piece starts at byte `k` (bit 0 always).
    pub starts: u64,
    /// The last trusted start (a safe point), or 0 if the window has none.
    pub end: u32,
}

/// Which scanner a window stands for.
#[derive(Clone, Copy)]
pub(super) enum Family {
    /// o200k_base (`DIGITS = 3`, contractions) and Tekken (`1`, none).
    O200k { digits: u32, contractions: bool },
    /// cl100k_base, Llama 3, Qwen 2 and 3.5 (their differences are outside
    /// ASCII or at the end of the text, which a window never reaches).
    Cl100k { digits: u32 },
}

/// Contraction masks: `'` positions (of `candidates`) followed by
/// `s t m d` (`one`) or `re ve ll` (`two`), any case, inside the window.
#[inline(always)]
fn contractions(b: &[u8; WINDOW], mut candidates: u64) -> (u64, u64) {
    let (mut one, mut two) = (0u64, 0u64);
    // Only apostrophes whose two following bytes are in the window.
    candidates &= (1u64 << (WINDOW - 2)) - 1;
    while candidates != 0 {
        let q = candidates.trailing_zeros() as usize;
        candidates &= candidates - 1;
        let x = b[q + 1].to_ascii_lowercase();
        let y = b[q + 2].to_ascii_lowercase();
        match x {
            b's' | b't' | b'm' | b'd' => one |= 1 << q,
            b'r' | b'v' if y == b'e' => two |= 1 << q,
            b'l' if y == b'l' => two |= 1 << q,
            _ => {}
        }
    }
    (one, two)
}

/// The starts of `\p{N}{1,digits}` pieces among the digits `d`.
#[inline(always)]
fn digit_starts(d: u64, digits: u32) -> u64 {
    let mut starts = d & !(d << 1);
    if digits == 1 {
        return d;
    }
    debug_assert_eq!(digits, 3);
    // A digit three after a start, with the two between, starts a piece.
    let three = d & (d << 1) & (d << 2);
    loop {
        let more = starts | (starts << 3) & three;
        if more == starts {
            return starts;
        }
        starts = more;
    }
}

/// The pieces of the window at `i` (a piece start; `i + 64 <= b.len()`).
#[inline(always)]
pub(super) fn window(b: &[u8], i: usize, family: Family) -> Window {
    let block: &[u8; WINDOW] = b[i..i + WINDOW].try_into().unwrap();
    let c = classify(block);
    let letter = c.lower | c.upper;
    let newline = c.newline;
    let white = c.white;
    let ascii = !c.non_ascii;
    // `[^\s\p{L}\p{N}]` among ASCII bytes.
    let other = ascii & !(letter | c.digit | white);
    // Non-newline white space.
    let blank = white & !newline;
    let prev = |m: u64| m << 1;

    // The limit: the first non-ASCII byte, hazard, or TRUST.
    let mut limit = c.non_ascii.trailing_zeros().min(TRUST);

    // Contractions.
    let (cont, cont_end, in_cont) = {
        let contracting = match family {
            Family::O200k {
                contractions: true, ..
            } => c.apostrophe & prev(letter),
            Family::O200k { .. } => 0,
            Family::Cl100k { .. } => c.apostrophe & !prev(other) & !prev(c.space),
        };
        if contracting == 0 {
            (0, 0, 0)
        } else {
            let (one, two) = contractions(block, contracting);
            let all = one | two;
            let end = one << 2 | two << 3;
            if let Family::O200k { .. } = family {
                // A word takes one contraction: a `'` right after one is a
                // chain (`x's's`), decided by parity; left to the scalar
                // scanner.
                let chain = all & end;
                limit = limit.min(chain.trailing_zeros());
            }
            (all, end, all << 1 | two << 2)
        }
    };

    // Symbols: the newlines right after a symbol run are its tail.
    let seeds = newline & prev(other);
    let tail = newline & !newline.wrapping_add(seeds);
    if let Family::O200k { .. } = family {
        // o200k's tail is `[\r\n/]*`: a `/` after the newlines goes on it.
        let slash_after = c.slash & prev(tail);
        limit = limit.min(slash_after.trailing_zeros());
    }
    let symbol_starts = other & !prev(other) & !prev(c.space) & !cont;
    // A prefix before a letter.
    let next_letter = letter >> 1;
    let prefix = next_letter & (blank | (other & !prev(other) & !prev(c.space) & !cont));

    // Letters.
    let mut word_starts = letter & !prev(letter) & !prev(prefix);
    if let Family::O200k { .. } = family {
        word_starts |= c.upper & prev(c.lower);
    }

    // Digits.
    let digits = match family {
        Family::O200k { digits, .. } | Family::Cl100k { digits } => digits,
    };
    let digit_starts = digit_starts(c.digit, digits);

    // White space, after the tails.
    let ws = white & !tail;
    let ws_starts = ws & !prev(ws);
    // After a newline, if the blanks that follow reach the end of the run
    // (no newline after them in the run).
    let mut after_newline = blank & prev(newline & ws);
    let ends = blank.wrapping_add(after_newline) & !blank;
    let mut bad = ends & newline;
    while bad != 0 {
        let e = bad.trailing_zeros();
        bad &= bad - 1;
        // The start of the blank run ending before `e`.
        let below = !blank & ((1u64 << e) - 1);
        let start = if below == 0 {
            0
        } else {
            64 - below.leading_zeros()
        };
        after_newline &= !(1u64 << start);
    }
    let last_blank = blank & ws & !(ws >> 1);

    let starts = (1
        | word_starts
        | prefix
        | symbol_starts
        | digit_starts
        | ws_starts
        | after_newline
        | last_blank
        | cont_end
        | match family {
            Family::Cl100k { .. } => cont,
            Family::O200k { .. } => 0,
        })
        & !in_cont;

    // Safe points: a letter, then a non-letter other than `'`.
    let safe = prev(letter) & !letter & !c.apostrophe & ascii;
    let below = (1u64 << limit) - 1;
    let safe = safe & below & !1;
    let end = if safe == 0 {
        0
    } else {
        63 - safe.leading_zeros()
    };
    debug_assert!(end == 0 || starts & (1 << end) != 0);
    Window { starts, end }
}

/// Hands out the pieces of `text` through `f`: windows where they work,
/// `next` (the scalar scanner) elsewhere.
#[inline(always)]
pub(super) fn scan(
    text: &str,
    family: Family,
    next: impl Fn(&[u8], usize) -> usize,
    mut f: impl PieceSink,
) {
    let b = text.as_bytes();
    let mut i = 0;
    // Where the next window may be tried: after a window without a safe
    // point, the scalar scanner goes past the non-ASCII bytes it saw.
    let mut scalar_until = 0;
    while i < b.len() {
        if i >= scalar_until && i + WINDOW <= b.len() {
            let block: &[u8; WINDOW] = b[i..i + WINDOW].try_into().unwrap();
            let (first, last) = last_non_ascii(block);
            if first < 8 {
                scalar_until = i + last as usize;
            } else {
                let w = window(b, i, family);
                if w.end > 0 {
                    let mut m = w.starts & ((1u64 << w.end) - 1) & !1;
                    let mut start = i;
                    while m != 0 {
                        let s = i + m.trailing_zeros() as usize;
                        m &= m - 1;
                        // SAFETY: pieces of a window lie before its first
                        // non-ASCII byte, so every bound is a char boundary.
                        f.piece(unsafe { text.get_unchecked(start..s) });
                        start = s;
                    }
                    let end = i + w.end as usize;
                    // SAFETY: as above.
                    f.piece(unsafe { text.get_unchecked(start..end) });
                    i = end;
                    continue;
                }
                scalar_until = i + last.max(32) as usize;
            }
        }
        let end = next(b, i);
        debug_assert!(end > i && text.is_char_boundary(end));
        // SAFETY: see `scan_all`.
        f.piece(unsafe { text.get_unchecked(i..end) });
        i = end;
    }
}

#[cfg(test)]
mod tests {
    use super::super::SplitPattern;
    use super::*;
    use proptest::prelude::*;

    /// The patterns with a block path.
    const PATTERNS: [SplitPattern; 6] = [
        SplitPattern::Cl100k,
        SplitPattern::Llama3,
        SplitPattern::Qwen2,
        SplitPattern::Qwen35,
        SplitPattern::O200k,
        SplitPattern::Tekken,
    ];

    /// The pieces as `text`'s slices, from a scanner that hands them out.
    fn collect(text: &str, scan: impl FnOnce(&mut dyn FnMut(&str))) -> Vec<&str> {
        let base = text.as_ptr() as usize;
        let mut out = Vec::new();
        scan(&mut |p: &str| {
            let start = p.as_ptr() as usize - base;
            out.push(&text[start..start + p.len()]);
        });
        out
    }

    fn scalar_pieces<'t>(pattern: &SplitPattern, text: &'t str) -> Vec<&'t str> {
        collect(text, |f| pattern.for_each_piece_scalar(text, f))
    }

    fn block_pieces<'t>(pattern: &SplitPattern, text: &'t str) -> Vec<&'t str> {
        collect(text, |f| pattern.for_each_piece(text, f))
    }

    fn assert_block_equals_scalar(text: &str) {
        for pattern in &PATTERNS {
            assert_eq!(
                block_pieces(pattern, text),
                scalar_pieces(pattern, text),
                "{pattern:?} on {text:?}"
            );
        }
    }

    /// Every ASCII class and hazard, some non-ASCII characters (a letter, a
    /// mark, ſ which `(?i)'s` takes, no-break space, NEL, CJK, an emoji).
    const ALPHABET: &[&str] = &[
        "a",
        "b",
        "s",
        "t",
        "l",
        "e",
        "r",
        "v",
        "m",
        "d",
        "x",
        "A",
        "S",
        "L",
        "E",
        "T",
        "R",
        "Q",
        " ",
        " ",
        " ",
        "\t",
        "\n",
        "\r",
        "\u{b}",
        "\u{c}",
        "0",
        "1",
        "9",
        "'",
        "'",
        "/",
        ".",
        ",",
        "(",
        "\"",
        "-",
        "\u{0}",
        "\u{1c}",
        "\u{7f}",
        "é",
        "中",
        "\u{a0}",
        "ſ",
        "\u{301}",
        "🙂",
        "\u{85}",
        "word",
        " the",
        "It's",
        "DON'T",
        "we'll",
        "x's's",
        "12345678901",
        ".\n/",
        "  \n  \n",
        "\r\n",
        "  ",
    ];

    fn text() -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::sample::select(ALPHABET), 0..160)
            .prop_map(|parts| parts.concat())
    }

    /// Mostly-ASCII text: non-ASCII characters only now and then, so that
    /// windows have safe points.
    fn ascii_text() -> impl Strategy<Value = String> {
        let ascii: Vec<&str> = ALPHABET.iter().copied().filter(|s| s.is_ascii()).collect();
        proptest::collection::vec(
            prop_oneof![
                20 => proptest::sample::select(ascii),
                1 => proptest::sample::select(ALPHABET),
            ],
            0..200,
        )
        .prop_map(|parts| parts.concat())
    }

    #[test]
    fn sse2_classes_equal_the_portable_ones() {
        // Every byte value at every position.
        for x in 0..=255u8 {
            for k in 0..WINDOW {
                let mut block =
                    *b"The quick brown fox jumps over the lazy dog; it's 42.\n\tAB  CD/'x";
                block[k] = x;
                assert_eq!(classify(&block), classify_portable(&block), "{x:#x} at {k}");
            }
        }
    }

    #[test]
    fn classes_agree_with_the_unicode_tables() {
        use super::super::{tables, L, N, S};
        let mut block = [0u8; WINDOW];
        for chunk in 0..2 {
            for (k, b) in block.iter_mut().enumerate() {
                *b = (chunk * 64 + k) as u8;
            }
            let c = classify_portable(&block);
            for k in 0..WINDOW {
                let class = tables::CLASS_BLOCKS[0][chunk * 64 + k];
                let bit = |m: u64| m >> k & 1 == 1;
                assert_eq!(bit(c.lower | c.upper), class & L != 0, "{k}");
                assert_eq!(bit(c.digit), class & N != 0, "{k}");
                assert_eq!(bit(c.white), class & S != 0, "{k}");
            }
        }
    }

    #[test]
    fn digit_starts_count_in_threes_from_each_run() {
        // 1111 0111111111 0 11111 (bit 0 first)
        let runs = [4, 0, 10, 0, 5];
        let (mut d, mut expected, mut k) = (0u64, 0u64, 0);
        for n in runs {
            for j in 0..n {
                d |= 1 << k;
                if j % 3 == 0 {
                    expected |= 1 << k;
                }
                k += 1;
            }
            k += 1;
        }
        assert_eq!(digit_starts(d, 3), expected);
        assert_eq!(digit_starts(d, 1), d);
        assert_eq!(digit_starts(u64::MAX, 3), 0x9249_2492_4924_9249);
    }

    #[test]
    fn english_prose_goes_through_windows() {
        // The block path must actually be taken on prose: count the pieces
        // handed out by windows.
        let text = "It's the Licensor's right: you'll see THE Work (and WeLL, 2024) \
                    is provided \"AS IS\" -- without warranty.\n\n   Section 2.\tGrant.\n"
            .repeat(20);
        let b = text.as_bytes();
        let (mut i, mut windows) = (0, 0);
        while i + WINDOW <= b.len() {
            let w = window(
                b,
                i,
                Family::O200k {
                    digits: 3,
                    contractions: true,
                },
            );
            if w.end == 0 {
                i += 1;
                continue;
            }
            windows += 1;
            i += w.end as usize;
        }
        assert!(windows > 20 * 140 / 64, "{windows} windows");
        assert_block_equals_scalar(&text);
    }

    #[test]
    fn pieces_across_window_edges() {
        // Each sample at every offset from a window's start, after filler
        // of each kind.
        let samples = [
            "it's DON'T we'LL x's's 'll",
            "word.\n/\n//x ./\n/y",
            "  \n \t \n   x  \n\n  y\t\tz \r\n",
            "12345678901234 1 12 123 1234 a1b22c333",
            "aB ABc abC ABC aBC \"x\" (y) -z 'q",
            "é中 ſ x'ſ a\u{a0}b a\u{85}b \u{301}x 🙂.",
            "..a .a  .a\t.a\n.a 'a ''a",
        ];
        for filler in ["a", " ", "1", ".", "\n", "aA ", "é"] {
            for sample in samples {
                for k in 0..=WINDOW + 2 {
                    let text = format!("{}{sample}{}", filler.repeat(k), filler.repeat(k));
                    assert_block_equals_scalar(&text);
                }
            }
        }
    }

    #[test]
    fn runs_of_every_class() {
        for unit in [
            "a", "A", "aA", "1", " ", "\t", "\n", "\r\n", ".", "'", "/", "é", "中", " x", ".\n",
            "'s",
        ] {
            for n in [1, 2, 3, 31, 32, 33, 60, 61, 62, 63, 64, 65, 127, 128, 129] {
                for around in ["", "x", " ", "x.", "\n"] {
                    let text = format!("{around}{}{around}", unit.repeat(n));
                    assert_block_equals_scalar(&text);
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn block_path_equals_scalar(text in text()) {
            assert_block_equals_scalar(&text);
        }

        #[test]
        fn block_path_equals_scalar_on_ascii(text in ascii_text()) {
            assert_block_equals_scalar(&text);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn block_path_equals_regex(text in ascii_text()) {
            for pattern in &PATTERNS {
                let regex = pattern.to_fallback().unwrap();
                prop_assert_eq!(block_pieces(pattern, &text), regex.pieces(&text), "{:?}", pattern);
            }
        }
    }
}
