/*!
Documents: the text a document pipeline would send a model, taken out of
PDF, DOCX/ODT, HTML, XLSX/ODS, PPTX and e-mail files.

Under `--parse auto` a file is a document when its first bytes say so
(`%PDF-`, a zip holding `word/document.xml`, ...) or, for formats without a
signature (HTML, e-mail), when its extension does. A file whose extension
claims a format its bytes do not have is reported as corrupt rather than
counted as text or skipped as binary. Everything else stays text.

Bad input loses nothing: every way a document can fail (password, no text
layer, truncated, a zip bomb, an extractor that panics or never ends) is a
[`SkipReason`] naming the format. Extraction runs on a thread of its own per
document, so that a panic is caught and a runaway extractor is abandoned
after [`Limits::timeout`]; the extracted text and every zip part are capped
at [`Limits::max_extracted`]. Memory an extractor allocates on its own (a
PDF's object graph) is not capped: only the time it may take is.

One file per format; each says which library reads it and why.
*/

mod docx;
mod html;
mod mail;
mod odt;
mod package;
mod pdf;
mod pptx;
mod sheet;
mod xml;

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use crate::skip::SkipReason;

pub use docx::DocxParts;

/// A document format we extract text from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    Pdf,
    Docx,
    Odt,
    Html,
    Xlsx,
    Ods,
    Pptx,
    Eml,
    Mbox,
}

impl Format {
    /// The short name used in reports and skip reasons.
    pub fn name(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Docx => "docx",
            Format::Odt => "odt",
            Format::Html => "html",
            Format::Xlsx => "xlsx",
            Format::Ods => "ods",
            Format::Pptx => "pptx",
            Format::Eml => "eml",
            Format::Mbox => "mbox",
        }
    }

    /// What [`Extracted::pages`] counts for this format, if anything.
    pub fn unit(self) -> Option<&'static str> {
        match self {
            Format::Pdf => Some("pages"),
            Format::Xlsx | Format::Ods => Some("sheets"),
            Format::Pptx => Some("slides"),
            Format::Mbox => Some("messages"),
            Format::Docx | Format::Odt | Format::Html | Format::Eml => None,
        }
    }

    /// The library (or libraries) that read the format: what the report
    /// names as a file's extractor. A PDF pdf-extract cannot read is read
    /// by pdf_oxide, and says so (see `pdf`).
    pub fn library(self) -> &'static str {
        match self {
            Format::Pdf => pdf::READER,
            Format::Docx | Format::Odt | Format::Pptx => "zip+quick-xml",
            Format::Html => "scraper",
            Format::Xlsx | Format::Ods => "calamine",
            Format::Eml | Format::Mbox => "mail-parser",
        }
    }

    /// Whether the format is text to begin with (decoded like any text file
    /// first, then extracted) rather than bytes.
    pub fn is_text(self) -> bool {
        matches!(self, Format::Html)
    }

    /// The format an extension names, if any.
    fn from_extension(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "pdf" => Format::Pdf,
            "docx" | "docm" | "dotx" | "dotm" => Format::Docx,
            "odt" | "ott" => Format::Odt,
            "html" | "htm" | "xhtml" | "xht" => Format::Html,
            "xlsx" | "xlsm" | "xltx" | "xltm" => Format::Xlsx,
            "ods" | "ots" => Format::Ods,
            "pptx" | "pptm" | "potx" | "ppsx" => Format::Pptx,
            "eml" => Format::Eml,
            "mbox" | "mbx" => Format::Mbox,
            _ => return None,
        })
    }
}

/// What a user may bound or choose about extraction.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Most bytes a document may unpack to: each zip part, and the text
    /// extracted. Above it the file is skipped (`extracted-too-large`).
    pub max_extracted: u64,
    /// Longest one document's extraction may take.
    pub timeout: Duration,
    /// Which parts of a word-processing document are text.
    pub docx_parts: DocxParts,
}

/// 256 MiB: far above any real contract, far below what would hurt a
/// machine running one extraction per core.
pub const DEFAULT_MAX_EXTRACTED: u64 = 256 << 20;

/// 60 s: the slowest real PDF we measured took well under a second.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_extracted: DEFAULT_MAX_EXTRACTED,
            timeout: DEFAULT_TIMEOUT,
            docx_parts: DocxParts::default(),
        }
    }
}

/// A document's text, and what it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extracted {
    pub format: Format,
    pub text: String,
    /// Pages, sheets, slides or messages (see [`Format::unit`]); `None`
    /// where the format has no such unit.
    pub pages: Option<u64>,
    /// The library that read it (see [`Format::library`]).
    pub extractor: &'static str,
}

/// The document format of a file, from its first bytes and its name, or
/// `None` if it is to be read as text (or skipped as binary).
///
/// The bytes decide when they carry a signature: a PDF named `.txt` is a
/// PDF. A zip is a document only if its parts say which one (an `.xlsx`
/// renamed `.zip` still is); an extension that names a format whose
/// signature is missing is still that format, so its reader reports what is
/// wrong with it. A PDF header after leading junk (which readers accept)
/// counts only in a file named `.pdf`: text that mentions `%PDF-` near its
/// top (a README, a source file about PDFs) is text.
pub fn detect(path: &Path, head: &[u8]) -> Option<Format> {
    // A `.pdf` with junk first is claimed by its name below; its reader
    // accepts the junk (`pdf::signature`).
    if head.starts_with(b"%PDF-") {
        return Some(Format::Pdf);
    }
    let by_name = Format::from_extension(path);
    if head.starts_with(b"PK\x03\x04") {
        return package::sniff(head, by_name);
    }
    by_name
}

/// Extracts `format` from `bytes` on this thread, with no guard against
/// panics or time: see [`guarded`].
pub fn extract(format: Format, bytes: &[u8], limits: &Limits) -> Result<Extracted, SkipReason> {
    let mut extractor = format.library();
    let (text, pages) = match format {
        Format::Pdf => {
            let (text, pages, reader) = pdf::extract(bytes)?;
            extractor = reader;
            (text, pages)
        }
        Format::Docx => (docx::extract(bytes, limits)?, None),
        Format::Odt => (odt::extract(bytes, limits)?, None),
        Format::Html => (html::extract(bytes), None),
        Format::Xlsx | Format::Ods => sheet::extract(format, bytes, limits)?,
        Format::Pptx => pptx::extract(bytes, limits)?,
        Format::Eml => (mail::extract_message(bytes, limits, 0)?, None),
        Format::Mbox => mail::extract_mbox(bytes, limits)?,
    };
    if text.len() as u64 > limits.max_extracted {
        return Err(SkipReason::ExtractedTooLarge {
            format: format.name(),
            limit: limits.max_extracted,
        });
    }
    Ok(Extracted {
        format,
        text,
        pages,
        extractor,
    })
}

/// The visible text of an HTML document already decoded.
pub fn html_text(html: &str, limits: &Limits) -> Result<Extracted, SkipReason> {
    let text = html::visible_text(html);
    if text.len() as u64 > limits.max_extracted {
        return Err(SkipReason::ExtractedTooLarge {
            format: Format::Html.name(),
            limit: limits.max_extracted,
        });
    }
    Ok(Extracted {
        format: Format::Html,
        text,
        pages: None,
        extractor: Format::Html.library(),
    })
}

/// Runs `extraction` (of a `format` document) on a thread of its own: a
/// panic becomes `extract-failed`, and an extraction still running after
/// `limits.timeout` becomes `extract-timed-out` while the thread is left to
/// finish on its own (Rust cannot stop a thread; it holds one core until it
/// ends or the process does). The caller's thread (a counting worker) waits
/// meanwhile, so the number of extractions at once is the number of
/// workers, and a corpus of documents uses every core as text does.
pub fn guarded(
    format: Format,
    limits: &Limits,
    extraction: impl FnOnce() -> Result<Extracted, SkipReason> + Send + 'static,
) -> Result<Extracted, SkipReason> {
    quiet_extractor_panics();
    let (done, result) = mpsc::sync_channel(1);
    let spawned = std::thread::Builder::new()
        .name(format!("extract-{}", format.name()))
        .spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(extraction));
            // The receiver is gone only if it gave up waiting.
            let _ = done.send(outcome);
        });
    if let Err(e) = spawned {
        return Err(SkipReason::ExtractFailed {
            format: format.name(),
            message: format!("could not start its thread: {e}"),
        });
    }
    match result.recv_timeout(limits.timeout) {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(panic)) => Err(SkipReason::ExtractFailed {
            format: format.name(),
            message: panic_message(&*panic),
        }),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(SkipReason::ExtractTimedOut {
            format: format.name(),
            millis: limits.timeout.as_millis() as u64,
        }),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(SkipReason::ExtractFailed {
            format: format.name(),
            message: "its thread ended without a result".to_string(),
        }),
    }
}

/// Installs, once, a panic hook that stays silent for extraction threads
/// (their panic is caught and its message kept in the skip reason, so the
/// default hook's message and backtrace on stderr would only be noise in
/// the middle of an audit) and hands every other panic to the hook that
/// was there before.
fn quiet_extractor_panics() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let extracting = std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with("extract-"));
            if !extracting {
                previous(info);
            }
        }));
    });
}

/// The text of a panic's payload, as `std` prints it.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic without a message".to_string())
}

/// A reader's error as the skip reason for a corrupt `format` file.
fn corrupt(format: Format, message: impl std::fmt::Display) -> SkipReason {
    SkipReason::Corrupt {
        format: format.name(),
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_win_over_names_and_names_claim_the_rest() {
        let p = Path::new;
        assert_eq!(detect(p("a.txt"), b"%PDF-1.7\n"), Some(Format::Pdf));
        assert_eq!(detect(p("a.pdf"), b"not a pdf"), Some(Format::Pdf));
        assert_eq!(detect(p("a.HTML"), b"<p>x"), Some(Format::Html));
        assert_eq!(detect(p("a.eml"), b"From: x"), Some(Format::Eml));
        assert_eq!(detect(p("a.txt"), b"plain"), None);
        assert_eq!(detect(p("a.rs"), b"fn main() {}"), None);
        assert_eq!(detect(p("README"), b""), None);
        // Junk before the header: a PDF only by its name.
        assert_eq!(
            detect(p("a.pdf"), b"\r\n\0junk%PDF-1.4\n"),
            Some(Format::Pdf)
        );
        let mentions = b"# Notes\nA PDF file starts with `%PDF-1.7`.\n";
        assert_eq!(detect(p("notes.md"), mentions), None);
        assert_eq!(detect(p("a.bin"), b"junk%PDF-1.4\n"), None);
    }

    #[test]
    fn a_guarded_run_returns_what_the_extractor_returns() {
        let limits = Limits::default();
        let direct = extract(Format::Docx, b"PK\x03\x04garbage", &limits);
        let run = guarded(Format::Docx, &limits, move || {
            extract(Format::Docx, b"PK\x03\x04garbage", &Limits::default())
        });
        assert_eq!(direct, run);
        assert_eq!(run.unwrap_err().key(), "corrupt");
    }

    #[test]
    fn a_panicking_extractor_is_a_skip_reason() {
        let run = guarded(Format::Pdf, &Limits::default(), || {
            panic!("the parser gave up on object 12")
        });
        assert_eq!(
            run,
            Err(SkipReason::ExtractFailed {
                format: "pdf",
                message: "the parser gave up on object 12".into()
            })
        );
    }

    #[test]
    fn an_extractor_that_never_ends_is_abandoned_at_the_time_limit() {
        let limits = Limits {
            timeout: Duration::from_millis(200),
            ..Limits::default()
        };
        let start = std::time::Instant::now();
        let run = guarded(Format::Pdf, &limits, || {
            // Stands in for a parser looping on a cyclic object graph; it
            // ends on its own, later, so that the test leaves no thread.
            std::thread::sleep(Duration::from_secs(2));
            Ok(Extracted {
                format: Format::Pdf,
                text: String::new(),
                pages: None,
                extractor: Format::Pdf.library(),
            })
        });
        assert!(start.elapsed() < Duration::from_secs(1));
        assert_eq!(
            run,
            Err(SkipReason::ExtractTimedOut {
                format: "pdf",
                millis: 200
            })
        );
    }
}
