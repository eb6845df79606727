//! Each chat format's overhead against a fully rendered conversation: the
//! template written out with its real special tokens, counted by the
//! reference encoder (the `tokenizers` crate on the tokenizer.json file,
//! which matches added tokens), must equal what the audit charges: content
//! counted alone plus the format's figures, which it derives by tokenizing
//! the template's pieces.

use crate::common;

use serde_json::json;
use tokenaudit::count::chat_format::{ChatFormat, Overheads};
use tokenaudit::count::transcript::TranscriptCounts;
use tokenaudit::extract::chat::shapes;
use tokenaudit::tokenize::TokenizerDir;

const SYSTEM: &str = "You are terse.";
const Q1: &str = "What is the capital of France?";
const A1: &str = "Paris.";
const Q2: &str = "And of Italy, please?";

/// The reference count of `text` with a tokenizer.json file.
fn reference(name: &str, text: &str) -> u64 {
    let dir = TokenizerDir::locate(None);
    let named = tokenaudit::tokenize::sources::registry::named(name).unwrap();
    let path = dir.file(named);
    let t = tokenizers::Tokenizer::from_file(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/fetch-tokenizers)", path.display()));
    t.encode(text, false).unwrap().len() as u64
}

/// What the audit charges, with `tokenizer` and `format`, for the test
/// conversation (system, user, assistant, user, then a reply).
fn audit(tokenizer: &str, format: ChatFormat) -> (Overheads, TranscriptCounts, u64) {
    let tok = common::load(tokenizer).unwrap_or_else(|| panic!("{tokenizer} is not installed"));
    let mut counter = tok.counter();
    let overheads = Overheads::derive(format, counter.as_mut(), tok.info().family == "huggingface");
    let conversation = shapes::conversation(&json!({"messages": [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": Q1},
        {"role": "assistant", "content": A1},
        {"role": "user", "content": Q2},
        {"role": "assistant", "content": "Rome."}]}))
    .unwrap();
    let mut t = TranscriptCounts::new(1);
    t.add_conversation(&conversation, 0, counter.as_mut(), &overheads, 7);
    let content = [SYSTEM, Q1, A1, Q2].iter().map(|s| counter.count(s)).sum();
    (overheads, t, content)
}

/// Checks the format against two renderings: the request for the first
/// reply (system and first question, primed) and for the second (all four
/// messages, primed).
fn check(tokenizer: &str, reference_file: &str, format: ChatFormat, first: &str, second: &str) {
    let (o, t, content) = audit(tokenizer, format);
    assert!(!o.estimate, "{tokenizer}: a special token is missing");
    let (r1, r2) = (
        reference(reference_file, first),
        reference(reference_file, second),
    );
    // The overhead: the rendered count less the content counted alone.
    let per = &o.per_message;
    assert_eq!(
        o.start + per.system + per.user + per.assistant + per.user + o.priming,
        r2 - content,
        "{tokenizer}: overhead of {second:?}"
    );
    assert_eq!(
        t.replayed_input,
        vec![r1 + r2],
        "{tokenizer}: replayed input"
    );
}

#[test]
fn llama3_template() {
    let first =
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>\
<|start_header_id|>user<|end_header_id|>\n\nWhat is the capital of France?<|eot_id|>\
<|start_header_id|>assistant<|end_header_id|>\n\n";
    let second =
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>\
<|start_header_id|>user<|end_header_id|>\n\nWhat is the capital of France?<|eot_id|>\
<|start_header_id|>assistant<|end_header_id|>\n\nParis.<|eot_id|>\
<|start_header_id|>user<|end_header_id|>\n\nAnd of Italy, please?<|eot_id|>\
<|start_header_id|>assistant<|end_header_id|>\n\n";
    check("llama3-hf", "llama3-hf", ChatFormat::Llama3, first, second);
    // The rank file has no special tokens; its pieces are the same text.
    check("llama3", "llama3-hf", ChatFormat::Llama3, first, second);
}

#[test]
fn chatml_template() {
    let first = "<|im_start|>system\nYou are terse.<|im_end|>\n\
<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n";
    let second = "<|im_start|>system\nYou are terse.<|im_end|>\n\
<|im_start|>user\nWhat is the capital of France?<|im_end|>\n\
<|im_start|>assistant\nParis.<|im_end|>\n\
<|im_start|>user\nAnd of Italy, please?<|im_end|>\n<|im_start|>assistant\n";
    check("qwen3", "qwen3", ChatFormat::Chatml, first, second);
}

#[test]
fn gemma_template() {
    let first =
        "<bos><start_of_turn>user\nYou are terse.\n\nWhat is the capital of France?<end_of_turn>\n\
<start_of_turn>model\n";
    let second =
        "<bos><start_of_turn>user\nYou are terse.\n\nWhat is the capital of France?<end_of_turn>\n\
<start_of_turn>model\nParis.<end_of_turn>\n\
<start_of_turn>user\nAnd of Italy, please?<end_of_turn>\n<start_of_turn>model\n";
    check("gemma3", "gemma3", ChatFormat::Gemma, first, second);
}

#[test]
fn mistral_template() {
    let first = "<s>[INST] You are terse.\n\nWhat is the capital of France? [/INST]";
    let second = "<s>[INST] You are terse.\n\nWhat is the capital of France? [/INST] Paris.</s>\
[INST] And of Italy, please? [/INST]";
    check(
        "mistral-v1",
        "mistral-v1",
        ChatFormat::Mistral,
        first,
        second,
    );
}
