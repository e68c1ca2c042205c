"""Generated cases for the completion grammars: random conversations (function
tools with random schemas, the built-in browser and python tools, response
formats, channel sets, tool_choice) and, for each, valid completions rendered
by our renderer and malformed ones with the index of their first wrong token.

Used by test_grammar.py with llguidance (Lark, and GBNF through llguidance's
gbnf_to_lark) and, through a case file, by xgrammar_check.py in xgrammar's
own venv."""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

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

# Text that the grammars take as free text: no "<|" (GBNF and xgrammar
# exclude it so that no formatting token passes for text), raw UTF-8.
TEXTS = [
    "Sure.",
    "Let me think about this.\n\n- one\n- two",
    "42",
    "ünïcødé ✓ 東京",
    '{"not": json}',
    " ",
    "a < b and c | d",
    "x<y",
    "ends with <",
    "tab\there",
]
STRINGS = ["Paris", "", 'say "hi"', "Zürich\n", "東京", "a<b", "x|y", "back\\slash", "tab\t", "<"]
# Also names with characters a grammar must escape for its engine (DEL, a
# C1 control, a line separator, non-ASCII): a grammar any of the three
# engines refused would fail every case of its setup.
NAMES = ["get_weather", "set_alarm", "lookup", "send_email", "convert", "search_docs", "book", "sum"]
NAMES += ["we\x7fird", "c1\x85ctl", "line\u2028sep", "ünï_cødé"]


def random_schema(rng: random.Random, depth: int = 0) -> Dict[str, Any]:
    """A JSON Schema of the shapes tools use."""
    kinds = ["string", "integer", "number", "boolean", "enum"]
    if depth < 2:
        kinds += ["object", "array", "nullable", "anyof"]
    kind = rng.choice(kinds)
    if kind == "enum":
        return {"type": "string", "enum": rng.sample(["c", "f", "k", "auto", "two words"], rng.randint(1, 3))}
    if kind == "object":
        return random_object(rng, depth + 1)
    if kind == "array":
        schema: Dict[str, Any] = {"type": "array", "items": random_schema(rng, depth + 1)}
        if rng.random() < 0.3:
            schema["maxItems"] = 3
        return schema
    if kind == "nullable":
        return {"type": [rng.choice(["string", "integer"]), "null"]}
    if kind == "anyof":
        return {"anyOf": [{"type": "integer"}, {"type": "string", "enum": ["none", "all"]}]}
    return {"type": kind}


def random_object(rng: random.Random, depth: int = 0) -> Dict[str, Any]:
    # Property names a grammar must escape too (a line separator, a C1
    # control). Not DEL: xgrammar's own schema converter rejects a key
    # holding it, whatever the structural tag says.
    keys = ["location", "days", "unit", "hour", "label", "loud", "tags", "filter", "n", "q\u2029p", "c\x85p"]
    names = rng.sample(keys, rng.randint(1, 4))
    props = {name: random_schema(rng, depth) for name in names}
    required = [n for n in names if rng.random() < 0.5]
    schema: Dict[str, Any] = {"type": "object", "properties": props, "required": required}
    if rng.random() < 0.5:
        schema["additionalProperties"] = False
    return schema


def random_value(rng: random.Random, schema: Dict[str, Any]) -> Any:
    if "enum" in schema:
        return rng.choice(schema["enum"])
    if "anyOf" in schema:
        return random_value(rng, rng.choice(schema["anyOf"]))
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = rng.choice(kind)
    if kind == "string":
        return rng.choice(STRINGS)
    if kind == "integer":
        return rng.randint(-50, 10_000)
    if kind == "number":
        return rng.choice([round(rng.uniform(-100, 100), 3), rng.randint(0, 9), 1e-05])
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "array":
        return [random_value(rng, schema["items"]) for _ in range(rng.randint(0, schema.get("maxItems", 4)))]
    value: Dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        if name in schema.get("required", []) or rng.random() < 0.5:
            value[name] = random_value(rng, prop)
    return value


def dumps(rng: random.Random, value: Any) -> str:
    # Raw UTF-8, as gpt-oss writes it (llguidance refuses needless \u
    # escapes); json.dumps' spacing, compact, or indented.
    style = rng.random()
    if style < 0.6:
        return json.dumps(value, ensure_ascii=False)
    if style < 0.85:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(value, ensure_ascii=False, indent=2)


@dataclass
class Setup:
    """A conversation and what its grammar must allow."""

    functions: Dict[str, Dict[str, Any]]
    browser: bool
    python: bool
    channels: List[str]
    answer_schema: Optional[Dict[str, Any]]
    tool_choice: str
    conversation: Conversation = field(repr=False)

    def callable(self) -> List[Tuple[str, Optional[Dict[str, Any]], List[str]]]:
        """(recipient, schema or None, channels) of the tools the turn may call."""
        out: List[Tuple[str, Optional[Dict[str, Any]], List[str]]] = []
        if self.tool_choice == "none":
            return out
        if "commentary" in self.channels:
            out += [(f"functions.{n}", s, ["commentary"]) for n, s in self.functions.items()]
        builtin_channels: List[str] = [c for c in ("analysis", "commentary") if c in self.channels]
        if self.browser and builtin_channels:
            system = SystemContent.new().with_browser_tool()
            assert system.tools is not None
            for tool in system.tools["browser"].tools:
                out.append((f"browser.{tool.name}", tool.parameters, builtin_channels))
        if self.python and builtin_channels:
            out.append(("python", None, builtin_channels))
        if self.tool_choice not in ("auto", "required"):
            out = [t for t in out if t[0] in (self.tool_choice, f"functions.{self.tool_choice}")]
        return out

    def final_allowed(self) -> bool:
        return self.tool_choice in ("auto", "none")


def random_setup(rng: random.Random) -> Setup:
    functions = {n: random_object(rng) for n in rng.sample(NAMES, rng.randint(0, 4))}
    browser = rng.random() < 0.3
    python = rng.random() < 0.3
    channels = rng.choice([["analysis", "commentary", "final"]] * 3 + [["analysis", "final"]])
    system = SystemContent.new().with_required_channels(channels)
    if browser:
        system = system.with_browser_tool()
    if python:
        system = system.with_python_tool()
    dev = DeveloperContent.new().with_instructions("Be brief.")
    if functions:
        dev = dev.with_function_tools(
            [ToolDescription.new(n, f"Tool {n}.", parameters=s) for n, s in functions.items()]
        )
    answer_schema = random_object(rng) if rng.random() < 0.2 else None
    if answer_schema is not None:
        dev = dev.with_response_format(ResponseFormat(name="answer", schema_=answer_schema))
    setup = Setup(functions, browser, python, channels, answer_schema, "auto", Conversation.from_messages([]))
    choices = ["auto"] * 6
    if setup.callable():
        choices += ["required", "none", rng.choice(setup.callable())[0].removeprefix("functions.")]
    setup.tool_choice = rng.choice(choices)
    if not setup.callable() and not setup.final_allowed():
        setup.tool_choice = "auto"
    setup.conversation = Conversation.from_messages(
        [
            Message.from_role_and_content(Role.SYSTEM, system),
            Message.from_role_and_content(Role.DEVELOPER, dev),
            Message.from_role_and_content(Role.USER, "What now?"),
        ]
    )
    return setup


def _strip_start(enc: HarmonyEncoding, tokens: List[int]) -> List[int]:
    start = enc.encode("<|start|>assistant", allowed_special="all")
    assert tokens[: len(start)] == start
    return tokens[len(start) :]


def preambles(enc: HarmonyEncoding, rng: random.Random, setup: Setup) -> List[int]:
    """Zero to three analysis or commentary messages, each ending with <|end|>,
    then <|start|>assistant (the header of the next message)."""
    out: List[int] = []
    usable = [c for c in ("analysis", "commentary") if c in setup.channels]
    for _ in range(rng.randint(0, 3)):
        msg = Message.from_role_and_content(Role.ASSISTANT, rng.choice(TEXTS)).with_channel(rng.choice(usable))
        out.extend(enc.render(msg))
    out.extend(enc.encode("<|start|>assistant", allowed_special="all"))
    return _strip_start(enc, out)


def valid_completion(enc: HarmonyEncoding, rng: random.Random, setup: Setup) -> List[int]:
    """A valid completion: what may follow the prompt's <|start|>assistant,
    ending with its stop token."""
    out = preambles(enc, rng, setup)
    tools = setup.callable()
    call = tools and (not setup.final_allowed() or rng.random() < 0.6)
    if call:
        recipient, schema, channels = rng.choice(tools)
        args = "print('hi')\nx = 1 < 2" if schema is None else dumps(rng, random_value(rng, schema))
        channel = rng.choice(channels)
        types = [None, "<|constrain|>json", "json"] + (["code"] if not recipient.startswith("functions.") else [])
        ctype = rng.choice(types)
        suffix = "" if ctype is None else " " + ctype
        if rng.random() < 0.5:
            header = f" to={recipient}<|channel|>{channel}{suffix}"
        else:
            header = f"<|channel|>{channel} to={recipient}{suffix}"
        out.extend(enc.encode(f"{header}<|message|>{args}<|call|>", allowed_special="all"))
    else:
        if setup.answer_schema is not None:
            text = dumps(rng, random_value(rng, setup.answer_schema))
        else:
            text = rng.choice(TEXTS)
        out.extend(enc.encode(f"<|channel|>final<|message|>{text}<|return|>", allowed_special="all"))
    return out


def malformed_completion(enc: HarmonyEncoding, rng: random.Random, setup: Setup) -> Tuple[str, List[int], int]:
    """(kind, tokens, index of the first wrong token): a valid start and then a
    departure from the format, the declared tools or their schemas."""
    head = enc.decode(preambles(enc, rng, setup))
    kinds = ["invalid channel", "header without <|message|>", "the model speaking as user", "text after the end"]
    kinds += ["final answer ended by <|call|>", "a stray <|end|> in a tool call", "<|start|> inside a message"]
    tools = setup.callable()
    functions = [t for t in tools if t[0].startswith("functions.")]
    if functions:
        kinds += ["unknown tool", "arguments that are not an object"]
        if setup.final_allowed():
            kinds += ["tool call on the final channel"]
    objects = [t for t in functions if t[1] and t[1].get("properties")]
    if objects:
        kinds += ["a wrong argument type"]
    closed = [t for t in objects if t[1] and t[1].get("additionalProperties") is False]
    if closed:
        kinds += ["an undeclared key"]
    if setup.final_allowed() is False:
        kinds.remove("final answer ended by <|call|>")
        kinds.remove("text after the end")
        kinds += ["a final answer when a tool call is required"]
    if not setup.final_allowed() and not tools:
        kinds = ["invalid channel"]
    kind = rng.choice(kinds)
    prefix, rest = _malformed(kind, rng, setup, functions, closed if kind == "an undeclared key" else objects)
    a = enc.encode(head + prefix, allowed_special="all")
    b = enc.encode(rest, allowed_special="all")
    return kind, a + b, len(a)


def _malformed(
    kind: str,
    rng: random.Random,
    setup: Setup,
    functions: List[Tuple[str, Optional[Dict[str, Any]], List[str]]],
    objects: List[Tuple[str, Optional[Dict[str, Any]], List[str]]],
) -> Tuple[str, str]:
    """(valid prefix, the rest starting with the wrong token); both as text."""
    if kind == "invalid channel":
        return "<|channel|>", "thinking<|message|>x<|end|>"
    if kind == "header without <|message|>":
        return "<|channel|>analysis", "<|end|>"
    if kind == "the model speaking as user":
        return "<|channel|>analysis<|message|>x<|end|><|start|>", "user<|message|>hi<|end|>"
    text = "Done." if setup.answer_schema is None else dumps(rng, random_value(rng, setup.answer_schema))
    if kind == "text after the end":
        return f"<|channel|>final<|message|>{text}<|return|>", "more"
    if kind == "final answer ended by <|call|>":
        return f"<|channel|>final<|message|>{text}", "<|call|>"
    if kind == "a final answer when a tool call is required":
        return "<|channel|>", "final<|message|>No.<|return|>"
    if kind == "<|start|> inside a message":
        return "<|channel|>analysis<|message|>Thinking", "<|start|>assistant"
    if kind == "a stray <|end|> in a tool call":
        if functions:
            return f"<|channel|>commentary to={functions[0][0]}<|message|>", "<|end|>"
        return "<|channel|>analysis<|message|>x", "<|call|>"
    if kind == "unknown tool":
        # A name no declared function starts with.
        return "<|channel|>commentary to=functions.", "zz_launch<|message|>{}<|call|>"
    if kind == "tool call on the final channel":
        return "<|channel|>final", f" to={functions[0][0]}<|message|>{{}}<|call|>"
    if kind == "arguments that are not an object":
        return f"<|channel|>commentary to={functions[0][0]}<|message|>", "[1, 2]<|call|>"
    recipient, schema, _ = rng.choice(objects)
    assert schema is not None
    if kind == "an undeclared key":
        return f'<|channel|>commentary to={recipient}<|message|>{{"', 'zz_other": 1}<|call|>'
    # A wrong type: an object where the first property admits none, or
    # `true` where it admits only objects.
    name, prop = next(iter(schema["properties"].items()))
    wrong = "true" if prop.get("type") == "object" else '{"a": 1}'
    return f'<|channel|>commentary to={recipient}<|message|>{{"{name}": ', wrong + "}<|call|>"


# --- GBNF through llguidance -------------------------------------------------


def gbnf_to_lark_with_tokens(gbnf: str) -> str:
    """llguidance's gbnf_to_lark, taught llama.cpp's token syntax (`<|end|>`,
    newer than the converter): each token becomes a rule whose body is
    llguidance's special-token syntax, which is spelled the same. Our GBNF
    writes `<|…|>` only as tokens (never inside a literal: the test schemas
    have no such enum)."""
    from llguidance.gbnf_to_lark import ASTNode, GrammarParser, RuleNode, resolve

    class Token(ASTNode):
        def __init__(self, text: str) -> None:
            self.text = text

        def __str__(self) -> str:
            return self.text

        def is_terminal(self) -> bool:
            return False

    names: Dict[str, str] = {}

    def name_for(m: re.Match[str]) -> str:
        return names.setdefault(m.group(0), f"special-token-{len(names)}")

    text = re.sub(r"<\|[a-z_]+\|>", name_for, gbnf)
    rules = GrammarParser().parse(text)
    for token, name in names.items():
        rules[name] = RuleNode(name, Token(token), "")
    resolve(rules)
    ordered = sorted(rules.values(), key=lambda r: r.order)
    return "%llguidance {}\n" + "".join(f"{r}\n" for r in ordered)


def llguidance_grammar(enc: HarmonyEncoding, setup: Setup, syntax: str) -> str:
    grammar = enc.completion_grammar(setup.conversation, syntax=syntax, tool_choice=setup.tool_choice)
    return gbnf_to_lark_with_tokens(grammar) if syntax == "gbnf" else grammar


def case_batch(enc: HarmonyEncoding, seed: int, per_setup: int = 10) -> Tuple[Setup, List[Tuple[str, List[int], int]]]:
    """A setup and its cases: (kind, tokens, expected first wrong index or
    -1 for a valid completion). About two valid cases for each malformed one."""
    rng = random.Random(seed)
    setup = random_setup(rng)
    cases: List[Tuple[str, List[int], int]] = []
    for _ in range(per_setup):
        if rng.random() < 0.65:
            cases.append(("valid", valid_completion(enc, rng, setup), -1))
        else:
            cases.append(malformed_completion(enc, rng, setup))
    return setup, cases
