/*!
Rank-file tokenizers: a byte-pair vocabulary in rank order plus a split
pattern, counted by the engine (`bpe`), with tiktoken-rs as their reference.

The loaders (`tiktoken_file`, `tekken`) produce a [`RankedVocab`]; [`build`] is
the one place that turns it into a tokenizer, and [`core_bpe`] the one place
that builds the reference from the same vocabulary. Special tokens are not
registered: their text is counted as ordinary text, as `encode_ordinary` does
for the built-in encodings.
*/

use std::sync::Arc;

use rustc_hash::FxHashMap;
use tiktoken_rs::CoreBPE;

use crate::tokenize::bpe::ranks::Ranks;
use crate::tokenize::bpe::BpeTokenizer;
use crate::tokenize::pretok::SplitPattern;
use crate::tokenize::{SharedTokenizer, TokenizerInfo};

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
    let pattern = SplitPattern::from_regex(&vocab.pattern)?;
    let ranks = Ranks::from_ordered(vocab.ranks)?;
    Ok(Arc::new(BpeTokenizer::new(info, Arc::new(ranks), pattern)))
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
