/*!
tokenaudit: an audit of AI token consumption.

Point it at corpora (prompts, documents, chat transcripts, code) and it
counts their tokens exactly with several model tokenizers, says where the
tokens come from, accounts for every file (counted, or skipped with its
reason), and prices them per model. The pipeline, one module per stage, is
described in ARCHITECTURE.md: discover → load → extract → count → tally →
pricing → report, run by [`Audit`].

The API is the short list re-exported here. The modules behind it are public
for the binary, the benches and the tests, and hidden from the documentation:
their items may change between versions.

# Example

```
use tokenaudit::{Audit, AuditConfig, TokenizerDir};

// One text, counted with a built-in tokenizer (no files needed).
let dir = TokenizerDir::locate(None);
let o200k = tokenaudit::resolve("o200k_base", &dir, None)?;
assert_eq!(o200k.counter().count("Hello, world!"), 4);

// A folder, audited on every core with the CLI's defaults.
let report = Audit::new(AuditConfig::new(vec!["fixtures/corpus".into()], vec![o200k]))
.run()?;
let totals = &report.totals;
assert_eq!(totals.files_seen, totals.files_counted + totals.files_skipped);
println!("{} tokens", totals.tokens["o200k_base"]);
# Ok::<(), Box<dyn std::error::Error>>(())
```
*/
#![warn(missing_docs)]

#[doc(hidden)]
pub mod alloc;
#[doc(hidden)]
pub mod audit;
#[doc(hidden)]
pub mod calibrate;
#[doc(hidden)]
pub mod content;
#[doc(hidden)]
pub mod count;
#[doc(hidden)]
pub mod count_api;
#[doc(hidden)]
pub mod digest;
#[doc(hidden)]
pub mod discover;
#[doc(hidden)]
pub mod extract;
#[doc(hidden)]
pub mod format;
#[doc(hidden)]
pub mod language;
#[doc(hidden)]
pub mod load;
#[doc(hidden)]
pub mod pricing;
#[doc(hidden)]
pub mod report;
#[doc(hidden)]
pub mod script;
#[doc(hidden)]
pub mod shard;
#[doc(hidden)]
pub mod skip;
#[doc(hidden)]
pub mod tally;
#[doc(hidden)]
pub mod tokenize;

pub use audit::{Audit, AuditConfig, AuditError};
pub use discover::Filters;
pub use extract::Parse;
pub use pricing::{Catalog, PricingPlan, Scenario};
pub use report::Report;
pub use tally::Tally;
pub use tokenize::{resolve, Counter, SharedTokenizer, Tokenizer, TokenizerDir, TokenizerInfo};
