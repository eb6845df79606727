/*!
The command line: flags as the user types them (clap), then the decisions
made from them ([`AuditArgs::into_config`]). The rest of the program never
sees raw flags.
*/

pub mod commands;
mod outputs;

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand};

use tokenaudit::audit::AuditConfig;
use tokenaudit::count::chat_format::ChatFormat;
use tokenaudit::discover::{self, CategoryRule, Filters};
use tokenaudit::extract::document::{DocxParts, Limits};
use tokenaudit::extract::fields::{FieldPath, FieldSpec};
use tokenaudit::extract::Parse;
use tokenaudit::pricing::{Catalog, PricingPlan, Scenario};
use tokenaudit::shard::Shard;
use tokenaudit::tokenize;

#[derive(Debug, Parser)]
#[command(
    name = "tokenaudit",
    version,
    about = "Audit AI token consumption: exact token counts of corpora for several model tokenizers",
    long_about = "Audit AI token consumption.\n\n\
        tokenaudit walks folders of prompts, documents, transcripts and code, counts their \
        tokens exactly with several model tokenizers on every core, and reports where the tokens \
        come from. Every file is accounted for: counted, or skipped with its reason.\n\n\
        Exit codes: 0 audit completed (also with skipped files); 1 a gate failed; \
        2 usage, configuration or fatal I/O error.",
    after_help = "Examples:\n  \
        tokenaudit audit fixtures/corpus\n  \
        tokenaudit audit corpus -t o200k_base,cl100k_base --json report.json --csv files.csv\n  \
        tokenaudit audit . --include '*.md' --exclude 'target/**' --category legal='**/contracts/**'\n  \
        cat prompt.txt | tokenaudit audit - -t cl100k_base\n  \
        tokenaudit audit fixtures/corpus -m gpt-5.4-mini,claude-sonnet-4-6 --scenario fixtures/scenario.toml\n  \
        tokenaudit check prompts/ -m gpt-5.4 --budget 5 --max-context --junit check.xml"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Count the tokens of files and folders, with an account of every file;
    /// with -m, what sending them costs; with --scenario, a monthly projection.
    Audit(Box<AuditArgs>),
    /// Compare tokenizers on a corpus: tokens by category and by script,
    /// relative to a baseline, in dollars per model (-m) and in MB/s.
    Compare(Box<CompareArgs>),
    /// A pre-flight gate for CI: exit 1 when a budget or a context window is exceeded.
    Check(Box<CheckArgs>),
    /// Merge the JSON reports of an audit's shards (`audit --shard I/N`)
    /// into the report of the whole corpus.
    Merge(Box<MergeArgs>),
    /// List the priced models: prices, context window, tokenizer, as-of date.
    Models(ModelsArgs),
    /// List the tokenizers tokenaudit knows: installed or not, source, sha256, models.
    Tokenizers(TokenizersArgs),
    /// Print a shell completion script: `tokenaudit completions bash > /etc/bash_completion.d/tokenaudit`
    /// (also zsh, fish, elvish, powershell).
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `tokenaudit man > tokenaudit.1; man ./tokenaudit.1`.
    Man,
    /// Fit a calibration file (for --calibration) from a CSV of files and the
    /// input tokens a provider reported for them.
    Calibrate(CalibrateArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    for i in 1 2 3; do tokenaudit audit corpus --shard $i/3 -q --json part-$i.json; done\n  \
    tokenaudit merge part-*.json --json report.json --html report.html\n  \
    tokenaudit merge part-*.json -m gpt-5.4-mini --focus costs.csv    # shards audited with -m gpt-5.4-mini\n\n\
    Every shard must be given once. Shards counted differently (tool version, tokenizers, \
    options, roots, prices) are refused with what differs. Per-file rows (--csv) are written \
    by each shard; see docs/scale-out.md.")]
pub struct MergeArgs {
    /// The shards' JSON reports (`audit --shard I/N --json FILE`), all N of them.
    #[arg(value_name = "REPORT.json", required = true)]
    pub reports: Vec<PathBuf>,

    /// The pricing options the shards were audited with (the same -m,
    /// --scenario, --prices, --prices-litellm, --calibration).
    #[command(flatten)]
    pub pricing: PriceArgs,

    /// Write the merged canonical JSON report to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    #[command(flatten)]
    pub outputs: ReportOutputs,
}

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// CSV with a header naming `path` (relative to the CSV's folder, or
    /// absolute) and `input_tokens` (what the provider billed or counted for a
    /// request whose input was that file's text).
    #[arg(value_name = "CSV")]
    pub csv: PathBuf,

    /// The catalog model the counts are of (e.g. claude-opus-4-7).
    #[arg(short, long, value_name = "NAME")]
    pub model: String,

    /// Tokens each request adds around the text (message framing, a fixed
    /// system prompt), subtracted from every row.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub framing: u64,

    /// Write the calibration file here instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Price file layered on the embedded catalog (for a model it lacks).
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,

    /// Where named tokenizer files are (default: $TOKENAUDIT_TOKENIZER_DIR,
    /// else the user's cache dir).
    #[arg(long, value_name = "DIR")]
    pub tokenizer_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TokenizersArgs {
    /// Print the list as JSON.
    #[arg(long)]
    pub json: bool,

    /// Where named tokenizer files are (default: $TOKENAUDIT_TOKENIZER_DIR,
    /// else the user's cache dir).
    #[arg(long, value_name = "DIR")]
    pub tokenizer_dir: Option<PathBuf>,
}

/// What to read and how to count it: shared by `audit` and `check`.
#[derive(Debug, Args)]
pub struct CorpusArgs {
    /// Files or folders to audit; `-` reads standard input. Default: `.`
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Tokenizers to count with, comma-separated or repeated (see
    /// `tokenaudit tokenizers`). Default: o200k_base, or the priced models' tokenizers.
    #[arg(
        short = 't',
        long = "tokenizer",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub tokenizers: Vec<String>,

    /// Where named tokenizer files are (filled by `scripts/fetch-tokenizers`).
    /// Default: $TOKENAUDIT_TOKENIZER_DIR, else the user's cache dir.
    #[arg(long, value_name = "DIR")]
    pub tokenizer_dir: Option<PathBuf>,

    /// Split pattern for `-t tiktoken:FILE`: a name (cl100k, o200k, p50k,
    /// llama3, llama4, qwen2, qwen3.5, tekken) or a regex.
    #[arg(long, value_name = "NAME|REGEX")]
    pub pattern: Option<String>,

    /// Only audit files whose path (relative to the root given) matches GLOB. Repeatable.
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,

    /// Leave out files and folders whose relative path matches GLOB. Repeatable.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// Also audit hidden files and folders (names starting with `.`).
    #[arg(long)]
    pub hidden: bool,

    /// Also audit what `.gitignore` files (in a git work tree) and `.ignore`
    /// files ignore. By default those files and folders are listed as
    /// skipped, `ignored`, with the rule, and folders are not entered: build
    /// output and dependencies are not what a model is sent.
    #[arg(long)]
    pub no_ignore: bool,

    /// Follow symbolic links (loops are detected and reported as skipped).
    #[arg(short = 'L', long)]
    pub follow: bool,

    /// Skip files larger than SIZE (bytes, or with K, M, G suffix: 10M).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,

    /// Attribute files matching GLOB to category NAME (NAME=GLOB, repeatable,
    /// first match wins). Default: the first folder below the root, or `.`.
    #[arg(long, value_name = "NAME=GLOB")]
    pub category: Vec<String>,

    /// How files are turned into model input (auto: documents such as PDF,
    /// DOCX and HTML by their extracted text, JSON/JSONL chat transcripts by
    /// conversation, CSV/TSV and Parquet by --column and JSON/JSONL by
    /// --field when given, everything else as text; standard input by its
    /// content: chat records when it has their shape).
    #[arg(long, value_enum, default_value_t = Parse::Auto)]
    pub parse: Parse,

    /// A CSV/TSV or Parquet column (by its name) whose cells are the text;
    /// repeatable. Each row is one document: its columns' cells joined by
    /// newlines. `.csv`/`.tsv` and `.parquet` files are read by rows when
    /// this is given.
    /// Example: --column prompt --column response.
    #[arg(long, value_name = "NAME")]
    pub column: Vec<String>,

    /// A CSV/TSV or Parquet column saying whose each row is: rows whose cell is
    /// assistant, gpt, model or output count as output tokens, the others as
    /// input.
    #[arg(long, value_name = "NAME")]
    pub role_column: Option<String>,

    /// A JSON/JSONL field whose values are the text, as a dot path with []
    /// for every element of an array; repeatable. Each record (a JSONL line,
    /// an element of a top-level array) is one document: its values joined
    /// by newlines. `.json`/`.jsonl` files are read as `json` when this is
    /// given. Example: --field 'messages[].content' --field meta.title.
    #[arg(long, value_name = "PATH")]
    pub field: Vec<String>,

    /// The chat format whose per-message overhead transcripts are charged
    /// with, for every tokenizer (default: each tokenizer's own).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub chat_format: Option<ChatFormat>,

    /// Skip a document whose text or zip parts unpack to more than SIZE
    /// (bytes, or K, M, G): a zip bomb stops here.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "256M")]
    pub max_extracted_size: u64,

    /// Skip a document whose extraction takes longer than SECONDS.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub extract_timeout: f64,

    /// Which parts of DOCX files are text: a comma-separated list of body,
    /// tables, headers, footers, footnotes (with endnotes), comments, or all.
    #[arg(
        long,
        value_name = "PARTS",
        default_value = "body,tables,headers,footers,footnotes"
    )]
    pub docx_parts: DocxParts,

    /// Also break the counts down by the language of each piece of text,
    /// as detected by whatlang from a sample (a guess, reported as such).
    #[arg(long)]
    pub lang: bool,

    /// Worker threads (default: one per core; at most 1024).
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,

    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Which models to price, at which prices, under which scenario: what
/// `audit`, `check`, `compare` and `merge` price with.
#[derive(Debug, Args)]
pub struct PriceArgs {
    /// Price the corpus for these models (ids or aliases, see `tokenaudit
    /// models`); their tokenizers are counted automatically.
    #[arg(
        short = 'm',
        long = "model",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub models: Vec<String>,

    /// A monthly usage scenario (TOML): workloads, phases, budget, value hypothesis.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,

    /// Your own prices, in the catalog's format: overrides and additions.
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,

    /// Prices from a LiteLLM model_prices_and_context_window.json, as is.
    #[arg(long, value_name = "FILE")]
    pub prices_litellm: Option<PathBuf>,

    /// Closed models' corrections over their proxy tokenizers, layered on
    /// the embedded table (the format of data/calibration.toml; `tokenaudit
    /// calibrate` writes one).
    #[arg(long, value_name = "FILE")]
    pub calibration: Option<PathBuf>,
}

/// Which models to price, at which prices, under which scenario, and
/// whether to ask the providers' count APIs.
#[derive(Debug, Args)]
pub struct PricingArgs {
    #[command(flatten)]
    pub price: PriceArgs,
    /// Count a sample of the corpus with the provider's free token-counting
    /// API (sends text: key from ANTHROPIC_API_KEY / GEMINI_API_KEY, address
    /// from ANTHROPIC_BASE_URL / GEMINI_BASE_URL); repeat for both.
    #[arg(long, value_enum, value_name = "PROVIDER")]
    pub count_api: Vec<CountApiArg>,

    /// Documents per category and content class sent by --count-api, or `all`.
    #[arg(long, value_name = "N|all", default_value = "3", value_parser = parse_sample)]
    pub count_api_sample: usize,

    /// Where --count-api answers are cached [default: the user cache
    /// folder, tokenaudit/count-api].
    #[arg(long, value_name = "DIR")]
    pub count_api_cache: Option<PathBuf>,

    /// Requests per minute sent by --count-api (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub count_api_rpm: u32,

    /// Seconds one --count-api request may take before it is abandoned
    /// (and retried).
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub count_api_timeout: u64,

    /// Further attempts of a --count-api request after a 429, a 5xx, a
    /// timeout or a failed connection.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub count_api_retries: u32,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub corpus: CorpusArgs,

    #[command(flatten)]
    pub pricing: PricingArgs,

    /// Write the canonical JSON report to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Write one CSV row per file seen to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,

    #[command(flatten)]
    pub outputs: ReportOutputs,

    /// Audit only shard I of N (1 ≤ I ≤ N) of the files, split by a stable
    /// hash of each path relative to its root; `auto/N` takes I from the
    /// scheduler (JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX,
    /// SLURM_ARRAY_TASK_ID). Merge the shards' --json reports with
    /// `tokenaudit merge`.
    #[arg(long, value_name = "I/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,

    /// Exit with status 2 if any file was skipped (this run's own reports
    /// excepted) or any chat record, CSV row or JSON record was malformed.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    tokenaudit compare corpus -t all\n  \
    tokenaudit compare corpus -t o200k_base,llama3,qwen2,gemma3 --baseline llama3 --json cmp.json\n  \
    tokenaudit compare corpus -t all -m gpt-5.4-mini,claude-sonnet-4-6 --markdown cmp.md\n  \
    tokenaudit compare corpus -t all --bench 5 -j 1")]
pub struct CompareArgs {
    #[command(flatten)]
    pub corpus: CorpusArgs,

    #[command(flatten)]
    pub pricing: PricingArgs,

    /// The tokenizer the others are divided by (default o200k_base when
    /// counted, else the first); counted even if not in -t.
    #[arg(long, value_name = "NAME")]
    pub baseline: Option<String>,

    /// Write the comparison as JSON (tokenaudit.compare/v1) to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Write the comparison as CSV (a row per section, group and tokenizer) to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,

    /// Write the comparison as Markdown tables to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,

    /// Write the audit's self-contained HTML report to FILE, its tokenizer
    /// comparison (whole corpus, categories, scripts, detected languages
    /// with --lang) relative to the baseline (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// Run the comparison N times (default 5) and report each tokenizer's
    /// median MB/s with min–max, peak RSS, the machine and the corpus digest.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "5")]
    pub bench: Option<usize>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub corpus: CorpusArgs,

    #[command(flatten)]
    pub pricing: PricingArgs,

    /// Fail when the projected monthly cost (with --scenario) or the one-pass
    /// input cost of the corpus (without) exceeds USD.
    #[arg(long, value_name = "USD")]
    pub budget: Option<rust_decimal::Decimal>,

    /// Fail when any document exceeds a model's context window.
    #[arg(long)]
    pub max_context: bool,

    /// Which end of a closed model's estimate band is compared with the budget.
    #[arg(long, value_enum, default_value_t = EstimateArg::High)]
    pub estimate: EstimateArg,

    /// Write the result as JUnit XML to FILE, for CI test reports.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// Write the full JSON report to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Write the summary as Markdown to FILE (`-` for stdout), e.g. for a
    /// pull-request comment.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

/// The rendered reports `audit` can write besides the JSON and the CSV,
/// all from the one count.
#[derive(Debug, Args)]
pub struct ReportOutputs {
    /// Write a self-contained HTML report with charts to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// Write the summary as Markdown tables to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,

    /// Write the costs as a FOCUS 1.2 CSV (FinOps cost and usage) to FILE
    /// (`-` for stdout); needs -m or --scenario.
    #[arg(long, value_name = "FILE")]
    pub focus: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// Print the catalog as JSON.
    #[arg(long)]
    pub json: bool,

    /// Your own prices, in the catalog's format: overrides and additions.
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,

    /// Prices from a LiteLLM model_prices_and_context_window.json, as is.
    #[arg(long, value_name = "FILE")]
    pub prices_litellm: Option<PathBuf>,
}

/// `--count-api`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CountApiArg {
    Anthropic,
    Gemini,
}

/// `--count-api-sample N|all`.
pub fn parse_sample(s: &str) -> Result<usize, String> {
    match s.trim() {
        "all" => Ok(usize::MAX),
        n => match n.parse::<usize>() {
            Ok(0) | Err(_) => Err(format!(
                "`{s}`: expected a number of documents (1 or more) or `all`"
            )),
            Ok(n) => Ok(n),
        },
    }
}

/// `check --estimate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EstimateArg {
    Central,
    High,
    Low,
}

impl From<EstimateArg> for tokenaudit::pricing::EstimatePoint {
    fn from(a: EstimateArg) -> Self {
        match a {
            EstimateArg::Central => Self::Central,
            EstimateArg::High => Self::High,
            EstimateArg::Low => Self::Low,
        }
    }
}

/// Parses `1234`, `10K`, `10M`, `1G` (binary multiples), `1.5M`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let bad = || format!("`{s}` is not a size (examples: 4096, 10K, 1.5M, 1G)");
    let t = s.trim();
    let (num, shift) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 10),
        Some('M') => (&t[..t.len() - 1], 20),
        Some('G') => (&t[..t.len() - 1], 30),
        Some('T') => (&t[..t.len() - 1], 40),
        _ => (t, 0),
    };
    // Integers only, so `nan`, `inf` or `-1` cannot become a size of 0 that
    // skips every file; a decimal fraction is taken to the byte, rounded down.
    let (whole, fraction) = num.split_once('.').unwrap_or((num, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let mut bytes = whole
        .checked_shl(shift)
        .filter(|v| v >> shift == whole)
        .ok_or_else(bad)?;
    if !fraction.is_empty() && shift > 0 {
        // fraction / 10^len × 2^shift, in integers (at most 18 digits kept).
        let digits = &fraction[..fraction.len().min(18)];
        let f: u128 = digits.parse().map_err(|_| bad())?;
        let part = (f << shift) / 10u128.pow(digits.len() as u32);
        bytes = bytes.checked_add(part as u64).ok_or_else(bad)?;
    }
    Ok(bytes)
}

/// The embedded catalog with the user's price files layered on top.
pub fn catalog(prices: Option<&Path>, litellm: Option<&Path>) -> Result<Catalog> {
    let mut catalog = Catalog::embedded();
    if let Some(p) = prices {
        catalog = catalog.with_overrides(p)?;
    }
    if let Some(p) = litellm {
        catalog = catalog.with_litellm(p)?;
    }
    Ok(catalog)
}

impl PricingArgs {
    /// `None` when nothing is to be priced.
    pub fn plan(&self) -> Result<Option<PricingPlan>> {
        self.price.plan()
    }
}

impl PriceArgs {
    /// `None` when nothing is to be priced.
    pub fn plan(&self) -> Result<Option<PricingPlan>> {
        if self.models.is_empty() && self.scenario.is_none() {
            if self.prices.is_some() || self.prices_litellm.is_some() || self.calibration.is_some()
            {
                bail!("--prices, --prices-litellm and --calibration need a model (-m) or a --scenario");
            }
            return Ok(None);
        }
        let catalog = catalog(self.prices.as_deref(), self.prices_litellm.as_deref())?;
        let scenario = self.scenario.as_ref().map(Scenario::load).transpose()?;
        let models: Vec<String> = self.models.iter().map(|m| m.trim().to_string()).collect();
        let mut plan = PricingPlan::new(catalog, &models, scenario)?;
        if let Some(path) = &self.calibration {
            plan = plan.with_calibration(tokenaudit::pricing::Calibration::load(path)?)?;
        }
        Ok(Some(plan))
    }
}

impl PricingArgs {
    /// The count APIs the user allowed, with keys and addresses from the
    /// environment.
    pub fn count_api(&self) -> Result<Vec<tokenaudit::count_api::CountApiConfig>> {
        use tokenaudit::count_api::{CountApiConfig, Provider};
        if !self.count_api.is_empty() && self.price.models.is_empty() {
            bail!("--count-api needs a model to count for (-m NAME)");
        }
        let mut out: Vec<CountApiConfig> = Vec::new();
        for a in &self.count_api {
            let provider = match a {
                CountApiArg::Anthropic => Provider::Anthropic,
                CountApiArg::Gemini => Provider::Gemini,
            };
            if out.iter().any(|c| c.provider == provider) {
                continue;
            }
            let mut c = CountApiConfig::from_env(provider, self.count_api_sample)
                .map_err(anyhow::Error::msg)?;
            if let Some(dir) = &self.count_api_cache {
                c.cache_dir = Some(dir.clone());
            }
            c.requests_per_minute = self.count_api_rpm;
            c.timeout = std::time::Duration::from_secs(self.count_api_timeout);
            c.retries = self.count_api_retries;
            out.push(c);
        }
        Ok(out)
    }
}

/// The tokenizer names asked for, with `all` replaced by every installed
/// tokenizer (built-in and fetched, in `tokenaudit tokenizers` order).
pub fn expand_all(asked: &[String], dir: &tokenize::TokenizerDir) -> Vec<String> {
    let mut names = Vec::new();
    for name in asked.iter().map(|n| n.trim()) {
        if name == "all" {
            names.extend(
                tokenize::list(dir)
                    .into_iter()
                    .filter(|l| l.installed)
                    .map(|l| l.name),
            );
        } else {
            names.push(name.to_string());
        }
    }
    names
}

/// The most worker threads `--threads` takes.
const MAX_THREADS: usize = 1024;

impl CorpusArgs {
    /// Makes every decision the audit needs; errors here are usage errors.
    pub fn into_config(
        self,
        pricing: Option<PricingPlan>,
        command_line: Vec<String>,
    ) -> Result<AuditConfig> {
        let options = self.options();
        let dir = tokenize::TokenizerDir::locate(self.tokenizer_dir.as_deref());
        let mut names = expand_all(&self.tokenizers, &dir);
        if let Some(plan) = &pricing {
            names.extend(plan.tokenizers());
        }
        if names.is_empty() {
            names.push("o200k_base".to_string());
        }
        let mut tokenizers: Vec<tokenize::SharedTokenizer> = Vec::new();
        for name in &names {
            if tokenizers.iter().any(|t| &t.info().name == name) {
                continue;
            }
            tokenizers.push(tokenize::resolve(name, &dir, self.pattern.as_deref())?);
        }
        let categories = self
            .category
            .iter()
            .map(|c| CategoryRule::parse(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(anyhow::Error::msg)?;
        let filters = Filters {
            include: discover::glob_set(&self.include, "--include").map_err(anyhow::Error::msg)?,
            exclude: discover::glob_set(&self.exclude, "--exclude").map_err(anyhow::Error::msg)?,
            hidden: self.hidden,
            follow: self.follow,
            max_file_size: self.max_file_size,
            categories,
            own_outputs: Default::default(),
            ignore_files: !self.no_ignore,
        };
        let paths = if self.paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            self.paths
        };
        for p in &paths {
            if p.as_os_str() != "-" && std::fs::symlink_metadata(p).is_err() {
                bail!("{}: no such file or folder", p.display());
            }
        }
        if paths.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
            bail!("`-` (standard input) can be given only once");
        }
        let threads = match self.threads {
            Some(0) => bail!("--threads must be at least 1"),
            // Each worker holds its own piece caches (a few MiB per
            // tokenizer), and past some thousands the OS refuses the
            // threads' stacks mid-run: refused here instead.
            Some(n) if n > MAX_THREADS => bail!(
                "--threads {n}: at most {MAX_THREADS} (this machine has {} cores)",
                std::thread::available_parallelism().map_or(1, |n| n.get())
            ),
            Some(n) => n,
            None => 0,
        };
        let fields = FieldSpec {
            columns: self.column,
            role_column: self.role_column,
            paths: self
                .field
                .iter()
                .map(|p| FieldPath::parse(p))
                .collect::<Result<Vec<_>, _>>()
                .map_err(anyhow::Error::msg)?,
        };
        if self.parse == Parse::Csv && fields.columns.is_empty() {
            bail!("--parse csv needs the text columns: --column NAME (repeatable)");
        }
        if self.parse == Parse::Json && fields.paths.is_empty() {
            bail!("--parse json needs the text fields: --field PATH (repeatable), e.g. --field 'data[].text'");
        }
        if fields.role_column.is_some() && fields.columns.is_empty() {
            bail!("--role-column needs the text columns: --column NAME");
        }
        Ok(AuditConfig {
            paths,
            filters,
            tokenizers,
            parse: self.parse,
            fields,
            chat_format: self.chat_format,
            documents: Limits {
                max_extracted: self.max_extracted_size,
                timeout: std::time::Duration::try_from_secs_f64(self.extract_timeout)
                    .ok()
                    .filter(|t| !t.is_zero())
                    .ok_or_else(|| {
                        anyhow::anyhow!("--extract-timeout must be a positive number of seconds")
                    })?,
                docx_parts: self.docx_parts,
            },
            threads,
            progress: !self.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
            command_line,
            pricing,
            count_api: Vec::new(),
            shard: None,
            options,
            stop: None,
            languages: self.lang,
        })
    }

    /// The options that decide what is counted, as given (defaults
    /// included): what a shard's report records for `merge` to compare.
    /// Tokenizers are compared by sha256 in the provenance instead.
    fn options(&self) -> std::collections::BTreeMap<String, String> {
        let list = |v: &[String]| {
            if v.is_empty() {
                "(none)".to_string()
            } else {
                v.join(" | ")
            }
        };
        [
            ("--include", list(&self.include)),
            ("--exclude", list(&self.exclude)),
            ("--hidden", self.hidden.to_string()),
            ("--follow", self.follow.to_string()),
            ("--max-file-size", format!("{:?}", self.max_file_size)),
            ("--category", list(&self.category)),
            ("--parse", format!("{:?}", self.parse).to_lowercase()),
            ("--column", list(&self.column)),
            ("--role-column", format!("{:?}", self.role_column)),
            ("--field", list(&self.field)),
            ("--chat-format", format!("{:?}", self.chat_format)),
            ("--max-extracted-size", self.max_extracted_size.to_string()),
            ("--extract-timeout", self.extract_timeout.to_string()),
            ("--docx-parts", format!("{:?}", self.docx_parts)),
            ("--pattern", format!("{:?}", self.pattern)),
            ("--lang", self.lang.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("10K"), Ok(10 * 1024));
        assert_eq!(parse_size("1.5m"), Ok(3 * 512 * 1024));
        assert!(parse_size("ten").is_err());
        assert_eq!(parse_size("0.5K"), Ok(512));
        assert_eq!(parse_size(".5k"), Ok(512));
        for junk in [
            "nan",
            "inf",
            "-1",
            "",
            "K",
            ".",
            "1e3",
            "1.2.3",
            "99999999999T",
        ] {
            assert!(parse_size(junk).is_err(), "{junk}");
        }
    }
}
