/*!
The reference implementation of every named tokenizer, for exactness checks
(`tests/`, `scripts/verify-exact`, `scripts/bench-compare`): tiktoken-rs
`CoreBPE` with the family's ranks and split pattern for the OpenAI encodings
and rank files, the `tokenizers` crate's `encode(text, false)` (padding and
truncation off) for tokenizer.json files.

Built independently of the counting path, so that comparing the two means
something: a bug in our loaders or engine does not reach the reference.
*/

use super::sources::{builtin, ranked, tekken, tiktoken_file};
use super::Tokenizer;
use crate::tokenize::sources::registry::{self, Family, TokenizerDir};

/// Counts tokens the way the reference implementation does.
pub type ReferenceCount = Box<dyn FnMut(&str) -> u64 + Send>;

/// The reference counter for a named tokenizer, or `None` when the name is
/// unknown or its file is not installed in `dir`.
pub fn reference(name: &str, dir: &TokenizerDir) -> Option<ReferenceCount> {
    let named = registry::named(name)?;
    if named.family == Family::Builtin {
        let bpe = builtin::Reference::new(name)?;
        return Some(Box::new(move |t| bpe.encode(t).len() as u64));
    }
    let path = dir.file(named);
    if !path.is_file() {
        return None;
    }
    let shown = path.display().to_string();
    match named.family {
        Family::Builtin => unreachable!("handled above"),
        Family::Tiktoken | Family::Tekken => {
            let data = std::fs::read(&path).ok()?;
            let vocab = if named.family == Family::Tekken {
                tekken::parse(&data, &shown).ok()?
            } else {
                tiktoken_file::parse(&data, &shown, named.pattern?).ok()?
            };
            let bpe = ranked::core_bpe(vocab).ok()?;
            Some(Box::new(move |t| bpe.encode_ordinary(t).len() as u64))
        }
        Family::Huggingface => {
            let mut t = tokenizers::Tokenizer::from_file(&path).ok()?;
            t.with_padding(None);
            t.with_truncation(None).ok()?;
            Some(Box::new(move |text| {
                t.encode(text, false).map_or(u64::MAX, |e| e.len() as u64)
            }))
        }
    }
}
