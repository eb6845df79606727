/*!
The price catalog: which models we price, which tokenizer counts for each,
their context windows and their prices, each with a source and a date.

The catalog ships inside the binary (`data/catalog.toml`, embedded with
`include_str!`) so an audit needs no network. `scripts/update-prices`
regenerates that file from LiteLLM's MIT-licensed table; the model list and
the tokenizer mapping stay hand-written in `data/models.toml`.

Users bring their own prices in two ways: an override file in the catalog's
own format (changes and additions, e.g. negotiated discounts), read by
[`Catalog::with_overrides`], and LiteLLM's JSON as is, read by
[`Catalog::with_litellm`]. Each entry keeps its own `source` and `as_of`, so
a report can say exactly where every price came from.

Prices are USD per million tokens. A long-context [`Tier`] applies to a whole
request whose input exceeds its threshold, which is how the providers bill it.
*/

use std::collections::BTreeSet;
use std::path::Path;

use rust_decimal::Decimal;
use serde::Serialize;

use super::format::{CatalogFile, EntryContext};
use super::{parse_embedded, parse_toml, read_file, PricingError};

/// The catalog compiled into the binary.
pub const EMBEDDED_CATALOG: &str = include_str!("../../data/catalog.toml");
const EMBEDDED_PATH: &str = "data/catalog.toml (embedded)";
/// [`EMBEDDED_CATALOG`] as JSON, written by build.rs: what run time reads.
const EMBEDDED_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/catalog.json"));

/// The six prices a provider may not offer, in one order, for both price
/// types: `optional_prices!(self)` lists their values, `optional_prices!(mut
/// self)` mutable references. Written once, so the lists that merge prices
/// field by field cannot fall out of step.
macro_rules! optional_prices {
    (mut $s:ident) => { optional_prices!(@ $s, &mut) };
    ($s:ident) => { optional_prices!(@ $s,) };
    (@ $s:ident, $($r:tt)*) => {
        [
            $($r)* $s.cached_input,
            $($r)* $s.cache_write,
            $($r)* $s.output,
            $($r)* $s.batch_input,
            $($r)* $s.batch_cached_input,
            $($r)* $s.batch_output,
        ]
    };
}

/// Unit prices, USD per million tokens. `None` means the provider does not
/// offer that way of paying (no batch API, no prompt cache).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Prices {
    pub input: Decimal,
    pub cached_input: Option<Decimal>,
    pub cache_write: Option<Decimal>,
    pub output: Option<Decimal>,
    pub batch_input: Option<Decimal>,
    pub batch_cached_input: Option<Decimal>,
    pub batch_output: Option<Decimal>,
}

/// Price fields that may each be absent: an override file's entry, or what a
/// LiteLLM entry gave. One type so that both readers fill prices alike.
#[derive(Clone, Debug, Default)]
pub(crate) struct PartialPrices {
    pub input: Option<Decimal>,
    pub cached_input: Option<Decimal>,
    pub cache_write: Option<Decimal>,
    pub output: Option<Decimal>,
    pub batch_input: Option<Decimal>,
    pub batch_cached_input: Option<Decimal>,
    pub batch_output: Option<Decimal>,
}

impl PartialPrices {
    /// The optional prices, in the order of [`Prices::optional_mut`].
    fn optional(&self) -> [Option<Decimal>; 6] {
        optional_prices!(self)
    }

    /// Whether any field is given.
    pub fn any(&self) -> bool {
        self.input.is_some() || self.optional().iter().any(Option::is_some)
    }

    /// Overwrites the fields of `p` that are given here.
    pub fn apply_to(&self, p: &mut Prices) {
        if let Some(v) = self.input {
            p.input = v;
        }
        for (slot, v) in p.optional_mut().into_iter().zip(self.optional()) {
            if v.is_some() {
                *slot = v;
            }
        }
    }

    /// Complete prices, with `input` as the (required) input price.
    pub fn into_prices(self, input: Decimal) -> Prices {
        let mut p = Prices {
            input,
            ..Prices::default()
        };
        for (slot, v) in p.optional_mut().into_iter().zip(self.optional()) {
            *slot = v;
        }
        p
    }
}

impl Prices {
    /// The prices a provider may not offer, in the order of `optional_mut`.
    pub(crate) fn optional(&self) -> [Option<Decimal>; 6] {
        optional_prices!(self)
    }

    /// The prices a provider may not offer, in one order for every reader
    /// that merges prices field by field.
    pub(crate) fn optional_mut(&mut self) -> [&mut Option<Decimal>; 6] {
        optional_prices!(mut self)
    }
}

/// Prices for a request whose input is above `above_input_tokens`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tier {
    pub above_input_tokens: u64,
    #[serde(flatten)]
    pub prices: Prices,
}

/// One model in the catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModelPrice {
    pub id: String,
    pub aliases: Vec<String>,
    pub provider: String,
    /// Who serves the model when that is not its maker (open-weight models).
    pub host: Option<String>,
    /// The key of this model in LiteLLM's table, for [`Catalog::with_litellm`].
    pub litellm: Option<String>,
    /// The tokenizer whose count prices this model.
    pub tokenizer: String,
    /// True when `tokenizer` is a proxy, not the model's own tokenizer.
    pub estimate: bool,
    /// Why the proxy was chosen (for estimates).
    pub tokenizer_note: Option<String>,
    pub max_input_tokens: Option<u64>,
    pub max_output_tokens: Option<u64>,
    #[serde(flatten)]
    pub prices: Prices,
    /// Long-context tiers, ascending by threshold.
    pub tiers: Vec<Tier>,
    pub deprecation_date: Option<String>,
    pub source: String,
    pub as_of: String,
}

impl ModelPrice {
    /// The prices that apply to one request with `input_tokens` of input:
    /// the highest tier whose threshold the request exceeds, else the base.
    pub fn prices_for_request(&self, input_tokens: u64) -> &Prices {
        self.tier_for_request(input_tokens)
            .map(|t| &t.prices)
            .unwrap_or(&self.prices)
    }

    /// The tier a request of `input_tokens` falls in, if any.
    pub fn tier_for_request(&self, input_tokens: u64) -> Option<&Tier> {
        self.tiers
            .iter()
            .rev()
            .find(|t| input_tokens > t.above_input_tokens)
    }

    /// The same, for a fractional mean request size (projections).
    pub(crate) fn tier_for_size(&self, input_tokens: Decimal) -> Option<&Tier> {
        self.tiers
            .iter()
            .rev()
            .find(|t| input_tokens > Decimal::from(t.above_input_tokens))
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

/// Where the catalog's prices came from, for the report's
/// `provenance.prices`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PriceProvenance {
    /// The embedded catalog's source (`LiteLLM …, litellm==X.Y.Z`).
    pub source: String,
    /// The embedded catalog's as-of date.
    pub as_of: String,
    /// Files layered on top, in order, each with the sha256 of its text:
    /// `override: PATH sha256 …`, `litellm: PATH (N models updated) sha256 …`.
    pub overrides: Vec<String>,
}

/// The set of priced models.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Catalog {
    pub source: String,
    pub as_of: String,
    pub overrides: Vec<String>,
    pub models: Vec<ModelPrice>,
}

impl Catalog {
    /// The catalog compiled into the binary. Its validity is checked by a
    /// unit test, so this cannot fail in a released build.
    pub fn embedded() -> Catalog {
        let file = parse_embedded(EMBEDDED_JSON);
        Catalog::from_file(EMBEDDED_PATH, EMBEDDED_CATALOG, file)
            .expect("the embedded catalog is checked by the test suite")
    }

    /// Reads a complete catalog file (the format of `data/catalog.toml`).
    pub fn load(path: impl AsRef<Path>) -> Result<Catalog, PricingError> {
        let path = path.as_ref();
        Catalog::from_toml_str(&path.display().to_string(), &read_file(path)?)
    }

    /// Parses a complete catalog; `path` is used in error messages.
    pub fn from_toml_str(path: &str, text: &str) -> Result<Catalog, PricingError> {
        Catalog::from_file(path, text, parse_toml(path, text)?)
    }

    /// Checks and completes a parsed catalog; `text` is the TOML it was
    /// read from, for the lines errors name.
    fn from_file(path: &str, text: &str, file: CatalogFile) -> Result<Catalog, PricingError> {
        let source = file
            .source
            .ok_or_else(|| PricingError::field(path, None, "source", "missing field `source`"))?;
        let as_of = file
            .as_of
            .ok_or_else(|| PricingError::field(path, None, "as_of", "missing field `as_of`"))?;
        let mut catalog = Catalog {
            source,
            as_of,
            overrides: Vec::new(),
            models: Vec::new(),
        };
        for (i, entry) in file.model.into_iter().enumerate() {
            let ctx = EntryContext {
                path,
                text,
                index: i,
            };
            let model = entry.into_model(&ctx, None, (&catalog.source, &catalog.as_of))?;
            catalog.insert(model, &ctx)?;
        }
        Ok(catalog)
    }

    /// Layers an override file in the catalog's own format on top: an entry
    /// whose `id` matches a model (by id or alias) changes only the fields it
    /// names; any other entry is added and must be complete. Top-level
    /// `source`/`as_of` in the file default the entries' own.
    pub fn with_overrides(self, path: impl AsRef<Path>) -> Result<Catalog, PricingError> {
        let path = path.as_ref();
        self.with_overrides_str(&path.display().to_string(), &read_file(path)?)
    }

    /// [`Catalog::with_overrides`] on text already read; `path` names it.
    pub fn with_overrides_str(mut self, path: &str, text: &str) -> Result<Catalog, PricingError> {
        let file: CatalogFile = parse_toml(path, text)?;
        let source = file
            .source
            .unwrap_or_else(|| format!("override file {path}"));
        let as_of = file.as_of.unwrap_or_else(|| "unknown".to_string());
        for (i, entry) in file.model.into_iter().enumerate() {
            let ctx = EntryContext {
                path,
                text,
                index: i,
            };
            let id = entry
                .id
                .clone()
                .ok_or_else(|| ctx.error(None, "id", "missing field `id`"))?;
            match self.position(&id) {
                Some(pos) => {
                    let base = self.models[pos].clone();
                    let merged = entry.into_model(&ctx, Some(base), (&source, &as_of))?;
                    self.models[pos] = merged;
                }
                None => {
                    let model = entry.into_model(&ctx, None, (&source, &as_of))?;
                    self.insert(model, &ctx)?;
                }
            }
        }
        self.overrides
            .push(format!("override: {path} sha256 {}", sha256_hex(text)));
        Ok(self)
    }

    /// Updates prices and context windows from a LiteLLM
    /// `model_prices_and_context_window.json`, read as is. Each catalog
    /// model whose `litellm` key is in the file takes that entry's prices;
    /// models absent from the file keep theirs. LiteLLM has no tokenizer
    /// mapping, so models not in the catalog are not added (add them with an
    /// override file).
    pub fn with_litellm(self, path: impl AsRef<Path>) -> Result<Catalog, PricingError> {
        let path = path.as_ref();
        self.with_litellm_str(&path.display().to_string(), &read_file(path)?)
    }

    /// [`Catalog::with_litellm`] on text already read; `path` names it.
    pub fn with_litellm_str(mut self, path: &str, text: &str) -> Result<Catalog, PricingError> {
        let updated = super::litellm::apply(&mut self, path, text)?;
        if updated == 0 {
            // A table that prices none of our models changes nothing: most
            // likely the wrong file, which a run must not pass over quietly.
            return Err(PricingError::Syntax {
                at: super::Location {
                    path: path.to_string(),
                    line: None,
                },
                message: "prices none of the catalog's models (looked up by each model's \
                          `litellm` key, else its id): not LiteLLM's \
                          model_prices_and_context_window.json?"
                    .to_string(),
            });
        }
        self.overrides.push(format!(
            "litellm: {path} ({updated} models updated) sha256 {}",
            sha256_hex(text)
        ));
        Ok(self)
    }

    pub fn models(&self) -> &[ModelPrice] {
        &self.models
    }

    /// Looks a model up by id or alias, ignoring ASCII case.
    pub fn get(&self, name: &str) -> Option<&ModelPrice> {
        self.position(name).map(|i| &self.models[i])
    }

    /// Like [`Catalog::get`], but an unknown name is an error that suggests
    /// close matches.
    pub fn model(&self, name: &str) -> Result<&ModelPrice, PricingError> {
        self.get(name).ok_or_else(|| {
            let needle = name.to_ascii_lowercase();
            let close: Vec<&str> = self
                .models
                .iter()
                .map(|m| m.id.as_str())
                .filter(|id| {
                    let id = id.to_ascii_lowercase();
                    id.contains(&needle) || needle.contains(&id)
                })
                .take(5)
                .collect();
            let hint = if close.is_empty() {
                String::new()
            } else {
                format!(" (did you mean: {}?)", close.join(", "))
            };
            PricingError::UnknownModel {
                name: name.to_string(),
                hint,
            }
        })
    }

    /// The tokenizers the catalog's models need counts for.
    pub fn tokenizers(&self) -> BTreeSet<&str> {
        self.models.iter().map(|m| m.tokenizer.as_str()).collect()
    }

    /// Long-context thresholds of the models counted by `tokenizer`: the
    /// tally should keep "documents and tokens above T" for each (see
    /// [`super::TokenTotals`]).
    pub fn tier_thresholds(&self, tokenizer: &str) -> BTreeSet<u64> {
        self.models
            .iter()
            .filter(|m| m.tokenizer == tokenizer)
            .flat_map(|m| m.tiers.iter().map(|t| t.above_input_tokens))
            .collect()
    }

    /// The smallest input window among the models counted by `tokenizer`.
    /// A document at or under it fits every such model, so the tally need
    /// only remember `(path, tokens)` for documents above it to answer
    /// [`super::over_context`] later.
    pub fn smallest_window(&self, tokenizer: &str) -> Option<u64> {
        self.models
            .iter()
            .filter(|m| m.tokenizer == tokenizer)
            .filter_map(|m| m.max_input_tokens)
            .min()
    }

    pub fn provenance(&self) -> PriceProvenance {
        PriceProvenance {
            source: self.source.clone(),
            as_of: self.as_of.clone(),
            overrides: self.overrides.clone(),
        }
    }

    pub(crate) fn models_mut(&mut self) -> &mut [ModelPrice] {
        &mut self.models
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.models
            .iter()
            .position(|m| m.names().any(|n| n.eq_ignore_ascii_case(name)))
    }

    fn insert(&mut self, model: ModelPrice, ctx: &EntryContext) -> Result<(), PricingError> {
        for name in model.names() {
            if let Some(other) = self.get(name) {
                return Err(ctx.error(
                    Some(&model.id),
                    "id",
                    format!("`{name}` is already used by model `{}`", other.id),
                ));
            }
        }
        self.models.push(model);
        Ok(())
    }
}

/// The sha256 of a price file's text, so a report names the exact prices it
/// was made with.
fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    /// What run time reads (build.rs's JSON) is what the TOML says: the
    /// same models, prices (decimals, not floats rounded twice) and dates.
    #[test]
    fn the_embedded_json_reads_as_the_toml_it_was_made_from() {
        let from_toml = Catalog::from_toml_str(EMBEDDED_PATH, EMBEDDED_CATALOG).unwrap();
        assert_eq!(Catalog::embedded(), from_toml);
    }

    #[test]
    fn embedded_catalog_is_valid_and_covers_the_providers() {
        let c = Catalog::embedded();
        assert!(c.models.len() >= 40, "{} models", c.models.len());
        for provider in [
            "openai",
            "anthropic",
            "google",
            "meta",
            "mistral",
            "deepseek",
            "alibaba",
        ] {
            assert!(
                c.models.iter().any(|m| m.provider == provider),
                "no {provider} model"
            );
        }
        for m in &c.models {
            assert!(!m.source.is_empty() && !m.as_of.is_empty(), "{}", m.id);
            assert!(
                m.max_input_tokens.is_some(),
                "{} has no context window",
                m.id
            );
        }
        assert!(c.source.contains("litellm=="));
    }

    #[test]
    fn closed_models_are_estimates_through_a_named_proxy() {
        let c = Catalog::embedded();
        let sonnet = c.model("claude-sonnet-4-6").unwrap();
        assert!(sonnet.estimate);
        assert_eq!(sonnet.tokenizer, "o200k_base");
        let gemini = c.model("gemini-2.5-pro").unwrap();
        assert!(gemini.estimate);
        assert_eq!(gemini.tokenizer, "gemma3");
        assert!(gemini.tokenizer_note.as_deref().unwrap().contains("Gemma"));
        assert!(!c.model("gpt-4o").unwrap().estimate);
    }

    #[test]
    fn lookup_by_alias_ignores_case_and_unknown_names_suggest() {
        let c = Catalog::embedded();
        assert_eq!(c.get("GPT-4O-2024-08-06").unwrap().id, "gpt-4o");
        let err = c.model("sonnet-4-6").unwrap_err().to_string();
        assert!(err.contains("claude-sonnet-4-6"), "{err}");
    }

    #[test]
    fn smallest_window_is_the_tightest_model_of_that_tokenizer() {
        let c = Catalog::embedded();
        // text-embedding-3-* (8191 tokens) are the only cl100k_base models
        assert_eq!(c.smallest_window("cl100k_base"), Some(8191));
        assert_eq!(c.smallest_window("r50k_base"), None);
    }

    #[test]
    fn tiers_pick_the_highest_threshold_exceeded() {
        let c = Catalog::embedded();
        let q = c.model("qwen3-max").unwrap();
        assert_eq!(q.prices_for_request(32_000).input, d("1.2"));
        assert_eq!(q.prices_for_request(32_001).input, d("2.4"));
        assert_eq!(q.prices_for_request(200_000).input, d("3"));
        let pro = c.model("gemini-2.5-pro").unwrap();
        // the tier gives its own cached price; batch output falls back only if absent
        assert_eq!(
            pro.prices_for_request(200_001).cached_input,
            Some(d("0.25"))
        );
    }

    #[test]
    fn unknown_tokenizer_is_rejected_with_line_and_field() {
        let text = "source = \"t\"\nas_of = \"2026-01-01\"\n\n[[model]]\nid = \"x\"\nprovider = \"p\"\ntokenizer = \"o201k\"\nestimate = false\ninput = \"1\"\n";
        let err = Catalog::from_toml_str("t.toml", text).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("t.toml:5: field `model[0].tokenizer`"),
            "{msg}"
        );
    }

    #[test]
    fn a_negative_or_non_decimal_price_names_the_field_and_line() {
        let text = "source = \"t\"\nas_of = \"d\"\n[[model]]\nid = \"x\"\nprovider = \"p\"\ntokenizer = \"bert\"\nestimate = false\ninput = \"-1\"\n";
        let msg = Catalog::from_toml_str("t.toml", text)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("t.toml:"), "{msg}");
        assert!(msg.contains("input"), "{msg}");
        assert!(msg.contains("negative"), "{msg}");
    }
}
