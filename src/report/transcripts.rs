/*!
The report's `transcripts` section: what chat files' conversations send and
return, per tokenizer; and its `fields` section: CSV and JSON files' rows.
*/

use serde::Serialize;
use serde_json::{Map, Value};

use super::by_name;
use crate::count::chat_format::Overheads;
use crate::extract::chat::ChatRole;
use crate::tally::{Fields, Transcripts};

#[derive(Debug, Serialize)]
pub struct TranscriptsReport {
    /// Records read from chat files: `conversations + malformed.count`.
    pub records: u64,
    pub conversations: u64,
    /// Message objects (a top-level `system`/`instructions` is not one).
    pub messages: u64,
    pub malformed: MalformedReport,
    /// Non-text parts (images, audio, files, documents) by kind: counted,
    /// not tokenized.
    pub non_text: Map<String, Value>,
    /// The images among `non_text`, and their tokens estimated by OpenAI's
    /// tile rule (gpt-4o class) and Anthropic's (width × height) / 750 where
    /// the size (or OpenAI's low detail) is known; not part of the token
    /// figures below. See `count::vision` for the sources.
    pub image_tokens_estimate: crate::count::vision::ImageEstimate,
    /// Tokenizer name → its chat format's figures.
    pub chat_format: Map<String, Value>,
    pub input_tokens: Map<String, Value>,
    pub output_tokens: Map<String, Value>,
    pub replayed_input_tokens: Map<String, Value>,
    /// The part of `replayed_input_tokens` that the previous turn had
    /// already sent: what a prompt cache can serve.
    pub replayed_cached_input_tokens: Map<String, Value>,
    /// Tool definitions' tokens, included in `input_tokens`: an estimate
    /// (see the README).
    pub tool_definition_tokens_estimate: Map<String, Value>,
    /// Role → tokenizer → content tokens (without the chat format's
    /// overhead).
    pub content_by_role: Map<String, Value>,
}

/// The report's `fields` section: CSV/TSV rows and JSON/JSONL records read
/// by `--column`/`--field`, each a document.
#[derive(Debug, Serialize)]
pub struct FieldsReport {
    /// Rows and records read: `documents + malformed.count`.
    pub records: u64,
    pub documents: u64,
    /// Documents whose `--role-column` says the model wrote them.
    pub output_documents: u64,
    pub malformed: MalformedReport,
    /// Tokens of input documents, per tokenizer.
    pub input_tokens: Map<String, Value>,
    /// Tokens of output documents (`--role-column`), per tokenizer.
    pub output_tokens: Map<String, Value>,
}

impl FieldsReport {
    pub fn new(f: &Fields, names: &[String]) -> Self {
        let c = &f.counts;
        FieldsReport {
            records: c.records,
            documents: c.documents,
            output_documents: c.output_documents,
            malformed: MalformedReport::new(c.malformed, &f.malformed),
            input_tokens: by_name(names, &c.input),
            output_tokens: by_name(names, &c.output),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct MalformedReport {
    pub count: u64,
    /// How many are listed in `records` (at most 100).
    pub kept: usize,
    pub records: Vec<MalformedEntry>,
}

#[derive(Debug, Serialize)]
pub struct MalformedEntry {
    pub path: String,
    pub line: u64,
    pub reason: String,
}

impl MalformedReport {
    fn new(count: u64, kept: &[(std::path::PathBuf, crate::extract::chat::Malformed)]) -> Self {
        MalformedReport {
            count,
            kept: kept.len(),
            records: kept
                .iter()
                .map(|(path, m)| MalformedEntry {
                    path: path.display().to_string(),
                    line: m.line,
                    reason: m.reason.clone(),
                })
                .collect(),
        }
    }
}

impl TranscriptsReport {
    pub fn new(t: &Transcripts, names: &[String], formats: &[Overheads]) -> Self {
        let c = &t.counts;
        TranscriptsReport {
            records: c.records,
            conversations: c.conversations,
            messages: c.messages,
            malformed: MalformedReport::new(c.malformed, &t.malformed),
            non_text: c
                .non_text
                .iter()
                .map(|(k, n)| (k.clone(), Value::from(*n)))
                .collect(),
            image_tokens_estimate: c.images.clone(),
            chat_format: names
                .iter()
                .zip(formats)
                .map(|(n, f)| {
                    (
                        n.clone(),
                        serde_json::to_value(f).expect("figures serialize"),
                    )
                })
                .collect(),
            input_tokens: by_name(names, &c.input),
            output_tokens: by_name(names, &c.output),
            replayed_input_tokens: by_name(names, &c.replayed_input),
            replayed_cached_input_tokens: by_name(names, &c.replayed_cached),
            tool_definition_tokens_estimate: by_name(names, &c.tool_definitions),
            content_by_role: ChatRole::ALL
                .iter()
                .map(|r| {
                    (
                        r.as_str().to_string(),
                        Value::Object(by_name(names, &c.content_by_role[r.index()])),
                    )
                })
                .collect(),
        }
    }
}
