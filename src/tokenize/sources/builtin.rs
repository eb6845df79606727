/*!
The four OpenAI encodings that ship inside the binary.

They count through our engine ([`BpeTokenizer`]). Their rank tables are
rebuilt at build time from the reference, tiktoken-rs, laid out as the
engine's finished arrays and embedded as images (`bpe::layout`, `build.rs`)
that are read in place: nothing is parsed or built at start-up, where
tiktoken-rs spends ~100 ms decoding base64. [`Reference`] keeps the
tiktoken-rs implementation public: it is the oracle the tests and benchmarks
compare the engine with.
*/

use std::sync::{Arc, OnceLock};

use tiktoken_rs::CoreBPE;

use crate::tokenize::bpe::ranks::Ranks;
use crate::tokenize::bpe::BpeTokenizer;
use crate::tokenize::pretok::SplitPattern;
use crate::tokenize::{Counter, SharedTokenizer, Tokenizer, TokenizerInfo};

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
                // Same vocabulary, same hash: the embedded table is rebuilt
                // from this reference (see build.rs).
                sha256: sha256(name).unwrap_or_default().to_string(),
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

/// An embedded encoding: its rank image, the sha256 of its canonical
/// `.tiktoken` text (equal to the official file's), and its split pattern.
struct Embedded {
    name: &'static str,
    /// The rank table laid out by build.rs (`bpe::layout`), read in place.
    image: &'static [u8],
    sha256: &'static str,
    /// Where long pieces may be cut (`bpe::cut`), computed by build.rs.
    cuts: &'static [u8],
    pattern: fn() -> SplitPattern,
    ranks: OnceLock<Arc<Ranks>>,
}

macro_rules! embedded {
    ($name:literal, $pattern:expr) => {
        Embedded {
            name: $name,
            image: {
                const IMAGE: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
                    env!("OUT_DIR"),
                    "/ranks_",
                    $name,
                    ".image"
                )));
                &IMAGE.0
            },
            sha256: include_str!(concat!(env!("OUT_DIR"), "/ranks_", $name, ".sha256")),
            cuts: include_bytes!(concat!(env!("OUT_DIR"), "/cuts_", $name, ".bin")),
            pattern: || $pattern,
            ranks: OnceLock::new(),
        }
    };
}

/// Bytes aligned for the image's widest arrays (`bpe::layout::IMAGE_ALIGN`).
#[repr(C, align(64))]
struct Aligned<B: ?Sized>(B);

static EMBEDDED: [Embedded; 4] = [
    embedded!("o200k_base", SplitPattern::O200k),
    embedded!("cl100k_base", SplitPattern::Cl100k),
    embedded!("p50k_base", SplitPattern::R50k),
    embedded!("r50k_base", SplitPattern::R50k),
];

/// The ranks of a built-in encoding, made on first use and shared after.
pub fn ranks(name: &str) -> Option<Arc<Ranks>> {
    let e = EMBEDDED.iter().find(|e| e.name == name)?;
    Some(Arc::clone(e.ranks.get_or_init(|| {
        // The image is laid out by build.rs from the reference; failing to
        // read it is a build defect, not a user error.
        let ranks = Ranks::from_image(e.image).expect("embedded rank image is valid");
        Arc::new(ranks.with_cut_blob(e.cuts))
    })))
}

/// sha256 of the built-in encoding's canonical `.tiktoken` text.
pub fn sha256(name: &str) -> Option<&'static str> {
    EMBEDDED.iter().find(|e| e.name == name).map(|e| e.sha256)
}

/// The engine for a built-in encoding.
pub fn engine(name: &str) -> Option<BpeTokenizer> {
    let e = EMBEDDED.iter().find(|e| e.name == name)?;
    let ranks = ranks(name)?;
    let info = TokenizerInfo {
        name: name.to_string(),
        family: "tiktoken".to_string(),
        source: "built-in (ranks from tiktoken-rs 0.12.1)".to_string(),
        sha256: e.sha256.to_string(),
        vocab_size: ranks.len(),
    };
    Some(BpeTokenizer::new(info, ranks, (e.pattern)()))
}

pub fn resolve(name: &str) -> Option<SharedTokenizer> {
    engine(name).map(|t| Arc::new(t) as SharedTokenizer)
}
