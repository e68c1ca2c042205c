"""Completion grammars checked by a real engine: llguidance (CPU), with a
tokenizer built from our own vocabulary, fed token by token.

Valid completions are rendered by our renderer for random turns (analysis,
preambles, final answers, tool calls with random schema-valid arguments,
both header orders, every content-type spelling) and must be accepted to
the end; malformed ones must be rejected at the first token that leaves the
format."""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Tuple

import llguidance
import llguidance.tiktoken
import pytest

from conftest import engine_missing, load_cases
from grammar_cases import case_batch, gbnf_to_lark_with_tokens, llguidance_grammar
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


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"x": {"type": "number", "default": float("nan")}}},
        {"type": "object", "properties": {1: {"type": "string"}}},
        {"type": "object", "properties": {"x": {"enum": {"a", "b"}}}},
        {"type": "object", "properties": {"x": {"default": b"raw"}}},
    ],
    ids=["nan", "int_key", "set", "bytes"],
)
def test_schemas_that_are_not_json_are_value_errors(enc: HarmonyEncoding, schema: Dict[str, Any]) -> None:
    """Not the internal _native.NotPlainJson: a documented ValueError, as rendering raises."""
    tool = ToolDescription.new("f", "A tool.", parameters=schema)
    convo = Conversation.from_messages(
        [
            Message.from_role_and_content(Role.SYSTEM, SystemContent.new()),
            Message.from_role_and_content(Role.DEVELOPER, DeveloperContent.new().with_function_tools([tool])),
            Message.from_role_and_content(Role.USER, "hi"),
        ]
    )
    for syntax in ("lark", "gbnf", "xgrammar"):
        with pytest.raises(ValueError, match="cannot build a grammar"):
            enc.completion_grammar(convo, syntax=syntax)


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


# --- generated cases, every syntax llguidance reads ----------------------------

SETUPS = 200  # of 10 cases each: 2,000 cases per syntax


def run(enc: HarmonyEncoding, grammar_matcher: Any, tokens: List[int], spelled_stops: bool) -> Tuple[str, int]:
    """Feed tokens as an engine would, to a copy of the matcher (reset() does
    not bring back a stopped matcher). With spelled stops (Lark) the grammar
    consumes <|return|> and <|call|>, and nothing may follow; without (GBNF,
    llama.cpp's convention) a stop token ends generation where the grammar is
    complete and is refused elsewhere."""
    stops = set(enc.stop_tokens_for_assistant_actions())
    matcher = grammar_matcher.deep_copy()
    for i, t in enumerate(tokens):
        if not spelled_stops and t in stops:
            return ("ended", i) if matcher.is_accepting() else ("rejected", i)
        if not matcher.consume_token(t):
            return "rejected", i
    if spelled_stops and not matcher.is_stopped():
        return "not stopped", len(tokens)
    return ("accepted" if matcher.is_accepting() else "incomplete"), len(tokens)


@pytest.mark.parametrize("syntax", ["lark", "gbnf"])
def test_generated_cases(enc: HarmonyEncoding, tokenizer: Any, syntax: str) -> None:
    spelled = syntax == "lark"
    counts: Dict[str, int] = {}
    for seed in range(SETUPS):
        setup, cases = case_batch(enc, seed)
        grammar = llguidance_grammar(enc, setup, syntax)
        matcher = llguidance.LLMatcher(tokenizer, llguidance.LLMatcher.grammar_from_lark(grammar), log_level=0)
        assert not matcher.get_error(), (setup, matcher.get_error())
        for kind, tokens, wrong in cases:
            counts[kind] = counts.get(kind, 0) + 1
            verdict = run(enc, matcher, tokens, spelled)
            where = f"{syntax} seed {seed} {kind}: {enc.decode(tokens)!r} {setup}"
            if wrong < 0:
                # Valid: accepted to the end, and then nothing more may follow
                # (Lark), or ended at its stop token (GBNF).
                if spelled:
                    assert verdict == ("accepted", len(tokens)), where
                else:
                    assert verdict == ("ended", len(tokens) - 1), where
            elif not spelled and kind == "final answer ended by <|call|>":
                # llama.cpp allows any end-of-generation token where the
                # grammar is complete: GBNF cannot tell <|call|> from
                # <|return|> (docs/constrained.md, limits).
                assert verdict == ("ended", wrong), where
            elif not spelled and kind == "text after the end":
                assert verdict == ("ended", wrong - 1), where
            else:
                assert verdict == ("rejected", wrong), where
    assert sum(counts.values()) == SETUPS * 10
    assert counts["valid"] > 1000 and len(counts) >= 12, counts


def test_gbnf_through_llguidance_matches_lark(enc: HarmonyEncoding, tokenizer: Any) -> None:
    # The same conversation in both syntaxes: GBNF converts to a grammar
    # llguidance compiles, with the formatting tokens as special tokens.
    setup, _ = case_batch(enc, 3)
    lark = gbnf_to_lark_with_tokens(enc.completion_grammar(setup.conversation, syntax="gbnf"))
    assert "<|message|>" in lark and "<|call|>" not in lark
    assert llguidance.LLMatcher.validate_grammar(llguidance.LLMatcher.grammar_from_lark(lark), tokenizer) == ""


def test_builtin_tools(enc: HarmonyEncoding, tokenizer: Any) -> None:
    system = SystemContent.new().with_browser_tool().with_python_tool()
    convo = Conversation.from_messages(
        [Message.from_role_and_content(Role.SYSTEM, system), Message.from_role_and_content(Role.USER, "Look it up.")]
    )
    search = '<|channel|>analysis to=browser.search code<|message|>{"query": "harmony", "topn": 5}<|call|>'
    python = "<|channel|>analysis to=python code<|message|>print(1 + 1)<|call|>"
    after = ' to=browser.open<|channel|>commentary json<|message|>{"id": "x", "cursor": 2}<|call|>'
    bad = '<|channel|>analysis to=browser.search<|message|>{"topn": 5}<|call|>'  # query is required
    for syntax in ("lark", "gbnf"):
        grammar = llguidance_grammar_of(enc, convo, syntax)
        matcher = llguidance.LLMatcher(tokenizer, llguidance.LLMatcher.grammar_from_lark(grammar), log_level=0)
        for text in (search, python, after):
            tokens = enc.encode(text, allowed_special="all")
            want = ("accepted", len(tokens)) if syntax == "lark" else ("ended", len(tokens) - 1)
            assert run(enc, matcher, tokens, syntax == "lark") == want, (syntax, text)
        tokens = enc.encode(bad, allowed_special="all")
        head = enc.encode('<|channel|>analysis to=browser.search<|message|>{"', allowed_special="all")
        assert run(enc, matcher, tokens, syntax == "lark") == ("rejected", len(head)), syntax


def llguidance_grammar_of(enc: HarmonyEncoding, convo: Conversation, syntax: str) -> str:
    grammar = enc.completion_grammar(convo, syntax=syntax)
    return gbnf_to_lark_with_tokens(grammar) if syntax == "gbnf" else grammar


# --- xgrammar, in its own venv ------------------------------------------------


def xgrammar_python() -> str:
    """The interpreter of a venv with xgrammar: $HARMONY_XGRAMMAR_PYTHON, or
    .venv-xg (made by `make xgrammar`, part of `make test`)."""
    root = Path(__file__).resolve().parents[2]
    path = os.environ.get("HARMONY_XGRAMMAR_PYTHON") or str(root / ".venv-xg" / "bin" / "python")
    if not Path(path).exists():
        engine_missing(f"xgrammar: no venv with xgrammar at {path} (make xgrammar makes one)")
    return path


def test_xgrammar_generated_cases(enc: HarmonyEncoding, tmp_path: Path) -> None:
    python = xgrammar_python()
    n = max(enc.encode(t, allowed_special="all")[0] for t in enc.special_tokens_set) + 1
    vocab = []
    for r in range(n):
        try:
            vocab.append(enc.decode_bytes([r]).hex())
        except Exception:  # an id the vocabulary does not use
            vocab.append("")
    batches = []
    for seed in range(SETUPS):
        setup, cases = case_batch(enc, seed)
        grammar = enc.completion_grammar(setup.conversation, syntax="xgrammar", tool_choice=setup.tool_choice)
        batches.append({"grammar": grammar, "cases": [{"kind": k, "tokens": t, "wrong": w} for k, t, w in cases]})
    path = tmp_path / "cases.json"
    stops = enc.stop_tokens_for_assistant_actions()
    endoftext = enc.encode("<|endoftext|>", allowed_special="all")[0]
    path.write_text(json.dumps({"vocab": vocab, "stops": stops, "endoftext": endoftext, "batches": batches}))
    out = subprocess.run(
        [python, str(Path(__file__).with_name("xgrammar_check.py")), str(path)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-4000:]
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["failures"] == [], summary["failures"][:3]
    assert summary["cases"] == SETUPS * 10 and summary["conventions"] > 1000 and summary["waits"] > 50, summary


def test_lenient_fixtures_catalogue(enc: HarmonyEncoding, tokenizer: Any) -> None:
    """Every malformed completion of the lenient parser's fixtures (those
    with diagnostics) is refused by the grammar, in both syntaxes; the
    well-formed canonical ones are accepted."""
    fixtures = load_cases("parse/lenient.json")
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    tools = [
        ToolDescription.new(
            "get_weather", "w", parameters={"type": "object", "properties": {"city": {"type": "string"}}}
        ),
        ToolDescription.new("x", "x", parameters={"type": "object", "properties": {"q": {"type": "integer"}}}),
        ToolDescription.new(
            "create_event", "e", parameters={"type": "object", "properties": {"title": {"type": "string"}}}
        ),
    ]
    dev = (
        DeveloperContent.new().with_function_tools(tools).with_response_format(ResponseFormat(name="r", schema_=schema))
    )
    convo = Conversation.from_messages(
        [
            Message.from_role_and_content(Role.SYSTEM, SystemContent.new()),
            Message.from_role_and_content(Role.DEVELOPER, dev),
            Message.from_role_and_content(Role.USER, "Go."),
        ]
    )
    # Well-formed as the parser reads them, and the grammar's own spelling.
    accepted = {"bare_json_content_type", "constrained_final_no_recipient"}
    seen = 0
    for syntax in ("lark", "gbnf"):
        grammar = llguidance_grammar_of(enc, convo, syntax)
        matcher = llguidance.LLMatcher(tokenizer, llguidance.LLMatcher.grammar_from_lark(grammar), log_level=0)
        for fixture in fixtures:
            if fixture["role"] != "assistant":
                continue
            tokens = enc.encode(fixture["completion"], allowed_special="all")
            verdict, at = run(enc, matcher, tokens, syntax == "lark")
            name = fixture["name"]
            if name in accepted:
                want = ("accepted", len(tokens)) if syntax == "lark" else ("ended", len(tokens) - 1)
                assert (verdict, at) == want, (syntax, name)
            elif name.startswith("truncated_"):
                # A prefix: not refused, and not a whole completion either.
                assert verdict in ("incomplete", "not stopped", "rejected"), (syntax, name)
            else:
                # Malformed (the parser repairs it), well-formed in a spelling
                # the grammar does not write (`to=x<|constrain|>json` without
                # the space), or a final answer that is not the response
                # format's JSON.
                assert verdict == "rejected", (syntax, name, verdict, at)
                seen += fixture["diagnostics"] != []
    assert seen >= 2 * 15
