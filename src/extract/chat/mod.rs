/*!
Chat transcripts: JSON and JSONL records turned into conversations.

A record is one JSON value: a line of a JSONL file, an element of a JSON
array, or a whole JSON document. [`records`] cuts a text into records with
their line numbers; [`shapes::conversation`] recognises a record's shape
(OpenAI chat messages, Responses `input` items, Anthropic Messages, ShareGPT,
prompt/completion, Alpaca) and turns it into a [`Conversation`]: messages
with roles, their text parts (each attributed to the role whose content it
is) and their non-text parts (counted by kind, never dropped).

What a conversation costs in tokens is not decided here: that depends on the
tokenizer and its chat format (`count::chat`). A record that is not valid
JSON, or of no known shape, becomes a [`Malformed`] with its line and reason.
*/

pub mod image;
pub mod records;
pub mod shapes;

pub use records::{records, Record};

use serde::Serialize;

/// Who a message (or a part of one) speaks for. ShareGPT's `human`/`gpt`
/// map to `User`/`Assistant`, OpenAI's `function` to `Tool`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatRole {
    System,
    Developer,
    User,
    Assistant,
    Tool,
}

impl ChatRole {
    pub const ALL: [ChatRole; 5] = [
        ChatRole::System,
        ChatRole::Developer,
        ChatRole::User,
        ChatRole::Assistant,
        ChatRole::Tool,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChatRole::System => "system",
            ChatRole::Developer => "developer",
            ChatRole::User => "user",
            ChatRole::Assistant => "assistant",
            ChatRole::Tool => "tool",
        }
    }

    /// Index into per-role arrays, in [`ChatRole::ALL`] order.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether the model produced it (billed as output).
    pub fn is_output(self) -> bool {
        self == ChatRole::Assistant
    }
}

/// A run of text inside a message, counted as content. `role` is whose
/// content it is: a tool result carried by a user message (Anthropic) is
/// `Tool`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub role: ChatRole,
    pub text: String,
    /// The name or the arguments of one of the message's [`ToolCall`]s
    /// (which keep them together for formats that render calls as JSON).
    pub call: bool,
}

/// A tool (function) call the model emitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolCall {
    /// The call's id (`id`, `call_id`), when the record has one.
    pub id: Option<String>,
    pub name: String,
    /// The arguments as the JSON text the model wrote.
    pub arguments: String,
}

/// A tool result inside a message: the call it answers and its parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolResult {
    /// The `tool_use_id`, when the block has one.
    pub call_id: Option<String>,
    /// Its text, `parts[parts]`.
    pub parts: std::ops::Range<usize>,
}

/// One message of a conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub role: ChatRole,
    /// OpenAI's `name` field (the cookbook rule charges for it).
    pub name: Option<String>,
    pub parts: Vec<Part>,
    /// The tool calls among `parts`, whole.
    pub calls: Vec<ToolCall>,
    /// A tool result's `tool_call_id` (`call_id` in Responses items).
    pub call_id: Option<String>,
    /// Tool results carried inside the message (Anthropic's `tool_result`
    /// blocks in a user message): their ids and which `parts` are theirs.
    pub results: Vec<ToolResult>,
    /// Images, audio, files, documents: their kinds, one entry per item.
    pub non_text: Vec<String>,
    /// The images among `non_text`, with their size when known, for the
    /// providers' image-token estimates.
    pub images: Vec<image::Image>,
}

impl Message {
    pub fn new(role: ChatRole) -> Self {
        Message {
            role,
            name: None,
            parts: Vec::new(),
            calls: Vec::new(),
            call_id: None,
            results: Vec::new(),
            non_text: Vec::new(),
            images: Vec::new(),
        }
    }

    pub fn text(&mut self, role: ChatRole, text: impl Into<String>) {
        self.parts.push(Part {
            role,
            text: text.into(),
            call: false,
        });
    }

    /// A tool call: its name and arguments become assistant parts (content
    /// the model wrote), and the call is kept whole in `calls`.
    pub fn call(&mut self, call: ToolCall) {
        let mut texts = vec![call.name.clone()];
        if !call.arguments.is_empty() {
            texts.push(call.arguments.clone());
        }
        for text in texts {
            self.parts.push(Part {
                role: ChatRole::Assistant,
                text,
                call: true,
            });
        }
        self.calls.push(call);
    }
}

/// A function (tool) definition sent with a conversation, in the fields the
/// OpenAI cookbook's counting rule reads.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolDef {
    pub name: String,
    pub description: String,
    /// The JSON schema of the arguments (`parameters`, or Anthropic's
    /// `input_schema`), `Null` when absent.
    pub parameters: serde_json::Value,
}

/// One conversation: what was sent (and returned) in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Conversation {
    /// A top-level system prompt that is not a message (Anthropic's
    /// `system`, Responses' `instructions`); counted as system input.
    pub system: Vec<String>,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolDef>,
}

/// A record that is not a conversation: not JSON, or of no known shape.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
pub struct Malformed {
    /// 1-based line where the record starts.
    pub line: u64,
    pub reason: String,
}

/// Whether a text looks like chat records: its first record is a known
/// conversation shape. Used by `--parse auto` for `.json`/`.jsonl` files.
pub fn looks_like_chat(text: &str) -> bool {
    match records(text).next() {
        Some(Record::Value { value, .. }) => {
            shapes::is_message(&value) || shapes::conversation(&value).is_ok()
        }
        _ => false,
    }
}
