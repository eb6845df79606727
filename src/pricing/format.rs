/*!
The catalog's file format, shared by `data/catalog.toml` and users' override
files, and its checks.

Every field is optional at parse time so that an override can name only what
it changes; [`ModelEntry::into_model`] completes an entry (on top of the model
it overrides, if any) and checks it: required fields, a known tokenizer, and a
stated reason for every estimate. Errors name the file, line and field.
*/

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};

use super::catalog::{ModelPrice, PartialPrices, Prices, Tier};
use super::PricingError;
use crate::tokenize::sources::registry;

/// The file format, shared by the catalog and override files: every field is
/// optional here so that an override can name only what it changes; a full
/// entry is checked by [`ModelEntry::into_model`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CatalogFile {
    pub(crate) source: Option<String>,
    pub(crate) as_of: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    wheel_sha256: Option<String>,
    #[serde(default)]
    pub(crate) model: Vec<ModelEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModelEntry {
    pub(crate) id: Option<String>,
    aliases: Option<Vec<String>>,
    provider: Option<String>,
    host: Option<String>,
    litellm: Option<String>,
    tokenizer: Option<String>,
    estimate: Option<bool>,
    tokenizer_note: Option<String>,
    max_input_tokens: Option<u64>,
    max_output_tokens: Option<u64>,
    #[serde(default, deserialize_with = "usd")]
    input: Option<Decimal>,
    #[serde(default, deserialize_with = "usd")]
    cached_input: Option<Decimal>,
    #[serde(default, deserialize_with = "usd")]
    cache_write: Option<Decimal>,
    #[serde(default, deserialize_with = "usd")]
    output: Option<Decimal>,
    #[serde(default, deserialize_with = "usd")]
    batch_input: Option<Decimal>,
    #[serde(default, deserialize_with = "usd")]
    batch_cached_input: Option<Decimal>,
    #[serde(default, deserialize_with = "usd")]
    batch_output: Option<Decimal>,
    tiers: Option<Vec<TierEntry>>,
    deprecation_date: Option<String>,
    source: Option<String>,
    as_of: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TierEntry {
    above_input_tokens: u64,
    #[serde(default, deserialize_with = "usd")]
    input: Option<Decimal>,
    #[serde(default, deserialize_with = "usd")]
    cached_input: Option<Decimal>,
    #[serde(default, deserialize_with = "usd")]
    cache_write: Option<Decimal>,
    #[serde(default, deserialize_with = "usd")]
    output: Option<Decimal>,
    #[serde(default, deserialize_with = "usd")]
    batch_input: Option<Decimal>,
    #[serde(default, deserialize_with = "usd")]
    batch_cached_input: Option<Decimal>,
    #[serde(default, deserialize_with = "usd")]
    batch_output: Option<Decimal>,
}

/// A price written as a decimal string (`"0.075"`, exact) or a TOML number
/// (taken as written: Rust prints an `f64` as the shortest decimal that reads
/// back to it, which is the literal in the file). Negative prices are errors.
pub(crate) fn usd<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Decimal>, D::Error> {
    struct Usd;
    impl serde::de::Visitor<'_> for Usd {
        type Value = Decimal;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str(
                "a price in USD per million tokens (a decimal string like \"0.075\" or a number)",
            )
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Decimal, E> {
            Decimal::from_str(v.trim())
                .map_err(|_| E::custom(format!("`{v}` is not a decimal number")))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Decimal, E> {
            if !v.is_finite() {
                return Err(E::custom("a price must be a finite number"));
            }
            Decimal::from_str(&v.to_string())
                .map_err(|_| E::custom(format!("{v} is out of range for a price")))
        }
    }
    let value = de.deserialize_any(Usd)?;
    if value.is_sign_negative() && !value.is_zero() {
        return Err(serde::de::Error::custom(format!(
            "a price cannot be negative ({value})"
        )));
    }
    Ok(Some(value.normalize()))
}

/// Where an entry sits, for error messages.
pub(crate) struct EntryContext<'a> {
    pub(crate) path: &'a str,
    pub(crate) text: &'a str,
    pub(crate) index: usize,
}

impl EntryContext<'_> {
    /// The line of this entry: the `[[model]]` header of the index-th entry
    /// (the entry's `id = "…"` line when the id is known). toml's own spans
    /// cover syntax and type errors; this covers checks made after parsing.
    fn line(&self, id: Option<&str>) -> Option<usize> {
        if let Some(id) = id {
            for (n, line) in self.text.lines().enumerate() {
                let t = line.trim();
                if let Some(rest) = t.strip_prefix("id") {
                    let rest = rest.trim_start();
                    if let Some(value) = rest.strip_prefix('=') {
                        let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
                        if value == id {
                            return Some(n + 1);
                        }
                    }
                }
            }
        }
        self.text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.trim_start().starts_with("[[model]]"))
            .nth(self.index)
            .map(|(n, _)| n + 1)
    }

    pub(crate) fn error(
        &self,
        id: Option<&str>,
        field: &str,
        message: impl Into<String>,
    ) -> PricingError {
        let field = format!("model[{}].{field}", self.index);
        PricingError::field(self.path, self.line(id), field, message)
    }
}

impl ModelEntry {
    /// Completes this entry into a model, on top of `base` when it overrides
    /// one. `defaults` are the file's `source` and `as_of`.
    pub(crate) fn into_model(
        self,
        ctx: &EntryContext,
        base: Option<ModelPrice>,
        defaults: (&str, &str),
    ) -> Result<ModelPrice, PricingError> {
        let id = self.id.clone();
        let idr = id.as_deref();
        let required = |field: &str| ctx.error(idr, field, format!("missing field `{field}`"));
        let overriding = base.is_some();
        let prices = PartialPrices {
            input: self.input,
            cached_input: self.cached_input,
            cache_write: self.cache_write,
            output: self.output,
            batch_input: self.batch_input,
            batch_cached_input: self.batch_cached_input,
            batch_output: self.batch_output,
        };
        let prices_changed = prices.any() || self.tiers.is_some();
        let mut m = match base {
            Some(m) => m,
            None => ModelPrice {
                id: id.clone().ok_or_else(|| required("id"))?,
                aliases: Vec::new(),
                provider: self.provider.clone().ok_or_else(|| required("provider"))?,
                host: None,
                litellm: None,
                tokenizer: self
                    .tokenizer
                    .clone()
                    .ok_or_else(|| required("tokenizer"))?,
                estimate: self.estimate.ok_or_else(|| required("estimate"))?,
                tokenizer_note: None,
                max_input_tokens: None,
                max_output_tokens: None,
                prices: Prices {
                    input: prices.input.ok_or_else(|| required("input"))?,
                    ..Prices::default()
                },
                tiers: Vec::new(),
                deprecation_date: None,
                source: defaults.0.to_string(),
                as_of: defaults.1.to_string(),
            },
        };
        if let Some(v) = self.aliases {
            m.aliases = v;
        }
        if let Some(v) = self.provider {
            m.provider = v;
        }
        if let Some(v) = self.host {
            m.host = Some(v);
        }
        if let Some(v) = self.litellm {
            m.litellm = Some(v);
        }
        if let Some(v) = self.tokenizer {
            m.tokenizer = v;
        }
        if let Some(v) = self.estimate {
            m.estimate = v;
        }
        if let Some(v) = self.tokenizer_note {
            m.tokenizer_note = Some(v);
        }
        if let Some(v) = self.max_input_tokens {
            m.max_input_tokens = Some(v);
        }
        if let Some(v) = self.max_output_tokens {
            m.max_output_tokens = Some(v);
        }
        if let Some(v) = self.deprecation_date {
            m.deprecation_date = Some(v);
        }
        prices.apply_to(&mut m.prices);
        if let Some(tiers) = self.tiers {
            m.tiers.clear();
            for (i, t) in tiers.into_iter().enumerate() {
                let input = t.input.ok_or_else(|| {
                    ctx.error(idr, &format!("tiers[{i}].input"), "missing field `input`")
                })?;
                m.tiers.push(Tier {
                    above_input_tokens: t.above_input_tokens,
                    prices: Prices {
                        input,
                        cached_input: t.cached_input,
                        cache_write: t.cache_write,
                        output: t.output,
                        batch_input: t.batch_input,
                        batch_cached_input: t.batch_cached_input,
                        batch_output: t.batch_output,
                    },
                });
            }
            m.tiers.sort_by_key(|t| t.above_input_tokens);
        }
        // A tier names what differs; what it leaves out is the base price.
        let base_prices = m.prices.clone();
        for t in &mut m.tiers {
            t.prices.fill_from(&base_prices);
        }
        match (self.source, overriding && prices_changed) {
            (Some(s), _) => m.source = s,
            (None, true) => m.source = defaults.0.to_string(),
            (None, false) => {}
        }
        match (self.as_of, overriding && prices_changed) {
            (Some(s), _) => m.as_of = s,
            (None, true) => m.as_of = defaults.1.to_string(),
            (None, false) => {}
        }
        // The registry is the one list of names: a typo fails when the
        // catalog is read, not as a missing count in the report.
        if registry::named(&m.tokenizer).is_none() {
            let known: Vec<&str> = registry::NAMED.iter().map(|n| n.name).collect();
            return Err(ctx.error(
                idr,
                "tokenizer",
                format!(
                    "unknown tokenizer `{}`; known: {}",
                    m.tokenizer,
                    known.join(", ")
                ),
            ));
        }
        if m.estimate && m.tokenizer_note.is_none() {
            return Err(ctx.error(
                idr,
                "tokenizer_note",
                "an estimate must say which proxy it uses and why",
            ));
        }
        Ok(m)
    }
}

impl Prices {
    /// Takes the optional prices this tier leaves out from `base`.
    fn fill_from(&mut self, base: &Prices) {
        for (slot, v) in self.optional_mut().into_iter().zip(base.optional()) {
            if slot.is_none() {
                *slot = v;
            }
        }
    }
}
