/*!
The four OpenAI encodings that ship inside the binary.

For now they count through tiktoken-rs, the reference implementation; the fast
engine (`tokenize::bpe`) replaces the counting path once it is proven equal.
*/

use std::sync::Arc;

use tiktoken_rs::CoreBPE;

use super::{Counter, SharedTokenizer, Tokenizer, TokenizerInfo};

/// Names accepted by `-t`, in the order `tokenaudit tokenizers` lists them.
pub const NAMES: &[&str] = &["o200k_base", "cl100k_base", "p50k_base", "r50k_base"];

/// A tiktoken-rs encoding, used as is.
pub struct Reference {
    info: TokenizerInfo,
    bpe: &'static CoreBPE,
}

impl Reference {
    /// The reference implementation of a built-in encoding, for tests and
    /// benchmarks that compare against it.
    pub fn new(name: &str) -> Option<Self> {
        let (bpe, vocab_size) = match name {
            "o200k_base" => (tiktoken_rs::o200k_base_singleton(), 199_998),
            "cl100k_base" => (tiktoken_rs::cl100k_base_singleton(), 100_256),
            "p50k_base" => (tiktoken_rs::p50k_base_singleton(), 50_280),
            "r50k_base" => (tiktoken_rs::r50k_base_singleton(), 50_256),
            _ => return None,
        };
        Some(Reference {
            info: TokenizerInfo {
                name: name.to_string(),
                family: "tiktoken".to_string(),
                source: "built-in (tiktoken-rs 0.12.1)".to_string(),
                sha256: String::new(),
                vocab_size,
            },
            bpe,
        })
    }
}

struct ReferenceCounter(&'static CoreBPE);

impl Counter for ReferenceCounter {
    fn count(&mut self, text: &str) -> u64 {
        self.0.encode_ordinary(text).len() as u64
    }
}

impl Tokenizer for Reference {
    fn info(&self) -> &TokenizerInfo {
        &self.info
    }
    fn counter(&self) -> Box<dyn Counter> {
        Box::new(ReferenceCounter(self.bpe))
    }
    fn encode(&self, text: &str) -> Vec<u32> {
        self.bpe.encode_ordinary(text)
    }
}

pub fn resolve(name: &str) -> Option<SharedTokenizer> {
    Reference::new(name).map(|t| Arc::new(t) as SharedTokenizer)
}
