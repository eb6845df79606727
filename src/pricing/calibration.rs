/*!
The calibration table: how far a closed model's token count is from its
proxy tokenizer's, per content class, with a band and a source.

Claude and Gemini do not publish their tokenizers, so the catalog prices them
through a proxy (o200k_base, gemma3) and marks the cost an estimate. The
error of that proxy depends on the content: Claude Opus 4.7 counts English
prose about half again above o200k_base, Japanese about the same. The table
(`data/calibration.toml`, embedded like the catalog) gives per model family
and per [`ContentClass`] a multiplier over the proxy with a low–high band, the
sample it was measured on and its source; [`super::band`] applies it.

Which catalog model belongs to which family is part of the table (data, not
code). A user's own file (`--calibration FILE`, e.g. written by `tokenaudit
calibrate`) replaces the families it names and adds others.
*/

use std::collections::BTreeMap;
use std::path::Path;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{parse_embedded, parse_toml, read_file, Catalog, PricingError};
use crate::content::ContentClass;
use crate::tokenize::sources::registry;

/// The table compiled into the binary.
pub const EMBEDDED_CALIBRATION: &str = include_str!("../../data/calibration.toml");
const EMBEDDED_PATH: &str = "data/calibration.toml (embedded)";
/// [`EMBEDDED_CALIBRATION`] as JSON, written by build.rs: what run time reads.
const EMBEDDED_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/calibration.json"));

/// One class's correction: model tokens ≈ `multiplier` × proxy tokens, and
/// the true ratio is expected within `low..=high`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Factor {
    pub multiplier: Decimal,
    pub low: Decimal,
    pub high: Decimal,
    /// What the figure was measured on ("none" when nothing was).
    pub sample: String,
    pub source: String,
    pub as_of: String,
}

/// Closed models that share one tokenizer, and its corrections.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Family {
    pub id: String,
    pub name: String,
    /// The tokenizer the multipliers are over; every member must be priced
    /// through it.
    pub proxy: String,
    /// Catalog model ids.
    pub models: Vec<String>,
    /// One factor for every [`ContentClass`].
    pub classes: BTreeMap<ContentClass, Factor>,
    /// Where the family came from: the embedded table or a user's file.
    pub origin: String,
}

/// Every family, and where the table came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Calibration {
    pub source: String,
    pub as_of: String,
    pub families: Vec<Family>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalibrationFile {
    source: String,
    as_of: String,
    #[serde(default)]
    family: Vec<FamilyEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FamilyEntry {
    id: String,
    name: String,
    proxy: String,
    models: Vec<String>,
    class: BTreeMap<ContentClass, Factor>,
}

impl Calibration {
    /// The table compiled into the binary; checked by a unit test.
    pub fn embedded() -> Calibration {
        let file = parse_embedded(EMBEDDED_JSON);
        Calibration::from_file(EMBEDDED_PATH, EMBEDDED_CALIBRATION, file)
            .expect("the embedded calibration table is checked by the test suite")
    }

    pub fn load(path: impl AsRef<Path>) -> Result<Calibration, PricingError> {
        let path = path.as_ref();
        Calibration::from_toml_str(&path.display().to_string(), &read_file(path)?)
    }

    /// Parses and checks a table: every family has a known proxy, every class,
    /// and `0 < low <= multiplier <= high`; no model is in two families.
    pub fn from_toml_str(path: &str, text: &str) -> Result<Calibration, PricingError> {
        Calibration::from_file(path, text, parse_toml(path, text)?)
    }

    /// Checks a parsed table; `text` is the TOML it was read from, for the
    /// lines errors name.
    fn from_file(
        path: &str,
        text: &str,
        file: CalibrationFile,
    ) -> Result<Calibration, PricingError> {
        let mut families: Vec<Family> = Vec::new();
        for (i, entry) in file.family.into_iter().enumerate() {
            let at = |field: &str| format!("family[{i}].{field}");
            let err = |field: &str, message: String| {
                PricingError::field(path, line_of_family(text, i), at(field), message)
            };
            if registry::named(&entry.proxy).is_none() {
                return Err(err("proxy", format!("unknown tokenizer `{}`", entry.proxy)));
            }
            for class in ContentClass::ALL {
                let Some(f) = entry.class.get(&class) else {
                    return Err(err(
                        &format!("class.{class}"),
                        "missing: every family gives every content class".into(),
                    ));
                };
                if !(Decimal::ZERO < f.low && f.low <= f.multiplier && f.multiplier <= f.high) {
                    return Err(err(
                        &format!("class.{class}"),
                        format!(
                            "need 0 < low <= multiplier <= high, got {} <= {} <= {}",
                            f.low, f.multiplier, f.high
                        ),
                    ));
                }
            }
            for m in &entry.models {
                if let Some(other) = families.iter().find(|f| f.models.contains(m)) {
                    return Err(err(
                        "models",
                        format!("`{m}` is already in family `{}`", other.id),
                    ));
                }
            }
            if families.iter().any(|f| f.id == entry.id) {
                return Err(err("id", format!("family `{}` given twice", entry.id)));
            }
            families.push(Family {
                id: entry.id,
                name: entry.name,
                proxy: entry.proxy,
                models: entry.models,
                classes: entry.class,
                origin: path.to_string(),
            });
        }
        Ok(Calibration {
            source: file.source,
            as_of: file.as_of,
            families,
        })
    }

    /// Layers `other` on top: its families replace those with the same id,
    /// its models leave the family they were in, the rest is added.
    pub fn with(mut self, other: Calibration) -> Calibration {
        for fam in other.families {
            for f in &mut self.families {
                f.models.retain(|m| !fam.models.contains(m));
            }
            match self.families.iter_mut().find(|f| f.id == fam.id) {
                Some(slot) => *slot = fam,
                None => self.families.push(fam),
            }
        }
        self.source = format!("{}; {}", self.source, other.source);
        self
    }

    /// The family of a catalog model id, if it has one.
    pub fn family_of(&self, model_id: &str) -> Option<&Family> {
        self.families
            .iter()
            .find(|f| f.models.iter().any(|m| m.eq_ignore_ascii_case(model_id)))
    }

    /// Checks the table against a catalog: each member is a catalog model
    /// priced through the family's proxy.
    pub fn check_against(&self, catalog: &Catalog) -> Result<(), PricingError> {
        for f in &self.families {
            for m in &f.models {
                let model = catalog.model(m)?;
                if model.tokenizer != f.proxy {
                    return Err(PricingError::field(
                        &f.origin,
                        None,
                        format!("family `{}`.models", f.id),
                        format!(
                            "`{m}` is priced through {}, but the family's multipliers are over {}",
                            model.tokenizer, f.proxy
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The line of the `i`-th `[[family]]` header, for error messages.
fn line_of_family(text: &str, i: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == "[[family]]")
        .nth(i)
        .map(|(n, _)| n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    /// What run time reads (build.rs's JSON) is what the TOML says.
    #[test]
    fn the_embedded_json_reads_as_the_toml_it_was_made_from() {
        let from_toml = Calibration::from_toml_str(EMBEDDED_PATH, EMBEDDED_CALIBRATION).unwrap();
        assert_eq!(Calibration::embedded(), from_toml);
    }

    #[test]
    fn embedded_table_is_valid_and_covers_every_claude_and_gemini_model() {
        let cal = Calibration::embedded();
        let catalog = Catalog::embedded();
        cal.check_against(&catalog).unwrap();
        for m in catalog.models() {
            let closed = m.provider == "anthropic" || m.provider == "google";
            if closed && m.estimate {
                assert!(cal.family_of(&m.id).is_some(), "{} has no family", m.id);
            }
        }
        let new = cal.family_of("claude-opus-4-7").unwrap();
        assert_eq!(new.proxy, "o200k_base");
        let prose = &new.classes[&ContentClass::LatinProse];
        assert!(prose.multiplier > d("1.3") && prose.high > prose.multiplier);
        assert_eq!(new.classes[&ContentClass::Cjk].multiplier, d("1"));
        for f in &cal.families {
            for (class, factor) in &f.classes {
                assert!(!factor.source.is_empty(), "{} {class}", f.id);
                assert!(!factor.as_of.is_empty(), "{} {class}", f.id);
            }
        }
    }

    #[test]
    fn a_band_that_excludes_its_multiplier_names_family_and_class() {
        let bad = EMBEDDED_CALIBRATION.replacen("low = \"1.10\"", "low = \"1.20\"", 1);
        let msg = Calibration::from_toml_str("c.toml", &bad)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("family[0].class.latin-prose"), "{msg}");
        assert!(msg.contains("c.toml:"), "{msg}");
    }

    #[test]
    fn a_missing_class_or_unknown_proxy_is_rejected() {
        let text = "source = \"s\"\nas_of = \"d\"\n[[family]]\nid = \"x\"\nname = \"x\"\nproxy = \"o200k_base\"\nmodels = []\n[family.class.code]\nmultiplier = \"1\"\nlow = \"1\"\nhigh = \"1\"\nsample = \"s\"\nsource = \"s\"\nas_of = \"d\"\n";
        let msg = Calibration::from_toml_str("c.toml", text)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("class.latin-prose"), "{msg}");
        let unknown = text.replace("o200k_base", "o201k");
        let msg = Calibration::from_toml_str("c.toml", &unknown)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("unknown tokenizer"), "{msg}");
    }

    #[test]
    fn a_user_family_takes_its_models_from_the_embedded_one() {
        let mut mine = Calibration::embedded();
        mine.families.retain(|f| f.id == "gemini-2.5");
        mine.families[0].id = "my-gemini".into();
        mine.families[0].models = vec!["gemini-2.5-pro".into()];
        let merged = Calibration::embedded().with(mine);
        assert_eq!(merged.family_of("gemini-2.5-pro").unwrap().id, "my-gemini");
        assert_eq!(
            merged.family_of("gemini-2.5-flash").unwrap().id,
            "gemini-2.5"
        );
    }
}
