/*!
Tokenizers, behind one count-first interface.

A [`Tokenizer`] is the shared, immutable description of a vocabulary (ranks,
split pattern, provenance). Counting happens through a [`Counter`], which each
worker thread obtains once with [`Tokenizer::counter`]: counters own their
mutable search state (regex caches, piece caches) because sharing that state
between threads was measured to run *slower* than one thread (ARCHITECTURE.md,
"Performance model").

This module does not decide *what* text is counted (that is `extract`) nor how
work is split between threads (that is `count`).
*/

pub mod bpe;
pub mod compiled;
pub mod hf;
pub mod pretok;
pub mod reference;
pub mod sources;

pub use pretok::chunk;
pub use sources::listing::{list, render_table, TokenizerListing};
pub use sources::registry::TokenizerDir;

use std::sync::Arc;

use serde::Serialize;

/// Counts tokens. One instance per worker thread; `&mut self` is what lets an
/// implementation keep caches without locks in the hot loop.
pub trait Counter: Send {
    /// The number of tokens `text` encodes to, by the reference rule of the
    /// tokenizer's family: for tiktoken-style vocabularies (built-ins, rank
    /// files, Tekken) special-token text such as `<|endoftext|>` is counted
    /// as ordinary text, as `encode_ordinary` does; for tokenizer.json files
    /// it is `encode(text, add_special_tokens = false)`, which matches added
    /// tokens spelled out in the text as one token each.
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
    /// Name, family, source and sha256: what the report records.
    fn info(&self) -> &TokenizerInfo;

    /// A fresh counter with its own mutable state, for one thread.
    fn counter(&self) -> Box<dyn Counter>;

    /// Token ids, for tests and debugging; not used by the audit.
    fn encode(&self, text: &str) -> Vec<u32>;
}

/// What the report records about a tokenizer so that a count can be traced
/// to the exact vocabulary that produced it.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
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

/// A tokenizer shared by every thread of an audit.
pub type SharedTokenizer = Arc<dyn Tokenizer>;

/// A `TokenizerInfo` for a toy tokenizer built in a unit test.
#[cfg(test)]
pub(crate) fn toy_info() -> TokenizerInfo {
    TokenizerInfo {
        name: "toy".into(),
        family: "huggingface".into(),
        source: "test".into(),
        sha256: String::new(),
        vocab_size: 0,
    }
}

/// Why a tokenizer could not be made available. These are usage or
/// configuration errors: the audit cannot start without the tokenizer.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    #[error("unknown tokenizer `{name}`; valid names: {valid}")]
    Unknown { name: String, valid: String },
    #[error("tokenizer `{name}` is not installed: {path} is missing; run `{fetch}` (or pass --tokenizer-dir)")]
    NotInstalled {
        name: String,
        path: String,
        /// The command that installs it.
        fetch: String,
    },
    #[error("{path}: sha256 mismatch: expected {expected}, found {actual}")]
    Checksum {
        path: String,
        expected: String,
        actual: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("cannot download {url}: {message}")]
    Download { url: String, message: String },
}

/// Resolves a tokenizer spec as given on the command line (`-t SPEC`): a
/// name, `path/tokenizer.json`, `tiktoken:FILE` (needs `pattern`, from
/// `--pattern NAME|REGEX`), `tekken:FILE` or `hf:ORG/NAME`. Named files are
/// looked up in `dir` (see [`TokenizerDir::locate`]). Details in [`sources::registry::resolve`].
pub fn resolve(
    spec: &str,
    dir: &TokenizerDir,
    pattern: Option<&str>,
) -> Result<SharedTokenizer, TokenizerError> {
    sources::registry::resolve(spec, dir, pattern)
}
