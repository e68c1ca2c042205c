"""Seeded generators of differential cases.

Every case is a JSON-serializable dict with an ``id`` and a ``kind``; the
runner (``runner.py``) executes it against whatever ``openai_harmony`` is
importable. Generation uses only the standard library and a seeded
``random.Random``, so the same seed gives the same cases everywhere.

Kinds:
- ``render``: a conversation (harmony JSON, or built from model objects) and
  a render operation with its options.
- ``stream``: completion pieces (text with special tokens, or raw ids) turned
  into tokens, with token-level faults, fed to a ``StreamableParser`` to the
  end past any errors, strict or lenient; also parsed in one go.
- ``tokenizer``: encode / decode / is_special on random text and ids.
"""

from __future__ import annotations

import random
from typing import Any, Dict, Iterator, List, Optional

SPECIAL_TEXTS = [
    "<|start|>",
    "<|end|>",
    "<|message|>",
    "<|channel|>",
    "<|constrain|>",
    "<|return|>",
    "<|call|>",
    "<|endoftext|>",
    "<|startoftext|>",
    "<|reserved_200000|>",
    "<|reserved_200014|>",
    "<|reserved_201087|>",
    "<|reserved_201088|>",
    "<|reserved_201089|>",
    "<|endofprompt|>",
]

WORDS = [
    "get_weather",
    "lookup_user",
    "search",
    "compute",
    "x1",
    "f",
    "open_file",
    "run_sql",
    "location",
    "city",
    "the",
    "weather",
    "in",
    "Paris",
    "é",
    "ü",
    "東京",
    "😀",
    "👨‍👩‍👧",
    "Привет",
    "مرحبا",
    "नमस्ते",
    "to=functions.x",
    "json",
    "analysis",
    "commentary",
    "final",
    "assistant",
    "user",
    "//",
    "*/",
    "/*",
    "{",
    "}",
    '"',
    "'",
    "\\",
    "`",
    "|",
    "<",
    ">",
    "?",
    ":",
    ";",
    ",",
    "-",
    "_",
    "0",
    "42",
    "3.14",
    "\t",
    " ",
    "  ",
    "\n",
    "\n\n",
    "\r\n",
    "\u00a0",
    "\u200b",
]

ROLES = ["system", "developer", "user", "assistant", "tool"]
CHANNELS = ["analysis", "commentary", "final", "analysis", "final", "other", "", "final final", "comment ary"]
RECIPIENTS = [
    "functions.get_weather",
    "functions.lookup_user",
    "browser.search",
    "browser.open",
    "python",
    "assistant",
    "user",
    "container.exec",
    "functions.x y",
    "functions.a<|end|>",
    "",
    "to=x",
    "東京",
]
CONTENT_TYPES = ["json", "<|constrain|>json", "text", "<|constrain|>  json", "code", "json schema", ""]
DATES = ["2025-06-28", "2024-01-01", "", "not a date", "2025-13-45"]
# The reference takes "Low", "Medium", "High"; a few others test its errors.
EFFORTS = ["Low", "Medium", "High", "Low", "Medium", "High", "Low", "Medium", "High", "medium", "HIGH"]


def text(rng: random.Random, max_words: int = 8, special: float = 0.05) -> str:
    n = rng.randint(0, max_words)
    parts = []
    for _ in range(n):
        if rng.random() < special:
            parts.append(rng.choice(SPECIAL_TEXTS))
        else:
            parts.append(rng.choice(WORDS))
        if rng.random() < 0.6:
            parts.append(" ")
    return "".join(parts)


def ident(rng: random.Random) -> str:
    base = rng.choice(["get_weather", "lookup_user", "search", "x1", "f", "open_file", "do_thing", "a", "Z"])
    r = rng.random()
    if r < 0.5:
        return base
    if r < 0.8:
        return f"{base}_{rng.randint(0, 99)}"
    return rng.choice(["get-weather", "with space", "ünïcode", "1starts_with_digit", "", "a.b", "$x", "x" * 40])


# -- numbers --------------------------------------------------------------


def number(rng: random.Random) -> Any:
    """Numbers of every magnitude, as JSON carries them."""
    r = rng.random()
    if r < 0.25:
        return rng.choice([0, 1, -1, 2, 10, 100, 7, -42])
    if r < 0.4:
        return rng.choice(
            [2**31, 2**32, 2**53, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 10**20, -(2**63), -(2**63) - 1]
        )
    if r < 0.55:
        return rng.choice([0.0, -0.0, 0.5, 1.5, -2.25, 3.14159, 0.1, 1.0, 100.0, 1e15, 1e16, 1e17])
    if r < 0.85:
        mantissa = rng.choice([1, 1.5, 2.5, 9.99, 1.2345678901234567, 7])
        exp = rng.randint(-30, 30)
        sign = rng.choice([1, -1])
        return sign * mantissa * (10.0**exp)
    return rng.choice(
        [
            1e300,
            -1e300,
            5e-324,
            2.2250738585072014e-308,
            1.7976931348623157e308,
            123456789.0,
            1e21,
            1e22,
            1e-5,
            1e-6,
            1e-7,
        ]
    )


def scalar(rng: random.Random) -> Any:
    r = rng.random()
    if r < 0.4:
        return text(rng, 3, 0.02)
    if r < 0.7:
        return number(rng)
    if r < 0.85:
        return rng.choice([True, False])
    return None


def json_value(rng: random.Random, depth: int = 0) -> Any:
    r = rng.random()
    if depth > 2 or r < 0.7:
        return scalar(rng)
    if r < 0.85:
        return [json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {ident(rng): json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


# -- JSON Schema ------------------------------------------------------------

TYPES = ["string", "number", "integer", "boolean", "array", "object", "null"]


def description(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.6:
        return text(rng, 6, 0.02)
    if r < 0.85:
        return text(rng, 4, 0) + "\n" + text(rng, 4, 0)
    return rng.choice(
        ["", "\n", "multi\nline\n\ndescription\n", "ends with newline\n", " // namespace functions", "*/"]
    )


def schema(rng: random.Random, depth: int = 0) -> Any:
    """A JSON Schema with every keyword the renderer reads, and some it does not."""
    if depth > 3:
        return {"type": rng.choice(TYPES)}
    if rng.random() < 0.03:
        return rng.choice([True, False, {}, [], "string", 1, None])
    s: Dict[str, Any] = {}
    r = rng.random()
    if r < 0.55:
        s["type"] = rng.choice(TYPES)
    elif r < 0.7:
        k = rng.randint(1, 3)
        s["type"] = (
            rng.sample(TYPES, k)
            if rng.random() < 0.85
            else [rng.choice(TYPES), rng.choice(["foo", "Date", "null", "any"])]
        )
    elif r < 0.75:
        s["type"] = rng.choice(["foo", "Date", "any", "", 5, None])
    elif r < 0.9:
        key = rng.choice(["oneOf", "anyOf", "allOf"])
        s[key] = [schema(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    elif r < 0.95:
        s["$ref"] = rng.choice(["#/$defs/Thing", "#/definitions/Other", "Thing"])
    t = s.get("type")
    ts = t if isinstance(t, list) else [t]
    if "object" in ts or (t is None and rng.random() < 0.2):
        if rng.random() < 0.9:
            props = {}
            for _ in range(rng.randint(0, 5)):
                props[ident(rng)] = schema(rng, depth + 1)
            s["properties"] = props
            if rng.random() < 0.6:
                names = list(props) + [ident(rng) for _ in range(rng.randint(0, 2))]
                s["required"] = rng.sample(names, rng.randint(0, len(names))) if names else []
        if rng.random() < 0.2:
            s["additionalProperties"] = (
                rng.choice([True, False, None]) if rng.random() < 0.5 else schema(rng, depth + 1)
            )
        if rng.random() < 0.1:
            s["$defs"] = {"Thing": schema(rng, depth + 1)}
    if "array" in ts:
        r2 = rng.random()
        if r2 < 0.7:
            s["items"] = schema(rng, depth + 1)
        elif r2 < 0.8:
            s["items"] = [schema(rng, depth + 1) for _ in range(rng.randint(0, 2))]
        elif r2 < 0.9:
            s["prefixItems"] = [schema(rng, depth + 1) for _ in range(rng.randint(0, 2))]
        if rng.random() < 0.2:
            s["minItems"] = rng.randint(0, 3)
    for key, p in [
        ("description", 0.4),
        ("title", 0.1),
        ("default", 0.25),
        ("enum", 0.15),
        ("const", 0.05),
        ("examples", 0.12),
        ("nullable", 0.1),
        ("format", 0.08),
        ("minimum", 0.05),
        ("maximum", 0.05),
        ("pattern", 0.04),
        ("deprecated", 0.02),
    ]:
        if rng.random() >= p:
            continue
        if key == "description":
            s[key] = description(rng) if rng.random() < 0.95 else rng.choice([5, None, ["a"], True])
        elif key == "title":
            s[key] = text(rng, 3, 0)
        elif key == "default":
            s[key] = json_value(rng) if rng.random() < 0.9 else float("nan") if rng.random() < 0.3 else number(rng)
        elif key == "enum":
            s[key] = [json_value(rng) if rng.random() < 0.4 else text(rng, 2, 0) for _ in range(rng.randint(0, 4))]
            if rng.random() < 0.05:
                s[key] = rng.choice(["notalist", 5, None, {}])
        elif key == "const":
            s[key] = json_value(rng)
        elif key == "examples":
            r3 = rng.random()
            if r3 < 0.4:
                s[key] = [text(rng, 3, 0.02) for _ in range(rng.randint(0, 3))]
            elif r3 < 0.9:
                s[key] = [json_value(rng) for _ in range(rng.randint(0, 3))]
            else:
                s[key] = json_value(rng)
        elif key == "nullable":
            s[key] = rng.choice([True, False, "yes", None])
        elif key == "format":
            s[key] = rng.choice(["date-time", "email", "uri", "uuid", "int64"])
        elif key in ("minimum", "maximum"):
            s[key] = number(rng)
        elif key == "pattern":
            s[key] = rng.choice(["^[a-z]+$", "\\d+", ""])
        else:
            s[key] = True
    return s


def parameters(rng: random.Random) -> Any:
    r = rng.random()
    if r < 0.1:
        return None
    if r < 0.8:
        props = {ident(rng): schema(rng, 1) for _ in range(rng.randint(0, 5))}
        p: Dict[str, Any] = {"type": "object", "properties": props}
        if rng.random() < 0.7:
            names = list(props) + ([ident(rng)] if rng.random() < 0.2 else [])
            p["required"] = rng.sample(names, rng.randint(0, len(names))) if names else []
        if rng.random() < 0.1:
            p["additionalProperties"] = rng.choice([False, True])
        if rng.random() < 0.08:
            p["description"] = description(rng)
        if rng.random() < 0.05:
            p["$defs"] = {"Thing": schema(rng, 1)}
        return p
    return schema(rng)


def tool(rng: random.Random) -> Dict[str, Any]:
    t: Dict[str, Any] = {"name": ident(rng), "description": description(rng)}
    params = parameters(rng)
    if params is not None:
        t["parameters"] = params
    return t


def namespace(rng: random.Random, name: Optional[str] = None) -> Dict[str, Any]:
    ns: Dict[str, Any] = {"name": name or rng.choice(["functions", "container", "browser", "python", "my_tools"])}
    if rng.random() < 0.5:
        ns["description"] = description(rng)
    ns["tools"] = [tool(rng) for _ in range(rng.randint(0, 4))]
    return ns


# -- conversations ----------------------------------------------------------


def system_content(rng: random.Random) -> Dict[str, Any]:
    c: Dict[str, Any] = {"type": "system_content"}
    for key, p in [
        ("model_identity", 0.7),
        ("reasoning_effort", 0.7),
        ("conversation_start_date", 0.5),
        ("knowledge_cutoff", 0.5),
        ("channel_config", 0.6),
        ("tools", 0.4),
    ]:
        if rng.random() >= p:
            continue
        if key == "model_identity":
            c[key] = rng.choice(["You are ChatGPT, a large language model trained by OpenAI.", text(rng, 5), None, ""])
        elif key == "reasoning_effort":
            c[key] = rng.choice([*EFFORTS, None])
        elif key == "conversation_start_date":
            c[key] = rng.choice([*DATES, None])
        elif key == "knowledge_cutoff":
            c[key] = rng.choice(["2024-06", "", None, "yesterday"])
        elif key == "channel_config":
            chans = rng.sample(["analysis", "commentary", "final", "other"], rng.randint(0, 4))
            c[key] = {"valid_channels": chans, "channel_required": rng.random() < 0.8} if rng.random() < 0.95 else None
        else:
            tools: Dict[str, Any] = {}
            if rng.random() < 0.6:
                tools["browser"] = "browser"
            if rng.random() < 0.6:
                tools["python"] = "python"
            if rng.random() < 0.4:
                n = namespace(rng)
                tools[n["name"]] = n
            c[key] = {k: v for k, v in tools.items()}
    return c


def developer_content(rng: random.Random) -> Dict[str, Any]:
    c: Dict[str, Any] = {"type": "developer_content"}
    if rng.random() < 0.7:
        c["instructions"] = rng.choice([text(rng, 8), "", "# Heading\n\n- item\n", None])
    if rng.random() < 0.75:
        tools: Dict[str, Any] = {}
        if rng.random() < 0.85:
            tools["functions"] = namespace(rng, "functions")
        if rng.random() < 0.2:
            n = namespace(rng)
            tools[n["name"]] = n
        c["tools"] = tools
    return c


def message(rng: random.Random, role: Optional[str] = None) -> Dict[str, Any]:
    role = role or rng.choice(ROLES)
    m: Dict[str, Any] = {"role": role}
    if (role == "tool" and rng.random() < 0.9) or rng.random() < 0.05:
        m["name"] = rng.choice(["functions.get_weather", "browser.search", "python", "functions.x", "", "東京"])
    if rng.random() < 0.02:
        # System or developer content in a message of another role.
        m["content"] = [rng.choice([system_content, developer_content])(rng)]
    elif role == "system" and rng.random() < 0.9:
        m["content"] = [system_content(rng)]
    elif role == "developer" and rng.random() < 0.9:
        m["content"] = [developer_content(rng)]
    else:
        m["content"] = [{"type": "text", "text": text(rng, 10, 0.04)} for _ in range(rng.choice([1, 1, 1, 0, 2, 3]))]
    if rng.random() < (0.85 if role == "assistant" else 0.2):
        m["channel"] = rng.choice(CHANNELS)
    if rng.random() < (0.35 if role in ("assistant", "tool") else 0.05):
        m["recipient"] = rng.choice(RECIPIENTS)
    if rng.random() < (0.3 if "recipient" in m else 0.05):
        m["content_type"] = rng.choice(CONTENT_TYPES)
    return m


def conversation(rng: random.Random) -> Dict[str, Any]:
    msgs: List[Dict[str, Any]] = []
    if rng.random() < 0.8:
        msgs.append(message(rng, "system"))
    if rng.random() < 0.6:
        msgs.append(message(rng, "developer"))
    for _ in range(rng.randint(0, 6)):
        msgs.append(message(rng, rng.choice(["user", "assistant", "assistant", "tool", "user", "system", "developer"])))
    return {"messages": msgs}


def render_case(rng: random.Random) -> Dict[str, Any]:
    op = rng.choice(["completion", "completion", "conversation", "training", "message"])
    return {
        "kind": "render",
        "op": op,
        "conversation": conversation(rng),
        "next_turn_role": rng.choice(["assistant", "assistant", "user", "tool", "system"]),
        "auto_drop_analysis": rng.choice([None, True, False]),
        "has_function_tools": rng.choice([None, True, False]),
        "build": rng.choice(["json", "models"]),
    }


def schema_case(rng: random.Random) -> Dict[str, Any]:
    """A developer message with function tools only: schema rendering under the lens."""
    tools = [tool(rng) for _ in range(rng.randint(1, 3))]
    dev: Dict[str, Any] = {"type": "developer_content", "tools": {"functions": {"name": "functions", "tools": tools}}}
    if rng.random() < 0.3:
        dev["instructions"] = text(rng, 5)
    msgs = [{"role": "developer", "content": [dev]}]
    if rng.random() < 0.3:
        ns = namespace(rng)
        ns["name"] = rng.choice(["container", "my_tools"])
        msgs.insert(0, {"role": "system", "content": [{"type": "system_content", "tools": {ns["name"]: ns}}]})
    return {
        "kind": "render",
        "op": "completion",
        "conversation": {"messages": msgs},
        "next_turn_role": "assistant",
        "auto_drop_analysis": None,
        "has_function_tools": None,
        "build": rng.choice(["json", "models"]),
    }


# -- token streams ------------------------------------------------------------


def header_pieces(rng: random.Random, first: bool, role_given: bool) -> List[Dict[str, Any]]:
    """The header of one completion message, sometimes malformed."""
    p: List[Dict[str, Any]] = []
    if not (first and role_given):
        p.append({"text": "<|start|>"})
        r = rng.random()
        if r < 0.7:
            p.append({"text": "assistant"})
        elif r < 0.85:
            p.append(
                {
                    "text": rng.choice(
                        ["user", "system", "developer", "tool", "functions.get_weather", "browser.search", "python"]
                    )
                }
            )
        else:
            p.append({"text": rng.choice(["bogusrole", "assistantassistant", "", " assistant", "Assistant", "東京"])})
    recipient_before = rng.random() < 0.25
    if recipient_before:
        p.append({"text": " to=" + rng.choice(["functions.get_weather", "browser.search", "python", "x y", ""])})
    if rng.random() < 0.9:
        p.append({"text": "<|channel|>" + rng.choice(["analysis", "commentary", "final", "final", "", "other"])})
    if not recipient_before and rng.random() < 0.25:
        p.append({"text": " to=" + rng.choice(["functions.get_weather", "browser.search", "python", "assistant", "x"])})
    r = rng.random()
    if r < 0.2:
        p.append({"text": " <|constrain|>json"})
    elif r < 0.3:
        p.append({"text": " json"})
    elif r < 0.33:
        p.append({"text": " " + text(rng, 2, 0.1)})
    p.append({"text": "<|message|>"})
    return p


def completion_pieces(rng: random.Random, role_given: bool) -> List[Dict[str, Any]]:
    pieces: List[Dict[str, Any]] = []
    for i in range(rng.randint(1, 4)):
        pieces += header_pieces(rng, i == 0, role_given)
        pieces.append({"text": text(rng, 10, 0.01)})
        pieces.append({"text": rng.choice(["<|end|>", "<|end|>", "<|return|>", "<|call|>"])})
    return pieces


FAULTS = ["drop", "dup", "insert_id", "insert_special", "insert_text", "swap", "truncate", "invalid_id", "insert_byte"]
# Single-byte tokens of UTF-8 lead and continuation bytes (F0 9F 98 80 is 😀, E6 a lead byte).
BYTE_TOKENS = [172, 253, 246, 222, 162]


def faults(rng: random.Random) -> List[Dict[str, Any]]:
    if rng.random() < 0.3:
        return []
    out = []
    for _ in range(rng.randint(1, 3)):
        f: Dict[str, Any] = {"op": rng.choice(FAULTS), "at": round(rng.random(), 6)}
        if f["op"] == "insert_id":
            f["id"] = rng.randint(0, 199997)
        elif f["op"] == "insert_special":
            f["id"] = rng.choice(
                [199998, 199999, 200000, 200002, 200003, 200005, 200006, 200007, 200008, 200012, 200014, 201087, 201088]
            )
        elif f["op"] == "invalid_id":
            f["id"] = rng.choice([201088, 201089, 201090, 250000, 2**31 - 1])
        elif f["op"] == "insert_byte":
            f["id"] = rng.choice(BYTE_TOKENS)
        elif f["op"] == "insert_text":
            f["text"] = text(rng, 2, 0.3)
        out.append(f)
    return out


def stream_case(rng: random.Random) -> Dict[str, Any]:
    role = rng.choice(["assistant", "assistant", None, "user", "tool"])
    return {
        "kind": "stream",
        "pieces": completion_pieces(rng, role is not None),
        "faults": faults(rng),
        "role": role,
        "strict": rng.random() < 0.6,
    }


def tokenizer_case(rng: random.Random) -> Dict[str, Any]:
    op = rng.choice(
        ["encode", "encode_all", "encode_some", "encode_disallowed_none", "decode", "decode_utf8", "is_special"]
    )
    case: Dict[str, Any] = {"kind": "tokenizer", "op": op}
    if op.startswith("encode"):
        case["text"] = text(rng, 12, 0.15)
        if op == "encode_some":
            case["allowed"] = rng.sample(SPECIAL_TEXTS, rng.randint(0, 4))
    elif op in ("decode", "decode_utf8"):
        ids = []
        for _ in range(rng.randint(0, 8)):
            r = rng.random()
            ids.append(
                rng.randint(0, 199997)
                if r < 0.7
                else rng.randint(199990, 201095)
                if r < 0.95
                else rng.choice([-1, 2**32])
            )
        case["tokens"] = ids
    else:
        case["token"] = rng.choice([rng.randint(199990, 201095), rng.randint(0, 199997), 201088, 201089, -1])
    return case


def serialize_case(rng: random.Random) -> Dict[str, Any]:
    case = render_case(rng)
    case["kind"] = "serialize"
    return case


GENERATORS = [(render_case, 0.3), (schema_case, 0.2), (serialize_case, 0.1), (stream_case, 0.3), (tokenizer_case, 0.1)]


def cases(seed: int, n: int) -> Iterator[Dict[str, Any]]:
    rng = random.Random(seed)
    weights = [w for _, w in GENERATORS]
    for i in range(n):
        (gen,) = rng.choices([g for g, _ in GENERATORS], weights)
        case = gen(rng)
        case["id"] = f"{seed}-{i}"
        yield case
