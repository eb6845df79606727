/*!
A hand-written scanner for DeepSeek V3/V4's pre-tokenizer chain, which the
generic [`SplitChain`](crate::tokenize::pretok::hf::SplitChain) runs as three
fancy-regex passes. The chain (three `Split`s, `Isolated`, each applied to
every piece of the one before):

1. `\p{N}{1,3}`
2. `[一-龥぀-ゟ゠-ヿ]+` (U+4E00–U+9FA5, U+3040–U+30FF)
3. `[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+`
   `| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

Composed: the text is first cut into maximal runs of digits (`\p{N}`), of
the kana/CJK ranges, and of everything else; the two ranges share no
character. A digit run becomes pieces of three (step 3 matches nothing in
digits, so each stays whole). Each other run is a haystack for step 3,
which sees no digit and cannot look past the run's end. Step 3 at `i`, in
alternative order, with backtracking resolved:

- ASCII punctuation followed by an ASCII letter: through the ASCII letters.
- `[\p{L}\p{M}]+` with an optional prefix that is not `\r`, `\n`, a letter,
  punctuation or a symbol: a letter or mark starts a run; a prefix
  character starts one if a letter or mark follows it.
- ` ?[\p{P}\p{S}]+[\r\n]*`: as written (a space only before `P`/`S`).
- whitespace: after the run's last `\r`/`\n` if it has one; else the whole
  run at the haystack's end or when it is one character; else the run less
  its last character.
- nothing matches (a control or format character not before a letter):
  the character joins a gap, which ends where the next match starts.

Character classes come from the Unicode tables fancy-regex compiles its
classes with (`regex-syntax`, see `unicode_class`), as ranges, once per
tokenizer (about a millisecond), so the scanner and the fallback agree by
construction; tests compare their pieces on random and adversarial text.

Measured (release, 1 thread, 10 MB of the bench corpus,
`examples/hf_engine_speed.rs`): 130–200 MB/s alone; the fancy-regex chain
it replaces ran deepseek-v3 at ~17 MB/s end to end. Numbers in `hf_bpe`.
Tried and dropped for lack of a measurable gain under the machine's noise:
ASCII fast paths for `word`/` word` and for the outer run (170–208 MB/s
with and without).
*/

use std::sync::Arc;

use crate::tokenize::pretok::decode_at;
use crate::tokenize::pretok::unicode_class;

/// The chain's three regexes, as `tokenizer.json` spells them (DeepSeek V3
/// and V4 ship the same ones).
pub const PATTERNS: [&str; 3] = [
    r"\p{N}{1,3}",
    "[一-龥぀-ゟ゠-ヿ]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
];

const N: u8 = 1;
/// `[\p{L}\p{M}]`
const LM: u8 = 2;
/// `[\p{P}\p{S}]`
const PS: u8 = 4;
/// `\s`
const WS: u8 = 8;
/// U+4E00–U+9FA5, U+3040–U+30FF.
const CJK: u8 = 16;
/// Past the end of the haystack.
const END: u8 = 128;

/// The scanner, with its class table (one byte per scalar value, shared).
#[derive(Clone)]
pub struct DeepSeekScanner {
    class: Arc<Vec<u8>>,
}

impl std::fmt::Debug for DeepSeekScanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeepSeekScanner")
    }
}

impl DeepSeekScanner {
    /// The scanner if `patterns` is exactly the DeepSeek chain.
    pub fn for_patterns(patterns: &[String]) -> Option<Self> {
        (patterns.len() == 3 && patterns.iter().zip(PATTERNS).all(|(a, b)| a == b)).then(Self::new)
    }

    pub fn new() -> Self {
        let class = unicode_class::class_bits(&[
            (N, r"\p{N}"),
            (LM, r"[\p{L}\p{M}]"),
            (PS, r"[\p{P}\p{S}]"),
            (WS, r"\s"),
            (CJK, "[一-龥぀-ゟ゠-ヿ]"),
        ]);
        DeepSeekScanner {
            class: Arc::new(class),
        }
    }

    /// Calls `f` on each piece of `text`, in order.
    #[inline]
    pub fn for_each_piece(&self, text: &str, f: &mut impl FnMut(&str)) {
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let (c, n) = self.at(b, i, b.len());
            if c & N != 0 {
                // Digits in threes.
                let mut end = i + n;
                for _ in 1..3 {
                    let (c2, m) = self.at(b, end, b.len());
                    if c2 & N == 0 || c2 == END {
                        break;
                    }
                    end += m;
                }
                f(&text[i..end]);
                i = end;
                continue;
            }
            // A run of one kind (CJK or other), then step 3 inside it.
            let kind = c & CJK;
            let mut end = i + n;
            loop {
                let (c2, m) = self.at(b, end, b.len());
                if c2 == END || c2 & N != 0 || c2 & CJK != kind {
                    break;
                }
                end += m;
            }
            self.step3(text, i, end, f);
            i = end;
        }
    }

    /// Class bits and length of the character at `i`, or `END` at `limit`.
    #[inline(always)]
    fn at(&self, b: &[u8], i: usize, limit: usize) -> (u8, usize) {
        if i >= limit {
            return (END, 0);
        }
        let c = b[i];
        if c < 0x80 {
            return (self.class[c as usize], 1);
        }
        let (cp, n) = decode_at(b, i);
        (self.class[cp as usize], n)
    }

    /// End of the run of characters with a bit of `mask` from `i`.
    #[inline(always)]
    fn run(&self, b: &[u8], mut i: usize, limit: usize, mask: u8) -> usize {
        loop {
            let (c, n) = self.at(b, i, limit);
            if c & mask == 0 || c == END {
                return i;
            }
            i += n;
        }
    }

    /// Step 3 over the haystack `text[from..to]`: matches and gaps.
    fn step3(&self, text: &str, from: usize, to: usize, f: &mut impl FnMut(&str)) {
        let b = text.as_bytes();
        let mut gap = from;
        let mut i = from;
        while i < to {
            match self.match_at(b, i, to) {
                Some(end) => {
                    if gap < i {
                        f(&text[gap..i]);
                    }
                    f(&text[i..end]);
                    i = end;
                    gap = end;
                }
                None => i += self.at(b, i, to).1,
            }
        }
        if gap < to {
            f(&text[gap..to]);
        }
    }

    /// The end of step 3's match starting at `i`, if one does.
    #[inline]
    fn match_at(&self, b: &[u8], i: usize, to: usize) -> Option<usize> {
        let c = b[i];
        let (class, n) = self.at(b, i, to);
        let (next, _) = self.at(b, i + n, to);
        // `[ASCII punctuation][A-Za-z]+`
        if c.is_ascii_punctuation() && next != END && b[i + 1].is_ascii_alphabetic() {
            let mut end = i + 2;
            while end < to && b[end].is_ascii_alphabetic() {
                end += 1;
            }
            return Some(end);
        }
        // `[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+`
        if class & LM != 0 {
            return Some(self.run(b, i, to, LM));
        }
        let prefix = c != b'\r' && c != b'\n' && class & PS == 0;
        if prefix && next & LM != 0 && next != END {
            return Some(self.run(b, i + n, to, LM));
        }
        // ` ?[\p{P}\p{S}]+[\r\n]*`
        let start = if c == b' ' && next & PS != 0 && next != END {
            Some(i + 1)
        } else if class & PS != 0 {
            Some(i)
        } else {
            None
        };
        if let Some(s) = start {
            let mut end = self.run(b, s, to, PS);
            while end < to && matches!(b[end], b'\r' | b'\n') {
                end += 1;
            }
            return Some(end);
        }
        if class & WS == 0 {
            return None;
        }
        // Whitespace alternatives.
        let mut end = i;
        let mut last = i;
        let mut newline = None;
        loop {
            let (c2, m) = self.at(b, end, to);
            if c2 & WS == 0 || c2 == END {
                break;
            }
            if matches!(b[end], b'\r' | b'\n') {
                newline = Some(end);
            }
            last = end;
            end += m;
        }
        Some(match newline {
            Some(p) => p + 1,
            None if end == to || last == i => end,
            None => last,
        })
    }
}

impl Default for DeepSeekScanner {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenize::pretok::hf::SplitChain;
    use std::sync::OnceLock;

    fn both() -> &'static (DeepSeekScanner, SplitChain) {
        static BOTH: OnceLock<(DeepSeekScanner, SplitChain)> = OnceLock::new();
        BOTH.get_or_init(|| {
            let patterns: Vec<String> = PATTERNS.iter().map(|p| p.to_string()).collect();
            (
                DeepSeekScanner::for_patterns(&patterns).unwrap(),
                SplitChain::new(&patterns).unwrap(),
            )
        })
    }

    fn pieces(text: &str) -> Vec<&str> {
        let base = text.as_ptr() as usize;
        let mut out = Vec::new();
        both().0.for_each_piece(text, &mut |p| {
            let s = p.as_ptr() as usize - base;
            out.push(&text[s..s + p.len()]);
        });
        out
    }

    fn assert_same(text: &str) {
        assert_eq!(pieces(text), both().1.pieces(text), "{text:?}");
    }

    #[test]
    fn scanner_equals_the_chain_on_tricky_text() {
        for text in [
            "Hello world, it's 2024! I'LL see you'Re there.",
            "1234567 ١٢٣٤٥ ½¼ x1y22z333",
            "日本語のテキスト・東京 中文，标点。 한국어",
            "  lead\r\n\r\n  \nb \n   ",
            ".Net ..NET .\n ,x\u{0}a \u{0}\u{0} \u{200d}x \u{301}a \u{301}",
            "👍🏽 👨‍👩‍👧‍👦 🙂🙂 $$ + +a ++\r\n",
            "e\u{301}te\u{301} \u{A0}x\u{3000}y\u{2028}z \t\tq",
        ] {
            assert_same(text);
        }
    }

    /// The table from `regex-syntax` ranges marks exactly the characters
    /// fancy-regex matches with each class, over every scalar value.
    #[test]
    fn class_table_equals_what_the_regexes_match() {
        let scanner = DeepSeekScanner::new();
        let all: String = (0..=0x10FFFFu32).filter_map(char::from_u32).collect();
        for (re, bit) in [
            (r"\p{N}+", N),
            (r"[\p{L}\p{M}]+", LM),
            (r"[\p{P}\p{S}]+", PS),
            (r"\s+", WS),
            ("[一-龥぀-ゟ゠-ヿ]+", CJK),
        ] {
            let mut matched = vec![false; 0x110000];
            for m in fancy_regex::Regex::new(re).unwrap().find_iter(&all) {
                for c in m.unwrap().as_str().chars() {
                    matched[c as usize] = true;
                }
            }
            for c in all.chars() {
                let in_table = scanner.class[c as usize] & bit != 0;
                assert_eq!(in_table, matched[c as usize], "{re} at U+{:04X}", c as u32);
            }
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        const ALPHABET: &[char] = &[
            ' ', '\n', '\r', '\t', 'a', 'Z', '1', '٣', '\'', '.', '!', '$', '+', '🙂', '\u{301}',
            '中', 'か', 'ー', '・', '゙', '\u{A0}', '\u{0}', '\u{200d}', '\u{2028}', 'ǅ', '½',
        ];

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(500))]
            #[test]
            fn tricky(cs in proptest::collection::vec(proptest::sample::select(ALPHABET), 0..40)) {
                assert_same(&cs.into_iter().collect::<String>());
            }

            #[test]
            fn arbitrary(text in "\\PC{0,40}") {
                assert_same(&text);
            }
        }
    }
}
