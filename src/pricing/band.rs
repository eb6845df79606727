/*!
Estimates with a band: a closed model's tokens and cost from its proxy's
counts, corrected per content class, with the low and high ends the
correction allows.

For each class c the proxy counted `T_c` tokens; with the family's factor
`(m_c, low_c, high_c)` the model's tokens are `Σ m_c·T_c` (the estimate),
`Σ low_c·T_c` and `Σ high_c·T_c`. Documents counted exactly by the
provider's API (`--count-api`) add their exact count to all three and leave
the classes they came from.

Cost: long-context tiers are decided per document, and the tally keeps the
documents above each threshold as proxy counts. Each end of the band is
priced by scaling those counts by that end's overall ratio to the proxy (the
documents near a threshold stay on the side the proxy puts them). This is
exact without tiers and an approximation with them; the band is much wider
than the difference.
*/

use std::collections::BTreeMap;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Serialize;

use super::calibration::Factor;
use super::cost::{corpus_cost, Above, ModelCost, TokenTotals};
use super::{ModelPrice, PricingError};
use crate::content::ContentClass;

/// A central value and the ends of its band.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Band<T> {
    pub estimate: T,
    pub estimate_low: T,
    pub estimate_high: T,
}

impl<T: Copy> Band<T> {
    /// The value at one end (or the middle) of the band.
    pub fn at(&self, point: EstimatePoint) -> T {
        match point {
            EstimatePoint::Central => self.estimate,
            EstimatePoint::Low => self.estimate_low,
            EstimatePoint::High => self.estimate_high,
        }
    }
}

/// Which value of a band a decision uses (`check --estimate`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EstimatePoint {
    Central,
    /// The cautious default for a budget gate.
    #[default]
    High,
    Low,
}

/// How a class's factor was obtained.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClassFactor {
    pub factor: Factor,
    /// `table` (the calibration table), `calibration file`, or `count-api`
    /// (fitted on this corpus).
    pub method: String,
}

/// One content class's part of an estimate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClassEstimate {
    pub class: ContentClass,
    pub proxy_tokens: u64,
    pub multiplier: Decimal,
    pub low: Decimal,
    pub high: Decimal,
    pub tokens: Band<u64>,
    pub method: String,
    pub sample: String,
    pub source: String,
}

/// Documents whose count came from the provider itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ExactPart {
    pub documents: u64,
    /// The provider's count, framing subtracted.
    pub tokens: u64,
    /// The proxy's count of the same documents, per class: taken out of the
    /// classes they would otherwise be estimated in.
    pub proxy_tokens: BTreeMap<ContentClass, u64>,
}

/// The band of one closed model's estimate, for every output format.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EstimateBand {
    /// The calibration family (`data/calibration.toml`).
    pub family: String,
    pub proxy_tokenizer: String,
    /// What the proxy counted for the whole corpus.
    pub proxy_tokens: u64,
    pub input_tokens: Band<u64>,
    pub input_cost_usd: Band<Decimal>,
    pub cached_input_cost_usd: Option<Band<Decimal>>,
    pub batch_input_cost_usd: Option<Band<Decimal>>,
    /// Per class present in the corpus.
    pub classes: Vec<ClassEstimate>,
    /// Documents counted exactly by the provider (`--count-api`), if any.
    pub exact: Option<ExactPart>,
}

fn round_tokens(x: Decimal) -> u64 {
    x.round().to_u64().unwrap_or(u64::MAX)
}

/// Scales every token count of `totals` by `ratio` (documents unchanged).
fn scaled(totals: &TokenTotals, ratio: Decimal) -> TokenTotals {
    let s = |t: u64| round_tokens(Decimal::from(t) * ratio);
    TokenTotals {
        documents: totals.documents,
        tokens: s(totals.tokens),
        above: totals
            .above
            .iter()
            .map(|(&k, a)| {
                (
                    k,
                    Above {
                        documents: a.documents,
                        tokens: s(a.tokens),
                    },
                )
            })
            .collect(),
    }
}

/// The cost of `model` with its tokens estimated per class: `by_class` is
/// the proxy's count per content class (summing to `totals.tokens`),
/// `factors` the correction of each class. The returned cost's tokens and
/// prices are the central estimate; `estimate_band` holds all three.
#[allow(clippy::too_many_arguments)]
pub fn banded_cost(
    model: &ModelPrice,
    family: &str,
    factors: &BTreeMap<ContentClass, ClassFactor>,
    by_class: &BTreeMap<ContentClass, u64>,
    exact: Option<&ExactPart>,
    totals: &TokenTotals,
    over_context: Vec<String>,
) -> Result<ModelCost, PricingError> {
    let mut classes = Vec::new();
    let exact_tokens = exact.map_or(0, |e| e.tokens);
    let mut sum = [Decimal::from(exact_tokens); 3];
    for (&class, &all) in by_class {
        let counted = exact
            .and_then(|e| e.proxy_tokens.get(&class))
            .copied()
            .unwrap_or(0);
        let proxy = all.saturating_sub(counted);
        let Some(cf) = factors.get(&class) else {
            continue;
        };
        let f = &cf.factor;
        let t = Decimal::from(proxy);
        let band = Band {
            estimate: round_tokens(t * f.multiplier),
            estimate_low: round_tokens(t * f.low),
            estimate_high: round_tokens(t * f.high),
        };
        sum[0] += t * f.multiplier;
        sum[1] += t * f.low;
        sum[2] += t * f.high;
        if all > 0 {
            classes.push(ClassEstimate {
                class,
                proxy_tokens: proxy,
                multiplier: f.multiplier,
                low: f.low,
                high: f.high,
                tokens: band,
                method: cf.method.clone(),
                sample: f.sample.clone(),
                source: f.source.clone(),
            });
        }
    }
    let proxy_total = totals.tokens;
    let ratio = |x: Decimal| {
        if proxy_total == 0 {
            Decimal::ONE
        } else {
            x / Decimal::from(proxy_total)
        }
    };
    let mut costs = Vec::with_capacity(3);
    for s in sum {
        costs.push(corpus_cost(
            model,
            &scaled(totals, ratio(s)),
            over_context.clone(),
        )?);
    }
    let [central, low, high]: [ModelCost; 3] = costs.try_into().expect("three ends");
    let band_of = |f: fn(&ModelCost) -> Decimal| Band {
        estimate: f(&central),
        estimate_low: f(&low),
        estimate_high: f(&high),
    };
    let opt_band_of = |f: fn(&ModelCost) -> Option<Decimal>| {
        Some(Band {
            estimate: f(&central)?,
            estimate_low: f(&low)?,
            estimate_high: f(&high)?,
        })
    };
    let band = EstimateBand {
        family: family.to_string(),
        proxy_tokenizer: model.tokenizer.clone(),
        proxy_tokens: proxy_total,
        input_tokens: Band {
            estimate: central.input_tokens,
            estimate_low: low.input_tokens,
            estimate_high: high.input_tokens,
        },
        input_cost_usd: band_of(|c| c.input_cost_usd),
        cached_input_cost_usd: opt_band_of(|c| c.cached_input_cost_usd),
        batch_input_cost_usd: opt_band_of(|c| c.batch_input_cost_usd),
        classes,
        exact: exact.cloned(),
    };
    Ok(ModelCost {
        estimate_band: Some(band),
        ..central
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::{Calibration, Catalog};
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn table_factors(model: &str) -> (String, BTreeMap<ContentClass, ClassFactor>) {
        let cal = Calibration::embedded();
        let fam = cal.family_of(model).unwrap();
        let factors = fam
            .classes
            .iter()
            .map(|(c, f)| {
                (
                    *c,
                    ClassFactor {
                        factor: f.clone(),
                        method: "table".into(),
                    },
                )
            })
            .collect();
        (fam.id.clone(), factors)
    }

    #[test]
    fn each_class_is_scaled_by_its_own_factor_and_cost_follows() {
        let catalog = Catalog::embedded();
        let model = catalog.model("claude-opus-4-7").unwrap();
        let (family, factors) = table_factors("claude-opus-4-7");
        let by_class = BTreeMap::from([
            (ContentClass::LatinProse, 1_000_000),
            (ContentClass::Cjk, 500_000),
        ]);
        let thresholds: Vec<u64> = model.tiers.iter().map(|t| t.above_input_tokens).collect();
        let totals = TokenTotals::from_documents(thresholds, &[1_000_000, 500_000]);
        let cost = banded_cost(model, &family, &factors, &by_class, None, &totals, vec![]).unwrap();
        let prose = &factors[&ContentClass::LatinProse].factor;
        let cjk = &factors[&ContentClass::Cjk].factor;
        let expect = |p: Decimal, c: Decimal| {
            round_tokens(Decimal::from(1_000_000) * p + Decimal::from(500_000) * c)
        };
        let band = cost.estimate_band.as_ref().unwrap();
        assert_eq!(band.proxy_tokens, 1_500_000);
        assert_eq!(
            band.input_tokens,
            Band {
                estimate: expect(prose.multiplier, cjk.multiplier),
                estimate_low: expect(prose.low, cjk.low),
                estimate_high: expect(prose.high, cjk.high),
            }
        );
        assert_eq!(cost.input_tokens, band.input_tokens.estimate);
        assert!(band.input_tokens.estimate_low < band.input_tokens.estimate);
        assert!(band.input_tokens.estimate < band.input_tokens.estimate_high);
        // Without tiers in play, cost is tokens × price.
        if model.tiers.is_empty() {
            assert_eq!(
                cost.input_cost_usd,
                (Decimal::from(cost.input_tokens) * model.prices.input / d("1000000")).normalize()
            );
        }
        assert_eq!(band.input_cost_usd.estimate, cost.input_cost_usd);
        assert!(band.input_cost_usd.estimate_high > band.input_cost_usd.estimate);
        assert_eq!(band.classes.len(), 2);
    }

    #[test]
    fn exactly_counted_documents_leave_their_class_and_add_their_count() {
        let catalog = Catalog::embedded();
        let model = catalog.model("claude-sonnet-4-6").unwrap();
        let (family, factors) = table_factors("claude-sonnet-4-6");
        let by_class = BTreeMap::from([(ContentClass::Code, 1000)]);
        let totals = TokenTotals::from_documents(
            model.tiers.iter().map(|t| t.above_input_tokens),
            &[600, 400],
        );
        let exact = ExactPart {
            documents: 1,
            tokens: 555,
            proxy_tokens: BTreeMap::from([(ContentClass::Code, 400)]),
        };
        let cost = banded_cost(
            model,
            &family,
            &factors,
            &by_class,
            Some(&exact),
            &totals,
            vec![],
        )
        .unwrap();
        let f = &factors[&ContentClass::Code].factor;
        let band = cost.estimate_band.unwrap();
        assert_eq!(
            band.input_tokens.estimate,
            555 + round_tokens(Decimal::from(600) * f.multiplier)
        );
        assert_eq!(
            band.input_tokens.estimate_low,
            555 + round_tokens(Decimal::from(600) * f.low)
        );
    }
}
