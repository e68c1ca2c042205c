"""vLLM 0.11: the harmony paths of the OpenAI-compatible server.

* ``chat stream``: ``OpenAIServingChat.chat_completion_stream_generator``
  (its ``use_harmony`` branch: one StreamableParser per choice, fed the
  engine's delta tokens, deltas built from its channel and recipient), with
  ``--enable-auto-tool-choice --tool-call-parser openai --reasoning-parser
  openai_gptoss`` as the gpt-oss recipe has it; one engine output per token.
* ``chat full``: ``chat_completion_full_generator`` (``parse_chat_output`` +
  ``OpenAIToolParser.extract_tool_calls``) on the whole output.
* ``openai_tool_parser``: ``OpenAIToolParser.extract_tool_calls`` alone.
* ``gptoss_reasoning stream``: ``GptOssReasoningParser
  .extract_reasoning_content_streaming`` token by token (what a caller of
  the reasoning parser alone gets), deltas accumulated.
* ``responses full``: ``OpenAIServingResponses.responses_full_generator``
  over a ``HarmonyContext`` filled by the real ``_generate_with_builtin_tools``
  loop from an engine that returns the whole output at once.
* ``responses stream``: ``responses_stream_generator`` over a
  ``StreamingHarmonyContext``, one engine output per token.

The server objects are made with ``__new__`` (no engine, no model config)
and given the attributes their ``__init__`` sets for a gpt_oss model.
"""

from __future__ import annotations

import types
from typing import Any, AsyncIterator

from vllm.entrypoints.context import HarmonyContext, StreamingHarmonyContext
from vllm.entrypoints.openai.protocol import ChatCompletionRequest, RequestResponseMetadata, ResponsesRequest
from vllm.entrypoints.openai.serving_chat import OpenAIServingChat
from vllm.entrypoints.openai.serving_responses import OpenAIServingResponses
from vllm.entrypoints.openai.tool_parsers import ToolParserManager
from vllm.outputs import CompletionOutput, RequestOutput
from vllm.reasoning import ReasoningParserManager

from drivers.common import (
    PROMPT,
    ChatStream,
    ResponsesStream,
    chat_body,
    chat_message,
    error_response,
    response_items,
    responses_body,
)


def chat_request(case: dict[str, Any], stream: bool) -> ChatCompletionRequest:
    return ChatCompletionRequest(**chat_body(case, stream))


def responses_request(case: dict[str, Any], stream: bool) -> ResponsesRequest:
    return ResponsesRequest(**responses_body(case, stream))


def request_output(h: Any, tokens: list[int], finished: bool) -> RequestOutput:
    out = CompletionOutput(
        index=0,
        text="".join(h.token_text(t) for t in tokens),
        token_ids=list(tokens),
        cumulative_logprob=None,
        logprobs=None,
        finish_reason="stop" if finished else None,
        stop_reason=None,
    )
    return RequestOutput(
        request_id="req",
        prompt=None,
        prompt_token_ids=PROMPT,
        prompt_logprobs=None,
        outputs=[out],
        finished=finished,
        num_cached_tokens=0,
    )


async def per_token(h: Any, tokens: list[int]) -> AsyncIterator[RequestOutput]:
    for i, t in enumerate(tokens):
        yield request_output(h, [t], i == len(tokens) - 1)


async def whole(h: Any, tokens: list[int]) -> AsyncIterator[RequestOutput]:
    yield request_output(h, tokens, True)


def serving_chat() -> OpenAIServingChat:
    s = OpenAIServingChat.__new__(OpenAIServingChat)
    s.response_role = "assistant"
    s.request_logger = None
    s.log_error_stack = False
    s.return_tokens_as_token_ids = False
    s.enable_log_outputs = False
    s.enable_auto_tools = True
    s.tool_parser = ToolParserManager.get_tool_parser("openai")
    s.reasoning_parser = ReasoningParserManager.get_reasoning_parser("openai_gptoss")
    s.exclude_tools_when_tool_choice_none = False
    s.enable_prompt_tokens_details = False
    s.enable_force_include_usage = False
    s.default_sampling_params = {}
    s.tool_call_id_type = "random"
    s.use_harmony = True
    s.supports_browsing = False
    s.browser_tool = None
    s.supports_code_interpreter = False
    s.python_tool = None
    return s


class FakeEngine:
    """The engine client: ``generate`` yields the case's output tokens."""

    def __init__(self, outputs: Any) -> None:
        self.outputs = outputs

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        return self.outputs


def serving_responses(engine: FakeEngine) -> OpenAIServingResponses:
    s = OpenAIServingResponses.__new__(OpenAIServingResponses)
    s.engine_client = engine
    s.request_logger = None
    s.log_error_stack = False
    s.return_tokens_as_token_ids = False
    s.enable_log_outputs = False
    s.enable_auto_tools = True
    s.use_harmony = True
    s.tool_server = None
    s.enable_store = False
    s.response_store = {}
    s.msg_store = {}
    s.event_store = {}
    s.background_tasks = {}
    s.default_sampling_params = {}
    s.max_model_len = 131072
    s.enable_prompt_tokens_details = False
    s.enable_force_include_usage = False
    s.reasoning_parser = ReasoningParserManager.get_reasoning_parser("openai_gptoss")
    return s


def sampling_params() -> Any:
    # SamplingParams (vllm.sampling_params needs torch): the fields
    # ResponsesResponse.from_request reads.
    return types.SimpleNamespace(temperature=1.0, top_p=1.0, max_tokens=4096, logprobs=None)


def rows(h: Any) -> dict[str, Any]:
    tok = h.tokenizer

    def chat_stream(case: dict[str, Any], tokens: list[int]) -> Any:
        s = serving_chat()
        acc = ChatStream("reasoning_content")

        async def go() -> None:
            async for line in s.chat_completion_stream_generator(
                chat_request(case, True),
                per_token(h, tokens),
                "chatcmpl-1",
                "gpt-oss",
                [],
                tok,
                RequestResponseMetadata(request_id="chatcmpl-1"),
                enable_force_include_usage=False,
            ):
                acc.add_sse(line)

        h.run(go())
        return acc.result()

    def chat_full(case: dict[str, Any], tokens: list[int]) -> Any:
        s = serving_chat()
        resp = h.run(
            s.chat_completion_full_generator(
                chat_request(case, False),
                whole(h, tokens),
                "chatcmpl-1",
                "gpt-oss",
                [],
                tok,
                RequestResponseMetadata(request_id="chatcmpl-1"),
            )
        )
        if not hasattr(resp, "choices"):
            return error_response(resp)
        c = resp.choices[0]
        return chat_message(c.message, "reasoning_content", c.finish_reason)

    def tool_parser(case: dict[str, Any], tokens: list[int]) -> Any:
        p = ToolParserManager.get_tool_parser("openai")(tok)
        info = p.extract_tool_calls("", request=chat_request(case, False), token_ids=tokens)
        return {
            "tools_called": info.tools_called,
            "tool_calls": [[c.function.name, c.function.arguments] for c in info.tool_calls],
            "content": info.content,
        }

    def reasoning_stream(case: dict[str, Any], tokens: list[int]) -> Any:
        p = ReasoningParserManager.get_reasoning_parser("openai_gptoss")(tok)
        acc = ChatStream("reasoning_content")
        for i in range(len(tokens)):
            prev, cur = tokens[:i], tokens[: i + 1]
            d = p.extract_reasoning_content_streaming(
                "".join(h.token_text(t) for t in prev),
                "".join(h.token_text(t) for t in cur),
                h.token_text(tokens[i]),
                prev,
                cur,
                [tokens[i]],
            )
            if d is not None:
                acc.add({"choices": [{"delta": d.model_dump()}]})
        return acc.result()

    def responses_run(case: dict[str, Any], tokens: list[int], stream: bool) -> Any:
        request = responses_request(case, stream)
        outputs = per_token(h, tokens) if stream else whole(h, tokens)
        s = serving_responses(FakeEngine(outputs))
        context = StreamingHarmonyContext([], []) if stream else HarmonyContext([], [])
        params = sampling_params()
        gen = s._generate_with_builtin_tools("req", PROMPT, {"prompt_token_ids": PROMPT}, params, context)
        meta = RequestResponseMetadata(request_id="resp-1")
        if not stream:
            resp = h.run(s.responses_full_generator(request, params, gen, context, "gpt-oss", tok, meta))
            if not hasattr(resp, "output"):
                return {"output": None, "status": None, "error": error_response(resp)["error"]}
            return {"output": response_items(resp.output), "status": resp.status, "error": None}
        acc = ResponsesStream()

        async def go() -> None:
            async for event in s.responses_stream_generator(request, params, gen, context, "gpt-oss", tok, meta):
                acc.add(event)

        h.run(go())
        return acc.result()

    return {
        "chat stream": chat_stream,
        "chat full": chat_full,
        "openai_tool_parser": tool_parser,
        "gptoss_reasoning stream": reasoning_stream,
        "responses full": lambda c, t: responses_run(c, t, False),
        "responses stream": lambda c, t: responses_run(c, t, True),
    }
