/*!
The price stage of the pipeline: which models are priced, what the counting
stage must watch for them, and how a finished [`Tally`] becomes costs and a
projection.

Decided before counting ([`PricingPlan::new`]) because pricing changes what is
counted: every priced model's tokenizer is added to the selection, and the
tally keeps, per tokenizer, the documents above each long-context threshold
and over the smallest context window.
*/

use std::collections::BTreeMap;

use serde::Serialize;

use super::band::{banded_cost, Band, ClassFactor, ExactPart};
use super::calibration::Factor;
use super::watch::{PriceWatch, TokenWatch};
use super::{
    charges, corpus_cost, project, transcript_cost, Calibration, Catalog, CategoryProfile, Charge,
    CorpusProfile, ModelCost, ModelPrice, PriceProvenance, PricingError, Projection, Scenario,
    SizeStats, TokenTotals,
};
use crate::content::ContentClass;
use crate::count_api::{CountApiReport, ModelMeasure};
use crate::tally::{Group, Tally};

/// The models to price and, optionally, a scenario to project.
#[derive(Clone, Debug)]
pub struct PricingPlan {
    pub catalog: Catalog,
    /// Models priced one-pass in `costs`, as the user selected them.
    pub models: Vec<ModelPrice>,
    pub scenario: Option<Scenario>,
    /// Corrections of closed models' proxy counts (the embedded table, with
    /// the user's `--calibration` file on top).
    pub calibration: Calibration,
}

/// What the price stage adds to a report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Priced {
    pub costs: Vec<ModelCost>,
    pub projection: Option<Projection>,
    /// The costs above as priced lines (see [`super::charges`]).
    pub charges: Vec<Charge>,
    /// What `--count-api` sent and fitted, per provider.
    pub count_api: Vec<CountApiReport>,
}

impl PricingPlan {
    /// Resolves model names (ids or aliases) against the catalog.
    pub fn new(
        catalog: Catalog,
        model_names: &[String],
        scenario: Option<Scenario>,
    ) -> Result<Self, PricingError> {
        let mut models: Vec<ModelPrice> = Vec::new();
        for name in model_names {
            let m = catalog.model(name)?.clone();
            if !models.iter().any(|x| x.id == m.id) {
                models.push(m);
            }
        }
        if let Some(s) = &scenario {
            for w in &s.workloads {
                catalog.model(&w.model)?;
            }
        }
        Ok(PricingPlan {
            catalog,
            models,
            scenario,
            calibration: Calibration::embedded(),
        })
    }

    /// Layers a user's calibration file on top of the embedded table,
    /// checked against the catalog.
    pub fn with_calibration(mut self, mine: Calibration) -> Result<Self, PricingError> {
        mine.check_against(&self.catalog)?;
        self.calibration = self.calibration.with(mine);
        Ok(self)
    }

    /// Every tokenizer the priced models and the scenario's models need, in
    /// first-use order.
    pub fn tokenizers(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for m in self.priced_models() {
            if !out.contains(&m.tokenizer) {
                out.push(m.tokenizer.clone());
            }
        }
        out
    }

    /// The selected models, then the scenario's (possibly repeated).
    fn priced_models(&self) -> impl Iterator<Item = &ModelPrice> {
        let scenario_models = self
            .scenario
            .iter()
            .flat_map(|s| s.workloads.iter())
            .filter_map(|w| self.catalog.get(&w.model));
        self.models.iter().chain(scenario_models)
    }

    /// What the price watch must track for `tokenizer`: the tier thresholds of
    /// the priced models it counts for, and the smallest of their windows.
    pub fn watch(&self, tokenizer: &str) -> TokenWatch {
        let models: Vec<&ModelPrice> = self
            .priced_models()
            .filter(|m| m.tokenizer == tokenizer)
            .collect();
        let mut thresholds: Vec<u64> = models
            .iter()
            .flat_map(|m| m.tiers.iter().map(|t| t.above_input_tokens))
            .collect();
        thresholds.sort_unstable();
        thresholds.dedup();
        TokenWatch {
            thresholds,
            window: models.iter().filter_map(|m| m.max_input_tokens).min(),
        }
    }

    pub fn provenance(&self) -> PriceProvenance {
        self.catalog.provenance()
    }

    /// What decides this plan's figures besides the catalog (whose
    /// provenance is in every report): the priced models, and digests of
    /// the scenario (where its file lies aside) and of the calibration.
    /// A shard's report records it; `merge` refuses shards priced otherwise.
    pub fn identity(&self) -> BTreeMap<String, String> {
        use sha2::{Digest, Sha256};
        let digest = |v: serde_json::Value| {
            let h: [u8; 32] = Sha256::digest(v.to_string().as_bytes()).into();
            crate::digest::hex(&h)
        };
        let mut out = BTreeMap::new();
        let ids: Vec<&str> = self.models.iter().map(|m| m.id.as_str()).collect();
        out.insert("models".to_string(), ids.join(","));
        if let Some(s) = &self.scenario {
            let mut v = serde_json::to_value(s).expect("a scenario serializes");
            if let Some(o) = v.as_object_mut() {
                o.remove("path");
            }
            out.insert(
                "scenario".to_string(),
                format!("{} sha256 {}", s.name, digest(v)),
            );
        }
        let calibration = serde_json::to_value(&self.calibration).expect("serializes");
        out.insert(
            "calibration".to_string(),
            format!("sha256 {}", digest(calibration)),
        );
        out
    }

    /// A price watch with this plan's [`PricingPlan::watch`] for each of
    /// `tokenizers`, to be fed every counted document.
    pub fn price_watch(&self, tokenizers: &[String]) -> PriceWatch {
        let watches: Vec<TokenWatch> = tokenizers.iter().map(|n| self.watch(n)).collect();
        PriceWatch::new(&watches)
    }

    /// Costs per selected model and the scenario's projection, from the
    /// tally and a watch made by [`PricingPlan::price_watch`] fed the same
    /// documents. `tokenizers` names the tally's columns.
    pub fn price(
        &self,
        tally: &Tally,
        watch: &PriceWatch,
        tokenizers: &[String],
    ) -> Result<Priced, PricingError> {
        self.price_with(tally, watch, tokenizers, &[])
    }

    /// [`PricingPlan::price`], with what `--count-api` measured: a model
    /// counted there takes the fitted multipliers for the classes sampled
    /// and the exact counts of the documents sent.
    pub fn price_with(
        &self,
        tally: &Tally,
        watch: &PriceWatch,
        tokenizers: &[String],
        measured: &[CountApiReport],
    ) -> Result<Priced, PricingError> {
        let column = |name: &str| tokenizers.iter().position(|t| t == name);
        let mut costs = Vec::new();
        let mut lines = Vec::new();
        for m in &self.models {
            let i = column(&m.tokenizer).expect("the plan's tokenizers are counted");
            let over: Vec<String> = watch.over_window[i]
                .iter()
                .filter(|(t, _)| m.max_input_tokens.is_some_and(|w| *t > w))
                .map(|(_, p)| p.display().to_string())
                .collect();
            let measure = measured
                .iter()
                .filter(|r| r.provider.catalog_provider() == m.provider)
                .find_map(|r| {
                    r.models
                        .iter()
                        .find(|x| x.model == m.id)
                        .map(|x| (r.endpoint.as_str(), x))
                });
            let mut cost = self.model_cost(m, tally, &watch.priced[i], i, over, measure)?;
            if let Some(t) = &tally.transcripts {
                // A calibrated estimate's transcripts take its corpus-wide
                // ratio of central estimate to proxy count.
                let multiplier = cost
                    .estimate_band
                    .as_ref()
                    .filter(|b| b.proxy_tokens > 0)
                    .map(|b| {
                        (rust_decimal::Decimal::from(b.input_tokens.estimate)
                            / rust_decimal::Decimal::from(b.proxy_tokens))
                        .round_dp(4)
                    });
                cost.transcripts = Some(transcript_cost(m, &t.counts, i, multiplier));
            }
            let categories: Vec<(String, u64)> = tally
                .by_category
                .iter()
                .map(|(c, g)| (c.clone(), g.tokens.get(i).copied().unwrap_or(0)))
                .collect();
            // A calibrated estimate's lines carry its central tokens, split
            // over the categories in proportion to the proxy's counts.
            let categories = scale_to(categories, cost.input_tokens);
            let mut model_lines = charges::corpus_charges(m, &cost, &categories);
            if let Some(b) = &cost.estimate_band {
                charges::with_band(&mut model_lines, &b.input_tokens);
            }
            lines.extend(model_lines);
            costs.push(cost);
        }
        let projection = match &self.scenario {
            Some(s) => {
                let mut corpus = profile(tally, tokenizers);
                let ratios = self.corrections(s, tally, watch, tokenizers, measured, &costs)?;
                corpus.corrections = ratios
                    .iter()
                    .map(|(m, b)| (m.clone(), b.estimate))
                    .collect();
                let p = project(s, &self.catalog, &corpus)?;
                let mut projected = charges::projection_charges(&p, s, &self.catalog);
                if !ratios.is_empty() {
                    // The band's ends: the same projection with each end's
                    // ratio, its lines matched to the central ones.
                    let mut ends = Vec::new();
                    for end in [
                        |b: &Band<rust_decimal::Decimal>| b.estimate_low,
                        |b: &Band<rust_decimal::Decimal>| b.estimate_high,
                    ] {
                        let mut c = corpus.clone();
                        c.corrections = ratios.iter().map(|(m, b)| (m.clone(), end(b))).collect();
                        let pe = project(s, &self.catalog, &c)?;
                        ends.push(charges::projection_charges(&pe, s, &self.catalog));
                    }
                    charges::with_projected_band(&mut projected, &ends[0], &ends[1], |m| {
                        ratios.contains_key(m)
                    });
                }
                lines.extend(projected);
                Some(p)
            }
            None => None,
        };
        Ok(Priced {
            costs,
            projection,
            charges: lines,
            count_api: Vec::new(),
        })
    }
}

impl PricingPlan {
    /// The calibrated-over-proxy ratio on this corpus of each scenario
    /// model that has a calibration family: from its priced cost when it
    /// is priced too (`-m`), else computed the same way.
    fn corrections(
        &self,
        scenario: &Scenario,
        tally: &Tally,
        watch: &PriceWatch,
        tokenizers: &[String],
        measured: &[CountApiReport],
        costs: &[ModelCost],
    ) -> Result<BTreeMap<String, Band<rust_decimal::Decimal>>, PricingError> {
        let mut out = BTreeMap::new();
        for w in &scenario.workloads {
            let Ok(m) = self.catalog.model(&w.model) else {
                continue;
            };
            if out.contains_key(&m.id) {
                continue;
            }
            let Some(i) = tokenizers.iter().position(|t| *t == m.tokenizer) else {
                continue;
            };
            let band = match costs.iter().find(|c| c.model == m.id) {
                Some(c) => c.estimate_band.clone(),
                None => {
                    let measure = measured
                        .iter()
                        .filter(|r| r.provider.catalog_provider() == m.provider)
                        .find_map(|r| {
                            r.models
                                .iter()
                                .find(|x| x.model == m.id)
                                .map(|x| (r.endpoint.as_str(), x))
                        });
                    self.model_cost(m, tally, &watch.priced[i], i, Vec::new(), measure)?
                        .estimate_band
                }
            };
            if let Some(b) = band.filter(|b| b.proxy_tokens > 0) {
                let proxy = rust_decimal::Decimal::from(b.proxy_tokens);
                let r = |t: u64| rust_decimal::Decimal::from(t) / proxy;
                out.insert(
                    m.id.clone(),
                    Band {
                        estimate: r(b.input_tokens.estimate),
                        estimate_low: r(b.input_tokens.estimate_low),
                        estimate_high: r(b.input_tokens.estimate_high),
                    },
                );
            }
        }
        Ok(out)
    }

    /// One model's cost from column `i` of the tally: banded through its
    /// calibration family when it is an estimate that has one.
    fn model_cost(
        &self,
        m: &ModelPrice,
        tally: &Tally,
        totals: &TokenTotals,
        i: usize,
        over: Vec<String>,
        measure: Option<(&str, &ModelMeasure)>,
    ) -> Result<ModelCost, PricingError> {
        let family = self
            .calibration
            .family_of(&m.id)
            .filter(|f| m.estimate && f.proxy == m.tokenizer);
        let Some(family) = family else {
            return corpus_cost(m, totals, over);
        };
        let method = if family.origin.ends_with("(embedded)") {
            "table".to_string()
        } else {
            format!("calibration file {}", family.origin)
        };
        let mut factors: BTreeMap<ContentClass, ClassFactor> = family
            .classes
            .iter()
            .map(|(c, f)| {
                (
                    *c,
                    ClassFactor {
                        factor: f.clone(),
                        method: method.clone(),
                    },
                )
            })
            .collect();
        let mut exact = None;
        if let Some((endpoint, measure)) = measure {
            for fit in &measure.fitted {
                factors.insert(
                    fit.class,
                    ClassFactor {
                        factor: Factor {
                            multiplier: fit.multiplier,
                            low: fit.low,
                            high: fit.high,
                            sample: format!(
                                "{} documents of this corpus, {} proxy tokens, {} counted",
                                fit.documents, fit.proxy_tokens, fit.api_tokens
                            ),
                            source: format!(
                                "fitted on this run's count API answers ({endpoint}), framing of {} tokens subtracted",
                                measure.framing_tokens
                            ),
                            as_of: "this run".into(),
                        },
                        method: "count-api".into(),
                    },
                );
            }
            exact = Some(ExactPart {
                documents: measure.documents,
                tokens: measure.api_tokens,
                proxy_tokens: measure.proxy_tokens.clone(),
            });
        }
        let by_class = tally
            .by_class
            .iter()
            .map(|(c, t)| (*c, t.tokens.get(i).copied().unwrap_or(0)))
            .collect();
        banded_cost(
            m,
            &family.id,
            &factors,
            &by_class,
            exact.as_ref(),
            totals,
            over,
        )
    }
}

/// `parts` scaled so that they sum to `total`: each rounded down, and the
/// tokens left over given one each to the largest remainders (ties to the
/// first), so the lines reconcile with the total exactly.
fn scale_to(parts: Vec<(String, u64)>, total: u64) -> Vec<(String, u64)> {
    let sum: u64 = parts.iter().map(|(_, t)| t).sum();
    if sum == total || sum == 0 {
        return parts;
    }
    let (total, sum) = (u128::from(total), u128::from(sum));
    let mut out: Vec<(String, u64, u128)> = parts
        .into_iter()
        .map(|(c, t)| {
            let x = u128::from(t) * total;
            (c, (x / sum) as u64, x % sum)
        })
        .collect();
    let given: u128 = out.iter().map(|(_, t, _)| u128::from(*t)).sum();
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.sort_by(|&a, &b| out[b].2.cmp(&out[a].2).then(a.cmp(&b)));
    for &k in order.iter().take((total - given) as usize) {
        out[k].1 += 1;
    }
    out.into_iter().map(|(c, t, _)| (c, t)).collect()
}

/// Document counts and sizes per category, for projections.
fn profile(tally: &Tally, tokenizers: &[String]) -> CorpusProfile {
    let category = |g: &Group| CategoryProfile {
        documents: g.files,
        tokens: tokenizers
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let h = g.distribution.get(i);
                (
                    name.clone(),
                    SizeStats {
                        total: g.tokens.get(i).copied().unwrap_or(0),
                        p50: h.map_or(0, |h| h.quantile(0.5)),
                        p90: h.map_or(0, |h| h.quantile(0.9)),
                    },
                )
            })
            .collect(),
    };
    CorpusProfile {
        all: category(&tally.counted),
        categories: tally
            .by_category
            .iter()
            .map(|(k, g)| (k.clone(), category(g)))
            .collect::<BTreeMap<_, _>>(),
        corrections: BTreeMap::new(),
    }
}
