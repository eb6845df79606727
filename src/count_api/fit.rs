/*!
A multiplier per content class, fitted on the documents a provider counted.

The multiplier is the ratio of sums, provider tokens over proxy tokens, so
that large documents weigh as much as they cost; its band is the smallest
and largest ratio of a single document (with the multiplier inside it).
*/

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::content::ContentClass;

/// One counted document.
#[derive(Clone, Copy, Debug)]
pub struct Observation {
    pub class: ContentClass,
    /// The proxy tokenizer's count.
    pub proxy: u64,
    /// The provider's count, framing subtracted.
    pub api: u64,
}

/// The fit of one class.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FittedClass {
    pub class: ContentClass,
    pub documents: u64,
    pub proxy_tokens: u64,
    pub api_tokens: u64,
    pub multiplier: Decimal,
    pub low: Decimal,
    pub high: Decimal,
}

/// Ratios are kept to four decimals.
const DP: u32 = 4;

/// One fit per class present among documents with a proxy count above 0.
pub fn fit(observations: &[Observation]) -> Vec<FittedClass> {
    let mut by_class: BTreeMap<ContentClass, Vec<Observation>> = BTreeMap::new();
    for o in observations.iter().filter(|o| o.proxy > 0) {
        by_class.entry(o.class).or_default().push(*o);
    }
    by_class
        .into_iter()
        .map(|(class, obs)| {
            let proxy: u64 = obs.iter().map(|o| o.proxy).sum();
            let api: u64 = obs.iter().map(|o| o.api).sum();
            let m = (Decimal::from(api) / Decimal::from(proxy)).round_dp(DP);
            let ratios = obs
                .iter()
                .map(|o| (Decimal::from(o.api) / Decimal::from(o.proxy)).round_dp(DP));
            let low = ratios.clone().fold(m, Decimal::min);
            let high = ratios.fold(m, Decimal::max);
            FittedClass {
                class,
                documents: obs.len() as u64,
                proxy_tokens: proxy,
                api_tokens: api,
                multiplier: m,
                low,
                high,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn ratio_of_sums_with_the_spread_of_single_documents() {
        let o = |class, proxy, api| Observation { class, proxy, api };
        let fits = fit(&[
            o(ContentClass::LatinProse, 100, 150),
            o(ContentClass::LatinProse, 300, 420),
            o(ContentClass::Cjk, 50, 50),
            o(ContentClass::Code, 0, 3),
        ]);
        assert_eq!(fits.len(), 2);
        let prose = &fits[0];
        assert_eq!(prose.class, ContentClass::LatinProse);
        assert_eq!(prose.multiplier, Decimal::from_str("1.425").unwrap());
        assert_eq!(prose.low, Decimal::from_str("1.4").unwrap());
        assert_eq!(prose.high, Decimal::from_str("1.5").unwrap());
        assert_eq!(
            (prose.documents, prose.proxy_tokens, prose.api_tokens),
            (2, 400, 570)
        );
        assert_eq!(fits[1].multiplier, Decimal::ONE);
    }
}
