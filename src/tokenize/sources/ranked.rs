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
use serde::{Deserialize, Serialize};
use tiktoken_rs::CoreBPE;

use crate::tokenize::bpe::ranks::Ranks;
use crate::tokenize::bpe::BpeTokenizer;
use crate::tokenize::compiled;
use crate::tokenize::pretok::SplitPattern;
use crate::tokenize::{SharedTokenizer, TokenizerInfo};

/// An ordered byte-pair vocabulary: `ranks[i]` is the byte string of rank `i`
/// (lower ranks merge first), and the regex that splits text into pieces.
#[derive(Clone, Debug)]
pub struct RankedVocab {
    pub ranks: Vec<Vec<u8>>,
    pub pattern: String,
}

/// What the start-up cache (`tokenize::compiled`) keeps of a rank
/// vocabulary read at run time (a `.tiktoken` file, Tekken's JSON): the
/// checked ranks and the pattern.
#[derive(Serialize, Deserialize)]
pub struct Recipe {
    #[serde(with = "compiled::ranks")]
    ranks: Arc<Ranks>,
    pattern: String,
}

impl Recipe {
    /// The split pattern the vocabulary was loaded with.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }
}

/// Builds the counting tokenizer for a rank vocabulary, and the [`Recipe`]
/// to build it again from. `info.vocab_size` is set from the vocabulary.
/// Fails on a pattern that does not compile or a byte string that appears
/// under two ranks.
pub fn build_with_recipe(
    info: TokenizerInfo,
    vocab: RankedVocab,
) -> Result<(SharedTokenizer, Recipe), String> {
    let ranks = Arc::new(Ranks::from_ordered(vocab.ranks)?);
    let recipe = Recipe {
        ranks,
        pattern: vocab.pattern,
    };
    let tokenizer = from_recipe(info, &recipe)?;
    Ok((tokenizer, recipe))
}

/// The tokenizer a [`Recipe`] was taken from.
pub fn from_recipe(mut info: TokenizerInfo, recipe: &Recipe) -> Result<SharedTokenizer, String> {
    info.vocab_size = recipe.ranks.len();
    let pattern = SplitPattern::from_regex(&recipe.pattern)?;
    Ok(Arc::new(BpeTokenizer::new(
        info,
        Arc::clone(&recipe.ranks),
        pattern,
    )))
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
