"""The playground: a page at ``/`` (plain HTML, CSS and JavaScript in
``static/``, no build step) and the JSON endpoints it talks to.

- ``GET /harmony/special-tokens``: each formatting token's id, text and
  what it means.
- ``POST /harmony/render``: a conversation (harmony JSON, ``{"messages":
  [...]}``) or a Chat Completions request (``{"chat": {...}}``) rendered
  for completion: the tokens (id, text, special or not), their count, and
  the completion grammar (``"syntax"``: lark, gbnf or xgrammar).
- ``POST /harmony/parse``: a completion (``"text"`` or token ``"ids"``)
  parsed token by token: each step's parser state, channel, recipient,
  content type, content delta and events, then the messages and the
  lenient repairs (``"strict": true`` stops at the first error instead).

See docs/server.md for the request and reply fields.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from .._encoding import HarmonyEncoding, HarmonyError, StreamableParser
from .._models import Conversation, Role
from ..interop import completion_grammar_for_chat_completions, prompt_for_chat_completions

Json = Dict[str, Any]
STATIC = Path(__file__).parent / "static"

SPECIAL_TOKENS: Dict[str, str] = {
    "<|start|>": "Begins a message; the author's role (and name) follows, then its header.",
    "<|channel|>": "Names the message's channel: analysis (reasoning), commentary (tool calls) or final (the answer).",
    "<|constrain|>": "Marks the content type of a tool call's arguments (e.g. json).",
    "<|message|>": "Ends the header; the message's content follows.",
    "<|end|>": "Ends a message; more messages may follow.",
    "<|call|>": "Ends an assistant's tool call: the model stops for the tool's result.",
    "<|return|>": "Ends the assistant's final answer: the model stops (stored as <|end|> in history).",
    "<|startoftext|>": "Start of text (not used by harmony).",
    "<|endoftext|>": "End of text (not used by harmony).",
}
"""What each formatting token of ``o200k_harmony`` means; the other special
tokens are reserved and unused."""


def routes(settings: Any, read_json: Callable[[Request], Awaitable[Json]]) -> List[BaseRoute]:
    """The page, its files and its endpoints."""
    enc: HarmonyEncoding = settings.encoding

    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    async def special_tokens(request: Request) -> Response:
        tokens = [
            {"text": text, "id": enc.encode(text, allowed_special="all")[0], "meaning": meaning}
            for text, meaning in SPECIAL_TOKENS.items()
        ]
        return JSONResponse({"tokens": tokens})

    def endpoint(work: Callable[[Json], Json]) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            from .app import RequestError  # the app imports this module

            try:
                body = await read_json(request)
                result = await asyncio.get_running_loop().run_in_executor(settings.pool, work, body)
            except RequestError as error:
                return error.response()
            except (HarmonyError, ValueError, TypeError, KeyError) as error:
                return RequestError(400, str(error).strip() or type(error).__name__).response()
            return JSONResponse(result)

        return handle

    return [
        Route("/", page, methods=["GET"]),
        Mount("/playground", app=StaticFiles(directory=STATIC), name="playground"),
        Route("/harmony/special-tokens", special_tokens, methods=["GET"]),
        Route("/harmony/render", endpoint(lambda body: render(enc, body)), methods=["POST"]),
        Route("/harmony/parse", endpoint(lambda body: parse(enc, body)), methods=["POST"]),
    ]


def _tokens(enc: HarmonyEncoding, ids: List[int]) -> List[Json]:
    out = []
    for token in ids:
        raw = enc.decode_bytes([token])
        try:
            text = raw.decode("utf-8")
            whole = True
        except UnicodeDecodeError:  # part of a character split across tokens
            text, whole = raw.decode("utf-8", "replace"), False
        item: Json = {"id": token, "text": text, "special": enc.is_special_token(token)}
        if not whole:
            item["bytes"] = raw.hex()
        out.append(item)
    return out


def render(enc: HarmonyEncoding, body: Json) -> Json:
    """``POST /harmony/render``."""
    syntax = body.get("syntax", "lark")
    if syntax not in ("lark", "gbnf", "xgrammar"):
        raise ValueError(f"syntax must be lark, gbnf or xgrammar, got {json.dumps(syntax)}")
    grammar: Optional[str] = None
    grammar_error: Optional[str] = None
    if "chat" in body:
        request = body["chat"]
        if not isinstance(request, dict):
            raise ValueError("chat must be a Chat Completions request (a JSON object)")
        ids = prompt_for_chat_completions(enc, request).tokens
        source = "chat"
        try:
            grammar = completion_grammar_for_chat_completions(enc, request, syntax=syntax)
        except (HarmonyError, ValueError) as error:
            grammar_error = str(error)
    else:
        conversation = Conversation.from_dict(body)
        ids = enc.render_conversation_for_completion(conversation, Role.ASSISTANT)
        source = "conversation"
        try:
            grammar = enc.completion_grammar(conversation, syntax=syntax)
        except (HarmonyError, ValueError) as error:
            grammar_error = str(error)
    tokens = _tokens(enc, ids)
    return {
        "source": source,
        "tokens": tokens,
        "count": len(tokens),
        "special_count": sum(t["special"] for t in tokens),
        "grammar": grammar,
        "grammar_syntax": syntax,
        "grammar_error": grammar_error,
    }


def _ids(enc: HarmonyEncoding, body: Json) -> List[int]:
    if "ids" in body:
        ids = body["ids"]
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise ValueError("ids must be a list of token ids (integers)")
        bad = next((i for i in ids if not 0 <= i < 2**32 or not _known(enc, i)), None)
        if bad is not None:
            raise ValueError(f"unknown token id {bad}")
        return list(ids)
    text = body.get("text")
    if not isinstance(text, str):
        raise ValueError('give the completion as "text" (a string) or "ids" (a list of token ids)')
    return enc.encode(text, allowed_special="all")


def _known(enc: HarmonyEncoding, token: int) -> bool:
    try:
        enc.decode_bytes([token])
    except (HarmonyError, ValueError, OverflowError):
        return False
    return True


def parse(enc: HarmonyEncoding, body: Json) -> Json:
    """``POST /harmony/parse``."""
    role_name = body.get("role", "assistant")
    role = None if role_name is None else Role(role_name)
    strict = body.get("strict", False)
    if not isinstance(strict, bool):
        raise ValueError(f"strict must be a boolean, got {json.dumps(strict)}")
    ids = _ids(enc, body)
    parser = StreamableParser(enc, role, strict=strict)
    steps: List[Json] = []
    error: Optional[Json] = None
    for position, token in enumerate(ids):
        try:
            parser.process(token)
        except HarmonyError as failure:
            error = {"position": position, "message": str(failure)}
            break
        steps.append(
            {
                "id": token,
                "state": parser.state.name,
                "role": parser.current_role.value if parser.current_role else None,
                "channel": parser.current_channel,
                "recipient": parser.current_recipient,
                "content_type": parser.current_content_type,
                "delta": parser.last_content_delta,
                "events": [_event(e) for e in parser.drain_events()],
            }
        )
    if error is None:
        try:
            parser.process_eos()
        except HarmonyError as failure:
            error = {"position": len(ids), "message": str(failure)}
    tokens = _tokens(enc, ids)
    for step, shown in zip(steps, tokens):
        step["text"] = shown["text"]
        step["special"] = shown["special"]
    repairs = [{"position": d.position, "kind": d.kind, "detail": d.detail} for d in parser.diagnostics]
    return {
        "steps": steps,
        "count": len(ids),
        "messages": [m.to_dict() for m in parser.messages],
        "repairs": repairs,
        "error": error,
        "strict": strict,
    }


def _event(event: Any) -> Json:
    kind = type(event).__name__
    out: Json = {"type": kind, "index": event.index}
    if kind == "MessageStarted":
        out.update(role=event.role.value, channel=event.channel, recipient=event.recipient)
    elif kind == "ContentDelta":
        out["text"] = event.text
    else:
        out["message"] = event.message.to_dict()
    return out
