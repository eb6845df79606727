/*!
What the price stage remembers of the counted documents while the audit runs.

Long-context tiers and context windows are per document, so the one-pass
cost cannot be computed from the tally's sums. The audit feeds every counted
file's tokens to a [`PriceWatch`] beside the tally; the tally itself stays a
sum of counts that knows nothing of prices. The watch keeps, per tokenizer,
only what the plan's models need: totals above each tier threshold and the
documents longer than the smallest context window.
*/

use std::path::{Path, PathBuf};

use super::TokenTotals;

/// What to watch for one tokenizer, decided before counting: the
/// long-context tier thresholds of the models it prices, and the smallest
/// context window among them (documents above it are kept by path, so the
/// report can list them per model).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenWatch {
    pub thresholds: Vec<u64>,
    pub window: Option<u64>,
}

/// The watched figures of every tokenizer, in selection order.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PriceWatch {
    /// Per tokenizer: totals with documents above each watched threshold.
    pub priced: Vec<TokenTotals>,
    /// Per tokenizer: `(tokens, path)` of documents over its watched
    /// window, sorted by path.
    pub over_window: Vec<Vec<(u64, PathBuf)>>,
    windows: Vec<Option<u64>>,
}

impl PriceWatch {
    /// An empty watch, one [`TokenWatch`] per tokenizer in selection order.
    pub fn new(watches: &[TokenWatch]) -> PriceWatch {
        PriceWatch {
            priced: watches
                .iter()
                .map(|w| TokenTotals::with_thresholds(w.thresholds.iter().copied()))
                .collect(),
            over_window: vec![Vec::new(); watches.len()],
            windows: watches.iter().map(|w| w.window).collect(),
        }
    }

    /// One counted document: its tokens per tokenizer, in selection order.
    pub fn add_document(&mut self, path: &Path, tokens: &[u64]) {
        for (i, &t) in tokens.iter().enumerate() {
            if let Some(totals) = self.priced.get_mut(i) {
                totals.add_document(t);
            }
            if self
                .windows
                .get(i)
                .copied()
                .flatten()
                .is_some_and(|w| t > w)
            {
                let list = &mut self.over_window[i];
                let at = list.partition_point(|(_, p)| p.as_path() < path);
                list.insert(at, (t, path.to_path_buf()));
            }
        }
    }

    /// Combines the watches of two disjoint sets of documents.
    pub fn merge(&mut self, other: &PriceWatch) {
        for (a, b) in self.priced.iter_mut().zip(&other.priced) {
            a.merge(b);
        }
        for (a, b) in self.over_window.iter_mut().zip(&other.over_window) {
            a.extend(b.iter().cloned());
            a.sort_by(|x, y| x.1.cmp(&y.1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watches_thresholds_and_windows_and_merges_them() {
        let watch = [TokenWatch {
            thresholds: vec![100],
            window: Some(150),
        }];
        let sizes = [50u64, 120, 200, 99, 151];
        let docs: Vec<(PathBuf, u64)> = sizes
            .iter()
            .enumerate()
            .map(|(i, &t)| (PathBuf::from(format!("f{i}")), t))
            .collect();
        let mut whole = PriceWatch::new(&watch);
        for (p, t) in &docs {
            whole.add_document(p, &[*t]);
        }
        assert_eq!(whole.priced[0].tokens, 620);
        assert_eq!(whole.priced[0].above[&100].documents, 3);
        assert_eq!(whole.priced[0].above[&100].tokens, 471);
        let over: Vec<u64> = whole.over_window[0].iter().map(|x| x.0).collect();
        assert_eq!(over, vec![200, 151]);
        let mut a = PriceWatch::new(&watch);
        let mut b = PriceWatch::new(&watch);
        for (i, (p, t)) in docs.iter().enumerate() {
            if i % 2 == 0 {
                a.add_document(p, &[*t])
            } else {
                b.add_document(p, &[*t])
            }
        }
        b.merge(&a);
        assert_eq!(b, whole);
    }
}
