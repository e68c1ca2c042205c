"""Runs differential cases against whatever ``openai_harmony`` is importable.

Usage: python runner.py CASES.jsonl OUT.jsonl

Reads cases made by ``gen.py`` and writes one result per line, in order:
``{"id": ..., "out": ...}``. Only the public API that the reference and this
package share is used, so the same script runs under both interpreters; the
harness compares the two files. Every exception is caught and recorded as
``"Type: message"``: an error is an output like any other.
"""

from __future__ import annotations

import json
import logging
import sys
import warnings
from typing import Any, Callable, Dict, List, Optional

# The reference's pydantic models warn when a case feeds them a value their
# serializer does not expect (a reasoning effort "HIGH"): the case's output
# is what is compared, and the warnings would bury the harness's report.
warnings.filterwarnings("ignore", message="Pydantic serializer warnings")

from openai_harmony import (  # noqa: E402  (after the warnings filter)
    Conversation,
    DeveloperContent,
    HarmonyEncodingName,
    Message,
    RenderConversationConfig,
    RenderOptions,
    Role,
    StreamableParser,
    SystemContent,
    TextContent,
    ToolDescription,
    ToolNamespaceConfig,
    load_harmony_encoding,
)

ENC = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
# Lenient cases repair on purpose: their repair log lines are no news here.
logging.getLogger("openai_harmony").addHandler(logging.NullHandler())


def err(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


def outcome(fn: Callable[[], Any]) -> Dict[str, Any]:
    try:
        return {"ok": fn()}
    except Exception as e:
        return {"error": err(e)}


def jsonable(x: Any) -> Any:
    return json.loads(json.dumps(x, default=str, ensure_ascii=False))


# -- building conversations ---------------------------------------------------


def tool_descriptions(ns: Dict[str, Any]) -> List[Any]:
    return [
        ToolDescription.new(t["name"], t.get("description", ""), parameters=t.get("parameters"))
        for t in ns.get("tools", [])
    ]


def namespace_model(ns: Any) -> Any:
    if ns == "browser":
        return ToolNamespaceConfig.browser()
    if ns == "python":
        return ToolNamespaceConfig.python()
    return ToolNamespaceConfig(name=ns["name"], description=ns.get("description"), tools=tool_descriptions(ns))


def content_models(m: Dict[str, Any]) -> List[Any]:
    out: List[Any] = []
    for c in m.get("content", []):
        if c.get("type") == "system_content":
            s = SystemContent.new()
            if "model_identity" in c:
                s = s.with_model_identity(c["model_identity"])
            if "reasoning_effort" in c:
                s = s.with_reasoning_effort(c["reasoning_effort"])
            if "conversation_start_date" in c:
                s = s.with_conversation_start_date(c["conversation_start_date"])
            if "knowledge_cutoff" in c:
                s = s.with_knowledge_cutoff(c["knowledge_cutoff"])
            if "channel_config" in c:
                cc = c["channel_config"]
                s.channel_config = None if cc is None else type(s.channel_config or _channel_config())(**cc)
            for ns in (c.get("tools") or {}).values():
                s = s.with_tools(namespace_model(ns))
            out.append(s)
        elif c.get("type") == "developer_content":
            d = DeveloperContent.new()
            if "instructions" in c:
                d = d.with_instructions(c["instructions"])
            for name, ns in (c.get("tools") or {}).items():
                if name == "functions":
                    d = d.with_function_tools(tool_descriptions(ns))
                else:
                    d = d.with_tools(namespace_model(ns))
            out.append(d)
        else:
            out.append(TextContent(text=c.get("text")))
    return out


def _channel_config() -> Any:
    return SystemContent.new().channel_config


def message_model(m: Dict[str, Any]) -> Any:
    role = Role(m["role"])
    contents = content_models(m)
    if m.get("name") is not None:
        from openai_harmony import Author

        msg = Message.from_author_and_content(
            Author.new(role, m["name"]), contents[0] if contents else TextContent(text="")
        )
        for c in contents[1:]:
            msg = msg.adding_content(c)
    else:
        msg = Message.from_role_and_contents(role, contents)
    if m.get("channel") is not None:
        msg = msg.with_channel(m["channel"])
    if m.get("recipient") is not None:
        msg = msg.with_recipient(m["recipient"])
    if m.get("content_type") is not None:
        msg = msg.with_content_type(m["content_type"])
    return msg


def builtin_namespaces(conversation: Dict[str, Any]) -> Dict[str, Any]:
    """The generator writes "browser" / "python" for the built-in namespaces;
    as JSON they are spelled out, from the package under test."""
    out = json.loads(json.dumps(conversation))
    for m in out["messages"]:
        for c in m.get("content", []):
            for name, ns in list((c.get("tools") or {}).items()):
                if ns in ("browser", "python"):
                    c["tools"][name] = namespace_model(ns).model_dump()
    return out


def build_conversation(case: Dict[str, Any]) -> Any:
    if case["build"] == "models":
        return Conversation.from_messages([message_model(m) for m in case["conversation"]["messages"]])
    return Conversation.from_json(json.dumps(builtin_namespaces(case["conversation"])))


def run_render(case: Dict[str, Any]) -> Dict[str, Any]:
    def go() -> Any:
        convo = build_conversation(case)
        ad = case["auto_drop_analysis"]
        conf = None if ad is None else RenderConversationConfig(auto_drop_analysis=ad)
        op = case["op"]
        if op == "completion":
            return ENC.render_conversation_for_completion(convo, Role(case["next_turn_role"]), conf)
        if op == "conversation":
            return ENC.render_conversation(convo, conf)
        if op == "training":
            return ENC.render_conversation_for_training(convo, conf)
        tools = case["has_function_tools"]
        opts = None if tools is None else RenderOptions(conversation_has_function_tools=tools)
        return [ENC.render(m, opts) for m in convo.messages]

    return outcome(go)


def run_serialize(case: Dict[str, Any]) -> Dict[str, Any]:
    """The models' dict and JSON forms, and reading them back."""

    def go() -> Any:
        convo = build_conversation(case)
        text = convo.to_json()
        return {
            "to_json": text,
            "to_dict": jsonable(convo.to_dict()),
            "messages": [m.to_json() for m in convo.messages],
            "round_trip": Conversation.from_json(text).to_json(),
            "from_dict": [Message.from_dict(m.to_dict()).to_json() for m in convo.messages],
        }

    return outcome(go)


# -- streams ------------------------------------------------------------------


def stream_tokens(case: Dict[str, Any]) -> List[int]:
    tokens: List[int] = []
    for p in case["pieces"]:
        if "id" in p:
            tokens.append(p["id"])
        else:
            tokens += ENC.encode(p["text"], allowed_special="all")
    for f in case["faults"]:
        at = int(f["at"] * len(tokens))
        op = f["op"]
        if op == "drop" and tokens:
            del tokens[min(at, len(tokens) - 1)]
        elif op == "dup" and tokens:
            i = min(at, len(tokens) - 1)
            tokens.insert(i, tokens[i])
        elif op in ("insert_id", "insert_special", "invalid_id", "insert_byte"):
            tokens.insert(at, f["id"])
        elif op == "insert_text":
            tokens[at:at] = ENC.encode(f["text"], allowed_special="all")
        elif op == "swap" and len(tokens) > 1:
            i = min(at, len(tokens) - 2)
            tokens[i], tokens[i + 1] = tokens[i + 1], tokens[i]
        elif op == "truncate":
            del tokens[max(at, 1) :]
    return tokens


def role_of(case: Dict[str, Any]) -> Optional[Any]:
    return None if case["role"] is None else Role(case["role"])


def run_stream(case: Dict[str, Any]) -> Dict[str, Any]:
    tokens = stream_tokens(case)
    p = StreamableParser(ENC, role_of(case), strict=case["strict"])
    steps = []
    for t in tokens:
        try:
            p.process(t)
            e = None
        except Exception as ex:
            e = err(ex)
        cr = p.current_role
        steps.append(
            [
                e,
                p.last_content_delta,
                p.current_channel,
                p.current_recipient,
                p.current_content_type,
                None if cr is None else cr.value,
                p.state.value,
                len(p.messages),
                p.current_content,
            ]
        )
    state_data = outcome(lambda: p.state_data)
    final = outcome(lambda: (p.process_eos(), None)[1])
    messages = [m.to_dict() for m in p.messages]
    batch = outcome(
        lambda: [
            m.to_dict() for m in ENC.parse_messages_from_completion_tokens(tokens, role_of(case), strict=case["strict"])
        ]
    )
    out = {
        "tokens": tokens,
        "steps": steps,
        "eos": final,
        "messages": jsonable(messages),
        "parsed_tokens": p.tokens,
        "state_data": jsonable(state_data),
        "batch": jsonable(batch),
    }
    # Ours only: where lenient parsing repaired something (the reference has no diagnostics).
    diagnostics = getattr(p, "diagnostics", None)
    if diagnostics:
        out["repairs"] = sorted({d.position for d in diagnostics})
    return out


# -- tokenizer ------------------------------------------------------------------


def run_tokenizer(case: Dict[str, Any]) -> Dict[str, Any]:
    op = case["op"]
    if op == "encode":
        return outcome(lambda: ENC.encode(case["text"]))
    if op == "encode_all":
        return outcome(lambda: ENC.encode(case["text"], allowed_special="all"))
    if op == "encode_some":
        return outcome(lambda: ENC.encode(case["text"], allowed_special=set(case["allowed"])))
    if op == "encode_disallowed_none":
        return outcome(lambda: ENC.encode(case["text"], disallowed_special=()))
    if op == "decode":
        return outcome(lambda: ENC.decode(case["tokens"]))
    if op == "decode_utf8":
        return outcome(lambda: ENC.decode_utf8(case["tokens"]))
    return outcome(lambda: ENC.is_special_token(case["token"]))


RUNNERS = {"render": run_render, "serialize": run_serialize, "stream": run_stream, "tokenizer": run_tokenizer}


def main() -> None:
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
        for line in f:
            case = json.loads(line)
            try:
                result = RUNNERS[case["kind"]](case)
            except Exception as e:
                result = {"runner_crash": err(e)}
            out.write(json.dumps({"id": case["id"], "out": result}, ensure_ascii=False, default=str) + "\n")


if __name__ == "__main__":
    main()
