/*!
Why a file was not counted.

Every file the walk reaches ends up either counted or skipped with one of
these reasons (the accounting invariant in ARCHITECTURE.md). The reason is a closed
set so reports can group by it, and each prints as words a person can act on.
*/

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// A document format's name (`pdf`, `docx`, ...). An alias, not
/// `&'static str` written out, because serde's derive takes a written-out
/// `&str` field as borrowed from the input and would then only read
/// `'static` input; `static_name` interns it instead.
pub type FormatName = &'static str;

/// The reason a file that discovery reached was not counted.
///
/// Serialized as data (variant and fields) for a shard's state, which
/// `merge` reads back; reports show the words ([`fmt::Display`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SkipReason {
    /// Opening or reading failed (permission denied, I/O error); the OS
    /// message is kept.
    Unreadable(String),
    /// A NUL byte in the first block: not text.
    Binary,
    /// Not valid UTF-8 and no legacy encoding decodes it cleanly.
    Undecodable(String),
    /// Larger than `--max-file-size`.
    TooLarge { limit: u64 },
    /// A symbolic link that was not followed (no `--follow`).
    Symlink,
    /// A symbolic link whose target does not exist.
    BrokenSymlink,
    /// Following the link would revisit one of its own ancestors.
    SymlinkLoop,
    /// A FIFO, socket or device: reading it could block or never end.
    NotRegularFile,
    /// The walk could not list a directory or stat an entry.
    WalkError(String),
    /// A tokenizer failed (panicked) on this file's text; the message is
    /// kept. The run goes on, and the file is accounted for here.
    CountFailed(String),
    /// A document (PDF, DOCX, ...) that opens only with a password.
    Encrypted {
        #[serde(deserialize_with = "static_name")]
        format: FormatName,
    },
    /// A PDF whose pages carry no text at all: images of pages, which only
    /// OCR would turn into text a model could be sent.
    NoTextLayer { pages: u64 },
    /// A document its format's reader rejects (truncated, corrupt, not what
    /// its extension says); the reader's message is kept.
    Corrupt {
        #[serde(deserialize_with = "static_name")]
        format: FormatName,
        message: String,
    },
    /// The text or parts a document unpacks to exceed
    /// `--max-extracted-size` (a zip bomb, or simply too large).
    ExtractedTooLarge {
        #[serde(deserialize_with = "static_name")]
        format: FormatName,
        limit: u64,
    },
    /// A document's extractor panicked; the message is kept.
    ExtractFailed {
        #[serde(deserialize_with = "static_name")]
        format: FormatName,
        message: String,
    },
    /// A document's extractor ran past the per-file time limit.
    ExtractTimedOut {
        #[serde(deserialize_with = "static_name")]
        format: FormatName,
        millis: u64,
    },
    /// A CSV/TSV file without a column named by `--column` or
    /// `--role-column` (the message names the columns it has).
    Fields(String),
    /// The file was truncated or rewritten while it was being read: what
    /// was counted is not what the file holds, so it is not counted.
    Changed,
    /// A report this run writes (`--json`, `--csv`, ...), reached by its
    /// own walk: half written under its temporary name, or the previous
    /// run's, about to be replaced. Counting it would count the audit, not
    /// the corpus, and differently from one run to the next.
    OwnOutput,
    /// Left out by a rule of a `.gitignore` or `.ignore` file (the rule and
    /// its file are kept); an ignored folder is one entry, not entered.
    Ignored { rule: String },
}

impl SkipReason {
    /// A short stable key for grouping (`binary`, `unreadable`, ...).
    pub fn key(&self) -> &'static str {
        match self {
            SkipReason::Unreadable(_) => "unreadable",
            SkipReason::Binary => "binary",
            SkipReason::Undecodable(_) => "undecodable",
            SkipReason::TooLarge { .. } => "too-large",
            SkipReason::Symlink => "symlink",
            SkipReason::BrokenSymlink => "broken-symlink",
            SkipReason::SymlinkLoop => "symlink-loop",
            SkipReason::NotRegularFile => "not-a-regular-file",
            SkipReason::WalkError(_) => "walk-error",
            SkipReason::CountFailed(_) => "count-failed",
            SkipReason::Encrypted { .. } => "encrypted",
            SkipReason::NoTextLayer { .. } => "no-text-layer",
            SkipReason::Corrupt { .. } => "corrupt",
            SkipReason::ExtractedTooLarge { .. } => "extracted-too-large",
            SkipReason::ExtractFailed { .. } => "extract-failed",
            SkipReason::ExtractTimedOut { .. } => "extract-timed-out",
            SkipReason::Fields(_) => "no-column",
            SkipReason::Changed => "changed-during-audit",
            SkipReason::OwnOutput => "own-output",
            SkipReason::Ignored { .. } => "ignored",
        }
    }
}

impl SkipReason {
    /// The pages a skipped document was found to have, where that is
    /// known (a PDF without a text layer).
    pub fn pages(&self) -> Option<u64> {
        match self {
            SkipReason::NoTextLayer { pages } => Some(*pages),
            _ => None,
        }
    }

    /// The document format a skipped file was read as, where it got that
    /// far.
    pub fn format(&self) -> Option<&'static str> {
        match self {
            SkipReason::NoTextLayer { .. } => Some("pdf"),
            SkipReason::Encrypted { format }
            | SkipReason::Corrupt { format, .. }
            | SkipReason::ExtractedTooLarge { format, .. }
            | SkipReason::ExtractFailed { format, .. }
            | SkipReason::ExtractTimedOut { format, .. } => Some(format),
            _ => None,
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Unreadable(e) => write!(f, "unreadable: {e}"),
            SkipReason::Binary => f.write_str("binary: NUL byte in the first 8 KiB"),
            SkipReason::Undecodable(e) => write!(f, "undecodable: {e}"),
            SkipReason::TooLarge { limit } => {
                write!(f, "too-large: over --max-file-size of {limit} bytes")
            }
            SkipReason::Symlink => f.write_str("symlink: not followed (use --follow)"),
            SkipReason::BrokenSymlink => f.write_str("broken-symlink: target does not exist"),
            SkipReason::SymlinkLoop => f.write_str("symlink-loop: link points to its own ancestor"),
            SkipReason::NotRegularFile => f.write_str("not-a-regular-file: FIFO, socket or device"),
            SkipReason::WalkError(e) => write!(f, "walk-error: {e}"),
            SkipReason::CountFailed(e) => write!(f, "count-failed: a tokenizer failed: {e}"),
            SkipReason::Encrypted { format } => {
                write!(f, "encrypted (password required): {format}")
            }
            SkipReason::NoTextLayer { pages } => write!(
                f,
                "no text layer (scanned; needs OCR): pdf, {pages} page{}",
                if *pages == 1 { "" } else { "s" }
            ),
            SkipReason::Corrupt { format, message } => {
                write!(f, "corrupt: not a readable {format}: {message}")
            }
            SkipReason::ExtractedTooLarge { format, limit } => write!(
                f,
                "extracted-too-large: {format} unpacks to over --max-extracted-size of {limit} bytes"
            ),
            SkipReason::ExtractFailed { format, message } => {
                write!(f, "extract-failed: the {format} extractor failed: {message}")
            }
            SkipReason::ExtractTimedOut { format, millis } => write!(
                f,
                "extract-timed-out: the {format} extractor ran over {} s",
                *millis as f64 / 1000.0
            ),
            // Already worded as `no column NAME (columns: a, b)`.
            SkipReason::Fields(e) => f.write_str(e),
            SkipReason::Changed => f.write_str(
                "changed-during-audit: truncated or rewritten while it was read; audit it again",
            ),
            SkipReason::OwnOutput => {
                f.write_str("own-output: a report this run writes (or its temporary file)")
            }
            SkipReason::Ignored { rule } => {
                write!(f, "ignored: by {rule} (--no-ignore counts it)")
            }
        }
    }
}

/// A name read back from a shard's state (a format, a language code) as
/// the `&'static str` the types keep: each distinct name is kept once for
/// the life of the process, and there are a few dozen of them.
pub fn intern(s: String) -> &'static str {
    use std::collections::BTreeSet;
    use std::sync::Mutex;
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(&known) = names.get(s.as_str()) {
        return known;
    }
    let kept: &'static str = Box::leak(s.into_boxed_str());
    names.insert(kept);
    kept
}

/// [`intern`] as a serde `deserialize_with`, for `&'static str` fields.
fn static_name<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    String::deserialize(d).map(intern)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shard's state keeps its skipped files' reasons as data: every
    /// variant comes back equal, format names included.
    #[test]
    fn every_reason_survives_the_shard_state() {
        let all = [
            SkipReason::Unreadable("permission denied".into()),
            SkipReason::Binary,
            SkipReason::Undecodable("x".into()),
            SkipReason::TooLarge { limit: 7 },
            SkipReason::Symlink,
            SkipReason::BrokenSymlink,
            SkipReason::SymlinkLoop,
            SkipReason::NotRegularFile,
            SkipReason::WalkError("w".into()),
            SkipReason::CountFailed("c".into()),
            SkipReason::Encrypted { format: "pdf" },
            SkipReason::NoTextLayer { pages: 3 },
            SkipReason::Corrupt {
                format: "docx",
                message: "m".into(),
            },
            SkipReason::ExtractedTooLarge {
                format: "xlsx",
                limit: 9,
            },
            SkipReason::ExtractFailed {
                format: "pdf",
                message: "p".into(),
            },
            SkipReason::ExtractTimedOut {
                format: "pptx",
                millis: 5,
            },
            SkipReason::Fields("no column x".into()),
            SkipReason::Changed,
        ];
        for r in all {
            let mut bytes = Vec::new();
            ciborium::into_writer(&r, &mut bytes).unwrap();
            let back: SkipReason = ciborium::from_reader(bytes.as_slice()).unwrap();
            assert_eq!(back, r);
            assert_eq!(back.to_string(), r.to_string());
        }
    }
}
