/*!
What the chat transcripts cost per model: their input and replayed input at
the input price, their output at the output price, and the replay again with
a prompt cache.

The corpus cost ([`super::cost`]) prices every counted token as input, which
is right for documents sent to a model and wrong for a transcript, whose
assistant messages are what the model wrote. This prices the transcript
figures of the model's tokenizer (`count::transcript`) as an API bills them:

- `input_cost_usd`: `input_tokens` at the input price (each conversation
  sent once, as a batch job would);
- `output_cost_usd`: `output_tokens` at the output price;
- `replay_cost_usd`: `replayed_input_tokens` at the input price, what a chat
  application pays for input when it resends the conversation at each turn
  and no cache serves any of it;
- `replay_cached_cost_usd` (models with a cached-input price): the part of
  each turn's request that the previous turn already sent
  (`replayed_cached_input_tokens`) at the cached-input price, and the rest at
  the cache-write price where the catalog has one (a cache breakpoint at the
  end of every request, so every request writes what it adds), else at the
  input price (OpenAI caches without a write charge). A conversation of one
  turn can cost more with a cache than without: it pays the write and never
  reads it back.

The cached figure is a best case: providers cache only prefixes above a
minimum length (OpenAI: 1,024 tokens; Anthropic: 1,024 to 4,096 by model)
and for a limited time, which a per-tokenizer sum cannot see. A model's
long-context tier is not applied here (it is per request, and a replayed
request past 200k tokens is rare); the corpus cost applies tiers.
*/

use rust_decimal::Decimal;
use serde::Serialize;

use super::catalog::ModelPrice;
use super::token_cost;
use crate::count::transcript::TranscriptCounts;

/// One model's price of the chat transcripts; the tokens are its
/// tokenizer's (corrected by the calibrated ratio for an estimate).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TranscriptCost {
    /// The tokens are a proxy tokenizer's count, with the chat format's
    /// overhead an estimate.
    pub estimate: bool,
    /// For a calibrated estimate: the ratio of the model's central estimate
    /// to its proxy's count over the whole corpus, applied to every figure
    /// below. Null otherwise.
    pub proxy_multiplier: Option<Decimal>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub replayed_input_tokens: u64,
    pub replayed_cached_input_tokens: u64,
    pub input_usd_per_mtok: Decimal,
    pub output_usd_per_mtok: Option<Decimal>,
    pub cached_input_usd_per_mtok: Option<Decimal>,
    pub cache_write_usd_per_mtok: Option<Decimal>,
    pub input_cost_usd: Decimal,
    /// Null when the catalog has no output price for the model.
    pub output_cost_usd: Option<Decimal>,
    pub replay_cost_usd: Decimal,
    /// Null when the model offers no prompt cache.
    pub replay_cached_cost_usd: Option<Decimal>,
}

/// The transcripts' cost for `model`, from the figures in column `column`
/// of `counts`; `multiplier` scales a calibrated estimate's tokens.
pub fn transcript_cost(
    model: &ModelPrice,
    counts: &TranscriptCounts,
    column: usize,
    multiplier: Option<Decimal>,
) -> TranscriptCost {
    let at = |v: &Vec<u64>| {
        let n = v.get(column).copied().unwrap_or(0);
        match multiplier {
            Some(m) => u64::try_from((Decimal::from(n) * m).round()).unwrap_or(n),
            None => n,
        }
    };
    let (input, output) = (at(&counts.input), at(&counts.output));
    let (replayed, cached) = (at(&counts.replayed_input), at(&counts.replayed_cached));
    let p = &model.prices;
    let n = Decimal::from;
    let uncached = replayed.saturating_sub(cached);
    let replay_cached = p.cached_input.map(|read| {
        let write = p.cache_write.unwrap_or(p.input);
        (token_cost(n(cached), read) + token_cost(n(uncached), write)).normalize()
    });
    TranscriptCost {
        estimate: model.estimate,
        proxy_multiplier: multiplier,
        input_tokens: input,
        output_tokens: output,
        replayed_input_tokens: replayed,
        replayed_cached_input_tokens: cached,
        input_usd_per_mtok: p.input,
        output_usd_per_mtok: p.output,
        cached_input_usd_per_mtok: p.cached_input,
        cache_write_usd_per_mtok: p.cache_write,
        input_cost_usd: token_cost(n(input), p.input),
        output_cost_usd: p.output.map(|o| token_cost(n(output), o)),
        replay_cost_usd: token_cost(n(replayed), p.input),
        replay_cached_cost_usd: replay_cached,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::Prices;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn model(prices: Prices) -> ModelPrice {
        ModelPrice {
            id: "m".into(),
            aliases: Vec::new(),
            provider: "p".into(),
            host: None,
            litellm: None,
            tokenizer: "o200k_base".into(),
            estimate: false,
            tokenizer_note: None,
            max_input_tokens: None,
            max_output_tokens: None,
            prices,
            tiers: Vec::new(),
            deprecation_date: None,
            source: "test".into(),
            as_of: "2026-12-05".into(),
        }
    }

    fn counts() -> TranscriptCounts {
        let mut c = TranscriptCounts::new(2);
        c.input = vec![1_000, 7];
        c.output = vec![2_000, 7];
        c.replayed_input = vec![10_000, 7];
        c.replayed_cached = vec![6_000, 7];
        c
    }

    #[test]
    fn an_openai_style_cache_reads_at_the_cached_price_and_the_rest_at_input() {
        let m = model(Prices {
            input: d("2"),
            cached_input: Some(d("0.5")),
            output: Some(d("8")),
            ..Prices::default()
        });
        let c = transcript_cost(&m, &counts(), 0, None);
        // 1,000 × $2/M; 2,000 × $8/M; 10,000 × $2/M;
        // 6,000 × $0.5/M + 4,000 × $2/M.
        assert_eq!(c.input_cost_usd, d("0.002"));
        assert_eq!(c.output_cost_usd, Some(d("0.016")));
        assert_eq!(c.replay_cost_usd, d("0.02"));
        assert_eq!(c.replay_cached_cost_usd, Some(d("0.011")));
        assert_eq!(
            (c.input_tokens, c.output_tokens, c.replayed_input_tokens),
            (1_000, 2_000, 10_000)
        );
    }

    #[test]
    fn a_write_price_charges_every_uncached_token_as_a_cache_write() {
        let m = model(Prices {
            input: d("3"),
            cached_input: Some(d("0.3")),
            cache_write: Some(d("3.75")),
            output: Some(d("15")),
            ..Prices::default()
        });
        let c = transcript_cost(&m, &counts(), 0, None);
        // 6,000 × $0.3/M + 4,000 × $3.75/M = 0.0018 + 0.015.
        assert_eq!(c.replay_cached_cost_usd, Some(d("0.0168")));
        assert_eq!(c.replay_cost_usd, d("0.03"));
        // One turn, nothing to read back: the write makes it dearer.
        let mut one = TranscriptCounts::new(1);
        one.replayed_input = vec![1_000];
        one.replayed_cached = vec![0];
        let c = transcript_cost(&m, &one, 0, None);
        assert_eq!(c.replay_cost_usd, d("0.003"));
        assert_eq!(c.replay_cached_cost_usd, Some(d("0.00375")));
    }

    #[test]
    fn no_cache_or_output_price_leaves_those_figures_null_and_a_multiplier_scales_tokens() {
        let m = model(Prices {
            input: d("1"),
            ..Prices::default()
        });
        let c = transcript_cost(&m, &counts(), 0, Some(d("1.5")));
        assert_eq!(c.output_cost_usd, None);
        assert_eq!(c.replay_cached_cost_usd, None);
        assert_eq!(c.input_tokens, 1_500);
        assert_eq!(c.replayed_cached_input_tokens, 9_000);
        assert_eq!(c.replay_cost_usd, d("0.015"));
        // The second column is the second tokenizer's.
        let c = transcript_cost(&m, &counts(), 1, None);
        assert_eq!(c.output_tokens, 7);
    }
}
