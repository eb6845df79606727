//! Each chat format's overhead against a fully rendered conversation: the
//! template written out with its real special tokens, counted by the
//! reference encoder (the `tokenizers` crate on the tokenizer.json file,
//! which matches added tokens), must equal what the audit charges: content
//! counted alone plus the format's figures, which it derives by tokenizing
//! the template's pieces. `mistral-tekken` is checked against Mistral's own
//! code instead: mistral-common renders and encodes the requests
//! (scripts/mistral_common_reference.py, in the environment that
//! scripts/fetch-mistral-common makes).

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

/// The test conversation (system, user, assistant, user, then a reply),
/// each text as `pad` writes it.
fn conversation(pad: fn(&str) -> String) -> serde_json::Value {
    json!({"messages": [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": pad(Q1)},
        {"role": "assistant", "content": pad(A1)},
        {"role": "user", "content": pad(Q2)},
        {"role": "assistant", "content": pad("Rome.")}]})
}

/// What the audit charges, with `tokenizer` and `format`, for `record`.
fn audit(
    tokenizer: &str,
    format: ChatFormat,
    record: &serde_json::Value,
) -> (Overheads, TranscriptCounts, u64) {
    let tok = common::load(tokenizer).unwrap_or_else(|| panic!("{tokenizer} is not installed"));
    let mut counter = tok.counter();
    let overheads = Overheads::derive(format, counter.as_mut(), tok.info().family == "huggingface");
    let conversation = shapes::conversation(record).unwrap();
    let mut t = TranscriptCounts::new(1);
    t.add_conversation(&conversation, 0, counter.as_mut(), &overheads, 7);
    let content = [SYSTEM, Q1, A1, Q2].iter().map(|s| counter.count(s)).sum();
    (overheads, t, content)
}

/// Checks the format against two renderings: the request for the first
/// reply (system and first question, primed) and for the second (all four
/// messages, primed).
fn check(tokenizer: &str, reference_file: &str, format: ChatFormat, first: &str, second: &str) {
    let (o, t, content) = audit(tokenizer, format, &conversation(str::to_string));
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

/// Checks that a format whose template trims each message (Llama 3,
/// Gemma) charges white space around the messages' text as the template
/// sends it: not at all, so the padded conversation renders as the plain
/// one does.
fn check_trimmed(
    tokenizer: &str,
    reference_file: &str,
    format: ChatFormat,
    first: &str,
    second: &str,
) {
    let pad = |s: &str| format!("  {s}\n\n");
    let (_, t, _) = audit(tokenizer, format, &conversation(pad));
    let (r1, r2) = (
        reference(reference_file, first),
        reference(reference_file, second),
    );
    assert_eq!(
        t.replayed_input,
        vec![r1 + r2],
        "{tokenizer}: replayed input of the padded conversation"
    );
    let (_, plain, _) = audit(tokenizer, format, &conversation(str::to_string));
    assert_eq!(t.input, plain.input, "{tokenizer}: input");
    assert_eq!(t.output, plain.output, "{tokenizer}: output");
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
    check_trimmed("llama3", "llama3-hf", ChatFormat::Llama3, first, second);
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
    check_trimmed("gemma3", "gemma3", ChatFormat::Gemma, first, second);
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

/// Where scripts/fetch-mistral-common puts mistral-common's environment.
fn mistral_common_python() -> Option<std::path::PathBuf> {
    let venv = std::env::var_os("TOKENAUDIT_MISTRAL_COMMON_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| {
                    std::path::PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache")
                });
            cache.join("tokenaudit/mistral-common-1.13.1")
        });
    let python = venv.join("bin/python");
    if python.is_file() {
        return Some(python);
    }
    let why = format!(
        "mistral-tekken chat format: {} is missing; run `scripts/fetch-mistral-common`",
        python.display()
    );
    if std::env::var_os(common::REQUIRE_ENV).is_some_and(|v| !v.is_empty() && v != "0") {
        panic!("{why} ({} is set)", common::REQUIRE_ENV);
    }
    eprintln!("NOT CHECKED {why}");
    None
}

/// mistral-common's rendering of `conversations` (see
/// scripts/mistral_common_reference.py for the fields).
fn mistral_common(
    python: &std::path::Path,
    conversations: &[serde_json::Value],
) -> Vec<serde_json::Value> {
    use std::io::Write;
    let dir = TokenizerDir::locate(None);
    let tekken =
        dir.file(tokenaudit::tokenize::sources::registry::named("mistral-tekken").unwrap());
    let job = json!({"tokenizer": tekken, "version": "1.13.1", "conversations": conversations});
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/mistral_common_reference.py"
    );
    let mut child = std::process::Command::new(python)
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", python.display()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(job.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Conversations in OpenAI's shape that mistral-common's v3 template takes:
/// what it renders is the truth the `mistral-tekken` format must match.
fn tekken_conversations() -> Vec<serde_json::Value> {
    let tools = json!([{"type": "function", "function": {
        "name": "weather", "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "The city, e.g. Rome."},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["city"]}}}]);
    vec![
        // System and user, one reply.
        json!({"messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": Q1},
            {"role": "assistant", "content": A1}]}),
        // Several turns.
        json!({"messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": Q1},
            {"role": "assistant", "content": A1},
            {"role": "user", "content": Q2},
            {"role": "assistant", "content": "Rome."},
            {"role": "user", "content": "Thanks! And Spain?"},
            {"role": "assistant", "content": "Madrid."}]}),
        // Several system messages (one between two user messages), a name, a reply
        // with trailing spaces, no system prompt.
        json!({"messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "system", "content": "Answer in French:"},
            {"role": "user", "name": "ann", "content": "Where is the Louvre?"},
            {"role": "assistant", "content": "À Paris.   "},
            {"role": "user", "content": "And the Prado?"},
            {"role": "system", "content": "Now answer in German!\n"},
            {"role": "user", "content": "Briefly."},
            {"role": "assistant", "content": "In Madrid."}]}),
        json!({"messages": [
            {"role": "user", "content": "hello"},
            {"role": "assistant", "content": "Hi!"}]}),
        // Unicode, content parts (joined), line breaks at the edges.
        json!({"messages": [
            {"role": "system", "content": "日本語で答えてください。"},
            {"role": "user", "content": [
                {"type": "text", "text": "Qu'est-ce que «tokenisation» ?"},
                {"type": "text", "text": "مرحبا بالعالم 👋🏽 \"quoted\"\n"}]},
            {"role": "assistant", "content": "トークン化とは、テキストを単位に分けることです。"},
            {"role": "user", "content": "Danke schön. Ещё раз?\n\n"},
            {"role": "assistant", "content": "Да.\n"}]}),
        // A greeting before any user message (mistral-common puts an empty
        // user message first), system prompts whose join merges.
        json!({"messages": [
            {"role": "system", "content": "Rules:"},
            {"role": "system", "content": "\n- be kind.\n- be brief."},
            {"role": "assistant", "content": "Hello! How can I help?"},
            {"role": "user", "content": "Tell me a joke."},
            {"role": "assistant", "content": "No."}]}),
        // Last user messages whose start merges with the system prompt's
        // line breaks (`.\n\n/`: one token more than apart; `\n\n\n`:
        // one fewer), and ones that do not.
        json!({"messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "/help"},
            {"role": "assistant", "content": "Commands: /help, /quit."},
            {"role": "user", "content": "  \n  indented"},
            {"role": "assistant", "content": "Indeed."},
            {"role": "user", "content": "/quit"},
            {"role": "assistant", "content": "Bye."}]}),
        json!({"messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": " spaced"},
            {"role": "assistant", "content": "Yes."},
            {"role": "user", "content": "\nHello"},
            {"role": "assistant", "content": "Hello."}]}),
        // Runs of user messages (one `[INST]…[/INST]` each).
        json!({"messages": [
            {"role": "user", "content": "First line."},
            {"role": "user", "content": "Second line!"},
            {"role": "assistant", "content": "Noted."},
            {"role": "user", "content": "\nThird?"},
            {"role": "user", "content": [
                {"type": "text", "text": "Fourth,"},
                {"type": "text", "text": "fifth."}]},
            {"role": "user", "content": "/sixth"},
            {"role": "assistant", "content": "Six lines."}]}),
        // Tool definitions, two calls in one message, their results (text
        // and JSON), a reply, another turn; floats that Python spells its
        // own way (`1e-05`, `15000.0`, `1e+16`).
        json!({"tools": tools, "messages": [
            {"role": "system", "content": "You may call tools."},
            {"role": "user", "content": "Weather in Rome and in Oslo?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call00001", "type": "function",
                 "function": {"name": "weather", "arguments": "{\"city\":\"Rome\"}"}},
                {"id": "call00002", "type": "function",
                 "function": {"name": "weather", "arguments": "{\"city\": \"Oslo\", \"unit\": \"celsius\"}"}}]},
            {"role": "tool", "tool_call_id": "call00001", "content": "Sunny, 24 °C"},
            {"role": "tool", "tool_call_id": "call00002", "content": "{\"sky\":\"rain\",\"temp\":8,\"wind\":[3.5,\"NW\"],\"hpa\":1.013e3}"},
            {"role": "assistant", "content": "Rome: sunny, 24 °C. Oslo: rain, 8 °C."},
            {"role": "user", "content": "And Tromsø?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call00003", "type": "function",
                 "function": {"name": "weather", "arguments": "{\"city\":\"Tromsø\",\"radius_m\":1.5e4,\"tolerance\":0.00001,\"max\":1e16}"}}]},
            {"role": "tool", "tool_call_id": "call00003", "content": "Snow, -4 °C"},
            {"role": "assistant", "content": "Snow, -4 °C."}]}),
    ]
}

/// Anthropic-shaped conversations (audited) beside their OpenAI-shaped
/// equivalents (rendered by mistral-common, which reads OpenAI's shape):
/// tool results inside a user message are the tool messages they stand for.
fn anthropic_tekken_conversations() -> Vec<(serde_json::Value, serde_json::Value)> {
    let schema = json!({"type": "object", "properties": {
        "city": {"type": "string", "description": "The city."}}, "required": ["city"]});
    let anthropic = json!({
        "system": "You may call tools.",
        "tools": [{"name": "weather", "description": "The weather in a city.", "input_schema": schema}],
        "messages": [
            {"role": "user", "content": "Weather in Rome and in Oslo?"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu0001", "name": "weather", "input": {"city": "Rome"}},
                {"type": "tool_use", "id": "toolu0002", "name": "weather", "input": {"city": "Oslo"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu0001", "content": "Sunny, 24 °C"},
                {"type": "tool_result", "tool_use_id": "toolu0002", "content": [
                    {"type": "text", "text": "{\"sky\": \"rain\", \"temp\": 8}"}]},
                {"type": "text", "text": "Which is warmer?"}]},
            {"role": "assistant", "content": "Rome."},
            {"role": "user", "content": "Thanks."},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu0003", "name": "weather", "input": {"city": "Bergen"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu0003", "content": "Rain"}]},
            {"role": "assistant", "content": "Bergen: rain."}]});
    let call = |id: &str, city: &str| {
        json!({"id": id, "type": "function",
               "function": {"name": "weather", "arguments": json!({"city": city}).to_string()}})
    };
    let openai = json!({
        "tools": [{"type": "function", "function": {
            "name": "weather", "description": "The weather in a city.", "parameters": schema}}],
        "messages": [
            {"role": "system", "content": "You may call tools."},
            {"role": "user", "content": "Weather in Rome and in Oslo?"},
            {"role": "assistant", "content": null,
             "tool_calls": [call("toolu0001", "Rome"), call("toolu0002", "Oslo")]},
            {"role": "tool", "tool_call_id": "toolu0001", "content": "Sunny, 24 °C"},
            {"role": "tool", "tool_call_id": "toolu0002", "content": "{\"sky\": \"rain\", \"temp\": 8}"},
            {"role": "user", "content": "Which is warmer?"},
            {"role": "assistant", "content": "Rome."},
            {"role": "user", "content": "Thanks."},
            {"role": "assistant", "content": null, "tool_calls": [call("toolu0003", "Bergen")]},
            {"role": "tool", "tool_call_id": "toolu0003", "content": "Rain"},
            {"role": "assistant", "content": "Bergen: rain."}]});
    vec![(anthropic, openai)]
}

/// The `mistral-tekken` format against mistral-common's own rendering, for
/// every reply of every conversation above:
/// - replayed input = the sum of the requests mistral-common encodes for the
///   replies (so the reply priming is nothing: a request ends at `[/INST]`
///   or `[/TOOL_RESULTS]`);
/// - replayed cached input = the sum of what each request shares with the
///   previous one, token by token (the system prompts and the tools move
///   to each request's last user message, so less than the whole previous
///   request);
/// - input = the request for the last reply, less the earlier replies as it
///   carries them (content, `[TOOL_CALLS]`, `</s>`);
/// - output = each reply's content as written, or for calls the tokens
///   between `[TOOL_CALLS]` and `</s>` (the JSON the model wrote).
#[test]
fn mistral_tekken_template_against_mistral_common() {
    let Some(tok) = common::load("mistral-tekken") else {
        return;
    };
    let Some(python) = mistral_common_python() else {
        return;
    };
    let (audited, rendered): (Vec<_>, Vec<_>) = tekken_conversations()
        .into_iter()
        .map(|c| (c.clone(), c))
        .chain(anthropic_tekken_conversations())
        .unzip();
    let reference = mistral_common(&python, &rendered);
    assert_eq!(reference.len(), audited.len());
    let mut counter = tok.counter();
    let overheads = Overheads::derive(ChatFormat::MistralTekken, counter.as_mut(), false);
    assert_eq!(
        (overheads.start, overheads.priming),
        (1, 0),
        "<s>, no priming"
    );
    for (record, r) in audited.iter().zip(&reference) {
        assert!(
            r.get("error").is_none(),
            "mistral-common refused {record}: {r}"
        );
        let n = |v: &serde_json::Value| v.as_u64().unwrap();
        let requests: Vec<u64> = r["requests"].as_array().unwrap().iter().map(n).collect();
        let replies = r["assistants"].as_array().unwrap();
        for a in replies {
            assert_eq!(a["ends_with_eos"], json!(true), "{record}: {a}");
        }
        let reply_tokens: Vec<u64> = replies.iter().map(|a| n(&a["tokens"])).collect();
        // A text reply's content as written (its trailing spaces are
        // output, though a later request drops them); a call's, the JSON
        // between `[TOOL_CALLS]` and `</s>`.
        let reply_content: Vec<u64> = replies
            .iter()
            .map(|a| match a["content"].as_u64() {
                Some(written) => written,
                None => n(&a["tokens"]) - 2,
            })
            .collect();
        for a in replies.iter().filter(|a| a["content"].is_null()) {
            assert_eq!(a["starts_with_tool_calls"], json!(true), "{record}: {a}");
        }

        let conversation = shapes::conversation(record).unwrap();
        let mut t = TranscriptCounts::new(1);
        t.add_conversation(&conversation, 0, counter.as_mut(), &overheads, 7);
        let rendered = &r["rendered"];
        assert_eq!(
            t.replayed_input,
            vec![requests.iter().sum::<u64>()],
            "replayed input: requests {requests:?}, rendered {rendered}"
        );
        let shared: u64 = r["shared"].as_array().unwrap().iter().map(n).sum();
        assert_eq!(
            t.replayed_cached,
            vec![shared],
            "replayed cached input: requests {requests:?}, rendered {rendered}"
        );
        let last = requests.len() - 1;
        assert_eq!(
            t.input,
            vec![requests[last] - reply_tokens[..last].iter().sum::<u64>()],
            "input: requests {requests:?}, replies {reply_tokens:?}, rendered {rendered}"
        );
        assert_eq!(
            t.output,
            vec![reply_content.iter().sum::<u64>()],
            "output: replies {replies:?}"
        );
    }
}
