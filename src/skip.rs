/*!
Why a file was not counted.

Every file the walk reaches ends up either counted or skipped with one of
these reasons (the accounting invariant in ARCHITECTURE.md). The reason is a closed
set so reports can group by it, and each prints as words a person can act on.
*/

use std::fmt;

use serde::Serialize;

/// The reason a file that discovery reached was not counted.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
    Encrypted { format: &'static str },
    /// A PDF whose pages carry no text at all: images of pages, which only
    /// OCR would turn into text a model could be sent.
    NoTextLayer { pages: u64 },
    /// A document its format's reader rejects (truncated, corrupt, not what
    /// its extension says); the reader's message is kept.
    Corrupt {
        format: &'static str,
        message: String,
    },
    /// The text or parts a document unpacks to exceed
    /// `--max-extracted-size` (a zip bomb, or simply too large).
    ExtractedTooLarge { format: &'static str, limit: u64 },
    /// A document's extractor panicked; the message is kept.
    ExtractFailed {
        format: &'static str,
        message: String,
    },
    /// A document's extractor ran past the per-file time limit.
    ExtractTimedOut { format: &'static str, millis: u64 },
    /// A CSV/TSV file without a column named by `--column` or
    /// `--role-column` (the message names the columns it has).
    Fields(String),
    /// The file was truncated or rewritten while it was being read: what
    /// was counted is not what the file holds, so it is not counted.
    Changed,
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
        }
    }
}

impl Serialize for SkipReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A reason as the data it holds (variant and fields), for a shard's
/// report, which `merge` reads back; the report itself shows the words
/// ([`fmt::Display`]). Use as `#[serde(with = "crate::skip::as_data")]`.
pub mod as_data {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::SkipReason;

    /// [`SkipReason`] with owned format names.
    #[derive(Serialize, Deserialize)]
    enum Data {
        Unreadable(String),
        Binary,
        Undecodable(String),
        TooLarge { limit: u64 },
        Symlink,
        BrokenSymlink,
        SymlinkLoop,
        NotRegularFile,
        WalkError(String),
        CountFailed(String),
        Encrypted { format: String },
        NoTextLayer { pages: u64 },
        Corrupt { format: String, message: String },
        ExtractedTooLarge { format: String, limit: u64 },
        ExtractFailed { format: String, message: String },
        ExtractTimedOut { format: String, millis: u64 },
        Fields(String),
        Changed,
    }

    pub fn serialize<S: Serializer>(r: &SkipReason, s: S) -> Result<S::Ok, S::Error> {
        use SkipReason as R;
        let data = match r.clone() {
            R::Unreadable(e) => Data::Unreadable(e),
            R::Binary => Data::Binary,
            R::Undecodable(e) => Data::Undecodable(e),
            R::TooLarge { limit } => Data::TooLarge { limit },
            R::Symlink => Data::Symlink,
            R::BrokenSymlink => Data::BrokenSymlink,
            R::SymlinkLoop => Data::SymlinkLoop,
            R::NotRegularFile => Data::NotRegularFile,
            R::WalkError(e) => Data::WalkError(e),
            R::CountFailed(e) => Data::CountFailed(e),
            R::Encrypted { format } => Data::Encrypted {
                format: format.into(),
            },
            R::NoTextLayer { pages } => Data::NoTextLayer { pages },
            R::Corrupt { format, message } => Data::Corrupt {
                format: format.into(),
                message,
            },
            R::ExtractedTooLarge { format, limit } => Data::ExtractedTooLarge {
                format: format.into(),
                limit,
            },
            R::ExtractFailed { format, message } => Data::ExtractFailed {
                format: format.into(),
                message,
            },
            R::ExtractTimedOut { format, millis } => Data::ExtractTimedOut {
                format: format.into(),
                millis,
            },
            R::Fields(e) => Data::Fields(e),
            R::Changed => Data::Changed,
        };
        data.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SkipReason, D::Error> {
        use SkipReason as R;
        Ok(match Data::deserialize(d)? {
            Data::Unreadable(e) => R::Unreadable(e),
            Data::Binary => R::Binary,
            Data::Undecodable(e) => R::Undecodable(e),
            Data::TooLarge { limit } => R::TooLarge { limit },
            Data::Symlink => R::Symlink,
            Data::BrokenSymlink => R::BrokenSymlink,
            Data::SymlinkLoop => R::SymlinkLoop,
            Data::NotRegularFile => R::NotRegularFile,
            Data::WalkError(e) => R::WalkError(e),
            Data::CountFailed(e) => R::CountFailed(e),
            Data::Encrypted { format } => R::Encrypted {
                format: name(format),
            },
            Data::NoTextLayer { pages } => R::NoTextLayer { pages },
            Data::Corrupt { format, message } => R::Corrupt {
                format: name(format),
                message,
            },
            Data::ExtractedTooLarge { format, limit } => R::ExtractedTooLarge {
                format: name(format),
                limit,
            },
            Data::ExtractFailed { format, message } => R::ExtractFailed {
                format: name(format),
                message,
            },
            Data::ExtractTimedOut { format, millis } => R::ExtractTimedOut {
                format: name(format),
                millis,
            },
            Data::Fields(e) => R::Fields(e),
            Data::Changed => R::Changed,
        })
    }

    fn name(s: String) -> &'static str {
        super::intern(s)
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
