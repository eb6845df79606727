/*!
Recognising a record's shape and reading it into a [`Conversation`].

Shapes, tried in this order on a JSON object:
- `messages` (an array): OpenAI chat messages or Anthropic Messages (both
  read by one message reader: OpenAI content parts and Anthropic blocks do
  not share type names), with OpenAI `tools`/`functions` or Anthropic
  `tools`, and Anthropic's top-level `system` (a string or text blocks);
- `input` (an array, or a string): OpenAI Responses input items, with
  `instructions` and any `output` items;
- `conversations` (an array of `{from, value}`): ShareGPT;
- `prompt` and `completion` (strings): a prompt/completion pair;
- `instruction` and `output` (with an optional `input`): Alpaca.

A JSON array whose elements all have a `role` is one conversation's
messages, and so is a JSONL file whose records are messages ([`is_message`]). Anything else is an error naming what was found, so that the
record is reported as malformed rather than guessed at.
*/

use serde_json::{Map, Value};

use super::{ChatRole, Conversation, Message, ToolCall, ToolDef, ToolResult};

/// Why a record is not a conversation.
pub type ShapeError = String;

/// Whether `value` is a single message (`{role, ...}`): a JSONL file whose
/// records are messages is one conversation.
pub fn is_message(value: &Value) -> bool {
    value.get("role").is_some_and(Value::is_string) && value.get("messages").is_none()
}

/// Reads `value` as a conversation of any known shape.
pub fn conversation(value: &Value) -> Result<Conversation, ShapeError> {
    match value {
        Value::Object(o) => object(o),
        Value::Array(items)
            if !items.is_empty() && items.iter().all(|m| m.get("role").is_some()) =>
        {
            let mut c = Conversation::default();
            read_messages(items, "", &mut c)?;
            Ok(c)
        }
        Value::Array(_) => Err("unknown shape: an array that is not a list of messages".into()),
        other => Err(format!("unknown shape: a JSON {}", kind_of(other))),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn object(o: &Map<String, Value>) -> Result<Conversation, ShapeError> {
    let mut c = Conversation::default();
    if let Some(messages) = o.get("messages") {
        let items = messages.as_array().ok_or("`messages` is not an array")?;
        if let Some(system) = o.get("system") {
            c.system = texts_of(system, "system")?;
        }
        read_messages(items, "messages", &mut c)?;
        read_tools(o, &mut c)?;
        return Ok(c);
    }
    if let Some(input) = o
        .get("input")
        .filter(|i| i.is_array() || o.contains_key("instructions"))
    {
        if let Some(instructions) = o.get("instructions").filter(|v| !v.is_null()) {
            c.system = texts_of(instructions, "instructions")?;
        }
        match input {
            Value::String(s) => {
                let mut m = Message::new(ChatRole::User);
                m.text(ChatRole::User, s.as_str());
                c.messages.push(m);
            }
            Value::Array(items) => read_items(items, "input", &mut c)?,
            _ => return Err("`input` is neither a string nor an array".into()),
        }
        if let Some(output) = o.get("output") {
            let items = output.as_array().ok_or("`output` is not an array")?;
            read_items(items, "output", &mut c)?;
        }
        read_tools(o, &mut c)?;
        return Ok(c);
    }
    if let Some(turns) = o.get("conversations") {
        let turns = turns.as_array().ok_or("`conversations` is not an array")?;
        for (i, t) in turns.iter().enumerate() {
            let at = format!("conversations[{i}]");
            let from = str_field(t, "from", &at)?;
            let role =
                sharegpt_role(from).ok_or_else(|| format!("{at}: unknown `from` `{from}`"))?;
            let mut m = Message::new(role);
            m.text(role, str_field(t, "value", &at)?);
            c.messages.push(m);
        }
        return Ok(c);
    }
    if let (Some(Value::String(p)), Some(Value::String(r))) = (o.get("prompt"), o.get("completion"))
    {
        push_pair(&mut c, &[p], r);
        return Ok(c);
    }
    if let (Some(Value::String(i)), Some(Value::String(r))) =
        (o.get("instruction"), o.get("output"))
    {
        match o.get("input") {
            Some(Value::String(extra)) if !extra.is_empty() => push_pair(&mut c, &[i, extra], r),
            _ => push_pair(&mut c, &[i], r),
        }
        return Ok(c);
    }
    let keys: Vec<&str> = o.keys().map(String::as_str).take(8).collect();
    Err(format!(
        "unknown shape: an object with keys {}",
        if keys.is_empty() {
            "(none)".to_string()
        } else {
            keys.join(", ")
        }
    ))
}

fn push_pair(c: &mut Conversation, prompt: &[&String], reply: &str) {
    let mut user = Message::new(ChatRole::User);
    for p in prompt {
        user.text(ChatRole::User, p.as_str());
    }
    let mut assistant = Message::new(ChatRole::Assistant);
    assistant.text(ChatRole::Assistant, reply);
    c.messages.push(user);
    c.messages.push(assistant);
}

/// ShareGPT's speaker names, as the datasets that use the shape spell them.
fn sharegpt_role(from: &str) -> Option<ChatRole> {
    Some(match from {
        "system" => ChatRole::System,
        "human" | "user" => ChatRole::User,
        "gpt" | "assistant" | "model" | "chatgpt" | "bard" | "bing" | "function_call" => {
            ChatRole::Assistant
        }
        "tool" | "observation" | "function_response" | "function" => ChatRole::Tool,
        _ => return None,
    })
}

fn role_of(s: &str) -> Option<ChatRole> {
    Some(match s {
        "system" => ChatRole::System,
        "developer" => ChatRole::Developer,
        "user" | "human" => ChatRole::User,
        "assistant" | "model" => ChatRole::Assistant,
        "tool" | "function" | "ipython" => ChatRole::Tool,
        _ => return None,
    })
}

fn str_field<'v>(v: &'v Value, key: &str, at: &str) -> Result<&'v str, ShapeError> {
    match v.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(format!(
            "{at}: `{key}` is a {}, not a string",
            kind_of(other)
        )),
        None => Err(format!("{at}: no `{key}`")),
    }
}

/// A string, or an array of text blocks (`{type: text, text}` or strings).
fn texts_of(v: &Value, at: &str) -> Result<Vec<String>, ShapeError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(blocks) => blocks
            .iter()
            .enumerate()
            .map(|(i, b)| match b {
                Value::String(s) => Ok(s.clone()),
                _ => str_field(b, "text", &format!("{at}[{i}]")).map(str::to_string),
            })
            .collect(),
        Value::Null => Ok(Vec::new()),
        other => Err(format!("{at}: a {}, not text", kind_of(other))),
    }
}

/// OpenAI chat messages or Anthropic messages.
fn read_messages(items: &[Value], at: &str, c: &mut Conversation) -> Result<(), ShapeError> {
    for (i, item) in items.iter().enumerate() {
        let at = format!("{at}[{i}]");
        let role_name = str_field(item, "role", &at)?;
        let role = role_of(role_name).ok_or_else(|| format!("{at}: unknown role `{role_name}`"))?;
        let mut m = Message::new(role);
        if let Some(Value::String(name)) = item.get("name") {
            m.name = Some(name.clone());
        }
        if let Some(Value::String(id)) = item.get("tool_call_id") {
            m.call_id = Some(id.clone());
        }
        if let Some(content) = item.get("content") {
            read_content(content, role, &at, &mut m)?;
        }
        if let Some(Value::String(refusal)) = item.get("refusal") {
            m.text(role, refusal.as_str());
        }
        if let Some(Value::Array(calls)) = item.get("tool_calls") {
            for (k, call) in calls.iter().enumerate() {
                let f = call.get("function").unwrap_or(call);
                function_call(f, call.get("id"), &format!("{at}.tool_calls[{k}]"), &mut m)?;
            }
        }
        if let Some(f) = item.get("function_call").filter(|f| !f.is_null()) {
            function_call(f, None, &format!("{at}.function_call"), &mut m)?;
        }
        c.messages.push(m);
    }
    Ok(())
}

/// A call the model emitted: its name and its arguments as the JSON text it
/// wrote (a string in OpenAI's shape), and its id.
fn function_call(
    f: &Value,
    id: Option<&Value>,
    at: &str,
    m: &mut Message,
) -> Result<(), ShapeError> {
    let name = str_field(f, "name", at)?.to_string();
    let arguments = match f.get("arguments") {
        Some(Value::String(a)) => a.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    m.call(ToolCall {
        id: id.and_then(Value::as_str).map(str::to_string),
        name,
        arguments,
    });
    Ok(())
}

/// A message's `content`: a string, null, or an array of parts or blocks.
fn read_content(
    content: &Value,
    role: ChatRole,
    at: &str,
    m: &mut Message,
) -> Result<(), ShapeError> {
    match content {
        Value::String(s) => m.text(role, s.as_str()),
        Value::Null => {}
        Value::Array(parts) => {
            for (k, part) in parts.iter().enumerate() {
                read_part(part, role, &format!("{at}.content[{k}]"), m)?;
            }
        }
        other => return Err(format!("{at}: `content` is a {}", kind_of(other))),
    }
    Ok(())
}

/// One content part (OpenAI) or block (Anthropic, Responses).
fn read_part(part: &Value, role: ChatRole, at: &str, m: &mut Message) -> Result<(), ShapeError> {
    if let Value::String(s) = part {
        m.text(role, s.as_str());
        return Ok(());
    }
    let kind = str_field(part, "type", at)?;
    match kind {
        "text" | "input_text" | "output_text" => m.text(role, str_field(part, "text", at)?),
        "refusal" => m.text(role, str_field(part, "refusal", at)?),
        "thinking" => m.text(role, str_field(part, "thinking", at)?),
        "tool_use" | "server_tool_use" => m.call(ToolCall {
            id: part.get("id").and_then(Value::as_str).map(str::to_string),
            name: str_field(part, "name", at)?.to_string(),
            arguments: part.get("input").map(Value::to_string).unwrap_or_default(),
        }),
        "tool_result" => {
            let start = m.parts.len();
            if let Some(content) = part.get("content") {
                read_content(content, ChatRole::Tool, at, m)?;
            }
            m.results.push(ToolResult {
                call_id: part
                    .get("tool_use_id")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                parts: start..m.parts.len(),
            });
        }
        "image_url" | "input_image" | "image" => {
            m.non_text.push("image".into());
            m.images.push(super::image::image_of(part));
        }
        "input_audio" | "audio" => m.non_text.push("audio".into()),
        "file" | "input_file" => m.non_text.push("file".into()),
        "document" => m.non_text.push("document".into()),
        other => match part.get("text") {
            Some(Value::String(t)) => m.text(role, t.as_str()),
            _ => m.non_text.push(other.to_string()),
        },
    }
    Ok(())
}

/// Responses API items: messages (`{role, content}`, with or without
/// `type: message`), function calls and their outputs, reasoning summaries.
fn read_items(items: &[Value], at: &str, c: &mut Conversation) -> Result<(), ShapeError> {
    for (i, item) in items.iter().enumerate() {
        let at = format!("{at}[{i}]");
        let kind = item
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("message");
        match kind {
            "message" => read_messages(std::slice::from_ref(item), &at, c)?,
            "function_call" | "custom_tool_call" => {
                let mut m = Message::new(ChatRole::Assistant);
                let args = item.get("arguments").or_else(|| item.get("input"));
                m.call(ToolCall {
                    id: item
                        .get("call_id")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    name: str_field(item, "name", &at)?.to_string(),
                    arguments: match args {
                        Some(Value::String(a)) => a.clone(),
                        _ => String::new(),
                    },
                });
                c.messages.push(m);
            }
            "function_call_output" | "custom_tool_call_output" => {
                let mut m = Message::new(ChatRole::Tool);
                m.call_id = item
                    .get("call_id")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                match item.get("output") {
                    Some(Value::String(s)) => m.text(ChatRole::Tool, s.as_str()),
                    Some(other) => read_content(other, ChatRole::Tool, &at, &mut m)?,
                    None => {}
                }
                c.messages.push(m);
            }
            "reasoning" => {
                let mut m = Message::new(ChatRole::Assistant);
                if let Some(Value::Array(summary)) = item.get("summary") {
                    for (k, s) in summary.iter().enumerate() {
                        m.text(
                            ChatRole::Assistant,
                            str_field(s, "text", &format!("{at}.summary[{k}]"))?,
                        );
                    }
                }
                c.messages.push(m);
            }
            other => return Err(format!("{at}: unknown item type `{other}`")),
        }
    }
    Ok(())
}

/// Tool definitions: OpenAI `tools` (`{type: function, function: {...}}`,
/// or Responses' flat `{type: function, name, ...}`), legacy `functions`,
/// Anthropic `tools` (`{name, description, input_schema}`).
fn read_tools(o: &Map<String, Value>, c: &mut Conversation) -> Result<(), ShapeError> {
    for key in ["tools", "functions"] {
        let Some(tools) = o.get(key).filter(|t| !t.is_null()) else {
            continue;
        };
        let tools = tools
            .as_array()
            .ok_or_else(|| format!("`{key}` is not an array"))?;
        for (i, t) in tools.iter().enumerate() {
            let at = format!("{key}[{i}]");
            let f = t.get("function").unwrap_or(t);
            c.tools.push(ToolDef {
                name: str_field(f, "name", &at)?.to_string(),
                description: f
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                parameters: f
                    .get("parameters")
                    .or_else(|| f.get("input_schema"))
                    .cloned()
                    .unwrap_or(Value::Null),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parts(c: &Conversation) -> Vec<(ChatRole, ChatRole, String)> {
        c.messages
            .iter()
            .flat_map(|m| {
                m.parts
                    .iter()
                    .map(move |p| (m.role, p.role, p.text.clone()))
            })
            .collect()
    }

    #[test]
    fn openai_messages_with_name_parts_tool_calls_and_tools() {
        let c = conversation(&json!({
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "name": "ann", "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "data:..."}}]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "1", "type": "function",
                     "function": {"name": "look", "arguments": "{\"q\":\"x\"}"}}]},
                {"role": "tool", "tool_call_id": "1", "content": "a cat"},
                {"role": "assistant", "content": "A cat."}],
            "tools": [{"type": "function", "function": {"name": "look", "description": "Look.",
                "parameters": {"type": "object", "properties": {}}}}]
        }))
        .unwrap();
        use ChatRole::*;
        assert_eq!(
            parts(&c),
            vec![
                (System, System, "Be brief.".into()),
                (User, User, "What is this?".into()),
                (Assistant, Assistant, "look".into()),
                (Assistant, Assistant, "{\"q\":\"x\"}".into()),
                (Tool, Tool, "a cat".into()),
                (Assistant, Assistant, "A cat.".into()),
            ]
        );
        assert_eq!(c.messages[1].name.as_deref(), Some("ann"));
        assert_eq!(c.messages[1].non_text, vec!["image".to_string()]);
        assert_eq!(c.tools.len(), 1);
        assert_eq!(c.tools[0].description, "Look.");
    }

    #[test]
    fn anthropic_system_blocks_tool_use_and_results() {
        let c = conversation(&json!({
            "system": [{"type": "text", "text": "Be kind."}],
            "messages": [
                {"role": "user", "content": [
                    {"type": "image", "source": {"type": "base64", "data": ""}},
                    {"type": "text", "text": "Weather?"}]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "Use the tool."},
                    {"type": "tool_use", "id": "t", "name": "weather", "input": {"city": "Oslo"}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "t", "content": "rain"}]}],
            "tools": [{"name": "weather", "description": "Weather.", "input_schema": {"type": "object"}}]
        }))
        .unwrap();
        use ChatRole::*;
        assert_eq!(c.system, vec!["Be kind.".to_string()]);
        assert_eq!(
            parts(&c),
            vec![
                (User, User, "Weather?".into()),
                (Assistant, Assistant, "Use the tool.".into()),
                (Assistant, Assistant, "weather".into()),
                (Assistant, Assistant, "{\"city\":\"Oslo\"}".into()),
                (User, Tool, "rain".into()),
            ]
        );
        assert_eq!(c.messages[0].non_text, vec!["image".to_string()]);
        assert_eq!(c.tools[0].parameters, json!({"type": "object"}));
    }

    #[test]
    fn sharegpt_prompt_completion_alpaca_and_responses() {
        use ChatRole::*;
        let share = conversation(&json!({"conversations": [
            {"from": "system", "value": "s"}, {"from": "human", "value": "h"},
            {"from": "gpt", "value": "g"}]}))
        .unwrap();
        assert_eq!(
            parts(&share),
            vec![
                (System, System, "s".into()),
                (User, User, "h".into()),
                (Assistant, Assistant, "g".into())
            ]
        );
        let pc = conversation(&json!({"prompt": "p", "completion": "c"})).unwrap();
        assert_eq!(
            parts(&pc),
            vec![(User, User, "p".into()), (Assistant, Assistant, "c".into())]
        );
        let alpaca =
            conversation(&json!({"instruction": "i", "input": "x", "output": "o"})).unwrap();
        assert_eq!(
            parts(&alpaca),
            vec![
                (User, User, "i".into()),
                (User, User, "x".into()),
                (Assistant, Assistant, "o".into())
            ]
        );
        let responses = conversation(&json!({"instructions": "sys", "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "q"}]},
            {"type": "function_call", "name": "f", "arguments": "{}", "call_id": "c"},
            {"type": "function_call_output", "call_id": "c", "output": "r"}]}))
        .unwrap();
        assert_eq!(responses.system, vec!["sys".to_string()]);
        assert_eq!(
            parts(&responses),
            vec![
                (User, User, "q".into()),
                (Assistant, Assistant, "f".into()),
                (Assistant, Assistant, "{}".into()),
                (Tool, Tool, "r".into())
            ]
        );
    }

    #[test]
    fn unknown_shapes_and_roles_are_errors_that_say_what_was_found() {
        assert_eq!(
            conversation(&json!({"a": 1, "b": 2})).unwrap_err(),
            "unknown shape: an object with keys a, b"
        );
        assert_eq!(
            conversation(&json!({"messages": [{"role": "robot", "content": "x"}]})).unwrap_err(),
            "messages[0]: unknown role `robot`"
        );
        assert!(conversation(&json!(3)).is_err());
    }
}
