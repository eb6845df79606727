/*!
What a CSV/TSV or JSON/JSONL file's fields hold, per tokenizer: each row or
record a document (`extract::fields`), its tokens input, or output when a
`--role-column` says the model wrote it.

`records = documents + malformed`, per file and summed.
*/

use crate::extract::chat::Malformed;

/// Malformed rows kept by name per file and in the report (the count is
/// always complete).
pub const MALFORMED_KEPT: usize = super::transcript::MALFORMED_KEPT;

/// A fields file's (or a corpus's) figures; token vectors are per
/// tokenizer, in selection order.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldCounts {
    /// Rows or records read: documents plus malformed.
    pub records: u64,
    pub documents: u64,
    /// Documents that are output (`--role-column`).
    pub output_documents: u64,
    pub malformed: u64,
    /// The first [`MALFORMED_KEPT`] malformed rows, by line.
    pub malformed_kept: Vec<Malformed>,
    /// Tokens of input documents.
    pub input: Vec<u64>,
    /// Tokens of output documents.
    pub output: Vec<u64>,
}

impl FieldCounts {
    /// Empty figures for `tokenizers` tokenizers.
    pub fn new(tokenizers: usize) -> Self {
        FieldCounts {
            input: vec![0; tokenizers],
            output: vec![0; tokenizers],
            ..Default::default()
        }
    }

    pub fn add_malformed(&mut self, m: Malformed) {
        self.records += 1;
        self.malformed += 1;
        if self.malformed_kept.len() < MALFORMED_KEPT {
            self.malformed_kept.push(m);
        }
    }

    /// Rows `lines` that could not be read, for one `reason`: counted as
    /// that many malformed records, listed as one entry at the first line.
    pub fn add_malformed_run(&mut self, lines: std::ops::Range<u64>, reason: String) {
        let n = lines.end.saturating_sub(lines.start);
        if n == 0 {
            return;
        }
        self.records += n;
        self.malformed += n;
        if self.malformed_kept.len() < MALFORMED_KEPT {
            let reason = if n == 1 {
                reason
            } else {
                format!(
                    "rows {}-{} ({n} rows): {reason}",
                    lines.start,
                    lines.end - 1
                )
            };
            self.malformed_kept.push(Malformed {
                line: lines.start,
                reason,
            });
        }
    }

    /// One document's tokens, per tokenizer.
    pub fn add_document(&mut self, tokens: &[u64], output: bool) {
        self.records += 1;
        self.documents += 1;
        self.output_documents += u64::from(output);
        let into = if output {
            &mut self.output
        } else {
            &mut self.input
        };
        if into.len() < tokens.len() {
            into.resize(tokens.len(), 0);
        }
        for (a, b) in into.iter_mut().zip(tokens) {
            *a += b;
        }
    }

    /// Adds the figures of a later stretch of the same file, or of another
    /// file (the caller then keeps the malformed rows' paths).
    pub fn merge(&mut self, other: &FieldCounts) {
        self.records += other.records;
        self.documents += other.documents;
        self.output_documents += other.output_documents;
        self.malformed += other.malformed;
        for m in &other.malformed_kept {
            if self.malformed_kept.len() < MALFORMED_KEPT {
                self.malformed_kept.push(m.clone());
            }
        }
        for (into, from) in [
            (&mut self.input, &other.input),
            (&mut self.output, &other.output),
        ] {
            if into.len() < from.len() {
                into.resize(from.len(), 0);
            }
            for (a, b) in into.iter_mut().zip(from) {
                *a += b;
            }
        }
    }

    /// Input plus output per tokenizer: what the file's `tokens` are.
    pub fn total(&self) -> Vec<u64> {
        self.input
            .iter()
            .zip(&self.output)
            .map(|(i, o)| i + o)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_split_by_role_and_merge() {
        let mut a = FieldCounts::new(2);
        a.add_document(&[3, 4], false);
        a.add_document(&[1, 1], true);
        a.add_malformed(Malformed {
            line: 7,
            reason: "x".into(),
        });
        let mut b = FieldCounts::new(2);
        b.add_document(&[10, 20], true);
        a.merge(&b);
        assert_eq!((a.records, a.documents, a.malformed), (4, 3, 1));
        assert_eq!(a.records, a.documents + a.malformed);
        assert_eq!(
            (a.input.clone(), a.output.clone()),
            (vec![3, 4], vec![11, 21])
        );
        assert_eq!(a.total(), vec![14, 25]);
    }
}
