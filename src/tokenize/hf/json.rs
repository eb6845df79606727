/*!
The parts of a Hugging Face `tokenizer.json` that our engines read: the head
(normalizer, pre-tokenizer, model flags, added tokens), read first and once
for every engine `hf::build` tries, and the vocabulary and merges, borrowed
from the file's bytes. Each engine ([`byte_level`], [`sentencepiece`],
[`wordpiece`]) decides from these whether it can count the file.

This is not a general tokenizer.json reader: fields no engine needs are not
parsed, and the `tokenizers` crate stays the reference for files no engine
takes.

[`byte_level`]: super::byte_level
[`sentencepiece`]: super::sentencepiece
[`wordpiece`]: super::wordpiece
*/

use std::borrow::Cow;

use rustc_hash::FxHashMap;
use serde::Deserialize;
use serde_json::Value;

use crate::tokenize::TokenizerInfo;

/// `TokenizerInfo.family` of a tokenizer.json counted by the engine.
pub const FAMILY: &str = "huggingface (engine)";

/// Everything but the vocabulary and merges: read first, so that a file
/// that is not eligible (gemma3's is 33 MB) is turned down without building
/// its vocabulary.
#[derive(Deserialize)]
pub(crate) struct Head {
    #[serde(default)]
    pub(crate) added_tokens: Vec<AddedToken>,
    #[serde(default)]
    pub(crate) normalizer: Value,
    #[serde(default)]
    pub(crate) pre_tokenizer: Value,
    pub(crate) model: Model,
}

#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    model: Tables<'a>,
}

/// The vocabulary and merges, borrowed from the file's bytes where a string
/// has no escapes: a few hundred thousand strings that are only looked at
/// once need no allocation each.
#[derive(Deserialize)]
pub(crate) struct Tables<'a> {
    #[serde(default, borrow)]
    pub(crate) vocab: FxHashMap<Cow<'a, str>, u32>,
    #[serde(default, borrow)]
    pub(crate) merges: Vec<MergeSpec<'a>>,
}

/// One merge as tokenizer.json spells it: `"a b"` (older files) or
/// `["a", "b"]` (newer ones, which allow a space inside a part).
pub(crate) enum MergeSpec<'a> {
    Joined(Cow<'a, str>),
    Pair(Cow<'a, str>, Cow<'a, str>),
}

impl MergeSpec<'_> {
    /// The left and right parts, or `None` for a `"a b"` without a space.
    pub(crate) fn parts(&self) -> Option<(&str, &str)> {
        match self {
            MergeSpec::Joined(s) => s.split_once(' '),
            MergeSpec::Pair(a, b) => Some((a, b)),
        }
    }
}

/// A string borrowed from the input when it can be.
#[derive(Deserialize)]
struct Part<'a>(#[serde(borrow)] Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for MergeSpec<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Spec<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Spec<'a> {
            type Value = MergeSpec<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(r#"a merge, "a b" or ["a", "b"]"#)
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(MergeSpec::Joined(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(MergeSpec::Joined(Cow::Owned(s.to_owned())))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                use serde::de::Error;
                let mut part = |n| {
                    seq.next_element::<Part<'a>>()?
                        .map(|p| p.0)
                        .ok_or_else(|| A::Error::invalid_length(n, &self))
                };
                let (a, b) = (part(0)?, part(1)?);
                if seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    return Err(A::Error::invalid_length(3, &self));
                }
                Ok(MergeSpec::Pair(a, b))
            }
        }
        d.deserialize_any(Spec(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
pub(crate) struct AddedToken {
    id: u32,
    content: String,
    #[serde(default)]
    single_word: bool,
    #[serde(default)]
    lstrip: bool,
    #[serde(default)]
    rstrip: bool,
    #[serde(default)]
    normalized: bool,
}

#[derive(Deserialize)]
pub(crate) struct Model {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    dropout: Option<f64>,
    #[serde(default)]
    continuing_subword_prefix: Option<String>,
    #[serde(default)]
    end_of_word_suffix: Option<String>,
    #[serde(default)]
    pub(crate) byte_fallback: bool,
    #[serde(default)]
    pub(crate) ignore_merges: bool,
}

impl Model {
    /// Plain BPE: no dropout, no subword prefix or word suffix.
    pub(crate) fn check_plain_bpe(&self) -> Result<(), String> {
        if self.kind.as_deref() != Some("BPE") {
            return Err("the model is not BPE".into());
        }
        if self.dropout.is_some_and(|d| d > 0.0) {
            return Err("BPE dropout".into());
        }
        let set = |s: &Option<String>| s.as_ref().is_some_and(|s| !s.is_empty());
        if set(&self.continuing_subword_prefix) || set(&self.end_of_word_suffix) {
            return Err("a subword prefix or word suffix".into());
        }
        Ok(())
    }
}

/// A counting engine for the tokenizer.json files it accepts (`hf_bpe`,
/// `sp_bpe`, `wordpiece`).
pub(crate) trait HfEngine: Sized {
    /// From the file's head (read once for every engine `hf::build` tries)
    /// and its bytes. `Err` says why the file is not eligible;
    /// `info.vocab_size` and `info.family` are set here.
    fn from_head(info: TokenizerInfo, head: &Head, data: &[u8]) -> Result<Self, String>;

    /// [`Self::from_head`], reading the head itself (unit tests).
    #[cfg(test)]
    fn from_bytes(info: TokenizerInfo, data: &[u8]) -> Result<Self, String> {
        Self::from_head(info, &read_head(data)?, data)
    }
}

/// Parses everything but the vocabulary and merges.
pub(crate) fn read_head(data: &[u8]) -> Result<Head, String> {
    serde_json::from_slice(data).map_err(|e| format!("not parsed: {e}"))
}

/// Parses the vocabulary and merges, borrowing from `data`.
pub(crate) fn read_tables(data: &[u8]) -> Result<Tables<'_>, String> {
    let body: Body = serde_json::from_slice(data).map_err(|e| format!("not parsed: {e}"))?;
    Ok(body.model)
}

pub(crate) fn kind(v: &Value) -> Option<&str> {
    v.get("type").and_then(Value::as_str)
}

/// The added tokens as `(content, id)`, if the engine can match them as the
/// crate does: in raw text, before normalization (`normalizes`: the file
/// has a normalizer, so a token marked `normalized` would be matched after it).
pub(crate) fn added_tokens(
    tokens: &[AddedToken],
    normalizes: bool,
) -> Result<Vec<(String, u32)>, String> {
    let mut out = Vec::with_capacity(tokens.len());
    for t in tokens {
        if t.single_word || t.lstrip || t.rstrip {
            return Err(format!(
                "added token {:?} has single_word, lstrip or rstrip",
                t.content
            ));
        }
        // With a normalizer, `normalized` tokens are matched in normalized
        // text, a second pass we do not implement.
        if t.normalized && normalizes {
            return Err(format!(
                "added token {:?} is matched after normalization",
                t.content
            ));
        }
        if t.content.trim_end_matches('\n').contains('\n') {
            return Err(format!(
                "added token {:?} spans a line break (a chunk cut could split it)",
                t.content
            ));
        }
        out.push((t.content.clone(), t.id));
    }
    Ok(out)
}
