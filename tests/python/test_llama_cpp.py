"""Our GBNF grammars and tokenizer in llama.cpp itself (llama-cpp-python,
built from source by ``make llama``), with a tiny random-weight model whose
vocabulary is ``o200k_harmony`` (``llama_model.py`` writes it).

- The vocabulary and the tokenizer against ours (where llama.cpp's
  pre-tokenizer differs: combining marks).
- Every GBNF we emit is parsed by llama.cpp with that vocabulary; a grammar
  naming a token it does not have is refused.
- Hand-written completions through llama.cpp's grammar sampler, token by
  token: the valid accepted, the malformed refused at their first wrong
  token, under llama.cpp's end-of-generation rule.
- Completions sampled by llama.cpp under each kind of grammar, parsed by
  our strict parser, tool calls and answers checked against their schemas.

Where llama-cpp-python is missing the module is skipped, saying why;
``HARMONY_REQUIRE_LLAMA=1`` (set by ``make test``) turns that into a failure.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

try:
    import llama_cpp  # noqa: F401
except ImportError:
    if os.environ.get("HARMONY_REQUIRE_LLAMA"):
        raise
    pytest.skip("llama-cpp-python is not installed (make llama builds it)", allow_module_level=True)


import jsonschema

from grammar_cases import Setup, case_batch, random_setup
from llama_model import ROOT
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
from openai_harmony.server.llama import GrammarError, LlamaEngine

CORPUS = ROOT.parent / "shared" / "bench" / "corpus"


def special(enc: HarmonyEncoding, text: str) -> int:
    [token] = enc.encode(text, allowed_special="all")
    return token


# --- the vocabulary and the tokenizer -----------------------------------------


def test_the_vocabulary_is_ours(engine: LlamaEngine, enc: HarmonyEncoding) -> None:
    assert engine.n_vocab == 201_089
    for token in range(engine.n_vocab):
        assert engine.piece(token) == enc.decode_bytes([token]), token
    eog = [t for t in range(engine.n_vocab) if engine.is_eog(t)]
    assert eog == sorted(special(enc, t) for t in ("<|endoftext|>", "<|return|>", "<|call|>"))


HARD = [
    "e\u0301",  # a combining mark after a letter
    " naïve café",
    "Ω\u0300mega",
    "DON'T YOU'LL'VE",
    "1234567",
    "\r\n\r\n  \n\t",
    "日本語のテキスト",
    "İstanbul ǅemal ᾈ",
    "a\u200db",
    "🙂🙂 👍🏽",
    "\x00\x01\x7f",
    "https://example.com/a?b=c&d=e",
    "    def f(x):\n        return x\n",
]


def test_the_tokenizer_agrees_except_on_combining_marks(engine: LlamaEngine, enc: HarmonyEncoding) -> None:
    """llama.cpp's ``gpt-4o`` pre-tokenizer writes o200k's letter classes as
    lookaheads for letters, which leaves combining marks (``\\p{M}``) out of
    words: Devanagari vowel signs, Arabic tanween. Text with them tokenizes
    differently (both decode to the same text); everything else agrees.
    Send llama.cpp token ids, not text (docs/server.md)."""
    lines = list(HARD)
    for name in ("prose.txt", "code.txt", "multilingual.txt"):
        if (CORPUS / name).exists():
            lines += (CORPUS / name).read_text(encoding="utf-8").splitlines(keepends=True)
    differ = []
    for line in lines:
        ours, theirs = enc.encode_ordinary(line), engine.tokenize(line, special=False)
        assert enc.decode_utf8(theirs) == line
        if ours != theirs:
            differ.append(line)
    import unicodedata

    assert all(any(unicodedata.category(c).startswith("M") for c in line) for line in differ), differ
    assert len(differ) <= max(2, len(lines) // 500), (len(differ), len(lines))
    print(f"llama.cpp tokenizer: {len(lines) - len(differ)} of {len(lines)} lines identical; differing: {differ}")
    # Special tokens written out are read as ours when asked.
    text = "<|start|>assistant<|channel|>final<|message|>Hi<|return|>"
    assert engine.tokenize(text, special=True) == enc.encode(text, allowed_special="all")


# --- grammars are parsed by llama.cpp -----------------------------------------

SETUPS = 120


def parses(engine: LlamaEngine, grammar: str) -> bool:
    try:
        sampler = engine.grammar(grammar)
    except GrammarError:
        return False
    engine.free_sampler(sampler)
    return True


def weather_conversation(system: Optional[SystemContent] = None, schema: Any = None) -> Conversation:
    tool = ToolDescription.new(
        "get_weather",
        "Weather for a city.",
        parameters={
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
            "required": ["city"],
            "additionalProperties": False,
        },
    )
    dev = DeveloperContent.new().with_function_tools([tool])
    if schema is not None:
        dev = dev.with_response_format(ResponseFormat(name="answer", schema_=schema))
    return Conversation.from_messages(
        [
            Message.from_role_and_content(Role.SYSTEM, system or SystemContent.new()),
            Message.from_role_and_content(Role.DEVELOPER, dev),
            Message.from_role_and_content(Role.USER, "Weather in Oslo?"),
        ]
    )


def test_every_grammar_we_emit_is_parsed_by_llama_cpp(engine: LlamaEngine, enc: HarmonyEncoding) -> None:
    grammars: List[str] = []
    convo = weather_conversation()
    for choice in ("auto", "required", "none", "get_weather"):
        grammars.append(enc.completion_grammar(convo, syntax="gbnf", tool_choice=choice))
    answer = {"type": "object", "properties": {"temp": {"type": "number"}, "sky": {"enum": ["sun", "rain"]}}}
    grammars.append(enc.completion_grammar(weather_conversation(schema=answer), syntax="gbnf"))
    builtins = SystemContent.new().with_browser_tool().with_python_tool()
    grammars.append(enc.completion_grammar(weather_conversation(builtins), syntax="gbnf"))
    hostile = {
        "type": "object",
        "properties": {
            "a\u007fb": {"type": "string", "maxLength": 3},
            'quote"and\\slash': {"type": "array", "items": {"type": "integer"}, "maxItems": 2},
            "\u2028line": {"anyOf": [{"type": "null"}, {"type": "boolean"}]},
            "nested": {"type": "object", "properties": {"x": {"type": "object", "properties": {"y": {}}}}},
        },
        "required": ["a\u007fb"],
    }
    tool = ToolDescription.new("h\u00e9llo\u0085", "hostile", parameters=hostile)
    hostile_convo = Conversation.from_messages(
        [
            Message.from_role_and_content(Role.SYSTEM, SystemContent.new()),
            Message.from_role_and_content(Role.DEVELOPER, DeveloperContent.new().with_function_tools([tool])),
            Message.from_role_and_content(Role.USER, "x"),
        ]
    )
    grammars.append(enc.completion_grammar(hostile_convo, syntax="gbnf"))
    choices: Dict[str, int] = {}
    for seed in range(SETUPS):
        setup = random_setup(random.Random(seed))
        choices[setup.tool_choice if setup.tool_choice in ("auto", "required", "none") else "named"] = 1
        grammars.append(enc.completion_grammar(setup.conversation, syntax="gbnf", tool_choice=setup.tool_choice))
    refused = [g for g in grammars if not parses(engine, g)]
    assert refused == []
    assert len(choices) == 4
    print(f"llama.cpp parsed {len(grammars)} of {len(grammars)} GBNF grammars")
    # Controls: llama.cpp does refuse what it cannot resolve.
    assert not parses(engine, 'root ::= <|no_such_token|> "x"')
    assert not parses(engine, "root ::= missing-rule")
    assert parses(engine, 'root ::= <|channel|> "final" <|message|> [a-z]*')


# --- hand-written completions through llama.cpp's grammar sampler ---------------


def run(engine: LlamaEngine, grammar: str, tokens: List[int]) -> Tuple[str, int]:
    """Feed tokens as llama.cpp's sampler would: an end-of-generation token
    ends the completion where the grammar allows it (it is never consumed),
    any other token must be allowed, then is accepted."""
    sampler = engine.grammar(grammar)
    try:
        for i, token in enumerate(tokens):
            if engine.is_eog(token):
                return ("ended", i) if engine.allows(sampler, token) else ("rejected", i)
            if not engine.allows(sampler, token):
                return "rejected", i
            engine.accept(sampler, token)
        return "incomplete", len(tokens)
    finally:
        engine.free_sampler(sampler)


CASE_SETUPS = 60


def test_generated_cases_through_llama_cpp(engine: LlamaEngine, enc: HarmonyEncoding) -> None:
    counts: Dict[str, int] = {}
    for seed in range(CASE_SETUPS):
        setup, cases = case_batch(enc, seed)
        grammar = enc.completion_grammar(setup.conversation, syntax="gbnf", tool_choice=setup.tool_choice)
        for kind, tokens, wrong in cases:
            counts[kind] = counts.get(kind, 0) + 1
            verdict = run(engine, grammar, tokens)
            where = f"seed {seed} {kind}: {enc.decode(tokens)!r} {setup}"
            if wrong < 0:
                assert verdict == ("ended", len(tokens) - 1), where
            elif kind == "final answer ended by <|call|>":
                # The end-of-generation rule: any stop token where the grammar is complete.
                assert verdict == ("ended", wrong), where
            elif kind == "text after the end":
                assert verdict == ("ended", wrong - 1), where
            else:
                assert verdict == ("rejected", wrong), where
    assert counts["valid"] > 300 and len(counts) >= 12, counts
    print(f"llama.cpp grammar sampler: {sum(counts.values())} hand-written completions as expected: {counts}")


def test_accepting_a_refused_token_kills_the_process(engine: LlamaEngine, enc: HarmonyEncoding) -> None:
    """Why the engine checks before it accepts: llama.cpp throws a C++
    exception through the C API, and the process aborts."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from llama_model import cached_model\n"
        "from openai_harmony.server.llama import LlamaEngine\n"
        "e = LlamaEngine(cached_model())\n"
        "s = e.grammar('root ::= \"a\"')\n"
        "e.L.llama_sampler_accept(s, e.tokenize('b')[0])\n"
        "print('survived')\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)], capture_output=True, text=True)
    assert done.returncode != 0 and "survived" not in done.stdout
    with pytest.raises(ValueError, match="does not allow"):
        sampler = engine.grammar('root ::= "a"')
        try:
            engine.accept(sampler, engine.tokenize("b")[0])
        finally:
            engine.free_sampler(sampler)


# --- completions sampled by llama.cpp under our grammars -----------------------

SAMPLES = int(os.environ.get("HARMONY_LLAMA_SAMPLES", "10"))  # per setup
MAX_TOKENS = 80
# The share of samples that must end on a stop token within MAX_TOKENS.
MIN_ENDED_SHARE = 0.3


def sampling_setups() -> List[Tuple[str, Setup]]:
    """One generated setup of each kind: function tools under each
    tool_choice, a response format, the browser and python tools."""
    wanted = SAMPLING_KINDS
    found: Dict[str, Setup] = {}
    for seed in range(2000):
        setup = random_setup(random.Random(seed))
        kinds = []
        if setup.functions and "commentary" in setup.channels:
            choice = setup.tool_choice
            kinds.append(choice if choice in ("auto", "required", "none") else "named")
        if setup.answer_schema is not None and setup.final_allowed():
            kinds.append("response format")
        if setup.browser and setup.tool_choice == "auto":
            kinds.append("browser")
        if setup.python and setup.tool_choice == "auto":
            kinds.append("python")
        for kind in kinds:
            found.setdefault(kind, setup)
        if len(found) == len(wanted):
            break
    return [(kind, found[kind]) for kind in wanted]


def biases(engine: LlamaEngine, enc: HarmonyEncoding) -> Dict[int, float]:
    """Nudges so that a random model's completions take every branch and
    end: the format's tokens and JSON punctuation up, whitespace down."""
    # The model's logits spread about one unit over 201,089 tokens: a bias of
    # 12 makes a token about as likely as all the others together.
    out: Dict[int, float] = {}
    for text in ("<|start|>", "<|channel|>", "<|message|>", "<|constrain|>", "<|end|>", "<|return|>", "<|call|>"):
        out[special(enc, text)] = 12.0
    for text in ('"', '",', '":', "}", "{", ",", ":", "]", "[", "true", "null", "1", " to", "functions", "json"):
        for token in enc.encode_ordinary(text)[:1]:
            out[token] = 10.0
    for token in range(200_000):
        raw = enc.decode_bytes([token])
        if raw and not raw.strip():
            out[token] = -20.0
    return out


SAMPLING_KINDS = ["auto", "required", "none", "named", "response format", "browser", "python"]


@pytest.fixture(scope="module")
def sampling(engine: LlamaEngine, enc: HarmonyEncoding) -> Tuple[Dict[str, Setup], Dict[int, float]]:
    """The setups of each kind and the logit nudges, made once for the
    sampling tests."""
    return dict(sampling_setups()), biases(engine, enc)


@pytest.mark.parametrize("kind", SAMPLING_KINDS)
def test_sampled_completions_parse_and_keep_to_the_tools(
    engine: LlamaEngine, enc: HarmonyEncoding, sampling: Tuple[Dict[str, Setup], Dict[int, float]], kind: str
) -> None:
    """llama.cpp samples the random model under each grammar (its own
    sampler chain: biases, grammar, temperature, seeded draw;
    ``<|endoftext|>`` banned). Every completion that ends on a stop token
    parses with our strict parser; calls name declared tools with
    arguments valid against their schemas; tool_choice and the response
    format hold. Which stop token ended a message says nothing of its kind
    (llama.cpp allows either where the grammar is complete): the header
    does. One case per kind of setup, so that a run reports as it goes."""
    setups, nudges = sampling
    setup = setups[kind]
    stops = {special(enc, "<|return|>"), special(enc, "<|call|>")}
    grammar = enc.completion_grammar(setup.conversation, syntax="gbnf", tool_choice=setup.tool_choice)
    prompt = enc.render_conversation_for_completion(setup.conversation, Role.ASSISTANT)
    tools = {recipient: schema for recipient, schema, _ in setup.callable()}
    tally = {"sampled": 0, "ended": 0, "calls": 0, "answers": 0, "crossed stops": 0}
    for seed in range(SAMPLES):
        tokens = list(engine.generate(prompt, grammar=grammar, seed=seed, max_tokens=MAX_TOKENS, bias=nudges))
        tally["sampled"] += 1
        if tokens[-1] not in stops:
            assert len(tokens) == MAX_TOKENS, (kind, enc.decode(tokens))
            continue
        tally["ended"] += 1
        where = f"{kind} seed {seed}: {enc.decode(tokens)!r}"
        messages = enc.parse_messages_from_completion_tokens(tokens, Role.ASSISTANT, strict=True)
        last = messages[-1]
        text = "".join(c.text for c in last.content if hasattr(c, "text"))
        is_call = last.recipient is not None
        if is_call != (tokens[-1] == special(enc, "<|call|>")):
            tally["crossed stops"] += 1
        for message in messages:
            if message.recipient is not None and message.channel != "final":
                assert message.recipient in tools or setup.tool_choice == "auto", where
        if is_call:
            tally["calls"] += 1
            assert last.recipient in tools, where
            schema = tools[last.recipient]
            if schema is not None:
                jsonschema.validate(json.loads(text), schema)
        else:
            tally["answers"] += 1
            assert last.channel == "final" and setup.final_allowed(), where
            if setup.answer_schema is not None:
                jsonschema.validate(json.loads(text), setup.answer_schema)
        if setup.tool_choice == "none":
            assert not any((m.recipient or "").startswith("functions.") for m in messages), where
    print(f"llama.cpp sampled under our grammar ({kind}): {tally}")
    assert tally["ended"] >= SAMPLES * MIN_ENDED_SHARE, tally
    if kind in ("required", "named"):
        assert tally["calls"] == tally["ended"] > 0, tally
    if kind == "response format":
        assert tally["answers"] > 0, tally


def test_invalid_utf8_in_llama_cpp_and_in_our_parser(engine: LlamaEngine, enc: HarmonyEncoding) -> None:
    """llama.cpp matches grammars on UTF-8 it decodes leniently. With our
    grammars a stop token cannot follow a token that ends inside a
    character (the character must complete first), but a lead byte F5-FF
    reads as the start of a four-byte sequence, so F5 80 80 80 (no Unicode
    character) passes, in free text and in a JSON string. Our parser,
    strict or lenient, as the reference does, reads each invalid byte as
    U+FFFD: the text stays valid, a JSON argument stays JSON
    (docs/constrained.md)."""
    byte = {enc.decode_bytes([t]): t for t in range(256)}
    partial = next(t for t in range(256, 200_000) if not _utf8(enc.decode_bytes([t])))  # e.g. b"\xe6\x97"
    lead, tail = byte[b"\xf5"], byte[b"\x80"]
    grammar = enc.completion_grammar(weather_conversation(), syntax="gbnf", tool_choice="none")
    head = enc.encode("<|channel|>final<|message|>Hi ", allowed_special="all")
    end = special(enc, "<|return|>")
    assert run(engine, grammar, [*head, partial, end]) == ("rejected", len(head) + 1)
    assert run(engine, grammar, [*head, lead, end]) == ("rejected", len(head) + 1)
    tokens = [*head, lead, tail, tail, tail, end]
    assert run(engine, grammar, tokens) == ("ended", len(tokens) - 1)
    for strict in (True, False):
        [message] = enc.parse_messages_from_completion_tokens(tokens, Role.ASSISTANT, strict=strict)
        assert message.content[0].text == "Hi " + "\ufffd" * 4, strict  # type: ignore[union-attr]
    grammar = enc.completion_grammar(weather_conversation(), syntax="gbnf", tool_choice="required")
    call = enc.encode('<|channel|>commentary to=functions.get_weather<|message|>{"city": "', allowed_special="all")
    tokens = [*call, lead, tail, tail, tail, *enc.encode_ordinary('"}'), special(enc, "<|call|>")]
    assert run(engine, grammar, tokens) == ("ended", len(tokens) - 1)
    [message] = enc.parse_messages_from_completion_tokens(tokens, Role.ASSISTANT, strict=True)
    assert json.loads(message.content[0].text) == {"city": "\ufffd" * 4}  # type: ignore[union-attr]


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_hostile_tool_names_in_llama_cpp(engine: LlamaEngine, enc: HarmonyEncoding) -> None:
    """The grammar tests' hostile tool names (DEL, C1, line separators,
    quotes, backslashes, tabs, `<`, `|`): llama.cpp parses each GBNF and
    lets the call a model would write through to its stop token."""
    from test_hostile_input import NAMES

    parameters = {"type": "object", "properties": {"k": {"type": "string"}}, "required": ["k"]}
    for name in NAMES:
        if "<|" in name:  # refused by GBNF itself (test_hostile_input)
            continue
        tool = ToolDescription.new(name, "d", parameters=parameters)
        convo = Conversation.from_messages(
            [
                Message.from_role_and_content(Role.SYSTEM, SystemContent.new()),
                Message.from_role_and_content(Role.DEVELOPER, DeveloperContent.new().with_function_tools([tool])),
                Message.from_role_and_content(Role.USER, "hi"),
            ]
        )
        grammar = enc.completion_grammar(convo, syntax="gbnf")
        args = json.dumps({"k": name}, ensure_ascii=False).replace("\x7f", "\\u007f")
        call = [
            special(enc, "<|channel|>"),
            *enc.encode(f"commentary to=functions.{name}", disallowed_special=()),
            special(enc, "<|message|>"),
            *enc.encode(args, disallowed_special=()),
            special(enc, "<|call|>"),
        ]
        assert run(engine, grammar, call) == ("ended", len(call) - 1), repr(name)
