"""Mistral's rendering of chat conversations, for tests/it/chat_formats.rs.

Runs in the environment scripts/fetch-mistral-common makes. Reads on stdin
{"tokenizer": PATH, "version": "1.13.1", "conversations": [CONVERSATION...]},
each conversation in OpenAI's chat shape ({"messages": [...], "tools"?}),
and writes on stdout, per conversation, what mistral-common makes of it:

  requests    for each assistant message, the token count of the request
              made of every message before it (and the tools), encoded by
              `MistralTokenizer.encode_chat_completion`: what the API bills
              as input for that reply;
  rendered    those requests as text, control tokens spelled out;
  shared      for each reply after the first, how many tokens its request
              starts with that the previous reply's request had sent (what
              a prompt cache can serve);
  assistants  for each assistant message, its tokens as a later request
              carries it (`encode_assistant_message`: trailing spaces
              dropped), whether they end with the end-of-sequence token and
              start with [TOOL_CALLS], and `content`: the tokens of its text
              content as written (null when it is not one string).

The tokenizer is loaded from the local Tekken file (`from_file`); nothing is
downloaded. A conversation mistral-common refuses gets {"error": MESSAGE}.
"""

import json
import sys

import mistral_common
from mistral_common.protocol.instruct.messages import AssistantMessage
from mistral_common.protocol.instruct.request import ChatCompletionRequest
from mistral_common.tokens.tokenizers.base import SpecialTokenPolicy, SpecialTokens
from mistral_common.tokens.tokenizers.mistral import MistralTokenizer


def render(tokenizer, conversation):
    instruct = tokenizer.instruct_tokenizer
    text = instruct.tokenizer
    eos = text.eos_id
    tool_calls = text.get_special_token(SpecialTokens.tool_calls.value)
    messages, tools = conversation["messages"], conversation.get("tools")
    out = {"requests": [], "rendered": [], "shared": [], "assistants": []}
    previous = None
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        request = ChatCompletionRequest.from_openai(messages[:i], tools)
        tokens = tokenizer.encode_chat_completion(request).tokens
        out["requests"].append(len(tokens))
        if previous is not None:
            shared = 0
            while shared < min(len(previous), len(tokens)) and previous[shared] == tokens[shared]:
                shared += 1
            out["shared"].append(shared)
        previous = tokens
        out["rendered"].append(tokenizer.decode(tokens, special_token_policy=SpecialTokenPolicy.KEEP))
        own = instruct.encode_assistant_message(AssistantMessage.from_openai(message), False)
        content = message.get("content")
        out["assistants"].append(
            {
                "tokens": len(own),
                "ends_with_eos": own[-1] == eos,
                "starts_with_tool_calls": own[0] == tool_calls,
                "content": len(text.encode(content, bos=False, eos=False)) if isinstance(content, str) else None,
            }
        )
    return out


def main():
    job = json.load(sys.stdin)
    if mistral_common.__version__ != job["version"]:
        sys.exit("mistral-common %s, the test expects %s" % (mistral_common.__version__, job["version"]))
    tokenizer = MistralTokenizer.from_file(job["tokenizer"])
    results = []
    for conversation in job["conversations"]:
        try:
            results.append(render(tokenizer, conversation))
        except Exception as e:  # reported to the test, which fails on it
            results.append({"error": "%s: %s" % (type(e).__name__, e)})
    json.dump(results, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
