/*!
Mistral's Tekken chat template (v3), message by message.

mistral-common 1.13.1 (`InstructTokenizerV3`, which `MistralTokenizer::from_file`
picks for the Tekken file's `"version": "v3"`) renders a request as

```text
<s>[INST]user[/INST]assistant</s>
   [TOOL_CALLS][{"name": "f", "arguments": {"q": "x"}, "id": "abc123xyz"}]</s>
   [TOOL_RESULTS]{"content": "result", "call_id": "abc123xyz"}[/TOOL_RESULTS]
   [AVAILABLE_TOOLS][{"type": "function", "function": {…}}][/AVAILABLE_TOOLS]
   [INST]system\n\nsystem 2\n\nlast user[/INST]
```

with no space around the control tokens; the tool definitions and the
system prompts (joined by `\n\n`) go before and into the *last* user
message, once per request; the text parts of one message are joined by
`\n\n`; an assistant text loses its trailing spaces. Calls' arguments and
tool results that parse as JSON are written back by Python's `json.dumps`
(`", "` and `": "` separators, non-ASCII kept), an empty one as `{}`.

Why per message and not content plus a constant: Tekken's pre-tokenizer
joins a punctuation run with the line breaks after it (`.\n\n` is one
piece) and a quote with the word after it (`"Rome`), so the text around a
message's content merges with it. A message's tokens are counted on its
rendered text; its overhead is that count minus its content's.

Anthropic's tool results, blocks of a user message, are rendered as the
tool messages they stand for in OpenAI's shape, then the message's text as a
user message.

Across messages: several system prompts are one text, counted whole; a run
of consecutive user messages is one `[INST]…[/INST]` with their texts joined
by `\n\n`; a request whose first reply or tool result comes before any user
message starts with an empty `[INST][/INST]`. Since the system prompts and
the tools move to each request's last user message, a request shares with
the previous one only what comes before that message ([`Render::reply`]).
Where the joined system prompts meet the last user message, their pieces
can merge (`.\n\n/`): [`Render::join`] counts that request's difference.
*/

use std::io;

use serde::Serialize;
use serde_json::{json, Value};

use crate::extract::chat::{ChatRole, Message, Part, ToolCall, ToolDef};
use crate::tokenize::Counter;

/// Python's `json.dumps(…, ensure_ascii=False)` layout: `", "` between
/// items, `": "` after keys. serde_json escapes the same characters (`"`,
/// `\`, and the controls below U+0020) and, with `preserve_order`, keeps
/// keys in the order they were read, as a Python dict does.
struct PythonJson;

impl serde_json::ser::Formatter for PythonJson {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        separator(writer, first)
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        separator(writer, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(python_float(value).as_bytes())
    }
}

/// `", "` before every item but the first, in arrays and objects alike.
fn separator<W: ?Sized + io::Write>(writer: &mut W, first: bool) -> io::Result<()> {
    if first {
        Ok(())
    } else {
        writer.write_all(b", ")
    }
}

/// A float as Python's `repr` writes it (`json.dumps` uses it): the shortest
/// digits that read back to the same value (Rust's `{:e}` finds the same
/// ones), in positional notation when the decimal exponent is from -4 to
/// 15 (`100000.0`, `0.0001`), else as `1e+16`, `1.5e-07`.
fn python_float(value: f64) -> String {
    let sci = format!("{value:e}");
    let (mantissa, exponent) = sci.split_once('e').expect("`{:e}` writes an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` writes an integer exponent");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exponent) {
        let point = exponent + 1;
        if point <= 0 {
            format!(
                "{sign}0.{}{digits}",
                "0".repeat(point.unsigned_abs() as usize)
            )
        } else {
            let point = point as usize;
            let whole = format!("{digits:0<point$}");
            let fraction = digits.get(point..).filter(|f| !f.is_empty()).unwrap_or("0");
            format!("{sign}{}.{fraction}", &whole[..point])
        }
    } else {
        let mantissa = match digits.split_at(1) {
            (first, "") => first.to_string(),
            (first, rest) => format!("{first}.{rest}"),
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exponent.unsigned_abs())
    }
}

/// `v` as Python's `json.dumps(v, ensure_ascii=False)` writes it.
fn python_json(v: &Value) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonJson);
    v.serialize(&mut ser).expect("a JSON value serializes");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// mistral-common's reading of a call's arguments or a tool's result: `{}`
/// when empty, the JSON value when it parses, else the text itself.
fn json_or_text(text: &str) -> Value {
    if text.is_empty() {
        return json!({});
    }
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

/// The JSON after `[TOOL_CALLS]`: the message's calls, with their ids
/// (an id is left out when there is none, as mistral-common leaves out its
/// placeholder `"null"`).
pub fn calls_json(calls: &[ToolCall]) -> String {
    let calls: Vec<Value> = calls
        .iter()
        .map(|c| {
            let mut v = json!({"name": c.name, "arguments": json_or_text(&c.arguments)});
            if let Some(id) = c.id.as_deref().filter(|id| !id.is_empty() && *id != "null") {
                v["id"] = json!(id);
            }
            v
        })
        .collect();
    python_json(&Value::Array(calls))
}

/// The JSON between `[TOOL_RESULTS]` and `[/TOOL_RESULTS]`.
fn result_json(content: &str, call_id: Option<&str>) -> String {
    python_json(&json!({"content": json_or_text(content), "call_id": call_id}))
}

/// Tokens of the tool definitions: `[AVAILABLE_TOOLS]`, the tools as
/// mistral-common dumps its `Tool` objects, `[/AVAILABLE_TOOLS]`.
pub fn tools(tools: &[ToolDef], counter: &mut dyn Counter) -> u64 {
    if tools.is_empty() {
        return 0;
    }
    let tools: Vec<Value> = tools
        .iter()
        .map(|t| {
            let parameters = match &t.parameters {
                Value::Null => json!({}),
                p => p.clone(),
            };
            json!({"type": "function", "function": {
                "name": t.name, "description": t.description, "parameters": parameters}})
        })
        .collect();
    2 + counter.count(&python_json(&Value::Array(tools)))
}

/// The content tokens of a message's calls: the JSON the model wrote after
/// `[TOOL_CALLS]`.
pub fn calls_content(m: &Message, counter: &mut dyn Counter) -> u64 {
    if m.calls.is_empty() {
        0
    } else {
        counter.count(&calls_json(&m.calls))
    }
}

/// Text parts as mistral-common joins them (a call's name and arguments are
/// not text).
fn join<'p>(parts: impl IntoIterator<Item = &'p Part>) -> String {
    let texts: Vec<&str> = parts
        .into_iter()
        .filter(|p| !p.call && !p.text.is_empty())
        .map(|p| p.text.as_str())
        .collect();
    texts.join("\n\n")
}

/// A message's text parts, joined.
fn joined(m: &Message) -> String {
    join(&m.parts)
}

/// A conversation rendered message by message: what each message adds to a
/// request, with the merges mistral-common makes across messages.
#[derive(Default)]
pub struct Render {
    /// The system prompts so far, each followed by `\n\n`, and their count:
    /// a prompt's tokens are what it adds to the joined text.
    system: String,
    system_tokens: u64,
    /// The text of the last run of user messages (one `[INST]…[/INST]` for
    /// the run, its texts joined by `\n\n`) and its count; `in_run`: the
    /// last message was one of them, so a user message joins the run.
    run_text: String,
    run_tokens: u64,
    in_run: bool,
    /// Whether a user message has been seen: before the first, a request
    /// gets an empty `[INST][/INST]`.
    seen_user: bool,
    /// The tokens of the messages so far without the system prompts and
    /// the tool definitions (which move to the last user message), from the
    /// opening on: where each message starts in every later request.
    history: u64,
    /// Which run of user messages is the last so far (a count), and
    /// `history` where it starts.
    run: u64,
    run_start: u64,
    previous: Option<Previous>,
}

/// The previous reply's request, as the next one sees it.
#[derive(Clone, Copy)]
struct Previous {
    /// The run of user messages it ended in.
    run: u64,
    /// Its tokens.
    whole: u64,
    /// The tokens a request ending in a later run shares with it.
    shared: u64,
}

impl Render {
    /// A conversation that opens with `start` tokens (`<s>`).
    pub fn new(start: u64) -> Render {
        Render {
            history: start,
            run_start: start,
            ..Render::default()
        }
    }

    /// What joining the system prompts to the last run of user messages
    /// adds to a request (negative when it saves), over counting them
    /// apart: nothing unless the run starts with white space or a `/`,
    /// which Tekken's pre-tokenizer can put in one piece with the line
    /// breaks after the prompts (`.\n\n/`, `\n\n\n`); a line break or a
    /// punctuation run after `\n\n` cannot reach back into them.
    pub fn join(&self, counter: &mut dyn Counter) -> i64 {
        let merges = self
            .run_text
            .starts_with(|c: char| c.is_whitespace() || c == '/');
        if self.system.is_empty() || !merges {
            return 0;
        }
        let joined = counter.count(&format!("{}{}", self.system, self.run_text));
        joined as i64 - self.system_tokens as i64 - self.run_tokens as i64
    }

    /// A reply's request is `prefix` tokens, `tools` of them definitions:
    /// returns how many of them the previous reply's request had already
    /// sent (`None` for the first reply), what a prompt cache can serve.
    ///
    /// A request carries the system prompts and the tools in its last user
    /// message, so the next request, whose last user message is a later
    /// one, shares the previous one only up to that message's start (and
    /// its `[INST]` when there are no tools); with neither, or with the
    /// same last user message, the whole previous request.
    pub fn reply(&mut self, prefix: u64, tools: u64) -> Option<u64> {
        let cached = self
            .previous
            .map(|p| if p.run == self.run { p.whole } else { p.shared });
        let moves = !self.system.is_empty() || tools > 0;
        self.previous = Some(Previous {
            run: self.run,
            whole: prefix,
            shared: if moves {
                self.run_start + u64::from(tools == 0)
            } else {
                prefix
            },
        });
        cached
    }

    /// The tokens a system prompt adds: it goes into the last user message,
    /// joined to the others (nothing for an empty one, which mistral-common
    /// drops).
    pub fn system(&mut self, text: &str, counter: &mut dyn Counter) -> u64 {
        self.in_run = false;
        if text.is_empty() {
            return 0;
        }
        self.system.push_str(text);
        self.system.push_str("\n\n");
        let total = counter.count(&self.system);
        let added = total.saturating_sub(self.system_tokens);
        self.system_tokens = total;
        added
    }

    /// The tokens a message adds to a request, as `(before, own)`: `before`
    /// is the empty user message mistral-common puts first when a reply or
    /// a tool result comes before any user message. `content` is the
    /// caller's count of its text parts (each alone) plus [`calls_content`],
    /// reused when the rendered text is that same text.
    pub fn message(&mut self, m: &Message, content: u64, counter: &mut dyn Counter) -> (u64, u64) {
        if matches!(m.role, ChatRole::System | ChatRole::Developer) {
            return (0, self.system(&joined(m), counter));
        }
        let before = if m.role == ChatRole::User || self.seen_user {
            0
        } else {
            // The empty user message, first (nothing but the opening is
            // before it): the run that a request's system prompts and tools
            // go into until a user message comes.
            self.seen_user = true;
            self.run += 1;
            self.run_start = self.history;
            self.run_text.clear();
            self.run_tokens = 0;
            2
        };
        let in_run = std::mem::replace(&mut self.in_run, m.role == ChatRole::User);
        let single = m
            .parts
            .iter()
            .filter(|p| !p.call && !p.text.is_empty())
            .count()
            <= 1;
        let own = match m.role {
            ChatRole::User if !m.results.is_empty() => {
                // Anthropic's tool results ride in a user message: they are
                // rendered as the tool messages they are in OpenAI's shape,
                // then the message's own text, if any, as a user message.
                let mut results = 0;
                for r in &m.results {
                    let text = join(&m.parts[r.parts.clone()]);
                    results += 2 + counter.count(&result_json(&text, r.call_id.as_deref()));
                }
                let own = m
                    .parts
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !m.results.iter().any(|r| r.parts.contains(i)))
                    .map(|(_, p)| p);
                let text = join(own);
                if text.is_empty() {
                    self.in_run = false;
                    results
                } else {
                    results + self.user(text, None, false, self.history + before + results, counter)
                }
            }
            ChatRole::User => {
                let count = single.then_some(content);
                self.user(joined(m), count, in_run, self.history + before, counter)
            }
            // Text beside calls cannot be rendered by v3 (mistral-common
            // refuses it); it is charged as written, before the calls.
            ChatRole::Assistant if !m.calls.is_empty() => 2 + content,
            ChatRole::Assistant => {
                let text = joined(m);
                let trimmed = text.trim_end_matches(' ');
                let tokens = if single && trimmed.len() == text.len() {
                    content
                } else {
                    counter.count(trimmed)
                };
                tokens + 1
            }
            _ => 2 + counter.count(&result_json(&joined(m), m.call_id.as_deref())),
        };
        self.history += before + own;
        (before, own)
    }

    /// The tokens of a user message's `text` (`count`: its count, when the
    /// caller has it), which starts at `at` in the history: joined to the
    /// run of user messages before it (`in_run`), or a run of its own.
    fn user(
        &mut self,
        text: String,
        count: Option<u64>,
        in_run: bool,
        at: u64,
        counter: &mut dyn Counter,
    ) -> u64 {
        self.seen_user = true;
        if in_run {
            // Joined to the run: what the text adds to it.
            if !self.run_text.is_empty() && !text.is_empty() {
                self.run_text.push_str("\n\n");
            }
            self.run_text.push_str(&text);
            let total = counter.count(&self.run_text);
            let added = total.saturating_sub(self.run_tokens);
            self.run_tokens = total;
            return added;
        }
        self.run += 1;
        self.run_start = at;
        self.run_tokens = count.unwrap_or_else(|| counter.count(&text));
        self.run_text = text;
        2 + self.run_tokens
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_laid_out_as_python_writes_it() {
        let v: Value =
            serde_json::from_str(r#"{"q":"x\n\"y\"","n":[1,2.5,{"é":null}],"b":true}"#).unwrap();
        assert_eq!(
            python_json(&v),
            r#"{"q": "x\n\"y\"", "n": [1, 2.5, {"é": null}], "b": true}"#
        );
    }

    #[test]
    fn floats_are_spelled_as_python_spells_them() {
        // Python 3.11: `[repr(x) for x in …]`.
        for (x, python) in [
            (1.0, "1.0"),
            (-2.5, "-2.5"),
            (100000.0, "100000.0"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e17, "1.5e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.25e-7, "1.25e-07"),
            (123.456, "123.456"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-0.0, "-0.0"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
        ] {
            assert_eq!(python_float(x), python, "{x:e}");
        }
    }

    #[test]
    fn calls_and_results_as_mistral_common_writes_them() {
        let calls = [
            ToolCall {
                id: Some("call00001".into()),
                name: "lookup".into(),
                arguments: r#"{"q":"Italy"}"#.into(),
            },
            ToolCall {
                id: None,
                name: "now".into(),
                arguments: String::new(),
            },
        ];
        assert_eq!(
            calls_json(&calls),
            r#"[{"name": "lookup", "arguments": {"q": "Italy"}, "id": "call00001"}, {"name": "now", "arguments": {}}]"#
        );
        assert_eq!(
            result_json("Rome, Lazio", Some("call00001")),
            r#"{"content": "Rome, Lazio", "call_id": "call00001"}"#
        );
        assert_eq!(
            result_json(r#"{"temp":8}"#, Some("c")),
            r#"{"content": {"temp": 8}, "call_id": "c"}"#
        );
    }
}
