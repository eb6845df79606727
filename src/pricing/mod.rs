/*!
Prices: what a corpus costs to send to a model, and what a workload will cost
per month.

The price stage of the pipeline (ARCHITECTURE.md). It takes token counts that
the tally already holds and turns them into money:

- [`catalog`]: the embedded, dated price catalog (`data/catalog.toml`, made by
  `scripts/update-prices` from LiteLLM's table), the model → tokenizer map,
  context windows, and the user's own prices (override file, LiteLLM JSON).
- [`cost`]: the cost of sending the whole corpus once, per model, with
  long-context tiers applied per document; documents over a context window.
- [`calibration`]: the embedded table of closed models' multipliers over
  their proxy tokenizers, per content class, with bands and sources.
- [`band`]: a closed model's estimate and band from that table.
- [`replay`]: the chat transcripts' input, output and turn-by-turn replay,
  with and without a prompt cache.
- [`charges`]: those costs and the projection's as priced lines (model,
  category, meter, rate), for billing exports.
- [`scenario`]: a workload description (`--scenario FILE`), checked.
- [`projection`]: its monthly tokens and cost per workload and phase.
- [`gate`]: the pass/fail logic of `tokenaudit check` and its JUnit XML.
- [`listing`]: the `models` table.

Money is [`rust_decimal::Decimal`], never `f64`: unit prices such as
0.075 USD per million tokens multiplied by billions of tokens must add up to
the cent a finance team would compute. Money serialises as a decimal string.

This module does not count tokens or read the corpus; the integrator hands
it totals and per-document counts from the tally.
*/

pub mod band;
pub mod calibration;
pub mod catalog;
pub mod charges;
pub mod cost;
mod format;
pub mod gate;
pub mod listing;
mod litellm;
pub mod plan;
pub mod projection;
pub mod replay;
pub mod scenario;
pub mod watch;

pub use band::{Band, EstimateBand, EstimatePoint};
pub use calibration::Calibration;
pub use catalog::{Catalog, ModelPrice, PriceProvenance, Prices, Tier};
pub use charges::{Charge, Meter};
pub use cost::{corpus_cost, corpus_cost_from_documents, over_context, ModelCost, TokenTotals};
pub use gate::{evaluate_gate, CheckStatus, GateCheck, GateInput, GateOutcome};
pub use listing::render_models_table;
pub use plan::{Priced, PricingPlan};
pub use projection::{
    project, CategoryProfile, CorpusProfile, PhaseProjection, Projection, SizeStats,
    WorkloadProjection,
};
pub use replay::{transcript_cost, TranscriptCost};
pub use scenario::Scenario;
pub use watch::{PriceWatch, TokenWatch};

use std::fmt;

use rust_decimal::Decimal;

/// One million: prices are quoted per million tokens.
pub(crate) fn per_million() -> Decimal {
    Decimal::from(1_000_000u64)
}

/// `tokens` at `usd_per_mtok`, exact.
pub(crate) fn token_cost(tokens: Decimal, usd_per_mtok: Decimal) -> Decimal {
    (tokens * usd_per_mtok / per_million()).normalize()
}

/// Where in a file something went wrong: shown as `path:line`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub path: String,
    pub line: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}", self.path, line),
            None => write!(f, "{}", self.path),
        }
    }
}

/// Why prices, a scenario or an override could not be used. Every variant
/// that comes from a file names the file, the line when known, and the field.
#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    /// The OS error is in the message, not a `source`: the command line
    /// prints the chain of causes, and would print it twice.
    #[error("{path}: cannot read: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{at}: field `{field}`: {message}")]
    Field {
        at: Location,
        field: String,
        message: String,
    },
    #[error("{at}: {message}")]
    Syntax { at: Location, message: String },
    #[error("unknown model `{name}`{hint}; `tokenaudit models` lists the catalog")]
    UnknownModel { name: String, hint: String },
    #[error("token totals for `{model}` lack the long-context threshold {threshold}; build them with TokenTotals::with_thresholds(catalog.tier_thresholds(..))")]
    MissingThreshold { model: String, threshold: u64 },
}

impl PricingError {
    pub(crate) fn field(
        path: &str,
        line: Option<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        PricingError::Field {
            at: Location {
                path: path.to_string(),
                line,
            },
            field: field.into(),
            message: message.into(),
        }
    }

    /// The line the error points at, when known (tests and editors use it).
    pub fn line(&self) -> Option<usize> {
        match self {
            PricingError::Field { at, .. } | PricingError::Syntax { at, .. } => at.line,
            _ => None,
        }
    }
}

/// 1-based line of byte offset `pos` in `text`.
pub(crate) fn line_of(text: &str, pos: usize) -> usize {
    let pos = pos.min(text.len());
    text.as_bytes()[..pos]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

pub(crate) fn read_file(path: &std::path::Path) -> Result<String, PricingError> {
    std::fs::read_to_string(path).map_err(|error| PricingError::Io {
        path: path.display().to_string(),
        error,
    })
}

/// A table build.rs turned from the embedded TOML into JSON (`OUT_DIR/NAME.json`).
///
/// # Panics
/// If the JSON does not fit `T`: the same data as the TOML, whose reading a
/// unit test checks, so a released build cannot.
pub(crate) fn parse_embedded<T: serde::de::DeserializeOwned>(json: &str) -> T {
    serde_json::from_str(json).expect("the embedded table is checked by the test suite")
}

/// Deserialises TOML and turns failures into errors that name the file, the
/// line (from toml's span) and the field (from the serde path).
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    path: &str,
    text: &str,
) -> Result<T, PricingError> {
    let de = toml::Deserializer::parse(text).map_err(|e| PricingError::Syntax {
        at: Location {
            path: path.to_string(),
            line: e.span().map(|s| line_of(text, s.start)),
        },
        message: e.message().trim().to_string(),
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let mut field = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.message().trim().to_string();
        // "missing field `x`" points at the table; name the field itself.
        if let Some(missing) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            field = if field == "." || field.is_empty() {
                missing.to_string()
            } else {
                format!("{field}.{missing}")
            };
        }
        let line = inner.span().map(|s| line_of(text, s.start));
        if field == "." || field.is_empty() {
            PricingError::Syntax {
                at: Location {
                    path: path.to_string(),
                    line,
                },
                message,
            }
        } else {
            PricingError::field(path, line, field, message)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_of_counts_newlines_before_offset() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 4), 3);
    }
}
