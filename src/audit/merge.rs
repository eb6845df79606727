/*!
`tokenaudit merge`: the reports of an audit's shards (`audit --shard I/N`)
added up to the report one run over the whole corpus makes.

Every shard's report carries its mergeable state (`report::partial`). The
merge reads them, refuses shards that were not counted alike (tool version,
tokenizers by sha256, parser and counting options, roots, prices) or that
do not make a whole (a shard twice, a shard missing), adds the states up,
and describes and prices the sum through the same code as a run
(`Counted::report`), so that everything but `run` is byte-identical to the
single run's report.
*/

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{AuditError, Counted, Described};
use crate::pricing::{PriceProvenance, PricingPlan};
use crate::report::partial::{Partial, State};
use crate::report::{CounterTime, Report, Run, SCHEMA};
use crate::tokenize::TokenizerInfo;

/// One shard's report, read and checked to be a shard's.
pub struct ShardReport {
    pub path: PathBuf,
    provenance: ProvenanceView,
    partial: Partial,
    run: Run,
}

/// The parts of a report a merge compares and takes over.
#[derive(Deserialize)]
struct ReportView {
    schema: String,
    provenance: ProvenanceView,
    partial: Option<Partial>,
    run: Run,
}

#[derive(Clone, Deserialize)]
struct ProvenanceView {
    version: String,
    commit: String,
    parse: String,
    roots: Vec<String>,
    tokenizers: Vec<TokenizerInfo>,
    prices: Option<PriceProvenance>,
}

impl ShardReport {
    /// Reads a shard's JSON report (`audit --shard I/N --json FILE`).
    pub fn read(path: &Path) -> Result<ShardReport, AuditError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| AuditError::Merge(format!("{}: {e}", path.display())))?;
        Self::parse(path, &text)
    }

    /// Parses a shard's JSON report read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<ShardReport, AuditError> {
        let fail = |m: String| AuditError::Merge(format!("{}: {m}", path.display()));
        let view: ReportView = serde_json::from_str(text)
            .map_err(|e| fail(format!("not a tokenaudit JSON report: {e}")))?;
        if view.schema != SCHEMA {
            return Err(fail(format!(
                "schema `{}`, this build reads `{SCHEMA}`",
                view.schema
            )));
        }
        let partial = view.partial.ok_or_else(|| {
            fail(
                "not a shard's report: it was made without --shard, so it has no state to merge"
                    .into(),
            )
        })?;
        let shard = &partial.shard;
        if shard.index == 0 || shard.index > shard.count {
            // Only an edited or damaged report says this; merged, it would
            // add a shard no whole has.
            return Err(fail(format!(
                "shard {}/{}: the index is not between 1 and {}",
                shard.index, shard.count, shard.count
            )));
        }
        Ok(ShardReport {
            path: path.to_path_buf(),
            provenance: view.provenance,
            partial,
            run: view.run,
        })
    }

    /// What must be equal in every shard, by name, as words.
    fn identity(&self) -> Vec<(String, String)> {
        let p = &self.provenance;
        let mut out = vec![
            (
                "tool version".into(),
                format!("{} ({})", p.version, p.commit),
            ),
            (
                "tokenizers".into(),
                p.tokenizers
                    .iter()
                    .map(|t| format!("{} sha256 {}", t.name, t.sha256))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            ("parse".into(), p.parse.clone()),
            ("roots".into(), p.roots.join(", ")),
            ("prices".into(), describe_prices(p.prices.as_ref())),
            (
                "number of shards".into(),
                self.partial.shard.count.to_string(),
            ),
        ];
        for (k, v) in &self.partial.options {
            out.push((format!("option {k}"), v.clone()));
        }
        out
    }
}

fn describe_prices(p: Option<&PriceProvenance>) -> String {
    match p {
        None => "none (not priced)".into(),
        Some(p) => {
            let mut s = format!("{} as of {}", p.source, p.as_of);
            for o in &p.overrides {
                s.push_str("; ");
                s.push_str(o);
            }
            s
        }
    }
}

/// The differences between two identities, as lines.
fn differences(a: &[(String, String)], b: &[(String, String)]) -> Vec<String> {
    let a: BTreeMap<&str, &str> = a.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let b: BTreeMap<&str, &str> = b.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut keys: Vec<&str> = a.keys().chain(b.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(k) != b.get(k))
        .map(|k| {
            format!(
                "  {k}: `{}` vs `{}`",
                a.get(k).copied().unwrap_or("(not given)"),
                b.get(k).copied().unwrap_or("(not given)")
            )
        })
        .collect()
}

/// Merges the shards' reports into one report. `plan` must be the pricing
/// the shards were counted with (the same `-m`, `--scenario`, `--prices`,
/// `--calibration`), or `None` when they were not priced.
pub fn merge(
    shards: Vec<ShardReport>,
    plan: Option<&PricingPlan>,
    command_line: Vec<String>,
) -> Result<Report, AuditError> {
    let Some(first) = shards.first() else {
        return Err(AuditError::Merge("no shard reports to merge".into()));
    };
    let fail = |m: String| Err(AuditError::Merge(m));
    // Counted alike.
    let identity = first.identity();
    for other in &shards[1..] {
        let diff = differences(&identity, &other.identity());
        if !diff.is_empty() {
            return fail(format!(
                "cannot merge {} and {}: they were not counted alike:\n{}",
                first.path.display(),
                other.path.display(),
                diff.join("\n")
            ));
        }
    }
    // A whole: each shard once, none missing.
    let count = first.partial.shard.count;
    let mut by_index: BTreeMap<u32, &Path> = BTreeMap::new();
    for s in &shards {
        if let Some(earlier) = by_index.insert(s.partial.shard.index, &s.path) {
            return fail(format!(
                "{} and {} are both shard {}: a shard merged twice would count its files twice",
                earlier.display(),
                s.path.display(),
                s.partial.shard
            ));
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|i| !by_index.contains_key(i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        let one = missing.len() == 1;
        return fail(format!(
            "shard{} {} {} missing: the merged report would leave {} files out ({} of {count} given)",
            if one { "" } else { "s" },
            missing.join(", "),
            if one { "is" } else { "are" },
            if one { "its" } else { "their" },
            by_index.len()
        ));
    }
    // Priced as they were.
    check_plan(first, plan)?;
    // Added up.
    let mut counted: Option<Counted> = None;
    for s in &shards {
        let state = State::decode(&s.partial.state)
            .and_then(|state| {
                state
                    .check_shape(first.provenance.tokenizers.len())
                    .map(|()| state)
            })
            .map_err(|e| AuditError::Merge(format!("{}: {e}", s.path.display())))?;
        let part = Counted::from_state(state);
        match counted.as_mut() {
            None => counted = Some(part),
            Some(c) => {
                c.tally.merge(&part.tally);
                c.watch.merge(&part.watch);
                c.digest.merge(&part.digest);
                if c.chat_formats.is_empty() {
                    c.chat_formats = part.chat_formats;
                }
            }
        }
    }
    let counted = counted.expect("at least one shard");
    let run = merged_run(&shards, command_line, counted.tally.counted.bytes);
    let p = &first.provenance;
    counted.report(
        Described {
            tokenizers: p.tokenizers.clone(),
            roots: p.roots.clone(),
            parse: p.parse.clone(),
        },
        plan,
        Vec::new(),
        run,
    )
}

/// The merge's pricing must be the shards': same models, scenario,
/// calibration and catalog.
fn check_plan(first: &ShardReport, plan: Option<&PricingPlan>) -> Result<(), AuditError> {
    let recorded: BTreeMap<&str, &str> = first
        .partial
        .options
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("pricing.")?, v.as_str())))
        .collect();
    match plan {
        None if recorded.is_empty() => Ok(()),
        None => Err(AuditError::Merge(format!(
            "the shards were priced ({}): give merge the same pricing options as the audit \
             (-m, --scenario, --prices, --prices-litellm, --calibration)",
            recorded
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join("; ")
        ))),
        Some(_) if recorded.is_empty() => Err(AuditError::Merge(
            "the shards were counted without pricing options: a model's long-context tiers and \
             context window are watched while counting, so audit the shards with -m/--scenario \
             to price them"
                .into(),
        )),
        Some(plan) => {
            let mine: Vec<(String, String)> = plan
                .identity()
                .into_iter()
                .chain([(
                    "prices".to_string(),
                    describe_prices(Some(&plan.provenance())),
                )])
                .collect();
            let theirs: Vec<(String, String)> = recorded
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .chain([(
                    "prices".to_string(),
                    describe_prices(first.provenance.prices.as_ref()),
                )])
                .collect();
            let diff = differences(&theirs, &mine);
            if diff.is_empty() {
                Ok(())
            } else {
                Err(AuditError::Merge(format!(
                    "the pricing options given to merge differ from the shards' (shards vs merge):\n{}",
                    diff.join("\n")
                )))
            }
        }
    }
}

/// The run of a merge: its own command line and start; the shards' threads
/// and counter times summed; the longest shard's wall time (the array's, if
/// the shards ran at once), and the speed that gives.
fn merged_run(shards: &[ShardReport], command_line: Vec<String>, bytes: u64) -> Run {
    let mut counters: Vec<CounterTime> = Vec::new();
    for s in shards {
        for c in &s.run.counters {
            match counters.iter_mut().find(|x| x.tokenizer == c.tokenizer) {
                Some(x) => {
                    x.seconds += c.seconds;
                    x.text_bytes += c.text_bytes;
                }
                None => counters.push(c.clone()),
            }
        }
    }
    let wall = shards
        .iter()
        .map(|s| s.run.wall_seconds)
        .fold(0.0, f64::max);
    Run {
        command_line,
        started_utc: jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
        threads: shards.iter().map(|s| s.run.threads).sum(),
        wall_seconds: wall,
        mb_per_second: if wall > 0.0 {
            ((bytes as f64 / 1e6 / wall) * 10.0).round() / 10.0
        } else {
            0.0
        },
        counters,
    }
}
