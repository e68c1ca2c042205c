"""Every public entry point, given hostile values, raises only the
documented exception types (docs/python.md, "Errors"): ``HarmonyError``,
``ValueError`` (pydantic's ``ValidationError`` included) or ``TypeError``;
and ``RecursionError`` only where the reference raises it too, for models
nested past Python's recursion limit. Never an internal type
(``_native.NotPlainJson``), a ``KeyError``, an ``OverflowError``.

Every grammar that is produced is one its engine takes: Lark is validated by
llguidance, GBNF through llguidance's GBNF reader."""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, Optional

import llguidance
import pytest

from grammar_cases import gbnf_to_lark_with_tokens
from openai_harmony import (
    Conversation,
    DeveloperContent,
    HarmonyEncoding,
    HarmonyError,
    Message,
    Role,
    StreamableParser,
    SystemContent,
    ToolDescription,
    interop,
)
from openai_harmony.datasets import tokenize_batch

DOCUMENTED = (HarmonyError, ValueError, TypeError)


def nested(depth: int) -> Dict[str, Any]:
    schema: Dict[str, Any] = {"type": "string"}
    for _ in range(depth):
        schema = {"type": "array", "items": schema}
    return schema


HOSTILE: Dict[str, Any] = {
    "nan": float("nan"),
    "infinity": float("inf"),
    "int_key": {1: "x"},
    "tuple_key": {(1, 2): "x"},
    "bytes": b"ab",
    "set": {1, 2},
    "object": object(),
    "big_int": 2**80,
    "negative": -1,
    "surrogate": "\ud800",
    "del": "a\x7fb",
    "nested_200": nested(200),
    "nested_5000": nested(5000),  # past Python's recursion limit
    "none": None,
}
PAST_PYTHON_LIMIT = {"nested_5000"}


def schema_with(value: Any) -> Dict[str, Any]:
    inner = value if isinstance(value, dict) else {"type": "string", "description": value, "default": value}
    return {"type": "object", "properties": {"x": inner}}


def conversation_with(value: Any, name: str = "f") -> Conversation:
    tool = ToolDescription.new(name, "d", parameters=schema_with(value))
    developer = DeveloperContent.new().with_function_tools([tool])
    return Conversation.from_messages(
        [Message.from_role_and_content(Role.DEVELOPER, developer), Message.from_role_and_content(Role.USER, "hi")]
    )


def chat_request(value: Any, name: str = "f") -> Dict[str, Any]:
    tool = {"type": "function", "function": {"name": name, "parameters": schema_with(value)}}
    return {"messages": [{"role": "user", "content": "hi"}], "tools": [tool]}


def responses_request(value: Any, name: str = "f") -> Dict[str, Any]:
    return {"input": "hi", "tools": [{"type": "function", "name": name, "parameters": schema_with(value)}]}


def entry_points(enc: HarmonyEncoding) -> Dict[str, Callable[[Any], Any]]:
    """Each public entry point, as a function of one hostile value. Those
    the reference has too may raise RecursionError past Python's limit, as
    the reference does."""
    return {
        "ToolDescription.new": lambda v: ToolDescription.new("f", "d", parameters=schema_with(v)),
        "render_conversation_for_completion": lambda v: enc.render_conversation_for_completion(
            conversation_with(v), Role.ASSISTANT
        ),
        "render_conversation_for_training": lambda v: enc.render_conversation_for_training(conversation_with(v)),
        "render_conversations_batch": lambda v: enc.render_conversations_batch([conversation_with(v)]),
        "render": lambda v: enc.render(conversation_with(v).messages[0]),
        "Conversation.to_json": lambda v: conversation_with(v).to_json(),
        "Conversation.from_json": lambda v: Conversation.from_json(v),
        "Message.from_dict content": lambda v: Message.from_dict({"role": "user", "content": v}),
        "Message.from_dict role": lambda v: Message.from_dict({"role": v, "content": "x"}),
        "encode": lambda v: enc.encode(v),
        "decode": lambda v: enc.decode([v]),
        "decode_utf8": lambda v: enc.decode_utf8([v]),
        "is_special_token": lambda v: enc.is_special_token(v),
        "StreamableParser.process": lambda v: StreamableParser(enc, None).process(v),
        "parse_messages_from_completion_tokens": lambda v: enc.parse_messages_from_completion_tokens([v]),
        "parse_batch": lambda v: enc.parse_batch([[v]]),
        "with_reasoning_effort": lambda v: SystemContent.new().with_reasoning_effort(v),
        # Our own API: no RecursionError anywhere.
        "completion_grammar lark": lambda v: enc.completion_grammar(conversation_with(v), syntax="lark"),
        "completion_grammar gbnf": lambda v: enc.completion_grammar(conversation_with(v), syntax="gbnf"),
        "completion_grammar xgrammar": lambda v: enc.completion_grammar(conversation_with(v), syntax="xgrammar"),
        "prompt_for_chat_completions": lambda v: interop.prompt_for_chat_completions(enc, chat_request(v)),
        "prompt_for_responses": lambda v: interop.prompt_for_responses(enc, responses_request(v)),
        "completion_grammar_for_chat_completions": lambda v: interop.completion_grammar_for_chat_completions(
            enc, chat_request(v)
        ),
        "completion_grammar_for_responses": lambda v: interop.completion_grammar_for_responses(
            enc, responses_request(v)
        ),
        "conversation_from_chat_completions": lambda v: interop.conversation_from_chat_completions(chat_request(v)),
        "ChatCompletionStream": lambda v: interop.ChatCompletionStream(enc, chat_request(v)),
        "ResponsesStream": lambda v: interop.ResponsesStream(enc, responses_request(v)),
        "ChatCompletionStream.process": lambda v: interop.ChatCompletionStream(enc).process(v),
        "tokenize_batch": lambda v: tokenize_batch({"conversation": [v]}),
        "tokenize_batch chat": lambda v: tokenize_batch({"conversation": [chat_request(v)]}, input_format="chat"),
        "tokenize_batch date": lambda v: tokenize_batch({"conversation": ['{"messages": []}']}, date=v),
    }


REFERENCE_API = {
    "ToolDescription.new",
    "render_conversation_for_completion",
    "render_conversation_for_training",
    "render_conversations_batch",
    "render",
    "Conversation.to_json",
    "Conversation.from_json",
    "Message.from_dict content",
    "Message.from_dict role",
}


@pytest.mark.parametrize("hostile", sorted(HOSTILE))
def test_only_documented_exceptions(enc: HarmonyEncoding, hostile: str) -> None:
    value = HOSTILE[hostile]
    wrong = []
    for name, call in entry_points(enc).items():
        try:
            call(value)
        except DOCUMENTED:
            pass
        except RecursionError:
            if not (hostile in PAST_PYTHON_LIMIT and name in REFERENCE_API):
                wrong.append(f"{name}: RecursionError")
        except Exception as e:  # the failure this test is about
            wrong.append(f"{name}: {type(e).__module__}.{type(e).__name__}: {e}"[:200])
    assert wrong == [], "\n".join(wrong)


NAMES = ["a\x7fb", "a\x85b", "a\u2028b", "a\u2029b", "ünï", 'q"t', "b\\s", "t\tb", "x<|end|>", "<", "a|b", "/re/"]


@pytest.mark.parametrize("name", NAMES, ids=[repr(n) for n in NAMES])
def test_grammars_are_taken_by_their_engine(enc: HarmonyEncoding, tokenizer: Any, name: str) -> None:
    parameters = {"type": "object", "properties": {"k": {"type": "string"}}, "required": ["k"]}
    developer = DeveloperContent.new().with_function_tools([ToolDescription.new(name, "d", parameters=parameters)])
    convo = Conversation.from_messages(
        [
            Message.from_role_and_content(Role.SYSTEM, SystemContent.new()),
            Message.from_role_and_content(Role.DEVELOPER, developer),
            Message.from_role_and_content(Role.USER, "hi"),
        ]
    )
    lark = enc.completion_grammar(convo, syntax="lark")
    assert llguidance.LLMatcher.validate_grammar(llguidance.LLMatcher.grammar_from_lark(lark), tokenizer) == ""
    if "<|" in name:  # llama.cpp would match a formatting token's text in the literal
        with pytest.raises(ValueError, match="GBNF cannot hold the text"):
            enc.completion_grammar(convo, syntax="gbnf")
        gbnf: Optional[str] = None
    else:
        gbnf = gbnf_to_lark_with_tokens(enc.completion_grammar(convo, syntax="gbnf"))
        assert llguidance.LLMatcher.validate_grammar(llguidance.LLMatcher.grammar_from_lark(gbnf), tokenizer) == ""
    # And each takes the call a model would write: the name as text (a
    # special token's text in it too), the arguments as JSON (llguidance's
    # JSON takes DEL in a string only escaped). Lark spells the stop token;
    # GBNF, llama.cpp's way, is complete where the stop token comes.
    special = {t: enc.encode(t, allowed_special="all") for t in ("<|channel|>", "<|message|>", "<|call|>")}
    args = json.dumps({"k": name}, ensure_ascii=False).replace("\x7f", "\\u007f")
    call = [
        *special["<|channel|>"],
        *enc.encode(f"commentary to=functions.{name}", disallowed_special=()),
        *special["<|message|>"],
        *enc.encode(args, disallowed_special=()),
        *special["<|call|>"],
    ]
    for grammar, tokens in ((lark, call), (gbnf, call[:-1])):
        if grammar is None:
            continue
        matcher = llguidance.LLMatcher(tokenizer, llguidance.LLMatcher.grammar_from_lark(grammar), log_level=0)
        for t in tokens:
            assert matcher.consume_token(t), matcher.get_error()
        assert matcher.is_accepting(), grammar
