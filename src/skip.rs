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
        }
    }
}

impl Serialize for SkipReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
