"""vLLM 0.34: harmony parsing moved into ``vllm.parser.harmony.HarmonyParser``
(the gpt-oss tool and reasoning parsers are now capability stubs), which
every OpenAI endpoint uses through ``ParserManager``.

* ``chat stream``: ``OpenAIServingChat.chat_completion_stream_generator``
  (a ``ChatStreamProcessor`` per choice calling ``HarmonyParser.parse_delta``),
  one engine output per token, the last one finished.
* ``chat full``: ``chat_completion_full_generator`` (``HarmonyParser.parse``
  on the whole output, then ``assemble_chat_message_fields``).
* ``responses full``: ``OpenAIServingResponses.responses_full_generator``
  over a ``HarmonyContext`` filled by the real ``_generate_with_builtin_tools``
  loop from an engine that returns the whole output at once.
* ``responses stream``: ``responses_stream_generator`` over the same
  context, one engine output per token.

The parser class is what ``ParserManager.get_parser`` composes for
``--tool-call-parser openai --enable-auto-tool-choice --reasoning-parser
openai_gptoss`` on a gpt_oss model. The server objects are made with
``__new__`` and given the attributes their ``__init__`` sets.
"""

from __future__ import annotations

import types
from typing import Any, AsyncIterator

from vllm.entrypoints.generate.base.protocol import RequestResponseMetadata
from vllm.entrypoints.openai.chat_completion.protocol import ChatCompletionRequest
from vllm.entrypoints.openai.chat_completion.serving import OpenAIServingChat
from vllm.entrypoints.openai.responses.context import HarmonyContext
from vllm.entrypoints.openai.responses.protocol import ResponsesRequest
from vllm.entrypoints.openai.responses.serving import OpenAIServingResponses
from vllm.entrypoints.openai.responses.utils import extract_function_tool_names
from vllm.outputs import CompletionOutput, RequestOutput
from vllm.parser import ParserManager

from drivers.common import (
    MODEL,
    PROMPT,
    ChatStream,
    ResponsesStream,
    chat_body,
    chat_message,
    error_response,
    response_items,
    responses_body,
)


def parser_cls() -> Any:
    return ParserManager.get_parser(
        tool_parser_name="openai",
        reasoning_parser_name="openai_gptoss",
        enable_auto_tools=True,
        model_name=MODEL,
        is_harmony=True,
        tokenizer=None,
    )


def model_config() -> Any:
    # ModelConfig (vllm.config needs torch): what the parsers and the
    # serving code read.
    return types.SimpleNamespace(
        model=MODEL,
        max_model_len=131072,
        hf_config=types.SimpleNamespace(model_type="gpt_oss"),
        generation_config="auto",
        get_diff_sampling_param=dict,
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
        num_cache_creation_tokens=0,
    )


async def per_token(h: Any, tokens: list[int]) -> AsyncIterator[RequestOutput]:
    for i, t in enumerate(tokens):
        yield request_output(h, [t], i == len(tokens) - 1)


async def whole(h: Any, tokens: list[int]) -> AsyncIterator[RequestOutput]:
    yield request_output(h, tokens, True)


def common(s: Any) -> None:
    s.model_config = model_config()
    s.request_logger = None
    s.return_tokens_as_token_ids = False
    s.enable_log_outputs = False
    s.enable_log_deltas = True
    s.enable_auto_tools = True
    s.enable_prompt_tokens_details = False
    s.enable_force_include_usage = False
    s.enable_per_request_metrics = False
    s.default_sampling_params = {}
    s.override_max_tokens = None
    s.system_fingerprint = None


def serving_chat() -> OpenAIServingChat:
    s = OpenAIServingChat.__new__(OpenAIServingChat)
    common(s)
    s.response_role = "assistant"
    s.chat_template = None
    s.chat_template_content_format = "auto"
    s.trust_request_chat_template = False
    s.default_chat_template_kwargs = {}
    s._include_reasoning_tokens_details = True
    s.parser_cls = parser_cls()
    s.exclude_tools_when_tool_choice_none = False
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
    common(s)
    s.engine_client = engine
    s.chat_template = None
    s.chat_template_content_format = "auto"
    s.chat_template_kwargs = {}
    s.parser = parser_cls()
    s.enable_store = False
    s.use_harmony = True
    s.response_store = {}
    s.msg_store = {}
    s.event_store = {}
    s.background_tasks = {}
    s.tool_server = None
    return s


def sampling_params() -> Any:
    # SamplingParams (vllm.sampling_params needs torch): the fields
    # ResponsesResponse.from_request reads.
    return types.SimpleNamespace(
        temperature=1.0, top_p=1.0, max_tokens=4096, logprobs=None, presence_penalty=0.0, frequency_penalty=0.0
    )


def rows(h: Any) -> dict[str, Any]:
    tok = h.tokenizer

    def chat_stream(case: dict[str, Any], tokens: list[int]) -> Any:
        s = serving_chat()
        acc = ChatStream("reasoning")

        async def go() -> None:
            async for line in s.chat_completion_stream_generator(
                chat_request(case, True),
                per_token(h, tokens),
                "chatcmpl-1",
                "gpt-oss",
                [],
                tok,
                RequestResponseMetadata(request_id="chatcmpl-1"),
                chat_template_kwargs={},
            ):
                acc.add_sse(line)

        h.run(go())
        return acc.result()

    def chat_full(case: dict[str, Any], tokens: list[int]) -> Any:
        s = serving_chat()
        request = chat_request(case, False)
        parser = s._make_parser(request, tok, {})
        resp = h.run(
            s.chat_completion_full_generator(
                request,
                whole(h, tokens),
                "chatcmpl-1",
                "gpt-oss",
                [],
                tok,
                RequestResponseMetadata(request_id="chatcmpl-1"),
                parser=parser,
            )
        )
        if not hasattr(resp, "choices"):
            return error_response(resp)
        c = resp.choices[0]
        return chat_message(c.message, "reasoning", c.finish_reason)

    def responses_run(case: dict[str, Any], tokens: list[int], stream: bool) -> Any:
        request = responses_request(case, stream)
        outputs = per_token(h, tokens) if stream else whole(h, tokens)
        s = serving_responses(FakeEngine(outputs))
        parser = s._make_response_parser(request, tok, {})
        parser.set_prompt_token_ids(PROMPT)
        context = HarmonyContext(
            [], [], extract_function_tool_names(request.tools), response_parser=parser, request=request
        )
        params = sampling_params()
        gen = s._generate_with_builtin_tools("req", {"prompt_token_ids": PROMPT}, params, context)
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
        "responses full": lambda c, t: responses_run(c, t, False),
        "responses stream": lambda c, t: responses_run(c, t, True),
    }
