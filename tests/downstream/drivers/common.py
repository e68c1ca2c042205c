"""Normalising what servers return into comparable JSON: content text,
reasoning text and tool calls (name, arguments), never ids or timestamps."""

from __future__ import annotations

import json
from typing import Any

MODEL = "openai/gpt-oss-20b"
PROMPT = [200006, 1428, 200008, 3086, 200007, 200006, 173781]  # a stand-in prompt's ids


def chat_body(case: dict[str, Any], stream: bool) -> dict[str, Any]:
    """A Chat Completions request for a case: one user turn, and the case's
    tools declared with a permissive schema."""
    body: dict[str, Any] = {"model": MODEL, "messages": [{"role": "user", "content": "Hello"}], "stream": stream}
    if case.get("tools"):
        body["tools"] = [
            {"type": "function", "function": {"name": n, "parameters": {"type": "object"}}} for n in case["tools"]
        ]
    return body


def responses_body(case: dict[str, Any], stream: bool) -> dict[str, Any]:
    """The same as a Responses request (not stored)."""
    body: dict[str, Any] = {"model": MODEL, "input": "Hello", "stream": stream, "store": False}
    if case.get("tools"):
        body["tools"] = [
            {"type": "function", "name": n, "parameters": {"type": "object"}, "strict": False} for n in case["tools"]
        ]
    return body


def _dump(obj: Any) -> Any:
    if hasattr(obj, "model_dump"):
        return obj.model_dump()
    return obj


def join(parts: list[str]) -> str | None:
    text = "".join(p for p in parts if p)
    return text or None


class ChatStream:
    """Accumulates Chat Completions stream chunks as a client does."""

    def __init__(self, reasoning_key: str) -> None:
        self.reasoning_key = reasoning_key
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.calls: list[list[Any]] = []  # [index, name, arguments]
        self.finish: list[str] = []
        self.errors: list[str] = []

    def add(self, chunk: Any) -> None:
        chunk = _dump(chunk)
        if chunk.get("error"):
            err = chunk["error"]
            self.errors.append(err.get("message", str(err)) if isinstance(err, dict) else str(err))
            return
        if chunk.get("object") == "error":
            self.errors.append(chunk.get("message", ""))
            return
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            self.content.append(delta.get("content") or "")
            self.reasoning.append(delta.get(self.reasoning_key) or "")
            for tc in delta.get("tool_calls") or []:
                fn = tc.get("function") or {}
                if fn.get("name") is not None:
                    self.calls.append([tc.get("index"), fn["name"], fn.get("arguments") or ""])
                elif self.calls and self.calls[-1][0] == tc.get("index"):
                    self.calls[-1][2] += fn.get("arguments") or ""
                else:  # arguments of a call never named: kept, visibly
                    self.calls.append([tc.get("index"), None, fn.get("arguments") or ""])
            if choice.get("finish_reason"):
                self.finish.append(choice["finish_reason"])

    def add_sse(self, line: str) -> None:
        for part in line.split("\n"):
            if not part.startswith("data: "):
                continue
            data = part[len("data: ") :].strip()
            if data == "[DONE]":
                continue
            self.add(json.loads(data))

    def result(self) -> dict[str, Any]:
        return {
            "content": join(self.content),
            "reasoning": join(self.reasoning),
            "tool_calls": [[name, args] for _, name, args in self.calls],
            "finish_reason": self.finish,
            "error": self.errors or None,
        }


def chat_message(message: Any, reasoning_key: str, finish_reason: Any = None) -> dict[str, Any]:
    m = _dump(message)
    return {
        "content": m.get("content") or None,
        "reasoning": m.get(reasoning_key) or None,
        "tool_calls": [[tc["function"]["name"], tc["function"]["arguments"]] for tc in (m.get("tool_calls") or [])],
        "finish_reason": [finish_reason] if finish_reason else [],
        "error": None,
    }


def error_response(resp: Any) -> dict[str, Any]:
    r = _dump(resp)
    if hasattr(resp, "body"):  # a starlette/fastapi response object
        try:
            r = json.loads(resp.body)
        except Exception:
            r = {"error": {"message": repr(resp.body)}}
    err = r.get("error", r) if isinstance(r, dict) else r
    msg = err.get("message") if isinstance(err, dict) else str(err)
    return {"content": None, "reasoning": None, "tool_calls": [], "finish_reason": [], "error": [msg]}


def response_items(items: list[Any]) -> list[dict[str, Any]]:
    """Responses API output items, without ids."""
    out: list[dict[str, Any]] = []
    for item in items:
        it = _dump(item)
        t = it.get("type")
        if t == "reasoning":
            texts = [c.get("text") for c in it.get("content") or []] + [s.get("text") for s in it.get("summary") or []]
            out.append({"type": "reasoning", "text": "".join(x or "" for x in texts)})
        elif t == "message":
            out.append(
                {
                    "type": "message",
                    "text": "".join(c.get("text") or c.get("refusal") or "" for c in it.get("content") or []),
                    "status": it.get("status"),
                }
            )
        elif t == "function_call":
            out.append({"type": "function_call", "name": it.get("name"), "arguments": it.get("arguments")})
        else:
            keep = {k: v for k, v in it.items() if k not in ("id", "call_id")}
            out.append({"type": t, "item": keep})
    return out


class ResponsesStream:
    """Accumulates Responses API stream events as a client does: the text,
    reasoning and function-call argument deltas, the items done, and the
    final response."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.arguments: list[str] = []
        self.done: list[Any] = []
        self.final: Any = None
        self.errors: list[str] = []

    def add(self, event: Any) -> None:
        e = _dump(event)
        if isinstance(e, str):  # an SSE frame
            for part in e.split("\n"):
                if part.startswith("data: ") and part[6:].strip() not in ("", "[DONE]"):
                    self.add(json.loads(part[6:]))
            return
        t = e.get("type", "")
        if t == "response.output_text.delta":
            self.text.append(e.get("delta") or "")
        elif t in ("response.reasoning_text.delta", "response.reasoning_summary_text.delta"):
            self.reasoning.append(e.get("delta") or "")
        elif t == "response.function_call_arguments.delta":
            self.arguments.append(e.get("delta") or "")
        elif t == "response.output_item.done":
            self.done.append(e.get("item"))
        elif t in ("response.completed", "response.incomplete", "response.failed"):
            self.final = e.get("response")
        elif t == "error" or (e.get("error") and not t.startswith("response.")):
            self.errors.append(json.dumps(e.get("error") or e.get("message"), sort_keys=True))

    def result(self) -> dict[str, Any]:
        final = self.final or {}
        return {
            "text": join(self.text),
            "reasoning": join(self.reasoning),
            "arguments": join(self.arguments),
            "items_done": response_items(self.done),
            "output": response_items(final.get("output") or []),
            "status": final.get("status"),
            "error": self.errors or None,
        }
