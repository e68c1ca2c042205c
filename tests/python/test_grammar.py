"""Completion grammars checked by a real engine: llguidance (CPU), with a
tokenizer built from our own vocabulary, fed token by token.

Valid completions are rendered by our renderer for random turns (analysis,
preambles, final answers, tool calls with random schema-valid arguments,
both header orders, every content-type spelling) and must be accepted to
the end; malformed ones must be rejected at the first token that leaves the
format."""

from __future__ import annotations

import json
import random
from typing import Any, Dict, List, Tuple

import llguidance
import llguidance.tiktoken
import pytest
import tiktoken

from openai_harmony import (
    Conversation,
    DeveloperContent,
    HarmonyEncoding,
    Message,
    ResponseFormat,
    Role,
    SystemContent,
    ToolDescription,
)

SCHEMAS: Dict[str, Dict[str, Any]] = {
    "get_weather": {
        "type": "object",
        "properties": {"location": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["location"],
    },
    "set_alarm": {
        "type": "object",
        "properties": {"hour": {"type": "integer"}, "label": {"type": "string"}, "loud": {"type": "boolean"}},
        "required": ["hour", "loud"],
    },
}


@pytest.fixture(scope="module")
def tokenizer(enc: HarmonyEncoding) -> Any:
    # Our own vocabulary, as tiktoken's Encoding wants it, plus our specials.
    ranks = {enc.decode_bytes([r]): r for r in range(199_998)}
    specials = {name: enc.encode(name, allowed_special="all")[0] for name in enc.special_tokens_set}
    te = tiktoken.Encoding(name="o200k_harmony", pat_str=r"\S+|\s+", mergeable_ranks=ranks, special_tokens=specials)
    return llguidance.tiktoken.lltokenizer_from_encoding(te, eos_token=specials["<|return|>"])


def conversation(tools: bool = True) -> Conversation:
    dev = DeveloperContent.new().with_instructions("Be brief.")
    if tools:
        dev = dev.with_function_tools(
            [ToolDescription.new(name, f"Tool {name}.", parameters=schema) for name, schema in SCHEMAS.items()]
        )
    return Conversation.from_messages(
        [
            Message.from_role_and_content(Role.SYSTEM, SystemContent.new()),
            Message.from_role_and_content(Role.DEVELOPER, dev),
            Message.from_role_and_content(Role.USER, "What now?"),
        ]
    )


def feed(enc: HarmonyEncoding, tokenizer: Any, grammar: str, tokens: List[int]) -> Tuple[str, int]:
    """("accepted", n), ("incomplete", n) or ("rejected", index of the token)."""
    matcher = llguidance.LLMatcher(tokenizer, llguidance.LLMatcher.grammar_from_lark(grammar), log_level=0)
    assert not matcher.get_error(), matcher.get_error()
    for i, t in enumerate(tokens):
        if not matcher.consume_token(t):
            return "rejected", i
    return ("accepted" if matcher.is_accepting() else "incomplete"), len(tokens)


def random_args(rng: random.Random, schema: Dict[str, Any]) -> Dict[str, Any]:
    value: Dict[str, Any] = {}
    for name, prop in schema["properties"].items():
        if name not in schema["required"] and rng.random() < 0.5:
            continue
        kind = prop["type"]
        value[name] = (
            rng.randint(-5, 99)
            if kind == "integer"
            else rng.random() < 0.5
            if kind == "boolean"
            else rng.choice(["Paris", "", 'say "hi"', "Zürich\n", "東京"])
        )
    return value


def random_text(rng: random.Random) -> str:
    return rng.choice(["Sure.", "Let me think about this.\n\n- one\n- two", "42", "ünïcødé ✓", '{"not": json}', " "])


def completion(enc: HarmonyEncoding, rng: random.Random, tools: bool) -> List[int]:
    """A valid completion: what follows the prompt's <|start|>assistant."""
    out: List[int] = []
    for _ in range(rng.randint(0, 3)):
        channel = rng.choice(["analysis", "commentary"])
        out.extend(enc.render(Message.from_role_and_content(Role.ASSISTANT, random_text(rng)).with_channel(channel)))
    if tools and rng.random() < 0.6:
        name = rng.choice(sorted(SCHEMAS))
        # Raw UTF-8, as gpt-oss writes it: llguidance's JSON lexer refuses
        # \u escapes of characters that need none (a limit of the engine).
        args = json.dumps(random_args(rng, SCHEMAS[name]), ensure_ascii=False)
        ctype = rng.choice(["<|constrain|>json", "json", None])
        if rng.random() < 0.5:
            msg = (
                Message.from_role_and_content(Role.ASSISTANT, args)
                .with_channel("commentary")
                .with_recipient(f"functions.{name}")
            )
            if ctype is not None:
                msg = msg.with_content_type(ctype)
            out.extend(enc.render(msg))
        else:
            # The other header order, as gpt-oss often writes it.
            suffix = "" if ctype is None else " " + ctype
            text = f"<|start|>assistant<|channel|>commentary to=functions.{name}{suffix}<|message|>{args}<|call|>"
            out.extend(enc.encode(text, allowed_special="all"))
    else:
        out.extend(enc.render(Message.from_role_and_content(Role.ASSISTANT, random_text(rng)).with_channel("final")))
        out[-1] = enc.encode("<|return|>", allowed_special="all")[0]
    start = enc.encode("<|start|>assistant", allowed_special="all")
    assert out[: len(start)] == start
    return out[len(start) :]


@pytest.mark.parametrize("tools", [True, False])
def test_rendered_completions_are_accepted(enc: HarmonyEncoding, tokenizer: Any, tools: bool) -> None:
    grammar = enc.completion_grammar(conversation(tools))
    rng = random.Random(7 if tools else 8)
    for _ in range(300):
        tokens = completion(enc, rng, tools)
        assert feed(enc, tokenizer, grammar, tokens) == ("accepted", len(tokens)), enc.decode(tokens)


MALFORMED = [
    # (what, valid prefix, the rest)
    ("unknown tool", "<|channel|>commentary to=functions.get_", "time<|message|>{}<|call|>"),
    ("missing required field", '<|channel|>commentary to=functions.set_alarm<|message|>{"hour": 7', "}<|call|>"),
    ("wrong argument type", '<|channel|>commentary to=functions.set_alarm<|message|>{"hour": ', '"7", "loud": true}'),
    ("invalid channel", "<|channel|>", "thinking<|message|>x<|end|>"),
    ("header without <|message|>", "<|channel|>final", "<|end|>"),
    ("the model speaking as user", "<|channel|>analysis<|message|>x<|end|><|start|>", "user<|message|>hi<|end|>"),
    ("final answer ended by <|call|>", "<|channel|>final<|message|>Done.", "<|call|>"),
    ("tool call on the final channel", "<|channel|>final", " to=functions.get_weather<|message|>{}<|call|>"),
    ("text after the end", "<|channel|>final<|message|>Done.<|return|>", "more"),
]


@pytest.mark.parametrize("what,prefix,rest", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_completions_are_rejected_at_the_first_wrong_token(
    enc: HarmonyEncoding, tokenizer: Any, what: str, prefix: str, rest: str
) -> None:
    grammar = enc.completion_grammar(conversation())
    head = enc.encode(prefix, allowed_special="all")
    tail = enc.encode(rest, allowed_special="all")
    assert feed(enc, tokenizer, grammar, head + tail) == ("rejected", len(head)), what


def test_tool_choice(enc: HarmonyEncoding, tokenizer: Any) -> None:
    final = enc.encode("<|channel|>final<|message|>Hi.<|return|>", allowed_special="all")
    call = enc.encode(
        '<|channel|>commentary to=functions.set_alarm<|message|>{"hour": 7, "loud": false}<|call|>',
        allowed_special="all",
    )
    other = enc.encode(
        '<|channel|>commentary to=functions.get_weather<|message|>{"location": "x"}<|call|>', allowed_special="all"
    )
    convo = conversation()

    def accepted(choice: str, tokens: List[int]) -> str:
        return feed(enc, tokenizer, enc.completion_grammar(convo, tool_choice=choice), tokens)[0]

    assert [accepted("auto", t) for t in (final, call, other)] == ["accepted"] * 3
    assert [accepted("none", t) for t in (final, call)] == ["accepted", "rejected"]
    assert [accepted("required", t) for t in (final, call, other)] == ["rejected", "accepted", "accepted"]
    assert [accepted("set_alarm", t) for t in (final, call, other)] == ["rejected", "accepted", "rejected"]
    with pytest.raises(ValueError, match="no system or developer message declares"):
        enc.completion_grammar(convo, tool_choice="launch_rocket")
    with pytest.raises(ValueError, match="required"):
        enc.completion_grammar(conversation(tools=False), tool_choice="required")
    with pytest.raises(ValueError, match="syntax"):
        enc.completion_grammar(convo, syntax="yaml")


def test_response_format_constrains_the_final_answer(enc: HarmonyEncoding, tokenizer: Any) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    dev = DeveloperContent.new().with_response_format(ResponseFormat(name="result", schema_=schema))
    convo = Conversation.from_messages(
        [
            Message.from_role_and_content(Role.SYSTEM, SystemContent.new()),
            Message.from_role_and_content(Role.DEVELOPER, dev),
            Message.from_role_and_content(Role.USER, "2+2?"),
        ]
    )
    grammar = enc.completion_grammar(convo)
    good = enc.encode('<|channel|>final<|message|>{"answer": 4}<|return|>', allowed_special="all")
    bad_head = enc.encode('<|channel|>final<|message|>{"answer": ', allowed_special="all")
    bad = bad_head + enc.encode('"four"}<|return|>', allowed_special="all")
    assert feed(enc, tokenizer, grammar, good) == ("accepted", len(good))
    assert feed(enc, tokenizer, grammar, bad) == ("rejected", len(bad_head))


def test_only_assistant_turns(enc: HarmonyEncoding) -> None:
    with pytest.raises(ValueError, match="assistant"):
        enc.completion_grammar(conversation(), Role.USER)


def test_grammars_from_openai_requests(enc: HarmonyEncoding, tokenizer: Any) -> None:
    from openai_harmony import interop

    tool: Dict[str, Any] = {
        "type": "function",
        "function": {"name": "get-weather", "parameters": SCHEMAS["get_weather"]},
    }
    request: Dict[str, Any] = {
        "model": "gpt-oss",
        "messages": [{"role": "user", "content": "Weather?"}],
        "tools": [tool],
    }
    call = enc.encode(
        '<|channel|>commentary to=functions.get_weather<|message|>{"location": "Oslo"}<|call|>', allowed_special="all"
    )
    final = enc.encode("<|channel|>final<|message|>Sunny.<|return|>", allowed_special="all")

    def verdicts(req: Dict[str, Any]) -> List[str]:
        grammar = interop.completion_grammar_for_chat_completions(enc, req)
        return [feed(enc, tokenizer, grammar, t)[0] for t in (call, final)]

    assert verdicts(request) == ["accepted", "accepted"]
    assert verdicts({**request, "tool_choice": "required"}) == ["accepted", "rejected"]
    assert verdicts({**request, "tool_choice": "none"}) == ["rejected", "accepted"]
    named = {"type": "function", "function": {"name": "get-weather"}}
    assert verdicts({**request, "tool_choice": named}) == ["accepted", "rejected"]
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    formatted = {**request, "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}}}
    grammar = interop.completion_grammar_for_chat_completions(enc, formatted)
    good = enc.encode('<|channel|>final<|message|>{"city": "Oslo"}<|return|>', allowed_special="all")
    assert feed(enc, tokenizer, grammar, good)[0] == "accepted"
    assert feed(enc, tokenizer, grammar, final)[0] == "rejected"
    responses = {"model": "gpt-oss", "input": "Weather?", "tools": [{"type": "function", **tool["function"]}]}
    grammar = interop.completion_grammar_for_responses(enc, {**responses, "tool_choice": "required"})
    assert [feed(enc, tokenizer, grammar, t)[0] for t in (call, final)] == ["accepted", "rejected"]
