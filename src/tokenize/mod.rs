/*!
Tokenizers, behind one count-first interface.

A [`Tokenizer`] is the shared, immutable description of a vocabulary (ranks,
split pattern, provenance). Counting happens through a [`Counter`], which each
worker thread obtains once with [`Tokenizer::counter`]: counters own their
mutable search state (regex caches, piece caches) because sharing that state
between threads was measured to run *slower* than one thread (see DESIGN.md,
"Performance model").

This module does not decide *what* text is counted (that is `extract`) nor how
work is split between threads (that is `count`).
*/

pub mod bpe;
pub mod builtin;
pub mod chunk;
mod hash;
pub mod pretok;
pub mod ranks;

use std::sync::Arc;

use serde::Serialize;

/// Counts tokens. One instance per worker thread; `&mut self` is what lets an
/// implementation keep caches without locks in the hot loop.
pub trait Counter: Send {
    /// The number of tokens `text` encodes to, with special-token text
    /// (`<|endoftext|>`) counted as ordinary text, as `encode_ordinary` does.
    fn count(&mut self, text: &str) -> u64;

    /// Counts a piece of a document that does *not* start the document: the
    /// text before it was cut at a boundary from [`chunk::next_cut`].
    /// Tokenizers whose normalizer treats the start of the input specially
    /// (a SentencePiece prefix space) override this.
    fn count_continuation(&mut self, text: &str) -> u64 {
        self.count(text)
    }
}

/// A loaded vocabulary that can hand out per-thread counters.
pub trait Tokenizer: Send + Sync {
    fn info(&self) -> &TokenizerInfo;

    /// A fresh counter with its own mutable state, for one thread.
    fn counter(&self) -> Box<dyn Counter>;

    /// Token ids, for tests and debugging; not used by the audit.
    fn encode(&self, text: &str) -> Vec<u32>;
}

/// What the report records about a tokenizer so that a count can be traced
/// to the exact vocabulary that produced it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TokenizerInfo {
    /// The name the user selects it by (`o200k_base`, `llama3`, a path).
    pub name: String,
    /// The algorithm family (`tiktoken`, `tekken`, `huggingface`).
    pub family: String,
    /// Where the data came from: `built-in (tiktoken-rs 0.12.1)`, a file path.
    pub source: String,
    /// sha256 of the vocabulary data, lowercase hex.
    pub sha256: String,
    /// Number of ordinary (non-special) tokens.
    pub vocab_size: usize,
}

pub type SharedTokenizer = Arc<dyn Tokenizer>;

/// Why a tokenizer could not be made available. These are usage or
/// configuration errors: the audit cannot start without the tokenizer.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    #[error("unknown tokenizer `{name}`; valid names: {valid}")]
    Unknown { name: String, valid: String },
    #[error("tokenizer `{name}` is not installed: {path} is missing; run `scripts/fetch-tokenizers` (or pass --tokenizer-dir)")]
    NotInstalled { name: String, path: String },
    #[error("{path}: sha256 mismatch: expected {expected}, found {actual}")]
    Checksum {
        path: String,
        expected: String,
        actual: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// Resolves a tokenizer name as given on the command line.
pub fn resolve(name: &str) -> Result<SharedTokenizer, TokenizerError> {
    builtin::resolve(name).ok_or_else(|| TokenizerError::Unknown {
        name: name.to_string(),
        valid: builtin::NAMES.join(", "),
    })
}
