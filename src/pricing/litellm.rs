/*!
Reads LiteLLM's `model_prices_and_context_window.json` as is.

LiteLLM quotes USD per token as JSON floats (`5e-06`); we turn each into USD
per million tokens as an exact decimal by taking the float's shortest
round-trip decimal form, which is the literal written in the file. The same
mapping is done in Python by `scripts/update-prices`; keep the two in step.

Field mapping (per entry):
`input_cost_per_token` → input, `cache_read_input_token_cost` → cached input,
`cache_creation_input_token_cost` → cache write, `output_cost_per_token` →
output, the `_batches` variants → batch prices, `…_above_{N}k_tokens` → a
tier above N×1000 input tokens, `tiered_pricing` ranges → base + tiers.
*/

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::catalog::{Catalog, PartialPrices, Prices, Tier};
use super::{per_million, PricingError};

/// Updates the catalog's models from the LiteLLM table in `text`. Returns how
/// many models were updated.
pub(crate) fn apply(catalog: &mut Catalog, path: &str, text: &str) -> Result<usize, PricingError> {
    let table: Map<String, Value> =
        serde_json::from_str(text).map_err(|e| PricingError::Syntax {
            at: super::Location {
                path: path.to_string(),
                line: Some(e.line()),
            },
            message: format!("not a LiteLLM price table: {e}"),
        })?;
    let mut updated = 0;
    for model in catalog.models_mut() {
        let key = model.litellm.clone().unwrap_or_else(|| model.id.clone());
        let Some(entry) = table.get(&key) else {
            continue;
        };
        let reader = Entry {
            path,
            text,
            key: &key,
        };
        let obj = entry
            .as_object()
            .ok_or_else(|| reader.error(None, "expected an object"))?;
        let (prices, tiers) = reader.prices(obj)?;
        model.prices = prices;
        model.tiers = tiers;
        if let Some(v) = reader.uint(obj, "max_input_tokens")? {
            model.max_input_tokens = Some(v);
        }
        if let Some(v) = reader.uint(obj, "max_output_tokens")? {
            model.max_output_tokens = Some(v);
        }
        model.source = format!("LiteLLM JSON {path}, key {key}");
        model.as_of = "as of that file".to_string();
        updated += 1;
    }
    Ok(updated)
}

struct Entry<'a> {
    path: &'a str,
    text: &'a str,
    key: &'a str,
}

const BASE_FIELDS: [(&str, Field); 7] = [
    ("input_cost_per_token", Field::Input),
    ("cache_read_input_token_cost", Field::CachedInput),
    ("cache_creation_input_token_cost", Field::CacheWrite),
    ("output_cost_per_token", Field::Output),
    ("input_cost_per_token_batches", Field::BatchInput),
    (
        "cache_read_input_token_cost_batches",
        Field::BatchCachedInput,
    ),
    ("output_cost_per_token_batches", Field::BatchOutput),
];

#[derive(Clone, Copy)]
enum Field {
    Input,
    CachedInput,
    CacheWrite,
    Output,
    BatchInput,
    BatchCachedInput,
    BatchOutput,
}

/// The price field of `p` that a LiteLLM key fills.
fn slot(p: &mut PartialPrices, field: Field) -> &mut Option<Decimal> {
    match field {
        Field::Input => &mut p.input,
        Field::CachedInput => &mut p.cached_input,
        Field::CacheWrite => &mut p.cache_write,
        Field::Output => &mut p.output,
        Field::BatchInput => &mut p.batch_input,
        Field::BatchCachedInput => &mut p.batch_cached_input,
        Field::BatchOutput => &mut p.batch_output,
    }
}

/// `input_cost_per_token_above_200k_tokens_batches` → (Input-or-batch field, 200000).
fn tier_key(key: &str) -> Option<(Field, u64)> {
    for (base, field) in BASE_FIELDS.iter().take(4) {
        let Some(rest) = key
            .strip_prefix(base)
            .and_then(|r| r.strip_prefix("_above_"))
        else {
            continue;
        };
        let Some((k, tail)) = rest.split_once("k_tokens") else {
            continue;
        };
        let Ok(thousands) = k.parse::<u64>() else {
            continue;
        };
        let field = match (tail, field) {
            ("", f) => *f,
            ("_batches", Field::Input) => Field::BatchInput,
            ("_batches", Field::CachedInput) => Field::BatchCachedInput,
            ("_batches", Field::Output) => Field::BatchOutput,
            _ => return None,
        };
        return Some((field, thousands * 1000));
    }
    None
}

impl Entry<'_> {
    /// The line where this entry's key appears (serde_json does not keep
    /// positions for values it has already parsed).
    fn line(&self) -> Option<usize> {
        let needle = format!("\"{}\"", self.key);
        self.text
            .find(&needle)
            .map(|pos| super::line_of(self.text, pos))
    }

    fn error(&self, field: Option<&str>, message: &str) -> PricingError {
        let field = match field {
            Some(f) => format!("{}.{f}", self.key),
            None => self.key.to_string(),
        };
        PricingError::field(self.path, self.line(), field, message)
    }

    fn per_mtok(&self, field: &str, v: &Value) -> Result<Decimal, PricingError> {
        let f = v
            .as_f64()
            .ok_or_else(|| self.error(Some(field), "expected a number (USD per token)"))?;
        if !f.is_finite() || f < 0.0 {
            return Err(self.error(Some(field), "expected a non-negative number"));
        }
        let d = Decimal::from_str(&f.to_string())
            .map_err(|_| self.error(Some(field), "number out of range"))?;
        Ok((d * per_million()).normalize())
    }

    fn uint(&self, obj: &Map<String, Value>, field: &str) -> Result<Option<u64>, PricingError> {
        match obj.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .or_else(|| {
                    v.as_f64()
                        .filter(|f| *f >= 0.0 && f.fract() == 0.0)
                        .map(|f| f as u64)
                })
                .map(Some)
                .ok_or_else(|| self.error(Some(field), "expected a whole number of tokens")),
        }
    }

    fn prices(&self, obj: &Map<String, Value>) -> Result<(Prices, Vec<Tier>), PricingError> {
        let mut base = PartialPrices::default();
        let mut tiers: BTreeMap<u64, PartialPrices> = BTreeMap::new();
        if let Some(ranges) = obj.get("tiered_pricing") {
            let ranges = ranges
                .as_array()
                .ok_or_else(|| self.error(Some("tiered_pricing"), "expected an array"))?;
            let mut parsed = Vec::new();
            for (i, r) in ranges.iter().enumerate() {
                let field = format!("tiered_pricing[{i}]");
                let start = r
                    .get("range")
                    .and_then(|v| v.get(0))
                    .and_then(Value::as_f64)
                    .ok_or_else(|| self.error(Some(&field), "expected `range: [start, end]`"))?;
                let mut p = PartialPrices::default();
                for (key, f) in BASE_FIELDS.iter().take(4) {
                    if let Some(v) = r.get(*key) {
                        *slot(&mut p, *f) = Some(self.per_mtok(&format!("{field}.{key}"), v)?);
                    }
                }
                parsed.push((start as u64, p));
            }
            parsed.sort_by_key(|(s, _)| *s);
            let mut it = parsed.into_iter();
            if let Some((_, first)) = it.next() {
                base = first;
            }
            for (start, p) in it {
                tiers.insert(start, p);
            }
        }
        for (key, value) in obj {
            if value.is_null() {
                continue;
            }
            if let Some((_, field)) = BASE_FIELDS.iter().find(|(k, _)| k == key) {
                *slot(&mut base, *field) = Some(self.per_mtok(key, value)?);
            } else if let Some((field, threshold)) = tier_key(key) {
                let v = self.per_mtok(key, value)?;
                *slot(tiers.entry(threshold).or_default(), field) = Some(v);
            }
        }
        let input = base
            .input
            .ok_or_else(|| self.error(Some("input_cost_per_token"), "missing"))?;
        let prices = base.into_prices(input);
        let mut out = Vec::new();
        for (threshold, p) in tiers {
            // A tier without an input price cannot price a request; skip it.
            let Some(input) = p.input else { continue };
            let mut t = Tier {
                above_input_tokens: threshold,
                prices: p.into_prices(input),
            };
            let fill = |slot: &mut Option<Decimal>, v: Option<Decimal>| {
                if slot.is_none() {
                    *slot = v;
                }
            };
            fill(&mut t.prices.cached_input, prices.cached_input);
            fill(&mut t.prices.cache_write, prices.cache_write);
            fill(&mut t.prices.output, prices.output);
            fill(&mut t.prices.batch_input, prices.batch_input);
            fill(&mut t.prices.batch_cached_input, prices.batch_cached_input);
            fill(&mut t.prices.batch_output, prices.batch_output);
            out.push(t);
        }
        Ok((prices, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tier_keys_parse_threshold_and_batch_variant() {
        assert!(matches!(
            tier_key("input_cost_per_token_above_200k_tokens"),
            Some((Field::Input, 200_000))
        ));
        assert!(matches!(
            tier_key("output_cost_per_token_above_272k_tokens_batches"),
            Some((Field::BatchOutput, 272_000))
        ));
        assert!(tier_key("cache_creation_input_token_cost_above_1hr").is_none());
        assert!(tier_key("input_cost_per_token_above_272k_tokens_priority").is_none());
    }
}
