/*!
What a shard's report carries beyond the report itself, so that
`tokenaudit merge` can add shards up to the report one run over the whole
corpus would have made.

A report's figures are views of the tally (quantiles of histograms, the
largest documents, costs from per-document tiers), which cannot be summed
from the figures themselves. So a shard's report (`audit --shard I/N`)
records, beside its own figures for its part, the mergeable state they came
from: the tally, the price watch, the unfinished corpus digest and the chat
formats, as CBOR in base64 under `partial.state`; and, in the clear, its
shard and the options that decide what is counted, which `merge` compares
before it adds anything up.
*/

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::count::chat_format::Overheads;
use crate::digest::DigestPart;
use crate::pricing::PriceWatch;
use crate::shard::Shard;
use crate::tally::Tally;

/// The `partial` section of a shard's report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partial {
    /// Which shard of how many this report counted.
    pub shard: Shard,
    /// The options that decide what is counted (flag → value as given),
    /// and the priced models, scenario and calibration: shards that differ
    /// in any of them cannot be merged.
    pub options: BTreeMap<String, String>,
    /// `State`, as CBOR in standard base64 (`STATE_ENCODING`).
    pub state: String,
    /// How `state` is written, so it can be read by other tools.
    pub state_encoding: String,
}

/// How [`Partial::state`] is written.
pub const STATE_ENCODING: &str = "base64 (standard, padded) of CBOR (RFC 8949) of the tally, \
     the price watch, the corpus digest's sum and the chat formats; version 1";

/// The mergeable figures of a shard.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Incremented when the layout changes, so that an older shard is
    /// refused with a message instead of misread.
    pub version: u32,
    pub tally: Tally,
    pub watch: PriceWatch,
    pub digest: DigestPart,
    pub chat_formats: Vec<Overheads>,
}

/// The layout this build writes and reads.
pub const STATE_VERSION: u32 = 1;

impl State {
    pub fn encode(&self) -> String {
        let mut bytes = Vec::new();
        ciborium::into_writer(self, &mut bytes).expect("a state always encodes");
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// Whether the state's per-tokenizer figures fit `tokenizers`
    /// tokenizers (the report's list): a state that decodes but does not
    /// fit (edited, or spliced from another report) would otherwise index
    /// past its vectors when merged and priced.
    pub fn check_shape(&self, tokenizers: usize) -> Result<(), String> {
        let fits = |n: usize| n == 0 || n == tokenizers;
        let t = &self.tally;
        let groups = std::iter::once(&t.counted)
            .chain(t.by_category.values())
            .chain(t.by_extension.values())
            .chain(t.by_format.values())
            .chain(t.by_folder.values());
        let ok = groups
            .into_iter()
            .all(|g| fits(g.tokens.len()) && fits(g.distribution.len()))
            && fits(self.watch.priced.len())
            && self.watch.over_window.len() == self.watch.priced.len()
            && fits(self.chat_formats.len());
        if ok {
            Ok(())
        } else {
            Err(format!(
                "partial.state does not fit the report's {tokenizers} tokenizers: not this report's state"
            ))
        }
    }

    pub fn decode(text: &str) -> Result<State, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| format!("partial.state is not base64: {e}"))?;
        let state: State = ciborium::from_reader(bytes.as_slice())
            .map_err(|e| format!("partial.state is not a shard's state: {e}"))?;
        if state.version != STATE_VERSION {
            return Err(format!(
                "partial.state has layout version {}, this build reads {STATE_VERSION}: \
                 merge with the tokenaudit version that made the shards",
                state.version
            ));
        }
        Ok(state)
    }
}
