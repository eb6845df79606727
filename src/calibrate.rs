/*!
`tokenaudit calibrate`: a calibration file fitted from what a provider
actually counted, for `--calibration FILE`.

The input is a CSV with a header naming at least `path` and `input_tokens`:
the input tokens a provider reported (a usage export, a billing line) for a
request whose input was that file's text. Relative paths are taken from the
CSV's folder. `framing` is subtracted from every row: the tokens a request
adds around the text (message framing, a fixed system prompt).

Each file is counted with the model's proxy tokenizer and classed as the
audit classes it (the content class with the most bytes); the multiplier of
each class is fitted as `--count-api` fits it (`count_api::fit`). Classes
without rows keep the embedded table's factor and say so. A row that cannot
be used (a missing file, a count that is not a number) is listed with its
line, never guessed at.
*/

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::content::ContentClass;
use crate::count::{Engine, Outcome};
use crate::count_api::fit::{fit, FittedClass, Observation};
use crate::discover::Source;
use crate::pricing::calibration::{Factor, Family};
use crate::pricing::ModelPrice;

/// What calibrating produced.
pub struct Calibrated {
    /// The calibration file (the format of `data/calibration.toml`).
    pub toml: String,
    pub fitted: Vec<FittedClass>,
    /// Rows used.
    pub rows: usize,
    /// Rows left out, each with its line and why.
    pub skipped: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CalibrateError {
    #[error("{path}: {message}")]
    Csv { path: String, message: String },
    #[error(
        "{path}: no usable row (the CSV needs `path` and `input_tokens`; {skipped} rows left out)"
    )]
    Empty { path: String, skipped: usize },
}

#[derive(Serialize)]
struct OutFile {
    source: String,
    as_of: String,
    family: Vec<OutFamily>,
}

#[derive(Serialize)]
struct OutFamily {
    id: String,
    name: String,
    proxy: String,
    models: Vec<String>,
    class: BTreeMap<ContentClass, Factor>,
}

/// Fits a family for `model` from the CSV at `csv_path`; `table` is the
/// model's family in the embedded table (for classes without rows), and
/// `engine` counts with the model's tokenizer alone.
pub fn calibrate(
    csv_path: &Path,
    model: &ModelPrice,
    table: Option<&Family>,
    engine: &Engine,
    framing: u64,
) -> Result<Calibrated, CalibrateError> {
    let shown = csv_path.display().to_string();
    let csv_err = |message: String| CalibrateError::Csv {
        path: shown.clone(),
        message,
    };
    let mut reader = csv::Reader::from_path(csv_path).map_err(|e| csv_err(e.to_string()))?;
    let headers = reader
        .headers()
        .map_err(|e| csv_err(e.to_string()))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| csv_err(format!("no `{name}` column in the header")))
    };
    let (path_col, tokens_col) = (column("path")?, column("input_tokens")?);
    let base = csv_path.parent().unwrap_or(Path::new("."));
    let mut observations = Vec::new();
    let mut skipped = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                skipped.push(format!("{shown}:{line}: {e}"));
                continue;
            }
        };
        let path = PathBuf::from(record.get(path_col).unwrap_or("").trim());
        let path = if path.is_absolute() {
            path
        } else {
            base.join(path)
        };
        let reported = record.get(tokens_col).unwrap_or("").trim();
        let Ok(reported) = reported.parse::<u64>() else {
            skipped.push(format!(
                "{shown}:{line}: `input_tokens` is `{reported}`, not a whole number"
            ));
            continue;
        };
        let source = Source {
            path: path.clone(),
            len: None,
            category: String::new(),
        };
        let file = match engine.count_source(&source) {
            Outcome::Counted(f) => f,
            Outcome::Skipped(s) => {
                skipped.push(format!("{shown}:{line}: {}: {}", path.display(), s.reason));
                continue;
            }
        };
        let Some(class) = file
            .classes
            .iter()
            .max_by_key(|(c, t)| (t.bytes, std::cmp::Reverse(**c)))
            .map(|(c, _)| *c)
        else {
            skipped.push(format!("{shown}:{line}: {}: empty", path.display()));
            continue;
        };
        observations.push(Observation {
            class,
            proxy: file.tokens.first().copied().unwrap_or(0),
            api: reported.saturating_sub(framing),
        });
    }
    if observations.is_empty() {
        return Err(CalibrateError::Empty {
            path: shown,
            skipped: skipped.len(),
        });
    }
    let fitted = fit(&observations);
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    let mut classes = BTreeMap::new();
    for class in ContentClass::ALL {
        let factor = match fitted.iter().find(|f| f.class == class) {
            Some(f) => Factor {
                multiplier: f.multiplier,
                low: f.low,
                high: f.high,
                sample: format!(
                    "{} files of {shown}, {} proxy tokens, {} reported",
                    f.documents, f.proxy_tokens, f.api_tokens
                ),
                source: format!(
                    "tokenaudit calibrate: reported input tokens over {} counts, framing of {framing} subtracted per row",
                    model.tokenizer
                ),
                as_of: today.clone(),
            },
            None => match table.and_then(|t| t.classes.get(&class)) {
                Some(f) => Factor {
                    source: format!(
                        "no rows of this class; from the embedded table (family {}): {}",
                        table.map(|t| t.id.as_str()).unwrap_or(""),
                        f.source
                    ),
                    ..f.clone()
                },
                // A model outside the table: no figure at all, so the proxy
                // count with the widest band any table entry uses.
                None => Factor {
                    multiplier: rust_decimal::Decimal::ONE,
                    low: rust_decimal::Decimal::new(7, 1),
                    high: rust_decimal::Decimal::new(2, 0),
                    sample: "none".into(),
                    source: "no rows of this class and no table entry for the model".into(),
                    as_of: today.clone(),
                },
            },
        };
        classes.insert(class, factor);
    }
    let out = OutFile {
        source: format!("tokenaudit calibrate from {shown}"),
        as_of: today,
        family: vec![OutFamily {
            id: format!("calibrated-{}", model.id),
            name: format!("{} (calibrated from {shown})", model.id),
            proxy: model.tokenizer.clone(),
            models: vec![model.id.clone()],
            class: classes,
        }],
    };
    let toml = toml::to_string(&out).map_err(|e| csv_err(format!("cannot write TOML: {e}")))?;
    Ok(Calibrated {
        toml,
        fitted,
        rows: observations.len(),
        skipped,
    })
}
