"""SGLang 0.5.23: its Chat Completions path parses gpt-oss output with its
own text parser (sglang/srt/parser/harmony_parser.py, which never calls
openai_harmony), so the paths driven here are the Responses API's, which do:

* ``responses full``: ``OpenAIServingResponses.responses_full_generator``
  over a ``HarmonyContext`` (one StreamableParser fed the whole output,
  ``parse_output_message`` / ``parse_remaining_state``), filled by the real
  ``_generate_with_builtin_tools`` loop from a tokenizer manager that
  returns the whole output at once.
* ``responses stream``: ``responses_stream_generator`` over a
  ``StreamingHarmonyContext``, one engine output per token (cumulative
  ``output_ids``, as SGLang streams them without
  --incremental-streaming-output).

The serving object is made with ``__new__`` (no tokenizer manager, no
template manager) and given the attributes its ``__init__`` sets for a
gpt_oss model.
"""

from __future__ import annotations

import types
from typing import Any, AsyncIterator

from sglang.srt.entrypoints.context import HarmonyContext, StreamingHarmonyContext
from sglang.srt.entrypoints.openai.protocol import RequestResponseMetadata, ResponsesRequest
from sglang.srt.entrypoints.openai.serving_responses import OpenAIServingResponses

from drivers.common import PROMPT, ResponsesStream, error_response, response_items, responses_body


def responses_request(case: dict[str, Any], stream: bool) -> ResponsesRequest:
    return ResponsesRequest(**responses_body(case, stream))


def output(tokens: list[int], done: int, finished: bool) -> dict[str, Any]:
    """What TokenizerManager.generate_request yields for input_ids requests:
    the output ids so far and their meta info."""
    return {
        "output_ids": list(tokens[:done]),
        "meta_info": {
            "prompt_tokens": len(PROMPT),
            "completion_tokens": done,
            "cached_tokens": 0,
            "finish_reason": {"type": "stop", "matched": tokens[-1]} if finished and tokens else None,
        },
    }


async def per_token(tokens: list[int]) -> AsyncIterator[dict[str, Any]]:
    for i in range(len(tokens)):
        yield output(tokens, i + 1, i == len(tokens) - 1)


async def whole(tokens: list[int]) -> AsyncIterator[dict[str, Any]]:
    yield output(tokens, len(tokens), True)


class FakeTokenizerManager:
    """``generate_request`` yields the case's output tokens."""

    def __init__(self, outputs: Any) -> None:
        self.outputs = outputs
        self.model_config = types.SimpleNamespace(hf_config=types.SimpleNamespace(model_type="gpt_oss"))

    def generate_request(self, *args: Any, **kwargs: Any) -> Any:
        return self.outputs


def serving(tm: FakeTokenizerManager) -> OpenAIServingResponses:
    s = OpenAIServingResponses.__new__(OpenAIServingResponses)
    s.tokenizer_manager = tm
    s.template_manager = None
    s.reasoning_parser = None
    s.tool_call_parser = None
    s.enable_prompt_tokens_details = False
    s.default_sampling_params = {}
    s.supports_browsing = False
    s.supports_code_interpreter = False
    s.tool_server = None
    s._translates_tools = False
    s.use_harmony = True
    s.response_store = {}
    s.msg_store = {}
    s.background_tasks = {}
    s.enable_response_store = False
    s.is_disaggregated = False
    return s


def rows(h: Any) -> dict[str, Any]:
    def run(case: dict[str, Any], tokens: list[int], stream: bool) -> Any:
        request = responses_request(case, stream)
        s = serving(FakeTokenizerManager(per_token(tokens) if stream else whole(tokens)))
        context = StreamingHarmonyContext([], {}) if stream else HarmonyContext([], {})
        params = {"temperature": 1.0, "top_p": 1.0, "max_new_tokens": 4096}
        gen = s._generate_with_builtin_tools("resp-1", None, None, params, context)
        meta = RequestResponseMetadata(request_id="resp-1")
        if not stream:
            resp = h.run(
                s.responses_full_generator(
                    request, params, gen, context, "gpt-oss", None, meta, require_reasoning=False
                )
            )
            if not hasattr(resp, "output"):
                return {"output": None, "status": None, "error": error_response(resp)["error"]}
            return {"output": response_items(resp.output), "status": resp.status, "error": None}
        acc = ResponsesStream()

        async def go() -> None:
            async for event in s.responses_stream_generator(
                request, params, gen, context, "gpt-oss", None, meta, require_reasoning=False
            ):
                acc.add(event)

        h.run(go())
        return acc.result()

    return {
        "responses full": lambda c, t: run(c, t, False),
        "responses stream": lambda c, t: run(c, t, True),
    }
