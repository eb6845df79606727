/*!
The pre-tokenization steps of a Hugging Face `tokenizer.json` that the engine
path reproduces (see `hf_bpe`): added-token extraction, and a chain of
`Split` regexes with the `Isolated` behaviour.

What the `tokenizers` crate does, and so what this module must do:

- Added tokens (`<|begin_of_text|>`, `<think>`) are found first, in the raw
  text, with a leftmost-longest Aho-Corasick search; each occurrence is one
  token and the text between occurrences is tokenized on its own. Only
  tokens with `single_word`, `lstrip` and `rstrip` all false are handled;
  the converter rejects files with any other flag.
- Each `Split` step runs its regex on every piece the previous step made,
  with that piece as the whole haystack (so `(?!\S)` sees the end of the
  piece, not the text after it). `Isolated` keeps both the matches and the
  gaps between them as pieces: unlike tiktoken, text no alternative matches
  is not dropped.

The crate runs these regexes with Oniguruma; we run them with fancy-regex.
The two agree on the syntax the converter accepts as far as the tests show
(`tests/it/hf_engine.rs` compares whole counts against the crate on real,
multilingual, adversarial and random text); a pattern fancy-regex cannot
compile makes the file fall back to the crate.

A chain of one step whose regex has a hand-written scanner (Qwen 3 and Llama
3 use the Qwen 2 and Llama 3 patterns) does not come here: `hf_bpe` hands
that pattern to the engine directly. Those patterns give every character to
some alternative (`\s+`, `\p{N}`, `\p{L}+` and `[^\s\p{L}\p{N}]+` cover all
characters), so tiktoken's "drop the gaps" and `Isolated`'s "keep the gaps"
give the same pieces.
*/

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// `Split` steps applied in order, each to every piece of the one before.
#[derive(Clone, Debug)]
pub struct SplitChain {
    steps: Vec<fancy_regex::Regex>,
}

impl SplitChain {
    /// Compiles the steps' regexes. Fails (so the file falls back to the
    /// crate) on a regex fancy-regex does not accept.
    pub fn new(patterns: &[String]) -> Result<Self, String> {
        let steps = patterns
            .iter()
            .map(|p| {
                fancy_regex::RegexBuilder::new(p)
                    // The default (1e6) is exceeded by `\s+(?!\S)` on long
                    // whitespace runs (as in `pretok::compile`).
                    .backtrack_limit(100_000_000)
                    .build()
                    .map_err(|e| format!("split regex `{p}`: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(SplitChain { steps })
    }

    /// The regexes, in order.
    pub fn patterns(&self) -> Vec<&str> {
        self.steps.iter().map(|r| r.as_str()).collect()
    }

    /// Calls `f` on each final piece of `text`, in order.
    pub fn for_each_piece(&self, text: &str, f: &mut impl FnMut(&str)) {
        apply(&self.steps, text, f);
    }

    /// The pieces of `text`, collected (tests and debugging).
    pub fn pieces<'t>(&self, text: &'t str) -> Vec<&'t str> {
        let base = text.as_ptr() as usize;
        let mut out = Vec::new();
        self.for_each_piece(text, &mut |p| {
            let start = p.as_ptr() as usize - base;
            out.push(&text[start..start + p.len()]);
        });
        out
    }
}

fn apply(steps: &[fancy_regex::Regex], piece: &str, f: &mut impl FnMut(&str)) {
    let Some((re, rest)) = steps.split_first() else {
        f(piece);
        return;
    };
    let mut prev = 0;
    let mut pos = 0;
    while pos < piece.len() {
        match re.find_from_pos(piece, pos) {
            Ok(Some(m)) => {
                if m.start() > prev {
                    apply(rest, &piece[prev..m.start()], f);
                }
                if m.end() > m.start() {
                    apply(rest, m.as_str(), f);
                    pos = m.end();
                } else {
                    // An empty match isolates nothing; step past it.
                    pos = m.end() + next_char_len(piece, m.end());
                    continue;
                }
                prev = m.end();
            }
            Ok(None) => break,
            // Only a backtrack limit of 1e8 steps gets here; the rest of
            // the piece stays one gap, as if nothing more matched.
            Err(_) => break,
        }
    }
    if prev < piece.len() {
        apply(rest, &piece[prev..], f);
    }
}

fn next_char_len(text: &str, i: usize) -> usize {
    text[i..].chars().next().map_or(1, char::len_utf8)
}

/// A text's parts: ordinary text, or an added token's occurrence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment<'t> {
    Text(&'t str),
    /// The added token with this id.
    Added(u32),
}

/// The added tokens of a file, matched in raw text as the crate does.
#[derive(Clone, Debug)]
pub struct AddedTokens {
    matcher: Option<AhoCorasick>,
    ids: Vec<u32>,
}

impl AddedTokens {
    /// From `(content, id)` pairs. Fails on an empty content.
    pub fn new(tokens: &[(String, u32)]) -> Result<Self, String> {
        if tokens.is_empty() {
            return Ok(AddedTokens {
                matcher: None,
                ids: Vec::new(),
            });
        }
        if tokens.iter().any(|(c, _)| c.is_empty()) {
            return Err("an added token is empty".into());
        }
        let matcher = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(tokens.iter().map(|(c, _)| c.as_str()))
            .map_err(|e| format!("added tokens: {e}"))?;
        Ok(AddedTokens {
            matcher: Some(matcher),
            ids: tokens.iter().map(|&(_, id)| id).collect(),
        })
    }

    /// Calls `f` on the segments of `text`, in order; empty text segments
    /// are left out.
    #[inline]
    pub fn for_each_segment<'t>(&self, text: &'t str, mut f: impl FnMut(Segment<'t>)) {
        let Some(matcher) = &self.matcher else {
            if !text.is_empty() {
                f(Segment::Text(text));
            }
            return;
        };
        let mut prev = 0;
        for m in matcher.find_iter(text) {
            if m.start() > prev {
                f(Segment::Text(&text[prev..m.start()]));
            }
            f(Segment::Added(self.ids[m.pattern().as_usize()]));
            prev = m.end();
        }
        if prev < text.len() {
            f(Segment::Text(&text[prev..]));
        }
    }

    /// Tokens of `text`: one per added token, and `count(segment)` for the
    /// text between them, as the crate's `encode` does.
    #[inline]
    pub fn count<'t>(&self, text: &'t str, mut count: impl FnMut(&'t str) -> u64) -> u64 {
        let mut total = 0;
        self.for_each_segment(text, |s| match s {
            Segment::Added(_) => total += 1,
            Segment::Text(t) => total += count(t),
        });
        total
    }

    /// Ids of `text`: each added token's, and what `encode(segment, out)`
    /// appends for the text between them.
    pub fn encode<'t>(
        &self,
        text: &'t str,
        mut encode: impl FnMut(&'t str, &mut Vec<u32>),
    ) -> Vec<u32> {
        let mut out = Vec::new();
        self.for_each_segment(text, |s| match s {
            Segment::Added(id) => out.push(id),
            Segment::Text(t) => encode(t, &mut out),
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isolated_keeps_matches_and_gaps_and_each_step_sees_only_its_piece() {
        let chain = SplitChain::new(&[r"\d+".into(), r"\s+(?!\S)|\s+|[a-z]+".into()]).unwrap();
        // "12" is a match of step 1; "!" is a gap of step 2, kept.
        assert_eq!(chain.pieces("ab12  cd!"), ["ab", "12", " ", " ", "cd", "!"]);
        // Step 2 sees "  " alone (cut by the digits): `\s+(?!\S)` takes both.
        assert_eq!(chain.pieces("a  1"), ["a", "  ", "1"]);
    }

    #[test]
    fn added_tokens_leftmost_longest() {
        let added = AddedTokens::new(&[("<a>".into(), 7), ("<a><b>".into(), 8)]).unwrap();
        let mut seen = Vec::new();
        added.for_each_segment("x<a><b>y<a>", |s| seen.push(s));
        assert_eq!(
            seen,
            [
                Segment::Text("x"),
                Segment::Added(8),
                Segment::Text("y"),
                Segment::Added(7)
            ]
        );
    }
}
