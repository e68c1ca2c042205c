"""lmdeploy 0.18.0: the ``gpt-oss`` response parser
(``lmdeploy/serve/parsers/_openai_harmony.py``, ``GptOssResponseParser``: one
StreamableParser per request, tool calls from the recipient, reasoning from
the analysis channel), driven through the server's ``ChatRunner``
(``lmdeploy/serve/core/chat_runner.py``), which feeds it the engine's outputs
and turns its failures into request errors:

* ``chat stream``: ``ChatRunner.stream`` (``stream_chunk`` per engine output,
  one token each), chunks accumulated as a client does.
* ``chat full``: ``ChatRunner.collect`` (``parse_complete`` on the whole
  output).

The runner is built directly (its ``prepare`` needs the engine) from the
request and parser ``prepare`` would make, with an engine generator that
yields the case's tokens.
"""

from __future__ import annotations

import types
from typing import Any, AsyncIterator

from lmdeploy.serve.core.chat_runner import ChatRunner
from lmdeploy.serve.openai.protocol import ChatCompletionRequest
from lmdeploy.serve.parsers import ResponseParserManager

from drivers.common import ChatStream, chat_body


def chat_request(case: dict[str, Any], stream: bool) -> ChatCompletionRequest:
    return ChatCompletionRequest(**chat_body(case, stream))


def engine_output(h: Any, tokens: list[int], finished: bool, total: int) -> Any:
    # lmdeploy's GenOut: the fields ChatRunner reads.
    return types.SimpleNamespace(
        response="".join(h.token_text(t) for t in tokens),
        token_ids=list(tokens),
        finish_reason="stop" if finished else None,
        logprobs=None,
        input_token_len=7,
        generate_token_len=total,
        cached_tokens=0,
        cache_block_ids=None,
        routed_experts=None,
    )


async def per_token(h: Any, tokens: list[int]) -> AsyncIterator[Any]:
    for i, t in enumerate(tokens):
        yield engine_output(h, [t], i == len(tokens) - 1, i + 1)


async def whole(h: Any, tokens: list[int]) -> AsyncIterator[Any]:
    yield engine_output(h, tokens, True, len(tokens))


class Sessions:
    def remove(self, session: Any) -> None:
        pass


def runner(case: dict[str, Any], outputs: Any, stream: bool) -> ChatRunner:
    parser = ResponseParserManager.get("gpt-oss")(chat_request(case, stream))
    return ChatRunner(
        request=parser.request,
        response_parser=parser,
        gen_config=None,
        session=None,
        result_generator=outputs,
        session_manager=Sessions(),
    )


def rows(h: Any) -> dict[str, Any]:
    def chat_stream(case: dict[str, Any], tokens: list[int]) -> Any:
        r = runner(case, per_token(h, tokens), True)
        acc = ChatStream("reasoning_content")

        async def go() -> None:
            async for chunk in r.stream():
                acc.add(
                    {"choices": [{"delta": chunk.delta_message.model_dump(), "finish_reason": chunk.finish_reason}]}
                )

        h.run(go())
        return acc.result()

    def chat_full(case: dict[str, Any], tokens: list[int]) -> Any:
        r = runner(case, whole(h, tokens), False)
        res = h.run(r.collect())
        return {
            "content": res.text or None,
            "reasoning": res.reasoning_content or None,
            "tool_calls": [[c.function.name, c.function.arguments] for c in (res.tool_calls or [])],
            "finish_reason": [res.finish_reason] if res.finish_reason else [],
            "error": None,
        }

    return {"chat stream": chat_stream, "chat full": chat_full}
