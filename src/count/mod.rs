/*!
Count: the parallel engine that turns sources into per-file tallies.

Work units are files, and pieces of large files cut at exact-safe boundaries
(`tokenize::pretok::chunk`), so a single 1 GB file still uses every core. Each rayon
worker owns one counter per tokenizer (a [`CounterPool`] slot), taken without
contention, because tokenizers keep per-thread caches. A unit's text is
counted by every selected tokenizer while it is hot in cache: read once,
tokenize many.

Chat transcripts are counted by conversation (`transcript`), with each
tokenizer's chat format (`chat_format`); large JSONL files in pieces cut at
line boundaries, like text.

Which files to count and how results are summed are other modules' jobs
(`discover`, `tally`).
*/

pub mod chat_format;
pub mod fields;
pub mod file;
pub mod tekken_template;
pub mod transcript;
pub mod vision;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;

use crate::content;
use crate::discover::{Skipped, Source};
use crate::extract::chat::{self, records, Record};
use crate::extract::document::{self, Limits};
use crate::extract::fields::{self as extract_fields, FieldSpec, Row};
use crate::extract::{self, Parse, Parser};
use crate::load;
use crate::skip::SkipReason;
use crate::tokenize::{chunk, Counter, SharedTokenizer};
use file::{
    language_of, merge_by_class, merge_by_language, merge_by_script, ByClass, ByLanguage, ByScript,
    ClassTally, FileTally, ScriptTally,
};

use chat_format::{ChatFormat, Overheads};
use fields::FieldCounts;
use transcript::TranscriptCounts;

/// Pieces of a large document are about this long. Small enough that a
/// piece stays in L2 while every tokenizer counts it and that a 1 GB file
/// yields thousands of units to balance; large enough that cutting costs
/// nothing measurable.
pub const PIECE_TARGET: usize = 256 * 1024;

/// One set of counters per rayon worker thread (plus one for callers
/// outside the pool), created on first use.
struct CounterPool {
    tokenizers: Vec<SharedTokenizer>,
    slots: Vec<Mutex<Option<Counters>>>,
}

/// One counter per selected tokenizer, in selection order, and the time
/// each has spent counting on this thread.
struct Counters {
    counters: Vec<Box<dyn Counter>>,
    timing: Timing,
}

/// Time spent in each tokenizer's counter, and the bytes of text they were
/// given (the same text for every tokenizer): what `compare` reports as
/// each tokenizer's speed. Two clock reads per piece and tokenizer (tens of
/// nanoseconds) beside counting a file or a 256 KiB piece: always on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timing {
    /// Per tokenizer, in selection order: nanoseconds, summed over threads.
    pub nanos: Vec<u64>,
    /// Bytes of text counted (chat files: their whole text).
    pub bytes: u64,
}

impl Timing {
    fn merge(&mut self, other: &Timing) {
        if self.nanos.len() < other.nanos.len() {
            self.nanos.resize(other.nanos.len(), 0);
        }
        for (a, b) in self.nanos.iter_mut().zip(&other.nanos) {
            *a += b;
        }
        self.bytes += other.bytes;
    }
}

impl CounterPool {
    fn new(tokenizers: Vec<SharedTokenizer>, threads: usize) -> Self {
        let n = threads + 1;
        CounterPool {
            tokenizers,
            slots: (0..n).map(|_| Mutex::new(None)).collect(),
        }
    }

    /// Runs `f` with this thread's counters. The lock is only ever taken by
    /// the thread that owns the slot, so it is uncontended; `f` must not
    /// start nested parallel work (it would run on this thread and deadlock).
    fn with<R>(&self, f: impl FnOnce(&mut Counters) -> R) -> R {
        let i = rayon::current_thread_index().unwrap_or(self.slots.len() - 1);
        let slot = &self.slots[i.min(self.slots.len() - 1)];
        let mut guard = slot.lock().unwrap_or_else(|poisoned| {
            // A tokenizer panicked while this thread counted (the file is
            // skipped with the panic's message): its counters may hold a
            // half-updated cache, so they are dropped for fresh ones (the
            // time they spent is kept).
            slot.clear_poison();
            let mut guard = poisoned.into_inner();
            if let Some(c) = guard.as_mut() {
                c.counters.clear();
            }
            guard
        });
        let counters = guard.get_or_insert_with(|| Counters {
            counters: Vec::new(),
            timing: Timing {
                nanos: vec![0; self.tokenizers.len()],
                bytes: 0,
            },
        });
        if counters.counters.is_empty() {
            counters.counters = self.tokenizers.iter().map(|t| t.counter()).collect();
        }
        f(counters)
    }

    /// The time every thread's counters have spent so far.
    fn timing(&self) -> Timing {
        let mut total = Timing {
            nanos: vec![0; self.tokenizers.len()],
            bytes: 0,
        };
        for slot in &self.slots {
            let guard = slot.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(c) = guard.as_ref() {
                total.merge(&c.timing);
            }
        }
        total
    }
}

/// What counting one source produced.
pub enum Outcome {
    Counted(FileTally),
    Skipped(Skipped),
}

/// Counts text with a fixed set of tokenizers on the current rayon pool.
pub struct Engine {
    pool: CounterPool,
    parse: Parse,
    /// Per tokenizer: its chat format's figures, and the cookbook's
    /// per-function figure for tool definitions.
    formats: Vec<(Overheads, u64)>,
    documents: Limits,
    /// The text columns and fields of CSV and JSON files.
    fields: FieldSpec,
    /// Told the bytes of each piece of text once counted (a progress bar).
    on_counted: Option<OnCounted>,
    /// Detect each piece's language (`--lang`).
    languages: bool,
}

/// What a counted file was read as: its format's name (`text` for files
/// counted as they decode) and its pages, sheets, slides or messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadAs {
    pub format: &'static str,
    pub pages: Option<u64>,
    /// The library that extracted a document's text.
    pub extractor: Option<&'static str>,
}

impl ReadAs {
    pub const TEXT: ReadAs = ReadAs {
        format: "text",
        pages: None,
        extractor: None,
    };
}

/// See [`Engine::on_counted`].
type OnCounted = Box<dyn Fn(u64) + Send + Sync>;

/// Counts of one stretch of text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextCounts {
    pub chars: u64,
    pub lines: u64,
    pub tokens: Vec<u64>,
    /// The same tokens by the content class of each piece.
    pub classes: ByClass,
    /// The same tokens by the dominant script of each piece.
    pub scripts: ByScript,
    /// The same tokens by the detected language of each piece (`--lang`).
    pub languages: ByLanguage,
}

impl Engine {
    /// `threads` is the size of the rayon pool that will run it: one slot
    /// of counters per worker.
    pub fn new(tokenizers: Vec<SharedTokenizer>, parse: Parse, threads: usize) -> Self {
        let mut engine = Engine {
            pool: CounterPool::new(tokenizers, threads),
            parse,
            documents: Limits::default(),
            fields: FieldSpec::default(),
            formats: Vec::new(),
            on_counted: None,
            languages: false,
        };
        engine.formats = engine.derive_formats(None);
        engine
    }

    /// Uses `format` for every tokenizer instead of each one's own.
    pub fn with_chat_format(mut self, format: Option<ChatFormat>) -> Self {
        if format.is_some() {
            self.formats = self.derive_formats(format);
        }
        self
    }

    /// The same engine detecting each piece's language (`--lang`).
    pub fn with_languages(mut self, detect: bool) -> Self {
        self.languages = detect;
        self
    }

    /// Calls `f` with the length of each piece of text as soon as every
    /// tokenizer has counted it: pieces of a large file report as they
    /// finish, so progress moves while one long file is counted.
    pub fn on_counted(mut self, f: impl Fn(u64) + Send + Sync + 'static) -> Self {
        self.on_counted = Some(Box::new(f));
        self
    }

    fn counted(&self, bytes: usize) {
        if let Some(f) = &self.on_counted {
            f(bytes as u64);
        }
    }

    /// Each tokenizer's chat format (or `forced`), tokenized by it.
    fn derive_formats(&self, forced: Option<ChatFormat>) -> Vec<(Overheads, u64)> {
        self.pool
            .tokenizers
            .iter()
            .map(|t| {
                let info = t.info();
                let format = forced.unwrap_or_else(|| ChatFormat::for_tokenizer(&info.name));
                let mut counter = t.counter();
                let overheads =
                    Overheads::derive(format, counter.as_mut(), info.family == "huggingface");
                // The cookbook: 10 for gpt-3.5-turbo and gpt-4 (cl100k), 7
                // for gpt-4o and later.
                let function_init = if info.name == "cl100k_base" { 10 } else { 7 };
                (overheads, function_init)
            })
            .collect()
    }

    /// The time each tokenizer's counters have spent so far, over every
    /// thread, and the bytes of text they counted.
    pub fn timing(&self) -> Timing {
        self.pool.timing()
    }

    /// Each tokenizer's chat-format figures, in selection order.
    pub fn chat_formats(&self) -> Vec<Overheads> {
        self.formats.iter().map(|(o, _)| o.clone()).collect()
    }

    /// The same engine with these limits and choices for documents.
    pub fn with_documents(mut self, documents: Limits) -> Self {
        self.documents = documents;
        self
    }

    /// The same engine reading CSV and JSON files' `fields`.
    pub fn with_fields(mut self, fields: FieldSpec) -> Self {
        self.fields = fields;
        self
    }

    /// Loads a source and, under `--parse auto`, takes a document's text
    /// out of it (see [`document`]): the document and its format, pages and
    /// parser; anything else is decoded as text, its parser chosen later.
    fn open(&self, source: &Source) -> Result<(load::Document, Option<ReadAs>), SkipReason> {
        let bytes = load::read(source)?;
        let format = match self.parse {
            Parse::Auto => document::detect(&source.path, &bytes),
            Parse::Text | Parse::Chat | Parse::Csv | Parse::Json => None,
        };
        let Some(format) = format else {
            return Ok((load::hashed(bytes)?, None));
        };
        let sha256 = load::sha256_of(&bytes);
        let size = bytes.len() as u64;
        let limits = self.documents.clone();
        let (extracted, encoding) = if format.is_text() {
            // HTML is text first: decoded like any text file (BOM, UTF-8,
            // legacy encodings), then its visible text taken.
            let decoded = load::decode(bytes)?;
            let encoding = decoded.encoding;
            let html = decoded.text().to_string();
            if decoded.changed() {
                return Err(SkipReason::Changed);
            }
            drop(decoded);
            let extracted = document::guarded(format, &self.documents, move || {
                document::html_text(&html, &limits)
            })?;
            (extracted, encoding)
        } else {
            let extracted = document::guarded(format, &self.documents, move || {
                let extracted = document::extract(format, &bytes, &limits);
                if bytes.changed() {
                    return Err(SkipReason::Changed);
                }
                extracted
            })?;
            (extracted, "binary")
        };
        let read_as = ReadAs {
            format: format.name(),
            pages: extracted.pages,
            extractor: Some(extracted.extractor),
        };
        let doc = load::Document::extracted(extracted.text, encoding, size, Some(sha256));
        Ok((doc, Some(read_as)))
    }

    /// Loads, extracts and counts one source. A file that changed while
    /// it was read (truncated, rewritten in place) is skipped as such,
    /// whatever was counted of it.
    pub fn count_source(&self, source: &Source) -> Outcome {
        if extract::reads_parquet(&source.path, self.parse, &self.fields) {
            return match self.count_parquet(source) {
                Ok(tally) => Outcome::Counted(tally),
                Err(reason) => skipped(source, reason),
            };
        }
        let (doc, read_as) = match self.open(source) {
            Ok(opened) => opened,
            Err(reason) => return skipped(source, reason),
        };
        let outcome = self.count_opened(source, &doc, read_as);
        if doc.changed() {
            return skipped(source, SkipReason::Changed);
        }
        outcome
    }

    /// Counts a loaded (and extracted) source.
    fn count_opened(
        &self,
        source: &Source,
        doc: &load::Document,
        read_as: Option<ReadAs>,
    ) -> Outcome {
        let skipped = |reason| skipped(source, reason);
        let parser = match read_as {
            Some(_) => Parser::Document,
            None => extract::choose(&source.path, doc.text(), self.parse, &self.fields),
        };
        if matches!(parser, Parser::Csv | Parser::Json) {
            let counted = if parser == Parser::Csv {
                let delimiter = extract_fields::csv_delimiter(&source.path).unwrap_or(b',');
                self.count_csv(doc, delimiter).map(|f| (f, None))
            } else {
                Ok(self.count_json(doc))
            };
            let (fields, text_counts) = match counted {
                Ok(counted) => counted,
                Err(reason) => return skipped(reason),
            };
            let total = fields.total();
            // A large JSONL file's pieces counted them as they went (its
            // pages are handed back: a pass here would map it all again).
            let (chars, newlines) = text_counts.unwrap_or_else(|| chars_and_newlines(doc.text()));
            let last_line = u64::from(!doc.text().is_empty() && !doc.text().ends_with('\n'));
            // Priced as one class and script, like a transcript.
            let (classes, scripts, languages) =
                self.one_class(doc.text(), doc.bytes, chars, &total);
            return Outcome::Counted(FileTally {
                path: source.path.clone(),
                category: source.category.clone(),
                encoding: doc.encoding,
                format: parser.as_str(),
                pages: None,
                extractor: None,
                bytes: doc.bytes,
                chars,
                lines: newlines + last_line,
                tokens: total,
                classes,
                scripts,
                languages,
                parser,
                transcript: None,
                fields: Some(Box::new(fields)),
                sha256: doc.sha256,
            });
        }
        if parser == Parser::Chat {
            let (counts, transcript) = self.count_chat(doc);
            let billed = transcript.billed();
            let (classes, scripts, languages) =
                self.one_class(doc.text(), doc.bytes, counts.chars, &billed);
            return Outcome::Counted(FileTally {
                path: source.path.clone(),
                category: source.category.clone(),
                encoding: doc.encoding,
                format: "chat",
                pages: None,
                extractor: None,
                bytes: doc.bytes,
                chars: counts.chars,
                lines: counts.lines,
                tokens: billed,
                classes,
                scripts,
                languages,
                parser,
                transcript: Some(Box::new(transcript)),
                fields: None,
                sha256: doc.sha256,
            });
        }
        let read_as = read_as.unwrap_or(ReadAs::TEXT);
        let mut counts = TextCounts {
            chars: 0,
            lines: 0,
            tokens: vec![0; self.pool.tokenizers.len()],
            classes: ByClass::new(),
            scripts: ByScript::new(),
            languages: ByLanguage::new(),
        };
        let code = is_code(source);
        for segment in extract::extract(doc.text()) {
            let c = self.count_part(segment.text, true, Some(doc), code);
            counts.chars += c.chars;
            counts.lines += c.lines;
            for (a, b) in counts.tokens.iter_mut().zip(&c.tokens) {
                *a += b;
            }
            merge_by_class(&mut counts.classes, &c.classes);
            merge_by_script(&mut counts.scripts, &c.scripts);
            merge_by_language(&mut counts.languages, &c.languages);
        }
        Outcome::Counted(FileTally {
            path: source.path.clone(),
            category: source.category.clone(),
            encoding: doc.encoding,
            format: read_as.format,
            pages: read_as.pages,
            extractor: read_as.extractor,
            bytes: doc.bytes,
            chars: counts.chars,
            lines: counts.lines,
            tokens: counts.tokens,
            classes: counts.classes,
            scripts: counts.scripts,
            languages: counts.languages,
            parser,
            transcript: None,
            fields: None,
            sha256: doc.sha256,
        })
    }

    /// A record file (a transcript, CSV, JSON or Parquet fields) is priced
    /// as one content class and counted under one script and language: the
    /// ones its text reads as, sampled like any piece (the JSON keys or the
    /// CSV's commas are few beside the text of real records). `bytes`: the
    /// file's size, for all three.
    fn one_class(
        &self,
        text: &str,
        bytes: u64,
        chars: u64,
        tokens: &[u64],
    ) -> (ByClass, ByScript, ByLanguage) {
        let sample = content::sample(text);
        let classes = ByClass::from([(
            content::class_of_sample(&sample, false),
            ClassTally {
                pieces: 1,
                bytes,
                tokens: tokens.to_vec(),
            },
        )]);
        let scripts = ByScript::from([(
            sample.dominant(),
            ScriptTally {
                pieces: 1,
                bytes,
                chars,
                tokens: tokens.to_vec(),
            },
        )]);
        let languages = language_of(self.languages, text, bytes, chars, tokens);
        (classes, scripts, languages)
    }

    /// Every tokenizer's count of one document.
    fn count_document(&self, text: &str) -> Vec<u64> {
        self.pool.with(|counters| {
            let Counters { counters, timing } = counters;
            timing.bytes += text.len() as u64;
            counters
                .iter_mut()
                .zip(timing.nanos.iter_mut())
                .map(|(c, nanos)| {
                    let start = Instant::now();
                    let n = c.count(text);
                    *nanos += start.elapsed().as_nanos() as u64;
                    n
                })
                .collect()
        })
    }

    /// Counts a Parquet file's rows (`--column`), each a document, read a
    /// row group at a time on this thread. Hashed for the corpus digest as
    /// read; a file the reader rejects is skipped as corrupt.
    fn count_parquet(&self, source: &Source) -> Result<FileTally, SkipReason> {
        let bytes = load::read(source)?;
        let sha256 = load::sha256_of(&bytes);
        let size = bytes.len() as u64;
        /// A mapping as the reader's buffer, without a copy.
        struct Mapped(std::sync::Arc<load::GuardedMap>);
        impl AsRef<[u8]> for Mapped {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }
        let mut mapped = None;
        let data = match bytes {
            load::Bytes::Mapped(map) => {
                let map = std::sync::Arc::new(map);
                mapped = Some(map.clone());
                ::bytes::Bytes::from_owner(Mapped(map))
            }
            load::Bytes::Owned(buf) => ::bytes::Bytes::from(buf),
        };
        let rows = extract::parquet::parquet_rows(data, &self.fields).map_err(|e| match e {
            extract::parquet::Unreadable::Corrupt(message) => SkipReason::Corrupt {
                format: "parquet",
                message,
            },
            extract::parquet::Unreadable::NoColumn(reason) => SkipReason::Fields(reason),
        })?;
        let mut f = FieldCounts::new(self.pool.tokenizers.len());
        let (mut chars, mut lines) = (0u64, 0u64);
        // The class and script come from the first documents' text.
        const SAMPLE: usize = 16 * 1024;
        let mut sample = String::new();
        for row in rows {
            match row {
                Row::Document { text, output, .. } => {
                    let tokens = self.count_document(&text);
                    f.add_document(&tokens, output);
                    let (c, n) = chars_and_newlines(&text);
                    chars += c;
                    lines += n + 1;
                    if sample.len() < SAMPLE {
                        // Up to the cap, not the whole row: one cell may
                        // be hundreds of MB.
                        let mut end = text.len().min(SAMPLE - sample.len());
                        while !text.is_char_boundary(end) {
                            end -= 1;
                        }
                        sample.push_str(&text[..end]);
                        sample.push('\n');
                    }
                }
                Row::Malformed(m) => f.add_malformed(m),
                Row::MalformedRun { lines, reason } => f.add_malformed_run(lines, reason),
            }
        }
        self.counted(size as usize);
        // A file truncated or rewritten while mapped reads as zeros past
        // the change (see `load::guard`): skipped, whatever was counted.
        if mapped.is_some_and(|m| m.changed()) {
            return Err(SkipReason::Changed);
        }
        let total = f.total();
        let (classes, scripts, languages) = self.one_class(&sample, size, chars, &total);
        Ok(FileTally {
            path: source.path.clone(),
            category: source.category.clone(),
            encoding: "binary",
            format: "parquet",
            pages: None,
            extractor: None,
            bytes: size,
            chars,
            lines,
            tokens: total,
            classes,
            scripts,
            parser: Parser::Parquet,
            languages,
            transcript: None,
            fields: Some(Box::new(f)),
            sha256: Some(sha256),
        })
    }

    /// Counts a CSV/TSV file's rows, streaming them on this thread (quoted
    /// cells may hold newlines, so the file cannot be cut at lines); the
    /// pages of a mapped file are handed back every few MiB as the rows go
    /// by. A missing `--column` skips the file with the header's columns.
    fn count_csv(&self, doc: &load::Document, delimiter: u8) -> Result<FieldCounts, SkipReason> {
        let text = doc.text();
        let mut rows =
            extract_fields::csv_rows(text, delimiter, &self.fields).map_err(SkipReason::Fields)?;
        let mut f = FieldCounts::new(self.pool.tokenizers.len());
        let mut released = 0usize;
        // Not a `for`: the reader's position is read between rows.
        #[allow(clippy::while_let_on_iterator)]
        while let Some(row) = rows.next() {
            match row {
                Row::Document {
                    text: cells,
                    output,
                    ..
                } => {
                    let tokens = self.count_document(&cells);
                    f.add_document(&tokens, output);
                }
                Row::Malformed(m) => f.add_malformed(m),
                Row::MalformedRun { lines, reason } => f.add_malformed_run(lines, reason),
            }
            let at = rows.byte_offset().min(text.len());
            if at - released >= RELEASE_EVERY && text.is_char_boundary(at) {
                doc.release_pages(&text[released..at], true, false);
                self.counted(at - released);
                released = at;
            }
        }
        self.counted(text.len() - released);
        Ok(f)
    }

    /// A large JSONL file's records, in pieces cut at line boundaries and
    /// counted on the pool into a fresh `T` each (`add` folds one record),
    /// so memory stays a few pieces per thread; the parts are merged in
    /// order, each malformed record's line shifted by the lines before its
    /// piece. Chat transcripts and `--field` records share it. Returns the
    /// text's characters and newlines too, counted piece by piece: a pass
    /// over the whole text first would make a mapped file resident at once.
    fn count_lines_in_pieces<T: RecordCounts>(
        &self,
        doc: &load::Document,
        add: impl Fn(&mut T, Record) + Sync,
    ) -> (T, u64, u64) {
        let text = doc.text();
        let n = self.pool.tokenizers.len();
        let pieces = text.len().div_ceil(CHAT_PIECE);
        let released = Released::new(pieces, CHAT_PIECE);
        let parts: Vec<(T, u64, u64)> = (0..pieces)
            .into_par_iter()
            .map(|k| {
                let piece = &text[line_piece(text, k, CHAT_PIECE)];
                let mut part = T::empty(n);
                for record in records::lines(piece, 1) {
                    add(&mut part, record);
                }
                let (chars, newlines) = chars_and_newlines(piece);
                released.counted(doc, text, k, piece);
                self.counted(piece.len());
                (part, chars, newlines)
            })
            .collect();
        let mut whole = T::empty(n);
        let (mut chars, mut offset) = (0, 0);
        for (mut part, part_chars, newlines) in parts {
            for m in part.malformed_kept() {
                m.line += offset;
            }
            whole.merge_part(&part);
            offset += newlines;
            chars += part_chars;
        }
        (whole, chars, offset)
    }

    /// Counts a JSON/JSONL file's records (cut by `chat::records`, like
    /// transcripts): a large JSONL file in pieces cut at line boundaries
    /// on the pool, line numbers fixed up in order afterwards; then also
    /// the text's characters and newlines, counted by the pieces.
    fn count_json(&self, doc: &load::Document) -> (FieldCounts, Option<(u64, u64)>) {
        let text = doc.text();
        let n = self.pool.tokenizers.len();
        let layout = records::layout(text);
        let in_pieces = matches!(layout, records::Layout::Lines) && text.len() >= 2 * CHAT_PIECE;
        if in_pieces {
            let (f, chars, newlines) = self
                .count_lines_in_pieces(doc, |part: &mut FieldCounts, record| {
                    self.add_field_record(part, record)
                });
            return (f, Some((chars, newlines)));
        }
        let mut f = FieldCounts::new(n);
        match layout {
            records::Layout::Lines => {
                for record in records::lines(text, 1) {
                    self.add_field_record(&mut f, record);
                }
            }
            records::Layout::Array(items) => {
                for record in records::array_records(text, items) {
                    self.add_field_record(&mut f, record);
                }
            }
            records::Layout::One { line, value } => {
                self.add_field_record(&mut f, Record::Value { line, value });
            }
        }
        self.counted(text.len());
        (f, None)
    }

    /// One JSON record: its fields' text counted as a document, or a
    /// malformed entry (not JSON, or no `--field` matched).
    fn add_field_record(&self, f: &mut FieldCounts, record: Record) {
        let (line, value) = match record {
            Record::Value { line, value } => (line, value),
            Record::Malformed(m) => return f.add_malformed(m),
        };
        match extract_fields::record_text(&value, &self.fields.paths) {
            Ok(text) => {
                let tokens = self.count_document(&text);
                f.add_document(&tokens, false);
            }
            Err(reason) => f.add_malformed(chat::Malformed { line, reason }),
        }
    }

    /// Counts a chat file's records: conversations by role and format,
    /// malformed records with their lines. A JSONL file of two pieces or
    /// more is read in pieces cut at line boundaries on the pool, its
    /// pages handed back as they are done, so memory stays a few pieces
    /// per thread; line numbers are fixed up in order afterwards.
    fn count_chat(&self, doc: &load::Document) -> (TextCounts, TranscriptCounts) {
        let text = doc.text();
        let n = self.pool.tokenizers.len();
        let layout = records::layout(text);
        self.pool.with(|c| c.timing.bytes += text.len() as u64);
        let mut transcript = TranscriptCounts::new(n);
        let in_pieces = matches!(layout, records::Layout::Lines)
            && text.len() >= 2 * CHAT_PIECE
            && !first_is_message(text);
        let (chars, newlines) = if in_pieces {
            (0, 0)
        } else {
            chars_and_newlines(text)
        };
        let last_line = u64::from(!text.is_empty() && !text.ends_with('\n'));
        let mut counts = TextCounts {
            chars,
            lines: newlines + last_line,
            tokens: Vec::new(),
            classes: ByClass::new(),
            scripts: ByScript::new(),
            languages: ByLanguage::new(),
        };
        match layout {
            records::Layout::Lines if in_pieces => {
                let (t, chars, newlines) = self
                    .count_lines_in_pieces(doc, |t: &mut TranscriptCounts, record| {
                        self.add_record(t, record)
                    });
                transcript = t;
                counts.chars = chars;
                counts.lines = newlines + last_line;
            }
            records::Layout::Lines => {
                let lines = records::lines(text, 1);
                if first_is_message(text) {
                    // One conversation, a message per line.
                    let mut messages = Vec::new();
                    for record in lines {
                        match record {
                            Record::Value { value, .. } => messages.push(value),
                            Record::Malformed(m) => transcript.add_malformed(m),
                        }
                    }
                    let value = serde_json::Value::Array(messages);
                    self.add_record(&mut transcript, Record::Value { line: 1, value });
                } else {
                    for record in lines {
                        self.add_record(&mut transcript, record);
                    }
                }
            }
            records::Layout::Array(items) => {
                for record in records::array_records(text, items) {
                    self.add_record(&mut transcript, record);
                }
            }
            records::Layout::One { line, value } => {
                self.add_record(&mut transcript, Record::Value { line, value });
            }
        }
        if !in_pieces {
            self.counted(text.len());
        }
        (counts, transcript)
    }

    /// One record: a conversation counted with every tokenizer, or a
    /// malformed entry.
    fn add_record(&self, t: &mut TranscriptCounts, record: Record) {
        let (line, value) = match record {
            Record::Value { line, value } => (line, value),
            Record::Malformed(m) => return t.add_malformed(m),
        };
        match chat::shapes::conversation(&value) {
            Ok(c) => {
                t.add_structure(&c);
                self.pool.with(|counters| {
                    let Counters { counters, timing } = counters;
                    for (i, (counter, (format, init))) in
                        counters.iter_mut().zip(&self.formats).enumerate()
                    {
                        let start = Instant::now();
                        t.add_conversation(&c, i, counter.as_mut(), format, *init);
                        timing.nanos[i] += start.elapsed().as_nanos() as u64;
                    }
                });
            }
            Err(reason) => t.add_malformed(chat::Malformed { line, reason }),
        }
    }

    /// Counts one stretch of text with every tokenizer, in parallel pieces
    /// when it is long.
    pub fn count_text(&self, text: &str) -> TextCounts {
        self.count_part(text, true, None, false)
    }

    /// `first`: whether `text` starts its document (see
    /// [`Counter::count_continuation`]). `doc`: the document `text` lies in,
    /// whose pages each piece hands back once counted (see [`Released`]).
    /// `code`: the document is source code by its extension (`content`).
    fn count_part(
        &self,
        text: &str,
        first: bool,
        doc: Option<&load::Document>,
        code: bool,
    ) -> TextCounts {
        // A last line without a newline counts too (as `wc -l` would not).
        let last_line = u64::from(!text.is_empty() && !text.ends_with('\n'));
        let n_tok = self.pool.tokenizers.len();
        let counts = if text.len() < 2 * PIECE_TARGET {
            let counts = self
                .pool
                .with(|c| count_piece(c, text, first, code, self.languages));
            self.counted(text.len());
            if let Some(doc) = doc {
                // Segments are counted in order: the text before is done.
                doc.release_pages(text, true, false);
            }
            counts
        } else {
            // Characters and newlines are counted with the tokens, piece by
            // piece on the pool: a pass over the whole text on this thread
            // first was serial work in every large file.
            // Each piece finds its own bounds (`grid_piece`) as it is counted:
            // cutting the whole text first touched a page at every cut, and
            // with the kernel's fault-around that mapped 64 KiB per piece
            // ahead of the counting (measured +17 MB peak RSS on one 120 MB
            // file, and it grows with the file).
            let n = text.len().div_ceil(PIECE_TARGET);
            let released = Released::new(n, PIECE_TARGET);
            (0..n)
                .into_par_iter()
                .map(|k| {
                    let piece = &text[chunk::grid_piece(text, k, PIECE_TARGET)];
                    let counts = self
                        .pool
                        .with(|c| count_piece(c, piece, first && k == 0, code, self.languages));
                    self.counted(piece.len());
                    if let Some(doc) = doc {
                        released.counted(doc, text, k, piece);
                    }
                    counts
                })
                .reduce(
                    || PieceCounts::empty(n_tok),
                    |mut a, b| {
                        a.merge(&b);
                        a
                    },
                )
        };
        TextCounts {
            chars: counts.chars,
            lines: counts.newlines + last_line,
            tokens: counts.tokens,
            classes: counts.classes,
            scripts: counts.scripts,
            languages: counts.languages,
        }
    }
}

/// What counting one piece (or several, summed) gives.
struct PieceCounts {
    chars: u64,
    newlines: u64,
    tokens: Vec<u64>,
    classes: ByClass,
    scripts: ByScript,
    languages: ByLanguage,
}

impl PieceCounts {
    fn empty(tokenizers: usize) -> Self {
        PieceCounts {
            chars: 0,
            newlines: 0,
            tokens: vec![0; tokenizers],
            classes: ByClass::new(),
            scripts: ByScript::new(),
            languages: ByLanguage::new(),
        }
    }

    fn merge(&mut self, other: &PieceCounts) {
        self.chars += other.chars;
        self.newlines += other.newlines;
        for (a, b) in self.tokens.iter_mut().zip(&other.tokens) {
            *a += b;
        }
        merge_by_class(&mut self.classes, &other.classes);
        merge_by_script(&mut self.scripts, &other.scripts);
        merge_by_language(&mut self.languages, &other.languages);
    }
}

/// `source`, skipped for `reason`.
fn skipped(source: &Source, reason: SkipReason) -> Outcome {
    Outcome::Skipped(Skipped {
        path: source.path.clone(),
        category: source.category.clone(),
        bytes: source.bytes_for_report(),
        reason,
    })
}

/// Whether `source` is source code by its extension (see `content`).
fn is_code(source: &Source) -> bool {
    source
        .path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| content::is_code_extension(&e.to_ascii_lowercase()))
}

/// Whether the first record of JSONL text is a bare message (the file is
/// then one conversation, a message per line).
fn first_is_message(text: &str) -> bool {
    matches!(
        records::lines(text, 1).next(),
        Some(Record::Value { value, .. }) if chat::shapes::is_message(&value)
    )
}

/// What a file's records are counted into (chat transcripts, `--field`
/// records): piece by piece in [`Engine::count_lines_in_pieces`], file by
/// file in the tally's `Records`.
pub trait RecordCounts: Send {
    /// Nothing counted yet, for `tokenizers` tokenizers.
    fn empty(tokenizers: usize) -> Self;
    /// Adds the counts of other records (another piece or file).
    fn merge_part(&mut self, part: &Self);
    /// The malformed records kept by line.
    fn malformed_kept(&mut self) -> &mut Vec<chat::Malformed>;
    /// The same, to read.
    fn malformed_listed(&self) -> &[chat::Malformed];
}

impl RecordCounts for TranscriptCounts {
    fn malformed_listed(&self) -> &[chat::Malformed] {
        &self.malformed_kept
    }
    fn empty(tokenizers: usize) -> Self {
        TranscriptCounts::new(tokenizers)
    }
    fn merge_part(&mut self, part: &Self) {
        self.merge(part);
    }
    fn malformed_kept(&mut self) -> &mut Vec<chat::Malformed> {
        &mut self.malformed_kept
    }
}

impl RecordCounts for FieldCounts {
    fn malformed_listed(&self) -> &[chat::Malformed] {
        &self.malformed_kept
    }
    fn empty(tokenizers: usize) -> Self {
        FieldCounts::new(tokenizers)
    }
    fn merge_part(&mut self, part: &Self) {
        self.merge(part);
    }
    fn malformed_kept(&mut self) -> &mut Vec<chat::Malformed> {
        &mut self.malformed_kept
    }
}

/// Pieces of a large JSONL file are about this long (cut after a newline).
const CHAT_PIECE: usize = 1024 * 1024;

/// A CSV file's pages are handed back after about this many bytes of rows.
const RELEASE_EVERY: usize = 4 * 1024 * 1024;

/// The `k`-th piece of `text` cut every `target` bytes, each cut moved to
/// just after the next newline: pieces hold whole lines, and they tile the
/// text.
fn line_piece(text: &str, k: usize, target: usize) -> std::ops::Range<usize> {
    let cut = |i: usize| -> usize {
        if i == 0 {
            return 0;
        }
        let at = (i * target).min(text.len());
        text.as_bytes()[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len(), |p| at + p + 1)
    };
    cut(k)..cut(k + 1).max(cut(k))
}

/// Hands a mapped document's pages back to the kernel piece by piece as the
/// pieces are counted, so that resident memory stays a few pieces per thread
/// whatever the file's size.
///
/// A page that two pieces share is handed back by whichever of the two is
/// counted last: each piece marks itself done and then looks at its
/// neighbours (sequentially consistent, so of two neighbours finishing at
/// once at least one sees the other). The text before the first piece is
/// done (segments of a document are counted in order); the text after the
/// last is not.
///
/// Before this, a file was counted in windows of 16 MiB with the pages
/// released after each: every window ended with a barrier where one thread
/// waited for the other's last piece (2-thread CPU use on one 120 MB file
/// 184-187% with windows, 190-192% without), and the windows' edges kept
/// pages until the file was done. Pages handed back early would only be read
/// again from the page cache, so a mistake here costs memory or time, never
/// a wrong count.
///
/// A piece finds its bounds by reading near its grid points, and the
/// kernel's fault-around maps up to 64 KiB around each page read, so pages
/// of a neighbour already counted and released can be mapped again and
/// never handed back: on one 4.1 GB file that kept 280 MB mapped by the end
/// (BENCHMARKS.md, "4 GB"). So the pieces also sweep behind them: once every
/// piece below a grid point is counted, the text before it is released
/// again, from a little before where the last sweep stopped.
struct Released {
    done: Vec<AtomicBool>,
    /// Pieces below it are all counted (the low-water mark).
    low: std::sync::Mutex<usize>,
    /// The pieces' grid step, in bytes.
    step: usize,
}

/// How far before the last sweep's end a sweep starts again: the kernel's
/// fault-around window (`fault_around_bytes`, 64 KiB by default), twice.
const SWEEP_OVERLAP: usize = 128 * 1024;

impl Released {
    fn new(pieces: usize, step: usize) -> Self {
        Released {
            done: (0..pieces).map(|_| AtomicBool::new(false)).collect(),
            low: std::sync::Mutex::new(0),
            step,
        }
    }

    /// Piece `i`, `piece`, of `text` is counted. (An empty piece has no
    /// pages; its neighbours may then release the page they share a little
    /// early.)
    fn counted(&self, doc: &load::Document, text: &str, i: usize, piece: &str) {
        self.done[i].store(true, Ordering::SeqCst);
        if piece.is_empty() {
            return;
        }
        let done = |j: usize| self.done.get(j).is_some_and(|d| d.load(Ordering::SeqCst));
        doc.release_pages(piece, i == 0 || done(i - 1), done(i + 1));
        let Ok(mut low) = self.low.try_lock() else {
            // Another piece is sweeping; the next sweep covers this one.
            return;
        };
        let old = *low;
        while *low < self.done.len() && done(*low) {
            *low += 1;
        }
        if *low > old {
            // Text before piece `low - 1`'s grid point lies in pieces below
            // it (whichever way a cut moved from its grid point): all done.
            let boundary = |at: usize| {
                let mut at = at.min(text.len());
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                at
            };
            let to = boundary((*low - 1) * self.step);
            let from = boundary((old.saturating_sub(1) * self.step).saturating_sub(SWEEP_OVERLAP));
            if to > from {
                doc.release_pages(&text[from..to], true, false);
            }
        }
    }
}

/// Characters, newlines, each tokenizer's tokens in one piece, and the
/// same tokens under the piece's content class and dominant script (both
/// decided from one sample of the piece, `content::sample`).
fn count_piece(
    counters: &mut Counters,
    text: &str,
    first: bool,
    code: bool,
    languages: bool,
) -> PieceCounts {
    let Counters { counters, timing } = counters;
    let tokens: Vec<u64> = counters
        .iter_mut()
        .zip(timing.nanos.iter_mut())
        .map(|(c, nanos)| {
            let start = Instant::now();
            let n = if first {
                c.count(text)
            } else {
                c.count_continuation(text)
            };
            *nanos += start.elapsed().as_nanos() as u64;
            n
        })
        .collect();
    timing.bytes += text.len() as u64;
    let (chars, newlines) = chars_and_newlines(text);
    let sample = content::sample(text);
    let class = ClassTally {
        pieces: 1,
        bytes: text.len() as u64,
        tokens: tokens.clone(),
    };
    let classes = ByClass::from([(content::class_of_sample(&sample, code), class)]);
    let script = ScriptTally {
        pieces: 1,
        bytes: text.len() as u64,
        chars,
        tokens: tokens.clone(),
    };
    // An empty piece (the chunker's cut can give one) has no script.
    let scripts = if text.is_empty() {
        ByScript::new()
    } else {
        ByScript::from([(sample.dominant(), script)])
    };
    let languages = if text.is_empty() {
        ByLanguage::new()
    } else {
        language_of(languages, text, text.len() as u64, chars, &tokens)
    };
    PieceCounts {
        chars,
        newlines,
        tokens,
        classes,
        scripts,
        languages,
    }
}

/// Unicode scalar values (every byte that is not a UTF-8 continuation byte)
/// and `\n` bytes, in one pass.
///
/// Rows of 64 bytes are summed into 64 byte-wide lanes for up to 255 rows
/// (a lane cannot overflow), then widened: the compiler turns the lanes
/// into vector adds. Summing each byte into a `u64` directly ran at about
/// 2 GB/s, 5% of a one-thread audit.
fn chars_and_newlines(text: &str) -> (u64, u64) {
    const LANES: usize = 64;
    let (mut chars, mut newlines) = (0u64, 0u64);
    let mut rows = text.as_bytes().chunks_exact(LANES);
    loop {
        let (mut c, mut n) = ([0u8; LANES], [0u8; LANES]);
        let mut taken = 0;
        for row in rows.by_ref().take(255) {
            for i in 0..LANES {
                c[i] += u8::from((row[i] as i8) >= -0x40);
                n[i] += u8::from(row[i] == b'\n');
            }
            taken += 1;
        }
        chars += c.iter().map(|&x| u64::from(x)).sum::<u64>();
        newlines += n.iter().map(|&x| u64::from(x)).sum::<u64>();
        if taken < 255 {
            break;
        }
    }
    for &b in rows.remainder() {
        chars += u64::from((b as i8) >= -0x40);
        newlines += u64::from(b == b'\n');
    }
    (chars, newlines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chars_and_lines() {
        assert_eq!(chars_and_newlines("héllo 你好 🙂\n\n"), (12, 2));
        let engine = Engine::new(Vec::new(), Parse::Text, 1);
        for (text, lines) in [("", 0), ("a", 1), ("a\n", 1), ("a\nb", 2)] {
            assert_eq!(engine.count_text(text).lines, lines, "{text:?}");
        }
    }

    #[test]
    fn chars_and_newlines_equal_the_standard_library_at_every_length() {
        // Lengths around the 64-byte rows and the 255-row blocks, with
        // every kind of UTF-8 sequence cut at every offset.
        let base = "a\né你🙂\n\n".repeat(3000);
        for len in (0..300).chain([64 * 255 - 1, 64 * 255, 64 * 255 + 1, 2 * 64 * 255 + 7]) {
            for start in 0..4 {
                let bytes = &base.as_bytes()[start..start + len];
                let text = String::from_utf8_lossy(bytes);
                let expected = (
                    text.chars().count() as u64,
                    text.bytes().filter(|&b| b == b'\n').count() as u64,
                );
                assert_eq!(
                    chars_and_newlines(&text),
                    expected,
                    "len {len} start {start}"
                );
            }
        }
    }

    #[test]
    fn pieces_sum_to_whole() {
        let tok = crate::tokenize::sources::builtin::resolve("cl100k_base").unwrap();
        let engine = Engine::new(vec![tok.clone()], Parse::Text, rayon::current_num_threads());
        let text =
            "Line one of the text.\nZweite Zeile, mit Umlauten: äöü.\n中文的一行\n".repeat(20_000);
        assert!(text.len() > 2 * PIECE_TARGET);
        let got = engine.count_text(&text);
        let whole = tok.counter().count(&text);
        assert_eq!(got.tokens, vec![whole]);
        assert_eq!(got.chars, text.chars().count() as u64);
        assert_eq!(got.lines, text.lines().count() as u64);
    }
}
