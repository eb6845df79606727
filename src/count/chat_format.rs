/*!
Chat formats: what a tokenizer's model wraps around each message, in tokens.

An API does not send message contents bare: each message is wrapped in the
model's chat template (role headers, turn markers), the conversation may
start with a BOS token, and the reply is primed with the assistant's header.
A [`ChatFormat`] holds each template as text pieces, and [`Overheads::derive`]
turns them into token counts by tokenizing those pieces with the tokenizer
itself: no count here is typed in by hand, except the OpenAI cookbook's
published constants (OpenAI's chat template is not public).

How a template's text is tokenized: special tokens (`<|eot_id|>`) are one
token each; the text between two special tokens is one segment, and a
segment is tokenized as a whole. So a run of template text is counted as
the start of a segment when a special token (or nothing) precedes it, and as
a continuation when it follows the message content in the same segment
(SentencePiece files add a prefix space only at a segment's start). Content
is counted alone, as the start of its segment; the tests render whole
conversations with each template and check that the sum of the pieces is
the count of the rendered text with the reference encoder.

Special tokens: a tokenizer.json file lists them as added tokens, and each
is checked to count as one token; rank files (`llama3`, `qwen2`, Tekken) do
not contain them (the model's code numbers them after the ranks), so there
they are one token by that code (llama-models `tokenizer.py`, Qwen's
`tokenization_qwen.py`, mistral-common's `tekken.py`).
*/

use serde::{Deserialize, Serialize};

use crate::extract::chat::ChatRole;
use crate::tokenize::Counter;

/// A chat template family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ChatFormat {
    /// OpenAI chat models: the cookbook's rule (3 tokens per message plus
    /// the role, 1 more with a name, 3 priming the reply).
    Openai,
    /// Llama 3: `<|start_header_id|>role<|end_header_id|>\n\n … <|eot_id|>`.
    Llama3,
    /// ChatML (Qwen): `<|im_start|>role\n … <|im_end|>\n`.
    Chatml,
    /// Gemma: `<start_of_turn>role\n … <end_of_turn>\n`, system folded
    /// into the first user turn.
    Gemma,
    /// Mistral with a SentencePiece vocabulary: `[INST] … [/INST]` as text,
    /// `</s>` after each reply.
    Mistral,
    /// Mistral with a Tekken vocabulary (mistral-common's v3 template):
    /// `[INST]`, `[/INST]`, `[TOOL_CALLS]`, `[TOOL_RESULTS]` as control
    /// tokens, messages counted on their rendered text.
    MistralTekken,
    /// No public template: content plus the OpenAI rule's per-message
    /// figures as a stated estimate.
    Estimate,
}

impl ChatFormat {
    /// The format of the model family a tokenizer (by name) belongs to.
    pub fn for_tokenizer(name: &str) -> ChatFormat {
        match name {
            "o200k_base" | "cl100k_base" => ChatFormat::Openai,
            "llama3" | "llama3-hf" => ChatFormat::Llama3,
            "qwen2" | "qwen3" | "qwen3.5" => ChatFormat::Chatml,
            "gemma3" => ChatFormat::Gemma,
            "mistral-v1" => ChatFormat::Mistral,
            "mistral-tekken" => ChatFormat::MistralTekken,
            _ => ChatFormat::Estimate,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ChatFormat::Openai => "openai",
            ChatFormat::Llama3 => "llama3",
            ChatFormat::Chatml => "chatml",
            ChatFormat::Gemma => "gemma",
            ChatFormat::Mistral => "mistral",
            ChatFormat::MistralTekken => "mistral-tekken",
            ChatFormat::Estimate => "estimate",
        }
    }

    /// A message's text as the template writes it. Llama 3's and Gemma's
    /// templates pass each message's content through Jinja's `trim`
    /// (Meta-Llama-3-Instruct: `message['content'] | trim`; Gemma 3:
    /// `message['content'] | trim`, and `item['text'] | trim` per text
    /// part), so white space around it is never sent; Gemma's system
    /// prompt is written as given (`first_user_prefix`), not trimmed.
    pub fn sent(self, role: ChatRole, text: &str) -> &str {
        match (self, role) {
            (ChatFormat::Gemma, ChatRole::System | ChatRole::Developer) => text,
            (ChatFormat::Llama3 | ChatFormat::Gemma, _) => text.trim(),
            _ => text,
        }
    }
}

/// A piece of a template around a message's content.
#[derive(Clone, Copy, Debug)]
enum Piece {
    /// A special token, one token.
    Special(&'static str),
    Text(&'static str),
    /// The role's name as this template spells it.
    Role,
}

/// A message's template: pieces before and after its content.
struct Wrap {
    before: &'static [Piece],
    after: &'static [Piece],
}

use Piece::{Role, Special, Text};

const NONE: Wrap = Wrap {
    before: &[],
    after: &[],
};

/// The template of one format, for one role.
fn wrap(format: ChatFormat, role: ChatRole) -> Wrap {
    match format {
        ChatFormat::Llama3 => Wrap {
            before: &[
                Special("<|start_header_id|>"),
                Role,
                Special("<|end_header_id|>"),
                Text("\n\n"),
            ],
            after: &[Special("<|eot_id|>")],
        },
        ChatFormat::Chatml => Wrap {
            before: &[Special("<|im_start|>"), Role, Text("\n")],
            after: &[Special("<|im_end|>"), Text("\n")],
        },
        ChatFormat::Gemma => match role {
            // Folded into the next user turn: "{system}\n\n{user}".
            ChatRole::System | ChatRole::Developer => Wrap {
                before: &[],
                after: &[Text("\n\n")],
            },
            _ => Wrap {
                before: &[Special("<start_of_turn>"), Role, Text("\n")],
                after: &[Special("<end_of_turn>"), Text("\n")],
            },
        },
        ChatFormat::Mistral => match role {
            ChatRole::Assistant => Wrap {
                before: &[],
                after: &[Special("</s>")],
            },
            ChatRole::System | ChatRole::Developer => Wrap {
                before: &[],
                after: &[Text("\n\n")],
            },
            _ => Wrap {
                before: &[Text("[INST]")],
                after: &[Text(" [/INST]")],
            },
        },
        // The figures of a message without merges; the audit counts Tekken
        // messages on their rendered text (`count::tekken_template`).
        ChatFormat::MistralTekken => match role {
            ChatRole::Assistant => Wrap {
                before: &[],
                after: &[Special("</s>")],
            },
            ChatRole::System | ChatRole::Developer => Wrap {
                before: &[],
                after: &[Text("\n\n")],
            },
            ChatRole::Tool => Wrap {
                before: &[Special("[TOOL_RESULTS]")],
                after: &[Special("[/TOOL_RESULTS]")],
            },
            _ => Wrap {
                before: &[Special("[INST]")],
                after: &[Special("[/INST]")],
            },
        },
        ChatFormat::Openai | ChatFormat::Estimate => NONE,
    }
}

/// The role as a format spells it in its headers.
fn role_name(format: ChatFormat, role: ChatRole) -> &'static str {
    match (format, role) {
        (ChatFormat::Gemma, ChatRole::Assistant) => "model",
        (ChatFormat::Gemma, ChatRole::Tool) => "user",
        // Llama 3.1's template gives tool results the `ipython` role.
        (ChatFormat::Llama3, ChatRole::Tool) => "ipython",
        (ChatFormat::Chatml | ChatFormat::Llama3, ChatRole::Developer) => "system",
        _ => role.as_str(),
    }
}

/// The conversation's opening (BOS) and the reply priming.
fn start_and_priming(format: ChatFormat) -> (&'static [Piece], &'static [Piece]) {
    match format {
        ChatFormat::Llama3 => (
            &[Special("<|begin_of_text|>")],
            &[
                Special("<|start_header_id|>"),
                Text("assistant"),
                Special("<|end_header_id|>"),
                Text("\n\n"),
            ],
        ),
        ChatFormat::Chatml => (&[], &[Special("<|im_start|>"), Text("assistant\n")]),
        ChatFormat::Gemma => (
            &[Special("<bos>")],
            &[Special("<start_of_turn>"), Text("model\n")],
        ),
        ChatFormat::Mistral | ChatFormat::MistralTekken => (&[Special("<s>")], &[]),
        ChatFormat::Openai | ChatFormat::Estimate => (&[], &[]),
    }
}

/// The OpenAI cookbook's constants ("How to count tokens with tiktoken",
/// `num_tokens_from_messages`): every message is framed by 3 tokens, a
/// `name` costs 1 more than its text, and every reply is primed with 3.
const OPENAI_PER_MESSAGE: u64 = 3;
const OPENAI_PER_NAME: u64 = 1;
const OPENAI_PRIMING: u64 = 3;

/// A format's figures for one tokenizer, in tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overheads {
    pub format: ChatFormat,
    /// True when the figures are not the model's template (see
    /// [`ChatFormat::Estimate`]), or a special token could not be checked.
    pub estimate: bool,
    /// Once per conversation (BOS).
    pub start: u64,
    /// Around each message's content, by role (system, developer, user,
    /// assistant, tool).
    pub per_message: PerRole,
    /// Priming the reply, once per request.
    pub priming: u64,
    /// Whether a message's `name` is charged (its tokens plus 1).
    pub charges_name: bool,
}

/// One figure per role.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerRole {
    pub system: u64,
    pub developer: u64,
    pub user: u64,
    pub assistant: u64,
    pub tool: u64,
}

impl PerRole {
    pub fn get(&self, role: ChatRole) -> u64 {
        match role {
            ChatRole::System => self.system,
            ChatRole::Developer => self.developer,
            ChatRole::User => self.user,
            ChatRole::Assistant => self.assistant,
            ChatRole::Tool => self.tool,
        }
    }

    fn from_fn(mut f: impl FnMut(ChatRole) -> u64) -> PerRole {
        PerRole {
            system: f(ChatRole::System),
            developer: f(ChatRole::Developer),
            user: f(ChatRole::User),
            assistant: f(ChatRole::Assistant),
            tool: f(ChatRole::Tool),
        }
    }
}

impl Overheads {
    /// Tokenizes `format`'s templates with `counter`. `checks_specials`:
    /// the tokenizer is a tokenizer.json file, whose added tokens count as
    /// one token when spelled out: a special token that does not is not in
    /// the vocabulary, and the figures become an estimate.
    pub fn derive(
        format: ChatFormat,
        counter: &mut dyn Counter,
        checks_specials: bool,
    ) -> Overheads {
        if matches!(format, ChatFormat::Openai | ChatFormat::Estimate) {
            return Overheads {
                format,
                estimate: format == ChatFormat::Estimate,
                start: 0,
                per_message: PerRole::from_fn(|r| OPENAI_PER_MESSAGE + counter.count(r.as_str())),
                priming: OPENAI_PRIMING,
                charges_name: true,
            };
        }
        let mut t = Templater {
            format,
            counter,
            checks_specials,
            missing_special: false,
        };
        let (start, priming) = start_and_priming(format);
        let start = t.tokens(start, ChatRole::System, false);
        let priming = t.tokens(priming, ChatRole::Assistant, false);
        let per_message = PerRole::from_fn(|r| {
            let w = wrap(format, r);
            t.tokens(w.before, r, false) + t.tokens(w.after, r, true)
        });
        Overheads {
            format,
            estimate: t.missing_special,
            start,
            per_message,
            priming,
            charges_name: false,
        }
    }

    /// The tokens a message's `name` adds under this format.
    pub fn name_tokens(&self, name: &str, counter: &mut dyn Counter) -> u64 {
        if self.charges_name {
            counter.count(name) + OPENAI_PER_NAME
        } else {
            0
        }
    }
}

/// Tokenizes template pieces (see the module doc for the segment rule).
struct Templater<'c> {
    format: ChatFormat,
    counter: &'c mut dyn Counter,
    checks_specials: bool,
    missing_special: bool,
}

impl Templater<'_> {
    /// `after_content`: the pieces follow a message's content, so text
    /// before their first special token continues the content's segment.
    fn tokens(&mut self, pieces: &[Piece], role: ChatRole, after_content: bool) -> u64 {
        let mut total = 0;
        let mut run = String::new();
        let mut starts = !after_content;
        for piece in pieces {
            match piece {
                Special(s) => {
                    total += self.text(&mut run, starts);
                    if self.checks_specials && self.counter.count(s) != 1 {
                        self.missing_special = true;
                    }
                    total += 1;
                    starts = true;
                }
                Text(t) => run.push_str(t),
                Role => run.push_str(role_name(self.format, role)),
            }
        }
        total + self.text(&mut run, starts)
    }

    fn text(&mut self, run: &mut String, starts: bool) -> u64 {
        let n = match (run.is_empty(), starts) {
            (true, _) => 0,
            (false, true) => self.counter.count(run),
            (false, false) => self.counter.count_continuation(run),
        };
        run.clear();
        n
    }
}
