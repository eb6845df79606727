/*!
Which writing systems a text is in: letters counted per script group.

Tokenizers differ most by script (a vocabulary trained mostly on English
splits Thai or Hangul into many more pieces), so the script of a text is what
explains one tokenizer's count against another's. This module only counts; it
knows nothing of tokenizers or models. `content` turns the counts into the
content class that calibrated estimates are keyed by, and the `compare`
command's by-script breakdown is meant to read the same [`ScriptCounts`].

Script properties come from the `unicode-script` crate (the Unicode
Character Database's `Script` property), not from hand-written ranges.
Characters whose script is Common or Inherited (digits, punctuation, symbols,
emoji, combining marks) and unassigned ones belong to no group: they are
counted as neutral. Whitespace is not counted at all.
*/

use serde::{Deserialize, Serialize};
use unicode_script::{Script, UnicodeScript};

/// The script groups a breakdown is reported in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScriptGroup {
    Latin,
    Cyrillic,
    Greek,
    Arabic,
    Hebrew,
    /// Devanagari and the other scripts of India (Bengali, Tamil, ...).
    Indic,
    Han,
    /// Hiragana and Katakana.
    Kana,
    Hangul,
    Thai,
    /// Any other script (Armenian, Georgian, Ethiopic, ...).
    Other,
}

impl ScriptGroup {
    pub const ALL: [ScriptGroup; 11] = [
        ScriptGroup::Latin,
        ScriptGroup::Cyrillic,
        ScriptGroup::Greek,
        ScriptGroup::Arabic,
        ScriptGroup::Hebrew,
        ScriptGroup::Indic,
        ScriptGroup::Han,
        ScriptGroup::Kana,
        ScriptGroup::Hangul,
        ScriptGroup::Thai,
        ScriptGroup::Other,
    ];

    /// The group of a character, or `None` for characters of no particular
    /// script (Common, Inherited, Unknown).
    pub fn of(c: char) -> Option<ScriptGroup> {
        Some(match c.script() {
            Script::Common | Script::Inherited | Script::Unknown => return None,
            Script::Latin => ScriptGroup::Latin,
            Script::Cyrillic => ScriptGroup::Cyrillic,
            Script::Greek => ScriptGroup::Greek,
            Script::Arabic => ScriptGroup::Arabic,
            Script::Hebrew => ScriptGroup::Hebrew,
            Script::Devanagari
            | Script::Bengali
            | Script::Gurmukhi
            | Script::Gujarati
            | Script::Oriya
            | Script::Tamil
            | Script::Telugu
            | Script::Kannada
            | Script::Malayalam
            | Script::Sinhala => ScriptGroup::Indic,
            Script::Han => ScriptGroup::Han,
            Script::Hiragana | Script::Katakana => ScriptGroup::Kana,
            Script::Hangul => ScriptGroup::Hangul,
            Script::Thai => ScriptGroup::Thai,
            _ => ScriptGroup::Other,
        })
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The name used in reports (`latin`, `indic`, `kana`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ScriptGroup::Latin => "latin",
            ScriptGroup::Cyrillic => "cyrillic",
            ScriptGroup::Greek => "greek",
            ScriptGroup::Arabic => "arabic",
            ScriptGroup::Hebrew => "hebrew",
            ScriptGroup::Indic => "indic",
            ScriptGroup::Han => "han",
            ScriptGroup::Kana => "kana",
            ScriptGroup::Hangul => "hangul",
            ScriptGroup::Thai => "thai",
            ScriptGroup::Other => "other",
        }
    }

    /// The name of a dominant script: the group's, or [`NO_LETTERS`] for
    /// text with no letters at all (numbers, symbols, white space).
    pub fn name_of(dominant: Option<ScriptGroup>) -> &'static str {
        dominant.map_or(NO_LETTERS, ScriptGroup::name)
    }
}

/// How a piece with no letters of any script is reported.
pub const NO_LETTERS: &str = "none";

/// What one non-ASCII character adds to [`ScriptCounts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Letter(ScriptGroup),
    Neutral,
    Blank,
}

impl Kind {
    fn of(c: char) -> Kind {
        if c.is_whitespace() {
            return Kind::Blank;
        }
        match ScriptGroup::of(c) {
            Some(g) => Kind::Letter(g),
            None => Kind::Neutral,
        }
    }
}

/// A direct-mapped cache of [`Kind::of`] for one text. The crate's lookup
/// is a binary search over ~2,000 ranges (tens of nanoseconds a character:
/// 3,000 small multilingual files took 0.16-0.25 s instead of 0.07-0.13 s to
/// audit with one tokenizer and one thread, a loaded machine), while a text
/// in one script repeats a few hundred characters, which hit here.
struct Memo {
    chars: [u32; Memo::SLOTS],
    kinds: [Kind; Memo::SLOTS],
}

impl Memo {
    const SLOTS: usize = 512;

    fn new() -> Memo {
        // 0 is ASCII, never looked up here, so it marks an empty slot.
        Memo {
            chars: [0; Memo::SLOTS],
            kinds: [Kind::Blank; Memo::SLOTS],
        }
    }

    fn kind(&mut self, c: char) -> Kind {
        let slot = c as usize % Memo::SLOTS;
        if self.chars[slot] != c as u32 {
            self.chars[slot] = c as u32;
            self.kinds[slot] = Kind::of(c);
        }
        self.kinds[slot]
    }
}

/// The length of the ASCII prefix of `bytes`: whole blocks checked with
/// the standard library's word-at-a-time test, then byte by byte.
fn ascii_prefix(bytes: &[u8]) -> usize {
    const BLOCK: usize = 32;
    let mut i = 0;
    while i + BLOCK <= bytes.len() && bytes[i..i + BLOCK].is_ascii() {
        i += BLOCK;
    }
    i + bytes[i..]
        .iter()
        .position(|b| !b.is_ascii())
        .unwrap_or(bytes.len() - i)
}

/// Letters per script group, and characters of no script, in some text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScriptCounts {
    letters: [u64; 11],
    /// Non-whitespace characters of no particular script.
    pub neutral: u64,
}

impl ScriptCounts {
    /// Counts every character of `text`. Runs of ASCII are counted a byte
    /// at a time without decoding (most text is mostly ASCII): decoding
    /// every character made this scan 7.7% of a one-tokenizer audit's CPU
    /// time on the benchmark corpus (perf, o200k_base, 115.6 MiB).
    pub fn of(text: &str) -> ScriptCounts {
        let mut counts = ScriptCounts::default();
        let mut memo = Memo::new();
        let mut rest = text;
        while !rest.is_empty() {
            let run = ascii_prefix(rest.as_bytes());
            counts.add_ascii_run(&rest.as_bytes()[..run]);
            rest = &rest[run..];
            // Then the characters up to the next ASCII byte.
            let mut end = rest.len();
            for (k, c) in rest.char_indices() {
                if c.is_ascii() {
                    end = k;
                    break;
                }
                counts.add_kind(memo.kind(c));
            }
            rest = &rest[end..];
        }
        counts
    }

    /// ASCII letters are Latin; white space is not counted; the rest
    /// (digits, punctuation, controls) is neutral, as [`Self::add`] says.
    ///
    /// Rows of 32 bytes are summed into byte-wide lanes (at most 255 rows
    /// before they are widened, so a lane cannot overflow), which the
    /// compiler turns into vector adds, as in `count::chars_and_newlines`:
    /// a byte at a time with branches ran at about 1 GB/s, 6% of a
    /// one-tokenizer audit.
    fn add_ascii_run(&mut self, run: &[u8]) {
        const LANES: usize = 32;
        let letter = |b: u8| u8::from((b | 0x20).wrapping_sub(b'a') < 26);
        // ' ', and \t \n \x0c \r (9..=13 but the vertical tab, 11).
        let blank = |b: u8| {
            u8::from(b == b' ') | (u8::from(b.wrapping_sub(b'\t') < 5) & u8::from(b != 0x0b))
        };
        let (mut letters, mut blanks) = (0u64, 0u64);
        let mut rows = run.chunks_exact(LANES);
        loop {
            let (mut l, mut w) = ([0u8; LANES], [0u8; LANES]);
            let mut taken = 0;
            for row in rows.by_ref().take(255) {
                for i in 0..LANES {
                    l[i] += letter(row[i]);
                    w[i] += blank(row[i]);
                }
                taken += 1;
            }
            letters += l.iter().map(|&x| u64::from(x)).sum::<u64>();
            blanks += w.iter().map(|&x| u64::from(x)).sum::<u64>();
            if taken < 255 {
                break;
            }
        }
        for &b in rows.remainder() {
            letters += u64::from(letter(b));
            blanks += u64::from(blank(b));
        }
        self.letters[ScriptGroup::Latin.index()] += letters;
        self.neutral += run.len() as u64 - letters - blanks;
    }

    pub fn add(&mut self, c: char) {
        if c.is_ascii() {
            self.add_ascii(c);
        } else {
            self.add_kind(Kind::of(c));
        }
    }

    fn add_ascii(&mut self, c: char) {
        if c.is_ascii_alphabetic() {
            self.letters[ScriptGroup::Latin.index()] += 1;
        } else if !c.is_ascii_whitespace() {
            self.neutral += 1;
        }
    }

    fn add_kind(&mut self, k: Kind) {
        match k {
            Kind::Letter(g) => self.letters[g.index()] += 1,
            Kind::Neutral => self.neutral += 1,
            Kind::Blank => {}
        }
    }

    pub fn merge(&mut self, other: &ScriptCounts) {
        for (a, b) in self.letters.iter_mut().zip(other.letters) {
            *a += b;
        }
        self.neutral += other.neutral;
    }

    /// Characters of `group`.
    pub fn letters(&self, group: ScriptGroup) -> u64 {
        self.letters[group.index()]
    }

    /// Characters that belong to some script.
    pub fn total_letters(&self) -> u64 {
        self.letters.iter().sum()
    }

    /// The group with the most characters (the first in [`ScriptGroup::ALL`]
    /// on a tie), or `None` when there are no letters at all.
    pub fn dominant(&self) -> Option<ScriptGroup> {
        ScriptGroup::ALL
            .into_iter()
            .filter(|g| self.letters(*g) > 0)
            .max_by(|a, b| {
                self.letters(*a)
                    .cmp(&self.letters(*b))
                    .then(b.index().cmp(&a.index()))
            })
    }

    /// `(group, characters)` for every group present, in [`ScriptGroup::ALL`]
    /// order.
    pub fn groups(&self) -> impl Iterator<Item = (ScriptGroup, u64)> + '_ {
        ScriptGroup::ALL
            .into_iter()
            .map(|g| (g, self.letters(g)))
            .filter(|(_, n)| *n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ascii_runs_count_as_one_character_at_a_time_would() {
        let texts = [
            "",
            "plain ASCII, with digits 123 and\ttabs\r\n\x0b\x00 and [brackets] @ `ticks` {}",
            "Hello, мир! 日本語 かな カナ 한국 ไทย हिन्दी 42 🙂 café\u{301} zz",
            "ééé...ààà   ÿ",
            "日本語のテキストだけ",
        ];
        for text in texts {
            let mut one_by_one = ScriptCounts::default();
            for c in text.chars() {
                one_by_one.add(c);
            }
            assert_eq!(ScriptCounts::of(text), one_by_one, "{text:?}");
        }
        // Every ASCII byte, and a run longer than 255 rows of lanes.
        let long = format!("{}é{}", "Ab 1\n\t.".repeat(2000), "xyz ".repeat(3000));
        let mut one_by_one = ScriptCounts::default();
        long.chars().for_each(|c| one_by_one.add(c));
        assert_eq!(ScriptCounts::of(&long), one_by_one);
        let all: String = (0u8..128).map(char::from).collect();
        let mut one_by_one = ScriptCounts::default();
        all.chars().for_each(|c| one_by_one.add(c));
        assert_eq!(ScriptCounts::of(&all), one_by_one);
    }

    #[test]
    fn letters_go_to_their_script_and_the_rest_is_neutral() {
        let c = ScriptCounts::of("Hello, мир! 日本語 かな カナ 한국 ไทย हिन्दी 42 🙂");
        assert_eq!(c.letters(ScriptGroup::Latin), 5);
        assert_eq!(c.letters(ScriptGroup::Cyrillic), 3);
        assert_eq!(c.letters(ScriptGroup::Han), 3);
        assert_eq!(c.letters(ScriptGroup::Kana), 4);
        assert_eq!(c.letters(ScriptGroup::Hangul), 2);
        assert_eq!(c.letters(ScriptGroup::Thai), 3);
        // हिन्दी: the vowel signs and virama are Devanagari too.
        assert_eq!(c.letters(ScriptGroup::Indic), 6);
        // , ! 4 2 🙂
        assert_eq!(c.neutral, 5);
    }

    #[test]
    fn the_cache_counts_as_the_lookup_does() {
        // Characters 512 apart share a slot and must not be confused.
        let text: String = (0x80u32..0x3_0000)
            .step_by(7)
            .filter_map(char::from_u32)
            .collect();
        let mut direct = ScriptCounts::default();
        for c in text.chars() {
            direct.add(c);
        }
        assert_eq!(ScriptCounts::of(&text), direct);
        assert!(direct.total_letters() > 1000 && direct.neutral > 1000);
    }

    #[test]
    fn dominant_is_the_largest_group_and_none_without_letters() {
        assert_eq!(
            ScriptCounts::of("これは日本語の文です。ABC").dominant(),
            Some(ScriptGroup::Kana)
        );
        assert_eq!(
            ScriptCounts::of("The quick brown fox, 東京").dominant(),
            Some(ScriptGroup::Latin)
        );
        assert_eq!(ScriptCounts::of("12, 34; 56\n").dominant(), None);
        let mut a = ScriptCounts::of("abc");
        a.merge(&ScriptCounts::of("абвгд"));
        assert_eq!(a.dominant(), Some(ScriptGroup::Cyrillic));
        assert_eq!(a.total_letters(), 8);
    }
}
