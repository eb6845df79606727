/*!
What it costs to send the corpus once, per model, and which documents do not
fit a model's context window.

A long-context tier is billed per request: a document over the threshold is
priced at the tier rate in full, the others at the base rate. A corpus total
alone cannot say which tokens sit in long documents, so the input here is
[`TokenTotals`]: the total plus, for each threshold, the documents and tokens
above it. That summary is a sum, so the tally can keep it per shard and merge
it (ARCHITECTURE.md, "Mergeable results") without holding per-document counts.
[`corpus_cost_from_documents`] is the same from a plain `&[u64]`.

Only input is priced here: sending a corpus says nothing about output. Output
belongs to a workload, and is projected in [`super::scenario`].
*/

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::catalog::ModelPrice;
use super::{token_cost, PricingError};

/// Documents and tokens above one long-context threshold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Above {
    pub documents: u64,
    pub tokens: u64,
}

/// A mergeable summary of one tokenizer's per-document counts: enough to
/// price every model counted by that tokenizer, tiers included.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenTotals {
    pub documents: u64,
    pub tokens: u64,
    /// Keyed by threshold: documents with *more* than that many tokens.
    pub above: BTreeMap<u64, Above>,
}

impl TokenTotals {
    /// Empty totals that will track the given thresholds
    /// (`catalog.tier_thresholds(tokenizer)`).
    pub fn with_thresholds(thresholds: impl IntoIterator<Item = u64>) -> Self {
        TokenTotals {
            documents: 0,
            tokens: 0,
            above: thresholds
                .into_iter()
                .map(|t| (t, Above::default()))
                .collect(),
        }
    }

    /// Totals of `docs` (per-document token counts).
    pub fn from_documents(thresholds: impl IntoIterator<Item = u64>, docs: &[u64]) -> Self {
        let mut totals = TokenTotals::with_thresholds(thresholds);
        for &tokens in docs {
            totals.add_document(tokens);
        }
        totals
    }

    pub fn add_document(&mut self, tokens: u64) {
        self.documents += 1;
        self.tokens += tokens;
        for (&threshold, above) in self.above.iter_mut() {
            if tokens > threshold {
                above.documents += 1;
                above.tokens += tokens;
            }
        }
    }

    /// Adds another shard's totals. Thresholds tracked by only one side
    /// cannot be known for the union and are dropped.
    pub fn merge(&mut self, other: &TokenTotals) {
        self.documents += other.documents;
        self.tokens += other.tokens;
        self.above.retain(|t, _| other.above.contains_key(t));
        for (t, a) in self.above.iter_mut() {
            let b = other.above[t];
            a.documents += b.documents;
            a.tokens += b.tokens;
        }
    }
}

/// Documents priced at a long-context tier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TierUse {
    pub above_input_tokens: u64,
    pub documents: u64,
    pub tokens: u64,
    pub input_usd_per_mtok: Decimal,
}

/// One model's line in the report's `costs` array. Field order is the JSON
/// contract: the first twelve fields are what the report promises; those
/// after them add detail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModelCost {
    pub model: String,
    pub provider: String,
    pub tokenizer: String,
    /// True when the count comes from a proxy tokenizer.
    pub estimate: bool,
    pub input_tokens: u64,
    pub input_usd_per_mtok: Decimal,
    pub input_cost_usd: Decimal,
    pub cached_input_usd_per_mtok: Option<Decimal>,
    pub cached_input_cost_usd: Option<Decimal>,
    pub batch_input_usd_per_mtok: Option<Decimal>,
    pub batch_input_cost_usd: Option<Decimal>,
    /// Documents longer than the model's input window.
    pub over_context: Vec<String>,
    pub host: Option<String>,
    pub output_usd_per_mtok: Option<Decimal>,
    pub max_input_tokens: Option<u64>,
    /// Documents billed at a long-context tier (empty when none).
    pub long_context: Vec<TierUse>,
    pub tokenizer_note: Option<String>,
    pub price_source: String,
    pub price_as_of: String,
    /// For a closed model with a calibration (`data/calibration.toml`): the
    /// proxy's count, the band, and how each content class was corrected.
    /// `input_tokens` and the costs above are then the band's central
    /// estimate. Null otherwise.
    pub estimate_band: Option<super::band::EstimateBand>,
    /// The chat transcripts priced as an API bills them: input, output,
    /// replay with and without a prompt cache (see [`super::replay`]). Null
    /// when no file was read as chat.
    pub transcripts: Option<super::replay::TranscriptCost>,
}

/// The cost of sending every document once as input to `model`, standard,
/// all-cached (reads) and batch; `totals` are counts for `model.tokenizer`,
/// tracking each of the model's tier thresholds. `over_context` is normally
/// [`over_context`]'s result, as strings.
pub fn corpus_cost(
    model: &ModelPrice,
    totals: &TokenTotals,
    over_context: Vec<String>,
) -> Result<ModelCost, PricingError> {
    // Tokens billed at each tier: those above its threshold minus those above
    // the next one up; the rest at the base price.
    let mut bands: Vec<(Option<&super::Tier>, u64, u64)> = Vec::new();
    let mut upper = Above::default();
    for tier in model.tiers.iter().rev() {
        let above = *totals.above.get(&tier.above_input_tokens).ok_or_else(|| {
            PricingError::MissingThreshold {
                model: model.id.clone(),
                threshold: tier.above_input_tokens,
            }
        })?;
        bands.push((
            Some(tier),
            above.documents - upper.documents,
            above.tokens - upper.tokens,
        ));
        upper = above;
    }
    bands.push((
        None,
        totals.documents - upper.documents,
        totals.tokens - upper.tokens,
    ));

    let base = &model.prices;
    let mut standard = Decimal::ZERO;
    let mut cached = base.cached_input.map(|_| Decimal::ZERO);
    let mut batch = base.batch_input.map(|_| Decimal::ZERO);
    let mut long_context = Vec::new();
    for (tier, documents, tokens) in bands {
        let p = tier.map(|t| &t.prices).unwrap_or(base);
        let n = Decimal::from(tokens);
        standard += token_cost(n, p.input);
        if let (Some(c), Some(rate)) = (cached.as_mut(), p.cached_input) {
            *c += token_cost(n, rate);
        }
        if let (Some(b), Some(rate)) = (batch.as_mut(), p.batch_input) {
            *b += token_cost(n, rate);
        }
        if let Some(t) = tier {
            if documents > 0 {
                long_context.push(TierUse {
                    above_input_tokens: t.above_input_tokens,
                    documents,
                    tokens,
                    input_usd_per_mtok: p.input,
                });
            }
        }
    }
    long_context.reverse();
    Ok(ModelCost {
        model: model.id.clone(),
        provider: model.provider.clone(),
        tokenizer: model.tokenizer.clone(),
        estimate: model.estimate,
        input_tokens: totals.tokens,
        input_usd_per_mtok: base.input,
        input_cost_usd: standard.normalize(),
        cached_input_usd_per_mtok: base.cached_input,
        cached_input_cost_usd: cached.map(|c| c.normalize()),
        batch_input_usd_per_mtok: base.batch_input,
        batch_input_cost_usd: batch.map(|b| b.normalize()),
        over_context,
        host: model.host.clone(),
        output_usd_per_mtok: base.output,
        max_input_tokens: model.max_input_tokens,
        long_context,
        tokenizer_note: model.tokenizer_note.clone(),
        price_source: model.source.clone(),
        price_as_of: model.as_of.clone(),
        estimate_band: None,
        transcripts: None,
    })
}

/// [`corpus_cost`] from per-document counts for `model.tokenizer`.
pub fn corpus_cost_from_documents(
    model: &ModelPrice,
    documents: &[u64],
    over_context: Vec<String>,
) -> ModelCost {
    let totals =
        TokenTotals::from_documents(model.tiers.iter().map(|t| t.above_input_tokens), documents);
    corpus_cost(model, &totals, over_context).expect("totals track every tier of the model")
}

/// The documents (by whatever the caller names them with) whose token count
/// exceeds the model's input window. A model without a known window has
/// nothing over it.
pub fn over_context<P>(model: &ModelPrice, docs: impl IntoIterator<Item = (P, u64)>) -> Vec<P> {
    match model.max_input_tokens {
        None => Vec::new(),
        Some(max) => docs
            .into_iter()
            .filter(|(_, tokens)| *tokens > max)
            .map(|(path, _)| path)
            .collect(),
    }
}
