/*!
Exact counts from the providers, when the user asks for them
(`--count-api anthropic|gemini`).

Anthropic and Google count tokens for free (`count_tokens`,
`countTokens`) though they do not publish their tokenizers. This stage sends
the stratified sample the tally kept ([`crate::tally::DocSample`]: a few
documents per category and content class, or all of them) to the provider,
once per priced model of that provider, and hands the price stage:

- per content class, the multiplier of the provider's count over the proxy's
  fitted on this corpus, with its spread ([`fit`]);
- the documents counted, whose exact count then replaces their estimate.

Each answer includes the message framing (the user turn around the text),
which billing of a whole corpus must not count once per document: it is
measured first with a minimal probe, the one-character message `a` (one
token in every tokenizer we know), and subtracted. Answers are cached on disk
([`cache`]) by the sha256 of the text and the model. A failure never becomes
a zero: the model falls back to the calibration table, and the report says
why ([`CountApiReport::warnings`]).

Nothing here runs unless the flag is given; the key comes from
`ANTHROPIC_API_KEY` / `GEMINI_API_KEY`, the address from `ANTHROPIC_BASE_URL`
/ `GEMINI_BASE_URL` (default the public endpoints).
*/

pub mod cache;
pub mod client;
pub mod fit;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::content::ContentClass;
use crate::discover::Source;
use crate::extract;
use crate::load;
use crate::tally::DocSample;

pub use fit::FittedClass;

/// A provider with a token-counting endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Anthropic,
    Gemini,
}

impl Provider {
    pub fn name(self) -> &'static str {
        match self {
            Provider::Anthropic => "anthropic",
            Provider::Gemini => "gemini",
        }
    }

    /// The catalog's `provider` of the models this endpoint counts for.
    pub fn catalog_provider(self) -> &'static str {
        match self {
            Provider::Anthropic => "anthropic",
            Provider::Gemini => "google",
        }
    }

    pub fn key_variable(self) -> &'static str {
        match self {
            Provider::Anthropic => "ANTHROPIC_API_KEY",
            Provider::Gemini => "GEMINI_API_KEY",
        }
    }

    pub fn base_variable(self) -> &'static str {
        match self {
            Provider::Anthropic => "ANTHROPIC_BASE_URL",
            Provider::Gemini => "GEMINI_BASE_URL",
        }
    }

    pub fn default_base(self) -> &'static str {
        match self {
            Provider::Anthropic => "https://api.anthropic.com",
            Provider::Gemini => "https://generativelanguage.googleapis.com",
        }
    }
}

/// How to reach one provider and how hard to ask.
#[derive(Clone, Debug)]
pub struct CountApiConfig {
    pub provider: Provider,
    /// Base address, e.g. `https://api.anthropic.com`.
    pub endpoint: String,
    pub key: String,
    /// Documents per category and content class; `usize::MAX` for all.
    pub per_stratum: usize,
    /// Where answers are cached (`None`: this run only).
    pub cache_dir: Option<PathBuf>,
    /// 0 for no limit.
    pub requests_per_minute: u32,
    /// Further attempts after a 429, a 5xx or a failed connection.
    pub retries: u32,
    /// The first wait before a retry; doubled at each further one.
    pub backoff: Duration,
    /// For one whole request.
    pub timeout: Duration,
}

impl CountApiConfig {
    /// Key and address from the environment, with the defaults for the
    /// rest; an error names the missing variable.
    pub fn from_env(provider: Provider, per_stratum: usize) -> Result<Self, String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let key = var(provider.key_variable()).ok_or_else(|| {
            format!(
                "--count-api {} needs an API key in {}",
                provider.name(),
                provider.key_variable()
            )
        })?;
        Ok(CountApiConfig {
            provider,
            endpoint: var(provider.base_variable())
                .unwrap_or_else(|| provider.default_base().to_string()),
            key,
            per_stratum,
            cache_dir: dirs::cache_dir().map(|d| d.join("tokenaudit").join("count-api")),
            requests_per_minute: 50,
            retries: 4,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(60),
        })
    }
}

/// A priced model to count for: its id, and the tally column of its proxy.
#[derive(Clone, Debug)]
pub struct Target {
    pub model: String,
    pub column: usize,
}

/// What one model's counting gave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModelMeasure {
    pub model: String,
    /// The provider's count of the probe minus its one token.
    pub framing_tokens: u64,
    /// Documents counted (framing subtracted) and their proxy count.
    pub documents: u64,
    pub api_tokens: u64,
    /// The same documents' proxy tokens, per class of their pieces.
    pub proxy_tokens: BTreeMap<ContentClass, u64>,
    /// Per class (by each document's dominant class).
    pub fitted: Vec<FittedClass>,
}

/// What `--count-api` did, for the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CountApiReport {
    pub provider: Provider,
    /// The address counted against (for the first model).
    pub endpoint: String,
    /// Documents whose text was sent at least once (not answered from the
    /// cache), and their bytes per request sent.
    pub documents_sent: u64,
    pub bytes_sent: u64,
    pub requests: u64,
    /// Answers taken from the cache instead of asked again.
    pub cached_answers: u64,
    pub models: Vec<ModelMeasure>,
    /// Everything that did not go as asked; each names what the estimate
    /// fell back to.
    pub warnings: Vec<String>,
}

/// One count, from the cache when it has it; `true` when it was asked.
fn ask(
    client: &mut client::Client,
    cache: &mut cache::Cache,
    report: &mut CountApiReport,
    model: &str,
    text: &str,
    sha: &str,
) -> Result<(u64, bool), String> {
    if let Some(n) = cache.get(sha, model) {
        report.cached_answers += 1;
        return Ok((n, false));
    }
    let n = client.count(model, text)?;
    report.bytes_sent += text.len() as u64;
    cache.put(sha, model, n);
    Ok((n, true))
}

/// The probe whose count is the framing plus one token.
const PROBE: &str = "a";

/// Counts the sampled documents for each target model.
pub fn measure(config: &CountApiConfig, sample: &DocSample, targets: &[Target]) -> CountApiReport {
    let mut client = client::Client::new(config);
    let mut cache = cache::Cache::open(config.cache_dir.as_deref(), config.provider.name());
    let mut report = CountApiReport {
        provider: config.provider,
        endpoint: targets
            .first()
            .map(|t| client.url(&t.model))
            .unwrap_or_else(|| config.endpoint.clone()),
        documents_sent: 0,
        bytes_sent: 0,
        requests: 0,
        cached_answers: 0,
        models: Vec::new(),
        warnings: Vec::new(),
    };
    if cache.unreadable > 0 {
        report.warnings.push(format!(
            "{} unreadable lines in the count cache were ignored",
            cache.unreadable
        ));
    }
    // The framing of each model, from the probe.
    struct Live {
        target: Target,
        framing: u64,
        observations: Vec<fit::Observation>,
        measure: ModelMeasure,
        failures: u64,
        first_error: Option<String>,
    }
    let mut live: Vec<Live> = Vec::new();
    let probe_sha = cache::sha256_hex(PROBE);
    for t in targets {
        match ask(
            &mut client,
            &mut cache,
            &mut report,
            &t.model,
            PROBE,
            &probe_sha,
        ) {
            Ok((n, _)) => {
                let framing = n.saturating_sub(1);
                live.push(Live {
                    target: t.clone(),
                    framing,
                    observations: Vec::new(),
                    measure: ModelMeasure {
                        model: t.model.clone(),
                        framing_tokens: framing,
                        documents: 0,
                        api_tokens: 0,
                        proxy_tokens: BTreeMap::new(),
                        fitted: Vec::new(),
                    },
                    failures: 0,
                    first_error: None,
                })
            }
            Err(e) => report.warnings.push(format!(
                "{}: the framing probe failed ({e}); {} is estimated from the calibration table",
                config.provider.name(),
                t.model
            )),
        }
    }

    // Documents outer, models inner: each text is loaded once.
    if !live.is_empty() {
        for doc in sample.documents() {
            let source = Source {
                path: doc.path.clone(),
                len: None,
                category: String::new(),
            };
            if source.is_stdin() {
                report.warnings.push(
                    "standard input cannot be read again to be sent; it stays estimated".into(),
                );
                continue;
            }
            let loaded = match load::load(&source) {
                Ok(d) => d,
                Err(reason) => {
                    report.warnings.push(format!(
                        "{}: cannot be read again to be sent ({reason:?}); it stays estimated",
                        doc.path.display()
                    ));
                    continue;
                }
            };
            let text: String = extract::extract(loaded.text())
                .iter()
                .map(|s| s.text)
                .collect();
            let sha = cache::sha256_hex(&text);
            let mut sent = false;
            for l in &mut live {
                match ask(
                    &mut client,
                    &mut cache,
                    &mut report,
                    &l.target.model,
                    &text,
                    &sha,
                ) {
                    Ok((n, fresh)) => {
                        sent |= fresh;
                        let api = n.saturating_sub(l.framing);
                        let col = l.target.column;
                        l.observations.push(fit::Observation {
                            class: doc.class,
                            proxy: doc.tokens.get(col).copied().unwrap_or(0),
                            api,
                        });
                        l.measure.documents += 1;
                        l.measure.api_tokens += api;
                        for (c, t) in &doc.classes {
                            *l.measure.proxy_tokens.entry(*c).or_default() +=
                                t.tokens.get(col).copied().unwrap_or(0);
                        }
                    }
                    Err(e) => {
                        l.failures += 1;
                        l.first_error.get_or_insert(e);
                    }
                }
            }
            report.documents_sent += u64::from(sent);
        }
    }
    for mut l in live {
        if let Some(e) = &l.first_error {
            report.warnings.push(format!(
                "{}: {} of {} sampled documents could not be counted for {} (first error: {e}); {}",
                config.provider.name(),
                l.failures,
                l.failures + l.measure.documents,
                l.target.model,
                if l.measure.documents == 0 {
                    "the model is estimated from the calibration table"
                } else {
                    "the rest were fitted"
                }
            ));
        }
        l.measure.fitted = fit::fit(&l.observations);
        if l.measure.documents > 0 {
            report.models.push(l.measure);
        }
    }
    report.requests = client.requests;
    if let Err(e) = cache.save() {
        report.warnings.push(e);
    }
    report
}
