/*!
What counting one file produces: its measurements ([`FileTally`]), with its
tokens split by content class ([`ByClass`]). The count stage makes them; the
tally sums them, and row formats write them.
*/

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::fields::FieldCounts;
use super::transcript::TranscriptCounts;
use crate::content::ContentClass;
use crate::extract::Parser;
use crate::script::ScriptGroup;

/// The measurements of one counted file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileTally {
    pub path: PathBuf,
    pub category: String,
    pub encoding: &'static str,
    /// What the file was read as: `text`, or the document format whose
    /// extracted text was counted (`pdf`, `docx`, ...).
    pub format: &'static str,
    /// Pages, sheets, slides or messages of a document, where its format
    /// has them.
    pub pages: Option<u64>,
    /// The library that extracted a document's text (`None` for text).
    pub extractor: Option<&'static str>,
    pub bytes: u64,
    pub chars: u64,
    pub lines: u64,
    /// One count per selected tokenizer, in selection order. For a chat
    /// file: its conversations' input plus output tokens.
    pub tokens: Vec<u64>,
    /// The same counts split by the content class of each piece (see
    /// `content`): one entry for most files, more for a large mixed one.
    pub classes: ByClass,
    /// The same counts split by the dominant script of each piece (see
    /// `script`): what `compare` breaks tokenizers down by.
    pub scripts: ByScript,
    /// The same counts split by the detected language of each piece
    /// (`--lang`; empty without it).
    pub languages: ByLanguage,
    /// The parser that took the file.
    pub parser: Parser,
    /// A chat file's transcript figures.
    pub transcript: Option<Box<TranscriptCounts>>,
    /// A CSV or JSON fields file's rows (`--column`, `--field`).
    pub fields: Option<Box<FieldCounts>>,
    /// SHA-256 of the file's bytes, for the corpus digest (`None` for text
    /// that was never a file).
    pub sha256: Option<[u8; 32]>,
}

/// Pieces, bytes and tokens (per tokenizer) of one content class.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassTally {
    pub pieces: u64,
    pub bytes: u64,
    pub tokens: Vec<u64>,
}

/// Counts per content class: what calibrated estimates of closed models
/// are computed from.
pub type ByClass = BTreeMap<ContentClass, ClassTally>;

/// Adds `from` into `into`, class by class.
pub fn merge_by_class(into: &mut ByClass, from: &ByClass) {
    for (class, t) in from {
        let e = into.entry(*class).or_default();
        e.pieces += t.pieces;
        e.bytes += t.bytes;
        if e.tokens.len() < t.tokens.len() {
            e.tokens.resize(t.tokens.len(), 0);
        }
        for (a, b) in e.tokens.iter_mut().zip(&t.tokens) {
            *a += b;
        }
    }
}

/// Pieces, bytes, characters and tokens (per tokenizer) of the pieces
/// whose dominant script is one group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptTally {
    pub pieces: u64,
    pub bytes: u64,
    pub chars: u64,
    pub tokens: Vec<u64>,
}

/// Counts per dominant script of each piece (`None`: no letters at all).
pub type ByScript = BTreeMap<Option<ScriptGroup>, ScriptTally>;

/// Adds `from` into `into`, script by script.
pub fn merge_by_script(into: &mut ByScript, from: &ByScript) {
    for (script, t) in from {
        let e = into.entry(*script).or_default();
        e.pieces += t.pieces;
        e.bytes += t.bytes;
        e.chars += t.chars;
        if e.tokens.len() < t.tokens.len() {
            e.tokens.resize(t.tokens.len(), 0);
        }
        for (a, b) in e.tokens.iter_mut().zip(&t.tokens) {
            *a += b;
        }
    }
}

/// Pieces, bytes, characters and tokens (per tokenizer) of the pieces whose
/// language was detected as one language (`language`), and how many of
/// those detections whatlang deems reliable.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LanguageTally {
    pub pieces: u64,
    pub reliable_pieces: u64,
    pub bytes: u64,
    pub chars: u64,
    pub tokens: Vec<u64>,
}

/// Counts per detected language (ISO 639-3 code, or
/// [`crate::language::UNDETERMINED`]).
pub type ByLanguage = BTreeMap<&'static str, LanguageTally>;

/// Adds `from` into `into`, language by language.
pub fn merge_by_language(into: &mut ByLanguage, from: &ByLanguage) {
    for (lang, t) in from {
        let e = into.entry(*lang).or_default();
        e.pieces += t.pieces;
        e.reliable_pieces += t.reliable_pieces;
        e.bytes += t.bytes;
        e.chars += t.chars;
        if e.tokens.len() < t.tokens.len() {
            e.tokens.resize(t.tokens.len(), 0);
        }
        for (a, b) in e.tokens.iter_mut().zip(&t.tokens) {
            *a += b;
        }
    }
}

/// One piece's language entry, when asked (`detect`): the language of
/// `text` (undetermined when it is empty or detects as none), with the
/// piece's `bytes` (on disk, as its script entry has them), characters and
/// tokens.
pub fn language_of(detect: bool, text: &str, bytes: u64, chars: u64, tokens: &[u64]) -> ByLanguage {
    if !detect {
        return ByLanguage::new();
    }
    let found = (!text.is_empty())
        .then(|| crate::language::detect(text))
        .flatten();
    ByLanguage::from([(
        found.map_or(crate::language::UNDETERMINED, |d| d.code),
        LanguageTally {
            pieces: 1,
            reliable_pieces: u64::from(found.is_some_and(|d| d.reliable)),
            bytes,
            chars,
            tokens: tokens.to_vec(),
        },
    )])
}

impl FileTally {
    /// Records read and malformed, for a file read by records (chat, CSV
    /// or JSON fields).
    pub fn records(&self) -> Option<(u64, u64)> {
        match (&self.transcript, &self.fields) {
            (Some(t), _) => Some((t.records, t.malformed)),
            (None, Some(f)) => Some((f.records, f.malformed)),
            (None, None) => None,
        }
    }

    /// The extension used for attribution: lowercase, without the dot;
    /// `(none)` for files without one. Borrowed from the path when it is
    /// lowercase ASCII already (most are): every file is tallied on the
    /// one thread that writes the rows, serial work beside the counting.
    pub fn extension(&self) -> Cow<'_, str> {
        match self.path.extension() {
            None => Cow::Borrowed("(none)"),
            Some(e) => match e.to_str() {
                Some(e) if e.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) => {
                    Cow::Borrowed(e)
                }
                _ => Cow::Owned(e.to_string_lossy().to_lowercase()),
            },
        }
    }
}
