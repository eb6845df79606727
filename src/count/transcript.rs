/*!
What a conversation bills, per tokenizer: input, output, and the input of
replaying it turn by turn.

- `input`: the message tokens (content plus the chat format's overhead) of
  every non-assistant message, the conversation's opening (BOS), and the
  tool definitions;
- `output`: the content tokens of the assistant messages (text, tool calls,
  thinking);
- `replayed_input`: for each assistant message, everything before it (the
  opening, tools, every earlier message, assistant ones included, with their
  overhead) plus the reply priming: what an API bills as input when a chat
  application sends the conversation turn by turn;
- `replayed_cached`: the part of each replayed prefix that the previous
  turn had already sent (what a prompt cache can serve; with Mistral's
  Tekken template less than the previous prefix, see `tekken_template`);
- `content_by_role`: content tokens only, by the role whose content it is.

Tool definitions: for the OpenAI format, the cookbook's rule
(`num_tokens_for_tools` in "How to count tokens with tiktoken"), itself an
approximation; for other formats, the definitions' JSON text. Either way the
report labels them an estimate.
*/

use std::collections::BTreeMap;

use serde_json::Value;

use super::chat_format::{ChatFormat, Overheads};
use super::tekken_template;
use super::vision::ImageEstimate;
use crate::extract::chat::{ChatRole, Conversation, Malformed, ToolDef};
use crate::tokenize::Counter;

/// Malformed records kept by name per file and in the report (the count is
/// always complete).
pub const MALFORMED_KEPT: usize = 100;

/// A chat file's (or a corpus's) transcript figures; token vectors are per
/// tokenizer, in selection order.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TranscriptCounts {
    /// Records read: conversations plus malformed.
    pub records: u64,
    pub conversations: u64,
    pub messages: u64,
    pub malformed: u64,
    /// The first [`MALFORMED_KEPT`] malformed records, by line.
    pub malformed_kept: Vec<Malformed>,
    /// Non-text parts by kind (`image`, `audio`, `file`, `document`, ...).
    pub non_text: BTreeMap<String, u64>,
    /// The images among `non_text` and their estimated tokens by each
    /// provider's published formula (not part of the token figures below).
    pub images: ImageEstimate,
    pub input: Vec<u64>,
    pub output: Vec<u64>,
    pub replayed_input: Vec<u64>,
    pub replayed_cached: Vec<u64>,
    /// Tool-definition tokens (part of `input`), an estimate.
    pub tool_definitions: Vec<u64>,
    /// Content tokens by role ([`ChatRole::ALL`] order), per tokenizer.
    pub content_by_role: [Vec<u64>; 5],
}

fn add(into: &mut Vec<u64>, from: &[u64]) {
    if into.len() < from.len() {
        into.resize(from.len(), 0);
    }
    for (a, b) in into.iter_mut().zip(from) {
        *a += b;
    }
}

fn add_at(v: &mut Vec<u64>, i: usize, n: u64) {
    if v.len() <= i {
        v.resize(i + 1, 0);
    }
    v[i] += n;
}

impl TranscriptCounts {
    /// Empty figures for `tokenizers` tokenizers.
    pub fn new(tokenizers: usize) -> Self {
        let zeros = vec![0; tokenizers];
        TranscriptCounts {
            input: zeros.clone(),
            output: zeros.clone(),
            replayed_input: zeros.clone(),
            replayed_cached: zeros.clone(),
            tool_definitions: zeros.clone(),
            content_by_role: std::array::from_fn(|_| zeros.clone()),
            ..Default::default()
        }
    }

    pub fn add_malformed(&mut self, m: Malformed) {
        self.records += 1;
        self.malformed += 1;
        if self.malformed_kept.len() < MALFORMED_KEPT {
            self.malformed_kept.push(m);
        }
    }

    /// Adds the figures of a later stretch of the same file (or another
    /// file: the malformed lists are then per file, and the caller keeps
    /// their paths).
    pub fn merge(&mut self, other: &TranscriptCounts) {
        self.records += other.records;
        self.conversations += other.conversations;
        self.messages += other.messages;
        self.malformed += other.malformed;
        for m in &other.malformed_kept {
            if self.malformed_kept.len() < MALFORMED_KEPT {
                self.malformed_kept.push(m.clone());
            }
        }
        for (k, n) in &other.non_text {
            *self.non_text.entry(k.clone()).or_insert(0) += n;
        }
        self.images.merge(&other.images);
        add(&mut self.input, &other.input);
        add(&mut self.output, &other.output);
        add(&mut self.replayed_input, &other.replayed_input);
        add(&mut self.replayed_cached, &other.replayed_cached);
        add(&mut self.tool_definitions, &other.tool_definitions);
        for (a, b) in self.content_by_role.iter_mut().zip(&other.content_by_role) {
            add(a, b);
        }
    }

    /// Input plus output per tokenizer: what a file's `tokens` are.
    pub fn billed(&self) -> Vec<u64> {
        self.input
            .iter()
            .zip(&self.output)
            .map(|(i, o)| i + o)
            .collect()
    }

    /// Counts one conversation with tokenizer `t`'s counter and format.
    pub fn add_conversation(
        &mut self,
        c: &Conversation,
        t: usize,
        counter: &mut dyn Counter,
        format: &Overheads,
        function_init: u64,
    ) {
        // Mistral's Tekken template is counted message by message on its
        // rendered text (see `tekken_template`); the others as content plus
        // the format's figures.
        let tekken = format.format == ChatFormat::MistralTekken;
        let tools = if tekken {
            tekken_template::tools(&c.tools, counter)
        } else {
            tool_tokens(&c.tools, counter, format.format, function_init)
        };
        add_at(&mut self.tool_definitions, t, tools);
        let mut prefix = format.start + tools;
        let (mut input, mut output, mut replayed, mut cached) = (prefix, 0, 0, 0);
        let mut previous_prefix: Option<u64> = None;
        let mut by_role = [0u64; 5];
        let mut render = tekken_template::Render::new(format.start);
        for text in &c.system {
            let content = counter.count(format.format.sent(ChatRole::System, text));
            by_role[ChatRole::System.index()] += content;
            let tokens = if tekken {
                render.system(text, counter)
            } else {
                content + format.per_message.get(ChatRole::System)
            };
            input += tokens;
            prefix += tokens;
        }
        for m in &c.messages {
            let mut content = 0;
            for p in m.parts.iter().filter(|p| !(tekken && p.call)) {
                let n = counter.count(format.format.sent(p.role, &p.text));
                by_role[p.role.index()] += n;
                content += n;
            }
            let tokens = if tekken {
                let calls = tekken_template::calls_content(m, counter);
                by_role[ChatRole::Assistant.index()] += calls;
                content += calls;
                let (before, tokens) = render.message(m, content, counter);
                input += before;
                prefix += before;
                tokens
            } else {
                let name = m
                    .name
                    .as_deref()
                    .map_or(0, |n| format.name_tokens(n, counter));
                content + format.per_message.get(m.role) + name
            };
            if m.role.is_output() {
                output += content;
                if tekken {
                    let request = prefix.saturating_add_signed(render.join(counter));
                    replayed += request + format.priming;
                    cached += render.reply(request, tools).unwrap_or(0);
                } else {
                    replayed += prefix + format.priming;
                    if let Some(p) = previous_prefix {
                        cached += p;
                    }
                    previous_prefix = Some(prefix);
                }
            } else {
                input += tokens;
            }
            prefix += tokens;
        }
        if tekken {
            input = input.saturating_add_signed(render.join(counter));
        }
        add_at(&mut self.input, t, input);
        add_at(&mut self.output, t, output);
        add_at(&mut self.replayed_input, t, replayed);
        add_at(&mut self.replayed_cached, t, cached);
        for (r, n) in by_role.into_iter().enumerate() {
            add_at(&mut self.content_by_role[r], t, n);
        }
    }

    /// Counts what does not depend on the tokenizer: records, messages,
    /// non-text parts. Once per conversation.
    pub fn add_structure(&mut self, c: &Conversation) {
        self.records += 1;
        self.conversations += 1;
        self.messages += c.messages.len() as u64;
        for m in &c.messages {
            for kind in &m.non_text {
                *self.non_text.entry(kind.clone()).or_insert(0) += 1;
            }
            for image in &m.images {
                self.images.add(*image);
            }
        }
    }
}

/// Tool-definition tokens of a conversation.
fn tool_tokens(
    tools: &[ToolDef],
    counter: &mut dyn Counter,
    format: ChatFormat,
    function_init: u64,
) -> u64 {
    if tools.is_empty() {
        return 0;
    }
    if format != ChatFormat::Openai {
        let json: Vec<Value> = tools
            .iter()
            .map(|t| {
                serde_json::json!({"name": t.name, "description": t.description, "parameters": t.parameters})
            })
            .collect();
        return counter.count(&Value::Array(json).to_string());
    }
    cookbook_tool_tokens(tools, counter, function_init)
}

/// The cookbook's figures for tool definitions (gpt-4o and gpt-4o-mini;
/// `function_init` is 10 instead of 7 for gpt-3.5-turbo and gpt-4).
const PROPERTIES_INIT: i64 = 3;
const PROPERTY_KEY: i64 = 3;
const ENUM_INIT: i64 = -3;
const ENUM_ITEM: i64 = 3;
const FUNCTIONS_END: i64 = 12;

/// The cookbook's `num_tokens_for_tools`: per function its init tokens and
/// `name:description`; per property `key:type:description` and its enum
/// items (descriptions lose a final period); the end tokens once.
fn cookbook_tool_tokens(tools: &[ToolDef], counter: &mut dyn Counter, function_init: u64) -> u64 {
    let trim = |s: &str| s.strip_suffix('.').unwrap_or(s).to_string();
    let mut total: i64 = 0;
    for f in tools {
        total += function_init as i64;
        total += counter.count(&format!("{}:{}", f.name, trim(&f.description))) as i64;
        let Some(props) = f.parameters.get("properties").and_then(Value::as_object) else {
            continue;
        };
        if props.is_empty() {
            continue;
        }
        total += PROPERTIES_INIT;
        for (key, p) in props {
            total += PROPERTY_KEY;
            if let Some(items) = p.get("enum").and_then(Value::as_array) {
                total += ENUM_INIT;
                for item in items {
                    total += ENUM_ITEM;
                    let text = item
                        .as_str()
                        .map_or_else(|| item.to_string(), str::to_string);
                    total += counter.count(&text) as i64;
                }
            }
            let kind = p.get("type").and_then(Value::as_str).unwrap_or("");
            let description = p.get("description").and_then(Value::as_str).unwrap_or("");
            total += counter.count(&format!("{key}:{kind}:{}", trim(description))) as i64;
        }
    }
    total += FUNCTIONS_END;
    total.max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::chat::shapes;
    use serde_json::json;

    /// o200k_base counts by the reference (tiktoken-rs), piece by piece.
    fn c(text: &str) -> u64 {
        tiktoken_rs::o200k_base()
            .unwrap()
            .encode_ordinary(text)
            .len() as u64
    }

    /// The figures of one conversation with o200k_base and its format.
    fn figures(record: Value, format: ChatFormat) -> TranscriptCounts {
        let conversation = shapes::conversation(&record).unwrap();
        let tok = crate::tokenize::sources::builtin::resolve("o200k_base").unwrap();
        let mut counter = tok.counter();
        let overheads = Overheads::derive(format, counter.as_mut(), false);
        let mut t = TranscriptCounts::new(1);
        t.add_structure(&conversation);
        t.add_conversation(&conversation, 0, counter.as_mut(), &overheads, 7);
        t
    }

    /// The cookbook's message tokens: 3, the role, the content, and a name's
    /// tokens plus 1.
    fn msg(role: &str, content: &[&str], name: Option<&str>) -> u64 {
        3 + c(role) + content.iter().map(|s| c(s)).sum::<u64>() + name.map_or(0, |n| c(n) + 1)
    }

    #[test]
    fn openai_with_a_name_parts_tool_calls_and_tools() {
        let t = figures(
            json!({
                "messages": [
                    {"role": "system", "content": "You answer in one word."},
                    {"role": "user", "name": "ann", "content": [
                        {"type": "text", "text": "What animal is this?"},
                        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]},
                    {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
                        "function": {"name": "lookup", "arguments": "{\"q\":\"cat\"}"}}]},
                    {"role": "tool", "tool_call_id": "c1", "content": "Felis catus, a small mammal."},
                    {"role": "assistant", "content": "Cat."}],
                "tools": [{"type": "function", "function": {
                    "name": "lookup", "description": "Look a word up.",
                    "parameters": {"type": "object", "properties": {
                        "q": {"type": "string", "description": "The word."},
                        "lang": {"type": "string", "description": "Language", "enum": ["en", "fr"]}}}}}]
            }),
            ChatFormat::Openai,
        );
        // Tools, by the cookbook: function init 7, `name:description` without
        // the final period; properties 3; per property 3 and
        // `key:type:description`; an enum -3 and 3 plus its text per item;
        // 12 at the end.
        let tools = 7
            + c("lookup:Look a word up")
            + 3
            + (3 + c("q:string:The word"))
            + (3 + 3 + c("en") + 3 + c("fr") - 3 + c("lang:string:Language"))
            + 12;
        let system = msg("system", &["You answer in one word."], None);
        let user = msg("user", &["What animal is this?"], Some("ann"));
        let call = msg("assistant", &["lookup", "{\"q\":\"cat\"}"], None);
        let tool = msg("tool", &["Felis catus, a small mammal."], None);
        assert_eq!(t.tool_definitions, vec![tools]);
        assert_eq!(t.input, vec![tools + system + user + tool]);
        assert_eq!(
            t.output,
            vec![c("lookup") + c("{\"q\":\"cat\"}") + c("Cat.")]
        );
        // Two replies: the first sees tools, system and user; the second
        // those, the call and the tool result; each is primed with 3.
        let first = tools + system + user;
        let second = first + call + tool;
        assert_eq!(t.replayed_input, vec![first + 3 + second + 3]);
        assert_eq!(t.replayed_cached, vec![first]);
        assert_eq!(
            t.content_by_role[ChatRole::Tool.index()],
            vec![c("Felis catus, a small mammal.")]
        );
        assert_eq!(
            t.content_by_role[ChatRole::User.index()],
            vec![c("What animal is this?")]
        );
        assert_eq!(t.non_text.get("image"), Some(&1));
        assert_eq!((t.conversations, t.messages, t.records), (1, 5, 1));
    }

    #[test]
    fn anthropic_with_system_tool_use_tool_result_and_an_image() {
        let t = figures(
            json!({
                "system": "You are a weather bot.",
                "messages": [
                    {"role": "user", "content": [
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}},
                        {"type": "text", "text": "Will it rain here in Oslo?"}]},
                    {"role": "assistant", "content": [
                        {"type": "thinking", "thinking": "I should call the tool."},
                        {"type": "tool_use", "id": "t1", "name": "forecast", "input": {"city": "Oslo"}}]},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "rain, 8 C"}]}]},
                    {"role": "assistant", "content": "Yes, bring an umbrella."}]
            }),
            ChatFormat::Openai,
        );
        let system = 3 + c("system") + c("You are a weather bot.");
        let user = msg("user", &["Will it rain here in Oslo?"], None);
        let call = msg(
            "assistant",
            &["I should call the tool.", "forecast", "{\"city\":\"Oslo\"}"],
            None,
        );
        let result = msg("user", &["rain, 8 C"], None);
        assert_eq!(t.input, vec![system + user + result]);
        assert_eq!(
            t.output,
            vec![
                c("I should call the tool.")
                    + c("forecast")
                    + c("{\"city\":\"Oslo\"}")
                    + c("Yes, bring an umbrella.")
            ]
        );
        assert_eq!(
            t.replayed_input,
            vec![(system + user + 3) + (system + user + call + result + 3)]
        );
        // The tool result is `tool` content though a user message carries it;
        // the top-level system is not a message.
        assert_eq!(
            t.content_by_role[ChatRole::Tool.index()],
            vec![c("rain, 8 C")]
        );
        assert_eq!(
            t.content_by_role[ChatRole::System.index()],
            vec![c("You are a weather bot.")]
        );
        assert_eq!(t.messages, 4);
        assert_eq!(t.non_text.get("image"), Some(&1));
    }

    #[test]
    fn sharegpt_and_prompt_completion() {
        let t = figures(
            json!({"conversations": [
                {"from": "system", "value": "Translate to French."},
                {"from": "human", "value": "Good morning"},
                {"from": "gpt", "value": "Bonjour"},
                {"from": "human", "value": "Thank you"},
                {"from": "gpt", "value": "Merci"}]}),
            ChatFormat::Openai,
        );
        let s = msg("system", &["Translate to French."], None);
        let u1 = msg("user", &["Good morning"], None);
        let a1 = msg("assistant", &["Bonjour"], None);
        let u2 = msg("user", &["Thank you"], None);
        assert_eq!(t.input, vec![s + u1 + u2]);
        assert_eq!(t.output, vec![c("Bonjour") + c("Merci")]);
        assert_eq!(
            t.replayed_input,
            vec![(s + u1 + 3) + (s + u1 + a1 + u2 + 3)]
        );
        assert_eq!(t.replayed_cached, vec![s + u1]);
        assert_eq!(
            t.content_by_role[ChatRole::Assistant.index()],
            vec![c("Bonjour") + c("Merci")]
        );

        let t = figures(
            json!({"prompt": "The capital of France is", "completion": " Paris"}),
            ChatFormat::Openai,
        );
        let u = msg("user", &["The capital of France is"], None);
        assert_eq!(t.input, vec![u]);
        assert_eq!(t.output, vec![c(" Paris")]);
        assert_eq!(t.replayed_input, vec![u + 3]);
    }

    #[test]
    fn the_openai_rule_matches_tiktoken_rs_chat_counting() {
        use tiktoken_rs::ChatCompletionRequestMessage as M;
        let m = |role: &str, content: &str, name: Option<&str>| M {
            role: role.into(),
            content: Some(content.into()),
            name: name.map(Into::into),
            ..Default::default()
        };
        let sent = [
            m(
                "system",
                "You are a helpful assistant that speaks like Shakespeare.",
                None,
            ),
            m(
                "user",
                "Tell me a joke about programmers.",
                Some("example_user"),
            ),
            m(
                "assistant",
                "A programmer walks into a bar; 'tis a syntax error.",
                None,
            ),
            m("developer", "Keep it short.", None),
            m("user", "Another one, in German: Warum?", None),
        ];
        for model in ["gpt-4o", "gpt-4"] {
            let expected = tiktoken_rs::num_tokens_from_messages(model, &sent).unwrap() as u64;
            // Our replay of a final reply is that request exactly.
            let messages: Vec<Value> = sent
                .iter()
                .map(|x| {
                    let mut v = json!({"role": x.role, "content": x.content});
                    if let Some(n) = &x.name {
                        v["name"] = json!(n);
                    }
                    v
                })
                .chain([json!({"role": "assistant", "content": "reply"})])
                .collect();
            let tokenizer = if model == "gpt-4" {
                "cl100k_base"
            } else {
                "o200k_base"
            };
            let conversation = shapes::conversation(&json!({ "messages": messages })).unwrap();
            let tok = crate::tokenize::sources::builtin::resolve(tokenizer).unwrap();
            let mut counter = tok.counter();
            let overheads = Overheads::derive(ChatFormat::Openai, counter.as_mut(), false);
            let mut t = TranscriptCounts::new(1);
            t.add_conversation(&conversation, 0, counter.as_mut(), &overheads, 7);
            let earlier = tiktoken_rs::num_tokens_from_messages(model, &sent[..2]).unwrap() as u64;
            assert_eq!(t.replayed_input, vec![earlier + expected], "{model}");
        }
    }

    #[test]
    fn merged_figures_are_the_sum_and_malformed_lists_are_capped() {
        let mut a = figures(
            json!({"prompt": "a", "completion": "b"}),
            ChatFormat::Openai,
        );
        let b = figures(
            json!({"prompt": "c d", "completion": "e"}),
            ChatFormat::Openai,
        );
        for i in 0..(MALFORMED_KEPT as u64 + 5) {
            a.add_malformed(Malformed {
                line: i + 1,
                reason: "x".into(),
            });
        }
        let input = a.input[0] + b.input[0];
        a.merge(&b);
        assert_eq!(a.input, vec![input]);
        assert_eq!(a.records, 2 + MALFORMED_KEPT as u64 + 5);
        assert_eq!(a.records, a.conversations + a.malformed);
        assert_eq!(a.malformed_kept.len(), MALFORMED_KEPT);
    }
}
