/*!
Rank-file tokenizers: a byte-pair vocabulary in rank order plus a split
pattern, counted for now through tiktoken-rs.

The loaders (`tiktoken_file`, `tekken`) produce a [`RankedVocab`]; [`build`] is
the one place that turns it into a tokenizer. When the fast engine lands, only
the body of `build` changes (`BpeTokenizer::new(info, Arc::new(Ranks::from_ordered
(vocab.ranks)), SplitPattern::from_regex(&vocab.pattern)?)`).

Interim cost, measured: `CoreBPE::new` takes about 100 ms for a 128k vocabulary,
so one `CoreBPE` is shared by all counters of a tokenizer. Sharing its regex
between threads runs at about one thread's speed (DESIGN.md, "Performance
model"); that is accepted here because the fast engine replaces this path.
Special tokens are not registered: their text is counted as ordinary text,
as `encode_ordinary` does for the built-in encodings.
*/

use std::sync::Arc;

use rustc_hash::FxHashMap;
use tiktoken_rs::CoreBPE;

use super::{Counter, SharedTokenizer, Tokenizer, TokenizerInfo};

/// An ordered byte-pair vocabulary: `ranks[i]` is the byte string of rank `i`
/// (lower ranks merge first), and the regex that splits text into pieces.
#[derive(Clone, Debug)]
pub struct RankedVocab {
    pub ranks: Vec<Vec<u8>>,
    pub pattern: String,
}

/// Builds the counting tokenizer for a rank vocabulary. `info.vocab_size` is
/// set from the vocabulary. Fails on a pattern that does not compile or a byte
/// string that appears under two ranks.
pub fn build(mut info: TokenizerInfo, vocab: RankedVocab) -> Result<SharedTokenizer, String> {
    info.vocab_size = vocab.ranks.len();
    let bpe = core_bpe(vocab)?;
    Ok(Arc::new(RankTokenizer {
        info,
        bpe: Arc::new(bpe),
    }))
}

/// The reference encoder for a rank vocabulary (tiktoken-rs), also used by
/// tests to check any other engine against.
pub fn core_bpe(vocab: RankedVocab) -> Result<CoreBPE, String> {
    let mut encoder: FxHashMap<Vec<u8>, u32> = FxHashMap::default();
    encoder.reserve(vocab.ranks.len());
    for (rank, bytes) in vocab.ranks.into_iter().enumerate() {
        let rank = u32::try_from(rank).map_err(|_| "more than 2^32 ranks".to_string())?;
        if let Some(earlier) = encoder.insert(bytes, rank) {
            return Err(format!(
                "the byte string of rank {rank} already has rank {earlier}"
            ));
        }
    }
    CoreBPE::new(encoder, FxHashMap::default(), &vocab.pattern)
        .map_err(|e| format!("split pattern does not compile: {e}"))
}

/// A rank vocabulary counted through tiktoken-rs.
pub struct RankTokenizer {
    info: TokenizerInfo,
    bpe: Arc<CoreBPE>,
}

struct RankCounter(Arc<CoreBPE>);

impl Counter for RankCounter {
    fn count(&mut self, text: &str) -> u64 {
        self.0.encode_ordinary(text).len() as u64
    }
}

impl Tokenizer for RankTokenizer {
    fn info(&self) -> &TokenizerInfo {
        &self.info
    }
    fn counter(&self) -> Box<dyn Counter> {
        Box::new(RankCounter(Arc::clone(&self.bpe)))
    }
    fn encode(&self, text: &str) -> Vec<u32> {
        self.bpe.encode_ordinary(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> TokenizerInfo {
        TokenizerInfo {
            name: "toy".into(),
            family: "tiktoken".into(),
            source: "test".into(),
            sha256: String::new(),
            vocab_size: 0,
        }
    }

    /// All 256 single bytes, then "ab" and "abc": enough for a hand-checked count.
    fn toy() -> RankedVocab {
        let mut ranks: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        ranks.push(b"ab".to_vec());
        ranks.push(b"abc".to_vec());
        RankedVocab {
            ranks,
            pattern: r"\S+|\s+".into(),
        }
    }

    #[test]
    fn counts_with_merges_and_pattern() {
        let t = build(info(), toy()).unwrap();
        assert_eq!(t.info().vocab_size, 258);
        // "abc" → 1, " " → 1, "abd" → "ab" + "d" = 2.
        assert_eq!(t.counter().count("abc abd"), 4);
        assert_eq!(t.encode("abc"), vec![257]);
    }

    #[test]
    fn duplicate_bytes_and_bad_patterns_are_errors() {
        let mut dup = toy();
        dup.ranks.push(b"ab".to_vec());
        assert!(build(info(), dup)
            .err()
            .unwrap()
            .contains("already has rank 256"));
        let mut bad = toy();
        bad.pattern = "(".into();
        assert!(build(info(), bad)
            .err()
            .unwrap()
            .contains("does not compile"));
    }
}
